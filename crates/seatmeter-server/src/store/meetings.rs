//! The `meetings` table, and the two things meetings read of others: the
//! account's rules for meetings (columns of `accounts`) and a host's
//! limits (columns of `users`).
//!
//! A meeting's row holds the facts its events established and the
//! interval it adds to live usage now; writes compare with the rows as
//! they were read and leave unchanged meetings, and the indexes over
//! unchanged times, alone.

use std::collections::{BTreeMap, HashSet};

use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use seatmeter_core::meeting::MeetingFacts;
use seatmeter_core::usage::CountPolicy;

use super::{DbError, Executor, Tx};

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
    /// 1 when scheduling refuses a meeting that would put its host over
    /// their concurrency limit among their scheduled meetings.
    pub refuse_schedule_conflicts: i64,
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

/// The rules of `account_id`.
pub async fn rules(ex: impl Executor, account_id: &str) -> Result<Option<MeetingRules>, DbError> {
    ex.fetch_optional(
        Query::select()
            .columns([
                "concurrency_limit",
                "max_meeting_minutes",
                "count_teleconference_only",
                "refuse_schedule_conflicts",
                "disabled_reason",
                "anchor_ms",
                "usage_seq",
            ])
            .from("accounts")
            .and_where(Expr::col("id").eq(account_id)),
    )
    .await
}

/// Stores the concurrency limit, maximum duration and counting policy of `rules`.
pub async fn set_rules(ex: impl Executor, account_id: &str, rules: &MeetingRules) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("accounts")
            .value("concurrency_limit", rules.concurrency_limit)
            .value("max_meeting_minutes", rules.max_meeting_minutes)
            .value("count_teleconference_only", rules.count_teleconference_only)
            .value("refuse_schedule_conflicts", rules.refuse_schedule_conflicts)
            .and_where(Expr::col("id").eq(account_id)),
    )
    .await?;
    Ok(())
}

fn meeting_query(account_id: &str, id: &str) -> SelectStatement {
    Query::select()
        .columns(MEETING_COLUMNS)
        .from("meetings")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("id").eq(id))
        .to_owned()
}

/// Meeting `id` of `account_id`.
pub async fn get(ex: impl Executor, account_id: &str, id: &str) -> Result<Option<MeetingRow>, DbError> {
    ex.fetch_optional(&meeting_query(account_id, id)).await
}

/// Meeting `id` of `account_id`, locked until the end of the transaction.
pub async fn get_for_update(
    ex: impl Executor,
    account_id: &str,
    id: &str,
) -> Result<Option<MeetingRow>, DbError> {
    ex.fetch_optional(meeting_query(account_id, id).lock_exclusive()).await
}

/// What meetings need to know of their host.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct HostLimits {
    /// How many meetings the host may run at once, when not the account's default.
    pub concurrency_limit: Option<i64>,
    /// When the host was disabled, if they are.
    pub disabled_ms: Option<i64>,
}

fn host_query(account_id: &str, user_id: &str) -> SelectStatement {
    Query::select()
        .columns(["concurrency_limit", "disabled_ms"])
        .from("users")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("id").eq(user_id))
        .to_owned()
}

/// The limits of user `user_id` of `account_id` as a host.
pub async fn host(ex: impl Executor, account_id: &str, user_id: &str) -> Result<Option<HostLimits>, DbError> {
    ex.fetch_optional(&host_query(account_id, user_id)).await
}

/// The limits of host `user_id`, whose row stays locked until the end of
/// the transaction: the lock serialises every start of the host's meetings.
pub async fn host_for_update(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
) -> Result<Option<HostLimits>, DbError> {
    ex.fetch_optional(host_query(account_id, user_id).lock_exclusive()).await
}

/// A meeting running now.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RunningRow {
    /// Its id.
    pub id: String,
    /// When it started (ms).
    pub started_ms: i64,
}

/// The meetings of `host` running now: started after `since` (now less
/// the maximum duration) and not ended; oldest first.
pub async fn running(
    ex: impl Executor,
    account_id: &str,
    host: &str,
    since: i64,
) -> Result<Vec<RunningRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(["id", "started_ms"])
            .from("meetings")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("host_user_id").eq(host))
            .and_where(Expr::col("ended_ms").is_null())
            .and_where(Expr::col("started_ms").gt(since))
            .order_by("started_ms", Order::Asc)
            .order_by("id", Order::Asc),
    )
    .await
}

/// Where a meeting is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeetingState {
    /// Not started.
    Scheduled,
    /// Started, not ended, and not past the maximum duration.
    Running,
    /// Ended, or past the maximum duration.
    Ended,
}

