//! Licensing and compliance on the server: installing license files (from
//! the license authority with a PAK, or uploaded), synchronising with the
//! authority, the daily audit that runs the core's compliance engine, the
//! disabled state, and `GET /v1/compliance`.
//!
//! The audit of an account runs at 02:00 in its time zone. Every server
//! looks once a minute for accounts whose audit is due, and runs one only
//! after moving its `next_audit_ms` on with a conditional update in the
//! audit's own transaction: of several servers on one database exactly one
//! succeeds, and a server that was down catches up with one audit at the
//! latest 02:00 it missed (the engine applies every usage check it missed).
//! Installing licenses and each synchronisation also evaluate the account
//! at once, so that new licenses lift a disabled account immediately.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ed25519_dalek::VerifyingKey;
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use seatmeter_core::compliance::{
    self as engine, Audit, Check, Condition, Facts, Grant, Ledger, Notice, NoticeKey, NoticeKind,
    OverageEpisode, Sync,
};
use seatmeter_core::people::{AdminArea, LicenseKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, Body, ErrorBody, rfc3339_ms};
use crate::license_file::{LicenseBody, LicenseFileError, parse_public_key, verify};
use crate::secrets::new_id;
use crate::settings::Settings;
use crate::store::{Db, DbError, Tx};

/// The product's major version: what license files' `product_major_versions` must include.
pub fn product_major() -> u64 {
    env!("CARGO_PKG_VERSION").split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
}

/// What licensing needs to know of the server's settings.
#[derive(Clone, Debug)]
pub struct Licensing {
    /// License files must be signed with this key.
    pub authority_key: Option<VerifyingKey>,
    /// The authority's API.
    pub authority_url: Option<String>,
    /// This server's name at the authority.
    pub server_id: String,
    /// Between synchronisations.
    pub sync_interval_ms: i64,
    /// The product's major version (licenses must cover it).
    pub product_major: u64,
    /// Where e-mail goes (`None`: notices wait in the outbox).
    pub mailer: Option<crate::mail::Mailer>,
    http: reqwest::Client,
}

impl Licensing {
    /// From the settings (an invalid public key is an error, said at start).
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let authority_key = match &settings.authority_public_key {
            Some(text) => Some(parse_public_key(text).map_err(|e| format!("authority_public_key: {e}"))?),
            None => None,
        };
        let server_id = settings.server_id.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "seatmeter".to_string())
        });
        Ok(Self {
            authority_key,
            authority_url: settings.authority_url.as_ref().map(|u| u.trim_end_matches('/').to_string()),
            server_id,
            sync_interval_ms: i64::try_from(Ord::max(settings.sync_interval_hours, 1)).unwrap_or(12)
                * 3_600_000,
            product_major: product_major(),
            mailer: crate::mail::Mailer::from_settings(settings)?,
            // No kept connections: synchronisations are hours apart.
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_default(),
        })
    }
}

// ---------------------------------------------------------------------------
// Storage

#[derive(sqlx::FromRow)]
struct ComplianceRow {
    trial_started_ms: i64,
    ledger: String,
    next_audit_ms: i64,
    last_audit_ms: Option<i64>,
    uncovered_since_ms: Option<i64>,
    sync_pak: Option<String>,
    sync_expected_since_ms: Option<i64>,
    last_sync_ms: Option<i64>,
    last_sync_attempt_ms: Option<i64>,
    last_sync_error: Option<String>,
    next_sync_ms: Option<i64>,
    product_major: Option<i64>,
}

const COMPLIANCE_COLUMNS: [&str; 12] = [
    "trial_started_ms",
    "ledger",
    "next_audit_ms",
    "last_audit_ms",
    "uncovered_since_ms",
    "sync_pak",
    "sync_expected_since_ms",
    "last_sync_ms",
    "last_sync_attempt_ms",
    "last_sync_error",
    "next_sync_ms",
    "product_major",
];

#[derive(sqlx::FromRow)]
struct AccountZone {
    time_zone: String,
    created_ms: i64,
}

/// The ledger as stored (JSON).
#[derive(Serialize, Deserialize, Default)]
struct StoredLedger {
    audited_through_ms: Option<i64>,
    overage: Option<(i64, u32, u64, u64)>,
    sent: Vec<String>,
}

impl StoredLedger {
    fn read(text: &str) -> Ledger {
        let stored: StoredLedger = serde_json::from_str(text).unwrap_or_default();
        Ledger {
            audited_through_ms: stored.audited_through_ms,
            overage: stored.overage.map(|(since_ms, period, hosts, installed)| OverageEpisode {
                since_ms,
                period,
                hosts,
                installed,
            }),
            sent: stored.sent.iter().filter_map(|k| NoticeKey::from_text(k)).collect(),
        }
    }

    fn write(ledger: &Ledger) -> String {
        let stored = StoredLedger {
            audited_through_ms: ledger.audited_through_ms,
            overage: ledger.overage.map(|o| (o.since_ms, o.period, o.hosts, o.installed)),
            sent: ledger.sent.iter().map(NoticeKey::to_text).collect(),
        };
        serde_json::to_string(&stored).expect("a ledger serialises")
    }
}

