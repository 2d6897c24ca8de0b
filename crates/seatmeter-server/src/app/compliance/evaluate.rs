//! Evaluating an account with the core's compliance engine: the facts
//! (grants of the current license files, the usage checks, the product
//! version, the synchronisation), then what the evaluation changes (the
//! ledger, the pools, the disabled state, the notices).

use seatmeter_core::compliance::{self as engine, Audit, Check, Facts, Grant, Sync};
use seatmeter_core::people::LicenseKind;
use serde_json::json;

use super::{disabled_message, notices, open};
use crate::app::{Result, Services};
use crate::license_file::LicenseBody;
use crate::store::compliance::ComplianceRow;
use crate::store::license_files::FileRow;
use crate::store::{self, DbError, Executor, Tx};

/// A current license file: the row, with `installed_ms` the time its PAK's
/// first file was installed, and what it grants.
pub(super) type CurrentFile = (FileRow, LicenseBody);

/// The current license file of each PAK, with `installed_ms` the time the
/// PAK's first file was installed: a newer file of a PAK continues its
/// licenses, it does not start them again.
pub(super) async fn current_files(ex: impl Executor, account_id: &str) -> Result<Vec<CurrentFile>, DbError> {
    let rows = store::license_files::oldest_first(ex, account_id).await?;
    let first = |pak: &str| rows.iter().filter(|r| r.pak == pak).map(|r| r.installed_ms).min();
    let mut current = Vec::new();
    for row in rows.iter().filter(|r| r.replaced_ms.is_none()) {
        match serde_json::from_str::<LicenseBody>(&row.body) {
            Ok(body) => {
                let installed_ms = first(&row.pak).unwrap_or(row.installed_ms);
                current.push((FileRow { installed_ms, ..row.clone() }, body));
            }
            Err(error) => {
                tracing::error!(account = account_id, license = %row.license_id, %error, "a stored license file cannot be read; it counts for nothing")
            }
        }
    }
    Ok(current)
}

/// An RFC 3339 time in a license file, in milliseconds.
pub(super) fn expiry_ms(text: &str) -> Option<i64> {
    seatmeter_core::time::parse_rfc3339(text.as_bytes()).ok().map(|t| t.0.div_euclid(1_000_000))
}

/// The grants of the current license files.
fn grants(files: &[CurrentFile]) -> Vec<Grant> {
    files
        .iter()
        .flat_map(|(row, body)| {
            body.licenses.iter().filter_map(|line| {
                Some(Grant {
                    kind: LicenseKind::parse(&line.kind)?,
                    count: line.count,
                    installed_ms: row.installed_ms,
                    // An expiry that cannot be read counts as past.
                    expires_ms: line.expires.as_deref().map(|e| expiry_ms(e).unwrap_or(i64::MIN)),
                })
            })
        })
        .collect()
}

/// Sets the pools' installed counts from the current license files (when
/// the account has any; otherwise the pools are left as set by hand in
/// development mode).
async fn recompute_pools(
    tx: &mut Tx,
    account_id: &str,
    files: &[CurrentFile],
    now: i64,
) -> Result<(), DbError> {
    if files.is_empty() {
        return Ok(());
    }
    let grants = grants(files);
    for kind in LicenseKind::ALL {
        let installed: u64 =
            grants.iter().filter(|g| g.kind == kind && g.in_force(now)).map(|g| g.count).sum();
        let installed = i64::try_from(installed).unwrap_or(i64::MAX);
        store::licenses::put_installed(&mut *tx, account_id, kind.as_str(), installed).await?;
    }
    Ok(())
}

/// The usage checks of every 30-day window ended by `now` since `since`,
/// from the account's one usage series (the one `GET /v1/usage` and the
/// dashboard show; it counts meetings past their maximum duration as ended
/// there, before the sweep ends them).
pub async fn checks(services: &Services, account_id: &str, since: i64, now: i64) -> Result<Vec<Check>> {
    let series = crate::app::usage::series(services, account_id, now).await?;
    let windows = series.measured_on();
    let ms = |nanos: i128| i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX);
    let mut checks = Vec::new();
    let mut k = windows.index_of(since.saturating_mul(1_000_000));
    while ms(windows.end(k)) <= now {
        checks.push(Check { at_ms: ms(windows.end(k)), hosts: series.used_in(k) });
        k += 1;
    }
    Ok(checks)
}

