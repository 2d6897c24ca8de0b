//! Throttling failed sign-ins: whether a user may try a password now,
//! decided from their recent failed sign-ins alone.
//!
//! Guessing a password must be slow, yet nobody may lock an administrator
//! out for good by guessing wrong on purpose. So failures are throttled per
//! user: from the third in a row each attempt must wait longer (1, 2, 4, …
//! seconds, at most a minute); while the account's threshold of failures
//! fall within its lockout time the user is locked; and never more than
//! the hourly cap of failures an hour are taken. Only the failures of the
//! lockout time count toward the delays and the lock, so a lock always
//! ends by itself, at the latest the lockout time after the last failure.
//!
//! The delays and the cap ([`Policy::delays`]) are the same for every
//! address, known or not, so that they tell nobody which addresses exist;
//! the account's lock ([`Policy::new`]) is its own. One source address has
//! throttles of its own ([`Policy::source`]), looser, since many people may
//! sign in from behind one address.

/// A minute, in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// An hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// Failed sign-ins taken per user and hour, at most.
pub const HOURLY_CAP: i64 = 100;
/// Failures in a row taken without waiting.
pub const FREE_FAILURES: i64 = 3;
/// The longest wait between two attempts.
pub const MAX_WAIT_MS: i64 = MINUTE_MS;
/// The failures that count toward the delays of [`Policy::delays`] are
/// those of this many last minutes.
pub const DELAY_WINDOW_MINUTES: i64 = 15;
/// Failed sign-ins taken per source address and hour, at most.
pub const SOURCE_HOURLY_CAP: i64 = 1_000;
/// Failures in a row from one source address taken without waiting.
pub const SOURCE_FREE_FAILURES: i64 = 30;

/// An account's lockout policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures in a row that lock the user.
    pub threshold: i64,
    /// How long a lock lasts, from the last failure, in minutes.
    pub lockout_minutes: i64,
    /// Failures taken per hour, at most.
    pub hourly_cap: i64,
    /// Failures in a row taken before the delays begin.
    pub free_failures: i64,
}

impl Policy {
    /// The policy of an account with this threshold and lockout time, and
    /// the usual hourly cap and delays.
    pub fn new(threshold: i64, lockout_minutes: i64) -> Self {
        Policy { threshold, lockout_minutes, hourly_cap: HOURLY_CAP, free_failures: FREE_FAILURES }
    }

    /// The delays and hourly cap of every address, known or not, with no
    /// lock: the same for all, so that they tell nothing.
    pub fn delays() -> Self {
        Policy::new(i64::MAX, DELAY_WINDOW_MINUTES)
    }

    /// The throttle of one source address: delays only after
    /// [`SOURCE_FREE_FAILURES`] in a row, and [`SOURCE_HOURLY_CAP`] an hour.
    pub fn source() -> Self {
        Policy {
            threshold: i64::MAX,
            lockout_minutes: DELAY_WINDOW_MINUTES,
            hourly_cap: SOURCE_HOURLY_CAP,
            free_failures: SOURCE_FREE_FAILURES,
        }
    }

    /// How many of the newest failures can change a decision of this policy.
    fn decisive(&self) -> usize {
        let lock = if self.threshold == i64::MAX { 0 } else { self.threshold };
        usize::try_from(Ord::max(lock, self.hourly_cap)).unwrap_or(usize::MAX)
    }

    /// How long a lock lasts, in milliseconds.
    pub fn lockout_ms(&self) -> i64 {
        self.lockout_minutes.saturating_mul(MINUTE_MS)
    }

    /// The failures that count at `now` are those after this instant: older
    /// ones need not be read.
    pub fn counted_after(&self, now: i64) -> i64 {
        Ord::min(now.saturating_sub(self.lockout_ms()), now.saturating_sub(HOUR_MS))
    }
}

