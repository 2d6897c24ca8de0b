//! Two `seatmeter serve` processes sharing one database never over-assign a
//! license pool: 50 concurrent assignments at 10 free licenses, exactly 10
//! succeed. On SQLite always, and on PostgreSQL when
//! `SEATMETER_TEST_DATABASE_URL` names a server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use crate::support::Dir;

fn http(address: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
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

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(place: &[String]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatmeter"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(place)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("is listening on http://") {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "the server stopped before listening");
    }
    let address = line.split("http://").nth(1).unwrap().split(' ').next().unwrap().to_string();
    // Keep reading its log so that it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
    Server { child, address }
}

fn seatmeter(args: &[&str], place: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_seatmeter")).args(args).args(place).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn race(place: &[String]) {
    let created =
        seatmeter(&["account", "create", "--name", "Race", "--admin-email", "admin@example.com"], place);
    let token = created.split_whitespace().find(|w| w.starts_with("smt_")).unwrap().to_string();
    let account = created.split(['(', ')']).nth(1).unwrap().to_string();
    seatmeter(
        &["licenses", "set", "--account", &account, "--kind", "scheduled_meetings", "--installed", "10"],
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
        let id = body.split("\"id\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        users.push(id);
    }
    let threads: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(i, user)| {
            let address = if i % 2 == 0 { a.address.clone() } else { b.address.clone() };
            let token = token.clone();
            std::thread::spawn(move || {
                http(
                    &address,
                    "POST",
                    "/v1/licenses/scheduled_meetings/assignments",
                    &token,
                    &format!(r#"{{"user_id":"{user}"}}"#),
                )
            })
        })
        .collect();
    let results: Vec<(u16, String)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
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

#[test]
fn two_servers_on_one_sqlite_file_never_over_assign() {
    let dir = Dir::new();
    race(&["--data-dir".to_string(), dir.path("data").display().to_string()]);
}

#[test]
fn two_servers_on_one_postgresql_never_over_assign() {
    let Some(admin_url) = std::env::var("SEATMETER_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        return;
    };
    let name = format!("seatmeter_race_{}", std::process::id());
    let psql = |sql: &str| {
        let status = Command::new("psql").args([admin_url.as_str(), "-qc", sql]).status().unwrap();
        assert!(status.success(), "psql {sql}");
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    psql(&format!("CREATE DATABASE {name}"));
    let base = admin_url.split('?').next().unwrap();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    race(&["--database-url".to_string(), url]);
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
