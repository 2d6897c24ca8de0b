//! Host-license usage: the normative rule of SPEC "Host-license usage".
//!
//! Time is cut into fixed 30-day windows `[P + 30k days, P + 30(k+1) days)`
//! on an anchor `P`. A meeting is the half-open interval `[start, end)` and
//! belongs to every window it overlaps. A host's licenses in a window are the
//! largest number of its *counted* meetings in progress at one instant inside
//! that window; the account consumes the sum over hosts.
//!
//! Two ways to compute the same thing:
//! - [`host_peaks`] (and the convenience [`compute_usage`]) for a whole batch,
//!   one host at a time over its meetings: the fast path of `seatmeter usage`;
//! - [`LiveUsage`], which takes meetings one by one (and removes them again)
//!   and keeps every (window, host) figure current: the server's live usage.
//!
//! Both agree with each other and with a deliberately naive reference on
//! random logs (see the property tests).

use std::collections::BTreeMap;

use crate::time::{NANOS_PER_DAY, Timestamp};

/// Length of a usage window in days.
pub const WINDOW_DAYS: i64 = 30;
/// Length of a usage window in nanoseconds.
pub const WINDOW_NANOS: i64 = WINDOW_DAYS * NANOS_PER_DAY;

/// Window index, `k` in `[P + 30k days, P + 30(k+1) days)`; negative before the anchor.
pub type WindowIndex = i64;

/// The fixed 30-day windows aligned on an anchor instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    anchor: Timestamp,
}

impl Windows {
    /// Windows aligned on `anchor` (an account's first setup, or `--period-start`).
    pub fn new(anchor: Timestamp) -> Self {
        Self { anchor }
    }

    /// The anchor instant `P`.
    pub fn anchor(&self) -> Timestamp {
        self.anchor
    }

    /// The window that contains the instant `t` (nanoseconds since the epoch).
    #[inline]
    pub fn index_of(&self, t: i64) -> WindowIndex {
        match t.checked_sub(self.anchor.0) {
            Some(d) => d.div_euclid(WINDOW_NANOS),
            // Only for instants centuries away from the anchor.
            None => (i128::from(t) - i128::from(self.anchor.0)).div_euclid(i128::from(WINDOW_NANOS)) as i64,
        }
    }

    /// First instant of window `k`, in nanoseconds since the epoch.
    pub fn start(&self, k: WindowIndex) -> i128 {
        i128::from(self.anchor.0) + i128::from(k) * i128::from(WINDOW_NANOS)
    }

    /// First instant after window `k` (its exclusive end).
    pub fn end(&self, k: WindowIndex) -> i128 {
        self.start(k) + i128::from(WINDOW_NANOS)
    }

    /// The windows a meeting `[start, end)` overlaps (requires `end > start`).
    pub fn spanned(&self, start: i64, end: i64) -> std::ops::RangeInclusive<WindowIndex> {
        self.index_of(start)..=self.index_of(end - 1)
    }

    /// `[start, end)` clipped to window `k`; `None` when they do not overlap.
    pub fn clip(&self, k: WindowIndex, start: i64, end: i64) -> Option<(i64, i64)> {
        let s = i128::from(start).max(self.start(k));
        let e = i128::from(end).min(self.end(k));
        // Both lie within [start, end], so they fit in i64.
        (s < e).then_some((s as i64, e as i64))
    }
}

/// Which meetings count towards host-license usage (SPEC rule 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CountPolicy {
    /// Only meetings with at least one web attendee count (the seed's table).
    #[default]
    WebOnly,
    /// Meetings with only teleconference (phone) attendees count too.
    CountTeleconferenceOnly,
}

/// Whether a meeting counts, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attendance {
    /// The meeting counts towards its host's licenses.
    Counted,
    /// Only teleconference attendees joined, and the policy does not count those.
    NoWebAttendee,
    /// Nobody joined: scheduled but never held.
    NobodyAttended,
}

