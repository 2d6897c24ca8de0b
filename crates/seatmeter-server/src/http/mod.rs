//! The HTTP API: handlers that extract a request, call a use case of
//! [`crate::app`], and map its result to a view (the JSON the API shows).
//!
//! Error policy: a handler returns [`ApiError`], the one mapping to HTTP,
//! built from the use case's [`app::Error`] in one `From`. A client error
//! says what was wrong (`code`, `message`, optional `field`); a server
//! error (5xx) comes only from an internal failure, is logged with the
//! request's id, method, route and account (see [`trace_requests`]), and
//! tells the client only that something failed. A thing of another account
//! is "not found", never "forbidden", so its existence is not revealed.

pub mod accounts;
pub mod activities;
pub mod booking;
pub mod compliance;
pub mod event_batch;
pub mod events;
pub mod idempotency;
pub mod licenses;
pub mod listener;
pub mod meetings;
pub mod operations;
pub mod privileges;
pub mod shapes;
pub mod tokens;
pub mod usage;
pub mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::app::{self, Principal, Services};
use crate::store::DbError;

/// The one error body of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code: `unauthorized`, `forbidden`, `not_found`, `invalid`,
    /// `conflict`, `too_large`, `unsupported_media_type`, `method_not_allowed`, `unavailable`,
    /// `internal`.
    pub code: &'static str,
    /// What was wrong and what to do, for people.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid API token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Nothing with that id in the caller's account.
    #[error("{0}")]
    NotFound(String),
    /// The caller's role or areas do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// What conflicts and what to do.
        message: String,
        /// The field concerned.
        field: Option<String>,
    },
    /// The request is malformed or a field is invalid.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// Which field.
        field: Option<String>,
    },
    /// The request was refused with its own status and code (too large,
    /// wrong content type, a rule's reason, the authority failing).
    #[error("{message}")]
    Refused {
        /// The HTTP status (never a 5xx but 502 and 503, which name another service).
        status: StatusCode,
        /// The error code.
        code: &'static str,
        /// What to do.
        message: String,
    },
    /// The server failed: the cause is logged, the client told what to do.
    #[error("{cause}")]
    Internal {
        /// The cause, for the log.
        cause: String,
        /// What the client is told.
        advice: String,
    },
}

const TRY_AGAIN: &str = "the server failed; try again later";

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        ApiError::Internal { cause: error.to_string(), advice: TRY_AGAIN.into() }
    }
}

impl From<app::Error> for ApiError {
    fn from(error: app::Error) -> Self {
        use app::Error as E;
        match error {
            E::NotFound(m) => ApiError::NotFound(m),
            E::Forbidden(m) => ApiError::Forbidden(m),
            E::Invalid { message, field } => ApiError::Invalid { message, field },
            E::Conflict { message, field } => ApiError::Conflict { message, field },
            E::Refused { reason, message } => {
                ApiError::Refused { status: StatusCode::CONFLICT, code: reason, message }
            }
            E::Unknown { reason, message } => {
                ApiError::Refused { status: StatusCode::NOT_FOUND, code: reason, message }
            }
            E::Rejected { reason, message } => {
                ApiError::Refused { status: StatusCode::UNPROCESSABLE_ENTITY, code: reason, message }
            }
            E::Upstream { message } => {
                ApiError::Refused { status: StatusCode::BAD_GATEWAY, code: "authority", message }
            }
            E::Busy(message) => {
                ApiError::Refused { status: StatusCode::SERVICE_UNAVAILABLE, code: "busy", message }
            }
            E::Failed { message } => ApiError::Internal { cause: message.clone(), advice: message },
            E::Db(cause) => ApiError::from(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = match self {
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.to_string(), None),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None),
            ApiError::Conflict { message, field } => (StatusCode::CONFLICT, "conflict", message, field),
            ApiError::Invalid { message, field } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid", message, field)
            }
            ApiError::Refused { status, code, message } => (status, code, message, None),
            ApiError::Internal { cause, advice } => {
                log_failure(&cause, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", advice, None)
            }
        };
        let mut response = (status, Json(ErrorBody { code, message, field })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A JSON request body; a malformed one, or one with unknown fields, is a
/// 422 saying what is wrong rather than axum's plain-text rejection.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        crate::json::check_unique_keys(&bytes).map_err(|message| ApiError::Invalid {
            message: format!("invalid request body: {message}"),
            field: None,
        })?;
        let mut value = match Json::<serde_json::Value>::from_bytes(&bytes) {
            Ok(Json(value)) => value,
            Err(rejection) => return Err(ApiError::Invalid { message: rejection.body_text(), field: None }),
        };
        if !value.is_object() {
            return Err(ApiError::Invalid {
                message: "invalid request body: send a JSON object (`{…}`)".into(),
                field: None,
            });
        }
        if let Some(field) = field_with_nul(&value, "") {
            return Err(ApiError::Invalid {
                message: "text may not contain the NUL character (\\u0000)".into(),
                field: Some(field),
            });
        }
        whole_numbers_as_integers(&mut value);
        serde_json::from_value::<T>(value)
            .map(Body)
            .map_err(|e| ApiError::Invalid { message: format!("invalid request body: {e}"), field: None })
    }
}

