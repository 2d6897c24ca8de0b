//! The console's license and user pages. Every change goes through the
//! API's own handler, called with the signed-in user as its principal, so
//! that a page allows, refuses and records exactly what the API does.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use seatmeter_core::people::{AdminArea, LicenseKind};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Posted, Signed, finish};
use crate::api::{ApiError, AppState, Body, Params};
use crate::compliance::{ComplianceView, FileView, NewPak};
use crate::licenses::PoolView;

/// Refuses a page to a user without the right: said as the API says it.
fn needs(allowed: bool, what: &str) -> Result<(), Failure> {
    if allowed {
        Ok(())
    } else {
        Err(Failure(ApiError::Forbidden(format!("{what}: ask an administrator who has it"))))
    }
}

// ---------------------------------------------------------------------------
// Licenses

#[derive(Template, WebTemplate)]
#[template(path = "licenses.html")]
struct LicensesPage {
    user: ConsoleUser,
    pools: Vec<PoolView>,
    files: Vec<FileView>,
    status: ComplianceView,
}

/// Pools, compliance, entering a PAK, uploading a file, and the files installed.
pub async fn licenses(State(state): State<AppState>, Signed(user): Signed) -> Result<Response, Failure> {
    needs(
        user.licenses_admin(),
        "the license pages need an administrator of billing or of users & licenses",
    )?;
    let account = user.account_id.clone();
    let status = crate::compliance::status(&state, &account).await?;
    let files = crate::compliance::list_files(State(state.clone()), user.principal()).await?.0;
    let pools = crate::licenses::pools(&state.db, &account).await?;
    Ok(LicensesPage { user, pools, files, status }.into_response())
}

fn installed_text(installed: &crate::compliance::InstalledView) -> String {
    let lines: Vec<String> = installed.licenses.iter().map(|l| format!("{} {}", l.count, l.kind)).collect();
    let what = if installed.outcome == "unchanged" { "was already installed" } else { "is installed" };
    format!("The license file of {} {what}: {}.", installed.pak, lines.join(", "))
}

#[derive(Deserialize)]
pub struct PakForm {
    pak: String,
}

/// Enters a PAK: registered with the license authority, its file installed.
pub async fn enter_pak(State(state): State<AppState>, posted: Posted<PakForm>) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let new = NewPak { pak: form.pak.trim().to_string() };
    let outcome = crate::compliance::register_pak(State(state.clone()), user.principal(), Body(new))
        .await
        .map(|(_, installed)| installed_text(&installed.0));
    finish(&state, &user, "/licenses", outcome).await
}

/// Installs an uploaded license file (a multipart form: `csrf`, then `file`).
pub async fn upload_file(
    State(state): State<AppState>,
    Signed(user): Signed,
    mut multipart: Multipart,
) -> Result<Response, Failure> {
    let mut csrf_ok = false;
    let mut text = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let refused =
                    ApiError::Invalid { message: format!("the upload could not be read: {e}"), field: None };
                return finish(&state, &user, "/licenses", Err(refused)).await;
            }
        };
        match field.name() {
            Some("csrf") => csrf_ok = field.text().await.is_ok_and(|t| !t.is_empty() && t == user.csrf),
            Some("file") if csrf_ok => text = Some(field.text().await),
            _ => {}
        }
    }
    if !csrf_ok {
        return Ok(super::expired_form());
    }
    let outcome = match text {
        None => Err(ApiError::Invalid {
            message: "choose a license file to upload".into(),
            field: Some("file".into()),
        }),
        Some(Err(e)) => Err(ApiError::Invalid {
            message: format!("the license file could not be read as text: {e}"),
            field: Some("file".into()),
        }),
        Some(Ok(text)) if text.trim().is_empty() => Err(ApiError::Invalid {
            message: "the file is empty: choose a license file".into(),
            field: Some("file".into()),
        }),
        Some(Ok(text)) => crate::compliance::upload_file(State(state.clone()), user.principal(), text)
            .await
            .map(|(_, installed)| installed_text(&installed.0)),
    };
    finish(&state, &user, "/licenses", outcome).await
}

// ---------------------------------------------------------------------------
// Users

