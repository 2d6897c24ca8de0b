//! The `compliance` table (one row per account: the trial, the audit's
//! ledger and schedule, the synchronisation with the license authority)
//! and the account's disabled state that the audit sets.
//!
//! The daily audit and the synchronisation are each claimed by moving the
//! row's next time on with a conditional update ([`claim_audit`],
//! [`claim_sync`]): of several servers on one database exactly one succeeds.

use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use seatmeter_core::compliance::{Ledger, NoticeKey, OverageEpisode};
use serde::{Deserialize, Serialize};

use super::{DbError, Executor, Tx};

/// An account's compliance row.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ComplianceRow {
    /// When the free trial began.
    pub trial_started_ms: i64,
    /// The audit's ledger (see [`read_ledger`]).
    pub ledger: String,
    /// The next daily audit.
    pub next_audit_ms: i64,
    /// The last daily audit.
    pub last_audit_ms: Option<i64>,
    /// Since when the product version is not covered by the licenses.
    pub uncovered_since_ms: Option<i64>,
    /// The PAK registered with the authority.
    pub sync_pak: Option<String>,
    /// Since when synchronisations are expected.
    pub sync_expected_since_ms: Option<i64>,
    /// The last successful synchronisation.
    pub last_sync_ms: Option<i64>,
    /// The last attempt.
    pub last_sync_attempt_ms: Option<i64>,
    /// Why the last attempt failed.
    pub last_sync_error: Option<String>,
    /// The next attempt.
    pub next_sync_ms: Option<i64>,
    /// The highest product major version a server of the account has run.
    pub product_major: Option<i64>,
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

/// The ledger as stored (JSON).
#[derive(Serialize, Deserialize, Default)]
struct StoredLedger {
    audited_through_ms: Option<i64>,
    overage: Option<(i64, u32, u64, u64)>,
    sent: Vec<String>,
}

/// The ledger stored as `text` (an empty one if it cannot be read).
pub fn read_ledger(text: &str) -> Ledger {
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

/// `ledger` as stored.
pub fn ledger_text(ledger: &Ledger) -> String {
    let stored = StoredLedger {
        audited_through_ms: ledger.audited_through_ms,
        overage: ledger.overage.map(|o| (o.since_ms, o.period, o.hosts, o.installed)),
        sent: ledger.sent.iter().map(NoticeKey::to_text).collect(),
    };
    serde_json::to_string(&stored).expect("a ledger serialises")
}

/// The compliance row of `account_id`, locked until the end of `tx` (on
/// PostgreSQL; SQLite has one writer at a time anyway): installing,
/// synchronising and auditing one account take turns.
pub async fn lock(tx: &mut Tx, account_id: &str) -> Result<Option<ComplianceRow>, DbError> {
    tx.fetch_optional(
        Query::select()
            .columns(COMPLIANCE_COLUMNS)
            .from("compliance")
            .and_where(Expr::col("account_id").eq(account_id))
            .lock_exclusive(),
    )
    .await
}

/// The compliance row of `account_id`.
pub async fn get(ex: impl Executor, account_id: &str) -> Result<Option<ComplianceRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .columns(COMPLIANCE_COLUMNS)
            .from("compliance")
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await
}

/// Creates the compliance row of `account_id`, unless it exists.
pub async fn insert_if_missing(
    ex: impl Executor,
    account_id: &str,
    trial_started_ms: i64,
    ledger: &str,
    next_audit_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("compliance")
            .columns(["account_id", "trial_started_ms", "ledger", "next_audit_ms"])
            .values_panic([account_id.into(), trial_started_ms.into(), ledger.into(), next_audit_ms.into()])
            .on_conflict(OnConflict::column("account_id").do_nothing().to_owned()),
    )
    .await?;
    Ok(())
}

/// The accounts that have no compliance row.
pub async fn accounts_without_row(ex: impl Executor) -> Result<Vec<String>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Missing {
        id: String,
    }
    let missing: Vec<Missing> = ex
        .fetch_all(
            Query::select()
                .column(("accounts", "id"))
                .from("accounts")
                .left_join("compliance", Expr::col(("compliance", "account_id")).equals(("accounts", "id")))
                .and_where(Expr::col(("compliance", "account_id")).is_null()),
        )
        .await?;
    Ok(missing.into_iter().map(|m| m.id).collect())
}

/// Sets the next audit of `account_id`.
pub async fn set_next_audit(ex: impl Executor, account_id: &str, next_audit_ms: i64) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("compliance")
            .value("next_audit_ms", next_audit_ms)
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await?;
    Ok(())
}

/// An account whose audit is due.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DueAudit {
    /// The account.
    pub account_id: String,
    /// When its audit fell due.
    pub next_audit_ms: i64,
}