/// A JSON document taken as text (a license file), read as [`Body`] reads
/// one: JSON only, within the size limit and the body deadline, UTF-8.
pub struct JsonText(pub String);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonText {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        String::from_utf8(bytes.to_vec()).map(JsonText).map_err(|e| ApiError::Invalid {
            message: format!("invalid request body: not UTF-8 text ({e})"),
            field: None,
        })
    }
}

/// The body of a request that must be JSON: 415 for another content type,
/// 413 beyond the route's size limit, 408 when it does not arrive in time.
async fn json_bytes<S: Send + Sync>(
    request: axum::extract::Request,
    state: &S,
) -> Result<axum::body::Bytes, ApiError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::Refused {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "send JSON, with `Content-Type: application/json`".into(),
        });
    }
    match <axum::body::Bytes as axum::extract::FromRequest<S>>::from_request(request, state).await {
        Ok(bytes) => Ok(bytes),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::Refused {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: "the request body is larger than the server accepts (max_body_bytes)".into(),
        }),
        Err(rejection) if listener::timed_out(&rejection) => Err(ApiError::Refused {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "timeout",
            message: "the request body did not arrive in time (body_timeout_seconds)".into(),
        }),
        Err(rejection) => Err(ApiError::Invalid { message: rejection.body_text(), field: None }),
    }
}

/// Writes every whole number of `value` sent with a fraction (`411.0`) as
/// the integer it is: JSON has one number type, and the description's
/// integers are numbers without a fractional part.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) =
                n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() <= 9.007_199_254_740_992e15)
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// The path of the first string in `value` that holds a NUL character
/// (which no database column accepts), if any.
fn field_with_nul(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { "body".into() } else { path.into() })
        }
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| field_with_nul(v, &format!("{path}[{i}]")))
        }
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(path.to_string());
            }
            field_with_nul(v, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") })
        }),
        _ => None,
    }
}

/// How a CSV's cells are to be written: `exact` (the default) or
/// `formula_safe` (the `cells` parameter, see [`shapes::CellsName`]).
pub fn csv_cells(cells: Option<&str>) -> Result<seatmeter_core::usage::csv::Cells, ApiError> {
    use seatmeter_core::usage::csv::Cells;
    match cells {
        None | Some("exact") => Ok(Cells::Exact),
        Some("formula_safe") => Ok(Cells::FormulaSafe),
        Some(other) => Err(ApiError::Invalid {
            message: format!("unknown cells {other:?}: use exact or formula_safe"),
            field: Some("cells".into()),
        }),
    }
}

/// Query parameters; bad ones are a 422 saying what is wrong. A parameter
/// given without a value (`?cursor=`) is refused: leave it out instead.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let empty =
            query.split('&').filter(|pair| !pair.is_empty()).find_map(|pair| match pair.split_once('=') {
                Some((_, value)) if !value.is_empty() => None,
                Some((name, _)) => Some(name),
                None => Some(pair),
            });
        if let Some(name) = empty {
            return Err(ApiError::Invalid {
                message: format!("the parameter {name:?} has no value: give one, or leave the parameter out"),
                field: Some(name.to_string()),
            });
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(ApiError::Invalid { message: rejection.body_text(), field: None }),
        }
    }
}

