//! Meetings: scheduling for oneself and on another's behalf, admission and
//! the concurrency limit, lifecycle events (idempotent, in any order),
//! meetings ended automatically, and live usage that matches the batch
//! engine on the account's own export.

use reqwest::Method;
use seatmeter_core::usage::{Attendance, CountPolicy, Windows, compute_usage};
use serde_json::{Value, json};

use crate::support::{TestApp, apps, apps_with, token_for};

async fn add_user(app: &TestApp, admin: &str, email: &str) -> String {
    let (status, user) =
        app.call(Method::POST, "/v1/users", admin, Some(json!({"email": email, "name": email}))).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_string()
}

async fn schedule(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.call(Method::POST, "/v1/meetings", token, Some(body)).await
}

async fn meeting_for(app: &TestApp, token: &str, host: &str, title: &str) -> String {
    let (status, meeting) = schedule(app, token, json!({"title": title, "host_user_id": host})).await;
    assert_eq!(status, 201, "{meeting}");
    meeting["id"].as_str().unwrap().to_string()
}

async fn events(app: &TestApp, token: &str, events: &[Value]) -> Value {
    let (status, result) =
        app.call(Method::POST, "/v1/events", token, Some(Value::Array(events.to_vec()))).await;
    assert_eq!(status, 200, "{result} on {}", app.backend());
    result
}

