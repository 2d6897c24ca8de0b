//! Booking pages and the licenses behind them: the seasonal user's story.

use reqwest::Method;
use seatmeter_core::people::LicenseKind;
use serde_json::json;

use crate::support::{TestApp, apps, token_for};

async fn add_user(app: &TestApp, admin: &str, email: &str) -> String {
    let (status, user) =
        app.call(Method::POST, "/v1/users", admin, Some(json!({"email": email, "name": email}))).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_string()
}

async fn assign(app: &TestApp, admin: &str, user: &str) -> u16 {
    app.call(
        Method::POST,
        "/v1/licenses/scheduled_meetings/assignments",
        admin,
        Some(json!({"user_id": user})),
    )
    .await
    .0
}

#[tokio::test]
async fn a_seasonal_users_page_is_disabled_with_their_license_and_comes_back_as_it_was() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.as_str();
        app.install(&created.account.id, LicenseKind::ScheduledMeetings, 1).await;
        let maria = add_user(&app, admin, "maria@example.com").await;
        let (status, page) = app
            .call(
                Method::POST,
                "/v1/booking-pages",
                admin,
                Some(json!({
                    "title": "Interviews with Maria",
                    "owner_user_id": maria,
                    "weekly_hours": {"tue": [["13:00", "17:00"], ["09:00", "12:00"]]},
                    "enabled": true,
                })),
            )
            .await;
        assert_eq!(status, 409, "cannot be enabled before Maria has a license: {page}");

        assert_eq!(assign(&app, admin, &maria).await, 201);
        let (status, page) = app
            .call(
                Method::POST,
                "/v1/booking-pages",
                admin,
                Some(json!({
                    "title": "Interviews with Maria",
                    "owner_user_id": maria,
                    "weekly_hours": {"tue": [["13:00", "17:00"], ["09:00", "12:00"]]},
                    "enabled": true,
                })),
            )
            .await;
        assert_eq!(status, 201, "{page} on {}", app.backend());
        assert_eq!(page["enabled"], true);
        assert_eq!(page["weekly_hours"]["tue"], json!([["09:00", "12:00"], ["13:00", "17:00"]]));
        let page_id = page["id"].as_str().unwrap().to_string();
        let page_path = format!("/v1/booking-pages/{page_id}");
        let (status, _) = app
            .call(
                Method::PATCH,
                &page_path,
                admin,
                Some(json!({"overrides": {"2026-12-24": [], "2026-12-23": [["10:00", "11:00"]]}})),
            )
            .await;
        assert_eq!(status, 200);

        // The position is filled: the license goes to someone else, the page goes quiet.
        let (status, unassigned) = app
            .call(
                Method::DELETE,
                &format!("/v1/licenses/scheduled_meetings/assignments/{maria}"),
                admin,
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(unassigned["disabled_booking_pages"], json!([page_id]));
        let (_, page) = app.call(Method::GET, &page_path, admin, None).await;
        assert_eq!(page["enabled"], false);
        let (status, refused) = app.call(Method::POST, &format!("{page_path}/enable"), admin, None).await;
        assert_eq!(status, 409);
        assert!(refused["message"].as_str().unwrap().contains("holds no scheduled_meetings license"));

        // A new position opens: the license comes back and so does the page, settings intact.
        assert_eq!(assign(&app, admin, &maria).await, 201);
        let maria_token = token_for(&app, &created.account.id, &maria).await;
        let (status, page) = app.call(Method::POST, &format!("{page_path}/enable"), &maria_token, None).await;
        assert_eq!(status, 200, "the owner re-enables her own page: {page}");
        assert_eq!(page["enabled"], true);
        assert_eq!(page["title"], "Interviews with Maria");
        assert_eq!(page["overrides"]["2026-12-24"], json!([]));
        assert_eq!(page["weekly_hours"]["tue"], json!([["09:00", "12:00"], ["13:00", "17:00"]]));

        // The whole story is in the activity stream, for this page.
        let (_, stream) =
            app.call(Method::GET, &format!("/v1/activities?booking_page={page_id}"), admin, None).await;
        let actions: Vec<&str> =
            stream["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            vec![
                "booking_page.enabled",
                "booking_page.disabled",
                "booking_page.updated",
                "booking_page.created"
            ],
            "{stream}"
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn transferring_a_page_to_an_unlicensed_owner_disables_it() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.as_str();
        app.install(&created.account.id, LicenseKind::ScheduledMeetings, 2).await;
        let (ann, ben, cy) = (
            add_user(&app, admin, "ann@example.com").await,
            add_user(&app, admin, "ben@example.com").await,
            add_user(&app, admin, "cy@example.com").await,
        );
        assign(&app, admin, &ann).await;
        assign(&app, admin, &ben).await;
        let (_, page) = app
            .call(
                Method::POST,
                "/v1/booking-pages",
                admin,
                Some(json!({"title": "Sales", "owner_user_id": ann, "enabled": true})),
            )
            .await;
        let transfer = format!("/v1/booking-pages/{}/transfer", page["id"].as_str().unwrap());
        let (status, page) =
            app.call(Method::POST, &transfer, admin, Some(json!({"owner_user_id": ben}))).await;
        assert_eq!(
            (status, page["enabled"].as_bool(), page["owner_user_id"].as_str()),
            (200, Some(true), Some(ben.as_str()))
        );
        let (status, page) =
            app.call(Method::POST, &transfer, admin, Some(json!({"owner_user_id": cy}))).await;
        assert_eq!((status, page["enabled"].as_bool()), (200, Some(false)), "{page}");
        let ann_token = token_for(&app, &created.account.id, &ann).await;
        assert_eq!(
            app.call(Method::POST, &transfer, &ann_token, Some(json!({"owner_user_id": ann}))).await.0,
            403
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn who_sees_and_changes_a_page() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.as_str();
        let account = created.account.id.as_str();
        let (owner, editor, assistant, stranger) = (
            add_user(&app, admin, "owner@example.com").await,
            add_user(&app, admin, "editor@example.com").await,
            add_user(&app, admin, "assistant@example.com").await,
            add_user(&app, admin, "stranger@example.com").await,
        );
        let owner_token = token_for(&app, account, &owner).await;
        let (status, page) =
            app.call(Method::POST, "/v1/booking-pages", &owner_token, Some(json!({"title": "Mine"}))).await;
        assert_eq!(status, 201, "{page}");
        let path = format!("/v1/booking-pages/{}", page["id"].as_str().unwrap());
        let (status, page) = app
            .call(
                Method::PUT,
                &format!("{path}/editors"),
                &owner_token,
                Some(json!({"editors": [{"user_id": editor, "notify_email": true}]})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(page["editors"], json!([{"user_id": editor, "notify_email": true, "notify_sms": false}]));
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/scheduling-privileges",
                &owner_token,
                Some(json!({"scheduler_user_id": assistant, "host_user_id": owner})),
            )
            .await;
        assert_eq!(status, 201);

        let editor_token = token_for(&app, account, &editor).await;
        let assistant_token = token_for(&app, account, &assistant).await;
        let stranger_token = token_for(&app, account, &stranger).await;
        assert_eq!(
            app.call(Method::PATCH, &path, &editor_token, Some(json!({"title": "Ours"}))).await.0,
            200
        );
        assert_eq!(
            app.call(
                Method::PATCH,
                &path,
                &assistant_token,
                Some(json!({"weekly_hours": {"mon": [["08:00", "09:00"]]}}))
            )
            .await
            .0,
            200
        );
        assert_eq!(
            app.call(Method::PATCH, &path, &assistant_token, Some(json!({"title": "Theirs"}))).await.0,
            403
        );
        assert_eq!(app.call(Method::POST, &format!("{path}/disable"), &editor_token, None).await.0, 403);
        assert_eq!(app.call(Method::GET, &path, &stranger_token, None).await.0, 404);
        let (_, visible) = app.call(Method::GET, "/v1/booking-pages", &stranger_token, None).await;
        assert_eq!(visible, json!([]));

        let other = app.create_account("Other", "admin@other.example").await;
        assert_eq!(
            app.call(Method::GET, &path, &other.token, None).await.0,
            404,
            "another account's page is not found"
        );
        assert_eq!(app.call(Method::PATCH, &path, &other.token, Some(json!({"title": "x"}))).await.0, 404);

        let (status, error) = app
            .call(
                Method::PATCH,
                &path,
                &owner_token,
                Some(json!({"weekly_hours": {"mon": [["10:00", "09:00"]]}})),
            )
            .await;
        assert_eq!((status, error["field"].as_str()), (422, Some("weekly_hours")), "{error}");
        let (status, error) = app
            .call(Method::PATCH, &path, &owner_token, Some(json!({"overrides": {"2026-02-30": []}})))
            .await;
        assert_eq!((status, error["field"].as_str()), (422, Some("overrides")), "{error}");
        app.finish().await;
    }
}
