//! The console's booking-page pages: the list (a member sees only the pages
//! they own or edit), one page's owner, editors, availability, enabling and
//! transfer. Every page calls the same use cases as the API
//! ([`crate::app::booking`]), so the console allows and refuses what the
//! API does.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Posted, Signed, finish, user_names};
use crate::app::booking::{self as pages, DayHours, Editor, Page};
use crate::app::{Error, Services};
use crate::http::ApiError;

/// The days of the week, as stored and as shown.
const DAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// Hours as the forms show them: `09:00-12:00, 13:00-17:00`.
fn hours_text(hours: Option<&DayHours>) -> String {
    hours
        .map(|h| h.iter().map(|[a, b]| format!("{a}-{b}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// Reads hours as the forms show them (empty: unavailable that day).
fn parse_hours(text: &str, what: &str) -> Result<DayHours, Error> {
    let hours = split_hours(text, what)?;
    let pairs: Vec<(String, String)> = hours.iter().map(|[a, b]| (a.clone(), b.clone())).collect();
    seatmeter_core::availability::parse_day(&pairs)
        .map_err(|e| Error::invalid(format!("{what}: {}", e.0), what))?;
    Ok(hours)
}

fn split_hours(text: &str, what: &str) -> Result<DayHours, Error> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|range| {
            range.split_once('-').map(|(a, b)| [a.trim().to_string(), b.trim().to_string()]).ok_or_else(|| {
                Error::invalid(
                    format!("{what}: {range:?} is not a range of hours; write them like 09:00-12:00, 13:00-17:00"),
                    what,
                )
            })
        })
        .collect()
}

/// Ends a form with what a use case did or why it refused (see [`finish`]).
async fn finish_with(
    state: &Services,
    user: &ConsoleUser,
    back: &str,
    outcome: Result<String, Error>,
) -> Result<Response, Failure> {
    finish(state, user, back, outcome.map_err(ApiError::from)).await
}

#[derive(Template, WebTemplate)]
#[template(path = "booking_pages.html")]
struct ListPage {
    user: ConsoleUser,
    pages: Vec<Page>,
    names: super::Names,
}

/// The booking pages the user may see, and creating one.
pub async fn list(State(state): State<Services>, Signed(user): Signed) -> Result<Response, Failure> {
    let pages = pages::list(&state, &user.principal()).await.map_err(ApiError::from)?;
    let owners: Vec<&str> = pages.iter().map(|p| p.owner_user_id.as_str()).collect();
    let names = user_names(&state, &user).await?.with(&state, &user.account_id, &owners).await?;
    Ok(ListPage { user, pages, names }.into_response())
}

#[derive(Deserialize)]
pub struct NewPageForm {
    title: String,
    #[serde(default)]
    owner_user_id: Option<String>,
    #[serde(default)]
    enabled: Option<String>,
}

/// Creates a booking page (for oneself; for anyone, for user administrators).
pub async fn create(State(state): State<Services>, posted: Posted<NewPageForm>) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let new = pages::NewPage {
        title: form.title,
        owner_user_id: form.owner_user_id.filter(|o| !o.is_empty()),
        theme: None,
        weekly_hours: BTreeMap::new(),
        enabled: form.enabled.is_some(),
    };
    match pages::create(&state, &user.principal(), new, state.clock.now()).await {
        Ok(page) => {
            let back = format!("/booking-pages/{}", page.id);
            let done = format!(
                "The booking page {:?} is created{}.",
                page.title,
                if page.enabled { " and enabled" } else { "" }
            );
            finish(&state, &user, &back, Ok(done)).await
        }
        Err(refused) => finish_with(&state, &user, "/booking-pages", Err(refused)).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "booking_page.html")]
struct OnePage {
    user: ConsoleUser,
    page: Page,
    names: super::Names,
    week: Vec<(&'static str, &'static str, String)>,
    overrides: Vec<(String, String)>,
    /// The owner, or an administrator of users: editors and enabling.
    manages: bool,
}

/// One booking page.
pub async fn show(
    State(state): State<Services>,
    Signed(user): Signed,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let page = pages::get(&state, &user.principal(), &id).await.map_err(ApiError::from)?;
    let shown: Vec<&str> = std::iter::once(page.owner_user_id.as_str())
        .chain(page.editors.iter().map(|e| e.user_id.as_str()))
        .collect();
    let names = user_names(&state, &user).await?.with(&state, &user.account_id, &shown).await?;
    let week =
        DAYS.iter().map(|&(day, label)| (day, label, hours_text(page.weekly_hours.get(day)))).collect();
    let overrides = page
        .overrides
        .iter()
        .map(|(date, hours)| {
            let text = hours_text(Some(hours));
            (date.clone(), if text.is_empty() { "unavailable".into() } else { text })
        })
        .collect();
    let manages = manages(&user, &page);
    Ok(OnePage { user, page, names, week, overrides, manages }.into_response())
}

/// Whether `user` sets the page's editors and enables it (as the use cases decide).
fn manages(user: &ConsoleUser, page: &Page) -> bool {
    pages::manages(&user.principal(), &page.owner_user_id)
}

fn back(id: &str) -> String {
    format!("/booking-pages/{id}")
}

/// Saves the weekly hours (one field per day).
pub async fn save_hours(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let mut week = BTreeMap::new();
    let mut refused = None;
    for (day, label) in DAYS {
        match parse_hours(form.get(day).map_or("", String::as_str), label) {
            Ok(hours) if !hours.is_empty() => {
                week.insert(day.to_string(), hours);
            }
            Ok(_) => {}
            Err(e) => refused = refused.or(Some(e)),
        }
    }
    let outcome = match refused {
        Some(refused) => Err(refused),
        None => {
            let changes = pages::PageChanges { weekly_hours: Some(week), ..Default::default() };
            pages::update(&state, &user.principal(), &id, changes, state.clock.now())
                .await
                .map(|_| "The weekly hours are saved.".to_string())
        }
    };
    finish_with(&state, &user, &back(&id), outcome).await
}

#[derive(Deserialize)]
pub struct OverrideForm {
    date: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    remove: Option<String>,
}

/// Sets (or removes) the hours of one date.
pub async fn save_override(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<OverrideForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let hours = if form.remove.is_some() { Ok(None) } else { parse_hours(&form.hours, "hours").map(Some) };
    let outcome = match hours {
        Err(refused) => Err(refused),
        Ok(hours) => {
            let what = match &hours {
                None => format!("The hours of {} are back to the weekly hours.", form.date),
                Some(h) if h.is_empty() => format!("{} is unavailable.", form.date),
                Some(_) => format!("The hours of {} are saved.", form.date),
            };
            let overrides = BTreeMap::from([(form.date.trim().to_string(), hours)]);
            let changes = pages::PageChanges { overrides: Some(overrides), ..Default::default() };
            pages::update(&state, &user.principal(), &id, changes, state.clock.now()).await.map(|_| what)
        }
    };
    finish_with(&state, &user, &back(&id), outcome).await
}

#[derive(Deserialize)]
pub struct StateForm {
    /// `yes` to enable, anything else to disable.
    enabled: String,
}

/// Enables a page (its owner must hold a scheduled_meetings license), or
/// disables it (it keeps its settings).
pub async fn set_state(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<StateForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let (principal, now) = (user.principal(), state.clock.now());
    let outcome = if form.enabled == "yes" {
        pages::enable(&state, &principal, &id, now)
            .await
            .map(|page| format!("{:?} is enabled: it takes bookings.", page.title))
    } else {
        pages::disable(&state, &principal, &id, now)
            .await
            .map(|page| format!("{:?} is disabled: it takes no bookings.", page.title))
    };
    finish_with(&state, &user, &back(&id), outcome).await
}

#[derive(Deserialize)]
pub struct TransferForm {
    owner_user_id: String,
}

/// Gives a page to another owner.
pub async fn transfer(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<TransferForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let outcome = pages::transfer(&state, &user.principal(), &id, &form.owner_user_id, state.clock.now())
        .await
        .map(|page| {
            if page.enabled {
                "The page has its new owner.".to_string()
            } else {
                "The page has its new owner; it is disabled until they hold a scheduled_meetings license."
                    .to_string()
            }
        });
    finish_with(&state, &user, &back(&id), outcome).await
}

#[derive(Deserialize)]
pub struct EditorForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    remove: Option<String>,
    #[serde(default)]
    notify_email: Option<String>,
}

