//! The body of `POST /v1/events` (the server's `http::event_batch`): a JSON
//! array or object, or NDJSON, as the content type (picked by the first
//! byte) says. Properties: parsing never panics, and a batch that parses,
//! written back as a JSON array and as NDJSON, reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seatmeter_fuzz::event_batch::{EventIn, parse};
use seatmeter_fuzz::split_selector;

const CONTENT_TYPES: [&str; 4] =
    ["application/json", "application/x-ndjson", "application/jsonl; charset=utf-8", "text/plain"];

fn values(events: &[EventIn]) -> Vec<serde_json::Value> {
    events.iter().map(|e| serde_json::to_value(e).expect("an event serialises")).collect()
}

fuzz_target!(|data: &[u8]| {
    let (selector, body) = split_selector(data);
    let Ok(events) = parse(CONTENT_TYPES[usize::from(selector & 3)], body) else { return };
    let expected = values(&events);
    let array = serde_json::to_vec(&events).expect("events serialise");
    let from_array = parse("application/json", &array).expect("a written batch parses");
    assert_eq!(values(&from_array), expected, "a JSON array reads back the same");
    let mut lines = Vec::new();
    for event in &events {
        lines.extend(serde_json::to_vec(event).expect("an event serialises"));
        lines.push(b'\n');
    }
    let from_lines = parse("application/x-ndjson", &lines).expect("written NDJSON parses");
    assert_eq!(values(&from_lines), expected, "NDJSON reads back the same");
});
