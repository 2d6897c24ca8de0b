//! The `outbox` table: e-mail to administrators, written in the
//! transaction of the change that causes it and delivered later; a message
//! is queued once per account and notice (a unique index).

use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};

use super::{DbError, Executor};

/// A message to queue.
#[derive(Clone, Debug)]
pub struct NewMessage<'a> {
    /// Its id.
    pub id: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// What it is about; queued once per account.
    pub notice_key: &'a str,
    /// Its recipients, comma-separated.
    pub recipients: &'a str,
    /// Its subject.
    pub subject: &'a str,
    /// Its text.
    pub body: &'a str,
    /// Its Message-ID (the same on every attempt).
    pub message_id: &'a str,
    /// When it is queued (and first due).
    pub now_ms: i64,
}

/// Queues `message`, unless one with its notice key is queued already;
/// whether it was queued.
pub async fn queue(ex: impl Executor, message: &NewMessage<'_>) -> Result<bool, DbError> {
    let queued = ex
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
                    message.id.into(),
                    message.account_id.into(),
                    message.notice_key.into(),
                    message.recipients.into(),
                    message.subject.into(),
                    message.body.into(),
                    message.message_id.into(),
                    message.now_ms.into(),
                    0i64.into(),
                    message.now_ms.into(),
                ])
                .on_conflict(OnConflict::columns(["account_id", "notice_key"]).do_nothing().to_owned()),
        )
        .await?;
    Ok(queued > 0)
}

/// The enabled administrators of an account, among whom the recipients of
/// its notices are chosen.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AdminRow {
    /// Their address.
    pub email: String,
    /// Their admin areas, comma-separated (empty: every area).
    pub areas: String,
}

/// The enabled administrators of `account_id`, by address.
pub async fn admins(ex: impl Executor, account_id: &str) -> Result<Vec<AdminRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["email", "areas"])
            .from("users")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("role").eq("administrator"))
            .and_where(Expr::col("disabled_ms").is_null())
            .order_by("email", Order::Asc),
    )
    .await
}

/// A message as listed.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    /// Its id.
    pub id: String,
    /// What it is about.
    pub notice_key: String,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
    /// Its recipients, comma-separated.
    pub recipients: String,
    /// Its Message-ID.
    pub message_id: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_ms: i64,
    /// When it was sent.
    pub sent_ms: Option<i64>,
    /// When it was given up.
    pub failed_ms: Option<i64>,
    /// The next attempt.
    pub next_attempt_ms: i64,
}

/// The messages of `account_id`, newest first (at most `limit`).
pub async fn list(ex: impl Executor, account_id: &str, limit: u64) -> Result<Vec<OutboxRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns([
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
            ])
            .from("outbox")
            .and_where(Expr::col("account_id").eq(account_id))
            .order_by("created_ms", Order::Desc)
            .order_by("id", Order::Desc)
            .limit(limit),
    )
    .await
}

/// A message due to be sent.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DueRow {
    /// Its id.
    pub id: String,
    /// What it is about.
    pub notice_key: String,
    /// Its recipients, comma-separated.
    pub recipients: String,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
    /// Its Message-ID.
    pub message_id: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it fell due.
    pub next_attempt_ms: i64,
}

/// The messages neither sent nor given up that are due at `now_ms`, the
/// longest due first (at most `limit`).
pub async fn due(ex: impl Executor, now_ms: i64, limit: u64) -> Result<Vec<DueRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns([
                "id",
                "notice_key",
                "recipients",
                "subject",
                "body",
                "message_id",
                "attempts",
                "next_attempt_ms",
            ])
            .from("outbox")
            .and_where(Expr::col("sent_ms").is_null())
            .and_where(Expr::col("failed_ms").is_null())
            .and_where(Expr::col("next_attempt_ms").lte(now_ms))
            .order_by("next_attempt_ms", Order::Asc)
            .limit(limit),
    )
    .await
}

/// Takes message `due` for an attempt: counts it and moves its next
/// attempt to `lease_until_ms`, unless another server took it first;
/// whether taken.
pub async fn take(ex: impl Executor, due: &DueRow, lease_until_ms: i64) -> Result<bool, DbError> {
    let taken = ex
        .execute(
            Query::update()
                .table("outbox")
                .value("next_attempt_ms", lease_until_ms)
                .value("attempts", due.attempts + 1)
                .and_where(Expr::col("id").eq(due.id.as_str()))
                .and_where(Expr::col("next_attempt_ms").eq(due.next_attempt_ms))
                .and_where(Expr::col("sent_ms").is_null()),
        )
        .await?;
    Ok(taken > 0)
}

/// Marks message `id` sent at `now_ms`.
pub async fn mark_sent(ex: impl Executor, id: &str, now_ms: i64) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("outbox")
            .value("sent_ms", now_ms)
            .value("last_error", Option::<String>::None)
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(())
}

/// Gives message `id` up at `now_ms`, for `error`.
pub async fn mark_failed(ex: impl Executor, id: &str, now_ms: i64, error: &str) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("outbox")
            .value("failed_ms", now_ms)
            .value("last_error", error)
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(())
}

/// Records that an attempt to send message `id` failed for `error`; the next at `next_ms`.
pub async fn retry_at(ex: impl Executor, id: &str, next_ms: i64, error: &str) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("outbox")
            .value("next_attempt_ms", next_ms)
            .value("last_error", error)
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(())
}

/// Narrows message `id`'s recipients to `recipients` (comma-separated): the
/// others have it already.
pub async fn keep_recipients(ex: impl Executor, id: &str, recipients: &str) -> Result<(), DbError> {
    ex.execute(
        Query::update().table("outbox").value("recipients", recipients).and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(())
}
