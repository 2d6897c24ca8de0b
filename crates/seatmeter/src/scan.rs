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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};

use anyhow::{Result, anyhow};
use seatmeter_core::log::{CsvSplitter, HeaderError, MeetingRecord, RecordError};
use seatmeter_core::usage::{Attendance, CountPolicy};

use crate::blocks::{Block, BlockError, BlockReader, MAX_RECORD};
use crate::ids::{SeenIds, find_duplicates};
use crate::input::{Opened, Syntax, sniff};
use crate::intern::Interner;
use crate::jsonl::JsonMeeting;

/// How to read a log.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Report bad records and go on, rather than stop at the first.
    pub skip_invalid: bool,
    /// Which meetings count.
    pub policy: CountPolicy,
    /// Keep every meeting of this host, for `--explain`.
    pub explain_host: Option<String>,
    /// Keep every meeting of every host, for `seatmeter import`.
    pub keep_all: bool,
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

/// One meeting kept whole: of the `--explain` host, or of any host for `seatmeter import`.
#[derive(Clone, Debug)]
pub struct KeptMeeting {
    /// Line of the record.
    pub line: u64,
    /// The meeting id.
    pub meeting_id: String,
    /// Its host.
    pub host: String,
    /// Start (ns since the epoch).
    pub start: i64,
    /// End (exclusive).
    pub end: i64,
    /// Web attendees.
    pub web_attendees: u64,
    /// Teleconference attendees.
    pub phone_attendees: u64,
}

/// A host id that stands for a meeting dropped as a duplicate.
pub const DROPPED: u32 = u32::MAX;

/// One reader thread's counted meetings as parallel columns.
#[derive(Debug, Default)]
pub struct CountedMeetings {
    /// Host of each counted meeting, as the thread's own id (see `to_global`),
    /// or [`DROPPED`].
    pub host: Vec<u32>,
    /// Start of each counted meeting.
    pub start: Vec<i64>,
    /// End of each counted meeting.
    pub end: Vec<i64>,
    /// The thread's host ids to indices of [`ScannedLog::hosts`].
    pub to_global: Vec<u32>,
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
    /// The meetings kept whole (the `--explain` host's, or all with `keep_all`), in line order.
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

/// Rows checked but not yet stored: the reader looks host names up a batch
/// at a time so that their cache misses overlap (see [`Interner::prefetch`]).
const BATCH: usize = 256;
/// How many rows ahead of the one being stored the host's slot is prefetched.
const AHEAD: usize = 8;

/// Where a checked row's text is: in the block being read (plain CSV), or
/// copied into the batch (quoted CSV fields, JSON).
#[derive(Clone, Copy)]
struct Text {
    start: usize,
    len: usize,
    in_batch: bool,
}

/// A checked row waiting in the batch.
struct Pending {
    line: u64,
    host: Text,
    host_hash: u64,
    meeting_id: Text,
    start: i64,
    end: i64,
    web_attendees: u64,
    phone_attendees: u64,
}

#[derive(Default)]
struct Batch {
    rows: Vec<Pending>,
    texts: Vec<u8>,
}

impl Batch {
    /// Refers to `text` inside `block` when it lies there, or copies it.
    fn locate(&mut self, text: &[u8], block: &[u8]) -> Text {
        // Address arithmetic only: is `text` a part of `block`?
        let offset = (text.as_ptr() as usize).wrapping_sub(block.as_ptr() as usize);
        if offset <= block.len() && text.len() <= block.len() - offset {
            return Text { start: offset, len: text.len(), in_batch: false };
        }
        let start = self.texts.len();
        self.texts.extend_from_slice(text);
        Text { start, len: text.len(), in_batch: true }
    }

