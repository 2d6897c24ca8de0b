//! The console's record pages: meetings, the activity stream (with CSV
//! export and a privacy administrator's erasure of a person's activities),
//! notifications; and the security settings.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use sea_query::{Expr, ExprTrait, Query as Sql};
use serde::Deserialize;

use super::{ConsoleUser, CsrfForm, Failure, Names, Posted, Signed, finish, user_names};
use crate::activities::{ActivityView, Filter};
use crate::api::{ApiError, AppState, Body, Params};
use crate::meetings::{MeetingFilter, MeetingView};

/// A form field left empty is a filter not given.
fn given(field: Option<String>) -> Option<String> {
    field.map(|f| f.trim().to_string()).filter(|f| !f.is_empty())
}

// ---------------------------------------------------------------------------
// Meetings

#[derive(Deserialize, Default)]
pub struct MeetingQuery {
    state: Option<String>,
    host: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "meetings.html")]
struct MeetingsPage {
    user: ConsoleUser,
    running: Vec<MeetingView>,
    meetings: Vec<MeetingView>,
    names: Names,
    state: String,
    host: String,
}

/// Meetings running now, and the recent ones, filtered by state and host.
pub async fn meetings(
    State(state): State<AppState>,
    Signed(user): Signed,
    Query(query): Query<MeetingQuery>,
) -> Result<Response, Failure> {
    let running_filter =
        MeetingFilter { state: Some("running".into()), host_user_id: None, limit: Some(100) };
    let running =
        crate::meetings::list_meetings(State(state.clone()), user.principal(), Params(running_filter))
            .await?
            .0;
    let (status, host) = (given(query.state), given(query.host));
    let filter = MeetingFilter { state: status.clone(), host_user_id: host.clone(), limit: Some(100) };
    let meetings =
        crate::meetings::list_meetings(State(state.clone()), user.principal(), Params(filter)).await?.0;
    let names = user_names(&state, &user).await?;
    let page = MeetingsPage {
        user,
        running,
        meetings,
        names,
        state: status.unwrap_or_default(),
        host: host.unwrap_or_default(),
    };
    Ok(page.into_response())
}

// ---------------------------------------------------------------------------
// The activity stream

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
    fn filter(&self, limit: Option<u64>) -> Filter {
        Filter {
            kind: given(self.kind.clone()),
            actor: given(self.actor.clone()),
            subject: given(self.subject.clone()),
            booking_page: None,
            since: given(self.since.clone()),
            until: given(self.until.clone()),
            cursor: given(self.cursor.clone()),
            limit,
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
    State(state): State<AppState>,
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
    let listed = crate::activities::list_activities(
        State(state.clone()),
        user.principal(),
        Params(query.filter(None)),
    )
    .await;
    let (items, next, error) = match listed {
        Ok(page) => (page.0.items, page.0.next_cursor, None),
        Err(ApiError::Db(cause)) => return Err(Failure(ApiError::Db(cause))),
        Err(refused) => (Vec::new(), None, Some(refused.to_string())),
    };
    let lines = items
        .into_iter()
        .map(|a: ActivityView| ActivityLine {
            at: user.local(&a.at),
            actor: a.actor_user_id.as_deref().map_or("system".to_string(), |id| names.of(id).to_string()),
            subject: if a.subject_type == "user" {
                format!("user {}", names.of(&a.subject_id))
            } else {
                format!("{} {}", a.subject_type.replace('_', " "), a.subject_id)
            },
            action: a.action,
            details: if a.details.as_object().is_some_and(|o| o.is_empty()) {
                String::new()
            } else {
                a.details.to_string()
            },
        })
        .collect();
    let filters = query.query_string();
    Ok(ActivitiesPage { user, query, lines, names, filters, next, error }.into_response())
}

/// The filtered stream as CSV, as `GET /v1/activities/export` gives it.
pub async fn export(
    State(state): State<AppState>,
    Signed(user): Signed,
    Query(query): Query<ActivityQuery>,
) -> Result<Response, Failure> {
    let csv =
        crate::activities::export_activities(State(state), user.principal(), Params(query.filter(None)))
            .await?;
    Ok(csv.into_response())
}

#[derive(Deserialize)]
pub struct ErasureQuery {
    user_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "erase.html")]
struct ErasePage {
    user: ConsoleUser,
    person: crate::api::UserView,
    count: u64,
}