impl FromRequestParts<Services> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
            return Err(ApiError::Unauthorized("send an API token: `Authorization: Bearer smt_…`"));
        };
        let key = crate::secrets::token_hash(token.trim());
        let principal = match state.kept.tokens.get(&key) {
            Some(principal) => principal,
            None => {
                let loaded = std::time::Instant::now();
                let principal =
                    app::tokens::authenticate(state, token.trim(), state.clock.now()).await?.ok_or(
                        ApiError::Unauthorized("the API token is unknown, revoked, or its user is disabled"),
                    )?;
                state.kept.tokens.put(key, &principal.user_id, principal.clone(), loaded);
                principal
            }
        };
        note_account(&principal.account_id);
        Ok(principal)
    }
}

/// Where a request comes from: the peer's IP address, when the server
/// knows it (every connection it accepts; not a request built in a test).
pub struct Source(Option<std::net::IpAddr>);

impl Source {
    /// The peer's IP address, as text.
    pub fn ip(&self) -> Option<String> {
        self.0.map(|ip| ip.to_canonical().to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Source(peer.map(|info| info.0.ip())))
    }
}

pub use crate::clock::rfc3339_ms;

#[derive(OpenApi)]
#[openapi(
    info(title = "Seatmeter API", description = "License server for meeting and scheduling platforms.\n\nEvery POST, PATCH, PUT and DELETE under `/v1/` takes an optional `Idempotency-Key` header (1 to 255 visible ASCII characters): a retry with the same key, by the same user, within 24 hours, gets the first answer back (with `Idempotent-Replayed: true`) instead of acting again. Another request under a used key is a 409 `idempotency_key_reused`; a retry while the first is still being answered a 409 `idempotency_key_in_progress`. A server failure (5xx) is not kept: its retry acts. A body whose JSON has a key twice in one object is a 422."),
    modifiers(&TokenScheme)
)]
struct ApiDoc;

struct TokenScheme;

impl utoipa::Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("smt_…").build(),
            ),
        );
    }
}

/// The API's routes and their OpenAPI description, generated from the handlers.
pub fn routes() -> (Router<Services>, utoipa::openapi::OpenApi) {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi());
    let router = operations::routes(router);
    let router = accounts::routes(router);
    let router = users::routes(router);
    let router = tokens::routes(router);
    let router = privileges::routes(router);
    let router = licenses::routes(router);
    let router = compliance::routes(router);
    let router = booking::routes(router);
    let router = activities::routes(router);
    let router = meetings::routes(router);
    let router = events::routes(router);
    let router = usage::routes(router);
    let (router, mut openapi) = router.split_for_parts();
    document_common_answers(&mut openapi);
    (router, openapi)
}

/// Adds to every operation the answers every operation of its kind may
/// give, where its own description does not say them already: `401`
/// where a token is needed; `408`, `413`, `415` and `422` where a body is
/// taken; `422` where parameters are; `409` (an idempotency key reused or
/// in progress) on every mutating operation. So the description names every answer
/// the server gives.
fn document_common_answers(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let answer = |description: &str| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        ResponseBuilder::new().description(description).content("application/json", content).build()
    };
    for (path, item) in openapi.paths.paths.iter_mut() {
        let api = path.starts_with("/v1/");
        let operations = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (operation, mutating) in operations {
            let Some(operation) = operation.as_mut() else { continue };
            let mut add = |code: &str, description: &str| {
                operation
                    .responses
                    .responses
                    .entry(code.to_string())
                    .or_insert_with(|| answer(description).into());
            };
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                add("401", "`unauthorized`: no API token, or one unknown, revoked, or of a disabled user");
            }
            if operation.request_body.is_some() {
                add("408", "`timeout`: the body did not arrive within `body_timeout_seconds`");
                add("413", "`too_large`: the body is larger than `max_body_bytes`");
                add("415", "`unsupported_media_type`: the body is not of the content type described");
                add(
                    "422",
                    "`invalid`: the body is malformed (a key twice in one object included) or a value is out of range",
                );
            }
            if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                add("422", "`invalid`: a parameter is malformed or out of range");
            }
            if mutating && api {
                add(
                    "409",
                    "`idempotency_key_reused` or `idempotency_key_in_progress` (see `Idempotency-Key`), or a conflict with the current state",
                );
                add(
                    "422",
                    "`invalid`: the `Idempotency-Key` header is not 1 to 255 visible ASCII characters",
                );
            }
        }
    }
}

