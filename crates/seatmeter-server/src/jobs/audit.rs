//! The daily compliance audit of every account whose 02:00 has come.

use crate::app::{Error, Services};

/// Runs the audits due at `now`; how many ran.
pub async fn step(services: &Services, now: i64) -> Result<usize, Error> {
    crate::compliance::run_due_audits(services, now)
        .await
        .map_err(|e| Error::Failed { message: e.to_string() })
}
