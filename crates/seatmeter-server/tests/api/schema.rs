//! The SQLite and PostgreSQL schemas have the same tables and columns.

use std::collections::BTreeSet;

use seatmeter_server::Db;
use seatmeter_server::settings::DatabaseLocation;

use crate::support::{apps, postgres_url};

async fn columns(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = match db {
        Db::Sqlite(db) => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name NOT LIKE '\\_%' ESCAPE '\\'",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap(),
        Db::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_%'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    rows.into_iter().collect()
}

#[tokio::test]
async fn both_databases_have_the_same_tables_and_columns() {
    let apps = apps().await;
    let sqlite = columns(&apps[0].db).await;
    assert!(sqlite.contains(&("api_tokens".to_string(), "token_hash".to_string())), "{sqlite:?}");
    match apps.get(1) {
        Some(postgres) => assert_eq!(columns(&postgres.db).await, sqlite),
        None => assert!(postgres_url().is_none()),
    }
    for app in apps {
        app.finish().await;
    }
}

#[tokio::test]
async fn opening_again_applies_no_migration_twice() {
    let dir = tempfile::tempdir().unwrap();
    let location = DatabaseLocation::Sqlite(dir.path().join("nested/dir/seatmeter.db"));
    let first = Db::open(&location).await.unwrap();
    let before = columns(&first).await;
    drop(first);
    let again = Db::open(&location).await.unwrap();
    assert_eq!(columns(&again).await, before);
}