    fn get<'a>(&'a self, text: Text, block: &'a [u8]) -> &'a [u8] {
        let base = if text.in_batch { &self.texts[..] } else { block };
        &base[text.start..text.start + text.len]
    }
}

#[derive(Default)]
struct Worker {
    hosts: Interner,
    counted: CountedMeetings,
    ids: SeenIds,
    stats: Stats,
    earliest_start: Option<i64>,
    problems: Vec<Problem>,
    explain: Vec<KeptMeeting>,
    batch: Batch,
    /// Host ids in the order of their names, made by [`Worker::finish`].
    sorted_hosts: Vec<u32>,
    dates: seatmeter_core::time::DateCache,
}

struct Shared<'a> {
    columns: Option<seatmeter_core::log::ColumnMap>,
    syntax: Syntax,
    options: &'a ScanOptions,
    /// The lowest block sequence number with a problem, when stopping at the first.
    stop_after: AtomicU64,
    /// Expected rows per worker (0 when unknown).
    rows_per_worker: usize,
}

impl Worker {
    fn new(expected_rows: usize) -> Self {
        let mut worker = Self::default();
        worker.counted.host.reserve(expected_rows);
        worker.counted.start.reserve(expected_rows);
        worker.counted.end.reserve(expected_rows);
        worker.ids.reserve(expected_rows, 12);
        worker
    }

    /// Adds a checked row to the batch, storing the batch when it is full.
    fn push(&mut self, shared: &Shared<'_>, block: &Block, line: u64, m: &MeetingRecord<'_>) {
        let data = &block.data[..block.len];
        let host = self.batch.locate(m.host, data);
        let meeting_id = self.batch.locate(m.meeting_id, data);
        self.batch.rows.push(Pending {
            line,
            host,
            host_hash: self.hosts.hash(m.host),
            meeting_id,
            start: m.start.0,
            end: m.end.0,
            web_attendees: m.web_attendees,
            phone_attendees: m.phone_attendees,
        });
        if self.batch.rows.len() == BATCH {
            self.flush(shared, block);
        }
    }

    /// Stores every row of the batch.
    fn flush(&mut self, shared: &Shared<'_>, block: &Block) {
        let data = &block.data[..block.len];
        let mut batch = std::mem::take(&mut self.batch);
        for p in batch.rows.iter().take(AHEAD) {
            self.hosts.prefetch(p.host_hash);
        }
        for (i, p) in batch.rows.iter().enumerate() {
            if let Some(ahead) = batch.rows.get(i + AHEAD) {
                self.hosts.prefetch(ahead.host_hash);
            }
            let (host, meeting_id) = (batch.get(p.host, data), batch.get(p.meeting_id, data));
            if let Err(error) = self.store(shared, p, host, meeting_id) {
                self.reject(shared, block.seq, p.line, error);
            }
        }
        batch.rows.clear();
        batch.texts.clear();
        self.batch = batch;
    }

