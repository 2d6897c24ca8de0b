//! The activity stream: every change, recorded with the change (see
//! [`crate::store::record_activity`]); filtered, paged by cursor, exported
//! as CSV. Administrators see their account's whole stream; members see the
//! activities they did and those about them.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use seatmeter_core::people::AdminArea;
use seatmeter_core::time::parse_date_or_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, Body, ErrorBody, Params};

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

#[derive(Clone, Debug, sqlx::FromRow)]
struct ActivityRow {
    id: String,
    at_ms: i64,
    actor_user_id: Option<String>,
    action: String,
    subject_type: String,
    subject_id: String,
    details: String,
}

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

/// A page of activities, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    /// The activities.
    pub items: Vec<ActivityView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Filters of the activity stream.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// An action (`license.assigned`) or a type of action (`license`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The user who acted.
    pub actor: Option<String>,
    /// The id of the thing concerned.
    pub subject: Option<String>,
    /// Activities about this booking page.
    pub booking_page: Option<String>,
    /// From this instant (RFC 3339 or YYYY-MM-DD), inclusive.
    pub since: Option<String>,
    /// Until this instant (RFC 3339 or YYYY-MM-DD), exclusive.
    pub until: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many (default 100, at most 1000).
    pub limit: Option<u64>,
}

fn invalid(message: String, field: &str) -> ApiError {
    ApiError::Invalid { message, field: Some(field.to_string()) }
}

fn instant_ms(text: &str, field: &str) -> Result<i64, ApiError> {
    parse_date_or_rfc3339(text.as_bytes())
        .map(|t| t.0.div_euclid(1_000_000))
        .map_err(|e| invalid(format!("{text:?} {e}"), field))
}

/// Administrators of reports or security see every activity of the
/// account; everyone else what they did and what was done to them.
pub fn sees_the_whole_stream(principal: &Principal) -> bool {
    principal.administers(AdminArea::Reports) || principal.administers(AdminArea::Security)
}

/// The query for `filter`, scoped to the caller's account and rights.
fn select(principal: &Principal, filter: &Filter) -> Result<SelectStatement, ApiError> {
    let mut query = Query::select();
    query
        .columns(["id", "at_ms", "actor_user_id", "action", "subject_type", "subject_id", "details"])
        .from("activities")
        .and_where(Expr::col("account_id").eq(principal.account_id.as_str()));
    if !sees_the_whole_stream(principal) {
        query.cond_where(Cond::any().add(Expr::col("actor_user_id").eq(principal.user_id.as_str())).add(
            Expr::col("subject_type").eq("user").and(Expr::col("subject_id").eq(principal.user_id.as_str())),
        ));
    }
    if let Some(kind) = &filter.kind {
        if kind.contains('.') {
            query.and_where(Expr::col("action").eq(kind.as_str()));
        } else {
            let prefix = format!("{}.%", like_text(kind));
            query.and_where(Expr::col("action").like(sea_query::LikeExpr::new(prefix).escape('\\')));
        }
    }
    if let Some(actor) = &filter.actor {
        query.and_where(Expr::col("actor_user_id").eq(actor.as_str()));
    }
    if let Some(subject) = &filter.subject {
        query.and_where(Expr::col("subject_id").eq(subject.as_str()));
    }
    if let Some(page) = &filter.booking_page {
        query
            .and_where(Expr::col("subject_type").eq("booking_page"))
            .and_where(Expr::col("subject_id").eq(page.as_str()));
    }
    if let Some(since) = &filter.since {
        query.and_where(Expr::col("at_ms").gte(instant_ms(since, "since")?));
    }
    if let Some(until) = &filter.until {
        query.and_where(Expr::col("at_ms").lt(instant_ms(until, "until")?));
    }
    if let Some(cursor) = &filter.cursor {
        let (at, id) = cursor
            .split_once('.')
            .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
            .ok_or_else(|| invalid("the cursor is not one this server gave".into(), "cursor"))?;
        query.cond_where(
            Cond::any()
                .add(Expr::col("at_ms").lt(at))
                .add(Expr::col("at_ms").eq(at).and(Expr::col("id").lt(id))),
        );
    }
    query.order_by("at_ms", Order::Desc).order_by("id", Order::Desc);
    Ok(query)
}

fn view(row: ActivityRow) -> ActivityView {
    ActivityView {
        at: jiff::Timestamp::from_millisecond(row.at_ms)
            .map_or_else(|_| row.at_ms.to_string(), |t| t.to_string()),
        id: row.id,
        actor_user_id: row.actor_user_id,
        action: row.action,
        subject_type: row.subject_type,
        subject_id: row.subject_id,
        details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
    }
}

/// The activity stream, newest first, filtered and paged.
#[utoipa::path(get, path = "/v1/activities", tag = "activities", security(("token" = [])), params(Filter),
    responses((status = 200, body = ActivityPage), (status = 422, body = ErrorBody)))]
