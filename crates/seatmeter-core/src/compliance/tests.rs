use proptest::prelude::*;

use super::*;
use crate::time::days_from_civil;

/// Midnight UTC of a date, in milliseconds.
fn date(year: i64, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day) * DAY_MS
}

fn permanent(kind: LicenseKind, count: u64, installed_ms: i64) -> Grant {
    Grant { kind, count, installed_ms, expires_ms: None }
}

/// Audits once a day at 02:00 UTC from `from` to `to`, collecting the notices.
fn daily(facts: &Facts, ledger: &mut Ledger, from: i64, to: i64) -> (Vec<(i64, Notice)>, Status) {
    let mut notices = Vec::new();
    let mut now = from.div_euclid(DAY_MS) * DAY_MS + 2 * 3_600_000;
    let mut status = audit(facts, ledger, from).status;
    while now <= to {
        let done = audit(facts, ledger, now);
        *ledger = done.ledger;
        notices.extend(done.notices.into_iter().map(|n| (now, n)));
        status = done.status;
        now += DAY_MS;
    }
    (notices, status)
}

fn kinds(notices: &[(i64, Notice)]) -> Vec<(Condition, NoticeKind, u32)> {
    notices.iter().map(|(_, n)| (n.key.condition, n.key.kind, n.key.period)).collect()
}

#[test]
fn months_are_calendar_months_with_the_day_clamped() {
    assert_eq!(add_months(date(2026, 1, 31), 1), date(2026, 2, 28));
    assert_eq!(add_months(date(2028, 1, 31), 1), date(2028, 2, 29));
    assert_eq!(add_months(date(2026, 8, 31) + 5, 6), date(2027, 2, 28) + 5);
    assert_eq!(add_months(date(2026, 11, 15), 2), date(2027, 1, 15));
    assert_eq!(months_between(date(2026, 1, 15), date(2026, 2, 14)), 0);
    assert_eq!(months_between(date(2026, 1, 15), date(2026, 2, 15)), 1);
    assert_eq!(months_between(date(2026, 1, 15), date(2026, 7, 20)), 6);
}

#[test]
fn notice_keys_read_back_from_their_text() {
    let key =
        NoticeKey { condition: Condition::ContactLost, since_ms: -5, period: 3, kind: NoticeKind::Reminder };
    assert_eq!(key.to_text(), "contact_lost/-5/3/reminder");
    assert_eq!(NoticeKey::from_text(&key.to_text()), Some(key));
    assert_eq!(NoticeKey::from_text("trial/1/0/started/x"), None);
    assert_eq!(NoticeKey::from_text("trial/1/0/sent"), None);
}

#[test]
fn a_trial_warns_30_days_before_day_180_and_then_disables() {
    let setup = date(2026, 1, 1) + 10 * 3_600_000;
    let facts = Facts { setup_ms: setup, ..Facts::default() };
    let mut ledger = Ledger::default();
    let first = audit(&facts, &ledger, setup);
    assert_eq!(first.status.trial_days_left, Some(180));
    assert!(first.notices.is_empty());
    let (notices, status) = daily(&facts, &mut ledger, setup, setup + 200 * DAY_MS);
    assert_eq!(
        kinds(&notices),
        [(Condition::Trial, NoticeKind::Started, 0), (Condition::Trial, NoticeKind::Disabled, 0)]
    );
    // The warning on the first audit at or after day 150, the disabling on day 180's.
    assert!(notices[0].0 >= setup + 150 * DAY_MS && notices[0].0 < setup + 151 * DAY_MS);
    assert!(notices[1].0 >= setup + 180 * DAY_MS && notices[1].0 < setup + 181 * DAY_MS);
    assert_eq!(notices[1].1.disable_ms, setup + 180 * DAY_MS);
    assert_eq!(status.disabled, Some(Condition::Trial));
    assert_eq!(status.trial_days_left, Some(0));
}

#[test]
fn installing_licenses_ends_the_trial_even_after_it_disabled_the_account() {
    let setup = date(2026, 1, 1);
    let mut facts = Facts { setup_ms: setup, ..Facts::default() };
    let mut ledger = Ledger::default();
    let (_, status) = daily(&facts, &mut ledger, setup, setup + 190 * DAY_MS);
    assert_eq!(status.disabled, Some(Condition::Trial));
    facts.grants.push(permanent(LicenseKind::Host, 10, setup + 190 * DAY_MS + 5));
    let lifted = audit(&facts, &ledger, setup + 190 * DAY_MS + 6);
    assert_eq!(lifted.status.disabled, None);
    assert!(lifted.status.active.is_empty());
    assert_eq!(lifted.status.trial_days_left, None);
}

