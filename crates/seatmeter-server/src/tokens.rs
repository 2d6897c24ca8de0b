//! API tokens: a user issues tokens for themself, sees when each was last
//! used, and revokes them; security administrators see and revoke every
//! token of the account. A token is shown once, when issued; only its
//! SHA-256 is stored.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_query::{Expr, ExprTrait, Order, Query};
use seatmeter_core::people::AdminArea;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::{ApiError, AppState, Body, ErrorBody, now_ms, rfc3339_ms};
use crate::store::{Principal, issue_token, record_activity};

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    name: String,
    created_ms: i64,
    last_used_ms: Option<i64>,
    revoked_ms: Option<i64>,
}

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
    /// What it is for (1 to 100 characters).
    pub name: String,
}

/// The caller's tokens (all the account's for security administrators).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", security(("token" = [])),
    responses((status = 200, body = [TokenView]), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let mut query = Query::select();
    query
        .columns(["id", "user_id", "name", "created_ms", "last_used_ms", "revoked_ms"])
        .from("api_tokens")
        .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
        .order_by("created_ms", Order::Asc)
        .order_by("id", Order::Asc);
    if !principal.administers(AdminArea::Security) {
        query.and_where(Expr::col("user_id").eq(principal.user_id.as_str()));
    }
    let rows: Vec<TokenRow> = state.db.fetch_all(&query).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| TokenView {
                id: t.id,
                user_id: t.user_id,
                name: t.name,
                created_at: rfc3339_ms(t.created_ms),
                last_used_at: t.last_used_ms.map(rfc3339_ms),
                revoked_at: t.revoked_ms.map(rfc3339_ms),
            })
            .collect(),
    ))
}

/// Issues a new token for the caller.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", security(("token" = [])), request_body = NewToken,
    responses((status = 201, body = NewTokenView), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Body(new): Body<NewToken>,
) -> Result<(StatusCode, Json<NewTokenView>), ApiError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::Invalid {
            message: "the name must be 1 to 100 characters".into(),
            field: Some("name".into()),
        });
    }
    let issued = issue_token(&state.db, &principal.account_id, &principal.user_id, name, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(NewTokenView { id: issued.id, token: issued.token })))
}

/// Revokes a token: the caller's own, or any of the account's for security administrators.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", security(("token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let mut update = Query::update();
    update
        .table("api_tokens")
        .value("revoked_ms", now)
        .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
        .and_where(Expr::col("id").eq(id.as_str()))
        .and_where(Expr::col("revoked_ms").is_null());
    if !principal.administers(AdminArea::Security) {
        update.and_where(Expr::col("user_id").eq(principal.user_id.as_str()));
    }
    if tx.execute(&update).await? == 0 {
        return Err(ApiError::NotFound(format!("no active token {id:?} of yours")));
    }
    record_activity(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "token.revoked",
        ("api_token", &id),
        json!({}),
    )
    .await?;
    crate::recent::note_changes(&mut tx, [crate::recent::ALL], now).await?;
    tx.commit().await?;
    state.kept.forget(crate::recent::ALL);
    Ok(StatusCode::NO_CONTENT)
}
