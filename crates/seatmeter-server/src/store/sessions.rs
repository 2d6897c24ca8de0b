//! The `sessions` table: console sessions. The cookie holds a random
//! token; only its SHA-256 is stored, with the session's CSRF token and the
//! message its next page shows once.

use sea_query::{Expr, ExprTrait, Query};

use super::{DbError, Executor};

/// A session with its user and account, as a console request reads it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    /// The session's token hash.
    pub token_hash: String,
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The user.
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// `member` or `administrator`.
    pub role: String,
    /// Admin areas (empty: all).
    pub areas: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The account's time zone.
    pub time_zone: String,
    /// Why the account is disabled, if it is.
    pub disabled_reason: Option<String>,
    /// The message to show once (`done:…` / `error:…`).
    pub flash: Option<String>,
    /// When the session began.
    pub created_ms: i64,
    /// When it was last used, to the minute.
    pub last_seen_ms: i64,
    /// The account's idle timeout.
    pub session_idle_minutes: i64,
    /// The account's longest session.
    pub session_max_hours: i64,
}

/// The unended session whose token hash is `token_hash`, if its user is
/// enabled and their rights have not grown since it began.
pub async fn find(ex: impl Executor, token_hash: &str) -> Result<Option<SessionRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .expr_as(Expr::col(("sessions", "token_hash")), "token_hash")
            .expr_as(Expr::col(("sessions", "account_id")), "account_id")
            .expr_as(Expr::col(("accounts", "name")), "account_name")
            .expr_as(Expr::col(("sessions", "user_id")), "user_id")
            .expr_as(Expr::col(("users", "name")), "name")
            .expr_as(Expr::col(("users", "role")), "role")
            .expr_as(Expr::col(("users", "areas")), "areas")
            .expr_as(Expr::col(("sessions", "csrf_token")), "csrf")
            .expr_as(Expr::col(("accounts", "time_zone")), "time_zone")
            .expr_as(Expr::col(("accounts", "disabled_reason")), "disabled_reason")
            .expr_as(Expr::col(("sessions", "flash")), "flash")
            .expr_as(Expr::col(("sessions", "created_ms")), "created_ms")
            .expr_as(Expr::col(("sessions", "last_seen_ms")), "last_seen_ms")
            .expr_as(Expr::col(("accounts", "session_idle_minutes")), "session_idle_minutes")
            .expr_as(Expr::col(("accounts", "session_max_hours")), "session_max_hours")
            .from("sessions")
            .inner_join("users", Expr::col(("users", "id")).equals(("sessions", "user_id")))
            .inner_join("accounts", Expr::col(("accounts", "id")).equals(("sessions", "account_id")))
            .and_where(Expr::col(("sessions", "token_hash")).eq(token_hash))
            .and_where(Expr::col(("sessions", "ended_ms")).is_null())
            .and_where(Expr::col(("sessions", "rights_epoch")).equals(("users", "rights_epoch")))
            .and_where(Expr::col(("users", "disabled_ms")).is_null()),
    )
    .await
}

/// Opens a session of `user_id` (whose rights epoch is `rights_epoch`), its
/// token stored as `token_hash`.
pub async fn insert(
    ex: impl Executor,
    token_hash: &str,
    account_id: &str,
    user_id: &str,
    rights_epoch: i64,
    csrf: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("sessions")
            .columns([
                "token_hash",
                "account_id",
                "user_id",
                "rights_epoch",
                "csrf_token",
                "created_ms",
                "last_seen_ms",
            ])
            .values_panic([
                token_hash.into(),
                account_id.into(),
                user_id.into(),
                rights_epoch.into(),
                csrf.into(),
                now_ms.into(),
                now_ms.into(),
            ]),
    )
    .await?;
    Ok(())
}

/// Records that the session was used at `now_ms`.
pub async fn touch(ex: impl Executor, token_hash: &str, now_ms: i64) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("sessions")
            .value("last_seen_ms", now_ms)
            .and_where(Expr::col("token_hash").eq(token_hash)),
    )
    .await?;
    Ok(())
}

/// Stores the message the session's next page shows.
pub async fn set_flash(ex: impl Executor, token_hash: &str, message: &str) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("sessions")
            .value("flash", message)
            .and_where(Expr::col("token_hash").eq(token_hash)),
    )
    .await?;
    Ok(())
}

/// Forgets the message `shown`, unless another one replaced it since.
pub async fn clear_flash(ex: impl Executor, token_hash: &str, shown: &str) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("sessions")
            .value("flash", Option::<String>::None)
            .and_where(Expr::col("token_hash").eq(token_hash))
            .and_where(Expr::col("flash").eq(shown)),
    )
    .await?;
    Ok(())
}

/// Ends the session whose token hash is `token_hash`.
pub async fn end(ex: impl Executor, token_hash: &str, now_ms: i64) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("sessions")
            .value("ended_ms", now_ms)
            .and_where(Expr::col("token_hash").eq(token_hash))
            .and_where(Expr::col("ended_ms").is_null()),
    )
    .await?;
    Ok(())
}

/// Ends every session of user `user_id`; how many there were.
pub async fn end_of_user(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<u64, DbError> {
    super::stamp_all_of_user(ex, "sessions", "ended_ms", account_id, user_id, now_ms).await
}

/// Ends every session of `account_id` but the one whose token hash is
/// `kept`; how many there were.
pub async fn end_all_but(
    ex: impl Executor,
    account_id: &str,
    kept: &str,
    now_ms: i64,
) -> Result<u64, DbError> {
    ex.execute(
        Query::update()
            .table("sessions")
            .value("ended_ms", now_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("token_hash").ne(kept))
            .and_where(Expr::col("ended_ms").is_null()),
    )
    .await
}
