//! The password columns of `users` (an Argon2id PHC string and when it was
//! set), read with the account's password and lockout policies when
//! someone signs in.

use sea_query::{Expr, ExprTrait, Order, Query};

use super::{DbError, Executor};

/// A user who may sign in with a password, with their account's policies.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CandidateRow {
    /// The user.
    pub id: String,
    /// Their account.
    pub account_id: String,
    /// Their password (a PHC string).
    pub password_hash: Option<String>,
    /// When they set it.
    pub password_changed_ms: Option<i64>,
    /// The account's password expiry, in days (`None`: never).
    pub password_max_age_days: Option<i64>,
    /// The account's failed sign-ins before a lock.
    pub lockout_threshold: i64,
    /// The account's lock length, in minutes.
    pub lockout_minutes: i64,
    /// Their rights epoch, which a session opened now is bound to.
    pub rights_epoch: i64,
}

/// The enabled users, of every account, whose address has the key
/// `email_key` and who have a password; the oldest first.
pub async fn candidates(ex: impl Executor, email_key: &str) -> Result<Vec<CandidateRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .expr_as(Expr::col(("users", "id")), "id")
            .expr_as(Expr::col(("users", "account_id")), "account_id")
            .expr_as(Expr::col(("users", "password_hash")), "password_hash")
            .expr_as(Expr::col(("users", "password_changed_ms")), "password_changed_ms")
            .expr_as(Expr::col(("accounts", "password_max_age_days")), "password_max_age_days")
            .expr_as(Expr::col(("accounts", "lockout_threshold")), "lockout_threshold")
            .expr_as(Expr::col(("accounts", "lockout_minutes")), "lockout_minutes")
            .expr_as(Expr::col(("users", "rights_epoch")), "rights_epoch")
            .from("users")
            .inner_join("accounts", Expr::col(("accounts", "id")).equals(("users", "account_id")))
            .and_where(Expr::col(("users", "email_key")).eq(email_key))
            .and_where(Expr::col(("users", "disabled_ms")).is_null())
            .and_where(Expr::col(("users", "password_hash")).is_not_null())
            .order_by(("users", "created_ms"), Order::Asc),
    )
    .await
}

/// Sets user `user_id`'s password to `password_hash`, changed at `now_ms`.
pub async fn set(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("users")
            .value("password_hash", password_hash)
            .value("password_changed_ms", now_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(user_id)),
    )
    .await?;
    Ok(())
}

/// Forgets user `user_id`'s password (whoever set it had fewer rights than
/// the user has now); whether they had one.
pub async fn clear(ex: impl Executor, account_id: &str, user_id: &str) -> Result<bool, DbError> {
    let cleared = ex
        .execute(
            Query::update()
                .table("users")
                .value("password_hash", Option::<String>::None)
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("id").eq(user_id))
                .and_where(Expr::col("password_hash").is_not_null()),
        )
        .await?;
    Ok(cleared > 0)
}
