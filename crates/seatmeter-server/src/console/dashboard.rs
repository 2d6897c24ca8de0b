//! The dashboard: compliance and the license pools for every
//! administrator; usage per window, the meetings running now and the
//! meetings started per day for those who see reports, as in the API.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::charts::{BarValue, bar_chart};
use super::names::Names;
use super::{ConsoleUser, Failure, Signed, user_names};
use crate::app::dashboard::DayCount;
use crate::app::{self, Services};
use crate::http::ApiError;

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    user: ConsoleUser,
    usage: String,
    trend: String,
    running: Vec<crate::http::meetings::MeetingView>,
    names: Names,
    pools: Vec<crate::http::licenses::PoolView>,
}

/// Days of meeting trends on the dashboard.
const TREND_DAYS: i64 = 14;
/// Usage windows on the dashboard, the latest.
const USAGE_WINDOWS: usize = 12;

/// What only those who see reports are shown.
struct Reports {
    usage: String,
    trend: String,
    running: Vec<crate::http::meetings::MeetingView>,
    names: Names,
}

/// The dashboard (administrators; members go to their booking pages).
pub(super) async fn dashboard(
    State(state): State<Services>,
    Signed(user): Signed,
) -> Result<Response, Failure> {
    if !user.is_admin() {
        return Ok(Redirect::to("/booking-pages").into_response());
    }
    let pools = super::licenses::pools(&state, &user).await?;
    // Usage and meetings are for administrators of reports or of users &
    // licenses, as in the API; the others see compliance and the pools.
    let reports = if user.sees_reports() {
        reports(&state, &user).await?
    } else {
        Reports {
            usage: String::new(),
            trend: String::new(),
            running: Vec::new(),
            names: Names::from_users(Vec::new()),
        }
    };
    let Reports { usage, trend, running, names } = reports;
    let page = DashboardPage { usage, trend, running, names, pools, user };
    Ok(page.into_response())
}

/// The charts and the meetings running now.
async fn reports(state: &Services, user: &ConsoleUser) -> Result<Reports, Failure> {
    let now = state.clock.now();
    // The one usage series: what `GET /v1/usage` answers and the audit checks.
    let series = app::usage::series(state, &user.account_id, now).await.map_err(ApiError::from)?;
    let usage = usage_bars(&series);
    let days =
        app::dashboard::meetings_started(state, &user.principal(), &user.zone(), TREND_DAYS, now).await?;
    let filter =
        app::meetings::MeetingFilter { state: Some("running".into()), host_user_id: None, limit: Some(20) };
    let running =
        app::meetings::list(state, &user.principal(), &filter, now).await.map_err(ApiError::from)?;
    let running = running.into_iter().map(crate::http::meetings::MeetingView::from).collect();
    Ok(Reports {
        usage: bar_chart(
            "usage",
            "Host licenses used and installed, per 30-day window",
            "No meetings counted yet",
            &usage,
        ),
        trend: bar_chart("trend", "Meetings started per day", "No meetings yet", &trend_bars(&days)),
        names: user_names(state, user).await?,
        running,
    })
}

/// A bar for each of the latest windows with usage, with the host
/// licenses installed drawn across each.
fn usage_bars(series: &app::usage::UsageSeries) -> Vec<BarValue> {
    let skip = series.windows.len().saturating_sub(USAGE_WINDOWS);
    series.windows[skip..]
        .iter()
        .map(|w| {
            let date = jiff::Timestamp::from_millisecond(w.start_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            BarValue {
                label: format!(
                    "window from {}: {} used of {} installed",
                    date.strftime("%Y-%m-%d"),
                    w.used,
                    w.installed
                ),
                short: date.strftime("%b %d").to_string(),
                value: w.used,
                limit: Some(w.installed),
            }
        })
        .collect()
}

/// A bar for each day's meetings started.
fn trend_bars(days: &[DayCount]) -> Vec<BarValue> {
    days.iter()
        .map(|d| BarValue {
            label: format!(
                "{}: {} meeting{} started",
                d.day,
                d.meetings,
                if d.meetings == 1 { "" } else { "s" }
            ),
            short: d.day.strftime("%d").to_string(),
            value: d.meetings,
            limit: None,
        })
        .collect()
}
