//! Meetings: scheduling (for oneself, or for another user with a scheduling
//! privilege or as an administrator), the admission check ("may this host
//! start this meeting now?"), starting, and listing.
//!
//! A meeting belongs to its host, who is charged its licenses, whoever
//! scheduled it. Any number of meetings may be scheduled for the same time;
//! the host's concurrency limit (the account's default, or the user's own)
//! applies when meetings *start*. Starting is atomic: the host's user row
//! is locked (PostgreSQL) or the database's write lock held (SQLite) while
//! the running meetings are counted and the start recorded, so however
//! many servers race, a host never runs more meetings than its limit.
//!
//! Who may act on a meeting: its host, whoever scheduled it, and
//! administrators of users & licenses. To anyone else it does not exist.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use seatmeter_core::meeting::{Admission, MeetingFacts, admit};
use seatmeter_core::people::AdminArea;
use seatmeter_core::usage::CountPolicy;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::Principal;
use crate::app::Services;
pub use crate::http::rfc3339_ms;
use crate::http::{ApiError, Body, ErrorBody, Params};
use crate::secrets::new_id;
use crate::store::is_unique_violation;
use crate::store::{DbError, Tx};

/// A meeting as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MeetingRow {
    /// Its id (`mtg_…`).
    pub id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// The platform's id for it, or a log's `meeting_id`.
    pub external_id: Option<String>,
    /// Its host (owner), who is charged its licenses.
    pub host_user_id: String,
    /// Who scheduled it, when someone did.
    pub scheduled_by_user_id: Option<String>,
    /// Its title.
    pub title: String,
    /// Scheduled start (ms).
    pub scheduled_start_ms: Option<i64>,
    /// Scheduled end (ms).
    pub scheduled_end_ms: Option<i64>,
    /// Earliest start or join reported (ms).
    pub started_ms: Option<i64>,
    /// Earliest end reported (ms).
    pub ended_ms: Option<i64>,
    /// Distinct web attendees.
    pub web_attendees: i64,
    /// Distinct teleconference attendees.
    pub phone_attendees: i64,
    /// Start of the interval counted in live usage.
    pub usage_start_ms: Option<i64>,
    /// End of the interval counted in live usage.
    pub usage_end_ms: Option<i64>,
    /// When it was ended automatically after the maximum duration.
    pub auto_ended_ms: Option<i64>,
    /// When it was scheduled or imported (ms).
    pub created_ms: i64,
}

/// The columns of [`MeetingRow`].
pub const MEETING_COLUMNS: [&str; 16] = [
    "id",
    "account_id",
    "external_id",
    "host_user_id",
    "scheduled_by_user_id",
    "title",
    "scheduled_start_ms",
    "scheduled_end_ms",
    "started_ms",
    "ended_ms",
    "web_attendees",
    "phone_attendees",
    "usage_start_ms",
    "usage_end_ms",
    "auto_ended_ms",
    "created_ms",
];

impl MeetingRow {
    /// What is known of the meeting.
    pub fn facts(&self) -> MeetingFacts {
        MeetingFacts {
            started_ms: self.started_ms,
            ended_ms: self.ended_ms,
            web_attendees: u64::try_from(self.web_attendees).unwrap_or(0),
            phone_attendees: u64::try_from(self.phone_attendees).unwrap_or(0),
        }
    }

    /// Stores `facts` in the row.
    pub fn set_facts(&mut self, facts: &MeetingFacts) {
        self.started_ms = facts.started_ms;
        self.ended_ms = facts.ended_ms;
        self.web_attendees = i64::try_from(facts.web_attendees).unwrap_or(i64::MAX);
        self.phone_attendees = i64::try_from(facts.phone_attendees).unwrap_or(i64::MAX);
    }

    /// The interval counted in live usage, as stored.
    pub fn usage_interval(&self) -> Option<(i64, i64)> {
        self.usage_start_ms.zip(self.usage_end_ms)
    }
}

