//! Instants as integer UTC nanoseconds, and the RFC 3339 parsing and
//! formatting the meeting log and the usage report need.
//!
//! The parser is hand-written rather than taken from a date library because
//! it runs twice per meeting on logs of tens of millions of rows; it accepts
//! exactly RFC 3339 `date-time` (section 5.6): a full date, `T` (or `t` or a
//! space), a full time with optional fraction, and `Z` or a numeric offset.

use std::fmt;

/// Nanoseconds in one second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Nanoseconds in one day (UTC days have no leap seconds here).
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// An instant, as nanoseconds since 1970-01-01T00:00:00Z.
///
/// The `i64` range covers 1677-09-21 to 2262-04-11; instants outside it are
/// refused with [`TimestampError::OutOfRange`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Why a text is not an RFC 3339 timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampError {
    /// The field is empty.
    Empty,
    /// The text does not have the shape `YYYY-MM-DDTHH:MM:SS[.fff](Z|±hh:mm)`.
    Malformed,
    /// A date and time without `Z` or `±hh:mm`: its instant is unknown.
    MissingOffset,
    /// A month, day, hour, minute or second out of range (`2026-02-30`, `24:00`).
    InvalidDateTime,
    /// An offset out of range (`+24:00`, `+05:75`).
    InvalidOffset,
    /// The instant is outside the years 1677 to 2262.
    OutOfRange,
}

impl TimestampError {
    /// A short description of what is wrong, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Empty => "is empty",
            Self::Malformed => "is not an RFC 3339 timestamp (expected e.g. 2026-01-06T09:00:00Z)",
            Self::MissingOffset => {
                "has no UTC offset (add Z or an offset such as +01:00, e.g. 2026-01-06T09:00:00Z)"
            }
            Self::InvalidDateTime => "is not a valid date and time",
            Self::InvalidOffset => "has an invalid UTC offset",
            Self::OutOfRange => "is outside the supported years 1677 to 2262",
        }
    }
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl std::error::Error for TimestampError {}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

#[inline]
fn digits2(b: &[u8], at: usize) -> Option<u32> {
    let hi = b.get(at)?.wrapping_sub(b'0');
    let lo = b.get(at + 1)?.wrapping_sub(b'0');
    (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
}

#[inline]
fn digits4(b: &[u8], at: usize) -> Option<u32> {
    Some(digits2(b, at)? * 100 + digits2(b, at + 2)?)
}

/// Parses a date `YYYY-MM-DD` at the start of `b`, checking the day exists.
fn parse_date(b: &[u8]) -> Result<i64, TimestampError> {
    let (Some(year), Some(month), Some(day)) = (digits4(b, 0), digits2(b, 5), digits2(b, 8)) else {
        return Err(TimestampError::Malformed);
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(TimestampError::Malformed);
    }
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(TimestampError::InvalidDateTime);
    }
    Ok(days_from_civil(year, month, day))
}

/// Remembers the day numbers of recently parsed dates. A meeting log's
/// timestamps repeat a few hundred dates, so most rows skip the calendar
/// arithmetic and checks; only dates that parsed correctly are remembered.
#[derive(Clone, Debug)]
pub struct DateCache {
    /// (first 8 bytes, last 2 bytes, day number) of `YYYY-MM-DD`; `None` when empty.
    slots: Box<[Option<(u64, u16, i64)>]>,
}

impl Default for DateCache {
    fn default() -> Self {
        Self { slots: vec![None; 1024].into_boxed_slice() }
    }
}

