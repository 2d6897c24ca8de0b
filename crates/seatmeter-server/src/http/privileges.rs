//! `/v1/scheduling-privileges`: who may schedule meetings for whom.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, Body, ErrorBody, Params};
use crate::app::{self, Principal, Services};

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(list_privileges, grant)).routes(routes!(revoke))
}

/// A privilege: `scheduler_user_id` may schedule for `host_user_id`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Privilege {
    /// Who may schedule (another user than the host: a user always schedules for themself).
    #[schema(value_type = shapes::UserId)]
    pub scheduler_user_id: String,
    /// For whom (the meetings' host).
    #[schema(value_type = shapes::UserId)]
    pub host_user_id: String,
}

/// A user's privileges, both ways.
#[derive(Serialize, ToSchema)]
pub struct UserPrivileges {
    /// The user.
    pub user_id: String,
    /// Users this user may schedule for.
    pub may_schedule_for: Vec<String>,
    /// Users who may schedule for this user.
    pub may_be_scheduled_by: Vec<String>,
}

impl From<app::privileges::Privileges> for UserPrivileges {
    fn from(p: app::privileges::Privileges) -> Self {
        UserPrivileges {
            user_id: p.user_id,
            may_schedule_for: p.may_schedule_for,
            may_be_scheduled_by: p.may_be_scheduled_by,
        }
    }
}

/// Whose privileges to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Whose {
    /// The user (default: the caller; others for user administrators).
    #[param(value_type = Option<shapes::Search>, inline)]
    pub user_id: Option<String>,
}

/// A user's scheduling privileges, both ways.
#[utoipa::path(get, path = "/v1/scheduling-privileges", tag = "scheduling privileges", security(("token" = [])),
    params(Whose), responses((status = 200, body = UserPrivileges), (status = 404, body = ErrorBody)))]
pub async fn list_privileges(
    State(state): State<Services>,
    principal: Principal,
    Params(whose): Params<Whose>,
) -> Result<Json<UserPrivileges>, ApiError> {
    Ok(Json(app::privileges::list(&state, &principal, whose.user_id.as_deref()).await?.into()))
}

/// Grants a privilege (by the host, or a user administrator).
#[utoipa::path(post, path = "/v1/scheduling-privileges", tag = "scheduling privileges", security(("token" = [])),
    request_body = Privilege,
    responses((status = 201, body = Privilege), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn grant(
    State(state): State<Services>,
    principal: Principal,
    Body(privilege): Body<Privilege>,
) -> Result<(StatusCode, Json<Privilege>), ApiError> {
    let (scheduler, host) = (&privilege.scheduler_user_id, &privilege.host_user_id);
    app::privileges::grant(&state, &principal, scheduler, host, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(privilege)))
}

/// Revokes a privilege (by the host, or a user administrator).
#[utoipa::path(delete, path = "/v1/scheduling-privileges/{scheduler_user_id}/{host_user_id}",
    tag = "scheduling privileges", security(("token" = [])),
    params(("scheduler_user_id" = inline(shapes::UserId), Path, description = "Who may schedule"),
        ("host_user_id" = inline(shapes::UserId), Path, description = "For whom")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<Services>,
    principal: Principal,
    Path((scheduler, host)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app::privileges::revoke(&state, &principal, &scheduler, &host, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
