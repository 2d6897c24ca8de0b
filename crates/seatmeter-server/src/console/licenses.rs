//! The console's licenses page: pools, entering a PAK, uploading a license
//! file; and the pools, assignments and compliance other pages show.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use seatmeter_core::people::LicenseKind;

use super::{ConsoleUser, Failure, Names, Posted, Signed, finish, needs, user_names};
use crate::app::compliance::install::{Installed, Outcome};
use crate::app::{self, Services};
use crate::http::ApiError;
use crate::http::compliance::{ComplianceView, FileView};
use crate::http::licenses::{HolderView, HoldersPage, PoolView};

#[derive(Template, WebTemplate)]
#[template(path = "licenses.html")]
struct LicensesPage {
    user: ConsoleUser,
    pools: Vec<PoolView>,
    files: Vec<FileView>,
    status: ComplianceView,
    /// Each assigned kind's label and its first holders, and whether there are more.
    holders: Vec<(&'static str, Vec<HolderView>, bool)>,
    names: Names,
}

/// What a license kind is called on the pages.
fn kind_label(kind: LicenseKind) -> &'static str {
    match kind {
        LicenseKind::ScheduledMeetings => "Scheduled meetings",
        LicenseKind::LiveEngagement => "Live engagement",
        LicenseKind::Host => "Host",
    }
}

/// The license pools of the user's account, as the pages show them.
pub(crate) async fn pools(state: &Services, user: &ConsoleUser) -> Result<Vec<PoolView>, Failure> {
    let pools = app::licenses::pools(state, &user.principal()).await.map_err(ApiError::from)?;
    Ok(pools.into_iter().map(PoolView::from).collect())
}

/// The license assignments of the user's account: (user, kind), by user.
pub(crate) async fn assignments(
    state: &Services,
    user: &ConsoleUser,
) -> Result<Vec<(String, String)>, Failure> {
    Ok(app::licenses::assignments(state, &user.principal()).await.map_err(ApiError::from)?)
}

/// The compliance of the user's account now, as the pages show it.
pub(crate) async fn compliance(state: &Services, user: &ConsoleUser) -> Result<ComplianceView, Failure> {
    let now = state.clock.now();
    let status =
        app::compliance::status::status(state, &user.principal(), now).await.map_err(ApiError::from)?;
    Ok(status.into())
}

/// How many holders of each kind the licenses page lists.
const HOLDERS_SHOWN: u64 = 200;

/// Pools, who holds them, compliance, entering a PAK, uploading a file, and the files installed.
pub async fn licenses(State(state): State<Services>, Signed(user): Signed) -> Result<Response, Failure> {
    needs(
        user.licenses_admin(),
        "the license pages need an administrator of billing or of users & licenses",
    )?;
    // The page's own read of compliance, as the banners above it show it.
    let status = match user.compliance.clone() {
        Some(status) => status.into(),
        None => compliance(&state, &user).await?,
    };
    let files = app::compliance::install::files(&state, &user.principal()).await.map_err(ApiError::from)?;
    let files = files.into_iter().map(FileView::from).collect();
    let pools = pools(&state, &user).await?;
    let mut holders = Vec::new();
    // Who holds them is for those who see the users.
    let kinds = if user.users_admin() { LicenseKind::ALL.as_slice() } else { &[] };
    for &kind in kinds.iter().filter(|kind| kind.is_assigned()) {
        let page =
            app::licenses::holders(&state, &user.principal(), kind.as_str(), None, Some(HOLDERS_SHOWN))
                .await
                .map_err(ApiError::from)?;
        let more = page.next_cursor.is_some();
        holders.push((kind_label(kind), HoldersPage::from(page).items, more));
    }
    let names = user_names(&state, &user).await?;
    Ok(LicensesPage { user, pools, files, status, holders, names }.into_response())
}

fn installed_text(installed: &Installed) -> String {
    let lines: Vec<String> = installed.licenses.iter().map(|l| format!("{} {}", l.count, l.kind)).collect();
    let what = if installed.outcome == Outcome::Unchanged { "was already installed" } else { "is installed" };
    format!("The license file of {} {what}: {}.", installed.pak, lines.join(", "))
}

#[derive(Deserialize)]
pub struct PakForm {
    pak: String,
}

/// Enters a PAK: registered with the license authority, its file installed.
pub async fn enter_pak(State(state): State<Services>, posted: Posted<PakForm>) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let now = state.clock.now();
    let outcome = app::compliance::install::enter_pak(&state, &user.principal(), form.pak.trim(), now)
        .await
        .map(|installed| installed_text(&installed))
        .map_err(ApiError::from);
    finish(&state, &user, "/licenses", outcome).await
}

/// Installs an uploaded license file (a multipart form: `csrf`, then `file`).
pub async fn upload_file(
    State(state): State<Services>,
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
        Some(Ok(text)) => {
            app::compliance::install::upload(&state, &user.principal(), &text, state.clock.now())
                .await
                .map(|installed| installed_text(&installed))
                .map_err(ApiError::from)
        }
    };
    finish(&state, &user, "/licenses", outcome).await
}
