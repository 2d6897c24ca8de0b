//! Accepting connections, bounded: at most `max_connections` at once (more
//! are closed as they come), a request's headers within
//! `header_timeout_seconds` (which also closes a kept-alive connection idle
//! for that long), its body within `body_timeout_seconds`. A connection that
//! stalls is closed; nothing a client does holds server resources for long.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;

use super::ApiError;
use crate::settings::Settings;

/// How long requests in flight may take to finish once the server stops.
const DRAIN: Duration = Duration::from_secs(30);

/// What [`serve`] bounds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time to send a request's headers (and to stay idle between requests).
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// The largest body accepted.
    pub max_body_bytes: usize,
}

impl Limits {
    /// The limits `settings` set.
    pub fn of(settings: &Settings) -> Self {
        Limits {
            max_connections: settings.max_connections.max(1),
            header_timeout: Duration::from_secs(settings.header_timeout_seconds.max(1)),
            body_timeout: Duration::from_secs(settings.body_timeout_seconds.max(1)),
            max_body_bytes: settings.max_body_bytes,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown`; then
/// lets the requests in flight finish (for at most half a minute).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router =
        router.layer(axum::middleware::from_fn(move |request, next| read_body(limits, request, next)));
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a moment, as the limit frees some.
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(turn) = connections.clone().try_acquire_owned() else {
            metrics::counter!("seatmeter_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(turn);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

/// Reads a request's body within the body timeout (a 408 otherwise) and
/// the size limit (a 413), before any handler sees it.
async fn read_body(
    limits: Limits,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, limits.max_body_bytes.saturating_add(1));
    let bytes = match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(bytes)) if bytes.len() <= limits.max_body_bytes => bytes,
        Ok(Ok(_)) => return too_large(),
        Ok(Err(error)) if is_too_large(&error) => return too_large(),
        Ok(Err(_)) => {
            let message = "the request body could not be read: the connection broke off".to_string();
            return ApiError::Refused { status: StatusCode::BAD_REQUEST, code: "bad_request", message }
                .into_response();
        }
        Err(_) => {
            let message = format!(
                "the request body did not arrive within {} seconds (body_timeout_seconds)",
                limits.body_timeout.as_secs()
            );
            let mut response =
                ApiError::Refused { status: StatusCode::REQUEST_TIMEOUT, code: "timeout", message }
                    .into_response();
            response
                .headers_mut()
                .insert(axum::http::header::CONNECTION, "close".parse().expect("a header value"));
            return response;
        }
    };
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

fn is_too_large(error: &axum::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}

fn too_large() -> Response {
    ApiError::Refused {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_large",
        message: "the request body is larger than the server accepts (max_body_bytes)".into(),
    }
    .into_response()
}