/// The API description, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// Refuses a request whose path or query encodes a NUL character before
/// any handler sees it: such text can name nothing stored.
pub async fn refuse_nul(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let uri = request.uri();
    let has_nul = |s: &str| s.as_bytes().windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"));
    if has_nul(uri.path()) {
        return ApiError::NotFound("no such resource: the path holds a NUL character".into()).into_response();
    }
    if uri.query().is_some_and(has_nul) {
        return ApiError::Invalid { message: "the query holds a NUL character".into(), field: None }
            .into_response();
    }
    next.run(request).await
}

/// Gives the API's JSON error shape to the client errors that the routing
/// layer answers in plain text (a method the path does not allow, a path
/// parameter that does not decode), so that clients parse one shape.
pub async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "invalid",
    };
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "this path does not take that method; see /openapi.json".to_string()
        }
        _ => String::from_utf8_lossy(&text).trim().to_string(),
    };
    let mut fixed = (status, Json(ErrorBody { code, message, field: None })).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        fixed.headers_mut().insert(header::ALLOW, allow.clone());
    }
    fixed
}

/// Answers requests nothing else matched.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see /openapi.json or /docs".into())
}

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// A new request id: 16 hex digits, unique in the process and not
/// guessable from the previous one (a counter mixed with a random key
/// drawn once, SplitMix64), at no system call per request.
fn new_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEY: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let key = *KEY.get_or_init(|| u64::from_le_bytes(crate::secrets::random_bytes::<8>()));
    let mut z = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("{:016x}", z ^ (z >> 31))
}

/// What the log says of a request: its id, method, route and, once its
/// token or session is known, its account.
#[derive(Debug)]
pub struct RequestContext {
    id: String,
    method: axum::http::Method,
    route: String,
    account: std::sync::OnceLock<String>,
}

tokio::task_local! {
    /// The request the current task serves.
    static REQUEST: RequestContext;
}

/// Records the account of the request being served (for its log lines).
pub fn note_account(account_id: &str) {
    let _ = REQUEST.try_with(|request| request.account.set(account_id.to_string()));
}

/// Logs a server failure of the request being served, naming the request's
/// id, method, route and account, so that one line tells which request
/// failed and for whom.
pub fn log_failure(cause: &dyn std::fmt::Display, what: &str) {
    let logged = REQUEST.try_with(|r| {
        let account = r.account.get().map_or("none", String::as_str);
        tracing::error!(request = %r.id, method = %r.method, route = %r.route, account = %account, error = %cause, "{what}");
    });
    if logged.is_err() {
        tracing::error!(error = %cause, "{what}");
    }
}

/// Gives every request an id (the caller's `x-request-id` when it is a
/// short token of letters, digits and `-_.`, else a new one), returned in
/// `x-request-id`; keeps the request's id, method, route and account for
/// its failure log lines ([`log_failure`]); runs it in a `request` span
/// with those fields when the log level is `debug` (a span on every request
/// costs a third of the no-op endpoint's throughput, so not at `info`); and
/// counts it with its duration by method, route and status for `/metrics`
/// (one middleware for all this: each layer costs every request).
pub async fn trace_requests(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument;
    let given = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|id| {
        !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    let id = given.map_or_else(new_request_id, str::to_string);
    let route = request.extensions().get::<axum::extract::MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", |r| r.as_str()).to_string();
    let method = request.method().clone();
    let span = tracing::debug_span!("request", id = %id, method = %method, route = %route);
    let context = RequestContext { id, method, route, account: std::sync::OnceLock::new() };
    let started = std::time::Instant::now();
    let (id, method, route) = (context.id.clone(), context.method.clone(), context.route.clone());
    let mut response = REQUEST.scope(context, next.run(request).instrument(span)).await;
    let labels =
        [("method", method.to_string()), ("path", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!("seatmeter_http_requests_total", &labels).increment(1);
    metrics::histogram!("seatmeter_http_request_seconds", &labels).record(started.elapsed().as_secs_f64());
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
