//! The `users` table.

use std::collections::HashMap;

use sea_query::{Expr, ExprTrait, Func, LikeExpr, Order, Query};
use seatmeter_core::people::{Email, Role};

use super::{DbError, Executor};

/// The columns of [`UserRow`].
pub const USER_COLUMNS: [&str; 10] = [
    "id",
    "account_id",
    "email",
    "name",
    "role",
    "areas",
    "disabled_ms",
    "concurrency_limit",
    "created_ms",
    "rights_epoch",
];

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
    /// Grows whenever the user's rights grow or they are enabled again:
    /// credentials made under an older epoch no longer work.
    pub rights_epoch: i64,
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

/// The users of `account_id` (only `only`, when given) whose e-mail address
/// or name holds `q` (without case; `%` and `_` are searched for, not
/// wildcards), by e-mail address.
pub async fn list(
    ex: impl Executor,
    account_id: &str,
    only: Option<&str>,
    q: Option<&str>,
) -> Result<Vec<UserRow>, DbError> {
    let mut select = Query::select();
    select.columns(USER_COLUMNS).from("users").and_where(Expr::col("account_id").eq(account_id));
    if let Some(user_id) = only {
        select.and_where(Expr::col("id").eq(user_id));
    }
    if let Some(q) = q {
        let pattern =
            format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        select.and_where(
            Expr::col("email_key")
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
                .or(Expr::expr(Func::lower(Expr::col("name"))).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    select.order_by("email_key", Order::Asc);
    ex.fetch_all(&select).await
}

/// Saves `user`'s name, role, areas, disabled state and concurrency limit.
pub async fn update(ex: impl Executor, user: &UserRow) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("users")
            .value("name", user.name.clone())
            .value("role", user.role.clone())
            .value("areas", user.areas.clone())
            .value("disabled_ms", user.disabled_ms)
            .value("concurrency_limit", user.concurrency_limit)
            .and_where(Expr::col("account_id").eq(user.account_id.as_str()))
            .and_where(Expr::col("id").eq(user.id.as_str())),
    )
    .await?;
    Ok(())
}

/// Ends every credential user `user_id` holds: their rights grew, or they
/// were enabled again. Sessions, API tokens and one-time password links
/// made under the old epoch no longer work (the revocations that
/// [`super::tokens::revoke_all_of_user`] and the like record are what the
/// lists show; the epoch is what makes even one made at that very moment
/// fail).
pub async fn next_rights_epoch(ex: impl Executor, account_id: &str, user_id: &str) -> Result<(), DbError> {
    ex.execute(
        Query::update()
            .table("users")
            .value("rights_epoch", Expr::col("rights_epoch").add(1))
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(user_id)),
    )
    .await?;
    Ok(())
}

/// How many enabled, unrestricted administrators `account_id` has besides `except`.
pub async fn other_unrestricted_admins(
    ex: impl Executor,
    account_id: &str,
    except: &str,
) -> Result<u64, DbError> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let row: Option<Count> = ex
        .fetch_optional(
            Query::select()
                .expr_as(Expr::col("id").count(), "n")
                .from("users")
                .and_where(Expr::col("account_id").eq(account_id))
                .and_where(Expr::col("role").eq(Role::Administrator.as_str()))
                .and_where(Expr::col("areas").eq(""))
                .and_where(Expr::col("disabled_ms").is_null())
                .and_where(Expr::col("id").ne(except)),
        )
        .await?;
    Ok(row.map_or(0, |r| u64::try_from(r.n).unwrap_or(0)))
}

/// The ids of `account_id`'s users by e-mail key (addresses compared without case).
pub async fn ids_by_email(ex: impl Executor, account_id: &str) -> Result<HashMap<String, String>, DbError> {
    #[derive(sqlx::FromRow)]
    struct UserKey {
        id: String,
        email_key: String,
    }
    let rows: Vec<UserKey> = ex
        .fetch_all(
            Query::select()
                .columns(["id", "email_key"])
                .from("users")
                .and_where(Expr::col("account_id").eq(account_id)),
        )
        .await?;
    Ok(rows.into_iter().map(|u| (u.email_key, u.id)).collect())
}

/// The users of `account_id` (only `ids`, if given), as pages read who is who.
pub async fn of_account(
    ex: impl Executor,
    account_id: &str,
    ids: Option<&[&str]>,
) -> Result<Vec<UserRow>, DbError> {
    let mut select = Query::select();
    select.columns(USER_COLUMNS).from("users").and_where(Expr::col("account_id").eq(account_id));
    if let Some(ids) = ids {
        select.and_where(Expr::col("id").is_in(ids.iter().copied()));
    }
    ex.fetch_all(&select).await
}
