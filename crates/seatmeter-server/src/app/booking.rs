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
//! - enable, disable, set editors: owner and user administrators (see
//!   [`manages`]);
//! - transfer ownership: user administrators.
//!
//! A page of another account, or one the caller may not see, is "not found".

use std::collections::{BTreeMap, BTreeSet};

use seatmeter_core::availability::{TimeRange, WEEKDAYS, check_date, parse_day};
use seatmeter_core::people::LicenseKind;
use serde_json::json;

use super::{Capability, Error, Principal, Result, Services};
use crate::secrets::new_id;
use crate::store::booking_pages::{EditorRow, OwnedRow, PageRow};
use crate::store::{self, DbError, Tx};

/// Hours of a day: `[["09:00", "12:00"], ["13:00", "17:00"]]`.
pub type DayHours = Vec<[String; 2]>;

/// An editor of a booking page and the notifications they subscribe to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Editor {
    /// The editor.
    pub user_id: String,
    /// E-mail notifications of bookings through the page.
    pub notify_email: bool,
    /// SMS notifications of bookings through the page.
    pub notify_sms: bool,
}

/// A booking page with its availability and editors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
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
    pub weekly_hours: BTreeMap<String, DayHours>,
    /// Date-specific hours, replacing the weekly hours on those dates (empty: unavailable).
    pub overrides: BTreeMap<String, DayHours>,
    /// Its editors.
    pub editors: Vec<Editor>,
}

/// A booking page to create.
#[derive(Clone, Debug, Default)]
pub struct NewPage {
    /// Title (1 to 200 characters).
    pub title: String,
    /// Owner; by default the caller (user administrators may name anyone of the account).
    pub owner_user_id: Option<String>,
    /// Theme name (by default `default`).
    pub theme: Option<String>,
    /// Weekly hours.
    pub weekly_hours: BTreeMap<String, DayHours>,
    /// Enable it at once (its owner must hold a scheduled_meetings license).
    pub enabled: bool,
}

/// Changes to a page's settings; what is left out stays.
#[derive(Clone, Debug, Default)]
pub struct PageChanges {
    /// New title.
    pub title: Option<String>,
    /// New theme.
    pub theme: Option<String>,
    /// New weekly hours (replacing all of them).
    pub weekly_hours: Option<BTreeMap<String, DayHours>>,
    /// Date-specific hours to set; `None` removes a date's own hours.
    pub overrides: Option<BTreeMap<String, Option<DayHours>>>,
}

/// One of the pages a user owns.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Whether `principal` enables, disables and sets the editors of a page
/// owned by `owner_user_id`: its owner, or an administrator of users &
/// licenses. (The console offers those forms to exactly these users.)
pub fn manages(principal: &Principal, owner_user_id: &str) -> bool {
    principal.may(Capability::ManageUsers) || owner_user_id == principal.user_id.as_str()
}

fn check_title(title: &str) -> Result<String> {
    super::text::checked(title, 200)
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(format!("the title must be {}", super::text::rule(200)), "title"))
}

fn check_theme(theme: &str) -> Result<String> {
    super::text::checked(theme, 100)
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(format!("the theme must be {}", super::text::rule(100)), "theme"))
}

/// A day's hours, checked, in order and written alike (`9:00` as `09:00`).
fn normalize_day(hours: &DayHours, field: &str) -> Result<DayHours> {
    let pairs: Vec<(String, String)> = hours.iter().map(|[a, b]| (a.clone(), b.clone())).collect();
    let ranges = parse_day(&pairs).map_err(|e| Error::invalid(e.0, field))?;
    Ok(ranges.iter().map(|r| [TimeRange::format_minute(r.start), TimeRange::format_minute(r.end)]).collect())
}

/// A week's hours, checked and normalised, as stored (JSON).
fn normalize_week(week: &BTreeMap<String, DayHours>) -> Result<String> {
    let mut normalized = BTreeMap::new();
    for (day, hours) in week {
        if !WEEKDAYS.contains(&day.as_str()) {
            return Err(Error::invalid(
                format!("unknown day {day:?}: use {}", WEEKDAYS.join(", ")),
                "weekly_hours",
            ));
        }
        normalized.insert(day.clone(), normalize_day(hours, "weekly_hours")?);
    }
    Ok(serde_json::to_string(&normalized).unwrap_or_else(|_| "{}".into()))
}

/// What the caller may do with a page.
struct Access {
    see: bool,
    edit: bool,
    edit_hours: bool,
    manage: bool,
}

async fn access(tx: &mut Tx, principal: &Principal, page: &PageRow) -> Result<Access, DbError> {
    let admin = principal.may(Capability::ManageUsers);
    let owner = page.owner_user_id == principal.user_id.as_str();
    let editor = store::booking_pages::editors(&mut *tx, &principal.account_id, &page.id)
        .await?
        .iter()
        .any(|e| e.user_id == principal.user_id.as_str());
    let assistant = crate::app::privileges::has_privilege(
        &mut *tx,
        &principal.account_id,
        &principal.user_id,
        &page.owner_user_id,
    )
    .await?;
    Ok(Access {
        see: admin || owner || editor || assistant,
        edit: admin || owner || editor,
        edit_hours: admin || owner || editor || assistant,
        manage: manages(principal, &page.owner_user_id),
    })
}