/// An account's rules for meetings, and what live usage needs of it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MeetingRules {
    /// Meetings a host may run at once, unless the user has their own limit.
    pub concurrency_limit: i64,
    /// A meeting still running after this long is ended automatically.
    pub max_meeting_minutes: i64,
    /// 1 when teleconference-only meetings count towards host licenses.
    pub count_teleconference_only: i64,
    /// Why the account is disabled, when it is.
    pub disabled_reason: Option<String>,
    /// Anchor of the 30-day windows (ms).
    pub anchor_ms: i64,
    /// The number of the account's latest usage change.
    pub usage_seq: i64,
}

impl MeetingRules {
    /// The maximum duration in milliseconds.
    pub fn max_duration_ms(&self) -> i64 {
        self.max_meeting_minutes.saturating_mul(60_000)
    }

    /// Which meetings count.
    pub fn policy(&self) -> CountPolicy {
        if self.count_teleconference_only != 0 {
            CountPolicy::CountTeleconferenceOnly
        } else {
            CountPolicy::WebOnly
        }
    }
}

/// The query for `account_id`'s [`MeetingRules`].
pub fn rules_query(account_id: &str) -> SelectStatement {
    Query::select()
        .columns([
            "concurrency_limit",
            "max_meeting_minutes",
            "count_teleconference_only",
            "disabled_reason",
            "anchor_ms",
            "usage_seq",
        ])
        .from("accounts")
        .and_where(Expr::col("id").eq(account_id))
        .to_owned()
}

/// The query for meeting `id` of `account_id`.
pub fn meeting_query(account_id: &str, id: &str) -> SelectStatement {
    Query::select()
        .columns(MEETING_COLUMNS)
        .from("meetings")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("id").eq(id))
        .to_owned()
}

/// Whether `principal` may see and act on `meeting`.
pub fn may_act_on(principal: &Principal, meeting: &MeetingRow) -> bool {
    principal.administers(AdminArea::UsersLicenses)
        || meeting.host_user_id == principal.user_id
        || meeting.scheduled_by_user_id.as_deref() == Some(principal.user_id.as_str())
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no meeting {id:?} in your account"))
}

fn invalid(message: impl Into<String>, field: &str) -> ApiError {
    ApiError::Invalid { message: message.into(), field: Some(field.to_string()) }
}

/// Parses an RFC 3339 timestamp with an offset into UTC milliseconds.
pub fn parse_time_ms(text: &str, field: &str) -> Result<i64, ApiError> {
    seatmeter_core::time::parse_rfc3339(text.as_bytes())
        .map(|t| t.0.div_euclid(1_000_000))
        .map_err(|e| invalid(format!("{field} {text:?} {e}"), field))
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

impl MeetingView {
    /// The view of `row` at `now_ms` under `rules`.
    pub fn of(row: MeetingRow, rules: &MeetingRules, now_ms: i64) -> Self {
        let facts = row.facts();
        let max = rules.max_duration_ms();
        let run = facts.run(now_ms, max);
        let state = if facts.is_running(now_ms, max) {
            "running"
        } else if facts.started_ms.is_none() && facts.ended_ms.is_none() {
            "scheduled"
        } else {
            "ended"
        };
        MeetingView {
            external_id: row.external_id,
            host_user_id: row.host_user_id,
            scheduled_by_user_id: row.scheduled_by_user_id,
            title: row.title,
            scheduled_start: row.scheduled_start_ms.map(rfc3339_ms),
            scheduled_end: row.scheduled_end_ms.map(rfc3339_ms),
            state,
            started_at: facts.started_ms.map(rfc3339_ms),
            ended_at: run.map(|r| r.end_ms).or(facts.ended_ms).map(rfc3339_ms),
            auto_ended: run.is_some_and(|r| r.auto_ended),
            web_attendees: row.web_attendees,
            phone_attendees: row.phone_attendees,
            counted: run.map(|_| facts.attendance(rules.policy()).is_counted()),
            id: row.id,
        }
    }
}

/// A meeting to schedule.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    /// Its title (1 to 200 characters).
    pub title: String,
    /// Its host (default: the caller). Scheduling for someone else needs
    /// their scheduling privilege, or an administrator of users & licenses.
    pub host_user_id: Option<String>,
    /// Scheduled start, RFC 3339 with an offset.
    pub scheduled_start: Option<String>,
    /// Scheduled end, after the start.
    pub scheduled_end: Option<String>,
    /// The platform's own id for the meeting, unique in the account (1 to 200 characters).
    pub external_id: Option<String>,
}

