//! What the console's dashboard reads beyond the other use cases: how
//! many meetings started each day lately, in the account's time zone.
//! Like usage, it is for administrators of reports or of users & licenses.

use super::{Capability, Error, Principal, Result, Services};
use crate::store;

/// The meetings started on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCount {
    /// The day, in the account's time zone.
    pub day: jiff::civil::Date,
    /// How many meetings started on it.
    pub meetings: u64,
}

/// How many meetings started on each of the last `days` days (today the
/// last), in time zone `zone`.
pub async fn meetings_started(
    services: &Services,
    principal: &Principal,
    zone: &jiff::tz::TimeZone,
    days: i64,
    now: i64,
) -> Result<Vec<DayCount>> {
    if !principal.may(Capability::SeeUsage) {
        return Err(Error::forbidden("meeting trends need an administrator of reports"));
    }
    let from = now - (days + 1) * 86_400_000;
    let started = store::meetings::started_since(&services.db, &principal.account_id, from).await?;
    let started: Vec<jiff::civil::Date> =
        started.into_iter().map(|ms| super::compliance::local_date(zone, ms)).collect();
    let today = super::compliance::local_date(zone, now);
    Ok((0..days)
        .rev()
        .map(|back| {
            let day = today.checked_sub(jiff::Span::new().days(back)).unwrap_or(today);
            let meetings = started.iter().filter(|&&d| d == day).count() as u64;
            DayCount { day, meetings }
        })
        .collect())
}
