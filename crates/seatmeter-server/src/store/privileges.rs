//! The `scheduling_privileges` table: who may schedule for whom.

use sea_query::{Expr, ExprTrait, Order, Query};

use super::{DbError, Executor};

/// A privilege: `scheduler_user_id` may schedule for `host_user_id`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PrivilegeRow {
    /// Who may schedule.
    pub scheduler_user_id: String,
    /// For whom (the meetings' host).
    pub host_user_id: String,
}

/// The privileges of `account_id` that `user_id` holds or gave, by
/// scheduler and host.
pub async fn of_user(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
) -> Result<Vec<PrivilegeRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["scheduler_user_id", "host_user_id"])
            .from("scheduling_privileges")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("scheduler_user_id").eq(user_id).or(Expr::col("host_user_id").eq(user_id)))
            .order_by("scheduler_user_id", Order::Asc)
            .order_by("host_user_id", Order::Asc),
    )
    .await
}

/// Inserts the privilege of `scheduler` to schedule for `host`, granted at `now_ms`.
pub async fn insert(
    ex: impl Executor,
    account_id: &str,
    scheduler: &str,
    host: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("scheduling_privileges")
            .columns(["account_id", "scheduler_user_id", "host_user_id", "granted_ms"])
            .values_panic([account_id.into(), scheduler.into(), host.into(), now_ms.into()]),
    )
    .await?;
    Ok(())
}

/// Deletes the privilege of `scheduler` to schedule for `host`; whether there was one.
pub async fn delete(
    ex: impl Executor,
    account_id: &str,
    scheduler: &str,
    host: &str,
) -> Result<bool, DbError> {
    let removed = ex
        .execute(
            Query::delete()
                .from_table("scheduling_privileges")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("scheduler_user_id").eq(scheduler))
                .and_where(Expr::col("host_user_id").eq(host)),
        )
        .await?;
    Ok(removed > 0)
}

/// Whether `scheduler` may schedule meetings for `host` in `account_id`.
pub async fn exists(
    ex: impl Executor,
    account_id: &str,
    scheduler: &str,
    host: &str,
) -> Result<bool, DbError> {
    #[derive(sqlx::FromRow)]
    struct Found {
        #[allow(dead_code)]
        host_user_id: String,
    }
    let found: Option<Found> = ex
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