/// Fetches the account's rules.
pub async fn account_rules(db: &crate::store::Db, account_id: &str) -> Result<MeetingRules, ApiError> {
    db.fetch_optional(&rules_query(account_id))
        .await?
        .ok_or_else(|| ApiError::NotFound("the account no longer exists".into()))
}

/// Fetches the account's rules inside `tx`.
pub async fn rules_in_tx(tx: &mut Tx, account_id: &str) -> Result<MeetingRules, ApiError> {
    tx.fetch_optional(&rules_query(account_id))
        .await?
        .ok_or_else(|| ApiError::NotFound("the account no longer exists".into()))
}

/// What an admission check reads.
#[derive(Clone, Debug)]
pub struct AdmissionInputs {
    meeting: MeetingRow,
    host: HostRow,
    rules: MeetingRules,
    running: Vec<RunningRow>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct HostRow {
    concurrency_limit: Option<i64>,
    disabled_ms: Option<i64>,
}

fn host_query(account_id: &str, user_id: &str) -> SelectStatement {
    Query::select()
        .columns(["concurrency_limit", "disabled_ms"])
        .from("users")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("id").eq(user_id))
        .to_owned()
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
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("the title must be 1 to 200 characters", "title"));
    }
    let start = new.scheduled_start.as_deref().map(|s| parse_time_ms(s, "scheduled_start")).transpose()?;
    let end = new.scheduled_end.as_deref().map(|s| parse_time_ms(s, "scheduled_end")).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        return Err(invalid("the scheduled end must be after the scheduled start", "scheduled_end"));
    }
    if let Some(external) = &new.external_id
        && (external.is_empty() || external.chars().count() > 200 || external.chars().any(char::is_control))
    {
        return Err(invalid(
            "the external id must be 1 to 200 characters, none of them control characters",
            "external_id",
        ));
    }
    let host = new.host_user_id.clone().unwrap_or_else(|| principal.user_id.to_string());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let rules = rules_in_tx(&mut tx, &principal.account_id).await?;
    if let Some(reason) = &rules.disabled_reason {
        return Err(ApiError::Refused {
            status: StatusCode::CONFLICT,
            code: "account_disabled",
            message: format!("the account is disabled, so no meeting can be scheduled: {reason}"),
        });
    }
    let host_row: Option<HostRow> = tx.fetch_optional(&host_query(&principal.account_id, &host)).await?;
    let Some(host_row) = host_row else {
        return Err(ApiError::NotFound(format!("no user {host:?} in your account")));
    };
    if host != principal.user_id
        && !principal.administers(AdminArea::UsersLicenses)
        && !crate::app::privileges::has_privilege(&mut tx, &principal.account_id, &principal.user_id, &host)
            .await?
    {
        return Err(ApiError::Forbidden(
            "you may schedule only for yourself and for users who gave you their scheduling privilege".into(),
        ));
    }
    if host_row.disabled_ms.is_some() {
        return Err(ApiError::Conflict {
            message: "the host is disabled".into(),
            field: Some("host_user_id".into()),
        });
    }
    let row = MeetingRow {
        id: new_id("mtg"),
        account_id: principal.account_id.to_string(),
        external_id: new.external_id.clone(),
        host_user_id: host.clone(),
        scheduled_by_user_id: Some(principal.user_id.to_string()),
        title: title.to_string(),
        scheduled_start_ms: start,
        scheduled_end_ms: end,
        started_ms: None,
        ended_ms: None,
        web_attendees: 0,
        phone_attendees: 0,
        usage_start_ms: None,
        usage_end_ms: None,
        auto_ended_ms: None,
        created_ms: now,
    };
    match insert_meetings(&mut tx, std::slice::from_ref(&row)).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict {
                message: "a meeting with this external id exists already in your account".into(),
                field: Some("external_id".into()),
            });
        }
        other => other?,
    }
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "meeting.scheduled",
        ("meeting", &row.id),
        json!({"host_user_id": host, "title": row.title, "scheduled_start": start.map(rfc3339_ms)}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(MeetingView::of(row, &rules, now))))
}

