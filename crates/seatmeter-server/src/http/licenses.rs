//! `/v1/licenses`: the account's license pools, and assigning licenses to users.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, Body, ErrorBody, Params, rfc3339_ms};
use crate::app::licenses::{Assignment, Pool};
use crate::app::{self, Principal, Services};

/// A license pool.
#[derive(Serialize, ToSchema, Debug, PartialEq, Eq)]
pub struct PoolView {
    /// `scheduled_meetings`, `live_engagement` or `host`.
    pub kind: String,
    /// Licenses installed (permanent plus unexpired temporary).
    pub installed: i64,
    /// Licenses assigned to users (always 0 for `host`, which is metered by usage).
    pub assigned: i64,
    /// Licenses free to assign.
    pub free: i64,
}

impl From<Pool> for PoolView {
    fn from(pool: Pool) -> Self {
        PoolView {
            kind: pool.kind.as_str().to_string(),
            installed: pool.installed,
            assigned: pool.assigned,
            free: pool.free,
        }
    }
}

/// An assignment request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssignment {
    /// The user to assign a license to.
    #[schema(value_type = shapes::UserId)]
    pub user_id: String,
}

/// An assignment.
#[derive(Serialize, ToSchema)]
pub struct AssignmentView {
    /// The license kind.
    pub kind: String,
    /// The user holding it.
    pub user_id: String,
}

impl From<Assignment> for AssignmentView {
    fn from(assignment: Assignment) -> Self {
        AssignmentView { kind: assignment.kind.as_str().into(), user_id: assignment.user_id }
    }
}

/// What unassigning did.
#[derive(Serialize, ToSchema)]
pub struct Unassigned {
    /// The license kind.
    pub kind: String,
    /// The user who held it.
    pub user_id: String,
    /// The booking pages the user owns that were disabled with it (scheduled_meetings only).
    pub disabled_booking_pages: Vec<String>,
}

impl From<app::licenses::Unassigned> for Unassigned {
    fn from(done: app::licenses::Unassigned) -> Self {
        Unassigned {
            kind: done.kind.as_str().into(),
            user_id: done.user_id,
            disabled_booking_pages: done.disabled_booking_pages,
        }
    }
}

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(list_pools)).routes(routes!(list_holders, assign)).routes(routes!(unassign))
}

/// Which holders to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HolderQuery {
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<shapes::HolderCursor>, inline)]
    pub cursor: Option<String>,
    /// How many (default 100, at most 1000).
    #[param(value_type = Option<shapes::PageSize>, inline)]
    pub limit: Option<u64>,
}

/// A user holding a license.
#[derive(Serialize, ToSchema)]
pub struct HolderView {
    /// The user.
    pub user_id: String,
    /// Their e-mail address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// When the license was assigned to them.
    pub assigned_at: String,
    /// Who assigned it; absent for assignments made before Seatmeter recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_by_user_id: Option<String>,
}

/// A page of a kind's holders, oldest assignment first.
#[derive(Serialize, ToSchema)]
pub struct HoldersPage {
    /// The holders.
    pub items: Vec<HolderView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<app::licenses::Holders> for HoldersPage {
    fn from(page: app::licenses::Holders) -> Self {
        let items = page
            .items
            .into_iter()
            .map(|h| HolderView {
                user_id: h.user.id,
                email: h.user.email,
                name: h.user.name,
                disabled: h.user.disabled_ms.is_some(),
                assigned_at: rfc3339_ms(h.assigned_ms),
                assigned_by_user_id: h.assigned_by,
            })
            .collect();
        HoldersPage { items, next_cursor: page.next_cursor }
    }
}

/// Who holds a license of `kind` (administrators of users & licenses): each user, when the
/// license was assigned to them and by whom, oldest assignment first, a
/// page at a time.
#[utoipa::path(get, path = "/v1/licenses/{kind}/assignments", tag = "licenses", security(("token" = [])),
    params(("kind" = inline(shapes::AssignedKind), Path, description = "The kind of license"), HolderQuery),
    responses((status = 200, body = HoldersPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_holders(
    State(state): State<Services>,
    principal: Principal,
    Path(kind): Path<String>,
    Params(query): Params<HolderQuery>,
) -> Result<Json<HoldersPage>, ApiError> {
    let page =
        app::licenses::holders(&state, &principal, &kind, query.cursor.as_deref(), query.limit).await?;
    Ok(Json(page.into()))
}

/// The account's license pools.
#[utoipa::path(get, path = "/v1/licenses", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = [PoolView]), (status = 401, body = ErrorBody)))]
pub async fn list_pools(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<PoolView>>, ApiError> {
    let pools = app::licenses::pools(&state, &principal).await?;
    Ok(Json(pools.into_iter().map(PoolView::from).collect()))
}

/// Assigns a license of `kind` to a user (administrators of users & licenses).
/// 409 when none is free or the user already holds one.
#[utoipa::path(post, path = "/v1/licenses/{kind}/assignments", tag = "licenses", security(("token" = [])),
    params(("kind" = inline(shapes::AssignedKind), Path, description = "The kind of license")),
    request_body = NewAssignment,
    responses((status = 201, body = AssignmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn assign(
    State(state): State<Services>,
    principal: Principal,
    Path(kind): Path<String>,
    Body(request): Body<NewAssignment>,
) -> Result<(StatusCode, Json<AssignmentView>), ApiError> {
    let assigned =
        app::licenses::assign(&state, &principal, &kind, &request.user_id, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(assigned.into())))
}

/// Takes a license of `kind` back from a user (administrators of users &
/// licenses). Taking a scheduled_meetings license disables, in the same
/// transaction, every booking page the user owns; the answer lists them.
#[utoipa::path(delete, path = "/v1/licenses/{kind}/assignments/{user_id}", tag = "licenses",
    security(("token" = [])),
    params(("kind" = inline(shapes::AssignedKind), Path, description = "The kind of license"),
        ("user_id" = inline(shapes::UserId), Path, description = "The user who holds it")),
    responses((status = 200, body = Unassigned), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unassign(
    State(state): State<Services>,
    principal: Principal,
    Path((kind, user_id)): Path<(String, String)>,
) -> Result<Json<Unassigned>, ApiError> {
    let done = app::licenses::unassign(&state, &principal, &kind, &user_id, state.clock.now()).await?;
    Ok(Json(done.into()))
}
