//! The console's activity stream: filters, CSV export, and a privacy
//! administrator's erasure of a person's activities.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Names, Posted, Signed, finish, given, user_names};
use crate::app::activities::{self as stream, ActivityRow, Filter};
use crate::app::{Error, Services};
use crate::http::ApiError;
use crate::store::users::UserRow;

#[derive(Deserialize, Default, Clone)]
pub struct ActivityQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    actor: Option<String>,
    subject: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

impl ActivityQuery {
    fn filter(&self) -> Filter {
        Filter {
            kind: given(self.kind.clone()),
            actor: given(self.actor.clone()),
            subject: given(self.subject.clone()),
            booking_page: None,
            since: given(self.since.clone()),
            until: given(self.until.clone()),
            cursor: given(self.cursor.clone()),
        }
    }

    /// The filters as a query string (no cursor), for the export and the next page.
    fn query_string(&self) -> String {
        let pairs = [
            ("type", &self.kind),
            ("actor", &self.actor),
            ("subject", &self.subject),
            ("since", &self.since),
            ("until", &self.until),
        ];
        let given: Vec<(&str, String)> =
            pairs.iter().filter_map(|(k, v)| given((*v).clone()).map(|v| (*k, v))).collect();
        serde_urlencoded::to_string(given).unwrap_or_default()
    }
}

/// An activity as the stream shows it.
struct ActivityLine {
    at: String,
    actor: String,
    action: String,
    subject: String,
    details: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "activities.html")]
struct ActivitiesPage {
    user: ConsoleUser,
    query: ActivityQuery,
    lines: Vec<ActivityLine>,
    names: Names,
    filters: String,
    next: Option<String>,
    error: Option<String>,
}

/// The activity stream, filtered, newest first, 100 a page.
pub async fn activities(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(query): Query<ActivityQuery>,
) -> Result<Response, Failure> {
    // Who sees the whole stream sees every user named in it; a privacy
    // administrator chooses among them whose activities to erase.
    let names = if user.sees_whole_stream() || user.privacy_admin() {
        Names::all(&state, &user.account_id).await?
    } else {
        user_names(&state, &user).await?
    };
    let listed = stream::list(&state, &user.principal(), query.filter(), None).await;
    let (items, next, error) = match listed {
        Ok(page) => (page.items, page.next_cursor, None),
        Err(failed @ (Error::Db(_) | Error::Failed { .. })) => return Err(ApiError::from(failed).into()),
        Err(refused) => (Vec::new(), None, Some(refused.to_string())),
    };
    let lines = items.into_iter().map(|a| line(&user, &names, a)).collect();
    let filters = query.query_string();
    Ok(ActivitiesPage { user, query, lines, names, filters, next, error }.into_response())
}

/// `a` as the stream shows it to `user`.
fn line(user: &ConsoleUser, names: &Names, a: ActivityRow) -> ActivityLine {
    let details = a.details_json();
    ActivityLine {
        at: user.local(&crate::clock::rfc3339_ms(a.at_ms)),
        actor: a.actor_user_id.as_deref().map_or("system".to_string(), |id| names.of(id).to_string()),
        subject: if a.subject_type == "user" {
            format!("user {}", names.of(&a.subject_id))
        } else {
            format!("{} {}", a.subject_type.replace('_', " "), a.subject_id)
        },
        action: a.action,
        details: if details.as_object().is_some_and(|o| o.is_empty()) {
            String::new()
        } else {
            details.to_string()
        },
    }
}

/// The filtered stream as CSV, as `GET /v1/activities/export` gives it.
pub async fn export(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(query): Query<ActivityQuery>,
) -> Result<Response, Failure> {
    let export = stream::export(&state, &user.principal(), query.filter()).await.map_err(ApiError::from)?;
    Ok(crate::http::activities::csv_response(export))
}

#[derive(Deserialize)]
pub struct ErasureQuery {
    user_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "erase.html")]
struct ErasePage {
    user: ConsoleUser,
    person: UserRow,
    count: u64,
}

/// Before erasing: whose activities, and how many.
pub async fn erase_page(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(query): Query<ErasureQuery>,
) -> Result<Response, Failure> {
    let about =
        stream::count_about(&state, &user.principal(), &query.user_id).await.map_err(ApiError::from)?;
    Ok(ErasePage { user, person: about.person, count: about.activities }.into_response())
}

#[derive(Deserialize)]
pub struct EraseForm {
    user_id: String,
    #[serde(default)]
    confirm: String,
}

/// Erases the person's activities, once the address is typed to confirm.
pub async fn erase(State(state): State<Services>, posted: Posted<EraseForm>) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let principal = user.principal();
    let confirmed = stream::confirms_erasure(&state, &principal, &form.user_id, &form.confirm)
        .await
        .map_err(ApiError::from)?;
    if !confirmed {
        let query = serde_urlencoded::to_string([("user_id", form.user_id.as_str())]).unwrap_or_default();
        let back = format!("/activities/erase?{query}");
        let refused = ApiError::Invalid {
            message: "type the person's e-mail address exactly to confirm the erasure".into(),
            field: Some("confirm".into()),
        };
        return finish(&state, &user, &back, Err(refused)).await;
    }
    let outcome = stream::erase(&state, &principal, &form.user_id, state.clock.now()).await.map(|done| {
        format!(
            "{} about the person {} erased.",
            super::count_text(done.activities as usize, "activity", "activities"),
            if done.activities == 1 { "is" } else { "are" }
        )
    });
    finish(&state, &user, "/activities", outcome.map_err(ApiError::from)).await
}
