//! The activity stream: filters, cursor pages, CSV, and who sees what.

use reqwest::Method;
use serde_json::json;

use crate::support::{apps, token_for};

#[tokio::test]
async fn every_change_is_in_the_stream_and_can_be_paged_and_exported() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.as_str();
        for i in 0..7 {
            let body = json!({"email": format!("u{i}@example.com"), "name": format!("User, {i}")});
            assert_eq!(app.call(Method::POST, "/v1/users", admin, Some(body)).await.0, 201);
        }
        // 3 activities from account creation, 7 user.created.
        let (_, all) = app.call(Method::GET, "/v1/activities?limit=1000", admin, None).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 10, "{all}");
        assert!(all["next_cursor"].is_null());

        let mut seen = Vec::new();
        let mut path = "/v1/activities?type=user&limit=3".to_string();
        loop {
            let (status, page) = app.call(Method::GET, &path, admin, None).await;
            assert_eq!(status, 200, "{page}");
            for item in page["items"].as_array().unwrap() {
                assert_eq!(item["action"], "user.created");
                seen.push(item["id"].as_str().unwrap().to_string());
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/activities?type=user&limit=3&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 8, "7 added plus the first administrator");
        let unique: std::collections::BTreeSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 8, "no activity twice across pages");

        let (_, none) = app.call(Method::GET, "/v1/activities?until=2000-01-01", admin, None).await;
        assert_eq!(none["items"], json!([]));
        let (status, error) = app.call(Method::GET, "/v1/activities?since=yesterday", admin, None).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("since")));
        let (status, _) = app.call(Method::GET, "/v1/activities?colour=blue", admin, None).await;
        assert_eq!(status, 422, "unknown filters are refused");

        let csv = app
            .client
            .get(format!("{}/v1/activities/export?type=user.created", app.base))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().await.unwrap();
        assert!(text.starts_with("at,actor_user_id,action,subject_type,subject_id,details\n"));
        assert_eq!(text.lines().count(), 9);
        assert!(text.contains(r#"""email"":""u0@example.com"""#), "details are quoted: {text}");
        app.finish().await;
    }
}

#[tokio::test]
async fn a_long_export_streams_every_match_once_newest_first() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let account = created.account.id.as_str();
        // More than two batches of the export; many at the same millisecond.
        let mut tx = app.db.begin().await.unwrap();
        for i in 0..2345_i64 {
            let subject = format!("thing_{i}");
            let at = 1_700_000_000_000 + i / 7;
            let details = json!({"n": i});
            seatmeter_server::store::activities::record(
                &mut tx,
                account,
                at,
                None,
                "bulk.made",
                ("thing", &subject),
                details,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();

        let export = |query: &str| {
            let path = format!("{}/v1/activities/export?{query}", app.base);
            let request = app.client.get(path).bearer_auth(&created.token);
            async move { request.send().await.unwrap().text().await.unwrap() }
        };
        let text = export("type=bulk").await;
        let numbers: Vec<i64> = text
            .lines()
            .skip(1)
            .map(|line| line.rsplit("\"\"n\"\":").next().unwrap().trim_end_matches("}\"").parse().unwrap())
            .collect();
        assert_eq!(numbers.len(), 2345, "every match once");
        let times: Vec<i64> = numbers.iter().map(|n| n / 7).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
        let unique: std::collections::BTreeSet<_> = numbers.iter().collect();
        assert_eq!(unique.len(), 2345, "no activity twice");

        // A cursor starts the export where the stream's page ended.
        let (_, page) = app.call(Method::GET, "/v1/activities?type=bulk&limit=5", &created.token, None).await;
        let cursor = page["next_cursor"].as_str().unwrap();
        assert_eq!(export(&format!("type=bulk&cursor={cursor}")).await.lines().count(), 2345 - 5 + 1);
        let (status, _) = app.call(Method::GET, "/v1/activities/export?cursor=x", &created.token, None).await;
        assert_eq!(status, 422, "a bad cursor is refused before the export starts");
        app.finish().await;
    }
}

#[tokio::test]
async fn members_see_only_what_they_did_or_what_concerns_them_and_accounts_see_only_their_own() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let (_, alice) = app
            .call(
                Method::POST,
                "/v1/users",
                &created.token,
                Some(json!({"email": "alice@example.com", "name": "Alice"})),
            )
            .await;
        app.call(
            Method::POST,
            "/v1/users",
            &created.token,
            Some(json!({"email": "bob@example.com", "name": "Bob"})),
        )
        .await;
        let alice_id = alice["id"].as_str().unwrap();
        let token = token_for(&app, &created.account.id, alice_id).await;
        let (_, stream) = app.call(Method::GET, "/v1/activities", &token, None).await;
        for item in stream["items"].as_array().unwrap() {
            assert!(item["actor_user_id"] == alice_id || item["subject_id"] == alice_id, "{item}");
        }
        assert!(!stream["items"].as_array().unwrap().is_empty());

        let other = app.create_account("Other", "admin@other.example").await;
        let (_, theirs) = app.call(Method::GET, "/v1/activities", &other.token, None).await;
        assert_eq!(theirs["items"].as_array().unwrap().len(), 3, "only the other account's own creation");
        app.finish().await;
    }
}

