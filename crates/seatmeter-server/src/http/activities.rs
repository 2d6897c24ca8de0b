//! `/v1/activities`: the activity stream, filtered and paged, its CSV
//! export, and the erasure of a person's activities.
//!
//! The export is streamed: the response starts with the first batch of
//! rows and the rest follow as they are read, so an export of any size
//! holds one batch in memory. A failure before the first byte is an error
//! answer; one after it cuts the response short (the client sees an
//! incomplete body, never a complete-looking file), and is logged.

use axum::Json;
use axum::body::{Body as ResponseBody, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, Body, ErrorBody, Params, rfc3339_ms};
use crate::app::activities::{ActivityRow, Export};
use crate::app::{self, Principal, Services};

/// One activity.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    /// Its id.
    pub id: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who did it (none for the system or the command line).
    pub actor_user_id: Option<String>,
    /// What: `user.created`, `license.assigned`, `booking_page.disabled`, …
    pub action: String,
    /// The kind of thing it concerns: `user`, `booking_page`, …
    pub subject_type: String,
    /// The thing's id.
    pub subject_id: String,
    /// Details of the change.
    pub details: serde_json::Value,
}

impl From<ActivityRow> for ActivityView {
    fn from(row: ActivityRow) -> Self {
        ActivityView {
            details: row.details_json(),
            at: rfc3339_ms(row.at_ms),
            id: row.id,
            actor_user_id: row.actor_user_id,
            action: row.action,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
        }
    }
}

/// A page of activities, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    /// The activities.
    pub items: Vec<ActivityView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Declares a struct of the activity stream's filters and cursor, with the
/// fields it adds, and `selection`, the filters the use cases take.
macro_rules! activity_filters {
    ($(#[$attr:meta])* $name:ident { $($(#[$extra_attr:meta])* $extra:ident: $ty:ty,)* }) => {
        $(#[$attr])*
        #[derive(Deserialize, IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// An action (`license.assigned`) or a type of action (`license`).
            #[serde(rename = "type")]
            #[param(value_type = Option<shapes::Search>, inline)]
            pub kind: Option<String>,
            /// The user who acted (their id).
            #[param(value_type = Option<shapes::Search>, inline)]
            pub actor: Option<String>,
            /// The id of the thing concerned.
            #[param(value_type = Option<shapes::Search>, inline)]
            pub subject: Option<String>,
            /// Activities about this booking page (its id).
            #[param(value_type = Option<shapes::Search>, inline)]
            pub booking_page: Option<String>,
            /// From this instant (RFC 3339 or YYYY-MM-DD), inclusive.
            #[param(value_type = Option<shapes::InstantOrDay>, inline)]
            pub since: Option<String>,
            /// Until this instant (RFC 3339 or YYYY-MM-DD), exclusive.
            #[param(value_type = Option<shapes::InstantOrDay>, inline)]
            pub until: Option<String>,
            /// The `next_cursor` of a page of the stream: what is read starts where that page ended.
            #[param(value_type = Option<shapes::Cursor>, inline)]
            pub cursor: Option<String>,
            $($(#[$extra_attr])* pub $extra: $ty,)*
        }

        impl $name {
            /// The filters the use cases take.
            fn selection(self) -> app::activities::Filter {
                app::activities::Filter {
                    kind: self.kind,
                    actor: self.actor,
                    subject: self.subject,
                    booking_page: self.booking_page,
                    since: self.since,
                    until: self.until,
                    cursor: self.cursor,
                }
            }
        }
    };
}

activity_filters!(
    /// Filters of the activity stream, and the page size.
    Filter {
        /// How many (default 100, at most 1000).
        #[param(value_type = Option<shapes::PageSize>, inline)]
        limit: Option<u64>,
    }
);

activity_filters!(
    /// Filters of the activity stream's export, which holds every match (from a cursor on, if given).
    ExportFilter {}
);

impl Filter {
    /// The filters the use cases take, and the page size.
    fn split(self) -> (app::activities::Filter, Option<u64>) {
        let limit = self.limit;
        (self.selection(), limit)
    }
}

/// A person whose activities to erase.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    /// The person: a user of the account.
    #[schema(value_type = shapes::UserId)]
    pub user_id: String,
}

/// What an erasure did.
#[derive(Serialize, ToSchema)]
pub struct Erased {
    /// The person.
    pub user_id: String,
    /// How many activities about them were erased (they are kept, emptied).
    pub activities: u64,
}

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(list_activities)).routes(routes!(export_activities)).routes(routes!(erase))
}

