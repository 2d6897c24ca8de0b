//! Health, metrics, the API description, errors for unknown paths.

use crate::support::apps;

#[tokio::test]
async fn health_metrics_and_the_api_description() {
    for app in apps().await {
        let health = app.get("/healthz", None).await;
        assert_eq!(health.status(), 200, "{}", app.backend());
        let body: serde_json::Value = health.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"status": "ok", "database": app.backend()}));

        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        assert!(metrics.contains("seatmeter_http_requests_total{"), "{metrics}");
        assert!(metrics.contains(r#"path="/healthz",status="200""#), "{metrics}");

        let openapi: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
        let described: Vec<&str> = openapi["paths"].as_object().unwrap().keys().map(String::as_str).collect();
        for path in [
            "/healthz",
            "/metrics",
            "/v1/account",
            "/v1/me",
            "/v1/users",
            "/v1/users/{id}",
            "/v1/licenses",
            "/v1/licenses/{kind}/assignments",
            "/v1/licenses/{kind}/assignments/{user_id}",
            "/v1/booking-pages",
            "/v1/booking-pages/{id}",
            "/v1/booking-pages/{id}/enable",
            "/v1/booking-pages/{id}/disable",
            "/v1/booking-pages/{id}/transfer",
            "/v1/booking-pages/{id}/editors",
            "/v1/scheduling-privileges",
            "/v1/scheduling-privileges/{scheduler_user_id}/{host_user_id}",
            "/v1/activities",
            "/v1/activities/export",
            "/v1/tokens",
            "/v1/tokens/{id}",
            "/v1/account/meeting-rules",
            "/v1/meetings",
            "/v1/meetings/export",
            "/v1/meetings/{id}",
            "/v1/meetings/{id}/admission",
            "/v1/meetings/{id}/start",
            "/v1/meetings/{id}/events",
            "/v1/events",
            "/v1/usage",
            "/livez",
            "/v1/licenses/paks",
            "/v1/licenses/files",
            "/v1/compliance",
            "/v1/notifications",
            "/v1/meetings/{id}/attendance",
            "/v1/activities/erasure",
        ] {
            assert!(described.contains(&path), "{path} is described: {described:?}");
        }
        assert_eq!(described.len(), 37, "every endpoint, and only those: {described:?}");
        assert_eq!(openapi["components"]["securitySchemes"]["token"]["scheme"], "bearer");
        let docs = app.get("/docs/", None).await;
        assert_eq!(docs.status(), 200);
        assert!(docs.text().await.unwrap().contains("swagger"), "the API browser is served");

        let unknown = app.get("/v1/nothing-here", None).await;
        assert_eq!(unknown.status(), 404);
        let body: serde_json::Value = unknown.json().await.unwrap();
        assert_eq!(body["code"], "not_found");
        app.finish().await;
    }
}

#[tokio::test]
async fn bad_requests_get_the_error_shape_never_a_500() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let url = format!("{}/v1/users", app.base);
        let send = |body: reqwest::Body, content_type: &'static str| {
            app.client
                .post(&url)
                .bearer_auth(&created.token)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let cases = [
            (reqwest::Body::from("{not json"), "application/json", 422),
            (reqwest::Body::from("[]"), "application/json", 422),
            (reqwest::Body::from("{}"), "application/json", 422),
            (reqwest::Body::from("email=x"), "application/x-www-form-urlencoded", 415),
            (reqwest::Body::from(vec![b'x'; 2 << 20]), "application/json", 413),
        ];
        for (body, content_type, expected) in cases {
            let response = send(body, content_type).await.unwrap();
            let status = response.status().as_u16();
            assert_eq!(status, expected, "{} on {}", response.text().await.unwrap(), app.backend());
            let error: serde_json::Value = response.json().await.unwrap();
            let code = match status {
                413 => "too_large",
                415 => "unsupported_media_type",
                _ => "invalid",
            };
            assert_eq!(error["code"], code);
            assert!(!error["message"].as_str().unwrap().is_empty());
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn nul_characters_and_wrong_methods_get_the_error_shape() {
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let token = &created.token;
        let (status, error) = app
            .call(
                reqwest::Method::POST,
                "/v1/users",
                token,
                Some(serde_json::json!({"email": "a@example.com", "name": "A\u{0}"})),
            )
            .await;
        assert_eq!(status, 422, "{error} on {}", app.backend());
        assert_eq!(error["field"], "name");
        let (status, error) = app
            .call(
                reqwest::Method::POST,
                "/v1/booking-pages",
                token,
                Some(serde_json::json!({"title": "Office hours", "theme": "x\u{0}"})),
            )
            .await;
        assert_eq!((status, error["field"].as_str()), (422, Some("theme")), "{error}");
        let (status, error) = app
            .call(
                reqwest::Method::POST,
                "/v1/booking-pages",
                token,
                Some(serde_json::json!({"title": "Office hours", "theme": "t".repeat(101)})),
            )
            .await;
        assert_eq!((status, error["field"].as_str()), (422, Some("theme")), "{error}");
        for path in ["/v1/users/usr%00x", "/v1/booking-pages/%00", "/v1/activities?actor=%00"] {
            let (status, error) = app.call(reqwest::Method::GET, path, token, None).await;
            assert!(status == 404 || status == 422, "{path}: {status} {error} on {}", app.backend());
            assert!(error["code"].is_string(), "{path}: {error}");
        }
        let (status, error) = app.call(reqwest::Method::PUT, "/v1/licenses", token, None).await;
        assert_eq!(status, 405);
        assert_eq!(error["code"], "method_not_allowed");
        app.finish().await;
    }
}
