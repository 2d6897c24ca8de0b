//! Live host-license usage: kept current as meetings end, never recomputed
//! from the whole history on a request.
//!
//! Each meeting row stores the interval it adds to usage now (none while it
//! runs, or when it is not counted). Whenever a change to a meeting moves
//! that interval, the same transaction appends the change to
//! `usage_changes` — "remove the old interval, add the new one" — numbered
//! per account: taking the numbers updates the account's `usage_seq`, a
//! row every such writer locks, so the numbers become visible in order and
//! without gaps, whichever server wrote them.
//!
//! Each server keeps, per account, the core engine's
//! [`LiveUsage`](seatmeter_core::usage::LiveUsage) and the number of the
//! last change it applied. A usage request reads the account's current
//! number and applies only the changes after its own, so several servers on
//! one database all answer the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sea_query::{Expr, ExprTrait, Order, Query};
use seatmeter_core::people::{AdminArea, LicenseKind};
use seatmeter_core::time::Timestamp;
use seatmeter_core::usage::{LiveUsage, Windows};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::app::Principal;
use crate::app::Services;
use crate::http::{ApiError, ErrorBody, Params};
use crate::meetings::{MEETING_COLUMNS, MeetingRow, MeetingRules, account_rules, rfc3339_ms, rules_query};
use crate::store::{Db, DbError, Tx};

const NANOS_PER_MS: i64 = 1_000_000;

/// One change to a host's usage.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageChange {
    /// The host.
    pub host_user_id: String,
    /// Start of the interval (ms).
    pub start_ms: i64,
    /// End of the interval (ms, exclusive).
    pub end_ms: i64,
    /// +1 added, -1 removed.
    pub sign: i64,
}

/// Settles one meeting (already changed in memory) at `now`: works out the
/// interval it adds to usage now and whether it was ended automatically,
/// and returns the usage changes that follow. Changes only `meeting`.
pub fn settle(rules: &MeetingRules, meeting: &mut MeetingRow, now: i64) -> Vec<UsageChange> {
    let mut changes = Vec::new();
    let max = rules.max_duration_ms();
    let facts = meeting.facts();
    let run = facts.run(now, max);
    let counted = facts.counted_run(rules.policy(), now, max).map(|r| (r.start_ms, r.end_ms));
    let before = meeting.usage_interval();
    if before != counted {
        if let Some((start_ms, end_ms)) = before {
            changes.push(UsageChange {
                host_user_id: meeting.host_user_id.clone(),
                start_ms,
                end_ms,
                sign: -1,
            });
        }
        if let Some((start_ms, end_ms)) = counted {
            changes.push(UsageChange {
                host_user_id: meeting.host_user_id.clone(),
                start_ms,
                end_ms,
                sign: 1,
            });
        }
    }
    meeting.usage_start_ms = counted.map(|c| c.0);
    meeting.usage_end_ms = counted.map(|c| c.1);
    meeting.auto_ended_ms = match run {
        Some(r) if r.auto_ended => meeting.auto_ended_ms.or(Some(now)),
        _ => None,
    };
    changes
}

/// `meetings` by id, as they are now (what `store_settled` compares with).
pub fn by_id(meetings: &[MeetingRow]) -> BTreeMap<String, MeetingRow> {
    meetings.iter().map(|m| (m.id.clone(), m.clone())).collect()
}

/// Settles `meetings` (already changed in memory) at `now` (see
/// [`settle`]), writes what changed of them since they were read (`read`),
/// and appends the usage changes.
pub async fn store_settled(
    tx: &mut Tx,
    rules: &MeetingRules,
    meetings: &mut [MeetingRow],
    read: &BTreeMap<String, MeetingRow>,
    now: i64,
) -> Result<Vec<UsageChange>, DbError> {
    let mut changes = Vec::new();
    for meeting in meetings.iter_mut() {
        changes.extend(settle(rules, meeting, now));
    }
    crate::meetings::update_meetings(tx, meetings, read).await?;
    if let Some(first) = meetings.first() {
        append_changes(tx, &first.account_id, &changes).await?;
    }
    Ok(changes)
}

#[derive(sqlx::FromRow)]
struct Seq {
    usage_seq: i64,
}

