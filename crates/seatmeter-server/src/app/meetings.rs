//! Meetings: scheduling (for oneself, or for another user with a scheduling
//! privilege or as an administrator), starting, listing, the account's
//! rules for meetings, and the export of those that are over. (The
//! admission check, "may this host start this meeting now?", is in
//! [`super::admission`].)
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

use seatmeter_core::meeting::{Event, EventKind};
use seatmeter_core::usage::csv::Cells;
use serde_json::json;

use super::admission::decide;
use super::{Capability, Error, Principal, Result, Services, recent, usage};
use crate::clock::rfc3339_ms;
use crate::secrets::new_id;
use crate::store::meetings::{ListFilter, MeetingRow, MeetingRules, MeetingState};
use crate::store::{self, Executor, OnDuplicate, Tx};

/// Whether `principal` may see and act on `meeting`.
pub fn may_act_on(principal: &Principal, meeting: &MeetingRow) -> bool {
    principal.may(Capability::ManageUsers)
        || meeting.host_user_id == principal.user_id
        || meeting.scheduled_by_user_id.as_deref() == Some(principal.user_id.as_str())
}

/// Not found, for a meeting the caller may not see as for one that does not exist.
pub(crate) fn not_found(id: &str) -> Error {
    Error::not_found(format!("no meeting {id:?} in your account"))
}

/// Parses an RFC 3339 timestamp with an offset into UTC milliseconds.
pub fn parse_time_ms(text: &str, field: &str) -> Result<i64> {
    seatmeter_core::time::parse_rfc3339(text.as_bytes())
        .map(|t| t.0.div_euclid(1_000_000))
        .map_err(|e| Error::invalid(format!("{field} {text:?} {e}"), field))
}

/// The rules of `account_id`.
pub async fn account_rules(ex: impl Executor, account_id: &str) -> Result<MeetingRules> {
    store::meetings::rules(ex, account_id)
        .await?
        .ok_or_else(|| Error::not_found("the account no longer exists"))
}

/// A meeting as it stands at an instant.
#[derive(Clone, Debug)]
pub struct Meeting {
    /// The meeting as stored.
    pub row: MeetingRow,
    /// Scheduled (not started), running or ended.
    pub state: MeetingState,
    /// When it ended: reported, or capped at the maximum duration.
    pub ended_ms: Option<i64>,
    /// It was ended automatically after running for the maximum duration.
    pub auto_ended: bool,
    /// Whether it counts towards its host's licenses (known once it has ended).
    pub counted: Option<bool>,
}

impl Meeting {
    /// Meeting `row` at `now_ms` under `rules`.
    pub fn at(row: MeetingRow, rules: &MeetingRules, now_ms: i64) -> Self {
        let facts = row.facts();
        let max = rules.max_duration_ms();
        let run = facts.run(now_ms, max);
        let state = if facts.is_running(now_ms, max) {
            MeetingState::Running
        } else if facts.started_ms.is_none() && facts.ended_ms.is_none() {
            MeetingState::Scheduled
        } else {
            MeetingState::Ended
        };
        Meeting {
            state,
            ended_ms: run.map(|r| r.end_ms).or(facts.ended_ms),
            auto_ended: run.is_some_and(|r| r.auto_ended),
            counted: run.map(|_| facts.attendance(rules.policy()).is_counted()),
            row,
        }
    }
}

/// A meeting to schedule.
#[derive(Clone, Debug, Default)]
pub struct NewMeeting {
    /// Its title (1 to 200 characters).
    pub title: String,
    /// Its host (default: the caller).
    pub host_user_id: Option<String>,
    /// Scheduled start, RFC 3339 with an offset.
    pub scheduled_start: Option<String>,
    /// Scheduled end, after the start.
    pub scheduled_end: Option<String>,
    /// The platform's own id for the meeting, unique in the account (1 to 200 characters).
    pub external_id: Option<String>,
}

