//! The console's meetings page, and the downloads of the meeting log and
//! of the usage CSV (for a spreadsheet, or exact for `seatmeter`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
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

/// Which form of a CSV to download: `formula_safe` (for a spreadsheet) or `exact`.
#[derive(Deserialize)]
pub struct Download {
    cells: Option<String>,
}

impl Download {
    /// The form asked for, and the file name it is saved under.
    fn cells(&self, name: &str) -> Result<(seatmeter_core::usage::csv::Cells, String), Failure> {
        let cells = crate::http::csv_cells(self.cells.as_deref())?;
        let suffix = match cells {
            seatmeter_core::usage::csv::Cells::Exact => "",
            seatmeter_core::usage::csv::Cells::FormulaSafe => "-for-spreadsheets",
        };
        Ok((cells, format!("attachment; filename=\"{name}{suffix}.csv\"")))
    }
}

/// `csv` as a download saved under `disposition`'s file name.
fn attachment(csv: String, disposition: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response()
}

/// The meeting log, as `GET /v1/meetings/export` gives it.
pub async fn meeting_log(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(download): Query<Download>,
) -> Result<Response, Failure> {
    let (cells, disposition) = download.cells("meetings")?;
    let log = app::meetings::export(&state, &user.principal(), cells, state.clock.now())
        .await
        .map_err(ApiError::from)?;
    Ok(attachment(log, disposition))
}

/// Host-license usage per window, as `GET /v1/usage?format=csv` gives it.
pub async fn usage(
    State(state): State<Services>,
    Signed(user): Signed,
    Query(download): Query<Download>,
) -> Result<Response, Failure> {
    let (cells, disposition) = download.cells("usage")?;
    let series =
        app::usage::usage(&state, &user.principal(), state.clock.now()).await.map_err(ApiError::from)?;
    Ok(attachment(series.csv(cells), disposition))
}
