//! One query, two databases: statements are built once with sea-query and
//! run on the embedded SQLite or on PostgreSQL, through a pool ([`Db`]) or
//! a write transaction ([`Tx`]), both of which are an [`Executor`].
//!
//! Rows are plain structs deriving `sqlx::FromRow` for both backends; times
//! are integer UTC milliseconds and ids text, so the two schemas are alike
//! column for column (a test checks it). Backend-specific code is limited
//! to opening, migrating, and how a write transaction begins: SQLite
//! takes its write lock up front (`BEGIN IMMEDIATE`) so that two writers
//! never deadlock upgrading a read lock.

use std::time::Duration;

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::settings::DatabaseLocation;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Opening or creating the database failed.
    #[error("cannot open the database ({location}): {source}")]
    Open {
        /// Where (password redacted).
        location: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// A row type readable from both databases.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A connection pool to one of the two databases.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded SQLite file.
    Sqlite(SqliteDb),
    /// A PostgreSQL server.
    Postgres(PgPool),
}

/// The embedded SQLite database: connections to read with, the one
/// connection this process writes with, and the lock that makes its
/// writers take turns.
///
/// SQLite lets one writer in at a time. Without the lock, writers that
/// find the database busy poll for it, sleeping longer each time, and a
/// burst of event batches spends more time asleep than writing; with it,
/// they queue and each begins the moment the previous one commits. (Another
/// process on the same file still waits through SQLite's busy timeout.)
/// Writing always through the same connection keeps its page cache valid
/// from one transaction to the next: a connection that finds the database
/// changed by another connection must drop its cache and read every page
/// again.
#[derive(Clone, Debug)]
pub struct SqliteDb {
    /// The connections to read with.
    pub pool: SqlitePool,
    /// The connection to write with (a pool of one, kept open).
    writes: SqlitePool,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction on one of the two databases.
pub enum Tx {
    /// On SQLite, holding this process's turn to write until it ends.
    Sqlite(Transaction<'static, Sqlite>, tokio::sync::OwnedMutexGuard<()>),
    /// On PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$sql` and `$values` built for the backend of `$conn`.
macro_rules! on_backend {
    ($target:expr, $stmt:expr, |$sql:ident, $values:ident, $exec:ident| $body:expr) => {
        match $target {
            Target::Sqlite($exec) => {
                let ($sql, $values) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
            Target::Postgres($exec) => {
                let ($sql, $values) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $sql = AssertSqlSafe($sql);
                $body
            }
        }
    };
}

enum Target<'a> {
    Sqlite(&'a mut sqlx::SqliteConnection),
    Postgres(&'a mut sqlx::PgConnection),
}

impl Db {
    /// Opens (creating an SQLite file and its directory if needed) and migrates.
    pub async fn open(location: &DatabaseLocation) -> Result<Self, DbError> {
        let open_error = |source| DbError::Open { location: location.to_string(), source };
        let db = match location {
            DatabaseLocation::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| open_error(sqlx::Error::Io(e)))?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // WAL with NORMAL loses no committed transaction on a process
                    // crash; FULL also survives a power cut, at every commit's fsync.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    // 32 MiB of pages per connection (the default is 2 MiB): the
                    // indexes that batches of events write into stay in memory.
                    .pragma("cache_size", "-32768")
                    // Statement journals (kept while a multi-row insert may yet be
                    // undone) in memory rather than in temporary files.
                    .pragma("temp_store", "memory")
                    // Pages read through a memory map rather than a read() call each.
                    .pragma("mmap_size", "268435456")
                    // Checkpoint every 16 MiB of log rather than 4: pages written again
                    // and again by busy tables are copied into the database once.
                    .pragma("wal_autocheckpoint", "4000")
                    .busy_timeout(Duration::from_secs(10));
                Db::Sqlite(SqliteDb {
                    pool: SqlitePoolOptions::new()
                        .max_connections(8)
                        .connect_with(options.clone())
                        .await
                        .map_err(open_error)?,
                    writes: SqlitePoolOptions::new()
                        .min_connections(1)
                        .max_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .connect_with(options)
                        .await
                        .map_err(open_error)?,
                    writer: std::sync::Arc::default(),
                })
            }
            DatabaseLocation::Postgres(url) => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(open_error)?,
            ),
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations the schema lacks.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let _turn = db.writer.lock().await;
                sqlx::migrate!("migrations/sqlite").run(&db.writes).await?;
            }
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        let _rows_affected = match self {
            Db::Sqlite(db) => sqlx::query("SELECT 1").execute(&db.pool).await?.rows_affected(),
            Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await?.rows_affected(),
        };
        Ok(())
    }

    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        Ok(match self {
            Db::Sqlite(db) => {
                let turn = db.writer.clone().lock_owned().await;
                Tx::Sqlite(db.writes.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// The first row of `stmt`, if any.
    pub async fn fetch_optional<T: Row>(&self, stmt: &impl SqlxBinder) -> Result<Option<T>, DbError> {
        Ok(match self {
            Db::Sqlite(SqliteDb { pool, .. }) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values).fetch_optional(pool).await?
            }
            Db::Postgres(pool) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values).fetch_optional(pool).await?
            }
        })
    }

    /// All rows of `stmt`.
    pub async fn fetch_all<T: Row>(&self, stmt: &impl SqlxBinder) -> Result<Vec<T>, DbError> {
        Ok(match self {
            Db::Sqlite(SqliteDb { pool, .. }) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values).fetch_all(pool).await?
            }
            Db::Postgres(pool) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), values).fetch_all(pool).await?
            }
        })
    }

    /// Runs `stmt` (a write) outside a transaction; returns the rows affected.
    pub async fn execute(&self, stmt: &impl SqlxBinder) -> Result<u64, DbError> {
        Ok(match self {
            Db::Sqlite(SqliteDb { writes, writer, .. }) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                let _turn = writer.lock().await;
                sqlx::query_with(AssertSqlSafe(sql), values).execute(writes).await?.rows_affected()
            }
            Db::Postgres(pool) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql), values).execute(pool).await?.rows_affected()
            }
        })
    }
}

