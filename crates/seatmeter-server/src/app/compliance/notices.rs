//! The notices e-mailed to the administrators who handle licenses: their
//! texts, queueing them in the outbox in the transaction of the audit that
//! found them due (once per account and notice), and listing them.

use seatmeter_core::compliance::{Condition, Notice, NoticeKind};
use serde_json::json;

use super::date_text;
use crate::app::{Capability, Error, Principal, Result, Services};
use crate::secrets::new_id;
use crate::store::outbox::{NewMessage, OutboxRow};
use crate::store::{self, DbError, Tx};
use seatmeter_core::access::Rights;

/// Subject and body of a notice.
pub fn notice_text(account_name: &str, notice: &Notice) -> (String, String) {
    let disable = date_text(notice.disable_ms);
    let (subject, what, todo) = match notice.key.condition {
        Condition::Trial => trial_text(account_name, notice.key.kind, &disable),
        Condition::Overage => overage_text(account_name, notice, &disable),
        Condition::OutOfDate => out_of_date_text(account_name, notice.key.kind, &disable),
        Condition::ContactLost => contact_lost_text(account_name, notice.key.kind, &disable),
    };
    let body = format!(
        "{what}\n\nWhat to do: {todo}\n\nDisable date: {disable}\n\n-- \nSeatmeter, the license server of {account_name}\n"
    );
    (subject, body)
}

/// Subject, what happened and what to do.
type Text = (String, String, String);

fn trial_text(account_name: &str, kind: NoticeKind, disable: &str) -> Text {
    match kind {
        NoticeKind::Disabled => (
            "Seatmeter: your free trial has ended and the system is disabled".to_string(),
            format!("The 180-day free trial of {account_name} ended on {disable}. Nobody can schedule, host or attend meetings until licenses are installed."),
            "Buy licenses from your vendor, then enter the Product Authorization Key (PAK) on the licenses page or with POST /v1/licenses/paks. The system is enabled again at once.".to_string(),
        ),
        _ => (
            format!("Seatmeter: your free trial ends on {disable}"),
            format!("The 180-day free trial of {account_name} ends on {disable}. On that day the system will be disabled unless licenses are installed."),
            "Buy licenses from your vendor and enter the Product Authorization Key (PAK) on the licenses page before that date.".to_string(),
        ),
    }
}

fn overage_text(account_name: &str, notice: &Notice, disable: &str) -> Text {
    match notice.key.kind {
        NoticeKind::Disabled => (
            "Seatmeter: the system is disabled after six months of license overage".to_string(),
            format!("For six months more hosts used host licenses in {account_name} than are installed. Since {disable} nobody can schedule, host or attend meetings."),
            "Install more host licenses (a new or updated PAK, or a license file): the system is enabled again at once.".to_string(),
        ),
        _ => {
            let (hosts, installed) = notice.hosts.unwrap_or((0, 0));
            (
                format!("Seatmeter: license overage; the system will be disabled on {disable}"),
                format!("The 30-day license check of {account_name} found {hosts} host licenses used and {installed} installed. Unless enough host licenses are installed, the system will be disabled on {disable}."),
                "Buy more host licenses and install them, or reduce the number of hosts. The overage ends at the first 30-day check within your licenses, or as soon as enough licenses are installed.".to_string(),
            )
        }
    }
}

fn out_of_date_text(account_name: &str, kind: NoticeKind, disable: &str) -> Text {
    match kind {
        NoticeKind::Disabled => (
            "Seatmeter: the system is disabled: licenses out of date".to_string(),
            format!("The licenses of {account_name} do not cover this product version, and the six months' grace ended on {disable}. Nobody can schedule, host or attend meetings."),
            "Ask your vendor for updated licenses and install them: the system is enabled again at once.".to_string(),
        ),
        _ => (
            format!("Seatmeter: update your licenses by {disable}"),
            format!("The product was upgraded to a version that the licenses of {account_name} do not cover. Unless updated licenses are installed, the system will be disabled on {disable}."),
            "Ask your vendor for updated licenses for this version and install them (or synchronise, if the vendor updated your PAK).".to_string(),
        ),
    }
}