#[tokio::test]
async fn a_secretary_schedules_for_those_who_allow_it_and_the_meeting_is_theirs() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let account = &created.account.id;
        let alice = add_user(&app, admin, "alice@example.com").await;
        let secretary = add_user(&app, admin, "secretary@example.com").await;
        let (alice_token, secretary_token) =
            (token_for(&app, account, &alice).await, token_for(&app, account, &secretary).await);

        let at_ten = json!({"title": "Board", "host_user_id": alice, "scheduled_start": "2026-12-01T10:00:00+01:00",
                            "scheduled_end": "2026-12-01T11:00:00+01:00"});
        let (status, _) = schedule(&app, &secretary_token, at_ten.clone()).await;
        assert_eq!(status, 403, "no privilege yet ({})", app.backend());
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/scheduling-privileges",
                &alice_token,
                Some(json!({"scheduler_user_id": secretary, "host_user_id": alice})),
            )
            .await;
        assert_eq!(status, 201);
        let (status, first) = schedule(&app, &secretary_token, at_ten.clone()).await;
        assert_eq!(status, 201, "{first}");
        assert_eq!(first["host_user_id"], alice.as_str(), "the meeting belongs to its host");
        assert_eq!(first["scheduled_by_user_id"], secretary.as_str());
        assert_eq!(first["scheduled_start"], "2026-12-01T09:00:00Z");
        assert_eq!(first["state"], "scheduled");
        let (status, _) = schedule(&app, &secretary_token, at_ten).await;
        assert_eq!(status, 201, "any number of meetings may be scheduled for the same time");

        let (_, mine) = app.call(Method::GET, "/v1/meetings", &alice_token, None).await;
        assert_eq!(mine.as_array().unwrap().len(), 2, "the host sees them");
        let (_, theirs) = app.call(Method::GET, "/v1/meetings", &secretary_token, None).await;
        assert_eq!(theirs.as_array().unwrap().len(), 2, "and so does who scheduled them");
        let bob = add_user(&app, admin, "bob@example.com").await;
        let bob_token = token_for(&app, account, &bob).await;
        let (status, _) = app
            .call(Method::GET, &format!("/v1/meetings/{}", first["id"].as_str().unwrap()), &bob_token, None)
            .await;
        assert_eq!(status, 404, "nobody else");

        let bad = [
            (json!({"title": ""}), "title"),
            (json!({"title": "x", "scheduled_start": "2026-12-01T10:00:00"}), "scheduled_start"),
            (
                json!({"title": "x", "scheduled_start": "2026-12-01T10:00:00Z", "scheduled_end": "2026-12-01T09:00:00Z"}),
                "scheduled_end",
            ),
        ];
        for (body, field) in bad {
            let (status, error) = schedule(&app, &alice_token, body).await;
            assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{error}");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn a_host_runs_no_more_meetings_at_once_than_the_limit() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let alice = add_user(&app, admin, "alice@example.com").await;
        let m1 = meeting_for(&app, admin, &alice, "One").await;
        let m2 = meeting_for(&app, admin, &alice, "Two").await;

        let (_, answer) = app.call(Method::GET, &format!("/v1/meetings/{m1}/admission"), admin, None).await;
        assert_eq!(
            (answer["allowed"].as_bool(), answer["limit"].as_i64()),
            (Some(true), Some(1)),
            "{answer}"
        );
        let (status, started) =
            app.call(Method::POST, &format!("/v1/meetings/{m1}/start"), admin, None).await;
        assert_eq!((status, started["state"].as_str()), (200, Some("running")), "{started}");
        let (status, _) = app.call(Method::POST, &format!("/v1/meetings/{m1}/start"), admin, None).await;
        assert_eq!(status, 200, "starting a running meeting again changes nothing");

        let (_, answer) = app.call(Method::GET, &format!("/v1/meetings/{m2}/admission"), admin, None).await;
        assert_eq!(answer["allowed"], false);
        assert_eq!(answer["code"], "concurrency_limit");
        assert_eq!(answer["running"], json!([m1]));
        let (status, refused) =
            app.call(Method::POST, &format!("/v1/meetings/{m2}/start"), admin, None).await;
        assert_eq!((status, refused["code"].as_str()), (409, Some("concurrency_limit")), "{refused}");
        assert!(refused["message"].as_str().unwrap().contains(&m1), "names the meeting running: {refused}");

        let (status, _) = app
            .call(Method::PATCH, &format!("/v1/users/{alice}"), admin, Some(json!({"concurrency_limit": 2})))
            .await;
        assert_eq!(status, 200);
        let (status, _) = app.call(Method::POST, &format!("/v1/meetings/{m2}/start"), admin, None).await;
        assert_eq!(status, 200, "the user's own limit allows two");
        let (status, _) = app
            .call(
                Method::PATCH,
                &format!("/v1/users/{alice}"),
                admin,
                Some(json!({"concurrency_limit": null})),
            )
            .await;
        assert_eq!(status, 200);

        let now = jiff::Timestamp::now().to_string();
        events(
            &app,
            admin,
            &[
                json!({"idempotency_key": "e1", "meeting_id": m1, "type": "ended", "at": now}),
                json!({"idempotency_key": "e2", "meeting_id": m2, "type": "ended", "at": now}),
            ],
        )
        .await;
        let (status, _) = app.call(Method::POST, &format!("/v1/meetings/{m1}/start"), admin, None).await;
        assert_eq!(status, 409, "an ended meeting does not start again");
        let m3 = meeting_for(&app, admin, &alice, "Three").await;
        let (status, _) = app.call(Method::POST, &format!("/v1/meetings/{m3}/start"), admin, None).await;
        assert_eq!(status, 200, "with the others ended, a new one starts");

        // A disabled account refuses starting and scheduling, with the reason.
        let m4 = meeting_for(&app, admin, &alice, "Four").await;
        disable_account(&app, &created.account.id, "the free trial ended; install licenses").await;
        let (_, answer) = app.call(Method::GET, &format!("/v1/meetings/{m4}/admission"), admin, None).await;
        assert_eq!(answer["code"], "account_disabled");
        assert!(answer["reason"].as_str().unwrap().contains("free trial"), "{answer}");
        let (status, refused) = schedule(&app, admin, json!({"title": "Five"})).await;
        assert_eq!((status, refused["code"].as_str()), (409, Some("account_disabled")));
        app.finish().await;
    }
}

