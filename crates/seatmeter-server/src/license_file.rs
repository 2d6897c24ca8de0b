//! License files: what the license authority signs and a server installs.
//!
//! A license file is a JSON object:
//!
//! ```json
//! {"format": "seatmeter-license/1",
//!  "key": "3f9c0d2e71a4b5c8",
//!  "license": "{\"id\":\"lic_…\",\"account_id\":\"acc_…\",…}",
//!  "signature": "9a0c…(128 hex digits)"}
//! ```
//!
//! `license` is the signed text itself (a JSON object, [`LicenseBody`]), so
//! that verifying never depends on how a JSON library re-encodes it;
//! `signature` is the Ed25519 signature of its UTF-8 bytes; `key` names the
//! authority key that signed it (the first 16 hex digits of the SHA-256 of
//! the public key), so that a file signed by another authority is told
//! apart from a tampered one.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::secrets::{from_hex, hex, sha256_hex};

/// The value of a license file's `format` field.
pub const FORMAT: &str = "seatmeter-license/1";

/// A license file as stored and sent.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LicenseFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The id of the key that signed it.
    pub key: String,
    /// The signed text: a [`LicenseBody`] as JSON.
    pub license: String,
    /// Ed25519 signature of `license`, hex.
    pub signature: String,
}

/// What a license file grants.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LicenseBody {
    /// The file's own id (`lic_…`).
    pub id: String,
    /// The account it was issued for.
    pub account_id: String,
    /// The Product Authorization Key it came from.
    pub pak: String,
    /// When it was issued (RFC 3339).
    pub issued: String,
    /// The product's major versions it covers.
    pub product_major_versions: Vec<u64>,
    /// The licenses, per kind.
    pub licenses: Vec<LicenseLine>,
}

/// Licenses of one kind in a license file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LicenseLine {
    /// `scheduled_meetings`, `live_engagement` or `host`.
    pub kind: String,
    /// How many.
    pub count: u64,
    /// When temporary licenses expire (RFC 3339); absent for permanent ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Why a license file is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LicenseFileError {
    /// Not a license file at all.
    #[error("this is not a Seatmeter license file ({0})")]
    Malformed(String),
    /// Signed by a key this server does not trust.
    #[error(
        "this license file was signed by another license authority key ({found}); this server trusts key {trusted} \
         (check the server's authority public key setting, or ask your vendor for a file from the right authority)"
    )]
    WrongKey {
        /// The key id in the file.
        found: String,
        /// The key id this server trusts.
        trusted: String,
    },
    /// The signature does not match the text: changed after signing.
    #[error(
        "this license file has been altered since it was signed: its signature does not match; install the file exactly as the vendor sent it"
    )]
    Tampered,
    /// Issued for another account.
    #[error(
        "this license file was issued for another account ({0}); ask your vendor for a file for this account"
    )]
    ForeignAccount(String),
    /// Every license in it has expired.
    #[error("every license in this file expired (the last on {0}); ask your vendor for a current file")]
    Expired(String),
}

/// The id of a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())[..16].to_string()
}

/// A public key as text: `ed25519:` and 64 hex digits.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", hex(key.as_bytes()))
}

/// Reads a public key written by [`public_key_text`].
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = text
        .trim()
        .strip_prefix("ed25519:")
        .and_then(from_hex::<32>)
        .ok_or_else(|| "an authority public key is `ed25519:` followed by 64 hex digits".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "this is not a valid Ed25519 public key".to_string())
}

/// A new signing key from the operating system's generator.
pub fn new_signing_key() -> SigningKey {
    SigningKey::from_bytes(&crate::secrets::random_bytes::<32>())
}

/// A signing key as stored in its file: 64 hex digits.
pub fn signing_key_text(key: &SigningKey) -> String {
    hex(key.as_bytes())
}

/// Reads a signing key written by [`signing_key_text`].
pub fn parse_signing_key(text: &str) -> Option<SigningKey> {
    from_hex::<32>(text.trim()).map(|bytes| SigningKey::from_bytes(&bytes))
}

/// Signs `body` into a license file.
pub fn sign(body: &LicenseBody, key: &SigningKey) -> LicenseFile {
    let license = serde_json::to_string(body).expect("a license body serialises");
    let signature = key.sign(license.as_bytes());
    LicenseFile {
        format: FORMAT.to_string(),
        key: key_id(&key.verifying_key()),
        license,
        signature: hex(&signature.to_bytes()),
    }
}

/// Checks a license file's form and signature against the trusted key and
/// returns what it grants (not yet whether it suits an account: see
/// [`LicenseBody::check_for`]).
pub fn verify(text: &str, trusted: &VerifyingKey) -> Result<LicenseBody, LicenseFileError> {
    crate::json::check_unique_keys(text.trim().as_bytes()).map_err(LicenseFileError::Malformed)?;
    if !text.trim_start().starts_with('{') {
        return Err(LicenseFileError::Malformed("a license file is a JSON object (`{…}`)".into()));
    }
    let file: LicenseFile =
        serde_json::from_str(text.trim()).map_err(|e| LicenseFileError::Malformed(e.to_string()))?;
    if file.format != FORMAT {
        return Err(LicenseFileError::Malformed(format!("format {:?}, expected {FORMAT:?}", file.format)));
    }
    let trusted_id = key_id(trusted);
    if file.key != trusted_id {
        return Err(LicenseFileError::WrongKey { found: file.key, trusted: trusted_id });
    }
    let signature = from_hex::<64>(&file.signature).ok_or(LicenseFileError::Tampered)?;
    trusted
        .verify_strict(file.license.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| LicenseFileError::Tampered)?;
    crate::json::check_unique_keys(file.license.as_bytes())
        .map_err(|e| LicenseFileError::Malformed(format!("signed text: {e}")))?;
    let body: LicenseBody = serde_json::from_str(&file.license)
        .map_err(|e| LicenseFileError::Malformed(format!("signed text: {e}")))?;
    Ok(body)
}

