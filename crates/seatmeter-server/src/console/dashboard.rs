//! The dashboard: compliance and the license pools for every
//! administrator; usage per window, the meetings running now and the
//! meetings started per day for those who see reports, as in the API.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use seatmeter_core::usage::{WindowTotal, Windows};

use super::charts::{BarValue, bar_chart};
use super::names::Names;
use super::{ConsoleUser, Failure, Signed, user_names};
use crate::app::dashboard::DayCount;
use crate::app::{self, Services};
use crate::http::Params;

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    user: ConsoleUser,
    banners: Vec<String>,
    disabled: bool,
    usage: String,
    trend: String,
    running: Vec<crate::meetings::MeetingView>,
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
    running: Vec<crate::meetings::MeetingView>,
    names: Names,
}

/// The dashboard (administrators; members go to their booking pages).
pub(super) async fn dashboard(
    State(state): State<Services>,
    Signed(user): Signed,
) -> Result<Response, Failure> {
    if user.role != "administrator" {
        return Ok(Redirect::to("/booking-pages").into_response());
    }
    let status = super::licenses::compliance(&state, &user).await?;
    let pools = super::licenses::pools(&state, &user).await?;
    // Usage and meetings are for administrators of reports or of users &
    // licenses, as in the API; the others see compliance and the pools.
    let reports = if user.sees_reports() {
        reports(&state, &user, &pools).await?
    } else {
        Reports {
            usage: String::new(),
            trend: String::new(),
            running: Vec::new(),
            names: Names::from_users(Vec::new()),
        }
    };
    let Reports { usage, trend, running, names } = reports;
    let page = DashboardPage {
        usage,
        trend,
        running,
        names,
        disabled: status.disabled,
        banners: status.banners,
        pools,
        user,
    };
    Ok(page.into_response())
}

/// The charts and the meetings running now.
async fn reports(
    state: &Services,
    user: &ConsoleUser,
    pools: &[crate::http::licenses::PoolView],
) -> Result<Reports, Failure> {
    let account = user.account_id.as_str();
    let installed =
        pools.iter().find(|p| p.kind == "host").map_or(0, |p| u64::try_from(p.installed).unwrap_or(0));
    let rules = crate::meetings::account_rules(&state.db, account).await?;
    let rows = state.usage.rows(&state.db, account, &rules).await?;
    let totals = seatmeter_core::usage::window_totals(rows.iter().map(|r| (r.window, r.licenses)));
    let windows = crate::live::windows_of(rules.anchor_ms);
    let usage = usage_bars(&totals, &windows, installed);
    let now = state.clock.now();
    let days =
        app::dashboard::meetings_started(state, &user.principal(), &user.zone(), TREND_DAYS, now).await?;
    let filter =
        crate::meetings::MeetingFilter { state: Some("running".into()), host_user_id: None, limit: Some(20) };
    let running =
        crate::meetings::list_meetings(State(state.clone()), user.principal(), Params(filter)).await?.0;
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

/// A bar for each of the latest usage windows (of `windows`), with
/// `installed` drawn across each.
fn usage_bars(totals: &[WindowTotal], windows: &Windows, installed: u64) -> Vec<BarValue> {
    let skip = totals.len().saturating_sub(USAGE_WINDOWS);
    totals[skip..]
        .iter()
        .map(|t| {
            let start = i64::try_from(windows.start(t.window) / 1_000_000).unwrap_or(0);
            let date = jiff::Timestamp::from_millisecond(start).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            BarValue {
                label: format!(
                    "window from {}: {} used of {installed} installed",
                    date.strftime("%Y-%m-%d"),
                    t.licenses
                ),
                short: date.strftime("%b %d").to_string(),
                value: t.licenses,
                limit: Some(installed),
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
