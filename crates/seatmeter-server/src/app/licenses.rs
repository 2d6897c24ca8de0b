//! License pools and assignment.
//!
//! Each account has a pool per kind: installed, assigned, free. Assigning
//! takes a license with one conditional update inside the transaction that
//! records the assignment (see [`crate::store::licenses`]), so however
//! many requests race on however many servers, a pool is never
//! over-assigned. Host licenses are not assigned: they are metered by the
//! meetings a user hosts.

use seatmeter_core::people::LicenseKind;
use serde_json::json;

use super::{Capability, Error, Principal, Result, Services};
use crate::store::users::UserRow;
use crate::store::{self, Db, DbError, Executor, OnDuplicate};

/// A license pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// The license kind.
    pub kind: LicenseKind,
    /// Licenses installed (permanent plus unexpired temporary).
    pub installed: i64,
    /// Licenses assigned to users (always 0 for host licenses).
    pub assigned: i64,
    /// Licenses free to assign.
    pub free: i64,
}

/// Every pool of `account_id`, one per kind (0 installed where none are).
pub async fn account_pools(ex: impl Executor, account_id: &str) -> Result<Vec<Pool>, DbError> {
    let rows = store::licenses::pools(ex, account_id).await?;
    Ok(LicenseKind::ALL
        .iter()
        .map(|&kind| {
            let row = rows.iter().find(|r| r.kind == kind.as_str());
            let (installed, assigned) = row.map_or((0, 0), |r| (r.installed, r.assigned));
            Pool { kind, installed, assigned, free: Ord::max(installed - assigned, 0) }
        })
        .collect())
}

/// The caller's account's license pools.
pub async fn pools(services: &Services, principal: &Principal) -> Result<Vec<Pool>> {
    Ok(account_pools(&services.db, &principal.account_id).await?)
}

/// The license kind named `kind`.
pub fn parse_kind(kind: &str) -> Result<LicenseKind> {
    LicenseKind::parse(kind).ok_or_else(|| {
        let all: Vec<&str> = LicenseKind::ALL.iter().map(|k| k.as_str()).collect();
        Error::not_found(format!("no license kind {kind:?}: use one of {}", all.join(", ")))
    })
}

/// Sets how many licenses of `kind` are installed in `account_id`, refusing
/// fewer than are assigned. (Until license files are installed, this is how
/// an operator sets pool sizes: `seatmeter licenses set`.)
pub async fn set_installed(
    db: &Db,
    account_id: &str,
    kind: LicenseKind,
    installed: i64,
    now: i64,
) -> Result<()> {
    if installed < 0 {
        return Err(Error::conflict("installed licenses cannot be negative", None));
    }
    let mut tx = db.begin().await?;
    store::licenses::create_pool(&mut tx, account_id, kind.as_str()).await?;
    if !store::licenses::set_installed(&mut tx, account_id, kind.as_str(), installed).await? {
        return Err(Error::conflict(
            format!("more {} licenses are assigned than {installed}: unassign some first", kind.as_str()),
            Some("installed"),
        ));
    }
    store::activities::record(
        &mut tx,
        account_id,
        now,
        None,
        "licenses.installed",
        ("license_pool", kind.as_str()),
        json!({"installed": installed}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A license assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The license kind.
    pub kind: LicenseKind,
    /// The user holding it.
    pub user_id: String,
}

/// Assigns a license of `kind` to user `user_id` (administrators of users
/// & licenses); a conflict when none is free or the user already holds one.
pub async fn assign(
    services: &Services,
    principal: &Principal,
    kind: &str,
    user_id: &str,
    now: i64,
) -> Result<Assignment> {
    let kind = parse_kind(kind)?;
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden("assigning licenses needs an administrator of users & licenses"));
    }
    if !kind.is_assigned() {
        return Err(Error::Invalid {
            message: "host licenses are metered by usage, not assigned".into(),
            field: None,
        });
    }
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    match store::users::get(&mut tx, account, user_id).await? {
        None => return Err(Error::not_found(format!("no user {user_id:?} in your account"))),
        Some(u) if u.disabled_ms.is_some() => {
            return Err(Error::conflict("the user is disabled", Some("user_id")));
        }
        Some(_) => {}
    }
    let by = Some(principal.user_id.as_str());
    store::licenses::insert_assignment(&mut tx, account, kind.as_str(), user_id, by, now)
        .await
        .on_duplicate(|| {
            Error::conflict(format!("the user already holds a {} license", kind.as_str()), Some("user_id"))
        })?;
    if !store::licenses::take(&mut tx, account, kind.as_str()).await? {
        return Err(Error::conflict(
            format!("no {} license is free: unassign one from another user, or install more", kind.as_str()),
            None,
        ));
    }
    store::activities::record(
        &mut tx,
        account,
        now,
        Some(&principal.user_id),
        "license.assigned",
        ("user", user_id),
        json!({"kind": kind.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Assignment { kind, user_id: user_id.to_string() })
}

/// What unassigning did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unassigned {
    /// The license kind.
    pub kind: LicenseKind,
    /// The user who held it.
    pub user_id: String,
    /// The booking pages the user owns that were disabled with it (scheduled_meetings only).
    pub disabled_booking_pages: Vec<String>,
}

/// Takes a license of `kind` back from user `user_id` (administrators of
/// users & licenses). Taking a scheduled_meetings license disables, in the
/// same transaction, every booking page the user owns.
pub async fn unassign(
    services: &Services,
    principal: &Principal,
    kind: &str,
    user_id: &str,
    now: i64,
) -> Result<Unassigned> {
    let kind = parse_kind(kind)?;
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden("unassigning licenses needs an administrator of users & licenses"));
    }
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    if !store::licenses::delete_assignment(&mut tx, account, kind.as_str(), user_id).await? {
        return Err(Error::not_found(format!("user {user_id:?} holds no {} license", kind.as_str())));
    }
    store::licenses::give_back(&mut tx, account, kind.as_str()).await?;
    store::activities::record(
        &mut tx,
        account,
        now,
        Some(&principal.user_id),
        "license.unassigned",
        ("user", user_id),
        json!({"kind": kind.as_str()}),
    )
    .await?;
    let disabled_booking_pages = if kind == LicenseKind::ScheduledMeetings {
        crate::app::booking::disable_pages_of(&mut tx, account, &principal.user_id, user_id, now).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(Unassigned { kind, user_id: user_id.to_string(), disabled_booking_pages })
}