    fn store(
        &mut self,
        shared: &Shared<'_>,
        p: &Pending,
        host: &[u8],
        meeting_id: &[u8],
    ) -> Result<(), RecordError> {
        // Host names are checked to be text only when first seen.
        let host_id = self.hosts.intern_hashed(host, p.host_hash).ok_or(RecordError::NotText("host"))?;
        let attendance = Attendance::of(shared.options.policy, p.web_attendees, p.phone_attendees);
        if attendance.is_counted() {
            self.counted.host.push(host_id);
            self.counted.start.push(p.start);
            self.counted.end.push(p.end);
        }
        self.stats.count(attendance, 1);
        self.earliest_start = Some(self.earliest_start.map_or(p.start, |e| e.min(p.start)));
        self.ids.push(meeting_id, p.line, attendance);
        if shared.options.keep_all || shared.options.explain_host.as_deref().map(str::as_bytes) == Some(host)
        {
            self.explain.push(KeptMeeting {
                line: p.line,
                meeting_id: String::from_utf8_lossy(meeting_id).into_owned(),
                host: String::from_utf8_lossy(host).into_owned(),
                start: p.start,
                end: p.end,
                web_attendees: p.web_attendees,
                phone_attendees: p.phone_attendees,
            });
        }
        Ok(())
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

    /// Sorts the worker's host names, on the worker's own thread.
    fn finish(&mut self) {
        let names = self.hosts.names();
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        self.sorted_hosts = order;
    }

    fn process(&mut self, shared: &Shared<'_>, block: &Block) {
        self.ids.start_block(block.first_line);
        self.read_block(shared, block);
        self.flush(shared, block);
        self.ids.end_block();
    }

    /// Reads a CSV block without any quote character: one pass finds both
    /// the commas and the line ends.
    fn read_plain_csv_block(
        &mut self,
        shared: &Shared<'_>,
        block: &Block,
        columns: &seatmeter_core::log::ColumnMap,
    ) {
        let data = &block.data[..block.len];
        let mut bounds: Vec<(usize, usize)> = Vec::with_capacity(columns.width + 1);
        let (mut record_start, mut field_start, mut line) = (0, 0, block.first_line);
        let mut separators = memchr::memchr2_iter(b',', b'\n', data);
        while record_start < data.len() {
            let pos = separators.next().unwrap_or(data.len());
            if data.get(pos) == Some(&b',') {
                bounds.push((field_start, pos));
                field_start = pos + 1;
                continue;
            }
            let end = if pos > field_start && data[pos - 1] == b'\r' { pos - 1 } else { pos };
            bounds.push((field_start, end));
            if !data[record_start..end].trim_ascii().is_empty() {
                match seatmeter_core::log::Fields::from_bounds(data, &bounds)
                    .to_meeting(columns, &mut self.dates)
                {
                    Ok(m) => self.push(shared, block, line, &m),
                    Err(error) => {
                        if self.reject(shared, block.seq, line, error) {
                            return;
                        }
                    }
                }
            }
            bounds.clear();
            line += 1;
            record_start = pos + 1;
            field_start = pos + 1;
        }
    }

    fn read_block(&mut self, shared: &Shared<'_>, block: &Block) {
        let data = &block.data[..block.len];
        if let (Syntax::Csv, Some(columns)) = (shared.syntax, shared.columns.as_ref())
            && memchr::memchr(b'"', data).is_none()
        {
            return self.read_plain_csv_block(shared, block, columns);
        }
        let mut line = block.first_line;
        let mut at = 0;
        let mut splitter = CsvSplitter::default();
        let quoted = shared.syntax == Syntax::Csv;
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
                    Syntax::Csv => match (splitter.split(record), shared.columns.as_ref()) {
                        (Ok(fields), Some(columns)) => fields.to_meeting(columns, &mut self.dates),
                        (Err(e), _) => Err(e),
                        // The reader resolves the header before handing out any CSV block.
                        (Ok(_), None) => Err(RecordError::Json("no header".into())),
                    }
                    .map(|m| self.push(shared, block, line, &m)),
                    Syntax::JsonLines => JsonMeeting::parse(record).and_then(|owned| {
                        let m = owned.record()?;
                        self.push(shared, block, line, &m);
                        Ok(())
                    }),
                };
                if let Err(error) = outcome
                    && self.reject(shared, block.seq, line, error)
                {
                    return;
                }
            }
            line += lines_in_record;
            at = end + 1;
        }
    }
}

/// Reads a CSV log's header (after any blank lines) and finds its columns.
fn read_header<R: std::io::Read>(
    blocks: &mut BlockReader<R>,
    block_error: &dyn Fn(BlockError, u64) -> ScanError,
) -> Result<seatmeter_core::log::ColumnMap, ScanError> {
    loop {
        let line = blocks.line();
        let Some((record, line)) = blocks.next_record().map_err(|e| block_error(e, line))? else {
            return Err(ScanError::Header(HeaderError::Empty));
        };
        let header = seatmeter_core::log::trim_cr(&record);
        if header.trim_ascii().is_empty() {
            continue;
        }
        let at_line = |message: String| ScanError::Invalid(Problem { line, message });
        let mut splitter = CsvSplitter::default();
        let fields = splitter.split(header).map_err(|e| at_line(format!("the header {e}")))?;
        return seatmeter_core::log::resolve_header(&fields.to_vec())
            .map_err(|e| if line == 1 { ScanError::Header(e) } else { at_line(e.to_string()) });
    }
}

/// Why a record that never ends is refused.
fn record_too_long() -> String {
    format!(
        "a record starting here runs past {} MiB: a quoted field is probably never closed",
        MAX_RECORD >> 20
    )
}

