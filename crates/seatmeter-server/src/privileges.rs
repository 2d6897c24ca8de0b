//! Scheduling privileges: user X may schedule meetings on behalf of user Y.
//! Such meetings belong to Y. Y grants and revokes them, or a user
//! administrator does; each user sees both directions of their own.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_query::{Expr, ExprTrait, Order, Query};
use seatmeter_core::people::AdminArea;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, Body, ErrorBody, Params};
use crate::store::is_unique_violation;
use crate::store::{DbError, Tx};

/// A privilege: `scheduler_user_id` may schedule for `host_user_id`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Privilege {
    /// Who may schedule.
    pub scheduler_user_id: String,
    /// For whom (the meetings' host).
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

/// Whose privileges to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Whose {
    /// The user (default: the caller; others for user administrators).
    pub user_id: Option<String>,
}

fn may_manage(principal: &Principal, host: &str) -> bool {
    principal.user_id == host || principal.administers(AdminArea::UsersLicenses)
}

/// A user's scheduling privileges, both ways.
#[utoipa::path(get, path = "/v1/scheduling-privileges", tag = "scheduling privileges", security(("token" = [])),
    params(Whose), responses((status = 200, body = UserPrivileges), (status = 404, body = ErrorBody)))]
pub async fn list_privileges(
    State(state): State<Services>,
    principal: Principal,
    Params(whose): Params<Whose>,
) -> Result<Json<UserPrivileges>, ApiError> {
    let user_id = whose.user_id.unwrap_or_else(|| principal.user_id.to_string());
    if user_id != principal.user_id && !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::NotFound(format!("no user {user_id:?} in your account")));
    }
    if crate::store::users::get(&state.db, &principal.account_id, &user_id).await?.is_none() {
        return Err(ApiError::NotFound(format!("no user {user_id:?} in your account")));
    }
    let rows: Vec<Privilege> = state
        .db
        .fetch_all(
            Query::select()
                .columns(["scheduler_user_id", "host_user_id"])
                .from("scheduling_privileges")
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .and_where(
                    Expr::col("scheduler_user_id")
                        .eq(user_id.as_str())
                        .or(Expr::col("host_user_id").eq(user_id.as_str())),
                )
                .order_by("scheduler_user_id", Order::Asc)
                .order_by("host_user_id", Order::Asc),
        )
        .await?;
    Ok(Json(UserPrivileges {
        may_schedule_for: rows
            .iter()
            .filter(|p| p.scheduler_user_id == user_id)
            .map(|p| p.host_user_id.clone())
            .collect(),
        may_be_scheduled_by: rows
            .iter()
            .filter(|p| p.host_user_id == user_id)
            .map(|p| p.scheduler_user_id.clone())
            .collect(),
        user_id,
    }))
}

/// Grants a privilege (by the host, or a user administrator).
#[utoipa::path(post, path = "/v1/scheduling-privileges", tag = "scheduling privileges", security(("token" = [])),
    request_body = Privilege,
    responses((status = 201, body = Privilege), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn grant(
    State(state): State<Services>,
    principal: Principal,
    Body(privilege): Body<Privilege>,
) -> Result<(StatusCode, Json<Privilege>), ApiError> {
    if !may_manage(&principal, &privilege.host_user_id) {
        return Err(ApiError::Forbidden(
            "only the host or a user administrator grants scheduling for the host".into(),
        ));
    }
    if privilege.host_user_id == privilege.scheduler_user_id {
        return Err(ApiError::Invalid {
            message: "a user always schedules for themself".into(),
            field: Some("scheduler_user_id".into()),
        });
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    for (field, user) in
        [("scheduler_user_id", &privilege.scheduler_user_id), ("host_user_id", &privilege.host_user_id)]
    {
        if crate::store::users::get(&mut tx, &principal.account_id, user).await?.is_none() {
            return Err(ApiError::Invalid {
                message: format!("no user {user:?} in your account"),
                field: Some(field.into()),
            });
        }
    }
    let inserted = tx
        .execute(
            Query::insert()
                .into_table("scheduling_privileges")
                .columns(["account_id", "scheduler_user_id", "host_user_id", "granted_ms"])
                .values_panic([
                    principal.account_id.to_string().into(),
                    privilege.scheduler_user_id.clone().into(),
                    privilege.host_user_id.clone().into(),
                    now.into(),
                ]),
        )
        .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict { message: "this privilege exists already".into(), field: None });
        }
        other => other?,
    };
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "privilege.granted",
        ("user", &privilege.host_user_id),
        json!({"scheduler_user_id": privilege.scheduler_user_id}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(privilege)))
}

/// Revokes a privilege (by the host, or a user administrator).
#[utoipa::path(delete, path = "/v1/scheduling-privileges/{scheduler_user_id}/{host_user_id}",
    tag = "scheduling privileges", security(("token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<Services>,
    principal: Principal,
    Path((scheduler, host)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound(format!("{scheduler:?} has no privilege to schedule for {host:?}"));
    if !may_manage(&principal, &host) {
        return Err(not_found());
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let removed = tx
        .execute(
            Query::delete()
                .from_table("scheduling_privileges")
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .and_where(Expr::col("scheduler_user_id").eq(scheduler.as_str()))
                .and_where(Expr::col("host_user_id").eq(host.as_str())),
        )
        .await?;
    if removed == 0 {
        return Err(not_found());
    }
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "privilege.revoked",
        ("user", &host),
        json!({"scheduler_user_id": scheduler}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `scheduler` may schedule meetings for `host` in `account_id`.
pub async fn has_privilege(
    tx: &mut Tx,
    account_id: &str,
    scheduler: &str,
    host: &str,
) -> Result<bool, DbError> {
    #[derive(sqlx::FromRow)]
    struct Found {
        #[allow(dead_code)]
        host_user_id: String,
    }
    let found: Option<Found> = tx
        .fetch_optional(
            Query::select()
                .column("host_user_id")
                .from("scheduling_privileges")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("scheduler_user_id").eq(scheduler))
                .and_where(Expr::col("host_user_id").eq(host)),
        )
        .await?;
    Ok(found.is_some())
}
