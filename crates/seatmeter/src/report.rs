//! From a scanned log to usage figures, and the figures to CSV, JSON or a
//! table; also the `--explain` report.

use std::fmt::Write as _;
use std::io::{self, Write};

use seatmeter_core::time::{Timestamp, format_rfc3339, format_utc_seconds};
use seatmeter_core::usage::{
    Attendance, CountPolicy, ExplainedMeeting, WindowExplanation, WindowIndex, WindowTotal, Windows, explain,
    peaks_from_sorted, sort_instants, window_totals,
};
use serde::Serialize;

use crate::scan::{KeptMeeting, ScannedLog};

/// Licenses one host uses in one window; `host` indexes [`ScannedLog::hosts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cell {
    /// The window.
    pub window: WindowIndex,
    /// The host.
    pub host: u32,
    /// Its licenses.
    pub licenses: u32,
}

/// Usage of a whole log.
#[derive(Debug)]
pub struct Usage {
    /// The windows.
    pub windows: Windows,
    /// Every (window, host) with licenses > 0, by window then host.
    pub cells: Vec<Cell>,
    /// Totals per window.
    pub totals: Vec<WindowTotal>,
}

/// Hosts per group: the meetings of one group of hosts fit in cache.
const GROUP_BITS: u32 = 8;

/// Computes usage on `threads` threads.
///
/// The engine needs each host's meetings together. Scattering millions of
/// meetings straight to their host's place would write all over a large
/// array, a cache miss per meeting; so this goes in two passes, like a radix
/// sort. First each reader's counted meetings are spread into groups of 256
/// hosts (a few hundred write positions, all in cache), one thread per
/// reader. Then threads take ranges of groups of about equal size; within a
/// group, whose meetings now sit together, each meeting goes to its host's
/// place in a small buffer, and the engine runs host by host.
pub fn compute(log: &ScannedLog, windows: Windows, threads: usize) -> Usage {
    let host_count = log.hosts.len();
    let groups = (host_count >> GROUP_BITS) + 1;
    let (per_part, offsets) = count_by_host(log);
    crate::phases::mark("hosts counted");
    let spread = spread_by_group(log, &per_part, groups);
    crate::phases::mark("meetings spread by host group");
    let ranges = balanced_ranges(&offsets, groups, threads.max(1));
    let per_thread = peaks_by_range(ranges, &offsets, &spread, &windows);
    let cells = by_window(per_thread);
    let totals = window_totals(cells.iter().map(|c| (c.window, c.licenses)));
    Usage { windows, cells, totals }
}

/// The group of 256 hosts host `g` belongs to.
fn group_of(g: u32) -> usize {
    (g >> GROUP_BITS) as usize
}

/// The first host of group `c` (or the host count, past the last group).
fn first_host(c: usize, host_count: usize) -> usize {
    (c << GROUP_BITS).min(host_count)
}

/// The global id of a reader's host `h`.
fn global(part: &crate::scan::CountedMeetings, h: u32) -> Option<u32> {
    part.to_global.get(h as usize).copied()
}

/// Meetings per host in each reader's columns, and where each host's
/// meetings begin once they are put together (one more entry than hosts).
fn count_by_host(log: &ScannedLog) -> (Vec<Vec<u32>>, Vec<usize>) {
    let host_count = log.hosts.len();
    let per_part: Vec<Vec<u32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = log
            .counted
            .iter()
            .map(|part| {
                scope.spawn(move || {
                    let mut counts = vec![0u32; host_count];
                    for &h in &part.host {
                        if let Some(g) = global(part, h) {
                            counts[g as usize] += 1;
                        }
                    }
                    counts
                })
            })
            .collect();
        handles.into_iter().map(crate::threads::joined).collect()
    });
    let mut offsets = vec![0usize; host_count + 1];
    for counts in &per_part {
        for (h, &n) in counts.iter().enumerate() {
            offsets[h + 1] += n as usize;
        }
    }
    for i in 0..host_count {
        offsets[i + 1] += offsets[i];
    }
    (per_part, offsets)
}

/// Pass 1: each reader's meetings spread by group, one thread per reader.
fn spread_by_group(log: &ScannedLog, per_part: &[Vec<u32>], groups: usize) -> Vec<Spread> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = log
            .counted
            .iter()
            .zip(per_part)
            .map(|(part, counts)| scope.spawn(move || spread_one(part, counts, groups)))
            .collect();
        handles.into_iter().map(crate::threads::joined).collect()
    })
}

