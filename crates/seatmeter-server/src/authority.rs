//! The license authority: the vendor's service that turns a Product
//! Authorization Key (PAK) into a signed license file.
//!
//! It keeps its own SQLite database and Ed25519 key pair in one directory
//! (`seatmeter authority init`): `authority.db`, `authority.key` (the
//! private key, readable by its owner only) and `authority.pub` (the public
//! key, which every Seatmeter server is configured with). The vendor creates
//! PAKs with an entitlement (licenses per kind, permanent or temporary, the
//! product versions covered); a customer's server registers a PAK for its
//! account (`POST /v1/register`) and synchronises every 12 hours
//! (`POST /v1/sync`); both answer with the current license file. A PAK is
//! bound to the account that first registers it. For a server that cannot
//! reach the authority, `seatmeter authority issue` writes the file to
//! install offline.

use std::path::{Path, PathBuf};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ed25519_dalek::{SigningKey, VerifyingKey};
use seatmeter_core::people::LicenseKind;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::clock::rfc3339_ms;
use crate::license_file::{
    LicenseBody, LicenseFile, LicenseLine, new_signing_key, parse_signing_key, public_key_text, sign,
};

/// Why the authority could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// Its directory is not set up, or is damaged.
    #[error("{0}")]
    Setup(String),
    /// Bad input, with what to do.
    #[error("{0}")]
    Invalid(String),
    /// No such PAK (or not registered for that account).
    #[error("{0}")]
    NotFound(String),
    /// The PAK belongs to another account.
    #[error("{0}")]
    Conflict(String),
    /// Its database failed.
    #[error("the authority's database: {0}")]
    Db(#[from] sqlx::Error),
    /// Its migrations failed.
    #[error("the authority's database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// What a PAK entitles its holder to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    /// Licenses per kind (a kind may appear twice: permanent and temporary).
    pub licenses: Vec<LicenseLine>,
    /// The product's major versions covered.
    pub product_major_versions: Vec<u64>,
}

impl Entitlement {
    /// Checks kinds, counts and expiry dates.
    pub fn validate(&self) -> Result<(), AuthorityError> {
        if self.licenses.is_empty() {
            return Err(AuthorityError::Invalid("an entitlement needs at least one license".into()));
        }
        for line in &self.licenses {
            if LicenseKind::parse(&line.kind).is_none() {
                return Err(AuthorityError::Invalid(format!(
                    "{:?} is not a license kind: use scheduled_meetings, live_engagement or host",
                    line.kind
                )));
            }
            if let Some(expires) = &line.expires
                && seatmeter_core::time::parse_rfc3339(expires.as_bytes()).is_err()
            {
                return Err(AuthorityError::Invalid(format!(
                    "expiry {expires:?} is not an RFC 3339 timestamp"
                )));
            }
        }
        if self.product_major_versions.is_empty() {
            return Err(AuthorityError::Invalid(
                "an entitlement covers at least one product major version".into(),
            ));
        }
        Ok(())
    }
}

/// Parses `kind=count` or `kind=count@expiry` (expiry: YYYY-MM-DD, midnight
/// UTC, or RFC 3339): one line of an entitlement, as the CLI takes it.
pub fn parse_license_spec(text: &str) -> Result<LicenseLine, String> {
    let usage = || format!("{text:?}: write kind=count, or kind=count@YYYY-MM-DD for temporary licenses");
    let (kind, rest) = text.split_once('=').ok_or_else(usage)?;
    let (count, expires) = match rest.split_once('@') {
        Some((count, date)) => {
            let at = seatmeter_core::time::parse_date_or_rfc3339(date.as_bytes())
                .map_err(|e| format!("{text:?}: expiry {date:?} {e}"))?;
            (count, Some(rfc3339_ms(at.0.div_euclid(1_000_000))))
        }
        None => (rest, None),
    };
    if LicenseKind::parse(kind).is_none() {
        return Err(format!(
            "{text:?}: {kind:?} is not a license kind (scheduled_meetings, live_engagement, host)"
        ));
    }
    let count = count.parse::<u64>().map_err(|_| usage())?;
    Ok(LicenseLine { kind: kind.to_string(), count, expires })
}

/// A server that registered a PAK.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Registration {
    /// The PAK.
    pub pak: String,
    /// The server's id.
    pub server_id: String,
    /// Its account.
    pub account_id: String,
    /// When it first registered.
    pub registered_ms: i64,
    /// When it last synchronised.
    pub last_sync_ms: i64,
}

