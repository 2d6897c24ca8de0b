//! The compliance engine: from an account's facts and the audit's `now`,
//! the conditions the account is in, their dates, whether it is disabled,
//! the banners its administrators see, and the notices (e-mails) due.
//!
//! Pure and deterministic: the daily audit reads the facts and the
//! [`Ledger`] (what earlier audits concluded and which notices were sent),
//! calls [`audit`], stores the new ledger and sends the notices. Running
//! the same audit twice sends nothing the second time; an audit that comes
//! late (the server was down) processes every usage check it missed and
//! sends, per condition, the notice of the current period only.
//!
//! The conditions and their timings (SPEC, "Compliance"):
//!
//! | condition | starts | notices | ends | after grace |
//! |---|---|---|---|---|
//! | trial | first setup | 30 days before day 180 | licenses installed | day 180: disabled |
//! | overage | a 30-day check finds hosts > host licenses | at the start, then at each further check still over | a check within licenses, or licenses added | 6 months: disabled |
//! | temporary licenses | installed | banner only | expiry | — |
//! | out-of-date | a product version the licenses do not cover | at the start, then monthly | licenses updated | 6 months: disabled |
//! | contact lost | 2 days without a successful sync | at the start, then monthly | a successful sync | 6 months: disabled |
//!
//! Times are UTC milliseconds; "months" are calendar months of the UTC date
//! (a day that the target month lacks becomes its last day).

use std::collections::BTreeSet;

use crate::people::LicenseKind;
use crate::time::{civil_from_days, days_from_civil, days_in_month};

/// One day.
pub const DAY_MS: i64 = 86_400_000;
/// Length of the free trial.
pub const TRIAL_DAYS: i64 = 180;
/// The trial's warning comes this many days before its end.
pub const TRIAL_WARNING_DAYS: i64 = 30;
/// Grace period of overage, out-of-date licenses and lost contact.
pub const GRACE_MONTHS: u32 = 6;
/// Without a successful sync for this long, contact with the authority is lost.
pub const CONTACT_LOST_AFTER_MS: i64 = 2 * DAY_MS;

/// `ms` plus `months` calendar months (UTC), the day clamped to the month's last.
pub fn add_months(ms: i64, months: u32) -> i64 {
    let days = ms.div_euclid(DAY_MS);
    let within = ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let index = year * 12 + i64::from(month - 1) + i64::from(months);
    let (year, month) = (index.div_euclid(12), u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1);
    let day = day.min(days_in_month(year, month));
    days_from_civil(year, month, day) * DAY_MS + within
}

/// Whole calendar months from `since` to `now` (0 before the first month is
/// over), counting at most 10 000 (833 years) so that the loop is bounded.
pub fn months_between(since: i64, now: i64) -> u32 {
    let mut months = 0;
    while months < 10_000 && add_months(since, months + 1) <= now {
        months += 1;
    }
    months
}

/// Licenses of one kind from one installed license file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Their kind.
    pub kind: LicenseKind,
    /// How many.
    pub count: u64,
    /// When they were installed.
    pub installed_ms: i64,
    /// When they expire (temporary licenses); `None`: permanent.
    pub expires_ms: Option<i64>,
}

impl Grant {
    /// Whether the licenses count at `at`.
    pub fn in_force(&self, at: i64) -> bool {
        self.installed_ms <= at && self.expires_ms.is_none_or(|e| at < e)
    }
}

/// A 30-day usage check: at the end of a usage window, how many host
/// licenses the hosts used in it (the sum over hosts of each one's peak).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// The end of the window (when the check is due).
    pub at_ms: i64,
    /// Host licenses used in the window.
    pub hosts: u64,
}

/// What the audit knows of an account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// When the account was set up: the trial starts.
    pub setup_ms: i64,
    /// The licenses installed (each license file's, one grant per kind).
    pub grants: Vec<Grant>,
    /// The usage checks of every window ended so far, in time order.
    pub checks: Vec<Check>,
    /// Since when the server has run a product version that the installed
    /// licenses do not cover (`None`: they cover it).
    pub uncovered_version_since_ms: Option<i64>,
    /// Synchronisation with the license authority, when the licenses came
    /// from it (a registered PAK); `None` for licenses installed offline.
    pub sync: Option<Sync>,
}

/// Synchronisation with the license authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sync {
    /// When synchronisation became expected (the PAK was registered).
    pub expected_since_ms: i64,
    /// The last successful synchronisation, if any.
    pub last_success_ms: Option<i64>,
}

impl Facts {
    /// Licenses of `kind` in force at `at`.
    pub fn installed(&self, kind: LicenseKind, at: i64) -> u64 {
        self.grants.iter().filter(|g| g.kind == kind && g.in_force(at)).map(|g| g.count).sum()
    }

    /// Whether any license is in force at `at` (otherwise the trial governs).
    pub fn licensed(&self, at: i64) -> bool {
        self.grants.iter().any(|g| g.count > 0 && g.in_force(at))
    }
}