/// One reader's meetings spread by group.
fn spread_one(part: &crate::scan::CountedMeetings, counts: &[u32], groups: usize) -> Spread {
    let mut starts = vec![0usize; groups + 1];
    for (h, &n) in counts.iter().enumerate() {
        starts[group_of(h as u32) + 1] += n as usize;
    }
    for c in 0..groups {
        starts[c + 1] += starts[c];
    }
    let len = starts[groups];
    let mut spread =
        Spread { host: vec![0; len], start: vec![0; len], end: vec![0; len], group_starts: starts.clone() };
    let mut next = starts;
    for ((&h, &s), &e) in part.host.iter().zip(&part.start).zip(&part.end) {
        let Some(g) = global(part, h) else { continue };
        let slot = &mut next[group_of(g)];
        spread.host[*slot] = g;
        spread.start[*slot] = s;
        spread.end[*slot] = e;
        *slot += 1;
    }
    spread
}

/// Ranges of groups of about equal meeting counts, one per thread.
fn balanced_ranges(offsets: &[usize], groups: usize, threads: usize) -> Vec<std::ops::Range<usize>> {
    let host_count = offsets.len() - 1;
    let total = offsets[host_count];
    let mut ranges = Vec::with_capacity(threads);
    let mut from = 0;
    for t in 1..=threads {
        let to = if t == threads {
            groups
        } else {
            (from..groups)
                .find(|&c| offsets[first_host(c, host_count)] >= total * t / threads)
                .unwrap_or(groups)
        };
        ranges.push(from..to);
        from = to;
    }
    ranges
}

/// Pass 2: each thread takes its range of groups; within a group, whose
/// meetings now sit together, each meeting goes to its host's place in a
/// small buffer, and the engine runs host by host.
fn peaks_by_range(
    ranges: Vec<std::ops::Range<usize>>,
    offsets: &[usize],
    spread: &[Spread],
    windows: &Windows,
) -> Vec<Vec<Cell>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|group_range| scope.spawn(move || peaks_of_groups(group_range, offsets, spread, windows)))
            .collect();
        handles.into_iter().map(crate::threads::joined).collect()
    })
}

/// The cells of the hosts of groups `group_range`, in host order.
fn peaks_of_groups(
    group_range: std::ops::Range<usize>,
    offsets: &[usize],
    spread: &[Spread],
    windows: &Windows,
) -> Vec<Cell> {
    let host_count = offsets.len() - 1;
    let (mut starts, mut ends, mut place, mut scratch) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut out = Vec::new();
    for c in group_range {
        let hosts = first_host(c, host_count)..first_host(c + 1, host_count);
        let base = offsets[hosts.start];
        let len = offsets[hosts.end] - base;
        starts.clear();
        starts.resize(len, 0i64);
        ends.clear();
        ends.resize(len, 0i64);
        place.clear();
        place.extend(offsets[hosts.clone()].iter().map(|o| o - base));
        for part in spread {
            for i in part.group_starts[c]..part.group_starts[c + 1] {
                let slot = &mut place[part.host[i] as usize - hosts.start];
                starts[*slot] = part.start[i];
                ends[*slot] = part.end[i];
                *slot += 1;
            }
        }
        for h in hosts {
            let range = offsets[h] - base..offsets[h + 1] - base;
            let (s, e) = (&mut starts[range.clone()], &mut ends[range]);
            sort_instants(s, &mut scratch);
            sort_instants(e, &mut scratch);
            peaks_from_sorted(windows, s, e, |window, licenses| {
                out.push(Cell { window, host: h as u32, licenses });
            });
        }
    }
    out
}

/// One reader's counted meetings ordered by host group (see [`compute`]).
#[derive(Default)]
struct Spread {
    host: Vec<u32>,
    start: Vec<i64>,
    end: Vec<i64>,
    /// Where each group's meetings begin (one more entry than groups).
    group_starts: Vec<usize>,
}

