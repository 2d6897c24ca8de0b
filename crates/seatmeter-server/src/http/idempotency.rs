//! The `Idempotency-Key` header on every mutating API request (POST,
//! PATCH, PUT, DELETE under `/v1/`): see [`crate::app::idempotency`]. A
//! replayed answer carries `Idempotent-Replayed: true`.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::app::idempotency::{self, Claim};
use crate::app::{Principal, Services};
use crate::secrets::sha256_hex;

/// The header a client sends.
pub const HEADER: &str = "idempotency-key";
/// The header of a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// The largest answer kept for a key; a larger one lets the key go.
const MAX_KEPT_BYTES: usize = 1 << 20;

/// Answers never kept, because they hold a secret shown once (a new API
/// token): under a key, such a request acts each time it is sent.
fn holds_secret(method: &Method, path: &str) -> bool {
    *method == Method::POST && path == "/v1/tokens"
}

/// Answers a mutating request sent with an `Idempotency-Key` once.
pub async fn idempotent(State(services): State<Services>, request: Request, next: Next) -> Response {
    let key = match key_of(&request) {
        None => return next.run(request).await,
        Some(Err(refusal)) => return refusal.into_response(),
        Some(Ok(key)) => key,
    };
    let (mut parts, body) = request.into_parts();
    let principal = match Principal::from_request_parts(&mut parts, &services).await {
        Ok(principal) => principal,
        Err(refusal) => return refusal.into_response(),
    };
    // The largest body any route takes (an event batch); each route's own limit applies after.
    let Ok(bytes) = axum::body::to_bytes(body, super::events::MAX_BATCH_BYTES).await else {
        return ApiError::Refused {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: "the request body could not be read".into(),
        }
        .into_response();
    };
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let mut fingerprint = format!("{} {target}\n", parts.method).into_bytes();
    fingerprint.extend_from_slice(&bytes);
    let hash = sha256_hex(&fingerprint);
    let now = services.clock.now();
    // Keys are the caller's own: another user of the account never gets their answer.
    let key = format!("{} {key}", principal.user_id);
    if holds_secret(&parts.method, parts.uri.path()) {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    }
    match idempotency::claim(&services, &principal, &key, &hash, now).await {
        Err(failed) => ApiError::from(failed).into_response(),
        Ok(Claim::Replay { status, content_type, body }) => replay(status, content_type, body),
        Ok(Claim::InProgress) => {
            let mut response = ApiError::Refused {
                status: StatusCode::CONFLICT,
                code: "idempotency_key_in_progress",
                message:
                    "the first request with this Idempotency-Key is still being answered: retry in a moment"
                        .into(),
            }
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Ok(Claim::Reused) => ApiError::Refused {
            status: StatusCode::CONFLICT,
            code: "idempotency_key_reused",
            message:
                "this Idempotency-Key was used for another request (another method, path or body): use a new \
                      key for each new request"
                    .into(),
        }
        .into_response(),
        Ok(Claim::Act) => {
            // On a task of its own: a client that hangs up does not cut the
            // action short between doing it and keeping its answer.
            let request = Request::from_parts(parts, Body::from(bytes));
            let acted = tokio::spawn(async move {
                let response = next.run(request).await;
                keep(&services, &principal, &key, response).await
            });
            acted.await.unwrap_or_else(|_| {
                ApiError::Internal {
                    cause: "an idempotent request failed".into(),
                    advice: super::TRY_AGAIN.into(),
                }
                .into_response()
            })
        }
    }
}

/// The key of a mutating API request that has one (`None`: it has none,
/// or is not mutating); a refusal when it is malformed.
fn key_of(request: &Request) -> Option<Result<String, ApiError>> {
    let mutating = matches!(*request.method(), Method::POST | Method::PATCH | Method::PUT | Method::DELETE);
    let key =
        request.headers().get(HEADER).filter(|_| mutating && request.uri().path().starts_with("/v1/"))?;
    Some(key.to_str().ok().filter(|k| idempotency::valid_key(k)).map(str::to_string).ok_or_else(|| {
        ApiError::Invalid {
            message: format!(
                "the Idempotency-Key header must be 1 to {} visible ASCII characters",
                idempotency::MAX_KEY_LENGTH
            ),
            field: Some("Idempotency-Key".into()),
        }
    }))
}

/// Keeps `response` as the answer under `key`, and returns it.
async fn keep(services: &Services, principal: &Principal, key: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_KEPT_BYTES).await.ok();
    let text = bytes.as_ref().and_then(|b| std::str::from_utf8(b).ok());
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let status = parts.status.as_u16();
    if let Err(failed) = idempotency::answer(services, principal, key, status, content_type, text).await {
        // The action is done; only its replay is lost: the client still gets its answer.
        super::log_failure(&failed, "keeping an idempotent answer failed");
    }
    match bytes {
        Some(bytes) => Response::from_parts(parts, Body::from(bytes)),
        None => ApiError::Internal {
            cause: "an answer too large to keep".into(),
            advice: "the request was done, but its answer was too large to send: read the result back".into(),
        }
        .into_response(),
    }
}

fn replay(status: u16, content_type: Option<String>, body: String) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(value) = content_type.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
