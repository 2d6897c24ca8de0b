//! The `seatmeter` command.
//!
//! Errors: `anyhow` here, with context saying what was being done; a bad
//! meeting log is reported as `error: line N: …` and exits with status 1;
//! clap's own usage errors exit with status 2.

mod authority;
mod blocks;
mod generate;
mod ids;
mod import;
mod input;
mod intern;
mod jsonl;
mod phases;
mod report;
mod scan;
mod server;
mod threads;

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use seatmeter_core::time::{NANOS_PER_DAY, Timestamp, parse_date_or_rfc3339};
use seatmeter_core::usage::{CountPolicy, Windows};

/// Seatmeter: a license server for meeting and scheduling platforms.
#[derive(Parser, Debug)]
#[command(name = "seatmeter", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compute host-license usage per 30-day window from a meeting log.
    ///
    /// A host uses, in each window, as many licenses as the largest number
    /// of its counted meetings in progress at one instant. A meeting counts
    /// when someone joined its web portion (or, with
    /// --count-teleconference-only, its teleconference portion). Meetings
    /// are half-open intervals [start, end): one ending at 10:00 and one
    /// starting at 10:00 are not simultaneous.
    ///
    /// The log is CSV with a header (columns meeting_id, host, start, end,
    /// web_attendees, phone_attendees in any order; extra columns ignored)
    /// or JSON Lines with the same fields. Timestamps are RFC 3339 with an
    /// offset. `.gz` and `.zst` files are decompressed; `-` reads standard
    /// input.
    ///
    /// Output (standard output or --output): CSV
    /// `window_start,window_end,host,licenses`, one row per window and host
    /// with licenses > 0, sorted by window then host. A summary goes to
    /// standard error. Exit status 1 when the log is invalid: the message
    /// names the line and nothing else is printed.
    #[command(after_help = "Examples:\n  \
        seatmeter usage --meetings meetings.csv --period-start 2026-01-01\n  \
        seatmeter usage --meetings meetings.jsonl.zst --format table --installed-host-licenses 250\n  \
        seatmeter usage --meetings meetings.csv.gz --explain alice@example.com\n  \
        zcat log.csv.gz | seatmeter usage --meetings - --output usage.csv")]
    Usage(UsageArgs),

    /// Write a synthetic meeting log (CSV), for trying Seatmeter out and for benchmarks.
    ///
    /// Meetings start on a 15-minute grid over the period, mostly last 15
    /// minutes to 3 hours (a few run for days), and are spread over the
    /// hosts; about 80% have web attendees, 10% only teleconference
    /// attendees and 10% nobody. Some timestamps use offsets other than Z.
    /// The same seed always writes the same log.
    GenerateLog(generate::GenerateArgs),

    /// Run the license server (JSON API on SQLite by default, or PostgreSQL).
    ///
    /// On first start with an empty database it creates nothing by itself
    /// and prints how to create the first account. Stops gracefully on
    /// Ctrl-C or SIGTERM. Settings: defaults, then --config FILE, then
    /// SEATMETER_* environment variables, then flags.
    Serve(server::ServeArgs),

    /// Manage accounts (tenants).
    #[command(subcommand)]
    Account(server::AccountCommand),

    /// Load a historical meeting log into an account.
    ///
    /// The log is read and checked exactly as `seatmeter usage` reads it
    /// (same formats, same messages; an invalid log imports nothing unless
    /// --skip-invalid). Hosts are the account's users, by e-mail address;
    /// hosts that are not users yet are listed, or added as members with
    /// --create-users. Each meeting keeps its `meeting_id` (as the
    /// meeting's external id): meetings already in the account are skipped,
    /// so running the same import again imports only what is missing.
    /// Times are kept to the millisecond. Live usage includes the imported
    /// meetings at once.
    #[command(after_help = "Example:\n  \
        seatmeter import --account acc_… --meetings meetings-2025.csv.gz --create-users")]
    Import(import::ImportArgs),

    /// Manage license pools.
    #[command(subcommand)]
    Licenses(server::LicensesCommand),

    /// The license authority (the vendor's service): keys, Product
    /// Authorization Keys, license files, and the registration and sync API.
    #[command(subcommand)]
    Authority(authority::AuthorityCommand),

    /// Settings.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print a commented settings file with every default.
    Example,
}

