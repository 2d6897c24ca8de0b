//! The `cache_changes` table: one row per group of kept answers (a user,
//! a host, or everything), whose version goes up with each change, so
//! that every server on the database learns what to forget.

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use super::{DbError, Executor};

/// Records that what depends on `groups` changed at `now_ms` (inside the
/// change's transaction: the row exists exactly when the change does).
pub async fn note<'a>(
    ex: impl Executor,
    groups: impl IntoIterator<Item = &'a str>,
    now_ms: i64,
) -> Result<(), DbError> {
    let groups: std::collections::BTreeSet<&str> = groups.into_iter().collect();
    if groups.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert();
    insert.into_table("cache_changes").columns(["grp", "version", "at_ms"]).on_conflict(
        OnConflict::column("grp")
            .value("version", Expr::col(("cache_changes", "version")).add(1))
            .update_column("at_ms")
            .to_owned(),
    );
    for group in &groups {
        insert.values_panic([(*group).into(), 1i64.into(), now_ms.into()]);
    }
    ex.execute(&insert).await?;
    Ok(())
}

/// A group's latest change.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ChangeRow {
    /// The group: a user or host id, or `*` for everything.
    pub grp: String,
    /// Goes up with each change.
    pub version: i64,
    /// When it last changed (ms).
    pub at_ms: i64,
}

/// The groups changed at or after `since_ms`.
pub async fn since(ex: impl Executor, since_ms: i64) -> Result<Vec<ChangeRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["grp", "version", "at_ms"])
            .from("cache_changes")
            .and_where(Expr::col("at_ms").gte(since_ms)),
    )
    .await
}

/// Deletes the rows of groups unchanged since `before_ms`; how many.
pub async fn prune(ex: impl Executor, before_ms: i64) -> Result<u64, DbError> {
    ex.execute(Query::delete().from_table("cache_changes").and_where(Expr::col("at_ms").lt(before_ms))).await
}
