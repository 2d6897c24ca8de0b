//! The `password_setups` table: one-time links to set a password. Only a
//! link token's SHA-256 is stored.

use sea_query::{Expr, ExprTrait, Query};

use super::{DbError, Executor};

/// A usable link, with what the page to set a password shows.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkRow {
    /// The account.
    pub account_id: String,
    /// The user whose password the link sets.
    pub user_id: String,
    /// Their address.
    pub email: String,
    /// Their password now, if they have one (a PHC string).
    pub password_hash: Option<String>,
    /// The account's minimum password length.
    pub password_min_length: i64,
}

/// Stores a link for user `user_id` (whose rights epoch is `rights_epoch`),
/// its token stored as `token_hash`, usable until `expires_ms`.
pub async fn insert(
    ex: impl Executor,
    token_hash: &str,
    account_id: &str,
    user_id: &str,
    rights_epoch: i64,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("password_setups")
            .columns(["token_hash", "account_id", "user_id", "rights_epoch", "created_ms", "expires_ms"])
            .values_panic([
                token_hash.into(),
                account_id.into(),
                user_id.into(),
                rights_epoch.into(),
                now_ms.into(),
                expires_ms.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// The link whose token hash is `token_hash`, if it is unused, unexpired at
/// `now_ms`, its user enabled and their rights no greater than when it was
/// made.
pub async fn find(ex: impl Executor, token_hash: &str, now_ms: i64) -> Result<Option<LinkRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .expr_as(Expr::col(("password_setups", "account_id")), "account_id")
            .expr_as(Expr::col(("password_setups", "user_id")), "user_id")
            .expr_as(Expr::col(("users", "email")), "email")
            .expr_as(Expr::col(("users", "password_hash")), "password_hash")
            .expr_as(Expr::col(("accounts", "password_min_length")), "password_min_length")
            .from("password_setups")
            .inner_join("users", Expr::col(("users", "id")).equals(("password_setups", "user_id")))
            .inner_join("accounts", Expr::col(("accounts", "id")).equals(("password_setups", "account_id")))
            .and_where(Expr::col(("password_setups", "token_hash")).eq(token_hash))
            .and_where(Expr::col(("password_setups", "used_ms")).is_null())
            .and_where(Expr::col(("password_setups", "expires_ms")).gt(now_ms))
            .and_where(Expr::col(("password_setups", "rights_epoch")).equals(("users", "rights_epoch")))
            .and_where(Expr::col(("users", "disabled_ms")).is_null()),
    )
    .await
}

/// Uses up the link whose token hash is `token_hash`; whether it was unused.
pub async fn use_up(ex: impl Executor, token_hash: &str, now_ms: i64) -> Result<bool, DbError> {
    let used = ex
        .execute(
            Query::update()
                .table("password_setups")
                .value("used_ms", now_ms)
                .and_where(Expr::col("token_hash").eq(token_hash))
                .and_where(Expr::col("used_ms").is_null()),
        )
        .await?;
    Ok(used > 0)
}

/// Uses up every unused link of user `user_id`; how many there were.
pub async fn use_up_of_user(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<u64, DbError> {
    super::stamp_all_of_user(ex, "password_setups", "used_ms", account_id, user_id, now_ms).await
}

/// The enabled user a link is made for.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkUser {
    /// Their id.
    pub id: String,
    /// Their rights epoch, which the link is bound to.
    pub rights_epoch: i64,
}

/// The enabled user of `account_id` whose address has the key `email_key`
/// (the user a link is made for).
pub async fn enabled_user(
    ex: impl Executor,
    account_id: &str,
    email_key: &str,
) -> Result<Option<LinkUser>, DbError> {
    ex.fetch_optional(
        Query::select()
            .columns(["id", "rights_epoch"])
            .from("users")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("email_key").eq(email_key))
            .and_where(Expr::col("disabled_ms").is_null()),
    )
    .await
}