/// Appends `changes` to the account's usage changes, numbered after the last.
pub async fn append_changes(tx: &mut Tx, account_id: &str, changes: &[UsageChange]) -> Result<(), DbError> {
    if changes.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
    // Updating the account row locks it until commit: writers take numbers one after another.
    let taken: Option<Seq> = tx
        .fetch_optional(
            Query::update()
                .table("accounts")
                .value("usage_seq", Expr::col("usage_seq").add(count))
                .and_where(Expr::col("id").eq(account_id))
                .returning(Query::returning().column("usage_seq")),
        )
        .await?;
    let last = taken.map_or(count, |s| s.usage_seq);
    for (chunk_index, chunk) in changes.chunks(1000).enumerate() {
        let mut insert = Query::insert();
        insert.into_table("usage_changes").columns([
            "account_id",
            "seq",
            "host_user_id",
            "start_ms",
            "end_ms",
            "sign",
        ]);
        for (i, change) in chunk.iter().enumerate() {
            let seq = last - count + 1 + i64::try_from(chunk_index * 1000 + i).unwrap_or(0);
            insert.values_panic([
                account_id.into(),
                seq.into(),
                change.host_user_id.clone().into(),
                change.start_ms.into(),
                change.end_ms.into(),
                change.sign.into(),
            ]);
        }
        tx.execute(&insert).await?;
    }
    Ok(())
}

/// Ends automatically, at `start + maximum duration`, the meetings still
/// running past it (of one account, or of all), so that a lost `ended`
/// event neither blocks its host nor keeps its usage out. Idempotent;
/// returns how many meetings it ended.
pub async fn settle_overdue(db: &Db, account_id: Option<&str>, now: i64) -> Result<u64, DbError> {
    #[derive(sqlx::FromRow)]
    struct Overdue {
        id: String,
        account_id: String,
    }
    let mut select = Query::select();
    select
        .expr_as(Expr::col(("m", "id")), "id")
        .expr_as(Expr::col(("m", "account_id")), "account_id")
        .from_as("meetings", "m")
        .join_as(
            sea_query::JoinType::InnerJoin,
            "accounts",
            "a",
            Expr::col(("a", "id")).equals(("m", "account_id")),
        )
        .and_where(Expr::col(("m", "started_ms")).is_not_null())
        .and_where(Expr::col(("m", "ended_ms")).is_null())
        .and_where(Expr::col(("m", "auto_ended_ms")).is_null())
        .and_where(
            Expr::col(("m", "started_ms")).add(Expr::col(("a", "max_meeting_minutes")).mul(60_000)).lte(now),
        )
        // By start, so that the index of open meetings serves the query.
        .order_by(("m", "started_ms"), Order::Asc)
        .limit(10_000);
    if let Some(account) = account_id {
        select.and_where(Expr::col(("m", "account_id")).eq(account));
    }
    let overdue: Vec<Overdue> = db.fetch_all(&select).await?;
    let mut by_account: HashMap<String, Vec<String>> = HashMap::new();
    for o in overdue {
        by_account.entry(o.account_id).or_default().push(o.id);
    }
    let mut ended = 0;
    for (account, ids) in by_account {
        let mut tx = db.begin().await?;
        let Some(rules) = tx.fetch_optional::<MeetingRules>(&rules_query(&account)).await? else { continue };
        let mut rows: Vec<MeetingRow> = tx
            .fetch_all(
                Query::select()
                    .columns(MEETING_COLUMNS)
                    .from("meetings")
                    .and_where(Expr::col("account_id").eq(account.as_str()))
                    .and_where(Expr::col("id").is_in(ids.iter().map(String::as_str)))
                    .and_where(Expr::col("auto_ended_ms").is_null())
                    .order_by("id", Order::Asc)
                    .lock_exclusive(),
            )
            .await?;
        rows.retain(|m| m.facts().run(now, rules.max_duration_ms()).is_some_and(|r| r.auto_ended));
        let read = by_id(&rows);
        store_settled(&mut tx, &rules, &mut rows, &read, now).await?;
        for row in &rows {
            crate::store::activities::record(
                &mut tx,
                &account,
                now,
                None,
                "meeting.auto_ended",
                ("meeting", &row.id),
                json!({"host_user_id": row.host_user_id, "max_meeting_minutes": rules.max_meeting_minutes}),
            )
            .await?;
        }
        tx.commit().await?;
        ended += rows.len() as u64;
    }
    Ok(ended)
}

/// One account's live usage in this server.
struct AccountUsage {
    anchor_ms: i64,
    seq: i64,
    live: LiveUsage<String>,
}

/// Every account's live usage in this server, brought up to date on demand.
#[derive(Clone, Default)]
pub struct UsageCache {
    accounts: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<AccountUsage>>>>>,
}

/// One host's licenses in one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostUsage {
    /// The window.
    pub window: i64,
    /// The host.
    pub host_user_id: String,
    /// Licenses used.
    pub licenses: u32,
}