/// Orders cells by window, keeping host order within a window: the input is
/// in host order, so a stable counting sort on the window suffices. Windows
/// span at most a few thousand indices (the whole supported time range).
fn by_window(parts: Vec<Vec<Cell>>) -> Vec<Cell> {
    let (Some(min), Some(max)) =
        (parts.iter().flatten().map(|c| c.window).min(), parts.iter().flatten().map(|c| c.window).max())
    else {
        return Vec::new();
    };
    let width = (max - min) as usize + 1;
    let mut starts = vec![0usize; width + 1];
    for c in parts.iter().flatten() {
        starts[(c.window - min) as usize + 1] += 1;
    }
    for i in 0..width {
        starts[i + 1] += starts[i];
    }
    let mut out = vec![Cell { window: 0, host: 0, licenses: 0 }; starts[width]];
    for c in parts.into_iter().flatten() {
        let slot = &mut starts[(c.window - min) as usize];
        out[*slot] = c;
        *slot += 1;
    }
    out
}

pub use seatmeter_core::usage::csv::{HEADER as CSV_HEADER, field as csv_field, row_prefix};

/// Exact length in bytes of the CSV rows of `cells` (to place pieces written in parallel).
pub fn csv_rows_len(cells: &[Cell], windows: &Windows, hosts: &[String]) -> u64 {
    let mut prefix_len = 0;
    let mut prefix_window = None;
    let mut total = 0u64;
    for cell in cells {
        if prefix_window != Some(cell.window) {
            prefix_len = row_prefix(windows, cell.window).len();
            prefix_window = Some(cell.window);
        }
        let digits = cell.licenses.checked_ilog10().unwrap_or(0) as usize + 1;
        total += (prefix_len + csv_field(&hosts[cell.host as usize]).len() + 1 + digits + 1) as u64;
    }
    total
}

/// Formats the CSV rows of `cells`, handing them to `sink` about a megabyte at a time.
pub fn write_csv_rows(
    cells: &[Cell],
    windows: &Windows,
    hosts: &[String],
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    const PIECE: usize = 1 << 20;
    let mut buffer = Vec::with_capacity(PIECE + 4096);
    let mut prefix = String::new();
    let mut prefix_window = None;
    for cell in cells {
        if prefix_window != Some(cell.window) {
            prefix = row_prefix(windows, cell.window);
            prefix_window = Some(cell.window);
        }
        buffer.extend_from_slice(prefix.as_bytes());
        buffer.extend_from_slice(csv_field(&hosts[cell.host as usize]).as_bytes());
        // Writing to a Vec cannot fail.
        let _ = writeln!(buffer, ",{}", cell.licenses);
        if buffer.len() >= PIECE {
            sink(&buffer)?;
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        sink(&buffer)?;
    }
    Ok(())
}

/// Names the policy as the options and JSON do.
pub fn policy_name(policy: CountPolicy) -> &'static str {
    match policy {
        CountPolicy::WebOnly => "web_attendees_only",
        CountPolicy::CountTeleconferenceOnly => "count_teleconference_only",
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    period_start: String,
    policy: &'static str,
    installed_host_licenses: Option<u64>,
    windows: Vec<JsonWindow<'a>>,
}

#[derive(Serialize)]
struct JsonWindow<'a> {
    window_start: String,
    window_end: String,
    total_licenses: u64,
    hosts_with_usage: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    overage: Option<u64>,
    hosts: Vec<JsonHost<'a>>,
}

#[derive(Serialize)]
struct JsonHost<'a> {
    host: &'a str,
    licenses: u32,
}

