//! `/v1/users` and `/v1/me`: the users of the account.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ErrorBody};
use crate::app::{Principal, Services};
use crate::store::users::UserRow;

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(get_me))
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
pub async fn get_me(State(state): State<Services>, principal: Principal) -> Result<Json<UserView>, ApiError> {
    Ok(Json(UserView::from(crate::app::users::me(&state, &principal).await?)))
}
