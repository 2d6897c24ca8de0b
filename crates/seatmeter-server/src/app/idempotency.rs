//! Idempotency keys on every mutating request, as payment APIs take them:
//! a request sent with an `Idempotency-Key` is acted on once; a retry with
//! the same key, in the same account, within [`KEPT_MS`], gets the first
//! answer back instead of acting again, so a platform that retries after a
//! timeout never assigns or schedules twice. Another request under a key
//! already used is refused, as is a retry while the first is still being
//! answered. An answer that is a server failure (5xx) is not kept: the
//! retry acts.

use super::{Principal, Result, Services};
use crate::store;

/// How long a key's answer is kept.
pub const KEPT_MS: i64 = 24 * 3_600_000;
/// A key claimed but never answered (its server stopped) is free again
/// after this: longer than any request may take.
pub const ABANDONED_MS: i64 = 10 * 60_000;
/// The longest key accepted.
pub const MAX_KEY_LENGTH: usize = 255;

/// What to do with a request sent under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// It is the first: act, then keep the answer.
    Act,
    /// It was answered before: this answer, again.
    Replay {
        /// The status.
        status: u16,
        /// The content type.
        content_type: Option<String>,
        /// The body.
        body: String,
    },
    /// The first request under the key is still being answered.
    InProgress,
    /// The key was used for another request.
    Reused,
}

/// Whether `key` is one: 1 to [`MAX_KEY_LENGTH`] visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LENGTH).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Claims `key` for the request whose hash is `request_hash`.
pub async fn claim(
    services: &Services,
    principal: &Principal,
    key: &str,
    request_hash: &str,
    now: i64,
) -> Result<Claim> {
    let account = principal.account_id.as_str();
    let (stale, abandoned) = (now - KEPT_MS, now - ABANDONED_MS);
    if store::idempotency::claim(&services.db, account, key, request_hash, now, stale, abandoned).await? {
        return Ok(Claim::Act);
    }
    let Some(row) = store::idempotency::get(&services.db, account, key).await? else {
        // Pruned between the two reads: this request is the first again.
        let again =
            store::idempotency::claim(&services.db, account, key, request_hash, now, stale, abandoned);
        return Ok(if again.await? { Claim::Act } else { Claim::InProgress });
    };
    if row.request_hash != request_hash {
        return Ok(Claim::Reused);
    }
    Ok(match (row.status, row.body) {
        (Some(status), Some(body)) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(200),
            content_type: row.content_type,
            body,
        },
        _ => Claim::InProgress,
    })
}

/// Keeps the answer to the request that claimed `key` (a server failure
/// lets the key go instead, for the retry to act).
pub async fn answer(
    services: &Services,
    principal: &Principal,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    body: Option<&str>,
) -> Result<()> {
    let account = principal.account_id.as_str();
    match body {
        Some(body) if status < 500 => {
            store::idempotency::answer(&services.db, account, key, status, content_type, body).await?;
        }
        _ => store::idempotency::release(&services.db, account, key).await?,
    }
    Ok(())
}

/// Forgets the keys older than [`KEPT_MS`] (the sweep's work).
pub async fn prune(services: &Services, now: i64) -> Result<u64> {
    Ok(store::idempotency::prune(&services.db, now - KEPT_MS).await?)
}