/// Inserts meetings (a few hundred at a time, within both databases' limits on parameters).
pub async fn insert_meetings(tx: &mut Tx, rows: &[MeetingRow]) -> Result<(), DbError> {
    write_meetings(tx, &rows.iter().collect::<Vec<_>>(), None).await
}

/// The columns of a meeting that its events and its usage change.
const TIMES: [&str; 5] = ["started_ms", "ended_ms", "usage_start_ms", "usage_end_ms", "auto_ended_ms"];
const COUNTS: [&str; 2] = ["web_attendees", "phone_attendees"];

/// Writes what `rows` now know of meetings that exist (their facts, their
/// usage interval and whether they were ended automatically), given the
/// same meetings as they were read (`read`, by id; a meeting not in it is
/// written whole). Unchanged meetings are not written; those whose times
/// did not change (attendees joined) are written without their times, so
/// that the indexes over the times are left alone. One statement per few
/// hundred meetings.
pub async fn update_meetings(
    tx: &mut Tx,
    rows: &[MeetingRow],
    read: &BTreeMap<String, MeetingRow>,
) -> Result<(), DbError> {
    let times =
        |m: &MeetingRow| (m.started_ms, m.ended_ms, m.usage_start_ms, m.usage_end_ms, m.auto_ended_ms);
    let mut whole = Vec::new();
    let mut counts = Vec::new();
    for row in rows {
        match read.get(&row.id) {
            Some(before) if before == row => {}
            Some(before) if times(before) == times(row) => counts.push(row),
            _ => whole.push(row),
        }
    }
    let all: Vec<&str> = TIMES.iter().chain(&COUNTS).copied().collect();
    write_meetings(tx, &whole, Some(OnConflict::column("id").update_columns(all).to_owned())).await?;
    write_meetings(tx, &counts, Some(OnConflict::column("id").update_columns(COUNTS).to_owned())).await
}

async fn write_meetings(
    tx: &mut Tx,
    rows: &[&MeetingRow],
    on_conflict: Option<OnConflict>,
) -> Result<(), DbError> {
    for chunk in rows.chunks(500) {
        let mut insert = Query::insert();
        insert.into_table("meetings").columns(MEETING_COLUMNS);
        for row in chunk {
            insert.values_panic([
                row.id.clone().into(),
                row.account_id.clone().into(),
                row.external_id.clone().into(),
                row.host_user_id.clone().into(),
                row.scheduled_by_user_id.clone().into(),
                row.title.clone().into(),
                row.scheduled_start_ms.into(),
                row.scheduled_end_ms.into(),
                row.started_ms.into(),
                row.ended_ms.into(),
                row.web_attendees.into(),
                row.phone_attendees.into(),
                row.usage_start_ms.into(),
                row.usage_end_ms.into(),
                row.auto_ended_ms.into(),
                row.created_ms.into(),
            ]);
        }
        if let Some(on_conflict) = &on_conflict {
            insert.on_conflict(on_conflict.clone());
        }
        tx.execute(&insert).await?;
    }
    Ok(())
}

