//! What happened in a meeting, from its lifecycle events in any order, and
//! whether its host may start another one now.
//!
//! A meeting's facts are a summary of its events that does not depend on
//! the order they arrive in: the earliest start (a `started` event, or an
//! attendee joining, perhaps before the host), the earliest end, and the
//! number of distinct attendees of each portion. Folding the same events
//! in any order gives the same [`MeetingFacts`] (a property test checks
//! it), so late and out-of-order events change nothing.
//!
//! A meeting whose end never arrives is over anyway once it has run for
//! the account's maximum duration: it is then *ended automatically* at
//! `start + max`, so that a lost `ended` event neither blocks its host nor
//! keeps the meeting out of usage. That end is provisional: an `ended`
//! event that arrives later is what happened, and replaces it, so the
//! result is the same whether the sweep or the event came first.

use std::collections::BTreeSet;

use crate::usage::{Attendance, CountPolicy};

/// The part of a meeting an attendee joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Portion {
    /// The web (video and screen) portion.
    Web,
    /// The teleconference (phone) portion.
    Phone,
}

impl Portion {
    /// `web` or `phone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Portion::Web => "web",
            Portion::Phone => "phone",
        }
    }

    /// Parses `web` or `phone`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "web" => Some(Portion::Web),
            "phone" => Some(Portion::Phone),
            _ => None,
        }
    }
}

/// One thing that happened in a meeting, at `at_ms` (UTC milliseconds).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// When it happened.
    pub at_ms: i64,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The meeting started.
    Started,
    /// Someone joined a portion (perhaps before the host did).
    AttendeeJoined {
        /// Who (an identifier the platform chooses: an e-mail, a phone number, a session id).
        attendee: String,
        /// Which portion.
        portion: Portion,
        /// Joined before the host did (the meeting's "join before host" option).
        join_before_host: bool,
    },
    /// Someone left a portion.
    AttendeeLeft {
        /// Who.
        attendee: String,
        /// Which portion.
        portion: Portion,
    },
    /// The host passed host rights to another attendee; the meeting stays
    /// its owner's, and so do the licenses it uses.
    HostRightsPassed {
        /// To whom.
        to: String,
    },
    /// The meeting ended.
    Ended,
}

impl EventKind {
    /// The event's type as the API names it.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::AttendeeJoined { .. } => "attendee_joined",
            EventKind::AttendeeLeft { .. } => "attendee_left",
            EventKind::HostRightsPassed { .. } => "host_rights_passed",
            EventKind::Ended => "ended",
        }
    }
}

/// What is known of a meeting: an order-independent summary of its events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeetingFacts {
    /// The earliest instant it was running: its `started` event, or the
    /// first attendee to join, whichever came first.
    pub started_ms: Option<i64>,
    /// The earliest `ended` event.
    pub ended_ms: Option<i64>,
    /// Distinct attendees who joined the web portion.
    pub web_attendees: u64,
    /// Distinct attendees who joined the teleconference portion.
    pub phone_attendees: u64,
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

impl MeetingFacts {
    /// Takes in one event. `new_attendee` says whether the attendee of an
    /// `AttendeeJoined` event had not joined that portion before (the
    /// caller keeps the set of attendees; [`fold`] does it in memory).
    pub fn apply(&mut self, event: &Event, new_attendee: bool) {
        match &event.kind {
            EventKind::Started => self.started_ms = earliest(self.started_ms, Some(event.at_ms)),
            EventKind::AttendeeJoined { portion, .. } => {
                self.started_ms = earliest(self.started_ms, Some(event.at_ms));
                if new_attendee {
                    match portion {
                        Portion::Web => self.web_attendees += 1,
                        Portion::Phone => self.phone_attendees += 1,
                    }
                }
            }
            EventKind::Ended => self.ended_ms = earliest(self.ended_ms, Some(event.at_ms)),
            EventKind::AttendeeLeft { .. } | EventKind::HostRightsPassed { .. } => {}
        }
    }