#[test]
fn temporary_licenses_show_until_they_expire_and_then_the_trial_is_back() {
    let setup = date(2026, 1, 1);
    let expires = date(2026, 9, 1);
    let facts = Facts {
        setup_ms: setup,
        grants: vec![Grant {
            kind: LicenseKind::Host,
            count: 5,
            installed_ms: date(2026, 2, 1),
            expires_ms: Some(expires),
        }],
        ..Facts::default()
    };
    let during = audit(&facts, &Ledger::default(), date(2026, 8, 1)).status;
    assert_eq!(during.temporary, [Temporary { kind: LicenseKind::Host, count: 5, expires_ms: expires }]);
    assert!(during.active.is_empty());
    // Day 180 passed while they were in force: back to the trial, which is over.
    let after = audit(&facts, &Ledger::default(), expires).status;
    assert!(after.temporary.is_empty());
    assert_eq!(after.disabled, Some(Condition::Trial));
}

/// An account licensed on 2026-01-01 with 10 host licenses, checked every
/// 30 days from then with the given hosts.
fn overage_facts(hosts: &[u64]) -> Facts {
    let start = date(2026, 1, 1);
    Facts {
        setup_ms: start,
        grants: vec![permanent(LicenseKind::Host, 10, start)],
        checks: hosts
            .iter()
            .enumerate()
            .map(|(i, &h)| Check { at_ms: start + (i as i64 + 1) * 30 * DAY_MS, hosts: h })
            .collect(),
        ..Facts::default()
    }
}

#[test]
fn an_overage_cured_in_its_grace_period_never_disables() {
    let facts = overage_facts(&[8, 12, 13, 14, 9, 12]);
    let mut ledger = Ledger::default();
    let (notices, status) = daily(&facts, &mut ledger, date(2026, 1, 1), date(2026, 7, 1));
    assert_eq!(
        kinds(&notices),
        [
            (Condition::Overage, NoticeKind::Started, 0),
            (Condition::Overage, NoticeKind::Reminder, 1),
            (Condition::Overage, NoticeKind::Reminder, 2),
            // The fifth check is within licenses; the sixth starts a new overage.
            (Condition::Overage, NoticeKind::Started, 0),
        ]
    );
    let first_check = date(2026, 1, 1) + 60 * DAY_MS;
    assert_eq!(notices[0].1.disable_ms, add_months(first_check, 6));
    assert_eq!(notices[0].1.hosts, Some((12, 10)));
    assert_eq!(notices[1].1.disable_ms, notices[0].1.disable_ms, "reminders name the same date");
    assert_eq!(status.disabled, None);
    assert_eq!(status.active.len(), 1);
}

#[test]
fn an_overage_lasting_six_months_disables_and_more_licenses_lift_it_at_once() {
    let facts = overage_facts(&[12; 9]);
    let mut ledger = Ledger::default();
    let (notices, status) = daily(&facts, &mut ledger, date(2026, 1, 1), date(2026, 9, 20));
    let first_check = date(2026, 1, 31);
    assert_eq!(status.disabled, Some(Condition::Overage));
    let disabled: Vec<_> = notices.iter().filter(|(_, n)| n.key.kind == NoticeKind::Disabled).collect();
    assert_eq!(disabled.len(), 1);
    assert!(
        disabled[0].0 >= add_months(first_check, 6) && disabled[0].0 < add_months(first_check, 6) + DAY_MS
    );
    // Each check while over before the disabling sent one notice (30-day
    // checks from January 31: seven before July 31).
    let before = notices.iter().filter(|(at, _)| *at < add_months(first_check, 6)).count();
    let checks = facts.checks.iter().filter(|c| c.at_ms < add_months(first_check, 6)).count();
    assert_eq!((before, checks), (7, 7));

    let mut more = facts.clone();
    let now = date(2026, 9, 20) + 3_600_000;
    more.grants.push(permanent(LicenseKind::Host, 2, now));
    let lifted = audit(&more, &ledger, now);
    assert_eq!(lifted.status.disabled, None);
    assert!(lifted.status.active.is_empty());
    assert!(lifted.notices.is_empty());
}

#[test]
fn an_audit_that_comes_late_processes_every_check_but_sends_one_notice() {
    let facts = overage_facts(&[12, 12, 12, 12]);
    let late = audit(&facts, &Ledger::default(), date(2026, 5, 5));
    assert_eq!(late.ledger.overage.map(|o| (o.since_ms, o.period)), Some((date(2026, 1, 31), 3)));
    assert_eq!(late.notices.len(), 1);
    assert_eq!(late.notices[0].key.period, 3);
    let again = audit(&facts, &late.ledger, date(2026, 5, 5));
    assert!(again.notices.is_empty(), "the same audit twice sends nothing");
    assert_eq!(again.status, late.status);
}