/// Which meetings to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MeetingFilter {
    /// `scheduled`, `running` or `ended`.
    pub state: Option<String>,
    /// Only this host's meetings.
    pub host_user_id: Option<String>,
    /// At most this many, newest first (default 100, at most 1,000).
    pub limit: Option<u64>,
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
    let limit = filter.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(invalid("limit must be 1 to 1000", "limit"));
    }
    let now = state.clock.now();
    let rules = account_rules(&state.db, &principal.account_id).await?;
    let mut select = Query::select();
    select
        .columns(MEETING_COLUMNS)
        .from("meetings")
        .and_where(Expr::col("account_id").eq(principal.account_id.as_str()));
    if !principal.administers(AdminArea::UsersLicenses) {
        select.and_where(
            Expr::col("host_user_id")
                .eq(principal.user_id.as_str())
                .or(Expr::col("scheduled_by_user_id").eq(principal.user_id.as_str())),
        );
    }
    if let Some(host) = &filter.host_user_id {
        select.and_where(Expr::col("host_user_id").eq(host.as_str()));
    }
    let running_since = now.saturating_sub(rules.max_duration_ms());
    match filter.state.as_deref() {
        None => {}
        Some("scheduled") => {
            select.and_where(Expr::col("started_ms").is_null()).and_where(Expr::col("ended_ms").is_null());
        }
        Some("running") => {
            select
                .and_where(Expr::col("started_ms").gt(running_since))
                .and_where(Expr::col("ended_ms").is_null());
        }
        Some("ended") => {
            select.and_where(
                Expr::col("ended_ms").is_not_null().or(Expr::col("started_ms").lte(running_since)),
            );
        }
        Some(other) => {
            return Err(invalid(
                format!("unknown state {other:?}: use scheduled, running or ended"),
                "state",
            ));
        }
    }
    select.order_by("created_ms", Order::Desc).order_by("id", Order::Desc).limit(limit);
    let rows: Vec<MeetingRow> = state.db.fetch_all(&select).await?;
    Ok(Json(rows.into_iter().map(|r| MeetingView::of(r, &rules, now)).collect()))
}

/// One meeting.
#[utoipa::path(get, path = "/v1/meetings/{id}", tag = "meetings", security(("token" = [])),
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody)))]
pub async fn get_meeting(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    let now = state.clock.now();
    let row: MeetingRow = state
        .db
        .fetch_optional(&meeting_query(&principal.account_id, &id))
        .await?
        .filter(|m| may_act_on(&principal, m))
        .ok_or_else(|| not_found(&id))?;
    let rules = account_rules(&state.db, &principal.account_id).await?;
    Ok(Json(MeetingView::of(row, &rules, now)))
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

/// The host's meetings running at `now` (started, not ended, not past the maximum duration).
pub fn running_query(account_id: &str, host: &str, rules: &MeetingRules, now: i64) -> SelectStatement {
    Query::select()
        .columns(["id", "started_ms"])
        .from("meetings")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("host_user_id").eq(host))
        .and_where(Expr::col("ended_ms").is_null())
        .and_where(Expr::col("started_ms").gt(now.saturating_sub(rules.max_duration_ms())))
        .order_by("started_ms", Order::Asc)
        .order_by("id", Order::Asc)
        .to_owned()
}

#[derive(Clone, Debug, sqlx::FromRow)]
struct RunningRow {
    id: String,
    started_ms: i64,
}

