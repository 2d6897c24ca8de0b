//! Users: the caller themself.

use super::{Error, Principal, Result, Services};
use crate::store::{self, users::UserRow};

/// The user the caller acts as.
pub async fn me(services: &Services, principal: &Principal) -> Result<UserRow> {
    store::users::get(&services.db, &principal.account_id, &principal.user_id)
        .await?
        .ok_or_else(|| Error::not_found("the user no longer exists"))
}
