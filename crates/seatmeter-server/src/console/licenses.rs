//! The console's licenses page: pools, entering a PAK, uploading a license file.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Posted, Signed, finish, needs};
use crate::app::Services;
use crate::compliance::{ComplianceView, FileView, NewPak};
use crate::http::{ApiError, Body};
use crate::licenses::PoolView;

#[derive(Template, WebTemplate)]
#[template(path = "licenses.html")]
struct LicensesPage {
    user: ConsoleUser,
    pools: Vec<PoolView>,
    files: Vec<FileView>,
    status: ComplianceView,
}

/// Pools, compliance, entering a PAK, uploading a file, and the files installed.
pub async fn licenses(State(state): State<Services>, Signed(user): Signed) -> Result<Response, Failure> {
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
pub async fn enter_pak(State(state): State<Services>, posted: Posted<PakForm>) -> Result<Response, Failure> {
    let Posted { user, form } = posted;
    let new = NewPak { pak: form.pak.trim().to_string() };
    let outcome = crate::compliance::register_pak(State(state.clone()), user.principal(), Body(new))
        .await
        .map(|(_, installed)| installed_text(&installed.0));
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
        Some(Ok(text)) => crate::compliance::upload_file(State(state.clone()), user.principal(), text)
            .await
            .map(|(_, installed)| installed_text(&installed.0)),
    };
    finish(&state, &user, "/licenses", outcome).await
}
