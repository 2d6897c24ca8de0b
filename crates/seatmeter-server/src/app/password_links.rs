//! One-time links to set a password: the first administrator's (printed by
//! `seatmeter account create`), one an administrator makes for a user, and
//! the one a user whose password expired is sent to. A link is shown once
//! and never stored (only its token's SHA-256 is), lasts
//! [`SETUP_LINK_DAYS`], and is used up by setting a password.

use seatmeter_core::people::{Email, Role};
use serde_json::json;

use super::{Capability, Error, Principal, Result, Services, passwords};
use crate::secrets::{hex, random_bytes, sha256_hex};
use crate::store::password_links::LinkRow;
use crate::store::{self, Db, DbError, Executor, Tx};

/// How long a one-time password link lasts.
pub const SETUP_LINK_DAYS: i64 = 7;

/// Why a link cannot be used, and what to do.
pub const LINK_GONE: &str = "This link has been used or has expired. Ask for a new one \
                             (`seatmeter account password-link --account … --email …`).";

/// Makes a one-time link token to set `user_id`'s password, bound to their
/// rights epoch `rights_epoch` (it stops working if their rights grow);
/// returns the token.
pub async fn new_setup_token(
    ex: impl Executor,
    account_id: &str,
    user_id: &str,
    rights_epoch: i64,
    now: i64,
) -> Result<String, DbError> {
    let token = hex(&random_bytes::<32>());
    let expires = now + SETUP_LINK_DAYS * 86_400_000;
    let token_hash = sha256_hex(token.as_bytes());
    store::password_links::insert(ex, &token_hash, account_id, user_id, rights_epoch, now, expires).await?;
    Ok(token)
}

/// A new one-time link token for the user of `account_id` with address
/// `email` (`None`: no such enabled user), made by `actor` (`None`: the
/// command line); the activity stream records it.
pub async fn create(
    db: &Db,
    account_id: &str,
    email: &Email,
    actor: Option<&str>,
    now: i64,
) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    let Some(user) = store::password_links::enabled_user(&mut tx, account_id, &email.key()).await? else {
        return Ok(None);
    };
    let token = record_new(&mut tx, account_id, &user.id, user.rights_epoch, actor, now).await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// A new link token for user `user_id`, bound to `rights_epoch`, and its
/// record in the activity stream.
async fn record_new(
    tx: &mut Tx,
    account_id: &str,
    user_id: &str,
    rights_epoch: i64,
    actor: Option<&str>,
    now: i64,
) -> Result<String> {
    let token = new_setup_token(&mut *tx, account_id, user_id, rights_epoch, now).await?;
    let details = json!({"expires_in_days": SETUP_LINK_DAYS});
    store::activities::record(tx, account_id, now, actor, "user.password_link", ("user", user_id), details)
        .await?;
    Ok(token)
}

/// A one-time link for user `user_id` to set a password, made by an
/// administrator of users & licenses (`None`: the user is disabled). Only
/// an administrator of every area makes one for an administrator, as only
/// they may change an administrator: whoever holds the link sets the
/// password. The link is bound to the rights the user has as it is made
/// (read with their role, so that the two agree): if they grow, it stops
/// working, and its maker cannot take over the greater rights.
pub async fn make_for(
    services: &Services,
    principal: &Principal,
    user_id: &str,
    now: i64,
) -> Result<Option<String>> {
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden("password links need an administrator of users & licenses"));
    }
    let mut tx = services.db.begin().await?;
    let user = store::users::get(&mut tx, &principal.account_id, user_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("no user {user_id:?} in your account")))?;
    if user.rights().role == Role::Administrator && !principal.may(Capability::ManageAccount) {
        return Err(Error::forbidden(
            "a password link for an administrator is made by an administrator of every area",
        ));
    }
    if user.disabled_ms.is_some() {
        return Ok(None);
    }
    let actor = Some(principal.user_id.as_str());
    let token = record_new(&mut tx, &principal.account_id, &user.id, user.rights_epoch, actor, now).await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// The link of `token`, if it can still be used at `now`.
pub async fn find(services: &Services, token: &str, now: i64) -> Result<Option<LinkRow>> {
    Ok(store::password_links::find(&services.db, &sha256_hex(token.as_bytes()), now).await?)
}

/// A password to set from a link (no `Debug`: it holds secrets).
pub struct NewPassword<'a> {
    /// The link's token.
    pub token: &'a str,
    /// The password.
    pub password: &'a str,
    /// The password again.
    pub confirm: &'a str,
}

/// The reason given when the new password is the one in use.
pub const PASSWORD_IN_USE: &str = "password_in_use";

/// Sets a password from a link, uses the link up and ends the user's
/// sessions (signed in with the old password). Refusals: the link is gone
/// ([`Error::NotFound`]), the password is not acceptable
/// ([`Error::Invalid`]), or it is the one in use ([`Error::Refused`] with
/// [`PASSWORD_IN_USE`]: the link is used up all the same, so that a link
/// tests one guess of the current password, not many).
pub async fn set_password(services: &Services, new: NewPassword<'_>, now: i64) -> Result<()> {
    let token_hash = sha256_hex(new.token.as_bytes());
    let Some(link) = store::password_links::find(&services.db, &token_hash, now).await? else {
        return Err(Error::not_found(LINK_GONE));
    };
    if new.password != new.confirm {
        return Err(Error::invalid("the two passwords differ", "confirm"));
    }
    if let Some(refusal) = passwords::refusal(new.password, link.password_min_length) {
        return Err(Error::invalid(refusal, "password"));
    }
    if let Some(old) = link.password_hash.clone()
        && passwords::verify(&services.hashing, new.password.to_string(), old).await?
    {
        store::password_links::use_up(&services.db, &token_hash, now).await?;
        return Err(Error::Refused {
            reason: PASSWORD_IN_USE,
            message: "that is the password you have now: sign in again and choose a different one".into(),
        });
    }
    let hash = passwords::hash(&services.hashing, new.password.to_string())
        .await?
        .map_err(|message| Error::Failed { message })?;
    let mut tx = services.db.begin().await?;
    if !store::password_links::use_up(&mut tx, &token_hash, now).await? {
        return Err(Error::not_found(LINK_GONE));
    }
    store::passwords::set(&mut tx, &link.account_id, &link.user_id, &hash, now).await?;
    store::activities::record(
        &mut tx,
        &link.account_id,
        now,
        Some(&link.user_id),
        "user.password_set",
        ("user", &link.user_id),
        json!({}),
    )
    .await?;
    // A new password ends the sessions signed in with the old one.
    store::sessions::end_of_user(&mut tx, &link.account_id, &link.user_id, now).await?;
    tx.commit().await?;
    Ok(())
}
