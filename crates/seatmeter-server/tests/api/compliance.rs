//! Licenses from a real license authority on loopback, and compliance
//! scenarios driven day by day with a manual clock.

use reqwest::Method;
use seatmeter_server::Clock;
use seatmeter_server::Settings;
use seatmeter_server::app::compliance::sync_account;
use seatmeter_server::authority::{Authority, Entitlement};
use seatmeter_server::jobs;
use seatmeter_server::license_file::{LicenseFile, public_key_text, sign};
use serde_json::{Value, json};

use crate::support::{TestApp, apps_with, token_for};

const DAY: i64 = 86_400_000;

/// A license authority serving on a loopback port.
pub struct TestAuthority {
    pub authority: Authority,
    pub url: String,
    address: std::net::SocketAddr,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestAuthority {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Authority::init(dir.path()).await.unwrap();
        let authority = Authority::open(dir.path()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut started =
            Self { authority, url: format!("http://{address}"), address, server: None, _dir: dir };
        started.serve(listener);
        started
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let served = self.authority.clone();
        self.server = Some(tokio::spawn(async move { served.serve(listener, std::future::pending()).await }));
    }

    /// Stops answering: the port is closed.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Answers again, on the same address.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.address).await.unwrap();
        self.serve(listener);
    }

    /// Server settings that trust this authority.
    pub fn settings(&self) -> Settings {
        Settings {
            authority_url: Some(self.url.clone()),
            authority_public_key: Some(public_key_text(&self.authority.public_key())),
            server_id: Some("test-server".into()),
            ..Settings::default()
        }
    }

    /// A PAK for `licenses` ("kind=count[@expiry]"), covering product major 0.
    pub async fn pak(&self, licenses: &[&str]) -> String {
        self.pak_covering(licenses, &[0]).await
    }

    pub async fn pak_covering(&self, licenses: &[&str], versions: &[u64]) -> String {
        let entitlement = entitlement(licenses, versions);
        self.authority.create_pak("Example Corp", &entitlement, now()).await.unwrap().code
    }
}