/// A condition of the compliance table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// The free trial.
    Trial,
    /// More hosts than host licenses.
    Overage,
    /// Licenses that do not cover the product version.
    OutOfDate,
    /// No successful sync with the license authority.
    ContactLost,
}

impl Condition {
    /// Every condition.
    pub const ALL: [Condition; 4] =
        [Condition::Trial, Condition::Overage, Condition::OutOfDate, Condition::ContactLost];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Trial => "trial",
            Condition::Overage => "overage",
            Condition::OutOfDate => "out_of_date",
            Condition::ContactLost => "contact_lost",
        }
    }

    /// Parses the stored and API name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// What a notice says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoticeKind {
    /// The condition began (or, for the trial, its end is near).
    Started,
    /// The condition still holds (a further check, or a further month).
    Reminder,
    /// The grace period is over: the account is disabled.
    Disabled,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 3] = [NoticeKind::Started, NoticeKind::Reminder, NoticeKind::Disabled];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Started => "started",
            NoticeKind::Reminder => "reminder",
            NoticeKind::Disabled => "disabled",
        }
    }
}

/// Which notice: the same key is never sent twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NoticeKey {
    /// The condition.
    pub condition: Condition,
    /// When this occurrence of the condition began.
    pub since_ms: i64,
    /// The period of the condition it is about (0: its start; then one per
    /// check or month).
    pub period: u32,
    /// What it says.
    pub kind: NoticeKind,
}

impl NoticeKey {
    /// A stable text form, e.g. `overage/1767225600000/2/reminder`.
    pub fn to_text(&self) -> String {
        format!("{}/{}/{}/{}", self.condition.as_str(), self.since_ms, self.period, self.kind.as_str())
    }

    /// Reads the text form written by [`NoticeKey::to_text`].
    pub fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.split('/');
        let key = NoticeKey {
            condition: Condition::parse(parts.next()?)?,
            since_ms: parts.next()?.parse().ok()?,
            period: parts.next()?.parse().ok()?,
            kind: parts.next().and_then(|k| NoticeKind::ALL.into_iter().find(|n| n.as_str() == k))?,
        };
        parts.next().is_none().then_some(key)
    }
}

/// A notice to send to the account's administrators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Which notice.
    pub key: NoticeKey,
    /// When the account is (or was) disabled unless the condition ends.
    pub disable_ms: i64,
    /// For overage: host licenses used at the last check, and installed then.
    pub hosts: Option<(u64, u64)>,
}

/// An overage under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverageEpisode {
    /// The check that found it.
    pub since_ms: i64,
    /// Further checks that still found it (0 at the first).
    pub period: u32,
    /// Host licenses used at the last check.
    pub hosts: u64,
    /// Host licenses installed at the last check.
    pub installed: u64,
}

/// What audits remember between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// What happened up to this instant (usage checks, licenses
    /// installed) has been applied: the last audit's time.
    pub audited_through_ms: Option<i64>,
    /// The overage under way, if any.
    pub overage: Option<OverageEpisode>,
    /// Every notice sent.
    pub sent: BTreeSet<NoticeKey>,
}

/// A condition in force, with its dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Active {
    /// Which.
    pub condition: Condition,
    /// Since when.
    pub since_ms: i64,
    /// When the account is disabled unless the condition ends.
    pub disable_ms: i64,
    /// Whether that date has passed.
    pub disabling: bool,
}

/// Temporary licenses in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Temporary {
    /// Their kind.
    pub kind: LicenseKind,
    /// How many.
    pub count: u64,
    /// When they expire.
    pub expires_ms: i64,
}

/// The account's compliance at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// When it was evaluated.
    pub now_ms: i64,
    /// The conditions in force, in [`Condition`] order.
    pub active: Vec<Active>,
    /// Why the account is disabled: the condition whose grace ended first.
    pub disabled: Option<Condition>,
    /// Whole days left of the trial, while in it.
    pub trial_days_left: Option<i64>,
    /// Temporary licenses in force, by expiry.
    pub temporary: Vec<Temporary>,
}

/// An audit's outcome: the new ledger, the status, the notices to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    /// To store for the next audit.
    pub ledger: Ledger,
    /// The account's compliance.
    pub status: Status,
    /// Notices to send (already recorded in `ledger.sent`).
    pub notices: Vec<Notice>,
}