/// Decides admission from what was read.
fn decide(
    meeting: &MeetingRow,
    host: &HostRow,
    rules: &MeetingRules,
    running: &[RunningRow],
    now: i64,
) -> AdmissionView {
    // Perhaps read a moment ago: a meeting past its maximum duration since is no longer running.
    let running: Vec<String> = running
        .iter()
        .filter(|r| now < r.started_ms.saturating_add(rules.max_duration_ms()))
        .map(|r| r.id.clone())
        .collect();
    let limit = Ord::max(host.concurrency_limit.unwrap_or(rules.concurrency_limit), 0);
    let facts = meeting.facts();
    let ended = facts.ended_ms.is_some() || facts.run(now, rules.max_duration_ms()).is_some();
    let (allowed, code, reason) = if ended {
        (false, "ended", Some("the meeting has ended; schedule a new one".to_string()))
    } else if host.disabled_ms.is_some() {
        (false, "host_disabled", Some("the host is disabled".to_string()))
    } else {
        let decision = admit(
            &meeting.id,
            &running,
            u32::try_from(limit).unwrap_or(u32::MAX),
            rules.disabled_reason.as_deref(),
        );
        let code = match &decision {
            Admission::Allowed => "allowed",
            Admission::AlreadyRunning => "already_running",
            Admission::AccountDisabled { .. } => "account_disabled",
            Admission::ConcurrencyLimit { .. } => "concurrency_limit",
        };
        (decision.is_allowed(), code, decision.reason())
    };
    AdmissionView {
        meeting_id: meeting.id.clone(),
        host_user_id: meeting.host_user_id.clone(),
        allowed,
        code,
        reason,
        limit,
        running,
    }
}

/// May this meeting's host start it now? Answers without changing anything:
/// allowed, or refused with the reason (the account is disabled; the host's
/// concurrency limit is reached, naming the meetings running). The answer
/// reflects changes made through this server at once and changes made
/// through other servers on the same database within a second; starting
/// (`POST …/start`) is always decided on the database.
#[utoipa::path(get, path = "/v1/meetings/{id}/admission", tag = "meetings", security(("token" = [])),
    responses((status = 200, body = AdmissionView), (status = 404, body = ErrorBody)))]
pub async fn admission(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<AdmissionView>, ApiError> {
    let now = state.clock.now();
    let inputs = kept_inputs(&state, &principal, &id, now).await?;
    Ok(Json(decide(&inputs.meeting, &inputs.host, &inputs.rules, &inputs.running, now)))
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

/// May attendees join this meeting now? Refused while the account is
/// disabled (with the reason) and once the meeting has ended. Answers
/// from the same kept inputs as the host's admission check.
#[utoipa::path(get, path = "/v1/meetings/{id}/attendance", tag = "meetings", security(("token" = [])),
    responses((status = 200, body = AttendanceView), (status = 404, body = ErrorBody)))]
