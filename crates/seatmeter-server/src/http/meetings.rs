//! `/v1/meetings` and `/v1/account/meeting-rules`: scheduling, listing,
//! the admission and attendance checks, starting, the export of meetings
//! that are over, and the account's rules for meetings.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, Body, ErrorBody, Params, rfc3339_ms};
use crate::app::admission::{AdmissionDecision, AttendanceDecision};
use crate::app::meetings::Meeting;
use crate::app::{self, Principal, Services};
use crate::store::meetings::MeetingRules;

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router
        .routes(routes!(list_meetings, schedule))
        .routes(routes!(export_meetings))
        .routes(routes!(get_meeting))
        .routes(routes!(admission))
        .routes(routes!(attendance))
        .routes(routes!(start))
        .routes(routes!(get_rules, update_rules))
}

/// A meeting, as the API shows it.
#[derive(Serialize, ToSchema, Debug)]
pub struct MeetingView {
    /// Its id.
    pub id: String,
    /// The platform's id for it, if given.
    pub external_id: Option<String>,
    /// Its host (owner), who is charged its licenses.
    pub host_user_id: String,
    /// Who scheduled it (the host, or someone on the host's behalf).
    pub scheduled_by_user_id: Option<String>,
    /// Its title.
    pub title: String,
    /// Scheduled start (RFC 3339).
    pub scheduled_start: Option<String>,
    /// Scheduled end (RFC 3339).
    pub scheduled_end: Option<String>,
    /// `scheduled` (not started), `running` or `ended`.
    pub state: &'static str,
    /// When it started (the earliest start or join reported).
    pub started_at: Option<String>,
    /// When it ended: reported, or capped at the maximum duration.
    pub ended_at: Option<String>,
    /// It was ended automatically after running for the maximum duration.
    pub auto_ended: bool,
    /// Distinct attendees of the web portion.
    pub web_attendees: i64,
    /// Distinct attendees of the teleconference portion.
    pub phone_attendees: i64,
    /// Whether it counts towards its host's licenses (known once it has ended).
    pub counted: Option<bool>,
}

impl From<Meeting> for MeetingView {
    fn from(meeting: Meeting) -> Self {
        let row = meeting.row;
        MeetingView {
            id: row.id,
            external_id: row.external_id,
            host_user_id: row.host_user_id,
            scheduled_by_user_id: row.scheduled_by_user_id,
            title: row.title,
            scheduled_start: row.scheduled_start_ms.map(rfc3339_ms),
            scheduled_end: row.scheduled_end_ms.map(rfc3339_ms),
            state: meeting.state.as_str(),
            started_at: row.started_ms.map(rfc3339_ms),
            ended_at: meeting.ended_ms.map(rfc3339_ms),
            auto_ended: meeting.auto_ended,
            web_attendees: row.web_attendees,
            phone_attendees: row.phone_attendees,
            counted: meeting.counted,
        }
    }
}

/// A meeting to schedule.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    /// Its title.
    #[schema(value_type = shapes::Title)]
    pub title: String,
    /// Its host (default: the caller). Scheduling for someone else needs
    /// their scheduling privilege, or an administrator of users & licenses.
    #[schema(value_type = Option<shapes::UserId>)]
    pub host_user_id: Option<String>,
    /// Scheduled start.
    #[schema(value_type = Option<shapes::Instant>)]
    pub scheduled_start: Option<String>,
    /// Scheduled end, after the start.
    #[schema(value_type = Option<shapes::Instant>)]
    pub scheduled_end: Option<String>,
    /// The platform's own id for the meeting, unique in the account (1 to 200 characters, no control characters).
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub external_id: Option<String>,
}

/// Schedules a meeting for the caller or, with their scheduling privilege
/// (or as an administrator of users & licenses), for another user, who is
/// its host. Any number of meetings may be scheduled for the same time.
#[utoipa::path(post, path = "/v1/meetings", tag = "meetings", security(("token" = [])), request_body = NewMeeting,
    responses((status = 201, body = MeetingView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn schedule(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewMeeting>,
) -> Result<(StatusCode, Json<MeetingView>), ApiError> {
    let new = app::meetings::NewMeeting {
        title: new.title,
        host_user_id: new.host_user_id,
        scheduled_start: new.scheduled_start,
        scheduled_end: new.scheduled_end,
        external_id: new.external_id,
    };
    let meeting = app::meetings::schedule(&state, &principal, new, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(meeting.into())))
}

/// Which meetings to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MeetingFilter {
    /// `scheduled`, `running` or `ended`.
    #[param(inline, value_type = Option<shapes::MeetingStateName>)]
    pub state: Option<String>,
    /// Only this host's meetings (their id).
    #[param(value_type = Option<shapes::Search>, inline)]
    pub host_user_id: Option<String>,
    /// At most this many, newest first (default 100, at most 1,000).
    #[param(value_type = Option<shapes::PageSize>, inline)]
    pub limit: Option<u64>,
}

