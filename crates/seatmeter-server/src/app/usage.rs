//! Live host-license usage: kept current as meetings end, never recomputed
//! from the whole history on a request.
//!
//! Each meeting row stores the interval it adds to usage now (none while it
//! runs, or when it is not counted). Whenever a change to a meeting moves
//! that interval, the same transaction appends the change to
//! `usage_changes` — "remove the old interval, add the new one" — numbered
//! per account (see [`crate::store::usage`]).
//!
//! Each server keeps, per account, the core engine's
//! [`LiveUsage`](seatmeter_core::usage::LiveUsage) and the number of the
//! last change it applied. A usage request reads the account's current
//! number and applies only the changes after its own, so several servers on
//! one database all answer the same.
//!
//! Reading usage writes nothing. A meeting whose end was never reported is
//! ended at its maximum duration by the sweep ([`settle_overdue`], every
//! minute); until then a read settles it in memory, exactly as the sweep
//! will, so the figures never depend on whether the sweep has run yet.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use seatmeter_core::people::LicenseKind;
use seatmeter_core::time::Timestamp;
use seatmeter_core::usage::{CountPolicy, LiveUsage, WindowIndex, Windows};
use serde_json::json;

use super::{Capability, Error, Principal, Result, Services};
use crate::store::meetings::{MeetingRow, MeetingRules};
use crate::store::usage::UsageChange;
use crate::store::{self, Db, DbError, Tx};

const NANOS_PER_MS: i64 = 1_000_000;

/// Settles one meeting (already changed in memory) at `now`: works out the
/// interval it adds to usage now and whether it was ended automatically,
/// and returns the usage changes that follow. Changes only `meeting`.
pub fn settle(rules: &MeetingRules, meeting: &mut MeetingRow, now: i64) -> Vec<UsageChange> {
    let mut changes = Vec::new();
    let max = rules.max_duration_ms();
    let facts = meeting.facts();
    let run = facts.run(now, max);
    let counted = facts.counted_run(rules.policy(), now, max).map(|r| (r.start_ms, r.end_ms));
    let before = meeting.usage_interval();
    if before != counted {
        let host = &meeting.host_user_id;
        if let Some((start_ms, end_ms)) = before {
            changes.push(UsageChange { host_user_id: host.clone(), start_ms, end_ms, sign: -1 });
        }
        if let Some((start_ms, end_ms)) = counted {
            changes.push(UsageChange { host_user_id: host.clone(), start_ms, end_ms, sign: 1 });
        }
    }
    meeting.usage_start_ms = counted.map(|c| c.0);
    meeting.usage_end_ms = counted.map(|c| c.1);
    meeting.auto_ended_ms = match run {
        Some(r) if r.auto_ended => meeting.auto_ended_ms.or(Some(now)),
        _ => None,
    };
    changes
}

/// `meetings` by id, as they are now (what [`store_settled`] compares with).
pub fn by_id(meetings: &[MeetingRow]) -> BTreeMap<String, MeetingRow> {
    meetings.iter().map(|m| (m.id.clone(), m.clone())).collect()
}

/// Settles `meetings` (already changed in memory) at `now` (see
/// [`settle`]), writes what changed of them since they were read (`read`),
/// and appends the usage changes.
pub async fn store_settled(
    tx: &mut Tx,
    rules: &MeetingRules,
    meetings: &mut [MeetingRow],
    read: &BTreeMap<String, MeetingRow>,
    now: i64,
) -> Result<Vec<UsageChange>, DbError> {
    let mut changes = Vec::new();
    for meeting in meetings.iter_mut() {
        changes.extend(settle(rules, meeting, now));
    }
    store::meetings::update(tx, meetings, read).await?;
    if let Some(first) = meetings.first() {
        store::usage::append(tx, &first.account_id, &changes).await?;
    }
    Ok(changes)
}

/// Most meetings one sweep ends.
const SWEEP_LIMIT: u64 = 10_000;