/// How many rows each of `threads` workers will see, estimated from the
/// first bytes' row length, so that their columns are allocated once
/// (capacity never touched costs no memory); 0 when the size is unknown.
fn rows_per_worker(raw_len: Option<u64>, sample: &[u8], threads: usize) -> usize {
    match raw_len {
        Some(len) if !sample.is_empty() => {
            let rows = memchr::memchr_iter(b'\n', sample).count().max(1) as u64;
            let estimate = len.saturating_mul(rows) / sample.len() as u64;
            usize::try_from(estimate / threads as u64 * 11 / 10).unwrap_or(0).saturating_add(1024)
        }
        _ => 0,
    }
}

/// A worker: parses the blocks it receives until the reader stops, and
/// hands each block's buffer back for reuse.
fn parse_blocks(
    shared: &Shared,
    block_rx: &Mutex<mpsc::Receiver<Block>>,
    spare_tx: &mpsc::Sender<Vec<u8>>,
) -> Worker {
    let mut worker = Worker::new(shared.rows_per_worker);
    loop {
        let next = block_rx.lock().map(|rx| rx.recv());
        let Ok(Ok(block)) = next else { break };
        if block.seq <= shared.stop_after.load(Ordering::SeqCst) {
            worker.process(shared, &block);
        }
        let _ = spare_tx.send(block.data);
    }
    worker.finish();
    worker
}

/// Reads and checks a whole log. `progress` is told how many raw bytes have
/// been read after each block.
pub fn scan(
    opened: Opened,
    options: &ScanOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScannedLog, ScanError> {
    let Opened { reader, raw_read, raw_len, compressed, syntax_hint, display_name } = opened;
    let io_error = |e: std::io::Error| ScanError::Io(anyhow!("cannot read {display_name}: {e}"));
    let block_error = |e: BlockError, line: u64| match e {
        BlockError::Io(e) => io_error(e),
        BlockError::RecordTooLong => ScanError::Invalid(Problem { line, message: record_too_long() }),
    };

    // The first bytes decide the syntax; a CSV log starts with its header.
    let mut blocks = BlockReader::new(reader, true).map_err(|e| block_error(e, 1))?;
    if blocks.pending().trim_ascii().is_empty() && blocks.at_end_of_input() {
        return Err(ScanError::Header(HeaderError::Empty));
    }
    let syntax = sniff(syntax_hint, blocks.pending());
    blocks.set_csv(syntax == Syntax::Csv);
    let columns = match syntax {
        Syntax::Csv => Some(read_header(&mut blocks, &block_error)?),
        Syntax::JsonLines => None,
    };

    let threads = options.threads.max(1);
    let rows_per_worker = if compressed { 0 } else { rows_per_worker(raw_len, blocks.pending(), threads) };
    let shared = Shared { columns, syntax, options, rows_per_worker, stop_after: AtomicU64::new(u64::MAX) };
    let (block_tx, block_rx) = mpsc::sync_channel::<Block>(threads * 2);
    let block_rx = Mutex::new(block_rx);
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();

    let workers = std::thread::scope(|scope| -> Result<Vec<Worker>, ScanError> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let spare_tx = spare_tx.clone();
                let (shared, block_rx) = (&shared, &block_rx);
                scope.spawn(move || parse_blocks(shared, block_rx, &spare_tx))
            })
            .collect();
        drop(spare_tx);

        // This thread reads; the workers parse.
        let mut failure = None;
        while shared.stop_after.load(Ordering::SeqCst) == u64::MAX {
            let line = blocks.line();
            match blocks.next_block(spare_rx.try_recv().unwrap_or_default()) {
                Ok(Some(block)) => {
                    if block_tx.send(block).is_err() {
                        break;
                    }
                    progress(raw_read.load(Ordering::Relaxed));
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some((e, line));
                    break;
                }
            }
        }
        drop(block_tx);
        let workers: Vec<Worker> = handles.into_iter().map(crate::threads::joined).collect();
        match failure {
            // A bad record before the one that could not be cut comes first.
            Some((e, line)) => {
                let earlier =
                    workers.iter().flat_map(|w| &w.problems).filter(|p| p.line < line).min_by_key(|p| p.line);
                Err(earlier.map_or_else(|| block_error(e, line), |p| ScanError::Invalid(p.clone())))
            }
            None => Ok(workers),
        }
    })?;
    crate::phases::mark("log read and parsed");
    merge(workers, options)
}

