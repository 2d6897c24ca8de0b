//! Meeting lifecycle events: one at a time or in batches, each with its
//! own time and an idempotency key.
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
//! re-settled (see [`super::usage`]). Batches arriving together share a
//! commit (see [`Ingestor`]).

use std::collections::{BTreeMap, BTreeSet};

use seatmeter_core::meeting::{Event, EventKind, Portion};

use super::meetings::{account_rules, may_act_on, parse_time_ms};
use super::{Error, Principal, Result, Services, usage};
use crate::store::events::NewEvent;
use crate::store::meetings::MeetingRow;
use crate::store::{self, DbError, Tx};

/// An event as sent.
#[derive(Clone, Debug, Default)]
pub struct EventInput {
    /// Chosen by the sender, unique per event in the account (1 to 200 characters).
    pub idempotency_key: String,
    /// The meeting (`mtg_…`); may be left out when the meeting is given apart.
    pub meeting_id: Option<String>,
    /// `started`, `attendee_joined`, `attendee_left`, `host_rights_passed` or `ended`.
    pub kind: String,
    /// When it happened: RFC 3339 with an offset.
    pub at: String,
    /// Who joined or left (`attendee_joined`, `attendee_left`).
    pub attendee: Option<String>,
    /// `web` or `phone` (`attendee_joined`, `attendee_left`).
    pub portion: Option<String>,
    /// The attendee joined before the host (`attendee_joined`).
    pub join_before_host: Option<bool>,
    /// Who received host rights (`host_rights_passed`).
    pub to: Option<String>,
}

/// One event, checked.
#[derive(Clone, Debug)]
struct Checked {
    /// The event as stored.
    stored: NewEvent,
    event: Event,
}

fn invalid_at(index: Option<usize>, field: &str, message: String) -> Error {
    let field = match index {
        Some(i) => format!("events[{i}].{field}"),
        None => field.to_string(),
    };
    Error::Invalid { message, field: Some(field) }
}

fn text_field<'a>(
    value: &'a Option<String>,
    index: Option<usize>,
    field: &str,
    kind: &str,
) -> Result<&'a str> {
    match value.as_deref() {
        Some(v) if !v.is_empty() && v.chars().count() <= 320 && !v.contains('\0') => Ok(v),
        Some(_) => Err(invalid_at(index, field, format!("{field} must be 1 to 320 characters"))),
        None => Err(invalid_at(index, field, format!("a {kind} event needs {field}"))),
    }
}

/// What happened, as `input`'s type and fields say.
fn kind_of(input: &EventInput, index: Option<usize>) -> Result<EventKind> {
    let portion = |name: &str| -> Result<Portion> {
        let text = text_field(&input.portion, index, "portion", name)?;
        Portion::parse(text).ok_or_else(|| {
            invalid_at(index, "portion", format!("unknown portion {text:?}: use web or phone"))
        })
    };
    let name = input.kind.as_str();
    Ok(match name {
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
    })
}

