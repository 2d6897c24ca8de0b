//! No request reads or changes another account's data: every resource of
//! one account, reached with another account's administrator token, is
//! "not found" (never "forbidden", which would reveal that it exists), and
//! stays exactly as it was.

use reqwest::Method;
use seatmeter_core::people::LicenseKind;
use serde_json::json;

use crate::support::apps;

#[tokio::test]
async fn another_accounts_things_are_not_found_and_stay_unchanged() {
    for app in apps().await {
        let ours = app.create_account("Ours", "admin@ours.example").await;
        let theirs = app.create_account("Theirs", "admin@theirs.example").await;
        let (admin, intruder) = (&ours.token, &theirs.token);
        app.install(&ours.account.id, LicenseKind::ScheduledMeetings, 2).await;
        app.install(&theirs.account.id, LicenseKind::ScheduledMeetings, 2).await;
        let (_, alice) = app
            .call(
                Method::POST,
                "/v1/users",
                admin,
                Some(json!({"email": "alice@ours.example", "name": "Alice"})),
            )
            .await;
        let alice = alice["id"].as_str().unwrap().to_string();
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/licenses/scheduled_meetings/assignments",
                admin,
                Some(json!({"user_id": alice})),
            )
            .await;
        assert_eq!(status, 201);
        let (status, page) = app
            .call(
                Method::POST,
                "/v1/booking-pages",
                admin,
                Some(json!({"title": "Alice's office hours", "owner_user_id": alice, "enabled": true})),
            )
            .await;
        assert_eq!(status, 201, "{page}");
        let page = page["id"].as_str().unwrap().to_string();
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/scheduling-privileges",
                admin,
                Some(json!({"scheduler_user_id": ours.admin.id, "host_user_id": alice})),
            )
            .await;
        assert_eq!(status, 201);
        let (_, their_user) = app
            .call(
                Method::POST,
                "/v1/users",
                intruder,
                Some(json!({"email": "mallory@theirs.example", "name": "M"})),
            )
            .await;
        let mallory = their_user["id"].as_str().unwrap().to_string();

        let attempts: Vec<(Method, String, Option<serde_json::Value>)> = vec![
            (Method::GET, format!("/v1/users/{alice}"), None),
            (Method::PATCH, format!("/v1/users/{alice}"), Some(json!({"disabled": true}))),
            (Method::DELETE, format!("/v1/licenses/scheduled_meetings/assignments/{alice}"), None),
            (
                Method::POST,
                "/v1/licenses/scheduled_meetings/assignments".into(),
                Some(json!({"user_id": alice})),
            ),
            (Method::GET, format!("/v1/booking-pages/{page}"), None),
            (Method::PATCH, format!("/v1/booking-pages/{page}"), Some(json!({"title": "Mine now"}))),
            (Method::POST, format!("/v1/booking-pages/{page}/disable"), None),
            (Method::POST, format!("/v1/booking-pages/{page}/enable"), None),
            (
                Method::POST,
                format!("/v1/booking-pages/{page}/transfer"),
                Some(json!({"owner_user_id": mallory})),
            ),
            (
                Method::PUT,
                format!("/v1/booking-pages/{page}/editors"),
                Some(json!({"editors": [{"user_id": mallory, "notify_email": true, "notify_sms": false}]})),
            ),
            (Method::DELETE, format!("/v1/scheduling-privileges/{}/{alice}", ours.admin.id), None),
            (
                Method::POST,
                "/v1/scheduling-privileges".into(),
                Some(json!({"scheduler_user_id": mallory, "host_user_id": alice})),
            ),
            (Method::GET, format!("/v1/scheduling-privileges?user_id={alice}"), None),
        ];
        for (method, path, body) in attempts {
            let (status, answer) = app.call(method.clone(), &path, intruder, body).await;
            if path == "/v1/scheduling-privileges" {
                // A user of another account named in a body is not found, as one that exists nowhere is.
                assert_eq!(status, 404, "{answer}");
                continue;
            }
            assert_eq!(status, 404, "{method} {path} on {}: {answer}", app.backend());
            assert_eq!(answer["code"], "not_found", "{method} {path}");
        }

        let (_, seen) = app.call(Method::GET, &format!("/v1/booking-pages/{page}"), admin, None).await;
        assert_eq!(seen["title"], "Alice's office hours");
        assert_eq!(seen["enabled"], true);
        assert_eq!(seen["owner_user_id"], alice.as_str());
        assert_eq!(seen["editors"], json!([]));
        let (_, user) = app.call(Method::GET, &format!("/v1/users/{alice}"), admin, None).await;
        assert_eq!(user["disabled"], false);
        let (_, pools) = app.call(Method::GET, "/v1/licenses", admin, None).await;
        let scheduled = pools.as_array().unwrap().iter().find(|p| p["kind"] == "scheduled_meetings").unwrap();
        assert_eq!(scheduled["assigned"], 1, "still Alice's");
        let (_, privileges) =
            app.call(Method::GET, &format!("/v1/scheduling-privileges?user_id={alice}"), admin, None).await;
        assert_eq!(privileges["may_be_scheduled_by"], json!([ours.admin.id]));
        let (_, their_pools) = app.call(Method::GET, "/v1/licenses", intruder, None).await;
        let scheduled =
            their_pools.as_array().unwrap().iter().find(|p| p["kind"] == "scheduled_meetings").unwrap();
        assert_eq!(scheduled["assigned"], 0);
        app.finish().await;
    }
}
