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

fn import_then_usage(place: &[String]) {
    let dir = Dir::new();
    let log = dir.path("log.csv.gz");
    let generated = seatmeter(&[
        "generate-log",
        "--meetings",
        "2500",
        "--hosts",
        "40",
        "--days",
        "200",
        "--seed",
        "11",
        "-o",
        dir.path("log.csv").to_str().unwrap(),
    ]);
    assert_eq!(generated.code, 0, "{}", generated.stderr);
    let plain = std::fs::read(dir.path("log.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    std::fs::write(&log, gz.finish().unwrap()).unwrap();
    let (account_id, token) = account(place);
    let import = |extra: &[&str]| {
        let mut args = vec!["import", "--account", account_id.as_str(), "--meetings", log.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend(place.iter().map(String::as_str));
        seatmeter(&args)
    };

    let refused = import(&[]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("40 hosts of the log are not users of the account"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--create-users"), "{}", refused.stderr);

    let imported = import(&["--create-users"]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(imported.stderr.contains("2500 meetings imported"), "{}", imported.stderr);
    assert!(imported.stderr.contains("(40 added as members)"), "{}", imported.stderr);
    let again = import(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("0 meetings imported") && again.stderr.contains("2500 already there"),
        "{}",
        again.stderr
    );

    let server = start(place);
    let (_, account) = http(&server.address, "GET", "/v1/account", &token, "");
    let anchor = account.split("\"usage_anchor\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (_, live) = http(&server.address, "GET", "/v1/usage?format=csv", &token, "");
    let batch = seatmeter(&["usage", "--meetings", log.to_str().unwrap(), "--period-start", &anchor]);
    assert_eq!(live, batch.stdout, "imported usage vs seatmeter usage");
    assert!(live.lines().count() > 100);
}

#[test]
fn an_imported_log_on_sqlite_gives_the_usage_of_seatmeter_usage() {
    let dir = Dir::new();
    import_then_usage(&["--data-dir".to_string(), dir.path("data").display().to_string()]);
}

#[test]
fn an_imported_log_on_postgresql_gives_the_usage_of_seatmeter_usage() {
    on_a_new_postgresql_database("import", import_then_usage);
}

#[test]
fn an_invalid_log_imports_nothing_and_says_what_usage_says() {
    let dir = Dir::new();
    let place = ["--data-dir".to_string(), dir.path("data").display().to_string()];
    let (account_id, token) = account(&place);
    let log = dir.path("bad.csv");
    std::fs::write(
        &log,
        "meeting_id,host,start,end,web_attendees,phone_attendees\n\
         m1,a@example.com,2026-01-01T09:00:00Z,2026-01-01T10:00:00Z,1,0\n\
         m1,b@example.com,2026-01-02T09:00:00Z,2026-01-02T10:00:00Z,1,0\n",
    )
    .unwrap();
    let usage = seatmeter(&["usage", "--meetings", log.to_str().unwrap()]);
    let mut args = vec![
        "import",
        "--account",
        account_id.as_str(),
        "--meetings",
        log.to_str().unwrap(),
        "--create-users",
    ];
    args.extend(place.iter().map(String::as_str));
    let import = seatmeter(&args);
    assert_eq!((usage.code, import.code), (1, 1), "{} / {}", usage.stderr, import.stderr);
    assert_eq!(import.stderr, usage.stderr, "the same message");
    assert!(import.stderr.contains("line 3") && import.stderr.contains("line 2"), "{}", import.stderr);
    let server = start(&place);
    let (_, export) = http(&server.address, "GET", "/v1/meetings/export", &token, "");
    assert_eq!(export.lines().count(), 1, "nothing imported: {export}");
    let (_, users) = http(&server.address, "GET", "/v1/users", &token, "");
    assert_eq!(users.matches("\"id\"").count(), 1, "no user created: {users}");
}
