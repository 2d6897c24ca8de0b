//! Licenses from a real license authority on loopback, and compliance
//! scenarios driven day by day with a manual clock.

use reqwest::Method;
use seatmeter_server::Settings;
use seatmeter_server::authority::{Authority, Entitlement};
use seatmeter_server::compliance::{self, Clock};
use seatmeter_server::license_file::{LicenseFile, public_key_text, sign};
use serde_json::{Value, json};

use crate::support::{TestApp, apps_with, token_for};

const DAY: i64 = 86_400_000;

/// A license authority serving on a loopback port.
pub struct TestAuthority {
    pub authority: Authority,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestAuthority {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Authority::init(dir.path()).await.unwrap();
        let authority = Authority::open(dir.path()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = authority.clone();
        tokio::spawn(async move { served.serve(listener, std::future::pending()).await });
        Self { authority, url, _dir: dir }
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
        let (status, again) =
            app.call(Method::POST, "/v1/licenses/paks", &token, Some(json!({"pak": pak}))).await;
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

        // An unknown PAK, and one registered to another account: the authority's reason.
        let (status, error) = app
            .call(Method::POST, "/v1/licenses/paks", &token, Some(json!({"pak": "PAK-0000-0000-0000-0000"})))
            .await;
        assert_eq!((status, error["code"].as_str()), (502, Some("authority")), "{error}");
        assert!(error["message"].as_str().unwrap().contains("no PAK"), "{error}");
        let (status, error) =
            app.call(Method::POST, "/v1/licenses/paks", &token, Some(json!({"pak": other_pak}))).await;
        assert_eq!(status, 502);
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
        assert_eq!(compliance::sync_account(&app.state, &account).await.unwrap(), None);
        let (_, pools) = app.call(Method::GET, "/v1/licenses", &token, None).await;
        assert_eq!((pool(&pools, "host"), pool(&pools, "live_engagement")), (8, 0));
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

/// Moves the clock day by day (to 02:30 UTC) and runs the due audits.
async fn days(app: &TestApp, clock: &Clock, from: i64, to: i64) {
    let mut t = from.div_euclid(DAY) * DAY + DAY / 48 * 5;
    while t <= to {
        clock.set(t);
        compliance::run_due_audits(&app.state, t).await.unwrap();
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

        days(&app, &clock, created_ms, created_ms + 149 * DAY).await;
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
        let (status, _) =
            app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "Weekly"}))).await;
        assert_eq!(status, 201, "{}", app.backend());

        // Day 180: disabled, with an e-mail; nobody can schedule.
        days(&app, &clock, created_ms + 180 * DAY, created_ms + 181 * DAY).await;
        assert_eq!(notices(&app, &token).await, ["trial/started", "trial/disabled"]);
        let (_, compliance) = app.call(Method::GET, "/v1/compliance", &token, None).await;
        assert_eq!(compliance["disabled"], true, "{compliance}");
        let (status, error) =
            app.call(Method::POST, "/v1/meetings", &token, Some(json!({"title": "Weekly"}))).await;
        assert_eq!((status, error["code"].as_str()), (409, Some("account_disabled")), "{error}");
        assert!(error["message"].as_str().unwrap().contains("free trial has ended"), "{error}");
        // The administration API still works.
        let (status, _) = app.call(Method::GET, "/v1/users", &token, None).await;
        assert_eq!(status, 200);

        // Licenses installed: enabled at once.
        let pak = authority.pak(&["host=5"]).await;
        let (status, installed) =
            app.call(Method::POST, "/v1/licenses/paks", &token, Some(json!({"pak": pak}))).await;
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
