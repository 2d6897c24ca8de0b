//! `seatmeter usage`: the figures, the formats and `--explain`.

use crate::support::{Dir, csv, seatmeter, usage_of_example};

const SEED_CSV: &str = "window_start,window_end,host,licenses
2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,B,1
2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,C,1
2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,D,2
2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,E,2
2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,F,2
2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,G,2
2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,K,1
";

#[test]
fn the_seed_table_gives_the_seeds_figures_byte_for_byte() {
    let run = usage_of_example(&["--period-start", "2026-01-01"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, SEED_CSV);
    assert!(run.stderr.contains("meetings: 19 read, 14 counted, 5 not counted"), "{}", run.stderr);
    assert!(run.stderr.contains("2026-01-01T00:00:00Z to 2026-01-31T00:00:00Z: 11 licenses (7 hosts)"));
}

#[test]
fn counting_teleconference_only_meetings_adds_h_j_and_k() {
    let run = usage_of_example(&["--count-teleconference-only", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<&str> = run.stdout.lines().skip(1).map(|l| l.rsplit_once(',').unwrap().0).collect();
    assert_eq!(rows.len(), 9);
    assert!(run.stdout.contains(",H,1\n") && run.stdout.contains(",J,2\n") && run.stdout.contains(",K,2\n"));
    assert_eq!(run.stderr, "", "quiet prints nothing");
}

#[test]
fn without_a_period_start_windows_begin_on_the_day_of_the_earliest_meeting() {
    let dir = Dir::new();
    let log = dir.write(
        "log.csv",
        csv(&[
            "m1,h,2026-03-05T09:00:00+02:00,2026-03-05T10:00:00+02:00,1,0",
            "m2,h,2026-04-05T09:00:00Z,2026-04-05T10:00:00Z,1,0",
        ]),
    );
    let run = seatmeter(&["usage", "--meetings", &log]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "window_start,window_end,host,licenses\n\
         2026-03-05T00:00:00Z,2026-04-04T00:00:00Z,h,1\n\
         2026-04-04T00:00:00Z,2026-05-04T00:00:00Z,h,1\n"
    );
    assert!(
        run.stderr.contains("period start 2026-03-05T00:00:00Z (day of the earliest meeting)"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_has_windows_with_totals_overage_and_hosts() {
    let run = usage_of_example(&["--format", "json", "--installed-host-licenses", "10", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(report["period_start"], "2026-01-01T00:00:00Z");
    assert_eq!(report["policy"], "web_attendees_only");
    assert_eq!(report["installed_host_licenses"], 10);
    let window = &report["windows"][0];
    assert_eq!(window["window_start"], "2026-01-01T00:00:00Z");
    assert_eq!(window["window_end"], "2026-01-31T00:00:00Z");
    assert_eq!(window["total_licenses"], 11);
    assert_eq!(window["hosts_with_usage"], 7);
    assert_eq!(window["overage"], 1);
    assert_eq!(window["hosts"][2], serde_json::json!({"host": "D", "licenses": 2}));
}

#[test]
fn the_table_is_for_people() {
    let run = usage_of_example(&["--format", "table", "--installed-host-licenses", "12", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("Window 2026-01-01T00:00:00Z to 2026-01-31T00:00:00Z\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n  HOST             LICENSES\n"), "{}", run.stdout);
    assert!(run.stdout.contains("\n  D                       2\n"), "{}", run.stdout);
    assert!(run.stdout.contains("\n  total (7 hosts)        11\n"), "{}", run.stdout);
    assert!(run.stdout.contains("within the 12 host licenses installed"));
}

#[test]
fn output_goes_to_a_file_when_asked() {
    let dir = Dir::new();
    let out = dir.path("usage.csv");
    let run = usage_of_example(&["-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), SEED_CSV);
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path("")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}

#[test]
fn explain_shows_the_peak_instant_and_the_meetings_in_progress() {
    let run = usage_of_example(&["--explain", "D"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Window 2026-01-01T00:00:00Z to 2026-01-31T00:00:00Z: 2 licenses"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("peak at 2026-01-06T09:00:00Z: 2 counted meetings in progress"));
    assert!(
        run.stdout.contains("line 6: d1 from 2026-01-06T09:00:00Z to 2026-01-06T10:00:00Z, web 2, phone 0")
    );
    assert!(run.stdout.contains("line 7: d2 from"));
}

#[test]
fn explain_says_why_meetings_were_not_counted() {
    let k = usage_of_example(&["--explain", "K"]);
    assert!(k.stdout.contains(": 1 license\n"), "{}", k.stdout);
    assert!(k.stdout.contains("line 20: k2 from 2026-01-11T10:00:00Z to 2026-01-11T11:00:00Z, web 0, phone 3 (no web attendee: teleconference only)"), "{}", k.stdout);
    let a = usage_of_example(&["--explain", "A"]);
    assert!(a.stdout.contains(": 0 licenses\n  no counted meeting in this window"), "{}", a.stdout);
    assert!(a.stdout.contains("(nobody attended)"));
    let json = usage_of_example(&["--explain", "K", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(v["windows"][0]["peak_at"], "2026-01-11T10:00:00Z");
    assert_eq!(v["windows"][0]["in_progress_at_peak"][0]["meeting_id"], "k1");
    assert_eq!(v["windows"][0]["not_counted"][0]["reason"], "no web attendee: teleconference only");
}

#[test]
fn explain_of_an_unknown_host_says_so_and_suggests_a_near_name() {
    let run = usage_of_example(&["--explain", "d"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("No meetings: this host uses no license in any window."));
    assert!(run.stdout.contains("Did you mean \"D\"?"));
}

#[test]
fn hosts_needing_quotes_are_quoted_in_the_output() {
    let dir = Dir::new();
    let log = dir.write(
        "log.csv",
        csv(&[
            r#"m1,"Doe, Jane",2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0"#,
            r#"m2,"say ""hi""",2026-01-05T09:00:00Z,2026-01-05T10:00:00Z,1,0"#,
        ]),
    );
    let run = seatmeter(&["usage", "--meetings", &log, "--period-start", "2026-01-01", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "window_start,window_end,host,licenses\n\
         2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,\"Doe, Jane\",1\n\
         2026-01-01T00:00:00Z,2026-01-31T00:00:00Z,\"say \"\"hi\"\"\",1\n"
    );
}

/// The same usage, recomputed here in the plainest possible way from the
/// generated CSV: for each host and window, try every clipped start instant.
fn naive_usage_csv(log: &str, anchor: i64) -> String {
    use seatmeter_core::time::{format_utc_seconds, parse_rfc3339};
    const W: i128 = 30 * 86_400 * 1_000_000_000;
    let mut meetings: std::collections::BTreeMap<String, Vec<(i128, i128)>> = Default::default();
    for line in log.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[4] == "0" {
            continue;
        }
        let s = i128::from(parse_rfc3339(f[2].as_bytes()).unwrap().0);
        let e = i128::from(parse_rfc3339(f[3].as_bytes()).unwrap().0);
        meetings.entry(f[1].to_string()).or_default().push((s, e));
    }
    let a = i128::from(anchor);
    let mut rows = Vec::new();
    for (host, ms) in &meetings {
        let mut windows = std::collections::BTreeSet::new();
        for &(s, e) in ms {
            for k in (s - a).div_euclid(W)..=(e - 1 - a).div_euclid(W) {
                windows.insert(k);
            }
        }
        for k in windows {
            let (ws, we) = (a + k * W, a + (k + 1) * W);
            let best = ms
                .iter()
                .map(|&(s, _)| s.max(ws))
                .filter(|&t| t < we)
                .map(|t| ms.iter().filter(|&&(s, e)| s <= t && t < e).count())
                .max()
                .unwrap_or(0);
            if best > 0 {
                rows.push((k, host.clone(), best, format_utc_seconds(ws), format_utc_seconds(we)));
            }
        }
    }
    rows.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
    let mut out = String::from("window_start,window_end,host,licenses\n");
    for (_, host, n, ws, we) in rows {
        out.push_str(&format!("{ws},{we},{host},{n}\n"));
    }
    out
}

#[test]
fn generated_logs_agree_with_a_naive_recomputation() {
    let dir = Dir::new();
    for seed in 1..=4 {
        let path = dir.path(&format!("gen{seed}.csv"));
        let gen_run = seatmeter(&[
            "generate-log",
            "--meetings",
            "2500",
            "--hosts",
            "30",
            "--days",
            "70",
            "--seed",
            &seed.to_string(),
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(gen_run.code, 0, "{}", gen_run.stderr);
        let log = std::fs::read_to_string(&path).unwrap();
        let anchor = "2026-01-11T06:00:00Z";
        let expected =
            naive_usage_csv(&log, seatmeter_core::time::parse_rfc3339(anchor.as_bytes()).unwrap().0);
        for threads in ["1", "2", "3"] {
            let run = seatmeter(&[
                "usage",
                "--meetings",
                path.to_str().unwrap(),
                "--period-start",
                anchor,
                "--threads",
                threads,
                "-q",
            ]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert_eq!(run.stdout, expected, "seed {seed}, {threads} threads");
        }
    }
}

#[test]
fn a_large_log_read_in_many_blocks_gives_the_same_answer_on_any_thread_count() {
    let dir = Dir::new();
    let path = dir.path("big.csv");
    let gen_run =
        seatmeter(&["generate-log", "--meetings", "120000", "--hosts", "2000", "-o", path.to_str().unwrap()]);
    assert_eq!(gen_run.code, 0);
    let one = seatmeter(&["usage", "--meetings", path.to_str().unwrap(), "--threads", "1", "-q"]);
    let four = seatmeter(&["usage", "--meetings", path.to_str().unwrap(), "--threads", "4", "-q"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(one.stdout.lines().count() > 2000);
    assert_eq!(one.stdout, four.stdout);
    let log = std::fs::read_to_string(&path).unwrap();
    let anchor = log
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .map(|t| seatmeter_core::time::parse_rfc3339(t.as_bytes()).unwrap().0)
        .min()
        .unwrap();
    let day = 86_400 * 1_000_000_000i64;
    assert_eq!(one.stdout, naive_usage_csv(&log, anchor.div_euclid(day) * day));
}

#[test]
fn no_progress_bar_when_standard_error_is_not_a_terminal() {
    let dir = Dir::new();
    let path = dir.path("big.csv");
    // About 40 MB: over the size at which a terminal would get a bar.
    let gen_run =
        seatmeter(&["generate-log", "--meetings", "450000", "--hosts", "500", "-o", path.to_str().unwrap()]);
    assert_eq!(gen_run.code, 0);
    let run = seatmeter(&[
        "usage",
        "--meetings",
        path.to_str().unwrap(),
        "-o",
        dir.path("out.csv").to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0);
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains("reading"), "{}", run.stderr);
    assert!(run.stderr.starts_with("meetings: 450000 read"), "{}", run.stderr);

    // Under a terminal (util-linux `script` gives the command a pty), the bar shows.
    let command = format!(
        "{} usage --meetings {} -o {}",
        env!("CARGO_BIN_EXE_seatmeter"),
        path.display(),
        dir.path("out2.csv").display()
    );
    let tty = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script(1) from util-linux runs");
    let printed = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{printed}");
    assert!(printed.contains("reading"), "a progress bar on a terminal: {printed:?}");
}

#[test]
fn a_file_written_in_parallel_pieces_equals_standard_output() {
    let dir = Dir::new();
    let mut rows = Vec::new();
    for i in 0..3000 {
        let host = match i % 4 {
            0 => format!("\"Doe, Jane {}\"", i % 37),
            1 => format!("\"say \"\"hi\"\" {}\"", i % 11),
            _ => format!("host{}", i % 53),
        };
        let day = 1 + i % 28;
        rows.push(format!(
            "m{i},{host},2026-{:02}-{day:02}T09:00:00Z,2026-{:02}-{day:02}T10:00:00Z,{},0",
            1 + i % 12,
            1 + i % 12,
            i % 3
        ));
    }
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let log = dir.write("log.csv", csv(&refs));
    let stdout = seatmeter(&["usage", "--meetings", &log, "-q"]);
    assert_eq!(stdout.code, 0, "{}", stdout.stderr);
    assert!(stdout.stdout.lines().count() > 200, "{}", stdout.stdout.lines().count());
    for threads in ["1", "3"] {
        let out = dir.path(&format!("usage-{threads}.csv"));
        let run = seatmeter(&[
            "usage",
            "--meetings",
            &log,
            "-q",
            "--threads",
            threads,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), stdout.stdout, "{threads} threads");
    }
}