#[test]
fn out_of_date_licenses_notify_monthly_and_disable_after_six_months() {
    let upgraded = date(2026, 3, 10) + 3_600_000;
    let mut facts = Facts {
        setup_ms: date(2026, 1, 1),
        grants: vec![permanent(LicenseKind::Host, 10, date(2026, 1, 1))],
        uncovered_version_since_ms: Some(upgraded),
        ..Facts::default()
    };
    let mut ledger = Ledger::default();
    let (notices, status) = daily(&facts, &mut ledger, date(2026, 3, 1), date(2026, 9, 15));
    let expected: Vec<_> = [(NoticeKind::Started, 0), (NoticeKind::Reminder, 1), (NoticeKind::Reminder, 2)]
        .into_iter()
        .chain((3..6).map(|p| (NoticeKind::Reminder, p)))
        .chain([(NoticeKind::Disabled, 0)])
        .map(|(k, p)| (Condition::OutOfDate, k, p))
        .collect();
    assert_eq!(kinds(&notices), expected);
    assert_eq!(status.disabled, Some(Condition::OutOfDate));
    assert_eq!(status.active[0].disable_ms, add_months(upgraded, 6));
    // Updated licenses end it.
    facts.uncovered_version_since_ms = None;
    assert_eq!(audit(&facts, &ledger, date(2026, 9, 16)).status.disabled, None);
}

#[test]
fn contact_is_lost_after_two_days_and_a_successful_sync_ends_it() {
    let registered = date(2026, 1, 1);
    let mut facts = Facts {
        setup_ms: registered,
        grants: vec![permanent(LicenseKind::Host, 10, registered)],
        sync: Some(Sync { expected_since_ms: registered, last_success_ms: Some(date(2026, 2, 1)) }),
        ..Facts::default()
    };
    let mut ledger = Ledger::default();
    // Two days without a sync: a notice, nothing disabled.
    let (notices, status) = daily(&facts, &mut ledger, date(2026, 2, 1), date(2026, 2, 4));
    assert_eq!(kinds(&notices), [(Condition::ContactLost, NoticeKind::Started, 0)]);
    assert!(notices[0].0 >= date(2026, 2, 3));
    assert_eq!(status.disabled, None);
    // A sync ends it.
    facts.sync = Some(Sync { expected_since_ms: registered, last_success_ms: Some(date(2026, 2, 4)) });
    assert!(audit(&facts, &ledger, date(2026, 2, 4) + 3_600_000).status.active.is_empty());
    // Six months without: disabled, after monthly notices.
    let (notices, status) = daily(&facts, &mut ledger, date(2026, 2, 5), date(2026, 8, 10));
    assert_eq!(notices.len(), 7, "{:?}", kinds(&notices));
    assert_eq!(status.disabled, Some(Condition::ContactLost));
    facts.sync = Some(Sync { expected_since_ms: registered, last_success_ms: Some(date(2026, 8, 10)) });
    assert_eq!(audit(&facts, &ledger, date(2026, 8, 10) + 1).status.disabled, None);
}

// Property tests over random accounts and audit schedules.

fn arbitrary_facts() -> impl Strategy<Value = Facts> {
    let start = date(2026, 1, 1);
    (
        proptest::collection::vec((0u64..20, 0i64..400, proptest::option::of(1i64..300)), 0..4),
        proptest::collection::vec(0u64..30, 0..14),
        proptest::option::of(0i64..400),
        proptest::option::of((0i64..200, proptest::option::of(0i64..400))),
    )
        .prop_map(move |(grants, hosts, uncovered, sync)| Facts {
            setup_ms: start,
            grants: grants
                .into_iter()
                .enumerate()
                .map(|(i, (count, day, lasts))| Grant {
                    kind: if i % 2 == 0 { LicenseKind::Host } else { LicenseKind::ScheduledMeetings },
                    count,
                    installed_ms: start + day * DAY_MS,
                    expires_ms: lasts.map(|l| start + (day + l) * DAY_MS),
                })
                .collect(),
            checks: hosts
                .into_iter()
                .enumerate()
                .map(|(i, h)| Check { at_ms: start + (i as i64 + 1) * 30 * DAY_MS, hosts: h })
                .collect(),
            uncovered_version_since_ms: uncovered.map(|d| start + d * DAY_MS),
            sync: sync.map(|(expected, last)| Sync {
                expected_since_ms: start + expected * DAY_MS,
                last_success_ms: last.map(|d| start + d * DAY_MS),
            }),
        })
}

