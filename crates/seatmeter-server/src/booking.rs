//! Booking pages: an owner, editors, availability and an `enabled` flag.
//!
//! A page can be enabled only while its owner holds a `scheduled_meetings`
//! license; taking that license back disables every page the user owns in
//! the same transaction (see [`disable_pages_of`]). A disabled page keeps
//! all its settings, so enabling it again is one call. Who may do what:
//! - see a page: its owner, its editors, user administrators;
//! - change title, theme and availability: owner, editors, user
//!   administrators; availability also the owner's assistants (users with a
//!   scheduling privilege for the owner);
//! - enable, disable, set editors: owner and user administrators;
//! - transfer ownership: user administrators.
//!
//! A page of another account, or one the caller may not see, is "not found".

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_query::{Expr, ExprTrait, Order, Query};
use seatmeter_core::availability::{WEEKDAYS, check_date, parse_day};
use seatmeter_core::people::{AdminArea, LicenseKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, Body, ErrorBody};
use crate::secrets::new_id;
use crate::store::{DbError, Tx};

/// Hours of a day: `[["09:00", "12:00"], ["13:00", "17:00"]]`.
pub type DayHours = Vec<[String; 2]>;

#[derive(Clone, Debug, sqlx::FromRow)]
struct PageRow {
    id: String,
    owner_user_id: String,
    title: String,
    theme: String,
    enabled: i64,
    weekly_hours: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct EditorRow {
    user_id: String,
    notify_email: i64,
    notify_sms: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct OverrideRow {
    day: String,
    hours: String,
}

/// An editor of a booking page and the notifications they subscribe to.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Editor {
    /// The editor.
    pub user_id: String,
    /// E-mail notifications of bookings through the page.
    #[serde(default)]
    pub notify_email: bool,
    /// SMS notifications of bookings through the page.
    #[serde(default)]
    pub notify_sms: bool,
}

/// A booking page.
#[derive(Serialize, ToSchema)]
pub struct PageView {
    /// Its id.
    pub id: String,
    /// Its owner.
    pub owner_user_id: String,
    /// Its title.
    pub title: String,
    /// Its theme.
    pub theme: String,
    /// Whether it takes bookings.
    pub enabled: bool,
    /// Weekly hours by day (`mon` … `sun`).
    #[schema(value_type = BTreeMap<String, Vec<Vec<String>>>)]
    pub weekly_hours: BTreeMap<String, DayHours>,
    /// Date-specific hours, replacing the weekly hours on those dates (`[]`: unavailable).
    #[schema(value_type = BTreeMap<String, Vec<Vec<String>>>)]
    pub overrides: BTreeMap<String, DayHours>,
    /// Its editors.
    pub editors: Vec<Editor>,
}

/// A new booking page.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPage {
    /// Title (1 to 200 characters).
    pub title: String,
    /// Owner; by default the caller (user administrators may name anyone of the account).
    pub owner_user_id: Option<String>,
    /// Theme name.
    pub theme: Option<String>,
    /// Weekly hours.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Vec<Vec<String>>>)]
    pub weekly_hours: BTreeMap<String, DayHours>,
    /// Enable it at once (its owner must hold a scheduled_meetings license).
    #[serde(default)]
    pub enabled: bool,
}

/// Changes to a page's settings; fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageChanges {
    /// New title.
    pub title: Option<String>,
    /// New theme.
    pub theme: Option<String>,
    /// New weekly hours (replacing all of them).
    #[schema(value_type = Option<BTreeMap<String, Vec<Vec<String>>>>)]
    pub weekly_hours: Option<BTreeMap<String, DayHours>>,
    /// Date-specific hours to set; `null` removes a date's override.
    #[schema(value_type = Option<BTreeMap<String, Option<Vec<Vec<String>>>>>)]
    pub overrides: Option<BTreeMap<String, Option<DayHours>>>,
}

/// A new owner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The user who will own the page.
    pub owner_user_id: String,
}

/// A page's editors (replacing the current ones).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Editors {
    /// The editors.
    pub editors: Vec<Editor>,
}

fn invalid(message: impl Into<String>, field: &str) -> ApiError {
    ApiError::Invalid { message: message.into(), field: Some(field.to_string()) }
}

fn check_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("the title must be 1 to 200 characters", "title"));
    }
    Ok(title.to_string())
}

fn check_theme(theme: &str) -> Result<String, ApiError> {
    let theme = theme.trim();
    if theme.is_empty() || theme.chars().count() > 100 {
        return Err(invalid("the theme must be 1 to 100 characters", "theme"));
    }
    Ok(theme.to_string())
}

