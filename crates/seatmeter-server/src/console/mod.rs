//! The administration console: server-rendered pages (askama templates in
//! `templates/`), served by `seatmeter serve` at `/`.
//!
//! Sign-in is by e-mail and password (Argon2id, see [`crate::passwords`]).
//! A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure
//! when the request came over HTTPS through a proxy that says so); only its
//! SHA-256 is stored. Every form carries a CSRF token: the session's own
//! once signed in, and before that one from a cookie the form must repeat.
//! Failed sign-ins are throttled per user: from the third in a row each
//! must wait longer (1, 2, 4, … seconds, at most a minute), after the
//! account's threshold (default 10) the user is locked for its lockout time
//! (default 15 minutes), and never more than 100 failures an hour are
//! taken. A lock always ends by itself: nobody can lock an administrator out
//! for good.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use sea_query::{Expr, ExprTrait, Order, Query as Sql};
use seatmeter_core::people::{AdminArea, Email};
use serde::Deserialize;

use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, Params};
use crate::secrets::{hex, random_bytes, sha256_hex};
use crate::store::DbError;

pub(crate) const SESSION_COOKIE: &str = "seatmeter_session";
const CSRF_COOKIE: &str = "seatmeter_csrf";
/// How long a one-time password link lasts.
pub const SETUP_LINK_DAYS: i64 = 7;
/// Failed sign-ins taken per user and hour, at most.
const MAX_FAILURES_PER_HOUR: i64 = 100;

mod activity;
mod booking_pages;
mod licenses;
mod meetings;
mod notifications;
mod security;
mod users;

/// Refuses a page to a user without the right: said as the API says it.
pub(crate) fn needs(allowed: bool, what: &str) -> Result<(), Failure> {
    if allowed {
        Ok(())
    } else {
        Err(Failure(ApiError::Forbidden(format!("{what}: ask an administrator who has it"))))
    }
}
/// A form field left empty is a filter not given.
pub(crate) fn given(field: Option<String>) -> Option<String> {
    field.map(|f| f.trim().to_string()).filter(|f| !f.is_empty())
}

/// The console's routes.
pub fn routes() -> Router<Services> {
    Router::new()
        .route("/", get(dashboard))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/set-password", get(set_password_page).post(set_password))
        .route("/assets/htmx.min.js", get(htmx))
        .route("/licenses", get(licenses::licenses))
        .route("/licenses/pak", post(licenses::enter_pak))
        .route("/licenses/file", post(licenses::upload_file))
        .route("/users", get(users::users).post(users::add_user))
        .route("/users/{id}", get(users::user_page).post(users::update_user))
        .route("/users/{id}/password-link", post(users::new_link))
        .route("/users/{id}/licenses/{kind}/assign", post(users::assign))
        .route("/users/{id}/licenses/{kind}/unassign", get(users::unassign_page).post(users::unassign))
        .route("/booking-pages", get(booking_pages::list).post(booking_pages::create))
        .route("/booking-pages/{id}", get(booking_pages::show))
        .route("/booking-pages/{id}/hours", post(booking_pages::save_hours))
        .route("/booking-pages/{id}/override", post(booking_pages::save_override))
        .route("/booking-pages/{id}/state", post(booking_pages::set_state))
        .route("/booking-pages/{id}/transfer", post(booking_pages::transfer))
        .route("/booking-pages/{id}/editors", post(booking_pages::editors))
        .route("/meetings", get(meetings::meetings))
        .route("/activities", get(activity::activities))
        .route("/activities.csv", get(activity::export))
        .route("/activities/erase", get(activity::erase_page).post(activity::erase))
        .route("/notifications", get(notifications::notifications))
        .route("/security", get(security::security).post(security::save_security))
        .route("/security/sign-out-everywhere", post(security::sign_out_everywhere))
        .route("/security/sign-out-all", post(security::sign_out_all))
        .layer(axum::middleware::map_response(protect))
}

/// What every console answer carries: its pages run no script but htmx
/// from this server, post forms only here, are never framed by another
/// site (clickjacking), leak no address (a set-password link holds a
/// token) to another site, and are not kept in shared caches.
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in set {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    response
}

/// htmx (vendored, BSD Zero-Clause licence in `assets/htmx.LICENSE`): the
/// pages work without it; with it, the user search answers as one types.
async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/htmx.min.js"),
    )
        .into_response()
}

/// `n` and the noun that goes with it.
pub(crate) fn count_text(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn new_secret() -> String {
    hex(&random_bytes::<32>())
}

/// Whether the request came over HTTPS (directly or through a proxy that says so).
pub(crate) fn secure(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// Whether a signed-out form repeats the CSRF cookie it was served with.
fn csrf_cookie_matches(jar: &CookieJar, sent: &str) -> bool {
    !sent.is_empty() && jar.get(CSRF_COOKIE).map(|c| c.value()) == Some(sent)
}

fn cookie(name: &'static str, value: String, headers: &HeaderMap) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(headers))
        .build()
}

/// A page that failed: shown as text, never as the API's JSON.
pub(crate) struct Failure(ApiError);

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Self(error)
    }
}

