//! `/v1/account`: the caller's account.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, Body, ErrorBody, rfc3339_ms};
use crate::app::{self, Principal, Services};
use crate::store::accounts::AccountRow;

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

impl From<AccountRow> for AccountView {
    fn from(account: AccountRow) -> Self {
        AccountView {
            id: account.id,
            name: account.name,
            usage_anchor: rfc3339_ms(account.anchor_ms),
            time_zone: account.time_zone,
            created_at: rfc3339_ms(account.created_ms),
        }
    }
}

/// Changes to the account.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChanges {
    /// Its name.
    #[schema(value_type = Option<shapes::Name>)]
    pub name: Option<String>,
    /// Its time zone, an IANA name such as `Europe/Paris`: the daily
    /// compliance audit runs at 02:00 there.
    #[schema(value_type = Option<shapes::TimeZoneName>)]
    pub time_zone: Option<String>,
}

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(get_account, update_account))
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/account", tag = "accounts", security(("token" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = ErrorBody)))]
pub async fn get_account(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(app::accounts::get(&state, &principal).await?.into()))
}

/// Renames the account or changes its time zone (unrestricted administrators).
#[utoipa::path(patch, path = "/v1/account", tag = "accounts", security(("token" = [])), request_body = AccountChanges,
    responses((status = 200, body = AccountView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_account(
    State(state): State<Services>,
    principal: Principal,
    Body(changes): Body<AccountChanges>,
) -> Result<Json<AccountView>, ApiError> {
    let changes = app::accounts::AccountChanges { name: changes.name, time_zone: changes.time_zone };
    Ok(Json(app::accounts::update(&state, &principal, changes, state.clock.now()).await?.into()))
}