/// The time zone of an account (UTC if its name is unknown).
pub(crate) fn zone(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// 02:00 of the local day of `day`, in `tz` (03:00 where 02:00 does not
/// exist that day; the first 02:00 where it happens twice).
fn two_am(tz: &jiff::tz::TimeZone, day: jiff::civil::Date) -> i64 {
    let local = day.at(2, 0, 0, 0);
    local
        .to_zoned_datetime(tz.clone())
        .or_else(|_| local.to_zoned_datetime(jiff::tz::TimeZone::UTC))
        .map_or(0, |z| z.timestamp().as_millisecond())
}

pub(crate) fn local_date(tz: &jiff::tz::TimeZone, ms: i64) -> jiff::civil::Date {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
        .date()
}

/// The first audit time (02:00 local) after `ms`.
pub fn next_audit_after(time_zone: &str, ms: i64) -> i64 {
    let tz = zone(time_zone);
    let mut day = local_date(&tz, ms).yesterday().unwrap_or(jiff::civil::Date::MIN);
    loop {
        let at = two_am(&tz, day);
        if at > ms {
            return at;
        }
        day = day.tomorrow().unwrap_or(jiff::civil::Date::MAX);
    }
}

/// The last audit time (02:00 local) at or before `ms`.
pub fn last_audit_at_or_before(time_zone: &str, ms: i64) -> i64 {
    let tz = zone(time_zone);
    let mut day = local_date(&tz, ms).tomorrow().unwrap_or(jiff::civil::Date::MAX);
    loop {
        let at = two_am(&tz, day);
        if at <= ms {
            return at;
        }
        day = day.yesterday().unwrap_or(jiff::civil::Date::MIN);
    }
}

/// The account's compliance row, created on first use (the trial starts
/// when the account was created).
async fn row(tx: &mut Tx, account_id: &str, now: i64) -> Result<ComplianceRow, DbError> {
    // Locked until the transaction ends (on PostgreSQL; SQLite has one
    // writer at a time anyway): installing, synchronising and auditing one
    // account take turns.
    let select = Query::select()
        .columns(COMPLIANCE_COLUMNS)
        .from("compliance")
        .and_where(Expr::col("account_id").eq(account_id))
        .lock_exclusive()
        .to_owned();
    if let Some(row) = tx.fetch_optional(&select).await? {
        return Ok(row);
    }
    let account: AccountZone = tx
        .fetch_optional(
            Query::select()
                .columns(["time_zone", "created_ms"])
                .from("accounts")
                .and_where(Expr::col("id").eq(account_id)),
        )
        .await?
        .ok_or(DbError::Query(sqlx::Error::RowNotFound))?;
    tx.execute(
        Query::insert()
            .into_table("compliance")
            .columns(["account_id", "trial_started_ms", "ledger", "next_audit_ms"])
            .values_panic([
                account_id.into(),
                account.created_ms.into(),
                StoredLedger::write(&Ledger::default()).into(),
                next_audit_after(&account.time_zone, now).into(),
            ])
            .on_conflict(OnConflict::column("account_id").do_nothing().to_owned()),
    )
    .await?;
    tx.fetch_optional(&select).await?.ok_or(DbError::Query(sqlx::Error::RowNotFound))
}

/// Starts the compliance of a new account: its trial begins, its first
/// audit is at the next 02:00.
pub(crate) async fn begin_trial(tx: &mut Tx, account_id: &str, now: i64) -> Result<(), DbError> {
    row(tx, account_id, now).await.map(|_| ())
}

/// Moves the account's next audit to 02:00 of its new time zone.
pub(crate) async fn move_audit(
    tx: &mut Tx,
    account_id: &str,
    time_zone: &str,
    now: i64,
) -> Result<(), DbError> {
    row(tx, account_id, now).await?;
    tx.execute(
        Query::update()
            .table("compliance")
            .value("next_audit_ms", next_audit_after(time_zone, now))
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow, Clone)]
struct FileRow {
    license_id: String,
    pak: String,
    body: String,
    installed_via: String,
    installed_ms: i64,
    replaced_ms: Option<i64>,
}

const FILE_COLUMNS: [&str; 6] = ["license_id", "pak", "body", "installed_via", "installed_ms", "replaced_ms"];

/// The current license file of each PAK, with `installed_ms` the time the
/// PAK's first file was installed: a newer file of a PAK continues its
/// licenses, it does not start them again.
async fn current_files(tx: &mut Tx, account_id: &str) -> Result<Vec<(FileRow, LicenseBody)>, DbError> {
    let rows: Vec<FileRow> = tx
        .fetch_all(
            Query::select()
                .columns(FILE_COLUMNS)
                .from("license_files")
                .and_where(Expr::col("account_id").eq(account_id))
                .order_by("installed_ms", Order::Asc),
        )
        .await?;
    let first = |pak: &str| rows.iter().filter(|r| r.pak == pak).map(|r| r.installed_ms).min();
    let mut current = Vec::new();
    for row in rows.iter().filter(|r| r.replaced_ms.is_none()) {
        match serde_json::from_str::<LicenseBody>(&row.body) {
            Ok(body) => {
                let installed_ms = first(&row.pak).unwrap_or(row.installed_ms);
                current.push((FileRow { installed_ms, ..row.clone() }, body));
            }
            Err(error) => {
                tracing::error!(account = account_id, license = %row.license_id, %error, "a stored license file cannot be read; it counts for nothing")
            }
        }
    }
    Ok(current)
}

fn expiry_ms(text: &str) -> Option<i64> {
    seatmeter_core::time::parse_rfc3339(text.as_bytes()).ok().map(|t| t.0.div_euclid(1_000_000))
}

/// The grants of the current license files.
fn grants(files: &[(FileRow, LicenseBody)]) -> Vec<Grant> {
    files
        .iter()
        .flat_map(|(row, body)| {
            body.licenses.iter().filter_map(|line| {
                Some(Grant {
                    kind: LicenseKind::parse(&line.kind)?,
                    count: line.count,
                    installed_ms: row.installed_ms,
                    // An expiry that cannot be read counts as past.
                    expires_ms: line.expires.as_deref().map(|e| expiry_ms(e).unwrap_or(i64::MIN)),
                })
            })
        })
        .collect()
}

/// Sets the pools' installed counts from the current license files (when
/// the account has any; otherwise the pools are left as set by hand in
/// development mode).
async fn recompute_pools(
    tx: &mut Tx,
    account_id: &str,
    files: &[(FileRow, LicenseBody)],
    now: i64,
) -> Result<(), DbError> {
    if files.is_empty() {
        return Ok(());
    }
    let grants = grants(files);
    for kind in LicenseKind::ALL {
        let installed: u64 =
            grants.iter().filter(|g| g.kind == kind && g.in_force(now)).map(|g| g.count).sum();
        let installed = i64::try_from(installed).unwrap_or(i64::MAX);
        tx.execute(
            Query::insert()
                .into_table("license_pools")
                .columns(["account_id", "kind", "installed", "assigned"])
                .values_panic([account_id.into(), kind.as_str().into(), installed.into(), 0i64.into()])
                .on_conflict(
                    OnConflict::columns(["account_id", "kind"]).update_column("installed").to_owned(),
                ),
        )
        .await?;
    }
    Ok(())
}

/// The usage checks of every 30-day window ended by `now`, from the
/// account's live usage. (Callers end the meetings overdue at `now` first,
/// before their own transaction: that takes a transaction of its own.)
async fn checks(state: &Services, account_id: &str, since: i64, now: i64) -> Result<Vec<Check>, ApiError> {
    let rules = crate::meetings::account_rules(&state.db, account_id).await?;
    let rows = state.usage.rows(&state.db, account_id, &rules).await?;
    let totals = seatmeter_core::usage::window_totals(rows.iter().map(|r| (r.window, r.licenses)));
    let windows = crate::live::windows_of(rules.anchor_ms);
    let ms = |nanos: i128| i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX);
    let first = windows.index_of(since.saturating_mul(1_000_000));
    let mut checks = Vec::new();
    let mut k = first;
    while ms(windows.end(k)) <= now {
        let hosts = totals.iter().find(|t| t.window == k).map_or(0, |t| t.licenses);
        checks.push(Check { at_ms: ms(windows.end(k)), hosts });
        k += 1;
    }
    Ok(checks)
}

/// Since when the product version is not covered by `files`, given what
/// was stored (`None`: covered, or no files). `major` is the highest
/// product major version any server of the account has run: during a
/// rolling upgrade an older server does not end the condition.
fn uncovered_since(
    files: &[(FileRow, LicenseBody)],
    major: u64,
    stored: Option<i64>,
    now: i64,
) -> Option<i64> {
    if files.is_empty() || files.iter().any(|(_, body)| body.covers(major)) {
        None
    } else {
        Some(stored.unwrap_or(now))
    }
}

