//! The security policy columns of `accounts`: passwords, sessions and
//! lockout, as a security administrator sets them.

use sea_query::{Expr, ExprTrait, Query};

use super::{DbError, Executor};

/// An account's security policies.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyRow {
    /// The least length of a new password.
    pub password_min_length: i64,
    /// Passwords expire after this many days (`None`: never).
    pub password_max_age_days: Option<i64>,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A session ends after this many hours in any case.
    pub session_max_hours: i64,
    /// Failed sign-ins in a row before a lock.
    pub lockout_threshold: i64,
    /// How long a lock lasts, in minutes.
    pub lockout_minutes: i64,
}

const POLICY_COLUMNS: [&str; 6] = [
    "password_min_length",
    "password_max_age_days",
    "session_idle_minutes",
    "session_max_hours",
    "lockout_threshold",
    "lockout_minutes",
];

/// The policies of `account_id`.
pub async fn get(ex: impl Executor, account_id: &str) -> Result<Option<PolicyRow>, DbError> {
    ex.fetch_optional(
        Query::select().columns(POLICY_COLUMNS).from("accounts").and_where(Expr::col("id").eq(account_id)),
    )
    .await
}

/// Sets the policies of `account_id`.
pub async fn set(ex: impl Executor, account_id: &str, policies: &PolicyRow) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("accounts")
            .value("password_min_length", policies.password_min_length)
            .value("password_max_age_days", policies.password_max_age_days)
            .value("session_idle_minutes", policies.session_idle_minutes)
            .value("session_max_hours", policies.session_max_hours)
            .value("lockout_threshold", policies.lockout_threshold)
            .value("lockout_minutes", policies.lockout_minutes)
            .and_where(Expr::col("id").eq(account_id)),
    )
    .await?;
    Ok(())
}
