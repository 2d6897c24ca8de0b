//! The console's user pages: the list, adding a user, one user's role,
//! areas, access and licenses, and one-time password links.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use seatmeter_core::people::{AdminArea, LicenseKind};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Names, Posted, Signed, finish, needs, user_names};
use crate::app::{self, Services};
use crate::http::ApiError;
use crate::http::licenses::PoolView;
use crate::http::users::UserView;

/// A user as the user pages show them.
pub struct UserLine {
    view: crate::http::users::UserView,
    licenses: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
struct UsersPage {
    user: ConsoleUser,
    q: String,
    users: Vec<UserLine>,
    pools: Vec<PoolView>,
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

/// The users, searched by name or address; adding one.
pub async fn users(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(search): Query<Search>,
) -> Result<Response, Failure> {
    needs(user.users_admin(), "the user pages need an administrator of users & licenses")?;
    let q = search.q.unwrap_or_default();
    let found = app::users::list(&state, &user.principal(), Some(&q)).await?;
    let views = found.into_iter().map(UserView::from);
    let held = super::licenses::assignments(&state, &user).await?;
    let users = views
        .map(|view| {
            let licenses =
                held.iter().filter(|(id, _)| *id == view.id).map(|(_, kind)| kind.clone()).collect();
            UserLine { view, licenses }
        })
        .collect();
    let pools = super::licenses::pools(&state, &user).await?;
    Ok(UsersPage { user, q, users, pools }.into_response())
}

#[derive(Deserialize)]
pub struct NewUserForm {
    email: String,
    name: String,
    #[serde(default)]
    role: Option<String>,
}

/// Adds a user, and shows the one-time link with which they set a password.
pub async fn add_user(
    State(state): State<Services>,
    headers: HeaderMap,
    posted: Posted<NewUserForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let new = app::users::NewUser { email: form.email, name: form.name, role: form.role, areas: Vec::new() };
    match app::users::create(&state, &user.principal(), new, state.clock.now()).await {
        Ok(created) => link_page(&state, &headers, user, created.into(), true).await,
        Err(refused) => finish(&state, &user, "/users", Err(refused.into())).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "link.html")]
struct LinkPage {
    user: ConsoleUser,
    shown: crate::http::users::UserView,
    added: bool,
    link: Option<String>,
    days: i64,
}

/// A new one-time link for `shown` to set a password, shown on a page of
/// its own: never stored (only its hash is), never in a redirect. Who may
/// make one is the use case's rule (`app::password_links::make_for`).
async fn link_page(
    state: &Services,
    headers: &HeaderMap,
    user: ConsoleUser,
    shown: crate::http::users::UserView,
    added: bool,
) -> Result<Response, Failure> {
    let back = format!("/users/{}", shown.id);
    let token =
        match app::password_links::make_for(state, &user.principal(), &shown.id, state.clock.now()).await {
            Ok(token) => token,
            Err(refused) => return finish(state, &user, &back, Err(refused.into())).await,
        };
    let scheme = if super::secure(headers) { "https" } else { "http" };
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let link = token.map(|token| format!("{scheme}://{host}/set-password?token={token}"));
    Ok(LinkPage { user, shown, added, link, days: super::SETUP_LINK_DAYS }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "user.html")]
struct UserPage {
    user: ConsoleUser,
    shown: crate::http::users::UserView,
    licenses: Vec<String>,
    pools: Vec<PoolView>,
    areas: Vec<(&'static str, &'static str, bool)>,
    /// What the signed-in user is, when the page is their own.
    own_role: Option<String>,
    pages: Vec<crate::app::booking::OwnedPage>,
    /// Whom they schedule for, and who schedules for them.
    privileges: app::privileges::Privileges,
    names: Names,
}

/// The areas as the forms show them.
fn area_label(area: AdminArea) -> &'static str {
    match area {
        AdminArea::UsersLicenses => "Users & licenses",
        AdminArea::Billing => "Billing",
        AdminArea::Security => "Security",
        AdminArea::Privacy => "Privacy",
        AdminArea::Branding => "Branding",
        AdminArea::Reports => "Reports",
    }
}

/// One user: their role and areas, enabled state, licenses and booking pages.
pub async fn user_page(
    State(state): State<Services>,
    Signed(user): Signed,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    needs(user.users_admin(), "the user pages need an administrator of users & licenses")?;
    let row = app::users::get(&state, &user.principal(), &id).await.map_err(ApiError::from)?;
    let held = app::licenses::held_by(&state, &row).await.map_err(ApiError::from)?;
    let licenses = held.iter().map(|kind| kind.as_str().to_string()).collect();
    let shown = UserView::from(row);
    let pools = super::licenses::pools(&state, &user).await?;
    let areas: Vec<_> = AdminArea::ALL
        .iter()
        .map(|&a| (a.as_str(), area_label(a), shown.areas.iter().any(|s| s == a.as_str())))
        .collect();
    // Nobody changes their own role, areas or access: the page says what they are.
    let own_role = (shown.id == user.user_id).then(|| match (shown.role.as_str(), shown.areas.is_empty()) {
        ("administrator", true) => "an administrator of all areas".to_string(),
        ("administrator", false) => {
            let limited: Vec<&str> =
                areas.iter().filter(|(_, _, on)| *on).map(|(_, label, _)| *label).collect();
            format!("an administrator limited to {}", limited.join(", "))
        }
        _ => "a member".to_string(),
    });
    let pages = crate::app::booking::owned_by(&state, &user.account_id, &id).await?;
    let privileges =
        app::privileges::list(&state, &user.principal(), Some(&id)).await.map_err(ApiError::from)?;
    let names = user_names(&state, &user).await?;
    Ok(UserPage { user, shown, licenses, pools, areas, own_role, pages, privileges, names }.into_response())
}

/// Changes a user's name, role, areas and enabled state (the form's fields
/// as pairs: areas are checkboxes, one pair each).
pub async fn update_user(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let stored = match app::users::get(&state, &user.principal(), &id).await {
        Ok(stored) => stored,
        Err(refused) => return finish(&state, &user, &format!("/users/{id}"), Err(refused.into())).await,
    };
    let before = UserView::from(stored.clone());
    let value = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let role = value("role").unwrap_or_else(|| before.role.clone());
    let mut areas: Vec<String> = if role == "administrator" {
        form.iter().filter(|(k, _)| k == "areas").map(|(_, v)| v.clone()).collect()
    } else {
        Vec::new()
    };
    areas.sort();
    let disabled = value("disabled").is_some();
    // One's own page asks only for the name: nobody changes their own role,
    // areas or access, so the form has none of those fields.
    let rights_asked = value("role").is_some();
    // Only what changed: a name alone is a change any user administrator
    // may make, where a role or areas is not.
    let changes = app::users::UserChanges {
        name: value("name").filter(|name| *name != before.name),
        areas: (rights_asked && (areas != before.areas || role != before.role)).then_some(areas),
        role: (rights_asked && role != before.role).then_some(role),
        disabled: (rights_asked && disabled != before.disabled).then_some(disabled),
        concurrency_limit: match concurrency_limit(value("concurrency_limit"), before.concurrency_limit) {
            Ok(limit) => limit,
            Err(refused) => return finish(&state, &user, &format!("/users/{id}"), Err(refused)).await,
        },
    };
    let outcome = app::users::update(&state, &user.principal(), &id, changes, state.clock.now())
        .await
        .map(|saved| saved_message(&stored, &saved))
        .map_err(ApiError::from);
    finish(&state, &user, &format!("/users/{id}"), outcome).await
}

/// The concurrency limit the form asks for, when it differs from `before`:
/// empty is the account's rule (`Some(None)`), a number the user's own.
fn concurrency_limit(typed: Option<String>, before: Option<i64>) -> Result<Option<Option<i64>>, ApiError> {
    let Some(typed) = typed.map(|t| t.trim().to_string()) else { return Ok(None) };
    let asked = if typed.is_empty() {
        None
    } else {
        Some(typed.parse::<i64>().map_err(|_| ApiError::Invalid {
            message: format!(
                "the concurrency limit must be a whole number from 1 to 1000 (not {typed:?}), or empty"
            ),
            field: Some("concurrency_limit".into()),
        })?)
    };
    Ok((asked != before).then_some(asked))
}

/// A privilege as the forms send it: `scheduler` may schedule for `host`.
#[derive(Deserialize)]
pub struct PrivilegeForm {
    scheduler: String,
    host: String,
}

/// Lets `scheduler` schedule meetings for `host` (from `host`'s or
/// `scheduler`'s page, which the answer returns to).
pub async fn grant(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<PrivilegeForm>,
) -> Result<Response, Failure> {
    change_privilege(&state, &id, posted, true).await
}

/// Takes back `scheduler`'s privilege to schedule for `host`.
pub async fn revoke(
    State(state): State<Services>,
    Path(id): Path<String>,
    posted: Posted<PrivilegeForm>,
) -> Result<Response, Failure> {
    change_privilege(&state, &id, posted, false).await
}

/// Grants (`allow`) or revokes the posted privilege, and says so on page `id`.
async fn change_privilege(
    state: &Services,
    id: &str,
    posted: Posted<PrivilegeForm>,
    allow: bool,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let (principal, now) = (user.principal(), state.clock.now());
    let (scheduler, host) = (form.scheduler.as_str(), form.host.as_str());
    let done = if allow {
        app::privileges::grant(state, &principal, scheduler, host, now).await
    } else {
        app::privileges::revoke(state, &principal, scheduler, host, now).await
    };
    let names = user_names(state, &user).await?;
    let (who, whom) = (names.of(scheduler), names.of(host));
    let outcome = match done {
        Ok(()) if allow => Ok(format!("{who} may now schedule meetings for {whom}.")),
        Ok(()) => Ok(format!("{who} no longer schedules meetings for {whom}.")),
        // Said with names: the use case's words name ids.
        Err(app::Error::Conflict { .. }) if allow => {
            Ok(format!("{who} may already schedule meetings for {whom}."))
        }
        Err(app::Error::NotFound(_)) if !allow => {
            Ok(format!("{who} already could not schedule meetings for {whom}."))
        }
        Err(refused) => Err(ApiError::from(refused)),
    };
    finish(state, &user, &format!("/users/{id}"), outcome).await
}

/// What saving `saved` (which was `stored`) did, in words: when their rights
/// grew, what of theirs ended and what to do next.
fn saved_message(stored: &crate::store::users::UserRow, saved: &crate::store::users::UserRow) -> String {
    if saved.rights_epoch == stored.rights_epoch {
        return format!("{} is saved.", saved.email);
    }
    if stored.rights().covers(saved.rights()) {
        return format!(
            "{} is saved. Their sessions, API tokens and password links from before have ended.",
            saved.email
        );
    }
    format!(
        "{} is saved. With more rights, their sessions, API tokens, password links and password from \
         before have ended: make them a new password link below, for them to set a password.",
        saved.email
    )
}

/// A new one-time password link for a user.
pub async fn new_link(
    State(state): State<Services>,
    Path(id): Path<String>,
    headers: HeaderMap,
    posted: Posted<super::CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    if !user.users_admin() {
        // The use case refuses it too; asked first so that the refusal names the right.
        let refused = ApiError::Forbidden("password links need an administrator of users & licenses".into());
        return finish(&state, &user, &format!("/users/{id}"), Err(refused)).await;
    }
    match app::users::get(&state, &user.principal(), &id).await {
        Ok(shown) => link_page(&state, &headers, user, shown.into(), false).await,
        Err(refused) => finish(&state, &user, &format!("/users/{id}"), Err(refused.into())).await,
    }
}

fn kind_of(kind: &str) -> Result<LicenseKind, Failure> {
    LicenseKind::parse(kind)
        .filter(|k| k.is_assigned())
        .ok_or_else(|| Failure(ApiError::NotFound(format!("no assigned license kind {kind:?}"))))
}

/// Assigns a license of a kind to the user.
pub async fn assign(
    State(state): State<Services>,
    Path((id, kind)): Path<(String, String)>,
    posted: Posted<super::CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    let kind = kind_of(&kind)?;
    let outcome = app::licenses::assign(&state, &user.principal(), kind.as_str(), &id, state.clock.now())
        .await
        .map(|_| format!("A {} license is assigned.", kind.as_str()))
        .map_err(ApiError::from);
    finish(&state, &user, &format!("/users/{id}"), outcome).await
}

#[derive(Template, WebTemplate)]
#[template(path = "unassign.html")]
struct UnassignPage {
    user: ConsoleUser,
    shown: crate::http::users::UserView,
    kind: &'static str,
    pages: Vec<crate::app::booking::OwnedPage>,
}

/// Before unassigning: which booking pages it will disable.
pub async fn unassign_page(
    State(state): State<Services>,
    Signed(user): Signed,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, Failure> {
    needs(user.users_admin(), "unassigning licenses needs an administrator of users & licenses")?;
    let kind = kind_of(&kind)?;
    let preview = app::licenses::preview_unassign(&state, &user.principal(), kind, &id)
        .await
        .map_err(ApiError::from)?;
    let shown = crate::http::users::UserView::from(preview.user);
    Ok(UnassignPage { user, shown, kind: kind.as_str(), pages: preview.pages }.into_response())
}

/// Unassigns the license (and disables the booking pages the page named).
pub async fn unassign(
    State(state): State<Services>,
    Path((id, kind)): Path<(String, String)>,
    posted: Posted<super::CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    let kind = kind_of(&kind)?;
    let outcome = app::licenses::unassign(&state, &user.principal(), kind.as_str(), &id, state.clock.now())
        .await
        .map_err(ApiError::from)
        .map(|done| {
            let pages = &done.disabled_booking_pages;
            if pages.is_empty() {
                format!("The {} license is unassigned.", kind.as_str())
            } else {
                format!(
                    "The {} license is unassigned; {} disabled.",
                    kind.as_str(),
                    super::count_text(pages.len(), "booking page is", "booking pages are")
                )
            }
        });
    finish(&state, &user, &format!("/users/{id}"), outcome).await
}