/// What the disabled account's users are told.
fn disabled_message(condition: Condition) -> String {
    match condition {
        Condition::Trial => "the free trial has ended; an administrator must install licenses".into(),
        Condition::Overage => {
            "more hosts have used host licenses than are installed for six months; an administrator must install more host licenses".into()
        }
        Condition::OutOfDate => {
            "the licenses do not cover this product version and the six months' grace is over; an administrator must install updated licenses".into()
        }
        Condition::ContactLost => {
            "the license authority has not been reached for six months; the server must synchronise with it again".into()
        }
    }
}

/// What the audit reads outside its transaction: the meetings overdue at
/// `now` are ended first (in a transaction of their own), then the usage
/// checks are read from the live usage.
async fn prepare(state: &Services, account_id: &str, now: i64) -> Result<Vec<Check>, ApiError> {
    crate::live::settle_overdue(&state.db, Some(account_id), now).await?;
    #[derive(sqlx::FromRow)]
    struct Since {
        trial_started_ms: i64,
    }
    let since = state
        .db
        .fetch_optional::<Since>(
            Query::select()
                .column("trial_started_ms")
                .from("compliance")
                .and_where(Expr::col("account_id").eq(account_id)),
        )
        .await?;
    let since = match since {
        Some(s) => s.trial_started_ms,
        None => account_of(&state.db, account_id).await?.created_ms,
    };
    checks(state, account_id, since, now).await
}

/// The engine's facts and the account's current files, given the checks
/// read by [`prepare`]; `uncovered_since_ms` is worked out with the
/// highest product version seen.
async fn facts(
    state: &Services,
    tx: &mut Tx,
    account_id: &str,
    row: &ComplianceRow,
    checks: Vec<Check>,
    now: i64,
) -> Result<(Facts, Vec<(FileRow, LicenseBody)>, u64), DbError> {
    let files = current_files(tx, account_id).await?;
    let stored = row.product_major.and_then(|m| u64::try_from(m).ok()).unwrap_or(0);
    let major = Ord::max(stored, state.licensing.product_major);
    let facts = Facts {
        setup_ms: row.trial_started_ms,
        grants: grants(&files),
        checks,
        uncovered_version_since_ms: uncovered_since(&files, major, row.uncovered_since_ms, now),
        sync: row
            .sync_expected_since_ms
            .map(|expected| Sync { expected_since_ms: expected, last_success_ms: row.last_sync_ms }),
    };
    Ok((facts, files, major))
}

/// Evaluates the account at `now` (in the transaction `tx`, with the
/// checks from [`prepare`]), stores the ledger, the pools and the disabled
/// state, and queues the notices due.
async fn evaluate(
    state: &Services,
    tx: &mut Tx,
    account_id: &str,
    checks: Vec<Check>,
    now: i64,
) -> Result<Audit, ApiError> {
    let row = row(tx, account_id, now).await?;
    let (facts, files, major) = facts(state, tx, account_id, &row, checks, now).await?;
    // A file installed by a request that took the account's lock first may
    // carry a time a moment after this one's `now`: it counts already.
    let now = files.iter().map(|(f, _)| f.installed_ms).fold(now, Ord::max);
    let done = engine::audit(&facts, &StoredLedger::read(&row.ledger), now);
    recompute_pools(tx, account_id, &files, now).await?;
    tx.execute(
        Query::update()
            .table("compliance")
            .value("ledger", StoredLedger::write(&done.ledger))
            .value("uncovered_since_ms", facts.uncovered_version_since_ms)
            .value("product_major", i64::try_from(major).unwrap_or(i64::MAX))
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await?;
    let reason = done.status.disabled.map(disabled_message);
    let before: Option<Option<String>> = tx
        .fetch_optional::<DisabledRow>(
            Query::select()
                .column("disabled_reason")
                .from("accounts")
                .and_where(Expr::col("id").eq(account_id)),
        )
        .await?
        .map(|r| r.disabled_reason);
    if before.as_ref() != Some(&reason) {
        tx.execute(
            Query::update()
                .table("accounts")
                .value("disabled_reason", reason.clone())
                .and_where(Expr::col("id").eq(account_id)),
        )
        .await?;
        let action = if reason.is_some() { "account.disabled" } else { "account.enabled" };
        crate::store::activities::record(
            tx,
            account_id,
            now,
            None,
            action,
            ("account", account_id),
            json!({"reason": reason}),
        )
        .await?;
        crate::recent::note_changes(tx, [crate::recent::ALL], now).await?;
    }
    for notice in &done.notices {
        queue_notice(state, tx, account_id, notice, now).await?;
    }
    Ok(done)
}

#[derive(sqlx::FromRow)]
struct DisabledRow {
    disabled_reason: Option<String>,
}

/// The addresses of the administrators who handle licenses (billing, or
/// unrestricted), enabled.
async fn license_admins(tx: &mut Tx, account_id: &str) -> Result<Vec<String>, DbError> {
    let rows: Vec<AdminRow> = tx
        .fetch_all(
            Query::select()
                .columns(["email", "areas"])
                .from("users")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("role").eq("administrator"))
                .and_where(Expr::col("disabled_ms").is_null())
                .order_by("email", Order::Asc),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.areas.is_empty() || r.areas.split(',').any(|a| a == AdminArea::Billing.as_str()))
        .map(|r| r.email)
        .collect())
}

#[derive(sqlx::FromRow)]
struct AdminRow {
    email: String,
    areas: String,
}

fn date_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map_or_else(|_| ms.to_string(), |t| t.strftime("%Y-%m-%d").to_string())
}