pub fn entitlement(licenses: &[&str], versions: &[u64]) -> Entitlement {
    Entitlement {
        licenses: licenses
            .iter()
            .map(|l| seatmeter_server::authority::parse_license_spec(l).unwrap())
            .collect(),
        product_major_versions: versions.to_vec(),
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn pool(body: &Value, kind: &str) -> i64 {
    body.as_array()
        .unwrap_or_else(|| body["pools"].as_array().unwrap())
        .iter()
        .find(|p| p["kind"] == kind)
        .map_or(-1, |p| p["installed"].as_i64().unwrap())
}

async fn enter_pak(app: &TestApp, token: &str, pak: &str) -> (u16, Value) {
    app.call(Method::POST, "/v1/licenses/paks", token, Some(json!({"pak": pak}))).await
}

async fn upload(app: &TestApp, token: &str, file: &LicenseFile) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/v1/licenses/files", app.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(serde_json::to_string(file).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_pak_entered_by_an_administrator_installs_signed_licenses_and_bad_files_are_refused_with_the_reason()
 {
    let authority = TestAuthority::start().await;
    for app in apps_with(&authority.settings(), &Clock::system(), None).await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let (account, token) = (created.account.id.clone(), created.token.clone());

        // A new account is in its free trial.
        let (status, compliance) = app.call(Method::GET, "/v1/compliance", &token, None).await;
        assert_eq!(status, 200, "{compliance}");
        assert_eq!(compliance["conditions"][0]["condition"], "trial");
        assert_eq!(compliance["trial_days_left"], 180);
        assert!(
            compliance["banners"][0].as_str().unwrap().starts_with("Free trial: 180 days left"),
            "{compliance}"
        );

        // The administrator enters a PAK: registered, verified, installed.
        let expiry =
            jiff::Timestamp::from_millisecond(now() + 90 * DAY).unwrap().strftime("%Y-%m-%d").to_string();
        let pak =
            authority.pak(&["host=5", "scheduled_meetings=3", &format!("live_engagement=2@{expiry}")]).await;
        let (status, installed) = app
            .call(Method::POST, "/v1/licenses/paks", &token, Some(json!({"pak": pak.to_lowercase()})))
            .await;
        assert_eq!(status, 201, "{}: {installed}", app.backend());
        assert_eq!(installed["outcome"], "installed");
        assert_eq!((pool(&installed, "host"), pool(&installed, "scheduled_meetings")), (5, 3));
        assert_eq!(pool(&installed, "live_engagement"), 2);
        let (_, pools) = app.call(Method::GET, "/v1/licenses", &token, None).await;
        assert_eq!(pool(&pools, "host"), 5);

        // No trial any more; a temporary license banner; synchronisation expected.
        let (_, compliance) = app.call(Method::GET, "/v1/compliance", &token, None).await;
        assert_eq!(compliance["conditions"], json!([]), "{compliance}");
        assert_eq!(compliance["temporary_licenses"][0]["kind"], "live_engagement");
        assert_eq!(compliance["temporary_licenses"][0]["count"], 2);
        assert!(
            compliance["banners"][0].as_str().unwrap().starts_with("Temporary licenses: 2 live_engagement")
        );
        assert_eq!(compliance["sync"]["pak"], pak.as_str());
        assert!(compliance["sync"]["last_sync_at"].is_string());
        let registered = authority.authority.pak(&pak).await.unwrap();
        assert_eq!(registered.account_id.as_deref(), Some(account.as_str()));
        assert_eq!(registered.registrations[0].server_id, "test-server");

        // The same PAK again changes nothing.
        let (status, again) = enter_pak(&app, &token, &pak).await;
        assert_eq!((status, again["outcome"].as_str()), (201, Some("unchanged")));

        // A file changed after signing, one for another account, one signed
        // by another authority, and one whose licenses all expired.
        let good = authority.authority.issue(&pak, &account).await.unwrap();
        let tampered =
            LicenseFile { license: good.license.replace("\"count\":5", "\"count\":500"), ..good.clone() };
        let (status, error) = upload(&app, &token, &tampered).await;
        assert_eq!((status, error["code"].as_str()), (422, Some("license_tampered")), "{error}");
        assert!(error["message"].as_str().unwrap().contains("altered since it was signed"));

        let other_pak = authority.pak(&["host=1"]).await;
        let foreign = authority.authority.issue(&other_pak, "acc_someone_else").await.unwrap();
        let (status, error) = upload(&app, &token, &foreign).await;
        assert_eq!((status, error["code"].as_str()), (422, Some("license_foreign_account")), "{error}");

        let other_key = seatmeter_server::license_file::new_signing_key();
        let body = serde_json::from_str(&good.license).unwrap();
        let (status, error) = upload(&app, &token, &sign(&body, &other_key)).await;
        assert_eq!((status, error["code"].as_str()), (422, Some("license_wrong_key")), "{error}");

        let expired_pak = authority.pak(&["host=9@2026-01-01"]).await;
        let expired = authority.authority.issue(&expired_pak, &account).await.unwrap();
        let (status, error) = upload(&app, &token, &expired).await;
        assert_eq!((status, error["code"].as_str()), (422, Some("license_expired")), "{error}");

        let (status, error) = upload(&app, &token, &LicenseFile { format: "x".into(), ..good.clone() }).await;
        assert_eq!((status, error["code"].as_str()), (422, Some("license_malformed")));

        // An unknown PAK, and one registered to another account: the caller's
        // to fix (a 4xx with its own code), with the authority's reason.
        let (status, error) = app
            .call(Method::POST, "/v1/licenses/paks", &token, Some(json!({"pak": "PAK-0000-0000-0000-0000"})))
            .await;
        assert_eq!((status, error["code"].as_str()), (404, Some("pak_unknown")), "{error}");
        assert!(error["message"].as_str().unwrap().contains("no PAK"), "{error}");
        let (status, error) =
            app.call(Method::POST, "/v1/licenses/paks", &token, Some(json!({"pak": other_pak}))).await;
        assert_eq!((status, error["code"].as_str()), (409, Some("pak_registered_elsewhere")), "{error}");
        assert!(error["message"].as_str().unwrap().contains("another account"), "{error}");

        // Members cannot install licenses.
        let (_, member) = app
            .call(Method::POST, "/v1/users", &token, Some(json!({"email": "m@example.com", "name": "M"})))
            .await;
        let member_token = token_for(&app, &account, member["id"].as_str().unwrap()).await;
        let (status, _) = upload(&app, &member_token, &good).await;
        assert_eq!(status, 403);

        // The vendor adds licenses to the PAK: the next sync installs them.
        authority
            .authority
            .update_pak(&pak, &entitlement(&["host=8", "scheduled_meetings=3"], &[0]), now())
            .await
            .unwrap();
        assert_eq!(sync_account(&app.state, &account, app.state.clock.now()).await.unwrap(), None);
        let (_, pools) = app.call(Method::GET, "/v1/licenses", &token, None).await;
        assert_eq!((pool(&pools, "host"), pool(&pools, "live_engagement")), (8, 0));
        // The older file of the same PAK is refused: reduced licenses cannot come back.
        let (status, error) = upload(&app, &token, &good).await;
        assert_eq!((status, error["code"].as_str()), (409, Some("license_older")), "{error}");
        let (_, files) = app.call(Method::GET, "/v1/licenses/files", &token, None).await;
        let files = files.as_array().unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(
            (files[0]["installed_via"].as_str(), files[0]["replaced_at"].is_null()),
            (Some("sync"), true)
        );
        assert_eq!(
            (files[1]["installed_via"].as_str(), files[1]["replaced_at"].is_null()),
            (Some("pak"), false)
        );
        app.finish().await;
    }
}

/// Moves the clock day by day (to 02:30 UTC) and runs the due
/// synchronisations and audits.
async fn days(app: &TestApp, clock: &Clock, from: i64, to: i64) {
    days_on(&app.state, clock, from, to).await;
}

async fn days_on(state: &seatmeter_server::Services, clock: &Clock, from: i64, to: i64) {
    let mut t = from.div_euclid(DAY) * DAY + DAY / 48 * 5;
    while t <= to {
        clock.set(t);
        jobs::sync::step(state, t).await.unwrap();
        jobs::audit::step(state, t).await.unwrap();
        t += DAY;
    }
    clock.set(to);
}

async fn notices(app: &TestApp, token: &str) -> Vec<String> {
    let (status, list) = app.call(Method::GET, "/v1/notifications", token, None).await;
    assert_eq!(status, 200, "{list}");
    let mut keys: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (n["created_at"].as_str().unwrap().to_string(), n["notice_key"].as_str().unwrap().to_string())
        })
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|(_, k)| k.split('/').map(str::to_string).collect::<Vec<_>>())
        .map(|p| format!("{}/{}", p[0], p[3]))
        .collect()
}

