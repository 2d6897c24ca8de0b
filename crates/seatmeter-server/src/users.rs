//! Users: adding them, listing, changing their role, areas and name,
//! disabling them. Members see only themselves; administrators of the
//! "users & licenses" area see and change everyone in their account. The
//! last unrestricted administrator of an account cannot be demoted,
//! restricted or disabled, so an account never becomes unmanageable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sea_query::{Expr, ExprTrait, Order, Query};
use seatmeter_core::people::{AdminArea, Email, Role};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::Error as StoreError;
use crate::app::Principal;
use crate::app::Services;
use crate::http::users::UserView;
use crate::http::{ApiError, Body, Params};
use crate::secrets::new_id;
use crate::store::is_unique_violation;
use crate::store::users::UserRow;
use crate::store::{Db, DbError, Tx};

use crate::store::users::USER_COLUMNS;

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// E-mail address (unique in the account, compared without case).
    pub email: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// `member` (default) or `administrator`.
    #[serde(default)]
    pub role: Option<String>,
    /// For an administrator: the areas they are limited to; none means all.
    #[serde(default)]
    pub areas: Vec<String>,
}

/// Changes to a user; fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// New display name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New admin areas (none: unrestricted).
    pub areas: Option<Vec<String>>,
    /// Disable (true) or enable (false) the user.
    pub disabled: Option<bool>,
    /// How many meetings the user may host at once (1 to 1,000); `null`
    /// returns to the account's default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub concurrency_limit: Option<Option<i64>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Filters of the user list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    /// Part of the e-mail address or name, without case.
    pub q: Option<String>,
}

fn invalid(message: impl Into<String>, field: &str) -> ApiError {
    ApiError::Invalid { message: message.into(), field: Some(field.to_string()) }
}

fn parse_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("the name must be 1 to 200 characters", "name"));
    }
    Ok(name.to_string())
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    Role::parse(role)
        .ok_or_else(|| invalid(format!("unknown role {role:?}: use member or administrator"), "role"))
}

fn parse_areas(role: Role, areas: &[String]) -> Result<String, ApiError> {
    let mut parsed = Vec::new();
    for area in areas {
        let known = AdminArea::parse(area).ok_or_else(|| {
            let all: Vec<&str> = AdminArea::ALL.iter().map(|a| a.as_str()).collect();
            invalid(format!("unknown area {area:?}: use one of {}", all.join(", ")), "areas")
        })?;
        parsed.push(known);
    }
    if role == Role::Member && !parsed.is_empty() {
        return Err(invalid("only administrators have areas", "areas"));
    }
    parsed.sort();
    parsed.dedup();
    Ok(parsed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(","))
}

/// How many enabled, unrestricted administrators `account_id` has besides `except`.
async fn other_unrestricted_admins(tx: &mut Tx, account_id: &str, except: &str) -> Result<i64, DbError> {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let row: Option<Count> = tx
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
    Ok(row.map_or(0, |r| r.n))
}

/// Lists the users `principal` may see.
pub async fn list(db: &Db, principal: &Principal, q: Option<&str>) -> Result<Vec<UserRow>, DbError> {
    let mut select = Query::select();
    select
        .columns(USER_COLUMNS)
        .from("users")
        .and_where(Expr::col("account_id").eq(principal.account_id.as_str()));
    if !principal.administers(AdminArea::UsersLicenses) {
        select.and_where(Expr::col("id").eq(principal.user_id.as_str()));
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern =
            format!("%{}%", q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        select.and_where(
            Expr::col("email_key")
                .like(sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
                .or(Expr::expr(sea_query::Func::lower(Expr::col("name")))
                    .like(sea_query::LikeExpr::new(pattern).escape('\\'))),
        );
    }
    select.order_by("email_key", Order::Asc);
    db.fetch_all(&select).await
}

/// Lists users: all of the account for user administrators, else only the caller.
#[utoipa::path(get, path = "/v1/users", tag = "users", security(("token" = [])), params(UserFilter),
    responses((status = 200, body = [UserView]), (status = 401, body = crate::http::ErrorBody)))]