pub async fn attendance(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<AttendanceView>, ApiError> {
    let now = state.clock.now();
    let inputs = kept_inputs(&state, &principal, &id, now).await?;
    let facts = inputs.meeting.facts();
    let ended = facts.ended_ms.is_some() || facts.run(now, inputs.rules.max_duration_ms()).is_some();
    let (allowed, code, reason) = match &inputs.rules.disabled_reason {
        Some(reason) => (false, "account_disabled", Some(format!("the account is disabled: {reason}"))),
        None if ended => (false, "ended", Some("the meeting has ended".to_string())),
        None => (true, "allowed", None),
    };
    Ok(Json(AttendanceView { meeting_id: inputs.meeting.id.clone(), allowed, code, reason }))
}

/// What deciding admission for meeting `id` needs, kept in memory (see
/// [`crate::recent`]); not found unless the caller may act on the meeting.
async fn kept_inputs(
    state: &Services,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<std::sync::Arc<AdmissionInputs>, ApiError> {
    let key = (principal.account_id.to_string(), id.to_string());
    let inputs = match state.kept.admissions.get(&key) {
        Some(inputs) => inputs,
        None => {
            let loaded = std::time::Instant::now();
            let inputs =
                std::sync::Arc::new(admission_inputs(&state.db, &principal.account_id, id, now).await?);
            state.kept.admissions.put(key, &inputs.meeting.host_user_id, inputs.clone(), loaded);
            inputs
        }
    };
    if !may_act_on(principal, &inputs.meeting) {
        return Err(not_found(id));
    }
    Ok(inputs)
}

/// Reads what deciding admission for meeting `id` needs.
async fn admission_inputs(
    db: &crate::store::Db,
    account_id: &str,
    id: &str,
    now: i64,
) -> Result<AdmissionInputs, ApiError> {
    let meeting: MeetingRow =
        db.fetch_optional(&meeting_query(account_id, id)).await?.ok_or_else(|| not_found(id))?;
    let rules = account_rules(db, account_id).await?;
    let host: HostRow = db
        .fetch_optional(&host_query(account_id, &meeting.host_user_id))
        .await?
        .ok_or_else(|| not_found(id))?;
    let running: Vec<RunningRow> =
        db.fetch_all(&running_query(account_id, &meeting.host_user_id, &rules, now)).await?;
    Ok(AdmissionInputs { meeting, host, rules, running })
}

/// Starts a meeting now, if its host may: atomically checks the account,
/// the host and the host's concurrency limit and records the start. 409
/// with code `concurrency_limit` (naming the meetings running),
/// `account_disabled`, `host_disabled` or `ended` when it may not. Starting
/// a running meeting again changes nothing.
#[utoipa::path(post, path = "/v1/meetings/{id}/start", tag = "meetings", security(("token" = [])),
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let meeting: MeetingRow = tx
        .fetch_optional(&meeting_query(&principal.account_id, &id).lock_exclusive().to_owned())
        .await?
        .filter(|m| may_act_on(&principal, m))
        .ok_or_else(|| not_found(&id))?;
    // The host's row lock serialises every start of the host's meetings.
    let host: HostRow = tx
        .fetch_optional(&host_query(&principal.account_id, &meeting.host_user_id).lock_exclusive().to_owned())
        .await?
        .ok_or_else(|| not_found(&id))?;
    let rules = rules_in_tx(&mut tx, &principal.account_id).await?;
    let running: Vec<RunningRow> =
        tx.fetch_all(&running_query(&principal.account_id, &meeting.host_user_id, &rules, now)).await?;
    let decision = decide(&meeting, &host, &rules, &running, now);
    if !decision.allowed {
        return Err(ApiError::Refused {
            status: StatusCode::CONFLICT,
            code: decision.code,
            message: decision.reason.unwrap_or_default(),
        });
    }
    let mut row = meeting;
    if decision.code == "allowed" {
        let event =
            seatmeter_core::meeting::Event { at_ms: now, kind: seatmeter_core::meeting::EventKind::Started };
        crate::events::record_start(&mut tx, &row, &event, now).await?;
        let mut facts = row.facts();
        facts.apply(&event, false);
        row.set_facts(&facts);
        tx.execute(
            Query::update()
                .table("meetings")
                .value("started_ms", row.started_ms)
                .and_where(Expr::col("id").eq(row.id.as_str())),
        )
        .await?;
        crate::store::activities::record(
            &mut tx,
            &principal.account_id,
            now,
            Some(&principal.user_id),
            "meeting.started",
            ("meeting", &row.id),
            json!({"host_user_id": row.host_user_id}),
        )
        .await?;
    }
    crate::recent::note_changes(&mut tx, [row.host_user_id.as_str()], now).await?;
    tx.commit().await?;
    state.kept.forget(&row.host_user_id);
    Ok(Json(MeetingView::of(row, &rules, now)))
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
    /// Why the account is disabled, when it is: then nobody can schedule, start or join meetings.
    pub disabled_reason: Option<String>,
}

impl From<&MeetingRules> for MeetingRulesView {
    fn from(rules: &MeetingRules) -> Self {
        MeetingRulesView {
            concurrency_limit: rules.concurrency_limit,
            max_meeting_minutes: rules.max_meeting_minutes,
            count_teleconference_only: rules.count_teleconference_only != 0,
            disabled_reason: rules.disabled_reason.clone(),
        }
    }
}

/// Changes to the account's rules for meetings; fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingRulesChanges {
    /// 1 to 1,000.
    pub concurrency_limit: Option<i64>,
    /// 1 to 43,200 (30 days).
    pub max_meeting_minutes: Option<i64>,
    /// Count teleconference-only meetings too.
    pub count_teleconference_only: Option<bool>,
}