impl Attendance {
    /// Classifies a meeting from its attendee counts under `policy`.
    #[inline]
    pub fn of(policy: CountPolicy, web_attendees: u64, phone_attendees: u64) -> Self {
        match (web_attendees, phone_attendees, policy) {
            (0, 0, _) => Self::NobodyAttended,
            (0, _, CountPolicy::WebOnly) => Self::NoWebAttendee,
            _ => Self::Counted,
        }
    }

    /// True when the meeting counts.
    #[inline]
    pub fn is_counted(self) -> bool {
        self == Self::Counted
    }

    /// Why a meeting is not counted, in words; `None` when it is counted.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::Counted => None,
            Self::NoWebAttendee => Some("no web attendee: teleconference only"),
            Self::NobodyAttended => Some("nobody attended"),
        }
    }
}

/// Licenses one host uses in one window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageRow<H> {
    /// The window.
    pub window: WindowIndex,
    /// The host (owner) the licenses are charged to.
    pub host: H,
    /// Peak number of the host's counted meetings in progress at one instant.
    pub licenses: u32,
}

/// Peak concurrency per window for one host, from its meetings' start and
/// end instants, each sorted ascending. Calls `emit(window, licenses)` once
/// per window with licenses > 0, in ascending window order.
///
/// The count at an instant `t` is `#{start <= t} - #{end <= t}`, so the
/// half-open rule (touching meetings are not simultaneous) falls out of
/// applying all events at `t` before reading the count. Between two event
/// times the count is constant; a window that starts inside such a gap sees
/// that count at its first instant, which is how a meeting spanning a window
/// boundary counts in both windows.
pub fn peaks_from_sorted(
    windows: &Windows,
    starts: &[i64],
    ends: &[i64],
    mut emit: impl FnMut(WindowIndex, u32),
) {
    debug_assert_eq!(starts.len(), ends.len());
    let mut current: Option<(WindowIndex, u32)> = None;
    let mut note = |k: WindowIndex, count: u32| match &mut current {
        Some((ck, peak)) if *ck == k => *peak = (*peak).max(count),
        slot => {
            if let Some((ck, peak)) = slot.take().filter(|(_, p)| *p > 0) {
                emit(ck, peak);
            }
            *slot = Some((k, count));
        }
    };
    let (mut i, mut j, mut count) = (0usize, 0usize, 0u32);
    while let Some(&next_end) = ends.get(j) {
        let t = starts.get(i).map_or(next_end, |&s| s.min(next_end));
        while starts.get(i) == Some(&t) {
            count += 1;
            i += 1;
        }
        while ends.get(j) == Some(&t) {
            count -= 1;
            j += 1;
        }
        let k = windows.index_of(t);
        note(k, count);
        if count > 0 {
            // A pending end exists while count > 0, so there is a next event.
            let next = match (starts.get(i), ends.get(j)) {
                (Some(&s), Some(&e)) => s.min(e),
                (None, Some(&e)) => e,
                _ => break,
            };
            for gap_window in k + 1..=windows.index_of(next - 1) {
                note(gap_window, count);
            }
        }
    }
    if let Some((k, peak)) = current.filter(|(_, p)| *p > 0) {
        emit(k, peak);
    }
}

/// Per-window peaks for one host from unsorted starts and ends, sorting them in place.
pub fn host_peaks(
    windows: &Windows,
    starts: &mut [i64],
    ends: &mut [i64],
    emit: impl FnMut(WindowIndex, u32),
) {
    let mut scratch = Vec::new();
    sort_instants(starts, &mut scratch);
    sort_instants(ends, &mut scratch);
    peaks_from_sorted(windows, starts, ends, emit);
}