impl DateCache {
    fn days(&mut self, b: &[u8]) -> Result<i64, TimestampError> {
        let (Some(head), Some(tail)) = (b.first_chunk::<8>(), b.get(8..10)) else {
            return Err(TimestampError::Malformed);
        };
        let head = u64::from_le_bytes(*head);
        let tail = u16::from_le_bytes([tail[0], tail[1]]);
        let index = ((head ^ u64::from(tail) << 48).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
        let slot = &mut self.slots[index];
        if let Some((h, t, days)) = *slot
            && h == head
            && t == tail
        {
            return Ok(days);
        }
        let days = parse_date(b)?;
        *slot = Some((head, tail, days));
        Ok(days)
    }
}

/// Parses an RFC 3339 `date-time` into a [`Timestamp`].
///
/// Fractions finer than a nanosecond are truncated. Surrounding ASCII spaces
/// are ignored. Leap seconds (`:60`) are refused: the instant they name is
/// not representable on the UTC nanosecond line used everywhere else.
pub fn parse_rfc3339(text: &[u8]) -> Result<Timestamp, TimestampError> {
    parse_rfc3339_with(text, parse_date)
}

/// [`parse_rfc3339`], looking dates up in `cache` first.
#[inline]
pub fn parse_rfc3339_cached(text: &[u8], cache: &mut DateCache) -> Result<Timestamp, TimestampError> {
    parse_rfc3339_with(text, |b| cache.days(b))
}

#[inline]
fn parse_rfc3339_with(
    text: &[u8],
    date: impl FnOnce(&[u8]) -> Result<i64, TimestampError>,
) -> Result<Timestamp, TimestampError> {
    let b = text.trim_ascii();
    if b.is_empty() {
        return Err(TimestampError::Empty);
    }
    let days = date(b)?;
    if b.len() == 10 {
        return Err(TimestampError::MissingOffset);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return Err(TimestampError::Malformed);
    }
    let (Some(hour), Some(minute), Some(second)) = (digits2(b, 11), digits2(b, 14), digits2(b, 17)) else {
        return Err(TimestampError::Malformed);
    };
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return Err(TimestampError::Malformed);
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(TimestampError::InvalidDateTime);
    }
    let mut at = 19;
    let mut fraction: i64 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let first = at;
        let mut scale = NANOS_PER_SECOND / 10;
        while let Some(d) = b.get(at).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            fraction += i64::from(d) * scale;
            scale /= 10;
            at += 1;
        }
        if at == first {
            return Err(TimestampError::Malformed);
        }
    }
    let offset_seconds: i64 = match b.get(at) {
        None => return Err(TimestampError::MissingOffset),
        Some(b'Z' | b'z') if b.len() == at + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == at + 6 && b[at + 3] == b':' => {
            let (Some(oh), Some(om)) = (digits2(b, at + 1), digits2(b, at + 4)) else {
                return Err(TimestampError::Malformed);
            };
            if oh > 23 || om > 59 {
                return Err(TimestampError::InvalidOffset);
            }
            let magnitude = i64::from(oh * 3600 + om * 60);
            if *sign == b'+' { magnitude } else { -magnitude }
        }
        Some(_) => return Err(TimestampError::Malformed),
    };
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    seconds
        .checked_mul(NANOS_PER_SECOND)
        .and_then(|n| n.checked_add(fraction))
        .map(Timestamp)
        .ok_or(TimestampError::OutOfRange)
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 `date-time`.
pub fn parse_date_or_rfc3339(text: &[u8]) -> Result<Timestamp, TimestampError> {
    let b = text.trim_ascii();
    if b.len() == 10 {
        let days = parse_date(b)?;
        return days.checked_mul(NANOS_PER_DAY).map(Timestamp).ok_or(TimestampError::OutOfRange);
    }
    parse_rfc3339(b)
}

