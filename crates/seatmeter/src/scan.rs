//! Reading a whole meeting log into the compact form the usage engine needs,
//! on every core.
//!
//! The calling thread reads the input in blocks cut at record boundaries and
//! hands them to worker threads. Each worker parses its blocks, checks every
//! record, interns host names and keeps, per counted meeting, only
//! `(host, start, end)`. Meeting ids are kept (bytes plus a hash, bucketed by
//! hash) just long enough to find duplicates after the read. Nothing about a
//! log is reported until all of it is read, so an invalid log yields an
//! error naming its first bad line and no partial result.

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};

use anyhow::{Result, anyhow};
use foldhash::fast::FixedState;
use seatmeter_core::log::{
    CsvSplitter, HeaderError, MeetingRecord, RecordError, check_meeting, parse_instant,
};
use seatmeter_core::usage::{Attendance, CountPolicy};
use std::hash::BuildHasher;

use crate::input::{Opened, Syntax, sniff};

/// Bytes handed to a worker at a time.
const BLOCK: usize = 4 << 20;
/// The longest record accepted (a guard against a quote never closed).
const MAX_RECORD: usize = 64 << 20;
/// Buckets meeting ids are spread over by hash, so duplicates are found in
/// cache-sized groups.
const ID_BUCKET_BITS: u32 = 10;

/// How to read a log.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Report bad records and go on, rather than stop at the first.
    pub skip_invalid: bool,
    /// Which meetings count.
    pub policy: CountPolicy,
    /// Keep every meeting of this host, for `--explain`.
    pub explain_host: Option<String>,
    /// Worker threads (at least 1).
    pub threads: usize,
}

/// A bad record: its line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line where the record starts.
    pub line: u64,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Counts of what the log held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Valid meeting records read.
    pub meetings: u64,
    /// Meetings that count.
    pub counted: u64,
    /// Meetings not counted: teleconference attendees only.
    pub no_web_attendee: u64,
    /// Meetings not counted: nobody attended.
    pub nobody_attended: u64,
    /// Records skipped as invalid (`--skip-invalid`).
    pub skipped: u64,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.meetings += other.meetings;
        self.counted += other.counted;
        self.no_web_attendee += other.no_web_attendee;
        self.nobody_attended += other.nobody_attended;
        self.skipped += other.skipped;
    }

    fn count(&mut self, attendance: Attendance, sign: i64) {
        let slot = match attendance {
            Attendance::Counted => &mut self.counted,
            Attendance::NoWebAttendee => &mut self.no_web_attendee,
            Attendance::NobodyAttended => &mut self.nobody_attended,
        };
        *slot = slot.wrapping_add_signed(sign);
        self.meetings = self.meetings.wrapping_add_signed(sign);
    }
}

/// One meeting of the `--explain` host, with what the explanation prints.
#[derive(Clone, Debug)]
pub struct KeptMeeting {
    /// Line of the record.
    pub line: u64,
    /// The meeting id.
    pub meeting_id: String,
    /// Start (ns since the epoch).
    pub start: i64,
    /// End (exclusive).
    pub end: i64,
    /// Web attendees.
    pub web_attendees: u64,
    /// Teleconference attendees.
    pub phone_attendees: u64,
}

/// Counted meetings as parallel columns; `host` indexes [`ScannedLog::hosts`].
#[derive(Debug, Default)]
pub struct CountedMeetings {
    /// Host of each counted meeting.
    pub host: Vec<u32>,
    /// Start of each counted meeting.
    pub start: Vec<i64>,
    /// End of each counted meeting.
    pub end: Vec<i64>,
}

/// A whole log, read and checked.
#[derive(Debug, Default)]
pub struct ScannedLog {
    /// Every host with at least one valid meeting, sorted by bytes.
    pub hosts: Vec<String>,
    /// The counted meetings, one worker's share after another.
    pub counted: Vec<CountedMeetings>,
    /// What was read.
    pub stats: Stats,
    /// Earliest start of any valid meeting.
    pub earliest_start: Option<i64>,
    /// Records skipped, in line order (with `skip_invalid`).
    pub skipped: Vec<Problem>,
    /// The `--explain` host's meetings, in line order.
    pub explain: Vec<KeptMeeting>,
}

