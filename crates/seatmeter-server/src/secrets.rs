//! Random ids and API tokens, and how tokens are stored.

use sha2::{Digest, Sha256};

/// Prefix of every API token, so that leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "smt_";

/// `N` random bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // Without the generator nothing secure can be issued.
    getrandom::fill(&mut buf).expect("the operating system's random number generator is available");
    buf
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random number generator is available");
    hex(&buf)
}

/// A random secret for a session, a CSRF token or a one-time link: 32
/// bytes, in hex.
pub fn new_secret() -> String {
    hex(&random_bytes::<32>())
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    hex
}

/// The bytes of hex text (either case), if it is exactly `N` bytes of hex.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
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

/// Whether `a` and `b` are equal, compared in constant time: every byte is
/// compared whatever the first difference (for secrets and their hashes).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
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
        assert_eq!(hex(&[0, 0xab, 0x7f]), "00ab7f");
        assert_eq!(from_hex::<3>("00AB7f"), Some([0, 0xab, 0x7f]));
        assert_eq!(from_hex::<3>("00ab7"), None);
        assert_eq!(from_hex::<2>("0g00"), None);
    }
}
