//! Opening a meeting log: a file or standard input, gzip or zstd by
//! extension, and the log's syntax (CSV or JSON Lines).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// The syntax of a meeting log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// An opened log: decompressed bytes, how many raw bytes have been read so
/// far (for progress), and the raw size when known.
pub struct Opened {
    /// The decompressed content.
    pub reader: Box<dyn Read + Send>,
    /// Raw bytes read from the file or standard input so far.
    pub raw_read: Arc<AtomicU64>,
    /// Size of the raw file, when it is a regular file.
    pub raw_len: Option<u64>,
    /// Whether the content is decompressed from the raw bytes.
    pub compressed: bool,
    /// The syntax the name implies (`.jsonl`, `.ndjson`), if any.
    pub syntax_hint: Option<Syntax>,
    /// A name for messages: the path, or "standard input".
    pub display_name: String,
}

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` (`-` for standard input), decompressing `.gz` and `.zst`.
pub fn open(path: &Path) -> Result<Opened> {
    let raw_read = Arc::new(AtomicU64::new(0));
    let is_stdin = path.as_os_str() == "-";
    let (raw, raw_len, display_name): (Box<dyn Read + Send>, Option<u64>, String) = if is_stdin {
        (Box::new(io::stdin()), None, "standard input".to_string())
    } else {
        let file =
            File::open(path).with_context(|| format!("cannot open the meeting log {}", path.display()))?;
        let len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        (Box::new(file), len, path.display().to_string())
    };
    let counted = Counting { inner: raw, count: Arc::clone(&raw_read) };
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let (reader, compressed, syntax_hint) = decode(&name, Box::new(counted), &display_name)?;
    Ok(Opened { reader, raw_read, raw_len, compressed, syntax_hint, display_name })
}

/// The content of the raw bytes `raw` of a log whose file name (lowercase)
/// is `name`: decompressed when the name ends in `.gz`, `.zst` or `.zstd`.
/// Also says whether it was compressed and the syntax the name implies.
pub fn decode(
    name: &str,
    raw: Box<dyn Read + Send>,
    display_name: &str,
) -> Result<(Box<dyn Read + Send>, bool, Option<Syntax>)> {
    let compressed = name.ends_with(".gz") || name.ends_with(".zst") || name.ends_with(".zstd");
    let (reader, inner_name): (Box<dyn Read + Send>, &str) = if let Some(stem) = name.strip_suffix(".gz") {
        (Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, raw))), stem)
    } else if let Some(stem) = name.strip_suffix(".zst").or_else(|| name.strip_suffix(".zstd")) {
        let decoder = ruzstd::decoding::StreamingDecoder::new(BufReader::with_capacity(1 << 20, raw))
            .map_err(|e| anyhow::anyhow!("{display_name} is not a zstd file: {e}"))?;
        (Box::new(decoder), stem)
    } else {
        (raw, name)
    };
    let syntax_hint = if inner_name.ends_with(".jsonl") || inner_name.ends_with(".ndjson") {
        Some(Syntax::JsonLines)
    } else if inner_name.ends_with(".csv") {
        Some(Syntax::Csv)
    } else {
        None
    };
    Ok((reader, compressed, syntax_hint))
}

/// Guesses the syntax from the first bytes when the name does not say:
/// a log whose first non-blank byte is `{` is JSON Lines.
pub fn sniff(hint: Option<Syntax>, first_bytes: &[u8]) -> Syntax {
    hint.unwrap_or_else(|| match first_bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Syntax::JsonLines,
        _ => Syntax::Csv,
    })
}
