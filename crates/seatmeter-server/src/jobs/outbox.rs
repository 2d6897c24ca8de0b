//! Delivers the e-mail outbox over SMTP (when a mail server is set).

use crate::app::{Error, Services};

/// Sends the messages due at `now`; how many were sent.
pub async fn step(services: &Services, now: i64) -> Result<usize, Error> {
    crate::app::mail::deliver_due(services, now).await
}