/// A PAK, with the servers that registered it.
#[derive(Clone, Debug, Serialize)]
pub struct Pak {
    /// The key itself (`PAK-…`).
    pub code: String,
    /// Who it was made for.
    pub customer: String,
    /// What it entitles to.
    pub entitlement: Entitlement,
    /// Changes of the entitlement so far (1: as created).
    pub revision: i64,
    /// The account it is bound to, once registered.
    pub account_id: Option<String>,
    /// When it was made.
    pub created_ms: i64,
    /// When its entitlement last changed (the license file's issue time).
    pub updated_ms: i64,
    /// The servers that registered it.
    pub registrations: Vec<Registration>,
}

#[derive(sqlx::FromRow)]
struct PakRow {
    code: String,
    customer: String,
    entitlement: String,
    revision: i64,
    account_id: Option<String>,
    created_ms: i64,
    updated_ms: i64,
}

/// An opened authority: its database and its signing key.
#[derive(Clone)]
pub struct Authority {
    db: SqlitePool,
    key: SigningKey,
    /// The time registrations and synchronisations are stamped with.
    pub clock: crate::clock::Clock,
}

/// The files of an authority directory.
fn files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (dir.join("authority.db"), dir.join("authority.key"), dir.join("authority.pub"))
}

async fn open_db(path: &Path) -> Result<SqlitePool, AuthorityError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    let db = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    sqlx::migrate!("migrations/authority").run(&db).await?;
    Ok(db)
}

impl Authority {
    /// Sets up `dir`: the key pair (the private key readable by its owner
    /// only) and the database. Refuses to replace an existing key.
    pub async fn init(dir: &Path) -> Result<VerifyingKey, AuthorityError> {
        let (db, private, public) = files(dir);
        if private.exists() {
            return Err(AuthorityError::Setup(format!(
                "{} exists already: this directory has an authority (its public key is in {})",
                private.display(),
                public.display()
            )));
        }
        // Its PAKs are secrets too: the directory is its owner's alone.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| AuthorityError::Setup(format!("cannot create {}: {e}", dir.display())))?;
        let key = new_signing_key();
        write_private(&private, &crate::license_file::signing_key_text(&key))?;
        std::fs::write(&public, public_key_text(&key.verifying_key()) + "\n")
            .map_err(|e| AuthorityError::Setup(format!("cannot write {}: {e}", public.display())))?;
        open_db(&db).await?.close().await;
        Ok(key.verifying_key())
    }

    /// Opens the authority set up in `dir`.
    pub async fn open(dir: &Path) -> Result<Self, AuthorityError> {
        let (db, private, _) = files(dir);
        let text = std::fs::read_to_string(&private).map_err(|e| {
            AuthorityError::Setup(format!(
                "cannot read the authority's key {}: {e} (run `seatmeter authority init --dir {}` first)",
                private.display(),
                dir.display()
            ))
        })?;
        let key = parse_signing_key(&text).ok_or_else(|| {
            AuthorityError::Setup(format!("{} does not hold an Ed25519 key", private.display()))
        })?;
        Ok(Self { db: open_db(&db).await?, key, clock: crate::clock::Clock::system() })
    }

    /// The public key servers verify license files with.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Makes a PAK for `customer`.
    pub async fn create_pak(
        &self,
        customer: &str,
        entitlement: &Entitlement,
        now: i64,
    ) -> Result<Pak, AuthorityError> {
        entitlement.validate()?;
        if customer.trim().is_empty() || customer.len() > 200 {
            return Err(AuthorityError::Invalid("the customer's name must be 1 to 200 characters".into()));
        }
        let code = new_pak_code();
        sqlx::query(
            "INSERT INTO paks (code, customer, entitlement, revision, created_ms, updated_ms) VALUES (?, ?, ?, 1, ?, ?)",
        )
        .bind(&code)
        .bind(customer.trim())
        .bind(serde_json::to_string(entitlement).expect("an entitlement serialises"))
        .bind(now)
        .bind(now)
        .execute(&self.db)
        .await?;
        self.pak(&code).await
    }

