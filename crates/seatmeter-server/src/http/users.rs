//! `/v1/users` and `/v1/me`: the users of the account.

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
use crate::store::users::UserRow;

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router
        .routes(routes!(get_me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
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
        let areas = user.areas.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect();
        UserView {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
            areas,
            disabled: user.disabled_ms.is_some(),
            concurrency_limit: user.concurrency_limit,
        }
    }
}

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// E-mail address (unique in the account, compared without case).
    #[schema(value_type = shapes::EmailAddress)]
    pub email: String,
    /// Display name.
    #[schema(value_type = shapes::Name)]
    pub name: String,
    /// `member` (default) or `administrator`.
    #[serde(default)]
    #[schema(value_type = Option<shapes::RoleName>)]
    pub role: Option<String>,
    /// For an administrator: the areas they are limited to; none means all.
    #[serde(default)]
    #[schema(value_type = Vec<shapes::AreaName>)]
    pub areas: Vec<String>,
}

impl From<NewUser> for app::users::NewUser {
    fn from(new: NewUser) -> Self {
        app::users::NewUser { email: new.email, name: new.name, role: new.role, areas: new.areas }
    }
}

/// Changes to a user; fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// New display name.
    #[schema(value_type = Option<shapes::Name>)]
    pub name: Option<String>,
    /// New role.
    #[schema(value_type = Option<shapes::RoleName>)]
    pub role: Option<String>,
    /// New admin areas (none: unrestricted).
    #[schema(value_type = Option<Vec<shapes::AreaName>>)]
    pub areas: Option<Vec<String>>,
    /// Disable (true) or enable (false) the user.
    pub disabled: Option<bool>,
    /// How many meetings the user may host at once (1 to 1,000); `null`
    /// returns to the account's default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub concurrency_limit: Option<Option<i64>>,
}

impl From<UserChanges> for app::users::UserChanges {
    fn from(changes: UserChanges) -> Self {
        app::users::UserChanges {
            name: changes.name,
            role: changes.role,
            areas: changes.areas,
            disabled: changes.disabled,
            concurrency_limit: changes.concurrency_limit,
        }
    }
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Filters of the user list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    /// Part of the e-mail address or name, without case.
    #[param(value_type = Option<shapes::Search>, inline)]
    pub q: Option<String>,
}

/// The user the caller's token acts for.
#[utoipa::path(get, path = "/v1/me", tag = "users", security(("token" = [])),
    responses((status = 200, body = UserDetailView), (status = 401, body = ErrorBody)))]
pub async fn get_me(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<UserDetailView>, ApiError> {
    detail(&state, app::users::me(&state, &principal).await?).await
}

/// A user, and the licenses they hold.
#[derive(Serialize, ToSchema)]
pub struct UserDetailView {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// The kinds of license assigned to them (`scheduled_meetings`, `live_engagement`).
    #[schema(value_type = Vec<shapes::AssignedKind>)]
    pub licenses: Vec<String>,
}

async fn detail(state: &Services, user: UserRow) -> Result<Json<UserDetailView>, ApiError> {
    let licenses =
        app::licenses::held_by(state, &user).await?.iter().map(|k| k.as_str().to_string()).collect();
    Ok(Json(UserDetailView { user: user.into(), licenses }))
}

/// Lists users: all of the account for user administrators, else only the caller.
#[utoipa::path(get, path = "/v1/users", tag = "users", security(("token" = [])), params(UserFilter),
    responses((status = 200, body = [UserView]), (status = 401, body = crate::http::ErrorBody)))]
pub async fn list_users(
    State(state): State<Services>,
    principal: Principal,
    Params(filter): Params<UserFilter>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = app::users::list(&state, &principal, filter.q.as_deref()).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// One user: any of the account for user administrators, else only the caller.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", security(("token" = [])),
    params(("id" = inline(shapes::UserId), Path, description = "The user")),
    responses((status = 200, body = UserDetailView), (status = 404, body = crate::http::ErrorBody)))]
pub async fn get_user(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<UserDetailView>, ApiError> {
    detail(&state, app::users::get(&state, &principal, &id).await?).await
}

/// Adds a user (user administrators only).
#[utoipa::path(post, path = "/v1/users", tag = "users", security(("token" = [])), request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = crate::http::ErrorBody), (status = 409, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)))]
pub async fn create_user(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let user = app::users::create(&state, &principal, new.into(), state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(user))))
}

/// Changes a user's name, role, areas or enabled state (user administrators
/// only; members may change their own name).
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", security(("token" = [])),
    params(("id" = inline(shapes::UserId), Path, description = "The user")), request_body = UserChanges,
    responses((status = 200, body = UserView), (status = 403, body = crate::http::ErrorBody), (status = 404, body = crate::http::ErrorBody),
        (status = 409, body = crate::http::ErrorBody), (status = 422, body = crate::http::ErrorBody)))]
pub async fn update_user(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(changes): Body<UserChanges>,
) -> Result<Json<UserView>, ApiError> {
    let user = app::users::update(&state, &principal, &id, changes.into(), state.clock.now()).await?;
    Ok(Json(UserView::from(user)))
}
