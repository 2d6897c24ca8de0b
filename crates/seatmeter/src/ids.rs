//! Finding repeated meeting ids in a log of millions of rows.
//!
//! While reading, each worker appends what it saw to [`SeenIds`]: the id's
//! bytes and whether it counted — a few bytes of sequential writes per row,
//! which cost little in the reader's hot loop (lines are kept only for
//! blocks where rows and lines do not simply correspond). Afterwards
//! [`find_duplicates`] hashes the ids and spreads them over 1,024 buckets by
//! the hash's top bits (a radix pass), one thread per worker, then checks
//! each bucket with a small hash table that stays in cache. Ids whose
//! 64-bit hashes are equal are compared byte for byte, so the answer is
//! exact.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use seatmeter_core::usage::Attendance;

/// Buckets the hashes are spread over.
const BUCKET_BITS: u32 = 10;

/// The meeting ids one worker stored, in the order it stored them.
#[derive(Debug, Default)]
pub struct SeenIds {
    /// End offset in `bytes` of each id (it starts where the previous ends).
    ends: Vec<u32>,
    bytes: Vec<u8>,
    attendance: Vec<Attendance>,
    /// The blocks read, in order, with where their rows are.
    blocks: Vec<BlockRows>,
    /// Line of each row of the current block, relative to its first line.
    block_lines: Vec<u32>,
    /// More ids than 32-bit offsets can address.
    pub overflow: bool,
}

/// The rows of one block.
#[derive(Debug)]
struct BlockRows {
    first_row: usize,
    first_line: u64,
    /// Each row's line relative to `first_line`; `None` when row `i` of the
    /// block is simply on line `first_line + i` (no blank lines, no record
    /// over several lines, no bad rows), as in nearly every block.
    lines: Option<Vec<u32>>,
}

/// A meeting id seen again.
#[derive(Clone, Debug)]
pub struct Duplicate {
    /// The worker that stored the repeated row.
    pub worker: usize,
    /// The row's position in that worker's [`SeenIds`].
    pub row: usize,
    /// Its line.
    pub line: u64,
    /// The line of the first row with the same id.
    pub first_line: u64,
    /// The id.
    pub meeting_id: String,
}

impl SeenIds {
    /// Room for `rows` ids of about `id_len` bytes.
    pub fn reserve(&mut self, rows: usize, id_len: usize) {
        self.ends.reserve(rows);
        self.bytes.reserve(rows.saturating_mul(id_len));
        self.attendance.reserve(rows);
    }

    /// Rows pushed from now on belong to a block starting at `first_line`.
    pub fn start_block(&mut self, first_line: u64) {
        self.end_block();
        self.blocks.push(BlockRows { first_row: self.ends.len(), first_line, lines: None });
    }

    /// Closes the current block, keeping its rows' lines only if needed.
    pub fn end_block(&mut self) {
        if let Some(block) = self.blocks.last_mut()
            && block.lines.is_none()
            && self.block_lines.iter().enumerate().any(|(i, &d)| d as usize != i)
        {
            block.lines = Some(self.block_lines.clone());
        }
        self.block_lines.clear();
    }

    /// Records one row's id (`line` is within the current block).
    #[inline]
    pub fn push(&mut self, meeting_id: &[u8], line: u64, attendance: Attendance) {
        let block_line = self.blocks.last().map_or(0, |b| b.first_line);
        let end = self.bytes.len() + meeting_id.len();
        let (Ok(end), Ok(delta)) = (u32::try_from(end), u32::try_from(line - block_line)) else {
            self.overflow = true;
            return;
        };
        if self.ends.len() >= u32::MAX as usize {
            self.overflow = true;
            return;
        }
        self.bytes.extend_from_slice(meeting_id);
        self.ends.push(end);
        self.block_lines.push(delta);
        self.attendance.push(attendance);
    }

    fn id(&self, row: usize) -> &[u8] {
        let start = if row == 0 { 0 } else { self.ends[row - 1] as usize };
        &self.bytes[start..self.ends[row] as usize]
    }

    fn line(&self, row: usize) -> u64 {
        let index = self.blocks.partition_point(|b| b.first_row <= row).saturating_sub(1);
        let Some(block) = self.blocks.get(index) else { return 0 };
        let offset = row - block.first_row;
        block.first_line
            + match &block.lines {
                Some(lines) => u64::from(lines[offset]),
                None => offset as u64,
            }
    }

    /// Whether each row counted, in order (to locate a counted row's index).
    pub fn attendance(&self) -> &[Attendance] {
        &self.attendance
    }
}

/// A row: (worker, row in that worker's [`SeenIds`]).
type RowRef = (u32, u32);

