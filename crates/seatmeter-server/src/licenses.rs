//! License pools and assignment.
//!
//! Each account has a pool per kind: installed, assigned, free. Assigning
//! takes a license with one conditional update, `assigned = assigned + 1
//! WHERE assigned < installed`, inside the transaction that records the
//! assignment: the database serialises concurrent updates of the pool row
//! (a row lock on PostgreSQL, the write lock on SQLite), so however many
//! requests race on however many servers, a pool is never over-assigned.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use seatmeter_core::people::{AdminArea, LicenseKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Error as StoreError;
use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, Body, ErrorBody};
use crate::store::is_unique_violation;
use crate::store::{Db, DbError};

/// One pool as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
struct PoolRow {
    kind: String,
    installed: i64,
    assigned: i64,
}

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

/// An assignment request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAssignment {
    /// The user to assign a license to.
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

fn parse_kind(kind: &str) -> Result<LicenseKind, ApiError> {
    LicenseKind::parse(kind).ok_or_else(|| {
        let all: Vec<&str> = LicenseKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::NotFound(format!("no license kind {kind:?}: use one of {}", all.join(", ")))
    })
}

/// Every pool of `account_id`, one per kind (0 installed where none are).
pub async fn pools(db: &Db, account_id: &str) -> Result<Vec<PoolView>, DbError> {
    let rows: Vec<PoolRow> = db
        .fetch_all(
            Query::select()
                .columns(["kind", "installed", "assigned"])
                .from("license_pools")
                .and_where(Expr::col("account_id").eq(account_id))
                .order_by("kind", Order::Asc),
        )
        .await?;
    Ok(LicenseKind::ALL
        .iter()
        .map(|kind| {
            let row = rows.iter().find(|r| r.kind == kind.as_str());
            let (installed, assigned) = row.map_or((0, 0), |r| (r.installed, r.assigned));
            PoolView {
                kind: kind.as_str().to_string(),
                installed,
                assigned,
                free: Ord::max(installed - assigned, 0),
            }
        })
        .collect())
}

/// Sets how many licenses of `kind` are installed in `account_id`, refusing
/// fewer than are assigned. (Until license files are installed, this is how
/// an operator sets pool sizes: `seatmeter licenses set`.)
pub async fn set_installed(
    db: &Db,
    account_id: &str,
    kind: LicenseKind,
    installed: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    if installed < 0 {
        return Err(StoreError::Conflict {
            message: "installed licenses cannot be negative".into(),
            field: None,
        });
    }
    let mut tx = db.begin().await?;
    tx.execute(
        Query::insert()
            .into_table("license_pools")
            .columns(["account_id", "kind", "installed", "assigned"])
            .values_panic([account_id.into(), kind.as_str().into(), 0i64.into(), 0i64.into()])
            .on_conflict(OnConflict::columns(["account_id", "kind"]).do_nothing().to_owned()),
    )
    .await?;
    let changed = tx
        .execute(
            Query::update()
                .table("license_pools")
                .value("installed", installed)
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("kind").eq(kind.as_str()))
                .and_where(Expr::col("assigned").lte(installed)),
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::Conflict {
            message: format!(
                "more {} licenses are assigned than {installed}: unassign some first",
                kind.as_str()
            ),
            field: Some("installed".into()),
        });
    }
    crate::store::activities::record(
        &mut tx,
        account_id,
        now_ms,
        None,
        "licenses.installed",
        ("license_pool", kind.as_str()),
        json!({"installed": installed}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The account's license pools.
#[utoipa::path(get, path = "/v1/licenses", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = [PoolView]), (status = 401, body = ErrorBody)))]
pub async fn list_pools(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<PoolView>>, ApiError> {
    Ok(Json(pools(&state.db, &principal.account_id).await?))
}

/// Assigns a license of `kind` to a user (administrators of users & licenses).
/// 409 when none is free or the user already holds one.
#[utoipa::path(post, path = "/v1/licenses/{kind}/assignments", tag = "licenses", security(("token" = [])),
    request_body = NewAssignment,
    responses((status = 201, body = AssignmentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn assign(
    State(state): State<Services>,
    principal: Principal,
    Path(kind): Path<String>,
    Body(request): Body<NewAssignment>,
) -> Result<(StatusCode, Json<AssignmentView>), ApiError> {
    let kind = parse_kind(&kind)?;
    if !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::Forbidden(
            "assigning licenses needs an administrator of users & licenses".into(),
        ));
    }
    if !kind.is_assigned() {
        return Err(ApiError::Invalid {
            message: "host licenses are metered by usage, not assigned".into(),
            field: None,
        });
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let user = crate::store::users::get(&mut tx, &principal.account_id, &request.user_id).await?;
    match user {
        None => return Err(ApiError::NotFound(format!("no user {:?} in your account", request.user_id))),
        Some(u) if u.disabled_ms.is_some() => {
            return Err(ApiError::Conflict {
                message: "the user is disabled".into(),
                field: Some("user_id".into()),
            });
        }
        Some(_) => {}
    }
    let inserted = tx
        .execute(
            Query::insert()
                .into_table("license_assignments")
                .columns(["account_id", "kind", "user_id", "assigned_ms"])
                .values_panic([
                    principal.account_id.to_string().into(),
                    kind.as_str().into(),
                    request.user_id.clone().into(),
                    now.into(),
                ]),
        )
        .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict {
                message: format!("the user already holds a {} license", kind.as_str()),
                field: Some("user_id".into()),
            });
        }
        other => other?,
    };
    let taken = tx
        .execute(
            Query::update()
                .table("license_pools")
                .value("assigned", Expr::col("assigned").add(1))
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .and_where(Expr::col("kind").eq(kind.as_str()))
                .and_where(Expr::col("assigned").lt(Expr::col("installed"))),
        )
        .await?;
    if taken == 0 {
        return Err(ApiError::Conflict {
            message: format!(
                "no {} license is free: unassign one from another user, or install more",
                kind.as_str()
            ),
            field: None,
        });
    }
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "license.assigned",
        ("user", &request.user_id),
        json!({"kind": kind.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(AssignmentView { kind: kind.as_str().into(), user_id: request.user_id })))
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

/// Takes a license of `kind` back from a user (administrators of users &
/// licenses). Taking a scheduled_meetings license disables, in the same
/// transaction, every booking page the user owns; the answer lists them.
#[utoipa::path(delete, path = "/v1/licenses/{kind}/assignments/{user_id}", tag = "licenses",
    security(("token" = [])),
    responses((status = 200, body = Unassigned), (status = 404, body = ErrorBody)))]
