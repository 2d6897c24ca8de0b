//! Synchronises every registered PAK that is due with the license authority.

use crate::app::{Error, Services};

/// Runs the synchronisations due at `now`; how many ran.
pub async fn step(services: &Services, now: i64) -> Result<usize, Error> {
    crate::app::compliance::sync::run_due(services, now).await
}