pub async fn list_users(
    State(state): State<Services>,
    principal: Principal,
    Params(filter): Params<UserFilter>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = list(&state.db, &principal, filter.q.as_deref()).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

/// One user: any of the account for user administrators, else only the caller.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", security(("token" = [])),
    responses((status = 200, body = UserView), (status = 404, body = crate::http::ErrorBody)))]
pub async fn get_user(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    if id != principal.user_id && !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::NotFound(format!("no user {id:?} in your account")));
    }
    crate::store::users::get(&state.db, &principal.account_id, &id)
        .await?
        .map(|u| Json(UserView::from(u)))
        .ok_or_else(|| ApiError::NotFound(format!("no user {id:?} in your account")))
}

/// Adds a user (user administrators only).
#[utoipa::path(post, path = "/v1/users", tag = "users", security(("token" = [])), request_body = NewUser,
    responses((status = 201, body = UserView), (status = 409, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)))]
pub async fn create_user(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    if !principal.administers(AdminArea::UsersLicenses) {
        return Err(ApiError::Forbidden("adding users needs an administrator of users & licenses".into()));
    }
    let email = Email::parse(&new.email).map_err(|e| invalid(format!("the e-mail address {e}"), "email"))?;
    let name = parse_name(&new.name)?;
    let role = parse_role(new.role.as_deref().unwrap_or("member"))?;
    let areas = parse_areas(role, &new.areas)?;
    if role == Role::Administrator && !principal.is_unrestricted_admin() {
        return Err(ApiError::Forbidden("only an unrestricted administrator adds administrators".into()));
    }
    let now = state.clock.now();
    let user = UserRow {
        id: new_id("usr"),
        account_id: principal.account_id.to_string(),
        email: email.as_str().to_string(),
        name,
        role: role.as_str().to_string(),
        areas,
        disabled_ms: None,
        concurrency_limit: None,
        created_ms: now,
    };
    let mut tx = state.db.begin().await?;
    let inserted = crate::store::users::insert(&mut tx, &user, &email).await;
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Conflict {
                message: format!("a user with the e-mail address {email} already exists in this account"),
                field: Some("email".into()),
            }
            .into());
        }
        other => other?,
    };
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "user.created",
        ("user", &user.id),
        json!({"email": user.email, "role": user.role, "areas": user.areas}),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(UserView::from(user))))
}

/// Changes a user's name, role, areas or enabled state (user administrators
/// only; members may change their own name).
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", security(("token" = [])), request_body = UserChanges,
    responses((status = 200, body = UserView), (status = 404, body = crate::http::ErrorBody),
        (status = 409, body = crate::http::ErrorBody), (status = 422, body = crate::http::ErrorBody)))]
