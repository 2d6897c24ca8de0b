//! Passwords: the policy they must meet, and how they are stored.
//!
//! Stored as Argon2id PHC strings with the OWASP parameters (19 MiB of
//! memory, 2 passes, 1 lane: argon2's defaults). Hashing and verifying take
//! tens of milliseconds of CPU, so they run on the blocking thread pool,
//! never on the async threads.
//!
//! **Bounded.** At most one password is hashed per core at a time, each in
//! memory kept for it from one hash to the next (so that bursts of
//! sign-ins neither grow the process nor leave it grown: the allocator is
//! never asked for 19 MiB per attempt); at most [`MAX_WAITING`] more wait
//! their turn, and any beyond are refused at once ([`Busy`]), for the
//! client to try again shortly.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Sign-ins that may wait for a turn to hash, beyond those hashing.
pub const MAX_WAITING: usize = 64;

/// Too many passwords are being checked at once: try again shortly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server is checking many passwords at once: try again in a few seconds")
    }
}

/// The turns to hash, those waiting for one, and the memory kept for them
/// (one per server: [`super::Services::hashing`]).
pub struct Hashing {
    turns: Arc<tokio::sync::Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Hashing {
    /// `turns` hashes at once, and at most `max_waiting` waiting.
    pub fn new(turns: usize, max_waiting: usize) -> Self {
        Hashing {
            turns: Arc::new(tokio::sync::Semaphore::new(turns.max(1))),
            waiting: Arc::default(),
            max_waiting,
            memory: Arc::default(),
        }
    }

    /// One turn per core, and [`MAX_WAITING`] waiting.
    pub fn per_core() -> Self {
        Hashing::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get), MAX_WAITING)
    }

    /// Runs `work` on the blocking pool with a turn to hash and kept
    /// memory; [`Busy`] when too many wait already. The turn and the
    /// memory are given back when the work ends, even if the request was
    /// dropped meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let waiting = Waiting(self.waiting.clone());
        let turn = self.turns.clone().acquire_owned().await.map_err(|_| Busy)?;
        drop(waiting);
        let kept = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = kept.lock().map(|mut kept| kept.pop()).ok().flatten().unwrap_or_default();
            let result = work(&mut memory);
            if let Ok(mut kept) = kept.lock() {
                kept.push(memory);
            }
            drop(turn);
            result
        })
        .await
        .map_err(|_| Busy)
    }
}

/// Counts a waiter while it lives (also when its request is dropped).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

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

/// The Argon2id PHC string of `password` (on the blocking pool, in turn);
/// [`Busy`] when too many wait, the inner error if hashing failed.
pub async fn hash(hashing: &Hashing, password: String) -> Result<Result<String, String>, Busy> {
    hashing
        .run(move |_| {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
}

/// Whether `password` matches `stored` (on the blocking pool, in turn, in
/// kept memory). A stored value that is not an Argon2 PHC string matches
/// nothing.
pub async fn verify(hashing: &Hashing, password: String, stored: String) -> Result<bool, Busy> {
    hashing.run(move |memory| matches(&password, &stored, memory)).await
}

/// Whether `password` hashes to `stored`, computed in `memory` (grown if needed).
fn matches(password: &str, stored: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let version = parsed.version.map_or(Ok(Version::default()), Version::try_from);
    let (Ok(version), Ok(params)) = (version, Params::try_from(&parsed)) else { return false };
    // A stored hash asking for more memory than a policy's hash is refused, not obeyed.
    if params.m_cost() > 4 * Params::DEFAULT_M_COST || params.t_cost() > 16 || params.p_cost() > 16 {
        return false;
    }
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.as_bytes().len()];
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, &mut memory[..blocks])
        .is_err()
    {
        return false;
    }
    crate::secrets::same(&out, expected.as_bytes())
}

/// A hash of a random password, verified against when an e-mail address is
/// unknown, so that the time taken does not tell which addresses exist.
pub async fn decoy() -> &'static str {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            // Once per process, outside the turns: nobody waits for it twice.
            let random = crate::secrets::hex(&crate::secrets::random_bytes::<16>());
            let hashed = tokio::task::spawn_blocking(move || {
                Argon2::default().hash_password(random.as_bytes()).map(|h| h.to_string()).unwrap_or_default()
            });
            hashed.await.unwrap_or_default()
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
        let hashing = Hashing::per_core();
        let verify = |password: &str, stored: String| verify(&hashing, password.to_string(), stored);
        let stored = hash(&hashing, "correct horse battery".into()).await.unwrap().unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert_eq!(verify("correct horse battery", stored.clone()).await, Ok(true));
        assert_eq!(verify("correct horse batterY", stored).await, Ok(false));
        assert_eq!(verify("x", "not a hash".into()).await, Ok(false));
        // Other parameters, as the hash says, and never more memory than a few policies' worth.
        let params = Params::new(8 * 1024, 1, 1, Some(32)).unwrap();
        let light = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"light").unwrap();
        assert_eq!(verify("light", light.to_string()).await, Ok(true));
        let params = Params::new(Params::DEFAULT_M_COST * 8, 1, 1, Some(32)).unwrap();
        let heavy = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"heavy").unwrap();
        assert_eq!(verify("heavy", heavy.to_string()).await, Ok(false));
    }

    #[tokio::test]
    async fn beyond_the_turns_and_the_waiting_room_a_check_is_refused_at_once_and_memory_is_reused() {
        let hashing = Hashing::new(1, 2);
        let stored = hash(&hashing, "correct horse battery".into()).await.unwrap().unwrap();
        let check = || verify(&hashing, "correct horse battery".into(), stored.clone());
        let (a, b, c, d) = tokio::join!(check(), check(), check(), check());
        // One hashes, two wait, the fourth is refused without waiting.
        assert_eq!([a, b, c, d], [Ok(true), Ok(true), Ok(true), Err(Busy)]);
        // All done: the waiting room is empty again, and one memory was kept for all four.
        assert_eq!(hashing.waiting.load(Ordering::Acquire), 0);
        assert_eq!(hashing.memory.lock().unwrap().len(), 1);
        assert_eq!(check().await, Ok(true));
    }
}