impl MeetingState {
    /// `scheduled`, `running` or `ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Scheduled => "scheduled",
            MeetingState::Running => "running",
            MeetingState::Ended => "ended",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "scheduled" => Some(MeetingState::Scheduled),
            "running" => Some(MeetingState::Running),
            "ended" => Some(MeetingState::Ended),
            _ => None,
        }
    }
}

/// Which meetings of an account to list.
#[derive(Clone, Debug)]
pub struct ListFilter<'a> {
    /// Only those this user hosts or scheduled.
    pub involving: Option<&'a str>,
    /// Only this host's.
    pub host_user_id: Option<&'a str>,
    /// Only those in this state, with meetings started at or before
    /// `running_since` (now less the maximum duration) counting as ended.
    pub state: Option<(MeetingState, i64)>,
    /// At most this many, newest first.
    pub limit: u64,
}

/// The meetings of `account_id` that `filter` selects, newest first.
pub async fn list(
    ex: impl Executor,
    account_id: &str,
    filter: &ListFilter<'_>,
) -> Result<Vec<MeetingRow>, DbError> {
    let mut select = Query::select();
    select.columns(MEETING_COLUMNS).from("meetings").and_where(Expr::col("account_id").eq(account_id));
    if let Some(user) = filter.involving {
        select.and_where(Expr::col("host_user_id").eq(user).or(Expr::col("scheduled_by_user_id").eq(user)));
    }
    if let Some(host) = filter.host_user_id {
        select.and_where(Expr::col("host_user_id").eq(host));
    }
    match filter.state {
        None => {}
        Some((MeetingState::Scheduled, _)) => {
            select.and_where(Expr::col("started_ms").is_null()).and_where(Expr::col("ended_ms").is_null());
        }
        Some((MeetingState::Running, since)) => {
            select.and_where(Expr::col("started_ms").gt(since)).and_where(Expr::col("ended_ms").is_null());
        }
        Some((MeetingState::Ended, since)) => {
            select.and_where(Expr::col("ended_ms").is_not_null().or(Expr::col("started_ms").lte(since)));
        }
    }
    select.order_by("created_ms", Order::Desc).order_by("id", Order::Desc).limit(filter.limit);
    ex.fetch_all(&select).await
}

/// The meetings of `account_id` that have started, locked, by id.
pub async fn started_for_update(ex: impl Executor, account_id: &str) -> Result<Vec<MeetingRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(MEETING_COLUMNS)
            .from("meetings")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("started_ms").is_not_null())
            .order_by("id", Order::Asc)
            .lock_exclusive(),
    )
    .await
}

/// The meetings of `account_id` among `ids`, locked in id order (so that
/// two writers never deadlock).
pub async fn by_ids_for_update(
    tx: &mut Tx,
    account_id: &str,
    ids: &[&str],
) -> Result<Vec<MeetingRow>, DbError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let found: Vec<MeetingRow> = tx
            .fetch_all(
                Query::select()
                    .columns(MEETING_COLUMNS)
                    .from("meetings")
                    .and_where(Expr::col("account_id").eq(account_id))
                    .and_where(Expr::col("id").is_in(chunk.iter().copied()))
                    .order_by("id", Order::Asc)
                    .lock_exclusive(),
            )
            .await?;
        rows.extend(found);
    }
    Ok(rows)
}

/// Meetings started at least their account's maximum duration before
/// `now`, with no end reported and not yet ended automatically.
fn overdue_query(account_id: Option<&str>, now: i64) -> SelectStatement {
    let mut select = Query::select();
    select
        .from_as("meetings", "m")
        .join_as(
            sea_query::JoinType::InnerJoin,
            "accounts",
            "a",
            Expr::col(("a", "id")).equals(("m", "account_id")),
        )
        .and_where(Expr::col(("m", "started_ms")).is_not_null())
        .and_where(Expr::col(("m", "ended_ms")).is_null())
        .and_where(Expr::col(("m", "auto_ended_ms")).is_null())
        .and_where(
            Expr::col(("m", "started_ms")).add(Expr::col(("a", "max_meeting_minutes")).mul(60_000)).lte(now),
        )
        // By start, so that the index of open meetings serves the query.
        .order_by(("m", "started_ms"), Order::Asc);
    if let Some(account) = account_id {
        select.and_where(Expr::col(("m", "account_id")).eq(account));
    }
    select
}

/// A meeting overdue to be ended automatically.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OverdueId {
    /// Its id.
    pub id: String,
    /// Its account.
    pub account_id: String,
}

/// Up to `limit` meetings overdue at `now` (of one account, or of all).
pub async fn overdue(
    ex: impl Executor,
    account_id: Option<&str>,
    now: i64,
    limit: u64,
) -> Result<Vec<OverdueId>, DbError> {
    let mut select = overdue_query(account_id, now);
    select
        .expr_as(Expr::col(("m", "id")), "id")
        .expr_as(Expr::col(("m", "account_id")), "account_id")
        .limit(limit);
    ex.fetch_all(&select).await
}

