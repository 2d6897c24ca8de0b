//! `/v1/tokens`: a user's API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, Body, ErrorBody, rfc3339_ms};
use crate::app::{self, Principal, Services};
use crate::store::tokens::TokenRow;

/// A token, without its secret.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: String,
    /// The user it acts for.
    pub user_id: String,
    /// What it is for.
    pub name: String,
    /// When it was issued.
    pub created_at: String,
    /// When it was last used, if ever.
    pub last_used_at: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

impl From<TokenRow> for TokenView {
    fn from(t: TokenRow) -> Self {
        TokenView {
            id: t.id,
            user_id: t.user_id,
            name: t.name,
            created_at: rfc3339_ms(t.created_ms),
            last_used_at: t.last_used_ms.map(rfc3339_ms),
            revoked_at: t.revoked_ms.map(rfc3339_ms),
        }
    }
}

/// A token just issued, with its secret: shown this once.
#[derive(Serialize, ToSchema)]
pub struct NewTokenView {
    /// Its id.
    pub id: String,
    /// The token: send it as `Authorization: Bearer …`. It is not stored and cannot be shown again.
    pub token: String,
}

/// A token to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for.
    #[schema(value_type = shapes::TokenName)]
    pub name: String,
}

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(list_tokens, create_token)).routes(routes!(revoke_token))
}

/// The caller's tokens (all the account's for security administrators).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", security(("token" = [])),
    responses((status = 200, body = [TokenView]), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = app::tokens::list(&state, &principal).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Issues a new token for the caller.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", security(("token" = [])), request_body = NewToken,
    responses((status = 201, body = NewTokenView), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewToken>,
) -> Result<(StatusCode, Json<NewTokenView>), ApiError> {
    let issued = app::tokens::issue(&state, &principal, &new.name, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(NewTokenView { id: issued.id, token: issued.token })))
}

/// Revokes a token: the caller's own, or any of the account's for security administrators.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", security(("token" = [])),
    params(("id" = inline(shapes::TokenId), Path, description = "The token")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app::tokens::revoke(&state, &principal, &id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
