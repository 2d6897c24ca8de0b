//! Input is refused at the edge, alike everywhere: a JSON body with a key
//! twice in one object, on every operation that takes one; addresses that
//! mail cannot go to; the operational endpoints behind their token.

use reqwest::Method;
use seatmeter_server::{Clock, Settings};

use crate::support::{apps, apps_with};

#[tokio::test]
async fn every_operation_that_takes_json_refuses_a_key_twice() {
    let openapi = seatmeter_server::http::openapi();
    let openapi = serde_json::to_value(&openapi).unwrap();
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let mut checked = 0;
        for (path, operations) in openapi["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                let content = &operation["requestBody"]["content"];
                if content.get("application/json").is_none() {
                    continue;
                }
                let path: String = path
                    .split('/')
                    .map(|part| if part.starts_with('{') { "x" } else { part })
                    .collect::<Vec<_>>()
                    .join("/");
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let response = app
                    .client
                    .request(method.clone(), format!("{}{path}", app.base))
                    .bearer_auth(&created.token)
                    .header("content-type", "application/json")
                    .body(r#"{"name":"one","name":"two"}"#)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = response.text().await.unwrap();
                assert_eq!(status, 422, "{method} {path}: {body}");
                assert!(body.contains("appears twice"), "{method} {path}: {body}");
                checked += 1;
            }
        }
        assert!(checked >= 15, "only {checked} operations take JSON?");
        app.finish().await;
    }
}

#[tokio::test]
async fn addresses_mail_cannot_go_to_are_refused_where_they_come_in() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        for email in ["<b>x</b>@w.example", "\"quoted\"@example.com", "jane@[127.0.0.1]", "josé@example.com"]
        {
            let body = serde_json::json!({"email": email, "name": "X"});
            let (status, error) = app.call(Method::POST, "/v1/users", &created.token, Some(body)).await;
            assert_eq!((status, error["field"].as_str()), (422, Some("email")), "{email}: {error}");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn the_operational_endpoints_answer_only_with_their_token_when_one_is_set() {
    let settings = Settings { ops_token: Some("an operator's long secret".into()), ..Settings::default() };
    let clock = Clock::system();
    for app in apps_with(&settings, &clock, None).await {
        for path in ["/metrics", "/openapi.json", "/docs/"] {
            let open = app.get(path, None).await.status().as_u16();
            assert_eq!(open, 404, "{path} without the token");
            let wrong = app.get(path, Some("guess")).await.status().as_u16();
            assert_eq!(wrong, 404, "{path} with a wrong token");
            let right = app.get(path, Some("an operator's long secret")).await.status().as_u16();
            assert_eq!(right, 200, "{path} with the token");
        }
        // The rest of the API is as it was.
        assert_eq!(app.get("/healthz", None).await.status().as_u16(), 200);
        app.finish().await;
    }
}
