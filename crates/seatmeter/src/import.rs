//! `seatmeter import`: loads a historical meeting log into an account.
//!
//! The log is read and checked by the same reader as `seatmeter usage`, so
//! it is refused with the same messages, and nothing is imported from an
//! invalid log. Hosts are the account's users, by e-mail address. Meetings
//! are written a thousand per transaction, each transaction with its share
//! of live-usage changes and an activity; a meeting whose `meeting_id` the
//! account has already is skipped, so running the same import again (after
//! a crash, say) imports only what is missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use seatmeter_core::people::Email;
use seatmeter_server::Db;
use seatmeter_server::secrets::new_id;
use seatmeter_server::store::meetings::MeetingRow;
use serde_json::json;

use crate::scan::{KeptMeeting, ScanOptions};
use crate::server::Place;

/// Options of `seatmeter import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    place: Place,
    /// The account's id (acc_…), as printed by `seatmeter account create`.
    #[arg(long)]
    account: String,
    /// The meeting log: CSV or JSON Lines, optionally .gz or .zst; `-` for standard input.
    #[arg(long, value_name = "FILE")]
    meetings: PathBuf,
    /// Report invalid records on standard error and import the rest.
    #[arg(long)]
    skip_invalid: bool,
    /// Add hosts that are not yet users of the account, as members
    /// (otherwise they are listed and nothing is imported).
    #[arg(long)]
    create_users: bool,
    /// No progress bars and no summary.
    #[arg(long)]
    quiet: bool,
}

/// Meetings written per transaction.
const CHUNK: usize = 1000;

/// Runs `seatmeter import`.
pub fn run(args: ImportArgs) -> Result<()> {
    let settings = args.place.settings()?;
    let opened = crate::input::open(&args.meetings)?;
    let source = opened.display_name.clone();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let options =
        ScanOptions { skip_invalid: args.skip_invalid, keep_all: true, threads, ..ScanOptions::default() };
    let log = crate::read_log(opened, &options, args.quiet)?;
    let meetings = &log.explain;
    let hosts = host_addresses(meetings, &source)?;

    crate::server::runtime()?.block_on(async move {
        let db = Db::open(&settings.database()).await?;
        let Some(rules) = seatmeter_server::store::meetings::rules(&db, &args.account).await? else {
            bail!("no account {:?} in {}", args.account, settings.database());
        };
        let now = jiff::Timestamp::now().as_millisecond();
        let (by_key, created) = users_of_hosts(&db, &args, &hosts, now).await?;
        let present = seatmeter_server::store::meetings::external_ids(&db, &args.account).await?;
        let new: Vec<&KeptMeeting> = meetings.iter().filter(|m| !present.contains(&m.meeting_id)).collect();
        let progress = progress_bar(args.quiet, new.len());
        let mut changes = 0usize;
        for chunk in new.chunks(CHUNK) {
            let mut rows = Vec::with_capacity(chunk.len());
            for m in chunk {
                let key = hosts.get(m.host.as_str()).map(|(e, _)| e.key()).unwrap_or_default();
                let host = by_key.get(&key).with_context(|| format!("line {}: host {:?} has no user", m.line, m.host))?;
                rows.push(imported(&args.account, host, m, now));
            }
            let details = json!({"source": source, "meetings": rows.len(), "first_line": chunk[0].line,
                                 "last_line": chunk[chunk.len() - 1].line});
            changes +=
                seatmeter_server::app::meetings::store_imported(&db, &args.account, &rules, rows, details, now).await?;
            progress.inc(chunk.len() as u64);
        }
        progress.finish_and_clear();
        if !args.quiet {
            eprintln!(
                "{source}: {} meetings imported into {}, {} already there, {} skipped as invalid; {} hosts ({} added as members); {} usage changes",
                new.len(),
                args.account,
                meetings.len() - new.len(),
                log.stats.skipped,
                hosts.len(),
                created,
                changes
            );
        }
        Ok(())
    })
}

/// Each host's address, checked, with the line of its first meeting.
fn host_addresses(meetings: &[KeptMeeting], source: &str) -> Result<BTreeMap<String, (Email, u64)>> {
    let mut hosts: BTreeMap<String, (Email, u64)> = BTreeMap::new();
    for m in meetings {
        if !hosts.contains_key(m.host.as_str()) {
            let email = Email::parse(&m.host).map_err(|e| {
                anyhow::anyhow!(
                    "{source}: line {}: the host {:?} is not an e-mail address ({e}); hosts are the account's users, by e-mail",
                    m.line,
                    m.host
                )
            })?;
            hosts.insert(m.host.clone(), (email, m.line));
        }
    }
    Ok(hosts)
}

/// The account's users by e-mail key, with the hosts that were not users
/// added as members when `--create-users` asks for it (else an error naming
/// them); and how many were added.
async fn users_of_hosts(
    db: &Db,
    args: &ImportArgs,
    hosts: &BTreeMap<String, (Email, u64)>,
    now: i64,
) -> Result<(std::collections::HashMap<String, String>, usize)> {
    let mut by_key = seatmeter_server::app::users::ids_by_email(db, &args.account).await?;
    let missing: Vec<&Email> =
        hosts.values().map(|(email, _)| email).filter(|e| !by_key.contains_key(&e.key())).collect();
    if missing.is_empty() {
        return Ok((by_key, 0));
    }
    if !args.create_users {
        let shown: Vec<String> = missing.iter().take(5).map(|e| e.as_str().to_string()).collect();
        bail!(
            "{} host{} of the log {} not users of the account: {}{}; add them first, or pass --create-users",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            if missing.len() == 1 { "is" } else { "are" },
            shown.join(", "),
            if missing.len() > 5 { ", …" } else { "" }
        );
    }
    let emails: Vec<Email> = missing.into_iter().cloned().collect();
    let created =
        seatmeter_server::app::users::add_members(db, &args.account, &emails, "import", now).await?;
    by_key
        .extend(created.iter().filter_map(|u| Email::parse(&u.email).ok().map(|e| (e.key(), u.id.clone()))));
    Ok((by_key, created.len()))
}

/// The progress bar of an import of `meetings` (hidden for small imports,
/// with `--quiet`, or when standard error is not a terminal).
fn progress_bar(quiet: bool, meetings: usize) -> indicatif::ProgressBar {
    if quiet || meetings < 10 * CHUNK || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return indicatif::ProgressBar::hidden();
    }
    indicatif::ProgressBar::new(meetings as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} importing {pos}/{len} meetings [{wide_bar}] {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    )
}

/// A meeting row for a log record: held from `start` to `end` (kept to the
/// millisecond) with the log's attendee counts.
fn imported(account: &str, host: &str, m: &KeptMeeting, now: i64) -> MeetingRow {
    const NANOS_PER_MS: i64 = 1_000_000;
    MeetingRow {
        id: new_id("mtg"),
        account_id: account.to_string(),
        external_id: Some(m.meeting_id.clone()),
        host_user_id: host.to_string(),
        scheduled_by_user_id: None,
        title: m.meeting_id.clone(),
        scheduled_start_ms: None,
        scheduled_end_ms: None,
        started_ms: Some(m.start.div_euclid(NANOS_PER_MS)),
        ended_ms: Some(m.end.div_euclid(NANOS_PER_MS)),
        web_attendees: i64::try_from(m.web_attendees).unwrap_or(i64::MAX),
        phone_attendees: i64::try_from(m.phone_attendees).unwrap_or(i64::MAX),
        usage_start_ms: None,
        usage_end_ms: None,
        auto_ended_ms: None,
        created_ms: now,
    }
}
