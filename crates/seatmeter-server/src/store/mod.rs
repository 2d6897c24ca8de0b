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
