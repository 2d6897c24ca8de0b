//! The body of a batch of meeting events (`POST /v1/events`): a JSON array
//! (or one object) or NDJSON, by content type. Only its syntax and size are
//! read here, with nothing but `serde`, so that the parser can be exercised
//! on its own (see `fuzz/`); [`super::events`] maps [`BatchError`] to the
//! API's answers and [`crate::app::events`] checks and applies the events.

use serde::{Deserialize, Serialize};

/// Most events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// An event as sent.
#[derive(Deserialize, Serialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// Chosen by the sender, unique per event in the account (1 to 200
    /// characters): sending the same event again with it changes nothing.
    pub idempotency_key: String,
    /// The meeting (`mtg_…`). In `POST /v1/meetings/{id}/events` it may be
    /// left out, and must match the path if given.
    #[serde(default)]
    pub meeting_id: Option<String>,
    /// `started`, `attendee_joined`, `attendee_left`, `host_rights_passed` or `ended`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened: RFC 3339 with an offset.
    pub at: String,
    /// Who joined or left (`attendee_joined`, `attendee_left`): an e-mail,
    /// a phone number or a session id, 1 to 320 characters.
    #[serde(default)]
    pub attendee: Option<String>,
    /// `web` or `phone` (`attendee_joined`, `attendee_left`).
    #[serde(default)]
    pub portion: Option<String>,
    /// The attendee joined before the host (`attendee_joined`).
    #[serde(default)]
    pub join_before_host: Option<bool>,
    /// Who received host rights (`host_rights_passed`).
    #[serde(default)]
    pub to: Option<String>,
}

/// Why a batch's body was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// An event does not parse, or there is none.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// Which event, when one is to blame.
        field: Option<String>,
    },
    /// The content type is neither JSON nor NDJSON.
    #[error("send a JSON array (`Content-Type: application/json`) or NDJSON (`application/x-ndjson`)")]
    UnsupportedMediaType,
    /// More than [`MAX_EVENTS_PER_REQUEST`] events.
    #[error("{0} events in one request; send at most {MAX_EVENTS_PER_REQUEST} at a time")]
    TooMany(usize),
}

type Object = serde_json::Map<String, serde_json::Value>;

/// An event written as a JSON object (serde alone would also take an
/// array of its fields), no text of it holding the NUL character (as no
/// request body may, whether its field is read or not).
fn object_event(object: Object) -> Result<EventIn, serde_json::Error> {
    if let Some((field, _)) = object.iter().find(|(_, v)| v.as_str().is_some_and(|s| s.contains('\0'))) {
        return Err(serde::de::Error::custom(format!("{field} holds the NUL character (\\u0000)")));
    }
    serde_json::from_value(serde_json::Value::Object(object))
}

/// Reads a batch sent with `content_type`: a JSON array (or one object), or
/// NDJSON (`application/x-ndjson`, `application/jsonl`), of 1 to
/// [`MAX_EVENTS_PER_REQUEST`] events.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<EventIn>, BatchError> {
    let ndjson =
        content_type.starts_with("application/x-ndjson") || content_type.starts_with("application/jsonl");
    let events: Vec<EventIn> = if ndjson {
        let mut events = Vec::new();
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            events.push(serde_json::from_slice(line).and_then(object_event).map_err(|e| {
                BatchError::Invalid {
                    message: format!("line {}: {e}", i + 1),
                    field: Some(format!("events[{}]", events.len())),
                }
            })?);
        }
        events
    } else if content_type.starts_with("application/json") {
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        let parsed = if first == Some(&b'[') {
            serde_json::from_slice::<Vec<Object>>(body)
                .and_then(|events| events.into_iter().map(object_event).collect())
        } else {
            serde_json::from_slice::<Object>(body).and_then(object_event).map(|e| vec![e])
        };
        parsed.map_err(|e| BatchError::Invalid { message: format!("invalid events: {e}"), field: None })?
    } else {
        return Err(BatchError::UnsupportedMediaType);
    };
    if events.is_empty() {
        return Err(BatchError::Invalid { message: "the request holds no event".into(), field: None });
    }
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(BatchError::TooMany(events.len()));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_an_object_never_an_array_of_its_fields() {
        let fields = br#"["k", "mtg_1", "started", "2026-03-01T09:00:00Z"]"#;
        let batch = [b"[".as_slice(), fields, b"]"].concat();
        assert!(parse("application/json", &batch).is_err());
        assert!(parse("application/x-ndjson", fields).is_err());
        let object = br#"{"idempotency_key": "k", "meeting_id": "mtg_1", "type": "started", "at": "2026-03-01T09:00:00Z"}"#;
        assert_eq!(parse("application/json", object).map(|events| events.len()), Ok(1));
        assert_eq!(parse("application/x-ndjson", object).map(|events| events.len()), Ok(1));
        let nul = br#"{"idempotency_key": "k", "meeting_id": "mtg_1", "type": "started", "at": "2026-03-01T09:00:00Z", "to": "a\u0000"}"#;
        assert!(parse("application/json", nul).is_err(), "a NUL even in a field the type does not read");
    }
}
