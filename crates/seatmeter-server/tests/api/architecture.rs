//! The shape of the server's code, checked on its source: one clock, the
//! layers pointing one way, the API description unchanged, and every
//! request traced.

use std::path::{Path, PathBuf};

use crate::support::apps;

fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(source_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code of a file without its comments (so that a doc comment may
/// name what it forbids): a line from its `//` when that begins the line or
/// follows a space (so `"http://…"` in a string is kept).
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().map(without_comment).collect::<Vec<_>>().join("\n")
}

fn without_comment(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return "";
    }
    line.find(" //").map_or(line, |at| &line[..at])
}

#[test]
fn nothing_but_the_clock_reads_the_system_time() {
    let clock = src().join("clock.rs");
    let mut found = Vec::new();
    for file in source_files(&src()) {
        if file == clock {
            continue;
        }
        let code = code_of(&file);
        for forbidden in ["Timestamp::now(", "SystemTime::now(", "Zoned::now(", "Utc::now(", "now_ms()"] {
            if code.contains(forbidden) {
                found.push(format!("{} reads the time with {forbidden}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "read the time from the services' clock instead:\n{}", found.join("\n"));
}

/// What a layer's files may not name: the layers above them, HTTP below
/// `http/`, and (for the two front layers) the database handle and
/// transactions, and the API's handlers called as functions (an axum
/// extractor built by hand: `State(state.clone())`).
const LAYERS: [(&str, &[&str]); 5] = [
    ("store", &["crate::app", "crate::http", "crate::console", "crate::jobs", "axum::"]),
    ("app", &["crate::http", "crate::console", "crate::jobs", "axum::", "StatusCode"]),
    ("http", &["crate::console", "crate::jobs", ".db.", "store::Tx", ".begin()"]),
    (
        "console",
        &["crate::jobs", ".db.", "store::Tx", ".begin()", "State(state.clone())", "Path(id.clone())"],
    ),
    ("jobs", &["crate::http", "crate::console", "axum::"]),
];

/// The store functions `code` calls (`store::table::function(`): the front
/// layers may name store row types, never run a statement.
fn store_calls(code: &str) -> Vec<String> {
    let mut calls = Vec::new();
    for (at, _) in code.match_indices("store::") {
        let rest = &code[at + "store::".len()..];
        let table: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let Some(rest) = rest[table.len()..].strip_prefix("::") else { continue };
        let function: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let starts_lower = function.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if starts_lower && rest[function.len()..].starts_with('(') {
            calls.push(format!("store::{table}::{function}("));
        }
    }
    calls
}

#[test]
fn the_layers_point_one_way() {
    let mut found = Vec::new();
    for (layer, forbidden) in LAYERS {
        for file in source_files(&src().join(layer)) {
            let code = code_of(&file);
            for name in forbidden {
                if code.contains(name) {
                    found.push(format!("{} ({layer}/) names {name}", file.display()));
                }
            }
            if layer == "http" || layer == "console" || layer == "jobs" {
                for call in store_calls(&code) {
                    found.push(format!("{} ({layer}/) runs a statement: {call}", file.display()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "see docs/architecture.md for which layer may use which:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_layer_check_reads_code_not_comments() {
    assert_eq!(without_comment("    // crate::http is named here"), "");
    assert_eq!(without_comment("let x = 1; // crate::http"), "let x = 1;");
    assert_eq!(
        without_comment(r#"let url = "http://example.com"; crate::http::x();"#),
        r#"let url = "http://example.com"; crate::http::x();"#
    );
}

#[test]
fn the_layer_check_sees_a_store_call() {
    assert_eq!(store_calls("let u = crate::store::users::get(&db, a, b).await?;"), ["store::users::get("]);
    assert!(store_calls("fn f(row: crate::store::users::UserRow) {}").is_empty());
    assert!(store_calls("use crate::store::{self, DbError};").is_empty());
}

#[tokio::test]
async fn every_answer_carries_its_request_id() {
    for app in apps().await {
        let answer = app.get("/healthz", None).await;
        let id = answer.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 16, "a new id is 8 random bytes in hex: {id}");
        let again = app.get("/healthz", None).await;
        assert_ne!(again.headers()["x-request-id"].to_str().unwrap(), id, "each request has its own id");

        let given = app.client.get(format!("{}/v1/account", app.base)).header("x-request-id", "trace-42.a_b");
        let answer = given.send().await.unwrap();
        assert_eq!(answer.status(), 401);
        assert_eq!(answer.headers()["x-request-id"], "trace-42.a_b", "the caller's own id is kept");

        for odd in ["has space", "<script>", &"x".repeat(65)] {
            let answer = app
                .client
                .get(format!("{}/livez", app.base))
                .header("x-request-id", odd)
                .send()
                .await
                .unwrap();
            let id = answer.headers()["x-request-id"].to_str().unwrap().to_string();
            assert_ne!(id, odd);
            assert_eq!(id.len(), 16);
        }
        app.finish().await;
    }
}

/// The API description as it was before the server was put in layers:
/// the layers changed no path, operation or schema. An intended change
/// of the API updates `openapi.json` in the same commit, and says so.
#[test]
fn the_api_description_is_unchanged() {
    let saved: serde_json::Value =
        serde_json::from_str(include_str!("openapi.json")).expect("tests/api/openapi.json is JSON");
    let now = serde_json::to_value(seatmeter_server::http::openapi()).unwrap();
    if std::env::var_os("SEATMETER_SAVE_OPENAPI").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/openapi.json");
        let mut text = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
        serde::Serialize::serialize(&now, &mut serde_json::Serializer::with_formatter(&mut text, formatter))
            .unwrap();
        text.push(b'\n');
        std::fs::write(path, text).unwrap();
        return;
    }
    if saved != now {
        let mut differences = Vec::new();
        diff("", &saved, &now, &mut differences);
        panic!(
            "the API description changed ({} differences); if intended, save the new one with \
             `SEATMETER_SAVE_OPENAPI=1 cargo test -p seatmeter-server --test api the_api_description`:\n{}",
            differences.len(),
            differences.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => diff(&format!("{path}/{k}"), v, w, out),
                    None => out.push(format!("removed {path}/{k}")),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("added {path}/{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ if a != b => out.push(format!("changed {path}: {a} -> {b}")),
        _ => {}
    }
}

/// The longest a source file and a function may be. A function may be
/// longer only if its doc comment says it is a state machine that reads
/// top to bottom.
const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 80;
const STATE_MACHINE: &str = "state machine";

/// The functions over [`MAX_FN_LINES`] in `text`: (line, name, length).
fn long_functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut long = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let signature = trimmed
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ")
            .trim_start_matches("const ")
            .trim_start_matches("async ");
        if let Some(rest) = signature.strip_prefix("fn ")
            && !line.trim_end().ends_with(';')
        {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let end =
                (i..lines.len()).find(|&j| lines[j] == format!("{indent}}}")).unwrap_or(lines.len() - 1);
            let length = end - i + 1;
            let doc = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim_start().starts_with("///"))
                .any(|l| l.contains(STATE_MACHINE));
            if length > MAX_FN_LINES && !doc {
                long.push((i + 1, name, length));
            }
            i = end;
        }
        i += 1;
    }
    long
}

#[test]
fn no_source_file_or_function_is_too_long_to_read() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = Vec::new();
    for krate in ["seatmeter-core", "seatmeter-server", "seatmeter"] {
        for file in source_files(&crates.join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES {
                found.push(format!("{}: {lines} lines (at most {MAX_FILE_LINES})", file.display()));
            }
            for (line, name, length) in long_functions(&text) {
                found.push(format!(
                    "{}:{line}: fn {name} is {length} lines (at most {MAX_FN_LINES})",
                    file.display()
                ));
            }
        }
    }
    assert!(found.is_empty(), "split these into named steps:\n{}", found.join("\n"));
}

#[test]
fn the_length_check_finds_long_functions_and_spares_state_machines() {
    let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
    let long = format!("fn long() {{\n{body}}}\n");
    assert_eq!(long_functions(&long), [(1, "long".to_string(), MAX_FN_LINES + 2)]);
    let machine = format!("/// A state machine that reads top to bottom.\npub fn audit() {{\n{body}}}\n");
    assert!(long_functions(&machine).is_empty());
    let short = "pub async fn short() {\n    1;\n}\n";
    assert!(long_functions(short).is_empty());
}

/// Everything the servers of this test binary log, once [`capture_logs`] ran.
static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    let _ = tracing_subscriber::fmt().with_writer(|| LogWriter).with_ansi(false).try_init();
}

#[tokio::test]
async fn a_server_error_is_logged_with_its_request_route_and_account() {
    capture_logs();
    for app in apps().await {
        let created = app.create_account("Example Corp", "admin@example.com").await;
        // The activity stream's table gone: a change that records an activity fails inside the server.
        match &app.db {
            seatmeter_server::Db::Sqlite(db) => {
                sqlx::query("DROP TABLE activities").execute(&db.pool).await.unwrap();
            }
            seatmeter_server::Db::Postgres(pool) => {
                sqlx::query("DROP TABLE activities").execute(pool).await.unwrap();
            }
        }
        let answer = app
            .client
            .patch(format!("{}/v1/account", app.base))
            .bearer_auth(&created.token)
            .json(&serde_json::json!({"name": "Renamed"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 500, "{}", app.backend());
        let id = answer.headers()["x-request-id"].to_str().unwrap().to_string();
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"code": "internal", "message": "the server failed; try again later"})
        );
        let logs = String::from_utf8_lossy(&LOGS.lock().unwrap()).to_string();
        let line = logs.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("no log line names {id}"));
        for part in [
            "ERROR",
            "method=PATCH",
            "route=/v1/account",
            &format!("account={}", created.account.id),
            "request failed",
        ] {
            assert!(line.contains(part), "{part} missing in {line}");
        }
        assert!(!line.contains(&created.token), "the log never holds a token: {line}");
        app.finish().await;
    }
}

#[tokio::test]
async fn reading_usage_and_compliance_writes_nothing() {
    for app in apps().await {
        let Some(path) = app.sqlite_path() else {
            app.finish().await;
            continue;
        };
        let created = app.create_account("Example Corp", "admin@example.com").await;
        let token = &created.token;
        // The token's first use records when it was used (a write, once a minute).
        assert_eq!(app.get("/v1/account", Some(token)).await.status(), 200);
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).read_only(true);
        let mut watcher = sqlx::ConnectOptions::connect(&options).await.unwrap();
        let version = || sqlx::query_as::<_, (i64,)>("PRAGMA data_version");
        let (before,) = version().fetch_one(&mut watcher).await.unwrap();
        for path in
            ["/v1/usage", "/v1/usage?format=csv", "/v1/compliance", "/v1/licenses", "/v1/meetings/export"]
        {
            assert_eq!(app.get(path, Some(token)).await.status(), 200, "{path}");
        }
        let (after,) = version().fetch_one(&mut watcher).await.unwrap();
        assert_eq!(before, after, "a read committed a write to the database");
        // The check itself sees a write.
        let (status, _) = app
            .call(reqwest::Method::PATCH, "/v1/account", token, Some(serde_json::json!({"name": "Renamed"})))
            .await;
        assert_eq!(status, 200);
        let (written,) = version().fetch_one(&mut watcher).await.unwrap();
        assert_ne!(written, after, "PRAGMA data_version sees the server's commits");
        sqlx::Connection::close(watcher).await.unwrap();
        app.finish().await;
    }
}
