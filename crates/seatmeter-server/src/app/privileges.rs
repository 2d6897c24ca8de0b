//! Scheduling privileges: user X may schedule meetings on behalf of user Y.
//! Such meetings belong to Y. Y grants and revokes them, or a user
//! administrator does; each user sees both directions of their own.

use seatmeter_core::access;
use serde_json::json;

use super::{Error, Principal, Result, Services};
use crate::store::{self, DbError, Executor, OnDuplicate};

/// A user's privileges, both ways.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Privileges {
    /// The user.
    pub user_id: String,
    /// Users this user may schedule for.
    pub may_schedule_for: Vec<String>,
    /// Users who may schedule for this user.
    pub may_be_scheduled_by: Vec<String>,
}

/// The scheduling privileges of `user_id` (default: the caller; another
/// user's for user administrators), both ways.
pub async fn list(services: &Services, principal: &Principal, user_id: Option<&str>) -> Result<Privileges> {
    let user_id = user_id.unwrap_or(principal.user_id.as_str()).to_string();
    let not_found = || Error::not_found(format!("no user {user_id:?} in your account"));
    if !access::manages_user(principal.rights, &principal.user_id, &user_id) {
        return Err(not_found());
    }
    if store::users::get(&services.db, &principal.account_id, &user_id).await?.is_none() {
        return Err(not_found());
    }
    let rows = store::privileges::of_user(&services.db, &principal.account_id, &user_id).await?;
    Ok(Privileges {
        may_schedule_for: rows
            .iter()
            .filter(|p| p.scheduler_user_id == user_id)
            .map(|p| p.host_user_id.clone())
            .collect(),
        may_be_scheduled_by: rows
            .iter()
            .filter(|p| p.host_user_id == user_id)
            .map(|p| p.scheduler_user_id.clone())
            .collect(),
        user_id,
    })
}

/// Grants `scheduler` the privilege to schedule for `host` (by the host, or
/// a user administrator).
pub async fn grant(
    services: &Services,
    principal: &Principal,
    scheduler: &str,
    host: &str,
    now: i64,
) -> Result<()> {
    if !access::manages_user(principal.rights, &principal.user_id, host) {
        return Err(Error::forbidden("only the host or a user administrator grants scheduling for the host"));
    }
    let mut tx = services.db.begin().await?;
    for user in [scheduler, host] {
        if store::users::get(&mut tx, &principal.account_id, user).await?.is_none() {
            return Err(Error::not_found(format!("no user {user:?} in your account")));
        }
    }
    if host == scheduler {
        return Err(Error::invalid("a user always schedules for themself", "scheduler_user_id"));
    }
    store::privileges::insert(&mut tx, &principal.account_id, scheduler, host, now)
        .await
        .on_duplicate(|| Error::conflict("this privilege exists already", None))?;
    crate::app::record_by(
        &mut tx,
        principal,
        now,
        "privilege.granted",
        ("user", host),
        json!({"scheduler_user_id": scheduler}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes the privilege of `scheduler` to schedule for `host` (by the
/// host, or a user administrator).
pub async fn revoke(
    services: &Services,
    principal: &Principal,
    scheduler: &str,
    host: &str,
    now: i64,
) -> Result<()> {
    let not_found = || Error::not_found(format!("{scheduler:?} has no privilege to schedule for {host:?}"));
    if !access::manages_user(principal.rights, &principal.user_id, host) {
        return Err(not_found());
    }
    let mut tx = services.db.begin().await?;
    if !store::privileges::delete(&mut tx, &principal.account_id, scheduler, host).await? {
        return Err(not_found());
    }
    crate::app::record_by(
        &mut tx,
        principal,
        now,
        "privilege.revoked",
        ("user", host),
        json!({"scheduler_user_id": scheduler}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `scheduler` may schedule meetings for `host` in `account_id`
/// (read on the pool or inside another use case's transaction).
pub async fn has_privilege(
    ex: impl Executor,
    account_id: &str,
    scheduler: &str,
    host: &str,
) -> Result<bool, DbError> {
    store::privileges::exists(ex, account_id, scheduler, host).await
}
