//! The names pages show for user ids: "Maria <maria@example.com>".

use super::{ConsoleUser, Failure};
use crate::app::{self, Services};
use crate::store::DbError;
use crate::store::users::UserRow;

/// The account's users' names, for pages that show who (all of them for
/// user administrators, else only the user).
pub(crate) struct Names {
    by_id: std::collections::HashMap<String, String>,
    /// (id, name) by name, for choosing one.
    pub sorted: Vec<(String, String)>,
}

impl Names {
    /// The name of user `id` (the id itself for a user not shown).
    pub fn of<'a>(&'a self, id: &'a str) -> &'a str {
        self.by_id.get(id).map_or(id, String::as_str)
    }

    /// The names of `users`.
    pub(super) fn from_users(users: Vec<UserRow>) -> Self {
        let mut sorted: Vec<(String, String)> =
            users.into_iter().map(|u| (u.id.clone(), name_of(&u))).collect();
        sorted.sort_by_cached_key(|(_, name)| name.to_lowercase());
        Names { by_id: sorted.iter().cloned().collect(), sorted }
    }

    /// Every user of the account: for pages whose data already name them
    /// all (the whole activity stream), and for choosing whose activities
    /// to erase.
    pub async fn all(state: &Services, account_id: &str) -> Result<Self, Failure> {
        Ok(Self::from_users(app::names::of_account(state, account_id, None).await?))
    }

    /// Adds the users `ids` of the account (the owner and editors of a page
    /// the user sees), so that the page shows their names.
    pub async fn with(mut self, state: &Services, account_id: &str, ids: &[&str]) -> Result<Self, Failure> {
        let missing: Vec<&str> = ids.iter().copied().filter(|id| !self.by_id.contains_key(*id)).collect();
        if missing.is_empty() {
            return Ok(self);
        }
        for user in app::names::of_account(state, account_id, Some(&missing)).await? {
            let name = name_of(&user);
            self.by_id.insert(user.id, name);
        }
        Ok(self)
    }
}

fn name_of(user: &UserRow) -> String {
    format!("{} <{}>", user.name, user.email)
}

/// The names of the users `user` may see.
pub(crate) async fn user_names(state: &Services, user: &ConsoleUser) -> Result<Names, DbError> {
    Ok(Names::from_users(crate::app::users::list(state, &user.principal(), None).await?))
}
