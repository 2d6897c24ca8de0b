//! The console's meetings page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Names, Signed, given, user_names};
use crate::app::meetings::MeetingFilter;
use crate::app::{self, Principal, Services};
use crate::http::ApiError;
use crate::http::meetings::MeetingView;

#[derive(Deserialize, Default)]
pub struct MeetingQuery {
    state: Option<String>,
    host: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "meetings.html")]
struct MeetingsPage {
    user: ConsoleUser,
    running: Vec<MeetingView>,
    meetings: Vec<MeetingView>,
    names: Names,
    state: String,
    host: String,
}

/// Meetings running now, and the recent ones, filtered by state and host.
pub async fn meetings(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(query): Query<MeetingQuery>,
) -> Result<Response, Failure> {
    let (principal, now) = (user.principal(), state.clock.now());
    let running_filter =
        MeetingFilter { state: Some("running".into()), host_user_id: None, limit: Some(100) };
    let running = listed(&state, &principal, running_filter, now).await?;
    let (status, host) = (given(query.state), given(query.host));
    let filter = MeetingFilter { state: status.clone(), host_user_id: host.clone(), limit: Some(100) };
    let meetings = listed(&state, &principal, filter, now).await?;
    let names = user_names(&state, &user).await?;
    let page = MeetingsPage {
        user,
        running,
        meetings,
        names,
        state: status.unwrap_or_default(),
        host: host.unwrap_or_default(),
    };
    Ok(page.into_response())
}

/// The meetings `filter` selects, as the API shows them.
async fn listed(
    state: &Services,
    principal: &Principal,
    filter: MeetingFilter,
    now: i64,
) -> Result<Vec<MeetingView>, Failure> {
    let meetings = app::meetings::list(state, principal, &filter, now).await.map_err(ApiError::from)?;
    Ok(meetings.into_iter().map(MeetingView::from).collect())
}
