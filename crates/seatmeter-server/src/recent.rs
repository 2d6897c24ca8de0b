//! Answers kept in memory for a moment, for the hottest reads: who a token
//! belongs to, and what an admission check needs to know.
//!
//! A platform asks "may this host start this meeting?" thousands of times a
//! second, mostly about the same meetings; reading the token, the meeting,
//! the host and the account from the database each time would make the
//! database the limit. An answer is kept for at most [`Recent::ttl`] (a
//! second), and what depends on a user or host is forgotten at once when
//! this server changes it, so a server's own changes are seen immediately
//! and another server's within the time to live. Decisions that
//! must be exact never read from here: starting a meeting locks and reads
//! the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
