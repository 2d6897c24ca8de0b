//! Signing in with an e-mail address and a password.
//!
//! **Which account.** One address may belong to users of several accounts
//! (each account adds whom it likes). Signing in tries the password
//! against each of them, and opens a session of the one whose password it
//! is (the oldest such user, should two share a password too). Nothing one
//! account does changes what happens to another account's user: each user
//! is throttled by their own failures and locked by their own account's
//! policy alone.
//!
//! **Throttling that tells nothing.** Every address, known or not, gets
//! the same growing delays and hourly cap ([`Policy::delays`]): an address
//! no user has is throttled by its own failures just as a user is, so the
//! answers (content and time: one password hash either way) tell nobody
//! which addresses exist. While an account's lock lasts, its user answers
//! as any wrong password does, the right one included (the message says
//! that a lock may be why), so that the lock is no oracle of a right guess.
//! The source address of the attempts
//! has a throttle of its own ([`Policy::source`]).
//!
//! **Counting that parallel requests cannot bypass.** An attempt takes its
//! turn before any password is checked: in one transaction, with the rows
//! of its subjects locked, it reads their failures, decides, and records
//! itself as a failure; a right password withdraws that record afterwards.
//! Thirty wrong passwords sent at once are counted one after the other.

use futures_util::future::join_all;
use seatmeter_core::sign_in::{self, Decision, Policy};

use super::{Error, Result, Services, password_links, passwords, sessions};
use crate::secrets::sha256_hex;
use crate::store::passwords::CandidateRow;
use crate::store::{self, DbError};

/// The reason given when the address or the password is wrong.
pub const WRONG_PASSWORD: &str = "wrong_password";
/// The reason given when failed sign-ins hold the user back for now.
pub const THROTTLED: &str = "throttled";
const WRONG: &str = "the e-mail address or the password is wrong (after many failed sign-ins a user is also \
                     locked for a while: then try again later)";

/// Failures older than this count toward nothing (the longest lock an
/// account may set is a day).
pub const FORGET_AFTER_MS: i64 = 25 * sign_in::HOUR_MS;

/// What signing in led to (no `Debug`: it holds secrets).
pub enum SignedIn {
    /// A new session: its token, for the cookie (only its hash is stored).
    Session {
        /// The session's token.
        token: String,
    },
    /// The password was right but has expired: it must be replaced first,
    /// through this one-time link token.
    PasswordExpired {
        /// The link's token.
        link_token: String,
    },
}

/// One attempt to sign in (no `Debug`: it holds a password).
pub struct Attempt<'a> {
    /// The address given.
    pub email: &'a str,
    /// The password given.
    pub password: &'a str,
    /// Where the attempt comes from (the peer's IP address), if known.
    pub source: Option<String>,
}

