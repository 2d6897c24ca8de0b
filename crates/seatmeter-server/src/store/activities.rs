//! The `activities` table: the record of every change, written in the
//! same transaction as the change; read newest first, a page after a
//! cursor at a time; erased person by person.

use sea_query::{Cond, Expr, ExprTrait, LikeExpr, Order, Query, SelectStatement};

use super::{DbError, Executor, Tx};
use crate::secrets::new_id;

/// What marks the person's place in an erased activity.
pub const ERASED: &str = "erased";

/// The columns of [`ActivityRow`].
const ACTIVITY_COLUMNS: [&str; 7] =
    ["id", "at_ms", "actor_user_id", "action", "subject_type", "subject_id", "details"];

/// One activity.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ActivityRow {
    /// Its id.
    pub id: String,
    /// When (ms).
    pub at_ms: i64,
    /// Who did it (none for the system or the command line).
    pub actor_user_id: Option<String>,
    /// What: `user.created`, `license.assigned`, …
    pub action: String,
    /// The kind of thing it concerns: `user`, `booking_page`, …
    pub subject_type: String,
    /// The thing's id.
    pub subject_id: String,
    /// Details of the change, as JSON.
    pub details: String,
}

impl ActivityRow {
    /// The details as JSON (null if they are not JSON).
    pub fn details_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null)
    }
}

/// Which activities of an account to read; each field given narrows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// The account.
    pub account_id: String,
    /// Only those this user did or that are about them.
    pub only_of: Option<String>,
    /// An action (`license.assigned`) or a type of action (`license`).
    pub kind: Option<String>,
    /// Done by this user.
    pub actor: Option<String>,
    /// About the thing with this id.
    pub subject: Option<String>,
    /// About this booking page.
    pub booking_page: Option<String>,
    /// From this instant (ms), inclusive.
    pub since_ms: Option<i64>,
    /// Until this instant (ms), exclusive.
    pub until_ms: Option<i64>,
    /// Older than this activity (its time and id): the next page after it.
    pub before: Option<(i64, String)>,
}

/// Text for a LIKE pattern that matches itself only.
fn like_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The query for `selection`, newest first.
fn select(selection: &Selection) -> SelectStatement {
    let mut query = Query::select();
    query
        .columns(ACTIVITY_COLUMNS)
        .from("activities")
        .and_where(Expr::col("account_id").eq(selection.account_id.as_str()));
    if let Some(user) = &selection.only_of {
        query.cond_where(
            Cond::any()
                .add(Expr::col("actor_user_id").eq(user.as_str()))
                .add(Expr::col("subject_type").eq("user").and(Expr::col("subject_id").eq(user.as_str()))),
        );
    }
    if let Some(kind) = &selection.kind {
        if kind.contains('.') {
            query.and_where(Expr::col("action").eq(kind.as_str()));
        } else {
            let prefix = format!("{}.%", like_text(kind));
            query.and_where(Expr::col("action").like(LikeExpr::new(prefix).escape('\\')));
        }
    }
    if let Some(actor) = &selection.actor {
        query.and_where(Expr::col("actor_user_id").eq(actor.as_str()));
    }
    if let Some(subject) = &selection.subject {
        query.and_where(Expr::col("subject_id").eq(subject.as_str()));
    }
    if let Some(page) = &selection.booking_page {
        query
            .and_where(Expr::col("subject_type").eq("booking_page"))
            .and_where(Expr::col("subject_id").eq(page.as_str()));
    }
    if let Some(since) = selection.since_ms {
        query.and_where(Expr::col("at_ms").gte(since));
    }
    if let Some(until) = selection.until_ms {
        query.and_where(Expr::col("at_ms").lt(until));
    }
    if let Some((at, id)) = &selection.before {
        query.cond_where(
            Cond::any()
                .add(Expr::col("at_ms").lt(*at))
                .add(Expr::col("at_ms").eq(*at).and(Expr::col("id").lt(id.as_str()))),
        );
    }
    query.order_by("at_ms", Order::Desc).order_by("id", Order::Desc);
    query
}

/// The activities of `selection`, newest first; at most `limit` of them, if given.
pub async fn list(
    ex: impl Executor,
    selection: &Selection,
    limit: Option<u64>,
) -> Result<Vec<ActivityRow>, DbError> {
    let mut query = select(selection);
    if let Some(limit) = limit {
        query.limit(limit);
    }
    ex.fetch_all(&query).await
}

/// The activities of `account_id` about a person: done by them, done to
/// them, or naming them (their id or address) in their details.
fn about(account_id: &str, user_id: &str, email: &str) -> Cond {
    // As a whole JSON string (quotes included): `li@example.com` must not
    // match `amali@example.com`.
    let names = |text: &str| {
        let literal = serde_json::Value::from(text).to_string();
        Expr::col("details").like(LikeExpr::new(format!("%{}%", like_text(&literal))).escape('\\'))
    };
    // The record of an earlier erasure names nobody: it is not about anyone.
    Cond::all().add(Expr::col("account_id").eq(account_id)).add(Expr::col("action").ne("privacy.erased")).add(
        Cond::any()
            .add(Expr::col("actor_user_id").eq(user_id))
            .add(Expr::col("subject_type").eq("user").and(Expr::col("subject_id").eq(user_id)))
            .add(names(user_id))
            .add(names(email)),
    )
}

/// How many activities of `account_id` are about the user `user_id`, whose address is `email`.
pub async fn count_about(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    email: &str,
) -> Result<u64, DbError> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let count: Option<Count> = ex
        .fetch_optional(
            Query::select()
                .expr_as(Expr::col("id").count(), "n")
                .from("activities")
                .cond_where(about(account_id, user_id, email)),
        )
        .await?;
    Ok(count.map_or(0, |c| u64::try_from(c.n).unwrap_or(0)))
}

/// Erases the activities of `account_id` about the user `user_id`, whose
/// address is `email`: each keeps its action and time but loses its
/// details, and the user's id as actor or subject becomes [`ERASED`].
/// Returns how many lost their details.
pub async fn erase_about(tx: &mut Tx, account_id: &str, user_id: &str, email: &str) -> Result<u64, DbError> {
    let erased = tx
        .execute(
            Query::update()
                .table("activities")
                .value("details", serde_json::json!({ERASED: true}).to_string())
                .cond_where(about(account_id, user_id, email)),
        )
        .await?;
    tx.execute(
        Query::update()
            .table("activities")
            .value("actor_user_id", ERASED)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("actor_user_id").eq(user_id)),
    )
    .await?;
    tx.execute(
        Query::update()
            .table("activities")
            .value("subject_id", ERASED)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("subject_type").eq("user"))
            .and_where(Expr::col("subject_id").eq(user_id)),
    )
    .await?;
    Ok(erased)
}

/// Records an activity inside `tx`, so that it exists exactly when the change does.
pub async fn record(
    tx: &mut Tx,
    account_id: &str,
    now_ms: i64,
    actor_user_id: Option<&str>,
    action: &str,
    subject: (&str, &str),
    details: serde_json::Value,
) -> Result<(), DbError> {
    tx.execute(
        Query::insert()
            .into_table("activities")
            .columns([
                "id",
                "account_id",
                "at_ms",
                "actor_user_id",
                "action",
                "subject_type",
                "subject_id",
                "details",
            ])
            .values_panic([
                new_id("act").into(),
                account_id.into(),
                now_ms.into(),
                actor_user_id.map(str::to_string).into(),
                action.into(),
                subject.0.into(),
                subject.1.into(),
                details.to_string().into(),
            ]),
    )
    .await?;
    Ok(())
}
