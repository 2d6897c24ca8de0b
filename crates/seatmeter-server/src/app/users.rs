//! Users: adding them, listing, changing their role, areas and name,
//! disabling them. Members see only themselves; administrators of the
//! "users & licenses" area see and change everyone in their account. The
//! last unrestricted administrator of an account cannot be demoted,
//! restricted or disabled, so an account never becomes unmanageable.
//!
//! Who may add whom and change whose rights is decided by the rules of
//! [`seatmeter_core::access`]; this module gathers the facts they need
//! (the user before and after the change, the other unrestricted
//! administrators, counted under the account's lock) and says their
//! refusals in words.

use std::collections::HashMap;

use seatmeter_core::access::{self, Areas, Rights, RightsRefusal};
use seatmeter_core::people::{AdminArea, Email, Role};
use serde_json::json;

use super::{Capability, Error, Principal, Result, Services};
use crate::secrets::new_id;
use crate::store::users::UserRow;
use crate::store::{self, Db, DbError, OnDuplicate, Tx};

/// A user to add.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    /// E-mail address (unique in the account, compared without case).
    pub email: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// `member` (when not given) or `administrator`.
    pub role: Option<String>,
    /// For an administrator, the areas they are limited to; none means all.
    pub areas: Vec<String>,
}

/// Changes to a user; what is left out stays.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    /// New display name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New admin areas (none: unrestricted).
    pub areas: Option<Vec<String>>,
    /// Disable (true) or enable (false) the user.
    pub disabled: Option<bool>,
    /// How many meetings the user may host at once (1 to 1,000); `Some(None)`
    /// returns to the account's default.
    pub concurrency_limit: Option<Option<i64>>,
}

const NEEDS_USERS_ADMIN_TO_ADD: &str = "adding users needs an administrator of users & licenses";
const NEEDS_USERS_ADMIN_TO_CHANGE: &str =
    "only an administrator of users & licenses changes roles, areas, access or concurrency limits";
const NEEDS_UNRESTRICTED_TO_ADD: &str = "only an unrestricted administrator adds administrators";
const NEEDS_UNRESTRICTED_TO_CHANGE: &str =
    "only an unrestricted administrator changes roles and areas, or disables an administrator";
const OWN_RIGHTS: &str = "nobody changes their own role, areas or access: ask another administrator";
const LAST_UNRESTRICTED_ADMIN: &str = "this is the account's last unrestricted administrator: make another \
                                       user an unrestricted administrator first";

fn not_found(id: &str) -> Error {
    Error::not_found(format!("no user {id:?} in your account"))
}

/// A refusal of the rules on rights, in words; `needs_unrestricted` says
/// what only an unrestricted administrator does.
fn refused(refusal: RightsRefusal, needs_unrestricted: &str) -> Error {
    match refusal {
        RightsRefusal::NeedsUnrestrictedAdmin => Error::forbidden(needs_unrestricted),
        RightsRefusal::LastUnrestrictedAdmin => Error::conflict(LAST_UNRESTRICTED_ADMIN, None),
        RightsRefusal::OwnRights => Error::forbidden(OWN_RIGHTS),
    }
}

fn parse_name(name: &str) -> Result<String> {
    super::text::checked(name, 200)
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(format!("the name must be {}", super::text::rule(200)), "name"))
}

fn parse_role(role: &str) -> Result<Role> {
    Role::parse(role)
        .ok_or_else(|| Error::invalid(format!("unknown role {role:?}: use member or administrator"), "role"))
}

fn parse_areas(role: Role, areas: &[String]) -> Result<Areas> {
    let mut parsed = Vec::with_capacity(areas.len());
    for area in areas {
        let known = AdminArea::parse(area).ok_or_else(|| {
            let all: Vec<&str> = AdminArea::ALL.iter().map(|a| a.as_str()).collect();
            Error::invalid(format!("unknown area {area:?}: use one of {}", all.join(", ")), "areas")
        })?;
        parsed.push(known);
    }
    if role == Role::Member && !parsed.is_empty() {
        return Err(Error::invalid("only administrators have areas", "areas"));
    }
    Ok(Areas::of(parsed))
}

/// The user the caller acts as.
pub async fn me(services: &Services, principal: &Principal) -> Result<UserRow> {
    store::users::get(&services.db, &principal.account_id, &principal.user_id)
        .await?
        .ok_or_else(|| Error::not_found("the user no longer exists"))
}

/// The users `principal` may see (all of the account for user
/// administrators, else only the caller) whose e-mail address or name holds
/// `q`, without case, by e-mail address.
pub async fn list(
    services: &Services,
    principal: &Principal,
    q: Option<&str>,
) -> Result<Vec<UserRow>, DbError> {
    let only = (!principal.may(Capability::ManageUsers)).then_some(principal.user_id.as_str());
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    store::users::list(&services.db, &principal.account_id, only, q).await
}

/// User `id`: any of the account for user administrators, else only the caller.
pub async fn get(services: &Services, principal: &Principal, id: &str) -> Result<UserRow> {
    if !access::manages_user(principal.rights, &principal.user_id, id) {
        return Err(not_found(id));
    }
    store::users::get(&services.db, &principal.account_id, id).await?.ok_or_else(|| not_found(id))
}

