//! The `users` table, as pages read who is who: the users whose names
//! they show.

use sea_query::{Expr, ExprTrait, Query};

use super::users::{USER_COLUMNS, UserRow};
use super::{DbError, Executor};

/// The users of `account_id` (only `ids`, if given).
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
