//! Installing license files: verified against the authority's key, checked
//! for the account, stored as the current file of their PAK, and the
//! account evaluated at once in the same transaction, so that new licenses
//! lift a disabled account immediately. A file older than the one
//! installed for its PAK is refused: licenses the vendor reduced or
//! withdrew cannot come back from an old copy.

use serde_json::json;

use super::disabled_message;
use super::evaluate::{CurrentFile, current_files, evaluate, expiry_ms, prepare};
use super::open;
use crate::app::licenses::{Pool, account_pools};
use crate::app::{Capability, Error, Principal, Result, Services};
use crate::license_file::{LicenseBody, LicenseFile, LicenseFileError, LicenseLine, verify};
use crate::secrets::new_id;
use crate::store::license_files::{FileRow, NewFile};
use crate::store::{self, Tx};

/// How a license file came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// An administrator entered a PAK; the authority answered with the file.
    Pak,
    /// A synchronisation brought it.
    Sync,
    /// Uploaded (offline installation).
    File,
}

impl Via {
    /// `pak`, `sync` or `file`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Pak => "pak",
            Via::Sync => "sync",
            Via::File => "file",
        }
    }
}

/// Whether installing changed anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The file is now the current one of its PAK.
    Installed,
    /// This very file was the current one already.
    Unchanged,
}

impl Outcome {
    /// `installed` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Installed => "installed",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// A license file installed (or found installed already).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The file's id.
    pub license_id: String,
    /// The PAK it came from.
    pub pak: String,
    /// Whether it was installed or found installed.
    pub outcome: Outcome,
    /// The licenses it grants.
    pub licenses: Vec<LicenseLine>,
    /// The product major versions it covers.
    pub product_major_versions: Vec<u64>,
    /// The account's license pools now.
    pub pools: Vec<Pool>,
    /// Why the account is disabled, if it still is.
    pub disabled_reason: Option<String>,
}

/// A license file as listed: the stored row and, when it can be read, what it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstalledFile {
    /// The stored file.
    pub row: FileRow,
    /// What it grants.
    pub body: Option<LicenseBody>,
}

fn may_manage_licenses(principal: &Principal) -> Result<()> {
    if principal.may(Capability::InstallLicenses) {
        Ok(())
    } else {
        Err(Error::forbidden("installing licenses needs an administrator of billing"))
    }
}

/// Why a license file is refused, with its stable reason.
fn rejected(error: &LicenseFileError) -> Error {
    let reason = match error {
        LicenseFileError::Malformed(_) => "license_malformed",
        LicenseFileError::WrongKey { .. } => "license_wrong_key",
        LicenseFileError::Tampered => "license_tampered",
        LicenseFileError::ForeignAccount(_) => "license_foreign_account",
        LicenseFileError::Expired(_) => "license_expired",
    };
    Error::Rejected { reason, message: error.to_string() }
}

/// The caller enters a PAK (administrators of billing): registered with
/// the license authority, the file it answers with installed.
pub async fn enter_pak(services: &Services, principal: &Principal, pak: &str, now: i64) -> Result<Installed> {
    may_manage_licenses(principal)?;
    register(services, &principal.account_id, Some(&principal.user_id), pak, now).await
}

/// The caller uploads a license file (administrators of billing).
pub async fn upload(services: &Services, principal: &Principal, text: &str, now: i64) -> Result<Installed> {
    may_manage_licenses(principal)?;
    // Strict JSON before anything else is said of the file.
    crate::json::check_unique_keys(text.trim().as_bytes())
        .map_err(|message| rejected(&LicenseFileError::Malformed(message)))?;
    install(services, &principal.account_id, Some(&principal.user_id), text, Via::File, now).await
}

/// Registers `pak` with the license authority for the account and installs
/// the license file it answers with.
pub async fn register(
    services: &Services,
    account_id: &str,
    actor: Option<&str>,
    pak: &str,
    now: i64,
) -> Result<Installed> {
    let Some(pak) = crate::app::text::checked(pak, 100).filter(|pak| pak.is_ascii()).map(str::to_uppercase)
    else {
        return Err(Error::invalid("enter the PAK as your vendor sent it", "pak"));
    };
    let text = super::sync::fetch_from_authority(services, account_id, &pak, "/v1/register").await.map_err(
        |unanswered| match unanswered.refused {
            // The PAK's fault, not the authority's: the caller can do something.
            Some(404) => Error::Unknown { reason: "pak_unknown", message: unanswered.message },
            Some(409) => Error::Refused { reason: "pak_registered_elsewhere", message: unanswered.message },
            Some(_) => Error::Rejected { reason: "pak_refused", message: unanswered.message },
            None => Error::Upstream { message: unanswered.message },
        },
    )?;
    install(services, account_id, actor, &text, Via::Pak, now).await
}

