//! Ends the meetings running past their account's maximum duration (see
//! [`crate::live::settle_overdue`]), so that live usage never counts a
//! meeting whose end event was lost.

use crate::app::{Error, Services};

/// Ends every overdue meeting of every account; how many.
pub async fn step(services: &Services, now: i64) -> Result<usize, Error> {
    let ended = crate::live::settle_overdue(&services.db, None, now).await?;
    Ok(usize::try_from(ended).unwrap_or(usize::MAX))
}
