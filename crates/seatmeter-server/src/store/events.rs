//! The `meeting_events` and `meeting_attendees` tables: every event
//! applied, by its idempotency key, and every attendee of each portion of
//! a meeting (so that one who joins twice is counted once).
//!
//! The bulk statements of a batch bind whole arrays on PostgreSQL
//! (`UNNEST`, `= ANY`): a statement with thousands of parameters costs
//! PostgreSQL several times more to bind and plan than the same rows as a
//! handful of arrays. SQLite has no arrays; there, multi-row statements of
//! a few hundred rows each.

use std::collections::HashMap;

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use super::{DbError, Executor, Tx};

/// The columns of a stored event.
const EVENT_COLUMNS: [&str; 8] =
    ["account_id", "idempotency_key", "meeting_id", "kind", "at_ms", "body_hash", "details", "received_ms"];

/// An event to store.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Its idempotency key.
    pub key: String,
    /// Its meeting.
    pub meeting_id: String,
    /// Its type (`started`, `attendee_joined`…).
    pub kind: &'static str,
    /// When it happened (ms).
    pub at_ms: i64,
    /// The hash of its canonical form.
    pub body_hash: String,
    /// Its details (JSON).
    pub details: String,
}

/// Stores `event` of `account_id` unless an event with its key is stored already.
pub async fn insert_once(
    ex: impl Executor,
    account_id: &str,
    event: &NewEvent,
    now: i64,
) -> Result<(), DbError> {
    ex.execute(
        Query::insert()
            .into_table("meeting_events")
            .columns(EVENT_COLUMNS)
            .values_panic([
                account_id.into(),
                event.key.clone().into(),
                event.meeting_id.clone().into(),
                event.kind.into(),
                event.at_ms.into(),
                event.body_hash.clone().into(),
                event.details.clone().into(),
                now.into(),
            ])
            .on_conflict(OnConflict::columns(["account_id", "idempotency_key"]).do_nothing().to_owned()),
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct KnownKey {
    idempotency_key: String,
    body_hash: String,
}

/// The body hash of each of `keys` that the account has already.
pub async fn known_keys(
    tx: &mut Tx,
    account_id: &str,
    keys: &[&str],
) -> Result<HashMap<String, String>, DbError> {
    let mut known = HashMap::new();
    if let Some(pg) = tx.postgres() {
        let rows: Vec<KnownKey> = sqlx::query_as(
            "SELECT idempotency_key, body_hash FROM meeting_events WHERE account_id = $1 AND idempotency_key = ANY($2)",
        )
        .bind(account_id)
        .bind(keys)
        .fetch_all(pg)
        .await?;
        known.extend(rows.into_iter().map(|k| (k.idempotency_key, k.body_hash)));
        return Ok(known);
    }
    for chunk in keys.chunks(1000) {
        let rows: Vec<KnownKey> = tx
            .fetch_all(
                Query::select()
                    .columns(["idempotency_key", "body_hash"])
                    .from("meeting_events")
                    .and_where(Expr::col("account_id").eq(account_id))
                    .and_where(Expr::col("idempotency_key").is_in(chunk.iter().copied())),
            )
            .await?;
        known.extend(rows.into_iter().map(|k| (k.idempotency_key, k.body_hash)));
    }
    Ok(known)
}

/// Stores `events` of `account_id`, received at `now`.
pub async fn insert(tx: &mut Tx, account_id: &str, events: &[&NewEvent], now: i64) -> Result<(), DbError> {
    if let Some(pg) = tx.postgres() {
        let column = |f: fn(&NewEvent) -> &str| events.iter().map(|e| f(e)).collect::<Vec<&str>>();
        let at: Vec<i64> = events.iter().map(|e| e.at_ms).collect();
        sqlx::query(
            "INSERT INTO meeting_events \
             (account_id, idempotency_key, meeting_id, kind, at_ms, body_hash, details, received_ms) \
             SELECT $1, k, m, t, a, h, d, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[]) AS e(k, m, t, a, h, d)",
        )
        .bind(account_id)
        .bind(now)
        .bind(column(|e| &e.key))
        .bind(column(|e| &e.meeting_id))
        .bind(column(|e| e.kind))
        .bind(at)
        .bind(column(|e| &e.body_hash))
        .bind(column(|e| &e.details))
        .execute(pg)
        .await?;
        return Ok(());
    }
    for chunk in events.chunks(500) {
        let mut insert = Query::insert();
        insert.into_table("meeting_events").columns(EVENT_COLUMNS);
        for e in chunk {
            insert.values_panic([
                account_id.into(),
                e.key.clone().into(),
                e.meeting_id.clone().into(),
                e.kind.into(),
                e.at_ms.into(),
                e.body_hash.clone().into(),
                e.details.clone().into(),
                now.into(),
            ]);
        }
        tx.execute(&insert).await?;
    }
    Ok(())
}

/// An attendee who joined a portion of a meeting for the first time.
#[derive(sqlx::FromRow)]
pub struct NewAttendee {
    /// The meeting.
    pub meeting_id: String,
    /// `web` or `phone`.
    pub portion: String,
}

/// Adds `(meeting, portion, attendee)` joins; returns those not there before.
pub async fn insert_attendees(
    tx: &mut Tx,
    account_id: &str,
    joins: &[(&str, &str, &str)],
) -> Result<Vec<NewAttendee>, DbError> {
    if let Some(pg) = tx.postgres() {
        let meetings: Vec<&str> = joins.iter().map(|j| j.0).collect();
        let portions: Vec<&str> = joins.iter().map(|j| j.1).collect();
        let attendees: Vec<&str> = joins.iter().map(|j| j.2).collect();
        return Ok(sqlx::query_as(
            "INSERT INTO meeting_attendees (account_id, meeting_id, portion, attendee) \
             SELECT $1, m, p, a FROM UNNEST($2::text[], $3::text[], $4::text[]) AS j(m, p, a) \
             ON CONFLICT (meeting_id, portion, attendee) DO NOTHING RETURNING meeting_id, portion",
        )
        .bind(account_id)
        .bind(meetings)
        .bind(portions)
        .bind(attendees)
        .fetch_all(pg)
        .await?);
    }
    let mut inserted = Vec::new();
    for chunk in joins.chunks(1000) {
        let mut insert = Query::insert();
        insert
            .into_table("meeting_attendees")
            .columns(["account_id", "meeting_id", "portion", "attendee"])
            .on_conflict(OnConflict::columns(["meeting_id", "portion", "attendee"]).do_nothing().to_owned())
            .returning(Query::returning().columns(["meeting_id", "portion"]));
        for (meeting, portion, attendee) in chunk {
            insert.values_panic([
                account_id.into(),
                (*meeting).into(),
                (*portion).into(),
                (*attendee).into(),
            ]);
        }
        inserted.extend(tx.fetch_all::<NewAttendee>(&insert).await?);
    }
    Ok(inserted)
}