fn contact_lost_text(account_name: &str, kind: NoticeKind, disable: &str) -> Text {
    match kind {
        NoticeKind::Disabled => (
            "Seatmeter: the system is disabled: no contact with the license authority".to_string(),
            format!("The server of {account_name} has not synchronised with the license authority for six months; since {disable} nobody can schedule, host or attend meetings."),
            "Restore the connection to the license authority (authority_url): the next successful synchronisation enables the system again.".to_string(),
        ),
        _ => (
            format!("Seatmeter: the license authority cannot be reached; the system will be disabled on {disable}"),
            format!("The server of {account_name} has not synchronised with the license authority for at least two days. Unless it synchronises again, the system will be disabled on {disable}."),
            "Check the server's network access to the license authority (authority_url) and its logs; a successful synchronisation ends this condition.".to_string(),
        ),
    }
}

/// The addresses of the administrators who handle licenses (billing, or
/// unrestricted), enabled.
async fn license_admins(tx: &mut Tx, account_id: &str) -> Result<Vec<String>, DbError> {
    let admins = store::outbox::admins(tx, account_id).await?;
    Ok(admins
        .into_iter()
        .filter(|r| Rights::from_stored("administrator", &r.areas).may(Capability::InstallLicenses))
        .map(|r| r.email)
        .collect())
}

/// Queues the e-mail of `notice` (once per account and notice), with its
/// activity record, in `tx`.
pub(super) async fn queue(
    services: &Services,
    tx: &mut Tx,
    account_id: &str,
    notice: &Notice,
    now: i64,
) -> Result<(), DbError> {
    let name =
        store::accounts::get(&mut *tx, account_id).await?.map_or_else(|| account_id.to_string(), |a| a.name);
    let recipients = license_admins(tx, account_id).await?;
    let (subject, body) = notice_text(&name, notice);
    let id = new_id("msg");
    let domain = services
        .licensing
        .server_id
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-', "");
    let message_id = format!("<{id}@{}>", if domain.is_empty() { "seatmeter" } else { &domain });
    let key = notice.key.to_text();
    let message = NewMessage {
        id: &id,
        account_id,
        notice_key: &key,
        recipients: &recipients.join(","),
        subject: &subject,
        body: &body,
        message_id: &message_id,
        now_ms: now,
    };
    if !store::outbox::queue(&mut *tx, &message).await? {
        return Ok(());
    }
    store::activities::record(
        tx,
        account_id,
        now,
        None,
        "compliance.notice",
        ("notice", &key),
        json!({"subject": subject, "recipients": recipients.len()}),
    )
    .await
}

/// Where a message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Not tried yet.
    Queued,
    /// Tried, and to be tried again.
    Retrying,
    /// Sent.
    Sent,
    /// Given up.
    Failed,
}

impl Delivery {
    /// Where `message` is.
    pub fn of(message: &OutboxRow) -> Self {
        match (message.sent_ms, message.failed_ms, message.attempts) {
            (Some(_), _, _) => Delivery::Sent,
            (None, Some(_), _) => Delivery::Failed,
            (None, None, 0) => Delivery::Queued,
            _ => Delivery::Retrying,
        }
    }

    /// `queued`, `retrying`, `sent` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Retrying => "retrying",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
        }
    }

    /// Whether another attempt is to come.
    pub fn is_pending(self) -> bool {
        matches!(self, Delivery::Queued | Delivery::Retrying)
    }
}

/// A message of the outbox, and where it is in its delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The message.
    pub message: OutboxRow,
    /// Where it is.
    pub delivery: Delivery,
}

/// The e-mail notices of the caller's account, newest first (at most
/// 500): sent, queued, retrying after a failure, or given up
/// (administrators only).
pub async fn list(services: &Services, principal: &Principal) -> Result<Vec<Notification>> {
    if !principal.may(Capability::SeeCompliance) {
        return Err(Error::forbidden("notifications are shown to administrators"));
    }
    let rows = store::outbox::list(&services.db, &principal.account_id, 500).await?;
    Ok(rows.into_iter().map(|message| Notification { delivery: Delivery::of(&message), message }).collect())
}