/// Ends automatically, at `start + maximum duration`, the meetings still
/// running past it (of one account, or of all), so that a lost `ended`
/// event neither blocks its host nor keeps its usage out. Idempotent;
/// returns how many meetings it ended.
pub async fn settle_overdue(db: &Db, account_id: Option<&str>, now: i64) -> Result<u64, DbError> {
    let overdue = store::meetings::overdue(db, account_id, now, SWEEP_LIMIT).await?;
    let mut by_account: HashMap<String, Vec<String>> = HashMap::new();
    for o in overdue {
        by_account.entry(o.account_id).or_default().push(o.id);
    }
    let mut ended = 0;
    for (account, ids) in by_account {
        ended += end_overdue(db, &account, &ids, now).await?;
    }
    Ok(ended)
}

/// Ends the meetings `ids` of `account` that are overdue at `now`, each
/// with its activity, in one transaction; how many.
async fn end_overdue(db: &Db, account: &str, ids: &[String], now: i64) -> Result<u64, DbError> {
    let mut tx = db.begin().await?;
    let Some(rules) = store::meetings::rules(&mut tx, account).await? else { return Ok(0) };
    let mut rows = store::meetings::not_auto_ended_for_update(&mut tx, account, ids).await?;
    rows.retain(|m| m.facts().run(now, rules.max_duration_ms()).is_some_and(|r| r.auto_ended));
    let read = by_id(&rows);
    store_settled(&mut tx, &rules, &mut rows, &read, now).await?;
    for row in &rows {
        store::activities::record(
            &mut tx,
            account,
            now,
            None,
            "meeting.auto_ended",
            ("meeting", &row.id),
            json!({"host_user_id": row.host_user_id, "max_meeting_minutes": rules.max_meeting_minutes}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// One account's live usage in this server.
struct AccountUsage {
    anchor_ms: i64,
    seq: i64,
    live: LiveUsage<String>,
}

impl AccountUsage {
    fn new(anchor_ms: i64) -> Self {
        AccountUsage { anchor_ms, seq: 0, live: LiveUsage::new(windows_of(anchor_ms)) }
    }

    /// The usage kept in `slot`, started afresh when there is none yet or
    /// the account's anchor moved.
    fn on_anchor(slot: &mut Option<AccountUsage>, anchor_ms: i64) -> &mut AccountUsage {
        if slot.as_ref().is_some_and(|u| u.anchor_ms != anchor_ms) {
            *slot = None;
        }
        slot.get_or_insert_with(|| AccountUsage::new(anchor_ms))
    }

    /// Applies the account's changes after the last one applied, up to number `target`.
    async fn catch_up(&mut self, db: &Db, account_id: &str, target: i64) -> Result<(), DbError> {
        while self.seq < target {
            let changes = store::usage::changes(db, account_id, self.seq, target, 100_000).await?;
            if changes.is_empty() {
                break;
            }
            self.seq += i64::try_from(changes.len()).unwrap_or(0);
            self.apply(&changes, false);
        }
        Ok(())
    }

    /// Applies `changes`, or (`undo`) takes them back.
    fn apply(&mut self, changes: &[UsageChange], undo: bool) {
        for c in changes {
            let (start, end) =
                (c.start_ms.saturating_mul(NANOS_PER_MS), c.end_ms.saturating_mul(NANOS_PER_MS));
            if (c.sign > 0) != undo {
                self.live.add(&c.host_user_id, start, end);
            } else {
                self.live.remove(&c.host_user_id, start, end);
            }
        }
    }

    fn rows(&self) -> Vec<HostUsage> {
        self.live
            .rows()
            .map(|r| HostUsage { window: r.window, host_user_id: r.host, licenses: r.licenses })
            .collect()
    }
}

/// One account's live usage, once this server has read it; each account's
/// is brought up to date by one request at a time.
type Slot = Arc<tokio::sync::Mutex<Option<AccountUsage>>>;

/// Every account's live usage in this server, brought up to date on demand.
#[derive(Clone, Default)]
pub struct UsageCache {
    accounts: Arc<Mutex<HashMap<String, Slot>>>,
}

/// One host's licenses in one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostUsage {
    /// The window.
    pub window: i64,
    /// The host.
    pub host_user_id: String,
    /// Licenses used.
    pub licenses: u32,
}

impl UsageCache {
    fn entry(&self, account_id: &str) -> Slot {
        let mut accounts = self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        accounts.entry(account_id.to_string()).or_default().clone()
    }

    /// The account's rules and its usage rows at `now` (sorted by window,
    /// then host id): every change written so far, and the meetings overdue
    /// at `now` settled in memory as the sweep will settle them. `None`
    /// when the account does not exist.
    pub async fn rows_at(
        &self,
        db: &Db,
        account_id: &str,
        now: i64,
    ) -> Result<Option<(MeetingRules, Vec<HostUsage>)>, DbError> {
        let entry = self.entry(account_id);
        let mut slot = entry.lock().await;
        // The overdue meetings first, with the changes written before them
        // (read by the same statement): a sweep that settles them later
        // appends changes after those. With none overdue, the rules read
        // next name the latest change, and any meeting overdue then was
        // settled already, its changes among those.
        let overdue = store::meetings::overdue_with_seq(db, account_id, now).await?;
        let Some(rules) = store::meetings::rules(db, account_id).await? else { return Ok(None) };
        let target = overdue.first().map_or(rules.usage_seq, |o| o.usage_seq);
        let usage = AccountUsage::on_anchor(&mut slot, rules.anchor_ms);
        usage.catch_up(db, account_id, target).await?;
        let mut pending = Vec::new();
        for o in overdue {
            let mut meeting = o.meeting;
            pending.extend(settle(&rules, &mut meeting, now));
        }
        usage.apply(&pending, false);
        let rows = usage.rows();
        usage.apply(&pending, true);
        Ok(Some((rules, rows)))
    }
}

/// The 30-day windows on an anchor in milliseconds.
pub fn windows_of(anchor_ms: i64) -> Windows {
    Windows::new(Timestamp(anchor_ms.saturating_mul(NANOS_PER_MS)))
}

fn ms(nanos: i128) -> i64 {
    i64::try_from(nanos / i128::from(NANOS_PER_MS)).unwrap_or(i64::MAX)
}

/// An account's host-license usage, window by window.
#[derive(Clone, Debug)]
pub struct UsageSeries {
    /// Anchor of the 30-day windows (ms).
    pub anchor_ms: i64,
    /// Which meetings count.
    pub policy: CountPolicy,
    /// Host licenses installed now.
    pub installed: i64,
    /// The windows with usage, oldest first.
    pub windows: Vec<UsageWindow>,
}

/// One 30-day window of an account's usage.
#[derive(Clone, Debug)]
pub struct UsageWindow {
    /// Its number (0: the one starting at the anchor).
    pub window: WindowIndex,
    /// Its first instant (ms).
    pub start_ms: i64,
    /// The first instant after it (ms).
    pub end_ms: i64,
    /// Host licenses used: the sum over hosts.
    pub used: u64,
    /// Host licenses installed (now).
    pub installed: u64,
    /// Licenses used beyond those installed (0 when compliant).
    pub overage: u64,
    /// Each host that used licenses, by e-mail address in byte order.
    pub hosts: Vec<HostLicenses>,
}

/// One host's licenses in a window.
#[derive(Clone, Debug)]
pub struct HostLicenses {
    /// The host's id.
    pub user_id: String,
    /// The host's e-mail address (the id, for a user no longer there).
    pub email: String,
    /// Licenses used: the most of the host's counted meetings in progress at one instant.
    pub licenses: u32,
}

impl UsageSeries {
    /// The windows the series is measured on.
    pub fn measured_on(&self) -> Windows {
        windows_of(self.anchor_ms)
    }

    /// Host licenses used in window `k` (0 for a window without usage).
    pub fn used_in(&self, k: WindowIndex) -> u64 {
        self.windows.iter().find(|w| w.window == k).map_or(0, |w| w.used)
    }

    /// The series as `seatmeter usage --period-start <anchor>` prints it
    /// for the same meetings (hosts by e-mail), with `Cells::Exact`; with
    /// `Cells::FormulaSafe`, safe to open in a spreadsheet.
    pub fn csv(&self, cells: seatmeter_core::usage::csv::Cells) -> String {
        let rows = self
            .windows
            .iter()
            .flat_map(|w| w.hosts.iter().map(|h| (w.window, h.email.as_str(), h.licenses)));
        seatmeter_core::usage::csv::render_cells(&self.measured_on(), rows, cells)
    }
}

/// Account `account_id`'s host-license usage at `now`, per 30-day window on
/// its anchor: licenses used, installed and beyond those installed, and
/// each host's share. Meetings overdue at `now` count as ended at their
/// maximum duration, whether or not the sweep has ended them yet. Reads
/// only; checks no rights (the API's [`usage`] does, the compliance audit
/// and the dashboard read it for the account they serve).
pub async fn series(services: &Services, account_id: &str, now: i64) -> Result<UsageSeries> {
    let (rules, rows) = services
        .usage
        .rows_at(&services.db, account_id, now)
        .await?
        .ok_or_else(|| Error::not_found("the account no longer exists"))?;
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.host_user_id.as_str()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let emails = store::usage::host_emails(&services.db, account_id, Some(&ids)).await?;
    let installed = super::licenses::account_pools(&services.db, account_id)
        .await?
        .into_iter()
        .find(|p| p.kind == LicenseKind::Host)
        .map_or(0, |p| p.installed);
    let windows = windows_of(rules.anchor_ms);
    let installed_now = u64::try_from(installed).unwrap_or(0);
    let mut named: Vec<(i64, HostLicenses)> = rows
        .into_iter()
        .map(|r| {
            let email = emails.get(&r.host_user_id).cloned().unwrap_or_else(|| r.host_user_id.clone());
            (r.window, HostLicenses { user_id: r.host_user_id, email, licenses: r.licenses })
        })
        .collect();
    // The CSV's order: window, then host as written (byte order).
    named.sort_by(|a, b| (a.0, a.1.email.as_bytes()).cmp(&(b.0, b.1.email.as_bytes())));
    let mut series: Vec<UsageWindow> = Vec::new();
    for (window, host) in named {
        if series.last().is_none_or(|w| w.window != window) {
            series.push(UsageWindow {
                window,
                start_ms: ms(windows.start(window)),
                end_ms: ms(windows.end(window)),
                used: 0,
                installed: installed_now,
                overage: 0,
                hosts: Vec::new(),
            });
        }
        if let Some(w) = series.last_mut() {
            w.used += u64::from(host.licenses);
            w.hosts.push(host);
        }
    }
    for w in &mut series {
        w.overage = w.used.saturating_sub(installed_now);
    }
    Ok(UsageSeries { anchor_ms: rules.anchor_ms, policy: rules.policy(), installed, windows: series })
}

/// The caller's account's usage at `now` (see [`series`]): for
/// administrators of reports or of users & licenses.
pub async fn usage(services: &Services, principal: &Principal, now: i64) -> Result<UsageSeries> {
    may_read_reports(principal)?;
    series(services, &principal.account_id, now).await
}

/// Whether the caller may read usage and meeting exports.
pub fn may_read_reports(principal: &Principal) -> Result<()> {
    if principal.may(Capability::SeeUsage) {
        Ok(())
    } else {
        Err(Error::forbidden("usage and meeting exports need an administrator of reports"))
    }
}