/// The accounts whose audit is due at `now_ms`, the longest due first.
pub async fn due_audits(ex: impl Executor, now_ms: i64) -> Result<Vec<DueAudit>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["account_id", "next_audit_ms"])
            .from("compliance")
            .and_where(Expr::col("next_audit_ms").lte(now_ms))
            .order_by("next_audit_ms", Order::Asc),
    )
    .await
}

/// Claims the audit `due`: moves the next audit to `next_ms` and records
/// the audit of `at_ms`, unless another server did first; whether claimed.
pub async fn claim_audit(
    ex: impl Executor,
    due: &DueAudit,
    next_ms: i64,
    at_ms: i64,
) -> Result<bool, DbError> {
    let claimed = ex
        .execute(
            Query::update()
                .table("compliance")
                .value("next_audit_ms", next_ms)
                .value("last_audit_ms", at_ms)
                .and_where(Expr::col("account_id").eq(due.account_id.as_str()))
                .and_where(Expr::col("next_audit_ms").eq(due.next_audit_ms)),
        )
        .await?;
    Ok(claimed > 0)
}

/// Stores what an evaluation found: the ledger, since when the product
/// version is uncovered, and the highest product version seen.
pub async fn save_evaluation(
    ex: impl Executor,
    account_id: &str,
    ledger: &str,
    uncovered_since_ms: Option<i64>,
    product_major: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("compliance")
            .value("ledger", ledger)
            .value("uncovered_since_ms", uncovered_since_ms)
            .value("product_major", product_major)
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await?;
    Ok(())
}

/// Records a successful registration or synchronisation of `pak` at
/// `now_ms` (synchronisations are expected from the first on), the next
/// at `next_sync_ms`.
pub async fn synced(
    ex: impl Executor,
    account_id: &str,
    pak: &str,
    now_ms: i64,
    next_sync_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("compliance")
            .value("sync_pak", pak)
            .value("sync_expected_since_ms", Expr::col("sync_expected_since_ms").if_null(now_ms))
            .value("last_sync_ms", now_ms)
            .value("last_sync_attempt_ms", now_ms)
            .value("last_sync_error", Option::<String>::None)
            .value("next_sync_ms", next_sync_ms)
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await?;
    Ok(())
}

/// Records a failed synchronisation at `now_ms`, the next attempt at `next_sync_ms`.
pub async fn sync_failed(
    ex: impl Executor,
    account_id: &str,
    now_ms: i64,
    error: &str,
    next_sync_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("compliance")
            .value("last_sync_attempt_ms", now_ms)
            .value("last_sync_error", error)
            .value("next_sync_ms", next_sync_ms)
            .and_where(Expr::col("account_id").eq(account_id)),
    )
    .await?;
    Ok(())
}

/// An account whose synchronisation is due.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DueSync {
    /// The account.
    pub account_id: String,
    /// When its synchronisation fell due.
    pub next_sync_ms: i64,
}

/// The accounts with a registered PAK whose synchronisation is due at `now_ms`.
pub async fn due_syncs(ex: impl Executor, now_ms: i64) -> Result<Vec<DueSync>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["account_id", "next_sync_ms"])
            .from("compliance")
            .and_where(Expr::col("sync_pak").is_not_null())
            .and_where(Expr::col("next_sync_ms").lte(now_ms)),
    )
    .await
}

/// Claims the synchronisation `due` by moving its next attempt to
/// `next_ms`, unless another server did first; whether claimed.
pub async fn claim_sync(ex: impl Executor, due: &DueSync, next_ms: i64) -> Result<bool, DbError> {
    let claimed = ex
        .execute(
            Query::update()
                .table("compliance")
                .value("next_sync_ms", next_ms)
                .and_where(Expr::col("account_id").eq(due.account_id.as_str()))
                .and_where(Expr::col("next_sync_ms").eq(due.next_sync_ms)),
        )
        .await?;
    Ok(claimed == 1)
}

/// Why account `account_id` is disabled (`None` inside: it is enabled;
/// `None`: there is no such account).
pub async fn disabled_reason(ex: impl Executor, account_id: &str) -> Result<Option<Option<String>>, DbError> {
    #[derive(sqlx::FromRow)]
    struct DisabledRow {
        disabled_reason: Option<String>,
    }
    let row: Option<DisabledRow> = ex
        .fetch_optional(
            Query::select()
                .column("disabled_reason")
                .from("accounts")
                .and_where(Expr::col("id").eq(account_id)),
        )
        .await?;
    Ok(row.map(|r| r.disabled_reason))
}

/// Disables account `account_id` for `reason`, or enables it (`None`).
pub async fn set_disabled_reason(
    ex: impl Executor,
    account_id: &str,
    reason: Option<&str>,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("accounts")
            .value("disabled_reason", reason.map(str::to_string))
            .and_where(Expr::col("id").eq(account_id)),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use seatmeter_core::compliance::{Condition, NoticeKind};

    use super::*;

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
        assert_eq!(read_ledger(&ledger_text(&ledger)), ledger);
        assert_eq!(read_ledger("not json"), Ledger::default());
    }
}
