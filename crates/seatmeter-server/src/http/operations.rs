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
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<Services>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
