//! Operations: health, liveness and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ErrorBody};
use crate::app::Services;

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(healthz)).routes(routes!(livez)).routes(routes!(metrics))
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
pub async fn healthz(State(state): State<Services>) -> Result<Json<Health>, ApiError> {
    if let Err(cause) = crate::app::database_answers(&state).await {
        tracing::error!(error = %cause, "health check: the database does not answer");
        return Err(ApiError::Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: "the database does not answer".into(),
        });
    }
    Ok(Json(Health { status: "ok", database: crate::app::database_kind(&state) }))
}

/// Is the process alive? Answers at once, touching nothing (a liveness
/// probe; `/healthz` also checks the database).
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "`ok`", content_type = "text/plain")))]
pub async fn livez() -> &'static str {
    "ok"
}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 404, body = ErrorBody, description = "`not_found`: the server closes its operational endpoints (`ops_token`) and the request does not carry that token")))]
pub async fn metrics(State(state): State<Services>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// Who may see the operational endpoints (`/metrics`, `/openapi.json`, the
/// API browser `/docs`): everyone, or only requests bearing the `ops_token`
/// setting (kept as its hash).
#[derive(Clone)]
pub struct OpsGate(Option<String>);

impl OpsGate {
    /// The gate of `token` (`None`: open).
    pub fn new(token: Option<&str>) -> Self {
        OpsGate(token.filter(|t| !t.is_empty()).map(crate::secrets::token_hash))
    }
}

/// Whether `path` is an operational endpoint.
pub fn is_operational(path: &str) -> bool {
    path == "/metrics" || path == "/openapi.json" || path == "/docs" || path.starts_with("/docs/")
}

/// Answers an operational endpoint only with the ops token, when one is set
/// (a 404 otherwise, as if it were not there).
pub async fn guard_ops(
    State(gate): State<OpsGate>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // Other methods go on to the router, which answers them 405: that these
    // paths exist is no secret of an open-source server, their content is.
    let reads = matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    if let Some(expected) = &gate.0
        && reads
        && is_operational(request.uri().path())
    {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| crate::secrets::token_hash(t.trim()));
        let same = given.is_some_and(|g| crate::secrets::same(g.as_bytes(), expected.as_bytes()));
        if !same {
            return super::not_found().await.into_response();
        }
    }
    next.run(request).await
}
