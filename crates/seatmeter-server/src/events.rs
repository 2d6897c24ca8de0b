//! Meeting lifecycle events: one at a time or in batches (a JSON array, or
//! NDJSON: one object a line), each with its own time and an idempotency
//! key.
//!
//! The same key with the same event is accepted again without effect; with
//! another event it is refused as a conflict. A meeting's state is an
//! order-independent summary of its events (see
//! [`seatmeter_core::meeting`]), so late and out-of-order events give the
//! same result as events in order.
//!
//! A batch is one transaction, committed before the answer: its events are
//! stored with a few multi-row statements (events, new attendees), then
//! each meeting it touched is updated once, and its live-usage interval
//! re-settled (see [`crate::live`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use seatmeter_core::meeting::{Event, EventKind, Portion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, ErrorBody};
use crate::meetings::{MEETING_COLUMNS, MeetingRow, may_act_on, parse_time_ms, rules_in_tx};
use crate::store::{DbError, Tx};

/// Most events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;
/// Largest batch body, in bytes (10,000 events need about 3 MiB).
pub const MAX_BATCH_BYTES: usize = 32 << 20;

/// The columns of a stored event.
const EVENT_COLUMNS: [&str; 8] =
    ["account_id", "idempotency_key", "meeting_id", "kind", "at_ms", "body_hash", "details", "received_ms"];

/// An event as sent.
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// Chosen by the sender, unique per event in the account (1 to 200
    /// characters): sending the same event again with it changes nothing.
    pub idempotency_key: String,
    /// The meeting (`mtg_…`). In `POST /v1/meetings/{id}/events` it may be
    /// left out, and must match the path if given.
    #[serde(default)]
    pub meeting_id: Option<String>,
    /// `started`, `attendee_joined`, `attendee_left`, `host_rights_passed` or `ended`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened: RFC 3339 with an offset.
    pub at: String,
    /// Who joined or left (`attendee_joined`, `attendee_left`): an e-mail,
    /// a phone number or a session id, 1 to 320 characters.
    #[serde(default)]
    pub attendee: Option<String>,
    /// `web` or `phone` (`attendee_joined`, `attendee_left`).
    #[serde(default)]
    pub portion: Option<String>,
    /// The attendee joined before the host (`attendee_joined`).
    #[serde(default)]
    pub join_before_host: Option<bool>,
    /// Who received host rights (`host_rights_passed`).
    #[serde(default)]
    pub to: Option<String>,
}

/// One event, checked.
#[derive(Clone, Debug)]
struct Checked {
    key: String,
    meeting_id: String,
    event: Event,
    /// The event's details as stored (JSON).
    details: String,
    hash: String,
}

/// Why one event of a batch was not applied.
#[derive(Serialize, ToSchema, Debug)]
pub struct EventOutcome {
    /// Its position in the request, from 0.
    pub index: usize,
    /// Its idempotency key.
    pub idempotency_key: String,
    /// `duplicate` (already applied: nothing to do), `conflict` (the key
    /// belongs to another event) or `unknown_meeting`.
    pub status: &'static str,
    /// In words.
    pub message: String,
}

/// What a batch did.
#[derive(Serialize, ToSchema, Debug)]
pub struct BatchResult {
    /// Events in the request.
    pub received: usize,
    /// Events applied now.
    pub applied: usize,
    /// Events already applied before (same key, same event).
    pub duplicates: usize,
    /// Events refused (conflicting key or unknown meeting).
    pub refused: usize,
    /// Each event not applied now, with why.
    pub not_applied: Vec<EventOutcome>,
}

fn invalid_at(index: Option<usize>, field: &str, message: String) -> ApiError {
    let field = match index {
        Some(i) => format!("events[{i}].{field}"),
        None => field.to_string(),
    };
    ApiError::Invalid { message, field: Some(field) }
}

fn text_field<'a>(
    value: &'a Option<String>,
    index: Option<usize>,
    field: &str,
    kind: &str,
) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some(v) if !v.is_empty() && v.chars().count() <= 320 && !v.contains('\0') => Ok(v),
        Some(_) => Err(invalid_at(index, field, format!("{field} must be 1 to 320 characters"))),
        None => Err(invalid_at(index, field, format!("a {kind} event needs {field}"))),
    }
}