impl LicenseBody {
    /// Refuses a file for another account, or one whose licenses have all
    /// expired at `now_ms` (`expiry_ms` parses its expiry dates).
    pub fn check_for(
        &self,
        account_id: &str,
        now_ms: i64,
        expiry_ms: impl Fn(&str) -> Option<i64>,
    ) -> Result<(), LicenseFileError> {
        if self.account_id != account_id {
            return Err(LicenseFileError::ForeignAccount(self.account_id.clone()));
        }
        let expiries: Vec<(Option<i64>, &str)> = self
            .licenses
            .iter()
            .map(|l| match &l.expires {
                None => (None, ""),
                Some(text) => (Some(expiry_ms(text).unwrap_or(i64::MIN)), text.as_str()),
            })
            .collect();
        let all_expired =
            !expiries.is_empty() && expiries.iter().all(|(e, _)| e.is_some_and(|e| e <= now_ms));
        if all_expired {
            let last = expiries.iter().max_by_key(|(e, _)| *e).map_or("", |(_, t)| t);
            return Err(LicenseFileError::Expired(last.to_string()));
        }
        Ok(())
    }

    /// Whether it covers the product's major version `major`.
    pub fn covers(&self, major: u64) -> bool {
        self.product_major_versions.contains(&major)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> LicenseBody {
        LicenseBody {
            id: "lic_1".into(),
            account_id: "acc_1".into(),
            pak: "PAK-1".into(),
            issued: "2026-11-25T00:00:00Z".into(),
            product_major_versions: vec![0],
            licenses: vec![
                LicenseLine { kind: "host".into(), count: 10, expires: None },
                LicenseLine {
                    kind: "scheduled_meetings".into(),
                    count: 5,
                    expires: Some("2027-01-01T00:00:00Z".into()),
                },
            ],
        }
    }

    fn parse(text: &str) -> Option<i64> {
        seatmeter_core::time::parse_rfc3339(text.as_bytes()).ok().map(|t| t.0 / 1_000_000)
    }

    #[test]
    fn a_signed_file_verifies_and_every_alteration_is_named() {
        let key = new_signing_key();
        let file = sign(&body(), &key);
        let text = serde_json::to_string(&file).unwrap();
        assert_eq!(verify(&text, &key.verifying_key()), Ok(body()));

        // Tampered: one more host license.
        let altered =
            LicenseFile { license: file.license.replace("\"count\":10", "\"count\":99"), ..file.clone() };
        let altered = serde_json::to_string(&altered).unwrap();
        assert_eq!(verify(&altered, &key.verifying_key()), Err(LicenseFileError::Tampered));

        // Signed by another key.
        let other = new_signing_key();
        assert!(matches!(verify(&text, &other.verifying_key()), Err(LicenseFileError::WrongKey { .. })));

        // A forged file claiming the trusted key's id.
        let forged = LicenseFile { key: file.key.clone(), ..sign(&body(), &other) };
        let forged = serde_json::to_string(&forged).unwrap();
        assert_eq!(verify(&forged, &key.verifying_key()), Err(LicenseFileError::Tampered));

        assert!(matches!(
            verify("{\"format\":1}", &key.verifying_key()),
            Err(LicenseFileError::Malformed(_))
        ));
        assert!(matches!(verify("not json", &key.verifying_key()), Err(LicenseFileError::Malformed(_))));
    }

    #[test]
    fn a_file_suits_only_its_account_while_some_license_is_current() {
        let body = body();
        let now = parse("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(body.check_for("acc_1", now, parse), Ok(()));
        assert_eq!(
            body.check_for("acc_2", now, parse),
            Err(LicenseFileError::ForeignAccount("acc_1".into()))
        );
        let temporary = LicenseBody { licenses: vec![body.licenses[1].clone()], ..body.clone() };
        assert_eq!(temporary.check_for("acc_1", now, parse), Ok(()));
        let later = parse("2027-01-01T00:00:00Z").unwrap();
        assert_eq!(
            temporary.check_for("acc_1", later, parse),
            Err(LicenseFileError::Expired("2027-01-01T00:00:00Z".into()))
        );
        assert!(body.covers(0) && !body.covers(1));
    }

    #[test]
    fn keys_read_back_as_written() {
        let key = new_signing_key();
        let public = key.verifying_key();
        assert_eq!(parse_public_key(&public_key_text(&public)), Ok(public));
        assert_eq!(parse_signing_key(&signing_key_text(&key)).map(|k| k.to_bytes()), Some(key.to_bytes()));
        assert!(parse_public_key("ed25519:00").is_err());
        assert!(parse_public_key("rsa:00").is_err());
    }
}
