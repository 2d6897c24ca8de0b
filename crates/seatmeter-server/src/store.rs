//! Accounts, users and API tokens in the database, and the activity that
//! records every change in the same transaction as the change.

use sea_query::{Expr, ExprTrait, Query};
use seatmeter_core::people::{AdminArea, Email, Role};
use serde_json::json;

use crate::db::{Db, DbError, Tx};
use crate::secrets::{new_id, new_token, token_hash};

/// An account (tenant).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Anchor of its 30-day usage windows (ms).
    pub anchor_ms: i64,
    /// Its time zone (IANA name), for the daily audit.
    pub time_zone: String,
    /// When it was created (ms).
    pub created_ms: i64,
}

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

/// Who is calling: the user behind a valid API token.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Principal {
    /// The token's id.
    pub token_id: String,
    /// The account the token belongs to; every query is scoped to it.
    pub account_id: String,
    /// The user the token acts for.
    pub user_id: String,
    /// The user's role.
    pub role: String,
    /// The user's admin areas, comma-separated (empty: all, for an administrator).
    pub areas: String,
    /// When the token was last used, to the minute.
    pub last_used_ms: Option<i64>,
}

impl Principal {
    /// Whether the caller administers `area`.
    pub fn administers(&self, area: AdminArea) -> bool {
        self.role == Role::Administrator.as_str()
            && (self.areas.is_empty() || self.areas.split(',').any(|a| a == area.as_str()))
    }

    /// Whether the caller is an administrator of every area. Only such an
    /// administrator hands out administrator rights, so that nobody can
    /// widen their own.
    pub fn is_unrestricted_admin(&self) -> bool {
        self.role == Role::Administrator.as_str() && self.areas.is_empty()
    }
}

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

