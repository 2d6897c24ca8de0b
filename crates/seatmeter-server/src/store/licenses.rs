//! The `license_pools` and `license_assignments` tables: how many licenses
//! of each kind an account has installed and assigned, and who holds one.
//!
//! Taking a license is one conditional update, `assigned = assigned + 1
//! WHERE assigned < installed` ([`take`]): run inside the transaction that
//! records the assignment, the database serialises concurrent updates of
//! the pool row (a row lock on PostgreSQL, the write lock on SQLite), so
//! however many requests race on however many servers, a pool is never
//! over-assigned.

use sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query};

use super::{DbError, Executor};

/// One pool as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PoolRow {
    /// The license kind.
    pub kind: String,
    /// Licenses installed.
    pub installed: i64,
    /// Licenses assigned to users.
    pub assigned: i64,
}

/// The stored pools of `account_id`, by kind (a kind never installed has no row).
pub async fn pools(ex: impl Executor, account_id: &str) -> Result<Vec<PoolRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["kind", "installed", "assigned"])
            .from("license_pools")
            .and_where(Expr::col("account_id").eq(account_id))
            .order_by("kind", Order::Asc),
    )
    .await
}

/// Creates the pool of `kind` in `account_id`, empty, unless it exists.
pub async fn create_pool(ex: impl Executor, account_id: &str, kind: &str) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("license_pools")
            .columns(["account_id", "kind", "installed", "assigned"])
            .values_panic([account_id.into(), kind.into(), 0i64.into(), 0i64.into()])
            .on_conflict(OnConflict::columns(["account_id", "kind"]).do_nothing().to_owned()),
    )
    .await?;
    Ok(())
}

/// Sets the installed count of the pool of `kind`, unless more licenses
/// than that are assigned; whether it was set.
pub async fn set_installed(
    ex: impl Executor,
    account_id: &str,
    kind: &str,
    installed: i64,
) -> Result<bool, DbError> {
    let changed = ex
        .execute(
            Query::update()
                .table("license_pools")
                .value("installed", installed)
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("kind").eq(kind))
                .and_where(Expr::col("assigned").lte(installed)),
        )
        .await?;
    Ok(changed > 0)
}

/// Sets the installed count of the pool of `kind`, creating the pool if
/// needed (whatever is assigned).
pub async fn put_installed(
    ex: impl Executor,
    account_id: &str,
    kind: &str,
    installed: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("license_pools")
            .columns(["account_id", "kind", "installed", "assigned"])
            .values_panic([account_id.into(), kind.into(), installed.into(), 0i64.into()])
            .on_conflict(OnConflict::columns(["account_id", "kind"]).update_column("installed").to_owned()),
    )
    .await?;
    Ok(())
}

/// Takes a free license from the pool of `kind`; whether one was free.
pub async fn take(ex: impl Executor, account_id: &str, kind: &str) -> Result<bool, DbError> {
    let taken = ex
        .execute(
            Query::update()
                .table("license_pools")
                .value("assigned", Expr::col("assigned").add(1))
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("kind").eq(kind))
                .and_where(Expr::col("assigned").lt(Expr::col("installed"))),
        )
        .await?;
    Ok(taken > 0)
}

/// Gives a license back to the pool of `kind`.
pub async fn give_back(ex: impl Executor, account_id: &str, kind: &str) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("license_pools")
            .value("assigned", Expr::col("assigned").sub(1))
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("kind").eq(kind)),
    )
    .await?;
    Ok(())
}

/// Records that `user_id` holds a license of `kind`, assigned by `by`
/// (a unique violation when they hold one already).
pub async fn insert_assignment(
    ex: impl Executor,
    account_id: &str,
    kind: &str,
    user_id: &str,
    by: Option<&str>,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("license_assignments")
            .columns(["account_id", "kind", "user_id", "assigned_ms", "assigned_by"])
            .values_panic([account_id.into(), kind.into(), user_id.into(), now_ms.into(), by.into()]),
    )
    .await?;
    Ok(())
}

/// Removes the license of `kind` held by `user_id`; whether they held one.
pub async fn delete_assignment(
    ex: impl Executor,
    account_id: &str,
    kind: &str,
    user_id: &str,
) -> Result<bool, DbError> {
    let removed = ex
        .execute(
            Query::delete()
                .from_table("license_assignments")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("kind").eq(kind))
                .and_where(Expr::col("user_id").eq(user_id)),
        )
        .await?;
    Ok(removed > 0)
}

/// A license held by a user.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AssignmentRow {
    /// The user.
    pub user_id: String,
    /// The license kind.
    pub kind: String,
}

/// The license assignments of `account_id` (only `holder`'s, if given), by user, then kind.
pub async fn assignments(
    ex: impl Executor,
    account_id: &str,
    holder: Option<&str>,
) -> Result<Vec<AssignmentRow>, DbError> {
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
    ex.fetch_all(&select).await
}

/// A holder of a license of one kind.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HolderRow {
    /// The user.
    pub user_id: String,
    /// When it was assigned.
    pub assigned_ms: i64,
    /// Who assigned it (absent for assignments made before it was recorded).
    pub assigned_by: Option<String>,
}

/// Up to `limit` holders of a `kind` license of `account_id`, oldest
/// assignment first, after `after` (an assignment's instant and user).
pub async fn holders(
    ex: impl Executor,
    account_id: &str,
    kind: &str,
    after: Option<(i64, &str)>,
    limit: u64,
) -> Result<Vec<HolderRow>, DbError> {
    let mut select = Query::select();
    select
        .columns(["user_id", "assigned_ms", "assigned_by"])
        .from("license_assignments")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("kind").eq(kind));
    if let Some((ms, user)) = after {
        select.cond_where(
            Cond::any()
                .add(Expr::col("assigned_ms").gt(ms))
                .add(Expr::col("assigned_ms").eq(ms).and(Expr::col("user_id").gt(user))),
        );
    }
    select.order_by("assigned_ms", Order::Asc).order_by("user_id", Order::Asc).limit(limit);
    ex.fetch_all(&select).await
}
