//! An account's security policies: the least length and the expiry of
//! passwords, how long sessions last, and when failed sign-ins lock a
//! user. Everyone reads them (the console shows them); only a security
//! administrator changes them, within ranges that keep the account usable.

use serde_json::json;

use super::{Capability, Error, Principal, Result, Services, passwords};
use crate::store::{self, policies::PolicyRow};

/// The caller's account's policies.
pub async fn policies(services: &Services, principal: &Principal) -> Result<PolicyRow> {
    store::policies::get(&services.db, &principal.account_id)
        .await?
        .ok_or_else(|| Error::not_found("the account no longer exists"))
}

/// New policies, as entered: each a whole number in its range (an empty
/// or zero expiry: passwords never expire).
#[derive(Debug, Default)]
pub struct PolicyInput {
    /// The least length of a new password.
    pub password_min_length: String,
    /// Passwords expire after this many days.
    pub password_max_age_days: String,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: String,
    /// A session ends after this many hours in any case.
    pub session_max_hours: String,
    /// Failed sign-ins in a row before a lock.
    pub lockout_threshold: String,
    /// How long a lock lasts, in minutes.
    pub lockout_minutes: String,
}

/// The ranges each policy may take: (field, label, least, most).
const RANGES: [(&str, &str, i64, i64); 6] = [
    (
        "password_min_length",
        "The minimum password length",
        passwords::MIN_POLICY_LENGTH,
        passwords::MAX_POLICY_LENGTH,
    ),
    ("password_max_age_days", "Password expiry", 1, 3650),
    ("session_idle_minutes", "The idle timeout", 5, 1440),
    ("session_max_hours", "The session lifetime", 1, 720),
    ("lockout_threshold", "The failed sign-ins before a lock", 3, 100),
    ("lockout_minutes", "The lock's length", 1, 1440),
];

fn policy_value(field: &str, text: &str) -> Result<i64> {
    let (_, label, least, most) =
        RANGES.iter().find(|r| r.0 == field).copied().unwrap_or((field, field, 0, 0));
    text.trim().parse::<i64>().ok().filter(|v| (least..=most).contains(v)).ok_or_else(|| {
        Error::invalid(
            format!("{label} must be a whole number from {least} to {most} (not {:?})", text.trim()),
            field,
        )
    })
}

impl PolicyInput {
    /// The policies entered, each checked against its range.
    fn parse(&self) -> Result<PolicyRow> {
        let expiry = match self.password_max_age_days.trim() {
            "" | "0" => None,
            text => Some(policy_value("password_max_age_days", text)?),
        };
        Ok(PolicyRow {
            password_min_length: policy_value("password_min_length", &self.password_min_length)?,
            password_max_age_days: expiry,
            session_idle_minutes: policy_value("session_idle_minutes", &self.session_idle_minutes)?,
            session_max_hours: policy_value("session_max_hours", &self.session_max_hours)?,
            lockout_threshold: policy_value("lockout_threshold", &self.lockout_threshold)?,
            lockout_minutes: policy_value("lockout_minutes", &self.lockout_minutes)?,
        })
    }
}

/// Saves the caller's account's policies (security administrators); they
/// apply from the next sign-in or request.
pub async fn save(
    services: &Services,
    principal: &Principal,
    input: &PolicyInput,
    now: i64,
) -> Result<PolicyRow> {
    if !principal.may(Capability::ManageSecurity) {
        return Err(Error::forbidden("security settings are changed by a security administrator"));
    }
    let policies = input.parse()?;
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    store::policies::set(&mut tx, account, &policies).await?;
    let details = json!({
        "password_max_age_days": policies.password_max_age_days,
        "password_min_length": policies.password_min_length,
        "session_idle_minutes": policies.session_idle_minutes,
        "session_max_hours": policies.session_max_hours,
        "lockout_threshold": policies.lockout_threshold,
        "lockout_minutes": policies.lockout_minutes,
    });
    store::activities::record(
        &mut tx,
        account,
        now,
        Some(&principal.user_id),
        "security.updated",
        ("account", account),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(policies)
}
