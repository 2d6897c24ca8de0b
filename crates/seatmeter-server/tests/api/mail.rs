//! E-mail to administrators, delivered to a real SMTP listener on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use sea_query::{Expr, ExprTrait, Query};
use seatmeter_server::Clock;
use seatmeter_server::Settings;
use seatmeter_server::jobs;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::apps_with;

const DAY: i64 = 86_400_000;

/// A small SMTP server: it takes every message (after refusing the first
/// `refuse` attempts with a temporary error) and keeps what it received.
pub struct SmtpListener {
    pub url: String,
    pub received: Arc<Mutex<Vec<String>>>,
    pub refuse: Arc<AtomicUsize>,
    /// Recipients holding this text are refused for good (550).
    pub refuse_recipient: Arc<Mutex<Option<String>>>,
}

impl SmtpListener {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(AtomicUsize::new(0));
        let refuse_recipient = Arc::new(Mutex::new(None));
        let (kept, refusing, refusing_to) = (received.clone(), refuse.clone(), refuse_recipient.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                tokio::spawn(session(stream, kept.clone(), refusing.clone(), refusing_to.clone()));
            }
        });
        Self { url, received, refuse, refuse_recipient }
    }

    pub fn messages(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    received: Arc<Mutex<Vec<String>>>,
    refuse: Arc<AtomicUsize>,
    refuse_recipient: Arc<Mutex<Option<String>>>,
) {
    let mut envelope: Vec<String> = Vec::new();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 test.localhost ESMTP\r\n").await;
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 test.localhost\r\n",
            "MAIL" => {
                let left = refuse.load(Ordering::SeqCst);
                if left > 0 {
                    refuse.store(left - 1, Ordering::SeqCst);
                    b"451 4.3.0 try again later\r\n"
                } else {
                    b"250 2.1.0 OK\r\n"
                }
            }
            "RCPT" => {
                let refused = refuse_recipient.lock().unwrap().clone();
                if refused.is_some_and(|r| line.contains(&r)) {
                    b"550 5.1.1 no such mailbox\r\n"
                } else {
                    envelope.push(line.split(['<', '>']).nth(1).unwrap_or_default().to_string());
                    b"250 OK\r\n"
                }
            }
            "RSET" | "NOOP" => {
                envelope.clear();
                b"250 OK\r\n"
            }
            "DATA" => {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let mut message = format!("Envelope-To: {}\n", envelope.join(","));
                envelope.clear();
                while let Ok(Some(data)) = lines.next_line().await {
                    if data == "." {
                        break;
                    }
                    message.push_str(&data);
                    message.push('\n');
                }
                received.lock().unwrap().push(message);
                b"250 2.0.0 queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
}

#[tokio::test]
async fn notices_are_delivered_over_smtp_retried_after_a_failure_and_resent_with_the_same_message_id() {
    let smtp = SmtpListener::start().await;
    let settings = Settings { smtp_url: Some(smtp.url.clone()), ..Settings::default() };
    let start = "2025-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&settings, &clock, None).await {
        clock.set(start);
        let before = smtp.messages().len();
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        assert!(app.state.licensing.mailer.is_some(), "smtp_url sets a mail server");

        // Day 150 of the trial: the warning is queued in the audit's transaction.
        let t = start + 150 * DAY + 3 * 3_600_000;
        clock.set(t);
        assert_eq!(jobs::audit::step(&app.state, t).await.unwrap(), 1);
        let (_, list) = app.call(Method::GET, "/v1/notifications", &token, None).await;
        assert_eq!((list[0]["status"].as_str(), list[0]["attempts"].as_i64()), (Some("queued"), Some(0)));
        let message_id = list[0]["message_id"].as_str().unwrap().to_string();

        // The mail server refuses the first attempt: recorded, retried a minute later.
        smtp.refuse.store(1, Ordering::SeqCst);
        assert_eq!(jobs::outbox::step(&app.state, t).await.unwrap(), 0);
        let (_, list) = app.call(Method::GET, "/v1/notifications", &token, None).await;
        assert_eq!(list[0]["status"], "retrying", "{list}");
        assert!(list[0]["last_error"].as_str().unwrap().contains("try again later"), "{list}");
        assert_eq!(jobs::outbox::step(&app.state, t + 30_000).await.unwrap(), 0, "not before a minute");
        assert_eq!(jobs::outbox::step(&app.state, t + 60_000).await.unwrap(), 1);
        let (_, list) = app.call(Method::GET, "/v1/notifications", &token, None).await;
        assert_eq!(
            (list[0]["status"].as_str(), list[0]["attempts"].as_i64()),
            (Some("sent"), Some(2)),
            "{list}"
        );

        let messages = smtp.messages();
        assert_eq!(messages.len(), before + 1);
        let message = &messages[before];
        assert_eq!(header(message, "To"), Some("admin@example.com"), "{message}");
        assert_eq!(header(message, "Message-ID"), Some(message_id.as_str()), "{message}");
        assert!(
            header(message, "Subject").unwrap().starts_with("Seatmeter: your free trial ends on 2025-06-30")
        );
        assert!(message.contains("What to do:"), "{message}");
        assert!(message.contains("Disable date: 2025-06-30"), "{message}");

        // A server that stopped after sending and before marking: the
        // message is sent again, with the same Message-ID.
        app.state
            .db
            .execute(
                Query::update()
                    .table("outbox")
                    .value("sent_ms", Option::<i64>::None)
                    .value("next_attempt_ms", t)
                    .and_where(Expr::col("message_id").eq(message_id.as_str())),
            )
            .await
            .unwrap();
        assert_eq!(jobs::outbox::step(&app.state, t + 120_000).await.unwrap(), 1);
        let messages = smtp.messages();
        assert_eq!(messages.len(), before + 2);
        assert_eq!(header(&messages[before + 1], "Message-ID"), Some(message_id.as_str()));
        // Nothing is due any more.
        assert_eq!(jobs::outbox::step(&app.state, t + DAY).await.unwrap(), 0);
        app.finish().await;
    }
}

