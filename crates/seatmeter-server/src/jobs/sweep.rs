//! Ends the meetings running past their account's maximum duration (see
//! [`crate::app::usage::settle_overdue`]), so that a lost `ended` event
//! neither blocks its host nor keeps its usage out, and the activity
//! stream says so. Forgets the failed sign-ins that no longer count, and
//! idempotency keys older than a day.

use crate::app::{Error, Services, idempotency, sign_ins, usage};

/// Ends every overdue meeting of every account; how many.
pub async fn step(services: &Services, now: i64) -> Result<usize, Error> {
    let ended = usage::settle_overdue(&services.db, None, now).await?;
    sign_ins::prune(services, now).await?;
    idempotency::prune(services, now).await?;
    Ok(usize::try_from(ended).unwrap_or(usize::MAX))
}
