//! Adding users, roles and areas, and who may see and change whom.

use reqwest::Method;
use serde_json::json;

use crate::support::apps;

#[tokio::test]
async fn an_administrator_adds_members_and_restricted_administrators() {
    for app in apps().await {
        let admin = app.create_account("Example Corp", "admin@example.com").await.token;
        let (status, alice) = app
            .call(
                Method::POST,
                "/v1/users",
                &admin,
                Some(json!({"email": "Alice@Example.com", "name": "Alice"})),
            )
            .await;
        assert_eq!(status, 201, "{alice} on {}", app.backend());
        assert_eq!(alice["role"], "member");
        let (status, billing) = app
            .call(
                Method::POST,
                "/v1/users",
                &admin,
                Some(json!({"email": "bob@example.com", "name": "Bob", "role": "administrator", "areas": ["billing"]})),
            )
            .await;
        assert_eq!(status, 201, "{billing}");
        assert_eq!(billing["areas"], json!(["billing"]));

        let (status, list) = app.call(Method::GET, "/v1/users?q=EXAMPLE.COM", &admin, None).await;
        assert_eq!(status, 200);
        let emails: Vec<&str> =
            list.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, vec!["admin@example.com", "Alice@Example.com", "bob@example.com"]);
        let (_, found) = app.call(Method::GET, "/v1/users?q=ali", &admin, None).await;
        assert_eq!(found.as_array().unwrap().len(), 1);
        let (_, none) = app.call(Method::GET, "/v1/users?q=%25", &admin, None).await;
        assert_eq!(none.as_array().unwrap().len(), 0, "% is searched for, not a wildcard");

        let (status, duplicate) = app
            .call(
                Method::POST,
                "/v1/users",
                &admin,
                Some(json!({"email": "ALICE@example.com", "name": "Alice 2"})),
            )
            .await;
        assert_eq!(status, 409);
        assert_eq!(duplicate["field"], "email");
        app.finish().await;
    }
}

#[tokio::test]
async fn bad_user_input_is_named() {
    for app in apps().await {
        let admin = app.create_account("Example Corp", "admin@example.com").await.token;
        let cases = [
            (json!({"email": "nope", "name": "X"}), "email"),
            (json!({"email": "x@example.com", "name": ""}), "name"),
            (json!({"email": "x@example.com", "name": "X", "role": "owner"}), "role"),
            (
                json!({"email": "x@example.com", "name": "X", "role": "administrator", "areas": ["all"]}),
                "areas",
            ),
            (json!({"email": "x@example.com", "name": "X", "areas": ["billing"]}), "areas"),
        ];
        for (body, field) in cases {
            let (status, error) = app.call(Method::POST, "/v1/users", &admin, Some(body.clone())).await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(error["code"], "invalid");
            assert_eq!(error["field"], field, "{error}");
        }
        let (status, error) = app
            .call(
                Method::POST,
                "/v1/users",
                &admin,
                Some(json!({"email": "x@example.com", "name": "X", "admin": true})),
            )
            .await;
        assert_eq!(status, 422);
        assert!(error["message"].as_str().unwrap().contains("unknown field `admin`"), "{error}");
        app.finish().await;
    }
}

#[tokio::test]
async fn members_see_and_change_only_themselves() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token;
        let (_, alice) = app
            .call(
                Method::POST,
                "/v1/users",
                &admin,
                Some(json!({"email": "alice@example.com", "name": "Alice"})),
            )
            .await;
        let (_, bob) = app
            .call(Method::POST, "/v1/users", &admin, Some(json!({"email": "bob@example.com", "name": "Bob"})))
            .await;
        let alice_token =
            crate::support::token_for(&app, &created.account.id, alice["id"].as_str().unwrap()).await;

        let (_, list) = app.call(Method::GET, "/v1/users", &alice_token, None).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "a member lists only themself");
        let bob_path = format!("/v1/users/{}", bob["id"].as_str().unwrap());
        assert_eq!(app.call(Method::GET, &bob_path, &alice_token, None).await.0, 404);
        assert_eq!(app.call(Method::PATCH, &bob_path, &alice_token, Some(json!({"name": "B"}))).await.0, 404);
        let alice_path = format!("/v1/users/{}", alice["id"].as_str().unwrap());
        let (status, renamed) =
            app.call(Method::PATCH, &alice_path, &alice_token, Some(json!({"name": "Alice A."}))).await;
        assert_eq!((status, renamed["name"].as_str()), (200, Some("Alice A.")));
        let (status, _) =
            app.call(Method::PATCH, &alice_path, &alice_token, Some(json!({"role": "administrator"}))).await;
        assert_eq!(status, 403, "a member cannot promote themself");
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/users",
                &alice_token,
                Some(json!({"email": "c@example.com", "name": "C"})),
            )
            .await;
        assert_eq!(status, 403);
        app.finish().await;
    }
}

#[tokio::test]
async fn nobody_changes_their_own_rights_so_the_account_keeps_an_unrestricted_administrator() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin_path = format!("/v1/users/{}", created.admin.id);
        let (_, second) = app
            .call(
                Method::POST,
                "/v1/users",
                &created.token,
                Some(json!({"email": "second@example.com", "name": "Second", "role": "administrator"})),
            )
            .await;
        // Even with another unrestricted administrator, nobody steps down,
        // narrows their areas or disables themself: another one does it.
        for change in [json!({"role": "member"}), json!({"areas": ["billing"]}), json!({"disabled": true})] {
            let (status, error) =
                app.call(Method::PATCH, &admin_path, &created.token, Some(change.clone())).await;
            assert_eq!(status, 403, "{change} on {}", app.backend());
            assert!(error["message"].as_str().unwrap().contains("their own role"), "{error}");
        }
        let (status, renamed) = app
            .call(
                Method::PATCH,
                &admin_path,
                &created.token,
                Some(json!({"name": "First", "disabled": false})),
            )
            .await;
        assert_eq!((status, renamed["name"].as_str()), (200, Some("First")), "{renamed}");
        let second_token =
            crate::support::token_for(&app, &created.account.id, second["id"].as_str().unwrap()).await;
        let (status, demoted) =
            app.call(Method::PATCH, &admin_path, &second_token, Some(json!({"role": "member"}))).await;
        assert_eq!((status, demoted["role"].as_str()), (200, Some("member")));
        app.finish().await;
    }
}

