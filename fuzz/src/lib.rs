//! The parsers under test, compiled from the crates' own source files: the
//! CLI's meeting-log reader (a binary crate, so it cannot be a dependency)
//! and the server's license files, settings and event batches (whose crate
//! would bring its whole HTTP and database stack into every fuzz build).
//! Each module is the file itself, unchanged; `crate::` paths inside them
//! resolve to the modules here.
#![allow(dead_code, unused_imports)]

// The CLI's meeting-log reader (crates/seatmeter).
#[path = "../../crates/seatmeter/src/blocks.rs"]
pub mod blocks;
#[path = "../../crates/seatmeter/src/ids.rs"]
pub mod ids;
#[path = "../../crates/seatmeter/src/input.rs"]
pub mod input;
#[path = "../../crates/seatmeter/src/intern.rs"]
pub mod intern;
#[path = "../../crates/seatmeter/src/jsonl.rs"]
pub mod jsonl;
#[path = "../../crates/seatmeter/src/phases.rs"]
pub mod phases;
#[path = "../../crates/seatmeter/src/scan.rs"]
pub mod scan;
#[path = "../../crates/seatmeter/src/threads.rs"]
pub mod threads;

// The server's parsers (crates/seatmeter-server).
#[path = "../../crates/seatmeter-server/src/http/event_batch.rs"]
pub mod event_batch;
#[path = "../../crates/seatmeter-server/src/json.rs"]
pub mod json;
#[path = "../../crates/seatmeter-server/src/license_file.rs"]
pub mod license_file;
#[path = "../../crates/seatmeter-server/src/secrets.rs"]
pub mod secrets;
#[path = "../../crates/seatmeter-server/src/settings.rs"]
pub mod settings;

/// Takes the first byte of `data` as a selector of variants, the rest as the input.
pub fn split_selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&first, rest)) => (first, rest),
        None => (0, data),
    }
}
