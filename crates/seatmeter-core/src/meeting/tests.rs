#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

const HOUR: i64 = 3_600_000;

fn joined(at_ms: i64, attendee: &str, portion: Portion) -> Event {
    Event {
        at_ms,
        kind: EventKind::AttendeeJoined { attendee: attendee.into(), portion, join_before_host: false },
    }
}

fn at(at_ms: i64, kind: EventKind) -> Event {
    Event { at_ms, kind }
}

#[test]
fn a_meeting_runs_from_its_first_start_or_join_to_its_end() {
    let events = [
        joined(9 * HOUR - 60_000, "early@example.com", Portion::Phone),
        at(9 * HOUR, EventKind::Started),
        joined(9 * HOUR + 1, "a@example.com", Portion::Web),
        joined(9 * HOUR + 2, "a@example.com", Portion::Web),
        at(9 * HOUR + 3, EventKind::AttendeeLeft { attendee: "a@example.com".into(), portion: Portion::Web }),
        joined(9 * HOUR + 4, "a@example.com", Portion::Phone),
        at(9 * HOUR + 5, EventKind::HostRightsPassed { to: "a@example.com".into() }),
        at(10 * HOUR, EventKind::Ended),
    ];
    let facts = fold(&events);
    assert_eq!(facts.started_ms, Some(9 * HOUR - 60_000), "joined before the host");
    assert_eq!(facts.ended_ms, Some(10 * HOUR));
    assert_eq!((facts.web_attendees, facts.phone_attendees), (1, 2), "distinct attendees per portion");
    assert!(facts.attendance(CountPolicy::WebOnly).is_counted());
    let run = facts.run(11 * HOUR, 24 * HOUR).unwrap();
    assert_eq!((run.start_ms, run.end_ms, run.auto_ended), (9 * HOUR - 60_000, 10 * HOUR, false));
}

#[test]
fn a_meeting_whose_end_never_comes_is_ended_at_the_maximum_duration() {
    let facts = fold(&[at(0, EventKind::Started), joined(1, "a", Portion::Web)]);
    assert!(facts.is_running(HOUR, 2 * HOUR));
    assert_eq!(facts.run(HOUR, 2 * HOUR), None, "still running");
    assert!(!facts.is_running(2 * HOUR, 2 * HOUR), "no longer blocks its host");
    let run = facts.run(2 * HOUR, 2 * HOUR).unwrap();
    assert_eq!((run.start_ms, run.end_ms, run.auto_ended), (0, 2 * HOUR, true));

    let late =
        fold(&[at(0, EventKind::Started), joined(1, "a", Portion::Web), at(5 * HOUR, EventKind::Ended)]);
    let run = late.run(6 * HOUR, 2 * HOUR).unwrap();
    assert_eq!(
        (run.end_ms, run.auto_ended),
        (5 * HOUR, false),
        "an end reported later replaces the automatic one"
    );
}

#[test]
fn a_meeting_that_ended_before_it_started_has_no_run() {
    let facts = fold(&[at(HOUR, EventKind::Started), at(HOUR, EventKind::Ended)]);
    assert_eq!(facts.run(2 * HOUR, 24 * HOUR), None);
    let never = fold(&[at(HOUR, EventKind::Ended)]);
    assert_eq!(never.run(2 * HOUR, 24 * HOUR), None, "never started");
}

#[test]
fn the_policy_decides_about_teleconference_only_meetings() {
    let facts =
        fold(&[at(0, EventKind::Started), joined(1, "p", Portion::Phone), at(HOUR, EventKind::Ended)]);
    assert_eq!(facts.counted_run(CountPolicy::WebOnly, 2 * HOUR, 24 * HOUR), None);
    assert!(facts.counted_run(CountPolicy::CountTeleconferenceOnly, 2 * HOUR, 24 * HOUR).is_some());
    let nobody = fold(&[at(0, EventKind::Started), at(HOUR, EventKind::Ended)]);
    assert_eq!(nobody.counted_run(CountPolicy::CountTeleconferenceOnly, 2 * HOUR, 24 * HOUR), None);
}

#[test]
fn admission_follows_the_limit_and_the_disabled_account() {
    let running = vec!["m1".to_string(), "m2".to_string()];
    assert_eq!(admit("m3", &running[..1], 2, None), Admission::Allowed);
    let refused = admit("m3", &running, 2, None);
    assert!(!refused.is_allowed());
    assert!(refused.reason().unwrap().contains("m1, m2"), "{refused:?}");
    assert_eq!(admit("m2", &running, 2, None), Admission::AlreadyRunning);
    let disabled = admit("m3", &[], 2, Some("the free trial ended"));
    assert!(disabled.reason().unwrap().contains("free trial"));
}

