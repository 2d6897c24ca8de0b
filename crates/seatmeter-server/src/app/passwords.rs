//! Passwords: the policy they must meet, and how they are stored.
//!
//! Stored as Argon2id PHC strings with the OWASP parameters (19 MiB of
//! memory, 2 passes, 1 lane: argon2's defaults). Hashing and verifying take
//! tens of milliseconds of CPU, so they run on the blocking thread pool,
//! never on the async threads.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Longest password accepted (long enough for any passphrase, short enough
/// that hashing it costs nothing extra).
pub const MAX_LENGTH: usize = 256;
/// The least a policy may ask for.
pub const MIN_POLICY_LENGTH: i64 = 8;
/// The most a policy may ask for: passwords of at least 64 characters are always allowed.
pub const MAX_POLICY_LENGTH: i64 = 64;

fn common() -> &'static HashSet<&'static str> {
    static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();
    COMMON.get_or_init(|| include_str!("../../data/common-passwords.txt").lines().collect())
}

/// Why a new password is refused, for people; `None` when it is fine.
/// No composition rules: length, and not a well-known password.
pub fn refusal(password: &str, min_length: i64) -> Option<String> {
    let length = password.chars().count();
    let min = usize::try_from(min_length.clamp(MIN_POLICY_LENGTH, MAX_POLICY_LENGTH)).unwrap_or(12);
    if length < min {
        return Some(format!("the password must have at least {min} characters (it has {length})"));
    }
    if length > MAX_LENGTH {
        return Some(format!("the password may have at most {MAX_LENGTH} characters"));
    }
    if common().contains(password.to_lowercase().as_str()) {
        return Some("this password is one of the most common ones: choose another".into());
    }
    None
}

/// The Argon2id PHC string of `password` (on the blocking pool).
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Whether `password` matches `stored` (on the blocking pool). A stored
/// value that is not a PHC string matches nothing.
pub async fn verify(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified against when an e-mail address is
/// unknown, so that the time taken does not tell which addresses exist.
pub async fn decoy() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            let random = crate::secrets::hex(&crate::secrets::random_bytes::<16>());
            hash(random).await.unwrap_or_default()
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_uncommon_passwords_pass_and_the_policy_length_is_bounded() {
        assert_eq!(refusal("correct horse battery", 12), None);
        assert!(refusal("short", 12).unwrap().contains("at least 12"));
        assert!(refusal("PASSWORD1234", 12).unwrap().contains("most common"));
        assert!(refusal("Password1234", 8).unwrap().contains("most common"));
        // A policy cannot ask for fewer than 8 or more than 64 characters.
        assert!(refusal("abcdefg", 1).unwrap().contains("at least 8"));
        assert_eq!(refusal(&"x".repeat(64), 500), None);
        assert!(refusal(&"y".repeat(300), 12).unwrap().contains("at most"));
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery".into(), stored.clone()).await);
        assert!(!verify("correct horse batterY".into(), stored).await);
        assert!(!verify("x".into(), "not a hash".into()).await);
    }
}