/// Writes `nanos` since the epoch as `YYYY-MM-DDTHH:MM:SSZ`, rounding down
/// to the second. Takes `i128` so window bounds past the `i64` range still print.
pub fn write_utc_seconds(out: &mut impl fmt::Write, nanos: i128) -> fmt::Result {
    let seconds = nanos.div_euclid(i128::from(NANOS_PER_SECOND));
    let days = seconds.div_euclid(86_400) as i64;
    let in_day = seconds.rem_euclid(86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` for `nanos` since the epoch (see [`write_utc_seconds`]).
pub fn format_utc_seconds(nanos: i128) -> String {
    let mut s = String::with_capacity(20);
    // Writing to a String cannot fail.
    let _ = write_utc_seconds(&mut s, nanos);
    s
}

/// RFC 3339 in UTC with the fraction only when it is not zero, for messages.
pub fn format_rfc3339(t: Timestamp) -> String {
    let mut s = format_utc_seconds(i128::from(t.0));
    let fraction = t.0.rem_euclid(NANOS_PER_SECOND);
    if fraction != 0 {
        s.pop();
        let digits = format!("{fraction:09}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
        s.push('Z');
    }
    s
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_rfc3339(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Result<Timestamp, TimestampError> {
        parse_rfc3339(s.as_bytes())
    }

    #[test]
    fn parses_utc_and_offsets_to_the_same_instant() {
        let z = ts("2026-01-06T09:00:00Z").unwrap();
        assert_eq!(ts("2026-01-06T10:30:00+01:30").unwrap(), z);
        assert_eq!(ts("2026-01-06T04:00:00-05:00").unwrap(), z);
        assert_eq!(ts("2026-01-06t09:00:00z").unwrap(), z);
        assert_eq!(ts("2026-01-06 09:00:00Z").unwrap(), z);
        assert_eq!(z.0, 1_767_690_000 * NANOS_PER_SECOND);
    }

    #[test]
    fn parses_fractions_to_the_nanosecond() {
        let base = ts("2026-01-06T09:00:00Z").unwrap().0;
        assert_eq!(ts("2026-01-06T09:00:00.5Z").unwrap().0, base + 500_000_000);
        assert_eq!(ts("2026-01-06T09:00:00.000000001Z").unwrap().0, base + 1);
        assert_eq!(ts("2026-01-06T09:00:00.0000000019Z").unwrap().0, base + 1);
        assert_eq!(ts("2026-01-06T09:00:00.Z"), Err(TimestampError::Malformed));
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        assert_eq!(ts(""), Err(TimestampError::Empty));
        assert_eq!(ts("2026-01-06T09:00:00"), Err(TimestampError::MissingOffset));
        assert_eq!(ts("2026-01-06"), Err(TimestampError::MissingOffset));
        assert_eq!(ts("2026-02-29T09:00:00Z"), Err(TimestampError::InvalidDateTime));
        assert_eq!(ts("2026-13-01T09:00:00Z"), Err(TimestampError::InvalidDateTime));
        assert_eq!(ts("2026-01-06T24:00:00Z"), Err(TimestampError::InvalidDateTime));
        assert_eq!(ts("2026-01-06T23:59:60Z"), Err(TimestampError::InvalidDateTime));
        assert_eq!(ts("2026-01-06T09:00:00+24:00"), Err(TimestampError::InvalidOffset));
        assert_eq!(ts("2026-01-06T09:00:00+0100"), Err(TimestampError::Malformed));
        assert_eq!(ts("06/01/2026 09:00"), Err(TimestampError::Malformed));
        assert_eq!(ts("2026-01-06T09:00Z"), Err(TimestampError::Malformed));
        assert_eq!(ts("2026-01-06T09:00:00Zjunk"), Err(TimestampError::Malformed));
        assert_eq!(ts("3000-01-01T00:00:00Z"), Err(TimestampError::OutOfRange));
        assert!(ts("2024-02-29T09:00:00Z").is_ok());
    }

    #[test]
    fn the_date_cache_gives_what_the_parser_gives() {
        let mut cache = DateCache::default();
        for text in [
            "2026-01-06T09:00:00Z",
            "2026-01-06T23:00:00-05:00",
            "2026-02-29T09:00:00Z",
            "2026-01-06T09:00:00Z",
            "2024-02-29T09:00:00Z",
            "2026-01-06",
            "2026-01",
            "",
            "\0\0\0\0\0\0\0\0\0\0T09:00:00Z",
        ] {
            for _ in 0..2 {
                assert_eq!(parse_rfc3339_cached(text.as_bytes(), &mut cache), ts(text), "{text:?}");
            }
        }
    }

    #[test]
    fn formats_round_trip_through_the_civil_calendar() {
        for days in [-719_468, -1, 0, 1, 10_957, 20_454, 106_751] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_utc_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc_seconds(-1), "1969-12-31T23:59:59Z");
        let t = ts("2026-03-01T00:00:00.25+01:00").unwrap();
        assert_eq!(format_rfc3339(t), "2026-02-28T23:00:00.25Z");
        assert_eq!(parse_date_or_rfc3339(b"2026-01-01").unwrap(), ts("2026-01-01T00:00:00Z").unwrap());
    }

    proptest::proptest! {
        /// Every instant a log can name (nanoseconds in an `i64`: years 1678
        /// to 2261 whole) prints as text that reads back as the same
        /// instant, and the date cache reads it as the parser does.
        #[test]
        fn instants_print_back_as_themselves(
            date in (1678u32..2262, 1u32..13, 1u32..29),
            time in (0u32..24, 0u32..60, 0u32..60, 0u32..1_000_000_000),
            offset in (proptest::bool::ANY, 0u32..24, 0u32..60),
        ) {
            let ((year, month, day), (h, m, s, nanos), (minus, oh, om)) = (date, time, offset);
            let sign = if minus { '-' } else { '+' };
            let text = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{nanos:09}{sign}{oh:02}:{om:02}");
            let t = parse_rfc3339(text.as_bytes()).unwrap();
            proptest::prop_assert_eq!(parse_rfc3339(format_rfc3339(t).as_bytes()), Ok(t), "{}", text);
            proptest::prop_assert_eq!(parse_rfc3339_cached(text.as_bytes(), &mut DateCache::default()), Ok(t));
        }
    }

    #[test]
    fn the_last_instant_prints_back() {
        let last = ts("2262-04-12T01:47:16.854775807+02:00").unwrap();
        assert_eq!(last, Timestamp(i64::MAX));
        assert_eq!(ts(&format_rfc3339(last)), Ok(last));
        assert_eq!(ts("2262-04-11T23:47:16.854775808Z"), Err(TimestampError::OutOfRange));
    }
}
