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
        for path in ["/healthz", "/metrics", "/v1/account", "/v1/me"] {
            assert!(openapi["paths"][path].is_object(), "{path} is described");
        }
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
