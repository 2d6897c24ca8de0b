//! The `sign_in_failures` table: a user's failed sign-ins since their last
//! successful one, which the throttling of sign-ins counts.

use sea_query::{Expr, ExprTrait, Query};

use super::{DbError, Executor};

/// The times of user `user_id`'s failed sign-ins after `after_ms`.
pub async fn failures(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    after_ms: i64,
) -> Result<Vec<i64>, DbError> {
    #[derive(sqlx::FromRow)]
    struct FailedAt {
        at_ms: i64,
    }
    let rows: Vec<FailedAt> = ex
        .fetch_all(
            Query::select()
                .column("at_ms")
                .from("sign_in_failures")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("user_id").eq(user_id))
                .and_where(Expr::col("at_ms").gt(after_ms)),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.at_ms).collect())
}

/// Records a failed sign-in of user `user_id` at `now_ms`.
pub async fn record_failure(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("sign_in_failures")
            .columns(["account_id", "user_id", "at_ms"])
            .values_panic([account_id.into(), user_id.into(), now_ms.into()]),
    )
    .await?;
    Ok(())
}

/// Forgets user `user_id`'s failed sign-ins (they signed in).
pub async fn clear_failures(ex: impl Executor, account_id: &str, user_id: &str) -> Result<(), DbError> {
    ex.execute(
        Query::delete()
            .from_table("sign_in_failures")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("user_id").eq(user_id)),
    )
    .await?;
    Ok(())
}