/// What a change that evaluates the account reads before its transaction:
/// the usage checks since the trial began.
pub(super) async fn prepare(services: &Services, account_id: &str, now: i64) -> Result<Vec<Check>> {
    let since = match store::compliance::get(&services.db, account_id).await? {
        Some(row) => row.trial_started_ms,
        None => store::accounts::get(&services.db, account_id).await?.map_or(0, |a| a.created_ms),
    };
    checks(services, account_id, since, now).await
}

/// Since when the product version is not covered by `files`, given what
/// was stored (`None`: covered, or no files). `major` is the highest
/// product major version any server of the account has run: during a
/// rolling upgrade an older server does not end the condition.
fn uncovered_since(files: &[CurrentFile], major: u64, stored: Option<i64>, now: i64) -> Option<i64> {
    if files.is_empty() || files.iter().any(|(_, body)| body.covers(major)) {
        None
    } else {
        Some(stored.unwrap_or(now))
    }
}

/// The engine's facts, given the account's row, its current files and the
/// usage checks, with the highest product version seen.
pub(super) fn facts(
    services: &Services,
    row: &ComplianceRow,
    files: &[CurrentFile],
    checks: Vec<Check>,
    now: i64,
) -> (Facts, u64) {
    let stored = row.product_major.and_then(|m| u64::try_from(m).ok()).unwrap_or(0);
    let major = Ord::max(stored, services.licensing.product_major);
    let facts = Facts {
        setup_ms: row.trial_started_ms,
        grants: grants(files),
        checks,
        uncovered_version_since_ms: uncovered_since(files, major, row.uncovered_since_ms, now),
        sync: row
            .sync_expected_since_ms
            .map(|expected| Sync { expected_since_ms: expected, last_success_ms: row.last_sync_ms }),
    };
    (facts, major)
}

/// Evaluates the account at `now` (in the transaction `tx`, with the
/// checks from [`prepare`]), stores the ledger, the pools and the disabled
/// state, and queues the notices due.
pub(super) async fn evaluate(
    services: &Services,
    tx: &mut Tx,
    account_id: &str,
    checks: Vec<Check>,
    now: i64,
) -> Result<Audit> {
    let row = open(tx, account_id, now).await?;
    let files = current_files(&mut *tx, account_id).await?;
    let (facts, major) = facts(services, &row, &files, checks, now);
    // A file installed by a request that took the account's lock first may
    // carry a time a moment after this one's `now`: it counts already.
    let now = files.iter().map(|(f, _)| f.installed_ms).fold(now, Ord::max);
    let done = engine::audit(&facts, &store::compliance::read_ledger(&row.ledger), now);
    recompute_pools(tx, account_id, &files, now).await?;
    store::compliance::save_evaluation(
        &mut *tx,
        account_id,
        &store::compliance::ledger_text(&done.ledger),
        facts.uncovered_version_since_ms,
        i64::try_from(major).unwrap_or(i64::MAX),
    )
    .await?;
    let reason = done.status.disabled.map(disabled_message);
    set_disabled(tx, account_id, reason, now).await?;
    for notice in &done.notices {
        notices::queue(services, tx, account_id, notice, now).await?;
    }
    Ok(done)
}

/// Disables the account for `reason` or enables it (`None`), when that
/// changes it, with its activity record; every server forgets what it kept
/// of the account.
async fn set_disabled(
    tx: &mut Tx,
    account_id: &str,
    reason: Option<String>,
    now: i64,
) -> Result<(), DbError> {
    let before = store::compliance::disabled_reason(&mut *tx, account_id).await?;
    if before.as_ref() == Some(&reason) {
        return Ok(());
    }
    store::compliance::set_disabled_reason(&mut *tx, account_id, reason.as_deref()).await?;
    let action = if reason.is_some() { "account.disabled" } else { "account.enabled" };
    store::activities::record(
        tx,
        account_id,
        now,
        None,
        action,
        ("account", account_id),
        json!({"reason": reason}),
    )
    .await?;
    crate::store::changes::note(&mut *tx, [crate::app::recent::ALL], now).await?;
    Ok(())
}
