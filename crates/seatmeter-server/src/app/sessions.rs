//! Console sessions: opening one (for [`super::sign_ins`]), finding the
//! session of a request, and ending sessions.
//!
//! A session is a random token the browser keeps in a cookie; only its
//! SHA-256 is stored. It ends after the account's idle timeout, after its
//! longest session time in any case, when its user signs out (here or
//! everywhere), sets a new password or is disabled, or when a security
//! administrator signs everyone else out. Their user's rights growing
//! ends them too.

use serde_json::json;

use super::{Capability, Error, Principal, Result, Services};
use crate::secrets::sha256_hex;
use crate::store;
use crate::store::passwords::CandidateRow;
use crate::store::sessions::SessionRow;

/// Opens a session of `user`; its token.
pub(super) async fn open(services: &Services, user: &CandidateRow, now: i64) -> Result<String> {
    let token = crate::secrets::new_secret();
    let mut tx = services.db.begin().await?;
    store::sessions::insert(
        &mut tx,
        &sha256_hex(token.as_bytes()),
        &user.account_id,
        &user.id,
        user.rights_epoch,
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
