//! The console's security settings: password, session and lockout
//! policies; signing out everywhere.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use sea_query::{Expr, ExprTrait, Query as Sql};
use serde::Deserialize;

use super::{ConsoleUser, CsrfForm, Failure, Posted, Signed, finish};
use crate::app::Services;
use crate::http::ApiError;

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
pub async fn security(State(state): State<Services>, Signed(user): Signed) -> Result<Response, Failure> {
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
    State(state): State<Services>,
    posted: Posted<PolicyForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let outcome = save_policies(&state, &user, &form).await;
    finish(&state, &user, "/security", outcome).await
}

async fn save_policies(state: &Services, user: &ConsoleUser, form: &PolicyForm) -> Result<String, ApiError> {
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
    let now = state.clock.now();
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
    crate::store::activities::record(
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
    State(state): State<Services>,
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
    State(state): State<Services>,
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
                .value("ended_ms", state.clock.now())
                .and_where(Expr::col("account_id").eq(user.account_id.as_str()))
                .and_where(Expr::col("token_hash").ne(user.token_hash.as_str()))
                .and_where(Expr::col("ended_ms").is_null()),
        )
        .await?;
    let done =
        format!("{} ended.", super::count_text(ended as usize, "other session is", "other sessions are"));
    finish(&state, &user, "/security", Ok(done)).await
}
