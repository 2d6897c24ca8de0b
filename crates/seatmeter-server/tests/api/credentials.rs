//! Credentials do not outlive a change of rights: a one-time password
//! link, a pending password renewal, a console session and an API token
//! made while a user had fewer rights stop working when their rights grow
//! (a new role, more areas) or when they are enabled again; narrowing
//! rights leaves them working, with the narrower rights.

use reqwest::Method;
use seatmeter_server::{Clock, Settings};
use serde_json::json;

use crate::browser::{
    Browser, PASSWORD, add, field, link_for, policy_form, sign_in_once, signed_in, use_link,
};
use crate::support::{TestApp, apps_with, token_for};

/// Changes user `id` as the account's first administrator.
async fn change(app: &TestApp, admin_token: &str, id: &str, body: serde_json::Value) {
    let (status, answer) = app.call(Method::PATCH, &format!("/v1/users/{id}"), admin_token, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_password_link_made_for_a_member_dies_when_they_are_promoted() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let (account, boss) = (created.account.id.clone(), created.token.clone());
        let lee = json!({"email": "lee@example.com", "name": "Lee", "role": "administrator", "areas": ["users_licenses"]});
        add(&app, &boss, lee).await;
        let maria = add(&app, &boss, json!({"email": "maria@example.com", "name": "Maria"})).await;
        let mut lee = signed_in(&app, &account, "lee@example.com", start).await;

        // Lee may make a link for Maria the member ...
        let kept = link_for(&mut lee, &maria).await;
        let stale = link_for(&mut lee, &maria).await;
        // ... and a link made for a member and used while she is one works.
        assert_eq!(use_link(&app, &kept, "a member's own passphrase").await, 303);
        // Promoted to an administrator of every area: Lee's other link is dead.
        change(&app, &boss, &maria, json!({"role": "administrator"})).await;
        assert_eq!(use_link(&app, &stale, "lee takes over maria").await, 404);
        // The stream says what ended.
        let path = format!("/v1/activities?type=user.updated&subject={maria}");
        let (_, stream) = app.call(Method::GET, &path, &boss, None).await;
        let ended = &stream["items"][0]["details"]["credentials_ended"];
        assert_eq!(ended["password_links"], 1, "{stream}");
        assert_eq!(ended["sessions"], 0, "{stream}");

        // A link made as the promotion commits is bound to the rights read
        // with it: made under the old epoch, it never works.
        let id = maria.clone();
        let member_epoch = 1; // the promotion above raised it from 0
        let raced = seatmeter_server::app::password_links::new_setup_token(
            &app.db,
            &account,
            &id,
            member_epoch - 1,
            start,
        )
        .await
        .unwrap();
        assert_eq!(
            use_link(&app, &format!("/set-password?token={raced}"), "lee takes over maria").await,
            404
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn sessions_tokens_and_pending_renewals_end_when_rights_grow_and_survive_when_they_shrink() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let (account, boss) = (created.account.id.clone(), created.token.clone());
        let body = json!({"email": "maria@example.com", "name": "Maria", "role": "administrator", "areas": ["users_licenses"]});
        let maria = add(&app, &boss, body).await;
        let mut session = signed_in(&app, &account, "maria@example.com", start).await;
        let token = token_for(&app, &account, &maria).await;
        let me = |token: String| {
            let app = &app;
            async move { app.call(Method::GET, "/v1/me", &token, None).await.0 }
        };
        assert_eq!(me(token.clone()).await, 200);

        // A rename changes no rights: everything keeps working.
        change(&app, &boss, &maria, json!({"name": "Maria Lopez"})).await;
        assert_eq!(session.get("/").await.status, 200);
        assert_eq!(me(token.clone()).await, 200);

        // Narrower rights (a member): the session and token work, as a member's.
        change(&app, &boss, &maria, json!({"role": "member"})).await;
        assert_ne!(session.get("/").await.location.as_deref(), Some("/sign-in"));
        let (status, users) = app.call(Method::GET, "/v1/users", &token, None).await;
        assert_eq!(status, 200);
        assert_eq!(users.as_array().map(Vec::len), Some(1), "a member sees only herself: {users}");

        // More areas than before: the session ends, the token stops and is listed as revoked.
        let body = json!({"role": "administrator", "areas": ["users_licenses", "security"]});
        change(&app, &boss, &maria, body).await;
        assert_eq!(session.get("/").await.location.as_deref(), Some("/sign-in"));
        assert_eq!(me(token.clone()).await, 401);
        let (_, tokens) = app.call(Method::GET, "/v1/tokens", &boss, None).await;
        let listed = tokens.as_array().unwrap().iter().find(|t| t["user_id"] == maria.as_str()).cloned();
        assert!(listed.is_some_and(|t| !t["revoked_at"].is_null()), "{tokens}");
        // Her password is forgotten too (whoever set it may have had fewer
        // rights): she signs in again only through a new link.
        let path = format!("/v1/activities?type=user.updated&subject={maria}");
        let (_, stream) = app.call(Method::GET, &path, &boss, None).await;
        let items = stream["items"].as_array().unwrap();
        let ended = items.iter().find(|i| i["details"]["areas"] == "users_licenses,security");
        assert_eq!(
            ended.map(|i| &i["details"]["credentials_ended"]["password"]),
            Some(&json!(true)),
            "{stream}"
        );
        assert_eq!(sign_in_once(&app, "maria@example.com", PASSWORD).await.status, 401);
        signed_in(&app, &account, "maria@example.com", start).await;

        // A pending renewal of an expired password: it ends with the rights too.
        let mut admin = signed_in(&app, &account, "admin@example.com", start).await;
        admin.submit("/security", "/security", &policy_form(&[("password_max_age_days", "30")])).await;
        clock.set(start + 31 * 86_400_000);
        let mut browser = Browser::new(&app);
        let page = browser.get("/sign-in").await;
        let form = [
            ("csrf", field(&page.body, "csrf")),
            ("email", "maria@example.com".into()),
            ("password", PASSWORD.into()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let renewal = browser.post("/sign-in", &form).await.location.unwrap();
        assert!(renewal.starts_with("/set-password?token="), "{renewal}");
        change(&app, &boss, &maria, json!({"areas": []})).await;
        assert_eq!(use_link(&app, &renewal, "a brand new passphrase").await, 404);
        app.finish().await;
    }
}

#[tokio::test]
async fn enabling_a_user_again_revives_none_of_their_credentials() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let (account, boss) = (created.account.id.clone(), created.token.clone());
        let maria = add(&app, &boss, json!({"email": "maria@example.com", "name": "Maria"})).await;
        let token = token_for(&app, &account, &maria).await;
        let mut admin = signed_in(&app, &account, "admin@example.com", start).await;
        let link = link_for(&mut admin, &maria).await;
        for disabled in [true, false] {
            change(&app, &boss, &maria, json!({ "disabled": disabled })).await;
        }
        assert_eq!(app.call(Method::GET, "/v1/me", &token, None).await.0, 401);
        assert_eq!(use_link(&app, &link, "a brand new passphrase").await, 404);
        // New ones work.
        let fresh = token_for(&app, &account, &maria).await;
        assert_eq!(app.call(Method::GET, "/v1/me", &fresh, None).await.0, 200);
        let link = link_for(&mut admin, &maria).await;
        assert_eq!(use_link(&app, &link, "a brand new passphrase").await, 303);
        app.finish().await;
    }
}

#[tokio::test]
async fn the_console_says_what_ended_when_it_gives_someone_more_rights() {
    let start = jiff::Timestamp::now().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let maria = add(&app, &created.token, json!({"email": "maria@example.com", "name": "Maria"})).await;
        let mut boss = signed_in(&app, &created.account.id, "admin@example.com", start).await;
        let path = format!("/users/{maria}");
        let renamed = boss.submit(&path, &path, &[("name", "Maria Lopez"), ("role", "member")]).await;
        assert!(renamed.body.contains("maria@example.com is saved.</"), "{}", renamed.body);
        let promoted = boss.submit(&path, &path, &[("name", "Maria Lopez"), ("role", "administrator")]).await;
        assert!(
            promoted.body.contains("password from before have ended: make them a new password link"),
            "{}",
            promoted.body
        );
        app.finish().await;
    }
}
