//! One line of a JSON Lines meeting log (the CLI's `jsonl` module).
//! Properties: parsing never panics, and a meeting that parses and checks,
//! written back as JSON, reads back as the same meeting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seatmeter_core::time::format_rfc3339;
use seatmeter_fuzz::jsonl::JsonMeeting;

fuzz_target!(|data: &[u8]| {
    let Ok(meeting) = JsonMeeting::parse(data) else { return };
    let Ok(record) = meeting.record() else { return };
    let text = serde_json::json!({
        "meeting_id": String::from_utf8(record.meeting_id.to_vec()).expect("JSON strings are UTF-8"),
        "host": String::from_utf8(record.host.to_vec()).expect("JSON strings are UTF-8"),
        "start": format_rfc3339(record.start),
        "end": format_rfc3339(record.end),
        "web_attendees": record.web_attendees,
        "phone_attendees": record.phone_attendees,
    })
    .to_string();
    let again = JsonMeeting::parse(text.as_bytes()).expect("a written meeting parses");
    assert_eq!(again.record(), Ok(record), "{text}");
});