/// Signs in. Refusals: not an address ([`Error::Invalid`]), too many failed
/// sign-ins ([`Error::Refused`] with [`THROTTLED`]), a wrong address or
/// password ([`Error::Refused`] with [`WRONG_PASSWORD`], the same whichever
/// was wrong, and as slow).
pub async fn sign_in(services: &Services, attempt: Attempt<'_>, now: i64) -> Result<SignedIn> {
    // Looked up as typed (without case): an address stored before today's
    // rule for new addresses still signs in.
    let key = attempt.email.trim().to_lowercase();
    if key.is_empty() || !key.contains('@') || key.len() > 320 {
        return Err(Error::invalid("enter an e-mail address", "email"));
    }
    let candidates = store::passwords::candidates(&services.db, &key).await?;
    let turn = take_turn(services, &key, &candidates, attempt.source.as_deref(), now).await?;
    let tried: Vec<&Tried> = turn.tried.iter().filter(|t| t.allowed).collect();
    if tried.is_empty() {
        let message = turn.refusal.unwrap_or_else(|| WRONG.to_string());
        return Err(Error::Refused { reason: THROTTLED, message });
    }
    let checked = if candidates.is_empty() {
        // As slow as a real check, so the answer's time tells nothing.
        let decoy = passwords::decoy().await.to_string();
        passwords::verify(&services.hashing, attempt.password.to_string(), decoy).await.map(|_| None)
    } else {
        verify(services, &candidates, &tried, attempt.password).await
    };
    let found = match checked {
        Ok(found) => found,
        Err(busy) => {
            // Not checked: not a failure either.
            let subjects = turn.tried.iter().filter(|t| t.allowed).map(|t| t.subject.as_str());
            withdraw(services, subjects.chain(turn.source.as_deref()), now).await?;
            return Err(busy.into());
        }
    };
    let Some(found) = found else { return Err(wrong()) };
    let user = &candidates[found.index];
    // While their account's lock lasts, even the right password answers as
    // a wrong one does (and counts as a failure): the answer must not tell
    // a guesser that the guess was right. The message says a lock may be why.
    let lock = Policy::new(user.lockout_threshold, user.lockout_minutes);
    if matches!(sign_in::decide(&lock, &found.failures, now), Decision::Locked { .. }) {
        return Err(wrong());
    }
    // A right password is no failure: withdraw what this attempt recorded
    // for this user and the source, and only for them (the others it was
    // tried against did not have it).
    withdraw(services, std::iter::once(found.subject.as_str()).chain(turn.source.as_deref()), now).await?;
    forget_failures(services, &found.subject, now).await?;
    // An expired password signs in to nothing: it must be replaced first.
    let expired = user
        .password_max_age_days
        .is_some_and(|days| now - user.password_changed_ms.unwrap_or(0) > days * 86_400_000);
    if expired {
        let link_token =
            password_links::new_setup_token(&services.db, &user.account_id, &user.id, user.rights_epoch, now)
                .await?;
        return Ok(SignedIn::PasswordExpired { link_token });
    }
    Ok(SignedIn::Session { token: sessions::open(services, user, now).await? })
}

fn wrong() -> Error {
    Error::Refused { reason: WRONG_PASSWORD, message: WRONG.into() }
}

/// A subject an attempt is counted against, and what was decided for it.
struct Tried {
    /// `user:<id>`, `address:<hash>` or `source:<ip>`.
    subject: String,
    /// The candidate it stands for (`None`: an address no user has, or the source).
    index: Option<usize>,
    /// Its failures before this attempt.
    failures: Vec<i64>,
    /// Whether this attempt was taken (and recorded as a failure).
    allowed: bool,
}

/// The turn an attempt took: what each subject decided, and the weakest
/// refusal when none allowed it.
struct Turn {
    tried: Vec<Tried>,
    source: Option<String>,
    refusal: Option<String>,
}

/// Counts the attempt against its subjects, atomically: with their rows
/// locked (in one order, so that two attempts never wait on each other),
/// decides for each, and records the attempt as a failure of each that
/// takes it. A throttled source refuses the attempt whoever it is for.
async fn take_turn(
    services: &Services,
    key: &str,
    candidates: &[CandidateRow],
    source: Option<&str>,
    now: i64,
) -> Result<Turn, DbError> {
    let mut subjects: Vec<(String, Option<usize>)> =
        candidates.iter().enumerate().map(|(i, c)| (format!("user:{}", c.id), Some(i))).collect();
    if candidates.is_empty() {
        subjects.push((format!("address:{}", sha256_hex(key.as_bytes())), None));
    }
    let source = source.map(|ip| format!("source:{ip}"));
    let mut order: Vec<&str> = subjects.iter().map(|s| s.0.as_str()).chain(source.as_deref()).collect();
    order.sort_unstable();
    let mut tx = services.db.begin().await?;
    let mut read = std::collections::HashMap::new();
    for subject in order {
        read.insert(subject.to_string(), store::sign_ins::lock(&mut tx, subject, now).await?);
    }
    let mut refusals: Vec<Decision> = Vec::new();
    if let Some(source) = &source {
        let decision = sign_in::decide(&Policy::source(), &read[source], now);
        if decision != Decision::Allowed {
            tx.commit().await?;
            let refusal = decision.refusal(now);
            return Ok(Turn { tried: Vec::new(), source: None, refusal });
        }
    }
    let mut tried = Vec::with_capacity(subjects.len());
    for (subject, index) in subjects {
        let failures = read.remove(&subject).unwrap_or_default();
        let decision = sign_in::decide(&Policy::delays(), &failures, now);
        let allowed = decision == Decision::Allowed;
        if allowed {
            let policies = policies_of(index.map(|i| &candidates[i]));
            let mut kept = sign_in::retained(&policies, &failures, now);
            kept.push(now);
            store::sign_ins::set(&mut tx, &subject, &kept).await?;
        } else {
            refusals.push(decision);
        }
        tried.push(Tried { subject, index, failures, allowed });
    }
    if let Some(source) = &source
        && tried.iter().any(|t| t.allowed)
    {
        let mut kept = sign_in::retained(&[Policy::source()], &read[source], now);
        kept.push(now);
        store::sign_ins::set(&mut tx, source, &kept).await?;
    }
    tx.commit().await?;
    let weakest = refusals.into_iter().min_by_key(Decision::severity);
    Ok(Turn { tried, source, refusal: weakest.and_then(|d| d.refusal(now)) })
}

