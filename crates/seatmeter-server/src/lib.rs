//! Seatmeter's server: settings, storage on SQLite or PostgreSQL, and the
//! JSON API with its OpenAPI description.

pub mod activities;
pub mod api;
pub mod authority;
pub mod booking;
pub mod compliance;
pub mod console;
pub mod db;
pub mod events;
pub mod license_file;
pub mod licenses;
pub mod live;
pub mod mail;
pub mod meetings;
pub mod passwords;
pub mod privileges;
pub mod recent;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod tokens;
pub mod users;

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa_swagger_ui::SwaggerUi;

pub use crate::api::AppState;
pub use crate::db::Db;
pub use crate::settings::Settings;

/// The process's metrics recorder (a process has one, however many servers it runs).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then ours renders nothing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

async fn count_requests(request: Request, next: Next) -> Response {
    let path = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = [("method", method), ("path", path), ("status", response.status().as_u16().to_string())];
    metrics::counter!("seatmeter_http_requests_total", &labels).increment(1);
    metrics::histogram!("seatmeter_http_request_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The whole application: API routes, `/openapi.json`, the API browser at
/// `/docs` (its files are compiled in: nothing is fetched at build or run
/// time), request metrics and the body size limit.
pub fn app(state: AppState, settings: &Settings) -> Router {
    let (api, openapi) = api::routes();
    api.merge(console::routes())
        .with_state(state)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn(api::json_errors))
        .layer(axum::middleware::from_fn(api::refuse_nul))
        .layer(axum::middleware::from_fn(count_requests))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
}

impl AppState {
    /// A server's state over `db`, with nothing kept yet.
    pub fn new(db: Db, licensing: compliance::Licensing) -> Self {
        Self {
            db,
            metrics: metrics_handle(),
            usage: live::UsageCache::default(),
            kept: recent::Kept::default(),
            ingestor: std::sync::Arc::default(),
            licensing: std::sync::Arc::new(licensing),
        }
    }
}

/// Serves the application on `listener` until `shutdown` resolves; requests
/// in flight then finish before this returns. Refuses to start when the
/// licensing settings are invalid.
pub async fn serve(
    listener: tokio::net::TcpListener,
    db: Db,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let licensing = compliance::Licensing::from_settings(settings).map_err(std::io::Error::other)?;
    serve_state(listener, AppState::new(db, licensing), settings, shutdown).await
}

/// [`serve`] with a state made by the caller (tests keep a clone of it to
/// drive compliance with a manual clock).
pub async fn serve_state(
    listener: tokio::net::TcpListener,
    state: AppState,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_overdue_meetings(state.db.clone()));
    let follower = tokio::spawn(follow_changes(state.db.clone(), state.kept.clone()));
    let compliance = tokio::spawn(compliance::keep_compliance(state.clone()));
    let served = axum::serve(listener, app(state, settings)).with_graceful_shutdown(shutdown).await;
    sweeper.abort();
    follower.abort();
    compliance.abort();
    served
}

/// Every 100 ms, forgets what other servers changed (see [`recent`]); once
/// an hour, deletes old change rows.
async fn follow_changes(db: Db, kept: recent::Kept) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(100));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut follower = recent::Follower::default();
    let mut pruned_at = 0;
    loop {
        ticks.tick().await;
        let now = api::now_ms();
        if let Err(error) = recent::follow_changes(&db, &kept, &mut follower, now).await {
            // What others changed may be missed: forget everything rather than answer from it.
            kept.forget(recent::ALL);
            tracing::warn!(%error, "could not read the changes of other servers; forgot what was kept");
        }
        if now - pruned_at > 3_600_000 {
            pruned_at = now;
            if let Err(error) = recent::prune_changes(&db, now).await {
                tracing::warn!(%error, "could not delete old change rows; will try again");
            }
        }
    }
}

/// Once a minute, ends automatically the meetings running past their
/// account's maximum duration (see [`live::settle_overdue`]).
async fn sweep_overdue_meetings(db: Db) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match live::settle_overdue(&db, None, api::now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(meetings = n, "ended meetings running past their maximum duration"),
            Err(error) => tracing::warn!(%error, "could not end overdue meetings; will try again"),
        }
    }
}
