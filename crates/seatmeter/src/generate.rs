//! `seatmeter generate-log`: a deterministic synthetic meeting log.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use seatmeter_core::time::{NANOS_PER_SECOND, Timestamp, civil_from_days, parse_date_or_rfc3339};

/// Options of `seatmeter generate-log`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// How many meetings to write.
    #[arg(long, default_value_t = 1000)]
    meetings: u64,
    /// Over how many hosts.
    #[arg(long, default_value_t = 100)]
    hosts: u64,
    /// First day of the period (YYYY-MM-DD, UTC).
    #[arg(long, default_value = "2026-01-01", value_parser = parse_day)]
    start: Timestamp,
    /// Length of the period in days.
    #[arg(long, default_value_t = 365)]
    days: u64,
    /// Seed: the same seed writes the same log.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write JSON Lines instead of CSV.
    #[arg(long)]
    jsonl: bool,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

fn parse_day(text: &str) -> Result<Timestamp, String> {
    parse_date_or_rfc3339(text.as_bytes()).map_err(|e| format!("{text:?} {e}"))
}

/// splitmix64: small, fast and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

const SLOT_SECONDS: i64 = 15 * 60;
const SLOTS_PER_DAY: u64 = 96;
/// Offsets some rows are written in, in minutes, with their suffix.
const OFFSETS: [(i64, &str); 3] = [(0, "Z"), (60, "+01:00"), (-300, "-05:00")];

/// Writes `YYYY-MM-DDTHH:MM:SS` of a local time given in seconds since the epoch.
fn local_text(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Runs `seatmeter generate-log`.
pub fn run(args: GenerateArgs) -> Result<()> {
    if args.hosts == 0 || args.days == 0 {
        bail!("--hosts and --days must be at least 1");
    }
    let base = args.start.0.div_euclid(NANOS_PER_SECOND);
    let slots = args.days * SLOTS_PER_DAY;
    // Every instant a meeting can start or end at, pre-formatted per offset.
    let max_slot = slots + 4 * SLOTS_PER_DAY + 1;
    let texts: Vec<Vec<String>> = OFFSETS
        .iter()
        .map(|(minutes, suffix)| {
            (0..max_slot)
                .map(|i| local_text(base + i as i64 * SLOT_SECONDS + minutes * 60) + suffix)
                .collect()
        })
        .collect();
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    if !args.jsonl {
        out.write_all(b"meeting_id,host,start,end,web_attendees,phone_attendees\n")?;
    }
    let mut rng = Rng(args.seed);
    let busy = (args.hosts / 10).max(1);
    for n in 1..=args.meetings {
        let host = if rng.below(2) == 0 { rng.below(args.hosts) } else { rng.below(busy) };
        let start = rng.below(slots);
        let length = match rng.below(100) {
            0 => 96 + rng.below(289),
            1..=9 => 13 + rng.below(36),
            _ => 1 + rng.below(12),
        };
        let (web, phone) = match rng.below(10) {
            0..=7 => (1 + rng.below(20), rng.below(6)),
            8 => (0, 1 + rng.below(5)),
            _ => (0, 0),
        };
        let offset = match rng.below(10) {
            0 => 1,
            1 => 2,
            _ => 0,
        };
        let (s, e) = (&texts[offset][start as usize], &texts[offset][(start + length) as usize]);
        if args.jsonl {
            writeln!(
                out,
                r#"{{"meeting_id":"m{n:08}","host":"host{host:06}@example.com","start":"{s}","end":"{e}","web_attendees":{web},"phone_attendees":{phone}}}"#
            )?;
        } else {
            writeln!(out, "m{n:08},host{host:06}@example.com,{s},{e},{web},{phone}")?;
        }
    }
    out.flush().context("cannot write the log")?;
    Ok(())
}