pub async fn unassign(
    State(state): State<Services>,
    principal: Principal,
    Path((kind, user_id)): Path<(String, String)>,
) -> Result<Json<Unassigned>, ApiError> {
    let kind = parse_kind(&kind)?;
    if !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::Forbidden(
            "unassigning licenses needs an administrator of users & licenses".into(),
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let removed = tx
        .execute(
            Query::delete()
                .from_table("license_assignments")
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .and_where(Expr::col("kind").eq(kind.as_str()))
                .and_where(Expr::col("user_id").eq(user_id.as_str())),
        )
        .await?;
    if removed == 0 {
        return Err(ApiError::NotFound(format!("user {user_id:?} holds no {} license", kind.as_str())));
    }
    tx.execute(
        Query::update()
            .table("license_pools")
            .value("assigned", Expr::col("assigned").sub(1))
            .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
            .and_where(Expr::col("kind").eq(kind.as_str())),
    )
    .await?;
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "license.unassigned",
        ("user", &user_id),
        json!({"kind": kind.as_str()}),
    )
    .await?;
    let disabled_booking_pages = if kind == LicenseKind::ScheduledMeetings {
        crate::app::booking::disable_pages_of(
            &mut tx,
            &principal.account_id,
            &principal.user_id,
            &user_id,
            now,
        )
        .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(Json(Unassigned { kind: kind.as_str().into(), user_id, disabled_booking_pages }))
}

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    user_id: String,
    kind: String,
}

/// The license assignments of `account_id` (only `holder`'s, if given):
/// (user, kind), by user.
pub async fn assignments(
    db: &Db,
    account_id: &str,
    holder: Option<&str>,
) -> Result<Vec<(String, String)>, DbError> {
    let mut select = Query::select();
    select
        .columns(["user_id", "kind"])
        .from("license_assignments")
        .and_where(Expr::col("account_id").eq(account_id))
        .order_by("user_id", Order::Asc)
        .order_by("kind", Order::Asc);
    if let Some(holder) = holder {
        select.and_where(Expr::col("user_id").eq(holder));
    }
    let rows: Vec<AssignmentRow> = db.fetch_all(&select).await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.kind)).collect())
}
