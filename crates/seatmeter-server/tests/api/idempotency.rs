//! `Idempotency-Key` on mutating requests: a retry gets the first answer
//! instead of acting twice; another request under a used key is refused;
//! keys are per account and kept for a day.

use reqwest::Method;
use seatmeter_server::{Clock, Settings};
use serde_json::json;

use crate::support::{TestApp, apps_with};

/// `method path` with `token`, a JSON `body` and an `Idempotency-Key`;
/// the status, whether it was replayed, and the body.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    key: &str,
    body: Option<serde_json::Value>,
) -> (u16, bool, String) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("idempotency-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (response.status().as_u16(), replayed, response.text().await.unwrap())
}

async fn users(app: &TestApp, token: &str) -> usize {
    app.call(Method::GET, "/v1/users", token, None).await.1.as_array().unwrap().len()
}

#[tokio::test]
async fn a_retried_request_is_answered_again_not_done_again() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        let maria = json!({"email": "maria@example.com", "name": "Maria"});

        let first = send(&app, Method::POST, "/v1/users", &token, "add-maria", Some(maria.clone())).await;
        assert_eq!((first.0, first.1), (201, false), "{}", first.2);
        let again = send(&app, Method::POST, "/v1/users", &token, "add-maria", Some(maria.clone())).await;
        assert_eq!(again, (201, true, first.2.clone()), "the same answer, replayed");
        assert_eq!(users(&app, &token).await, 2, "Maria was added once");

        // Another request under the same key: refused.
        let other = json!({"email": "lee@example.com", "name": "Lee"});
        let reused = send(&app, Method::POST, "/v1/users", &token, "add-maria", Some(other)).await;
        assert_eq!(reused.0, 409, "{}", reused.2);
        assert!(reused.2.contains("idempotency_key_reused"), "{}", reused.2);

        // A refusal is an answer too: the retry gets it again.
        let bad = json!({"email": "not an address", "name": "X"});
        let refused = send(&app, Method::POST, "/v1/users", &token, "bad", Some(bad.clone())).await;
        assert_eq!(refused.0, 422);
        assert!(send(&app, Method::POST, "/v1/users", &token, "bad", Some(bad)).await.1, "replayed");

        // A DELETE retried: the first answer, not "not found".
        let (_, issued) =
            app.call(Method::POST, "/v1/tokens", &token, Some(json!({"name": "platform"}))).await;
        let path = format!("/v1/tokens/{}", issued["id"].as_str().unwrap());
        let revoked = send(&app, Method::DELETE, &path, &token, "revoke", None).await;
        let retried = send(&app, Method::DELETE, &path, &token, "revoke", None).await;
        assert_eq!((retried.0, retried.1), (revoked.0, true), "{revoked:?} {retried:?}");
        assert_eq!(app.call(Method::DELETE, &path, &token, None).await.0, 404, "without a key it acts");

        // Keys are per account.
        let other = app.create_account_at("Other Corp", "admin@other.example", start).await;
        let theirs = json!({"email": "maria@other.example", "name": "Maria"});
        let acted = send(&app, Method::POST, "/v1/users", &other.token, "add-maria", Some(theirs)).await;
        assert_eq!((acted.0, acted.1), (201, false));

        // A day later the key is free again.
        clock.set(start + 24 * 3_600_000 + 1);
        let later = send(&app, Method::POST, "/v1/users", &token, "add-maria", Some(maria)).await;
        assert_eq!((later.0, later.1), (409, false), "Maria exists: acted, and refused as a duplicate");

        // A key must be visible ASCII, at most 255 characters.
        let long = "k".repeat(256);
        let invalid = send(&app, Method::POST, "/v1/users", &token, &long, Some(json!({}))).await;
        assert_eq!(invalid.0, 422, "{}", invalid.2);
        app.finish().await;
    }
}

#[tokio::test]
async fn ten_retries_at_once_act_once() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        let maria = json!({"email": "maria@example.com", "name": "Maria"});
        let sends =
            (0..10).map(|_| send(&app, Method::POST, "/v1/users", &token, "once", Some(maria.clone())));
        let answers = futures_util::future::join_all(sends).await;
        let acted = answers.iter().filter(|a| a.0 == 201 && !a.1).count();
        assert_eq!(acted, 1, "{answers:?}");
        // The others were told it is in progress, or given the first answer.
        assert!(
            answers.iter().all(|a| a.0 == 201 || (a.0 == 409 && a.2.contains("in_progress"))),
            "{answers:?}"
        );
        assert_eq!(users(&app, &token).await, 2);
        app.finish().await;
    }
}
