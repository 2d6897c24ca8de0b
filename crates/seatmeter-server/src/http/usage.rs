//! `/v1/usage`: the account's host-license usage per 30-day window, as
//! JSON or as the CSV of `seatmeter usage`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use seatmeter_core::usage::CountPolicy;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::shapes;
use super::{ApiError, ErrorBody, Params, rfc3339_ms};
use crate::app::usage::{HostLicenses, UsageSeries, UsageWindow};
use crate::app::{self, Principal, Services};

/// The routes of this resource.
pub fn routes(router: OpenApiRouter<Services>) -> OpenApiRouter<Services> {
    router.routes(routes!(get_usage))
}

/// How to answer.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// `json` (default) or `csv` (exactly the CSV of `seatmeter usage`, hosts by e-mail).
    #[param(inline, value_type = Option<shapes::UsageFormat>)]
    pub format: Option<String>,
    /// With `format=csv`: `exact` (default) or `formula_safe`, to open in a spreadsheet.
    #[param(inline, value_type = Option<shapes::CellsName>)]
    pub cells: Option<String>,
}

/// One host's licenses in a window.
#[derive(Serialize, ToSchema)]
pub struct HostUsageView {
    /// The host's e-mail address.
    pub host: String,
    /// The host's id.
    pub host_user_id: String,
    /// Licenses used: the most of the host's counted meetings in progress at one instant.
    pub licenses: u32,
}

impl From<HostLicenses> for HostUsageView {
    fn from(host: HostLicenses) -> Self {
        HostUsageView { host: host.email, host_user_id: host.user_id, licenses: host.licenses }
    }
}

/// One 30-day window.
#[derive(Serialize, ToSchema)]
pub struct WindowView {
    /// First instant of the window.
    pub window_start: String,
    /// First instant after it.
    pub window_end: String,
    /// Licenses the account used: the sum over hosts.
    pub licenses: u64,
    /// Hosts that used licenses.
    pub hosts: u64,
    /// Licenses used beyond those installed (0 when compliant).
    pub overage: u64,
    /// Each host's licenses.
    pub rows: Vec<HostUsageView>,
}

impl From<UsageWindow> for WindowView {
    fn from(window: UsageWindow) -> Self {
        WindowView {
            window_start: rfc3339_ms(window.start_ms),
            window_end: rfc3339_ms(window.end_ms),
            licenses: window.used,
            hosts: window.hosts.len() as u64,
            overage: window.overage,
            rows: window.hosts.into_iter().map(HostUsageView::from).collect(),
        }
    }
}

/// The account's host-license usage.
#[derive(Serialize, ToSchema)]
pub struct UsageView {
    /// Anchor of the 30-day windows.
    pub period_start: String,
    /// `web_attendees_only` or `count_teleconference_only`.
    pub policy: &'static str,
    /// Host licenses installed.
    pub installed_host_licenses: i64,
    /// Windows with usage, oldest first.
    pub windows: Vec<WindowView>,
}

impl From<UsageSeries> for UsageView {
    fn from(series: UsageSeries) -> Self {
        UsageView {
            period_start: rfc3339_ms(series.anchor_ms),
            policy: match series.policy {
                CountPolicy::CountTeleconferenceOnly => "count_teleconference_only",
                CountPolicy::WebOnly => "web_attendees_only",
            },
            installed_host_licenses: series.installed,
            windows: series.windows.into_iter().map(WindowView::from).collect(),
        }
    }
}

/// Host-license usage per 30-day window on the account's anchor, kept
/// current as meetings end. `format=csv` answers exactly what `seatmeter
/// usage --period-start <anchor>` prints for the account's meeting export;
/// JSON adds per-window totals, the host licenses installed and the overage.
#[utoipa::path(get, path = "/v1/usage", tag = "usage", security(("token" = [])), params(UsageQuery),
    responses((status = 200, description = "The usage: JSON, or CSV with `format=csv`",
            content((UsageView = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_usage(
    State(state): State<Services>,
    principal: Principal,
    Params(query): Params<UsageQuery>,
) -> Result<Response, ApiError> {
    let csv = match query.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::Invalid {
            message: format!("unknown format {other:?}: use json or csv"),
            field: Some("format".into()),
        }),
    };
    let cells = super::csv_cells(query.cells.as_deref());
    // Rights first: a caller who may not read usage is told so whatever the format.
    let series = app::usage::usage(&state, &principal, state.clock.now()).await?;
    if csv? {
        let csv = series.csv(cells?);
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response());
    }
    cells?;
    Ok(Json(UsageView::from(series)).into_response())
}
