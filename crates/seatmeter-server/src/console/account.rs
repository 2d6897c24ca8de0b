//! The console's account page: the account's name and time zone
//! (unrestricted administrators), and its rules for meetings (administrators
//! of users & licenses), which otherwise only the API changes.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Posted, Signed, finish, needs};
use crate::app::meetings::RulesChanges;
use crate::app::{self, Services};
use crate::http::ApiError;
use crate::store::accounts::AccountRow;
use crate::store::meetings::MeetingRules;

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    user: ConsoleUser,
    account: AccountRow,
    rules: MeetingRules,
    zones: Vec<String>,
}

/// The account's name, time zone and meeting rules (administrators).
pub async fn account(State(state): State<Services>, Signed(user): Signed) -> Result<Response, Failure> {
    needs(user.is_admin(), "the account page needs an administrator")?;
    let principal = user.principal();
    let account = app::accounts::get(&state, &principal).await.map_err(ApiError::from)?;
    let rules = app::meetings::rules(&state, &principal).await.map_err(ApiError::from)?;
    let zones = app::accounts::time_zone_names();
    Ok(AccountPage { user, account, rules, zones }.into_response())
}

/// The name and time zone as the form sends them.
#[derive(Deserialize)]
pub struct AccountForm {
    name: String,
    time_zone: String,
}

/// Renames the account or moves its time zone (unrestricted administrators).
pub async fn save_account(
    State(state): State<Services>,
    posted: Posted<AccountForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let changes = app::accounts::AccountChanges { name: Some(form.name), time_zone: Some(form.time_zone) };
    let outcome = app::accounts::update(&state, &user.principal(), changes, state.clock.now())
        .await
        .map(|account| {
            format!(
                "The account is saved: {}, in the time zone {} (the daily audit runs at 02:00 there).",
                account.name, account.time_zone
            )
        })
        .map_err(ApiError::from);
    finish(&state, &user, "/account", outcome).await
}

/// The meeting rules as the form sends them.
#[derive(Deserialize)]
pub struct RulesForm {
    concurrency_limit: String,
    max_meeting_minutes: String,
    #[serde(default)]
    count_teleconference_only: Option<String>,
    #[serde(default)]
    refuse_schedule_conflicts: Option<String>,
}

/// A whole number typed in `field`, or a refusal saying so.
fn number(text: &str, field: &str, label: &str) -> Result<i64, ApiError> {
    text.trim().parse().map_err(|_| ApiError::Invalid {
        message: format!("{label} must be a whole number (not {:?})", text.trim()),
        field: Some(field.into()),
    })
}

/// Changes the account's meeting rules (administrators of users & licenses).
pub async fn save_rules(
    State(state): State<Services>,
    posted: Posted<RulesForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let outcome = async {
        let changes = RulesChanges {
            concurrency_limit: Some(number(
                &form.concurrency_limit,
                "concurrency_limit",
                "the concurrency limit",
            )?),
            max_meeting_minutes: Some(number(
                &form.max_meeting_minutes,
                "max_meeting_minutes",
                "the longest meeting",
            )?),
            count_teleconference_only: Some(form.count_teleconference_only.is_some()),
            refuse_schedule_conflicts: Some(form.refuse_schedule_conflicts.is_some()),
        };
        app::meetings::update_rules(&state, &user.principal(), &changes, state.clock.now())
            .await
            .map(|_| {
                "The meeting rules are saved; usage is counted by them from now on, past meetings included."
                    .to_string()
            })
            .map_err(ApiError::from)
    }
    .await;
    finish(&state, &user, "/account", outcome).await
}