/// A user as the user pages show them.
pub struct UserLine {
    view: crate::api::UserView,
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
    State(state): State<AppState>,
    Signed(user): Signed,
    Query(search): Query<Search>,
) -> Result<Response, Failure> {
    needs(user.users_admin(), "the user pages need an administrator of users & licenses")?;
    let q = search.q.unwrap_or_default();
    let filter = crate::users::UserFilter { q: Some(q.trim().to_string()).filter(|q| !q.is_empty()) };
    let views = crate::users::list_users(State(state.clone()), user.principal(), Params(filter)).await?.0;
    let held = crate::licenses::assignments(&state.db, &user.account_id, None).await?;
    let users = views
        .into_iter()
        .map(|view| {
            let licenses =
                held.iter().filter(|(id, _)| *id == view.id).map(|(_, kind)| kind.clone()).collect();
            UserLine { view, licenses }
        })
        .collect();
    let pools = crate::licenses::pools(&state.db, &user.account_id).await?;
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
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<NewUserForm>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let new =
        crate::users::NewUser { email: form.email, name: form.name, role: form.role, areas: Vec::new() };
    match crate::users::create_user(State(state.clone()), user.principal(), Body(new)).await {
        Ok((_, created)) => link_page(&state, &headers, user, created.0, true).await,
        Err(refused) => finish(&state, &user, "/users", Err(refused)).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "link.html")]
struct LinkPage {
    user: ConsoleUser,
    shown: crate::api::UserView,
    added: bool,
    link: Option<String>,
    days: i64,
}

/// A new one-time link for `shown` to set a password, shown on a page of
/// its own: never stored (only its hash is), never in a redirect. Only an
/// administrator of every area makes one for an administrator, as only
/// they may change an administrator (whoever holds the link sets the
/// password).
async fn link_page(
    state: &AppState,
    headers: &HeaderMap,
    user: ConsoleUser,
    shown: crate::api::UserView,
    added: bool,
) -> Result<Response, Failure> {
    if shown.role == "administrator" && !user.principal().is_unrestricted_admin() {
        let refused = ApiError::Forbidden(
            "a password link for an administrator is made by an administrator of every area".into(),
        );
        return finish(state, &user, &format!("/users/{}", shown.id), Err(refused)).await;
    }
    let email = seatmeter_core::people::Email::parse(&shown.email)
        .map_err(|e| Failure(ApiError::Invalid { message: format!("the address {e}"), field: None }))?;
    let now = state.licensing.clock.now();
    let token = super::password_link(&state.db, &user.account_id, &email, Some(&user.user_id), now).await?;
    let scheme = if super::secure(headers) { "https" } else { "http" };
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let link = token.map(|token| format!("{scheme}://{host}/set-password?token={token}"));
    Ok(LinkPage { user, shown, added, link, days: super::SETUP_LINK_DAYS }.into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "user.html")]
struct UserPage {
    user: ConsoleUser,
    shown: crate::api::UserView,
    licenses: Vec<String>,
    pools: Vec<PoolView>,
    areas: Vec<(&'static str, &'static str, bool)>,
    pages: Vec<crate::booking::OwnedPage>,
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
    State(state): State<AppState>,
    Signed(user): Signed,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    needs(user.users_admin(), "the user pages need an administrator of users & licenses")?;
    let shown = crate::users::get_user(State(state.clone()), user.principal(), Path(id.clone())).await?.0;
    let licenses = crate::licenses::assignments(&state.db, &user.account_id, Some(&id))
        .await?
        .into_iter()
        .map(|(_, kind)| kind)
        .collect();
    let pools = crate::licenses::pools(&state.db, &user.account_id).await?;
    let areas = AdminArea::ALL
        .iter()
        .map(|&a| (a.as_str(), area_label(a), shown.areas.iter().any(|s| s == a.as_str())))
        .collect();
    let pages = crate::booking::owned_by(&state.db, &user.account_id, &id).await?;
    Ok(UserPage { user, shown, licenses, pools, areas, pages }.into_response())
}

