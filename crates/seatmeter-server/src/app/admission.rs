//! The admission check ("may this host start this meeting now?") and the
//! attendance check ("may people join it now?"): the hottest reads, asked
//! by platforms thousands of times a second.
//!
//! Both answer from what the check read, kept in memory by meeting and
//! grouped by host (see [`super::recent`]): the answer reflects changes
//! made through this server at once and changes made through other servers
//! on the same database within a second. Nothing here writes; starting a
//! meeting ([`super::meetings::start`]) is always decided on the database,
//! with the same rule ([`decide`]).

use std::sync::Arc;
use std::time::Instant;

use seatmeter_core::meeting::{Admission, admit};

use super::meetings::{account_rules, may_act_on, not_found};
use super::{Principal, Result, Services};
use crate::store::meetings::{HostLimits, MeetingRow, MeetingRules, RunningRow};
use crate::store::{self, Db};

/// What an admission check reads.
#[derive(Clone, Debug)]
pub struct AdmissionInputs {
    meeting: MeetingRow,
    host: HostLimits,
    rules: MeetingRules,
    running: Vec<RunningRow>,
}

/// The answer to "may this meeting's host start it now?".
#[derive(Clone, Debug)]
pub struct AdmissionDecision {
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

/// Decides admission from what was read.
pub(crate) fn decide(
    meeting: &MeetingRow,
    host: &HostLimits,
    rules: &MeetingRules,
    running: &[RunningRow],
    now: i64,
) -> AdmissionDecision {
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
    AdmissionDecision {
        meeting_id: meeting.id.clone(),
        host_user_id: meeting.host_user_id.clone(),
        allowed,
        code,
        reason,
        limit,
        running,
    }
}

/// May meeting `id`'s host start it now? Answers without changing
/// anything: allowed, or refused with the reason (the account is disabled;
/// the host's concurrency limit is reached, naming the meetings running).
pub async fn admission(
    services: &Services,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<AdmissionDecision> {
    let inputs = kept_inputs(services, principal, id, now).await?;
    Ok(decide(&inputs.meeting, &inputs.host, &inputs.rules, &inputs.running, now))
}

/// May people join this meeting now?
#[derive(Clone, Debug)]
pub struct AttendanceDecision {
    /// The meeting.
    pub meeting_id: String,
    /// Whether attendees may join.
    pub allowed: bool,
    /// `allowed`, `account_disabled` or `ended`.
    pub code: &'static str,
    /// Why not, for people.
    pub reason: Option<String>,
}

/// May attendees join meeting `id` now? Refused while the account is
/// disabled (with the reason) and once the meeting has ended. Answers from
/// the same kept inputs as the host's admission check.
pub async fn attendance(
    services: &Services,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<AttendanceDecision> {
    let inputs = kept_inputs(services, principal, id, now).await?;
    let facts = inputs.meeting.facts();
    let ended = facts.ended_ms.is_some() || facts.run(now, inputs.rules.max_duration_ms()).is_some();
    let (allowed, code, reason) = match &inputs.rules.disabled_reason {
        Some(reason) => (false, "account_disabled", Some(format!("the account is disabled: {reason}"))),
        None if ended => (false, "ended", Some("the meeting has ended".to_string())),
        None => (true, "allowed", None),
    };
    Ok(AttendanceDecision { meeting_id: inputs.meeting.id.clone(), allowed, code, reason })
}

/// What deciding admission for meeting `id` needs, kept in memory; not
/// found unless the caller may act on the meeting.
async fn kept_inputs(
    services: &Services,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<Arc<AdmissionInputs>> {
    let key = (principal.account_id.to_string(), id.to_string());
    let inputs = match services.kept.admissions.get(&key) {
        Some(inputs) => inputs,
        None => {
            let loaded = Instant::now();
            let inputs = Arc::new(admission_inputs(&services.db, &principal.account_id, id, now).await?);
            services.kept.admissions.put(key, &inputs.meeting.host_user_id, inputs.clone(), loaded);
            inputs
        }
    };
    if !may_act_on(principal, &inputs.meeting) {
        return Err(not_found(id));
    }
    Ok(inputs)
}

/// Reads what deciding admission for meeting `id` needs.
async fn admission_inputs(db: &Db, account_id: &str, id: &str, now: i64) -> Result<AdmissionInputs> {
    let meeting = store::meetings::get(db, account_id, id).await?.ok_or_else(|| not_found(id))?;
    let rules = account_rules(db, account_id).await?;
    let host =
        store::meetings::host(db, account_id, &meeting.host_user_id).await?.ok_or_else(|| not_found(id))?;
    let since = now.saturating_sub(rules.max_duration_ms());
    let running = store::meetings::running(db, account_id, &meeting.host_user_id, since).await?;
    Ok(AdmissionInputs { meeting, host, rules, running })
}
