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

fn notice_kinds(notices: &[Notice]) -> Vec<(Condition, NoticeKind, u32)> {
    notices.iter().map(|n| (n.key.condition, n.key.kind, n.key.period)).collect()
}

#[test]
fn a_month_is_over_at_the_same_instant_of_the_next_month() {
    let since = date(2026, 1, 31) + 5;
    let one = add_months(since, 1);
    assert_eq!(one, date(2026, 2, 28) + 5);
    assert_eq!(months_between(since, since - 1), 0);
    assert_eq!(months_between(since, since), 0);
    assert_eq!(months_between(since, one - 1), 0);
    assert_eq!(months_between(since, one), 1);
    assert_eq!(months_between(since, add_months(since, 6) - 1), 5);
    assert_eq!(months_between(since, add_months(since, 6)), 6);
    // Counting stops after 10 000 months (833 years).
    assert_eq!(months_between(since, add_months(since, 10_000) - 1), 9_999);
    assert_eq!(months_between(since, add_months(since, 10_000)), 10_000);
    assert_eq!(months_between(since, add_months(since, 10_001)), 10_000);
}

#[test]
fn licenses_count_from_the_instant_installed_to_the_instant_they_expire() {
    let installed = date(2026, 2, 1) + 7;
    let expires = date(2026, 5, 1) + 9;
    let temporary =
        Grant { kind: LicenseKind::Host, count: 5, installed_ms: installed, expires_ms: Some(expires) };
    assert!(!temporary.in_force(installed - 1));
    assert!(temporary.in_force(installed));
    assert!(temporary.in_force(expires - 1));
    assert!(!temporary.in_force(expires));
    assert!(permanent(LicenseKind::Host, 1, installed).in_force(i64::MAX));

    let start = date(2026, 1, 1);
    let facts = Facts {
        setup_ms: start,
        grants: vec![
            permanent(LicenseKind::Host, 10, start),
            temporary,
            permanent(LicenseKind::ScheduledMeetings, 7, start),
            permanent(LicenseKind::Host, 3, date(2026, 6, 1)),
        ],
        ..Facts::default()
    };
    let host = |at| facts.installed(LicenseKind::Host, at);
    assert_eq!(host(start - 1), 0);
    assert_eq!(host(start), 10);
    assert_eq!(host(installed - 1), 10);
    assert_eq!(host(installed), 15);
    assert_eq!(host(expires - 1), 15);
    assert_eq!(host(expires), 10);
    assert_eq!(host(date(2026, 6, 1)), 13);
    assert_eq!(facts.installed(LicenseKind::ScheduledMeetings, start), 7);
    assert_eq!(facts.installed(LicenseKind::LiveEngagement, start), 0);
    assert!(!facts.licensed(start - 1));
    assert!(facts.licensed(start));
}

#[test]
fn a_license_file_with_no_licenses_leaves_the_trial_in_force() {
    let setup = date(2026, 1, 1);
    let facts =
        Facts { setup_ms: setup, grants: vec![permanent(LicenseKind::Host, 0, setup)], ..Facts::default() };
    assert!(!facts.licensed(setup + DAY_MS));
    let status = audit(&facts, &Ledger::default(), setup + DAY_MS).status;
    assert_eq!(status.active.iter().map(|a| a.condition).collect::<Vec<_>>(), [Condition::Trial]);
    assert_eq!(status.trial_days_left, Some(179));
}