/// Subject and body of a notice.
pub fn notice_text(account_name: &str, notice: &Notice) -> (String, String) {
    let disable = date_text(notice.disable_ms);
    let key = notice.key;
    let (subject, what, todo) = match (key.condition, key.kind) {
        (Condition::Trial, NoticeKind::Disabled) => (
            "Seatmeter: your free trial has ended and the system is disabled".to_string(),
            format!("The 180-day free trial of {account_name} ended on {disable}. Nobody can schedule, host or attend meetings until licenses are installed."),
            "Buy licenses from your vendor, then enter the Product Authorization Key (PAK) on the licenses page or with POST /v1/licenses/paks. The system is enabled again at once.".to_string(),
        ),
        (Condition::Trial, _) => (
            format!("Seatmeter: your free trial ends on {disable}"),
            format!("The 180-day free trial of {account_name} ends on {disable}. On that day the system will be disabled unless licenses are installed."),
            "Buy licenses from your vendor and enter the Product Authorization Key (PAK) on the licenses page before that date.".to_string(),
        ),
        (Condition::Overage, NoticeKind::Disabled) => (
            "Seatmeter: the system is disabled after six months of license overage".to_string(),
            format!("For six months more hosts used host licenses in {account_name} than are installed. Since {disable} nobody can schedule, host or attend meetings."),
            "Install more host licenses (a new or updated PAK, or a license file): the system is enabled again at once.".to_string(),
        ),
        (Condition::Overage, _) => {
            let (hosts, installed) = notice.hosts.unwrap_or((0, 0));
            (
                format!("Seatmeter: license overage; the system will be disabled on {disable}"),
                format!("The 30-day license check of {account_name} found {hosts} host licenses used and {installed} installed. Unless enough host licenses are installed, the system will be disabled on {disable}."),
                "Buy more host licenses and install them, or reduce the number of hosts. The overage ends at the first 30-day check within your licenses, or as soon as enough licenses are installed.".to_string(),
            )
        }
        (Condition::OutOfDate, NoticeKind::Disabled) => (
            "Seatmeter: the system is disabled: licenses out of date".to_string(),
            format!("The licenses of {account_name} do not cover this product version, and the six months' grace ended on {disable}. Nobody can schedule, host or attend meetings."),
            "Ask your vendor for updated licenses and install them: the system is enabled again at once.".to_string(),
        ),
        (Condition::OutOfDate, _) => (
            format!("Seatmeter: update your licenses by {disable}"),
            format!("The product was upgraded to a version that the licenses of {account_name} do not cover. Unless updated licenses are installed, the system will be disabled on {disable}."),
            "Ask your vendor for updated licenses for this version and install them (or synchronise, if the vendor updated your PAK).".to_string(),
        ),
        (Condition::ContactLost, NoticeKind::Disabled) => (
            "Seatmeter: the system is disabled: no contact with the license authority".to_string(),
            format!("The server of {account_name} has not synchronised with the license authority for six months; since {disable} nobody can schedule, host or attend meetings."),
            "Restore the connection to the license authority (authority_url): the next successful synchronisation enables the system again.".to_string(),
        ),
        (Condition::ContactLost, _) => (
            format!("Seatmeter: the license authority cannot be reached; the system will be disabled on {disable}"),
            format!("The server of {account_name} has not synchronised with the license authority for at least two days. Unless it synchronises again, the system will be disabled on {disable}."),
            "Check the server's network access to the license authority (authority_url) and its logs; a successful synchronisation ends this condition.".to_string(),
        ),
    };
    let body = format!(
        "{what}\n\nWhat to do: {todo}\n\nDisable date: {disable}\n\n-- \nSeatmeter, the license server of {account_name}\n"
    );
    (subject, body)
}

#[derive(sqlx::FromRow)]
struct NameRow {
    name: String,
}

/// Queues the e-mail of `notice` (once per account and notice).
async fn queue_notice(
    state: &Services,
    tx: &mut Tx,
    account_id: &str,
    notice: &Notice,
    now: i64,
) -> Result<(), DbError> {
    let name = tx
        .fetch_optional::<NameRow>(
            Query::select().column("name").from("accounts").and_where(Expr::col("id").eq(account_id)),
        )
        .await?
        .map_or_else(|| account_id.to_string(), |r| r.name);
    let recipients = license_admins(tx, account_id).await?;
    let (subject, body) = notice_text(&name, notice);
    let id = new_id("msg");
    let domain =
        state.licensing.server_id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-', "");
    let queued = tx
        .execute(
            Query::insert()
                .into_table("outbox")
                .columns([
                    "id",
                    "account_id",
                    "notice_key",
                    "recipients",
                    "subject",
                    "body",
                    "message_id",
                    "created_ms",
                    "attempts",
                    "next_attempt_ms",
                ])
                .values_panic([
                    id.clone().into(),
                    account_id.into(),
                    notice.key.to_text().into(),
                    recipients.join(",").into(),
                    subject.clone().into(),
                    body.into(),
                    format!("<{id}@{}>", if domain.is_empty() { "seatmeter" } else { &domain }).into(),
                    now.into(),
                    0i64.into(),
                    now.into(),
                ])
                .on_conflict(OnConflict::columns(["account_id", "notice_key"]).do_nothing().to_owned()),
        )
        .await?;
    if queued == 0 {
        return Ok(());
    }
    crate::store::activities::record(
        tx,
        account_id,
        now,
        None,
        "compliance.notice",
        ("notice", &notice.key.to_text()),
        json!({"subject": subject, "recipients": recipients.len()}),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The audit

#[derive(sqlx::FromRow)]
struct DueRow {
    account_id: String,
    next_audit_ms: i64,
}

/// Runs the audits that are due at `now`; returns how many this server ran.
pub async fn run_due_audits(state: &Services, now: i64) -> Result<usize, ApiError> {
    ensure_rows(state, now).await?;
    let due: Vec<DueRow> = state
        .db
        .fetch_all(
            Query::select()
                .columns(["account_id", "next_audit_ms"])
                .from("compliance")
                .and_where(Expr::col("next_audit_ms").lte(now))
                .order_by("next_audit_ms", Order::Asc),
        )
        .await?;
    let mut ran = 0;
    for account in due {
        // One account's failure does not hold up the others' audits.
        match audit_one(state, &account, now).await {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::error!(account = %account.account_id, %error, "the audit failed; will try again");
            }
        }
    }
    Ok(ran)
}

/// Runs the due audit of one account, unless another server claimed it first.
async fn audit_one(state: &Services, account: &DueRow, now: i64) -> Result<bool, ApiError> {
    let zone = account_of(&state.db, &account.account_id).await?.time_zone;
    // The audit of the latest 02:00 due (one, however many were missed: the
    // engine applies every usage check since the last), evaluated now.
    let at = Ord::max(last_audit_at_or_before(&zone, now), account.next_audit_ms);
    let next = next_audit_after(&zone, now);
    let checks = prepare(state, &account.account_id, now).await?;
    let mut tx = state.db.begin().await?;
    // Moving the next audit on claims this one: only one server can.
    let claimed = tx
        .execute(
            Query::update()
                .table("compliance")
                .value("next_audit_ms", next)
                .value("last_audit_ms", at)
                .and_where(Expr::col("account_id").eq(account.account_id.as_str()))
                .and_where(Expr::col("next_audit_ms").eq(account.next_audit_ms)),
        )
        .await?;
    if claimed == 0 {
        return Ok(false);
    }
    let done = evaluate(state, &mut tx, &account.account_id, checks, now).await?;
    crate::store::activities::record(
        &mut tx,
        &account.account_id,
        now,
        None,
        "compliance.audited",
        ("account", &account.account_id),
        json!({
            "at": rfc3339_ms(at),
            "conditions": done.status.active.iter().map(|a| a.condition.as_str()).collect::<Vec<_>>(),
            "disabled": done.status.disabled.map(Condition::as_str),
            "notices": done.notices.len(),
            "server": state.licensing.server_id,
        }),
    )
    .await?;
    tx.commit().await?;
    state.kept.forget(crate::recent::ALL);
    Ok(true)
}

/// Creates the compliance rows of accounts that have none yet.
async fn ensure_rows(state: &Services, now: i64) -> Result<(), DbError> {
    #[derive(sqlx::FromRow)]
    struct Missing {
        id: String,
    }
    let missing: Vec<Missing> = state
        .db
        .fetch_all(
            Query::select()
                .column(("accounts", "id"))
                .from("accounts")
                .left_join("compliance", Expr::col(("compliance", "account_id")).equals(("accounts", "id")))
                .and_where(Expr::col(("compliance", "account_id")).is_null()),
        )
        .await?;
    for account in missing {
        let mut tx = state.db.begin().await?;
        row(&mut tx, &account.id, now).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The account's time zone and creation time (UTC and 0 if it is gone).
async fn account_of(db: &Db, account_id: &str) -> Result<AccountZone, DbError> {
    Ok(db
        .fetch_optional::<AccountZone>(
            Query::select()
                .columns(["time_zone", "created_ms"])
                .from("accounts")
                .and_where(Expr::col("id").eq(account_id)),
        )
        .await?
        .unwrap_or(AccountZone { time_zone: "UTC".to_string(), created_ms: 0 }))
}

// ---------------------------------------------------------------------------
// Installing licenses

/// How a license file came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// An administrator entered a PAK; the authority answered with the file.
    Pak,
    /// A synchronisation brought it.
    Sync,
    /// Uploaded (offline installation).
    File,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Pak => "pak",
            Via::Sync => "sync",
            Via::File => "file",
        }
    }
}