/// The title and the scheduled times of `new`, checked.
fn check_new(new: &NewMeeting) -> Result<(&str, Option<i64>, Option<i64>)> {
    let title = super::text::checked(&new.title, 200)
        .ok_or_else(|| Error::invalid(format!("the title must be {}", super::text::rule(200)), "title"))?;
    let start = new.scheduled_start.as_deref().map(|s| parse_time_ms(s, "scheduled_start")).transpose()?;
    let end = new.scheduled_end.as_deref().map(|s| parse_time_ms(s, "scheduled_end")).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        return Err(Error::invalid("the scheduled end must be after the scheduled start", "scheduled_end"));
    }
    if let Some(external) = &new.external_id
        && (external.is_empty() || external.chars().count() > 200 || external.chars().any(char::is_control))
    {
        return Err(Error::invalid(
            "the external id must be 1 to 200 characters, none of them control characters",
            "external_id",
        ));
    }
    Ok((title, start, end))
}

/// Checks that `host` exists, is enabled, and that the caller may schedule for them.
async fn check_host(tx: &mut Tx, principal: &Principal, host: &str) -> Result<()> {
    let account = principal.account_id.as_str();
    let Some(host_row) = store::meetings::host(&mut *tx, account, host).await? else {
        return Err(Error::not_found(format!("no user {host:?} in your account")));
    };
    if host != principal.user_id.as_str()
        && !principal.may(Capability::ManageUsers)
        && !crate::app::privileges::has_privilege(&mut *tx, account, &principal.user_id, host).await?
    {
        return Err(Error::forbidden(
            "you may schedule only for yourself and for users who gave you their scheduling privilege",
        ));
    }
    if host_row.disabled_ms.is_some() {
        return Err(Error::conflict("the host is disabled", Some("host_user_id")));
    }
    Ok(())
}