async fn view(app: &TestApp, token: &str, id: &str) -> Value {
    app.call(Method::GET, &format!("/v1/meetings/{id}"), token, None).await.1
}

async fn disable_account(app: &TestApp, account: &str, reason: &str) {
    use sea_query::{Expr, ExprTrait, Query};
    app.db
        .execute(
            Query::update()
                .table("accounts")
                .value("disabled_reason", reason)
                .and_where(Expr::col("id").eq(account)),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn events_are_idempotent_and_their_order_does_not_matter() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let alice = add_user(&app, admin, "alice@example.com").await;
        let (a, b) =
            (meeting_for(&app, admin, &alice, "A").await, meeting_for(&app, admin, &alice, "B").await);
        let story = |meeting: &str, prefix: &str| {
            vec![
                json!({"idempotency_key": format!("{prefix}1"), "meeting_id": meeting, "type": "attendee_joined",
                       "at": "2026-01-05T08:58:00Z", "attendee": "+15550100", "portion": "phone", "join_before_host": true}),
                json!({"idempotency_key": format!("{prefix}2"), "meeting_id": meeting, "type": "started", "at": "2026-01-05T09:00:00Z"}),
                json!({"idempotency_key": format!("{prefix}3"), "meeting_id": meeting, "type": "attendee_joined",
                       "at": "2026-01-05T09:01:00Z", "attendee": "bob@example.com", "portion": "web"}),
                json!({"idempotency_key": format!("{prefix}4"), "meeting_id": meeting, "type": "host_rights_passed",
                       "at": "2026-01-05T09:30:00Z", "to": "bob@example.com"}),
                json!({"idempotency_key": format!("{prefix}5"), "meeting_id": meeting, "type": "attendee_left",
                       "at": "2026-01-05T09:40:00Z", "attendee": "bob@example.com", "portion": "web"}),
                json!({"idempotency_key": format!("{prefix}6"), "meeting_id": meeting, "type": "attendee_joined",
                       "at": "2026-01-05T10:41:00+01:00", "attendee": "bob@example.com", "portion": "web"}),
                json!({"idempotency_key": format!("{prefix}7"), "meeting_id": meeting, "type": "ended", "at": "2026-01-05T10:00:00Z"}),
            ]
        };
        let in_order = events(&app, admin, &story(&a, "a")).await;
        assert_eq!(in_order["applied"], 7, "{in_order}");
        let mut reversed = story(&b, "b");
        reversed.reverse();
        // Out of order, and split across requests, one as NDJSON.
        let ndjson: String = reversed[..3].iter().map(|e| format!("{e}\n")).collect();
        let response = app
            .client
            .post(format!("{}/v1/events", app.base))
            .bearer_auth(admin)
            .header("content-type", "application/x-ndjson")
            .body(ndjson)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        events(&app, admin, &reversed[3..]).await;
        let (first, second) = (view(&app, admin, &a).await, view(&app, admin, &b).await);
        for field in
            ["state", "started_at", "ended_at", "web_attendees", "phone_attendees", "counted", "auto_ended"]
        {
            assert_eq!(first[field], second[field], "{field}: {first} vs {second} on {}", app.backend());
        }
        assert_eq!(first["started_at"], "2026-01-05T08:58:00Z", "joined before the host");
        assert_eq!((first["web_attendees"].as_i64(), first["phone_attendees"].as_i64()), (Some(1), Some(1)));

        let again = events(&app, admin, &story(&a, "a")).await;
        assert_eq!((again["applied"].as_i64(), again["duplicates"].as_i64()), (Some(0), Some(7)), "{again}");
        let path = format!("/v1/meetings/{a}/events");
        let one = json!({"idempotency_key": "solo", "type": "attendee_joined", "at": "2026-01-05T09:05:00Z",
                         "attendee": "carol@example.com", "portion": "web"});
        assert_eq!(app.call(Method::POST, &path, admin, Some(one.clone())).await.0, 201);
        assert_eq!(app.call(Method::POST, &path, admin, Some(one)).await.0, 200, "the same event again");
        let other = json!({"idempotency_key": "solo", "type": "ended", "at": "2026-01-05T09:05:00Z"});
        let (status, error) = app.call(Method::POST, &path, admin, Some(other)).await;
        assert_eq!((status, error["code"].as_str()), (409, Some("conflict")), "another event under the key");
        assert_eq!(view(&app, admin, &a).await["web_attendees"], 2);

        let (status, error) = app
            .call(Method::POST, "/v1/events", admin, Some(json!([{"idempotency_key": "x", "meeting_id": a, "type": "paused", "at": "2026-01-05T09:05:00Z"}])))
            .await;
        assert_eq!((status, error["field"].as_str()), (422, Some("events[0].type")), "{error}");
        let (status, error) = app
            .call(
                Method::POST,
                "/v1/events",
                admin,
                Some(json!([{"idempotency_key": "x", "meeting_id": a, "type": "ended", "at": "yesterday"}])),
            )
            .await;
        assert_eq!((status, error["field"].as_str()), (422, Some("events[0].at")), "{error}");
        let unknown = events(&app, admin, &[json!({"idempotency_key": "y", "meeting_id": "mtg_nope", "type": "ended", "at": "2026-01-05T09:05:00Z"})]).await;
        assert_eq!(unknown["not_applied"][0]["status"], "unknown_meeting");
        app.finish().await;
    }
}