    /// Whether the meeting counts towards its host's licenses under `policy`.
    pub fn attendance(&self, policy: CountPolicy) -> Attendance {
        Attendance::of(policy, self.web_attendees, self.phone_attendees)
    }

    /// Whether the meeting is running at `now_ms`: started, not ended, and
    /// not yet past the maximum duration.
    pub fn is_running(&self, now_ms: i64, max_duration_ms: i64) -> bool {
        match (self.started_ms, self.ended_ms) {
            (Some(start), None) => now_ms < start.saturating_add(max_duration_ms),
            _ => false,
        }
    }

    /// The meeting's interval once it is over (at `now_ms`): to its
    /// reported end, or, with none reported, to `start + max_duration_ms`
    /// once that has passed. `None` while it has not started or is still
    /// running, and when it ended before it started.
    pub fn run(&self, now_ms: i64, max_duration_ms: i64) -> Option<Run> {
        let start = self.started_ms?;
        let cap = start.saturating_add(max_duration_ms);
        let (end, auto_ended) = match self.ended_ms {
            Some(end) => (end, false),
            None if now_ms >= cap => (cap, true),
            None => return None,
        };
        (end > start).then_some(Run { start_ms: start, end_ms: end, auto_ended })
    }

    /// The interval host-license usage counts for this meeting at `now_ms`:
    /// its [`run`](Self::run) when the meeting is counted under `policy`.
    pub fn counted_run(&self, policy: CountPolicy, now_ms: i64, max_duration_ms: i64) -> Option<Run> {
        self.run(now_ms, max_duration_ms).filter(|_| self.attendance(policy).is_counted())
    }
}

/// A meeting's interval `[start, end)`, once it is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// When it started.
    pub start_ms: i64,
    /// When it ended (exclusive).
    pub end_ms: i64,
    /// It was ended automatically after the maximum duration.
    pub auto_ended: bool,
}

/// Folds a meeting's events, in the order given, into its facts.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> MeetingFacts {
    let mut facts = MeetingFacts::default();
    let mut joined: BTreeSet<(Portion, &str)> = BTreeSet::new();
    for event in events {
        let new_attendee = match &event.kind {
            EventKind::AttendeeJoined { attendee, portion, .. } => joined.insert((*portion, attendee)),
            _ => false,
        };
        facts.apply(event, new_attendee);
    }
    facts
}

/// The answer to "may this host start this meeting now?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Yes.
    Allowed,
    /// The meeting is running already; starting it again changes nothing.
    AlreadyRunning,
    /// No, because the account is disabled.
    AccountDisabled {
        /// Why, in words, and what an administrator can do.
        reason: String,
    },
    /// No: the host runs as many meetings as the limit allows.
    ConcurrencyLimit {
        /// The host's limit.
        limit: u32,
        /// The host's meetings running now.
        running: Vec<String>,
    },
}

impl Admission {
    /// Whether the meeting may run.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Admission::Allowed | Admission::AlreadyRunning)
    }

    /// Why not, in words; `None` when allowed.
    pub fn reason(&self) -> Option<String> {
        match self {
            Admission::Allowed | Admission::AlreadyRunning => None,
            Admission::AccountDisabled { reason } => Some(format!("the account is disabled: {reason}")),
            Admission::ConcurrencyLimit { limit, running } => Some(format!(
                "the host may run {limit} meeting{} at a time and is running {}: {}; end one first",
                if *limit == 1 { "" } else { "s" },
                running.len(),
                running.join(", ")
            )),
        }
    }
}

/// Decides whether `meeting` of a host may start, given the host's
/// meetings running now, its concurrency limit, and the account's
/// disabled reason if it is disabled.
pub fn admit(meeting: &str, running: &[String], limit: u32, account_disabled: Option<&str>) -> Admission {
    if let Some(reason) = account_disabled {
        return Admission::AccountDisabled { reason: reason.to_string() };
    }
    if running.iter().any(|m| m == meeting) {
        return Admission::AlreadyRunning;
    }
    if running.len() >= limit as usize {
        return Admission::ConcurrencyLimit { limit, running: running.to_vec() };
    }
    Admission::Allowed
}

#[cfg(test)]
mod tests;