/// Output formats of `seatmeter usage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `window_start,window_end,host,licenses` (normative).
    Csv,
    /// Windows with totals (and overage) and per-host rows.
    Json,
    /// A human-readable table.
    Table,
}

#[derive(clap::Args, Debug)]
struct UsageArgs {
    /// The meeting log: a CSV or JSON Lines file, optionally .gz or .zst; `-` for standard input.
    #[arg(long, value_name = "FILE")]
    meetings: PathBuf,

    /// Anchor of the 30-day windows: RFC 3339 or YYYY-MM-DD (midnight UTC).
    /// Default: midnight UTC of the day of the earliest meeting.
    #[arg(long, value_name = "RFC3339|YYYY-MM-DD", value_parser = parse_period_start)]
    period_start: Option<Timestamp>,

    /// Count meetings whose attendees all joined by teleconference (phone) only.
    #[arg(long)]
    count_teleconference_only: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,

    /// Write the result to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Report invalid records on standard error and compute the rest,
    /// instead of stopping at the first one.
    #[arg(long)]
    skip_invalid: bool,

    /// Instead of the usage, explain one host's licenses: for each window,
    /// the instant of its peak, the meetings in progress then, and its
    /// meetings that were not counted and why.
    #[arg(long, value_name = "HOST")]
    explain: Option<String>,

    /// Host licenses installed: adds each window's overage to the JSON,
    /// table and summary (the CSV is unchanged).
    #[arg(long, value_name = "N")]
    installed_host_licenses: Option<u64>,