#[tokio::test]
async fn a_meeting_whose_end_is_lost_is_ended_at_the_maximum_duration() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let alice = add_user(&app, admin, "alice@example.com").await;
        let (status, rules) = app
            .call(Method::PATCH, "/v1/account/meeting-rules", admin, Some(json!({"max_meeting_minutes": 60})))
            .await;
        assert_eq!((status, rules["max_meeting_minutes"].as_i64()), (200, Some(60)), "{rules}");
        let lost = meeting_for(&app, admin, &alice, "Lost").await;
        let two_hours_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2)).to_string();
        events(
            &app,
            admin,
            &[
                json!({"idempotency_key": "s", "meeting_id": lost, "type": "started", "at": two_hours_ago}),
                json!({"idempotency_key": "j", "meeting_id": lost, "type": "attendee_joined", "at": two_hours_ago,
                       "attendee": "bob@example.com", "portion": "web"}),
            ],
        )
        .await;
        let (_, view) = app.call(Method::GET, &format!("/v1/meetings/{lost}"), admin, None).await;
        assert_eq!(
            (view["state"].as_str(), view["auto_ended"].as_bool()),
            (Some("ended"), Some(true)),
            "{view}"
        );
        let next = meeting_for(&app, admin, &alice, "Next").await;
        let (_, answer) = app.call(Method::GET, &format!("/v1/meetings/{next}/admission"), admin, None).await;
        assert_eq!(answer["allowed"], true, "the lost meeting does not block its host: {answer}");

        // One still running is ended by the sweep once its time is up.
        let half_an_hour_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(30)).to_string();
        events(
            &app,
            admin,
            &[
                json!({"idempotency_key": "s2", "meeting_id": next, "type": "started", "at": half_an_hour_ago}),
                json!({"idempotency_key": "j2", "meeting_id": next, "type": "attendee_joined", "at": half_an_hour_ago,
                       "attendee": "bob@example.com", "portion": "web"}),
            ],
        )
        .await;
        let sweep = |minutes: i64| {
            let at = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes);
            seatmeter_server::jobs::sweep::step(&app.state, at.as_millisecond())
        };
        assert_eq!(sweep(0).await.unwrap(), 0, "not yet");
        assert_eq!(sweep(31).await.unwrap(), 1, "half an hour later");
        assert_eq!(sweep(32).await.unwrap(), 0, "once");
        let (_, stream) = app.call(Method::GET, "/v1/activities?type=meeting.auto_ended", admin, None).await;
        assert_eq!(stream["items"].as_array().map(Vec::len), Some(1), "{stream}");
        let (_, usage) = app.call(Method::GET, "/v1/usage", admin, None).await;
        let licenses: u64 =
            usage["windows"].as_array().unwrap().iter().map(|w| w["licenses"].as_u64().unwrap()).sum();
        assert!(licenses >= 1, "both meetings are in usage: {usage}");
        app.finish().await;
    }
}