/// A license file installed (or found installed already).
#[derive(Serialize, ToSchema, Debug)]
pub struct InstalledView {
    /// The file's id.
    pub license_id: String,
    /// The PAK it came from.
    pub pak: String,
    /// `installed`, or `unchanged` when this very file was the current one.
    pub outcome: &'static str,
    /// The licenses it grants.
    pub licenses: Vec<LicenseLineView>,
    /// The product major versions it covers.
    pub product_major_versions: Vec<u64>,
    /// The account's license pools now.
    pub pools: Vec<crate::licenses::PoolView>,
    /// Why the account is disabled, if it still is.
    pub disabled_reason: Option<String>,
}

/// Licenses of one kind in a license file.
#[derive(Serialize, ToSchema, Debug)]
pub struct LicenseLineView {
    /// The kind.
    pub kind: String,
    /// How many.
    pub count: u64,
    /// When they expire (temporary licenses).
    pub expires: Option<String>,
}

fn refused(error: &LicenseFileError) -> ApiError {
    let code = match error {
        LicenseFileError::Malformed(_) => "license_malformed",
        LicenseFileError::WrongKey { .. } => "license_wrong_key",
        LicenseFileError::Tampered => "license_tampered",
        LicenseFileError::ForeignAccount(_) => "license_foreign_account",
        LicenseFileError::Expired(_) => "license_expired",
    };
    ApiError::Refused { status: StatusCode::UNPROCESSABLE_ENTITY, code, message: error.to_string() }
}

/// Verifies and installs a license file for `account_id`, replacing the
/// current file of the same PAK, then evaluates the account at once.
pub async fn install(
    state: &Services,
    account_id: &str,
    actor: Option<&str>,
    text: &str,
    via: Via,
) -> Result<InstalledView, ApiError> {
    let Some(key) = &state.licensing.authority_key else {
        return Err(ApiError::Refused {
            status: StatusCode::CONFLICT,
            code: "no_authority_key",
            message: "this server has no authority_public_key setting, so it cannot verify license files: set it to the \
                      key printed by `seatmeter authority init` and restart"
                .into(),
        });
    };
    let now = state.clock.now();
    let body = verify(text, key).map_err(|e| refused(&e))?;
    match body.check_for(account_id, now, expiry_ms) {
        // What the authority says is current is installed even when it has
        // expired: the licenses then count for nothing, as they should.
        Err(LicenseFileError::Expired(_)) if via == Via::Sync => {}
        checked => checked.map_err(|e| refused(&e))?,
    }
    let checks = prepare(state, account_id, now).await?;
    let mut tx = state.db.begin().await?;
    row(&mut tx, account_id, now).await?;
    // The time once the account's lock is held: installs that took turns are in order.
    let now = Ord::max(now, state.clock.now());
    let current = current_files(&mut tx, account_id).await?;
    let same = current.iter().any(|(r, _)| r.license_id == body.id);
    // A file older than the one installed for its PAK is refused: licenses
    // the vendor reduced or withdrew cannot come back from an old copy.
    let issued = |b: &LicenseBody| expiry_ms(&b.issued).unwrap_or(i64::MIN);
    if let Some((_, newer)) = current.iter().find(|(r, b)| r.pak == body.pak && issued(b) > issued(&body)) {
        return Err(ApiError::Refused {
            status: StatusCode::CONFLICT,
            code: "license_older",
            message: format!(
                "this license file (issued {}) is older than the one installed for {} (issued {}): install the newest file",
                body.issued, body.pak, newer.issued
            ),
        });
    }
    if !same {
        tx.execute(
            Query::update()
                .table("license_files")
                .value("replaced_ms", now)
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("pak").eq(body.pak.as_str()))
                .and_where(Expr::col("replaced_ms").is_null()),
        )
        .await?;
        let signed: crate::license_file::LicenseFile = serde_json::from_str(text.trim())
            .map_err(|e| refused(&LicenseFileError::Malformed(e.to_string())))?;
        tx.execute(
            Query::insert()
                .into_table("license_files")
                .columns([
                    "id",
                    "account_id",
                    "license_id",
                    "pak",
                    "body",
                    "file",
                    "installed_via",
                    "installed_ms",
                    "installed_by_user_id",
                ])
                .values_panic([
                    new_id("lf").into(),
                    account_id.into(),
                    body.id.clone().into(),
                    body.pak.clone().into(),
                    signed.license.clone().into(),
                    serde_json::to_string(&signed).expect("a license file serialises").into(),
                    via.as_str().into(),
                    now.into(),
                    actor.map(str::to_string).into(),
                ]),
        )
        .await?;
        crate::store::activities::record(
            &mut tx,
            account_id,
            now,
            actor,
            "licenses.installed",
            ("license_file", &body.id),
            json!({"pak": body.pak, "via": via.as_str(), "licenses": body.licenses, "product_major_versions": body.product_major_versions}),
        )
        .await?;
    }
    if via != Via::File {
        // Registered with the authority: synchronisation is expected from now on.
        tx.execute(
            Query::update()
                .table("compliance")
                .value("sync_pak", body.pak.as_str())
                .value("sync_expected_since_ms", Expr::col("sync_expected_since_ms").if_null(now))
                .value("last_sync_ms", now)
                .value("last_sync_attempt_ms", now)
                .value("last_sync_error", Option::<String>::None)
                .value("next_sync_ms", now + state.licensing.sync_interval_ms)
                .and_where(Expr::col("account_id").eq(account_id)),
        )
        .await?;
    }
    let done = evaluate(state, &mut tx, account_id, checks, now).await?;
    tx.commit().await?;
    state.kept.forget(crate::recent::ALL);
    let pools = crate::licenses::pools(&state.db, account_id).await?;
    Ok(InstalledView {
        license_id: body.id,
        pak: body.pak,
        outcome: if same { "unchanged" } else { "installed" },
        licenses: body
            .licenses
            .into_iter()
            .map(|l| LicenseLineView { kind: l.kind, count: l.count, expires: l.expires })
            .collect(),
        product_major_versions: body.product_major_versions,
        pools,
        disabled_reason: done.status.disabled.map(disabled_message),
    })
}