#[tokio::test]
async fn one_recipient_that_cannot_take_a_notice_never_holds_back_the_others() {
    let smtp = SmtpListener::start().await;
    let settings = Settings { smtp_url: Some(smtp.url.clone()), ..Settings::default() };
    let start = "2025-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let clock = Clock::manual(start);
    for app in apps_with(&settings, &clock, None).await {
        clock.set(start);
        let before = smtp.messages().len();
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        for email in ["refused@example.com", "broken@example.com"] {
            let body = serde_json::json!({"email": email, "name": email, "role": "administrator"});
            let (status, _) = app.call(Method::POST, "/v1/users", &token, Some(body)).await;
            assert_eq!(status, 201);
        }
        // An address stored before addresses were checked as they are now.
        app.state
            .db
            .execute(
                Query::update()
                    .table("users")
                    .value("email", "<b>x</b>@w.example")
                    .and_where(Expr::col("email").eq("broken@example.com")),
            )
            .await
            .unwrap();
        *smtp.refuse_recipient.lock().unwrap() = Some("refused@".into());

        let t = start + 150 * DAY + 3 * 3_600_000;
        clock.set(t);
        assert_eq!(jobs::audit::step(&app.state, t).await.unwrap(), 1);
        // The first attempt reaches the administrator the mail server takes.
        assert_eq!(jobs::outbox::step(&app.state, t).await.unwrap(), 0);
        let messages = smtp.messages();
        assert_eq!(messages.len(), before + 1, "{messages:?}");
        assert_eq!(header(&messages[before], "Envelope-To"), Some("admin@example.com"));
        let (_, list) = app.call(Method::GET, "/v1/notifications", &token, None).await;
        assert_eq!(list[0]["status"], "retrying", "{list}");
        assert!(list[0]["last_error"].as_str().unwrap().contains("refused@example.com"), "{list}");
        // The mail server takes it later: only the one who lacks it gets it.
        *smtp.refuse_recipient.lock().unwrap() = None;
        assert_eq!(jobs::outbox::step(&app.state, t + 60_000).await.unwrap(), 1);
        let messages = smtp.messages();
        assert_eq!(messages.len(), before + 2);
        assert_eq!(header(&messages[before + 1], "Envelope-To"), Some("refused@example.com"));
        app.finish().await;
    }
}