fn check(input: &EventIn, index: Option<usize>, path_meeting: Option<&str>) -> Result<Checked, ApiError> {
    let key = input.idempotency_key.as_str();
    if key.is_empty() || key.chars().count() > 200 || key.contains('\0') {
        return Err(invalid_at(
            index,
            "idempotency_key",
            "the idempotency key must be 1 to 200 characters".into(),
        ));
    }
    let meeting_id = match (input.meeting_id.as_deref(), path_meeting) {
        (Some(m), Some(p)) if m != p => {
            return Err(invalid_at(
                index,
                "meeting_id",
                format!("meeting_id {m:?} is not the meeting of the path"),
            ));
        }
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => return Err(invalid_at(index, "meeting_id", "every event needs meeting_id".into())),
    };
    if meeting_id.is_empty() || meeting_id.len() > 200 || meeting_id.contains('\0') {
        return Err(invalid_at(index, "meeting_id", "meeting_id must be 1 to 200 characters".into()));
    }
    let at_ms = parse_time_ms(&input.at, "at").map_err(|e| match e {
        ApiError::Invalid { message, .. } => invalid_at(index, "at", message),
        other => other,
    })?;
    let portion = |name: &str| -> Result<Portion, ApiError> {
        let text = text_field(&input.portion, index, "portion", name)?;
        Portion::parse(text).ok_or_else(|| {
            invalid_at(index, "portion", format!("unknown portion {text:?}: use web or phone"))
        })
    };
    let name = input.kind.as_str();
    let kind = match name {
        "started" => EventKind::Started,
        "ended" => EventKind::Ended,
        "attendee_joined" => EventKind::AttendeeJoined {
            attendee: text_field(&input.attendee, index, "attendee", name)?.to_string(),
            portion: portion(name)?,
            join_before_host: input.join_before_host.unwrap_or(false),
        },
        "attendee_left" => EventKind::AttendeeLeft {
            attendee: text_field(&input.attendee, index, "attendee", name)?.to_string(),
            portion: portion(name)?,
        },
        "host_rights_passed" => {
            EventKind::HostRightsPassed { to: text_field(&input.to, index, "to", name)?.to_string() }
        }
        other => {
            return Err(invalid_at(
                index,
                "type",
                format!(
                    "unknown event type {other:?}: use started, attendee_joined, attendee_left, host_rights_passed or ended"
                ),
            ));
        }
    };
    let event = Event { at_ms, kind };
    let details = details(&event);
    let hash = event_hash(meeting_id, &event, &details);
    Ok(Checked { key: key.to_string(), meeting_id: meeting_id.to_string(), event, details, hash })
}