/// Asks the authority for the license file of `pak` (registering or
/// synchronising); the error says what went wrong, for people.
async fn fetch_from_authority(
    state: &Services,
    account_id: &str,
    pak: &str,
    path: &str,
) -> Result<String, String> {
    let Some(url) = &state.licensing.authority_url else {
        return Err("this server has no authority_url setting: set it to the license authority's address, or install a \
                    license file from your vendor instead"
            .into());
    };
    let request = crate::authority::SyncRequest {
        pak: pak.to_string(),
        account_id: account_id.to_string(),
        server_id: state.licensing.server_id.clone(),
    };
    let response = state
        .licensing
        .http
        .post(format!("{url}{path}"))
        .json(&request)
        .send()
        .await
        .map_err(|e| format!("the license authority at {url} cannot be reached: {e}"))?;
    let status = response.status();
    let text =
        response.text().await.map_err(|e| format!("the license authority's answer was cut short: {e}"))?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(format!("the license authority refused: {message}"));
    }
    let answer: crate::authority::SyncAnswer = serde_json::from_str(&text)
        .map_err(|e| format!("the license authority's answer is not understood: {e}"))?;
    Ok(serde_json::to_string(&answer.license_file).expect("a license file serialises"))
}

/// Synchronises the account with the authority now: on success installs
/// what it answers (and records the sync); on failure records the error and
/// retries in 10 minutes. Returns the error, if any.
pub async fn sync_account(state: &Services, account_id: &str) -> Result<Option<String>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let row = row(&mut tx, account_id, now).await?;
    // Every PAK registered with the authority, not only the latest.
    let mut paks: Vec<String> = current_files(&mut tx, account_id)
        .await?
        .into_iter()
        .filter(|(r, _)| r.installed_via != Via::File.as_str())
        .map(|(r, _)| r.pak)
        .collect();
    tx.commit().await?;
    paks.extend(row.sync_pak);
    paks.sort();
    paks.dedup();
    for pak in paks {
        let outcome = match fetch_from_authority(state, account_id, &pak, "/v1/sync").await {
            Ok(text) => install(state, account_id, None, &text, Via::Sync)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(message) => Err(message),
        };
        if let Err(message) = outcome {
            return record_sync_failure(state, account_id, now, format!("{pak}: {message}")).await.map(Some);
        }
    }
    Ok(None)
}

async fn record_sync_failure(
    state: &Services,
    account_id: &str,
    now: i64,
    message: String,
) -> Result<String, ApiError> {
    tracing::warn!(account = account_id, error = %message, "synchronisation with the license authority failed; will retry");
    let mut tx = state.db.begin().await?;
    tx.execute(
        Query::update()
            .table("compliance")
            .value("last_sync_attempt_ms", now)
            .value("last_sync_error", message.as_str())
            .value("next_sync_ms", now + 10 * 60_000)
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await?;
    crate::store::activities::record(
        &mut tx,
        account_id,
        now,
        None,
        "licenses.sync_failed",
        ("account", account_id),
        json!({"error": message}),
    )
    .await?;
    tx.commit().await?;
    Ok(message)
}

/// Runs the synchronisations that are due; each claimed by one server.
pub async fn run_due_syncs(state: &Services, now: i64) -> Result<usize, ApiError> {
    #[derive(sqlx::FromRow)]
    struct Due {
        account_id: String,
        next_sync_ms: i64,
    }
    let due: Vec<Due> = state
        .db
        .fetch_all(
            Query::select()
                .columns(["account_id", "next_sync_ms"])
                .from("compliance")
                .and_where(Expr::col("sync_pak").is_not_null())
                .and_where(Expr::col("next_sync_ms").lte(now)),
        )
        .await?;
    let mut ran = 0;
    for account in due {
        let mut tx = state.db.begin().await?;
        let claimed = tx
            .execute(
                Query::update()
                    .table("compliance")
                    .value("next_sync_ms", now + 5 * 60_000)
                    .and_where(Expr::col("account_id").eq(account.account_id.as_str()))
                    .and_where(Expr::col("next_sync_ms").eq(account.next_sync_ms)),
            )
            .await?;
        tx.commit().await?;
        if claimed == 1 {
            sync_account(state, &account.account_id).await?;
            ran += 1;
        }
    }
    Ok(ran)
}

/// Every minute (the first a minute after start): the due
/// synchronisations, the due audits, then the due e-mail.
pub async fn keep_compliance(state: Services) {
    let minute = std::time::Duration::from_secs(60);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + minute, minute);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = state.clock.now();
        if let Err(error) = run_due_syncs(&state, now).await {
            tracing::warn!(%error, "could not run the due synchronisations; will try again");
        }
        if let Err(error) = run_due_audits(&state, now).await {
            tracing::warn!(%error, "could not run the due audits; will try again");
        }
        if let Some(mailer) = &state.licensing.mailer
            && let Err(error) = crate::mail::deliver_due(&state, mailer, now).await
        {
            tracing::warn!(%error, "could not deliver the due e-mail; will try again");
        }
    }
}

// ---------------------------------------------------------------------------
// The API

fn may_manage_licenses(principal: &Principal) -> Result<(), ApiError> {
    if principal.administers(AdminArea::Billing) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("installing licenses needs an administrator of billing".into()))
    }
}

/// A PAK to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPak {
    /// The Product Authorization Key, as the vendor sent it (`PAK-…`).
    pub pak: String,
}

/// Enter a PAK: the server registers it with the license authority,
/// verifies the signed license file it answers with, and installs it.
#[utoipa::path(post, path = "/v1/licenses/paks", tag = "licenses", security(("token" = [])), request_body = NewPak,
    responses((status = 201, body = InstalledView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody, description = "the license authority cannot be reached or refused")))]
pub async fn register_pak(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewPak>,
) -> Result<(StatusCode, Json<InstalledView>), ApiError> {
    may_manage_licenses(&principal)?;
    let installed = register(&state, &principal.account_id, Some(&principal.user_id), &new.pak).await?;
    Ok((StatusCode::CREATED, Json(installed)))
}

