//! The `api_tokens` table: only a token's hash is stored.

use sea_query::{Expr, ExprTrait, Query};

use super::{DbError, Executor};

/// A token's owner, as authentication reads it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenOwnerRow {
    /// The token's id.
    pub token_id: String,
    /// The account the token belongs to.
    pub account_id: String,
    /// The user the token acts for.
    pub user_id: String,
    /// The user's role.
    pub role: String,
    /// The user's admin areas, comma-separated.
    pub areas: String,
    /// When the token was last used, to the minute.
    pub last_used_ms: Option<i64>,
}

/// A token to store.
pub struct NewToken<'a> {
    /// Its id.
    pub id: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// The user it acts for.
    pub user_id: &'a str,
    /// What it is for.
    pub name: &'a str,
    /// Its hash (the token itself is never stored).
    pub token_hash: &'a str,
    /// The user's rights epoch: if their rights grow, it stops working.
    pub rights_epoch: i64,
}

/// Inserts `token`, issued at `now_ms`.
pub async fn insert(ex: impl Executor, token: &NewToken<'_>, now_ms: i64) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("api_tokens")
            .columns(["id", "account_id", "user_id", "name", "token_hash", "rights_epoch", "created_ms"])
            .values_panic([
                token.id.into(),
                token.account_id.into(),
                token.user_id.into(),
                token.name.into(),
                token.token_hash.into(),
                token.rights_epoch.into(),
                now_ms.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// The owner of the unrevoked token whose hash is `token_hash`, if its user
/// is enabled and their rights have not grown since it was issued.
pub async fn owner(ex: impl Executor, token_hash: &str) -> Result<Option<TokenOwnerRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .expr_as(Expr::col(("t", "id")), "token_id")
            .expr_as(Expr::col(("t", "account_id")), "account_id")
            .expr_as(Expr::col(("t", "user_id")), "user_id")
            .expr_as(Expr::col(("u", "role")), "role")
            .expr_as(Expr::col(("u", "areas")), "areas")
            .expr_as(Expr::col(("t", "last_used_ms")), "last_used_ms")
            .from_as("api_tokens", "t")
            .join_as(
                sea_query::JoinType::InnerJoin,
                "users",
                "u",
                Expr::col(("u", "id"))
                    .equals(("t", "user_id"))
                    .and(Expr::col(("u", "account_id")).equals(("t", "account_id"))),
            )
            .and_where(Expr::col(("t", "token_hash")).eq(token_hash))
            .and_where(Expr::col(("t", "revoked_ms")).is_null())
            .and_where(Expr::col(("t", "rights_epoch")).equals(("u", "rights_epoch")))
            .and_where(Expr::col(("u", "disabled_ms")).is_null()),
    )
    .await
}

/// Records that token `token_id` was used at `now_ms`.
pub async fn touch(ex: impl Executor, token_id: &str, now_ms: i64) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("api_tokens")
            .value("last_used_ms", now_ms)
            .and_where(Expr::col("id").eq(token_id)),
    )
    .await?;
    Ok(())
}

/// A token as listed, without its secret.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRow {
    /// Its id.
    pub id: String,
    /// The user it acts for.
    pub user_id: String,
    /// What it is for.
    pub name: String,
    /// When it was issued.
    pub created_ms: i64,
    /// When it was last used, to the minute.
    pub last_used_ms: Option<i64>,
    /// When it was revoked.
    pub revoked_ms: Option<i64>,
}

/// The tokens of `account_id` (only `user_id`'s, if given), oldest first.
pub async fn list(
    ex: impl Executor,
    account_id: &str,
    user_id: Option<&str>,
) -> Result<Vec<TokenRow>, DbError> {
    let mut query = Query::select();
    query
        .columns(["id", "user_id", "name", "created_ms", "last_used_ms", "revoked_ms"])
        .from("api_tokens")
        .and_where(Expr::col("account_id").eq(account_id))
        .order_by("created_ms", sea_query::Order::Asc)
        .order_by("id", sea_query::Order::Asc);
    if let Some(user_id) = user_id {
        query.and_where(Expr::col("user_id").eq(user_id));
    }
    ex.fetch_all(&query).await
}

/// Revokes the active token `id` of `account_id` (only if it is `user_id`'s,
/// when given); whether there was one.
pub async fn revoke(
    ex: impl Executor,
    account_id: &str,
    id: &str,
    user_id: Option<&str>,
    now_ms: i64,
) -> Result<bool, DbError> {
    let mut update = Query::update();
    update
        .table("api_tokens")
        .value("revoked_ms", now_ms)
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("revoked_ms").is_null());
    if let Some(user_id) = user_id {
        update.and_where(Expr::col("user_id").eq(user_id));
    }
    Ok(ex.execute(&update).await? > 0)
}

/// Revokes every active token of user `user_id`; how many there were.
pub async fn revoke_all_of_user(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<u64, DbError> {
    super::stamp_all_of_user(ex, "api_tokens", "revoked_ms", account_id, user_id, now_ms).await
}
