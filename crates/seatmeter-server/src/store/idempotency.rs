//! The `idempotency_keys` table: the first answer to a mutating request
//! sent with an `Idempotency-Key`, per account and key.

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use super::{DbError, Executor};

/// A key's record.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyRow {
    /// SHA-256 of the request first sent under the key.
    pub request_hash: String,
    /// Its answer's status (`None`: still being answered).
    pub status: Option<i64>,
    /// Its answer's content type.
    pub content_type: Option<String>,
    /// Its answer's body.
    pub body: Option<String>,
    /// When the key was first used.
    pub created_ms: i64,
}

/// Claims `key` of `account_id` for the request `request_hash` at `now_ms`:
/// `true` when this request is the first (or the key's record had expired
/// before `stale_before_ms`, or was abandoned unanswered before
/// `abandoned_before_ms`), and may act.
pub async fn claim(
    ex: impl Executor,
    account_id: &str,
    key: &str,
    request_hash: &str,
    now_ms: i64,
    stale_before_ms: i64,
    abandoned_before_ms: i64,
) -> Result<bool, DbError> {
    let taken = ex
        .execute(
            Query::insert()
                .into_table("idempotency_keys")
                .columns(["account_id", "idempotency_key", "request_hash", "created_ms"])
                .values_panic([account_id.into(), key.into(), request_hash.into(), now_ms.into()])
                .on_conflict(
                    OnConflict::columns(["account_id", "idempotency_key"])
                        .update_columns(["request_hash", "created_ms", "status", "content_type", "body"])
                        .action_and_where(
                            Expr::col(("idempotency_keys", "created_ms")).lt(stale_before_ms).or(Expr::col(
                                ("idempotency_keys", "status"),
                            )
                            .is_null()
                            .and(Expr::col(("idempotency_keys", "created_ms")).lt(abandoned_before_ms))),
                        )
                        .to_owned(),
                ),
        )
        .await?;
    Ok(taken > 0)
}

/// The record of `key` of `account_id`.
pub async fn get(ex: impl Executor, account_id: &str, key: &str) -> Result<Option<KeyRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .columns(["request_hash", "status", "content_type", "body", "created_ms"])
            .from("idempotency_keys")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("idempotency_key").eq(key)),
    )
    .await
}

/// Keeps the answer to the request that claimed `key`.
pub async fn answer(
    ex: impl Executor,
    account_id: &str,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("idempotency_keys")
            .value("status", i64::from(status))
            .value("content_type", content_type)
            .value("body", body)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("idempotency_key").eq(key)),
    )
    .await?;
    Ok(())
}

/// Lets `key` go (its request failed in the server: a retry may act).
pub async fn release(ex: impl Executor, account_id: &str, key: &str) -> Result<(), DbError> {
    ex.execute(
        Query::delete()
            .from_table("idempotency_keys")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("idempotency_key").eq(key)),
    )
    .await?;
    Ok(())
}

/// Forgets the keys first used before `before_ms`; how many.
pub async fn prune(ex: impl Executor, before_ms: i64) -> Result<u64, DbError> {
    ex.execute(
        Query::delete().from_table("idempotency_keys").and_where(Expr::col("created_ms").lt(before_ms)),
    )
    .await
}