#[tokio::test]
async fn a_trial_warns_then_disables_the_account_and_licenses_lift_it_at_once() {
    let authority = TestAuthority::start().await;
    let start = now();
    let clock = Clock::manual(start);
    for app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let token = created.token.clone();
        let created_ms = start;

        // A meeting left running (nobody joined: it counts for nothing) is
        // ended automatically by the first audit after its maximum duration,
        // before the audit's own transaction.
        let (_, open) =
            app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "Left on"}))).await;
        let open = open["id"].as_str().unwrap();
        let at = jiff::Timestamp::from_millisecond(start - 3_600_000).unwrap().to_string();
        let started = json!([{"idempotency_key": "open-s", "meeting_id": open, "type": "started", "at": at}]);
        let (status, _) = app.call(Method::POST, "/v1/events", &token, Some(started)).await;
        assert_eq!(status, 200);

        let first = days(&app, &clock, created_ms, created_ms + 149 * DAY);
        tokio::time::timeout(std::time::Duration::from_secs(60), first).await.expect("the audits finish");
        assert_eq!(notices(&app, &token).await, Vec::<String>::new());
        days(&app, &clock, created_ms + 150 * DAY, created_ms + 151 * DAY).await;
        assert_eq!(notices(&app, &token).await, ["trial/started"]);
        let (_, list) = app.call(Method::GET, "/v1/notifications", &token, None).await;
        assert_eq!(list[0]["recipients"], "admin@example.com");
        assert!(
            list[0]["subject"].as_str().unwrap().starts_with("Seatmeter: your free trial ends on"),
            "{list}"
        );

        // Still usable on day 179.
        days(&app, &clock, created_ms + 152 * DAY, created_ms + 179 * DAY).await;
        let (status, weekly) =
            app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "Weekly"}))).await;
        assert_eq!(status, 201, "{}", app.backend());
        let weekly = weekly["id"].as_str().unwrap().to_string();

        // Day 180: disabled, with an e-mail; nobody can schedule.
        days(&app, &clock, created_ms + 180 * DAY, created_ms + 181 * DAY).await;
        assert_eq!(notices(&app, &token).await, ["trial/started", "trial/disabled"]);
        let (_, compliance) = app.call(Method::GET, "/v1/compliance", &token, None).await;
        assert_eq!(compliance["disabled"], true, "{compliance}");
        let (status, error) =
            app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "Weekly"}))).await;
        assert_eq!((status, error["code"].as_str()), (409, Some("account_disabled")), "{error}");
        assert!(error["message"].as_str().unwrap().contains("free trial has ended"), "{error}");
        // Nobody may host or attend, and the answer says why.
        for check in ["admission", "attendance"] {
            let (status, answer) =
                app.call(Method::GET, &format!("/v1/meetings/{weekly}/{check}"), &token, None).await;
            assert_eq!(
                (status, answer["allowed"].as_bool(), answer["code"].as_str()),
                (200, Some(false), Some("account_disabled")),
                "{answer}"
            );
            assert!(answer["reason"].as_str().unwrap().contains("free trial has ended"), "{answer}");
        }
        // The administration API still works.
        let (status, _) = app.call(Method::GET, "/v1/users", &token, None).await;
        assert_eq!(status, 200);

        // Licenses installed: enabled at once.
        let pak = authority.pak(&["host=5"]).await;
        let (status, installed) = enter_pak(&app, &token, &pak).await;
        assert_eq!(status, 201, "{installed}");
        assert_eq!(installed["disabled_reason"], Value::Null);
        let (status, _) =
            app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "Weekly"}))).await;
        assert_eq!(status, 201);
        // Running the day's audit again sends nothing new.
        days(&app, &clock, created_ms + 181 * DAY, created_ms + 182 * DAY).await;
        assert_eq!(notices(&app, &token).await, ["trial/started", "trial/disabled"]);
        app.finish().await;
    }
}

