//! Setting a password from a one-time link (`/set-password?token=…`).
//! The page is signed out, so its form repeats a CSRF cookie as the
//! sign-in form does; the link holds a token, so no page of it leaks its
//! address to another site (see `protect`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

use super::Failure;
use super::session::{CSRF_COOKIE, cookie, csrf_cookie_matches, new_secret};
use super::sign_in::sign_in_form;
use crate::app::password_links::{LINK_GONE, NewPassword};
use crate::app::{self, Error, Services};
use crate::store::password_links::LinkRow;

#[derive(Template, WebTemplate)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    csrf: String,
    token: String,
    email: String,
    min_length: i64,
    error: Option<String>,
    expired: bool,
}

impl SetPasswordPage {
    /// The page for `link`, with a fresh CSRF cookie for its form.
    fn answer(
        jar: CookieJar,
        headers: &HeaderMap,
        status: StatusCode,
        token: String,
        link: LinkRow,
        error: Option<String>,
        expired: bool,
    ) -> Response {
        let csrf = new_secret();
        let jar = jar.add(cookie(CSRF_COOKIE, csrf.clone(), headers));
        let min_length = link.password_min_length;
        let page = SetPasswordPage { csrf, token, email: link.email, min_length, error, expired };
        (status, jar, page).into_response()
    }
}

/// The sign-in page, saying the link cannot be used.
fn link_gone(jar: CookieJar, headers: &HeaderMap) -> Response {
    sign_in_form(jar, headers, StatusCode::NOT_FOUND, String::new(), Some(LINK_GONE.into()), None)
}

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
    expired: Option<String>,
}

/// The page to set a password from a link.
pub(super) async fn set_password_page(
    State(state): State<Services>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Response, Failure> {
    let token = query.token.unwrap_or_default();
    let Some(link) = app::password_links::find(&state, &token, state.clock.now()).await? else {
        return Ok(link_gone(jar, &headers));
    };
    let expired = query.expired.is_some();
    Ok(SetPasswordPage::answer(jar, &headers, StatusCode::OK, token, link, None, expired))
}

#[derive(Deserialize)]
pub(super) struct SetPasswordForm {
    csrf: String,
    token: String,
    password: String,
    confirm: String,
}

/// Sets the password, then sends the user to sign in with it.
pub(super) async fn set_password(
    State(state): State<Services>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response, Failure> {
    let Some(link) = app::password_links::find(&state, &form.token, state.clock.now()).await? else {
        return Ok(link_gone(jar, &headers));
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if !csrf_cookie_matches(&jar, &form.csrf) {
        let error = Some("the form had expired: enter the password again".to_string());
        return Ok(SetPasswordPage::answer(jar, &headers, unprocessable, form.token, link, error, false));
    }
    let new = NewPassword { token: &form.token, password: &form.password, confirm: &form.confirm };
    match app::password_links::set_password(&state, new, state.clock.now()).await {
        Ok(()) => {
            let jar = jar.remove(Cookie::from(CSRF_COOKIE));
            Ok((jar, Redirect::to("/sign-in?done=password")).into_response())
        }
        Err(Error::NotFound(_)) => Ok(link_gone(jar, &headers)),
        Err(Error::Invalid { message, .. }) => {
            Ok(SetPasswordPage::answer(jar, &headers, unprocessable, form.token, link, Some(message), false))
        }
        Err(Error::Refused { message, .. }) => {
            Ok(sign_in_form(jar, &headers, unprocessable, link.email, Some(message), None))
        }
        Err(failed) => Err(failed.into()),
    }
}
