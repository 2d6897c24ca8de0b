//! Answers kept in memory, for the hottest reads: who a token belongs to,
//! and what an admission check needs to know.
//!
//! A platform asks "may this host start this meeting?" thousands of times a
//! second; reading the token, the meeting, the host and the account from
//! the database each time would make the database the limit. So each
//! server keeps what it read, by the user or host it depends on, and
//! forgets it when that changes:
//! - at once, when the change is this server's own;
//! - within about 100 ms, when another server on the same database made
//!   it: every change also writes a row of `cache_changes` in its own
//!   transaction ([`crate::store::changes::note`]), and each server reads
//!   the new rows every 100 ms ([`follow`]);
//! - and in any case after [`KEEP_FOR`], as a safety net.
//!
//! Decisions that must be exact never read from here: starting a meeting
//! locks and reads the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Principal;
use super::admission::AdmissionInputs;
use crate::store::{self, Db, DbError};

/// How long an answer is kept at most, however quiet the database.
pub const KEEP_FOR: Duration = Duration::from_secs(300);
/// The group that stands for everything.
pub const ALL: &str = "*";

/// Everything a server keeps.
#[derive(Clone, Debug)]
pub struct Kept {
    /// Who a token belongs to, by token hash; grouped by user.
    pub tokens: Arc<Recent<String, Principal>>,
    /// What admission checks read, by account and meeting; grouped by host.
    pub admissions: Arc<Recent<(String, String), Arc<AdmissionInputs>>>,
}

impl Default for Kept {
    fn default() -> Self {
        Self {
            tokens: Arc::new(Recent::new(KEEP_FOR, 100_000)),
            admissions: Arc::new(Recent::new(KEEP_FOR, 100_000)),
        }
    }
}

impl Kept {
    /// Forgets what depends on `group` (a user or host id), or everything for [`ALL`].
    pub fn forget(&self, group: &str) {
        if group == ALL {
            self.tokens.forget_all();
            self.admissions.forget_all();
        } else {
            self.tokens.forget_group(group);
            self.admissions.forget_group(group);
        }
    }
}

/// How far back each read of `cache_changes` looks: a change is seen even
/// if its transaction committed this long after it was written, or the
/// servers' clocks differ by as much.
const LOOK_BACK_MS: i64 = 5_000;

/// The version of each group a server has seen lately.
#[derive(Debug, Default)]
pub struct Follower {
    seen: HashMap<String, (i64, i64)>,
    /// When old change rows were last deleted.
    pub pruned_at: i64,
}

/// Reads the groups changed lately (by any server) and forgets what
/// depends on those changed since the last read; returns how many.
pub async fn follow(db: &Db, kept: &Kept, follower: &mut Follower, now_ms: i64) -> Result<usize, DbError> {
    let since = now_ms - LOOK_BACK_MS;
    let rows = store::changes::since(db, since).await?;
    let mut new = 0;
    for row in rows {
        if follower.seen.get(&row.grp).map(|(version, _)| *version) != Some(row.version) {
            kept.forget(&row.grp);
            follower.seen.insert(row.grp, (row.version, row.at_ms));
            new += 1;
        }
    }
    follower.seen.retain(|_, (_, at)| *at >= since - LOOK_BACK_MS);
    Ok(new)
}

/// How long a change row is kept.
const KEEP_CHANGES_MS: i64 = 3_600_000;

/// Once an hour, deletes the change rows older than an hour (every server
/// has read them long before).
pub async fn prune(db: &Db, follower: &mut Follower, now_ms: i64) -> Result<(), DbError> {
    if now_ms - follower.pruned_at > KEEP_CHANGES_MS {
        follower.pruned_at = now_ms;
        store::changes::prune(db, now_ms - KEEP_CHANGES_MS).await?;
    }
    Ok(())
}

/// Values by key, each kept for a moment, each in a group (the user, or
/// the host, it depends on) that can be forgotten as a whole.
#[derive(Debug)]
pub struct Recent<K, V> {
    state: Mutex<State<K, V>>,
    ttl: Duration,
    capacity: usize,
}

#[derive(Debug)]
struct State<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// When everything was last forgotten.
    all_forgotten: Instant,
    /// When each group was last forgotten.
    forgotten: HashMap<String, Instant>,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    group: String,
    /// When its loading began: a change to its group after that makes it stale.
    loaded: Instant,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// Keeps up to `capacity` values for `ttl` each.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let state =
            State { entries: HashMap::new(), all_forgotten: Instant::now(), forgotten: HashMap::new() };
        Self { state: Mutex::new(state), ttl, capacity }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<K, V>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value kept for `key`, if it is fresh and neither it nor its group
    /// was forgotten since its loading began.
    pub fn get(&self, key: &K) -> Option<V> {
        let state = self.state();
        let entry = state.entries.get(key)?;
        let group_forgotten = state.forgotten.get(&entry.group).copied().unwrap_or(state.all_forgotten);
        (entry.loaded.elapsed() < self.ttl
            && entry.loaded > state.all_forgotten
            && entry.loaded > group_forgotten)
            .then(|| entry.value.clone())
    }

    /// Keeps `value` of `group`, whose loading began at `loaded` (take
    /// `Instant::now()` before reading what it is made of).
    pub fn put(&self, key: K, group: &str, value: V, loaded: Instant) {
        let mut state = self.state();
        if state.entries.len() >= self.capacity || state.forgotten.len() >= self.capacity {
            state.entries.clear();
            state.forgotten.clear();
            state.all_forgotten = Instant::now();
        }
        state.entries.insert(key, Entry { value, group: group.to_string(), loaded });
    }

    /// Forgets every value of `group` (after a change they depend on).
    pub fn forget_group(&self, group: &str) {
        let now = Instant::now();
        self.state().forgotten.insert(group.to_string(), now);
    }

    /// Forgets everything kept.
    pub fn forget_all(&self) {
        let mut state = self.state();
        state.entries.clear();
        state.forgotten.clear();
        state.all_forgotten = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn values_are_kept_until_forgotten_or_stale() {
        let recent = Recent::new(Duration::from_millis(50), 3);
        let loaded = Instant::now();
        recent.put("a", "alice", 1, loaded);
        recent.put("b", "bob", 2, loaded);
        assert_eq!((recent.get(&"a"), recent.get(&"b")), (Some(1), Some(2)));
        recent.forget_group("alice");
        assert_eq!((recent.get(&"a"), recent.get(&"b")), (None, Some(2)), "only alice's");
        let before_change = Instant::now();
        recent.forget_group("bob");
        recent.put("b", "bob", 3, before_change);
        assert_eq!(recent.get(&"b"), None, "loaded while bob changed: never kept");
        recent.put("b", "bob", 4, Instant::now());
        assert_eq!(recent.get(&"b"), Some(4));
        recent.forget_all();
        assert_eq!(recent.get(&"b"), None, "everything forgotten");
        recent.put("c", "carol", 5, Instant::now());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(recent.get(&"c"), None, "stale");
        for key in ["d", "e", "f", "g"] {
            recent.put(key, "dave", 6, Instant::now());
        }
        assert!(recent.state().entries.len() <= 3, "bounded");
    }
}