impl From<DbError> for Failure {
    fn from(error: DbError) -> Self {
        Self(ApiError::from(error))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
struct MessagePage {
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, message) = match self.0 {
            ApiError::Internal { cause, .. } => {
                tracing::error!(error = %cause, "a console page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong; try again in a moment.".to_string(),
                )
            }
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            other => (StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
        };
        (status, MessagePage { message }).into_response()
    }
}

/// The signed-in user of a console request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConsoleUser {
    /// The session's token hash.
    pub token_hash: String,
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The user.
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// `member` or `administrator`.
    pub role: String,
    /// Admin areas (empty: all).
    pub areas: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The account's time zone.
    pub time_zone: String,
    /// Why the account is disabled, if it is.
    pub disabled_reason: Option<String>,
    /// What the last form did, or why it was refused (`done:…` / `error:…`),
    /// shown once.
    pub flash: Option<String>,
    created_ms: i64,
    last_seen_ms: i64,
    session_idle_minutes: i64,
    session_max_hours: i64,
}

impl ConsoleUser {
    /// The user as the use cases take them: the console calls the same
    /// use cases as the API, so that a page allows exactly what the API allows.
    pub fn principal(&self) -> Principal {
        Principal {
            account_id: self.account_id.as_str().into(),
            user_id: self.user_id.as_str().into(),
            rights: seatmeter_core::access::Rights::from_stored(&self.role, &self.areas),
            credential: crate::app::Credential::Session,
        }
    }

    /// Whether the user administers `area`.
    pub fn administers(&self, area: AdminArea) -> bool {
        self.principal().administers(area)
    }

    /// Whether the user is an administrator (of any area).
    pub fn is_admin(&self) -> bool {
        self.role == "administrator"
    }

    /// Administers users & licenses.
    pub fn users_admin(&self) -> bool {
        self.administers(AdminArea::UsersLicenses)
    }

    /// Administers license purchases (billing, or users & licenses).
    pub fn licenses_admin(&self) -> bool {
        self.administers(AdminArea::Billing) || self.administers(AdminArea::UsersLicenses)
    }

    /// Administers security settings.
    pub fn security_admin(&self) -> bool {
        self.administers(AdminArea::Security)
    }

    /// Sees the account's whole activity stream (as the API decides).
    pub fn sees_whole_stream(&self) -> bool {
        crate::app::activities::sees_the_whole_stream(&self.principal())
    }

    /// Sees the account's usage and meetings (reports, or users & licenses).
    pub fn sees_reports(&self) -> bool {
        self.administers(AdminArea::Reports) || self.administers(AdminArea::UsersLicenses)
    }

    /// Administers privacy (erasing a person's activities).
    pub fn privacy_admin(&self) -> bool {
        self.administers(AdminArea::Privacy)
    }

    /// The account's time zone.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        crate::app::compliance::zone(&self.time_zone)
    }

    /// An RFC 3339 instant as a date and time in the account's time zone.
    pub fn local(&self, at: &str) -> String {
        at.parse::<jiff::Timestamp>()
            .map_or_else(|_| at.to_string(), |t| local_time(t.as_millisecond(), &self.zone()))
    }

    /// What the last form did, to show once.
    pub fn notice(&self) -> Option<&str> {
        self.flash.as_deref().and_then(|f| f.strip_prefix("done:"))
    }

    /// Why the last form was refused, to show once.
    pub fn problem(&self) -> Option<&str> {
        self.flash.as_deref().and_then(|f| f.strip_prefix("error:"))
    }
}

/// A signed-in console user; a request without one is sent to sign in.
pub struct Signed(pub ConsoleUser);

impl FromRequestParts<Services> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        match signed_in(state, &jar).await {
            Ok(Some(user)) => Ok(Signed(user)),
            Ok(None) => Err(Redirect::to("/sign-in").into_response()),
            Err(failure) => Err(failure.into_response()),
        }
    }
}

/// A form posted by a signed-in user, its CSRF token checked: a request
/// another site makes the browser send cannot know the session's token.
pub struct Posted<T> {
    /// Who posted it.
    pub user: ConsoleUser,
    /// The form's fields (unknown fields are ignored; `csrf` is checked here).
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The answer to a form that has expired or was not ours.
pub(crate) fn expired_form() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>Seatmeter</title><p>The form had expired: go back, reload the page and try again.</p>",
    )
        .into_response()
}

impl<T: serde::de::DeserializeOwned> FromRequest<Services> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Services) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Signed(user) = Signed::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(|_| {
            (StatusCode::PAYLOAD_TOO_LARGE, "the form is larger than the server accepts").into_response()
        })?;
        let sent: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| expired_form())?;
        if sent.csrf.is_empty() || sent.csrf != user.csrf {
            return Err(expired_form());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("the form could not be read: {e}")).into_response()
        })?;
        Ok(Posted { user, form })
    }
}