/// Changes a user's name, role, areas and enabled state (the form's fields
/// as pairs: areas are checkboxes, one pair each).
pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let before = match crate::users::get_user(State(state.clone()), user.principal(), Path(id.clone())).await
    {
        Ok(before) => before.0,
        Err(refused) => return finish(&state, &user, &format!("/users/{id}"), Err(refused)).await,
    };
    let value = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let role = value("role").unwrap_or_else(|| before.role.clone());
    let mut areas: Vec<String> = if role == "administrator" {
        form.iter().filter(|(k, _)| k == "areas").map(|(_, v)| v.clone()).collect()
    } else {
        Vec::new()
    };
    areas.sort();
    let disabled = value("disabled").is_some();
    // Only what changed: a name alone is a change any user administrator
    // may make, where a role or areas is not.
    let changes = crate::users::UserChanges {
        name: value("name").filter(|name| *name != before.name),
        areas: (areas != before.areas || role != before.role).then_some(areas),
        role: (role != before.role).then_some(role),
        disabled: (disabled != before.disabled).then_some(disabled),
        concurrency_limit: None,
    };
    let outcome =
        crate::users::update_user(State(state.clone()), user.principal(), Path(id.clone()), Body(changes))
            .await
            .map(|view| format!("{} is saved.", view.0.email));
    finish(&state, &user, &format!("/users/{id}"), outcome).await
}

/// A new one-time password link for a user.
pub async fn new_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    posted: Posted<super::CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    if !user.users_admin() {
        let refused = ApiError::Forbidden("password links need an administrator of users & licenses".into());
        return finish(&state, &user, &format!("/users/{id}"), Err(refused)).await;
    }
    match crate::users::get_user(State(state.clone()), user.principal(), Path(id.clone())).await {
        Ok(shown) => link_page(&state, &headers, user, shown.0, false).await,
        Err(refused) => finish(&state, &user, &format!("/users/{id}"), Err(refused)).await,
    }
}

fn kind_of(kind: &str) -> Result<LicenseKind, Failure> {
    LicenseKind::parse(kind)
        .filter(|k| k.is_assigned())
        .ok_or_else(|| Failure(ApiError::NotFound(format!("no assigned license kind {kind:?}"))))
}

/// Assigns a license of a kind to the user.
pub async fn assign(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    posted: Posted<super::CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    let kind = kind_of(&kind)?;
    let request = crate::licenses::NewAssignment { user_id: id.clone() };
    let outcome = crate::licenses::assign(
        State(state.clone()),
        user.principal(),
        Path(kind.as_str().into()),
        Body(request),
    )
    .await
    .map(|_| format!("A {} license is assigned.", kind.as_str()));
    finish(&state, &user, &format!("/users/{id}"), outcome).await
}

#[derive(Template, WebTemplate)]
#[template(path = "unassign.html")]
struct UnassignPage {
    user: ConsoleUser,
    shown: crate::api::UserView,
    kind: &'static str,
    pages: Vec<crate::booking::OwnedPage>,
}

/// Before unassigning: which booking pages it will disable.
pub async fn unassign_page(
    State(state): State<AppState>,
    Signed(user): Signed,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, Failure> {
    needs(user.users_admin(), "unassigning licenses needs an administrator of users & licenses")?;
    let kind = kind_of(&kind)?;
    let shown = crate::users::get_user(State(state.clone()), user.principal(), Path(id.clone())).await?.0;
    let pages = if kind == LicenseKind::ScheduledMeetings {
        let mut pages = crate::booking::owned_by(&state.db, &user.account_id, &id).await?;
        pages.retain(|p| p.enabled);
        pages
    } else {
        Vec::new()
    };
    Ok(UnassignPage { user, shown, kind: kind.as_str(), pages }.into_response())
}

/// Unassigns the license (and disables the booking pages the page named).
pub async fn unassign(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    posted: Posted<super::CsrfForm>,
) -> Result<Response, Failure> {
    let Posted { user, .. } = posted;
    let kind = kind_of(&kind)?;
    let outcome = crate::licenses::unassign(
        State(state.clone()),
        user.principal(),
        Path((kind.as_str().to_string(), id.clone())),
    )
    .await
    .map(|done| {
        let pages = &done.0.disabled_booking_pages;
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