/// Schedules a meeting for the caller or, with their scheduling privilege
/// (or as an administrator of users & licenses), for another user, who is
/// its host. Any number of meetings may be scheduled for the same time.
pub async fn schedule(
    services: &Services,
    principal: &Principal,
    new: NewMeeting,
    now: i64,
) -> Result<Meeting> {
    let (title, start, end) = check_new(&new)?;
    let host = new.host_user_id.clone().unwrap_or_else(|| principal.user_id.to_string());
    let mut tx = services.db.begin().await?;
    let rules = account_rules(&mut tx, &principal.account_id).await?;
    if let Some(reason) = &rules.disabled_reason {
        return Err(Error::Refused {
            reason: "account_disabled",
            message: format!("the account is disabled, so no meeting can be scheduled: {reason}"),
        });
    }
    check_host(&mut tx, principal, &host).await?;
    if rules.refuse_schedule_conflicts != 0
        && let (Some(start), Some(end)) = (start, end)
    {
        check_schedule(&mut tx, &principal.account_id, &host, &rules, (start, end)).await?;
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
    store::meetings::insert(&mut tx, std::slice::from_ref(&row)).await.on_duplicate(|| {
        Error::conflict("a meeting with this external id exists already in your account", Some("external_id"))
    })?;
    crate::app::record_by(
        &mut tx,
        principal,
        now,
        "meeting.scheduled",
        ("meeting", &row.id),
        json!({"host_user_id": host, "title": row.title, "scheduled_start": start.map(rfc3339_ms)}),
    )
    .await?;
    tx.commit().await?;
    Ok(Meeting::at(row, &rules, now))
}

/// Refuses a meeting scheduled for `slot` that would put `host` over their
/// concurrency limit at some instant, counting their other scheduled
/// meetings that have not ended (the account's option
/// `refuse_schedule_conflicts`): the answer names the meetings it collides
/// with. The host's row is locked, so two meetings scheduled at once for
/// the same host are decided one after the other.
async fn check_schedule(
    tx: &mut Tx,
    account_id: &str,
    host: &str,
    rules: &MeetingRules,
    slot: (i64, i64),
) -> Result<()> {
    let limits = store::meetings::host_for_update(&mut *tx, account_id, host)
        .await?
        .ok_or_else(|| Error::not_found(format!("no user {host:?} in your account")))?;
    let limit = limits.concurrency_limit.unwrap_or(rules.concurrency_limit).max(0);
    let others = store::meetings::scheduled_overlapping(&mut *tx, account_id, host, slot.0, slot.1).await?;
    let spans: Vec<(i64, i64)> =
        others.iter().filter_map(|m| Some((m.scheduled_start_ms?, m.scheduled_end_ms?))).collect();
    if (busiest(&spans, slot) as i64) < limit {
        return Ok(());
    }
    let named: Vec<String> = others
        .iter()
        .map(|m| {
            let (from, to) = (m.scheduled_start_ms.map(rfc3339_ms), m.scheduled_end_ms.map(rfc3339_ms));
            format!("\"{}\" ({}, {} to {})", m.title, m.id, from.unwrap_or_default(), to.unwrap_or_default())
        })
        .collect();
    Err(Error::Refused {
        reason: "schedule_conflict",
        message: format!(
            "the host may run {limit} meeting{} at once, and this one would overlap: {}",
            if limit == 1 { "" } else { "s" },
            named.join("; ")
        ),
    })
}

/// The most of `spans` (half-open `[start, end)`) in progress at one
/// instant of `slot`.
fn busiest(spans: &[(i64, i64)], slot: (i64, i64)) -> usize {
    let mut edges: Vec<(i64, i8)> = Vec::with_capacity(spans.len() * 2);
    for &(start, end) in spans {
        let (start, end) = (start.max(slot.0), end.min(slot.1));
        if start < end {
            edges.push((start, 1));
            edges.push((end, -1));
        }
    }
    // An end and a start at the same instant do not overlap: ends first.
    edges.sort_unstable();
    let (mut now, mut most) = (0i64, 0i64);
    for (_, step) in edges {
        now += i64::from(step);
        most = most.max(now);
    }
    most as usize
}

/// Which meetings to list.
#[derive(Clone, Debug, Default)]
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
pub async fn list(
    services: &Services,
    principal: &Principal,
    filter: &MeetingFilter,
    now: i64,
) -> Result<Vec<Meeting>> {
    let limit = filter.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit must be 1 to 1000", "limit"));
    }
    let rules = account_rules(&services.db, &principal.account_id).await?;
    let state = match filter.state.as_deref() {
        None => None,
        Some(name) => Some(MeetingState::parse(name).ok_or_else(|| {
            Error::invalid(format!("unknown state {name:?}: use scheduled, running or ended"), "state")
        })?),
    };
    let selected = ListFilter {
        involving: (!principal.may(Capability::ManageUsers)).then_some(principal.user_id.as_str()),
        host_user_id: filter.host_user_id.as_deref(),
        state: state.map(|s| (s, now.saturating_sub(rules.max_duration_ms()))),
        limit,
    };
    let rows = store::meetings::list(&services.db, &principal.account_id, &selected).await?;
    Ok(rows.into_iter().map(|r| Meeting::at(r, &rules, now)).collect())
}

/// Meeting `id`, if the caller may see it.
pub async fn get(services: &Services, principal: &Principal, id: &str, now: i64) -> Result<Meeting> {
    let row = store::meetings::get(&services.db, &principal.account_id, id)
        .await?
        .filter(|m| may_act_on(principal, m))
        .ok_or_else(|| not_found(id))?;
    let rules = account_rules(&services.db, &principal.account_id).await?;
    Ok(Meeting::at(row, &rules, now))
}