/// Sorts instants ascending. Over a few dozen values it first spreads them
/// into 256 buckets by their top bits between the minimum and the maximum
/// (meeting times are spread out, so buckets hold a value or two), then
/// sorts each bucket: a batch engine sorts a hundred thousand hosts' meetings
/// this way about twice as fast as with a comparison sort alone.
pub fn sort_instants(values: &mut [i64], scratch: &mut Vec<i64>) {
    const BUCKETS: usize = 256;
    if values.len() < 48 {
        values.sort_unstable();
        return;
    }
    let (min, max) = values.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let range = max.abs_diff(min);
    let shift = (u64::BITS - range.leading_zeros()).saturating_sub(BUCKETS.trailing_zeros());
    let bucket = |v: i64| (v.abs_diff(min) >> shift) as usize;
    let mut starts = [0usize; BUCKETS + 1];
    for &v in values.iter() {
        starts[bucket(v) + 1] += 1;
    }
    for i in 0..BUCKETS {
        starts[i + 1] += starts[i];
    }
    scratch.clear();
    scratch.resize(values.len(), 0);
    let mut next = starts;
    for &v in values.iter() {
        let b = bucket(v);
        scratch[next[b]] = v;
        next[b] += 1;
    }
    for b in 0..BUCKETS {
        let slice = &mut scratch[starts[b]..starts[b + 1]];
        if slice.len() > 1 {
            slice.sort_unstable();
        }
    }
    values.copy_from_slice(scratch);
}

/// Usage rows for a batch of counted meetings `(host, start, end)`, sorted by
/// window then host. Meetings must satisfy `end > start`.
pub fn compute_usage<H: Ord + Clone>(
    windows: &Windows,
    meetings: impl IntoIterator<Item = (H, i64, i64)>,
) -> Vec<UsageRow<H>> {
    let mut by_host: BTreeMap<H, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for (host, start, end) in meetings {
        let entry = by_host.entry(host).or_default();
        entry.0.push(start);
        entry.1.push(end);
    }
    let mut rows = Vec::new();
    for (host, (mut starts, mut ends)) in by_host {
        host_peaks(windows, &mut starts, &mut ends, |window, licenses| {
            rows.push(UsageRow { window, host: host.clone(), licenses });
        });
    }
    rows.sort_by(|a, b| (a.window, &a.host).cmp(&(b.window, &b.host)));
    rows
}

/// The account's consumption in one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowTotal {
    /// The window.
    pub window: WindowIndex,
    /// Sum over hosts of their licenses in the window.
    pub licenses: u64,
    /// Hosts with licenses > 0 in the window.
    pub hosts: u64,
}

impl WindowTotal {
    /// Licenses consumed beyond `installed` host licenses (0 when compliant).
    pub fn overage(&self, installed: u64) -> u64 {
        self.licenses.saturating_sub(installed)
    }
}

/// Totals per window from `(window, licenses)` pairs sorted by window.
pub fn window_totals(rows: impl IntoIterator<Item = (WindowIndex, u32)>) -> Vec<WindowTotal> {
    let mut totals: Vec<WindowTotal> = Vec::new();
    for (window, licenses) in rows {
        match totals.last_mut() {
            Some(t) if t.window == window => {
                t.licenses += u64::from(licenses);
                t.hosts += 1;
            }
            _ => totals.push(WindowTotal { window, licenses: u64::from(licenses), hosts: 1 }),
        }
    }
    totals
}

/// Live host-license usage, kept current one meeting at a time.
///
/// Each (window, host) keeps its counted meetings' edges clipped to the
/// window, so adding or removing a meeting only recomputes the windows that
/// meeting overlaps for that host; nothing is recomputed from the whole
/// history. Adding meetings one by one gives exactly what [`compute_usage`]
/// gives for the same batch.
#[derive(Clone, Debug)]
pub struct LiveUsage<H: Ord + Clone> {
    windows: Windows,
    cells: BTreeMap<(WindowIndex, H), Cell>,
}

#[derive(Clone, Debug, Default)]
struct Cell {
    /// Net change of the in-progress count at each instant (+1 start, -1 end).
    edges: BTreeMap<i64, i64>,
    peak: u32,
}