/// A meeting overdue to be ended automatically, with the number of its
/// account's latest usage change read by the same statement.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OverdueMeeting {
    /// The meeting.
    #[sqlx(flatten)]
    pub meeting: MeetingRow,
    /// The account's latest usage change when the meeting was read.
    pub usage_seq: i64,
}

/// Every meeting of `account_id` overdue at `now`, each with the account's
/// latest usage change as of the same statement: the usage changes up to
/// it are exactly those written before these meetings were read.
pub async fn overdue_with_seq(
    ex: impl Executor,
    account_id: &str,
    now: i64,
) -> Result<Vec<OverdueMeeting>, DbError> {
    let mut select = overdue_query(Some(account_id), now);
    for column in MEETING_COLUMNS {
        select.expr_as(Expr::col(("m", column)), column);
    }
    select.expr_as(Expr::col(("a", "usage_seq")), "usage_seq");
    ex.fetch_all(&select).await
}

/// The meetings of `account_id` among `ids` not yet ended automatically,
/// locked in id order.
pub async fn not_auto_ended_for_update(
    ex: impl Executor,
    account_id: &str,
    ids: &[String],
) -> Result<Vec<MeetingRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(MEETING_COLUMNS)
            .from("meetings")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").is_in(ids.iter().map(String::as_str)))
            .and_where(Expr::col("auto_ended_ms").is_null())
            .order_by("id", Order::Asc)
            .lock_exclusive(),
    )
    .await
}

/// Up to `limit` meetings of `account_id` that have started, with ids after
/// `after`, by id.
pub async fn started_after(
    ex: impl Executor,
    account_id: &str,
    after: &str,
    limit: u64,
) -> Result<Vec<MeetingRow>, DbError> {
    ex.fetch_all(
        Query::select()
            .columns(MEETING_COLUMNS)
            .from("meetings")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("started_ms").is_not_null())
            .and_where(Expr::col("id").gt(after))
            .order_by("id", Order::Asc)
            .limit(limit),
    )
    .await
}

/// Records that meeting `id` of `account_id` started at `started_ms`.
pub async fn set_started(
    ex: impl Executor,
    account_id: &str,
    id: &str,
    started_ms: Option<i64>,
) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("meetings")
            .value("started_ms", started_ms)
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(id)),
    )
    .await?;
    Ok(())
}

/// The external ids of the account's meetings (a log's `meeting_id` for imported ones).
pub async fn external_ids(ex: impl Executor, account_id: &str) -> Result<HashSet<String>, DbError> {
    #[derive(sqlx::FromRow)]
    struct ExternalId {
        external_id: String,
    }
    let rows: Vec<ExternalId> = ex
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

/// Inserts meetings (a few hundred at a time, within both databases' limits on parameters).
pub async fn insert(tx: &mut Tx, rows: &[MeetingRow]) -> Result<(), DbError> {
    write(tx, &rows.iter().collect::<Vec<_>>(), None).await
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
pub async fn update(
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
    write(tx, &whole, Some(OnConflict::column("id").update_columns(all).to_owned())).await?;
    write(tx, &counts, Some(OnConflict::column("id").update_columns(COUNTS).to_owned())).await
}

async fn write(tx: &mut Tx, rows: &[&MeetingRow], on_conflict: Option<OnConflict>) -> Result<(), DbError> {
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

/// When the meetings of `account_id` that started at or after `from_ms`
/// started (the dashboard's trend).
pub async fn started_since(ex: impl Executor, account_id: &str, from_ms: i64) -> Result<Vec<i64>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Started {
        started_ms: i64,
    }
    let rows: Vec<Started> = ex
        .fetch_all(
            Query::select()
                .column("started_ms")
                .from("meetings")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("started_ms").gte(from_ms)),
        )
        .await?;
    Ok(rows.into_iter().map(|r| r.started_ms).collect())
}

/// The meetings of `host` in `account_id` scheduled to overlap `[start_ms,
/// end_ms)` that have not ended, by scheduled start.
pub async fn scheduled_overlapping(
    ex: impl Executor,
    account_id: &str,
    host: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<MeetingRow>, DbError> {
    let mut select = Query::select();
    select
        .columns(MEETING_COLUMNS)
        .from("meetings")
        .and_where(Expr::col("account_id").eq(account_id))
        .and_where(Expr::col("host_user_id").eq(host))
        .and_where(Expr::col("ended_ms").is_null())
        .and_where(Expr::col("scheduled_start_ms").lt(end_ms))
        .and_where(Expr::col("scheduled_end_ms").gt(start_ms))
        .order_by("scheduled_start_ms", Order::Asc);
    ex.fetch_all(&select).await
}
