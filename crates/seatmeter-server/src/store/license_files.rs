//! The `license_files` table: every license file installed, the current
//! one of each PAK with `replaced_ms` NULL (a unique index keeps it one).

use sea_query::{Expr, ExprTrait, Order, Query};

use super::{DbError, Executor};

/// A license file as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FileRow {
    /// The file's own id (`lic_…`).
    pub license_id: String,
    /// The PAK it came from.
    pub pak: String,
    /// The signed text (a license body, JSON).
    pub body: String,
    /// `pak`, `sync` or `file`.
    pub installed_via: String,
    /// When it was installed.
    pub installed_ms: i64,
    /// When a newer file of the same PAK replaced it.
    pub replaced_ms: Option<i64>,
}

const FILE_COLUMNS: [&str; 6] = ["license_id", "pak", "body", "installed_via", "installed_ms", "replaced_ms"];

/// Every license file of `account_id`, oldest first.
pub async fn oldest_first(ex: impl Executor, account_id: &str) -> Result<Vec<FileRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(FILE_COLUMNS)
            .from("license_files")
            .and_where(Expr::col("account_id").eq(account_id))
            .order_by("installed_ms", Order::Asc),
    )
    .await
}

/// Every license file of `account_id`, newest first.
pub async fn newest_first(ex: impl Executor, account_id: &str) -> Result<Vec<FileRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(FILE_COLUMNS)
            .from("license_files")
            .and_where(Expr::col("account_id").eq(account_id))
            .order_by("installed_ms", Order::Desc)
            .order_by("id", Order::Desc),
    )
    .await
}

/// Marks the current file of `pak` replaced at `now_ms`.
pub async fn replace_current(
    ex: impl Executor,
    account_id: &str,
    pak: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("license_files")
            .value("replaced_ms", now_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("pak").eq(pak))
            .and_where(Expr::col("replaced_ms").is_null()),
    )
    .await?;
    Ok(())
}

/// A license file to store.
#[derive(Clone, Debug)]
pub struct NewFile<'a> {
    /// The row's id.
    pub id: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// The file's own id.
    pub license_id: &'a str,
    /// Its PAK.
    pub pak: &'a str,
    /// The signed text.
    pub body: &'a str,
    /// The whole file, as installed.
    pub file: &'a str,
    /// `pak`, `sync` or `file`.
    pub installed_via: &'a str,
    /// When.
    pub installed_ms: i64,
    /// Who installed it (none: the operator or a synchronisation).
    pub installed_by_user_id: Option<&'a str>,
}

/// Stores `file` as the current file of its PAK.
pub async fn insert(ex: impl Executor, file: &NewFile<'_>) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("license_files")
            .columns([
                "id",
                "account_id",
                "license_id",
                "pak",
                "body",
                "file",
                "installed_via",
                "installed_ms",
                "installed_by_user_id",
            ])
            .values_panic([
                file.id.into(),
                file.account_id.into(),
                file.license_id.into(),
                file.pak.into(),
                file.body.into(),
                file.file.into(),
                file.installed_via.into(),
                file.installed_ms.into(),
                file.installed_by_user_id.map(str::to_string).into(),
            ]),
    )
    .await?;
    Ok(())
}
