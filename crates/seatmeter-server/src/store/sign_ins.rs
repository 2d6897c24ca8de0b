//! The `sign_in_throttles` table: the recent failed sign-ins of each
//! subject (a user, an address no user has, a source address), which the
//! throttling of sign-ins counts. A sign-in locks its subjects' rows while
//! it counts, decides and records, so that parallel attempts are counted
//! one after the other.

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use super::{DbError, Executor, Tx};

/// Locks the row of `subject` until the end of `tx` (creating it), and
/// returns its failures, oldest first.
pub async fn lock(tx: &mut Tx, subject: &str, now_ms: i64) -> Result<Vec<i64>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Failures {
        failures: String,
    }
    let row: Option<Failures> = tx
        .fetch_optional(
            Query::insert()
                .into_table("sign_in_throttles")
                .columns(["subject", "failures", "last_ms"])
                .values_panic([subject.into(), "".into(), now_ms.into()])
                .on_conflict(OnConflict::column("subject").update_column("last_ms").to_owned())
                .returning_col("failures"),
        )
        .await?;
    Ok(row.map(|r| parse(&r.failures)).unwrap_or_default())
}

/// Replaces the failures of `subject` (whose row `tx` has locked).
pub async fn set(tx: &mut Tx, subject: &str, failures: &[i64]) -> Result<(), DbError> {
    let text = failures.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    tx.execute(
        Query::update()
            .table("sign_in_throttles")
            .value("failures", text)
            .and_where(Expr::col("subject").eq(subject)),
    )
    .await?;
    Ok(())
}

/// Forgets the subjects untouched since `before_ms` (their failures no
/// longer count); how many.
pub async fn prune(ex: impl Executor, before_ms: i64) -> Result<u64, DbError> {
    ex.execute(Query::delete().from_table("sign_in_throttles").and_where(Expr::col("last_ms").lt(before_ms)))
        .await
}

fn parse(text: &str) -> Vec<i64> {
    let mut failures: Vec<i64> = text.split(',').filter_map(|t| t.parse().ok()).collect();
    failures.sort_unstable();
    failures
}