fn normalize_day(hours: &DayHours, field: &str) -> Result<DayHours, ApiError> {
    let pairs: Vec<(String, String)> = hours.iter().map(|[a, b]| (a.clone(), b.clone())).collect();
    let ranges = parse_day(&pairs).map_err(|e| invalid(e.0, field))?;
    Ok(ranges
        .iter()
        .map(|r| {
            [
                seatmeter_core::availability::TimeRange::format_minute(r.start),
                seatmeter_core::availability::TimeRange::format_minute(r.end),
            ]
        })
        .collect())
}

fn normalize_week(week: &BTreeMap<String, DayHours>) -> Result<String, ApiError> {
    let mut normalized = BTreeMap::new();
    for (day, hours) in week {
        if !WEEKDAYS.contains(&day.as_str()) {
            return Err(invalid(format!("unknown day {day:?}: use {}", WEEKDAYS.join(", ")), "weekly_hours"));
        }
        normalized.insert(day.clone(), normalize_day(hours, "weekly_hours")?);
    }
    Ok(serde_json::to_string(&normalized).unwrap_or_else(|_| "{}".into()))
}

/// Whether `user_id` holds a license of `kind`.
async fn holds_license(
    tx: &mut Tx,
    account_id: &str,
    user_id: &str,
    kind: LicenseKind,
) -> Result<bool, DbError> {
    #[derive(sqlx::FromRow)]
    struct Found {
        #[allow(dead_code)]
        user_id: String,
    }
    let found: Option<Found> = tx
        .fetch_optional(
            Query::select()
                .column("user_id")
                .from("license_assignments")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("user_id").eq(user_id))
                .and_where(Expr::col("kind").eq(kind.as_str()))
                // On PostgreSQL an unassignment racing with this transaction
                // waits for it (or this one sees the row gone): a page is
                // never left enabled without its owner's license.
                .lock_shared(),
        )
        .await?;
    Ok(found.is_some())
}

async fn load_page(tx: &mut Tx, account_id: &str, page_id: &str) -> Result<Option<PageRow>, DbError> {
    tx.fetch_optional(
        Query::select()
            .columns(["id", "owner_user_id", "title", "theme", "enabled", "weekly_hours"])
            .from("booking_pages")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(page_id)),
    )
    .await
}

async fn editors_of(tx: &mut Tx, account_id: &str, page_id: &str) -> Result<Vec<EditorRow>, DbError> {
    tx.fetch_all(
        Query::select()
            .columns(["user_id", "notify_email", "notify_sms"])
            .from("booking_page_editors")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("page_id").eq(page_id))
            .order_by("user_id", Order::Asc),
    )
    .await
}

async fn view(tx: &mut Tx, account_id: &str, page: PageRow) -> Result<PageView, DbError> {
    let editors = editors_of(tx, account_id, &page.id).await?;
    let overrides: Vec<OverrideRow> = tx
        .fetch_all(
            Query::select()
                .columns(["day", "hours"])
                .from("booking_page_overrides")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("page_id").eq(page.id.as_str()))
                .order_by("day", Order::Asc),
        )
        .await?;
    Ok(PageView {
        id: page.id,
        owner_user_id: page.owner_user_id,
        title: page.title,
        theme: page.theme,
        enabled: page.enabled != 0,
        weekly_hours: serde_json::from_str(&page.weekly_hours).unwrap_or_default(),
        overrides: overrides
            .into_iter()
            .map(|o| (o.day, serde_json::from_str(&o.hours).unwrap_or_default()))
            .collect(),
        editors: editors
            .into_iter()
            .map(|e| Editor {
                user_id: e.user_id,
                notify_email: e.notify_email != 0,
                notify_sms: e.notify_sms != 0,
            })
            .collect(),
    })
}

/// What the caller may do with a page.
struct Access {
    see: bool,
    edit: bool,
    edit_hours: bool,
    manage: bool,
}

async fn access(tx: &mut Tx, principal: &Principal, page: &PageRow) -> Result<Access, DbError> {
    let admin = principal.administers(AdminArea::UsersLicenses);
    let owner = page.owner_user_id == principal.user_id;
    let editor =
        editors_of(tx, &principal.account_id, &page.id).await?.iter().any(|e| e.user_id == principal.user_id);
    let assistant = crate::app::privileges::has_privilege(
        tx,
        &principal.account_id,
        &principal.user_id,
        &page.owner_user_id,
    )
    .await?;
    Ok(Access {
        see: admin || owner || editor || assistant,
        edit: admin || owner || editor,
        edit_hours: admin || owner || editor || assistant,
        manage: admin || owner,
    })
}