    /// Threads to read with (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// No summary on standard error and no progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn parse_period_start(text: &str) -> Result<Timestamp, String> {
    parse_date_or_rfc3339(text.as_bytes())
        .map_err(|e| format!("{text:?} {e}; give YYYY-MM-DD (midnight UTC) or an RFC 3339 timestamp"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Usage(args) => run_usage(args),
        Command::GenerateLog(args) => generate::run(args),
        Command::Serve(args) => server::serve(args),
        Command::Account(command) => server::account(command),
        Command::Import(args) => import::run(args),
        Command::Licenses(command) => server::licenses(command),
        Command::Authority(command) => authority::run(command),
        Command::Config(ConfigCommand::Example) => server::config_example(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A progress bar on standard error when it is a terminal and the input is large.
pub(crate) fn progress_bar(raw_len: Option<u64>, quiet: bool) -> indicatif::ProgressBar {
    const LARGE: u64 = 32 << 20;
    if quiet || !std::io::stderr().is_terminal() || raw_len.is_some_and(|n| n < LARGE) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match raw_len {
        Some(len) => indicatif::ProgressBar::new(len).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading {bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec}, {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} reading {bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// Reads and checks a whole log, with a progress bar on a terminal; reports
/// the records skipped (with `--skip-invalid`) on standard error unless `quiet`.
pub(crate) fn read_log(
    opened: input::Opened,
    options: &scan::ScanOptions,
    quiet: bool,
) -> Result<scan::ScannedLog> {
    let source = opened.display_name.clone();
    let bar = progress_bar(opened.raw_len, quiet);
    let scanned = scan::scan(opened, options, &|bytes| bar.set_position(bytes));
    bar.finish_and_clear();
    let log = match scanned {
        Ok(log) => log,
        Err(e) => bail!("{source}: {e}"),
    };
    if !quiet {
        for problem in &log.skipped {
            eprintln!("skipped: {source}: {problem}");
        }
    }
    Ok(log)
}

fn run_usage(args: UsageArgs) -> Result<()> {
    let began = Instant::now();
    phases::start();
    let policy = if args.count_teleconference_only {
        CountPolicy::CountTeleconferenceOnly
    } else {
        CountPolicy::WebOnly
    };
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let opened = input::open(&args.meetings)?;
    let options = scan::ScanOptions {
        skip_invalid: args.skip_invalid,
        policy,
        explain_host: args.explain.clone(),
        keep_all: false,
        threads,
    };
    let log = read_log(opened, &options, args.quiet)?;

    let (anchor, anchor_note) = match (args.period_start, log.earliest_start) {
        (Some(p), _) => (p, "--period-start"),
        (None, Some(earliest)) => {
            (Timestamp(earliest.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY), "day of the earliest meeting")
        }
        (None, None) => (Timestamp(0), "no meetings"),
    };
    let windows = Windows::new(anchor);

    if let Some(host) = &args.explain {
        return write_output(args.output.as_deref(), |out| {
            report::write_explanation(out, host, &log, windows, policy, args.format == Format::Json)
        });
    }

    let usage = report::compute(&log, windows, threads);
    phases::mark("usage computed");
    let (path, installed) = (args.output.as_deref(), args.installed_host_licenses);
    match args.format {
        Format::Csv => write_csv(path, &usage, &log.hosts, threads)?,
        Format::Json => {
            write_output(path, |out| report::write_json(out, &usage, &log.hosts, policy, installed))?
        }
        Format::Table => write_output(path, |out| report::write_table(out, &usage, &log.hosts, installed))?,
    }
    phases::mark("output written");
    if !args.quiet {
        eprint!("{}", report::summary(&log, &usage, policy, args.installed_host_licenses, anchor_note));
        eprintln!("done in {:.2} s", began.elapsed().as_secs_f64());
    }
    // The process ends here: handing hundreds of megabytes back to the
    // allocator piece by piece would only delay the exit.
    std::mem::forget((log, usage));
    Ok(())
}

/// Writes to standard output, or to `path` through a temporary file renamed
/// into place, so a failed run never leaves a partial result behind.
fn write_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut BufWriter<Box<dyn Write>>) -> std::io::Result<()>,
) -> Result<()> {
    match path {
        None => {
            let mut out: BufWriter<Box<dyn Write>> =
                BufWriter::with_capacity(1 << 20, Box::new(std::io::stdout().lock()));
            stdout_result(write(&mut out).and_then(|()| out.flush()))
        }
        Some(path) => replace_file(path, |file| {
            let mut out: BufWriter<Box<dyn Write>> = BufWriter::with_capacity(1 << 20, Box::new(file));
            write(&mut out).and_then(|()| out.flush())
        }),
    }
}

/// Writes the normative CSV, like [`write_output`]. Into a file, rows are
/// formatted and written on `threads` threads, each at its own offset
/// (computed beforehand): with tens of megabytes of output, formatting and
/// copying into the page cache are worth sharing out, and no thread holds
/// more than a megabyte of it at a time.
fn write_csv(path: Option<&Path>, usage: &report::Usage, hosts: &[String], threads: usize) -> Result<()> {
    let windows = &usage.windows;
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            stdout_result(
                out.write_all(report::CSV_HEADER)
                    .and_then(|()| {
                        report::write_csv_rows(&usage.cells, windows, hosts, |piece| out.write_all(piece))
                    })
                    .and_then(|()| out.flush()),
            )
        }
        Some(path) => replace_file(path, |file| {
            use std::os::unix::fs::FileExt;
            let chunks: Vec<&[report::Cell]> =
                usage.cells.chunks(usage.cells.len().div_ceil(threads.max(1)).max(1)).collect();
            let file = &file;
            std::thread::scope(|scope| {
                let lengths: Vec<u64> = chunks
                    .iter()
                    .map(|&cells| scope.spawn(move || report::csv_rows_len(cells, windows, hosts)))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|h| h.join().unwrap_or(0))
                    .collect();
                file.write_all_at(report::CSV_HEADER, 0)?;
                let mut offset = report::CSV_HEADER.len() as u64;
                let writers: Vec<_> = chunks
                    .iter()
                    .zip(lengths)
                    .map(|(&cells, len)| {
                        let mut at = offset;
                        offset += len;
                        scope.spawn(move || {
                            report::write_csv_rows(cells, windows, hosts, |piece| {
                                file.write_all_at(piece, at)?;
                                at += piece.len() as u64;
                                Ok(())
                            })
                        })
                    })
                    .collect();
                writers.into_iter().try_for_each(|w| {
                    w.join().unwrap_or_else(|_| Err(std::io::Error::other("a writer thread failed")))
                })
            })
        }),
    }
}

fn stdout_result(result: std::io::Result<()>) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

/// Creates a temporary file beside `path`, lets `write` fill it, and renames
/// it over `path`; on failure removes it and leaves `path` untouched. A path
/// that is not a regular file (`/dev/null`, a named pipe) is written directly.
fn replace_file(path: &Path, write: impl FnOnce(std::fs::File) -> std::io::Result<()>) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        return write(file).with_context(|| format!("cannot write {}", path.display()));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    let temp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let file = std::fs::File::create(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
    if let Err(e) = write(file) {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    std::fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))
}
