//! License pools: assign, unassign, never over-assign, only within the account.

use reqwest::Method;
use seatmeter_core::people::LicenseKind;
use serde_json::json;

use crate::support::apps;

async fn add_user(app: &crate::support::TestApp, admin: &str, email: &str) -> String {
    let (status, user) =
        app.call(Method::POST, "/v1/users", admin, Some(json!({"email": email, "name": email}))).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn assigning_and_unassigning_moves_licenses_between_free_and_assigned() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.as_str();
        app.install(&created.account.id, LicenseKind::ScheduledMeetings, 2).await;
        let alice = add_user(&app, admin, "alice@example.com").await;

        let (status, assigned) = app
            .call(
                Method::POST,
                "/v1/licenses/scheduled_meetings/assignments",
                admin,
                Some(json!({"user_id": alice})),
            )
            .await;
        assert_eq!(status, 201, "{assigned} on {}", app.backend());
        let (_, pools) = app.call(Method::GET, "/v1/licenses", admin, None).await;
        assert_eq!(
            pools[0],
            json!({"kind": "scheduled_meetings", "installed": 2, "assigned": 1, "free": 1}),
            "{pools}"
        );
        let (status, again) = app
            .call(
                Method::POST,
                "/v1/licenses/scheduled_meetings/assignments",
                admin,
                Some(json!({"user_id": alice})),
            )
            .await;
        assert_eq!(status, 409, "{again}");

        let path = format!("/v1/licenses/scheduled_meetings/assignments/{alice}");
        assert_eq!(app.call(Method::DELETE, &path, admin, None).await.0, 200);
        assert_eq!(app.call(Method::DELETE, &path, admin, None).await.0, 404);
        let (_, pools) = app.call(Method::GET, "/v1/licenses", admin, None).await;
        assert_eq!(pools[0]["free"], 2);

        let (status, error) = app
            .call(Method::POST, "/v1/licenses/host/assignments", admin, Some(json!({"user_id": alice})))
            .await;
        assert_eq!(status, 422, "{error}");
        let (status, _) = app
            .call(Method::POST, "/v1/licenses/seats/assignments", admin, Some(json!({"user_id": alice})))
            .await;
        assert_eq!(status, 404);
        app.finish().await;
    }
}

#[tokio::test]
async fn when_none_is_free_the_answer_says_so() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let alice = add_user(&app, &created.token, "alice@example.com").await;
        let (status, error) = app
            .call(
                Method::POST,
                "/v1/licenses/live_engagement/assignments",
                &created.token,
                Some(json!({"user_id": alice})),
            )
            .await;
        assert_eq!(status, 409);
        assert!(error["message"].as_str().unwrap().contains("no live_engagement license is free"), "{error}");
        app.finish().await;
    }
}

#[tokio::test]
async fn another_accounts_users_cannot_be_given_licenses() {
    for app in apps().await {
        let first = app.create_account("First", "admin@first.example").await;
        let second = app.create_account("Second", "admin@second.example").await;
        app.install(&first.account.id, LicenseKind::ScheduledMeetings, 5).await;
        let outsider = add_user(&app, &second.token, "someone@second.example").await;
        let (status, error) = app
            .call(
                Method::POST,
                "/v1/licenses/scheduled_meetings/assignments",
                &first.token,
                Some(json!({"user_id": outsider})),
            )
            .await;
        assert_eq!(status, 404, "{error}");
        assert_eq!(app.call(Method::GET, &format!("/v1/users/{outsider}"), &first.token, None).await.0, 404);
        app.finish().await;
    }
}

#[tokio::test]
async fn fifty_concurrent_assignments_of_ten_free_licenses_through_two_servers() {
    for mut app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        app.install(&created.account.id, LicenseKind::ScheduledMeetings, 10).await;
        let mut users = Vec::new();
        for i in 0..50 {
            users.push(add_user(&app, &created.token, &format!("user{i}@example.com")).await);
        }
        // A second server with its own connection pool on the same database.
        let other = app.second_server().await;
        let mut requests = Vec::new();
        for (i, user) in users.iter().enumerate() {
            let base = if i % 2 == 0 { app.base.clone() } else { other.clone() };
            let request = app
                .client
                .post(format!("{base}/v1/licenses/scheduled_meetings/assignments"))
                .bearer_auth(&created.token)
                .json(&json!({"user_id": user}))
                .send();
            requests.push(tokio::spawn(request));
        }
        let mut statuses = Vec::new();
        for request in requests {
            statuses.push(request.await.unwrap().unwrap().status().as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10, "{statuses:?} on {}", app.backend());
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 40, "{statuses:?}");
        let (_, pools) = app.call(Method::GET, "/v1/licenses", &created.token, None).await;
        assert_eq!(pools[0]["assigned"], 10);
        assert_eq!(pools[0]["free"], 0);
        app.finish().await;
    }
}

