//! The meeting-log format (SPEC "Meeting log format"): which columns a log
//! has, how a CSV record splits into fields, and how a record's fields become
//! a checked [`MeetingRecord`] or a [`RecordError`] saying what is wrong.
//!
//! Reading files, decompression and threads live in the binary; this module
//! only looks at bytes already in memory.

use std::fmt;

use crate::time::{
    DateCache, Timestamp, TimestampError, format_rfc3339, parse_rfc3339, parse_rfc3339_cached,
};

/// The columns every meeting log must have, in the order SPEC lists them.
pub const REQUIRED_COLUMNS: [&str; 6] =
    ["meeting_id", "host", "start", "end", "web_attendees", "phone_attendees"];

/// Where each required column is in a CSV log's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// Index of `meeting_id`.
    pub meeting_id: usize,
    /// Index of `host`.
    pub host: usize,
    /// Index of `start`.
    pub start: usize,
    /// Index of `end`.
    pub end: usize,
    /// Index of `web_attendees`.
    pub web_attendees: usize,
    /// Index of `phone_attendees`.
    pub phone_attendees: usize,
    /// Number of fields in the header (every record must have as many).
    pub width: usize,
}

/// What is wrong with a log's header line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The input has no header line at all.
    Empty,
    /// The header is one field containing another delimiter.
    WrongDelimiter {
        /// The delimiter the header seems to use.
        delimiter: char,
    },
    /// Required columns are not in the header.
    MissingColumns {
        /// The required columns not found.
        missing: Vec<&'static str>,
        /// The column names the header has.
        found: Vec<String>,
    },
    /// A required column appears twice.
    DuplicateColumn(&'static str),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = REQUIRED_COLUMNS.join(",");
        match self {
            Self::Empty => write!(f, "the input is empty: expected a header line such as `{expected}`"),
            Self::WrongDelimiter { delimiter } => write!(
                f,
                "the header looks {}-separated; meeting logs must be comma-separated (expected `{expected}`)",
                match delimiter {
                    '\t' => "tab".to_string(),
                    other => format!("`{other}`"),
                }
            ),
            Self::MissingColumns { missing, found } => write!(
                f,
                "the header lacks the column{} {}; it has {} (required: `{expected}`, in any order)",
                if missing.len() == 1 { "" } else { "s" },
                missing.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
                if found.is_empty() {
                    "no columns".to_string()
                } else {
                    found.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                }
            ),
            Self::DuplicateColumn(c) => write!(f, "the header names the column `{c}` twice"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// Finds the required columns in a header's fields. Names are compared
/// case-insensitively after trimming spaces; extra columns are ignored.
pub fn resolve_header(fields: &[&[u8]]) -> Result<ColumnMap, HeaderError> {
    if let [only] = fields
        && let Some(&d) = only.iter().find(|b| matches!(b, b';' | b'\t' | b'|'))
    {
        return Err(HeaderError::WrongDelimiter { delimiter: char::from(d) });
    }
    let mut index = [None::<usize>; 6];
    for (i, field) in fields.iter().enumerate() {
        let name = field.trim_ascii();
        if let Some(c) = REQUIRED_COLUMNS.iter().position(|c| c.as_bytes().eq_ignore_ascii_case(name)) {
            if index[c].is_some() {
                return Err(HeaderError::DuplicateColumn(REQUIRED_COLUMNS[c]));
            }
            index[c] = Some(i);
        }
    }
    match index {
        [
            Some(meeting_id),
            Some(host),
            Some(start),
            Some(end),
            Some(web_attendees),
            Some(phone_attendees),
        ] => Ok(ColumnMap {
            meeting_id,
            host,
            start,
            end,
            web_attendees,
            phone_attendees,
            width: fields.len(),
        }),
        _ => Err(HeaderError::MissingColumns {
            missing: REQUIRED_COLUMNS
                .iter()
                .zip(index)
                .filter(|(_, i)| i.is_none())
                .map(|(c, _)| *c)
                .collect(),
            found: fields
                .iter()
                .filter(|f| !f.is_empty())
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
        }),
    }
}

/// A meeting row whose fields have all been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeetingRecord<'a> {
    /// The meeting's id (unique in a log).
    pub meeting_id: &'a [u8],
    /// The meeting's host (owner); whether it is UTF-8 text is checked by
    /// whoever keeps host names (see [`check_meeting`]).
    pub host: &'a [u8],
    /// When it started.
    pub start: Timestamp,
    /// When it ended (after `start`).
    pub end: Timestamp,
    /// How many joined the web portion.
    pub web_attendees: u64,
    /// How many joined the teleconference portion.
    pub phone_attendees: u64,
}

/// What is wrong with one record of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The record has a different number of fields than the header.
    FieldCount {
        /// Fields in the record.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A quoted field is not closed before the end of the input.
    UnterminatedQuote,
    /// A required field is empty.
    EmptyField(&'static str),
    /// A field is not valid UTF-8 text.
    NotText(&'static str),
    /// `start` or `end` is not an RFC 3339 timestamp with an offset.
    BadTimestamp {
        /// The column.
        column: &'static str,
        /// The text found.
        value: String,
        /// What is wrong with it.
        error: TimestampError,
    },
    /// An attendee count is not an integer >= 0.
    BadCount {
        /// The column.
        column: &'static str,
        /// The text found.
        value: String,
    },
    /// `end` is not after `start`.
    EndNotAfterStart {
        /// The start instant.
        start: Timestamp,
        /// The end instant.
        end: Timestamp,
    },
    /// A JSON Lines object that does not parse or lacks a field.
    Json(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldCount { found, expected } => {
                write!(
                    f,
                    "has {found} fields but the header has {expected} (is a comma inside a field not quoted?)"
                )
            }
            Self::UnterminatedQuote => f.write_str("has a quoted field that is never closed"),
            Self::EmptyField(column) => write!(f, "column `{column}` is empty"),
            Self::NotText(column) => write!(f, "column `{column}` is not valid UTF-8 text"),
            Self::BadTimestamp { column, value, error } => {
                write!(f, "column `{column}`: {value:?} {error}")
            }
            Self::BadCount { column, value } => {
                write!(f, "column `{column}`: {value:?} is not a whole number of attendees (0 or more)")
            }
            Self::EndNotAfterStart { start, end } => write!(
                f,
                "`end` ({}) is not after `start` ({}): a meeting must last a positive time",
                format_rfc3339(*end),
                format_rfc3339(*start)
            ),
            Self::Json(message) => write!(f, "is not a meeting object: {message}"),
        }
    }
}

impl std::error::Error for RecordError {}

/// Parses an attendee count: ASCII digits, surrounding spaces allowed.
pub fn parse_count(column: &'static str, text: &[u8]) -> Result<u64, RecordError> {
    let digits = text.trim_ascii();
    let bad = || RecordError::BadCount { column, value: String::from_utf8_lossy(text).into_owned() };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut n: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(bad());
        }
        n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d))).ok_or_else(bad)?;
    }
    Ok(n)
}

