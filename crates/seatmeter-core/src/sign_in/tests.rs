use proptest::prelude::*;

use super::*;

const NOW: i64 = 1_800_000_000_000;

fn default_policy() -> Policy {
    Policy::new(10, 15)
}

#[test]
fn three_failures_pass_then_each_waits_longer_up_to_a_minute() {
    let policy = default_policy();
    assert_eq!(decide(&policy, &[], NOW), Decision::Allowed);
    assert_eq!(decide(&policy, &[NOW - 5, NOW - 3], NOW), Decision::Allowed);
    let three = [NOW - 2, NOW - 1, NOW];
    let waiting = decide(&policy, &three, NOW);
    assert_eq!(waiting, Decision::Wait { until_ms: NOW + 1_000 });
    assert_eq!(waiting.refusal(NOW).as_deref(), Some("wait 1 second before trying again"));
    assert_eq!(decide(&policy, &three, NOW + 1_000), Decision::Allowed);
    assert_eq!(
        [3, 4, 5, 8, 9, 10, 50].map(wait_after),
        [1_000, 2_000, 4_000, 32_000, 60_000, 60_000, 60_000]
    );
    let five = [NOW - 4, NOW - 3, NOW - 2, NOW - 1, NOW];
    assert_eq!(
        decide(&policy, &five, NOW).refusal(NOW).as_deref(),
        Some("wait 4 seconds before trying again")
    );
}

#[test]
fn the_threshold_locks_for_the_lockout_time_from_the_last_failure() {
    let policy = default_policy();
    let failures: Vec<i64> = (0..10).map(|i| NOW - 10 * MINUTE_MS + i * 61_000).collect();
    let last = failures[9];
    let now = last + MINUTE_MS;
    let locked = decide(&policy, &failures, now);
    assert_eq!(locked, Decision::Locked { until_ms: last + 15 * MINUTE_MS });
    assert_eq!(
        locked.refusal(now).as_deref(),
        Some("too many failed sign-ins: this user is locked for 14 more minutes")
    );
    // The lock lasts while the threshold's failures fall within the lockout time.
    let first_out = failures[0] + 15 * MINUTE_MS;
    assert!(matches!(decide(&policy, &failures, first_out - 1), Decision::Locked { .. }));
    assert_eq!(decide(&policy, &failures, first_out), Decision::Allowed);

    let at_once = [NOW; 10];
    let near_end = NOW + 15 * MINUTE_MS - 1;
    assert_eq!(
        decide(&policy, &at_once, near_end).refusal(near_end).as_deref(),
        Some("too many failed sign-ins: this user is locked for 1 more minute")
    );
    assert_eq!(decide(&policy, &at_once, NOW + 15 * MINUTE_MS), Decision::Allowed);
}

#[test]
fn the_hourly_cap_refuses_whatever_the_policy() {
    let policy = Policy::new(1_000, 1);
    let failures: Vec<i64> = (0..100).map(|i| NOW - i * 30_000).collect();
    let over = decide(&policy, &failures, NOW);
    assert_eq!(over, Decision::OverHourlyCap);
    assert_eq!(
        over.refusal(NOW).as_deref(),
        Some("too many failed sign-ins in the last hour: try again later")
    );
    assert_eq!(decide(&policy, &failures[..99], NOW + MINUTE_MS), Decision::Allowed);
    assert!(policy.counted_after(NOW) <= NOW - HOUR_MS);
    assert_eq!(Policy::new(10, 120).counted_after(NOW), NOW - 120 * MINUTE_MS);
}

fn policies() -> impl Strategy<Value = Policy> {
    (3i64..=100, 1i64..=1440, 1i64..=150).prop_map(|(threshold, lockout_minutes, hourly_cap)| Policy {
        threshold,
        lockout_minutes,
        hourly_cap,
        free_failures: FREE_FAILURES,
    })
}

/// Failure times within the day before [`NOW`], the last one at most.
fn failures() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::vec(0i64..=86_400_000, 0..160)
        .prop_map(|ages| ages.into_iter().map(|age| NOW - age).collect())
}

/// Gaps between attempts, from a tenth of a second to ten minutes.
fn attempts() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::vec(100i64..=600_000, 1..600)
}

