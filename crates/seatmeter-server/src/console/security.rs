//! The console's security settings: password, session and lockout
//! policies; signing out everywhere.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

use super::{ConsoleUser, CsrfForm, Failure, Posted, SESSION_COOKIE, Signed, count_text, finish};
use crate::app::security::PolicyInput;
use crate::app::{self, Services};
use crate::http::ApiError;
use crate::store::policies::PolicyRow;

#[derive(Template, WebTemplate)]
#[template(path = "security.html")]
struct SecurityPage {
    user: ConsoleUser,
    policies: PolicyRow,
}

/// The security settings (edited by security administrators), and signing
/// out everywhere (anyone).
pub async fn security(State(state): State<Services>, Signed(user): Signed) -> Result<Response, Failure> {
    let policies = app::security::policies(&state, &user.principal()).await?;
    Ok(SecurityPage { user, policies }.into_response())
}

/// The policies as the form sends them.
#[derive(Deserialize)]
pub struct PolicyForm {
    password_min_length: String,
    #[serde(default)]
    password_max_age_days: String,
    session_idle_minutes: String,
    session_max_hours: String,
    lockout_threshold: String,
    lockout_minutes: String,
}

impl From<PolicyForm> for PolicyInput {
    fn from(form: PolicyForm) -> Self {
        PolicyInput {
            password_min_length: form.password_min_length,
            password_max_age_days: form.password_max_age_days,
            session_idle_minutes: form.session_idle_minutes,
            session_max_hours: form.session_max_hours,
            lockout_threshold: form.lockout_threshold,
            lockout_minutes: form.lockout_minutes,
        }
    }
}

/// Saves the policies (security administrators).
pub async fn save_security(
    State(state): State<Services>,
    posted: Posted<PolicyForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let input = PolicyInput::from(form);
    let outcome = app::security::save(&state, &user.principal(), &input, state.clock.now())
        .await
        .map(|_| "The security settings are saved; they apply from the next sign-in or request.".to_string());
    finish(&state, &user, "/security", outcome.map_err(ApiError::from)).await
}

/// Ends every session of the user, this one included.
pub async fn sign_out_everywhere(
    State(state): State<Services>,
    jar: CookieJar,
    posted: Posted<CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    app::sessions::sign_out_everywhere(&state, &user.principal(), state.clock.now()).await?;
    let jar = jar.remove(Cookie::from(SESSION_COOKIE));
    Ok((jar, Redirect::to("/sign-in?done=signed-out")).into_response())
}

/// Ends every console session of the account but this one (security administrators).
pub async fn sign_out_all(
    State(state): State<Services>,
    posted: Posted<CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    let outcome =
        app::sessions::sign_out_others(&state, &user.principal(), &user.token_hash, state.clock.now())
            .await
            .map(|ended| {
                let ended = usize::try_from(ended).unwrap_or(usize::MAX);
                format!("{} ended.", count_text(ended, "other session is", "other sessions are"))
            });
    finish(&state, &user, "/security", outcome.map_err(ApiError::from)).await
}
