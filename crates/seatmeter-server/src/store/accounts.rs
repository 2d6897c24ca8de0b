//! The `accounts` table.

use sea_query::{Expr, ExprTrait, Query};

use super::{DbError, Executor, Tx};

/// An account (tenant).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Anchor of its 30-day usage windows (ms).
    pub anchor_ms: i64,
    /// Its time zone (IANA name), for the daily audit.
    pub time_zone: String,
    /// When it was created (ms).
    pub created_ms: i64,
}

/// Inserts `account`.
pub async fn insert(ex: impl Executor, account: &AccountRow) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("accounts")
            .columns(["id", "name", "anchor_ms", "time_zone", "created_ms"])
            .values_panic([
                account.id.clone().into(),
                account.name.clone().into(),
                account.anchor_ms.into(),
                account.time_zone.clone().into(),
                account.created_ms.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// The account `account_id`.
pub async fn get(ex: impl Executor, account_id: &str) -> Result<Option<AccountRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .columns(["id", "name", "anchor_ms", "time_zone", "created_ms"])
            .from("accounts")
            .and_where(Expr::col("id").eq(account_id)),
    )
    .await
}

/// Changes the name and the time zone of `account_id` (those given).
pub async fn update(
    ex: impl Executor,
    account_id: &str,
    name: Option<&str>,
    time_zone: Option<&str>,
) -> Result<(), DbError> {
    if name.is_none() && time_zone.is_none() {
        return Ok(());
    }
    let mut update = Query::update();
    update.table("accounts").and_where(Expr::col("id").eq(account_id));
    if let Some(name) = name {
        update.value("name", name);
    }
    if let Some(zone) = time_zone {
        update.value("time_zone", zone);
    }
    ex.execute(&update).await?;
    Ok(())
}

/// How many accounts exist.
pub async fn count(ex: impl Executor) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let row: Option<Count> =
        ex.fetch_optional(Query::select().expr_as(Expr::col("id").count(), "n").from("accounts")).await?;
    Ok(row.map_or(0, |r| r.n))
}

/// Locks account `account_id` until the end of `tx`, to serialise changes
/// whose checks read several rows (such as "another unrestricted
/// administrator remains"). On PostgreSQL this is a row lock; SQLite's write
/// transactions hold the database's write lock from their start already.
pub async fn lock(tx: &mut Tx, account_id: &str) -> Result<(), DbError> {
    #[derive(sqlx::FromRow)]
    struct Locked {
        #[allow(dead_code)]
        id: String,
    }
    let _locked: Option<Locked> = tx
        .fetch_optional(
            Query::select()
                .column("id")
                .from("accounts")
                .and_where(Expr::col("id").eq(account_id))
                .lock_exclusive(),
        )
        .await?;
    Ok(())
}
