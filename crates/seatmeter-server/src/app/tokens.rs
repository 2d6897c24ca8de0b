//! API tokens: a user issues tokens for themself, sees when each was last
//! used, and revokes them; security administrators see and revoke every
//! token of the account. A token is shown once, when issued; only its
//! SHA-256 is stored. Authentication finds a token's owner.

use seatmeter_core::access::Rights;
use serde_json::json;

use super::{Capability, Credential, Error, Principal, Result, Services};
use crate::secrets::{new_id, new_token, token_hash};
use crate::store::tokens::{NewToken, TokenRow};
use crate::store::{self, DbError};

/// How precisely a token's last use is kept: a request writes it only when
/// the stored time is older than this, so that busy tokens (a platform
/// asking for admission thousands of times a second) cost no write each.
pub const LAST_USED_PRECISION_MS: i64 = 60_000;

/// A token just issued: shown once.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token's id (to list and revoke it).
    pub id: String,
    /// The token itself; only its hash is stored.
    pub token: String,
}

/// The user behind `token`, if it is a valid, unrevoked token of an enabled
/// user; records when it was last used (to the minute).
pub async fn authenticate(services: &Services, token: &str, now: i64) -> Result<Option<Principal>, DbError> {
    let Some(owner) = store::tokens::owner(&services.db, &token_hash(token)).await? else {
        return Ok(None);
    };
    if owner.last_used_ms.is_none_or(|last| now - last >= LAST_USED_PRECISION_MS) {
        store::tokens::touch(&services.db, &owner.token_id, now).await?;
    }
    Ok(Some(Principal {
        account_id: owner.account_id.into(),
        user_id: owner.user_id.into(),
        rights: Rights::from_stored(&owner.role, &owner.areas),
        credential: Credential::Token(owner.token_id),
    }))
}

/// Issues a new API token named `name` for the caller.
pub async fn issue(services: &Services, principal: &Principal, name: &str, now: i64) -> Result<IssuedToken> {
    let name = super::text::checked(name, 100)
        .ok_or_else(|| Error::invalid(format!("the name must be {}", super::text::rule(100)), "name"))?;
    issue_for(services, &principal.account_id, &principal.user_id, name, now).await
}

/// Issues a new API token for user `user_id` of `account_id` (the CLI and
/// tests issue tokens for a user without a caller).
pub async fn issue_for(
    services: &Services,
    account_id: &str,
    user_id: &str,
    name: &str,
    now: i64,
) -> Result<IssuedToken> {
    let mut tx = services.db.begin().await?;
    let Some(user) = store::users::get(&mut tx, account_id, user_id).await? else {
        return Err(Error::not_found(format!("no user {user_id:?} in your account")));
    };
    let issued = IssuedToken { id: new_id("tok"), token: new_token() };
    let hash = token_hash(&issued.token);
    // Bound to the rights the user has now: if they grow, it stops working.
    let token = NewToken {
        id: &issued.id,
        account_id,
        user_id,
        name,
        token_hash: &hash,
        rights_epoch: user.rights_epoch,
    };
    store::tokens::insert(&mut tx, &token, now).await?;
    store::activities::record(
        &mut tx,
        account_id,
        now,
        Some(user_id),
        "token.created",
        ("api_token", &issued.id),
        json!({"name": name}),
    )
    .await?;
    tx.commit().await?;
    Ok(issued)
}

/// The caller's tokens (all the account's for security administrators).
pub async fn list(services: &Services, principal: &Principal) -> Result<Vec<TokenRow>> {
    let only = (!principal.may(Capability::ManageSecurity)).then_some(principal.user_id.as_str());
    Ok(store::tokens::list(&services.db, &principal.account_id, only).await?)
}

/// Revokes token `id`: the caller's own, or any of the account's for
/// security administrators. It stops working on every server at once.
pub async fn revoke(services: &Services, principal: &Principal, id: &str, now: i64) -> Result<()> {
    let only = (!principal.may(Capability::ManageSecurity)).then_some(principal.user_id.as_str());
    let mut tx = services.db.begin().await?;
    if !store::tokens::revoke(&mut tx, &principal.account_id, id, only, now).await? {
        return Err(Error::not_found(format!("no active token {id:?} of yours")));
    }
    crate::app::record_by(&mut tx, principal, now, "token.revoked", ("api_token", id), json!({})).await?;
    store::changes::note(&mut tx, [super::recent::ALL], now).await?;
    tx.commit().await?;
    services.kept.forget(super::recent::ALL);
    Ok(())
}