    /// Replaces a PAK's entitlement (more licenses, new versions): its
    /// servers receive the new license file at their next sync.
    pub async fn update_pak(
        &self,
        code: &str,
        entitlement: &Entitlement,
        now: i64,
    ) -> Result<Pak, AuthorityError> {
        entitlement.validate()?;
        let done = sqlx::query(
            "UPDATE paks SET entitlement = ?, revision = revision + 1, updated_ms = ? WHERE code = ?",
        )
        .bind(serde_json::to_string(entitlement).expect("an entitlement serialises"))
        .bind(now)
        .bind(code)
        .execute(&self.db)
        .await?;
        if done.rows_affected() == 0 {
            return Err(unknown_pak(code));
        }
        self.pak(code).await
    }

    /// One PAK with its registrations.
    pub async fn pak(&self, code: &str) -> Result<Pak, AuthorityError> {
        let row: PakRow = sqlx::query_as("SELECT * FROM paks WHERE code = ?")
            .bind(code)
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| unknown_pak(code))?;
        let registrations =
            sqlx::query_as("SELECT * FROM registrations WHERE pak = ? ORDER BY registered_ms")
                .bind(code)
                .fetch_all(&self.db)
                .await?;
        Ok(pak_of(row, registrations))
    }

    /// Every PAK, newest first, with its registrations.
    pub async fn paks(&self) -> Result<Vec<Pak>, AuthorityError> {
        let rows: Vec<PakRow> =
            sqlx::query_as("SELECT * FROM paks ORDER BY created_ms DESC, code").fetch_all(&self.db).await?;
        let registrations: Vec<Registration> =
            sqlx::query_as("SELECT * FROM registrations ORDER BY registered_ms").fetch_all(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let own = registrations.iter().filter(|r| r.pak == row.code).cloned().collect();
                pak_of(row, own)
            })
            .collect())
    }

    /// The license file of `code` for `account_id` (binding the PAK to the
    /// account if it is not bound yet).
    pub async fn issue(&self, code: &str, account_id: &str) -> Result<LicenseFile, AuthorityError> {
        let pak = self.pak(code).await?;
        match &pak.account_id {
            Some(bound) if bound != account_id => {
                return Err(AuthorityError::Conflict(format!(
                    "PAK {code} is registered to another account; each PAK serves one account"
                )));
            }
            Some(_) => {}
            None => {
                let bound =
                    sqlx::query("UPDATE paks SET account_id = ? WHERE code = ? AND account_id IS NULL")
                        .bind(account_id)
                        .bind(code)
                        .execute(&self.db)
                        .await?;
                // Another registration may have bound it a moment ago.
                if bound.rows_affected() == 0
                    && self.pak(code).await?.account_id.as_deref() != Some(account_id)
                {
                    return Err(AuthorityError::Conflict(format!(
                        "PAK {code} is registered to another account; each PAK serves one account"
                    )));
                }
            }
        }
        pak.entitlement.validate()?;
        let body = LicenseBody {
            id: format!(
                "lic_{}_{}",
                code.trim_start_matches("PAK-").replace('-', "").to_lowercase(),
                pak.revision
            ),
            account_id: account_id.to_string(),
            pak: code.to_string(),
            issued: rfc3339_ms(pak.updated_ms),
            product_major_versions: pak.entitlement.product_major_versions.clone(),
            licenses: pak.entitlement.licenses.clone(),
        };
        Ok(sign(&body, &self.key))
    }

    /// A server registers `code` for its account: records it and returns the license file.
    pub async fn register(&self, request: &SyncRequest, now: i64) -> Result<LicenseFile, AuthorityError> {
        request.validate()?;
        let file = self.issue(&request.pak, &request.account_id).await?;
        sqlx::query(
            "INSERT INTO registrations (pak, server_id, account_id, registered_ms, last_sync_ms) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (pak, server_id) DO UPDATE SET account_id = excluded.account_id, last_sync_ms = excluded.last_sync_ms",
        )
        .bind(&request.pak)
        .bind(&request.server_id)
        .bind(&request.account_id)
        .bind(now)
        .bind(now)
        .execute(&self.db)
        .await?;
        Ok(file)
    }

    /// A registered server synchronises: records when, returns the current license file.
    pub async fn sync(&self, request: &SyncRequest, now: i64) -> Result<LicenseFile, AuthorityError> {
        request.validate()?;
        let pak = self.pak(&request.pak).await?;
        if pak.account_id.as_deref() != Some(request.account_id.as_str()) {
            return Err(AuthorityError::NotFound(format!(
                "PAK {} is not registered for this account: register it first",
                request.pak
            )));
        }
        self.register(request, now).await
    }

    /// Serves [`Authority::router`] on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await
    }

    /// The HTTP API: `POST /v1/register`, `POST /v1/sync`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/register", post(http_register))
            .route("/v1/sync", post(http_sync))
            .with_state(self)
    }
}

