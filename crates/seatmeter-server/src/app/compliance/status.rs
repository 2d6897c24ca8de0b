//! The account's compliance as administrators see it: every condition with
//! its dates, the banners to show at the top of every page, the trial,
//! temporary licenses, the audits and the synchronisation. Evaluated at
//! `now` from what is stored, writing nothing: notices are sent, and the
//! disabled state set, by the daily audit and by installing licenses.

use seatmeter_core::compliance::{self as engine, Condition};

use super::evaluate::{checks, current_files, facts};
use super::{date_text, disabled_message, new_row};
use crate::app::{Capability, Error, Principal, Result, Services};
use crate::store;

/// Synchronisation with the license authority, once a PAK is registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncState {
    /// The PAK registered.
    pub pak: String,
    /// The last successful synchronisation.
    pub last_sync_ms: Option<i64>,
    /// The last attempt.
    pub last_attempt_ms: Option<i64>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// The next attempt.
    pub next_sync_ms: Option<i64>,
}

/// The account's compliance at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compliance {
    /// When this was evaluated.
    pub now: i64,
    /// The engine's status: conditions in force, why disabled, the trial, temporary licenses.
    pub status: engine::Status,
    /// What its users are told while it is disabled.
    pub disabled_reason: Option<String>,
    /// What an administrator should see at the top of every page.
    pub banners: Vec<String>,
    /// The last daily audit.
    pub last_audit_ms: Option<i64>,
    /// The next daily audit (02:00 in the account's time zone).
    pub next_audit_ms: i64,
    /// Synchronisation with the license authority, once a PAK is registered.
    pub sync: Option<SyncState>,
    /// The product's major version, which licenses must cover.
    pub product_major: u64,
}

/// The banners of `status`; `hosts` are the hosts counted and the licenses
/// installed at the last check of an overage.
fn banners(status: &engine::Status, hosts: Option<(u64, u64)>) -> Vec<String> {
    let mut banners = Vec::new();
    for active in &status.active {
        let date = date_text(active.disable_ms);
        banners.push(match (active.condition, active.disabling) {
            (Condition::Trial, false) => format!(
                "Free trial: {} days left (until {date}). Install licenses before then.",
                status.trial_days_left.unwrap_or(0)
            ),
            (Condition::Trial, true) => "The free trial has ended: the system is disabled until licenses are installed.".into(),
            (Condition::Overage, false) => {
                let (used, installed) = hosts.unwrap_or((0, 0));
                format!("License overage: {used} host licenses used, {installed} installed. The system will be disabled on {date} unless more are installed.")
            }
            (Condition::Overage, true) => "Disabled after six months of license overage: install more host licenses.".into(),
            (Condition::OutOfDate, false) => format!("Licenses out of date for this product version: update them by {date}."),
            (Condition::OutOfDate, true) => "Disabled: the licenses do not cover this product version. Install updated licenses.".into(),
            (Condition::ContactLost, false) => format!("The license authority cannot be reached: the system will be disabled on {date} unless it synchronises."),
            (Condition::ContactLost, true) => "Disabled: no contact with the license authority for six months.".into(),
        });
    }
    for t in &status.temporary {
        banners.push(format!(
            "Temporary licenses: {} {} licenses, expiring {}.",
            t.count,
            t.kind.as_str(),
            date_text(t.expires_ms)
        ));
    }
    banners
}

/// The caller's account's compliance at `now` (administrators only).
pub async fn status(services: &Services, principal: &Principal, now: i64) -> Result<Compliance> {
    if !principal.may(Capability::SeeCompliance) {
        return Err(Error::forbidden("compliance is shown to administrators"));
    }
    let account_id = principal.account_id.as_str();
    let row = match store::compliance::get(&services.db, account_id).await? {
        Some(row) => row,
        // An account from a version without compliance, until the audit job
        // gives it its row: what that row will hold.
        None => {
            let account = store::accounts::get(&services.db, account_id)
                .await?
                .ok_or_else(|| Error::not_found("the account no longer exists"))?;
            new_row(account.created_ms, &account.time_zone, now)
        }
    };
    let checks = checks(services, account_id, row.trial_started_ms, now).await?;
    let files = current_files(&services.db, account_id).await?;
    let (facts, _) = facts(services, &row, &files, checks, now);
    let done = engine::audit(&facts, &store::compliance::read_ledger(&row.ledger), now);
    let hosts = done.ledger.overage.map(|o| (o.hosts, o.installed));
    Ok(Compliance {
        now,
        banners: banners(&done.status, hosts),
        disabled_reason: done.status.disabled.map(disabled_message),
        status: done.status,
        last_audit_ms: row.last_audit_ms,
        next_audit_ms: row.next_audit_ms,
        sync: row.sync_pak.map(|pak| SyncState {
            pak,
            last_sync_ms: row.last_sync_ms,
            last_attempt_ms: row.last_sync_attempt_ms,
            last_error: row.last_sync_error,
            next_sync_ms: row.next_sync_ms,
        }),
        product_major: services.licensing.product_major,
    })
}