/// Writes windows with totals (and overage against `installed`) and per-host rows.
pub fn write_json(
    out: &mut impl Write,
    usage: &Usage,
    hosts: &[String],
    policy: CountPolicy,
    installed: Option<u64>,
) -> io::Result<()> {
    let mut cells = usage.cells.iter().peekable();
    let windows = usage
        .totals
        .iter()
        .map(|t| {
            let mut rows = Vec::with_capacity(t.hosts as usize);
            while let Some(c) = cells.next_if(|c| c.window == t.window) {
                rows.push(JsonHost { host: &hosts[c.host as usize], licenses: c.licenses });
            }
            JsonWindow {
                window_start: format_utc_seconds(usage.windows.start(t.window)),
                window_end: format_utc_seconds(usage.windows.end(t.window)),
                total_licenses: t.licenses,
                hosts_with_usage: t.hosts,
                overage: installed.map(|n| t.overage(n)),
                hosts: rows,
            }
        })
        .collect();
    let report = JsonReport {
        period_start: format_rfc3339(usage.windows.anchor()),
        policy: policy_name(policy),
        installed_host_licenses: installed,
        windows,
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Writes a table for people: one block per window with its hosts and total.
pub fn write_table(
    out: &mut impl Write,
    usage: &Usage,
    hosts: &[String],
    installed: Option<u64>,
) -> io::Result<()> {
    if usage.cells.is_empty() {
        return writeln!(out, "No host used a license: no counted meetings.");
    }
    let widest_total =
        usage.totals.iter().map(|t| format!("total ({} hosts)", t.hosts).len()).max().unwrap_or(0);
    let widest_host = usage.cells.iter().map(|c| hosts[c.host as usize].chars().count()).max().unwrap_or(0);
    let width = widest_host.min(60).max(widest_total).max(4);
    let mut cells = usage.cells.iter().peekable();
    for (i, t) in usage.totals.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(
            out,
            "Window {} to {}",
            format_utc_seconds(usage.windows.start(t.window)),
            format_utc_seconds(usage.windows.end(t.window))
        )?;
        writeln!(out, "  {:<width$}  {:>8}", "HOST", "LICENSES")?;
        while let Some(c) = cells.next_if(|c| c.window == t.window) {
            writeln!(out, "  {:<width$}  {:>8}", hosts[c.host as usize], c.licenses)?;
        }
        writeln!(out, "  {:<width$}  {:>8}", format!("total ({} hosts)", t.hosts), t.licenses)?;
        if let Some(n) = installed {
            match t.overage(n) {
                0 => writeln!(out, "  within the {n} host licenses installed")?,
                over => writeln!(out, "  OVERAGE: {over} more than the {n} host licenses installed")?,
            }
        }
    }
    Ok(())
}

/// The summary printed on standard error.
pub fn summary(
    log: &ScannedLog,
    usage: &Usage,
    policy: CountPolicy,
    installed: Option<u64>,
    anchor_note: &str,
) -> String {
    let s = &log.stats;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "meetings: {} read, {} counted, {} not counted ({} teleconference only, {} nobody attended), {} skipped",
        s.meetings,
        s.counted,
        s.no_web_attendee + s.nobody_attended,
        s.no_web_attendee,
        s.nobody_attended,
        s.skipped
    );
    let hosts_with_usage = {
        let mut seen: Vec<u32> = usage.cells.iter().map(|c| c.host).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    };
    let _ = writeln!(
        text,
        "hosts: {} in the log, {} used licenses; windows with usage: {}; period start {} ({anchor_note}); policy {}",
        log.hosts.len(),
        hosts_with_usage,
        usage.totals.len(),
        format_rfc3339(usage.windows.anchor()),
        policy_name(policy)
    );
    const SHOWN: usize = 60;
    for t in usage.totals.iter().take(SHOWN) {
        let _ = write!(
            text,
            "  {} to {}: {} licenses ({} hosts)",
            format_utc_seconds(usage.windows.start(t.window)),
            format_utc_seconds(usage.windows.end(t.window)),
            t.licenses,
            t.hosts
        );
        if let Some(n) = installed {
            let _ = write!(text, ", overage {} against {n} installed", t.overage(n));
        }
        text.push('\n');
    }
    if usage.totals.len() > SHOWN {
        let _ = writeln!(text, "  ... and {} more windows", usage.totals.len() - SHOWN);
    }
    text
}

#[derive(Serialize)]
struct JsonExplanation<'a> {
    host: &'a str,
    period_start: String,
    policy: &'static str,
    windows: Vec<JsonExplainedWindow<'a>>,
}

#[derive(Serialize)]
struct JsonExplainedWindow<'a> {
    window_start: String,
    window_end: String,
    licenses: u32,
    peak_at: Option<String>,
    in_progress_at_peak: Vec<JsonMeeting<'a>>,
    not_counted: Vec<JsonMeeting<'a>>,
}

#[derive(Serialize)]
struct JsonMeeting<'a> {
    line: u64,
    meeting_id: &'a str,
    start: String,
    end: String,
    web_attendees: u64,
    phone_attendees: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

fn json_meeting<'a>(m: &'a KeptMeeting, reason: Option<&'static str>) -> JsonMeeting<'a> {
    JsonMeeting {
        line: m.line,
        meeting_id: &m.meeting_id,
        start: format_rfc3339(Timestamp(m.start)),
        end: format_rfc3339(Timestamp(m.end)),
        web_attendees: m.web_attendees,
        phone_attendees: m.phone_attendees,
        reason,
    }
}

