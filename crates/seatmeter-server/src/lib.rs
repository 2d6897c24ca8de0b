//! Seatmeter's server: the JSON API and the administration console over the
//! use cases, on SQLite or PostgreSQL, with its background jobs.
//!
//! The crate is in layers, dependencies pointing one way (see
//! `docs/architecture.md`): [`http`] and [`console`] call [`app`], which
//! calls [`store`], which runs SQL; [`jobs`] run steps of [`app`] on a
//! schedule; `seatmeter-core` holds the pure rules beneath all. [`clock`]
//! is the one source of the current time.

pub mod app;
pub mod clock;
pub mod console;
pub mod http;
pub mod jobs;
pub mod store;

pub mod authority;
pub mod json;
pub mod license_file;
pub mod secrets;
pub mod settings;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use http::listener::Limits;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa_swagger_ui::SwaggerUi;

pub use crate::app::Services;
pub use crate::clock::Clock;
pub use crate::settings::Settings;
pub use crate::store::Db;

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

/// The whole application: API routes, the console, `/openapi.json`, the
/// API browser at `/docs` (its files are compiled in: nothing is fetched
/// at build or run time), request tracing and metrics, and the body size
/// limit.
pub fn app(services: Services, settings: &Settings) -> Router {
    let (api, openapi) = http::routes();
    api.merge(console::routes())
        .layer(axum::middleware::from_fn_with_state(services.clone(), http::idempotency::idempotent))
        .with_state(services)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(http::not_found)
        .layer(axum::middleware::from_fn(http::json_errors))
        .layer(axum::middleware::from_fn(http::refuse_nul))
        .layer(axum::middleware::from_fn(http::trace_requests))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            http::operations::OpsGate::new(settings.ops_token.as_deref()),
            http::operations::guard_ops,
        ))
}

impl Services {
    /// A server's services over `db`, with nothing kept yet, reading the time from `clock`.
    pub fn new(db: Db, licensing: app::compliance::Licensing, clock: Clock) -> Self {
        Self {
            db,
            clock,
            metrics: metrics_handle(),
            usage: app::usage::UsageCache::default(),
            kept: app::recent::Kept::default(),
            ingestor: std::sync::Arc::default(),
            licensing: std::sync::Arc::new(licensing),
            hashing: std::sync::Arc::new(app::passwords::Hashing::per_core()),
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
    let licensing = app::compliance::Licensing::from_settings(settings).map_err(std::io::Error::other)?;
    serve_state(listener, Services::new(db, licensing, Clock::system()), settings, shutdown).await
}

/// [`serve`] with services made by the caller (tests keep a clone of them
/// to drive compliance with a manual clock).
pub async fn serve_state(
    listener: tokio::net::TcpListener,
    services: Services,
    settings: &Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let jobs = jobs::spawn(&services);
    let served =
        http::listener::serve(listener, app(services, settings), Limits::of(settings), shutdown).await;
    jobs.stop();
    served
}
