//! The README's path to a working server: create an account, start the
//! server, call the API with the printed token, stop the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use crate::support::Dir;

/// A plain HTTP/1.1 GET on loopback; returns the status line and the body.
fn http_get(address: &str, path: &str, token: Option<&str>) -> (String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn from_an_empty_directory_to_an_answering_server_and_back() {
    let dir = Dir::new();
    let data = dir.path("data");
    let seatmeter = env!("CARGO_BIN_EXE_seatmeter");

    let mut server = Command::new(seatmeter)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SEATMETER_DATA_DIR", &data)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let mut first = String::new();
    log.read_line(&mut first).unwrap();
    let address = first.split("http://").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let mut hint = String::new();
    log.read_line(&mut hint).unwrap();
    assert!(hint.starts_with("There is no account yet"), "{hint}");

    let created = Command::new(seatmeter)
        .args(["account", "create", "--name", "Example Corp", "--admin-email", "admin@example.com"])
        .env("SEATMETER_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let printed = String::from_utf8(created.stdout).unwrap();
    let token = printed.split_whitespace().find(|w| w.starts_with("smt_")).unwrap().to_string();

    let (status, body) = http_get(&address, "/v1/account", Some(&token));
    assert!(status.contains("200"), "{status} {body}");
    assert!(body.contains("\"name\":\"Example Corp\""), "{body}");
    let (status, _) = http_get(&address, "/v1/account", None);
    assert!(status.contains("401"), "{status}");

    let bad = Command::new(seatmeter)
        .args(["account", "create", "--name", "X", "--admin-email", "not-an-address"])
        .env("SEATMETER_DATA_DIR", &data)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--admin-email \"not-an-address\" has no @"));
    let unnamed = Command::new(seatmeter)
        .args(["account", "create", "--name", "X", "--admin-email", "x@example.com", "--admin-name", " "])
        .env("SEATMETER_DATA_DIR", &data)
        .output()
        .unwrap();
    assert_eq!(unnamed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unnamed.stderr)
            .contains("the administrator's name must be 1 to 200 characters")
    );

    // SIGTERM: in-flight requests finish and the server stops cleanly.
    assert!(Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap().success());
    let mut rest = String::new();
    log.read_to_string(&mut rest).unwrap();
    assert!(server.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("Seatmeter stopped."), "{rest}");
}
