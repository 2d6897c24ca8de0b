//! The administration console: server-rendered pages (askama templates in
//! `templates/`), served by `seatmeter serve` at `/`.
//!
//! Sign-in is by e-mail and password (Argon2id, see [`crate::app::passwords`]).
//! A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure
//! when the request came over HTTPS through a proxy that says so); only its
//! SHA-256 is stored. Every form carries a CSRF token: the session's own
//! once signed in, and before that one from a cookie the form must repeat.
//! Failed sign-ins are throttled per user: from the third in a row each
//! must wait longer (1, 2, 4, … seconds, at most a minute), after the
//! account's threshold (default 10) the user is locked for its lockout time
//! (default 15 minutes), and never more than 100 failures an hour are
//! taken. A lock always ends by itself: nobody can lock an administrator out
//! for good (see [`seatmeter_core::sign_in`]).
//!
//! A page extracts the request, calls the use cases of [`crate::app`] (the
//! same as the API's, so that a page allows exactly what the API allows),
//! and renders what they return; a form's refusal is shown on the page it
//! returns to (see `finish`).

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::Services;
use crate::http::ApiError;

mod account;
mod activity;
mod booking_pages;
mod charts;
mod dashboard;
mod licenses;
mod meetings;
mod names;
mod notifications;
mod password;
mod security;
mod session;
mod sign_in;
mod users;

pub(crate) use crate::app::password_links::SETUP_LINK_DAYS;
pub(crate) use names::{Names, user_names};
pub use session::{ConsoleUser, CsrfForm, Posted, Signed};
pub(crate) use session::{Failure, SESSION_COOKIE, expired_form, finish, secure};

/// Refuses a page to a user without the right: said as the API says it.
pub(crate) fn needs(allowed: bool, what: &str) -> Result<(), Failure> {
    if allowed {
        Ok(())
    } else {
        Err(Failure(ApiError::Forbidden(format!("{what}: ask an administrator who has it"))))
    }
}
/// A form field left empty is a filter not given.
pub(crate) fn given(field: Option<String>) -> Option<String> {
    field.map(|f| f.trim().to_string()).filter(|f| !f.is_empty())
}

/// The console's routes.
pub fn routes() -> Router<Services> {
    Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/sign-in", get(sign_in::sign_in_page).post(sign_in::sign_in))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/set-password", get(password::set_password_page).post(password::set_password))
        .route("/assets/htmx.min.js", get(htmx))
        .route("/licenses", get(licenses::licenses))
        .route("/licenses/pak", post(licenses::enter_pak))
        .route("/licenses/file", post(licenses::upload_file))
        .route("/users", get(users::users).post(users::add_user))
        .route("/users/{id}", get(users::user_page).post(users::update_user))
        .route("/users/{id}/password-link", post(users::new_link))
        .route("/users/{id}/privileges", post(users::grant))
        .route("/users/{id}/privileges/remove", post(users::revoke))
        .route("/users/{id}/licenses/{kind}/assign", post(users::assign))
        .route("/users/{id}/licenses/{kind}/unassign", get(users::unassign_page).post(users::unassign))
        .route("/booking-pages", get(booking_pages::list).post(booking_pages::create))
        .route("/booking-pages/{id}", get(booking_pages::show))
        .route("/booking-pages/{id}/hours", post(booking_pages::save_hours))
        .route("/booking-pages/{id}/override", post(booking_pages::save_override))
        .route("/booking-pages/{id}/state", post(booking_pages::set_state))
        .route("/booking-pages/{id}/transfer", post(booking_pages::transfer))
        .route("/booking-pages/{id}/editors", post(booking_pages::editors))
        .route("/meetings", get(meetings::meetings))
        .route("/meetings.csv", get(meetings::meeting_log))
        .route("/usage.csv", get(meetings::usage))
        .route("/activities", get(activity::activities))
        .route("/activities.csv", get(activity::export))
        .route("/activities/erase", get(activity::erase_page).post(activity::erase))
        .route("/notifications", get(notifications::notifications))
        .route("/account", get(account::account).post(account::save_account))
        .route("/account/meeting-rules", post(account::save_rules))
        .route("/security", get(security::security).post(security::save_security))
        .route("/security/sign-out-everywhere", post(security::sign_out_everywhere))
        .route("/security/sign-out-all", post(security::sign_out_all))
        .layer(axum::middleware::map_response(protect))
}

/// What every console answer carries: its pages run no script but htmx
/// from this server, post forms only here, are never framed by another
/// site (clickjacking), leak no address (a set-password link holds a
/// token) to another site, and are not kept in shared caches.
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in set {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    response
}

/// htmx (vendored, BSD Zero-Clause licence in `assets/htmx.LICENSE`): the
/// pages work without it; with it, the user search answers as one types.
async fn htmx() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../assets/htmx.min.js"),
    )
        .into_response()
}

/// `n` and the noun that goes with it.
pub(crate) fn count_text(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