impl From<MeetingFilter> for app::meetings::MeetingFilter {
    fn from(filter: MeetingFilter) -> Self {
        app::meetings::MeetingFilter {
            state: filter.state,
            host_user_id: filter.host_user_id,
            limit: filter.limit,
        }
    }
}

/// Lists meetings, newest first: all of the account for administrators of
/// users & licenses, else those the caller hosts or scheduled.
#[utoipa::path(get, path = "/v1/meetings", tag = "meetings", security(("token" = [])), params(MeetingFilter),
    responses((status = 200, body = [MeetingView]), (status = 422, body = ErrorBody)))]
pub async fn list_meetings(
    State(state): State<Services>,
    principal: Principal,
    Params(filter): Params<MeetingFilter>,
) -> Result<Json<Vec<MeetingView>>, ApiError> {
    let meetings = app::meetings::list(&state, &principal, &filter.into(), state.clock.now()).await?;
    Ok(Json(meetings.into_iter().map(MeetingView::from).collect()))
}

/// One meeting.
#[utoipa::path(get, path = "/v1/meetings/{id}", tag = "meetings", security(("token" = [])),
    params(("id" = inline(shapes::MeetingId), Path, description = "The meeting")),
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody)))]
pub async fn get_meeting(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    Ok(Json(app::meetings::get(&state, &principal, &id, state.clock.now()).await?.into()))
}

/// The answer to "may this meeting's host start it now?".
#[derive(Serialize, ToSchema, Debug)]
pub struct AdmissionView {
    /// The meeting asked about.
    pub meeting_id: String,
    /// Its host.
    pub host_user_id: String,
    /// Whether it may start (or is running already).
    pub allowed: bool,
    /// `allowed`, `already_running`, `ended`, `host_disabled`, `account_disabled` or `concurrency_limit`.
    pub code: &'static str,
    /// Why not, and what to do; absent when allowed.
    pub reason: Option<String>,
    /// How many meetings the host may run at once.
    pub limit: i64,
    /// The host's meetings running now.
    pub running: Vec<String>,
}

impl From<AdmissionDecision> for AdmissionView {
    fn from(d: AdmissionDecision) -> Self {
        AdmissionView {
            meeting_id: d.meeting_id,
            host_user_id: d.host_user_id,
            allowed: d.allowed,
            code: d.code,
            reason: d.reason,
            limit: d.limit,
            running: d.running,
        }
    }
}

/// May this meeting's host start it now? Answers without changing anything:
/// allowed, or refused with the reason (the account is disabled; the host's
/// concurrency limit is reached, naming the meetings running). The answer
/// reflects changes made through this server at once and changes made
/// through other servers on the same database within a second; starting
/// (`POST …/start`) is always decided on the database.
#[utoipa::path(get, path = "/v1/meetings/{id}/admission", tag = "meetings", security(("token" = [])),
    params(("id" = inline(shapes::MeetingId), Path, description = "The meeting")),
    responses((status = 200, body = AdmissionView), (status = 404, body = ErrorBody)))]
pub async fn admission(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<AdmissionView>, ApiError> {
    Ok(Json(app::admission::admission(&state, &principal, &id, state.clock.now()).await?.into()))
}

/// May people join this meeting now?
#[derive(Serialize, ToSchema, Debug)]
pub struct AttendanceView {
    /// The meeting.
    pub meeting_id: String,
    /// Whether attendees may join.
    pub allowed: bool,
    /// `allowed`, `account_disabled` or `ended`.
    pub code: &'static str,
    /// Why not, for people.
    pub reason: Option<String>,
}

impl From<AttendanceDecision> for AttendanceView {
    fn from(d: AttendanceDecision) -> Self {
        AttendanceView { meeting_id: d.meeting_id, allowed: d.allowed, code: d.code, reason: d.reason }
    }
}

/// May attendees join this meeting now? Refused while the account is
/// disabled (with the reason) and once the meeting has ended. Answers
/// from the same kept inputs as the host's admission check.
#[utoipa::path(get, path = "/v1/meetings/{id}/attendance", tag = "meetings", security(("token" = [])),
    params(("id" = inline(shapes::MeetingId), Path, description = "The meeting")),
    responses((status = 200, body = AttendanceView), (status = 404, body = ErrorBody)))]
pub async fn attendance(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<AttendanceView>, ApiError> {
    Ok(Json(app::admission::attendance(&state, &principal, &id, state.clock.now()).await?.into()))
}

/// Starts a meeting now, if its host may: atomically checks the account,
/// the host and the host's concurrency limit and records the start. 409
/// with code `concurrency_limit` (naming the meetings running),
/// `account_disabled`, `host_disabled` or `ended` when it may not. Starting
/// a running meeting again changes nothing.
#[utoipa::path(post, path = "/v1/meetings/{id}/start", tag = "meetings", security(("token" = [])),
    params(("id" = inline(shapes::MeetingId), Path, description = "The meeting")),
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    Ok(Json(app::meetings::start(&state, &principal, &id, state.clock.now()).await?.into()))
}

