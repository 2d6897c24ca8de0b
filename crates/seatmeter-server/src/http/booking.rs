//! `/v1/booking-pages`: booking pages, their owner, editors, availability
//! and state.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, Body, ErrorBody};
use crate::app::booking::{DayHours, Page};
use crate::app::{self, Principal, Services};

/// An editor of a booking page and the notifications they subscribe to.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Editor {
    /// The editor.
    #[schema(value_type = shapes::UserId)]
    pub user_id: String,
    /// E-mail notifications of bookings through the page.
    #[serde(default)]
    pub notify_email: bool,
    /// SMS notifications of bookings through the page.
    #[serde(default)]
    pub notify_sms: bool,
}

impl From<app::booking::Editor> for Editor {
    fn from(e: app::booking::Editor) -> Self {
        Editor { user_id: e.user_id, notify_email: e.notify_email, notify_sms: e.notify_sms }
    }
}

impl From<Editor> for app::booking::Editor {
    fn from(e: Editor) -> Self {
        app::booking::Editor { user_id: e.user_id, notify_email: e.notify_email, notify_sms: e.notify_sms }
    }
}

/// A booking page.
#[derive(Serialize, ToSchema)]
pub struct PageView {
    /// Its id.
    pub id: String,
    /// Its owner.
    pub owner_user_id: String,
    /// Its title.
    pub title: String,
    /// Its theme.
    pub theme: String,
    /// Whether it takes bookings.
    pub enabled: bool,
    /// Weekly hours by day (`mon` … `sun`).
    #[schema(value_type = shapes::WeekHours)]
    pub weekly_hours: BTreeMap<String, DayHours>,
    /// Date-specific hours, replacing the weekly hours on those dates (`[]`: unavailable).
    #[schema(value_type = shapes::DateHours)]
    pub overrides: BTreeMap<String, DayHours>,
    /// Its editors.
    pub editors: Vec<Editor>,
}

impl From<Page> for PageView {
    fn from(page: Page) -> Self {
        PageView {
            id: page.id,
            owner_user_id: page.owner_user_id,
            title: page.title,
            theme: page.theme,
            enabled: page.enabled,
            weekly_hours: page.weekly_hours,
            overrides: page.overrides,
            editors: page.editors.into_iter().map(Editor::from).collect(),
        }
    }
}

/// A new booking page.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPage {
    /// Title.
    #[schema(value_type = shapes::Title)]
    pub title: String,
    /// Owner; by default the caller (user administrators may name anyone of the account).
    #[schema(value_type = Option<shapes::UserId>)]
    pub owner_user_id: Option<String>,
    /// Theme name.
    #[schema(value_type = Option<shapes::Theme>)]
    pub theme: Option<String>,
    /// Weekly hours.
    #[serde(default)]
    #[schema(value_type = shapes::WeekHours)]
    pub weekly_hours: BTreeMap<String, DayHours>,
    /// Enable it at once (its owner must hold a scheduled_meetings license).
    #[serde(default)]
    pub enabled: bool,
}

/// Changes to a page's settings; fields left out are unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageChanges {
    /// New title.
    #[schema(value_type = Option<shapes::Title>)]
    pub title: Option<String>,
    /// New theme.
    #[schema(value_type = Option<shapes::Theme>)]
    pub theme: Option<String>,
    /// New weekly hours (replacing all of them).
    #[schema(value_type = Option<shapes::WeekHours>)]
    pub weekly_hours: Option<BTreeMap<String, DayHours>>,
    /// Date-specific hours to set; `null` removes a date's override.
    #[schema(value_type = Option<shapes::DateHoursChanges>)]
    pub overrides: Option<BTreeMap<String, Option<DayHours>>>,
}

/// A new owner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The user who will own the page.
    #[schema(value_type = shapes::UserId)]
    pub owner_user_id: String,
}

/// A page's editors (replacing the current ones).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Editors {
    /// The editors.
    #[serde(deserialize_with = "objects")]
    pub editors: Vec<Editor>,
}

/// A list of `T` written as JSON objects only (serde would also take a
/// struct written as an array of its fields).
fn objects<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let items = Vec::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)?;
    items
        .into_iter()
        .map(|item| serde_json::from_value(serde_json::Value::Object(item)).map_err(serde::de::Error::custom))
        .collect()
}

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router
        .routes(routes!(list_pages, create_page))
        .routes(routes!(get_page, update_page))
        .routes(routes!(enable_page))
        .routes(routes!(disable_page))
        .routes(routes!(transfer_page))
        .routes(routes!(set_editors))
}

