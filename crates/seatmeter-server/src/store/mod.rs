//! All SQL of the server, grouped by table, on SQLite or PostgreSQL.
//!
//! Each module holds one table's rows and statements (or a few tables that
//! are always read together). A function takes an [`Executor`] when it only
//! runs statements, so one function serves a read on the pool and the same
//! read inside a change's transaction; it takes a [`Tx`] when it must
//! (several statements that belong together). Nothing here checks rights
//! or knows the rules: that is [`crate::app`]'s. A unique violation becomes
//! the caller's own error through [`OnDuplicate`].

mod db;

pub use db::{Db, DbError, Executor, OnDuplicate, Row, SqliteDb, Tx, is_unique_violation};

/// Sets `column` to `now_ms` on every row of `table` of user `user_id`
/// where it is still unset (ends their sessions, revokes their tokens,
/// uses up their links); how many rows.
async fn stamp_all_of_user(
    ex: impl Executor,
    table: &'static str,
    column: &'static str,
    account_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<u64, DbError> {
    use sea_query::{Expr, ExprTrait, Query};
    ex.execute(
        Query::update()
            .table(table)
            .value(column, now_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("user_id").eq(user_id))
            .and_where(Expr::col(column).is_null()),
    )
    .await
}

pub mod accounts;
pub mod activities;
pub mod booking_pages;
pub mod changes;
pub mod compliance;
pub mod events;
pub mod idempotency;
pub mod license_files;
pub mod licenses;
pub mod meetings;
pub mod outbox;
pub mod password_links;
pub mod passwords;
pub mod policies;
pub mod privileges;
pub mod sessions;
pub mod sign_ins;
pub mod tokens;
pub mod usage;
pub mod users;
