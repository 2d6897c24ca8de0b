//! Accounts: creating one with its first administrator, reading it, and
//! renaming it or moving it to another time zone.

use seatmeter_core::people::{Email, Role};
use serde_json::json;

use super::{Capability, Error, Principal, Result, Services};
use crate::secrets::{new_id, new_token, token_hash};
use crate::store::accounts::AccountRow;
use crate::store::users::UserRow;
use crate::store::{self, Db, DbError};

/// A new account with its first administrator and their API token.
#[derive(Debug)]
pub struct CreatedAccount {
    /// The account.
    pub account: AccountRow,
    /// Its first (unrestricted) administrator.
    pub admin: UserRow,
    /// The administrator's API token, shown once and never stored.
    pub token: String,
    /// The token of the administrator's one-time link to set a console
    /// password (`/set-password?token=…`), shown once and never stored.
    pub password_link: String,
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    /// The name is empty, too long or holds a control character.
    #[error("the account name must be {}", super::text::rule(200))]
    Name,
    /// The administrator's name is empty, too long or holds a control character.
    #[error("the administrator's name must be {}", super::text::rule(200))]
    AdminName,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn check_names(name: &str, admin_name: &str) -> Result<(), CreateAccountError> {
    super::text::checked(name, 200).ok_or(CreateAccountError::Name)?;
    super::text::checked(admin_name, 200).ok_or(CreateAccountError::AdminName)?;
    Ok(())
}

/// Creates an account, its first administrator and their API token, in
/// one transaction; the free trial starts now. (The operator does this
/// with `seatmeter account create`, so there is no caller.)
pub async fn create(
    db: &Db,
    name: &str,
    admin_email: &Email,
    admin_name: &str,
    now: i64,
) -> Result<CreatedAccount, CreateAccountError> {
    let (name, admin_name) = (name.trim(), admin_name.trim());
    check_names(name, admin_name)?;
    let account = AccountRow {
        id: new_id("acc"),
        name: name.to_string(),
        anchor_ms: now,
        time_zone: "UTC".to_string(),
        created_ms: now,
    };
    let admin = UserRow {
        id: new_id("usr"),
        account_id: account.id.clone(),
        email: admin_email.as_str().to_string(),
        name: admin_name.to_string(),
        role: Role::Administrator.as_str().to_string(),
        areas: String::new(),
        disabled_ms: None,
        concurrency_limit: None,
        created_ms: now,
        rights_epoch: 0,
    };
    let token = new_token();
    let token_id = new_id("tok");
    let account_id = account.id.as_str();

    let mut tx = db.begin().await?;
    store::accounts::insert(&mut tx, &account).await?;
    store::users::insert(&mut tx, &admin, admin_email).await?;
    // The free trial starts now; the first audit is at the next 02:00.
    super::compliance::begin_trial(&mut tx, account_id, now).await?;
    let password_link =
        super::password_links::new_setup_token(&mut tx, account_id, &admin.id, admin.rights_epoch, now)
            .await?;
    let hash = token_hash(&token);
    let first = store::tokens::NewToken {
        id: &token_id,
        account_id,
        user_id: &admin.id,
        name: "first administrator",
        token_hash: &hash,
        rights_epoch: admin.rights_epoch,
    };
    store::tokens::insert(&mut tx, &first, now).await?;
    let record = [
        (None, "account.created", ("account", account_id), json!({"name": name})),
        (
            None,
            "user.created",
            ("user", admin.id.as_str()),
            json!({"email": admin.email, "role": admin.role}),
        ),
        (Some(admin.id.as_str()), "token.created", ("api_token", token_id.as_str()), json!({})),
    ];
    for (actor, action, subject, details) in record {
        store::activities::record(&mut tx, account_id, now, actor, action, subject, details).await?;
    }
    tx.commit().await?;
    Ok(CreatedAccount { account, admin, token, password_link })
}

/// The caller's account.
pub async fn get(services: &Services, principal: &Principal) -> Result<AccountRow> {
    store::accounts::get(&services.db, &principal.account_id)
        .await?
        .ok_or_else(|| Error::not_found("the account no longer exists"))
}

/// The names of the time zones this server knows (its bundled database),
/// sorted: the ones an account may be moved to.
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db().available().map(|name| name.to_string()).collect();
    names.sort();
    names
}

/// Changes to an account; what is left out stays.
#[derive(Debug, Default)]
pub struct AccountChanges {
    /// Its name (1 to 200 characters).
    pub name: Option<String>,
    /// Its time zone (an IANA name): the daily audit moves to 02:00 there.
    pub time_zone: Option<String>,
}

/// Renames the account or moves it to another time zone (unrestricted
/// administrators only).
pub async fn update(
    services: &Services,
    principal: &Principal,
    changes: AccountChanges,
    now: i64,
) -> Result<AccountRow> {
    if !principal.may(Capability::ManageAccount) {
        return Err(Error::forbidden("changing the account needs an unrestricted administrator"));
    }
    let name =
        match changes.name.as_deref() {
            Some(name) => Some(super::text::checked(name, 200).ok_or_else(|| {
                Error::invalid(format!("the name must be {}", super::text::rule(200)), "name")
            })?),
            None => None,
        };
    if let Some(zone) = &changes.time_zone
        && (zone.len() > 64
            || jiff::tz::TimeZone::get(zone)
                .ok()
                .and_then(|tz| tz.iana_name().map(|name| name != zone))
                .unwrap_or(true))
    {
        return Err(Error::invalid(
            format!("unknown time zone {zone:?}: use an IANA name such as Europe/Paris or America/New_York"),
            "time_zone",
        ));
    }
    let account = principal.account_id.as_str();
    let mut tx = services.db.begin().await?;
    let current = store::accounts::get(&mut tx, account)
        .await?
        .ok_or_else(|| Error::not_found("the account no longer exists"))?;
    // Only what changes: the same time zone again does not move the audit.
    let name = name.filter(|name| *name != current.name);
    let zone = changes.time_zone.as_deref().filter(|zone| *zone != current.time_zone);
    if let Some(zone) = zone {
        super::compliance::move_audit(&mut tx, account, zone, now).await?;
    }
    if name.is_some() || zone.is_some() {
        store::accounts::update(&mut tx, account, name, zone).await?;
        store::activities::record(
            &mut tx,
            account,
            now,
            Some(&principal.user_id),
            "account.updated",
            ("account", account),
            json!({"name": name, "time_zone": zone}),
        )
        .await?;
    }
    tx.commit().await?;
    get(services, principal).await
}

#[cfg(test)]
mod time_zone_tests {
    #[test]
    fn every_time_zone_offered_is_taken_by_its_name() {
        let names = super::time_zone_names();
        assert!(names.len() > 300, "{}", names.len());
        for name in names {
            let zone = jiff::tz::TimeZone::get(&name).unwrap();
            assert_eq!(zone.iana_name(), Some(name.as_str()));
        }
    }
}
