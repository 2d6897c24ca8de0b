//! Who is who: the users of an account whose names pages show beside
//! what they did (the caller's rights decided which things are shown).

use super::{Result, Services};
use crate::store::{self, users::UserRow};

/// The users of `account_id` (only `ids`, if given).
pub async fn of_account(services: &Services, account_id: &str, ids: Option<&[&str]>) -> Result<Vec<UserRow>> {
    Ok(store::users::of_account(&services.db, account_id, ids).await?)
}
