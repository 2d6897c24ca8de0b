//! A whole meeting log through the CLI's reader (`input::decode` then
//! `scan::scan`): CSV or JSON Lines, plain, gzip or zstd. The first byte
//! picks the file name (compression and syntax hint) and the options; the
//! rest is the file's raw content. Properties: reading never panics, and
//! reading with two worker threads gives the same result as with one.
//!
//! The decompressed content is cut after [`MAX_CONTENT`] bytes: a few
//! bytes of zstd make hundreds of MiB, which the reader takes in its stride
//! but which, instrumented, would take longer than the fuzzer's timeout.
#![no_main]

use std::io::{Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use libfuzzer_sys::fuzz_target;
use seatmeter_fuzz::input::{Opened, decode};
use seatmeter_fuzz::scan::{ScanOptions, scan};
use seatmeter_fuzz::split_selector;

const NAMES: [&str; 8] =
    ["log", "log.csv", "log.jsonl", "log.gz", "log.csv.gz", "log.jsonl.zst", "log.zst", "log.ndjson.zstd"];

/// Decompressed bytes read at most: three of the reader's 1 MiB blocks.
const MAX_CONTENT: u64 = 3 << 20;

fn read(name: &str, content: &[u8], options: &ScanOptions) -> Option<String> {
    let raw = Box::new(Cursor::new(content.to_vec()));
    let (reader, compressed, syntax_hint) = decode(name, raw, name).ok()?;
    let opened = Opened {
        reader: Box::new(reader.take(MAX_CONTENT)),
        raw_read: Arc::new(AtomicU64::new(0)),
        raw_len: Some(content.len() as u64),
        compressed,
        syntax_hint,
        display_name: name.to_string(),
    };
    Some(match scan(opened, options, &|_| {}) {
        Ok(log) => {
            let counted: usize = log.counted.iter().map(|c| c.host.len()).sum();
            assert!(counted as u64 >= log.stats.counted, "every counted meeting is kept");
            assert!(log.hosts.windows(2).all(|w| w[0] < w[1]), "hosts are sorted and unique");
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                log.hosts, log.stats, log.earliest_start, log.skipped, log.explain
            )
        }
        Err(e) => format!("error: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let (selector, content) = split_selector(data);
    let name = NAMES[usize::from(selector & 7)];
    let options = ScanOptions {
        skip_invalid: selector & 8 != 0,
        keep_all: selector & 16 != 0,
        explain_host: (selector & 32 != 0).then(|| "a".to_string()),
        threads: 1,
        ..ScanOptions::default()
    };
    let one = read(name, content, &options);
    if selector & 64 != 0 {
        let two = read(name, content, &ScanOptions { threads: 2, ..options });
        assert_eq!(one, two, "two reader threads give the result of one");
    }
});