/// The activity stream, newest first, filtered and paged.
#[utoipa::path(get, path = "/v1/activities", tag = "activities", security(("token" = [])), params(Filter),
    responses((status = 200, body = ActivityPage), (status = 422, body = ErrorBody)))]
pub async fn list_activities(
    State(state): State<Services>,
    principal: Principal,
    Params(filter): Params<Filter>,
) -> Result<Json<ActivityPage>, ApiError> {
    let (filter, limit) = filter.split();
    let page = app::activities::list(&state, &principal, filter, limit).await?;
    let items = page.items.into_iter().map(ActivityView::from).collect();
    Ok(Json(ActivityPage { items, next_cursor: page.next_cursor }))
}

/// The first line of the CSV export.
const CSV_HEADER: &str = "at,actor_user_id,action,subject_type,subject_id,details\n";

/// A CSV field that a spreadsheet will not run as a formula: the activity
/// export is for people and spreadsheets.
fn csv_field(text: &str) -> String {
    seatmeter_core::usage::csv::Cells::FormulaSafe.field(text).into_owned()
}

/// `rows` as lines of the CSV export.
fn csv_lines(rows: Vec<ActivityRow>) -> String {
    let mut csv = String::new();
    for row in rows {
        let activity = ActivityView::from(row);
        let fields = [
            activity.at,
            activity.actor_user_id.unwrap_or_default(),
            activity.action,
            activity.subject_type,
            activity.subject_id,
            activity.details.to_string(),
        ];
        csv.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        csv.push('\n');
    }
    csv
}

/// The response that streams `export` as CSV (the console's export answers
/// with it too, so that both give the same file).
pub fn csv_response(export: Export) -> Response {
    // The body is read after the handler returned: its failures are logged in the request's span.
    let span = tracing::Span::current();
    let rows = stream::try_unfold(export, move |mut export| {
        async move {
            let rows = export.next_rows().await.inspect_err(|e| {
                tracing::error!(error = %e, "the activity export failed; the response is cut short");
            })?;
            Ok::<_, app::Error>(rows.map(|rows| (Bytes::from(csv_lines(rows)), export)))
        }
        .instrument(span.clone())
    });
    let body = stream::iter([Ok(Bytes::from_static(CSV_HEADER.as_bytes()))]).chain(rows.into_stream());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"activities.csv\""),
        ],
        ResponseBody::from_stream(body),
    )
        .into_response()
}

/// The activity stream as CSV (the same filters; every match, newest first).
#[utoipa::path(get, path = "/v1/activities/export", tag = "activities", security(("token" = [])), params(ExportFilter),
    responses((status = 200, description = "CSV: at,actor_user_id,action,subject_type,subject_id,details", content_type = "text/csv"),
        (status = 422, body = ErrorBody)))]
pub async fn export_activities(
    State(state): State<Services>,
    principal: Principal,
    Params(filter): Params<ExportFilter>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(csv_response(app::activities::export(&state, &principal, filter.selection()).await?))
}

/// Erases a person's activities (privacy administrators): each activity
/// done by them, to them, or naming them keeps its action and time, so
/// counts stay right, but loses its details, and the person's id in it is
/// replaced by `erased`. The erasure itself is recorded without naming them.
#[utoipa::path(post, path = "/v1/activities/erasure", tag = "activities", security(("token" = [])),
    request_body = Erasure,
    responses((status = 200, body = Erased), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn erase(
    State(state): State<Services>,
    principal: Principal,
    Body(request): Body<Erasure>,
) -> Result<Json<Erased>, ApiError> {
    let done = app::activities::erase(&state, &principal, &request.user_id, state.clock.now()).await?;
    Ok(Json(Erased { user_id: done.user_id, activities: done.activities }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_a_spreadsheet_would_run_as_a_formula_is_made_text() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            let cell = csv_field(formula);
            assert!(cell.trim_start_matches('"').starts_with('\''), "{formula:?} -> {cell:?}");
        }
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=a,b"), "\"'=a,b\"");
    }
}