/// What unassigning a license would do: whose it is, and the booking pages
/// it would disable.
#[derive(Debug)]
pub struct UnassignPreview {
    /// The user holding the license.
    pub user: UserRow,
    /// The enabled booking pages the user owns that unassigning would
    /// disable (scheduled_meetings only).
    pub pages: Vec<crate::app::booking::OwnedPage>,
}

/// Before unassigning a license of `kind` from user `user_id`: which
/// booking pages it will disable (administrators of users & licenses).
pub async fn preview_unassign(
    services: &Services,
    principal: &Principal,
    kind: LicenseKind,
    user_id: &str,
) -> Result<UnassignPreview> {
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden("unassigning licenses needs an administrator of users & licenses"));
    }
    let user = store::users::get(&services.db, &principal.account_id, user_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no user {user_id:?} in your account")))?;
    let pages = if kind == LicenseKind::ScheduledMeetings {
        let mut pages = crate::app::booking::owned_by(services, &principal.account_id, user_id).await?;
        pages.retain(|p| p.enabled);
        pages
    } else {
        Vec::new()
    };
    Ok(UnassignPreview { user, pages })
}

/// The license assignments of the caller's account: (user, kind), by user.
/// (One user's: [`held_by`].)
pub async fn assignments(services: &Services, principal: &Principal) -> Result<Vec<(String, String)>> {
    let rows = store::licenses::assignments(&services.db, &principal.account_id, None).await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.kind)).collect())
}

/// A holder of a license, for the list of a kind's assignments.
#[derive(Clone, Debug)]
pub struct Holder {
    /// The user holding it.
    pub user: UserRow,
    /// When it was assigned.
    pub assigned_ms: i64,
    /// Who assigned it, when that was recorded.
    pub assigned_by: Option<String>,
}

/// A page of a kind's holders.
#[derive(Clone, Debug)]
pub struct Holders {
    /// The holders, oldest assignment first.
    pub items: Vec<Holder>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Most holders on one page.
pub const MAX_HOLDERS_PAGE: u64 = 1000;

/// The holders of a `kind` license in the caller's account (administrators
/// of users & licenses, who see the users), oldest assignment first: `limit`
/// of them (default 100, at most 1,000) after `cursor` (the `next_cursor`
/// of the page before).
pub async fn holders(
    services: &Services,
    principal: &Principal,
    kind: &str,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> Result<Holders> {
    let kind = parse_kind(kind)?;
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden(
            "listing who holds licenses needs an administrator of users & licenses",
        ));
    }
    if !kind.is_assigned() {
        return Err(Error::invalid("host licenses are metered by usage, not assigned", "kind"));
    }
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_HOLDERS_PAGE).contains(&limit) {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_HOLDERS_PAGE}"), "limit"));
    }
    let after = match cursor {
        None => None,
        Some(cursor) => Some(
            super::parse_cursor(cursor, "usr")
                .ok_or_else(|| Error::invalid("the cursor is not one this server gave", "cursor"))?,
        ),
    };
    let account = principal.account_id.as_str();
    let rows = store::licenses::holders(
        &services.db,
        account,
        kind.as_str(),
        after.as_ref().map(|(ms, user)| (*ms, user.as_str())),
        limit + 1,
    )
    .await?;
    let more = rows.len() as u64 > limit;
    let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    let mut users: std::collections::HashMap<String, UserRow> =
        store::users::of_account(&services.db, account, Some(&ids))
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
    let next_cursor = more.then(|| rows.last().map(|r| format!("{}.{}", r.assigned_ms, r.user_id))).flatten();
    let items = rows
        .into_iter()
        .filter_map(|r| {
            users.remove(&r.user_id).map(|user| Holder {
                user,
                assigned_ms: r.assigned_ms,
                assigned_by: r.assigned_by,
            })
        })
        .collect();
    Ok(Holders { items, next_cursor })
}

/// The kinds of license `user` holds (a user the caller was allowed to read).
pub async fn held_by(services: &Services, user: &UserRow) -> Result<Vec<LicenseKind>> {
    let rows = store::licenses::assignments(&services.db, &user.account_id, Some(&user.id)).await?;
    Ok(rows.iter().filter_map(|r| LicenseKind::parse(&r.kind)).collect())
}
