//! The HTTP API.
//!
//! Error policy: handlers return [`ApiError`], the one mapping to HTTP. A
//! client error says what was wrong (`code`, `message`, optional `field`);
//! a server error logs its cause and tells the client only that something
//! failed. Every handler that reads account data takes a [`Principal`] and
//! scopes its queries to the principal's account: a thing of another account
//! is "not found", never "forbidden", so its existence is not revealed.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::{Db, DbError};
use crate::store::{self, Principal, StoreError, UserRow};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Renders the Prometheus metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Live host-license usage of the accounts this server has answered for.
    pub usage: crate::live::UsageCache,
    /// Token owners and admission inputs kept in memory (see [`crate::recent`]).
    pub kept: crate::recent::Kept,
    /// Event batches waiting for their group commit.
    pub ingestor: std::sync::Arc<crate::events::Ingestor>,
    /// The license authority, this server's name at it, and the clock of compliance.
    pub licensing: std::sync::Arc<crate::compliance::Licensing>,
}

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
    /// The request as a whole was refused (too large, wrong content type).
    #[error("{message}")]
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// The error code.
        code: &'static str,
        /// What to do.
        message: String,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
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
            ApiError::Db(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server failed; try again later".into(),
                    None,
                )
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

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Forbidden(m) => ApiError::Forbidden(m),
            StoreError::Conflict { message, field } => {
                ApiError::Conflict { message, field: field.map(str::to_string) }
            }
            StoreError::Db(e) => ApiError::Db(e),
        }
    }
}

/// A JSON request body; a malformed one, or one with unknown fields, is a
/// 422 saying what is wrong rather than axum's plain-text rejection.
pub struct Body<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<serde_json::Value>::from_request(request, state).await {
            Ok(Json(value)) => {
                if let Some(field) = field_with_nul(&value, "") {
                    return Err(ApiError::Invalid {
                        message: "text may not contain the NUL character (\\u0000)".into(),
                        field: Some(field),
                    });
                }
                serde_json::from_value::<T>(value).map(Body).map_err(|e| ApiError::Invalid {
                    message: format!("invalid request body: {e}"),
                    field: None,
                })
            }
            Err(rejection) => Err(match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::Refused {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    code: "too_large",
                    message: "the request body is larger than the server accepts (max_body_bytes)".into(),
                },
                StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::Refused {
                    status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    code: "unsupported_media_type",
                    message: "send JSON, with `Content-Type: application/json`".into(),
                },
                _ => ApiError::Invalid { message: rejection.body_text(), field: None },
            }),
        }
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

/// Query parameters; bad ones are a 422 saying what is wrong.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(ApiError::Invalid { message: rejection.body_text(), field: None }),
        }
    }
}

/// The current time in UTC milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
            return Err(ApiError::Unauthorized("send an API token: `Authorization: Bearer smt_…`"));
        };
        let key = crate::secrets::token_hash(token.trim());
        if let Some(principal) = state.kept.tokens.get(&key) {
            return Ok(principal);
        }
        let loaded = std::time::Instant::now();
        let principal = store::authenticate(&state.db, token.trim(), now_ms())
            .await?
            .ok_or(ApiError::Unauthorized("the API token is unknown, revoked, or its user is disabled"))?;
        state.kept.tokens.put(key, &principal.user_id, principal.clone(), loaded);
        Ok(principal)
    }
}

/// Health of the server and its database.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
}

/// Is the server up and its database reachable?
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if let Err(cause) = state.db.ping().await {
        tracing::error!(error = %cause, "health check: the database does not answer");
        return Err(ApiError::Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: "the database does not answer".into(),
        });
    }
    Ok(Json(Health { status: "ok", database: state.db.backend() }))
}

/// Is the process alive? Answers at once, touching nothing (a liveness
/// probe; `/healthz` also checks the database).
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "`ok`", content_type = "text/plain")))]
pub async fn livez() -> &'static str {
    "ok"
}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// An account, as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Anchor of its 30-day usage windows (RFC 3339, UTC).
    pub usage_anchor: String,
    /// Its time zone.
    pub time_zone: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
}

/// UTC milliseconds as RFC 3339.
pub fn rfc3339_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/account", tag = "accounts", security(("token" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn get_account(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AccountView>, ApiError> {
    let account = store::account(&state.db, &principal.account_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the account no longer exists".into()))?;
    Ok(Json(AccountView {
        id: account.id,
        name: account.name,
        usage_anchor: rfc3339_ms(account.anchor_ms),
        time_zone: account.time_zone,
        created_at: rfc3339_ms(account.created_ms),
    }))
}

/// Changes to the account.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChanges {
    /// Its name.
    pub name: Option<String>,
    /// Its time zone, an IANA name such as `Europe/Paris`: the daily
    /// compliance audit runs at 02:00 there.
    pub time_zone: Option<String>,
}

