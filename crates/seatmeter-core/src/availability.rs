//! Booking-page availability: weekly hours and date-specific overrides,
//! checked where they enter (times `HH:MM`, each range ending after it
//! starts, ranges of a day not overlapping).

use std::fmt;

/// The days of the week, as keys of weekly hours.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Hours of one day, `[start, end)` in minutes since midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeRange {
    /// First minute.
    pub start: u16,
    /// Minute after the last (up to 1440, i.e. `24:00`).
    pub end: u16,
}

impl TimeRange {
    /// `HH:MM` of a minute of the day.
    pub fn format_minute(minute: u16) -> String {
        format!("{:02}:{:02}", minute / 60, minute % 60)
    }
}

/// What is wrong with some hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityError(pub String);

impl fmt::Display for AvailabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AvailabilityError {}

fn parse_minute(text: &str) -> Result<u16, AvailabilityError> {
    let bad = || AvailabilityError(format!("{text:?} is not a time of day HH:MM (00:00 to 24:00)"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Checks a day's `[start, end]` pairs; returns them sorted.
pub fn parse_day(ranges: &[(String, String)]) -> Result<Vec<TimeRange>, AvailabilityError> {
    let mut parsed = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        let range = TimeRange { start: parse_minute(start)?, end: parse_minute(end)? };
        if range.end <= range.start {
            return Err(AvailabilityError(format!("{start}-{end} does not end after it starts")));
        }
        parsed.push(range);
    }
    parsed.sort();
    for pair in parsed.windows(2) {
        if pair[1].start < pair[0].end {
            return Err(AvailabilityError(format!(
                "{}-{} overlaps {}-{}",
                TimeRange::format_minute(pair[0].start),
                TimeRange::format_minute(pair[0].end),
                TimeRange::format_minute(pair[1].start),
                TimeRange::format_minute(pair[1].end)
            )));
        }
    }
    Ok(parsed)
}

/// Checks a date `YYYY-MM-DD`.
pub fn check_date(text: &str) -> Result<(), AvailabilityError> {
    if text.len() == 10 && crate::time::parse_date_or_rfc3339(text.as_bytes()).is_ok() {
        Ok(())
    } else {
        Err(AvailabilityError(format!("{text:?} is not a date YYYY-MM-DD")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(ranges: &[(&str, &str)]) -> Result<Vec<TimeRange>, AvailabilityError> {
        parse_day(&ranges.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>())
    }

    #[test]
    fn hours_are_checked_and_sorted() {
        assert_eq!(
            day(&[("13:00", "17:00"), ("09:00", "12:00")]).unwrap(),
            vec![TimeRange { start: 540, end: 720 }, TimeRange { start: 780, end: 1020 }]
        );
        assert!(day(&[("00:00", "24:00")]).is_ok());
        for signed in ["+9:00", "09:+5", "-1:00", " 9:00"] {
            assert!(day(&[(signed, "23:00")]).is_err(), "{signed:?} is not HH:MM");
        }
        assert!(day(&[("09:00", "12:00"), ("12:00", "13:00")]).is_ok(), "touching ranges do not overlap");
        assert_eq!(
            day(&[("09:00", "12:00"), ("11:00", "13:00")]).unwrap_err().0,
            "09:00-12:00 overlaps 11:00-13:00"
        );
        assert!(day(&[("12:00", "09:00")]).is_err());
        for bad in ["9:00", "24:30", "12:60", "noon", "12-00"] {
            assert!(day(&[(bad, "23:00")]).is_err(), "{bad}");
        }
        assert!(check_date("2026-02-28").is_ok());
        assert!(check_date("2026-02-30").is_err());
        assert!(check_date("2026-2-3").is_err());
    }
}
