//! `/v1/events` and `/v1/meetings/{id}/events`: meeting lifecycle events,
//! one at a time or in batches (a JSON array, or NDJSON: one object a
//! line). Reading a batch (its content type, its size, how many events it
//! holds) is this module's, with [`super::event_batch`] parsing its body;
//! checking and applying them is [`crate::app::events`]'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::event_batch::{self, BatchError};
pub use super::event_batch::{EventIn, MAX_EVENTS_PER_REQUEST};
use super::shapes;
use super::{ApiError, Body, ErrorBody};
use crate::app::events::{BatchOutcome, EventInput, EventStatus, NotApplied};
use crate::app::{self, Principal, Services};

/// Largest batch body, in bytes (10,000 events need about 3 MiB).
pub const MAX_BATCH_BYTES: usize = 32 << 20;

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(post_meeting_event)).routes(routes!(post_events))
}

impl From<EventIn> for EventInput {
    fn from(e: EventIn) -> Self {
        EventInput {
            idempotency_key: e.idempotency_key,
            meeting_id: e.meeting_id,
            kind: e.kind,
            at: e.at,
            attendee: e.attendee,
            portion: e.portion,
            join_before_host: e.join_before_host,
            to: e.to,
        }
    }
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

impl From<NotApplied> for EventOutcome {
    fn from(o: NotApplied) -> Self {
        EventOutcome {
            index: o.index,
            idempotency_key: o.idempotency_key,
            status: o.status,
            message: o.message,
        }
    }
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

impl From<BatchOutcome> for BatchResult {
    fn from(b: BatchOutcome) -> Self {
        BatchResult {
            received: b.received,
            applied: b.applied,
            duplicates: b.duplicates,
            refused: b.refused,
            not_applied: b.not_applied.into_iter().map(EventOutcome::from).collect(),
        }
    }
}

/// Reads a batch: a JSON array (or one object), or NDJSON when the content type says so.
fn parse_batch(headers: &HeaderMap, body: &[u8]) -> Result<Vec<EventIn>, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Strict JSON first: a key twice in one event's object is refused.
    let ndjson =
        content_type.starts_with("application/x-ndjson") || content_type.starts_with("application/jsonl");
    let unique = if ndjson {
        crate::json::check_unique_keys_lines(body)
    } else {
        crate::json::check_unique_keys(body)
    };
    unique.map_err(|e| ApiError::Invalid { message: format!("invalid events: {e}"), field: None })?;
    event_batch::parse(content_type, body).map_err(|e| match e {
        BatchError::Invalid { message, field } => ApiError::Invalid { message, field },
        BatchError::UnsupportedMediaType => ApiError::Refused {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: e.to_string(),
        },
        BatchError::TooMany(_) => ApiError::Refused {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: e.to_string(),
        },
    })
}

/// Reports meeting events in a batch: a JSON array, or NDJSON
/// (`Content-Type: application/x-ndjson`), up to 10,000 events, each with
/// its `meeting_id`. The batch is validated as a whole (a malformed event
/// is a 422 naming it, and nothing is applied), then applied in one
/// transaction, committed before the answer. Events already applied are
/// counted as duplicates; a key reused for another event, or an unknown
/// meeting, is listed in `not_applied` while the others are applied.
#[utoipa::path(post, path = "/v1/events", tag = "meetings", security(("token" = [])),
    request_body(content = shapes::EventBatch, description = "A JSON array of events (or one event), or NDJSON (`application/x-ndjson`, one event a line)"),
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
    let events: Vec<EventInput> = parse_batch(&headers, &body)?.into_iter().map(EventInput::from).collect();
    Ok(Json(app::events::ingest_batch(&state, &principal, &events).await?.into()))
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
    params(("id" = inline(shapes::MeetingId), Path, description = "The meeting")),
    request_body = shapes::MeetingEvent,
    responses((status = 201, body = EventResult), (status = 200, body = EventResult), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_meeting_event(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(input): Body<EventIn>,
) -> Result<(StatusCode, Json<EventResult>), ApiError> {
    let event = EventInput::from(input);
    Ok(match app::events::ingest_one(&state, &principal, &id, &event).await? {
        EventStatus::Applied => (StatusCode::CREATED, Json(EventResult { status: "applied" })),
        EventStatus::Duplicate => (StatusCode::OK, Json(EventResult { status: "duplicate" })),
    })
}
