//! Bad meeting logs: each gets a message naming the line and what is wrong,
//! exit status 1 and nothing on standard output; never a panic.

use crate::support::{Dir, HEADER, Run, csv, seatmeter, seatmeter_with_stdin};

const OK1: &str = "m1,alice,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,2,0";
const OK2: &str = "m2,bob,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,2,0";

fn usage_of(content: &str) -> Run {
    let dir = Dir::new();
    let log = dir.write("log.csv", content);
    seatmeter(&["usage", "--meetings", &log])
}

#[track_caller]
fn assert_refused(run: &Run, message: &str) {
    assert_eq!(run.code, 1, "exit status 1; stderr: {}", run.stderr);
    assert_eq!(run.stdout, "", "no partial result");
    assert!(run.stderr.contains(message), "expected {message:?} in {:?}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_missing_column_is_named() {
    let run =
        usage_of("meeting_id,host,start,web_attendees,phone_attendees\nm1,a,2026-01-05T09:00:00Z,1,0\n");
    assert_refused(&run, "line 1: the header lacks the column `end`");
}

#[test]
fn a_bad_timestamp_names_line_column_and_value() {
    let run = usage_of(&csv(&[OK1, "m2,bob,2026-01-05 9am,2026-01-05T10:00:00Z,2,0"]));
    assert_refused(&run, "line 3: column `start`: \"2026-01-05 9am\" is not an RFC 3339 timestamp");
}

#[test]
fn an_impossible_date_is_refused() {
    let run = usage_of(&csv(&["m1,a,2026-02-30T09:00:00Z,2026-03-01T10:00:00Z,2,0"]));
    assert_refused(&run, "line 2: column `start`: \"2026-02-30T09:00:00Z\" is not a valid date and time");
}

#[test]
fn a_timestamp_without_offset_is_refused() {
    let run = usage_of(&csv(&[OK1, OK2, "m3,c,2026-01-05T09:00:00Z,2026-01-05T10:00:00,2,0"]));
    assert_refused(&run, "line 4: column `end`: \"2026-01-05T10:00:00\" has no UTC offset");
}

#[test]
fn a_bad_number_is_refused() {
    let run = usage_of(&csv(&["m1,a,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,two,0"]));
    assert_refused(&run, "line 2: column `web_attendees`: \"two\" is not a whole number of attendees");
    let negative = usage_of(&csv(&["m1,a,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,-3"]));
    assert_refused(&negative, "line 2: column `phone_attendees`: \"-3\"");
}

#[test]
fn an_end_not_after_the_start_is_refused() {
    let run = usage_of(&csv(&[OK1, "m2,b,2026-01-05T10:00:00+01:00,2026-01-05T09:00:00Z,2,0"]));
    assert_refused(
        &run,
        "line 3: `end` (2026-01-05T09:00:00Z) is not after `start` (2026-01-05T09:00:00Z): a meeting must last a positive time",
    );
}

#[test]
fn a_duplicate_meeting_id_names_both_lines() {
    let run = usage_of(&csv(&[OK1, OK2, "m1,carol,2026-02-05T09:00:00Z,2026-02-05T10:00:00Z,2,0"]));
    assert_refused(&run, "line 4: meeting_id \"m1\" appears again (first on line 2)");
}

#[test]
fn an_empty_file_is_refused() {
    assert_refused(&usage_of(""), "the input is empty: expected a header line");
    assert_refused(&usage_of("\n  \n"), "the input is empty");
}

#[test]
fn a_header_only_file_has_no_usage() {
    let run = usage_of(HEADER);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "window_start,window_end,host,licenses\n");
}

#[test]
fn the_wrong_delimiter_is_named() {
    let run = usage_of("meeting_id;host;start;end;web_attendees;phone_attendees\nm1;a;x;y;1;0\n");
    assert_refused(&run, "line 1: the header looks `;`-separated; meeting logs must be comma-separated");
    let tabs = usage_of("meeting_id\thost\tstart\tend\tweb_attendees\tphone_attendees\n");
    assert_refused(&tabs, "the header looks tab-separated");
}

#[test]
fn a_row_with_too_few_or_too_many_fields_is_refused() {
    let run = usage_of(&csv(&[OK1, "m2,b,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,2"]));
    assert_refused(&run, "line 3: has 5 fields but the header has 6");
    let more = usage_of(&csv(&["m2,Doe, Jane,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,2,0"]));
    assert_refused(
        &more,
        "line 2: has 7 fields but the header has 6 (is a comma inside a field not quoted?)",
    );
}

#[test]
fn an_empty_host_or_id_is_refused() {
    assert_refused(
        &usage_of(&csv(&[",a,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0"])),
        "line 2: column `meeting_id` is empty",
    );
    assert_refused(
        &usage_of(&csv(&["m1,,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0"])),
        "line 2: column `host` is empty",
    );
}

#[test]
fn a_host_that_is_not_text_is_refused() {
    let mut log = csv(&[OK1]).into_bytes();
    log.extend_from_slice(b"m2,caf\xe9,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0\n");
    let dir = Dir::new();
    let path = dir.write("log.csv", log);
    assert_refused(
        &seatmeter(&["usage", "--meetings", &path]),
        "line 3: column `host` is not valid UTF-8 text",
    );
}

#[test]
fn a_quote_never_closed_is_refused() {
    let run = usage_of(&csv(&[OK1, "m2,\"bob,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,2,0", OK2]));
    assert_refused(&run, "line 3: has a quoted field that is never closed");
}