/// Before erasing: whose activities, and how many.
pub async fn erase_page(
    State(state): State<AppState>,
    Signed(user): Signed,
    Query(query): Query<ErasureQuery>,
) -> Result<Response, Failure> {
    let count = crate::activities::count_about(&state, &user.principal(), &query.user_id).await?;
    let person = crate::store::user(&state.db, &user.account_id, &query.user_id)
        .await?
        .map(crate::api::UserView::from)
        .ok_or_else(|| Failure(ApiError::NotFound(format!("no user {:?} in your account", query.user_id))))?;
    Ok(ErasePage { user, person, count }.into_response())
}

#[derive(Deserialize)]
pub struct EraseForm {
    user_id: String,
    #[serde(default)]
    confirm: String,
}

/// Erases the person's activities, once the address is typed to confirm.
pub async fn erase(State(state): State<AppState>, posted: Posted<EraseForm>) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let person = crate::store::user(&state.db, &user.account_id, &form.user_id).await?;
    let confirmed = person.as_ref().is_some_and(|p| p.email.eq_ignore_ascii_case(form.confirm.trim()));
    if !confirmed {
        let query = serde_urlencoded::to_string([("user_id", form.user_id.as_str())]).unwrap_or_default();
        let back = format!("/activities/erase?{query}");
        let refused = ApiError::Invalid {
            message: "type the person's e-mail address exactly to confirm the erasure".into(),
            field: Some("confirm".into()),
        };
        return finish(&state, &user, &back, Err(refused)).await;
    }
    let request = crate::activities::Erasure { user_id: form.user_id };
    let outcome =
        crate::activities::erase(State(state.clone()), user.principal(), Body(request)).await.map(|done| {
            format!(
                "{} about the person {} erased.",
                super::count_text(done.0.activities as usize, "activity", "activities"),
                if done.0.activities == 1 { "is" } else { "are" }
            )
        });
    finish(&state, &user, "/activities", outcome).await
}

// ---------------------------------------------------------------------------
// Notifications

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    user: ConsoleUser,
    notifications: Vec<crate::compliance::NotificationView>,
    status: String,
}

#[derive(Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
}

/// The e-mail notices: sent, queued, retrying, failed.
pub async fn notifications(
    State(state): State<AppState>,
    Signed(user): Signed,
    Query(query): Query<StatusQuery>,
) -> Result<Response, Failure> {
    let status = given(query.status).unwrap_or_default();
    let mut notifications = crate::compliance::list_notifications(State(state), user.principal()).await?.0;
    if !status.is_empty() {
        notifications.retain(|n| n.status == status);
    }
    Ok(NotificationsPage { user, notifications, status }.into_response())
}

// ---------------------------------------------------------------------------
// Security settings

/// The account's security policies.
#[derive(sqlx::FromRow)]
pub struct Policies {
    password_min_length: i64,
    password_max_age_days: Option<i64>,
    session_idle_minutes: i64,
    session_max_hours: i64,
    lockout_threshold: i64,
    lockout_minutes: i64,
}

const POLICY_COLUMNS: [&str; 6] = [
    "password_min_length",
    "password_max_age_days",
    "session_idle_minutes",
    "session_max_hours",
    "lockout_threshold",
    "lockout_minutes",
];

#[derive(Template, WebTemplate)]
#[template(path = "security.html")]
struct SecurityPage {
    user: ConsoleUser,
    policies: Policies,
}

/// The security settings (edited by security administrators), and signing
/// out everywhere (anyone).
pub async fn security(State(state): State<AppState>, Signed(user): Signed) -> Result<Response, Failure> {
    let policies: Option<Policies> = state
        .db
        .fetch_optional(
            Sql::select()
                .columns(POLICY_COLUMNS)
                .from("accounts")
                .and_where(Expr::col("id").eq(user.account_id.as_str())),
        )
        .await?;
    let policies =
        policies.ok_or_else(|| Failure(ApiError::NotFound("the account no longer exists".into())))?;
    Ok(SecurityPage { user, policies }.into_response())
}

#[derive(Deserialize)]
pub struct PolicyForm {
    password_min_length: String,
    #[serde(default)]
    password_max_age_days: String,
    session_idle_minutes: String,
    session_max_hours: String,
    lockout_threshold: String,
    lockout_minutes: String,
}