#[tokio::test]
async fn usage_counts_a_meeting_past_its_maximum_duration_before_the_sweep_ends_it() {
    let start = "2026-01-05T09:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let minute = 60_000;
    let clock = seatmeter_server::Clock::manual(start);
    for app in apps_with(&seatmeter_server::Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start - 60 * minute).await;
        let admin = &created.token;
        let (status, _) = app
            .call(Method::PATCH, "/v1/account/meeting-rules", admin, Some(json!({"max_meeting_minutes": 60})))
            .await;
        assert_eq!(status, 200);
        let alice = add_user(&app, admin, "alice@example.com").await;
        let lost = meeting_for(&app, admin, &alice, "Lost").await;
        events(
            &app,
            admin,
            &[
                json!({"idempotency_key": "s", "meeting_id": lost, "type": "started", "at": "2026-01-05T08:30:00Z"}),
                json!({"idempotency_key": "j", "meeting_id": lost, "type": "attendee_joined",
                       "at": "2026-01-05T08:30:00Z", "attendee": "bob@example.com", "portion": "web"}),
            ],
        )
        .await;
        let (_, running) = app.call(Method::GET, "/v1/usage", admin, None).await;
        assert_eq!(running["windows"], json!([]), "a running meeting is not counted yet: {running}");

        // Its end is lost: past its maximum duration, usage counts it ended there.
        clock.set(start + 31 * minute);
        let (status, before) = app.call(Method::GET, "/v1/usage", admin, None).await;
        assert_eq!(status, 200, "{before}");
        assert_eq!(before["windows"][0]["licenses"], 1, "{before}");
        let csv_before = app.get("/v1/usage?format=csv", Some(admin)).await.text().await.unwrap();
        let export = app.get("/v1/meetings/export", Some(admin)).await.text().await.unwrap();
        assert!(export.contains(",2026-01-05T08:30:00Z,2026-01-05T09:30:00Z,1,0"), "{export}");
        let (_, stream) = app.call(Method::GET, "/v1/activities?type=meeting.auto_ended", admin, None).await;
        assert_eq!(stream["items"].as_array().map(Vec::len), Some(0), "reading wrote nothing: {stream}");

        // The sweep ends it; usage reads the same.
        assert_eq!(seatmeter_server::jobs::sweep::step(&app.state, clock.now()).await.unwrap(), 1);
        let (_, stream) = app.call(Method::GET, "/v1/activities?type=meeting.auto_ended", admin, None).await;
        assert_eq!(stream["items"].as_array().map(Vec::len), Some(1), "{stream}");
        let (_, after) = app.call(Method::GET, "/v1/usage", admin, None).await;
        assert_eq!(after, before, "the same usage before and after the sweep ({})", app.backend());
        let csv_after = app.get("/v1/usage?format=csv", Some(admin)).await.text().await.unwrap();
        assert_eq!(csv_after, csv_before);
        app.finish().await;
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test]
async fn live_usage_is_what_the_batch_engine_computes_from_the_export() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let mut hosts = Vec::new();
        for i in 0..4 {
            hosts.push((
                add_user(&app, admin, &format!("host{i}@example.com")).await,
                format!("host{i}@example.com"),
            ));
        }
        let (_, account) = app.call(Method::GET, "/v1/account", admin, None).await;
        let anchor = jiff::Timestamp::from_millisecond(created.account.anchor_ms).unwrap();
        let mut rng = Rng(0x5EED_0001);
        let mut all_events = Vec::new();
        for i in 0..40 {
            let (host, _) = &hosts[rng.next(4) as usize];
            let meeting = meeting_for(&app, admin, host, &format!("m{i}")).await;
            // Around the anchor, on a 30-minute grid so meetings touch and overlap;
            // some run for days, across window boundaries.
            let start = anchor + jiff::SignedDuration::from_mins(30 * (rng.next(24 * 70) as i64 - 24 * 10));
            let minutes = if rng.next(8) == 0 {
                60 * 24 * (1 + rng.next(20) as i64)
            } else {
                30 * (1 + rng.next(6) as i64)
            };
            let end = start + jiff::SignedDuration::from_mins(minutes);
            all_events.push(json!({"idempotency_key": format!("{i}s"), "meeting_id": meeting, "type": "started", "at": start.to_string()}));
            match rng.next(10) {
                0 => {} // nobody attended
                1 => all_events.push(json!({"idempotency_key": format!("{i}p"), "meeting_id": meeting, "type": "attendee_joined",
                                             "at": start.to_string(), "attendee": "+1555", "portion": "phone"})),
                _ => all_events.push(json!({"idempotency_key": format!("{i}w"), "meeting_id": meeting, "type": "attendee_joined",
                                             "at": (start + jiff::SignedDuration::from_mins(1)).to_string(),
                                             "attendee": format!("guest{i}"), "portion": "web"})),
            }
            all_events.push(json!({"idempotency_key": format!("{i}e"), "meeting_id": meeting, "type": "ended", "at": end.to_string()}));
        }
        // Late and out of order: shuffled, in batches, some sent twice.
        for i in (1..all_events.len()).rev() {
            all_events.swap(i, rng.next(i as u64 + 1) as usize);
        }
        for chunk in all_events.chunks(17) {
            events(&app, admin, chunk).await;
        }
        events(&app, admin, &all_events[..10]).await;

        let export = app.get("/v1/meetings/export", Some(admin)).await.text().await.unwrap();
        let live_csv = app.get("/v1/usage?format=csv", Some(admin)).await.text().await.unwrap();
        let windows =
            Windows::new(seatmeter_core::time::Timestamp(i64::try_from(anchor.as_nanosecond()).unwrap()));
        let mut counted = Vec::new();
        for line in export.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let ns = |s: &str| seatmeter_core::time::parse_rfc3339(s.as_bytes()).unwrap().0;
            if Attendance::of(CountPolicy::WebOnly, f[4].parse().unwrap(), f[5].parse().unwrap()).is_counted()
            {
                counted.push((f[1].to_string(), ns(f[2]), ns(f[3])));
            }
        }
        assert_eq!(export.lines().count(), 41, "every meeting held is exported:\n{export}");
        let rows = compute_usage(&windows, counted);
        let expected = seatmeter_core::usage::csv::render(
            &windows,
            rows.iter().map(|r| (r.window, r.host.as_str(), r.licenses)),
        );
        assert_eq!(live_csv, expected, "on {} (anchor {})", app.backend(), account["usage_anchor"]);
        assert!(expected.lines().count() > 4, "the log uses licenses in several windows:\n{expected}");

        // A policy change re-settles usage: phone-only meetings count too.
        app.call(
            Method::PATCH,
            "/v1/account/meeting-rules",
            admin,
            Some(json!({"count_teleconference_only": true})),
        )
        .await;
        let (_, usage) = app.call(Method::GET, "/v1/usage", admin, None).await;
        assert_eq!(usage["policy"], "count_teleconference_only");
        app.finish().await;
    }
}