/// Checks event `input` (number `index` of a batch), whose meeting may be
/// given apart (`meeting`).
fn check(input: &EventInput, index: Option<usize>, meeting: Option<&str>) -> Result<Checked> {
    let key = input.idempotency_key.as_str();
    if key.is_empty() || key.chars().count() > 200 || key.contains('\0') {
        return Err(invalid_at(
            index,
            "idempotency_key",
            "the idempotency key must be 1 to 200 characters".into(),
        ));
    }
    let meeting_id = match (input.meeting_id.as_deref(), meeting) {
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
    if meeting_id.is_empty() || meeting_id.chars().count() > 200 || meeting_id.contains('\0') {
        return Err(invalid_at(index, "meeting_id", "meeting_id must be 1 to 200 characters".into()));
    }
    let at_ms = parse_time_ms(&input.at, "at").map_err(|e| match e {
        Error::Invalid { message, .. } => invalid_at(index, "at", message),
        other => other,
    })?;
    let event = Event { at_ms, kind: kind_of(input, index)? };
    Ok(Checked { stored: stored(key.to_string(), meeting_id, &event), event })
}

/// `event` of `meeting_id` as stored under `key`.
fn stored(key: String, meeting_id: &str, event: &Event) -> NewEvent {
    let details = details(event);
    NewEvent {
        key,
        meeting_id: meeting_id.to_string(),
        kind: event.kind.name(),
        at_ms: event.at_ms,
        body_hash: event_hash(meeting_id, event, &details),
        details,
    }
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
pub(crate) async fn record_start(
    tx: &mut Tx,
    meeting: &MeetingRow,
    event: &Event,
    now: i64,
) -> Result<(), DbError> {
    let start = stored(format!("start:{}", meeting.id), &meeting.id, event);
    store::events::insert_once(tx, &meeting.account_id, &start, now).await
}

/// Why one event of a batch was not applied.
#[derive(Clone, Debug)]
pub struct NotApplied {
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
#[derive(Clone, Debug)]
pub struct BatchOutcome {
    /// Events in the request.
    pub received: usize,
    /// Events applied now.
    pub applied: usize,
    /// Events already applied before (same key, same event).
    pub duplicates: usize,
    /// Events refused (conflicting key or unknown meeting).
    pub refused: usize,
    /// Each event not applied now, with why.
    pub not_applied: Vec<NotApplied>,
}

/// The meetings of `events` that `principal` may act on, locked in id
/// order (so two batches never deadlock).
async fn lock_meetings(
    tx: &mut Tx,
    principal: &Principal,
    events: &[Checked],
) -> Result<BTreeMap<String, MeetingRow>, DbError> {
    let ids: BTreeSet<&str> = events.iter().map(|e| e.stored.meeting_id.as_str()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let rows = store::meetings::by_ids_for_update(tx, &principal.account_id, &ids).await?;
    Ok(rows.into_iter().filter(|m| may_act_on(principal, m)).map(|m| (m.id.clone(), m)).collect())
}

/// Splits `events` into those to apply and those not applied (keys seen
/// before, in this account or earlier in this request; unknown meetings).
async fn sort_out(
    tx: &mut Tx,
    account: &str,
    events: Vec<Checked>,
    meetings: &BTreeMap<String, MeetingRow>,
) -> Result<(Vec<Checked>, Vec<NotApplied>), DbError> {
    let keys: BTreeSet<&str> = events.iter().map(|e| e.stored.key.as_str()).collect();
    let keys: Vec<&str> = keys.into_iter().collect();
    let mut known = store::events::known_keys(tx, account, &keys).await?;
    let mut fresh: Vec<Checked> = Vec::with_capacity(events.len());
    let mut not_applied = Vec::new();
    for (index, checked) in events.into_iter().enumerate() {
        let outcome = match known.get(&checked.stored.key) {
            Some(hash) if *hash == checked.stored.body_hash => {
                Some(("duplicate", "this event was applied before: nothing to do".to_string()))
            }
            Some(_) => Some((
                "conflict",
                "this idempotency key belongs to another event: use a new key for a new event".to_string(),
            )),
            None if !meetings.contains_key(&checked.stored.meeting_id) => Some((
                "unknown_meeting",
                format!("no meeting {:?} in your account", checked.stored.meeting_id),
            )),
            None => None,
        };
        match outcome {
            Some((status, message)) => {
                not_applied.push(NotApplied { index, idempotency_key: checked.stored.key, status, message })
            }
            None => {
                known.insert(checked.stored.key.clone(), checked.stored.body_hash.clone());
                fresh.push(checked);
            }
        }
    }
    Ok((fresh, not_applied))
}

/// Stores `fresh` events and their attendees joining a portion for the
/// first time; returns how many new (web, phone) attendees each meeting has.
async fn store_events(
    tx: &mut Tx,
    account: &str,
    fresh: &[Checked],
    now: i64,
) -> Result<BTreeMap<String, (u64, u64)>, DbError> {
    let rows: Vec<&NewEvent> = fresh.iter().map(|c| &c.stored).collect();
    store::events::insert(tx, account, &rows, now).await?;
    let joins: BTreeSet<(&str, &'static str, &str)> = fresh
        .iter()
        .filter_map(|c| match &c.event.kind {
            EventKind::AttendeeJoined { attendee, portion, .. } => {
                Some((c.stored.meeting_id.as_str(), portion.as_str(), attendee.as_str()))
            }
            _ => None,
        })
        .collect();
    let joins: Vec<(&str, &str, &str)> = joins.into_iter().collect();
    let mut new_attendees: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in store::events::insert_attendees(tx, account, &joins).await? {
        let counts = new_attendees.entry(row.meeting_id).or_default();
        match Portion::parse(&row.portion) {
            Some(Portion::Web) => counts.0 += 1,
            Some(Portion::Phone) => counts.1 += 1,
            None => {}
        }
    }
    Ok(new_attendees)
}

/// Applies checked events of `principal`'s account in one transaction;
/// returns what the batch did and the hosts of the meetings it changed.
async fn ingest_in_tx(
    tx: &mut Tx,
    principal: &Principal,
    events: Vec<Checked>,
    now: i64,
) -> Result<(BatchOutcome, BTreeSet<String>)> {
    let received = events.len();
    let account = principal.account_id.as_str();
    let mut meetings = lock_meetings(tx, principal, &events).await?;
    let (fresh, not_applied) = sort_out(tx, account, events, &meetings).await?;
    let new_attendees = store_events(tx, account, &fresh, now).await?;

    // Each meeting's facts, then its row and its live usage, once.
    let read = meetings.clone();
    let mut touched: BTreeSet<&str> = BTreeSet::new();
    for c in &fresh {
        let Some(meeting) = meetings.get_mut(&c.stored.meeting_id) else { continue };
        let mut facts = meeting.facts();
        // Attendee counts are added below from the rows actually inserted.
        facts.apply(&c.event, false);
        meeting.set_facts(&facts);
        touched.insert(c.stored.meeting_id.as_str());
    }
    let rules = account_rules(&mut *tx, account).await?;
    let mut changed = Vec::new();
    for id in touched {
        let Some(meeting) = meetings.get_mut(id) else { continue };
        if let Some((web, phone)) = new_attendees.get(id) {
            meeting.web_attendees += i64::try_from(*web).unwrap_or(0);
            meeting.phone_attendees += i64::try_from(*phone).unwrap_or(0);
        }
        changed.push(meeting.clone());
    }
    usage::store_settled(tx, &rules, &mut changed, &read, now).await?;
    let hosts: BTreeSet<String> = changed.iter().map(|m| m.host_user_id.clone()).collect();
    let duplicates = not_applied.iter().filter(|o| o.status == "duplicate").count();
    let refused = not_applied.len() - duplicates;
    Ok((BatchOutcome { received, applied: fresh.len(), duplicates, refused, not_applied }, hosts))
}

/// One request's events, waiting to be written.
struct Job {
    principal: Principal,
    events: Vec<Checked>,
    done: tokio::sync::oneshot::Sender<Option<BatchOutcome>>,
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
async fn ingest(services: &Services, principal: &Principal, events: Vec<Checked>) -> Result<BatchOutcome> {
    let (done, mut answer) = tokio::sync::oneshot::channel();
    let job = Job { principal: principal.clone(), events, done };
    if let store::Db::Postgres(_) = services.db {
        // PostgreSQL runs batches side by side, each in its own transaction.
        write_jobs(services, vec![job]).await;
    } else {
        services.ingestor.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(job);
    }
    loop {
        tokio::select! {
            biased;
            result = &mut answer => {
                return result.ok().flatten().ok_or_else(|| Error::Failed {
                    message: "the server failed to write this batch; send it again (events already applied \
                              are recognised by their idempotency keys)"
                        .into(),
                });
            }
            turn = services.ingestor.leader.clone().lock_owned() => {
                let jobs = services.ingestor.take_waiting();
                if !jobs.is_empty() {
                    // In a task of its own, so that the write completes and
                    // every request is answered even if this one goes away.
                    let services = services.clone();
                    let _ = tokio::spawn(async move {
                        write_jobs(&services, jobs).await;
                        drop(turn);
                    })
                    .await;
                }
            }
        }
    }
}

/// Writes `jobs` in one transaction and answers each (`None`: it failed).
/// The write reads the time when it begins: it stands for every batch it holds.
async fn write_jobs(services: &Services, mut jobs: Vec<Job>) {
    let now = services.clock.now();
    let mut results = Vec::with_capacity(jobs.len());
    let mut hosts = BTreeSet::new();
    let outcome: Result<()> = async {
        let mut tx = services.db.begin().await?;
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
        store::changes::note(&mut tx, hosts.iter().map(String::as_str), now).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(error) = &outcome {
        tracing::error!(%error, batches = jobs.len(), "could not write event batches");
    }
    for host in &hosts {
        services.kept.forget(host);
    }
    let mut results = results.into_iter();
    for job in jobs {
        let _ = job.done.send(if outcome.is_ok() { results.next() } else { None });
    }
}

/// Splits the result of batches written as one into each batch's, given
/// how many events each had.
fn split_result(result: BatchOutcome, sizes: &[usize]) -> Vec<BatchOutcome> {
    let mut not_applied = result.not_applied.into_iter().peekable();
    let mut offset = 0;
    let mut results = Vec::with_capacity(sizes.len());
    for &size in sizes {
        let mut own = Vec::new();
        while let Some(outcome) = not_applied.next_if(|o| o.index < offset + size) {
            own.push(NotApplied { index: outcome.index - offset, ..outcome });
        }
        let duplicates = own.iter().filter(|o| o.status == "duplicate").count();
        results.push(BatchOutcome {
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

/// Applies a batch of events of the caller's account, each with its
/// `meeting_id`. The batch is checked as a whole (a malformed event is
/// invalid, naming it, and nothing is applied), then applied in one
/// transaction, committed before this returns. Events already applied are
/// counted as duplicates; a key reused for another event, or an unknown
/// meeting, is listed as not applied while the others are applied.
pub async fn ingest_batch(
    services: &Services,
    principal: &Principal,
    events: &[EventInput],
) -> Result<BatchOutcome> {
    let checked =
        events.iter().enumerate().map(|(i, e)| check(e, Some(i), None)).collect::<Result<Vec<_>>>()?;
    ingest(services, principal, checked).await
}

/// What happened to one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    /// Applied now.
    Applied,
    /// The same event (same key, same content) was applied before.
    Duplicate,
}

/// Applies one event of meeting `meeting_id`. Not found for an unknown
/// meeting; a conflict when the key belongs to another event.
pub async fn ingest_one(
    services: &Services,
    principal: &Principal,
    meeting_id: &str,
    event: &EventInput,
) -> Result<EventStatus> {
    let checked = check(event, None, Some(meeting_id))?;
    let result = ingest(services, principal, vec![checked]).await?;
    match result.not_applied.into_iter().next() {
        None => Ok(EventStatus::Applied),
        Some(o) if o.status == "duplicate" => Ok(EventStatus::Duplicate),
        Some(o) if o.status == "unknown_meeting" => Err(Error::NotFound(o.message)),
        Some(o) => Err(Error::conflict(o.message, Some("idempotency_key"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn outcome(index: usize, status: &'static str) -> NotApplied {
        NotApplied { index, idempotency_key: format!("k{index}"), status, message: String::new() }
    }

    #[test]
    fn batches_written_as_one_get_their_own_results_back() {
        let together = BatchOutcome {
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