/// Parses `start` or `end`.
pub fn parse_instant(column: &'static str, text: &[u8]) -> Result<Timestamp, RecordError> {
    parse_rfc3339(text).map_err(|error| timestamp_error(column, text, error))
}

fn timestamp_error(column: &'static str, text: &[u8], error: TimestampError) -> RecordError {
    RecordError::BadTimestamp { column, value: String::from_utf8_lossy(text).into_owned(), error }
}

/// Checks the parts of a meeting that do not depend on the input syntax:
/// ids present and `end > start`. Whether the host is UTF-8 text is left to
/// whoever keeps host names ([`RecordError::NotText`]): a reader that has
/// seen the same bytes before need not check them again.
pub fn check_meeting<'a>(
    meeting_id: &'a [u8],
    host: &'a [u8],
    start: Timestamp,
    end: Timestamp,
    web_attendees: u64,
    phone_attendees: u64,
) -> Result<MeetingRecord<'a>, RecordError> {
    if meeting_id.is_empty() {
        return Err(RecordError::EmptyField("meeting_id"));
    }
    if host.is_empty() {
        return Err(RecordError::EmptyField("host"));
    }
    if end <= start {
        return Err(RecordError::EndNotAfterStart { start, end });
    }
    Ok(MeetingRecord { meeting_id, host, start, end, web_attendees, phone_attendees })
}