/// Every row whose meeting id appeared on an earlier line, on `threads` threads.
pub fn find_duplicates(seen: &[SeenIds], threads: usize) -> Vec<Duplicate> {
    let buckets = 1usize << BUCKET_BITS;
    // Each worker's rows, ordered by bucket: (bucket starts, hashes, rows).
    let partitions: Vec<(Vec<usize>, Vec<u64>, Vec<u32>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = seen.iter().map(|s| scope.spawn(move || partition(s))).collect();
        handles.into_iter().map(crate::threads::joined).collect()
    });
    let threads = threads.max(1);
    let suspects: Vec<Vec<(u64, RowRef)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let partitions = &partitions;
                scope.spawn(move || {
                    let mut table = Vec::new();
                    let mut suspects = Vec::new();
                    for bucket in (t..buckets).step_by(threads) {
                        equal_hashes(partitions, bucket, &mut table, &mut suspects);
                    }
                    suspects
                })
            })
            .collect();
        handles.into_iter().map(crate::threads::joined).collect()
    });
    drop(partitions);

    // Rows sharing a hash: compare the ids themselves, earliest line first.
    let mut suspects: Vec<(u64, RowRef)> = suspects.into_iter().flatten().collect();
    suspects.sort_unstable();
    suspects.dedup();
    let mut duplicates = Vec::new();
    for group in suspects.chunk_by(|a, b| a.0 == b.0) {
        let mut rows: Vec<(u64, usize, usize)> = group
            .iter()
            .map(|&(_, (w, r))| (seen[w as usize].line(r as usize), w as usize, r as usize))
            .collect();
        rows.sort_unstable();
        for later in 1..rows.len() {
            let (line, w, r) = rows[later];
            let id = seen[w].id(r);
            if let Some(&(first_line, ..)) = rows[..later].iter().find(|&&(_, w2, r2)| seen[w2].id(r2) == id)
            {
                duplicates.push(Duplicate {
                    worker: w,
                    row: r,
                    line,
                    first_line,
                    meeting_id: String::from_utf8_lossy(id).into_owned(),
                });
            }
        }
    }
    duplicates
}

/// Hashes one worker's ids and orders its rows by bucket (a counting sort on
/// the hash's top bits).
fn partition(seen: &SeenIds) -> (Vec<usize>, Vec<u64>, Vec<u32>) {
    let hasher = FixedState::with_seed(0x5ea7_3e7e);
    let hashes: Vec<u64> = (0..seen.ends.len()).map(|row| hasher.hash_one(seen.id(row))).collect();
    let hashes = &hashes[..];
    let buckets = 1usize << BUCKET_BITS;
    let bucket = |h: u64| (h >> (64 - BUCKET_BITS)) as usize;
    let mut starts = vec![0usize; buckets + 1];
    for &h in hashes {
        starts[bucket(h) + 1] += 1;
    }
    for b in 0..buckets {
        starts[b + 1] += starts[b];
    }
    let mut next = starts.clone();
    let (mut sorted_hashes, mut rows) = (vec![0u64; hashes.len()], vec![0u32; hashes.len()]);
    for (row, &h) in hashes.iter().enumerate() {
        let slot = &mut next[bucket(h)];
        sorted_hashes[*slot] = h;
        rows[*slot] = row as u32;
        *slot += 1;
    }
    (starts, sorted_hashes, rows)
}

/// Adds to `suspects` every row of `bucket` whose hash another row shares.
fn equal_hashes(
    partitions: &[(Vec<usize>, Vec<u64>, Vec<u32>)],
    bucket: usize,
    table: &mut Vec<Option<(u64, RowRef)>>,
    suspects: &mut Vec<(u64, RowRef)>,
) {
    let total: usize = partitions.iter().map(|(starts, ..)| starts[bucket + 1] - starts[bucket]).sum();
    let size = (total * 2).next_power_of_two().max(16);
    table.clear();
    table.resize(size, None);
    let mask = size - 1;
    for (w, (starts, hashes, rows)) in partitions.iter().enumerate() {
        for i in starts[bucket]..starts[bucket + 1] {
            let (hash, row) = (hashes[i], (w as u32, rows[i]));
            // The top bits chose the bucket; the low bits spread within it.
            let mut at = hash as usize & mask;
            loop {
                match table[at] {
                    None => {
                        table[at] = Some((hash, row));
                        break;
                    }
                    Some((h, first)) if h == hash => {
                        suspects.push((hash, first));
                        suspects.push((hash, row));
                        break;
                    }
                    Some(_) => at = (at + 1) & mask,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(rows: &[(&str, u64)]) -> SeenIds {
        let mut s = SeenIds::default();
        s.start_block(rows.first().map_or(1, |r| r.1));
        for &(id, line) in rows {
            s.push(id.as_bytes(), line, Attendance::Counted);
        }
        s.end_block();
        s
    }

    #[test]
    fn finds_repeats_across_workers_naming_both_lines() {
        // Worker 0 has lines 2-4, worker 1 lines 5, 7 and 9 (blank lines between).
        let a = seen(&[("m1", 2), ("x", 3), ("m2", 4)]);
        let b = seen(&[("y", 5), ("m1", 7), ("m1", 9)]);
        let mut found: Vec<(u64, u64, String)> =
            find_duplicates(&[a, b], 2).into_iter().map(|d| (d.line, d.first_line, d.meeting_id)).collect();
        found.sort();
        assert_eq!(found, vec![(7, 2, "m1".to_string()), (9, 2, "m1".to_string())]);
    }

    #[test]
    fn lines_are_kept_only_for_blocks_that_need_them() {
        let mut s = SeenIds::default();
        s.start_block(10);
        s.push(b"a", 10, Attendance::Counted);
        s.push(b"b", 11, Attendance::Counted);
        s.start_block(20);
        s.push(b"c", 21, Attendance::Counted);
        s.end_block();
        assert!(s.blocks[0].lines.is_none());
        assert!(s.blocks[1].lines.is_some());
        assert_eq!((s.line(0), s.line(1), s.line(2)), (10, 11, 21));
    }

    #[test]
    fn no_repeats_no_duplicates() {
        let rows: Vec<(String, u64)> = (0..5000u64).map(|i| (format!("m{i}"), i + 2)).collect();
        let refs: Vec<(&str, u64)> = rows.iter().map(|(id, l)| (id.as_str(), *l)).collect();
        assert!(find_duplicates(&[seen(&refs)], 3).is_empty());
    }
}