/// Why a log could not be read.
#[derive(Debug)]
pub enum ScanError {
    /// The header is unusable.
    Header(HeaderError),
    /// A record is invalid (the first one, by line).
    Invalid(Problem),
    /// Reading failed.
    Io(anyhow::Error),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Header(e) => write!(f, "line 1: {e}"),
            Self::Invalid(p) => p.fmt(f),
            Self::Io(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for ScanError {}

/// A meeting id seen while reading, kept to find duplicates.
#[derive(Clone, Copy, Debug)]
struct IdEntry {
    hash: u64,
    line: u64,
    offset: u32,
    len: u32,
    /// Index in the worker's counted columns, or `u32::MAX` when not counted.
    counted_index: u32,
    attendance: Attendance,
}

struct Block {
    seq: u64,
    first_line: u64,
    data: Vec<u8>,
    len: usize,
}

#[derive(Default)]
struct Worker {
    host_ids: HashMap<Box<str>, u32, FixedState>,
    host_names: Vec<Box<str>>,
    counted: CountedMeetings,
    id_bytes: Vec<u8>,
    id_buckets: Vec<Vec<IdEntry>>,
    stats: Stats,
    earliest_start: Option<i64>,
    problems: Vec<Problem>,
    explain: Vec<KeptMeeting>,
    overflow: bool,
}

struct Shared<'a> {
    columns: Option<seatmeter_core::log::ColumnMap>,
    syntax: Syntax,
    options: &'a ScanOptions,
    /// The lowest block sequence number with a problem, when stopping at the first.
    stop_after: AtomicU64,
    hasher: FixedState,
}

impl Worker {
    fn new() -> Self {
        Self { id_buckets: vec![Vec::new(); 1 << ID_BUCKET_BITS], ..Self::default() }
    }

    fn intern(&mut self, host: &str) -> u32 {
        if let Some(&id) = self.host_ids.get(host) {
            return id;
        }
        let id = self.host_names.len() as u32;
        self.host_ids.insert(host.into(), id);
        self.host_names.push(host.into());
        id
    }

    fn accept(&mut self, shared: &Shared<'_>, line: u64, m: &MeetingRecord<'_>) {
        let attendance = Attendance::of(shared.options.policy, m.web_attendees, m.phone_attendees);
        let host = self.intern(m.host);
        let counted_index = if attendance.is_counted() {
            let index = self.counted.host.len() as u32;
            self.counted.host.push(host);
            self.counted.start.push(m.start.0);
            self.counted.end.push(m.end.0);
            index
        } else {
            u32::MAX
        };
        self.stats.count(attendance, 1);
        self.earliest_start = Some(self.earliest_start.map_or(m.start.0, |e| e.min(m.start.0)));
        let (Ok(offset), Ok(len)) = (u32::try_from(self.id_bytes.len()), u32::try_from(m.meeting_id.len()))
        else {
            self.overflow = true;
            return;
        };
        self.id_bytes.extend_from_slice(m.meeting_id);
        let hash = shared.hasher.hash_one(m.meeting_id);
        self.id_buckets[(hash >> (64 - ID_BUCKET_BITS)) as usize].push(IdEntry {
            hash,
            line,
            offset,
            len,
            counted_index,
            attendance,
        });
        if shared.options.explain_host.as_deref() == Some(m.host) {
            self.explain.push(KeptMeeting {
                line,
                meeting_id: String::from_utf8_lossy(m.meeting_id).into_owned(),
                start: m.start.0,
                end: m.end.0,
                web_attendees: m.web_attendees,
                phone_attendees: m.phone_attendees,
            });
        }
    }

    /// Records a bad record; returns true when reading should stop.
    fn reject(&mut self, shared: &Shared<'_>, seq: u64, line: u64, error: RecordError) -> bool {
        self.problems.push(Problem { line, message: error.to_string() });
        self.stats.skipped += 1;
        if shared.options.skip_invalid {
            return false;
        }
        shared.stop_after.fetch_min(seq, Ordering::SeqCst);
        true
    }

