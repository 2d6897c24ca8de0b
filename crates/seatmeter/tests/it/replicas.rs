//! Two `seatmeter serve` processes sharing one database never over-assign a
//! license pool (50 concurrent assignments at 10 free licenses: exactly 10
//! succeed) and never let a host run more meetings than its limit (20
//! concurrent starts for one host with limit 2: exactly 2 start). On SQLite
//! always, and on PostgreSQL when `SEATMETER_TEST_DATABASE_URL` names a
//! server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use crate::support::Dir;

pub(crate) fn http(address: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

pub(crate) struct Server {
    child: Child,
    pub(crate) address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(place: &[String]) -> Server {
    let mut args = vec!["serve".to_string(), "--listen".into(), "127.0.0.1:0".into()];
    args.extend(place.iter().cloned());
    listening(&args)
}

/// Runs `seatmeter ARGS` (a server) until it says it is listening; its address.
pub(crate) fn listening(args: &[String]) -> Server {
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_seatmeter")).args(args).stderr(Stdio::piped()).spawn().unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("is listening on http://") {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "the server stopped before listening");
    }
    let address = line.split("http://").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    // Keep reading its log so that it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
    Server { child, address }
}

fn seatmeter(args: &[&str], place: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_seatmeter")).args(args).args(place).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Creates an account; returns its id and the administrator's token.
pub(crate) fn account(place: &[String]) -> (String, String) {
    let created =
        seatmeter(&["account", "create", "--name", "Race", "--admin-email", "admin@example.com"], place);
    let token = created.split_whitespace().find(|w| w.starts_with("smt_")).unwrap().to_string();
    let account = created.split(['(', ')']).nth(1).unwrap().to_string();
    (account, token)
}

/// The value of the first `"id"` in a JSON answer.
pub(crate) fn id_of(body: &str) -> String {
    body.split("\"id\":\"").nth(1).unwrap().split('"').next().unwrap().to_string()
}

/// Sends each request from its own thread, alternating between the servers.
fn all_at_once(
    servers: [&Server; 2],
    token: &str,
    requests: Vec<(&'static str, String, String)>,
) -> Vec<(u16, String)> {
    let threads: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(i, (method, path, body))| {
            let address = servers[i % 2].address.clone();
            let token = token.to_string();
            std::thread::spawn(move || http(&address, method, &path, &token, &body))
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn race(place: &[String]) {
    let (account, token) = account(place);
    seatmeter(
        &[
            "licenses",
            "set",
            "--development",
            "--account",
            &account,
            "--kind",
            "scheduled_meetings",
            "--installed",
            "10",
        ],
        place,
    );

    let (a, b) = (start(place), start(place));
    let mut users = Vec::new();
    for i in 0..50 {
        let (status, body) = http(
            &a.address,
            "POST",
            "/v1/users",
            &token,
            &format!(r#"{{"email":"u{i}@example.com","name":"U{i}"}}"#),
        );
        assert_eq!(status, 201, "{body}");
        users.push(id_of(&body));
    }
    let requests = users
        .into_iter()
        .map(|user| {
            (
                "POST",
                "/v1/licenses/scheduled_meetings/assignments".to_string(),
                format!(r#"{{"user_id":"{user}"}}"#),
            )
        })
        .collect();
    let results = all_at_once([&a, &b], &token, requests);
    let ok = results.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&String> = results.iter().filter(|(s, _)| *s == 409).map(|(_, b)| b).collect();
    assert_eq!(ok, 10, "{results:?}");
    assert_eq!(refused.len(), 40, "{results:?}");
    assert!(refused.iter().all(|b| b.contains("no scheduled_meetings license is free")), "{refused:?}");
    let (_, pools) = http(&b.address, "GET", "/v1/licenses", &token, "");
    assert!(
        pools.contains(r#"{"kind":"scheduled_meetings","installed":10,"assigned":10,"free":0}"#),
        "{pools}"
    );
}

fn start_race(place: &[String]) {
    let (_, token) = account(place);
    let (a, b) = (start(place), start(place));
    let (status, body) =
        http(&a.address, "POST", "/v1/users", &token, r#"{"email":"alice@example.com","name":"Alice"}"#);
    assert_eq!(status, 201, "{body}");
    let alice = id_of(&body);
    let (status, body) =
        http(&b.address, "PATCH", &format!("/v1/users/{alice}"), &token, r#"{"concurrency_limit":2}"#);
    assert_eq!(status, 200, "{body}");
    let mut meetings = Vec::new();
    for i in 0..20 {
        let meeting = format!(r#"{{"title":"Meeting {i}","host_user_id":"{alice}"}}"#);
        let (status, body) = http(&a.address, "POST", "/v1/meetings", &token, &meeting);
        assert_eq!(status, 201, "{body}");
        meetings.push(id_of(&body));
    }
    let requests =
        meetings.iter().map(|m| ("POST", format!("/v1/meetings/{m}/start"), String::new())).collect();
    let results = all_at_once([&a, &b], &token, requests);
    let started = results.iter().filter(|(s, _)| *s == 200).count();
    let refused: Vec<&String> = results.iter().filter(|(s, _)| *s == 409).map(|(_, b)| b).collect();
    assert_eq!(started, 2, "{results:?}");
    assert_eq!(refused.len(), 18, "{results:?}");
    assert!(refused.iter().all(|b| b.contains("concurrency_limit")), "{refused:?}");
    let (_, running) = http(&b.address, "GET", "/v1/meetings?state=running", &token, "");
    assert_eq!(running.matches("\"state\":\"running\"").count(), 2, "{running}");
}

#[test]
fn two_servers_on_one_sqlite_file_never_over_assign() {
    let dir = Dir::new();
    race(&["--data-dir".to_string(), dir.path("data").display().to_string()]);
}

#[test]
fn two_servers_on_one_sqlite_file_never_start_more_than_the_limit() {
    let dir = Dir::new();
    start_race(&["--data-dir".to_string(), dir.path("data").display().to_string()]);
}

#[test]
fn two_servers_on_one_postgresql_never_over_assign() {
    on_a_new_postgresql_database("race", race);
}

#[test]
fn two_servers_on_one_postgresql_never_start_more_than_the_limit() {
    on_a_new_postgresql_database("start", start_race);
}

/// Runs `scenario` on a new database of the PostgreSQL server of
/// `SEATMETER_TEST_DATABASE_URL`, if one is named.
pub(crate) fn on_a_new_postgresql_database(label: &str, scenario: fn(&[String])) {
    let Some(admin_url) = std::env::var("SEATMETER_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        return;
    };
    let name = format!("seatmeter_{label}_{}", std::process::id());
    let psql = |sql: &str| {
        let status = Command::new("psql").args([admin_url.as_str(), "-qc", sql]).status().unwrap();
        assert!(status.success(), "psql {sql}");
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    psql(&format!("CREATE DATABASE {name}"));
    let base = admin_url.split('?').next().unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    scenario(&["--database-url".to_string(), url]);
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
