//! Creating an account, authenticating with its token, and seeing only it.

use seatmeter_server::secrets::token_hash;

use crate::support::apps;

#[tokio::test]
async fn a_new_account_answers_to_its_administrators_token() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "Admin@Example.com").await;
        assert!(created.token.starts_with("smt_"));

        let account = app.get("/v1/account", Some(&created.token)).await;
        assert_eq!(account.status(), 200, "{}", app.backend());
        let account: serde_json::Value = account.json().await.unwrap();
        assert_eq!(account["id"], created.account.id.as_str());
        assert_eq!(account["name"], "Example Corp");

        let me: serde_json::Value = app.get("/v1/me", Some(&created.token)).await.json().await.unwrap();
        assert_eq!(me["email"], "Admin@Example.com");
        assert_eq!(me["role"], "administrator");
        assert_eq!(me["areas"], serde_json::json!([]));
        app.finish().await;
    }
}

#[tokio::test]
async fn without_a_valid_token_nothing_is_shown() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        for token in [None, Some("smt_0000"), Some(token_hash(&created.token).as_str())] {
            let response = app.get("/v1/account", token).await;
            assert_eq!(response.status(), 401, "{token:?} on {}", app.backend());
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "unauthorized");
            assert!(body["message"].as_str().unwrap().contains("token"));
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn each_token_sees_its_own_account_only() {
    for app in apps().await {
        let first = app.create_account("First", "a@first.example").await;
        let second = app.create_account("Second", "a@second.example").await;
        let seen: serde_json::Value = app.get("/v1/account", Some(&second.token)).await.json().await.unwrap();
        assert_eq!(seen["id"], second.account.id.as_str());
        let seen: serde_json::Value = app.get("/v1/account", Some(&first.token)).await.json().await.unwrap();
        assert_eq!(seen["id"], first.account.id.as_str());
        app.finish().await;
    }
}

#[tokio::test]
async fn tokens_are_stored_hashed_and_creation_is_recorded() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let (stored, actions): (Vec<String>, Vec<String>) = match &app.db {
            seatmeter_server::Db::Sqlite(db) => (
                sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_all(&db.pool).await.unwrap(),
                sqlx::query_scalar("SELECT action FROM activities ORDER BY action")
                    .fetch_all(&db.pool)
                    .await
                    .unwrap(),
            ),
            seatmeter_server::Db::Postgres(pool) => (
                sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_all(pool).await.unwrap(),
                sqlx::query_scalar("SELECT action FROM activities ORDER BY action")
                    .fetch_all(pool)
                    .await
                    .unwrap(),
            ),
        };
        assert_eq!(stored, vec![token_hash(&created.token)]);
        assert!(!stored[0].contains(&created.token[4..]), "the token itself is never stored");
        assert_eq!(actions, vec!["account.created", "token.created", "user.created"]);
        app.finish().await;
    }
}

#[tokio::test]
async fn tokens_are_issued_listed_with_last_use_and_revoked() {
    use reqwest::Method;
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let (status, issued) = app
            .call(Method::POST, "/v1/tokens", &created.token, Some(serde_json::json!({"name": "CI"})))
            .await;
        assert_eq!(status, 201, "{issued}");
        let second = issued["token"].as_str().unwrap().to_string();
        assert_eq!(app.get("/v1/me", Some(&second)).await.status(), 200);

        let (_, tokens) = app.call(Method::GET, "/v1/tokens", &created.token, None).await;
        let tokens = tokens.as_array().unwrap();
        assert_eq!(tokens.len(), 2);
        assert!(tokens.iter().all(|t| t.get("token").is_none()), "secrets are never listed");
        let ci = tokens.iter().find(|t| t["name"] == "CI").unwrap();
        assert!(ci["last_used_at"].is_string(), "{ci}");

        let path = format!("/v1/tokens/{}", issued["id"].as_str().unwrap());
        let other = app.create_account("Other", "admin@other.example").await;
        assert_eq!(app.call(Method::DELETE, &path, &other.token, None).await.0, 404, "not another account's");
        assert_eq!(app.call(Method::DELETE, &path, &second, None).await.0, 204);
        assert_eq!(app.get("/v1/me", Some(&second)).await.status(), 401);
        assert_eq!(app.call(Method::DELETE, &path, &created.token, None).await.0, 404, "already revoked");
        app.finish().await;
    }
}