#[tokio::test]
async fn another_servers_start_reaches_this_servers_admission_answers_within_a_moment() {
    for mut app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.clone();
        let alice = add_user(&app, &admin, "alice@example.com").await;
        let (m1, m2) =
            (meeting_for(&app, &admin, &alice, "One").await, meeting_for(&app, &admin, &alice, "Two").await);
        let other = app.second_server().await;
        let ask = |base: String, meeting: String| {
            let (client, token) = (app.client.clone(), admin.clone());
            async move {
                let url = format!("{base}/v1/meetings/{meeting}/admission");
                client.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap()
            }
        };
        assert_eq!(ask(other.clone(), m2.clone()).await["allowed"], true, "kept by the other server");
        let (status, _) = app.call(Method::POST, &format!("/v1/meetings/{m1}/start"), &admin, None).await;
        assert_eq!(status, 200);
        assert_eq!(
            ask(app.base.clone(), m2.clone()).await["code"],
            "concurrency_limit",
            "this server: at once"
        );
        let began = std::time::Instant::now();
        loop {
            let answer = ask(other.clone(), m2.clone()).await;
            if answer["code"] == "concurrency_limit" {
                break;
            }
            assert!(
                began.elapsed() < std::time::Duration::from_secs(2),
                "the other server still says {answer}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        println!("{}: the other server saw the start after {:?}", app.backend(), began.elapsed());
        app.finish().await;
    }
}

#[tokio::test]
async fn concurrent_batches_sharing_a_commit_apply_each_event_once() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.clone();
        let alice = add_user(&app, &admin, "alice@example.com").await;
        let meeting = meeting_for(&app, &admin, &alice, "Town hall").await;
        // Ten requests at once; each event is sent by two of them, and
        // attendee n joins under two different keys.
        let requests: Vec<_> = (0..10)
            .map(|r| {
                let batch: Vec<Value> = (0..40)
                    .map(|i| {
                        let n = (r * 20 + i) % 200;
                        json!({"idempotency_key": format!("join-{n}-{}", i % 2), "meeting_id": meeting, "type": "attendee_joined",
                               "at": "2026-02-02T10:00:00Z", "attendee": format!("guest{n}"), "portion": "web"})
                    })
                    .collect();
                let (client, url, token) = (app.client.clone(), format!("{}/v1/events", app.base), admin.clone());
                tokio::spawn(async move {
                    client.post(url).bearer_auth(token).json(&batch).send().await.unwrap().json::<Value>().await.unwrap()
                })
            })
            .collect();
        let mut applied = 0;
        let mut duplicates = 0;
        for request in requests {
            let result = request.await.unwrap();
            applied += result["applied"].as_i64().unwrap();
            duplicates += result["duplicates"].as_i64().unwrap();
        }
        let distinct_keys: std::collections::BTreeSet<String> = (0..10)
            .flat_map(|r| (0..40).map(move |i| format!("join-{}-{}", (r * 20 + i) % 200, i % 2)))
            .collect();
        assert_eq!(applied, distinct_keys.len() as i64, "on {}", app.backend());
        assert_eq!(applied + duplicates, 400);
        let guests: std::collections::BTreeSet<i32> =
            (0..10).flat_map(|r| (0..40).map(move |i| (r * 20 + i) % 200)).collect();
        assert_eq!(view(&app, &admin, &meeting).await["web_attendees"], guests.len() as i64);
        app.finish().await;
    }
}