    fn process(&mut self, shared: &Shared<'_>, block: &Block) {
        let data = &block.data[..block.len];
        let mut line = block.first_line;
        let mut at = 0;
        let mut splitter = CsvSplitter::default();
        let quoted = shared.syntax == Syntax::Csv && memchr::memchr(b'"', data).is_some();
        while at < data.len() {
            let end = if quoted {
                seatmeter_core::log::record_end(data, at)
            } else {
                memchr::memchr(b'\n', &data[at..]).map(|i| at + i)
            }
            .unwrap_or(data.len());
            let record = seatmeter_core::log::trim_cr(&data[at..end]);
            let lines_in_record =
                if quoted { 1 + memchr::memchr_iter(b'\n', record).count() as u64 } else { 1 };
            if !record.trim_ascii().is_empty() {
                let outcome = match shared.syntax {
                    Syntax::Csv => match splitter.split(record) {
                        // Checked above: the CSV columns are known before any block is read.
                        Ok(fields) => shared
                            .columns
                            .as_ref()
                            .map_or(Err(RecordError::Json("no header".into())), |columns| {
                                fields.to_meeting(columns)
                            }),
                        Err(e) => Err(e),
                    }
                    .map(|m| self.accept(shared, line, &m)),
                    Syntax::JsonLines => parse_json_meeting(record).and_then(|owned| {
                        let m = owned.check()?;
                        self.accept(shared, line, &m);
                        Ok(())
                    }),
                };
                if let Err(error) = outcome {
                    if self.reject(shared, block.seq, line, error) {
                        return;
                    }
                }
            }
            line += lines_in_record;
            at = end + 1;
        }
    }
}

/// A JSON Lines meeting; ids may be strings or integers.
#[derive(serde::Deserialize)]
struct JsonMeeting<'a> {
    #[serde(borrow)]
    meeting_id: JsonId<'a>,
    #[serde(borrow)]
    host: JsonId<'a>,
    #[serde(borrow)]
    start: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    end: std::borrow::Cow<'a, str>,
    web_attendees: u64,
    phone_attendees: u64,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonId<'a> {
    #[serde(borrow)]
    Text(std::borrow::Cow<'a, str>),
    Number(u64),
}

impl JsonId<'_> {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Text(t) => std::borrow::Cow::Borrowed(t.as_ref()),
            Self::Number(n) => std::borrow::Cow::Owned(n.to_string()),
        }
    }
}

struct OwnedJsonMeeting {
    meeting_id: String,
    host: String,
    start: seatmeter_core::time::Timestamp,
    end: seatmeter_core::time::Timestamp,
    web: u64,
    phone: u64,
}

impl OwnedJsonMeeting {
    fn check(&self) -> Result<MeetingRecord<'_>, RecordError> {
        check_meeting(
            self.meeting_id.as_bytes(),
            self.host.as_bytes(),
            self.start,
            self.end,
            self.web,
            self.phone,
        )
    }
}

fn parse_json_meeting(record: &[u8]) -> Result<OwnedJsonMeeting, RecordError> {
    let m: JsonMeeting<'_> = serde_json::from_slice(record).map_err(|e| {
        // serde_json's column refers to the record; the line is ours.
        let text = e.to_string();
        RecordError::Json(text.split(" at line ").next().unwrap_or(&text).to_string())
    })?;
    Ok(OwnedJsonMeeting {
        meeting_id: m.meeting_id.text().into_owned(),
        host: m.host.text().into_owned(),
        start: parse_instant("start", m.start.as_bytes())?,
        end: parse_instant("end", m.end.as_bytes())?,
        web: m.web_attendees,
        phone: m.phone_attendees,
    })
}

/// The end (exclusive) of the last complete record in `buf`, if any.
fn last_record_boundary(buf: &[u8], csv: bool) -> Option<usize> {
    if !csv || memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    let mut last = None;
    let mut at = 0;
    while let Some(end) = seatmeter_core::log::record_end(buf, at) {
        last = Some(end + 1);
        at = end + 1;
    }
    last
}