/// The booking pages the caller may see.
#[utoipa::path(get, path = "/v1/booking-pages", tag = "booking pages", security(("token" = [])),
    responses((status = 200, body = [PageView]), (status = 401, body = ErrorBody)))]
pub async fn list_pages(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Json<Vec<PageView>>, ApiError> {
    let pages = app::booking::list(&state, &principal).await?;
    Ok(Json(pages.into_iter().map(PageView::from).collect()))
}

/// One booking page.
#[utoipa::path(get, path = "/v1/booking-pages/{id}", tag = "booking pages", security(("token" = [])),
    params(("id" = inline(shapes::PageId), Path, description = "The booking page")),
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody)))]
pub async fn get_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    Ok(Json(app::booking::get(&state, &principal, &id).await?.into()))
}

/// Creates a booking page (owned by the caller, or by anyone for user administrators).
#[utoipa::path(post, path = "/v1/booking-pages", tag = "booking pages", security(("token" = [])),
    request_body = NewPage,
    responses((status = 201, body = PageView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`not_found`: no such owner in the account"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_page(
    State(state): State<Services>,
    principal: Principal,
    Body(new): Body<NewPage>,
) -> Result<(StatusCode, Json<PageView>), ApiError> {
    let new = app::booking::NewPage {
        title: new.title,
        owner_user_id: new.owner_user_id,
        theme: new.theme,
        weekly_hours: new.weekly_hours,
        enabled: new.enabled,
    };
    let page = app::booking::create(&state, &principal, new, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(page.into())))
}

/// Changes a page's title, theme, weekly hours or date-specific hours.
#[utoipa::path(patch, path = "/v1/booking-pages/{id}", tag = "booking pages", security(("token" = [])),
    params(("id" = inline(shapes::PageId), Path, description = "The booking page")),
    request_body = PageChanges,
    responses((status = 200, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(changes): Body<PageChanges>,
) -> Result<Json<PageView>, ApiError> {
    let changes = app::booking::PageChanges {
        title: changes.title,
        theme: changes.theme,
        weekly_hours: changes.weekly_hours,
        overrides: changes.overrides,
    };
    Ok(Json(app::booking::update(&state, &principal, &id, changes, state.clock.now()).await?.into()))
}

/// Enables a page: it takes bookings again, with all its settings (409 if its owner holds no license).
#[utoipa::path(post, path = "/v1/booking-pages/{id}/enable", tag = "booking pages", security(("token" = [])),
    params(("id" = inline(shapes::PageId), Path, description = "The booking page")),
    responses((status = 200, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn enable_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    Ok(Json(app::booking::enable(&state, &principal, &id, state.clock.now()).await?.into()))
}

/// Disables a page; it keeps all its settings.
#[utoipa::path(post, path = "/v1/booking-pages/{id}/disable", tag = "booking pages", security(("token" = [])),
    params(("id" = inline(shapes::PageId), Path, description = "The booking page")),
    responses((status = 200, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disable_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PageView>, ApiError> {
    Ok(Json(app::booking::disable(&state, &principal, &id, state.clock.now()).await?.into()))
}

/// Transfers a page to another owner (user administrators). An enabled page
/// whose new owner holds no scheduled_meetings license is disabled.
#[utoipa::path(post, path = "/v1/booking-pages/{id}/transfer", tag = "booking pages", security(("token" = [])),
    params(("id" = inline(shapes::PageId), Path, description = "The booking page")),
    request_body = Transfer,
    responses((status = 200, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transfer_page(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(transfer): Body<Transfer>,
) -> Result<Json<PageView>, ApiError> {
    let page =
        app::booking::transfer(&state, &principal, &id, &transfer.owner_user_id, state.clock.now()).await?;
    Ok(Json(page.into()))
}

/// Replaces a page's editors (owner or user administrators).
#[utoipa::path(put, path = "/v1/booking-pages/{id}/editors", tag = "booking pages", security(("token" = [])),
    params(("id" = inline(shapes::PageId), Path, description = "The booking page")),
    request_body = Editors,
    responses((status = 200, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_editors(
    State(state): State<Services>,
    principal: Principal,
    Path(id): Path<String>,
    Body(body): Body<Editors>,
) -> Result<Json<PageView>, ApiError> {
    let editors = body.editors.into_iter().map(app::booking::Editor::from).collect();
    Ok(Json(app::booking::set_editors(&state, &principal, &id, editors, state.clock.now()).await?.into()))
}