/// Splits CSV records (RFC 4180) into fields, reusing its buffers.
///
/// Records without a quote character take a fast path that only looks for
/// commas; quoted fields are unescaped into a scratch buffer.
#[derive(Debug, Default)]
pub struct CsvSplitter {
    scratch: Vec<u8>,
    bounds: Vec<(usize, usize)>,
}

/// The fields of one record, borrowed from the record or the splitter.
#[derive(Debug)]
pub struct Fields<'a> {
    base: &'a [u8],
    bounds: &'a [(usize, usize)],
}

impl<'a> Fields<'a> {
    /// Fields given as `(start, end)` byte ranges of `base`, for callers that
    /// found the commas themselves (ranges past `base` read as empty).
    pub fn from_bounds(base: &'a [u8], bounds: &'a [(usize, usize)]) -> Self {
        Self { base, bounds }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Field `i`, or an empty slice past the end.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.bounds.get(i).and_then(|&(s, e)| self.base.get(s..e)).unwrap_or(&[])
    }

    /// All fields.
    pub fn to_vec(&self) -> Vec<&'a [u8]> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// Checks the record's fields against the header's columns, parsing
    /// dates through `dates`.
    pub fn to_meeting(
        &self,
        columns: &ColumnMap,
        dates: &mut DateCache,
    ) -> Result<MeetingRecord<'a>, RecordError> {
        if self.len() != columns.width {
            return Err(RecordError::FieldCount { found: self.len(), expected: columns.width });
        }
        let (start, end) = (self.get(columns.start), self.get(columns.end));
        let start = parse_rfc3339_cached(start, dates).map_err(|e| timestamp_error("start", start, e))?;
        let end = parse_rfc3339_cached(end, dates).map_err(|e| timestamp_error("end", end, e))?;
        let web = parse_count("web_attendees", self.get(columns.web_attendees))?;
        let phone = parse_count("phone_attendees", self.get(columns.phone_attendees))?;
        check_meeting(self.get(columns.meeting_id), self.get(columns.host), start, end, web, phone)
    }
}

impl CsvSplitter {
    /// Splits `record` (one record, without its final line terminator).
    pub fn split<'a>(&'a mut self, record: &'a [u8]) -> Result<Fields<'a>, RecordError> {
        self.bounds.clear();
        if !record.contains(&b'"') {
            let mut from = 0;
            for comma in memchr::memchr_iter(b',', record) {
                self.bounds.push((from, comma));
                from = comma + 1;
            }
            self.bounds.push((from, record.len()));
            return Ok(Fields { base: record, bounds: &self.bounds });
        }
        self.scratch.clear();
        let mut i = 0;
        loop {
            let field_start = self.scratch.len();
            if record.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match record.get(i) {
                        None => return Err(RecordError::UnterminatedQuote),
                        Some(b'"') if record.get(i + 1) == Some(&b'"') => {
                            self.scratch.push(b'"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            self.scratch.push(c);
                            i += 1;
                        }
                    }
                }
            }
            // Unquoted text, or text after a closing quote, up to the next comma.
            while let Some(&c) = record.get(i) {
                if c == b',' {
                    break;
                }
                self.scratch.push(c);
                i += 1;
            }
            self.bounds.push((field_start, self.scratch.len()));
            if record.get(i) == Some(&b',') {
                i += 1;
            } else {
                break;
            }
        }
        Ok(Fields { base: &self.scratch, bounds: &self.bounds })
    }
}

