//! The signed-in user of a console request, and what every form shares:
//! the session cookie, the CSRF token a form must repeat, the message a
//! form leaves for the next page, and how a failed page is shown.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use crate::app::Capability;
use crate::app::{self, Principal, Services};
use crate::http::ApiError;
use crate::store::DbError;
use crate::store::sessions::SessionRow;

/// The cookie that holds a session's token.
pub(crate) const SESSION_COOKIE: &str = "seatmeter_session";
/// The cookie that holds the CSRF token of a signed-out form.
pub(super) const CSRF_COOKIE: &str = "seatmeter_csrf";

pub(super) use crate::secrets::new_secret;

/// Whether the request came over HTTPS (directly or through a proxy that says so).
pub(crate) fn secure(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// Whether a signed-out form repeats the CSRF cookie it was served with.
pub(super) fn csrf_cookie_matches(jar: &CookieJar, sent: &str) -> bool {
    !sent.is_empty() && jar.get(CSRF_COOKIE).map(|c| c.value()) == Some(sent)
}

/// A cookie of the console: HttpOnly, SameSite=Lax, Secure over HTTPS.
pub(super) fn cookie(name: &'static str, value: String, headers: &HeaderMap) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(headers))
        .build()
}

/// A page that failed: shown as text, never as the API's JSON.
pub(crate) struct Failure(pub(crate) ApiError);

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

impl From<app::Error> for Failure {
    fn from(error: app::Error) -> Self {
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
                crate::http::log_failure(&cause, "a console page failed");
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
#[derive(Clone, Debug)]
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
    /// The account's compliance now, for those who see it: its banners top
    /// every page (loaded for pages, not for forms).
    pub compliance: Option<app::compliance::status::Compliance>,
}

impl From<SessionRow> for ConsoleUser {
    fn from(s: SessionRow) -> Self {
        ConsoleUser {
            token_hash: s.token_hash,
            account_id: s.account_id,
            account_name: s.account_name,
            user_id: s.user_id,
            name: s.name,
            role: s.role,
            areas: s.areas,
            csrf: s.csrf,
            time_zone: s.time_zone,
            disabled_reason: s.disabled_reason,
            flash: s.flash,
            compliance: None,
        }
    }
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

    /// Whether the user may do `capability`: the same rule the API asks.
    pub fn may(&self, capability: Capability) -> bool {
        self.principal().may(capability)
    }

    /// Whether the user is an administrator (of any area): the dashboard and
    /// the compliance banners are theirs.
    pub fn is_admin(&self) -> bool {
        self.may(Capability::SeeCompliance)
    }

    /// The compliance banners to show at the top of the page.
    pub fn banners(&self) -> &[String] {
        self.compliance.as_ref().map_or(&[], |status| status.banners.as_slice())
    }

    /// Administers users & licenses.
    pub fn users_admin(&self) -> bool {
        self.may(Capability::ManageUsers)
    }

    /// Whether the user renames the account and moves its time zone.
    pub fn account_admin(&self) -> bool {
        self.may(Capability::ManageAccount)
    }

    /// Administers license purchases (billing, or users & licenses).
    pub fn licenses_admin(&self) -> bool {
        self.may(Capability::SeeLicenses)
    }

    /// Administers security settings.
    pub fn security_admin(&self) -> bool {
        self.may(Capability::ManageSecurity)
    }

    /// Sees the account's whole activity stream (as the API decides).
    pub fn sees_whole_stream(&self) -> bool {
        self.may(Capability::SeeWholeActivityStream)
    }

    /// Sees the account's usage and meetings (reports, or users & licenses).
    pub fn sees_reports(&self) -> bool {
        self.may(Capability::SeeUsage)
    }

    /// Administers privacy (erasing a person's activities).
    pub fn privacy_admin(&self) -> bool {
        self.may(Capability::EraseActivities)
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

/// `ms` as a local date and time, for people.
pub(crate) fn local_time(ms: i64, zone: &jiff::tz::TimeZone) -> String {
    let at = jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(zone.clone());
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

/// The signed-in user of a request (`None`: signed out, or the session ended).
pub(super) async fn signed_in(state: &Services, jar: &CookieJar) -> Result<Option<ConsoleUser>, Failure> {
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else { return Ok(None) };
    let session = app::sessions::session(state, &token, state.clock.now()).await?;
    if let Some(session) = &session {
        crate::http::note_account(&session.account_id);
    }
    Ok(session.map(ConsoleUser::from))
}

/// A signed-in console user; a request without one is sent to sign in.
pub struct Signed(pub ConsoleUser);

impl FromRequestParts<Services> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        match signed_in(state, &jar).await {
            Ok(Some(mut user)) => {
                if user.is_admin() {
                    // The state shown on every page is the state enforced now.
                    let now = state.clock.now();
                    match app::compliance::status::status(state, &user.principal(), now).await {
                        Ok(status) => user.compliance = Some(status),
                        Err(refused) => return Err(Failure(ApiError::from(refused)).into_response()),
                    }
                }
                Ok(Signed(user))
            }
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

/// A form of no fields but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    pub(super) csrf: String,
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
    app::sessions::set_flash(state, &user.token_hash, &message).await?;
    Ok(Redirect::to(&header_safe(back)).into_response())
}

/// `path` with every byte a `Location` header may not hold (controls,
/// spaces, non-ASCII: a path parameter decodes to anything) percent-encoded.
fn header_safe(path: &str) -> String {
    path.bytes()
        .map(|b| if (0x21..0x7f).contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}
