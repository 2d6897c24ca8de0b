//! One meeting of a JSON Lines log: the same fields as the CSV columns.
//!
//! `meeting_id` and `host` may be strings or whole numbers; attendee counts
//! may be numbers or strings of digits (some exporters quote every value).
//! Anything else is refused with a message saying which field and why.

use std::borrow::Cow;
use std::fmt;

use seatmeter_core::log::{MeetingRecord, RecordError, check_meeting, parse_count, parse_instant};
use seatmeter_core::time::Timestamp;
use serde::de::{self, Deserializer, Visitor};

#[derive(serde::Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    meeting_id: Text<'a>,
    #[serde(borrow)]
    host: Text<'a>,
    #[serde(borrow)]
    start: Cow<'a, str>,
    #[serde(borrow)]
    end: Cow<'a, str>,
    web_attendees: Count,
    phone_attendees: Count,
}

/// A string, or a whole number taken as its decimal text.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a whole number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// An attendee count: a whole number >= 0, or a string of digits.
struct Count(u64);

impl<'de> serde::Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl Visitor<'_> for CountVisitor {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number of attendees, 0 or more")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                parse_count("attendees", v.as_bytes())
                    .map(Count)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

/// A JSON Lines meeting, checked; its texts are owned.
#[derive(Debug)]
pub struct JsonMeeting {
    meeting_id: String,
    host: String,
    start: Timestamp,
    end: Timestamp,
    web_attendees: u64,
    phone_attendees: u64,
}

impl JsonMeeting {
    /// Parses one line.
    pub fn parse(record: &[u8]) -> Result<Self, RecordError> {
        let raw: Raw<'_> = serde_json::from_slice(record).map_err(|e| {
            // serde_json counts lines within the record; the log's line is given by the caller.
            let text = e.to_string();
            RecordError::Json(text.split(" at line ").next().unwrap_or(&text).to_string())
        })?;
        Ok(Self {
            meeting_id: raw.meeting_id.0.into_owned(),
            host: raw.host.0.into_owned(),
            start: parse_instant("start", raw.start.as_bytes())?,
            end: parse_instant("end", raw.end.as_bytes())?,
            web_attendees: raw.web_attendees.0,
            phone_attendees: raw.phone_attendees.0,
        })
    }

    /// The meeting as a checked record.
    pub fn record(&self) -> Result<MeetingRecord<'_>, RecordError> {
        check_meeting(
            self.meeting_id.as_bytes(),
            self.host.as_bytes(),
            self.start,
            self.end,
            self.web_attendees,
            self.phone_attendees,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<JsonMeeting, String> {
        JsonMeeting::parse(line.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn ids_may_be_numbers_and_counts_strings() {
        let m = parse(r#"{"meeting_id":7,"host":"a","start":"2026-01-05T09:00:00Z","end":"2026-01-05T10:00:00Z","web_attendees":"3","phone_attendees":0,"x":[1]}"#).unwrap();
        let r = m.record().unwrap();
        assert_eq!((r.meeting_id, r.host, r.web_attendees), (&b"7"[..], &b"a"[..], 3));
    }

    #[test]
    fn bad_fields_are_named() {
        let base =
            r#""host":"a","start":"2026-01-05T09:00:00Z","end":"2026-01-05T10:00:00Z","phone_attendees":0"#;
        let negative = parse(&format!(r#"{{"meeting_id":"m","web_attendees":-1,{base}}}"#)).unwrap_err();
        assert!(negative.contains("expected a whole number of attendees, 0 or more"), "{negative}");
        let fraction = parse(&format!(r#"{{"meeting_id":"m","web_attendees":1.5,{base}}}"#)).unwrap_err();
        assert!(fraction.contains("expected a whole number of attendees"), "{fraction}");
        let null_id = parse(&format!(r#"{{"meeting_id":null,"web_attendees":1,{base}}}"#)).unwrap_err();
        assert!(null_id.contains("expected a string or a whole number"), "{null_id}");
        let missing = parse(r#"{"meeting_id":"m"}"#).unwrap_err();
        assert!(missing.contains("missing field"), "{missing}");
    }
}
