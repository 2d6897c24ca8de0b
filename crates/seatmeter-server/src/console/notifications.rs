//! The console's notifications page: the e-mail outbox.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Signed, given};
use crate::app::Services;

#[derive(Template, WebTemplate)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    user: ConsoleUser,
    notifications: Vec<crate::compliance::NotificationView>,
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
    let mut notifications = crate::compliance::list_notifications(State(state), user.principal()).await?.0;
    if !status.is_empty() {
        notifications.retain(|n| n.status == status);
    }
    Ok(NotificationsPage { user, notifications, status }.into_response())
}
