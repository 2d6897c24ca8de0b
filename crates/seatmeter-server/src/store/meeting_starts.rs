//! The `meetings` table, as the dashboard's trend reads it: when each
//! meeting started.

use sea_query::{Expr, ExprTrait, Query};

use super::{DbError, Executor};

/// When the meetings of `account_id` that started at or after `from_ms` started.
pub async fn since(ex: impl Executor, account_id: &str, from_ms: i64) -> Result<Vec<i64>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Started {
        started_ms: i64,
    }
    let rows: Vec<Started> = ex
        .fetch_all(
            Query::select()
                .column("started_ms")
                .from("meetings")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("started_ms").gte(from_ms)),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.started_ms).collect())
}