/// The event's details as stored (JSON), and part of its canonical form for the hash.
fn details(event: &Event) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    match &event.kind {
        EventKind::Started | EventKind::Ended => "{}".to_string(),
        EventKind::AttendeeJoined { attendee, portion, join_before_host } => format!(
            r#"{{"attendee":{},"portion":"{}","join_before_host":{join_before_host}}}"#,
            text(attendee),
            portion.as_str()
        ),
        EventKind::AttendeeLeft { attendee, portion } => {
            format!(r#"{{"attendee":{},"portion":"{}"}}"#, text(attendee), portion.as_str())
        }
        EventKind::HostRightsPassed { to } => format!(r#"{{"to":{}}}"#, text(to)),
    }
}

/// SHA-256 of the event's canonical form (meeting, type, instant and
/// details, each unambiguously delimited): the same event sent twice, in
/// whatever JSON spelling (key order, offsets), hashes the same.
fn event_hash(meeting_id: &str, event: &Event, details: &str) -> String {
    let canonical =
        format!("{}\n{}\n{}\n{details}", serde_json::Value::from(meeting_id), event.kind.name(), event.at_ms);
    crate::secrets::sha256_hex(canonical.as_bytes())
}

/// Records the `started` event of a start through the admission endpoint
/// (its key is `start:<meeting id>`), unless one is recorded already.
pub async fn record_start(tx: &mut Tx, meeting: &MeetingRow, event: &Event, now: i64) -> Result<(), DbError> {
    let key = format!("start:{}", meeting.id);
    tx.execute(
        Query::insert()
            .into_table("meeting_events")
            .columns(EVENT_COLUMNS)
            .values_panic([
                meeting.account_id.clone().into(),
                key.into(),
                meeting.id.clone().into(),
                event.kind.name().into(),
                event.at_ms.into(),
                event_hash(&meeting.id, event, &details(event)).into(),
                details(event).into(),
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

#[derive(sqlx::FromRow)]
struct NewAttendee {
    meeting_id: String,
    portion: String,
}

// The three bulk statements of a batch. On PostgreSQL each binds whole
// arrays (`UNNEST`, `= ANY`): a statement with thousands of parameters
// costs PostgreSQL several times more to bind and plan than the same rows
// as a handful of arrays. SQLite has no arrays; there, multi-row statements
// of a few hundred rows each.

/// The body hash of each of `keys` that the account has already.
async fn known_keys(tx: &mut Tx, account: &str, keys: &[&str]) -> Result<HashMap<String, String>, DbError> {
    let mut known = HashMap::new();
    if let Some(pg) = tx.postgres() {
        let rows: Vec<KnownKey> = sqlx::query_as(
            "SELECT idempotency_key, body_hash FROM meeting_events WHERE account_id = $1 AND idempotency_key = ANY($2)",
        )
        .bind(account)
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
                    .and_where(Expr::col("account_id").eq(account))
                    .and_where(Expr::col("idempotency_key").is_in(chunk.iter().copied())),
            )
            .await?;
        known.extend(rows.into_iter().map(|k| (k.idempotency_key, k.body_hash)));
    }
    Ok(known)
}

/// Stores `events`.
async fn insert_events(tx: &mut Tx, account: &str, events: &[Checked], now: i64) -> Result<(), DbError> {
    if let Some(pg) = tx.postgres() {
        let column = |f: fn(&Checked) -> &str| events.iter().map(f).collect::<Vec<&str>>();
        let at: Vec<i64> = events.iter().map(|c| c.event.at_ms).collect();
        sqlx::query(
            "INSERT INTO meeting_events \
             (account_id, idempotency_key, meeting_id, kind, at_ms, body_hash, details, received_ms) \
             SELECT $1, k, m, t, a, h, d, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[]) AS e(k, m, t, a, h, d)",
        )
        .bind(account)
        .bind(now)
        .bind(column(|c| &c.key))
        .bind(column(|c| &c.meeting_id))
        .bind(column(|c| c.event.kind.name()))
        .bind(at)
        .bind(column(|c| &c.hash))
        .bind(column(|c| &c.details))
        .execute(pg)
        .await?;
        return Ok(());
    }
    for chunk in events.chunks(500) {
        let mut insert = Query::insert();
        insert.into_table("meeting_events").columns(EVENT_COLUMNS);
        for c in chunk {
            insert.values_panic([
                account.into(),
                c.key.clone().into(),
                c.meeting_id.clone().into(),
                c.event.kind.name().into(),
                c.event.at_ms.into(),
                c.hash.clone().into(),
                c.details.clone().into(),
                now.into(),
            ]);
        }
        tx.execute(&insert).await?;
    }
    Ok(())
}

/// Adds `(meeting, portion, attendee)` joins; returns those not there before.
async fn insert_new_attendees(
    tx: &mut Tx,
    account: &str,
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
        .bind(account)
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
            insert.values_panic([account.into(), (*meeting).into(), (*portion).into(), (*attendee).into()]);
        }
        inserted.extend(tx.fetch_all::<NewAttendee>(&insert).await?);
    }
    Ok(inserted)
}

/// Applies checked events of `principal`'s account in one transaction.
async fn ingest_in_tx(
    tx: &mut Tx,
    principal: &Principal,
    events: Vec<Checked>,
    now: i64,
) -> Result<(BatchResult, BTreeSet<String>), ApiError> {
    let received = events.len();
    let account = principal.account_id.as_str();
    let mut not_applied = Vec::new();

    // The meetings, locked in id order (so two batches never deadlock).
    let ids: BTreeSet<&str> = events.iter().map(|e| e.meeting_id.as_str()).collect();
    let mut meetings: BTreeMap<String, MeetingRow> = BTreeMap::new();
    for chunk in ids.iter().copied().collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<MeetingRow> = tx
            .fetch_all(
                Query::select()
                    .columns(MEETING_COLUMNS)
                    .from("meetings")
                    .and_where(Expr::col("account_id").eq(account))
                    .and_where(Expr::col("id").is_in(chunk.iter().copied()))
                    .order_by("id", Order::Asc)
                    .lock_exclusive(),
            )
            .await?;
        meetings.extend(rows.into_iter().filter(|m| may_act_on(principal, m)).map(|m| (m.id.clone(), m)));
    }

    // Keys seen before, in this account or earlier in this request.
    let keys: BTreeSet<&str> = events.iter().map(|e| e.key.as_str()).collect();
    let keys: Vec<&str> = keys.into_iter().collect();
    let mut known = known_keys(tx, account, &keys).await?;
    let mut fresh: Vec<Checked> = Vec::with_capacity(events.len());
    let mut duplicates = 0;
    for (index, checked) in events.into_iter().enumerate() {
        let outcome = match known.get(&checked.key) {
            Some(hash) if *hash == checked.hash => {
                duplicates += 1;
                Some(("duplicate", "this event was applied before: nothing to do".to_string()))
            }
            Some(_) => Some((
                "conflict",
                "this idempotency key belongs to another event: use a new key for a new event".to_string(),
            )),
            None if !meetings.contains_key(&checked.meeting_id) => {
                Some(("unknown_meeting", format!("no meeting {:?} in your account", checked.meeting_id)))
            }
            None => None,
        };
        match outcome {
            Some((status, message)) => {
                not_applied.push(EventOutcome { index, idempotency_key: checked.key, status, message })
            }
            None => {
                known.insert(checked.key.clone(), checked.hash.clone());
                fresh.push(checked);
            }
        }
    }

    insert_events(tx, account, &fresh, now).await?;

    // Attendees joining a portion for the first time.
    let joins: BTreeSet<(&str, &'static str, &str)> = fresh
        .iter()
        .filter_map(|c| match &c.event.kind {
            EventKind::AttendeeJoined { attendee, portion, .. } => {
                Some((c.meeting_id.as_str(), portion.as_str(), attendee.as_str()))
            }
            _ => None,
        })
        .collect();
    let mut new_attendees: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let joins: Vec<(&str, &str, &str)> = joins.into_iter().collect();
    for row in insert_new_attendees(tx, account, &joins).await? {
        let counts = new_attendees.entry(row.meeting_id).or_default();
        match Portion::parse(&row.portion) {
            Some(Portion::Web) => counts.0 += 1,
            Some(Portion::Phone) => counts.1 += 1,
            None => {}
        }
    }

    // Each meeting's facts, then its row and its live usage, once.
    let read = meetings.clone();
    let mut touched: BTreeSet<&str> = BTreeSet::new();
    for c in &fresh {
        let Some(meeting) = meetings.get_mut(&c.meeting_id) else { continue };
        let mut facts = meeting.facts();
        // Attendee counts are added below from the rows actually inserted.
        facts.apply(&c.event, false);
        meeting.set_facts(&facts);
        touched.insert(c.meeting_id.as_str());
    }
    let rules = rules_in_tx(tx, account).await?;
    let mut changed = Vec::new();
    for id in touched {
        let Some(meeting) = meetings.get_mut(id) else { continue };
        if let Some((web, phone)) = new_attendees.get(id) {
            meeting.web_attendees += i64::try_from(*web).unwrap_or(0);
            meeting.phone_attendees += i64::try_from(*phone).unwrap_or(0);
        }
        changed.push(meeting.clone());
    }
    crate::live::store_settled(tx, &rules, &mut changed, &read, now).await?;
    let hosts: BTreeSet<String> = changed.iter().map(|m| m.host_user_id.clone()).collect();
    let refused = not_applied.len() - duplicates;
    Ok((BatchResult { received, applied: fresh.len(), duplicates, refused, not_applied }, hosts))
}

/// One request's events, waiting to be written.
struct Job {
    principal: Principal,
    events: Vec<Checked>,
    done: tokio::sync::oneshot::Sender<Option<BatchResult>>,
}

/// Group commit of event batches.
///
/// Requests queue their checked events here. Whichever request finds no
/// write in progress becomes the leader: it takes every batch waiting and
/// writes them all in one transaction, one after another (so a later batch
/// sees an earlier one's keys, attendees and meetings exactly as if it had
/// come later), commits once, and answers each request. Under load many
/// batches share a commit; alone, a batch is written at once. Each request
/// is answered only after the commit that holds its events.
#[derive(Default)]
pub struct Ingestor {
    waiting: std::sync::Mutex<Vec<Job>>,
    leader: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Ingestor {
    fn take_waiting(&self) -> Vec<Job> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// Applies checked events of `principal`'s account, committed before it returns.
async fn ingest(
    state: &Services,
    principal: &Principal,
    events: Vec<Checked>,
) -> Result<BatchResult, ApiError> {
    let (done, mut answer) = tokio::sync::oneshot::channel();
    let job = Job { principal: principal.clone(), events, done };
    if let crate::store::Db::Postgres(_) = state.db {
        // PostgreSQL runs batches side by side, each in its own transaction.
        write_jobs(state, vec![job]).await;
    } else {
        state.ingestor.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(job);
    }
    loop {
        tokio::select! {
            biased;
            result = &mut answer => {
                return result.ok().flatten().ok_or_else(|| ApiError::Refused {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "the server failed to write this batch; send it again (events already applied \
                              are recognised by their idempotency keys)"
                        .into(),
                });
            }
            turn = state.ingestor.leader.clone().lock_owned() => {
                let jobs = state.ingestor.take_waiting();
                if !jobs.is_empty() {
                    // In a task of its own, so that the write completes and
                    // every request is answered even if this one goes away.
                    let state = state.clone();
                    let _ = tokio::spawn(async move {
                        write_jobs(&state, jobs).await;
                        drop(turn);
                    })
                    .await;
                }
            }
        }
    }
}

/// Writes `jobs` in one transaction and answers each (`None`: it failed).
async fn write_jobs(state: &Services, mut jobs: Vec<Job>) {
    let now = state.clock.now();
    let mut results = Vec::with_capacity(jobs.len());
    let mut hosts = BTreeSet::new();
    let outcome: Result<(), ApiError> = async {
        let mut tx = state.db.begin().await?;
        // Consecutive batches of one caller are written as one (fewer, fuller
        // statements), then their results told apart again.
        let mut start = 0;
        while start < jobs.len() {
            let same = jobs[start..].iter().take_while(|j| j.principal == jobs[start].principal).count();
            let sizes: Vec<usize> = jobs[start..start + same].iter().map(|j| j.events.len()).collect();
            let events: Vec<Checked> =
                jobs[start..start + same].iter_mut().flat_map(|j| std::mem::take(&mut j.events)).collect();
            let (result, touched) = ingest_in_tx(&mut tx, &jobs[start].principal, events, now).await?;
            results.extend(split_result(result, &sizes));
            hosts.extend(touched);
            start += same;
        }
        crate::recent::note_changes(&mut tx, hosts.iter().map(String::as_str), now).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(error) = &outcome {
        tracing::error!(%error, batches = jobs.len(), "could not write event batches");
    }
    for host in &hosts {
        state.kept.forget(host);
    }
    let mut results = results.into_iter();
    for job in jobs {
        let _ = job.done.send(if outcome.is_ok() { results.next() } else { None });
    }
}

/// Splits the result of batches written as one into each batch's, given
/// how many events each had.
fn split_result(result: BatchResult, sizes: &[usize]) -> Vec<BatchResult> {
    let mut not_applied = result.not_applied.into_iter().peekable();
    let mut offset = 0;
    let mut results = Vec::with_capacity(sizes.len());
    for &size in sizes {
        let mut own = Vec::new();
        while let Some(outcome) = not_applied.next_if(|o| o.index < offset + size) {
            own.push(EventOutcome { index: outcome.index - offset, ..outcome });
        }
        let duplicates = own.iter().filter(|o| o.status == "duplicate").count();
        results.push(BatchResult {
            received: size,
            applied: size - own.len(),
            duplicates,
            refused: own.len() - duplicates,
            not_applied: own,
        });
        offset += size;
    }
    results
}

/// Reads a batch: a JSON array (or one object), or NDJSON when the content type says so.
fn parse_batch(headers: &HeaderMap, body: &[u8]) -> Result<Vec<EventIn>, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ndjson =
        content_type.starts_with("application/x-ndjson") || content_type.starts_with("application/jsonl");
    let events: Vec<EventIn> = if ndjson {
        let mut events = Vec::new();
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            events.push(serde_json::from_slice(line).map_err(|e| ApiError::Invalid {
                message: format!("line {}: {e}", i + 1),
                field: Some(format!("events[{}]", events.len())),
            })?);
        }
        events
    } else if content_type.starts_with("application/json") {
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        let parsed = if first == Some(&b'[') {
            serde_json::from_slice::<Vec<EventIn>>(body)
        } else {
            serde_json::from_slice::<EventIn>(body).map(|e| vec![e])
        };
        parsed.map_err(|e| ApiError::Invalid { message: format!("invalid events: {e}"), field: None })?
    } else {
        return Err(ApiError::Refused {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message:
                "send a JSON array (`Content-Type: application/json`) or NDJSON (`application/x-ndjson`)"
                    .into(),
        });
    };
    if events.is_empty() {
        return Err(ApiError::Invalid { message: "the request holds no event".into(), field: None });
    }
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(ApiError::Refused {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: format!(
                "{} events in one request; send at most {MAX_EVENTS_PER_REQUEST} at a time",
                events.len()
            ),
        });
    }
    Ok(events)
}

/// Reports meeting events in a batch: a JSON array, or NDJSON
/// (`Content-Type: application/x-ndjson`), up to 10,000 events, each with
/// its `meeting_id`. The batch is validated as a whole (a malformed event
/// is a 422 naming it, and nothing is applied), then applied in one
/// transaction, committed before the answer. Events already applied are
/// counted as duplicates; a key reused for another event, or an unknown
/// meeting, is listed in `not_applied` while the others are applied.
#[utoipa::path(post, path = "/v1/events", tag = "meetings", security(("token" = [])),
    request_body(content = [EventIn], description = "A JSON array of events, or NDJSON (application/x-ndjson)"),
    responses((status = 200, body = BatchResult), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_events(
    State(state): State<Services>,
    principal: Principal,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<BatchResult>, ApiError> {
    let body = axum::body::to_bytes(body, MAX_BATCH_BYTES).await.map_err(|_| ApiError::Refused {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_large",
        message: format!(
            "a batch of events may hold at most {} MiB: send fewer events at a time",
            MAX_BATCH_BYTES >> 20
        ),
    })?;
    let events = parse_batch(&headers, &body)?;
    let checked =
        events.iter().enumerate().map(|(i, e)| check(e, Some(i), None)).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(ingest(&state, &principal, checked).await?))
}

/// What happened to one event.
#[derive(Serialize, ToSchema, Debug)]
pub struct EventResult {
    /// `applied`, or `duplicate` when this event was applied before.
    pub status: &'static str,
}

/// Reports one event of a meeting. 201 when applied, 200 when the same
/// event (same key, same content) was applied before, 409 when the key
/// belongs to another event.
#[utoipa::path(post, path = "/v1/meetings/{id}/events", tag = "meetings", security(("token" = [])),
    request_body = EventIn,
    responses((status = 201, body = EventResult), (status = 200, body = EventResult), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_meeting_event(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    crate::http::Body(input): crate::http::Body<EventIn>,
) -> Result<(StatusCode, Json<EventResult>), ApiError> {
    let checked = check(&input, None, Some(&id))?;
    let result = ingest(&state, &principal, vec![checked]).await?;
    match result.not_applied.first() {
        None => Ok((StatusCode::CREATED, Json(EventResult { status: "applied" }))),
        Some(o) if o.status == "duplicate" => Ok((StatusCode::OK, Json(EventResult { status: "duplicate" }))),
        Some(o) if o.status == "unknown_meeting" => Err(ApiError::NotFound(o.message.clone())),
        Some(o) => {
            Err(ApiError::Conflict { message: o.message.clone(), field: Some("idempotency_key".into()) })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn outcome(index: usize, status: &'static str) -> EventOutcome {
        EventOutcome { index, idempotency_key: format!("k{index}"), status, message: String::new() }
    }

    #[test]
    fn batches_written_as_one_get_their_own_results_back() {
        let together = BatchResult {
            received: 9,
            applied: 5,
            duplicates: 2,
            refused: 2,
            not_applied: vec![
                outcome(1, "duplicate"),
                outcome(3, "conflict"),
                outcome(4, "duplicate"),
                outcome(8, "unknown_meeting"),
            ],
        };
        let parts = split_result(together, &[3, 2, 4]);
        let summary: Vec<(usize, usize, usize, usize)> =
            parts.iter().map(|r| (r.received, r.applied, r.duplicates, r.refused)).collect();
        assert_eq!(summary, vec![(3, 2, 1, 0), (2, 0, 1, 1), (4, 3, 0, 1)]);
        let indexes: Vec<Vec<usize>> =
            parts.iter().map(|r| r.not_applied.iter().map(|o| o.index).collect()).collect();
        assert_eq!(indexes, vec![vec![1], vec![0, 1], vec![3]], "indexes within each batch");
    }
}