/// Loads a page the caller may see, or says it is not found.
async fn page_for(tx: &mut Tx, principal: &Principal, id: &str) -> Result<(PageRow, Access), ApiError> {
    let not_found = || ApiError::NotFound(format!("no booking page {id:?} in your account"));
    let page = load_page(tx, &principal.account_id, id).await?.ok_or_else(not_found)?;
    let access = access(tx, principal, &page).await?;
    if !access.see {
        return Err(not_found());
    }
    Ok((page, access))
}

fn no_license(owner: &str) -> ApiError {
    ApiError::Conflict {
        message: format!(
            "the page's owner ({owner}) holds no scheduled_meetings license: assign one to them, or transfer the page"
        ),
        field: None,
    }
}

async fn set_enabled(
    tx: &mut Tx,
    account_id: &str,
    page_id: &str,
    enabled: bool,
    now: i64,
) -> Result<(), DbError> {
    tx.execute(
        Query::update()
            .table("booking_pages")
            .value("enabled", i64::from(enabled))
            .value("updated_ms", now)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(page_id)),
    )
    .await?;
    Ok(())
}

/// A page as a list of someone's pages shows it.
#[derive(Debug, sqlx::FromRow)]
struct OwnedRow {
    id: String,
    title: String,
    enabled: i64,
}

/// One of the pages a user owns.
#[derive(Debug)]
pub struct OwnedPage {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Whether it takes bookings.
    pub enabled: bool,
}

impl From<OwnedRow> for OwnedPage {
    fn from(row: OwnedRow) -> Self {
        OwnedPage { id: row.id, title: row.title, enabled: row.enabled != 0 }
    }
}

/// The pages of `account_id` that `owner` owns, by id.
fn owned_query(account_id: &str, owner: &str) -> sea_query::SelectStatement {
    Query::select()
        .columns(["id", "title", "enabled"])
        .from("booking_pages")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("owner_user_id").eq(owner))
        .order_by("id", Order::Asc)
        .to_owned()
}

/// The pages `owner` owns (for a user administrator's pages about them).
pub async fn owned_by(
    db: &crate::store::Db,
    account_id: &str,
    owner: &str,
) -> Result<Vec<OwnedPage>, DbError> {
    let rows: Vec<OwnedRow> = db.fetch_all(&owned_query(account_id, owner)).await?;
    Ok(rows.into_iter().map(OwnedPage::from).collect())
}

/// Disables every enabled page `user_id` owns (their scheduled_meetings
/// license was taken back); returns the pages' ids. Runs in the caller's
/// transaction, so the pages are disabled exactly when the license goes.
pub async fn disable_pages_of(
    tx: &mut Tx,
    account_id: &str,
    actor: &str,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, DbError> {
    let rows: Vec<OwnedRow> = tx.fetch_all(&owned_query(account_id, user_id)).await?;
    let pages: Vec<OwnedRow> = rows.into_iter().filter(|p| p.enabled != 0).collect();
    for page in &pages {
        set_enabled(tx, account_id, &page.id, false, now).await?;
        crate::store::activities::record(
            tx,
            account_id,
            now,
            Some(actor),
            "booking_page.disabled",
            ("booking_page", &page.id),
            json!({"reason": "the owner's scheduled_meetings license was unassigned", "owner_user_id": user_id}),
        )
        .await?;
    }
    Ok(pages.into_iter().map(|p| p.id).collect())
}

/// The booking pages the caller may see.
#[utoipa::path(get, path = "/v1/booking-pages", tag = "booking pages", security(("token" = [])),
    responses((status = 200, body = [PageView]), (status = 401, body = ErrorBody)))]
pub async fn list_pages(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<PageView>>, ApiError> {
    let mut tx = state.db.begin().await?;
    let pages: Vec<PageRow> = tx
        .fetch_all(
            Query::select()
                .columns(["id", "owner_user_id", "title", "theme", "enabled", "weekly_hours"])
                .from("booking_pages")
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .order_by("created_ms", Order::Asc)
                .order_by("id", Order::Asc),
        )
        .await?;
    let mut views = Vec::new();
    for page in pages {
        if access(&mut tx, &principal, &page).await?.see {
            views.push(view(&mut tx, &principal.account_id, page).await?);
        }
    }
    tx.commit().await?;
    Ok(Json(views))
}

/// One booking page.
#[utoipa::path(get, path = "/v1/booking-pages/{id}", tag = "booking pages", security(("token" = [])),
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody)))]
pub async fn get_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    let mut tx = state.db.begin().await?;
    let (page, _) = page_for(&mut tx, &principal, &id).await?;
    let view = view(&mut tx, &principal.account_id, page).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Creates a booking page (owned by the caller, or by anyone for user administrators).