/// Fills `buf[filled..]` from `reader` until full or at the end of input.
fn fill(reader: &mut dyn Read, buf: &mut [u8], mut filled: usize) -> std::io::Result<(usize, bool)> {
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok((filled, true)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((filled, false))
}

/// Reads and checks a whole log. `progress` is told how many raw bytes have
/// been read after each block.
pub fn scan(
    opened: Opened,
    options: &ScanOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScannedLog, ScanError> {
    let Opened { mut reader, raw_read, syntax_hint, display_name, .. } = opened;
    let io_error = |e: std::io::Error| ScanError::Io(anyhow!("cannot read {display_name}: {e}"));

    // The first block decides the syntax and, for CSV, holds the header.
    let mut buf = vec![0u8; BLOCK];
    let (mut filled, mut eof) = fill(&mut *reader, &mut buf, 0).map_err(io_error)?;
    let mut start = if buf[..filled].starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    if buf[start..filled].trim_ascii().is_empty() && eof {
        return Err(ScanError::Header(HeaderError::Empty));
    }
    let syntax = sniff(syntax_hint, &buf[start..filled]);
    let mut first_line = 1;
    let mut columns = None;
    if syntax == Syntax::Csv {
        // Skip blank lines before the header.
        loop {
            let header_end = loop {
                if let Some(end) = seatmeter_core::log::record_end(&buf[..filled], start) {
                    break end;
                }
                if eof {
                    break filled;
                }
                if filled == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                (filled, eof) = fill(&mut *reader, &mut buf, filled).map_err(io_error)?;
            };
            let header = seatmeter_core::log::trim_cr(&buf[start..header_end]);
            let header_lines = 1 + memchr::memchr_iter(b'\n', header).count() as u64;
            if header.trim_ascii().is_empty() {
                start = (header_end + 1).min(filled);
                first_line += header_lines;
                if start >= filled && eof {
                    return Err(ScanError::Header(HeaderError::Empty));
                }
                continue;
            }
            let mut splitter = CsvSplitter::default();
            let fields = splitter.split(header).map_err(|e| {
                ScanError::Invalid(Problem { line: first_line, message: format!("the header {e}") })
            })?;
            columns = Some(seatmeter_core::log::resolve_header(&fields.to_vec()).map_err(|e| {
                if first_line == 1 {
                    ScanError::Header(e)
                } else {
                    ScanError::Invalid(Problem { line: first_line, message: e.to_string() })
                }
            })?);
            first_line += header_lines;
            start = (header_end + 1).min(filled);
            break;
        }
    }

    let shared = Shared {
        columns,
        syntax,
        options,
        stop_after: AtomicU64::new(u64::MAX),
        hasher: FixedState::with_seed(0x5ea7_3e7e),
    };
    let threads = options.threads.max(1);
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(threads * 2);
    let block_rx = Mutex::new(block_rx);
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();

    let workers = std::thread::scope(|scope| -> Result<Vec<Worker>, ScanError> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let spare_tx = spare_tx.clone();
                let (shared, block_rx) = (&shared, &block_rx);
                scope.spawn(move || {
                    let mut worker = Worker::new();
                    loop {
                        let next = block_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok(block)) = next else { break };
                        if block.seq <= shared.stop_after.load(Ordering::SeqCst) {
                            worker.process(shared, &block);
                        }
                        let _ = spare_tx.send(block.data);
                    }
                    worker
                })
            })
            .collect();
        drop(spare_tx);

        // The reader: cut blocks at record boundaries, carry the rest over.
        let mut seq = 0u64;
        let mut read_error = None;
        let mut too_long = None;
        loop {
            if shared.stop_after.load(Ordering::SeqCst) != u64::MAX {
                break;
            }
            let cut = if eof {
                filled
            } else {
                match last_record_boundary(&buf[start..filled], syntax == Syntax::Csv) {
                    Some(end) => start + end,
                    None if filled - start < buf.len() / 2 && start > 0 => {
                        // Too little in the buffer: move it to the front and read on.
                        buf.copy_within(start..filled, 0);
                        filled -= start;
                        start = 0;
                        match fill(&mut *reader, &mut buf, filled) {
                            Ok((f, e)) => (filled, eof) = (f, e),
                            Err(e) => {
                                read_error = Some(e);
                                break;
                            }
                        }
                        continue;
                    }
                    None => {
                        // One record longer than the buffer: grow it, within reason.
                        let len = buf.len();
                        if len >= MAX_RECORD {
                            shared.stop_after.fetch_min(seq, Ordering::SeqCst);
                            too_long = Some(first_line);
                            break;
                        }
                        buf.resize(len * 2, 0);
                        match fill(&mut *reader, &mut buf, filled) {
                            Ok((f, e)) => (filled, eof) = (f, e),
                            Err(e) => {
                                read_error = Some(e);
                                break;
                            }
                        }
                        continue;
                    }
                }
            };
            let mut next = spare_rx.try_recv().unwrap_or_default();
            next.resize(BLOCK.max(filled - cut + BLOCK / 2), 0);
            let carry = filled - cut;
            next[..carry].copy_from_slice(&buf[cut..filled]);
            let mut data = std::mem::replace(&mut buf, next);
            if start > 0 {
                data.copy_within(start..cut, 0);
            }
            let len = cut - start;
            let lines = memchr::memchr_iter(b'\n', &data[..len]).count() as u64;
            if len > 0 && block_tx.send(Block { seq, first_line, data, len }).is_err() {
                break;
            }
            seq += 1;
            first_line += lines;
            progress(raw_read.load(Ordering::Relaxed));
            if eof && carry == 0 {
                break;
            }
            start = 0;
            filled = carry;
            if !eof {
                match fill(&mut *reader, &mut buf, filled) {
                    Ok((f, e)) => (filled, eof) = (f, e),
                    Err(e) => {
                        read_error = Some(e);
                        break;
                    }
                }
            }
        }
        drop(block_tx);
        let workers: Vec<Worker> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        if workers.len() != threads {
            return Err(ScanError::Io(anyhow!("a worker thread failed while reading {display_name}")));
        }
        if let Some(e) = read_error {
            return Err(io_error(e));
        }
        if let Some(line) = too_long {
            let earlier = workers.iter().flat_map(|w| &w.problems).min_by_key(|p| p.line);
            return Err(ScanError::Invalid(earlier.cloned().unwrap_or(Problem {
                line,
                message: format!(
                    "a record starting near here runs past {} MiB: a quoted field is probably never closed",
                    MAX_RECORD >> 20
                ),
            })));
        }
        Ok(workers)
    })?;
    merge(workers, options)
}