/// The failures worth keeping at `now` of `failures` (oldest first), for
/// decisions of all of `policies`: those that count to any of them, at most
/// as many of the newest as can change one of their decisions.
pub fn retained(policies: &[Policy], failures: &[i64], now: i64) -> Vec<i64> {
    let after = policies.iter().map(|p| p.counted_after(now)).min().unwrap_or(now);
    let most = policies.iter().map(Policy::decisive).max().unwrap_or(0);
    let counted: Vec<i64> = failures.iter().copied().filter(|&at| at > after).collect();
    counted[counted.len().saturating_sub(most)..].to_vec()
}

/// Whether a user may try a password now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// They may.
    Allowed,
    /// Not before `until_ms` (a growing delay after failures in a row).
    Wait {
        /// When they may try again.
        until_ms: i64,
    },
    /// Locked (the threshold of failures fall within the lockout time).
    Locked {
        /// When the lock ends at the latest: the lockout time after the
        /// last failure (sooner if older failures leave the lockout time
        /// first).
        until_ms: i64,
    },
    /// The hourly cap of failures is reached.
    OverHourlyCap,
}

/// What `policy` allows at `now`, given the times of the user's failed
/// sign-ins since the last successful one (at least those after
/// [`Policy::counted_after`]).
pub fn decide(policy: &Policy, failures: &[i64], now: i64) -> Decision {
    let last_hour = failures.iter().filter(|&&at| at > now.saturating_sub(HOUR_MS)).count();
    if as_count(last_hour) >= policy.hourly_cap {
        return Decision::OverHourlyCap;
    }
    let window = now.saturating_sub(policy.lockout_ms());
    let recent = failures.iter().copied().filter(|&at| at > window);
    let count = as_count(recent.clone().count());
    let Some(last) = recent.max() else { return Decision::Allowed };
    if count >= policy.threshold {
        return Decision::Locked { until_ms: last.saturating_add(policy.lockout_ms()) };
    }
    if count >= policy.free_failures {
        let until_ms = last.saturating_add(wait_after_free(count, policy.free_failures));
        if now < until_ms {
            return Decision::Wait { until_ms };
        }
    }
    Decision::Allowed
}

/// The wait after `count` failures in a row (at least [`FREE_FAILURES`]):
/// one second after the third, doubling with each, at most a minute.
pub fn wait_after(count: i64) -> i64 {
    wait_after_free(count, FREE_FAILURES)
}

/// The wait after `count` failures in a row when `free` are taken without
/// waiting: one second after the last free one, doubling with each, at
/// most a minute.
pub fn wait_after_free(count: i64, free: i64) -> i64 {
    Ord::min(1_000i64 << count.saturating_sub(free).clamp(0, 6), MAX_WAIT_MS)
}

fn as_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Decision {
    /// Why the user may not sign in at `now`, for people; `None` when they may.
    pub fn refusal(&self, now: i64) -> Option<String> {
        match *self {
            Decision::Allowed => None,
            Decision::OverHourlyCap => {
                Some("too many failed sign-ins in the last hour: try again later".to_string())
            }
            Decision::Locked { until_ms } => {
                let minutes = (until_ms - now + (MINUTE_MS - 1)) / MINUTE_MS;
                Some(format!(
                    "too many failed sign-ins: this user is locked for {minutes} more minute{}",
                    if minutes == 1 { "" } else { "s" }
                ))
            }
            Decision::Wait { until_ms } => {
                let seconds = (until_ms - now + 999) / 1_000;
                Some(format!(
                    "wait {seconds} second{} before trying again",
                    if seconds == 1 { "" } else { "s" }
                ))
            }
        }
    }

    /// How strongly the user is held back: a refusal of a later kind is
    /// stronger (a wait, then a lock, then the hourly cap), and of the same
    /// kind the one that lasts longer.
    pub fn severity(&self) -> (u8, i64) {
        match *self {
            Decision::Allowed => (0, 0),
            Decision::Wait { until_ms } => (1, until_ms),
            Decision::Locked { until_ms } => (2, until_ms),
            Decision::OverHourlyCap => (3, 0),
        }
    }
}

#[cfg(test)]
mod tests;