#[test]
fn the_trial_counts_down_to_the_millisecond() {
    let setup = date(2026, 1, 1) + 10 * 3_600_000;
    let end = setup + TRIAL_DAYS * DAY_MS;
    let warning = end - TRIAL_WARNING_DAYS * DAY_MS;
    let facts = Facts { setup_ms: setup, ..Facts::default() };
    let at = |now| audit(&facts, &Ledger::default(), now);
    let days_left = |now| at(now).status.trial_days_left;
    assert_eq!(days_left(setup), Some(180));
    assert_eq!(days_left(setup + 1), Some(180));
    assert_eq!(days_left(setup + DAY_MS - 1), Some(180));
    assert_eq!(days_left(setup + DAY_MS), Some(179));
    assert_eq!(days_left(warning - 1), Some(31));
    assert_eq!(days_left(warning), Some(30));
    assert_eq!(days_left(end - 1), Some(1));
    assert_eq!(days_left(end), Some(0));
    assert_eq!(days_left(end + 5 * DAY_MS), Some(0));

    // The warning e-mail 30 days before the end, not a millisecond sooner.
    assert!(at(warning - 1).notices.is_empty());
    let warned = at(warning);
    assert_eq!(notice_kinds(&warned.notices), [(Condition::Trial, NoticeKind::Started, 0)]);
    assert_eq!(warned.notices[0].disable_ms, end);
    assert_eq!(warned.notices[0].key.since_ms, setup);

    // Disabled at day 180 exactly.
    let last = at(end - 1);
    assert_eq!(last.status.disabled, None);
    assert_eq!(
        last.status.active,
        [Active { condition: Condition::Trial, since_ms: setup, disable_ms: end, disabling: false }]
    );
    assert_eq!(notice_kinds(&last.notices), [(Condition::Trial, NoticeKind::Started, 0)]);
    let over = at(end);
    assert_eq!(over.status.disabled, Some(Condition::Trial));
    assert!(over.status.active[0].disabling);
    assert_eq!(notice_kinds(&over.notices), [(Condition::Trial, NoticeKind::Disabled, 0)]);
    assert_eq!(over.notices[0].disable_ms, end);
}

/// The timeline of a condition that notifies at its start, then monthly,
/// and disables after six months: audited from a fresh ledger each time,
/// one millisecond either side of each boundary.
fn assert_monthly_timeline(facts: &Facts, condition: Condition, since: i64) {
    let end = add_months(since, GRACE_MONTHS);
    let at = |now| audit(facts, &Ledger::default(), now);
    let ours = |a: &Audit| a.status.active.iter().find(|a| a.condition == condition).copied();
    let before = at(since - 1);
    assert_eq!(ours(&before), None, "{condition:?} before it starts");
    assert!(before.notices.iter().all(|n| n.key.condition != condition));

    let started = at(since);
    assert_eq!(
        ours(&started),
        Some(Active { condition, since_ms: since, disable_ms: end, disabling: false })
    );
    assert_eq!(notice_kinds(&started.notices), [(condition, NoticeKind::Started, 0)]);
    assert_eq!(started.notices[0].disable_ms, end);
    assert_eq!(started.notices[0].key.since_ms, since);
    assert_eq!(started.notices[0].hosts, None);

    // The first reminder a calendar month later, to the millisecond.
    assert_eq!(notice_kinds(&at(add_months(since, 1) - 1).notices), [(condition, NoticeKind::Started, 0)]);
    assert_eq!(notice_kinds(&at(add_months(since, 1)).notices), [(condition, NoticeKind::Reminder, 1)]);
    let last = at(end - 1);
    assert_eq!(notice_kinds(&last.notices), [(condition, NoticeKind::Reminder, 5)]);
    assert_eq!(last.status.disabled, None);
    let disabled = at(end);
    assert_eq!(notice_kinds(&disabled.notices), [(condition, NoticeKind::Disabled, 0)]);
    assert_eq!(disabled.status.disabled, Some(condition));
    assert_eq!(ours(&disabled).map(|a| a.disabling), Some(true));
}

#[test]
fn out_of_date_licenses_start_notify_and_disable_to_the_millisecond() {
    let upgraded = date(2026, 3, 31) + 3_600_000 + 7;
    let facts = Facts {
        setup_ms: date(2026, 1, 1),
        grants: vec![permanent(LicenseKind::Host, 10, date(2026, 1, 1))],
        uncovered_version_since_ms: Some(upgraded),
        ..Facts::default()
    };
    assert_monthly_timeline(&facts, Condition::OutOfDate, upgraded);
}

#[test]
fn contact_is_lost_two_days_to_the_millisecond_after_the_last_sync() {
    let registered = date(2026, 1, 1);
    let last_sync = date(2026, 2, 1) + 5 * 3_600_000 + 3;
    let facts = Facts {
        setup_ms: registered,
        grants: vec![permanent(LicenseKind::Host, 10, registered)],
        sync: Some(Sync { expected_since_ms: registered, last_success_ms: Some(last_sync) }),
        ..Facts::default()
    };
    assert_monthly_timeline(&facts, Condition::ContactLost, last_sync + 2 * DAY_MS);

    // Never synchronised: two days from when synchronisation became
    // expected, and a sync from before then does not count.
    for last_success_ms in [None, Some(registered)] {
        let expected = date(2026, 3, 1) + 11;
        let facts =
            Facts { sync: Some(Sync { expected_since_ms: expected, last_success_ms }), ..facts.clone() };
        assert_monthly_timeline(&facts, Condition::ContactLost, expected + 2 * DAY_MS);
    }
}

