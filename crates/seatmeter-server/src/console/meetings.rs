//! The console's meetings page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ConsoleUser, Failure, Names, Signed, given, user_names};
use crate::app::Services;
use crate::http::Params;
use crate::meetings::{MeetingFilter, MeetingView};

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
    let running_filter =
        MeetingFilter { state: Some("running".into()), host_user_id: None, limit: Some(100) };
    let running =
        crate::meetings::list_meetings(State(state.clone()), user.principal(), Params(running_filter))
            .await?
            .0;
    let (status, host) = (given(query.state), given(query.host));
    let filter = MeetingFilter { state: status.clone(), host_user_id: host.clone(), limit: Some(100) };
    let meetings =
        crate::meetings::list_meetings(State(state.clone()), user.principal(), Params(filter)).await?.0;
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