/// Starts meeting `id` now, if its host may: atomically checks the
/// account, the host and the host's concurrency limit and records the
/// start. Refused with reason `concurrency_limit` (naming the meetings
/// running), `account_disabled`, `host_disabled` or `ended` when it may
/// not. Starting a running meeting again changes nothing.
pub async fn start(services: &Services, principal: &Principal, id: &str, now: i64) -> Result<Meeting> {
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let meeting = store::meetings::get_for_update(&mut tx, account, id)
        .await?
        .filter(|m| may_act_on(principal, m))
        .ok_or_else(|| not_found(id))?;
    // The host's row lock serialises every start of the host's meetings.
    let host = store::meetings::host_for_update(&mut tx, account, &meeting.host_user_id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let rules = account_rules(&mut tx, account).await?;
    let since = now.saturating_sub(rules.max_duration_ms());
    let running = store::meetings::running(&mut tx, account, &meeting.host_user_id, since).await?;
    let decision = decide(&meeting, &host, &rules, &running, now);
    if !decision.allowed {
        return Err(Error::Refused { reason: decision.code, message: decision.reason.unwrap_or_default() });
    }
    let mut row = meeting;
    if decision.code == "allowed" {
        record_start(&mut tx, principal, &mut row, now).await?;
    }
    store::changes::note(&mut tx, [row.host_user_id.as_str()], now).await?;
    tx.commit().await?;
    services.kept.forget(&row.host_user_id);
    Ok(Meeting::at(row, &rules, now))
}

/// Records in `tx` that `row` started at `now`: its `started` event, its
/// start time and the activity.
async fn record_start(tx: &mut Tx, principal: &Principal, row: &mut MeetingRow, now: i64) -> Result<()> {
    let event = Event { at_ms: now, kind: EventKind::Started };
    super::events::record_start(tx, row, &event, now).await?;
    let mut facts = row.facts();
    facts.apply(&event, false);
    row.set_facts(&facts);
    store::meetings::set_started(&mut *tx, &row.account_id, &row.id, row.started_ms).await?;
    crate::app::record_by(
        tx,
        principal,
        now,
        "meeting.started",
        ("meeting", &row.id),
        json!({"host_user_id": row.host_user_id}),
    )
    .await?;
    Ok(())
}

/// The caller's account's rules for meetings.
pub async fn rules(services: &Services, principal: &Principal) -> Result<MeetingRules> {
    account_rules(&services.db, &principal.account_id).await
}

/// Changes to the account's rules for meetings; what is left out stays.
#[derive(Clone, Debug, Default)]
pub struct RulesChanges {
    /// 1 to 1,000.
    pub concurrency_limit: Option<i64>,
    /// 1 to 43,200 (30 days).
    pub max_meeting_minutes: Option<i64>,
    /// Count teleconference-only meetings too.
    pub count_teleconference_only: Option<bool>,
    /// Refuse, when it is scheduled, a meeting that would put its host over
    /// their concurrency limit among their scheduled meetings.
    pub refuse_schedule_conflicts: Option<bool>,
}

/// Changes the account's rules for meetings (administrators of users &
/// licenses). A new maximum duration or counting policy applies to past
/// meetings too: live usage is re-settled in the same transaction.
pub async fn update_rules(
    services: &Services,
    principal: &Principal,
    changes: &RulesChanges,
    now: i64,
) -> Result<MeetingRules> {
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden("changing meeting rules needs an administrator of users & licenses"));
    }
    if changes.concurrency_limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(Error::invalid("the concurrency limit must be 1 to 1000", "concurrency_limit"));
    }
    if changes.max_meeting_minutes.is_some_and(|m| !(1..=43_200).contains(&m)) {
        return Err(Error::invalid(
            "the maximum meeting duration must be 1 to 43200 minutes",
            "max_meeting_minutes",
        ));
    }
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let before = account_rules(&mut tx, account).await?;
    let mut rules = before.clone();
    rules.concurrency_limit = changes.concurrency_limit.unwrap_or(rules.concurrency_limit);
    rules.max_meeting_minutes = changes.max_meeting_minutes.unwrap_or(rules.max_meeting_minutes);
    if let Some(count) = changes.count_teleconference_only {
        rules.count_teleconference_only = i64::from(count);
    }
    if let Some(refuse) = changes.refuse_schedule_conflicts {
        rules.refuse_schedule_conflicts = i64::from(refuse);
    }
    store::meetings::set_rules(&mut tx, account, &rules).await?;
    if rules.max_meeting_minutes != before.max_meeting_minutes
        || rules.count_teleconference_only != before.count_teleconference_only
    {
        let mut started = store::meetings::started_for_update(&mut tx, account).await?;
        let read = usage::by_id(&started);
        usage::store_settled(&mut tx, &rules, &mut started, &read, now).await?;
    }
    store::activities::record(
        &mut tx,
        account,
        now,
        Some(&principal.user_id),
        "account.meeting_rules_changed",
        ("account", account),
        json!({"concurrency_limit": rules.concurrency_limit, "max_meeting_minutes": rules.max_meeting_minutes,
               "count_teleconference_only": rules.count_teleconference_only != 0,
               "refuse_schedule_conflicts": rules.refuse_schedule_conflicts != 0}),
    )
    .await?;
    store::changes::note(&mut tx, [recent::ALL], now).await?;
    tx.commit().await?;
    services.kept.forget(recent::ALL);
    Ok(rules)
}