#[utoipa::path(post, path = "/v1/booking-pages", tag = "booking pages", security(("token" = [])),
    request_body = NewPage,
    responses((status = 201, body = PageView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_page(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewPage>,
) -> Result<(StatusCode, Json<PageView>), ApiError> {
    let title = check_title(&new.title)?;
    let theme = check_theme(new.theme.as_deref().unwrap_or("default"))?;
    let weekly_hours = normalize_week(&new.weekly_hours)?;
    let owner = new.owner_user_id.unwrap_or_else(|| principal.user_id.to_string());
    if owner != principal.user_id && !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::Forbidden("only a user administrator creates pages for someone else".into()));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if crate::store::users::get(&mut tx, &principal.account_id, &owner).await?.is_none() {
        return Err(invalid(format!("no user {owner:?} in your account"), "owner_user_id"));
    }
    if new.enabled
        && !holds_license(&mut tx, &principal.account_id, &owner, LicenseKind::ScheduledMeetings).await?
    {
        return Err(no_license(&owner));
    }
    let id = new_id("bpg");
    tx.execute(
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
                id.clone().into(),
                principal.account_id.to_string().into(),
                owner.clone().into(),
                title.into(),
                theme.into(),
                i64::from(new.enabled).into(),
                weekly_hours.into(),
                now.into(),
                now.into(),
            ]),
    )
    .await?;
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "booking_page.created",
        ("booking_page", &id),
        json!({"owner_user_id": owner, "enabled": new.enabled}),
    )
    .await?;
    let page = load_page(&mut tx, &principal.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
    let view = view(&mut tx, &principal.account_id, page).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Changes a page's title, theme, weekly hours or date-specific hours.
#[utoipa::path(patch, path = "/v1/booking-pages/{id}", tag = "booking pages", security(("token" = [])),
    request_body = PageChanges,
    responses((status = 200, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(changes): Body<PageChanges>,
) -> Result<Json<PageView>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (mut page, access) = page_for(&mut tx, &principal, &id).await?;
    let settings_change = changes.title.is_some() || changes.theme.is_some();
    if (settings_change && !access.edit) || !access.edit_hours {
        return Err(ApiError::Forbidden("you may change this page's availability only".into()));
    }
    if let Some(title) = &changes.title {
        page.title = check_title(title)?;
    }
    if let Some(theme) = &changes.theme {
        page.theme = check_theme(theme)?;
    }
    if let Some(week) = &changes.weekly_hours {
        page.weekly_hours = normalize_week(week)?;
    }
    tx.execute(
        Query::update()
            .table("booking_pages")
            .value("title", page.title.clone())
            .value("theme", page.theme.clone())
            .value("weekly_hours", page.weekly_hours.clone())
            .value("updated_ms", now)
            .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
            .and_where(Expr::col("id").eq(id.as_str())),
    )
    .await?;
    for (day, hours) in changes.overrides.iter().flatten() {
        check_date(day).map_err(|e| invalid(e.0, "overrides"))?;
        tx.execute(
            Query::delete()
                .from_table("booking_page_overrides")
                .and_where(Expr::col("page_id").eq(id.as_str()))
                .and_where(Expr::col("day").eq(day.as_str())),
        )
        .await?;
        if let Some(hours) = hours {
            let hours = normalize_day(hours, "overrides")?;
            tx.execute(
                Query::insert()
                    .into_table("booking_page_overrides")
                    .columns(["account_id", "page_id", "day", "hours"])
                    .values_panic([
                        principal.account_id.to_string().into(),
                        id.clone().into(),
                        day.clone().into(),
                        serde_json::to_string(&hours).unwrap_or_else(|_| "[]".into()).into(),
                    ]),
            )
            .await?;
        }
    }
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "booking_page.updated",
        ("booking_page", &id),
        json!({"title": page.title}),
    )
    .await?;
    let view = view(&mut tx, &principal.account_id, page).await?;
    tx.commit().await?;
    Ok(Json(view))
}