#[test]
fn a_meeting_runs_until_exactly_its_maximum_duration() {
    let max = 2 * HOUR;
    let facts = fold(&[at(HOUR, EventKind::Started), joined(HOUR + 1, "a", Portion::Web)]);
    assert!(facts.is_running(HOUR, max));
    assert!(facts.is_running(3 * HOUR - 1, max), "one millisecond before the cap");
    assert_eq!(facts.run(3 * HOUR - 1, max), None);
    assert!(!facts.is_running(3 * HOUR, max), "at the cap");
    assert_eq!(facts.run(3 * HOUR, max), Some(Run { start_ms: HOUR, end_ms: 3 * HOUR, auto_ended: true }));
    assert_eq!(
        facts.counted_run(CountPolicy::WebOnly, 3 * HOUR, max),
        Some(Run { start_ms: HOUR, end_ms: 3 * HOUR, auto_ended: true })
    );

    let ended = fold(&[at(HOUR, EventKind::Started), at(HOUR + 1, EventKind::Ended)]);
    assert!(!ended.is_running(HOUR, max), "an ended meeting is not running");
    assert_eq!(ended.run(HOUR + 1, max), Some(Run { start_ms: HOUR, end_ms: HOUR + 1, auto_ended: false }));
    let never = fold(&[joined(HOUR, "a", Portion::Web)]).is_running(HOUR, max);
    assert!(never, "an attendee's join starts it");
    assert!(!MeetingFacts::default().is_running(HOUR, max), "not started");
}

#[test]
fn portions_and_event_types_have_their_api_names() {
    for portion in [Portion::Web, Portion::Phone] {
        assert_eq!(Portion::parse(portion.as_str()), Some(portion));
    }
    assert_eq!(Portion::Web.as_str(), "web");
    assert_eq!(Portion::Phone.as_str(), "phone");
    assert_eq!(Portion::parse("Web"), None);
    assert_eq!(Portion::parse(""), None);
    let names: Vec<_> = [
        EventKind::Started,
        EventKind::AttendeeJoined { attendee: "a".into(), portion: Portion::Web, join_before_host: true },
        EventKind::AttendeeLeft { attendee: "a".into(), portion: Portion::Web },
        EventKind::HostRightsPassed { to: "a".into() },
        EventKind::Ended,
    ]
    .iter()
    .map(EventKind::name)
    .collect();
    assert_eq!(names, ["started", "attendee_joined", "attendee_left", "host_rights_passed", "ended"]);
}

#[test]
fn admission_says_exactly_why_not() {
    let running = vec!["m1".to_string(), "m2".to_string()];
    let allowed = admit("m3", &running[..1], 2, None);
    assert!(allowed.is_allowed());
    assert_eq!(allowed.reason(), None);
    let again = admit("m1", &running[..1], 1, None);
    assert_eq!(again, Admission::AlreadyRunning);
    assert!(again.is_allowed());
    assert_eq!(again.reason(), None);
    assert_eq!(
        admit("m3", &running, 2, None).reason().as_deref(),
        Some("the host may run 2 meetings at a time and is running 2: m1, m2; end one first")
    );
    assert_eq!(
        admit("m2", &running[..1], 1, None),
        Admission::ConcurrencyLimit { limit: 1, running: vec!["m1".to_string()] }
    );
    assert_eq!(
        admit("m2", &running[..1], 1, None).reason().as_deref(),
        Some("the host may run 1 meeting at a time and is running 1: m1; end one first")
    );
    let disabled = admit("m1", &running[..1], 2, Some("the free trial ended"));
    assert!(!disabled.is_allowed());
    assert_eq!(disabled.reason().as_deref(), Some("the account is disabled: the free trial ended"));
}

fn event() -> impl Strategy<Value = Event> {
    let attendee = prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(str::to_string);
    let portion = prop_oneof![Just(Portion::Web), Just(Portion::Phone)];
    let kind = prop_oneof![
        Just(EventKind::Started),
        Just(EventKind::Ended),
        (attendee.clone(), portion.clone(), any::<bool>()).prop_map(
            |(attendee, portion, join_before_host)| {
                EventKind::AttendeeJoined { attendee, portion, join_before_host }
            }
        ),
        (attendee.clone(), portion)
            .prop_map(|(attendee, portion)| EventKind::AttendeeLeft { attendee, portion }),
        attendee.prop_map(|to| EventKind::HostRightsPassed { to }),
    ];
    (0i64..10 * HOUR, kind).prop_map(|(at_ms, kind)| Event { at_ms, kind })
}

proptest! {
    #[test]
    fn the_order_of_events_changes_nothing(
        events in proptest::collection::vec(event(), 0..20),
        seed in any::<u64>(),
        now in 0i64..20 * HOUR,
    ) {
        let mut shuffled = events.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let (a, b) = (fold(&events), fold(&shuffled));
        prop_assert_eq!(a, b);
        prop_assert_eq!(a.run(now, 3 * HOUR), b.run(now, 3 * HOUR));
        // Repeating an event (a retry) changes nothing either.
        let mut repeated = events.clone();
        repeated.extend(events.iter().cloned());
        prop_assert_eq!(fold(&repeated), a);
    }
}
