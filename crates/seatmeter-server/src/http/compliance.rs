//! `/v1/licenses/paks`, `/v1/licenses/files`, `/v1/compliance` and
//! `/v1/notifications`: installing licenses, the account's compliance, and
//! the e-mail notices sent to its administrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::licenses::PoolView;
use super::shapes;
use super::{ApiError, Body, ErrorBody, rfc3339_ms};
use crate::app::compliance::install::{Installed, InstalledFile};
use crate::app::compliance::notices::Notification;
use crate::app::compliance::status::Compliance;
use crate::app::{self, Principal, Services};
use crate::license_file::LicenseLine;

/// A license file installed (or found installed already).
#[derive(Serialize, ToSchema, Debug)]
pub struct InstalledView {
    /// The file's id.
    pub license_id: String,
    /// The PAK it came from.
    pub pak: String,
    /// `installed`, or `unchanged` when this very file was the current one.
    pub outcome: &'static str,
    /// The licenses it grants.
    pub licenses: Vec<LicenseLineView>,
    /// The product major versions it covers.
    pub product_major_versions: Vec<u64>,
    /// The account's license pools now.
    pub pools: Vec<PoolView>,
    /// Why the account is disabled, if it still is.
    pub disabled_reason: Option<String>,
}

impl From<Installed> for InstalledView {
    fn from(installed: Installed) -> Self {
        InstalledView {
            license_id: installed.license_id,
            pak: installed.pak,
            outcome: installed.outcome.as_str(),
            licenses: installed.licenses.into_iter().map(LicenseLineView::from).collect(),
            product_major_versions: installed.product_major_versions,
            pools: installed.pools.into_iter().map(PoolView::from).collect(),
            disabled_reason: installed.disabled_reason,
        }
    }
}

/// Licenses of one kind in a license file.
#[derive(Serialize, ToSchema, Debug)]
pub struct LicenseLineView {
    /// The kind.
    pub kind: String,
    /// How many.
    pub count: u64,
    /// When they expire (temporary licenses).
    pub expires: Option<String>,
}

impl From<LicenseLine> for LicenseLineView {
    fn from(line: LicenseLine) -> Self {
        LicenseLineView { kind: line.kind, count: line.count, expires: line.expires }
    }
}

/// A PAK to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPak {
    /// The Product Authorization Key, as the vendor sent it (`PAK-…`).
    #[schema(value_type = shapes::Pak)]
    pub pak: String,
}

/// A license file as listed.
#[derive(Serialize, ToSchema)]
pub struct FileView {
    /// The file's id.
    pub license_id: String,
    /// Its PAK.
    pub pak: String,
    /// `pak`, `sync` or `file`.
    pub installed_via: String,
    /// When.
    pub installed_at: String,
    /// When a newer file of the same PAK replaced it (absent: current).
    pub replaced_at: Option<String>,
    /// Its licenses.
    pub licenses: Vec<LicenseLineView>,
    /// The product major versions it covers.
    pub product_major_versions: Vec<u64>,
}

impl From<InstalledFile> for FileView {
    fn from(file: InstalledFile) -> Self {
        let (licenses, versions) =
            file.body.map_or_else(Default::default, |b| (b.licenses, b.product_major_versions));
        FileView {
            license_id: file.row.license_id,
            pak: file.row.pak,
            installed_via: file.row.installed_via,
            installed_at: rfc3339_ms(file.row.installed_ms),
            replaced_at: file.row.replaced_ms.map(rfc3339_ms),
            licenses: licenses.into_iter().map(LicenseLineView::from).collect(),
            product_major_versions: versions,
        }
    }
}

/// A condition in force.
#[derive(Serialize, ToSchema)]
pub struct ConditionView {
    /// `trial`, `overage`, `out_of_date` or `contact_lost`.
    pub condition: &'static str,
    /// Since when.
    pub since: String,
    /// When the account is disabled unless the condition ends.
    pub disable_at: String,
    /// Whether that date has passed (the account is disabled by it).
    pub disabling: bool,
}

/// Temporary licenses in force.
#[derive(Serialize, ToSchema)]
pub struct TemporaryView {
    /// Their kind.
    pub kind: &'static str,
    /// How many.
    pub count: u64,
    /// When they expire.
    pub expires_at: String,
}

/// Synchronisation with the license authority.
#[derive(Serialize, ToSchema)]
pub struct SyncView {
    /// The PAK registered.
    pub pak: String,
    /// The last successful synchronisation (the last compliance time).
    pub last_sync_at: Option<String>,
    /// The last attempt.
    pub last_attempt_at: Option<String>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// The next attempt.
    pub next_sync_at: Option<String>,
}

/// The account's compliance.
#[derive(Serialize, ToSchema)]
pub struct ComplianceView {
    /// When this was evaluated.
    pub now: String,
    /// Every condition in force, with its dates.
    pub conditions: Vec<ConditionView>,
    /// Whether the account is disabled, and why.
    pub disabled: bool,
    /// What its users are told while it is disabled.
    pub disabled_reason: Option<String>,
    /// Days left of the free trial, while in it.
    pub trial_days_left: Option<i64>,
    /// Temporary licenses in force, by expiry.
    pub temporary_licenses: Vec<TemporaryView>,
    /// What an administrator should see at the top of every page.
    pub banners: Vec<String>,
    /// The last daily audit, and the next.
    pub last_audit_at: Option<String>,
    /// The next daily audit (02:00 in the account's time zone).
    pub next_audit_at: String,
    /// Synchronisation with the license authority, once a PAK is registered.
    pub sync: Option<SyncView>,
    /// The product's major version, which licenses must cover.
    pub product_major_version: u64,
}

