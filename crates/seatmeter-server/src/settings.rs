//! One typed settings struct: defaults, then a TOML file, then `SEATMETER_*`
//! environment variables, then command-line flags (applied by the binary).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything the server can be told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded SQLite database (and later, other state).
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite.
    pub database_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The license authority's registration and sync API (`http://host:port`).
    pub authority_url: Option<String>,
    /// The license authority's public key (`ed25519:…`, printed by
    /// `seatmeter authority init`): license files must be signed with it.
    pub authority_public_key: Option<String>,
    /// This server's name at the authority (default: the host name).
    pub server_id: Option<String>,
    /// Hours between synchronisations with the authority.
    pub sync_interval_hours: u64,
    /// Where to send e-mail: `smtp://host:port` (plain), with
    /// `?tls=required` for STARTTLS, or `smtps://host:465`; `user:password@`
    /// before the host to log in. Without it, notices wait in the outbox.
    pub smtp_url: Option<String>,
    /// The From address of e-mail.
    pub mail_from: String,
    /// Connections served at once; more are closed as they come.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers, and that a kept-alive
    /// connection may stay idle between requests.
    pub header_timeout_seconds: u64,
    /// Seconds a client has to send a request's body.
    pub body_timeout_seconds: u64,
    /// When set, `/metrics`, `/openapi.json` and the API browser (`/docs`)
    /// answer only requests with `Authorization: Bearer <ops_token>`.
    pub ops_token: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("seatmeter-data"),
            database_url: None,
            max_body_bytes: 1 << 20,
            authority_url: None,
            authority_public_key: None,
            server_id: None,
            sync_interval_hours: 12,
            smtp_url: None,
            mail_from: "Seatmeter <seatmeter@localhost>".to_string(),
            max_connections: 1024,
            header_timeout_seconds: 10,
            body_timeout_seconds: 30,
            ops_token: None,
        }
    }
}

/// The settings' keys, as in the file; `SEATMETER_<KEY>` in the environment.
pub const KEYS: [&str; 14] = [
    "listen",
    "data_dir",
    "database_url",
    "max_body_bytes",
    "authority_url",
    "authority_public_key",
    "server_id",
    "sync_interval_hours",
    "smtp_url",
    "mail_from",
    "max_connections",
    "header_timeout_seconds",
    "body_timeout_seconds",
    "ops_token",
];

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct SettingsError(#[from] config::ConfigError);

/// A commented settings file with every default, printed by `seatmeter config example`.
pub const EXAMPLE: &str = r#"# Seatmeter settings. Every key is optional; shown here with its default.
# Each can also be set in the environment as SEATMETER_<KEY> (for example
# SEATMETER_LISTEN=0.0.0.0:8080), which wins over this file, and on the
# command line (`seatmeter serve --listen …`), which wins over both.

# Address and port the server listens on.
listen = "127.0.0.1:8080"

# Directory of the embedded SQLite database (seatmeter.db), created if missing.
data_dir = "seatmeter-data"

# Use PostgreSQL instead of the embedded SQLite, e.g.
# database_url = "postgres://seatmeter@127.0.0.1:5432/seatmeter"

# Largest request body accepted, in bytes.
max_body_bytes = 1048576

# The license authority (the vendor's `seatmeter authority serve`): where
# PAKs are registered and licenses synchronised, and the public key its
# license files are verified with (printed by `seatmeter authority init`).
# Without the key, no license file can be installed.
# authority_url = "http://license.example.com:8090"
# authority_public_key = "ed25519:…"

# This server's name at the authority (default: the host name).
# server_id = "seatmeter-1"

# Hours between synchronisations with the authority.
sync_interval_hours = 12

# Where to send e-mail to administrators: smtp://host:port for plain SMTP
# (the host's own mail server: smtp://127.0.0.1:25), ?tls=required for
# STARTTLS (smtp://user:password@smtp.example.com:587?tls=required), or
# smtps://host:465. Without it, notices wait in the outbox
# (GET /v1/notifications) until it is set.
# smtp_url = "smtp://127.0.0.1:25"

# The From address of e-mail.
mail_from = "Seatmeter <seatmeter@localhost>"

# Connections served at once; more are closed as they come.
max_connections = 1024

# Seconds a client has to send a request's headers (also how long a
# kept-alive connection may stay idle), and to send its body. Connections
# that stall are closed.
header_timeout_seconds = 10
body_timeout_seconds = 30

# Close the operational endpoints (/metrics, /openapi.json and the API
# browser /docs) to the public: with a token set, they answer only requests
# with `Authorization: Bearer <token>` (see docs/security.md).
# ops_token = "a long random string"
"#;

impl Settings {
    /// Defaults, overridden by `file` (if given) and then by `SEATMETER_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let mut builder = Self::defaults()?;
        if let Some(file) = file {
            builder = builder.add_source(checked_keys(
                config::File::from(file).format(config::FileFormat::Toml).required(true),
            )?);
        }
        // Only the settings' own keys: other SEATMETER_* variables (SEATMETER_LOG,
        // SEATMETER_CONFIG, …) belong to other parts and are not settings.
        for key in KEYS {
            if let Ok(value) = std::env::var(format!("SEATMETER_{}", key.to_uppercase()))
                && !value.is_empty()
            {
                builder = builder.set_override(key, value)?;
            }
        }
        Self::in_range(builder.build()?.try_deserialize()?)
    }

    /// `settings`, refused if a number is outside what it may be (a number
    /// too large for a setting would otherwise be cut to fit, silently).
    fn in_range(settings: Self) -> Result<Self, SettingsError> {
        let numbers: [(&str, u64, u64, u64); 5] = [
            ("sync_interval_hours", settings.sync_interval_hours, 1, 8_760),
            ("max_connections", settings.max_connections as u64, 1, 1_000_000),
            ("header_timeout_seconds", settings.header_timeout_seconds, 1, 3_600),
            ("body_timeout_seconds", settings.body_timeout_seconds, 1, 3_600),
            ("max_body_bytes", settings.max_body_bytes as u64, 1, 1 << 30),
        ];
        for (key, value, least, most) in numbers {
            if !(least..=most).contains(&value) {
                return Err(config::ConfigError::Message(format!(
                    "{key} = {value} is out of range: give {least} to {most}"
                ))
                .into());
            }
        }
        Ok(settings)
    }

    /// Defaults, overridden by the settings file content `text` (TOML) only:
    /// what [`Settings::load`] makes of a file, without the environment.
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        let file = checked_keys(config::File::from_str(text, config::FileFormat::Toml))?;
        let builder = Self::defaults()?.add_source(file);
        Self::in_range(builder.build()?.try_deserialize()?)
    }

    fn defaults() -> Result<config::ConfigBuilder<config::builder::DefaultState>, SettingsError> {
        Ok(config::Config::builder().add_source(config::Config::try_from(&Self::default())?))
    }

    /// The database to open: the PostgreSQL URL, or the SQLite file in `data_dir`.
    pub fn database(&self) -> DatabaseLocation {
        match &self.database_url {
            Some(url) => DatabaseLocation::Postgres(url.clone()),
            None => DatabaseLocation::Sqlite(self.data_dir.join("seatmeter.db")),
        }
    }
}