/// How to write the meeting log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `exact` (default: for `seatmeter usage` and `seatmeter import`) or
    /// `formula_safe`, to open in a spreadsheet.
    #[param(inline, value_type = Option<shapes::CellsName>)]
    pub cells: Option<String>,
}

/// The account's meetings that are over, in the meeting-log format that
/// `seatmeter usage` and `seatmeter import` read (CSV: `meeting_id`,
/// `host` by e-mail, `start`, `end`, `web_attendees`, `phone_attendees`).
/// Running meetings, and meetings never held, are left out.
#[utoipa::path(get, path = "/v1/meetings/export", tag = "meetings", security(("token" = [])), params(ExportQuery),
    responses((status = 200, description = "The meeting log (CSV)", content_type = "text/csv"), (status = 403, body = ErrorBody)))]
pub async fn export_meetings(
    State(state): State<Services>,
    principal: Principal,
    Params(query): Params<ExportQuery>,
) -> Result<Response, ApiError> {
    let cells = super::csv_cells(query.cells.as_deref())?;
    let log = app::meetings::export(&state, &principal, cells, state.clock.now()).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], log).into_response())
}

/// The account's rules for meetings, as the API shows them.
#[derive(Serialize, ToSchema, Debug)]
pub struct MeetingRulesView {
    /// Meetings a host may run at once, unless the user has their own limit (default 1).
    pub concurrency_limit: i64,
    /// A meeting still running after this many minutes is ended automatically (default 1440).
    pub max_meeting_minutes: i64,
    /// Whether meetings with only teleconference attendees count towards host licenses (default false).
    pub count_teleconference_only: bool,
    /// Whether scheduling a meeting that would put its host over their concurrency limit among
    /// their scheduled meetings is refused (409 `schedule_conflict`), instead of found when it starts (default false).
    pub refuse_schedule_conflicts: bool,
    /// Why the account is disabled, when it is: then nobody can schedule, start or join meetings.
    pub disabled_reason: Option<String>,
}

impl From<MeetingRules> for MeetingRulesView {
    fn from(rules: MeetingRules) -> Self {
        MeetingRulesView {
            concurrency_limit: rules.concurrency_limit,
            max_meeting_minutes: rules.max_meeting_minutes,
            count_teleconference_only: rules.count_teleconference_only != 0,
            refuse_schedule_conflicts: rules.refuse_schedule_conflicts != 0,
            disabled_reason: rules.disabled_reason,
        }
    }
}

/// Changes to the account's rules for meetings; fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingRulesChanges {
    /// How many meetings a host may run at once, 1 to 1,000.
    #[schema(minimum = 1, maximum = 1000)]
    pub concurrency_limit: Option<i64>,
    /// The longest a meeting runs before it is ended, in minutes: 1 to 43,200 (30 days).
    #[schema(minimum = 1, maximum = 43200)]
    pub max_meeting_minutes: Option<i64>,
    /// Count teleconference-only meetings too.
    pub count_teleconference_only: Option<bool>,
    /// Refuse a meeting scheduled over its host's concurrency limit among their scheduled meetings.
    pub refuse_schedule_conflicts: Option<bool>,
}

/// The account's rules for meetings.
#[utoipa::path(get, path = "/v1/account/meeting-rules", tag = "accounts", security(("token" = [])),
    responses((status = 200, body = MeetingRulesView)))]
pub async fn get_rules(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<MeetingRulesView>, ApiError> {
    Ok(Json(app::meetings::rules(&state, &principal).await?.into()))
}

/// Changes the account's rules for meetings (administrators of users &
/// licenses). A new maximum duration or counting policy applies to past
/// meetings too: live usage is re-settled in the same transaction.
#[utoipa::path(patch, path = "/v1/account/meeting-rules", tag = "accounts", security(("token" = [])),
    request_body = MeetingRulesChanges,
    responses((status = 200, body = MeetingRulesView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_rules(
    State(state): State<Services>,
    principal: Principal,
    Body(changes): Body<MeetingRulesChanges>,
) -> Result<Json<MeetingRulesView>, ApiError> {
    let changes = app::meetings::RulesChanges {
        concurrency_limit: changes.concurrency_limit,
        max_meeting_minutes: changes.max_meeting_minutes,
        count_teleconference_only: changes.count_teleconference_only,
        refuse_schedule_conflicts: changes.refuse_schedule_conflicts,
    };
    Ok(Json(app::meetings::update_rules(&state, &principal, &changes, state.clock.now()).await?.into()))
}