#[test]
fn a_bad_json_line_is_named() {
    let dir = Dir::new();
    let log = dir.write(
        "log.jsonl",
        "{\"meeting_id\":\"m1\",\"host\":\"a\",\"start\":\"2026-01-05T09:00:00Z\",\"end\":\"2026-01-05T10:00:00Z\",\"web_attendees\":1,\"phone_attendees\":0}\n\
         {\"meeting_id\":\"m2\",\"host\":\"a\",\"start\":\"2026-01-05T09:00:00Z\",\"web_attendees\":1,\"phone_attendees\":0}\n",
    );
    let run = seatmeter(&["usage", "--meetings", &log]);
    assert_refused(&run, "line 2: is not a meeting object: missing field `end`");
    let garbage = dir.write("bad.jsonl", "{\"meeting_id\": \n");
    assert_refused(&seatmeter(&["usage", "--meetings", &garbage]), "line 1: is not a meeting object");
}

#[test]
fn a_missing_file_says_which() {
    let run = seatmeter(&["usage", "--meetings", "/nonexistent/meetings.csv"]);
    assert_refused(&run, "cannot open the meeting log /nonexistent/meetings.csv");
}

#[test]
fn a_bad_period_start_is_a_usage_error() {
    let run = seatmeter(&["usage", "--meetings", "-", "--period-start", "yesterday"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("give YYYY-MM-DD (midnight UTC) or an RFC 3339 timestamp"), "{}", run.stderr);
}

#[test]
fn the_first_bad_line_is_reported_even_deep_in_a_large_log() {
    let mut text = String::from(HEADER);
    for i in 0..60_000u32 {
        text.push_str(&format!("m{i},host{},2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0\n", i % 97));
        if i == 41_234 {
            text.push_str("bad,host1,2026-01-05T09:00:00Z,not-a-time,1,0\n");
        }
    }
    text.push_str("m5,host5,2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0\n");
    // Line 1 is the header; meeting i is on line i + 2; the bad row follows m41234.
    let run = usage_of(&text);
    assert_refused(&run, "line 41237: column `end`: \"not-a-time\"");
    let piped = seatmeter_with_stdin(&["usage", "--meetings", "-"], text.as_bytes());
    assert_refused(&piped, "line 41237: column `end`");
}

#[test]
fn a_duplicate_far_apart_in_a_large_log_names_both_lines() {
    let mut text = String::from(HEADER);
    for i in 0..50_000u32 {
        text.push_str(&format!("m{i},host{},2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0\n", i % 13));
    }
    text.push_str("m17,host1,2026-01-06T09:00:00Z,2026-01-06T10:00:00Z,1,0\n");
    assert_refused(&usage_of(&text), "line 50002: meeting_id \"m17\" appears again (first on line 19)");
}

#[test]
fn skip_invalid_reports_each_bad_line_and_computes_the_rest() {
    let run = {
        let dir = Dir::new();
        let log = dir.write(
            "log.csv",
            csv(&[
                OK1,
                "m2,bob,yesterday,2026-01-05T10:00:00Z,2,0",
                "m1,alice,2026-01-05T09:30:00Z,2026-01-05T10:30:00Z,2,0",
                "m3,alice,2026-01-05T09:30:00Z,2026-01-05T10:30:00Z,2,0",
                "m4,bob,2026-01-05T09:30:00Z,2026-01-05T09:30:00Z,2,0",
            ]),
        );
        seatmeter(&["usage", "--meetings", &log, "--period-start", "2026-01-01", "--skip-invalid"])
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "window_start,window_end,host,licenses\n2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,alice,2\n"
    );
    let skipped: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("skipped:")).collect();
    assert_eq!(skipped.len(), 3, "{}", run.stderr);
    assert!(skipped[0].contains("line 3: column `start`"));
    assert!(skipped[1].contains("line 4: meeting_id \"m1\" appears again (first on line 2)"));
    assert!(skipped[2].contains("line 6: `end`"));
    assert!(
        run.stderr.contains(
            "meetings: 2 read, 2 counted, 0 not counted (0 teleconference only, 0 nobody attended), 3 skipped"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn an_invalid_log_leaves_no_output_file() {
    let dir = Dir::new();
    let log = dir.write("log.csv", csv(&[OK1, "m2,bob,yesterday,2026-01-05T10:00:00Z,2,0"]));
    let out = dir.path("usage.csv");
    let run = seatmeter(&["usage", "--meetings", &log, "-o", out.to_str().unwrap()]);
    assert_refused(&run, "line 3: column `start`");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path("")).unwrap().count(), 1, "only the log is left");
}

#[test]
fn garbage_input_is_refused_or_read_but_never_panics() {
    // Bytes from a fixed pseudo-random sequence, biased towards CSV and JSON punctuation.
    let alphabet = b",\"\n\r{}:Z-T0123456789 abcmeeting_idhoststartendweb_attendeesphone_attendees\xff\xc3";
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for case in 0..40 {
        let len = 1 + (case * 37) % 900;
        let mut bytes = if case % 3 == 0 { HEADER.as_bytes().to_vec() } else { Vec::new() };
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        for args in [&["usage", "--meetings", "-"][..], &["usage", "--meetings", "-", "--skip-invalid"]] {
            let run = seatmeter_with_stdin(args, &bytes);
            assert!(run.code == 0 || run.code == 1, "case {case}: exit {} {}", run.code, run.stderr);
            assert!(!run.stderr.contains("panicked"), "case {case}: {}", run.stderr);
        }
    }
}
