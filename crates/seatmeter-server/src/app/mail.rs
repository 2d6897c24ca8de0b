//! Delivery of the outbox: e-mail to administrators over SMTP.
//!
//! Notices are written to the `outbox` table in the transaction of the
//! change that causes them, so none is lost if the server stops. Every
//! minute each server takes the messages that are due, one at a time: it
//! first moves the message's next attempt five minutes on and counts the
//! attempt (a conditional update, so two servers never take the same
//! message at once), then sends it, then marks it sent. A server that stops
//! between sending and marking leaves the message to be sent again when
//! those five minutes are over: a message may arrive twice, with the same
//! Message-ID (so mail clients show it once), but is never lost. A failed
//! attempt is retried after 1, 2, 4, … minutes (at most 6 hours); after 12
//! attempts the message is marked failed, with the last error, for
//! `GET /v1/notifications` to show.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Result, Services};
use crate::settings::Settings;
use crate::store::{self, outbox::DueRow};

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 12;
/// How long a server has to send a message it took before another may.
const LEASE_MS: i64 = 5 * 60_000;

/// The SMTP relay and the From address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer({})", self.relay)
    }
}

impl Mailer {
    /// From the settings: `None` without `smtp_url`; an error says what is wrong.
    ///
    /// `smtp_url` is `smtp://host:port` (plain SMTP to a relay),
    /// `smtp://host:587?tls=required` (STARTTLS, refused without it),
    /// `smtp://host:25?tls=opportunistic` (STARTTLS when offered) or
    /// `smtps://host:465` (TLS from the start), with `user:password@` before
    /// the host for relays that want a login.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>, String> {
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| format!("mail_from {:?} is not an e-mail address: {e}", settings.mail_from))?;
        let Some(url) = &settings.smtp_url else { return Ok(None) };
        let shown = crate::settings::redact_url(url);
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(format!(
                "smtp_url {shown:?}: write smtp://host:port (or smtps://, or ?tls=required for STARTTLS)"
            ));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("smtp_url {shown:?}: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let relay = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let relay = relay.rsplit_once('@').map_or(relay, |(_, host)| host);
        let relay = relay.split(['?', '/']).next().unwrap_or(relay).to_string();
        Ok(Some(Self { transport, from, relay }))
    }

    /// Sends `row` to each of its recipients on its own envelope, so that
    /// one refused recipient does not hold back the others. What is left
    /// to send: the recipients whose delivery failed for now, each with
    /// the error (an address no mail server could accept is dropped, with
    /// a warning, and never retried).
    async fn send(&self, row: &DueRow) -> Result<Vec<String>, String> {
        let mut valid = Vec::new();
        for recipient in row.recipients.split(',').filter(|r| !r.is_empty()) {
            match recipient.parse::<Mailbox>() {
                Ok(mailbox) => valid.push(mailbox),
                Err(e) => {
                    tracing::warn!(message = %row.message_id, %recipient, "not an address mail can go to ({e}): skipped")
                }
            }
        }
        if valid.is_empty() {
            return Err("the account has no enabled administrator of billing to send to".into());
        }
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(row.subject.clone())
            .message_id(Some(row.message_id.clone()))
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        for to in valid.iter().cloned().collect::<Mailboxes>() {
            builder = builder.to(to);
        }
        let mut message =
            builder.body(row.body.clone()).map_err(|e| format!("cannot build the message: {e}"))?;
        message.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Seatmeter-Notice"),
            row.notice_key.clone(),
        ));
        let bytes = message.formatted();
        let mut left = Vec::new();
        for to in valid {
            let envelope =
                lettre::address::Envelope::new(Some(self.from.email.clone()), vec![to.email.clone()])
                    .map_err(|e| format!("cannot address the message: {e}"))?;
            if let Err(e) = self.transport.send_raw(&envelope, &bytes).await {
                left.push(format!("{}: {}: {e}", to.email, self.relay));
            }
        }
        Ok(left)
    }
}

/// The wait before attempt `attempts + 1`: 1, 2, 4, … minutes, at most 6 hours.
pub fn backoff_ms(attempts: i64) -> i64 {
    let minutes = 1i64 << attempts.clamp(0, 20);
    Ord::min(minutes * 60_000, 6 * 3_600_000)
}