/// Where a statement runs: the pool (`&Db`, each statement on its own) or
/// a write transaction (`&mut Tx`). A store function that takes an
/// `Executor` serves both, so a read has one function whether or not it is
/// part of a change (`users::get(&state.db, …)` and `users::get(&mut *tx, …)`).
pub trait Executor: Send {
    /// The first row of `stmt`, if any.
    fn fetch_optional<T: Row>(
        self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> impl Future<Output = Result<Option<T>, DbError>> + Send;
    /// All rows of `stmt`.
    fn fetch_all<T: Row>(
        self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> impl Future<Output = Result<Vec<T>, DbError>> + Send;
    /// Runs `stmt`; the rows affected.
    fn execute(self, stmt: &(impl SqlxBinder + Sync)) -> impl Future<Output = Result<u64, DbError>> + Send;
}

impl Executor for &Db {
    fn fetch_optional<T: Row>(
        self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> impl Future<Output = Result<Option<T>, DbError>> + Send {
        Db::fetch_optional(self, stmt)
    }
    fn fetch_all<T: Row>(
        self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> impl Future<Output = Result<Vec<T>, DbError>> + Send {
        Db::fetch_all(self, stmt)
    }
    fn execute(self, stmt: &(impl SqlxBinder + Sync)) -> impl Future<Output = Result<u64, DbError>> + Send {
        Db::execute(self, stmt)
    }
}

impl Executor for &mut Tx {
    fn fetch_optional<T: Row>(
        self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> impl Future<Output = Result<Option<T>, DbError>> + Send {
        Tx::fetch_optional(self, stmt)
    }
    fn fetch_all<T: Row>(
        self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> impl Future<Output = Result<Vec<T>, DbError>> + Send {
        Tx::fetch_all(self, stmt)
    }
    fn execute(self, stmt: &(impl SqlxBinder + Sync)) -> impl Future<Output = Result<u64, DbError>> + Send {
        Tx::execute(self, stmt)
    }
}

/// Whether `error` is a unique-constraint violation.
pub fn is_unique_violation(error: &DbError) -> bool {
    matches!(error, DbError::Query(sqlx::Error::Database(e)) if e.is_unique_violation())
}

/// Maps a unique-constraint violation to the caller's own error (which
/// names the field in its words); any other failure stays a database error.
/// The one place where unique violations are recognised:
/// `store::users::insert(&mut *tx, &user).await.on_duplicate(|| Error::conflict(…))?`.
pub trait OnDuplicate<T> {
    /// `Err(duplicate())` when the write broke a unique constraint.
    fn on_duplicate<E: From<DbError>>(self, duplicate: impl FnOnce() -> E) -> Result<T, E>;
}

impl<T> OnDuplicate<T> for Result<T, DbError> {
    fn on_duplicate<E: From<DbError>>(self, duplicate: impl FnOnce() -> E) -> Result<T, E> {
        match self {
            Ok(value) => Ok(value),
            Err(e) if is_unique_violation(&e) => Err(duplicate()),
            Err(e) => Err(E::from(e)),
        }
    }
}

impl Tx {
    fn target(&mut self) -> Target<'_> {
        match self {
            Tx::Sqlite(tx, _) => Target::Sqlite(tx),
            Tx::Postgres(tx) => Target::Postgres(tx),
        }
    }

    /// Runs `stmt`; returns the rows affected.
    pub async fn execute(&mut self, stmt: &impl SqlxBinder) -> Result<u64, DbError> {
        Ok(on_backend!(self.target(), stmt, |sql, values, conn| {
            sqlx::query_with(sql, values).execute(&mut *conn).await?.rows_affected()
        }))
    }

    /// The first row of `stmt`, if any.
    pub async fn fetch_optional<T: Row>(&mut self, stmt: &impl SqlxBinder) -> Result<Option<T>, DbError> {
        Ok(on_backend!(self.target(), stmt, |sql, values, conn| {
            sqlx::query_as_with(sql, values).fetch_optional(&mut *conn).await?
        }))
    }

    /// All rows of `stmt`.
    pub async fn fetch_all<T: Row>(&mut self, stmt: &impl SqlxBinder) -> Result<Vec<T>, DbError> {
        Ok(on_backend!(self.target(), stmt, |sql, values, conn| {
            sqlx::query_as_with(sql, values).fetch_all(&mut *conn).await?
        }))
    }

    /// The PostgreSQL connection of the transaction, for the few statements
    /// written for PostgreSQL alone (bulk writes that bind whole arrays).
    pub fn postgres(&mut self) -> Option<&mut sqlx::PgConnection> {
        match self {
            Tx::Postgres(tx) => Some(&mut **tx),
            Tx::Sqlite(..) => None,
        }
    }

    /// Makes the transaction's changes durable.
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(tx, _) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}