#[tokio::test]
async fn a_disabled_users_tokens_stop_working() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = created.token;
        let (_, alice) = app
            .call(
                Method::POST,
                "/v1/users",
                &admin,
                Some(json!({"email": "alice@example.com", "name": "Alice"})),
            )
            .await;
        let token = crate::support::token_for(&app, &created.account.id, alice["id"].as_str().unwrap()).await;
        assert_eq!(app.call(Method::GET, "/v1/me", &token, None).await.0, 200);
        let path = format!("/v1/users/{}", alice["id"].as_str().unwrap());
        let (status, disabled) =
            app.call(Method::PATCH, &path, &admin, Some(json!({"disabled": true}))).await;
        assert_eq!((status, disabled["disabled"].as_bool()), (200, Some(true)));
        assert_eq!(app.call(Method::GET, "/v1/me", &token, None).await.0, 401);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_restricted_administrator_cannot_widen_anyones_rights() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let (_, clerk) = app
            .call(
                Method::POST,
                "/v1/users",
                admin,
                Some(json!({"email": "clerk@example.com", "name": "Clerk", "role": "administrator",
                            "areas": ["users_licenses"]})),
            )
            .await;
        let clerk_id = clerk["id"].as_str().unwrap().to_string();
        let clerk_token = crate::support::token_for(&app, &created.account.id, &clerk_id).await;

        let (status, _) = app
            .call(Method::PATCH, &format!("/v1/users/{clerk_id}"), &clerk_token, Some(json!({"areas": []})))
            .await;
        assert_eq!(status, 403, "no administrator makes themselves unrestricted ({})", app.backend());
        let (status, _) = app
            .call(
                Method::POST,
                "/v1/users",
                &clerk_token,
                Some(json!({"email": "accomplice@example.com", "name": "A", "role": "administrator"})),
            )
            .await;
        assert_eq!(status, 403, "nor adds an unrestricted administrator");
        let (status, _) = app
            .call(
                Method::PATCH,
                &format!("/v1/users/{}", created.admin.id),
                &clerk_token,
                Some(json!({"disabled": true})),
            )
            .await;
        assert_eq!(status, 403, "nor disables an administrator");
        let (status, _) = app
            .call(
                Method::PATCH,
                &format!("/v1/users/{}", created.admin.id),
                &clerk_token,
                Some(json!({"disabled": false})),
            )
            .await;
        assert_eq!(status, 403, "nor asks about an administrator's access, even to change nothing");
        let (_, seen) = app.call(Method::GET, &format!("/v1/users/{clerk_id}"), admin, None).await;
        assert_eq!(seen["areas"], json!(["users_licenses"]));

        let (status, member) = app
            .call(
                Method::POST,
                "/v1/users",
                &clerk_token,
                Some(json!({"email": "m@example.com", "name": "M"})),
            )
            .await;
        assert_eq!(status, 201, "members are theirs to add");
        let (status, _) = app
            .call(
                Method::PATCH,
                &format!("/v1/users/{}", member["id"].as_str().unwrap()),
                &clerk_token,
                Some(json!({"disabled": true, "name": "Former member"})),
            )
            .await;
        assert_eq!(status, 200, "and to disable");
        let (status, _) = app
            .call(Method::PATCH, &format!("/v1/users/{clerk_id}"), admin, Some(json!({"areas": []})))
            .await;
        assert_eq!(status, 200, "an unrestricted administrator widens rights");
        app.finish().await;
    }
}

/// An area this server does not know (a newer server's, in a rolling
/// upgrade) grants nothing here, and never makes its administrator
/// unrestricted.
#[tokio::test]
async fn an_area_unknown_here_grants_nothing() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let admin = &created.token;
        let (_, clerk) = app
            .call(
                Method::POST,
                "/v1/users",
                admin,
                Some(json!({"email": "clerk@example.com", "name": "Clerk", "role": "administrator",
                            "areas": ["reports"]})),
            )
            .await;
        let clerk_id = clerk["id"].as_str().unwrap().to_string();
        let update = format!("UPDATE users SET areas = 'future_area' WHERE id = '{clerk_id}'");
        match &app.db {
            seatmeter_server::Db::Sqlite(db) => {
                sqlx::query(sqlx::AssertSqlSafe(update)).execute(&db.pool).await.unwrap();
            }
            seatmeter_server::Db::Postgres(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(update)).execute(pool).await.unwrap();
            }
        }
        let clerk_token = crate::support::token_for(&app, &created.account.id, &clerk_id).await;
        let (status, _) =
            app.call(Method::PATCH, "/v1/account", &clerk_token, Some(json!({"name": "Taken over"}))).await;
        assert_eq!(status, 403, "not an unrestricted administrator ({})", app.backend());
        let (status, _) = app.call(Method::GET, "/v1/usage", &clerk_token, None).await;
        assert_eq!(status, 403, "nor an administrator of reports any longer");
        let (_, seen) = app.call(Method::GET, &format!("/v1/users/{clerk_id}"), admin, None).await;
        assert_eq!(seen["areas"], json!(["future_area"]), "shown as stored, not as none");
        app.finish().await;
    }
}
