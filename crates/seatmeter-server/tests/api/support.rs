//! Starting the real server against a fresh database.

use seatmeter_core::people::Email;
use seatmeter_server::settings::DatabaseLocation;
use seatmeter_server::store::{self, CreatedAccount};
use seatmeter_server::{Db, Settings};

/// A running server with its own database.
pub struct TestApp {
    pub base: String,
    pub db: Db,
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
    let mut apps = vec![spawn(None).await];
    if let Some(url) = postgres_url() {
        apps.push(spawn(Some(url)).await);
    }
    apps
}

async fn spawn(postgres: Option<String>) -> TestApp {
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
    let server_db = db.clone();
    let server = tokio::spawn(async move {
        seatmeter_server::serve(listener, server_db, &Settings::default(), async {
            let _ = rx.await;
        })
        .await
    });
    TestApp {
        base,
        db,
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
    /// "sqlite" or "postgres", for messages.
    pub fn backend(&self) -> &'static str {
        self.db.backend()
    }

    /// Creates an account through the same code as `seatmeter account create`.
    pub async fn create_account(&self, name: &str, email: &str) -> CreatedAccount {
        let now = jiff::Timestamp::now().as_millisecond();
        store::create_account(&self.db, name, &Email::parse(email).unwrap(), "Admin", now).await.unwrap()
    }

    /// GET `path`, with `token` when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Stops the server gracefully and drops its PostgreSQL database.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        if let (Some(name), Some(url), Db::Postgres(pool)) =
            (&self.postgres_database, postgres_url(), &self.db)
        {
            pool.close().await;
            let admin = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                .execute(&admin)
                .await
                .unwrap();
        }
    }
}