/// Midnight UTC of a date, in milliseconds.
fn date(text: &str) -> i64 {
    format!("{text}T00:00:00Z").parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

/// A member user; returns its id.
async fn member(app: &TestApp, token: &str, email: &str) -> String {
    let (status, user) =
        app.call(Method::POST, "/v1/users", token, Some(json!({"email": email, "name": email}))).await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_string()
}

/// One meeting of an hour for each of `hosts` at `at`, with a web attendee: one host license each.
async fn meetings(app: &TestApp, token: &str, hosts: &[&str], at: i64) {
    let mut events = Vec::new();
    for host in hosts {
        let (status, meeting) = app
            .call(Method::POST, "/v1/meetings", token, Some(json!({"title": "Review", "host_user_id": host})))
            .await;
        assert_eq!(status, 201, "{meeting}");
        let id = meeting["id"].as_str().unwrap();
        events.push(json!({"idempotency_key": format!("{id}-s"), "meeting_id": id, "type": "started", "at": rfc3339(at)}));
        events
            .push(json!({"idempotency_key": format!("{id}-j"), "meeting_id": id, "type": "attendee_joined",
            "at": rfc3339(at + 60_000), "attendee": "guest@example.org", "portion": "web"}));
        events.push(json!({"idempotency_key": format!("{id}-e"), "meeting_id": id, "type": "ended", "at": rfc3339(at + 3_600_000)}));
    }
    let (status, result) = app.call(Method::POST, "/v1/events", token, Some(Value::Array(events))).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["refused"], 0, "{result}");
}

async fn conditions(app: &TestApp, token: &str) -> Value {
    let (status, compliance) = app.call(Method::GET, "/v1/compliance", token, None).await;
    assert_eq!(status, 200, "{compliance}");
    compliance
}