/// Applies what happened since the last audit, in time order: the usage
/// checks that fell due, and licenses installed (which end an overage at
/// once when they cover the last check's hosts) or expired (none left:
/// the trial governs again).
fn apply_checks(facts: &Facts, ledger: &mut Ledger, now: i64) {
    let after = ledger.audited_through_ms.unwrap_or(i64::MIN);
    let new = |at: i64| after < at && at <= now;
    let mut moments: Vec<(i64, Option<u64>)> = facts
        .checks
        .iter()
        .filter(|c| new(c.at_ms))
        .map(|c| (c.at_ms, Some(c.hosts)))
        .chain(
            facts
                .grants
                .iter()
                .flat_map(|g| [Some(g.installed_ms), g.expires_ms])
                .flatten()
                .filter(|&at| new(at))
                .map(|at| (at, None)),
        )
        .collect();
    // An audit never goes back in time: evaluated before the last, it applies nothing more.
    if now >= after {
        moments.push((now, None));
    }
    moments.sort_unstable();
    for (at, check) in moments {
        let licensed = facts.licensed(at);
        let installed = facts.installed(LicenseKind::Host, at);
        ledger.overage = match (ledger.overage, check) {
            // No licenses: the trial governs, not overage.
            _ if !licensed => None,
            (Some(o), None) if installed >= o.hosts => None,
            (overage, None) => overage,
            (_, Some(hosts)) if hosts <= installed => None,
            (None, Some(hosts)) => Some(OverageEpisode { since_ms: at, period: 0, hosts, installed }),
            (Some(o), Some(hosts)) => Some(OverageEpisode { period: o.period + 1, hosts, installed, ..o }),
        };
    }
    ledger.audited_through_ms = Some(ledger.audited_through_ms.map_or(now, |t| t.max(now)));
}

/// The audit at `now`: see the module documentation. A state machine
/// that reads top to bottom, one condition after the other (so it is kept
/// whole, longer than other functions).
pub fn audit(facts: &Facts, ledger: &Ledger, now: i64) -> Audit {
    let mut ledger = ledger.clone();
    apply_checks(facts, &mut ledger, now);
    let mut active = Vec::new();
    let mut notices = Vec::new();
    let mut due =
        |key: NoticeKey, disable_ms: i64, hosts: Option<(u64, u64)>, sent: &mut BTreeSet<NoticeKey>| {
            if sent.insert(key) {
                notices.push(Notice { key, disable_ms, hosts });
            }
        };

    // The trial: while no license is in force.
    let mut trial_days_left = None;
    if !facts.licensed(now) {
        let since = facts.setup_ms;
        let end = since + TRIAL_DAYS * DAY_MS;
        let disabling = now >= end;
        active.push(Active { condition: Condition::Trial, since_ms: since, disable_ms: end, disabling });
        trial_days_left = Some(((end - now).max(0) + DAY_MS - 1) / DAY_MS);
        let key = |kind| NoticeKey { condition: Condition::Trial, since_ms: since, period: 0, kind };
        if disabling {
            due(key(NoticeKind::Disabled), end, None, &mut ledger.sent);
        } else if now >= end - TRIAL_WARNING_DAYS * DAY_MS {
            due(key(NoticeKind::Started), end, None, &mut ledger.sent);
        }
    }

    // Overage: a notice at each check that finds it.
    if let Some(o) = ledger.overage {
        let end = add_months(o.since_ms, GRACE_MONTHS);
        let disabling = now >= end;
        active.push(Active {
            condition: Condition::Overage,
            since_ms: o.since_ms,
            disable_ms: end,
            disabling,
        });
        let kind = if disabling {
            NoticeKind::Disabled
        } else if o.period == 0 {
            NoticeKind::Started
        } else {
            NoticeKind::Reminder
        };
        let period = if disabling { 0 } else { o.period };
        let key = NoticeKey { condition: Condition::Overage, since_ms: o.since_ms, period, kind };
        due(key, end, Some((o.hosts, o.installed)), &mut ledger.sent);
    }

    // Out-of-date licenses and lost contact: a notice at the start, then monthly.
    let contact_lost_since = facts.sync.and_then(|s| {
        let since =
            s.last_success_ms.unwrap_or(s.expected_since_ms).max(s.expected_since_ms) + CONTACT_LOST_AFTER_MS;
        (now >= since).then_some(since)
    });
    let monthly = [
        (Condition::OutOfDate, facts.uncovered_version_since_ms.filter(|s| *s <= now)),
        (Condition::ContactLost, contact_lost_since),
    ];
    for (condition, since) in monthly {
        let Some(since) = since else { continue };
        let end = add_months(since, GRACE_MONTHS);
        let disabling = now >= end;
        active.push(Active { condition, since_ms: since, disable_ms: end, disabling });
        let period = months_between(since, now);
        let key = match period {
            _ if disabling => NoticeKey { condition, since_ms: since, period: 0, kind: NoticeKind::Disabled },
            0 => NoticeKey { condition, since_ms: since, period, kind: NoticeKind::Started },
            _ => NoticeKey { condition, since_ms: since, period, kind: NoticeKind::Reminder },
        };
        due(key, end, None, &mut ledger.sent);
    }

    let disabled = active.iter().filter(|a| a.disabling).min_by_key(|a| a.disable_ms).map(|a| a.condition);
    let mut temporary: Vec<Temporary> = facts
        .grants
        .iter()
        .filter(|g| g.count > 0 && g.in_force(now))
        .filter_map(|g| g.expires_ms.map(|e| Temporary { kind: g.kind, count: g.count, expires_ms: e }))
        .collect();
    temporary.sort_by_key(|t| (t.expires_ms, t.kind));
    Audit { ledger, status: Status { now_ms: now, active, disabled, trial_days_left, temporary }, notices }
}

#[cfg(test)]
mod tests;