pub async fn list_activities(
    State(state): State<Services>,
    principal: Principal,
    Params(filter): Params<Filter>,
) -> Result<Json<ActivityPage>, ApiError> {
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(invalid(format!("limit must be 1 to {MAX_LIMIT}"), "limit"));
    }
    let mut query = select(&principal, &filter)?;
    query.limit(limit + 1);
    let mut rows: Vec<ActivityRow> = state.db.fetch_all(&query).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| format!("{}.{}", r.at_ms, r.id))
    } else {
        None
    };
    Ok(Json(ActivityPage { items: rows.into_iter().map(view).collect(), next_cursor }))
}

/// A CSV field that a spreadsheet will not run as a formula: text that
/// starts like one (`=`, `+`, `-`, `@`, tab or carriage return) gets a
/// leading `'`, as OWASP recommends for exports people open in spreadsheets.
fn csv_field(text: &str) -> String {
    let safe = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    seatmeter_core::usage::csv::field(&safe).into_owned()
}

/// The activity stream as CSV (the same filters; every match, newest first).
#[utoipa::path(get, path = "/v1/activities/export", tag = "activities", security(("token" = [])), params(Filter),
    responses((status = 200, description = "CSV: at,actor_user_id,action,subject_type,subject_id,details", content_type = "text/csv"),
        (status = 422, body = ErrorBody)))]
pub async fn export_activities(
    State(state): State<Services>,
    principal: Principal,
    Params(filter): Params<Filter>,
) -> Result<impl IntoResponse, ApiError> {
    let rows: Vec<ActivityRow> = state.db.fetch_all(&select(&principal, &filter)?).await?;
    let mut csv = String::from("at,actor_user_id,action,subject_type,subject_id,details\n");
    for row in rows {
        let activity = view(row);
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
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"activities.csv\""),
        ],
        csv,
    ))
}

/// A person whose activities to erase.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    /// The person: a user of the account.
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

/// What marks the person's place in an erased activity.
pub const ERASED: &str = "erased";

/// Text for a LIKE pattern that matches itself only.
fn like_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The activities of `account_id` about a person: done by them, done to
/// them, or naming them (their id or address) in their details.
fn about(account_id: &str, user_id: &str, email: &str) -> Cond {
    // As a whole JSON string (quotes included): `li@example.com` must not
    // match `amali@example.com`.
    let names = |text: &str| {
        let literal = serde_json::Value::from(text).to_string();
        Expr::col("details").like(sea_query::LikeExpr::new(format!("%{}%", like_text(&literal))).escape('\\'))
    };
    // The record of an earlier erasure names nobody: it is not about anyone.
    Cond::all().add(Expr::col("account_id").eq(account_id)).add(Expr::col("action").ne("privacy.erased")).add(
        Cond::any()
            .add(Expr::col("actor_user_id").eq(user_id))
            .add(Expr::col("subject_type").eq("user").and(Expr::col("subject_id").eq(user_id)))
            .add(names(user_id))
            .add(names(email)),
    )
}

/// The user of the account to erase, and their address.
async fn person(
    state: &Services,
    principal: &Principal,
    user_id: &str,
) -> Result<(String, String), ApiError> {
    if !principal.administers(AdminArea::Privacy) {
        return Err(ApiError::Forbidden("erasing activities needs a privacy administrator".into()));
    }
    let user = crate::store::users::get(&state.db, &principal.account_id, user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {user_id:?} in your account")))?;
    Ok((user.id, user.email))
}

/// How many activities an erasure of `user_id` would erase (privacy administrators).
pub async fn count_about(state: &Services, principal: &Principal, user_id: &str) -> Result<u64, ApiError> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let (id, email) = person(state, principal, user_id).await?;
    let count: Option<Count> = state
        .db
        .fetch_optional(
            Query::select().expr_as(Expr::col("id").count(), "n").from("activities").cond_where(about(
                &principal.account_id,
                &id,
                &email,
            )),
        )
        .await?;
    Ok(count.map_or(0, |c| u64::try_from(c.n).unwrap_or(0)))
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
    let (id, email) = person(&state, &principal, &request.user_id).await?;
    let account = principal.account_id.as_str();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let erased = tx
        .execute(
            Query::update()
                .table("activities")
                .value("details", serde_json::json!({ERASED: true}).to_string())
                .cond_where(about(account, &id, &email)),
        )
        .await?;
    tx.execute(
        Query::update()
            .table("activities")
            .value("actor_user_id", ERASED)
            .and_where(Expr::col("account_id").eq(account))
            .and_where(Expr::col("actor_user_id").eq(id.as_str())),
    )
    .await?;
    tx.execute(
        Query::update()
            .table("activities")
            .value("subject_id", ERASED)
            .and_where(Expr::col("account_id").eq(account))
            .and_where(Expr::col("subject_type").eq("user"))
            .and_where(Expr::col("subject_id").eq(id.as_str())),
    )
    .await?;
    // Who erased their own activities is not named by the erasure either.
    let actor = if principal.user_id == id { ERASED } else { principal.user_id.as_str() };
    crate::store::activities::record(
        &mut tx,
        account,
        now,
        Some(actor),
        "privacy.erased",
        ("account", account),
        serde_json::json!({"activities": erased}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Erased { user_id: id, activities: erased }))
}
