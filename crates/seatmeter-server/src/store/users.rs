//! The `users` table.

use sea_query::{Expr, ExprTrait, Query};
use seatmeter_core::people::Email;

use super::{DbError, Executor};

/// The columns of [`UserRow`].
pub const USER_COLUMNS: [&str; 9] =
    ["id", "account_id", "email", "name", "role", "areas", "disabled_ms", "concurrency_limit", "created_ms"];

/// A user of an account.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    /// Its id.
    pub id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// E-mail address as given.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `member` or `administrator`.
    pub role: String,
    /// Comma-separated admin areas (empty: all, for an administrator).
    pub areas: String,
    /// When it was disabled, if it is.
    pub disabled_ms: Option<i64>,
    /// How many meetings the user may host at once, when not the account's default.
    pub concurrency_limit: Option<i64>,
    /// When it was created (ms).
    pub created_ms: i64,
}

impl UserRow {
    /// The user's rights as the rules see them.
    pub fn rights(&self) -> seatmeter_core::access::Rights {
        seatmeter_core::access::Rights::from_stored(&self.role, &self.areas)
    }

    /// The user's rights and whether they are disabled.
    pub fn standing(&self) -> seatmeter_core::access::Standing {
        seatmeter_core::access::Standing { rights: self.rights(), disabled: self.disabled_ms.is_some() }
    }
}

/// Inserts `user` (whose address is `email`).
pub async fn insert(ex: impl Executor, user: &UserRow, email: &Email) -> Result<u64, DbError> {
    ex.execute(
        Query::insert()
            .into_table("users")
            .columns(["id", "account_id", "email", "email_key", "name", "role", "areas", "created_ms"])
            .values_panic([
                user.id.clone().into(),
                user.account_id.clone().into(),
                user.email.clone().into(),
                email.key().into(),
                user.name.clone().into(),
                user.role.clone().into(),
                user.areas.clone().into(),
                user.created_ms.into(),
            ]),
    )
    .await
}

/// The user `user_id` of account `account_id`.
pub async fn get(ex: impl Executor, account_id: &str, user_id: &str) -> Result<Option<UserRow>, DbError> {
    ex.fetch_optional(
        Query::select()
            .columns(USER_COLUMNS)
            .from("users")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(user_id)),
    )
    .await
}
