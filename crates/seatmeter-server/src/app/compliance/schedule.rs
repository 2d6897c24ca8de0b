//! When the daily audit runs: at 02:00 in the account's time zone, once
//! every local day however the clocks change.

/// The time zone of an account (UTC if its name is unknown).
pub fn zone(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// The local date of `ms` in `tz`.
pub fn local_date(tz: &jiff::tz::TimeZone, ms: i64) -> jiff::civil::Date {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
        .date()
}

/// 02:00 of the local day of `day`, in `tz` (03:00 where 02:00 does not
/// exist that day; the first 02:00 where it happens twice).
fn two_am(tz: &jiff::tz::TimeZone, day: jiff::civil::Date) -> i64 {
    let local = day.at(2, 0, 0, 0);
    local
        .to_zoned_datetime(tz.clone())
        .or_else(|_| local.to_zoned_datetime(jiff::tz::TimeZone::UTC))
        .map_or(0, |z| z.timestamp().as_millisecond())
}

/// The first audit time (02:00 local) after `ms`.
pub fn next_audit_after(time_zone: &str, ms: i64) -> i64 {
    let tz = zone(time_zone);
    let mut day = local_date(&tz, ms).yesterday().unwrap_or(jiff::civil::Date::MIN);
    loop {
        let at = two_am(&tz, day);
        if at > ms {
            return at;
        }
        day = day.tomorrow().unwrap_or(jiff::civil::Date::MAX);
    }
}

/// The last audit time (02:00 local) at or before `ms`.
pub fn last_audit_at_or_before(time_zone: &str, ms: i64) -> i64 {
    let tz = zone(time_zone);
    let mut day = local_date(&tz, ms).tomorrow().unwrap_or(jiff::civil::Date::MAX);
    loop {
        let at = two_am(&tz, day);
        if at <= ms {
            return at;
        }
        day = day.yesterday().unwrap_or(jiff::civil::Date::MIN);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn audits_run_at_two_in_the_morning_local_time_across_daylight_saving_changes() {
        // New York springs forward on 2026-03-08 (02:00 does not exist: 03:00 EDT).
        let zone = "America/New_York";
        assert_eq!(next_audit_after(zone, at("2026-03-07T12:00:00Z")), at("2026-03-08T07:00:00Z"));
        assert_eq!(next_audit_after(zone, at("2026-03-08T07:00:00Z")), at("2026-03-09T06:00:00Z"));
        // And falls back on 2026-11-01 (02:00 EST happens once).
        assert_eq!(next_audit_after(zone, at("2026-10-31T12:00:00Z")), at("2026-11-01T07:00:00Z"));
        // London falls back on 2026-10-25 at 02:00 BST → 01:00: 02:00 once, GMT.
        let zone = "Europe/London";
        assert_eq!(next_audit_after(zone, at("2026-10-24T12:00:00Z")), at("2026-10-25T02:00:00Z"));
        assert_eq!(next_audit_after(zone, at("2026-03-28T12:00:00Z")), at("2026-03-29T01:00:00Z"));
        // Every day gets exactly one audit, however the clocks change.
        for zone in ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"] {
            let mut t = at("2026-01-01T00:00:00Z");
            let mut days = BTreeSet::new();
            for _ in 0..366 {
                let next = next_audit_after(zone, t);
                assert!(next > t);
                assert_eq!(last_audit_at_or_before(zone, next), next);
                assert!(days.insert(local_date(&super::zone(zone), next)), "{zone}: two audits on one day");
                t = next;
            }
        }
    }
}