/// Verifies `text` with the authority's key and checks it is for
/// `account_id` and not wholly expired (unless the authority sent it).
fn verified(services: &Services, account_id: &str, text: &str, via: Via, now: i64) -> Result<LicenseBody> {
    let Some(key) = &services.licensing.authority_key else {
        return Err(Error::Refused {
            reason: "no_authority_key",
            message: "this server has no authority_public_key setting, so it cannot verify license files: set it to the \
                      key printed by `seatmeter authority init` and restart"
                .into(),
        });
    };
    let body = verify(text, key).map_err(|e| rejected(&e))?;
    match body.check_for(account_id, now, expiry_ms) {
        // What the authority says is current is installed even when it has
        // expired: the licenses then count for nothing, as they should.
        Err(LicenseFileError::Expired(_)) if via == Via::Sync => {}
        checked => checked.map_err(|e| rejected(&e))?,
    }
    Ok(body)
}

/// Refuses `body` when the file installed for its PAK was issued later.
fn refuse_older(current: &[CurrentFile], body: &LicenseBody) -> Result<()> {
    let issued = |b: &LicenseBody| expiry_ms(&b.issued).unwrap_or(i64::MIN);
    match current.iter().find(|(r, b)| r.pak == body.pak && issued(b) > issued(body)) {
        Some((_, newer)) => Err(Error::Refused {
            reason: "license_older",
            message: format!(
                "this license file (issued {}) is older than the one installed for {} (issued {}): install the newest file",
                body.issued, body.pak, newer.issued
            ),
        }),
        None => Ok(()),
    }
}

/// Stores `text` as the current file of its PAK, replacing the one before,
/// with its activity record.
async fn store_file(
    tx: &mut Tx,
    account_id: &str,
    actor: Option<&str>,
    text: &str,
    body: &LicenseBody,
    via: Via,
    now: i64,
) -> Result<()> {
    store::license_files::replace_current(&mut *tx, account_id, &body.pak, now).await?;
    let signed: LicenseFile = serde_json::from_str(text.trim())
        .map_err(|e| rejected(&LicenseFileError::Malformed(e.to_string())))?;
    let file = serde_json::to_string(&signed).expect("a license file serialises");
    let new = NewFile {
        id: &new_id("lf"),
        account_id,
        license_id: &body.id,
        pak: &body.pak,
        body: &signed.license,
        file: &file,
        installed_via: via.as_str(),
        installed_ms: now,
        installed_by_user_id: actor,
    };
    store::license_files::insert(&mut *tx, &new).await?;
    store::activities::record(
        tx,
        account_id,
        now,
        actor,
        "licenses.installed",
        ("license_file", &body.id),
        json!({"pak": body.pak, "via": via.as_str(), "licenses": body.licenses, "product_major_versions": body.product_major_versions}),
    )
    .await?;
    Ok(())
}

/// Verifies and installs a license file for `account_id`, replacing the
/// current file of the same PAK, then evaluates the account at once.
pub async fn install(
    services: &Services,
    account_id: &str,
    actor: Option<&str>,
    text: &str,
    via: Via,
    now: i64,
) -> Result<Installed> {
    let body = verified(services, account_id, text, via, now)?;
    let checks = prepare(services, account_id, now).await?;
    let mut tx = services.db.begin().await?;
    open(&mut tx, account_id, now).await?;
    // The time once the account's lock is held: installs that took turns are in order.
    let now = Ord::max(now, services.clock.now());
    let current = current_files(&mut tx, account_id).await?;
    let same = current.iter().any(|(r, _)| r.license_id == body.id);
    refuse_older(&current, &body)?;
    if !same {
        store_file(&mut tx, account_id, actor, text, &body, via, now).await?;
    }
    if via != Via::File {
        // Registered with the authority: synchronisation is expected from now on.
        let next = now + services.licensing.sync_interval_ms;
        store::compliance::synced(&mut tx, account_id, &body.pak, now, next).await?;
    }
    let done = evaluate(services, &mut tx, account_id, checks, now).await?;
    tx.commit().await?;
    services.kept.forget(crate::app::recent::ALL);
    Ok(Installed {
        license_id: body.id,
        pak: body.pak,
        outcome: if same { Outcome::Unchanged } else { Outcome::Installed },
        licenses: body.licenses,
        product_major_versions: body.product_major_versions,
        pools: account_pools(&services.db, account_id).await?,
        disabled_reason: done.status.disabled.map(disabled_message),
    })
}

/// The license files installed in the caller's account, newest first: the
/// current ones and the history (administrators of billing or licenses).
pub async fn files(services: &Services, principal: &Principal) -> Result<Vec<InstalledFile>> {
    if !principal.may(Capability::SeeLicenses) {
        return Err(Error::forbidden("license files are shown to administrators of billing or licenses"));
    }
    let rows = store::license_files::newest_first(&services.db, &principal.account_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| InstalledFile { body: serde_json::from_str(&row.body).ok(), row })
        .collect())
}
