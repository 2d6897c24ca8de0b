//! The ways a log can arrive: compressed, on standard input, as JSON Lines,
//! with quotes, CRLF line ends or a byte-order mark.

use std::io::Write;

use crate::support::{Dir, csv, example_log, seatmeter, seatmeter_with_stdin, usage_of_example};

fn example_usage() -> String {
    let run = usage_of_example(&["-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

fn example_bytes() -> Vec<u8> {
    std::fs::read(example_log()).expect("example log")
}

#[test]
fn gzip_and_zstd_are_read_by_extension() {
    let dir = Dir::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&example_bytes()).unwrap();
    let gz_path = dir.write("meetings.csv.gz", gz.finish().unwrap());
    let zst =
        ruzstd::encoding::compress_to_vec(&example_bytes()[..], ruzstd::encoding::CompressionLevel::Fastest);
    let zst_path = dir.write("meetings.csv.zst", zst);
    for path in [gz_path, zst_path] {
        let run = seatmeter(&["usage", "--meetings", &path, "-q"]);
        assert_eq!(run.code, 0, "{path}: {}", run.stderr);
        assert_eq!(run.stdout, example_usage(), "{path}");
    }
}

#[test]
fn a_corrupt_compressed_file_is_an_error_not_a_panic() {
    let dir = Dir::new();
    let path = dir.write("meetings.csv.gz", b"not gzip at all");
    let run = seatmeter(&["usage", "--meetings", &path]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
}

#[test]
fn a_dash_reads_standard_input() {
    let run = seatmeter_with_stdin(&["usage", "--meetings", "-", "-q"], &example_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, example_usage());
}

fn as_json_lines(numeric_ids: bool) -> String {
    let text = String::from_utf8(example_bytes()).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.splitn(7, ',').collect();
        let id = if numeric_ids { (i + 1).to_string() } else { format!("\"{}\"", f[0]) };
        out.push_str(&format!(
            "{{\"meeting_id\":{id},\"host\":\"{}\",\"start\":\"{}\",\"end\":\"{}\",\"web_attendees\":{},\"phone_attendees\":{},\"note\":null}}\n",
            f[1], f[2], f[3], f[4], f[5]
        ));
    }
    out
}

#[test]
fn json_lines_give_the_same_usage_as_csv() {
    let dir = Dir::new();
    let by_name = dir.write("meetings.jsonl", as_json_lines(false));
    let run = seatmeter(&["usage", "--meetings", &by_name, "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, example_usage());
    // Recognised by content on standard input, with numeric ids.
    let piped = seatmeter_with_stdin(&["usage", "--meetings", "-", "-q"], as_json_lines(true).as_bytes());
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert_eq!(piped.stdout, example_usage());
}

#[test]
fn crlf_line_ends_a_byte_order_mark_and_blank_lines_are_fine() {
    let text = String::from_utf8(example_bytes()).unwrap();
    let crlf = format!("\u{feff}{}\r\n\r\n", text.replace('\n', "\r\n"));
    let run = seatmeter_with_stdin(&["usage", "--meetings", "-", "-q"], crlf.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, example_usage());
}

#[test]
fn columns_in_any_order_with_quoted_newlines_in_extra_columns() {
    let dir = Dir::new();
    let log = dir.write(
        "log.csv",
        "note,phone_attendees,end,web_attendees,start,host,meeting_id\n\
         \"a note\nover two lines, with a comma\",0,2026-01-05T10:00:00Z,1,2026-01-05T09:00:00Z,alice,m1\n\
         ,0,2026-01-05T10:00:00Z,1,2026-01-05T09:30:00Z,alice,m2\n\
         ,0,2026-01-05T10:00:00Z,1,not-a-time,alice,m3\n",
    );
    let run = seatmeter(&["usage", "--meetings", &log, "--period-start", "2026-01-01"]);
    // The bad row is on line 5: the first record spans lines 2 and 3.
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("line 5: column `start`"), "{}", run.stderr);
    let skipping =
        seatmeter(&["usage", "--meetings", &log, "--period-start", "2026-01-01", "--skip-invalid", "-q"]);
    assert_eq!(
        skipping.stdout,
        "window_start,window_end,host,licenses\n2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,alice,2\n"
    );
}

#[test]
fn mixed_offsets_and_fractions_are_instants() {
    let dir = Dir::new();
    let log = dir.write(
        "log.csv",
        csv(&[
            "m1,h,2026-01-05T10:00:00+01:00,2026-01-05T10:00:00.5+01:00,1,0",
            "m2,h,2026-01-05T04:00:00.25-05:00,2026-01-05T09:30:00Z,1,0",
            "m3,h,2026-01-05T09:00:00.5Z,2026-01-05T09:30:00Z,1,0",
        ]),
    );
    // m1 is 09:00:00-09:00:00.5Z, m2 09:00:00.25-09:30Z, m3 starts as m1 ends.
    let run = seatmeter(&["usage", "--meetings", &log, "--period-start", "2026-01-01", "-q"]);
    assert_eq!(
        run.stdout,
        "window_start,window_end,host,licenses\n2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,h,2\n"
    );
}
