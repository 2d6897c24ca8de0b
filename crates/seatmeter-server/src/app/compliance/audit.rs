//! The daily audit: each account's at 02:00 in its time zone, claimed by
//! one server, evaluated and recorded in one transaction.

use seatmeter_core::compliance::Condition;
use serde_json::json;

use super::evaluate::{evaluate, prepare};
use super::schedule::{last_audit_at_or_before, next_audit_after};
use super::{open, rfc3339};
use crate::app::{Result, Services};
use crate::store::compliance::DueAudit;
use crate::store::{self, DbError};

/// Creates the compliance rows of accounts that have none (accounts from a
/// version that had no compliance): their trial began when they were
/// created, their first audit is at the next 02:00. How many.
pub async fn open_missing(services: &Services, now: i64) -> Result<usize, DbError> {
    let missing = store::compliance::accounts_without_row(&services.db).await?;
    for account_id in &missing {
        let mut tx = services.db.begin().await?;
        open(&mut tx, account_id, now).await?;
        tx.commit().await?;
    }
    Ok(missing.len())
}

/// Runs the audits that are due at `now`; returns how many this server ran.
pub async fn run_due(services: &Services, now: i64) -> Result<usize> {
    let due = store::compliance::due_audits(&services.db, now).await?;
    let mut ran = 0;
    for account in due {
        // One account's failure does not hold up the others' audits.
        match audit_one(services, &account, now).await {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::error!(account = %account.account_id, %error, "the audit failed; will try again");
            }
        }
    }
    Ok(ran)
}

/// Runs the due audit of one account, unless another server claimed it first.
async fn audit_one(services: &Services, due: &DueAudit, now: i64) -> Result<bool> {
    let account_id = due.account_id.as_str();
    let zone = store::accounts::get(&services.db, account_id)
        .await?
        .map_or_else(|| "UTC".to_string(), |a| a.time_zone);
    // The audit of the latest 02:00 due (one, however many were missed: the
    // engine applies every usage check since the last), evaluated now.
    let at = Ord::max(last_audit_at_or_before(&zone, now), due.next_audit_ms);
    let next = next_audit_after(&zone, now);
    let checks = prepare(services, account_id, now).await?;
    let mut tx = services.db.begin().await?;
    // Moving the next audit on claims this one: only one server can.
    if !store::compliance::claim_audit(&mut tx, due, next, at).await? {
        return Ok(false);
    }
    let done = evaluate(services, &mut tx, account_id, checks, now).await?;
    store::activities::record(
        &mut tx,
        account_id,
        now,
        None,
        "compliance.audited",
        ("account", account_id),
        json!({
            "at": rfc3339(at),
            "conditions": done.status.active.iter().map(|a| a.condition.as_str()).collect::<Vec<_>>(),
            "disabled": done.status.disabled.map(Condition::as_str),
            "notices": done.notices.len(),
            "server": services.licensing.server_id,
        }),
    )
    .await?;
    tx.commit().await?;
    services.kept.forget(crate::app::recent::ALL);
    Ok(true)
}
