//! Cutting an input into blocks that end at record boundaries, so that
//! blocks can be parsed independently on several threads.

use std::io::{self, Read};

/// Bytes handed out at a time (a block may be longer to hold a long record).
pub const BLOCK: usize = 1 << 20;
/// The longest record accepted: a guard against a quote never closed.
pub const MAX_RECORD: usize = 64 << 20;

/// Why no further block could be cut.
#[derive(Debug)]
pub enum BlockError {
    /// Reading failed.
    Io(io::Error),
    /// A record runs past [`MAX_RECORD`]: probably a quote never closed.
    RecordTooLong,
}

impl From<io::Error> for BlockError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A block of whole records: `data[..len]`, the first of them on `first_line`.
pub struct Block {
    /// Position of the block in the input (0, 1, 2, …).
    pub seq: u64,
    /// Line (1-based) of the block's first byte.
    pub first_line: u64,
    /// The bytes; only `..len` belong to the block.
    pub data: Vec<u8>,
    /// Length of the block in `data`.
    pub len: usize,
}

/// Reads an input and cuts it into [`Block`]s.
///
/// Holds the bytes read but not yet handed out in `buf[start..filled]`;
/// the next block is everything up to the last record boundary in there.
/// A boundary is a line feed outside quotes (CSV) or any line feed (JSON
/// Lines, where a line feed inside a string must be escaped).
pub struct BlockReader<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    eof: bool,
    csv: bool,
    seq: u64,
    line: u64,
}

impl<R: Read> BlockReader<R> {
    /// Starts reading, and fills the first buffer.
    pub fn new(reader: R, csv: bool) -> Result<Self, BlockError> {
        let mut blocks =
            Self { reader, buf: vec![0; BLOCK], start: 0, filled: 0, eof: false, csv, seq: 0, line: 1 };
        blocks.refill()?;
        if blocks.buf[..blocks.filled].starts_with(b"\xEF\xBB\xBF") {
            blocks.start = 3;
        }
        Ok(blocks)
    }

    /// The bytes read and not yet handed out (for sniffing the syntax).
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.filled]
    }

    /// Whether the whole input has been read into the buffer.
    pub fn at_end_of_input(&self) -> bool {
        self.eof
    }

    /// Line of the next byte to be handed out.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Switches between CSV and JSON Lines boundaries.
    pub fn set_csv(&mut self, csv: bool) {
        self.csv = csv;
    }

    /// Reads on until the buffer is full or the input ends, first moving
    /// what is pending to the front or, when it already fills the buffer,
    /// doubling the buffer.
    fn refill(&mut self) -> Result<(), BlockError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.filled == self.buf.len() {
            if self.buf.len() >= MAX_RECORD {
                return Err(BlockError::RecordTooLong);
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        while self.filled < self.buf.len() {
            match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The next record, copied out, with its line; `None` at the end of input.
    pub fn next_record(&mut self) -> Result<Option<(Vec<u8>, u64)>, BlockError> {
        loop {
            let pending = self.pending();
            if pending.is_empty() && self.eof {
                return Ok(None);
            }
            let end = if self.csv {
                seatmeter_core::log::record_end(pending, 0)
            } else {
                memchr::memchr(b'\n', pending)
            };
            match end {
                Some(end) => {
                    let record = pending[..end].to_vec();
                    return Ok(Some((record, self.advance(end + 1))));
                }
                None if self.eof => {
                    let record = pending.to_vec();
                    return Ok(Some((record, self.advance(pending.len()))));
                }
                None => self.refill()?,
            }
        }
    }

    /// Hands out `n` pending bytes; returns the line they started on.
    fn advance(&mut self, n: usize) -> u64 {
        let line = self.line;
        self.line += memchr::memchr_iter(b'\n', &self.buf[self.start..self.start + n]).count() as u64;
        self.start += n;
        line
    }

    /// The next block of whole records, built in `spare` (a buffer handed
    /// back by a parser, or empty); `None` at the end of input.
    pub fn next_block(&mut self, mut spare: Vec<u8>) -> Result<Option<Block>, BlockError> {
        loop {
            let pending = self.pending();
            if pending.is_empty() {
                if self.eof {
                    return Ok(None);
                }
                self.refill()?;
                continue;
            }
            let cut = if self.eof { Some(pending.len()) } else { last_record_boundary(pending, self.csv) };
            let Some(len) = cut else {
                self.refill()?;
                continue;
            };
            // The block keeps this buffer; what follows it moves to `spare`.
            let (block_start, rest) = (self.start, self.start + len..self.filled);
            // Old bytes in a recycled buffer are overwritten by reads: no need to clear it.
            spare.resize(BLOCK.max(rest.len() + BLOCK / 2), 0);
            spare[..rest.len()].copy_from_slice(&self.buf[rest.clone()]);
            let first_line = self.advance(len);
            let mut data = std::mem::replace(&mut self.buf, spare);
            if block_start > 0 {
                data.copy_within(block_start..block_start + len, 0);
            }
            (self.start, self.filled) = (0, rest.len());
            if !self.eof {
                self.refill()?;
            }
            let seq = self.seq;
            self.seq += 1;
            return Ok(Some(Block { seq, first_line, data, len }));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn blocks_of(data: &[u8], csv: bool) -> Vec<(u64, Vec<u8>)> {
        let mut reader = BlockReader::new(Trickle { data, step: 7777 }, csv).unwrap();
        let mut out = Vec::new();
        while let Some(block) = reader.next_block(Vec::new()).unwrap() {
            out.push((block.first_line, block.data[..block.len].to_vec()));
        }
        out
    }

    #[test]
    fn blocks_end_at_record_boundaries_and_cover_the_input() {
        let mut data = Vec::new();
        for i in 0..60_000 {
            data.extend_from_slice(format!("r{i},\"a\nquoted, field\",x\n").as_bytes());
        }
        data.extend_from_slice(b"last,no,newline");
        let blocks = blocks_of(&data, true);
        assert!(blocks.len() > 1);
        assert_eq!(blocks.iter().flat_map(|(_, b)| b.clone()).collect::<Vec<_>>(), data);
        let mut line = 1;
        for (first_line, block) in &blocks {
            assert_eq!(*first_line, line);
            assert!(block.starts_with(b"r") || block.starts_with(b"last"));
            line += memchr::memchr_iter(b'\n', block).count() as u64;
        }
    }

    #[test]
    fn a_record_longer_than_a_block_gets_a_block_of_its_own() {
        let long = vec![b'x'; 3 * BLOCK];
        let data = [b"a\n".as_slice(), &long, b"\nb\n"].concat();
        let blocks = blocks_of(&data, true);
        assert_eq!(blocks.iter().flat_map(|(_, b)| b.clone()).collect::<Vec<_>>(), data);
        assert!(blocks.iter().any(|(line, b)| *line == 2 && b.len() > 3 * BLOCK));
    }

    #[test]
    fn the_header_is_taken_first_and_a_bom_skipped() {
        let mut reader =
            BlockReader::new(Trickle { data: b"\xEF\xBB\xBFh1,\"h\n2\"\nrow\n", step: 3 }, true).unwrap();
        assert_eq!(reader.next_record().unwrap(), Some((b"h1,\"h\n2\"".to_vec(), 1)));
        let block = reader.next_block(Vec::new()).unwrap().unwrap();
        assert_eq!((block.first_line, &block.data[..block.len]), (3, &b"row\n"[..]));
        assert!(reader.next_block(Vec::new()).unwrap().is_none());
    }
}