async fn change_enabled(
    state: Services,
    principal: Principal,
    id: String,
    enable: bool,
) -> Result<Json<PageView>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (mut page, access) = page_for(&mut tx, &principal, &id).await?;
    if !access.manage {
        return Err(ApiError::Forbidden(
            "only the page's owner or a user administrator enables or disables it".into(),
        ));
    }
    if enable
        && !holds_license(&mut tx, &principal.account_id, &page.owner_user_id, LicenseKind::ScheduledMeetings)
            .await?
    {
        return Err(no_license(&page.owner_user_id));
    }
    set_enabled(&mut tx, &principal.account_id, &id, enable, now).await?;
    page.enabled = i64::from(enable);
    let action = if enable { "booking_page.enabled" } else { "booking_page.disabled" };
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        action,
        ("booking_page", &id),
        json!({}),
    )
    .await?;
    let view = view(&mut tx, &principal.account_id, page).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Enables a page: it takes bookings again, with all its settings (409 if its owner holds no license).
#[utoipa::path(post, path = "/v1/booking-pages/{id}/enable", tag = "booking pages", security(("token" = [])),
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn enable_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    change_enabled(state, principal, id, true).await
}

/// Disables a page; it keeps all its settings.
#[utoipa::path(post, path = "/v1/booking-pages/{id}/disable", tag = "booking pages", security(("token" = [])),
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody)))]
pub async fn disable_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    change_enabled(state, principal, id, false).await
}

/// Transfers a page to another owner (user administrators). An enabled page
/// whose new owner holds no scheduled_meetings license is disabled.
#[utoipa::path(post, path = "/v1/booking-pages/{id}/transfer", tag = "booking pages", security(("token" = [])),
    request_body = Transfer,
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transfer_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(transfer): Body<Transfer>,
) -> Result<Json<PageView>, ApiError> {
    if !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::Forbidden("only a user administrator transfers booking pages".into()));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (mut page, _) = page_for(&mut tx, &principal, &id).await?;
    let owner = transfer.owner_user_id;
    if crate::store::users::get(&mut tx, &principal.account_id, &owner).await?.is_none() {
        return Err(invalid(format!("no user {owner:?} in your account"), "owner_user_id"));
    }
    let keeps_enabled = page.enabled != 0
        && holds_license(&mut tx, &principal.account_id, &owner, LicenseKind::ScheduledMeetings).await?;
    tx.execute(
        Query::update()
            .table("booking_pages")
            .value("owner_user_id", owner.clone())
            .value("enabled", i64::from(keeps_enabled))
            .value("updated_ms", now)
            .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
            .and_where(Expr::col("id").eq(id.as_str())),
    )
    .await?;
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "booking_page.transferred",
        ("booking_page", &id),
        json!({"from": page.owner_user_id, "to": owner, "enabled": keeps_enabled}),
    )
    .await?;
    page.owner_user_id = owner;
    page.enabled = i64::from(keeps_enabled);
    let view = view(&mut tx, &principal.account_id, page).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Replaces a page's editors (owner or user administrators).
#[utoipa::path(put, path = "/v1/booking-pages/{id}/editors", tag = "booking pages", security(("token" = [])),
    request_body = Editors,
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_editors(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(body): Body<Editors>,
) -> Result<Json<PageView>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (page, access) = page_for(&mut tx, &principal, &id).await?;
    if !access.manage {
        return Err(ApiError::Forbidden(
            "only the page's owner or a user administrator sets its editors".into(),
        ));
    }
    tx.execute(
        Query::delete()
            .from_table("booking_page_editors")
            .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
            .and_where(Expr::col("page_id").eq(id.as_str())),
    )
    .await?;
    let mut seen = std::collections::BTreeSet::new();
    for editor in &body.editors {
        if !seen.insert(editor.user_id.clone()) {
            return Err(invalid(format!("{:?} is listed twice", editor.user_id), "editors"));
        }
        if crate::store::users::get(&mut tx, &principal.account_id, &editor.user_id).await?.is_none() {
            return Err(invalid(format!("no user {:?} in your account", editor.user_id), "editors"));
        }
        tx.execute(
            Query::insert()
                .into_table("booking_page_editors")
                .columns(["account_id", "page_id", "user_id", "notify_email", "notify_sms"])
                .values_panic([
                    principal.account_id.to_string().into(),
                    id.clone().into(),
                    editor.user_id.clone().into(),
                    i64::from(editor.notify_email).into(),
                    i64::from(editor.notify_sms).into(),
                ]),
        )
        .await?;
    }
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "booking_page.editors_set",
        ("booking_page", &id),
        json!({"editors": body.editors.iter().map(|e| e.user_id.clone()).collect::<Vec<_>>()}),
    )
    .await?;
    let view = view(&mut tx, &principal.account_id, page).await?;
    tx.commit().await?;
    Ok(Json(view))
}