/// Sends the messages due at `now` (when a mail server is set); returns
/// how many were sent.
pub async fn deliver_due(services: &Services, now: i64) -> Result<usize> {
    let Some(mailer) = &services.licensing.mailer else { return Ok(0) };
    let due = store::outbox::due(&services.db, now, 100).await?;
    let mut sent = 0;
    for row in due {
        // The time of this message's attempt: sending the ones before may have taken a while.
        let now = Ord::max(now, services.clock.now());
        if !store::outbox::take(&services.db, &row, now + LEASE_MS).await? {
            continue;
        }
        let outcome = mailer.send(&row).await;
        let now = Ord::max(now, services.clock.now());
        let attempts = row.attempts + 1;
        let outcome = match outcome {
            Ok(left) if left.is_empty() => Ok(()),
            Ok(left) => {
                // Only those who did not get it are tried again.
                let recipients: Vec<&str> = left.iter().filter_map(|l| l.split(':').next()).collect();
                store::outbox::keep_recipients(&services.db, &row.id, &recipients.join(",")).await?;
                Err(left.join("; "))
            }
            Err(error) => Err(error),
        };
        match &outcome {
            Ok(()) => {
                store::outbox::mark_sent(&services.db, &row.id, now).await?;
                sent += 1;
            }
            Err(error) if attempts >= MAX_ATTEMPTS => {
                tracing::error!(message = %row.message_id, %error, "giving up an e-mail after {attempts} attempts");
                store::outbox::mark_failed(&services.db, &row.id, now, error).await?;
            }
            Err(error) => {
                tracing::warn!(message = %row.message_id, %error, attempts, "e-mail not sent; will retry");
                store::outbox::retry_at(&services.db, &row.id, now + backoff_ms(row.attempts), error).await?;
            }
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_six_hours() {
        assert_eq!(backoff_ms(0), 60_000);
        assert_eq!(backoff_ms(1), 120_000);
        assert_eq!(backoff_ms(3), 480_000);
        assert_eq!(backoff_ms(11), 6 * 3_600_000);
        assert_eq!(backoff_ms(100), 6 * 3_600_000);
    }

    #[test]
    fn the_relay_comes_from_smtp_url() {
        let settings = |url: &str| Settings { smtp_url: Some(url.into()), ..Settings::default() };
        assert!(Mailer::from_settings(&Settings::default()).unwrap().is_none());
        let relay = |url: &str| Mailer::from_settings(&settings(url)).unwrap().unwrap().relay;
        assert_eq!(relay("smtp://127.0.0.1:2525"), "127.0.0.1:2525");
        assert_eq!(relay("smtps://user:secret@mail.example.com:465"), "mail.example.com:465");
        assert_eq!(relay("smtp://mail.example.com:587?tls=required"), "mail.example.com:587");
        assert!(
            Mailer::from_settings(&settings("mail.example.com")).unwrap_err().contains("smtp://host:port")
        );
        let error = Mailer::from_settings(&settings("smtp://u:secret@x:port")).err().unwrap_or_default();
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn every_address_seatmeter_accepts_is_one_mail_can_go_to() {
        // Many strings from an alphabet of the characters that matter, by a
        // fixed pseudo-random walk: whatever the rule takes, the mail library takes.
        let alphabet: Vec<char> = "aZ09.-_+@!#$%&'*/=?^`{|}~\"<>()[],;: \\\u{e9}\u{0}".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut accepted = 0;
        for _ in 0..200_000 {
            let length = 3 + (next() % 14) as usize;
            let mut chars: Vec<char> =
                (0..length).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            if !chars.contains(&'@') {
                chars.insert(length / 2, '@');
            }
            // Most real domains end in letters: give the walk a fair share of them.
            if next() % 2 == 0 {
                chars.extend(".example".chars());
            }
            let text: String = chars.into_iter().collect();
            if let Ok(email) = seatmeter_core::people::Email::parse(&text) {
                accepted += 1;
                assert!(email.as_str().parse::<lettre::Address>().is_ok(), "{text:?}");
                assert!(email.as_str().parse::<Mailbox>().is_ok(), "{text:?}");
            }
        }
        assert!(accepted > 100, "only {accepted} accepted: the walk tests too little");
    }
}