impl UsageCache {
    /// The account's usage rows (sorted by window, then host id) after
    /// applying the changes this server has not seen yet.
    pub async fn rows(
        &self,
        db: &Db,
        account_id: &str,
        rules: &MeetingRules,
    ) -> Result<Vec<HostUsage>, DbError> {
        let entry = {
            let mut accounts = self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            accounts
                .entry(account_id.to_string())
                .or_insert_with(|| {
                    Arc::new(tokio::sync::Mutex::new(AccountUsage {
                        anchor_ms: rules.anchor_ms,
                        seq: 0,
                        live: LiveUsage::new(windows_of(rules.anchor_ms)),
                    }))
                })
                .clone()
        };
        let mut usage = entry.lock().await;
        if usage.anchor_ms != rules.anchor_ms {
            *usage = AccountUsage {
                anchor_ms: rules.anchor_ms,
                seq: 0,
                live: LiveUsage::new(windows_of(rules.anchor_ms)),
            };
        }
        while usage.seq < rules.usage_seq {
            let changes: Vec<UsageChange> = db
                .fetch_all(
                    Query::select()
                        .columns(["host_user_id", "start_ms", "end_ms", "sign"])
                        .from("usage_changes")
                        .and_where(Expr::col("account_id").eq(account_id))
                        .and_where(Expr::col("seq").gt(usage.seq))
                        .and_where(Expr::col("seq").lte(rules.usage_seq))
                        .order_by("seq", Order::Asc)
                        .limit(100_000),
                )
                .await?;
            if changes.is_empty() {
                break;
            }
            usage.seq += i64::try_from(changes.len()).unwrap_or(0);
            for c in changes {
                let (start, end) =
                    (c.start_ms.saturating_mul(NANOS_PER_MS), c.end_ms.saturating_mul(NANOS_PER_MS));
                if c.sign > 0 {
                    usage.live.add(&c.host_user_id, start, end);
                } else {
                    usage.live.remove(&c.host_user_id, start, end);
                }
            }
        }
        Ok(usage
            .live
            .rows()
            .map(|r| HostUsage { window: r.window, host_user_id: r.host, licenses: r.licenses })
            .collect())
    }
}

/// The 30-day windows on an anchor in milliseconds.
pub fn windows_of(anchor_ms: i64) -> Windows {
    Windows::new(Timestamp(anchor_ms.saturating_mul(NANOS_PER_MS)))
}

/// How to answer.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// `json` (default) or `csv` (exactly the CSV of `seatmeter usage`, hosts by e-mail).
    pub format: Option<String>,
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

#[derive(sqlx::FromRow)]
struct HostEmail {
    id: String,
    email: String,
}

/// The e-mail addresses of the account's users, by id: of those in `ids`,
/// or of all of them.
async fn emails(db: &Db, account_id: &str, ids: Option<&[&str]>) -> Result<HashMap<String, String>, DbError> {
    let mut select = Query::select();
    select.columns(["id", "email"]).from("users").and_where(Expr::col("account_id").eq(account_id));
    let mut found = HashMap::new();
    match ids {
        None => {
            let rows: Vec<HostEmail> = db.fetch_all(&select).await?;
            found.extend(rows.into_iter().map(|r| (r.id, r.email)));
        }
        Some(ids) => {
            for chunk in ids.chunks(1000) {
                let rows: Vec<HostEmail> = db
                    .fetch_all(select.clone().and_where(Expr::col("id").is_in(chunk.iter().copied())))
                    .await?;
                found.extend(rows.into_iter().map(|r| (r.id, r.email)));
            }
        }
    }
    Ok(found)
}

fn may_read_reports(principal: &Principal) -> Result<(), ApiError> {
    if principal.administers(AdminArea::Reports) || principal.administers(AdminArea::UsersLicenses) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("usage and meeting exports need an administrator of reports".into()))
    }
}

