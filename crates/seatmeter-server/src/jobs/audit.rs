//! The daily compliance audit of every account whose 02:00 has come.

use crate::app::compliance::audit;
use crate::app::{Error, Services};

/// Gives the accounts that have none their compliance row, then runs the
/// audits due at `now`; how many audits ran.
pub async fn step(services: &Services, now: i64) -> Result<usize, Error> {
    audit::open_missing(services, now).await?;
    audit::run_due(services, now).await
}