pub async fn update_user(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(changes): Body<UserChanges>,
) -> Result<Json<UserView>, ApiError> {
    let is_admin = principal.administers(AdminArea::UsersLicenses);
    let not_found = || ApiError::NotFound(format!("no user {id:?} in your account"));
    if !is_admin && id != principal.user_id {
        return Err(not_found());
    }
    if !is_admin
        && (changes.role.is_some()
            || changes.areas.is_some()
            || changes.disabled.is_some()
            || changes.concurrency_limit.is_some())
    {
        return Err(ApiError::Forbidden(
            "only an administrator of users & licenses changes roles, areas, access or concurrency limits"
                .into(),
        ));
    }
    if let Some(Some(limit)) = changes.concurrency_limit
        && !(1..=1000).contains(&limit)
    {
        return Err(invalid("the concurrency limit must be 1 to 1000", "concurrency_limit"));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut user =
        crate::store::users::get(&mut tx, &principal.account_id, &id).await?.ok_or_else(not_found)?;
    let was_unrestricted_admin =
        user.role == Role::Administrator.as_str() && user.areas.is_empty() && user.disabled_ms.is_none();
    let (old_role, old_areas) = (user.role.clone(), user.areas.clone());
    if let Some(name) = &changes.name {
        user.name = parse_name(name)?;
    }
    let role = match &changes.role {
        Some(role) => parse_role(role)?,
        None => parse_role(&user.role)?,
    };
    user.role = role.as_str().to_string();
    if let Some(areas) = &changes.areas {
        user.areas = parse_areas(role, areas)?;
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
    let rights_changed = user.role != old_role || user.areas != old_areas;
    let touches_an_administrator =
        old_role == Role::Administrator.as_str() && (rights_changed || changes.disabled.is_some());
    if (rights_changed || touches_an_administrator) && !principal.is_unrestricted_admin() {
        return Err(ApiError::Forbidden(
            "only an unrestricted administrator changes roles and areas, or disables an administrator".into(),
        ));
    }
    let still_unrestricted_admin =
        user.role == Role::Administrator.as_str() && user.areas.is_empty() && user.disabled_ms.is_none();
    if was_unrestricted_admin && !still_unrestricted_admin {
        // Two administrators demoting each other at once must not both succeed.
        crate::store::accounts::lock(&mut tx, &principal.account_id).await?;
    }
    if was_unrestricted_admin
        && !still_unrestricted_admin
        && other_unrestricted_admins(&mut tx, &principal.account_id, &id).await? == 0
    {
        return Err(StoreError::Conflict {
            message:
                "this is the account's last unrestricted administrator: make another user an unrestricted \
                      administrator first"
                    .into(),
            field: None,
        }
        .into());
    }
    tx.execute(
        Query::update()
            .table("users")
            .value("name", user.name.clone())
            .value("role", user.role.clone())
            .value("areas", user.areas.clone())
            .value("disabled_ms", user.disabled_ms)
            .value("concurrency_limit", user.concurrency_limit)
            .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
            .and_where(Expr::col("id").eq(id.as_str())),
    )
    .await?;
    crate::store::activities::record(
        &mut tx,
        &principal.account_id,
        now,
        Some(&principal.user_id),
        "user.updated",
        ("user", &id),
        json!({"name": user.name, "role": user.role, "areas": user.areas, "disabled": user.disabled_ms.is_some(),
               "concurrency_limit": user.concurrency_limit}),
    )
    .await?;
    if user.disabled_ms.is_some() {
        // Console sessions end for good: enabling the user again does not revive them.
        tx.execute(
            Query::update()
                .table("sessions")
                .value("ended_ms", now)
                .and_where(Expr::col("account_id").eq(principal.account_id.as_str()))
                .and_where(Expr::col("user_id").eq(id.as_str()))
                .and_where(Expr::col("ended_ms").is_null()),
        )
        .await?;
    }
    crate::recent::note_changes(&mut tx, [id.as_str()], now).await?;
    tx.commit().await?;
    // A disabled user's tokens stop working, and a new limit applies, at once.
    state.kept.forget(&id);
    Ok(Json(UserView::from(user)))
}

/// Adds members with these e-mail addresses (names are their addresses),
/// recording each as created by `via` (for example `import`), inside `tx`.
pub async fn add_members(
    tx: &mut Tx,
    account_id: &str,
    emails: &[Email],
    via: &str,
    now: i64,
) -> Result<Vec<UserRow>, DbError> {
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
        };
        crate::store::users::insert(&mut *tx, &user, email).await?;
        crate::store::activities::record(
            tx,
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
    Ok(added)
}

/// The account's users' ids by e-mail key (addresses compared without case).
pub async fn ids_by_email(
    db: &Db,
    account_id: &str,
) -> Result<std::collections::HashMap<String, String>, DbError> {
    #[derive(sqlx::FromRow)]
    struct UserKey {
        id: String,
        email_key: String,
    }
    let rows: Vec<UserKey> = db
        .fetch_all(
            Query::select()
                .columns(["id", "email_key"])
                .from("users")
                .and_where(Expr::col("account_id").eq(account_id)),
        )
        .await?;
    Ok(rows.into_iter().map(|u| (u.email_key, u.id)).collect())
}