impl Cell {
    fn recompute(&mut self) {
        let mut count = 0i64;
        let mut peak = 0i64;
        for delta in self.edges.values() {
            count += delta;
            peak = peak.max(count);
        }
        self.peak = u32::try_from(peak).unwrap_or(u32::MAX);
    }

    fn shift(&mut self, at: i64, delta: i64) {
        let entry = self.edges.entry(at).or_insert(0);
        *entry += delta;
        if *entry == 0 {
            self.edges.remove(&at);
        }
    }
}

impl<H: Ord + Clone> LiveUsage<H> {
    /// Empty usage on the given windows.
    pub fn new(windows: Windows) -> Self {
        Self { windows, cells: BTreeMap::new() }
    }

    /// The windows this usage is measured on.
    pub fn windows(&self) -> &Windows {
        &self.windows
    }

    /// Adds a counted meeting `[start, end)` of `host`. Ignores `end <= start`.
    pub fn add(&mut self, host: &H, start: i64, end: i64) {
        self.apply(host, start, end, 1);
    }

    /// Removes a meeting added before with the same host and interval
    /// (for a meeting whose end or attendance changed).
    pub fn remove(&mut self, host: &H, start: i64, end: i64) {
        self.apply(host, start, end, -1);
    }

    fn apply(&mut self, host: &H, start: i64, end: i64, sign: i64) {
        if end <= start {
            return;
        }
        for k in self.windows.spanned(start, end) {
            let Some((s, e)) = self.windows.clip(k, start, end) else { continue };
            let cell = self.cells.entry((k, host.clone())).or_default();
            cell.shift(s, sign);
            cell.shift(e, -sign);
            cell.recompute();
            if cell.edges.is_empty() {
                self.cells.remove(&(k, host.clone()));
            }
        }
    }

    /// Licenses `host` uses in window `k`.
    pub fn licenses(&self, k: WindowIndex, host: &H) -> u32 {
        self.cells.get(&(k, host.clone())).map_or(0, |c| c.peak)
    }

    /// Every (window, host) with licenses > 0, sorted by window then host.
    pub fn rows(&self) -> impl Iterator<Item = UsageRow<H>> + '_ {
        self.cells.iter().filter(|(_, c)| c.peak > 0).map(|((window, host), c)| UsageRow {
            window: *window,
            host: host.clone(),
            licenses: c.peak,
        })
    }

    /// Totals per window, sorted by window.
    pub fn totals(&self) -> Vec<WindowTotal> {
        window_totals(self.rows().map(|r| (r.window, r.licenses)))
    }
}

/// One of a host's meetings, as `--explain` needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExplainedMeeting {
    /// Start instant (ns since the epoch).
    pub start: i64,
    /// End instant (exclusive).
    pub end: i64,
    /// Whether it counts, and why not.
    pub attendance: Attendance,
}

/// Why a host used the licenses it did in one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowExplanation {
    /// The window.
    pub window: WindowIndex,
    /// The host's licenses in the window.
    pub licenses: u32,
    /// The first instant at which the peak was reached (none when 0 licenses).
    pub peak_at: Option<Timestamp>,
    /// Indices of the counted meetings in progress at `peak_at`.
    pub in_progress_at_peak: Vec<usize>,
    /// Indices of the host's meetings in the window that were not counted.
    pub not_counted: Vec<usize>,
}

