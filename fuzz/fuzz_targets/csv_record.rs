//! One CSV record of a meeting log (seatmeter-core's `log` module): split
//! into fields, checked as a meeting and as a header, and its record end
//! found. Properties: splitting never panics; fields quoted again split
//! back to the same fields and make one record; timestamps and counts that
//! parse print back to the same values, and the date cache agrees with the
//! plain parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seatmeter_core::log::{ColumnMap, CsvSplitter, parse_count, record_end, resolve_header, trim_cr};
use seatmeter_core::time::{DateCache, format_rfc3339, parse_rfc3339, parse_rfc3339_cached};

fuzz_target!(|data: &[u8]| {
    let record = trim_cr(data);
    let map = ColumnMap {
        meeting_id: 0,
        host: 1,
        start: 2,
        end: 3,
        web_attendees: 4,
        phone_attendees: 5,
        width: 6,
    };
    let mut splitter = CsvSplitter::default();
    let _ = record_end(data, 0);
    let fields: Vec<Vec<u8>> = match splitter.split(record) {
        Ok(fields) => {
            let _ = fields.to_meeting(&map, &mut DateCache::default());
            let _ = resolve_header(&fields.to_vec());
            fields.to_vec().into_iter().map(<[u8]>::to_vec).collect()
        }
        Err(_) => return,
    };

    // Quoting every field again gives one record with the same fields.
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
    let again: Vec<Vec<u8>> = splitter
        .split(&quoted)
        .expect("a record of quoted fields splits")
        .to_vec()
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(again, fields, "quoted fields split back to themselves");
    quoted.extend_from_slice(b"\nnext\n");
    assert_eq!(record_end(&quoted, 0), Some(quoted.len() - 6), "a quoted record ends at its own line feed");

    // Timestamps and counts print back to what they parsed as.
    let mut cache = DateCache::default();
    for field in &fields {
        let plain = parse_rfc3339(field);
        assert_eq!(parse_rfc3339_cached(field, &mut cache), plain, "the date cache agrees with the parser");
        if let Ok(t) = plain {
            let text = format_rfc3339(t);
            assert_eq!(parse_rfc3339(text.as_bytes()), Ok(t), "{text} reads back as {t:?}");
        }
        if let Ok(n) = parse_count("web_attendees", field) {
            assert_eq!(parse_count("web_attendees", n.to_string().as_bytes()), Ok(n));
        }
    }
});
