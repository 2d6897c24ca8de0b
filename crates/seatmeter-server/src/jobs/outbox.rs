//! Delivers the e-mail outbox over SMTP (when a mail server is set).

use crate::app::{Error, Services};

/// Sends the messages due at `now`; how many were sent.
pub async fn step(services: &Services, now: i64) -> Result<usize, Error> {
    match &services.licensing.mailer {
        Some(mailer) => crate::mail::deliver_due(services, mailer, now)
            .await
            .map_err(|e| Error::Failed { message: e.to_string() }),
        None => Ok(0),
    }
}
