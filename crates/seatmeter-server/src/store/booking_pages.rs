//! The `booking_pages` table with its editors (`booking_page_editors`) and
//! date-specific hours (`booking_page_overrides`). Hours are stored as
//! JSON text, already normalised by the use cases; `enabled` and the
//! notification flags are 0 or 1.

use sea_query::{Expr, ExprTrait, Order, Query};
use seatmeter_core::people::LicenseKind;

use super::{DbError, Executor, Tx};

/// The columns of [`PageRow`].
const PAGE_COLUMNS: [&str; 6] = ["id", "owner_user_id", "title", "theme", "enabled", "weekly_hours"];

/// A booking page's own settings.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PageRow {
    /// Its id.
    pub id: String,
    /// Its owner.
    pub owner_user_id: String,
    /// Its title.
    pub title: String,
    /// Its theme.
    pub theme: String,
    /// 1 when it takes bookings.
    pub enabled: i64,
    /// Weekly hours by day, as JSON.
    pub weekly_hours: String,
}

/// An editor of a page.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EditorRow {
    /// The editor.
    pub user_id: String,
    /// 1 when they are e-mailed of bookings.
    pub notify_email: i64,
    /// 1 when they are sent an SMS of bookings.
    pub notify_sms: i64,
}

/// The hours of one date, replacing the weekly hours.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OverrideRow {
    /// The date (`YYYY-MM-DD`).
    pub day: String,
    /// Its hours, as JSON (`[]`: unavailable).
    pub hours: String,
}

/// A page as a list of someone's pages shows it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OwnedRow {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// 1 when it takes bookings.
    pub enabled: i64,
}

/// The pages of `account_id`, oldest first.
pub async fn list(ex: impl Executor, account_id: &str) -> Result<Vec<PageRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(PAGE_COLUMNS)
            .from("booking_pages")
            .and_where(Expr::col("account_id").eq(account_id))
            .order_by("created_ms", Order::Asc)
            .order_by("id", Order::Asc),
    )
    .await
}

/// The page `page_id` of `account_id`.
pub async fn get(ex: impl Executor, account_id: &str, page_id: &str) -> Result<Option<PageRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .columns(PAGE_COLUMNS)
            .from("booking_pages")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(page_id)),
    )
    .await
}

/// The pages of `account_id` that `owner` owns, by id.
pub async fn owned_by(ex: impl Executor, account_id: &str, owner: &str) -> Result<Vec<OwnedRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["id", "title", "enabled"])
            .from("booking_pages")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("owner_user_id").eq(owner))
            .order_by("id", Order::Asc),
    )
    .await
}

/// Inserts `page` into `account_id`, created at `now_ms`.
pub async fn insert(ex: impl Executor, account_id: &str, page: &PageRow, now_ms: i64) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("booking_pages")
            .columns([
                "id",
                "account_id",
                "owner_user_id",
                "title",
                "theme",
                "enabled",
                "weekly_hours",
                "created_ms",
                "updated_ms",
            ])
            .values_panic([
                page.id.clone().into(),
                account_id.into(),
                page.owner_user_id.clone().into(),
                page.title.clone().into(),
                page.theme.clone().into(),
                page.enabled.into(),
                page.weekly_hours.clone().into(),
                now_ms.into(),
                now_ms.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// Saves the title, theme and weekly hours of `page`.
pub async fn update_settings(
    ex: impl Executor,
    account_id: &str,
    page: &PageRow,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("booking_pages")
            .value("title", page.title.clone())
            .value("theme", page.theme.clone())
            .value("weekly_hours", page.weekly_hours.clone())
            .value("updated_ms", now_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(page.id.as_str())),
    )
    .await?;
    Ok(())
}

/// Enables or disables the page `page_id`.
pub async fn set_enabled(
    ex: impl Executor,
    account_id: &str,
    page_id: &str,
    enabled: bool,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("booking_pages")
            .value("enabled", i64::from(enabled))
            .value("updated_ms", now_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(page_id)),
    )
    .await?;
    Ok(())
}

/// Gives the page `page_id` to `owner`, enabled or not.
pub async fn set_owner(
    ex: impl Executor,
    account_id: &str,
    page_id: &str,
    owner: &str,
    enabled: bool,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("booking_pages")
            .value("owner_user_id", owner)
            .value("enabled", i64::from(enabled))
            .value("updated_ms", now_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(page_id)),
    )
    .await?;
    Ok(())
}

/// The editors of the page `page_id`, by id.
pub async fn editors(ex: impl Executor, account_id: &str, page_id: &str) -> Result<Vec<EditorRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["user_id", "notify_email", "notify_sms"])
            .from("booking_page_editors")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("page_id").eq(page_id))
            .order_by("user_id", Order::Asc),
    )
    .await
}

/// Replaces the editors of the page `page_id` with `editors`.
pub async fn replace_editors(
    tx: &mut Tx,
    account_id: &str,
    page_id: &str,
    editors: &[EditorRow],
) -> Result<(), DbError> {
    tx.execute(
        Query::delete()
            .from_table("booking_page_editors")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("page_id").eq(page_id)),
    )
    .await?;
    for editor in editors {
        tx.execute(
            Query::insert()
                .into_table("booking_page_editors")
                .columns(["account_id", "page_id", "user_id", "notify_email", "notify_sms"])
                .values_panic([
                    account_id.into(),
                    page_id.into(),
                    editor.user_id.clone().into(),
                    editor.notify_email.into(),
                    editor.notify_sms.into(),
                ]),
        )
        .await?;
    }
    Ok(())
}

/// The date-specific hours of the page `page_id`, by date.
pub async fn overrides(
    ex: impl Executor,
    account_id: &str,
    page_id: &str,
) -> Result<Vec<OverrideRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["day", "hours"])
            .from("booking_page_overrides")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("page_id").eq(page_id))
            .order_by("day", Order::Asc),
    )
    .await
}

/// Sets the hours of `day` on the page `page_id` (JSON), or removes the
/// date's own hours when `hours` is `None`.
pub async fn set_override(
    tx: &mut Tx,
    account_id: &str,
    page_id: &str,
    day: &str,
    hours: Option<&str>,
) -> Result<(), DbError> {
    tx.execute(
        Query::delete()
            .from_table("booking_page_overrides")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("page_id").eq(page_id))
            .and_where(Expr::col("day").eq(day)),
    )
    .await?;
    if let Some(hours) = hours {
        tx.execute(
            Query::insert()
                .into_table("booking_page_overrides")
                .columns(["account_id", "page_id", "day", "hours"])
                .values_panic([account_id.into(), page_id.into(), day.into(), hours.into()]),
        )
        .await?;
    }
    Ok(())
}

/// Whether `owner` holds a license of `kind`, the license a page of theirs
/// needs to be enabled. The row is read with a share lock: on PostgreSQL an
/// unassignment racing with the caller's transaction waits for it (or the
/// transaction sees the row gone), so a page is never left enabled without
/// its owner's license.
pub async fn owner_holds_license(
    ex: impl Executor,
    account_id: &str,
    owner: &str,
    kind: LicenseKind,
) -> Result<bool, DbError> {
    #[derive(sqlx::FromRow)]
    struct Found {
        #[allow(dead_code)]
        user_id: String,
    }
    let found: Option<Found> = ex
        .fetch_optional(
            Query::select()
                .column("user_id")
                .from("license_assignments")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("user_id").eq(owner))
                .and_where(Expr::col("kind").eq(kind.as_str()))
                .lock_shared(),
        )
        .await?;
    Ok(found.is_some())
}