fn unknown_pak(code: &str) -> AuthorityError {
    AuthorityError::NotFound(format!("no PAK {code:?}: check the key as your vendor sent it"))
}

fn pak_of(row: PakRow, registrations: Vec<Registration>) -> Pak {
    Pak {
        entitlement: serde_json::from_str(&row.entitlement)
            .unwrap_or(Entitlement { licenses: Vec::new(), product_major_versions: Vec::new() }),
        code: row.code,
        customer: row.customer,
        revision: row.revision,
        account_id: row.account_id,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
        registrations,
    }
}

/// A new PAK: `PAK-` and four groups of four characters, 80 random bits in
/// an alphabet without look-alikes (Crockford's base 32).
fn new_pak_code() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes = crate::secrets::random_bytes::<10>();
    let mut bits: u128 = 0;
    for b in bytes {
        bits = bits << 8 | u128::from(b);
    }
    let chars: Vec<char> = (0..16).map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize])).collect();
    let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    format!("PAK-{}", groups.join("-"))
}

/// Writes a private key readable and writable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), AuthorityError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| AuthorityError::Setup(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| AuthorityError::Setup(format!("cannot write {}: {e}", path.display())))
}

/// What a server sends to register or synchronise.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The PAK.
    pub pak: String,
    /// The server's account.
    pub account_id: String,
    /// The server's own id (each server of a deployment has one).
    pub server_id: String,
}

impl SyncRequest {
    fn validate(&self) -> Result<(), AuthorityError> {
        for (field, value) in
            [("pak", &self.pak), ("account_id", &self.account_id), ("server_id", &self.server_id)]
        {
            if value.is_empty() || value.len() > 200 || value.contains('\0') {
                return Err(AuthorityError::Invalid(format!("{field} must be 1 to 200 characters")));
            }
        }
        Ok(())
    }
}

/// The authority's answer: the license file.
#[derive(Serialize, Deserialize)]
pub struct SyncAnswer {
    /// The current license file of the PAK, for the account.
    pub license_file: LicenseFile,
}

impl IntoResponse for AuthorityError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AuthorityError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            AuthorityError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AuthorityError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "authority request failed");
        }
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "the license authority failed; try again later".to_string()
        } else {
            self.to_string()
        };
        (status, Json(serde_json::json!({"error": {"code": code, "message": message}}))).into_response()
    }
}

async fn http_register(
    State(authority): State<Authority>,
    Json(request): Json<SyncRequest>,
) -> Result<Json<SyncAnswer>, AuthorityError> {
    let license_file = authority.register(&request, authority.clock.now()).await?;
    // The PAK is a credential: only its last characters are logged.
    let tail = request.pak.get(request.pak.len().saturating_sub(4)..).unwrap_or("");
    tracing::info!(pak = %format!("…{tail}"), account = %request.account_id, server = %request.server_id, "registered");
    Ok(Json(SyncAnswer { license_file }))
}

async fn http_sync(
    State(authority): State<Authority>,
    Json(request): Json<SyncRequest>,
) -> Result<Json<SyncAnswer>, AuthorityError> {
    Ok(Json(SyncAnswer { license_file: authority.sync(&request, authority.clock.now()).await? }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_specs_read_kind_count_and_expiry() {
        assert_eq!(
            parse_license_spec("host=50"),
            Ok(LicenseLine { kind: "host".into(), count: 50, expires: None })
        );
        assert_eq!(
            parse_license_spec("scheduled_meetings=5@2027-06-30").map(|l| l.expires),
            Ok(Some("2027-06-30T00:00:00Z".into()))
        );
        assert!(parse_license_spec("hosts=5").unwrap_err().contains("not a license kind"));
        assert!(parse_license_spec("host").is_err());
        assert!(parse_license_spec("host=-1").is_err());
        assert!(parse_license_spec("host=1@tomorrow").is_err());
    }

    #[test]
    fn pak_codes_are_random_and_readable() {
        let (a, b) = (new_pak_code(), new_pak_code());
        assert_ne!(a, b);
        assert_eq!(a.len(), "PAK-XXXX-XXXX-XXXX-XXXX".len());
        assert!(a.chars().skip(4).all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()));
    }
}