#[test]
fn a_check_at_the_audit_instant_is_applied_once() {
    let facts = overage_facts(&[12, 12, 12]);
    let (first, second) = (facts.checks[0].at_ms, facts.checks[1].at_ms);
    assert!(audit(&facts, &Ledger::default(), first - 1).notices.is_empty());
    let found = audit(&facts, &Ledger::default(), first);
    assert_eq!(notice_kinds(&found.notices), [(Condition::Overage, NoticeKind::Started, 0)]);
    assert_eq!(found.notices[0].key.since_ms, first);
    assert_eq!(found.notices[0].hosts, Some((12, 10)));
    let again = audit(&facts, &found.ledger, first);
    assert!(again.notices.is_empty());
    assert_eq!(again.ledger, found.ledger);
    let just_before = audit(&facts, &again.ledger, second - 1);
    assert!(just_before.notices.is_empty());
    assert_eq!(just_before.ledger.overage.map(|o| o.period), Some(0));
    let next = audit(&facts, &just_before.ledger, second);
    assert_eq!(notice_kinds(&next.notices), [(Condition::Overage, NoticeKind::Reminder, 1)]);
}

#[test]
fn as_many_hosts_as_licenses_is_no_overage() {
    let facts = overage_facts(&[10, 11]);
    let within = audit(&facts, &Ledger::default(), facts.checks[0].at_ms);
    assert_eq!(within.ledger.overage, None);
    assert!(within.notices.is_empty());
    let over = audit(&facts, &within.ledger, facts.checks[1].at_ms);
    assert_eq!(
        over.ledger.overage,
        Some(OverageEpisode { since_ms: facts.checks[1].at_ms, period: 0, hosts: 11, installed: 10 })
    );
}

#[test]
fn an_overage_disables_six_calendar_months_after_the_check_that_found_it() {
    let facts = overage_facts(&[12; 9]);
    let found = date(2026, 1, 31);
    let end = add_months(found, GRACE_MONTHS);
    assert_eq!(end, date(2026, 7, 31));
    let last = audit(&facts, &Ledger::default(), end - 1);
    assert_eq!(last.status.disabled, None);
    assert_eq!(
        last.status.active,
        [Active { condition: Condition::Overage, since_ms: found, disable_ms: end, disabling: false }]
    );
    // Checks on Jan 31, Mar 2, Apr 1, May 1, May 31, Jun 30 and Jul 30.
    assert_eq!(notice_kinds(&last.notices), [(Condition::Overage, NoticeKind::Reminder, 6)]);
    let disabled = audit(&facts, &last.ledger, end);
    assert_eq!(disabled.status.disabled, Some(Condition::Overage));
    assert_eq!(notice_kinds(&disabled.notices), [(Condition::Overage, NoticeKind::Disabled, 0)]);
    assert_eq!(disabled.notices[0].disable_ms, end);
    assert_eq!(disabled.notices[0].hosts, Some((12, 10)));
}

#[test]
fn overage_notices_name_the_hosts_and_licenses_of_the_last_check() {
    let mut facts = overage_facts(&[12, 13, 11]);
    let checks: Vec<i64> = facts.checks.iter().map(|c| c.at_ms).collect();
    facts.grants.push(permanent(LicenseKind::Host, 1, checks[0] + DAY_MS));
    let first = audit(&facts, &Ledger::default(), checks[0]);
    assert_eq!(first.notices[0].hosts, Some((12, 10)));
    // 11 licenses do not cover the 12 hosts of the last check: still over.
    let added = audit(&facts, &first.ledger, checks[0] + DAY_MS);
    assert!(added.notices.is_empty());
    assert_eq!(added.ledger.overage, first.ledger.overage);
    let second = audit(&facts, &added.ledger, checks[1]);
    assert_eq!(notice_kinds(&second.notices), [(Condition::Overage, NoticeKind::Reminder, 1)]);
    assert_eq!(second.notices[0].hosts, Some((13, 11)));
    assert_eq!(
        second.ledger.overage,
        Some(OverageEpisode { since_ms: checks[0], period: 1, hosts: 13, installed: 11 })
    );
    let third = audit(&facts, &second.ledger, checks[2]);
    assert_eq!(third.ledger.overage, None, "11 hosts on 11 licenses");
    assert!(third.status.active.is_empty());
}

