//! Signing in and out. A signed-out form has no session to carry its CSRF
//! token, so the sign-in page sets one in a cookie that the form repeats.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

use super::session::{CSRF_COOKIE, SESSION_COOKIE, cookie, csrf_cookie_matches, new_secret, signed_in};
use super::{CsrfForm, Failure};
use crate::app::sign_ins::{Attempt, SignedIn, THROTTLED};
use crate::app::{self, Error, Services};

#[derive(Template, WebTemplate)]
#[template(path = "sign_in.html")]
struct SignInPage {
    csrf: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

/// The sign-in page, with a fresh CSRF cookie for its form.
pub(super) fn sign_in_form(
    jar: CookieJar,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let csrf = new_secret();
    let jar = jar.add(cookie(CSRF_COOKIE, csrf.clone(), headers));
    (status, jar, SignInPage { csrf, email, error, notice }).into_response()
}

#[derive(Deserialize)]
pub(super) struct Notice {
    done: Option<String>,
}

/// The sign-in page (the dashboard for a user signed in already).
pub(super) async fn sign_in_page(
    State(state): State<Services>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Result<Response, Failure> {
    if signed_in(&state, &jar).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let notice = match notice.done.as_deref() {
        Some("password") => Some("Your password is set: sign in with it.".to_string()),
        Some("signed-out") => Some("You are signed out.".to_string()),
        _ => None,
    };
    Ok(sign_in_form(jar, &headers, StatusCode::OK, String::new(), None, notice))
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    csrf: String,
    email: String,
    password: String,
}

/// Signs in: to the dashboard with a new session, or, when the password
/// has expired, to a one-time link to replace it.
pub(super) async fn sign_in(
    State(state): State<Services>,
    source: crate::http::Source,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, Failure> {
    let again = |jar, status, error: String| {
        sign_in_form(jar, &headers, status, form.email.clone(), Some(error), None)
    };
    if !csrf_cookie_matches(&jar, &form.csrf) {
        return Ok(again(jar, StatusCode::FORBIDDEN, "the form had expired: sign in again".into()));
    }
    let now = state.clock.now();
    let attempt = Attempt { email: &form.email, password: &form.password, source: source.ip() };
    let signed = match app::sign_ins::sign_in(&state, attempt, now).await {
        Ok(signed) => signed,
        Err(Error::Invalid { message, .. }) => {
            return Ok(again(jar, StatusCode::UNPROCESSABLE_ENTITY, message));
        }
        Err(Error::Refused { reason: THROTTLED, message }) => {
            return Ok(again(jar, StatusCode::TOO_MANY_REQUESTS, message));
        }
        Err(Error::Refused { message, .. }) => return Ok(again(jar, StatusCode::UNAUTHORIZED, message)),
        Err(Error::Busy(message)) => return Ok(again(jar, StatusCode::SERVICE_UNAVAILABLE, message)),
        Err(failed) => return Err(failed.into()),
    };
    let jar = jar.remove(Cookie::from(CSRF_COOKIE));
    Ok(match signed {
        SignedIn::Session { token } => {
            (jar.add(cookie(SESSION_COOKIE, token, &headers)), Redirect::to("/")).into_response()
        }
        SignedIn::PasswordExpired { link_token } => {
            let to = format!("/set-password?token={link_token}&expired=yes");
            (jar, Redirect::to(&to)).into_response()
        }
    })
}

/// Signs out of this session.
pub(super) async fn sign_out(
    State(state): State<Services>,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Failure> {
    if let Some(user) = signed_in(&state, &jar).await? {
        if form.csrf != user.csrf {
            return Ok((StatusCode::FORBIDDEN, "the form had expired: go back and try again").into_response());
        }
        app::sessions::sign_out(&state, &user.token_hash, state.clock.now()).await?;
    }
    let jar = jar.remove(Cookie::from(SESSION_COOKIE));
    Ok((jar, Redirect::to("/sign-in?done=signed-out")).into_response())
}