/// Audit instants: increasing, a few hours to two months apart.
fn schedule() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::vec(1i64..60 * 24, 1..40).prop_map(|gaps| {
        let mut now = date(2026, 1, 1);
        gaps.into_iter()
            .map(|hours| {
                now += hours * 3_600_000;
                now
            })
            .collect()
    })
}

/// Whether the account may be disabled at `now` by `condition`, worked out
/// from the facts alone: its grace period is over and it has held throughout.
fn grace_is_over(facts: &Facts, condition: Condition, now: i64) -> bool {
    match condition {
        Condition::Trial => !facts.licensed(now) && now >= facts.setup_ms + TRIAL_DAYS * DAY_MS,
        Condition::Overage => {
            // Some check at least six months ago found more hosts than
            // licenses, and so did every check since, and the licenses
            // now are still fewer than the last check's hosts.
            let due: Vec<&Check> = facts.checks.iter().filter(|c| c.at_ms <= now).collect();
            let over =
                |c: &Check| facts.licensed(c.at_ms) && c.hosts > facts.installed(LicenseKind::Host, c.at_ms);
            let Some(last) = due.last() else { return false };
            let run_start = due.iter().rev().take_while(|c| over(c)).last();
            run_start.is_some_and(|first| add_months(first.at_ms, GRACE_MONTHS) <= now)
                && facts.licensed(now)
                && facts.installed(LicenseKind::Host, now) < last.hosts
        }
        Condition::OutOfDate => {
            facts.uncovered_version_since_ms.is_some_and(|s| add_months(s, GRACE_MONTHS) <= now)
        }
        Condition::ContactLost => facts.sync.is_some_and(|s| {
            let last = s.last_success_ms.unwrap_or(s.expected_since_ms).max(s.expected_since_ms);
            add_months(last + CONTACT_LOST_AFTER_MS, GRACE_MONTHS) <= now
        }),
    }
}

proptest! {
    #[test]
    fn never_disabled_inside_a_grace_period(facts in arbitrary_facts(), times in schedule()) {
        let mut ledger = Ledger::default();
        for now in times {
            let done = audit(&facts, &ledger, now);
            if let Some(reason) = done.status.disabled {
                prop_assert!(grace_is_over(&facts, reason, now), "disabled by {reason:?} at {now}");
            }
            ledger = done.ledger;
        }
    }

    #[test]
    fn never_the_same_notice_twice(facts in arbitrary_facts(), times in schedule()) {
        let mut ledger = Ledger::default();
        let mut seen = BTreeSet::new();
        for now in times.iter().flat_map(|&t| [t, t]) {
            let done = audit(&facts, &ledger, now);
            for notice in done.notices {
                prop_assert!(seen.insert(notice.key), "{:?} sent twice", notice.key);
            }
            ledger = done.ledger;
        }
    }

    #[test]
    fn enough_licenses_always_lift_an_overage(facts in arbitrary_facts(), times in schedule()) {
        let mut facts = facts;
        facts.uncovered_version_since_ms = None;
        facts.sync = None;
        let mut ledger = Ledger::default();
        let mut last = 0;
        for now in times {
            ledger = audit(&facts, &ledger, now).ledger;
            last = now;
        }
        let most = facts.checks.iter().map(|c| c.hosts).max().unwrap_or(0);
        facts.grants.push(permanent(LicenseKind::Host, most + 1, last));
        let lifted = audit(&facts, &ledger, last);
        prop_assert_eq!(lifted.status.disabled, None);
        prop_assert!(lifted.status.active.is_empty());
    }

    #[test]
    fn a_late_audit_ends_in_the_same_state_as_daily_ones(facts in arbitrary_facts(), days in 1i64..420) {
        let end = date(2026, 1, 1) + days * DAY_MS;
        let mut ledger = Ledger::default();
        let (_, daily_status) = daily(&facts, &mut ledger, date(2026, 1, 1), end);
        let last_audit = end.div_euclid(DAY_MS) * DAY_MS + 2 * 3_600_000;
        let last_audit = if last_audit > end { last_audit - DAY_MS } else { last_audit };
        let late = audit(&facts, &Ledger::default(), last_audit);
        prop_assert_eq!(late.status, daily_status);
        prop_assert_eq!(late.ledger.overage, ledger.overage);
    }
}
