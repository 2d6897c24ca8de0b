//! The use cases: one function for each thing a user or a job does.
//!
//! A use case takes the [`Services`], the caller (a [`Principal`], or
//! nobody for a job), a typed input and `now`; it checks the caller's
//! rights with the rules of [`seatmeter_core::access`], owns its
//! transaction and writes its activity record in it, and returns a domain
//! result or an [`Error`]. It knows nothing of HTTP or HTML: the API
//! (`http/`) and the console (`console/`) both call it and each shows the
//! outcome in its own way, so what one allows, refuses and records the
//! other does too.
//!
//! Error policy: [`Error`] says what was wrong in words for people and, for
//! the API, which kind of refusal it is. A database failure is
//! [`Error::Db`] and a failure with advice for the caller [`Error::Failed`];
//! these two are the only kinds that become a server error, and their cause
//! is logged there, never shown.

pub mod accounts;
pub mod activities;
pub mod admission;
pub mod booking;
pub mod compliance;
pub mod dashboard;
pub mod events;
pub mod idempotency;
pub mod licenses;
pub mod mail;
pub mod meetings;
pub mod names;
pub mod password_links;
pub mod passwords;
pub mod privileges;
pub mod recent;
pub mod security;
pub mod sessions;
pub mod sign_ins;
pub mod text;
pub mod tokens;
pub mod usage;
pub mod users;

use std::sync::Arc;

pub use seatmeter_core::access::Capability;
use seatmeter_core::access::{AccountId, Rights, UserId};

use crate::clock::Clock;
use crate::store::{Db, DbError};

/// Everything a use case or a job can reach; the API's and the console's
/// state. Cheap to clone (everything is shared).
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub db: Db,
    /// The time every operation reads.
    pub clock: Clock,
    /// Renders the Prometheus metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Live host-license usage of the accounts this server has answered for.
    pub usage: usage::UsageCache,
    /// Token owners and admission inputs kept in memory (see [`recent`]).
    pub kept: recent::Kept,
    /// Event batches waiting for their group commit.
    pub ingestor: Arc<events::Ingestor>,
    /// The license authority, this server's name at it, and where e-mail goes.
    pub licensing: Arc<compliance::Licensing>,
    /// The turns to hash passwords, bounded (see [`passwords`]).
    pub hashing: Arc<passwords::Hashing>,
}

/// How a caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An API token, by its id.
    Token(String),
    /// A console session.
    Session,
}

/// Who is calling: a signed-in user of one account, with the rights they
/// had when their credential was checked. Every use case scopes what it
/// reads and writes to `account_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The account; every query is scoped to it.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// Their role and admin areas.
    pub rights: Rights,
    /// How they signed in.
    pub credential: Credential,
}

impl Principal {
    /// Whether the caller may do `capability` (the one rule for it, in the core).
    pub fn may(&self, capability: Capability) -> bool {
        self.rights.may(capability)
    }
}

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing with that id in the caller's account (a thing of another
    /// account is "not found" too, so that its existence is not revealed).
    #[error("{0}")]
    NotFound(String),
    /// The caller's role or areas do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// An input is malformed or out of range.
    #[error("{message}")]
    Invalid {
        /// What is wrong and what to do.
        message: String,
        /// The input field at fault.
        field: Option<String>,
    },
    /// The change conflicts with the current state (a duplicate, no free
    /// license, the last administrator…).
    #[error("{message}")]
    Conflict {
        /// What conflicts and what to do.
        message: String,
        /// The input field concerned.
        field: Option<String>,
    },
    /// A rule said no, with a stable reason code for platforms
    /// (`account_disabled`, `concurrency_limit`, `license_older`…).
    #[error("{message}")]
    Refused {
        /// The reason, stable for programs.
        reason: &'static str,
        /// The same, for people.
        message: String,
    },
    /// What an input names does not exist where it was looked for (a PAK
    /// the license authority does not know), with a stable reason code.
    #[error("{message}")]
    Unknown {
        /// The reason, stable for programs.
        reason: &'static str,
        /// The same, for people.
        message: String,
    },
    /// An input was understood but is not acceptable as it is, with a
    /// stable reason code (a tampered license file…).
    #[error("{message}")]
    Rejected {
        /// The reason, stable for programs.
        reason: &'static str,
        /// The same, for people.
        message: String,
    },
    /// A service this one depends on (the license authority) failed.
    #[error("{message}")]
    Upstream {
        /// Which service failed and how.
        message: String,
    },
    /// The server could not finish, and says what the caller should do.
    #[error("{message}")]
    Failed {
        /// What to do (the cause is logged where it happened).
        message: String,
    },
    /// The server is too busy for this now (too many passwords being
    /// checked at once): try again in a few seconds.
    #[error("{0}")]
    Busy(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<passwords::Busy> for Error {
    fn from(busy: passwords::Busy) -> Self {
        Error::Busy(busy.to_string())
    }
}

impl Error {
    /// An invalid `field`.
    pub fn invalid(message: impl Into<String>, field: &str) -> Self {
        Error::Invalid { message: message.into(), field: Some(field.to_string()) }
    }

    /// A conflict about `field`.
    pub fn conflict(message: impl Into<String>, field: Option<&str>) -> Self {
        Error::Conflict { message: message.into(), field: field.map(str::to_string) }
    }

    /// Forbidden, saying what is needed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden(message.into())
    }

    /// Not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }
}

/// Records, inside `tx`, an activity the caller did in their account (so
/// that it exists exactly when the change does).
pub(crate) async fn record_by(
    tx: &mut crate::store::Tx,
    principal: &Principal,
    now: i64,
    action: &str,
    subject: (&str, &str),
    details: serde_json::Value,
) -> Result<(), DbError> {
    crate::store::activities::record(
        tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        action,
        subject,
        details,
    )
    .await
}

/// Whether the database answers (the health check).
pub async fn database_answers(services: &Services) -> Result<(), DbError> {
    services.db.ping().await
}

/// The instant and the id of a page's cursor, written as `{instant}.{id}`:
/// digits (after a `-` for instants before 1970), a dot, and an id of
/// `prefix` (`act_`, `usr_` and 24 hexadecimal digits). (`http::shapes`
/// states the same rule.)
pub fn parse_cursor(cursor: &str, prefix: &str) -> Option<(i64, String)> {
    let (at, id) = cursor.split_once('.')?;
    let digits = at.strip_prefix('-').unwrap_or(at);
    let hex = id.strip_prefix(prefix)?.strip_prefix('_')?;
    let well_formed = (1..=18).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && hex.len() == 24
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return None;
    }
    Some((at.parse().ok()?, id.to_string()))
}

/// `sqlite` or `postgres`.
pub fn database_kind(services: &Services) -> &'static str {
    services.db.backend()
}

/// A use case's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn a_cursor_is_read_back_as_written_and_nothing_else_is_taken() {
        let id = "act_65ddebfbad2fc4b0fa1c742e";
        assert_eq!(
            super::parse_cursor(&format!("1767225600000.{id}"), "act"),
            Some((1_767_225_600_000, id.into()))
        );
        assert_eq!(super::parse_cursor(&format!("-5.{id}"), "act"), Some((-5, id.into())));
        for refused in [
            "",
            "5",
            "5.",
            ".act_x",
            "+5.act_65ddebfbad2fc4b0fa1c742e",
            "5.act_65DDEBFBAD2FC4B0FA1C742E",
            "5.x",
        ] {
            assert_eq!(super::parse_cursor(refused, "act"), None, "{refused:?}");
        }
    }
}
