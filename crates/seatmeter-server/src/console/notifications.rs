//! The console's notifications page: the e-mail outbox.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Signed, given};
use crate::app::{self, Services};
use crate::http::ApiError;
use crate::http::compliance::NotificationView;

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    user: ConsoleUser,
    notifications: Vec<NotificationView>,
    status: String,
}

#[derive(Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
}

/// The e-mail notices: sent, queued, retrying, failed.
pub async fn notifications(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(query): Query<StatusQuery>,
) -> Result<Response, Failure> {
    let status = given(query.status).unwrap_or_default();
    let mut notifications =
        app::compliance::notices::list(&state, &user.principal()).await.map_err(ApiError::from)?;
    if !status.is_empty() {
        notifications.retain(|n| n.delivery.as_str() == status);
    }
    let notifications = notifications.into_iter().map(NotificationView::from).collect();
    Ok(NotificationsPage { user, notifications, status }.into_response())
}
