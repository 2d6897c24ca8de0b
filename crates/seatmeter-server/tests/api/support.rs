//! Starting the real server against a fresh database.

use seatmeter_core::people::Email;
use seatmeter_server::Clock;
use seatmeter_server::app::accounts::{self, CreatedAccount};
use seatmeter_server::app::compliance::Licensing;
use seatmeter_server::settings::DatabaseLocation;
use seatmeter_server::{Db, Services, Settings};

/// A running server with its own database.
pub struct TestApp {
    pub base: String,
    location: DatabaseLocation,
    others: Vec<tokio::sync::oneshot::Sender<()>>,
    pub db: Db,
    /// The server's state (shared with it): its clock, its caches.
    pub state: Services,
    settings: Settings,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    postgres_database: Option<String>,
    _dir: tempfile::TempDir,
}

/// The PostgreSQL server to test against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("SEATMETER_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

fn random_suffix() -> String {
    seatmeter_server::secrets::new_id("t").to_lowercase()
}

/// A server on SQLite, and one on PostgreSQL when configured: every story runs on each.
pub async fn apps() -> Vec<TestApp> {
    apps_with(&Settings::default(), &Clock::system(), None).await
}

/// Like [`apps`], with these settings, this clock, and (when given) another
/// product major version than this build's.
pub async fn apps_with(settings: &Settings, clock: &Clock, product_major: Option<u64>) -> Vec<TestApp> {
    let mut apps = vec![spawn(None, settings, clock, product_major).await];
    if let Some(url) = postgres_url() {
        apps.push(spawn(Some(url), settings, clock, product_major).await);
    }
    apps
}

fn licensing(settings: &Settings, product_major: Option<u64>) -> Licensing {
    let mut licensing = Licensing::from_settings(settings).unwrap();
    if let Some(major) = product_major {
        licensing.product_major = major;
    }
    licensing
}

async fn spawn(
    postgres: Option<String>,
    settings: &Settings,
    clock: &Clock,
    product_major: Option<u64>,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut postgres_database = None;
    let location = match postgres {
        None => DatabaseLocation::Sqlite(dir.path().join("seatmeter.db")),
        Some(admin_url) => {
            let name = format!("seatmeter_{}", random_suffix());
            let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            postgres_database = Some(name.clone());
            DatabaseLocation::Postgres(with_database(&admin_url, &name))
        }
    };
    let db = Db::open(&location).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = Services::new(db.clone(), licensing(settings, product_major), clock.clone());
    let (server_state, server_settings) = (state.clone(), settings.clone());
    let server = tokio::spawn(async move {
        seatmeter_server::serve_state(listener, server_state, &server_settings, async {
            let _ = rx.await;
        })
        .await
    });
    TestApp {
        base,
        location,
        others: Vec::new(),
        db,
        state,
        settings: settings.clone(),
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        server: Some(server),
        postgres_database,
        _dir: dir,
    }
}

/// `url` pointing at database `name` instead.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestApp {
    /// The SQLite database file, when the server runs on SQLite.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.location {
            DatabaseLocation::Sqlite(path) => Some(path.clone()),
            DatabaseLocation::Postgres(_) => None,
        }
    }

    /// "sqlite" or "postgres", for messages.
    pub fn backend(&self) -> &'static str {
        self.db.backend()
    }

    /// Creates an account through the same code as `seatmeter account create`.
    pub async fn create_account(&self, name: &str, email: &str) -> CreatedAccount {
        let now = jiff::Timestamp::now().as_millisecond();
        accounts::create(&self.db, name, &Email::parse(email).unwrap(), "Admin", now).await.unwrap()
    }

    /// Creates an account as if at `now_ms` (scenarios that start in the past).
    pub async fn create_account_at(&self, name: &str, email: &str, now_ms: i64) -> CreatedAccount {
        accounts::create(&self.db, name, &Email::parse(email).unwrap(), "Admin", now_ms).await.unwrap()
    }

    /// GET `path`, with `token` when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// `method path` with `token` and a JSON `body`; returns the status and the JSON answer (null when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json =
            if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).unwrap() };
        (status, json)
    }

    /// Sets the account's installed licenses of `kind`.
    pub async fn install(&self, account_id: &str, kind: seatmeter_core::people::LicenseKind, installed: i64) {
        let now = jiff::Timestamp::now().as_millisecond();
        seatmeter_server::app::licenses::set_installed(&self.db, account_id, kind, installed, now)
            .await
            .unwrap();
    }

    /// Starts another server, with its own connection pool, on the same
    /// database (as a second replica would); returns its base URL.
    pub async fn second_server(&mut self) -> String {
        self.second_server_with(None).await.0
    }

    /// A second server on the same database, with the same clock (and,
    /// when given, another product major version); returns its base URL
    /// and its state.
    pub async fn second_server_with(&mut self, product_major: Option<u64>) -> (String, Services) {
        let db = Db::open(&self.location).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let clock = self.state.clock.clone();
        let state = Services::new(db, licensing(&self.settings, product_major), clock);
        let (server_state, settings) = (state.clone(), self.settings.clone());
        tokio::spawn(async move {
            seatmeter_server::serve_state(listener, server_state, &settings, async {
                let _ = rx.await;
            })
            .await
        });
        self.others.push(tx);
        (base, state)
    }

    /// Stops the server gracefully and drops its PostgreSQL database.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for other in self.others.drain(..) {
            let _ = other.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        if let (Some(name), Some(url), Db::Postgres(pool)) =
            (&self.postgres_database, postgres_url(), &self.db)
        {
            pool.close().await;
            let admin = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&admin)
                .await
                .unwrap();
        }
    }
}

/// A new API token for user `user_id` of account `account_id`.
pub async fn token_for(app: &TestApp, account_id: &str, user_id: &str) -> String {
    let now = jiff::Timestamp::now().as_millisecond();
    seatmeter_server::app::tokens::issue_for(&app.state, account_id, user_id, "test", now)
        .await
        .unwrap()
        .token
}