/// Registers `pak` with the license authority for the account and installs
/// the license file it answers with.
pub async fn register(
    state: &Services,
    account_id: &str,
    actor: Option<&str>,
    pak: &str,
) -> Result<InstalledView, ApiError> {
    let pak = pak.trim().to_uppercase();
    if pak.is_empty() || pak.len() > 100 || pak.contains('\0') {
        return Err(ApiError::Invalid {
            message: "enter the PAK as your vendor sent it".into(),
            field: Some("pak".into()),
        });
    }
    let text = fetch_from_authority(state, account_id, &pak, "/v1/register").await.map_err(|message| {
        ApiError::Refused { status: StatusCode::BAD_GATEWAY, code: "authority", message }
    })?;
    install(state, account_id, actor, &text, Via::Pak).await
}

/// Install a license file (offline installation): the body is the file as
/// the vendor sent it.
#[utoipa::path(post, path = "/v1/licenses/files", tag = "licenses", security(("token" = [])),
    request_body(content = String, content_type = "application/json", description = "a license file"),
    responses((status = 201, body = InstalledView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_file(
    State(state): State<Services>,
    principal: Principal,
    text: String,
) -> Result<(StatusCode, Json<InstalledView>), ApiError> {
    may_manage_licenses(&principal)?;
    let installed =
        install(&state, &principal.account_id, Some(&principal.user_id), &text, Via::File).await?;
    Ok((StatusCode::CREATED, Json(installed)))
}

/// A license file as listed.
#[derive(Serialize, ToSchema)]
pub struct FileView {
    /// The file's id.
    pub license_id: String,
    /// Its PAK.
    pub pak: String,
    /// `pak`, `sync` or `file`.
    pub installed_via: String,
    /// When.
    pub installed_at: String,
    /// When a newer file of the same PAK replaced it (absent: current).
    pub replaced_at: Option<String>,
    /// Its licenses.
    pub licenses: Vec<LicenseLineView>,
    /// The product major versions it covers.
    pub product_major_versions: Vec<u64>,
}

/// The license files installed, newest first: the current ones and the history.
#[utoipa::path(get, path = "/v1/licenses/files", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = [FileView]), (status = 403, body = ErrorBody)))]
pub async fn list_files(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<FileView>>, ApiError> {
    if !(principal.administers(AdminArea::Billing) || principal.administers(AdminArea::UsersLicenses)) {
        return Err(ApiError::Forbidden(
            "license files are shown to administrators of billing or licenses".into(),
        ));
    }
    let rows: Vec<FileRow> = state
        .db
        .fetch_all(
            Query::select()
                .columns(FILE_COLUMNS)
                .from("license_files")
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .order_by("installed_ms", Order::Desc)
                .order_by("id", Order::Desc),
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| {
                let body: Option<LicenseBody> = serde_json::from_str(&r.body).ok();
                FileView {
                    license_id: r.license_id,
                    pak: r.pak,
                    installed_via: r.installed_via,
                    installed_at: rfc3339_ms(r.installed_ms),
                    replaced_at: r.replaced_ms.map(rfc3339_ms),
                    licenses: body
                        .as_ref()
                        .map(|b| {
                            b.licenses
                                .iter()
                                .map(|l| LicenseLineView {
                                    kind: l.kind.clone(),
                                    count: l.count,
                                    expires: l.expires.clone(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    product_major_versions: body.map(|b| b.product_major_versions).unwrap_or_default(),
                }
            })
            .collect(),
    ))
}

/// A condition in force.
#[derive(Serialize, ToSchema)]
pub struct ConditionView {
    /// `trial`, `overage`, `out_of_date` or `contact_lost`.
    pub condition: &'static str,
    /// Since when.
    pub since: String,
    /// When the account is disabled unless the condition ends.
    pub disable_at: String,
    /// Whether that date has passed (the account is disabled by it).
    pub disabling: bool,
}

/// Temporary licenses in force.
#[derive(Serialize, ToSchema)]
pub struct TemporaryView {
    /// Their kind.
    pub kind: &'static str,
    /// How many.
    pub count: u64,
    /// When they expire.
    pub expires_at: String,
}

/// Synchronisation with the license authority.
#[derive(Serialize, ToSchema)]
pub struct SyncView {
    /// The PAK registered.
    pub pak: String,
    /// The last successful synchronisation (the last compliance time).
    pub last_sync_at: Option<String>,
    /// The last attempt.
    pub last_attempt_at: Option<String>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// The next attempt.
    pub next_sync_at: Option<String>,
}

/// The account's compliance.
#[derive(Serialize, ToSchema)]
pub struct ComplianceView {
    /// When this was evaluated.
    pub now: String,
    /// Every condition in force, with its dates.
    pub conditions: Vec<ConditionView>,
    /// Whether the account is disabled, and why.
    pub disabled: bool,
    /// What its users are told while it is disabled.
    pub disabled_reason: Option<String>,
    /// Days left of the free trial, while in it.
    pub trial_days_left: Option<i64>,
    /// Temporary licenses in force, by expiry.
    pub temporary_licenses: Vec<TemporaryView>,
    /// What an administrator should see at the top of every page.
    pub banners: Vec<String>,
    /// The last daily audit, and the next.
    pub last_audit_at: Option<String>,
    /// The next daily audit (02:00 in the account's time zone).
    pub next_audit_at: String,
    /// Synchronisation with the license authority, once a PAK is registered.
    pub sync: Option<SyncView>,
    /// The product's major version, which licenses must cover.
    pub product_major_version: u64,
}

fn banners(status: &engine::Status, hosts: Option<(u64, u64)>) -> Vec<String> {
    let mut banners = Vec::new();
    for active in &status.active {
        let date = date_text(active.disable_ms);
        banners.push(match (active.condition, active.disabling) {
            (Condition::Trial, false) => format!(
                "Free trial: {} days left (until {date}). Install licenses before then.",
                status.trial_days_left.unwrap_or(0)
            ),
            (Condition::Trial, true) => "The free trial has ended: the system is disabled until licenses are installed.".into(),
            (Condition::Overage, false) => {
                let (used, installed) = hosts.unwrap_or((0, 0));
                format!("License overage: {used} host licenses used, {installed} installed. The system will be disabled on {date} unless more are installed.")
            }
            (Condition::Overage, true) => "Disabled after six months of license overage: install more host licenses.".into(),
            (Condition::OutOfDate, false) => format!("Licenses out of date for this product version: update them by {date}."),
            (Condition::OutOfDate, true) => "Disabled: the licenses do not cover this product version. Install updated licenses.".into(),
            (Condition::ContactLost, false) => format!("The license authority cannot be reached: the system will be disabled on {date} unless it synchronises."),
            (Condition::ContactLost, true) => "Disabled: no contact with the license authority for six months.".into(),
        });
    }
    for t in &status.temporary {
        banners.push(format!(
            "Temporary licenses: {} {} licenses, expiring {}.",
            t.count,
            t.kind.as_str(),
            date_text(t.expires_ms)
        ));
    }
    banners
}

/// The account's compliance: every condition with its dates, the banners
/// administrators should see, the trial, temporary licenses, the audits
/// and the synchronisation with the license authority. Evaluated now
/// (read-only: notices are sent by the daily audit).
#[utoipa::path(get, path = "/v1/compliance", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = ComplianceView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_compliance(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<ComplianceView>, ApiError> {
    if !principal.is_admin() {
        return Err(ApiError::Forbidden("compliance is shown to administrators".into()));
    }
    Ok(Json(status(&state, &principal.account_id).await?))
}

/// The account's compliance now (what `GET /v1/compliance` answers, and the
/// console's banners).
pub async fn status(state: &Services, account: &str) -> Result<ComplianceView, ApiError> {
    let now = state.clock.now();
    let checks = prepare(state, account, now).await?;
    // A short transaction: the row is created if the account has none yet.
    let mut tx = state.db.begin().await?;
    let row = row(&mut tx, account, now).await?;
    let (facts, _, _) = facts(state, &mut tx, account, &row, checks, now).await?;
    tx.commit().await?;
    let done = engine::audit(&facts, &StoredLedger::read(&row.ledger), now);
    let status = done.status;
    let hosts = done.ledger.overage.map(|o| (o.hosts, o.installed));
    Ok(ComplianceView {
        now: rfc3339_ms(now),
        banners: banners(&status, hosts),
        conditions: status
            .active
            .iter()
            .map(|a| ConditionView {
                condition: a.condition.as_str(),
                since: rfc3339_ms(a.since_ms),
                disable_at: rfc3339_ms(a.disable_ms),
                disabling: a.disabling,
            })
            .collect(),
        disabled: status.disabled.is_some(),
        disabled_reason: status.disabled.map(disabled_message),
        trial_days_left: status.trial_days_left,
        temporary_licenses: status
            .temporary
            .iter()
            .map(|t| TemporaryView {
                kind: t.kind.as_str(),
                count: t.count,
                expires_at: rfc3339_ms(t.expires_ms),
            })
            .collect(),
        last_audit_at: row.last_audit_ms.map(rfc3339_ms),
        next_audit_at: rfc3339_ms(row.next_audit_ms),
        sync: row.sync_pak.map(|pak| SyncView {
            pak,
            last_sync_at: row.last_sync_ms.map(rfc3339_ms),
            last_attempt_at: row.last_sync_attempt_ms.map(rfc3339_ms),
            last_error: row.last_sync_error,
            next_sync_at: row.next_sync_ms.map(rfc3339_ms),
        }),
        product_major_version: state.licensing.product_major,
    })
}

/// An e-mail to administrators, queued or sent.
#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    pub id: String,
    /// What it is about (condition/since/period/kind).
    pub notice_key: String,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
    /// Its recipients, comma-separated.
    pub recipients: String,
    /// Its Message-ID (the same on every attempt).
    pub message_id: String,
    /// `queued`, `retrying`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: String,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// The next attempt, while not sent.
    pub next_attempt_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: String,
    notice_key: String,
    subject: String,
    body: String,
    recipients: String,
    message_id: String,
    attempts: i64,
    last_error: Option<String>,
    created_ms: i64,
    sent_ms: Option<i64>,
    failed_ms: Option<i64>,
    next_attempt_ms: i64,
}

const OUTBOX_COLUMNS: [&str; 12] = [
    "id",
    "notice_key",
    "subject",
    "body",
    "recipients",
    "message_id",
    "attempts",
    "last_error",
    "created_ms",
    "sent_ms",
    "failed_ms",
    "next_attempt_ms",
];

/// The e-mail notices of the account, newest first (at most 500): sent,
/// queued, retrying after a failure, or given up.
#[utoipa::path(get, path = "/v1/notifications", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = [NotificationView]), (status = 403, body = ErrorBody)))]
pub async fn list_notifications(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    if !principal.is_admin() {
        return Err(ApiError::Forbidden("notifications are shown to administrators".into()));
    }
    let rows: Vec<OutboxRow> = state
        .db
        .fetch_all(
            Query::select()
                .columns(OUTBOX_COLUMNS)
                .from("outbox")
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .order_by("created_ms", Order::Desc)
                .order_by("id", Order::Desc)
                .limit(500),
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| {
                let status = match (r.sent_ms, r.failed_ms, r.attempts) {
                    (Some(_), _, _) => "sent",
                    (None, Some(_), _) => "failed",
                    (None, None, 0) => "queued",
                    _ => "retrying",
                };
                NotificationView {
                    id: r.id,
                    notice_key: r.notice_key,
                    subject: r.subject,
                    body: r.body,
                    recipients: r.recipients,
                    message_id: r.message_id,
                    status: status.to_string(),
                    attempts: r.attempts,
                    last_error: r.last_error,
                    created_at: rfc3339_ms(r.created_ms),
                    sent_at: r.sent_ms.map(rfc3339_ms),
                    next_attempt_at: (r.sent_ms.is_none() && r.failed_ms.is_none())
                        .then(|| rfc3339_ms(r.next_attempt_ms)),
                }
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn audits_run_at_two_in_the_morning_local_time_across_daylight_saving_changes() {
        // New York springs forward on 2026-03-08 (02:00 does not exist: 03:00 EDT).
        let zone = "America/New_York";
        assert_eq!(next_audit_after(zone, at("2026-03-07T12:00:00Z")), at("2026-03-08T07:00:00Z"));
        assert_eq!(next_audit_after(zone, at("2026-03-08T07:00:00Z")), at("2026-03-09T06:00:00Z"));
        // And falls back on 2026-11-01 (02:00 EST happens once).
        assert_eq!(next_audit_after(zone, at("2026-10-31T12:00:00Z")), at("2026-11-01T07:00:00Z"));
        // London falls back on 2026-10-25 at 02:00 BST → 01:00: 02:00 once, GMT.
        let zone = "Europe/London";
        assert_eq!(next_audit_after(zone, at("2026-10-24T12:00:00Z")), at("2026-10-25T02:00:00Z"));
        assert_eq!(next_audit_after(zone, at("2026-03-28T12:00:00Z")), at("2026-03-29T01:00:00Z"));
        // Every day gets exactly one audit, however the clocks change.
        for zone in ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"] {
            let mut t = at("2026-01-01T00:00:00Z");
            let mut days = BTreeSet::new();
            for _ in 0..366 {
                let next = next_audit_after(zone, t);
                assert!(next > t);
                assert_eq!(last_audit_at_or_before(zone, next), next);
                assert!(days.insert(local_date(&super::zone(zone), next)), "{zone}: two audits on one day");
                t = next;
            }
        }
    }

    #[test]
    fn the_ledger_reads_back_as_written() {
        let mut ledger = Ledger {
            audited_through_ms: Some(5),
            overage: Some(OverageEpisode { since_ms: 1, period: 2, hosts: 12, installed: 10 }),
            ..Ledger::default()
        };
        ledger.sent.insert(NoticeKey {
            condition: Condition::Overage,
            since_ms: 1,
            period: 2,
            kind: NoticeKind::Reminder,
        });
        assert_eq!(StoredLedger::read(&StoredLedger::write(&ledger)), ledger);
        assert_eq!(StoredLedger::read("not json"), Ledger::default());
    }
}
