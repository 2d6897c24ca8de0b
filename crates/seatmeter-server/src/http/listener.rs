//! Accepting connections, bounded: at most `max_connections` at once (more
//! are closed as they come), a request's headers within
//! `header_timeout_seconds` (which also closes a kept-alive connection idle
//! for that long), its body within `body_timeout_seconds` (a 408 where the
//! body is read as JSON; the size limits are each route's). A connection that
//! stalls is closed; nothing a client does holds server resources for long.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt;

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
}

impl Limits {
    /// The limits `settings` set.
    pub fn of(settings: &Settings) -> Self {
        Limits {
            max_connections: settings.max_connections.max(1),
            header_timeout: Duration::from_secs(settings.header_timeout_seconds.max(1)),
            body_timeout: Duration::from_secs(settings.body_timeout_seconds.max(1)),
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

/// The error of a body that did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0} seconds (body_timeout_seconds)")]
pub struct BodyTimedOut(pub u64);

/// A request body that fails once its deadline passes (read by whoever
/// reads it, after the request's token is checked: nothing is read ahead).
struct TimedBody {
    inner: axum::body::Body,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    seconds: u64,
}

impl http_body::Body for TimedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            let seconds = self.seconds;
            return std::task::Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(seconds)))));
        }
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Gives a request's body its deadline: `body_timeout_seconds` from now.
async fn read_body(
    limits: Limits,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let timed = TimedBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep(limits.body_timeout)),
        seconds: limits.body_timeout.as_secs(),
    };
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::new(timed))).await
}

/// Whether `error` (a body that could not be read) is a [`BodyTimedOut`].
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<BodyTimedOut>() {
            return true;
        }
        source = cause.source();
    }
    false
}