/// Renames the account or changes its time zone (unrestricted administrators).
#[utoipa::path(patch, path = "/v1/account", tag = "accounts", security(("token" = [])), request_body = AccountChanges,
    responses((status = 200, body = AccountView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_account(
    State(state): State<AppState>,
    principal: Principal,
    Body(changes): Body<AccountChanges>,
) -> Result<Json<AccountView>, ApiError> {
    if !principal.is_unrestricted_admin() {
        return Err(ApiError::Forbidden("changing the account needs an unrestricted administrator".into()));
    }
    let invalid =
        |message: String, field: &str| ApiError::Invalid { message, field: Some(field.to_string()) };
    if let Some(name) = &changes.name
        && (name.trim().is_empty() || name.chars().count() > 200)
    {
        return Err(invalid("the name must be 1 to 200 characters".into(), "name"));
    }
    if let Some(zone) = &changes.time_zone
        && (zone.len() > 64 || jiff::tz::TimeZone::get(zone).is_err())
    {
        return Err(invalid(
            format!("unknown time zone {zone:?}: use an IANA name such as Europe/Paris or America/New_York"),
            "time_zone",
        ));
    }
    let now = state.licensing.clock.now();
    let account = principal.account_id.as_str();
    let mut tx = state.db.begin().await?;
    let mut update = sea_query::Query::update();
    update.table("accounts").and_where(sea_query::ExprTrait::eq(sea_query::Expr::col("id"), account));
    if let Some(name) = &changes.name {
        update.value("name", name.trim());
    }
    if let Some(zone) = &changes.time_zone {
        update.value("time_zone", zone.as_str());
        crate::compliance::move_audit(&mut tx, account, zone, now).await?;
    }
    if changes.name.is_some() || changes.time_zone.is_some() {
        tx.execute(&update).await?;
        store::record_activity(
            &mut tx,
            account,
            now,
            Some(&principal.user_id),
            "account.updated",
            ("account", account),
            serde_json::json!({"name": changes.name, "time_zone": changes.time_zone}),
        )
        .await?;
    }
    tx.commit().await?;
    get_account(State(state), principal).await
}

/// A user, as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// Its id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `member` or `administrator`.
    pub role: String,
    /// Admin areas; empty for members and for unrestricted administrators.
    pub areas: Vec<String>,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// How many meetings the user may host at once; absent: the account's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<i64>,
}

impl From<UserRow> for UserView {
    fn from(user: UserRow) -> Self {
        UserView {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
            areas: user.areas.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect(),
            disabled: user.disabled_ms.is_some(),
            concurrency_limit: user.concurrency_limit,
        }
    }
}

/// The user the caller's token acts for.
#[utoipa::path(get, path = "/v1/me", tag = "users", security(("token" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn get_me(State(state): State<AppState>, principal: Principal) -> Result<Json<UserView>, ApiError> {
    let user = store::user(&state.db, &principal.account_id, &principal.user_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the user no longer exists".into()))?;
    Ok(Json(UserView::from(user)))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Seatmeter API", description = "License server for meeting and scheduling platforms."),
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
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(livez))
        .routes(routes!(metrics))
        .routes(routes!(get_account, update_account))
        .routes(routes!(get_me))
        .routes(routes!(crate::users::list_users, crate::users::create_user))
        .routes(routes!(crate::users::get_user, crate::users::update_user))
        .routes(routes!(crate::licenses::list_pools))
        .routes(routes!(crate::compliance::register_pak))
        .routes(routes!(crate::compliance::list_files, crate::compliance::upload_file))
        .routes(routes!(crate::compliance::get_compliance))
        .routes(routes!(crate::compliance::list_notifications))
        .routes(routes!(crate::licenses::assign))
        .routes(routes!(crate::licenses::unassign))
        .routes(routes!(crate::booking::list_pages, crate::booking::create_page))
        .routes(routes!(crate::booking::get_page, crate::booking::update_page))
        .routes(routes!(crate::booking::enable_page))
        .routes(routes!(crate::booking::disable_page))
        .routes(routes!(crate::booking::transfer_page))
        .routes(routes!(crate::booking::set_editors))
        .routes(routes!(crate::privileges::list_privileges, crate::privileges::grant))
        .routes(routes!(crate::privileges::revoke))
        .routes(routes!(crate::activities::list_activities))
        .routes(routes!(crate::activities::export_activities))
        .routes(routes!(crate::activities::erase))
        .routes(routes!(crate::tokens::list_tokens, crate::tokens::create_token))
        .routes(routes!(crate::tokens::revoke_token))
        .routes(routes!(crate::meetings::list_meetings, crate::meetings::schedule))
        .routes(routes!(crate::live::export_meetings))
        .routes(routes!(crate::meetings::get_meeting))
        .routes(routes!(crate::meetings::admission))
        .routes(routes!(crate::meetings::attendance))
        .routes(routes!(crate::meetings::start))
        .routes(routes!(crate::events::post_meeting_event))
        .routes(routes!(crate::events::post_events))
        .routes(routes!(crate::live::get_usage))
        .routes(routes!(crate::meetings::get_rules, crate::meetings::update_rules))
        .split_for_parts()
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