#[tokio::test]
async fn an_overage_cured_in_its_grace_period_and_one_that_disables_the_account_until_licenses_are_added() {
    let authority = TestAuthority::start().await;
    let start = date("2025-01-01");
    let clock = Clock::manual(start);
    for app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        // Two accounts from the same day: one cures its overage, one does not.
        for cured in [true, false] {
            let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
            let (admin, token) = (created.admin.id.clone(), created.token.clone());
            let other = member(&app, &token, "host2@example.com").await;
            let pak = authority.pak(&["host=1"]).await;
            clock.set(start + DAY);
            let (status, installed) = enter_pak(&app, &token, &pak).await;
            assert_eq!(status, 201, "{installed}");

            // Windows of 30 days from 2025-01-01: two hosts in the first two, then one.
            meetings(&app, &token, &[&admin, &other], date("2025-01-10") + 36_000_000).await;
            meetings(&app, &token, &[&admin, &other], date("2025-02-10") + 36_000_000).await;
            let hosts_after: &[&str] = if cured { &[&admin] } else { &[&admin, &other] };
            for month in ["03", "04", "05", "06", "07", "08"] {
                meetings(&app, &token, hosts_after, date(&format!("2025-{month}-10")) + 36_000_000).await;
            }

            // The check of the first window (ends 2025-01-31) finds 2 hosts > 1 license.
            days(&app, &clock, start + DAY, date("2025-01-31") + DAY / 2).await;
            assert_eq!(notices(&app, &token).await, ["overage/started"]);
            let compliance = conditions(&app, &token).await;
            assert_eq!(compliance["conditions"][0]["condition"], "overage", "{compliance}");
            assert_eq!(compliance["conditions"][0]["disable_at"], "2025-07-31T00:00:00Z");
            let (_, list) = app.call(Method::GET, "/v1/notifications", &token, None).await;
            assert!(
                list[0]["body"].as_str().unwrap().contains("2 host licenses used and 1 installed"),
                "{list}"
            );
            assert!(list[0]["subject"].as_str().unwrap().contains("2025-07-31"), "{list}");

            // The second check (2025-03-02) still finds it: a new e-mail.
            days(&app, &clock, date("2025-02-01"), date("2025-03-02") + DAY / 2).await;
            assert_eq!(notices(&app, &token).await, ["overage/started", "overage/reminder"]);

            days(&app, &clock, date("2025-03-03"), date("2025-04-01") + DAY / 2).await;
            if cured {
                // One host in the third window: the overage is over, nothing more is sent.
                assert_eq!(conditions(&app, &token).await["conditions"], json!([]));
                days(&app, &clock, date("2025-04-02"), date("2025-09-01")).await;
                assert_eq!(notices(&app, &token).await, ["overage/started", "overage/reminder"]);
                assert_eq!(conditions(&app, &token).await["disabled"], false);
                continue;
            }
            // Still over every 30 days until six months after the first check: disabled.
            days(&app, &clock, date("2025-04-02"), date("2025-07-30") + DAY / 2).await;
            assert_eq!(conditions(&app, &token).await["disabled"], false);
            days(&app, &clock, date("2025-07-31"), date("2025-07-31") + DAY / 2).await;
            let sent = notices(&app, &token).await;
            // Checks on Mar 2, Apr 1, May 1, May 31, Jun 30 and Jul 30 each sent a reminder.
            assert_eq!(sent.iter().filter(|n| *n == "overage/reminder").count(), 6, "{sent:?}");
            assert_eq!(sent.last().map(String::as_str), Some("overage/disabled"));
            let compliance = conditions(&app, &token).await;
            assert_eq!(compliance["disabled"], true, "{compliance}");
            let (status, error) =
                app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "x"}))).await;
            assert_eq!((status, error["code"].as_str()), (409, Some("account_disabled")));

            // The vendor adds a license; entering the PAK again lifts it at once.
            authority.authority.update_pak(&pak, &entitlement(&["host=2"], &[0]), now()).await.unwrap();
            let (status, installed) = enter_pak(&app, &token, &pak).await;
            assert_eq!((status, &installed["disabled_reason"]), (201, &Value::Null), "{installed}");
            assert_eq!(conditions(&app, &token).await["conditions"], json!([]));
            let (status, _) =
                app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "x"}))).await;
            assert_eq!(status, 201);
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn temporary_licenses_show_in_a_banner_and_their_expiry_returns_the_account_to_its_trial() {
    let authority = TestAuthority::start().await;
    let start = date("2025-01-01");
    let clock = Clock::manual(start);
    for app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        let pak = authority.pak(&["host=3@2025-03-01", "scheduled_meetings=2@2025-03-01"]).await;
        clock.set(start + 10 * DAY);
        let (status, _) = enter_pak(&app, &token, &pak).await;
        assert_eq!(status, 201);
        let compliance = conditions(&app, &token).await;
        assert_eq!(compliance["conditions"], json!([]), "{compliance}");
        assert_eq!(compliance["temporary_licenses"].as_array().unwrap().len(), 2);
        assert_eq!(compliance["temporary_licenses"][0]["expires_at"], "2025-03-01T00:00:00Z");
        assert!(
            compliance["banners"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b.as_str().unwrap().contains("Temporary licenses: 3 host"))
        );

        days(&app, &clock, start + 10 * DAY, date("2025-03-01") + DAY / 2).await;
        let compliance = conditions(&app, &token).await;
        assert_eq!(compliance["temporary_licenses"], json!([]));
        assert_eq!(compliance["conditions"][0]["condition"], "trial", "{compliance}");
        // 120.5 days to 2025-06-30: 121 days left, counting today.
        assert_eq!(compliance["trial_days_left"], 121, "{compliance}");
        let (_, pools) = app.call(Method::GET, "/v1/licenses", &token, None).await;
        assert_eq!((pool(&pools, "host"), pool(&pools, "scheduled_meetings")), (0, 0));
        app.finish().await;
    }
}