#[tokio::test]
async fn the_whole_stream_is_for_administrators_of_reports_or_security() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let mut tokens = Vec::new();
        for (email, areas) in
            [("billing@example.com", json!(["billing"])), ("reports@example.com", json!(["reports"]))]
        {
            let (status, user) = app
                .call(
                    Method::POST,
                    "/v1/users",
                    admin,
                    Some(json!({"email": email, "name": email, "role": "administrator", "areas": areas})),
                )
                .await;
            assert_eq!(status, 201, "{user}");
            tokens.push(token_for(&app, &created.account.id, user["id"].as_str().unwrap()).await);
        }
        let (_, everything) = app.call(Method::GET, "/v1/activities", admin, None).await;
        let (_, billing) = app.call(Method::GET, "/v1/activities", &tokens[0], None).await;
        let (_, reports) = app.call(Method::GET, "/v1/activities", &tokens[1], None).await;
        assert_eq!(reports["items"], everything["items"], "reports sees it all on {}", app.backend());
        let seen = billing["items"].as_array().unwrap();
        assert!(seen.len() < everything["items"].as_array().unwrap().len(), "billing sees less: {billing}");
        assert!(!seen.is_empty(), "but what concerns them: {billing}");
        assert!(
            seen.iter()
                .all(|a| a["subject_id"] != created.admin.id.as_str() || a["actor_user_id"].is_string()),
            "{billing}"
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn a_privacy_administrator_erases_a_person_s_activities_and_the_counts_stay() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.as_str();
        let body = json!({"email": "maria@example.com", "name": "Maria Lopez"});
        let (_, maria) = app.call(Method::POST, "/v1/users", admin, Some(body)).await;
        let maria = maria["id"].as_str().unwrap().to_string();
        let body =
            json!({"email": "li@example.com", "name": "Li", "role": "administrator", "areas": ["reports"]});
        let (_, li) = app.call(Method::POST, "/v1/users", admin, Some(body)).await;
        let li_token = token_for(&app, &created.account.id, li["id"].as_str().unwrap()).await;
        let maria_token = token_for(&app, &created.account.id, &maria).await;
        // Maria acts (renames herself); the administrator acts on her.
        let path = format!("/v1/users/{maria}");
        app.call(Method::PATCH, &path, &maria_token, Some(json!({"name": "M. Lopez"}))).await;
        app.call(Method::PATCH, &path, admin, Some(json!({"concurrency_limit": 2}))).await;
        let (_, before) = app.call(Method::GET, "/v1/activities?limit=1000", admin, None).await;
        let before = before["items"].as_array().unwrap().clone();
        let about = |items: &[serde_json::Value]| {
            items
                .iter()
                .filter(|a| a.to_string().contains(&maria) || a.to_string().contains("maria@"))
                .count()
        };
        assert!(about(&before) >= 3, "{before:?}");

        // Only a privacy administrator may, and only for a user of the account.
        let erase = Some(json!({"user_id": maria}));
        assert_eq!(app.call(Method::POST, "/v1/activities/erasure", &li_token, erase.clone()).await.0, 403);
        let stranger = Some(json!({"user_id": "usr_nobody"}));
        assert_eq!(app.call(Method::POST, "/v1/activities/erasure", admin, stranger).await.0, 404);
        let (status, erased) = app.call(Method::POST, "/v1/activities/erasure", admin, erase).await;
        assert_eq!(status, 200, "{erased}");
        assert_eq!(erased["activities"], about(&before));

        // Nothing names her any more; every activity is still there, with its action and time.
        let (_, after) = app.call(Method::GET, "/v1/activities?limit=1000", admin, None).await;
        let after = after["items"].as_array().unwrap();
        assert_eq!(about(after), 0, "{after:?}");
        assert_eq!(after.len(), before.len() + 1, "the erasure is recorded");
        assert_eq!(after[0]["action"], "privacy.erased");
        for (old, new) in before.iter().zip(&after[1..]) {
            assert_eq!((&old["id"], &old["action"], &old["at"]), (&new["id"], &new["action"], &new["at"]));
        }

        // Only the person: a longer address that ends like theirs keeps its details.
        let body = json!({"email": "awu@example.com", "name": "A. Wu"});
        let (_, other) = app.call(Method::POST, "/v1/users", admin, Some(body)).await;
        let body = json!({"email": "wu@example.com", "name": "Wu"});
        let (_, wu) = app.call(Method::POST, "/v1/users", admin, Some(body)).await;
        let (_, erased) =
            app.call(Method::POST, "/v1/activities/erasure", admin, Some(json!({"user_id": wu["id"]}))).await;
        assert_eq!(erased["activities"], 1, "{erased}");
        let path = format!("/v1/activities?subject={}", other["id"].as_str().unwrap());
        let (_, kept) = app.call(Method::GET, &path, admin, None).await;
        assert_eq!(kept["items"][0]["details"]["email"], "awu@example.com", "{kept}");

        // Erasing oneself leaves no trace of oneself in the erasure either.
        let me = created.admin.id.clone();
        app.call(Method::POST, "/v1/activities/erasure", admin, Some(json!({"user_id": me}))).await;
        let (_, after) = app.call(Method::GET, "/v1/activities?limit=1000", admin, None).await;
        assert!(!after.to_string().contains(&me), "{after}");
        assert_eq!(after["items"][0]["actor_user_id"], "erased");
        app.finish().await;
    }
}