/// Combines the workers' results: one sorted host table, duplicates found,
/// problems ordered by line.
fn merge(mut workers: Vec<Worker>, options: &ScanOptions) -> Result<ScannedLog, ScanError> {
    if workers.iter().any(|w| w.ids.overflow) {
        return Err(ScanError::Io(anyhow!(
            "the log is too large for one run (over 4 GiB of meeting ids or 4 billion rows per reader thread); \
             split it into smaller files"
        )));
    }
    let mut problems: Vec<Problem> =
        workers.iter_mut().flat_map(|w| std::mem::take(&mut w.problems)).collect();
    let seen: Vec<SeenIds> = workers.iter_mut().map(|w| std::mem::take(&mut w.ids)).collect();
    let duplicates = find_duplicates(&seen, options.threads);
    problems.extend(duplicates.iter().map(|d| Problem {
        line: d.line,
        message: format!(
            "meeting_id {:?} appears again (first on line {}); meeting ids must be unique",
            d.meeting_id, d.first_line
        ),
    }));
    crate::phases::mark("duplicate meeting ids checked");
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
    // Skipping repeated ids: drop those rows from the counts and the counted columns.
    let dropped_lines: std::collections::HashSet<u64> = duplicates.iter().map(|d| d.line).collect();
    for (w, worker) in workers.iter_mut().enumerate() {
        let mut rows: Vec<usize> = duplicates.iter().filter(|d| d.worker == w).map(|d| d.row).collect();
        if rows.is_empty() {
            continue;
        }
        rows.sort_unstable();
        let attendance = seen[w].attendance();
        let mut counted_before = 0usize;
        let mut next = rows.iter().peekable();
        for (row, a) in attendance.iter().enumerate() {
            if next.next_if(|&&r| r == row).is_some() {
                stats.count(*a, -1);
                stats.skipped += 1;
                if a.is_counted() {
                    worker.counted.host[counted_before] = DROPPED;
                }
            }
            counted_before += usize::from(a.is_counted());
        }
    }
    drop(seen);

    // One host table sorted by bytes, so that global host ids order the output.
    let (hosts, to_global) = merge_hosts(&workers);
    let mut counted = Vec::with_capacity(workers.len());
    let mut explain = Vec::new();
    let mut earliest_start: Option<i64> = None;
    for (worker, to_global) in workers.into_iter().zip(to_global) {
        let mut part = worker.counted;
        part.to_global = to_global;
        counted.push(part);
        explain.extend(worker.explain.into_iter().filter(|m| !dropped_lines.contains(&m.line)));
        earliest_start = match (earliest_start, worker.earliest_start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    explain.sort_by_key(|m| m.line);
    crate::phases::mark("hosts merged");
    Ok(ScannedLog { hosts, counted, stats, earliest_start, skipped: problems, explain })
}

/// Merges the workers' host names (each sorted by its worker, see
/// [`Worker::finish`]) into one sorted table, and maps each worker's ids to it.
fn merge_hosts(workers: &[Worker]) -> (Vec<String>, Vec<Vec<u32>>) {
    let mut hosts: Vec<String> = Vec::new();
    let mut to_global: Vec<Vec<u32>> = workers.iter().map(|w| vec![DROPPED; w.hosts.names().len()]).collect();
    let mut cursors = vec![0usize; workers.len()];
    loop {
        // The smallest name at any cursor; a handful of workers, so a linear scan.
        let next = workers
            .iter()
            .zip(&cursors)
            .filter_map(|(w, &c)| w.sorted_hosts.get(c).map(|&id| &*w.hosts.names()[id as usize]))
            .min();
        let Some(name) = next else { break };
        let global = hosts.len() as u32;
        let name = name.to_string();
        for (w, worker) in workers.iter().enumerate() {
            if let Some(&id) = worker.sorted_hosts.get(cursors[w])
                && *worker.hosts.names()[id as usize] == *name
            {
                to_global[w][id as usize] = global;
                cursors[w] += 1;
            }
        }
        hosts.push(name);
    }
    (hosts, to_global)
}