#[tokio::test]
async fn the_meeting_log_and_the_usage_csv_come_exact_or_safe_for_a_spreadsheet() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        // An address and an external id a spreadsheet would run as formulas.
        let host = add_user(&app, admin, "=1+2@example.com").await;
        let (status, meeting) = schedule(
            &app,
            admin,
            json!({"title": "Planning", "host_user_id": host, "external_id": "@SUM(A1)"}),
        )
        .await;
        assert_eq!(status, 201, "{meeting}");
        let id = meeting["id"].as_str().unwrap();
        let anchor = jiff::Timestamp::from_millisecond(created.account.anchor_ms).unwrap();
        let at = |minutes: i64| (anchor + jiff::SignedDuration::from_mins(minutes)).to_string();
        events(
            &app,
            admin,
            &[
                json!({"idempotency_key": "s", "meeting_id": id, "type": "started", "at": at(60)}),
                json!({"idempotency_key": "j", "meeting_id": id, "type": "attendee_joined", "at": at(61),
                       "attendee": "guest", "portion": "web"}),
                json!({"idempotency_key": "e", "meeting_id": id, "type": "ended", "at": at(120)}),
            ],
        )
        .await;
        let exact = text(&app, admin, "/v1/meetings/export").await;
        assert_eq!(text(&app, admin, "/v1/meetings/export?cells=exact").await, exact);
        let row = exact.lines().nth(1).unwrap();
        assert!(row.starts_with("@SUM(A1),=1+2@example.com,"), "the machine format is exact: {row}");
        let safe = text(&app, admin, "/v1/meetings/export?cells=formula_safe").await;
        assert_eq!(safe.lines().nth(1).unwrap(), row.replacen("@SUM(A1),=1+2", "'@SUM(A1),'=1+2", 1));

        let exact = text(&app, admin, "/v1/usage?format=csv").await;
        assert!(exact.lines().nth(1).unwrap().ends_with(",=1+2@example.com,1"), "{exact}");
        let safe = text(&app, admin, "/v1/usage?format=csv&cells=formula_safe").await;
        assert_eq!(safe, exact.replace(",=1+2@", ",'=1+2@"));
        let (status, error) = app.call(Method::GET, "/v1/meetings/export?cells=pretty", admin, None).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("cells")), "{error}");
        app.finish().await;
    }
}