/// `file`, refused if one of its keys has an index (`key[n]`). `config`
/// takes each key of a file as a path, and an index in it as a place in an
/// array that it makes long enough first: `"a[100000000000]" = 1` would
/// abort the process for want of memory, and a negative index overflow.
/// No setting has an index, so such a key is an unknown field.
fn checked_keys<S: config::Source>(file: S) -> Result<S, SettingsError> {
    if let Some(key) = file.collect()?.keys().find(|key| key.contains('[')) {
        return Err(<config::ConfigError as serde::de::Error>::unknown_field(key, &KEYS).into());
    }
    Ok(file)
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl std::fmt::Debug for DatabaseLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for DatabaseLocation {
    /// Says where, never printing a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "SQLite at {}", path.display()),
            Self::Postgres(url) => write!(f, "PostgreSQL at {}", redact_url(url)),
        }
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((credentials, host)) = rest.rsplit_once('@') else { return url.to_string() };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("seatmeter.toml");
        std::fs::write(&file, EXAMPLE).unwrap();
        assert_eq!(Settings::load(Some(&file)).unwrap(), Settings::default());
    }

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9999\"\ndatabase_url = \"postgres://u:pw@h/db\"\n")
            .unwrap();
        let settings = Settings::load(Some(&file)).unwrap();
        assert_eq!(settings.listen.port(), 9999);
        assert_eq!(settings.database().to_string(), "PostgreSQL at postgres://u:***@h/db");
        std::fs::write(&file, "listne = \"127.0.0.1:9999\"\n").unwrap();
        let error = Settings::load(Some(&file)).unwrap_err().to_string();
        assert!(error.contains("listne"), "{error}");
        assert_eq!(Settings::from_toml("listne = 1").unwrap_err().to_string(), error);
        assert_eq!(Settings::from_toml(EXAMPLE).unwrap(), Settings::default());
    }

    /// Crashes of the `settings` fuzz target (`fuzz/`): keys with an index
    /// made `config` allocate an array that long, aborting the process.
    #[test]
    fn a_key_with_an_index_is_refused_not_allocated() {
        for text in ["\"a[100000000000]\" = 1", "\"a[-9223372036854775808]\" = 1", "\"listen[0]\" = 1"] {
            let error = Settings::from_toml(text).unwrap_err().to_string();
            assert!(error.starts_with("invalid settings: unknown field `"), "{text}: {error}");
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("s.toml");
            std::fs::write(&file, text).unwrap();
            assert_eq!(Settings::load(Some(&file)).unwrap_err().to_string(), error);
        }
    }

    #[test]
    fn a_number_out_of_range_is_refused_not_cut_to_fit() {
        // Found by fuzzing: a huge number was cut to fit, then written back unreadable.
        let huge = "sync_interval_hours = 10000000000000000000000000000000000000000.000000001\n";
        let refused = Settings::from_toml(huge).unwrap_err().to_string();
        assert!(refused.contains("sync_interval_hours") && refused.contains("out of range"), "{refused}");
        for text in ["max_connections = 0", "header_timeout_seconds = 86400", "body_timeout_seconds = 0"] {
            assert!(Settings::from_toml(text).is_err(), "{text}");
        }
        assert_eq!(Settings::from_toml("max_connections = 50").unwrap().max_connections, 50);
    }
}