#[tokio::test]
async fn the_holders_of_a_license_are_listed_with_when_and_by_whom_a_page_at_a_time() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = seatmeter_server::Clock::manual(start);
    for app in crate::support::apps_with(&seatmeter_server::Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let admin = &created.token;
        app.install(&created.account.id, LicenseKind::ScheduledMeetings, 5).await;
        let mut ids = Vec::new();
        for (i, name) in ["ada", "bo", "cy"].into_iter().enumerate() {
            let id = add_user(&app, admin, &format!("{name}@example.com")).await;
            clock.set(start + 1000 * i as i64);
            let (status, _) = app
                .call(
                    Method::POST,
                    "/v1/licenses/scheduled_meetings/assignments",
                    admin,
                    Some(json!({"user_id": id})),
                )
                .await;
            assert_eq!(status, 201);
            ids.push(id);
        }
        let path = "/v1/licenses/scheduled_meetings/assignments";
        let (status, first) = app.call(Method::GET, &format!("{path}?limit=2"), admin, None).await;
        assert_eq!(status, 200, "{first}");
        let listed: Vec<&str> =
            first["items"].as_array().unwrap().iter().map(|h| h["user_id"].as_str().unwrap()).collect();
        assert_eq!(listed, [ids[0].as_str(), ids[1].as_str()], "oldest assignment first");
        assert_eq!(first["items"][0]["email"], "ada@example.com");
        assert_eq!(first["items"][0]["assigned_by_user_id"].as_str(), Some(created.admin.id.as_str()));
        let at = jiff::Timestamp::from_millisecond(start).unwrap();
        assert_eq!(
            first["items"][0]["assigned_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(),
            at
        );
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, rest) = app.call(Method::GET, &format!("{path}?limit=2&cursor={cursor}"), admin, None).await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
        assert_eq!(rest["items"][0]["user_id"].as_str(), Some(ids[2].as_str()));
        assert!(rest.get("next_cursor").is_none(), "the last page has no cursor: {rest}");
        let (_, none) = app.call(Method::GET, "/v1/licenses/live_engagement/assignments", admin, None).await;
        assert_eq!(none["items"], json!([]));

        // A user's view names their licenses; a member may not list the holders.
        let (_, ada) = app.call(Method::GET, &format!("/v1/users/{}", ids[0]), admin, None).await;
        assert_eq!(ada["licenses"], json!(["scheduled_meetings"]), "{ada}");
        let member = crate::support::token_for(&app, &created.account.id, &ids[0]).await;
        let (_, me) = app.call(Method::GET, "/v1/me", &member, None).await;
        assert_eq!(me["licenses"], json!(["scheduled_meetings"]), "{me}");
        let (status, _) = app.call(Method::GET, path, &member, None).await;
        assert_eq!(status, 403);
        let billing = add_user(&app, admin, "billing@example.com").await;
        let (status, _) = app
            .call(
                Method::PATCH,
                &format!("/v1/users/{billing}"),
                admin,
                Some(json!({"role": "administrator", "areas": ["billing"]})),
            )
            .await;
        assert_eq!(status, 200);
        let billing = crate::support::token_for(&app, &created.account.id, &billing).await;
        let (status, _) = app.call(Method::GET, path, &billing, None).await;
        assert_eq!(status, 403, "who holds licenses is for administrators of users & licenses");
        for bad in ["?limit=0", "?cursor=x", "?cursor=1.act_65ddebfbad2fc4b0fa1c742e"] {
            let (status, error) = app.call(Method::GET, &format!("{path}{bad}"), admin, None).await;
            assert_eq!(status, 422, "{bad}: {error}");
        }
        let (status, _) = app.call(Method::GET, "/v1/licenses/host/assignments", admin, None).await;
        assert_eq!(status, 422, "host licenses are not assigned");
        app.finish().await;
    }
}