/// Writes why `host` used the licenses it did, window by window.
pub fn write_explanation(
    out: &mut impl Write,
    host: &str,
    log: &ScannedLog,
    windows: Windows,
    policy: CountPolicy,
    as_json: bool,
) -> io::Result<()> {
    let meetings: Vec<ExplainedMeeting> = log
        .explain
        .iter()
        .map(|m| ExplainedMeeting {
            start: m.start,
            end: m.end,
            attendance: Attendance::of(policy, m.web_attendees, m.phone_attendees),
        })
        .collect();
    let explained = explain(&windows, &meetings);
    if as_json {
        return write_explanation_json(out, host, log, &windows, policy, &meetings, &explained);
    }
    writeln!(
        out,
        "Host {host:?}: {} meetings in the log (period start {}, policy {})",
        meetings.len(),
        format_rfc3339(windows.anchor()),
        policy_name(policy)
    )?;
    if meetings.is_empty() {
        writeln!(out, "No meetings: this host uses no license in any window.")?;
        if let Some(similar) = log.hosts.iter().find(|h| h.eq_ignore_ascii_case(host) && *h != host) {
            writeln!(out, "Did you mean {similar:?}? Host names are compared exactly.")?;
        }
        return Ok(());
    }
    for w in &explained {
        write_explained_window(out, log, &windows, &meetings, w)?;
    }
    Ok(())
}

/// `--explain` as JSON.
fn write_explanation_json(
    out: &mut impl Write,
    host: &str,
    log: &ScannedLog,
    windows: &Windows,
    policy: CountPolicy,
    meetings: &[ExplainedMeeting],
    explained: &[WindowExplanation],
) -> io::Result<()> {
    let reason = |i: usize| meetings[i].attendance.reason();
    let report = JsonExplanation {
        host,
        period_start: format_rfc3339(windows.anchor()),
        policy: policy_name(policy),
        windows: explained
            .iter()
            .map(|w| JsonExplainedWindow {
                window_start: format_utc_seconds(windows.start(w.window)),
                window_end: format_utc_seconds(windows.end(w.window)),
                licenses: w.licenses,
                peak_at: w.peak_at.map(format_rfc3339),
                in_progress_at_peak: w
                    .in_progress_at_peak
                    .iter()
                    .map(|&i| json_meeting(&log.explain[i], None))
                    .collect(),
                not_counted: w
                    .not_counted
                    .iter()
                    .map(|&i| json_meeting(&log.explain[i], reason(i)))
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// One meeting of `--explain`, on one line.
fn explained_line(m: &KeptMeeting) -> String {
    format!(
        "line {}: {} from {} to {}, web {}, phone {}",
        m.line,
        m.meeting_id,
        format_rfc3339(Timestamp(m.start)),
        format_rfc3339(Timestamp(m.end)),
        m.web_attendees,
        m.phone_attendees
    )
}

/// One window of `--explain` as text: its peak, the meetings in progress
/// then, and the meetings not counted with the reason.
fn write_explained_window(
    out: &mut impl Write,
    log: &ScannedLog,
    windows: &Windows,
    meetings: &[ExplainedMeeting],
    w: &WindowExplanation,
) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "Window {} to {}: {} license{}",
        format_utc_seconds(windows.start(w.window)),
        format_utc_seconds(windows.end(w.window)),
        w.licenses,
        if w.licenses == 1 { "" } else { "s" }
    )?;
    match w.peak_at {
        Some(at) => {
            writeln!(
                out,
                "  peak at {}: {} counted meeting{} in progress",
                format_rfc3339(at),
                w.in_progress_at_peak.len(),
                if w.in_progress_at_peak.len() == 1 { "" } else { "s" }
            )?;
            for &i in &w.in_progress_at_peak {
                writeln!(out, "    {}", explained_line(&log.explain[i]))?;
            }
        }
        None => writeln!(out, "  no counted meeting in this window")?,
    }
    if !w.not_counted.is_empty() {
        writeln!(out, "  not counted:")?;
        for &i in &w.not_counted {
            let reason = meetings[i].attendance.reason().unwrap_or("");
            writeln!(out, "    {} ({reason})", explained_line(&log.explain[i]))?;
        }
    }
    Ok(())
}
