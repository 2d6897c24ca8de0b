//! Licensing and compliance: installing license files (from the license
//! authority with a PAK, or uploaded), synchronising with the authority,
//! the daily audit that runs the core's compliance engine, the disabled
//! state, the notices e-mailed to administrators, and the account's
//! compliance as administrators see it.
//!
//! The audit of an account runs at 02:00 in its time zone. Every server
//! looks once a minute for accounts whose audit is due, and runs one only
//! after moving its `next_audit_ms` on with a conditional update in the
//! audit's own transaction: of several servers on one database exactly one
//! succeeds, and a server that was down catches up with one audit at the
//! latest 02:00 it missed (the engine applies every usage check it missed).
//! Installing licenses and each synchronisation also evaluate the account
//! at once, so that new licenses lift a disabled account immediately.
//! Reading the account's compliance evaluates it without writing anything.

pub mod audit;
mod evaluate;
pub mod install;
pub mod notices;
pub mod schedule;
pub mod status;
pub mod sync;

use ed25519_dalek::VerifyingKey;
use seatmeter_core::compliance::{Condition, Ledger};

use crate::clock::rfc3339_ms as rfc3339;
use crate::license_file::parse_public_key;
use crate::settings::Settings;
use crate::store::compliance::ComplianceRow;
use crate::store::{self, DbError, Tx};

pub use evaluate::checks;
pub use install::{Via, install, register};
pub use schedule::{local_date, zone};
pub use sync::sync_account;

/// The product's major version: what license files' `product_major_versions` must include.
pub fn product_major() -> u64 {
    env!("CARGO_PKG_VERSION").split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
}

/// What licensing needs to know of the server's settings, and how it
/// reaches the license authority and the mail server.
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
    pub mailer: Option<super::mail::Mailer>,
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
            mailer: super::mail::Mailer::from_settings(settings)?,
            // No kept connections: synchronisations are hours apart.
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_default(),
        })
    }
}

/// The compliance row of a new account (or of one from a version that had
/// none): its trial began when it was created, its first audit is at the
/// next 02:00 after `now`.
fn new_row(created_ms: i64, time_zone: &str, now: i64) -> ComplianceRow {
    ComplianceRow {
        trial_started_ms: created_ms,
        ledger: store::compliance::ledger_text(&Ledger::default()),
        next_audit_ms: schedule::next_audit_after(time_zone, now),
        last_audit_ms: None,
        uncovered_since_ms: None,
        sync_pak: None,
        sync_expected_since_ms: None,
        last_sync_ms: None,
        last_sync_attempt_ms: None,
        last_sync_error: None,
        next_sync_ms: None,
        product_major: None,
    }
}

/// The account's compliance row, locked until the end of `tx`: installing,
/// synchronising and auditing one account take turns. The one place where
/// the row is created, when the account has none yet.
async fn open(tx: &mut Tx, account_id: &str, now: i64) -> Result<ComplianceRow, DbError> {
    if let Some(row) = store::compliance::lock(tx, account_id).await? {
        return Ok(row);
    }
    let account =
        store::accounts::get(&mut *tx, account_id).await?.ok_or(DbError::Query(sqlx::Error::RowNotFound))?;
    let row = new_row(account.created_ms, &account.time_zone, now);
    store::compliance::insert_if_missing(
        &mut *tx,
        account_id,
        row.trial_started_ms,
        &row.ledger,
        row.next_audit_ms,
    )
    .await?;
    store::compliance::lock(tx, account_id).await?.ok_or(DbError::Query(sqlx::Error::RowNotFound))
}

/// Starts the compliance of a new account: its trial begins, its first
/// audit is at the next 02:00.
pub(crate) async fn begin_trial(tx: &mut Tx, account_id: &str, now: i64) -> Result<(), DbError> {
    open(tx, account_id, now).await.map(|_| ())
}

/// Moves the account's next audit to 02:00 of its new time zone.
pub(crate) async fn move_audit(
    tx: &mut Tx,
    account_id: &str,
    time_zone: &str,
    now: i64,
) -> Result<(), DbError> {
    open(tx, account_id, now).await?;
    store::compliance::set_next_audit(&mut *tx, account_id, schedule::next_audit_after(time_zone, now)).await
}

/// What the disabled account's users are told.
pub fn disabled_message(condition: Condition) -> String {
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

/// The UTC date of `ms`, as notices and banners show it.
fn date_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map_or_else(|_| ms.to_string(), |t| t.strftime("%Y-%m-%d").to_string())
}
