//! The `usage_changes` table: each change to an account's live usage,
//! numbered per account.
//!
//! Taking numbers updates the account's `usage_seq`, a row every such
//! writer locks, so the numbers become visible in order and without gaps,
//! whichever server wrote them; a reader that knows the account's latest
//! number reads exactly the changes it has not applied yet.

use std::collections::HashMap;

use sea_query::{Expr, ExprTrait, Order, Query};

use super::{Db, DbError, Executor, Tx};

/// One change to a host's usage.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageChange {
    /// The host.
    pub host_user_id: String,
    /// Start of the interval (ms).
    pub start_ms: i64,
    /// End of the interval (ms, exclusive).
    pub end_ms: i64,
    /// +1 added, -1 removed.
    pub sign: i64,
}

#[derive(sqlx::FromRow)]
struct Seq {
    usage_seq: i64,
}

/// Appends `changes` to the account's usage changes, numbered after the last.
pub async fn append(tx: &mut Tx, account_id: &str, changes: &[UsageChange]) -> Result<(), DbError> {
    if changes.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    // Updating the account row locks it until commit: writers take numbers one after another.
    let taken: Option<Seq> = tx
        .fetch_optional(
            Query::update()
                .table("accounts")
                .value("usage_seq", Expr::col("usage_seq").add(count))
                .and_where(Expr::col("id").eq(account_id))
                .returning(Query::returning().column("usage_seq")),
        )
        .await?;
    let last = taken.map_or(count, |s| s.usage_seq);
    for (chunk_index, chunk) in changes.chunks(1000).enumerate() {
        let mut insert = Query::insert();
        insert.into_table("usage_changes").columns([
            "account_id",
            "seq",
            "host_user_id",
            "start_ms",
            "end_ms",
            "sign",
        ]);
        for (i, change) in chunk.iter().enumerate() {
            let seq = last - count + 1 + i64::try_from(chunk_index * 1000 + i).unwrap_or(0);
            insert.values_panic([
                account_id.into(),
                seq.into(),
                change.host_user_id.clone().into(),
                change.start_ms.into(),
                change.end_ms.into(),
                change.sign.into(),
            ]);
        }
        tx.execute(&insert).await?;
    }
    Ok(())
}

/// Up to `limit` changes of `account_id` numbered after `after` and up to
/// `up_to`, in order.
pub async fn changes(
    ex: impl Executor,
    account_id: &str,
    after: i64,
    up_to: i64,
    limit: u64,
) -> Result<Vec<UsageChange>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["host_user_id", "start_ms", "end_ms", "sign"])
            .from("usage_changes")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("seq").gt(after))
            .and_where(Expr::col("seq").lte(up_to))
            .order_by("seq", Order::Asc)
            .limit(limit),
    )
    .await
}

#[derive(sqlx::FromRow)]
struct HostEmail {
    id: String,
    email: String,
}

/// The e-mail addresses usage names hosts by: those of the account's
/// users in `ids`, or of all of them, by user id.
pub async fn host_emails(
    db: &Db,
    account_id: &str,
    ids: Option<&[&str]>,
) -> Result<HashMap<String, String>, DbError> {
    let mut select = Query::select();
    select.columns(["id", "email"]).from("users").and_where(Expr::col("account_id").eq(account_id));
    let mut found = HashMap::new();
    match ids {
        None => {
            let rows: Vec<HostEmail> = db.fetch_all(&select).await?;
            found.extend(rows.into_iter().map(|r| (r.id, r.email)));
        }
        Some(ids) => {
            for chunk in ids.chunks(1000) {
                let rows: Vec<HostEmail> = db
                    .fetch_all(select.clone().and_where(Expr::col("id").is_in(chunk.iter().copied())))
                    .await?;
                found.extend(rows.into_iter().map(|r| (r.id, r.email)));
            }
        }
    }
    Ok(found)
}
