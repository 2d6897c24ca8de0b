//! Scheduling privileges, granted by the host or an administrator.

use reqwest::Method;
use serde_json::json;

use crate::support::{apps, token_for};

#[tokio::test]
async fn a_secretary_may_schedule_for_those_who_said_so() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token.as_str();
        let mut ids = Vec::new();
        for email in ["secretary@example.com", "boss@example.com", "other@example.com"] {
            let (_, user) = app
                .call(Method::POST, "/v1/users", admin, Some(json!({"email": email, "name": email})))
                .await;
            ids.push(user["id"].as_str().unwrap().to_string());
        }
        let (secretary, boss, other) = (&ids[0], &ids[1], &ids[2]);
        let boss_token = token_for(&app, &created.account.id, boss).await;
        let other_token = token_for(&app, &created.account.id, other).await;

        let grant = json!({"scheduler_user_id": secretary, "host_user_id": boss});
        assert_eq!(
            app.call(Method::POST, "/v1/scheduling-privileges", &boss_token, Some(grant.clone())).await.0,
            201
        );
        assert_eq!(
            app.call(Method::POST, "/v1/scheduling-privileges", &boss_token, Some(grant.clone())).await.0,
            409
        );
        assert_eq!(
            app.call(Method::POST, "/v1/scheduling-privileges", &other_token, Some(grant)).await.0,
            403
        );
        let for_other = json!({"scheduler_user_id": secretary, "host_user_id": other});
        assert_eq!(app.call(Method::POST, "/v1/scheduling-privileges", admin, Some(for_other)).await.0, 201);

        let (_, both) = app
            .call(Method::GET, &format!("/v1/scheduling-privileges?user_id={secretary}"), admin, None)
            .await;
        let mut may = both["may_schedule_for"].as_array().unwrap().clone();
        may.sort_by_key(|v| v.as_str().unwrap().to_string());
        let mut expected = vec![json!(boss), json!(other)];
        expected.sort_by_key(|v| v.as_str().unwrap().to_string());
        assert_eq!(may, expected);
        let (_, mine) = app.call(Method::GET, "/v1/scheduling-privileges", &boss_token, None).await;
        assert_eq!(mine["may_be_scheduled_by"], json!([secretary]));
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/v1/scheduling-privileges?user_id={secretary}"),
                &boss_token,
                None
            )
            .await
            .0,
            404
        );

        let revoke = format!("/v1/scheduling-privileges/{secretary}/{boss}");
        assert_eq!(app.call(Method::DELETE, &revoke, &other_token, None).await.0, 404);
        assert_eq!(app.call(Method::DELETE, &revoke, &boss_token, None).await.0, 204);
        assert_eq!(app.call(Method::DELETE, &revoke, &boss_token, None).await.0, 404);
        app.finish().await;
    }
}

#[tokio::test]
async fn privileges_stay_inside_their_account() {
    for app in apps().await {
        let first = app.create_account("First", "admin@first.example").await;
        let second = app.create_account("Second", "admin@second.example").await;
        let grant = json!({"scheduler_user_id": second.admin.id, "host_user_id": first.admin.id});
        let (status, error) =
            app.call(Method::POST, "/v1/scheduling-privileges", &first.token, Some(grant)).await;
        assert_eq!((status, error["code"].as_str()), (404, Some("not_found")), "{error}");
        let theirs = format!("/v1/scheduling-privileges?user_id={}", second.admin.id);
        let (status, seen) = app.call(Method::GET, &theirs, &first.token, None).await;
        assert_eq!(status, 404, "another account's user is not found: {seen}");
        let (status, _) =
            app.call(Method::GET, "/v1/scheduling-privileges?user_id=usr_nobody", &first.token, None).await;
        assert_eq!(status, 404, "just like a user that exists nowhere");
        app.finish().await;
    }
}