#[test]
fn licenses_added_end_an_overage_once_they_cover_its_hosts() {
    let mut facts = overage_facts(&[12]);
    let found = facts.checks[0].at_ms;
    let over = audit(&facts, &Ledger::default(), found);
    assert!(over.ledger.overage.is_some());
    // Other kinds of licenses are not host licenses.
    facts.grants.push(permanent(LicenseKind::ScheduledMeetings, 50, found + 1));
    facts.grants.push(permanent(LicenseKind::Host, 1, found + 2));
    let short = audit(&facts, &over.ledger, found + 2);
    assert_eq!(short.ledger.overage.map(|o| o.since_ms), Some(found));
    assert_eq!(short.status.active.len(), 1);
    facts.grants.push(permanent(LicenseKind::Host, 1, found + 3));
    let covered = audit(&facts, &short.ledger, found + 3);
    assert_eq!(covered.ledger.overage, None);
    assert!(covered.status.active.is_empty());
    assert!(covered.notices.is_empty());
}

#[test]
fn an_audit_evaluated_before_the_last_one_applies_nothing() {
    let facts = overage_facts(&[12, 12]);
    let second = facts.checks[1].at_ms;
    let latest = audit(&facts, &Ledger::default(), second);
    assert!(latest.ledger.overage.is_some());
    // Before the licenses were installed: the trial would govern then, but
    // what later audits concluded stands.
    let earlier = audit(&facts, &latest.ledger, date(2025, 12, 31));
    assert_eq!(earlier.ledger.overage, latest.ledger.overage);
    assert_eq!(earlier.ledger.audited_through_ms, Some(second));
}

#[test]
fn without_licenses_the_trial_governs_not_overage() {
    // Checks while in the trial find hosts, but there are no licenses to exceed.
    let mut facts = overage_facts(&[12, 12, 12]);
    facts.grants.clear();
    let checks: Vec<i64> = facts.checks.iter().map(|c| c.at_ms).collect();
    let trial = audit(&facts, &Ledger::default(), checks[1]);
    assert_eq!(trial.ledger.overage, None);
    assert_eq!(trial.status.active.iter().map(|a| a.condition).collect::<Vec<_>>(), [Condition::Trial]);
    assert!(trial.notices.is_empty());

    // Temporary licenses that expire during an overage end it: the trial
    // governs again, and its day 180 (2026-06-30) has not come.
    facts.grants.push(Grant {
        kind: LicenseKind::Host,
        count: 10,
        installed_ms: date(2026, 1, 1),
        expires_ms: Some(checks[1] + 5),
    });
    let over = audit(&facts, &Ledger::default(), checks[0]);
    assert!(over.ledger.overage.is_some());
    let still = audit(&facts, &over.ledger, checks[1] + 4);
    assert_eq!(still.ledger.overage.map(|o| o.period), Some(1));
    let expired = audit(&facts, &still.ledger, checks[1] + 5);
    assert_eq!(expired.ledger.overage, None);
    assert_eq!(expired.status.active.iter().map(|a| a.condition).collect::<Vec<_>>(), [Condition::Trial]);
    assert_eq!(expired.status.disabled, None);
}

#[test]
fn the_banner_lists_temporary_licenses_in_force_by_expiry() {
    let start = date(2026, 1, 1);
    let temporary = |kind, count, installed_ms, expires_ms| Grant {
        kind,
        count,
        installed_ms,
        expires_ms: Some(expires_ms),
    };
    let facts = Facts {
        setup_ms: start,
        grants: vec![
            permanent(LicenseKind::Host, 10, start),
            temporary(LicenseKind::ScheduledMeetings, 4, start, date(2026, 9, 1)),
            temporary(LicenseKind::Host, 5, start, date(2026, 6, 1)),
            // Not yet installed, already expired, or no licenses at all: not shown.
            temporary(LicenseKind::Host, 6, date(2026, 4, 1), date(2026, 12, 1)),
            temporary(LicenseKind::Host, 7, start, date(2026, 2, 1)),
            temporary(LicenseKind::LiveEngagement, 0, start, date(2026, 12, 1)),
        ],
        ..Facts::default()
    };
    let now = date(2026, 3, 1);
    assert_eq!(
        audit(&facts, &Ledger::default(), now).status.temporary,
        [
            Temporary { kind: LicenseKind::Host, count: 5, expires_ms: date(2026, 6, 1) },
            Temporary { kind: LicenseKind::ScheduledMeetings, count: 4, expires_ms: date(2026, 9, 1) },
        ]
    );
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