#[tokio::test]
async fn an_upgrade_past_the_licensed_versions_gives_six_months_with_monthly_notices_then_updated_licenses_end_it()
 {
    let authority = TestAuthority::start().await;
    let start = date("2025-01-01");
    let clock = Clock::manual(start);
    for mut app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let (account, token) = (created.account.id.clone(), created.token.clone());
        let pak = authority.pak(&["host=10"]).await;
        clock.set(start + DAY);
        let (status, _) = enter_pak(&app, &token, &pak).await;
        assert_eq!(status, 201);
        days(&app, &clock, start + DAY, date("2025-02-01")).await;
        assert_eq!(conditions(&app, &token).await["conditions"], json!([]));

        // The product is upgraded to major version 1: a new server on the same data.
        let (base, upgraded) = app.second_server_with(Some(1)).await;
        days_on(&upgraded, &clock, date("2025-02-02"), date("2025-02-02") + DAY / 2).await;
        let (_, compliance) = get(&app, &base, &token, "/v1/compliance").await;
        assert_eq!(compliance["conditions"][0]["condition"], "out_of_date", "{compliance}");
        assert_eq!(compliance["conditions"][0]["disable_at"], "2025-08-02T02:30:00Z");
        assert_eq!(notices(&app, &token).await, ["out_of_date/started"]);

        // A notice each month, then disabled after six months.
        days_on(&upgraded, &clock, date("2025-02-03"), date("2025-08-01") + DAY / 2).await;
        assert_eq!(notices(&app, &token).await.len(), 6);
        days_on(&upgraded, &clock, date("2025-08-02"), date("2025-08-03")).await;
        let sent = notices(&app, &token).await;
        assert_eq!(sent.last().map(String::as_str), Some("out_of_date/disabled"), "{sent:?}");
        let (_, compliance) = get(&app, &base, &token, "/v1/compliance").await;
        assert_eq!(compliance["disabled"], true);

        // The vendor updates the PAK for version 1; the next sync installs it and ends the condition.
        authority.authority.update_pak(&pak, &entitlement(&["host=10"], &[0, 1]), now()).await.unwrap();
        assert_eq!(sync_account(&upgraded, &account, upgraded.clock.now()).await.unwrap(), None);
        let (_, compliance) = get(&app, &base, &token, "/v1/compliance").await;
        assert_eq!(
            (compliance["conditions"].clone(), compliance["disabled"].clone()),
            (json!([]), json!(false))
        );
        app.finish().await;
    }
}