impl From<Compliance> for ComplianceView {
    fn from(compliance: Compliance) -> Self {
        let status = compliance.status;
        ComplianceView {
            now: rfc3339_ms(compliance.now),
            banners: compliance.banners,
            conditions: status
                .active
                .iter()
                .map(|a| ConditionView {
                    condition: a.condition.as_str(),
                    since: rfc3339_ms(a.since_ms),
                    disable_at: rfc3339_ms(a.disable_ms),
                    disabling: a.disabling,
                })
                .collect(),
            disabled: status.disabled.is_some(),
            disabled_reason: compliance.disabled_reason,
            trial_days_left: status.trial_days_left,
            temporary_licenses: status
                .temporary
                .iter()
                .map(|t| TemporaryView {
                    kind: t.kind.as_str(),
                    count: t.count,
                    expires_at: rfc3339_ms(t.expires_ms),
                })
                .collect(),
            last_audit_at: compliance.last_audit_ms.map(rfc3339_ms),
            next_audit_at: rfc3339_ms(compliance.next_audit_ms),
            sync: compliance.sync.map(|sync| SyncView {
                pak: sync.pak,
                last_sync_at: sync.last_sync_ms.map(rfc3339_ms),
                last_attempt_at: sync.last_attempt_ms.map(rfc3339_ms),
                last_error: sync.last_error,
                next_sync_at: sync.next_sync_ms.map(rfc3339_ms),
            }),
            product_major_version: compliance.product_major,
        }
    }
}

/// An e-mail to administrators, queued or sent.
#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    pub id: String,
    /// What it is about (condition/since/period/kind).
    pub notice_key: String,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
    /// Its recipients, comma-separated.
    pub recipients: String,
    /// Its Message-ID (the same on every attempt).
    pub message_id: String,
    /// `queued`, `retrying`, `sent` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: String,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// The next attempt, while not sent.
    pub next_attempt_at: Option<String>,
}

impl From<Notification> for NotificationView {
    fn from(notification: Notification) -> Self {
        let (m, delivery) = (notification.message, notification.delivery);
        NotificationView {
            id: m.id,
            notice_key: m.notice_key,
            subject: m.subject,
            body: m.body,
            recipients: m.recipients,
            message_id: m.message_id,
            status: delivery.as_str().to_string(),
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: rfc3339_ms(m.created_ms),
            sent_at: m.sent_ms.map(rfc3339_ms),
            next_attempt_at: delivery.is_pending().then(|| rfc3339_ms(m.next_attempt_ms)),
        }
    }
}

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router
        .routes(routes!(register_pak))
        .routes(routes!(list_files, upload_file))
        .routes(routes!(get_compliance))
        .routes(routes!(list_notifications))
}

/// Enter a PAK: the server registers it with the license authority,
/// verifies the signed license file it answers with, and installs it.
#[utoipa::path(post, path = "/v1/licenses/paks", tag = "licenses", security(("token" = [])), request_body = NewPak,
    responses((status = 201, body = InstalledView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`pak_registered_elsewhere`: the PAK serves another account"),
        (status = 404, body = ErrorBody, description = "`pak_unknown`: the license authority has no such PAK"),
        (status = 422, body = ErrorBody, description = "`invalid`, `pak_refused`, or the license file it answered with is refused"),
        (status = 502, body = ErrorBody, description = "`authority`: the license authority cannot be reached or failed")))]
pub async fn register_pak(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewPak>,
) -> Result<(StatusCode, Json<InstalledView>), ApiError> {
    let installed =
        app::compliance::install::enter_pak(&state, &principal, &new.pak, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(installed.into())))
}

/// Install a license file (offline installation): the body is the file as
/// the vendor sent it.
#[utoipa::path(post, path = "/v1/licenses/files", tag = "licenses", security(("token" = [])),
    request_body(content = Object, content_type = "application/json", description = "A license file, as the vendor's license authority wrote and signed it (a JSON object)"),
    responses((status = 201, body = InstalledView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_file(
    State(state): State<Services>,
    principal: Principal,
    super::JsonText(text): super::JsonText,
) -> Result<(StatusCode, Json<InstalledView>), ApiError> {
    let installed = app::compliance::install::upload(&state, &principal, &text, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(installed.into())))
}

/// The license files installed, newest first: the current ones and the history.
#[utoipa::path(get, path = "/v1/licenses/files", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = [FileView]), (status = 403, body = ErrorBody)))]
pub async fn list_files(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<FileView>>, ApiError> {
    let files = app::compliance::install::files(&state, &principal).await?;
    Ok(Json(files.into_iter().map(FileView::from).collect()))
}

/// The account's compliance: every condition with its dates, the banners
/// administrators should see, the trial, temporary licenses, the audits
/// and the synchronisation with the license authority. Evaluated now
/// (read-only: notices are sent by the daily audit).
#[utoipa::path(get, path = "/v1/compliance", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = ComplianceView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_compliance(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<ComplianceView>, ApiError> {
    let compliance = app::compliance::status::status(&state, &principal, state.clock.now()).await?;
    Ok(Json(compliance.into()))
}

/// The e-mail notices of the account, newest first (at most 500): sent,
/// queued, retrying after a failure, or given up.
#[utoipa::path(get, path = "/v1/notifications", tag = "licenses", security(("token" = [])),
    responses((status = 200, body = [NotificationView]), (status = 403, body = ErrorBody)))]
pub async fn list_notifications(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    let notifications = app::compliance::notices::list(&state, &principal).await?;
    Ok(Json(notifications.into_iter().map(NotificationView::from).collect()))
}