async fn text(app: &TestApp, token: &str, path: &str) -> String {
    app.get(path, Some(token)).await.text().await.unwrap()
}

#[tokio::test]
async fn an_account_may_refuse_at_scheduling_time_a_meeting_over_the_hosts_limit() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let host = add_user(&app, admin, "host@example.com").await;
        let at = |hour: &str| format!("2027-03-01T{hour}:00Z");
        let slot = |title: &str, from: &str, to: &str| json!({"title": title, "host_user_id": host, "scheduled_start": at(from), "scheduled_end": at(to)});
        let (status, first) = schedule(&app, admin, slot("Planning", "09:00", "10:00")).await;
        assert_eq!(status, 201, "{first}");
        // By default the limit is checked when a meeting starts, not when it is planned.
        let (status, _) = schedule(&app, admin, slot("Overlapping, allowed", "09:30", "10:30")).await;
        assert_eq!(status, 201);

        let (status, rules) = app
            .call(
                Method::PATCH,
                "/v1/account/meeting-rules",
                admin,
                Some(json!({"refuse_schedule_conflicts": true})),
            )
            .await;
        assert_eq!((status, &rules["refuse_schedule_conflicts"]), (200, &json!(true)), "{rules}");
        let (status, refused) = schedule(&app, admin, slot("Review", "09:45", "11:00")).await;
        assert_eq!((status, refused["code"].as_str()), (409, Some("schedule_conflict")), "{refused}");
        let message = refused["message"].as_str().unwrap();
        assert!(
            message.contains("\"Planning\"") && message.contains(first["id"].as_str().unwrap()),
            "{message}"
        );
        // Touching is not overlapping; a meeting without times is not checked.
        let (status, _) = schedule(&app, admin, slot("Afterwards", "10:30", "11:00")).await;
        assert_eq!(status, 201);
        let (status, _) = schedule(&app, admin, json!({"title": "Some time", "host_user_id": host})).await;
        assert_eq!(status, 201);
        // With their own limit of 3, the host may have three at once.
        let (status, _) = app
            .call(Method::PATCH, &format!("/v1/users/{host}"), admin, Some(json!({"concurrency_limit": 3})))
            .await;
        assert_eq!(status, 200);
        let (status, third) = schedule(&app, admin, slot("Third", "09:40", "09:50")).await;
        assert_eq!(status, 201, "{third}");
        let (status, _) = schedule(&app, admin, slot("Fourth", "09:45", "09:46")).await;
        assert_eq!(status, 409, "three are already planned then");
        app.finish().await;
    }
}