/// Where a CSV scanner is within a record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: it closes the field, or a second quote follows.
    QuoteSeen,
}

/// The end of the record that starts at `buf[from..]`: the index of the
/// `\n` that terminates it, skipping newlines inside quoted fields. A quote
/// opens a quoted field only at the start of a field, as in [`CsvSplitter`].
/// `None` when the record is not terminated within `buf`.
pub fn record_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut state = QuoteState::FieldStart;
    let mut at = from;
    loop {
        let nl = at + memchr::memchr(b'\n', buf.get(at..)?)?;
        let line = &buf[at..nl];
        if state != QuoteState::Quoted && !line.contains(&b'"') {
            return Some(nl);
        }
        for &c in line {
            state = match (state, c) {
                (QuoteState::Quoted, b'"') => QuoteState::QuoteSeen,
                (QuoteState::Quoted, _) | (QuoteState::QuoteSeen | QuoteState::FieldStart, b'"') => {
                    QuoteState::Quoted
                }
                (_, b',') => QuoteState::FieldStart,
                _ => QuoteState::Unquoted,
            };
        }
        if state != QuoteState::Quoted {
            return Some(nl);
        }
        at = nl + 1;
    }
}

/// `record` without a trailing `\r` (CRLF line endings).
#[inline]
pub fn trim_cr(record: &[u8]) -> &[u8] {
    record.strip_suffix(b"\r").unwrap_or(record)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the bytes, splitting and checking a record answers, and never panics.
        #[test]
        fn any_bytes_get_an_answer(record in prop::collection::vec(prop_oneof![
            Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(b'-'), Just(b':'), Just(b'T'), Just(b'Z'), Just(b'+'),
            Just(b'.'), b'0'..=b'9', any::<u8>()
        ], 0..120)) {
            let map = ColumnMap { meeting_id: 0, host: 1, start: 2, end: 3, web_attendees: 4, phone_attendees: 5, width: 6 };
            let mut splitter = CsvSplitter::default();
            if let Ok(fields) = splitter.split(&record) {
                let _ = fields.to_meeting(&map, &mut DateCache::default());
                let _ = resolve_header(&fields.to_vec());
            }
            let _ = record_end(&record, 0);
            let _ = crate::time::parse_date_or_rfc3339(&record);
        }

        /// Whatever fields a record splits into, quoting each of them again
        /// makes one record (ending at its own line feed) of the same fields.
        #[test]
        fn fields_quoted_again_split_back(record in prop::collection::vec(prop_oneof![
            Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), any::<u8>()
        ], 0..80)) {
            let mut splitter = CsvSplitter::default();
            let Ok(fields) = splitter.split(&record) else { return Ok(()) };
            let fields: Vec<Vec<u8>> = fields.to_vec().into_iter().map(<[u8]>::to_vec).collect();
            let mut quoted = Vec::new();
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    quoted.push(b',');
                }
                quoted.push(b'"');
                for &b in field {
                    if b == b'"' {
                        quoted.push(b'"');
                    }
                    quoted.push(b);
                }
                quoted.push(b'"');
            }
            let again: Vec<Vec<u8>> = splitter.split(&quoted).unwrap().to_vec().into_iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(again, fields);
            let end = quoted.len();
            quoted.extend_from_slice(b"\nnext\n");
            prop_assert_eq!(record_end(&quoted, 0), Some(end));
        }
    }

    fn columns(header: &str) -> Result<ColumnMap, HeaderError> {
        let fields: Vec<&[u8]> = header.split(',').map(str::as_bytes).collect();
        resolve_header(&fields)
    }

    #[test]
    fn finds_columns_in_any_order_and_ignores_extras() {
        let map = columns("host,extra,END,start,phone_attendees, web_attendees ,meeting_id").unwrap();
        assert_eq!((map.meeting_id, map.host, map.start, map.end), (6, 0, 3, 2));
        assert_eq!((map.web_attendees, map.phone_attendees, map.width), (5, 4, 7));
    }

    #[test]
    fn header_errors_say_what_is_wrong() {
        let missing = columns("meeting_id,host,start,web_attendees").unwrap_err();
        assert_eq!(
            missing.to_string(),
            "the header lacks the columns `end`, `phone_attendees`; it has `meeting_id`, `host`, `start`, \
             `web_attendees` (required: `meeting_id,host,start,end,web_attendees,phone_attendees`, in any order)"
        );
        assert_eq!(
            columns("meeting_id;host;start;end;web_attendees;phone_attendees").unwrap_err(),
            HeaderError::WrongDelimiter { delimiter: ';' }
        );
        assert_eq!(
            columns("host,host,start,end,web_attendees,phone_attendees,meeting_id").unwrap_err(),
            HeaderError::DuplicateColumn("host")
        );
    }

    #[test]
    fn splits_quoted_fields() {
        let mut splitter = CsvSplitter::default();
        let fields = splitter.split(br#"m1,"Doe, Jane","say ""hi""",x"y,"",last"#).unwrap().to_vec();
        assert_eq!(fields, vec![&b"m1"[..], b"Doe, Jane", b"say \"hi\"", b"x\"y", b"", b"last"]);
        assert_eq!(splitter.split(b"a,,b").unwrap().to_vec(), vec![&b"a"[..], b"", b"b"]);
        assert_eq!(splitter.split(br#"a,"open"#).unwrap_err(), RecordError::UnterminatedQuote);
    }

    #[test]
    fn finds_record_ends_across_quoted_newlines() {
        let buf = b"a,\"x\ny\",b\nnext\n";
        assert_eq!(record_end(buf, 0), Some(9));
        assert_eq!(record_end(buf, 10), Some(14));
        assert_eq!(record_end(b"no newline", 0), None);
        // A quote inside an unquoted field is text, not the start of a quoted field.
        assert_eq!(record_end(b"a,5\" screen,b\nnext\n", 0), Some(13));
        assert_eq!(record_end(b"a,\"x\"\"\ny\",b\n", 0), Some(11));
    }

    #[test]
    fn records_become_meetings_or_say_what_is_wrong() {
        let map = columns("meeting_id,host,start,end,web_attendees,phone_attendees").unwrap();
        let mut splitter = CsvSplitter::default();
        let ok = splitter
            .split(b"m1,alice,2026-01-05T09:00:00Z,2026-01-05T10:00:00+01:00,2,0")
            .unwrap()
            .to_meeting(&map, &mut DateCache::default());
        assert!(ok.unwrap_err().to_string().contains("is not after `start`"));
        let meeting = splitter
            .split(b"m1,alice,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z, 2 ,0")
            .unwrap()
            .to_meeting(&map, &mut DateCache::default())
            .unwrap();
        assert_eq!((meeting.host, meeting.web_attendees, meeting.phone_attendees), (&b"alice"[..], 2, 0));
        let cases: [(&[u8], &str); 6] = [
            (
                b"m1,alice,2026-01-05T09:00:00,2026-01-05T10:00:00Z,2,0",
                "column `start`: \"2026-01-05T09:00:00\" has no UTC offset",
            ),
            (b"m1,alice,2026-01-05T09:00:00Z,tomorrow,2,0", "column `end`: \"tomorrow\" is not an RFC 3339"),
            (
                b"m1,alice,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,-1,0",
                "column `web_attendees`: \"-1\" is not a whole number",
            ),
            (
                b"m1,alice,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,2,1.5",
                "column `phone_attendees`: \"1.5\"",
            ),
            (b",alice,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,2,0", "column `meeting_id` is empty"),
            (b"m1,alice,2026-01-05T09:00:00Z,2,0", "has 5 fields but the header has 6"),
        ];
        for (record, message) in cases {
            let error = splitter
                .split(record)
                .unwrap()
                .to_meeting(&map, &mut DateCache::default())
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(message), "{error:?} should start with {message:?}");
        }
    }
}