/// Loads a page the caller may see, or says it is not found.
async fn page_for(tx: &mut Tx, principal: &Principal, id: &str) -> Result<(PageRow, Access)> {
    let not_found = || Error::not_found(format!("no booking page {id:?} in your account"));
    let page = store::booking_pages::get(&mut *tx, &principal.account_id, id).await?.ok_or_else(not_found)?;
    let access = access(tx, principal, &page).await?;
    if !access.see {
        return Err(not_found());
    }
    Ok((page, access))
}

/// `page` with its editors and date-specific hours.
async fn complete(tx: &mut Tx, account_id: &str, page: PageRow) -> Result<Page, DbError> {
    let editors = store::booking_pages::editors(&mut *tx, account_id, &page.id).await?;
    let overrides = store::booking_pages::overrides(&mut *tx, account_id, &page.id).await?;
    Ok(Page {
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

fn no_license(owner: &str) -> Error {
    Error::conflict(
        format!(
            "the page's owner ({owner}) holds no scheduled_meetings license: assign one to them, or transfer the page"
        ),
        None,
    )
}

/// Whether `owner` holds the license an enabled page needs.
async fn licensed(tx: &mut Tx, account_id: &str, owner: &str) -> Result<bool, DbError> {
    store::booking_pages::owner_holds_license(tx, account_id, owner, LicenseKind::ScheduledMeetings).await
}

/// Records `action` on the page `page_id` by the caller.
async fn record(
    tx: &mut Tx,
    principal: &Principal,
    now: i64,
    action: &str,
    page_id: &str,
    details: serde_json::Value,
) -> Result<(), DbError> {
    crate::app::record_by(tx, principal, now, action, ("booking_page", page_id), details).await
}

/// The booking pages the caller may see, oldest first.
pub async fn list(services: &Services, principal: &Principal) -> Result<Vec<Page>> {
    let mut tx = services.db.begin().await?;
    let pages = store::booking_pages::list(&mut tx, &principal.account_id).await?;
    let mut seen = Vec::new();
    for page in pages {
        if access(&mut tx, principal, &page).await?.see {
            seen.push(complete(&mut tx, &principal.account_id, page).await?);
        }
    }
    tx.commit().await?;
    Ok(seen)
}

/// The booking page `id`, if the caller may see it.
pub async fn get(services: &Services, principal: &Principal, id: &str) -> Result<Page> {
    let mut tx = services.db.begin().await?;
    let (page, _) = page_for(&mut tx, principal, id).await?;
    let page = complete(&mut tx, &principal.account_id, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Creates a booking page, owned by the caller or (for user
/// administrators) by anyone of the account.
pub async fn create(services: &Services, principal: &Principal, new: NewPage, now: i64) -> Result<Page> {
    let title = check_title(&new.title)?;
    let theme = check_theme(new.theme.as_deref().unwrap_or("default"))?;
    let weekly_hours = normalize_week(&new.weekly_hours)?;
    let owner = new.owner_user_id.unwrap_or_else(|| principal.user_id.to_string());
    if owner != principal.user_id.as_str() && !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden("only a user administrator creates pages for someone else"));
    }
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    if store::users::get(&mut tx, account, &owner).await?.is_none() {
        return Err(Error::not_found(format!("no user {owner:?} in your account")));
    }
    if new.enabled && !licensed(&mut tx, account, &owner).await? {
        return Err(no_license(&owner));
    }
    let page = PageRow {
        id: new_id("bpg"),
        owner_user_id: owner,
        title,
        theme,
        enabled: i64::from(new.enabled),
        weekly_hours,
    };
    store::booking_pages::insert(&mut tx, account, &page, now).await?;
    let details = json!({"owner_user_id": page.owner_user_id, "enabled": new.enabled});
    record(&mut tx, principal, now, "booking_page.created", &page.id, details).await?;
    let page = complete(&mut tx, account, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Changes a page's title, theme, weekly hours or date-specific hours.
/// The owner's assistants may change its availability only.
pub async fn update(
    services: &Services,
    principal: &Principal,
    id: &str,
    changes: PageChanges,
    now: i64,
) -> Result<Page> {
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let (mut page, access) = page_for(&mut tx, principal, id).await?;
    let settings_change = changes.title.is_some() || changes.theme.is_some();
    if (settings_change && !access.edit) || !access.edit_hours {
        return Err(Error::forbidden("you may change this page's availability only"));
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
    store::booking_pages::update_settings(&mut tx, account, &page, now).await?;
    for (day, hours) in changes.overrides.iter().flatten() {
        check_date(day).map_err(|e| Error::invalid(e.0, "overrides"))?;
        let hours = match hours {
            Some(hours) => {
                let hours = normalize_day(hours, "overrides")?;
                Some(serde_json::to_string(&hours).unwrap_or_else(|_| "[]".into()))
            }
            None => None,
        };
        store::booking_pages::set_override(&mut tx, account, id, day, hours.as_deref()).await?;
    }
    record(&mut tx, principal, now, "booking_page.updated", id, json!({"title": page.title})).await?;
    let page = complete(&mut tx, account, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Enables a page: it takes bookings again, with all its settings (a
/// conflict if its owner holds no scheduled_meetings license).
pub async fn enable(services: &Services, principal: &Principal, id: &str, now: i64) -> Result<Page> {
    change_enabled(services, principal, id, true, now).await
}

/// Disables a page; it keeps all its settings.
pub async fn disable(services: &Services, principal: &Principal, id: &str, now: i64) -> Result<Page> {
    change_enabled(services, principal, id, false, now).await
}

async fn change_enabled(
    services: &Services,
    principal: &Principal,
    id: &str,
    enable: bool,
    now: i64,
) -> Result<Page> {
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let (mut page, access) = page_for(&mut tx, principal, id).await?;
    if !access.manage {
        return Err(Error::forbidden("only the page's owner or a user administrator enables or disables it"));
    }
    if enable && !licensed(&mut tx, account, &page.owner_user_id).await? {
        return Err(no_license(&page.owner_user_id));
    }
    store::booking_pages::set_enabled(&mut tx, account, id, enable, now).await?;
    page.enabled = i64::from(enable);
    let action = if enable { "booking_page.enabled" } else { "booking_page.disabled" };
    record(&mut tx, principal, now, action, id, json!({})).await?;
    let page = complete(&mut tx, account, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Transfers a page to `owner` (user administrators). An enabled page
/// whose new owner holds no scheduled_meetings license is disabled.
pub async fn transfer(
    services: &Services,
    principal: &Principal,
    id: &str,
    owner: &str,
    now: i64,
) -> Result<Page> {
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden("only a user administrator transfers booking pages"));
    }
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let (mut page, _) = page_for(&mut tx, principal, id).await?;
    if store::users::get(&mut tx, account, owner).await?.is_none() {
        return Err(Error::not_found(format!("no user {owner:?} in your account")));
    }
    let keeps_enabled = page.enabled != 0 && licensed(&mut tx, account, owner).await?;
    store::booking_pages::set_owner(&mut tx, account, id, owner, keeps_enabled, now).await?;
    let details = json!({"from": page.owner_user_id, "to": owner, "enabled": keeps_enabled});
    record(&mut tx, principal, now, "booking_page.transferred", id, details).await?;
    page.owner_user_id = owner.to_string();
    page.enabled = i64::from(keeps_enabled);
    let page = complete(&mut tx, account, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// Replaces a page's editors (its owner or user administrators); each
/// editor is a user of the account, listed once.
pub async fn set_editors(
    services: &Services,
    principal: &Principal,
    id: &str,
    editors: Vec<Editor>,
    now: i64,
) -> Result<Page> {
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let (page, access) = page_for(&mut tx, principal, id).await?;
    if !access.manage {
        return Err(Error::forbidden("only the page's owner or a user administrator sets its editors"));
    }
    let mut seen = BTreeSet::new();
    for editor in &editors {
        if !seen.insert(editor.user_id.as_str()) {
            return Err(Error::invalid(format!("{:?} is listed twice", editor.user_id), "editors"));
        }
        if store::users::get(&mut tx, account, &editor.user_id).await?.is_none() {
            return Err(Error::not_found(format!("no user {:?} in your account", editor.user_id)));
        }
    }
    let rows: Vec<EditorRow> = editors
        .iter()
        .map(|e| EditorRow {
            user_id: e.user_id.clone(),
            notify_email: i64::from(e.notify_email),
            notify_sms: i64::from(e.notify_sms),
        })
        .collect();
    store::booking_pages::replace_editors(&mut tx, account, id, &rows).await?;
    let details = json!({"editors": editors.iter().map(|e| e.user_id.clone()).collect::<Vec<_>>()});
    record(&mut tx, principal, now, "booking_page.editors_set", id, details).await?;
    let page = complete(&mut tx, account, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// The pages `owner` owns, by id (for a user administrator's pages about them).
pub async fn owned_by(services: &Services, account_id: &str, owner: &str) -> Result<Vec<OwnedPage>, DbError> {
    let rows = store::booking_pages::owned_by(&services.db, account_id, owner).await?;
    Ok(rows.into_iter().map(OwnedPage::from).collect())
}

/// Disables every enabled page `user_id` owns (their scheduled_meetings
/// license was taken back by `actor`); returns the pages' ids. Runs in the
/// caller's transaction, so the pages are disabled exactly when the license
/// goes.
pub async fn disable_pages_of(
    tx: &mut Tx,
    account_id: &str,
    actor: &str,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, DbError> {
    let owned = store::booking_pages::owned_by(&mut *tx, account_id, user_id).await?;
    let pages: Vec<OwnedRow> = owned.into_iter().filter(|p| p.enabled != 0).collect();
    for page in &pages {
        store::booking_pages::set_enabled(&mut *tx, account_id, &page.id, false, now).await?;
        store::activities::record(
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