/// Explains, window by window, one host's usage from all its meetings
/// (counted or not). Windows in which the host had any meeting are listed.
pub fn explain(windows: &Windows, meetings: &[ExplainedMeeting]) -> Vec<WindowExplanation> {
    let mut per_window: BTreeMap<WindowIndex, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, m) in meetings.iter().enumerate() {
        if m.end <= m.start {
            continue;
        }
        for k in windows.spanned(m.start, m.end) {
            let (counted, not_counted) = per_window.entry(k).or_default();
            if m.attendance.is_counted() { counted } else { not_counted }.push(i);
        }
    }
    per_window
        .into_iter()
        .map(|(window, (counted, not_counted))| {
            let mut edges: BTreeMap<i64, i64> = BTreeMap::new();
            for &i in &counted {
                if let Some((s, e)) = windows.clip(window, meetings[i].start, meetings[i].end) {
                    *edges.entry(s).or_default() += 1;
                    *edges.entry(e).or_default() -= 1;
                }
            }
            let (mut count, mut peak, mut peak_at) = (0i64, 0i64, None);
            for (&t, delta) in &edges {
                count += delta;
                if count > peak {
                    peak = count;
                    peak_at = Some(t);
                }
            }
            let in_progress_at_peak = peak_at.map_or_else(Vec::new, |t| {
                counted.iter().copied().filter(|&i| meetings[i].start <= t && t < meetings[i].end).collect()
            });
            WindowExplanation {
                window,
                licenses: u32::try_from(peak).unwrap_or(u32::MAX),
                peak_at: peak_at.map(Timestamp),
                in_progress_at_peak,
                not_counted,
            }
        })
        .collect()
}

/// The normative usage CSV: `window_start,window_end,host,licenses`, times
/// as `YYYY-MM-DDTHH:MM:SSZ`. One definition serves `seatmeter usage` and
/// the server's `GET /v1/usage?format=csv`, so the two agree byte for byte.
pub mod csv {
    use std::borrow::Cow;

    use super::{WindowIndex, Windows};
    use crate::time::format_utc_seconds;

    /// The header line.
    pub const HEADER: &[u8] = b"window_start,window_end,host,licenses\n";

    /// Quotes a field when it needs it (RFC 4180).
    pub fn field(text: &str) -> Cow<'_, str> {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\"")).into()
        } else {
            text.into()
        }
    }

    /// How the text of a CSV's cells is written.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub enum Cells {
        /// As it is: a machine format that reads back exactly (the meeting
        /// log, the usage CSV of `seatmeter usage`).
        #[default]
        Exact,
        /// Safe to open in a spreadsheet: a text that a spreadsheet would
        /// run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
        /// carriage return) gets a leading `'`, as OWASP recommends.
        FormulaSafe,
    }

    impl Cells {
        /// `text` as a quoted-if-needed field of this kind.
        pub fn field(self, text: &str) -> Cow<'_, str> {
            match self {
                Cells::FormulaSafe if text.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
                    field(&format!("'{text}")).into_owned().into()
                }
                // A spreadsheet set to split on `;` would make two cells,
                // the second of which could start a formula: quoted, it is one.
                Cells::FormulaSafe if text.contains(';') => {
                    format!("\"{}\"", text.replace('"', "\"\"")).into()
                }
                _ => field(text),
            }
        }
    }

    /// The `window_start,window_end,` prefix of the rows of window `k`.
    pub fn row_prefix(windows: &Windows, k: WindowIndex) -> String {
        format!("{},{},", format_utc_seconds(windows.start(k)), format_utc_seconds(windows.end(k)))
    }

    /// The whole CSV of `rows` (sorted by window, then host in byte order).
    pub fn render<'a>(
        windows: &Windows,
        rows: impl IntoIterator<Item = (WindowIndex, &'a str, u32)>,
    ) -> String {
        render_cells(windows, rows, Cells::Exact)
    }

    /// [`render`], its hosts written as `cells` says.
    pub fn render_cells<'a>(
        windows: &Windows,
        rows: impl IntoIterator<Item = (WindowIndex, &'a str, u32)>,
        cells: Cells,
    ) -> String {
        let mut out = String::from_utf8_lossy(HEADER).into_owned();
        for (window, host, licenses) in rows {
            out.push_str(&row_prefix(windows, window));
            out.push_str(&cells.field(host));
            out.push(',');
            out.push_str(&licenses.to_string());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests;
