//! Random ids and API tokens, and how tokens are stored.

use sha2::{Digest, Sha256};

/// Prefix of every API token, so that leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "smt_";

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The operating system's generator; without it nothing secure can be issued.
    getrandom::fill(&mut buf).expect("the operating system's random number generator is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random id with a prefix naming what it identifies (`acc`, `usr`, …).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_hex(12))
}

/// A new API token: 256 random bits.
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_hex(32))
}

/// What is stored for a token: its SHA-256, hex. A token has 256 bits of
/// entropy, so a fast hash is enough (a password hash is for guessable secrets).
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert!(new_id("acc").starts_with("acc_"));
    }
}