/// The account's rules for meetings.
#[utoipa::path(get, path = "/v1/account/meeting-rules", tag = "accounts", security(("token" = [])),
    responses((status = 200, body = MeetingRulesView)))]
pub async fn get_rules(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<MeetingRulesView>, ApiError> {
    let rules = account_rules(&state.db, &principal.account_id).await?;
    Ok(Json(MeetingRulesView::from(&rules)))
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
    if !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::Forbidden(
            "changing meeting rules needs an administrator of users & licenses".into(),
        ));
    }
    if changes.concurrency_limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(invalid("the concurrency limit must be 1 to 1000", "concurrency_limit"));
    }
    if changes.max_meeting_minutes.is_some_and(|m| !(1..=43_200).contains(&m)) {
        return Err(invalid(
            "the maximum meeting duration must be 1 to 43200 minutes",
            "max_meeting_minutes",
        ));
    }
    let now = state.clock.now();
    let account = principal.account_id.as_str();
    let mut tx = state.db.begin().await?;
    let before = rules_in_tx(&mut tx, account).await?;
    let mut rules = before.clone();
    if let Some(limit) = changes.concurrency_limit {
        rules.concurrency_limit = limit;
    }
    if let Some(minutes) = changes.max_meeting_minutes {
        rules.max_meeting_minutes = minutes;
    }
    if let Some(count) = changes.count_teleconference_only {
        rules.count_teleconference_only = i64::from(count);
    }
    tx.execute(
        Query::update()
            .table("accounts")
            .value("concurrency_limit", rules.concurrency_limit)
            .value("max_meeting_minutes", rules.max_meeting_minutes)
            .value("count_teleconference_only", rules.count_teleconference_only)
            .and_where(Expr::col("id").eq(account)),
    )
    .await?;
    if rules.max_meeting_minutes != before.max_meeting_minutes
        || rules.count_teleconference_only != before.count_teleconference_only
    {
        let mut started: Vec<MeetingRow> = tx
            .fetch_all(
                Query::select()
                    .columns(MEETING_COLUMNS)
                    .from("meetings")
                    .and_where(Expr::col("account_id").eq(account))
                    .and_where(Expr::col("started_ms").is_not_null())
                    .order_by("id", Order::Asc)
                    .lock_exclusive(),
            )
            .await?;
        let read = crate::live::by_id(&started);
        crate::live::store_settled(&mut tx, &rules, &mut started, &read, now).await?;
    }
    crate::store::activities::record(
        &mut tx,
        account,
        now,
        Some(&principal.user_id),
        "account.meeting_rules_changed",
        ("account", account),
        json!({"concurrency_limit": rules.concurrency_limit, "max_meeting_minutes": rules.max_meeting_minutes,
               "count_teleconference_only": rules.count_teleconference_only != 0}),
    )
    .await?;
    crate::recent::note_changes(&mut tx, [crate::recent::ALL], now).await?;
    tx.commit().await?;
    state.kept.forget(crate::recent::ALL);
    Ok(Json(MeetingRulesView::from(&rules)))
}

/// The external ids of the account's meetings (a log's `meeting_id` for imported ones).
pub async fn external_ids(
    db: &crate::store::Db,
    account_id: &str,
) -> Result<std::collections::HashSet<String>, DbError> {
    #[derive(sqlx::FromRow)]
    struct ExternalId {
        external_id: String,
    }
    let rows: Vec<ExternalId> = db
        .fetch_all(
            Query::select()
                .column("external_id")
                .from("meetings")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("external_id").is_not_null()),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.external_id).collect())
}