/// The caller's account's meetings that are over at `now`, in the
/// meeting-log format that `seatmeter usage` and `seatmeter import` read
/// (CSV: `meeting_id`, `host` by e-mail, `start`, `end`, `web_attendees`,
/// `phone_attendees`); a meeting past its maximum duration ends there.
/// Running meetings, and meetings never held, are left out. Its ids and
/// addresses are written as `cells` says (exact for `seatmeter`, or
/// formula-safe for a spreadsheet). For administrators of reports or of
/// users & licenses.
pub async fn export(services: &Services, principal: &Principal, cells: Cells, now: i64) -> Result<String> {
    usage::may_read_reports(principal)?;
    let account = principal.account_id.as_str();
    let rules = account_rules(&services.db, account).await?;
    let emails = store::usage::host_emails(&services.db, account, None).await?;
    let mut out = String::from("meeting_id,host,start,end,web_attendees,phone_attendees\n");
    let mut after = String::new();
    loop {
        let rows = store::meetings::started_after(&services.db, account, &after, 10_000).await?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        for row in &rows {
            let Some(run) = row.facts().run(now, rules.max_duration_ms()) else { continue };
            let id = row.external_id.as_deref().unwrap_or(&row.id);
            let host = emails.get(&row.host_user_id).map_or(row.host_user_id.as_str(), String::as_str);
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                cells.field(id),
                cells.field(host),
                rfc3339_ms(run.start_ms),
                rfc3339_ms(run.end_ms),
                row.web_attendees,
                row.phone_attendees
            ));
        }
    }
    Ok(out)
}

/// Stores meetings imported from a historical log (`seatmeter import`, a
/// chunk at a time): the meetings, their usage changes (settled as of
/// `now`) and one activity record describing the chunk, in one transaction.
pub async fn store_imported(
    db: &crate::store::Db,
    account_id: &str,
    rules: &MeetingRules,
    mut rows: Vec<MeetingRow>,
    details: serde_json::Value,
    now: i64,
) -> Result<usize, crate::store::DbError> {
    let mut changes = Vec::new();
    for row in &mut rows {
        changes.extend(usage::settle(rules, row, now));
    }
    let mut tx = db.begin().await?;
    store::meetings::insert(&mut tx, &rows).await?;
    store::usage::append(&mut tx, account_id, &changes).await?;
    store::activities::record(
        &mut tx,
        account_id,
        now,
        None,
        "meetings.imported",
        ("account", account_id),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(changes.len())
}

#[cfg(test)]
mod tests {
    use super::busiest;

    #[test]
    fn the_busiest_instant_of_a_slot_counts_what_overlaps_it_ends_before_starts() {
        let slot = (100, 200);
        assert_eq!(busiest(&[], slot), 0);
        assert_eq!(busiest(&[(0, 100), (200, 300)], slot), 0, "touching is not overlapping");
        assert_eq!(busiest(&[(50, 150), (150, 250)], slot), 1, "one ends as the other starts");
        assert_eq!(busiest(&[(50, 150), (120, 250), (140, 160)], slot), 3);
        assert_eq!(busiest(&[(0, 1000), (0, 1000)], slot), 2);
    }
}