/// Host-license usage per 30-day window on the account's anchor, kept
/// current as meetings end. `format=csv` answers exactly what `seatmeter
/// usage --period-start <anchor>` prints for the account's meeting export;
/// JSON adds per-window totals, the host licenses installed and the overage.
#[utoipa::path(get, path = "/v1/usage", tag = "usage", security(("token" = [])), params(UsageQuery),
    responses((status = 200, body = UsageView), (status = 200, description = "CSV", content_type = "text/csv"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_usage(
    State(state): State<Services>,
    principal: Principal,
    Params(query): Params<UsageQuery>,
) -> Result<Response, ApiError> {
    may_read_reports(&principal)?;
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::Invalid {
                message: format!("unknown format {other:?}: use json or csv"),
                field: Some("format".into()),
            });
        }
    };
    let account = principal.account_id.as_str();
    settle_overdue(&state.db, Some(account), state.clock.now()).await?;
    let rules = account_rules(&state.db, account).await?;
    let rows = state.usage.rows(&state.db, account, &rules).await?;
    let hosts: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.host_user_id.as_str()).collect();
    let emails = emails(&state.db, account, Some(&hosts.into_iter().collect::<Vec<_>>())).await?;
    let host = |id: &str| emails.get(id).cloned().unwrap_or_else(|| id.to_string());
    let windows = windows_of(rules.anchor_ms);
    let mut named: Vec<(i64, String, String, u32)> =
        rows.into_iter().map(|r| (r.window, host(&r.host_user_id), r.host_user_id, r.licenses)).collect();
    // The CSV's order: window, then host as written (byte order).
    named.sort_by(|a, b| (a.0, a.1.as_bytes()).cmp(&(b.0, b.1.as_bytes())));
    if csv {
        let text =
            seatmeter_core::usage::csv::render(&windows, named.iter().map(|r| (r.0, r.1.as_str(), r.3)));
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response());
    }
    let installed = crate::app::licenses::account_pools(&state.db, account)
        .await?
        .into_iter()
        .find(|p| p.kind == LicenseKind::Host)
        .map_or(0, |p| p.installed);
    let mut views: Vec<WindowView> = Vec::new();
    for (window, email, id, licenses) in named {
        let start = windows.start(window) / i128::from(NANOS_PER_MS);
        if views.last().is_none_or(|w| w.window_start != rfc3339_ms(start as i64)) {
            let end = windows.end(window) / i128::from(NANOS_PER_MS);
            views.push(WindowView {
                window_start: rfc3339_ms(start as i64),
                window_end: rfc3339_ms(end as i64),
                licenses: 0,
                hosts: 0,
                overage: 0,
                rows: Vec::new(),
            });
        }
        if let Some(view) = views.last_mut() {
            view.licenses += u64::from(licenses);
            view.hosts += 1;
            view.rows.push(HostUsageView { host: email, host_user_id: id, licenses });
        }
    }
    for view in &mut views {
        view.overage = view.licenses.saturating_sub(u64::try_from(installed).unwrap_or(0));
    }
    Ok(Json(UsageView {
        period_start: rfc3339_ms(rules.anchor_ms),
        policy: if rules.count_teleconference_only != 0 {
            "count_teleconference_only"
        } else {
            "web_attendees_only"
        },
        installed_host_licenses: installed,
        windows: views,
    })
    .into_response())
}

/// The account's meetings that are over, in the meeting-log format that
/// `seatmeter usage` and `seatmeter import` read (CSV: `meeting_id`,
/// `host` by e-mail, `start`, `end`, `web_attendees`, `phone_attendees`).
/// Running meetings, and meetings never held, are left out.
#[utoipa::path(get, path = "/v1/meetings/export", tag = "meetings", security(("token" = [])),
    responses((status = 200, description = "The meeting log (CSV)", content_type = "text/csv"), (status = 403, body = ErrorBody)))]
pub async fn export_meetings(
    State(state): State<Services>,
    principal: Principal,
) -> Result<Response, ApiError> {
    may_read_reports(&principal)?;
    let account = principal.account_id.as_str();
    let now = state.clock.now();
    settle_overdue(&state.db, Some(account), now).await?;
    let rules = account_rules(&state.db, account).await?;
    let emails = emails(&state.db, account, None).await?;
    let mut out = String::from("meeting_id,host,start,end,web_attendees,phone_attendees\n");
    let mut after = String::new();
    loop {
        let rows: Vec<MeetingRow> = state
            .db
            .fetch_all(
                Query::select()
                    .columns(MEETING_COLUMNS)
                    .from("meetings")
                    .and_where(Expr::col("account_id").eq(account))
                    .and_where(Expr::col("started_ms").is_not_null())
                    .and_where(Expr::col("id").gt(after.as_str()))
                    .order_by("id", Order::Asc)
                    .limit(10_000),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        for row in &rows {
            let Some(run) = row.facts().run(now, rules.max_duration_ms()) else { continue };
            let id = row.external_id.as_deref().unwrap_or(&row.id);
            let host = emails.get(&row.host_user_id).map_or(row.host_user_id.as_str(), String::as_str);
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                seatmeter_core::usage::csv::field(id),
                seatmeter_core::usage::csv::field(host),
                rfc3339_ms(run.start_ms),
                rfc3339_ms(run.end_ms),
                row.web_attendees,
                row.phone_attendees
            ));
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}