/// Adds an editor (by e-mail address) or removes one (by id).
pub async fn editors(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<EditorForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let outcome = change_editors(&state, &user, &id, form).await;
    finish_with(&state, &user, &back(&id), outcome).await
}

async fn change_editors(
    state: &Services,
    user: &ConsoleUser,
    id: &str,
    form: EditorForm,
) -> Result<String, Error> {
    let principal = user.principal();
    let page = pages::get(state, &principal, id).await?;
    // Only who may set the editors looks users up by address.
    if !manages(user, &page) {
        return Err(Error::forbidden("only the page's owner or a user administrator sets its editors"));
    }
    let mut editors = page.editors;
    let done = if let Some(removed) = form.remove {
        editors.retain(|e| e.user_id != removed);
        "The editor is removed.".to_string()
    } else {
        let email = seatmeter_core::people::Email::parse(&form.email)
            .map_err(|e| Error::invalid(format!("the e-mail address {e}"), "email"))?;
        let found = crate::app::users::ids_by_email(&state.db, &user.account_id).await?;
        let Some(editor) = found.get(&email.key()).cloned() else {
            return Err(Error::invalid(
                format!("no user {} in your account: add them first", form.email.trim()),
                "email",
            ));
        };
        let notify_sms = editors.iter().any(|e| e.user_id == editor && e.notify_sms);
        editors.retain(|e| e.user_id != editor);
        editors.push(Editor { user_id: editor, notify_email: form.notify_email.is_some(), notify_sms });
        format!("{} is an editor.", form.email.trim())
    };
    let _saved = pages::set_editors(state, &principal, id, editors, state.clock.now()).await?;
    Ok(done)
}
