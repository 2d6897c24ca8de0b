//! Live usage in the server equals `seatmeter usage`: a generated log
//! (touching meetings, meetings spanning windows, teleconference-only
//! meetings and meetings nobody attended) is fed through the API as
//! lifecycle events, shuffled and in batches as late events would come; the
//! usage the server keeps is then byte for byte what `seatmeter usage`
//! computes from the original log and from the server's own export.

use std::collections::BTreeMap;

use crate::replicas::{account, http, id_of, on_a_new_postgresql_database, start};
use crate::support::{Dir, seatmeter};

fn json_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn live_equals_batch(place: &[String]) {
    let dir = Dir::new();
    let log = dir.path("log.csv");
    let generated = seatmeter(&[
        "generate-log",
        "--meetings",
        "300",
        "--hosts",
        "12",
        "--days",
        "100",
        "--seed",
        "7",
        "-o",
        log.to_str().unwrap(),
    ]);
    assert_eq!(generated.code, 0, "{}", generated.stderr);
    let text = std::fs::read_to_string(&log).unwrap();

    let (_, token) = account(place);
    let server = start(place);
    let call = |method: &str, path: &str, body: &str| http(&server.address, method, path, &token, body);
    let (status, rules) = call("PATCH", "/v1/account/meeting-rules", r#"{"max_meeting_minutes":43200}"#);
    assert_eq!(status, 200, "{rules}");
    let mut hosts: BTreeMap<String, String> = BTreeMap::new();
    let mut events = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (meeting_id, host, begin, end) = (f[0], f[1], f[2], f[3]);
        let (web, phone): (u32, u32) = (f[4].parse().unwrap(), f[5].parse().unwrap());
        if !hosts.contains_key(host) {
            let (status, body) =
                call("POST", "/v1/users", &format!(r#"{{"email":"{host}","name":"{host}"}}"#));
            assert_eq!(status, 201, "{body}");
            hosts.insert(host.to_string(), id_of(&body));
        }
        let meeting = format!(
            r#"{{"title":"{meeting_id}","host_user_id":"{}","external_id":"{meeting_id}"}}"#,
            hosts[host]
        );
        let (status, body) = call("POST", "/v1/meetings", &meeting);
        assert_eq!(status, 201, "{body}");
        let id = id_of(&body);
        let event = |key: String, kind: &str, at: &str, extra: String| {
            format!(
                r#"{{"idempotency_key":"{key}","meeting_id":"{id}","type":"{kind}","at":{}{extra}}}"#,
                json_string(at)
            )
        };
        events.push(event(format!("{meeting_id}-s"), "started", begin, String::new()));
        for (portion, count) in [("web", web), ("phone", phone)] {
            for n in 0..count {
                let who = format!(r#","attendee":"{portion}{n}","portion":"{portion}""#);
                events.push(event(format!("{meeting_id}-{portion}{n}"), "attendee_joined", begin, who));
            }
        }
        events.push(event(format!("{meeting_id}-e"), "ended", end, String::new()));
    }
    // Late and out of order: a fixed shuffle, then batches, one sent twice.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..events.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        events.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut batches: Vec<&[String]> = events.chunks(700).collect();
    batches.push(batches[0]);
    for batch in batches {
        let (status, body) = call("POST", "/v1/events", &format!("[{}]", batch.join(",")));
        assert_eq!(status, 200, "{body}");
    }

    let (_, account) = call("GET", "/v1/account", "");
    let anchor = account.split("\"usage_anchor\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (status, live) = call("GET", "/v1/usage?format=csv", "");
    assert_eq!(status, 200, "{live}");
    let from_log = seatmeter(&["usage", "--meetings", log.to_str().unwrap(), "--period-start", &anchor]);
    assert_eq!(from_log.code, 0, "{}", from_log.stderr);
    assert_eq!(live, from_log.stdout, "live usage vs seatmeter usage on the generated log");
    assert!(live.lines().count() > 20, "{live}");

    let (status, export) = call("GET", "/v1/meetings/export", "");
    assert_eq!(status, 200);
    let exported = dir.path("export.csv");
    std::fs::write(&exported, &export).unwrap();
    let from_export =
        seatmeter(&["usage", "--meetings", exported.to_str().unwrap(), "--period-start", &anchor]);
    assert_eq!(from_export.code, 0, "{}", from_export.stderr);
    assert_eq!(live, from_export.stdout, "live usage vs seatmeter usage on the export");
    assert_eq!(export.lines().count(), text.lines().count(), "every meeting is exported");
}

#[test]
fn live_usage_on_sqlite_is_what_seatmeter_usage_computes() {
    let dir = Dir::new();
    live_equals_batch(&["--data-dir".to_string(), dir.path("data").display().to_string()]);
}

#[test]
fn live_usage_on_postgresql_is_what_seatmeter_usage_computes() {
    on_a_new_postgresql_database("live", live_equals_batch);
}