/// The policies whose decisions a subject's failures must be kept for.
fn policies_of(user: Option<&CandidateRow>) -> Vec<Policy> {
    let mut policies = vec![Policy::delays()];
    if let Some(user) = user {
        policies.push(Policy::new(user.lockout_threshold, user.lockout_minutes));
    }
    policies
}

/// The candidate whose password it is, of those whose turn it was.
struct Found {
    index: usize,
    subject: String,
    failures: Vec<i64>,
}

/// Checks the password against every candidate tried, at once (one hash's
/// time however many accounts have the address, while cores are free); the
/// first that matches.
async fn verify(
    services: &Services,
    candidates: &[CandidateRow],
    tried: &[&Tried],
    password: &str,
) -> Result<Option<Found>, passwords::Busy> {
    let users: Vec<(&Tried, usize)> = tried.iter().filter_map(|t| Some((*t, t.index?))).collect();
    let checks = users.iter().map(|(_, i)| {
        let stored = candidates[*i].password_hash.clone().unwrap_or_default();
        passwords::verify(&services.hashing, password.to_string(), stored)
    });
    let mut matched = Vec::with_capacity(users.len());
    for result in join_all(checks).await {
        matched.push(result?);
    }
    let found = users.into_iter().zip(matched).find(|(_, ok)| *ok);
    Ok(found.map(|((t, index), _)| Found { index, subject: t.subject.clone(), failures: t.failures.clone() }))
}

/// Withdraws the failure this attempt recorded for `subjects`.
async fn withdraw<'a>(
    services: &Services,
    subjects: impl Iterator<Item = &'a str>,
    now: i64,
) -> Result<(), DbError> {
    let mut order: Vec<&str> = subjects.collect();
    order.sort_unstable();
    let mut tx = services.db.begin().await?;
    for subject in order {
        let mut failures = store::sign_ins::lock(&mut tx, subject, now).await?;
        if let Some(at) = failures.iter().rposition(|&at| at == now) {
            failures.remove(at);
            store::sign_ins::set(&mut tx, subject, &failures).await?;
        }
    }
    tx.commit().await
}

/// Forgets the failures of `subject` (its user signed in).
async fn forget_failures(services: &Services, subject: &str, now: i64) -> Result<(), DbError> {
    let mut tx = services.db.begin().await?;
    store::sign_ins::lock(&mut tx, subject, now).await?;
    store::sign_ins::set(&mut tx, subject, &[]).await?;
    tx.commit().await
}

/// Forgets the sign-in failures that no longer count (the sweep's work).
pub async fn prune(services: &Services, now: i64) -> Result<u64, DbError> {
    store::sign_ins::prune(&services.db, now - FORGET_AFTER_MS).await
}