/// Why a change to stored data was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Nothing with that id in the account.
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with the current state (a duplicate, no free license, …).
    #[error("{message}")]
    Conflict {
        /// What conflicts and what to do.
        message: String,
        /// The request field concerned.
        field: Option<&'static str>,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Whether `error` is a unique-constraint violation.
pub fn is_unique_violation(error: &DbError) -> bool {
    matches!(error, DbError::Query(sqlx::Error::Database(e)) if e.is_unique_violation())
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    /// The name is empty or too long.
    #[error("the account name {0}")]
    Name(&'static str),
    /// The administrator's name is empty, too long or holds a NUL character.
    #[error("the administrator's name must be 1 to 200 characters")]
    AdminName,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Records an activity inside `tx`, so that it exists exactly when the change does.
pub async fn record_activity(
    tx: &mut Tx,
    account_id: &str,
    now_ms: i64,
    actor_user_id: Option<&str>,
    action: &str,
    subject: (&str, &str),
    details: serde_json::Value,
) -> Result<(), DbError> {
    tx.execute(
        Query::insert()
            .into_table("activities")
            .columns([
                "id",
                "account_id",
                "at_ms",
                "actor_user_id",
                "action",
                "subject_type",
                "subject_id",
                "details",
            ])
            .values_panic([
                new_id("act").into(),
                account_id.into(),
                now_ms.into(),
                actor_user_id.map(str::to_string).into(),
                action.into(),
                subject.0.into(),
                subject.1.into(),
                details.to_string().into(),
            ]),
    )
    .await?;
    Ok(())
}

/// Locks account `account_id` until the end of `tx`, to serialise changes
/// whose checks read several rows (such as "another unrestricted
/// administrator remains"). On PostgreSQL this is a row lock; SQLite's write
/// transactions hold the database's write lock from their start already.
pub async fn lock_account(tx: &mut Tx, account_id: &str) -> Result<(), DbError> {
    #[derive(sqlx::FromRow)]
    struct Locked {
        #[allow(dead_code)]
        id: String,
    }
    let _locked: Option<Locked> = tx
        .fetch_optional(
            Query::select()
                .column("id")
                .from("accounts")
                .and_where(Expr::col("id").eq(account_id))
                .lock_exclusive(),
        )
        .await?;
    Ok(())
}

/// Inserts `user` (whose address is `email`) inside `tx`.
pub async fn insert_user(tx: &mut Tx, user: &UserRow, email: &Email) -> Result<u64, DbError> {
    tx.execute(
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

/// Creates an account, its first administrator and their API token, in one transaction.
pub async fn create_account(
    db: &Db,
    name: &str,
    admin_email: &Email,
    admin_name: &str,
    now_ms: i64,
) -> Result<CreatedAccount, CreateAccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CreateAccountError::Name("is empty"));
    }
    if name.chars().count() > 200 {
        return Err(CreateAccountError::Name("is longer than 200 characters"));
    }
    if name.contains('\0') {
        return Err(CreateAccountError::Name("holds a NUL character"));
    }
    let admin_name = admin_name.trim();
    if admin_name.is_empty() || admin_name.chars().count() > 200 || admin_name.contains('\0') {
        return Err(CreateAccountError::AdminName);
    }
    let account = AccountRow {
        id: new_id("acc"),
        name: name.to_string(),
        anchor_ms: now_ms,
        time_zone: "UTC".to_string(),
        created_ms: now_ms,
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
        created_ms: now_ms,
    };
    let token = new_token();
    let token_id = new_id("tok");

    let mut tx = db.begin().await?;
    tx.execute(
        Query::insert()
            .into_table("accounts")
            .columns(["id", "name", "anchor_ms", "time_zone", "created_ms"])
            .values_panic([
                account.id.clone().into(),
                account.name.clone().into(),
                account.anchor_ms.into(),
                account.time_zone.clone().into(),
                account.created_ms.into(),
            ]),
    )
    .await?;
    insert_user(&mut tx, &admin, admin_email).await?;
    // The free trial starts now; the first audit is at the next 02:00.
    crate::compliance::begin_trial(&mut tx, &account.id, now_ms).await?;
    let password_link = crate::console::new_setup_token(&mut tx, &account.id, &admin.id, now_ms).await?;
    tx.execute(
        Query::insert()
            .into_table("api_tokens")
            .columns(["id", "account_id", "user_id", "name", "token_hash", "created_ms"])
            .values_panic([
                token_id.clone().into(),
                account.id.clone().into(),
                admin.id.clone().into(),
                "first administrator".into(),
                token_hash(&token).into(),
                now_ms.into(),
            ]),
    )
    .await?;
    let account_id = account.id.as_str();
    record_activity(
        &mut tx,
        account_id,
        now_ms,
        None,
        "account.created",
        ("account", account_id),
        json!({"name": name}),
    )
    .await?;
    record_activity(
        &mut tx,
        account_id,
        now_ms,
        None,
        "user.created",
        ("user", &admin.id),
        json!({"email": admin.email, "role": admin.role}),
    )
    .await?;
    record_activity(
        &mut tx,
        account_id,
        now_ms,
        Some(&admin.id),
        "token.created",
        ("api_token", &token_id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedAccount { account, admin, token, password_link })
}

/// How many accounts exist.
pub async fn count_accounts(db: &Db) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let row: Option<Count> =
        db.fetch_optional(Query::select().expr_as(Expr::col("id").count(), "n").from("accounts")).await?;
    Ok(row.map_or(0, |r| r.n))
}

/// How precisely a token's last use is kept: a request writes it only when
/// the stored time is older than this, so that busy tokens (a platform
/// asking for admission thousands of times a second) cost no write each.
pub const LAST_USED_PRECISION_MS: i64 = 60_000;

/// The user behind `token`, if it is a valid, unrevoked token of an enabled
/// user; records when it was last used (to the minute).
pub async fn authenticate(db: &Db, token: &str, now_ms: i64) -> Result<Option<Principal>, DbError> {
    let principal: Option<Principal> = db
        .fetch_optional(
            Query::select()
                .expr_as(Expr::col(("t", "id")), "token_id")
                .expr_as(Expr::col(("t", "account_id")), "account_id")
                .expr_as(Expr::col(("t", "user_id")), "user_id")
                .expr_as(Expr::col(("u", "role")), "role")
                .expr_as(Expr::col(("u", "areas")), "areas")
                .expr_as(Expr::col(("t", "last_used_ms")), "last_used_ms")
                .from_as("api_tokens", "t")
                .join_as(
                    sea_query::JoinType::InnerJoin,
                    "users",
                    "u",
                    Expr::col(("u", "id"))
                        .equals(("t", "user_id"))
                        .and(Expr::col(("u", "account_id")).equals(("t", "account_id"))),
                )
                .and_where(Expr::col(("t", "token_hash")).eq(token_hash(token)))
                .and_where(Expr::col(("t", "revoked_ms")).is_null())
                .and_where(Expr::col(("u", "disabled_ms")).is_null()),
        )
        .await?;
    if let Some(p) = &principal
        && p.last_used_ms.is_none_or(|last| now_ms - last >= LAST_USED_PRECISION_MS)
    {
        db.execute(
            Query::update()
                .table("api_tokens")
                .value("last_used_ms", now_ms)
                .and_where(Expr::col("id").eq(p.token_id.clone())),
        )
        .await?;
    }
    Ok(principal)
}

/// The account `account_id`.
pub async fn account(db: &Db, account_id: &str) -> Result<Option<AccountRow>, DbError> {
    db.fetch_optional(
        Query::select()
            .columns(["id", "name", "anchor_ms", "time_zone", "created_ms"])
            .from("accounts")
            .and_where(Expr::col("id").eq(account_id)),
    )
    .await
}

/// The user `user_id` of account `account_id`.
pub async fn user(db: &Db, account_id: &str, user_id: &str) -> Result<Option<UserRow>, DbError> {
    db.fetch_optional(
        Query::select()
            .columns(crate::users::USER_COLUMNS)
            .from("users")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(user_id)),
    )
    .await
}

/// The user `user_id` of account `account_id`, inside a transaction.
pub async fn user_in_tx(tx: &mut Tx, account_id: &str, user_id: &str) -> Result<Option<UserRow>, DbError> {
    tx.fetch_optional(
        Query::select()
            .columns(crate::users::USER_COLUMNS)
            .from("users")
            .and_where(Expr::col("account_id").eq(account_id))
            .and_where(Expr::col("id").eq(user_id)),
    )
    .await
}

/// A token just issued: shown once.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token's id (to list and revoke it).
    pub id: String,
    /// The token itself; only its hash is stored.
    pub token: String,
}

/// Issues a new API token for user `user_id` of `account_id`.
pub async fn issue_token(
    db: &Db,
    account_id: &str,
    user_id: &str,
    name: &str,
    now_ms: i64,
) -> Result<IssuedToken, StoreError> {
    let mut tx = db.begin().await?;
    if user_in_tx(&mut tx, account_id, user_id).await?.is_none() {
        return Err(StoreError::NotFound(format!("no user {user_id:?} in your account")));
    }
    let issued = IssuedToken { id: new_id("tok"), token: new_token() };
    tx.execute(
        Query::insert()
            .into_table("api_tokens")
            .columns(["id", "account_id", "user_id", "name", "token_hash", "created_ms"])
            .values_panic([
                issued.id.clone().into(),
                account_id.into(),
                user_id.into(),
                name.into(),
                token_hash(&issued.token).into(),
                now_ms.into(),
            ]),
    )
    .await?;
    record_activity(
        &mut tx,
        account_id,
        now_ms,
        Some(user_id),
        "token.created",
        ("api_token", &issued.id),
        json!({"name": name}),
    )
    .await?;
    tx.commit().await?;
    Ok(issued)
}