proptest! {
    #[test]
    fn a_lock_ends_by_itself_within_the_lockout_time_of_the_last_failure(
        policy in policies(),
        failures in failures(),
        later in 0i64..=3 * HOUR_MS,
    ) {
        let now = NOW + later;
        if let Decision::Locked { until_ms } = decide(&policy, &failures, now) {
            let last = failures.iter().copied().max().unwrap_or(i64::MIN);
            prop_assert!(until_ms > now, "a lock that has ended is no lock");
            prop_assert!(until_ms <= last + policy.lockout_ms());
        }
        if let Some(last) = failures.iter().copied().max() {
            let free = last + Ord::max(policy.lockout_ms(), HOUR_MS);
            prop_assert_eq!(decide(&policy, &failures, free), Decision::Allowed);
        }
    }

    #[test]
    fn a_wait_is_never_longer_than_a_minute(
        policy in policies(),
        failures in failures(),
        later in 0i64..=2 * MINUTE_MS,
    ) {
        let now = NOW + later;
        let decision = decide(&policy, &failures, now);
        if let Decision::Wait { until_ms } = decision {
            prop_assert!(until_ms > now && until_ms - now <= MAX_WAIT_MS);
            let refusal = decision.refusal(now).unwrap_or_default();
            let seconds: i64 = refusal.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(i64::MAX);
            prop_assert!((1..=60).contains(&seconds), "{}", refusal);
        }
    }

    #[test]
    fn another_failure_never_makes_the_decision_milder(
        policy in policies(),
        failures in failures(),
        another in 0i64..=86_400_000,
    ) {
        let before = decide(&policy, &failures, NOW);
        let mut more = failures.clone();
        more.push(NOW - another);
        let after = decide(&policy, &more, NOW);
        prop_assert!(after.severity() >= before.severity(), "{:?} then {:?}", before, after);
    }

    #[test]
    fn no_more_failures_than_the_cap_are_taken_in_any_hour(policy in policies(), gaps in attempts()) {
        // Every attempt is wrong; only those allowed are recorded as failures.
        let mut now = NOW;
        let mut taken: Vec<i64> = Vec::new();
        for gap in gaps {
            now += gap;
            if decide(&policy, &taken, now) == Decision::Allowed {
                taken.push(now);
            }
        }
        for (i, &from) in taken.iter().enumerate() {
            let in_hour = taken[i..].iter().take_while(|&&at| at < from + HOUR_MS).count();
            prop_assert!(i64::try_from(in_hour).unwrap_or(i64::MAX) <= policy.hourly_cap);
        }
    }
}

proptest! {
    /// Keeping only the retained failures changes no decision of any of the
    /// policies, now or later, until new failures come.
    #[test]
    fn retained_failures_decide_as_all_of_them(policy in policies(), failures in failures(), later in 0i64..=3_600_000) {
        let mut failures = failures;
        failures.sort_unstable();
        let all = [policy, Policy::delays(), Policy::source()];
        let kept = retained(&all, &failures, NOW);
        prop_assert!(kept.len() <= 1_000);
        for p in &all {
            prop_assert_eq!(decide(p, &kept, NOW + later), decide(p, &failures, NOW + later));
        }
    }
}

#[test]
fn every_address_gets_the_same_delays_and_no_lock_and_a_source_more_room() {
    let delays = Policy::delays();
    let many: Vec<i64> = (0..20).map(|i| NOW - 20 + i).collect();
    // Delays, never a lock, however many failures.
    assert_eq!(decide(&delays, &many[..3], NOW), Decision::Wait { until_ms: NOW - 18 + 1_000 });
    assert_eq!(decide(&delays, &many, NOW), Decision::Wait { until_ms: NOW - 1 + MAX_WAIT_MS });
    // One source: thirty failures in a row pass, then it waits a second.
    let source = Policy::source();
    let thirty: Vec<i64> = (0..30).map(|i| NOW - 30 + i).collect();
    assert_eq!(decide(&source, &thirty[..29], NOW), Decision::Allowed);
    assert_eq!(decide(&source, &thirty, NOW), Decision::Wait { until_ms: NOW - 1 + 1_000 });
    assert_eq!(wait_after_free(31, 30), 2_000);
    let hour: Vec<i64> = (0..1_000).map(|i| NOW - 3_000_000 + i * 3_000).collect();
    assert_eq!(decide(&source, &hour, NOW), Decision::OverHourlyCap);
}