/// Shows `message` once, on the next page the session loads.
async fn set_flash(state: &Services, user: &ConsoleUser, message: String) -> Result<(), DbError> {
    state
        .db
        .execute(
            Sql::update()
                .table("sessions")
                .value("flash", message)
                .and_where(Expr::col("token_hash").eq(user.token_hash.as_str())),
        )
        .await?;
    Ok(())
}

/// Ends a form: what it did (or why it was refused) is shown on `back`,
/// where the browser is sent. A database failure is a failed page.
pub(crate) async fn finish(
    state: &Services,
    user: &ConsoleUser,
    back: &str,
    outcome: Result<String, ApiError>,
) -> Result<Response, Failure> {
    let message = match outcome {
        Ok(done) => format!("done:{done}"),
        Err(failed @ ApiError::Internal { .. }) => return Err(Failure(failed)),
        Err(refused) => format!("error:{refused}"),
    };
    set_flash(state, user, message).await?;
    Ok(Redirect::to(&header_safe(back)).into_response())
}

/// `path` with every byte a `Location` header may not hold (controls,
/// spaces, non-ASCII: a path parameter decodes to anything) percent-encoded.
fn header_safe(path: &str) -> String {
    path.bytes()
        .map(|b| if (0x21..0x7f).contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The account's users' names, for pages that show who (all of them for
/// user administrators, else only the user).
pub(crate) struct Names {
    by_id: std::collections::HashMap<String, String>,
    /// (id, name) by name, for choosing one.
    pub sorted: Vec<(String, String)>,
}

impl Names {
    /// The name of user `id` (the id itself for a user not shown).
    pub fn of<'a>(&'a self, id: &'a str) -> &'a str {
        self.by_id.get(id).map_or(id, String::as_str)
    }
}

impl Names {
    fn from_users(users: Vec<crate::store::users::UserRow>) -> Self {
        let mut sorted: Vec<(String, String)> =
            users.into_iter().map(|u| (u.id, format!("{} <{}>", u.name, u.email))).collect();
        sorted.sort_by_cached_key(|(_, name)| name.to_lowercase());
        Names { by_id: sorted.iter().cloned().collect(), sorted }
    }

    /// Every user of the account: for pages whose data already name them
    /// all (the whole activity stream), and for choosing whose activities
    /// to erase.
    pub async fn all(state: &Services, account_id: &str) -> Result<Self, DbError> {
        Ok(Self::from_users(account_users(state, account_id, None).await?))
    }

    /// Adds the users `ids` of the account (the owner and editors of a page
    /// the user sees), so that the page shows their names.
    pub async fn with(mut self, state: &Services, account_id: &str, ids: &[&str]) -> Result<Self, DbError> {
        let missing: Vec<&str> = ids.iter().copied().filter(|id| !self.by_id.contains_key(*id)).collect();
        if missing.is_empty() {
            return Ok(self);
        }
        for user in account_users(state, account_id, Some(missing)).await? {
            self.by_id.insert(user.id, format!("{} <{}>", user.name, user.email));
        }
        Ok(self)
    }
}

/// The users of the account (only `ids`, if given).
async fn account_users(
    state: &Services,
    account_id: &str,
    ids: Option<Vec<&str>>,
) -> Result<Vec<crate::store::users::UserRow>, DbError> {
    let mut select = Sql::select();
    select
        .columns(crate::store::users::USER_COLUMNS)
        .from("users")
        .and_where(Expr::col("account_id").eq(account_id));
    if let Some(ids) = ids {
        select.and_where(Expr::col("id").is_in(ids));
    }
    state.db.fetch_all(&select).await
}

/// The names of the users `user` may see.
pub(crate) async fn user_names(state: &Services, user: &ConsoleUser) -> Result<Names, DbError> {
    Ok(Names::from_users(crate::app::users::list(state, &user.principal(), None).await?))
}

/// The signed-in user of a request (`None`: signed out, or the session ended).
async fn signed_in(state: &Services, jar: &CookieJar) -> Result<Option<ConsoleUser>, Failure> {
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else { return Ok(None) };
    let now = state.clock.now();
    let user: Option<ConsoleUser> = state
        .db
        .fetch_optional(
            Sql::select()
                .expr_as(Expr::col(("sessions", "token_hash")), "token_hash")
                .expr_as(Expr::col(("sessions", "account_id")), "account_id")
                .expr_as(Expr::col(("accounts", "name")), "account_name")
                .expr_as(Expr::col(("sessions", "user_id")), "user_id")
                .expr_as(Expr::col(("users", "name")), "name")
                .expr_as(Expr::col(("users", "role")), "role")
                .expr_as(Expr::col(("users", "areas")), "areas")
                .expr_as(Expr::col(("sessions", "csrf_token")), "csrf")
                .expr_as(Expr::col(("accounts", "time_zone")), "time_zone")
                .expr_as(Expr::col(("accounts", "disabled_reason")), "disabled_reason")
                .expr_as(Expr::col(("sessions", "flash")), "flash")
                .expr_as(Expr::col(("sessions", "created_ms")), "created_ms")
                .expr_as(Expr::col(("sessions", "last_seen_ms")), "last_seen_ms")
                .expr_as(Expr::col(("accounts", "session_idle_minutes")), "session_idle_minutes")
                .expr_as(Expr::col(("accounts", "session_max_hours")), "session_max_hours")
                .from("sessions")
                .inner_join("users", Expr::col(("users", "id")).equals(("sessions", "user_id")))
                .inner_join("accounts", Expr::col(("accounts", "id")).equals(("sessions", "account_id")))
                .and_where(Expr::col(("sessions", "token_hash")).eq(sha256_hex(token.as_bytes())))
                .and_where(Expr::col(("sessions", "ended_ms")).is_null())
                .and_where(Expr::col(("users", "disabled_ms")).is_null()),
        )
        .await?;
    let Some(user) = user else { return Ok(None) };
    let idle = now - user.last_seen_ms > user.session_idle_minutes * 60_000;
    let old = now - user.created_ms > user.session_max_hours * 3_600_000;
    if idle || old {
        end_session(state, &user.token_hash, now).await?;
        return Ok(None);
    }
    // The last request's time, to the minute (a write per minute, not per request).
    if now - user.last_seen_ms >= 60_000 {
        state
            .db
            .execute(
                Sql::update()
                    .table("sessions")
                    .value("last_seen_ms", now)
                    .and_where(Expr::col("token_hash").eq(user.token_hash.as_str())),
            )
            .await?;
    }
    // The flash message is shown once: this one, not one a form stored since.
    if let Some(flash) = &user.flash {
        state
            .db
            .execute(
                Sql::update()
                    .table("sessions")
                    .value("flash", Option::<String>::None)
                    .and_where(Expr::col("token_hash").eq(user.token_hash.as_str()))
                    .and_where(Expr::col("flash").eq(flash.as_str())),
            )
            .await?;
    }
    Ok(Some(user))
}

async fn end_session(state: &Services, token_hash: &str, now: i64) -> Result<(), DbError> {
    state
        .db
        .execute(
            Sql::update()
                .table("sessions")
                .value("ended_ms", now)
                .and_where(Expr::col("token_hash").eq(token_hash))
                .and_where(Expr::col("ended_ms").is_null()),
        )
        .await?;
    Ok(())
}

/// Ends every session of a user (disabled, removed, or "sign out everywhere").
pub async fn end_sessions_of(state: &Services, account_id: &str, user_id: &str) -> Result<(), DbError> {
    state
        .db
        .execute(
            Sql::update()
                .table("sessions")
                .value("ended_ms", state.clock.now())
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("user_id").eq(user_id))
                .and_where(Expr::col("ended_ms").is_null()),
        )
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Sign-in

#[derive(Template, WebTemplate)]
#[template(path = "sign_in.html")]
struct SignInPage {
    csrf: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

/// The sign-in page, with a fresh CSRF cookie for its form.
fn sign_in_form(
    jar: CookieJar,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let csrf = new_secret();
    let jar = jar.add(cookie(CSRF_COOKIE, csrf.clone(), headers));
    (status, jar, SignInPage { csrf, email, error, notice }).into_response()
}

#[derive(Deserialize)]
struct Notice {
    done: Option<String>,
}

async fn sign_in_page(
    State(state): State<Services>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Result<Response, Failure> {
    if signed_in(&state, &jar).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let notice = match notice.done.as_deref() {
        Some("password") => Some("Your password is set: sign in with it.".to_string()),
        Some("signed-out") => Some("You are signed out.".to_string()),
        _ => None,
    };
    Ok(sign_in_form(jar, &headers, StatusCode::OK, String::new(), None, notice))
}

#[derive(Deserialize)]
struct SignInForm {
    csrf: String,
    email: String,
    password: String,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: String,
    account_id: String,
    password_hash: Option<String>,
    password_changed_ms: Option<i64>,
    password_max_age_days: Option<i64>,
    lockout_threshold: i64,
    lockout_minutes: i64,
}

#[derive(sqlx::FromRow)]
struct FailedAt {
    at_ms: i64,
}

/// Why a user may not try to sign in now, if so, from their failed
/// sign-ins of the last hour, or of the lockout time if it is longer.
async fn throttled(state: &Services, user: &Candidate, now: i64) -> Result<Option<String>, DbError> {
    let window = now - user.lockout_minutes * 60_000;
    let failures: Vec<FailedAt> = state
        .db
        .fetch_all(
            Sql::select()
                .column("at_ms")
                .from("sign_in_failures")
                .and_where(Expr::col("account_id").eq(user.account_id.as_str()))
                .and_where(Expr::col("user_id").eq(user.id.as_str()))
                .and_where(Expr::col("at_ms").gt(Ord::min(window, now - 3_600_000))),
        )
        .await?;
    let last_hour = failures.iter().filter(|f| f.at_ms > now - 3_600_000).count();
    if i64::try_from(last_hour).unwrap_or(i64::MAX) >= MAX_FAILURES_PER_HOUR {
        return Ok(Some("too many failed sign-ins in the last hour: try again later".into()));
    }
    let recent: Vec<i64> = failures.iter().map(|f| f.at_ms).filter(|&at| at > window).collect();
    let count = i64::try_from(recent.len()).unwrap_or(i64::MAX);
    let Some(&last) = recent.iter().max() else { return Ok(None) };
    if count >= user.lockout_threshold {
        let until = last + user.lockout_minutes * 60_000;
        let minutes = (until - now + 59_999) / 60_000;
        return Ok(Some(format!(
            "too many failed sign-ins: this user is locked for {minutes} more minute{}",
            if minutes == 1 { "" } else { "s" }
        )));
    }
    if count >= 3 {
        let wait = Ord::min(1_000i64 << (count - 3).clamp(0, 6), 60_000);
        if now < last + wait {
            let seconds = (last + wait - now + 999) / 1_000;
            return Ok(Some(format!(
                "wait {seconds} second{} before trying again",
                if seconds == 1 { "" } else { "s" }
            )));
        }
    }
    Ok(None)
}

const WRONG: &str = "the e-mail address or the password is wrong";

async fn sign_in(
    State(state): State<Services>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, Failure> {
    let again = |jar, status, error: &str| {
        sign_in_form(jar, &headers, status, form.email.clone(), Some(error.to_string()), None)
    };
    if !csrf_cookie_matches(&jar, &form.csrf) {
        return Ok(again(jar, StatusCode::FORBIDDEN, "the form had expired: sign in again"));
    }
    let now = state.clock.now();
    let Ok(email) = Email::parse(&form.email) else {
        return Ok(again(jar, StatusCode::UNPROCESSABLE_ENTITY, "enter an e-mail address"));
    };
    let candidates: Vec<Candidate> = state
        .db
        .fetch_all(
            Sql::select()
                .expr_as(Expr::col(("users", "id")), "id")
                .expr_as(Expr::col(("users", "account_id")), "account_id")
                .expr_as(Expr::col(("users", "password_hash")), "password_hash")
                .expr_as(Expr::col(("users", "password_changed_ms")), "password_changed_ms")
                .expr_as(Expr::col(("accounts", "password_max_age_days")), "password_max_age_days")
                .expr_as(Expr::col(("accounts", "lockout_threshold")), "lockout_threshold")
                .expr_as(Expr::col(("accounts", "lockout_minutes")), "lockout_minutes")
                .from("users")
                .inner_join("accounts", Expr::col(("accounts", "id")).equals(("users", "account_id")))
                .and_where(Expr::col(("users", "email_key")).eq(email.key()))
                .and_where(Expr::col(("users", "disabled_ms")).is_null())
                .and_where(Expr::col(("users", "password_hash")).is_not_null())
                .order_by(("users", "created_ms"), Order::Asc),
        )
        .await?;
    if candidates.is_empty() {
        // As slow as a real check, so the answer's time tells nothing.
        let _ = crate::passwords::verify(form.password.clone(), crate::passwords::decoy().await.to_string())
            .await;
        return Ok(again(jar, StatusCode::UNAUTHORIZED, WRONG));
    }
    for user in &candidates {
        if let Some(reason) = throttled(&state, user, now).await? {
            return Ok(again(jar, StatusCode::TOO_MANY_REQUESTS, &reason));
        }
    }
    let mut matched = None;
    for user in candidates {
        let stored = user.password_hash.clone().unwrap_or_default();
        if crate::passwords::verify(form.password.clone(), stored).await {
            matched = Some(user);
            break;
        }
        state
            .db
            .execute(
                Sql::insert()
                    .into_table("sign_in_failures")
                    .columns(["account_id", "user_id", "at_ms"])
                    .values_panic([user.account_id.clone().into(), user.id.clone().into(), now.into()]),
            )
            .await?;
    }
    let Some(user) = matched else { return Ok(again(jar, StatusCode::UNAUTHORIZED, WRONG)) };
    state
        .db
        .execute(
            Sql::delete()
                .from_table("sign_in_failures")
                .and_where(Expr::col("account_id").eq(user.account_id.as_str()))
                .and_where(Expr::col("user_id").eq(user.id.as_str())),
        )
        .await?;
    // An expired password signs in to nothing: it must be replaced first.
    let expired = user
        .password_max_age_days
        .is_some_and(|days| now - user.password_changed_ms.unwrap_or(0) > days * 86_400_000);
    if expired {
        let mut tx = state.db.begin().await?;
        let token = new_setup_token(&mut tx, &user.account_id, &user.id, now).await?;
        tx.commit().await?;
        let jar = jar.remove(Cookie::from(CSRF_COOKIE));
        return Ok((jar, Redirect::to(&format!("/set-password?token={token}&expired=yes"))).into_response());
    }
    let token = new_secret();
    let mut tx = state.db.begin().await?;
    tx.execute(
        Sql::insert()
            .into_table("sessions")
            .columns(["token_hash", "account_id", "user_id", "csrf_token", "created_ms", "last_seen_ms"])
            .values_panic([
                sha256_hex(token.as_bytes()).into(),
                user.account_id.clone().into(),
                user.id.clone().into(),
                new_secret().into(),
                now.into(),
                now.into(),
            ]),
    )
    .await?;
    crate::store::activities::record(
        &mut tx,
        &user.account_id,
        now,
        Some(&user.id),
        "console.signed_in",
        ("user", &user.id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    let jar = jar.remove(Cookie::from(CSRF_COOKIE)).add(cookie(SESSION_COOKIE, token, &headers));
    Ok((jar, Redirect::to("/")).into_response())
}

/// A form of no fields but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(state): State<Services>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Failure> {
    if let Some(user) = signed_in(&state, &jar).await? {
        if form.csrf != user.csrf {
            return Ok((StatusCode::FORBIDDEN, "the form had expired: go back and try again").into_response());
        }
        end_session(&state, &user.token_hash, state.clock.now()).await?;
    }
    let jar = jar.remove(Cookie::from(SESSION_COOKIE));
    Ok((jar, Redirect::to("/sign-in?done=signed-out")).into_response())
}

// ---------------------------------------------------------------------------
// Setting a password from a one-time link

/// Makes a one-time link token to set `user_id`'s password; returns the token.
pub(crate) async fn new_setup_token(
    tx: &mut crate::store::Tx,
    account_id: &str,
    user_id: &str,
    now: i64,
) -> Result<String, DbError> {
    let token = new_secret();
    tx.execute(
        Sql::insert()
            .into_table("password_setups")
            .columns(["token_hash", "account_id", "user_id", "created_ms", "expires_ms"])
            .values_panic([
                sha256_hex(token.as_bytes()).into(),
                account_id.into(),
                user_id.into(),
                now.into(),
                (now + SETUP_LINK_DAYS * 86_400_000).into(),
            ]),
    )
    .await?;
    Ok(token)
}

/// A new one-time link token for the user of `account_id` with address
/// `email` (`None`: no such enabled user), made by `actor` (`None`: the
/// command line); the activity stream records it.
pub async fn password_link(
    db: &crate::store::Db,
    account_id: &str,
    email: &Email,
    actor: Option<&str>,
    now: i64,
) -> Result<Option<String>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Found {
        id: String,
    }
    let mut tx = db.begin().await?;
    let user: Option<Found> = tx
        .fetch_optional(
            Sql::select()
                .column("id")
                .from("users")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("email_key").eq(email.key()))
                .and_where(Expr::col("disabled_ms").is_null()),
        )
        .await?;
    let Some(user) = user else { return Ok(None) };
    let token = new_setup_token(&mut tx, account_id, &user.id, now).await?;
    let details = serde_json::json!({"expires_in_days": SETUP_LINK_DAYS});
    crate::store::activities::record(
        &mut tx,
        account_id,
        now,
        actor,
        "user.password_link",
        ("user", &user.id),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(token))
}

#[derive(sqlx::FromRow)]
struct Setup {
    account_id: String,
    user_id: String,
    email: String,
    password_hash: Option<String>,
    password_min_length: i64,
}

async fn setup(state: &Services, token: &str) -> Result<Option<Setup>, DbError> {
    let now = state.clock.now();
    state
        .db
        .fetch_optional(
            Sql::select()
                .expr_as(Expr::col(("password_setups", "account_id")), "account_id")
                .expr_as(Expr::col(("password_setups", "user_id")), "user_id")
                .expr_as(Expr::col(("users", "email")), "email")
                .expr_as(Expr::col(("users", "password_hash")), "password_hash")
                .expr_as(Expr::col(("accounts", "password_min_length")), "password_min_length")
                .from("password_setups")
                .inner_join("users", Expr::col(("users", "id")).equals(("password_setups", "user_id")))
                .inner_join(
                    "accounts",
                    Expr::col(("accounts", "id")).equals(("password_setups", "account_id")),
                )
                .and_where(Expr::col(("password_setups", "token_hash")).eq(sha256_hex(token.as_bytes())))
                .and_where(Expr::col(("password_setups", "used_ms")).is_null())
                .and_where(Expr::col(("password_setups", "expires_ms")).gt(now))
                .and_where(Expr::col(("users", "disabled_ms")).is_null()),
        )
        .await
}

#[derive(Template, WebTemplate)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    csrf: String,
    token: String,
    email: String,
    min_length: i64,
    error: Option<String>,
    expired: bool,
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
    expired: Option<String>,
}

const LINK_GONE: &str = "This link has been used or has expired. Ask for a new one \
                         (`seatmeter account password-link --account … --email …`).";

async fn set_password_page(
    State(state): State<Services>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Failure> {
    let token = query.token.unwrap_or_default();
    let Some(setup) = setup(&state, &token).await? else {
        return Ok(sign_in_form(
            jar,
            &headers,
            StatusCode::NOT_FOUND,
            String::new(),
            Some(LINK_GONE.into()),
            None,
        ));
    };
    let csrf = new_secret();
    let jar = jar.add(cookie(CSRF_COOKIE, csrf.clone(), &headers));
    let page = SetPasswordPage {
        csrf,
        token,
        email: setup.email,
        min_length: setup.password_min_length,
        error: None,
        expired: query.expired.is_some(),
    };
    Ok((jar, page).into_response())
}

#[derive(Deserialize)]
struct SetPasswordForm {
    csrf: String,
    token: String,
    password: String,
    confirm: String,
}

async fn set_password(
    State(state): State<Services>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response, Failure> {
    let Some(setup) = setup(&state, &form.token).await? else {
        return Ok(sign_in_form(
            jar,
            &headers,
            StatusCode::NOT_FOUND,
            String::new(),
            Some(LINK_GONE.into()),
            None,
        ));
    };
    let csrf_ok = csrf_cookie_matches(&jar, &form.csrf);
    let refusal = if !csrf_ok {
        Some("the form had expired: enter the password again".to_string())
    } else if form.password != form.confirm {
        Some("the two passwords differ".to_string())
    } else {
        crate::passwords::refusal(&form.password, setup.password_min_length)
    };
    if let Some(error) = refusal {
        let csrf = new_secret();
        let jar = jar.add(cookie(CSRF_COOKIE, csrf.clone(), &headers));
        let page = SetPasswordPage {
            csrf,
            token: form.token,
            email: setup.email,
            min_length: setup.password_min_length,
            error: Some(error),
            expired: false,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, page).into_response());
    }
    // The password in use again: refused, and the link is used up, so that
    // a link tests one guess of the current password, not many.
    if let Some(old) = setup.password_hash.clone()
        && crate::passwords::verify(form.password.clone(), old).await
    {
        state
            .db
            .execute(
                Sql::update()
                    .table("password_setups")
                    .value("used_ms", state.clock.now())
                    .and_where(Expr::col("token_hash").eq(sha256_hex(form.token.as_bytes()))),
            )
            .await?;
        let error = "that is the password you have now: sign in again and choose a different one".to_string();
        return Ok(sign_in_form(
            jar,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            setup.email,
            Some(error),
            None,
        ));
    }
    let hash = crate::passwords::hash(form.password).await.map_err(|e| {
        Failure(ApiError::Refused { status: StatusCode::INTERNAL_SERVER_ERROR, code: "internal", message: e })
    })?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let used = tx
        .execute(
            Sql::update()
                .table("password_setups")
                .value("used_ms", now)
                .and_where(Expr::col("token_hash").eq(sha256_hex(form.token.as_bytes())))
                .and_where(Expr::col("used_ms").is_null()),
        )
        .await?;
    if used == 0 {
        return Ok(sign_in_form(
            jar,
            &headers,
            StatusCode::NOT_FOUND,
            String::new(),
            Some(LINK_GONE.into()),
            None,
        ));
    }
    tx.execute(
        Sql::update()
            .table("users")
            .value("password_hash", hash)
            .value("password_changed_ms", now)
            .and_where(Expr::col("account_id").eq(setup.account_id.as_str()))
            .and_where(Expr::col("id").eq(setup.user_id.as_str())),
    )
    .await?;
    crate::store::activities::record(
        &mut tx,
        &setup.account_id,
        now,
        Some(&setup.user_id),
        "user.password_set",
        ("user", &setup.user_id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    // A new password ends the sessions signed in with the old one.
    end_sessions_of(&state, &setup.account_id, &setup.user_id).await?;
    Ok((jar.remove(Cookie::from(CSRF_COOKIE)), Redirect::to("/sign-in?done=password")).into_response())
}

// ---------------------------------------------------------------------------
// The dashboard

/// One bar of a chart.
struct Bar {
    label: String,
    short: String,
    over: bool,
    x: i64,
    y: i64,
    width: i64,
    height: i64,
    limit_y: Option<i64>,
}

#[derive(Template)]
#[template(path = "bar_chart.svg", escape = "html")]
struct BarChart {
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    width: i64,
    height: i64,
    top: i64,
    base: i64,
    scale: u64,
    bars: Vec<Bar>,
    description: String,
}

/// One bar to draw: its label for people, its short label under the axis,
/// its value, and the limit drawn across it (a bar above its limit is red).
pub(crate) struct BarValue {
    pub label: String,
    pub short: String,
    pub value: u64,
    pub limit: Option<u64>,
}

/// A bar chart as SVG, readable without JavaScript: each bar's label is
/// its tooltip, and all of them together its description.
pub(crate) fn bar_chart(
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    values: &[BarValue],
) -> String {
    let (width, height, top, base) = (640i64, 220i64, 16i64, 190i64);
    let scale = values.iter().flat_map(|v| [v.value, v.limit.unwrap_or(0)]).chain([1]).max().unwrap_or(1);
    let span = i64::try_from(values.len().max(1)).unwrap_or(1);
    let slot = (width - 48) / span;
    let y_of =
        |v: u64| base - (i64::try_from(v).unwrap_or(0) * (base - top)) / i64::try_from(scale).unwrap_or(1);
    let bars: Vec<Bar> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = 48 + i64::try_from(i).unwrap_or(0) * slot + slot / 6;
            Bar {
                label: v.label.clone(),
                short: v.short.clone(),
                over: v.limit.is_some_and(|l| v.value > l),
                x,
                y: y_of(v.value),
                width: Ord::max(slot * 2 / 3, 1),
                height: base - y_of(v.value),
                limit_y: v.limit.map(y_of),
            }
        })
        .collect();
    let description = values.iter().map(|v| v.label.as_str()).collect::<Vec<_>>().join("; ");
    let chart = BarChart { id, title, empty, width, height, top, base, scale, bars, description };
    chart.render().unwrap_or_default()
}

/// `ms` as a local date and time, for people.
pub(crate) fn local_time(ms: i64, zone: &jiff::tz::TimeZone) -> String {
    let at = jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(zone.clone());
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    user: ConsoleUser,
    banners: Vec<String>,
    disabled: bool,
    usage: String,
    trend: String,
    running: Vec<crate::meetings::MeetingView>,
    names: Names,
    pools: Vec<crate::http::licenses::PoolView>,
}

#[derive(sqlx::FromRow)]
struct Started {
    started_ms: i64,
}

/// Days of meeting trends on the dashboard.
const TREND_DAYS: i64 = 14;

async fn dashboard(State(state): State<Services>, Signed(user): Signed) -> Result<Response, Failure> {
    if user.role != "administrator" {
        return Ok(Redirect::to("/booking-pages").into_response());
    }
    let account = user.account_id.clone();
    let status = licenses::compliance(&state, &user).await?;
    let pools = licenses::pools(&state, &user).await?;
    // Usage and meetings are for administrators of reports or of users &
    // licenses, as in the API; the others see compliance and the pools.
    if !user.sees_reports() {
        let page = DashboardPage {
            usage: String::new(),
            trend: String::new(),
            running: Vec::new(),
            names: Names::from_users(Vec::new()),
            disabled: status.disabled,
            banners: status.banners,
            pools,
            user,
        };
        return Ok(page.into_response());
    }
    let installed =
        pools.iter().find(|p| p.kind == "host").map_or(0, |p| u64::try_from(p.installed).unwrap_or(0));
    let rules = crate::meetings::account_rules(&state.db, &account).await?;
    let rows = state.usage.rows(&state.db, &account, &rules).await?;
    let totals = seatmeter_core::usage::window_totals(rows.iter().map(|r| (r.window, r.licenses)));
    let windows = crate::live::windows_of(rules.anchor_ms);
    let mut usage: Vec<BarValue> = totals
        .iter()
        .map(|t| {
            let start = i64::try_from(windows.start(t.window) / 1_000_000).unwrap_or(0);
            let date = jiff::Timestamp::from_millisecond(start).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            BarValue {
                label: format!(
                    "window from {}: {} used of {installed} installed",
                    date.strftime("%Y-%m-%d"),
                    t.licenses
                ),
                short: date.strftime("%b %d").to_string(),
                value: t.licenses,
                limit: Some(installed),
            }
        })
        .collect();
    let keep = usage.len().saturating_sub(12);
    usage.drain(..keep);
    // Meetings started per day, the last two weeks, in the account's zone.
    let now = state.clock.now();
    let zone = user.zone();
    let today = crate::app::compliance::local_date(&zone, now);
    let started: Vec<Started> = state
        .db
        .fetch_all(
            Sql::select()
                .column("started_ms")
                .from("meetings")
                .and_where(Expr::col("account_id").eq(account.as_str()))
                .and_where(Expr::col("started_ms").gte(now - (TREND_DAYS + 1) * 86_400_000)),
        )
        .await?;
    let trend: Vec<BarValue> = (0..TREND_DAYS)
        .rev()
        .map(|back| {
            let day = today.checked_sub(jiff::Span::new().days(back)).unwrap_or(today);
            let count = started
                .iter()
                .filter(|m| crate::app::compliance::local_date(&zone, m.started_ms) == day)
                .count() as u64;
            BarValue {
                label: format!("{}: {count} meeting{} started", day, if count == 1 { "" } else { "s" }),
                short: day.strftime("%d").to_string(),
                value: count,
                limit: None,
            }
        })
        .collect();
    let filter =
        crate::meetings::MeetingFilter { state: Some("running".into()), host_user_id: None, limit: Some(20) };
    let running =
        crate::meetings::list_meetings(State(state.clone()), user.principal(), Params(filter)).await?.0;
    let page = DashboardPage {
        usage: bar_chart(
            "usage",
            "Host licenses used and installed, per 30-day window",
            "No meetings counted yet",
            &usage,
        ),
        trend: bar_chart("trend", "Meetings started per day", "No meetings yet", &trend),
        names: user_names(&state, &user).await?,
        running,
        disabled: status.disabled,
        banners: status.banners,
        pools,
        user,
    };
    Ok(page.into_response())
}