/// The ranges each policy may take: (field, label, least, most).
const RANGES: [(&str, &str, i64, i64); 6] = [
    (
        "password_min_length",
        "The minimum password length",
        crate::passwords::MIN_POLICY_LENGTH,
        crate::passwords::MAX_POLICY_LENGTH,
    ),
    ("password_max_age_days", "Password expiry", 1, 3650),
    ("session_idle_minutes", "The idle timeout", 5, 1440),
    ("session_max_hours", "The session lifetime", 1, 720),
    ("lockout_threshold", "The failed sign-ins before a lock", 3, 100),
    ("lockout_minutes", "The lock's length", 1, 1440),
];

fn policy_value(field: &str, text: &str) -> Result<i64, ApiError> {
    let (_, label, least, most) =
        RANGES.iter().find(|r| r.0 == field).copied().unwrap_or((field, field, 0, 0));
    text.trim().parse::<i64>().ok().filter(|v| (least..=most).contains(v)).ok_or_else(|| ApiError::Invalid {
        message: format!("{label} must be a whole number from {least} to {most} (not {:?})", text.trim()),
        field: Some(field.to_string()),
    })
}

/// Saves the policies (security administrators).
pub async fn save_security(
    State(state): State<AppState>,
    posted: Posted<PolicyForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let outcome = save_policies(&state, &user, &form).await;
    finish(&state, &user, "/security", outcome).await
}

async fn save_policies(state: &AppState, user: &ConsoleUser, form: &PolicyForm) -> Result<String, ApiError> {
    if !user.security_admin() {
        return Err(ApiError::Forbidden("security settings are changed by a security administrator".into()));
    }
    let expiry = match form.password_max_age_days.trim() {
        "" | "0" => None,
        text => Some(policy_value("password_max_age_days", text)?),
    };
    let values = [
        ("password_min_length", policy_value("password_min_length", &form.password_min_length)?),
        ("session_idle_minutes", policy_value("session_idle_minutes", &form.session_idle_minutes)?),
        ("session_max_hours", policy_value("session_max_hours", &form.session_max_hours)?),
        ("lockout_threshold", policy_value("lockout_threshold", &form.lockout_threshold)?),
        ("lockout_minutes", policy_value("lockout_minutes", &form.lockout_minutes)?),
    ];
    let now = state.licensing.clock.now();
    let mut update = Sql::update();
    update
        .table("accounts")
        .value("password_max_age_days", expiry)
        .and_where(Expr::col("id").eq(user.account_id.as_str()));
    let mut details = serde_json::Map::new();
    details.insert("password_max_age_days".into(), expiry.into());
    for (column, value) in values {
        update.value(column, value);
        details.insert(column.into(), value.into());
    }
    let mut tx = state.db.begin().await?;
    tx.execute(&update).await?;
    crate::store::record_activity(
        &mut tx,
        &user.account_id,
        now,
        Some(&user.user_id),
        "security.updated",
        ("account", &user.account_id),
        serde_json::Value::Object(details),
    )
    .await?;
    tx.commit().await?;
    Ok("The security settings are saved; they apply from the next sign-in or request.".into())
}

/// Ends every session of the user, this one included.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    jar: CookieJar,
    posted: Posted<CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    super::end_sessions_of(&state, &user.account_id, &user.user_id).await?;
    let jar = jar.remove(Cookie::from(super::SESSION_COOKIE));
    Ok((jar, Redirect::to("/sign-in?done=signed-out")).into_response())
}

/// Ends every console session of the account but this one (security administrators).
pub async fn sign_out_all(
    State(state): State<AppState>,
    posted: Posted<CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    if !user.security_admin() {
        let refused = ApiError::Forbidden("signing everyone out needs a security administrator".into());
        return finish(&state, &user, "/security", Err(refused)).await;
    }
    let ended = state
        .db
        .execute(
            Sql::update()
                .table("sessions")
                .value("ended_ms", state.licensing.clock.now())
                .and_where(Expr::col("account_id").eq(user.account_id.as_str()))
                .and_where(Expr::col("token_hash").ne(user.token_hash.as_str()))
                .and_where(Expr::col("ended_ms").is_null()),
        )
        .await?;
    let done =
        format!("{} ended.", super::count_text(ended as usize, "other session is", "other sessions are"));
    finish(&state, &user, "/security", Ok(done)).await
}