async fn get(app: &TestApp, base: &str, token: &str, path: &str) -> (u16, Value) {
    let response = app.client.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_unreachable_authority_is_noticed_after_two_days_disables_after_six_months_and_a_sync_ends_it() {
    let mut authority = TestAuthority::start().await;
    let start = date("2025-01-01");
    let clock = Clock::manual(start);
    for app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        let pak = authority.pak(&["host=10"]).await;
        clock.set(start + DAY);
        let (status, _) = enter_pak(&app, &token, &pak).await;
        assert_eq!(status, 201);
        // Synchronising every 12 hours: all well for a month (the last sync on 2025-02-01 at 02:30).
        days(&app, &clock, start + DAY, date("2025-02-01") + DAY / 2).await;
        assert_eq!(conditions(&app, &token).await["conditions"], json!([]));

        // The authority goes away: failures are recorded, and after two days an e-mail.
        authority.stop().await;
        days(&app, &clock, date("2025-02-02"), date("2025-02-02") + DAY / 2).await;
        let compliance = conditions(&app, &token).await;
        assert_eq!(compliance["conditions"], json!([]), "{compliance}");
        assert!(
            compliance["sync"]["last_error"].as_str().unwrap().contains("cannot be reached"),
            "{compliance}"
        );
        days(&app, &clock, date("2025-02-03"), date("2025-02-04") + DAY / 2).await;
        assert_eq!(notices(&app, &token).await, ["contact_lost/started"]);
        assert_eq!(conditions(&app, &token).await["disabled"], false);

        // Reconnecting ends it.
        authority.restart().await;
        days(&app, &clock, date("2025-02-05"), date("2025-02-06")).await;
        assert_eq!(conditions(&app, &token).await["conditions"], json!([]));

        // Six months without contact: monthly e-mails, then disabled.
        authority.stop().await;
        days(&app, &clock, date("2025-02-07"), date("2025-08-10")).await;
        let sent = notices(&app, &token).await;
        assert_eq!(sent.iter().filter(|n| *n == "contact_lost/reminder").count(), 5, "{sent:?}");
        assert_eq!(sent.last().map(String::as_str), Some("contact_lost/disabled"));
        assert_eq!(conditions(&app, &token).await["disabled"], true);

        // A successful sync lifts it.
        authority.restart().await;
        days(&app, &clock, date("2025-08-11"), date("2025-08-11") + DAY / 2).await;
        let compliance = conditions(&app, &token).await;
        assert_eq!(
            (compliance["disabled"].clone(), compliance["conditions"].clone()),
            (json!(false), json!([]))
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn two_servers_on_one_database_run_each_daily_audit_once() {
    let start = date("2025-01-01");
    let clock = Clock::manual(start);
    for mut app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        for i in 0..3 {
            app.create_account_at("Example Corp", &format!("admin{i}@example.com"), start).await;
        }
        let (_, second) = app.second_server_with(None).await;
        let mut total = 0;
        for day in 1..=20 {
            let t = start + day * DAY + DAY / 48 * 5;
            clock.set(t);
            let (a, b) = tokio::join!(jobs::audit::step(&app.state, t), jobs::audit::step(&second, t));
            let ran = a.unwrap() + b.unwrap();
            assert_eq!(ran, 3, "{}: day {day}: {ran} audits for 3 accounts", app.backend());
            total += ran;
        }
        assert_eq!(total, 60);
        app.finish().await;
    }
}

#[tokio::test]
async fn the_daily_audit_follows_the_account_time_zone() {
    let start = date("2025-01-10") + 15 * 3_600_000;
    let clock = Clock::manual(start);
    for app in apps_with(&Settings::default(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        assert_eq!(conditions(&app, &token).await["next_audit_at"], "2025-01-11T02:00:00Z");
        let (status, account) = app
            .call(Method::PATCH, "/v1/account", &token, Some(json!({"time_zone": "America/New_York"})))
            .await;
        assert_eq!((status, account["time_zone"].as_str()), (200, Some("America/New_York")), "{account}");
        // 02:00 EST is 07:00 UTC.
        assert_eq!(conditions(&app, &token).await["next_audit_at"], "2025-01-11T07:00:00Z");
        let (status, error) =
            app.call(Method::PATCH, "/v1/account", &token, Some(json!({"time_zone": "Mars/Olympus"}))).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("time_zone")), "{error}");
        let (_, user) = app
            .call(Method::POST, "/v1/users", &token, Some(json!({"email": "m@example.com", "name": "M"})))
            .await;
        let member = token_for(&app, &created.account.id, user["id"].as_str().unwrap()).await;
        let (status, _) =
            app.call(Method::PATCH, "/v1/account", &member, Some(json!({"name": "Mine"}))).await;
        assert_eq!(status, 403);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_server_that_was_down_catches_up_with_one_audit_and_one_notice() {
    let authority = TestAuthority::start().await;
    let start = date("2025-01-01");
    let clock = Clock::manual(start);
    for app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let (admin, token) = (created.admin.id.clone(), created.token.clone());
        let other = member(&app, &token, "host2@example.com").await;
        let pak = authority.pak(&["host=1"]).await;
        clock.set(start + DAY);
        let (status, _) = enter_pak(&app, &token, &pak).await;
        assert_eq!(status, 201);
        meetings(&app, &token, &[&admin, &other], date("2025-01-10")).await;
        meetings(&app, &token, &[&admin, &other], date("2025-02-10")).await;
        // Down from 2025-01-02 to 2025-03-05: two checks missed (Jan 31, Mar 2).
        let now = date("2025-03-05") + 9 * 3_600_000;
        clock.set(now);
        assert_eq!(jobs::sync::step(&app.state, now).await.unwrap(), 1);
        assert_eq!(jobs::audit::step(&app.state, now).await.unwrap(), 1, "one audit, not one per day missed");
        assert_eq!(jobs::audit::step(&app.state, now).await.unwrap(), 0);
        // Both checks were applied; one e-mail, for the current period, names the disable date.
        assert_eq!(notices(&app, &token).await, ["overage/reminder"]);
        let compliance = conditions(&app, &token).await;
        assert_eq!(compliance["conditions"][0]["since"], "2025-01-31T00:00:00Z", "{compliance}");
        assert_eq!(compliance["last_audit_at"], "2025-03-05T02:00:00Z");
        assert_eq!(compliance["next_audit_at"], "2025-03-06T02:00:00Z");
        app.finish().await;
    }
}

#[tokio::test]
async fn licenses_installed_just_before_an_audit_keep_the_account_enabled() {
    let authority = TestAuthority::start().await;
    let start = date("2025-01-01");
    let clock = Clock::manual(start);
    for app in apps_with(&authority.settings(), &clock, None).await {
        clock.set(start);
        let created = app.create_account_at("Example Corp", "admin@example.com", start).await;
        let token = created.token.clone();
        days(&app, &clock, start, date("2025-07-01") + DAY / 2).await;
        assert_eq!(conditions(&app, &token).await["disabled"], true);
        // Installed at 02:10, after the 02:00 audit fell due and before it ran.
        clock.set(date("2025-07-02") + 2 * 3_600_000 + 600_000);
        let pak = authority.pak(&["host=5"]).await;
        let (status, installed) = enter_pak(&app, &token, &pak).await;
        assert_eq!((status, &installed["disabled_reason"]), (201, &Value::Null), "{installed}");
        let t = date("2025-07-02") + 2 * 3_600_000 + 1_800_000;
        clock.set(t);
        assert_eq!(jobs::audit::step(&app.state, t).await.unwrap(), 1);
        let compliance = conditions(&app, &token).await;
        assert_eq!(
            (compliance["disabled"].clone(), compliance["conditions"].clone()),
            (json!(false), json!([]))
        );
        let (_, pools) = app.call(Method::GET, "/v1/licenses", &token, None).await;
        assert_eq!(pool(&pools, "host"), 5);
        app.finish().await;
    }
}

#[tokio::test]
async fn concurrent_installs_of_one_file_install_it_once() {
    let authority = TestAuthority::start().await;
    for app in apps_with(&authority.settings(), &Clock::system(), None).await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let (account, token) = (created.account.id.clone(), created.token.clone());
        let pak = authority.pak(&["host=7"]).await;
        let file = authority.authority.issue(&pak, &account).await.unwrap();
        let mut uploads = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (client, url, token) =
                (app.client.clone(), format!("{}/v1/licenses/files", app.base), token.clone());
            let body = serde_json::to_string(&file).unwrap();
            uploads.spawn(async move {
                let response = client
                    .post(url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.json::<Value>().await.unwrap())
            });
        }
        let answers = uploads.join_all().await;
        let installed = answers.iter().filter(|(s, b)| *s == 201 && b["outcome"] == "installed").count();
        let unchanged = answers.iter().filter(|(s, b)| *s == 201 && b["outcome"] == "unchanged").count();
        assert_eq!((installed, unchanged), (1, 7), "{}: {answers:?}", app.backend());
        let (_, pools) = app.call(Method::GET, "/v1/licenses", &token, None).await;
        assert_eq!(pool(&pools, "host"), 7);
        app.finish().await;
    }
}
