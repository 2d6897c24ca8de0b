//! Console sessions: signing in with an e-mail address and a password,
//! finding the session of a request, and ending sessions.
//!
//! A session is a random token the browser keeps in a cookie; only its
//! SHA-256 is stored. It ends after the account's idle timeout, after its
//! longest session time in any case, when its user signs out (here or
//! everywhere), sets a new password or is disabled, or when a security
//! administrator signs everyone else out. Failed sign-ins are throttled as
//! [`seatmeter_core::sign_in`] decides.

use seatmeter_core::people::Email;
use seatmeter_core::sign_in::{self, Policy};
use serde_json::json;

use super::{Capability, Error, Principal, Result, Services, password_links, passwords};
use crate::secrets::sha256_hex;
use crate::store::passwords::CandidateRow;
use crate::store::sessions::SessionRow;
use crate::store::{self, DbError};

/// The reason given when the address or the password is wrong.
pub const WRONG_PASSWORD: &str = "wrong_password";
/// The reason given when failed sign-ins hold the user back for now.
pub const THROTTLED: &str = "throttled";
const WRONG: &str = "the e-mail address or the password is wrong";

/// What signing in led to (no `Debug`: it holds secrets).
pub enum SignedIn {
    /// A new session: its token, for the cookie (only its hash is stored).
    Session {
        /// The session's token.
        token: String,
    },
    /// The password was right but has expired: it must be replaced first,
    /// through this one-time link token.
    PasswordExpired {
        /// The link's token.
        link_token: String,
    },
}

/// Signs in with `email` and `password`. Refusals: not an address
/// ([`Error::Invalid`]), too many failed sign-ins ([`Error::Refused`] with
/// [`THROTTLED`]), a wrong address or password ([`Error::Refused`] with
/// [`WRONG_PASSWORD`], the same whichever was wrong, and as slow).
pub async fn sign_in(services: &Services, email: &str, password: &str, now: i64) -> Result<SignedIn> {
    let Ok(email) = Email::parse(email) else {
        return Err(Error::invalid("enter an e-mail address", "email"));
    };
    let candidates = store::passwords::candidates(&services.db, &email.key()).await?;
    if candidates.is_empty() {
        // As slow as a real check, so the answer's time tells nothing.
        let _ = passwords::verify(password.to_string(), passwords::decoy().await.to_string()).await;
        return Err(wrong());
    }
    for user in &candidates {
        if let Some(reason) = throttled(services, user, now).await? {
            return Err(Error::Refused { reason: THROTTLED, message: reason });
        }
    }
    let Some(user) = verify(services, candidates, password, now).await? else { return Err(wrong()) };
    store::sign_ins::clear_failures(&services.db, &user.account_id, &user.id).await?;
    // An expired password signs in to nothing: it must be replaced first.
    let expired = user
        .password_max_age_days
        .is_some_and(|days| now - user.password_changed_ms.unwrap_or(0) > days * 86_400_000);
    if expired {
        let link_token =
            password_links::new_setup_token(&services.db, &user.account_id, &user.id, now).await?;
        return Ok(SignedIn::PasswordExpired { link_token });
    }
    Ok(SignedIn::Session { token: open(services, &user, now).await? })
}

fn wrong() -> Error {
    Error::Refused { reason: WRONG_PASSWORD, message: WRONG.into() }
}

/// Why `user` may not try to sign in now, if so.
async fn throttled(services: &Services, user: &CandidateRow, now: i64) -> Result<Option<String>, DbError> {
    let policy = Policy::new(user.lockout_threshold, user.lockout_minutes);
    let failures =
        store::sign_ins::failures(&services.db, &user.account_id, &user.id, policy.counted_after(now))
            .await?;
    Ok(sign_in::decide(&policy, &failures, now).refusal(now))
}

/// The first candidate whose password is `password`; a failed sign-in is
/// recorded for each one tried before.
async fn verify(
    services: &Services,
    candidates: Vec<CandidateRow>,
    password: &str,
    now: i64,
) -> Result<Option<CandidateRow>, DbError> {
    for user in candidates {
        let stored = user.password_hash.clone().unwrap_or_default();
        if passwords::verify(password.to_string(), stored).await {
            return Ok(Some(user));
        }
        store::sign_ins::record_failure(&services.db, &user.account_id, &user.id, now).await?;
    }
    Ok(None)
}

/// Opens a session of `user`; its token.
async fn open(services: &Services, user: &CandidateRow, now: i64) -> Result<String> {
    let token = crate::secrets::new_secret();
    let mut tx = services.db.begin().await?;
    store::sessions::insert(
        &mut tx,
        &sha256_hex(token.as_bytes()),
        &user.account_id,
        &user.id,
        &crate::secrets::new_secret(),
        now,
    )
    .await?;
    store::activities::record(
        &mut tx,
        &user.account_id,
        now,
        Some(&user.id),
        "console.signed_in",
        ("user", &user.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The session of `token` (`None`: there is none, or it has ended: a
/// session past its idle timeout or its longest time ends now). Records
/// when it was used, to the minute, and takes its message (shown once).
pub async fn session(services: &Services, token: &str, now: i64) -> Result<Option<SessionRow>> {
    let Some(session) = store::sessions::find(&services.db, &sha256_hex(token.as_bytes())).await? else {
        return Ok(None);
    };
    let idle = now - session.last_seen_ms > session.session_idle_minutes * 60_000;
    let old = now - session.created_ms > session.session_max_hours * 3_600_000;
    if idle || old {
        store::sessions::end(&services.db, &session.token_hash, now).await?;
        return Ok(None);
    }
    // The last request's time, to the minute (a write per minute, not per request).
    if now - session.last_seen_ms >= 60_000 {
        store::sessions::touch(&services.db, &session.token_hash, now).await?;
    }
    // The message is shown once: this one, not one a form stored since.
    if let Some(flash) = &session.flash {
        store::sessions::clear_flash(&services.db, &session.token_hash, flash).await?;
    }
    Ok(Some(session))
}

/// Shows `message` once, on the next page the session of `token_hash` loads.
pub async fn set_flash(services: &Services, token_hash: &str, message: &str) -> Result<()> {
    Ok(store::sessions::set_flash(&services.db, token_hash, message).await?)
}

/// Ends the session of `token_hash` (signing out).
pub async fn sign_out(services: &Services, token_hash: &str, now: i64) -> Result<()> {
    Ok(store::sessions::end(&services.db, token_hash, now).await?)
}

/// Ends every session of the caller, on every browser.
pub async fn sign_out_everywhere(services: &Services, principal: &Principal, now: i64) -> Result<()> {
    store::sessions::end_of_user(&services.db, &principal.account_id, &principal.user_id, now).await?;
    Ok(())
}

/// Ends every console session of the caller's account but theirs, of
/// `kept_token_hash` (security administrators, after a suspected
/// compromise); how many ended.
pub async fn sign_out_others(
    services: &Services,
    principal: &Principal,
    kept_token_hash: &str,
    now: i64,
) -> Result<u64> {
    if !principal.may(Capability::ManageSecurity) {
        return Err(Error::forbidden("signing everyone out needs a security administrator"));
    }
    Ok(store::sessions::end_all_but(&services.db, &principal.account_id, kept_token_hash, now).await?)
}