/// Combines the workers' results: one sorted host table, duplicates found,
/// problems ordered by line.
fn merge(mut workers: Vec<Worker>, options: &ScanOptions) -> Result<ScannedLog, ScanError> {
    if workers.iter().any(|w| w.overflow) {
        return Err(ScanError::Io(anyhow!(
            "the log's meeting ids exceed 4 GiB per reader thread; split the log into smaller files"
        )));
    }
    let mut problems: Vec<Problem> =
        workers.iter_mut().flat_map(|w| std::mem::take(&mut w.problems)).collect();

    // Duplicates, bucket by bucket, the later line of each pair being the bad one.
    let mut dropped: Vec<(usize, IdEntry)> = Vec::new();
    for bucket in 0..1usize << ID_BUCKET_BITS {
        let mut entries: Vec<(u64, u64, usize, IdEntry)> = workers
            .iter_mut()
            .enumerate()
            .flat_map(|(w, worker)| {
                std::mem::take(&mut worker.id_buckets[bucket])
                    .into_iter()
                    .map(move |e| (e.hash, e.line, w, e))
            })
            .collect();
        entries.sort_unstable_by_key(|&(hash, line, ..)| (hash, line));
        let mut run_start = 0;
        while run_start < entries.len() {
            let hash = entries[run_start].0;
            let run_end = run_start + entries[run_start..].iter().take_while(|e| e.0 == hash).count();
            for later in run_start + 1..run_end {
                let (_, line, w, entry) = entries[later];
                let id = &workers[w].id_bytes[entry.offset as usize..][..entry.len as usize];
                let first = entries[run_start..later].iter().find(|(_, _, w2, e2)| {
                    &workers[*w2].id_bytes[e2.offset as usize..][..e2.len as usize] == id
                });
                if let Some((_, first_line, ..)) = first {
                    problems.push(Problem {
                        line,
                        message: format!(
                            "meeting_id {:?} appears again (first on line {first_line}); meeting ids must be unique",
                            String::from_utf8_lossy(id)
                        ),
                    });
                    dropped.push((w, entry));
                }
            }
            run_start = run_end;
        }
    }
    for worker in &mut workers {
        worker.id_bytes = Vec::new();
        worker.id_buckets = Vec::new();
    }
    problems.sort_by_key(|p| p.line);
    if !options.skip_invalid {
        if let Some(first) = problems.into_iter().next() {
            return Err(ScanError::Invalid(first));
        }
        problems = Vec::new();
    }

    let mut stats = Stats::default();
    for worker in &workers {
        stats.add(&worker.stats);
    }
    let dropped_lines: std::collections::HashSet<u64> = dropped.iter().map(|(_, e)| e.line).collect();
    for (w, entry) in &dropped {
        stats.count(entry.attendance, -1);
        stats.skipped += 1;
        if entry.counted_index != u32::MAX {
            // Marks the meeting as gone; see `CountedMeetings` consumers.
            workers[*w].counted.host[entry.counted_index as usize] = u32::MAX;
        }
    }

    // One host table sorted by bytes, so host ids order the output.
    let mut hosts: Vec<String> =
        workers.iter().flat_map(|w| w.host_names.iter().map(|h| h.to_string())).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let mut counted = Vec::with_capacity(workers.len());
    let mut explain = Vec::new();
    let mut earliest_start: Option<i64> = None;
    for mut worker in workers {
        let remap: Vec<u32> = worker
            .host_names
            .iter()
            .map(|name| hosts.binary_search_by(|h| h.as_str().cmp(name)).map_or(u32::MAX, |i| i as u32))
            .collect();
        for host in &mut worker.counted.host {
            if *host != u32::MAX {
                *host = remap[*host as usize];
            }
        }
        counted.push(worker.counted);
        explain.extend(worker.explain.into_iter().filter(|m| !dropped_lines.contains(&m.line)));
        earliest_start = match (earliest_start, worker.earliest_start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    explain.sort_by_key(|m| m.line);
    Ok(ScannedLog { hosts, counted, stats, earliest_start, skipped: problems, explain })
}