/// Adds a user (user administrators only; an administrator only by an
/// unrestricted administrator).
pub async fn create(services: &Services, principal: &Principal, new: NewUser, now: i64) -> Result<UserRow> {
    if !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden(NEEDS_USERS_ADMIN_TO_ADD));
    }
    let email =
        Email::parse(&new.email).map_err(|e| Error::invalid(format!("the e-mail address {e}"), "email"))?;
    let name = parse_name(&new.name)?;
    let role = parse_role(new.role.as_deref().unwrap_or("member"))?;
    let areas = parse_areas(role, &new.areas)?;
    access::may_add(principal.rights, Rights { role, areas })
        .map_err(|refusal| refused(refusal, NEEDS_UNRESTRICTED_TO_ADD))?;
    let user = UserRow {
        id: new_id("usr"),
        account_id: principal.account_id.to_string(),
        email: email.as_str().to_string(),
        name,
        role: role.as_str().to_string(),
        areas: areas.to_stored(),
        disabled_ms: None,
        concurrency_limit: None,
        created_ms: now,
        rights_epoch: 0,
    };
    let mut tx = services.db.begin().await?;
    store::users::insert(&mut tx, &user, &email).await.on_duplicate(|| {
        Error::conflict(
            format!("a user with the e-mail address {email} already exists in this account"),
            Some("email"),
        )
    })?;
    crate::app::record_by(
        &mut tx,
        principal,
        now,
        "user.created",
        ("user", &user.id),
        json!({"email": user.email, "role": user.role, "areas": user.areas}),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Changes user `id`'s name, role, areas, enabled state or concurrency
/// limit (user administrators only; members may change their own name).
/// A disabled user's console sessions end for good, and their tokens stop
/// working at once.
pub async fn update(
    services: &Services,
    principal: &Principal,
    id: &str,
    changes: UserChanges,
    now: i64,
) -> Result<UserRow> {
    check_asked(principal, id, &changes)?;
    let mut tx = services.db.begin().await?;
    // One change of an account's users at a time: a change made from a
    // stale read would undo another (re-enable a user just disabled).
    store::accounts::lock(&mut tx, &principal.account_id).await?;
    let before = store::users::get(&mut tx, &principal.account_id, id).await?.ok_or_else(|| not_found(id))?;
    let mut after = changed(&before, &changes, now)?;
    check_rights(&mut tx, principal, &before, &after, changes.disabled.is_some()).await?;
    if rights_grew(&before, &after) {
        // As `save` stores it: the caller sees that credentials ended.
        after.rights_epoch = before.rights_epoch + 1;
    }
    save(&mut tx, principal, &before, &after, now).await?;
    tx.commit().await?;
    // A disabled user's tokens stop working, and a new limit applies, at once.
    services.kept.forget(id);
    Ok(after)
}

/// What the caller may ask before the user is read: members change only
/// their own name; a concurrency limit is in range.
fn check_asked(principal: &Principal, id: &str, changes: &UserChanges) -> Result<()> {
    if !access::manages_user(principal.rights, &principal.user_id, id) {
        return Err(not_found(id));
    }
    let beyond_name = changes.role.is_some()
        || changes.areas.is_some()
        || changes.disabled.is_some()
        || changes.concurrency_limit.is_some();
    if beyond_name && !principal.may(Capability::ManageUsers) {
        return Err(Error::forbidden(NEEDS_USERS_ADMIN_TO_CHANGE));
    }
    if let Some(Some(limit)) = changes.concurrency_limit
        && !(1..=1000).contains(&limit)
    {
        return Err(Error::invalid("the concurrency limit must be 1 to 1000", "concurrency_limit"));
    }
    Ok(())
}

/// `before` with `changes` applied (a member has no areas; disabling keeps
/// the time a user was first disabled).
fn changed(before: &UserRow, changes: &UserChanges, now: i64) -> Result<UserRow> {
    let mut user = before.clone();
    if let Some(name) = &changes.name {
        user.name = parse_name(name)?;
    }
    let role = parse_role(changes.role.as_deref().unwrap_or(&before.role))?;
    user.role = role.as_str().to_string();
    if let Some(areas) = &changes.areas {
        user.areas = parse_areas(role, areas)?.to_stored();
    } else if role == Role::Member {
        user.areas.clear();
    }
    if let Some(limit) = changes.concurrency_limit {
        user.concurrency_limit = limit;
    }
    match changes.disabled {
        Some(true) if user.disabled_ms.is_none() => user.disabled_ms = Some(now),
        Some(false) => user.disabled_ms = None,
        _ => {}
    }
    Ok(user)
}

/// Asks the rules whether the caller may change `before` into `after`;
/// when the change takes an unrestricted administrator away, the others
/// are counted under the account's lock, so that two administrators
/// demoting each other at once do not both succeed.
async fn check_rights(
    tx: &mut Tx,
    principal: &Principal,
    before: &UserRow,
    after: &UserRow,
    access_asked: bool,
) -> Result<()> {
    let (was, will) = (before.standing(), after.standing());
    if before.id == principal.user_id.as_str() {
        access::may_change_own(was, will)
            .map_err(|refusal| refused(refusal, NEEDS_UNRESTRICTED_TO_CHANGE))?;
    }
    // Asking to enable or disable an administrator is theirs to ask even
    // when it changes nothing: the answer must not tell a restricted
    // administrator more than a refusal would.
    if access_asked && was.rights.role == Role::Administrator && !principal.rights.is_unrestricted_admin() {
        return Err(refused(RightsRefusal::NeedsUnrestrictedAdmin, NEEDS_UNRESTRICTED_TO_CHANGE));
    }
    let others = if access::loses_unrestricted_admin(was, will) {
        store::accounts::lock(tx, &principal.account_id).await?;
        store::users::other_unrestricted_admins(&mut *tx, &principal.account_id, &before.id).await?
    } else {
        0
    };
    access::may_change(principal.rights, was, will, others)
        .map_err(|refusal| refused(refusal, NEEDS_UNRESTRICTED_TO_CHANGE))
}

/// Writes the changed `user`, its activity record, the end of a disabled
/// user's console sessions, the end of every credential of a user whose
/// rights grew, and the change every server's caches learn of.
async fn save(
    tx: &mut Tx,
    principal: &Principal,
    before: &UserRow,
    user: &UserRow,
    now: i64,
) -> Result<(), DbError> {
    store::users::update(&mut *tx, user).await?;
    let mut details = json!({"name": user.name, "role": user.role, "areas": user.areas,
        "disabled": user.disabled_ms.is_some(), "concurrency_limit": user.concurrency_limit});
    if rights_grew(before, user) {
        details["credentials_ended"] = end_credentials(tx, before, user, now).await?;
    }
    crate::app::record_by(tx, principal, now, "user.updated", ("user", &user.id), details).await?;
    if user.disabled_ms.is_some() {
        // Console sessions end for good: enabling the user again does not revive them.
        store::sessions::end_of_user(&mut *tx, &principal.account_id, &user.id, now).await?;
    }
    crate::store::changes::note(&mut *tx, [user.id.as_str()], now).await
}

/// Whether `after` may do more than `before` could: a new role, more
/// areas, or enabled again.
fn rights_grew(before: &UserRow, after: &UserRow) -> bool {
    let enabled_again = before.disabled_ms.is_some() && after.disabled_ms.is_none();
    enabled_again || !before.rights().covers(after.rights())
}

/// Ends every credential of `user`, whose rights grew: whoever made or
/// held one under the old rights (a password link an administrator of
/// fewer areas made, a session or token left open somewhere) does not
/// gain the new ones. A new role or more areas also forget the password:
/// every password is set from a one-time link, and the link's maker may
/// have had fewer rights than the user has now; an administrator who may
/// make links for the new rights makes them a new one. How many of each
/// ended, for the activity record.
async fn end_credentials(
    tx: &mut Tx,
    before: &UserRow,
    user: &UserRow,
    now: i64,
) -> Result<serde_json::Value, DbError> {
    let (account_id, user_id) = (user.account_id.as_str(), user.id.as_str());
    store::users::next_rights_epoch(&mut *tx, account_id, user_id).await?;
    let sessions = store::sessions::end_of_user(&mut *tx, account_id, user_id, now).await?;
    let tokens = store::tokens::revoke_all_of_user(&mut *tx, account_id, user_id, now).await?;
    let links = store::password_links::use_up_of_user(&mut *tx, account_id, user_id, now).await?;
    let password = !before.rights().covers(user.rights())
        && store::passwords::clear(&mut *tx, account_id, user_id).await?;
    Ok(json!({"sessions": sessions, "api_tokens": tokens, "password_links": links, "password": password}))
}

/// Adds members of `account_id` with these e-mail addresses (their names
/// are their addresses), in one transaction, recording each as created by
/// `via` (for example `import`, which has no caller).
pub async fn add_members(
    db: &Db,
    account_id: &str,
    emails: &[Email],
    via: &str,
    now: i64,
) -> Result<Vec<UserRow>, DbError> {
    let mut tx = db.begin().await?;
    let mut added = Vec::with_capacity(emails.len());
    for email in emails {
        let user = UserRow {
            id: new_id("usr"),
            account_id: account_id.to_string(),
            email: email.as_str().to_string(),
            name: email.as_str().to_string(),
            role: Role::Member.as_str().to_string(),
            areas: String::new(),
            disabled_ms: None,
            concurrency_limit: None,
            created_ms: now,
            rights_epoch: 0,
        };
        store::users::insert(&mut tx, &user, email).await?;
        store::activities::record(
            &mut tx,
            account_id,
            now,
            None,
            "user.created",
            ("user", &user.id),
            json!({"email": user.email, "role": user.role, "via": via}),
        )
        .await?;
        added.push(user);
    }
    tx.commit().await?;
    Ok(added)
}

/// The ids of `account_id`'s users by e-mail key (addresses compared without case).
pub async fn ids_by_email(db: &Db, account_id: &str) -> Result<HashMap<String, String>, DbError> {
    store::users::ids_by_email(db, account_id).await
}
