//! The server under abuse, run as a user would run it: connections that
//! stall mid-headers or mid-body are closed, connections beyond the limit
//! are refused while service resumes as soon as the stalled ones are gone,
//! and bursts of sign-ins from many sources leave memory where it was.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Dir;

/// A server process, stopped when dropped (also when a test fails).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server started with `env`, and its address.
fn start(data: &std::path::Path, env: &[(&str, &str)]) -> (Running, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_seatmeter"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SEATMETER_DATA_DIR", data)
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(server.stderr.take().unwrap());
    let mut first = String::new();
    log.read_line(&mut first).unwrap();
    let address = first.split("http://").nth(1).unwrap().split(' ').next().unwrap().to_string();
    std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
    (Running(server), address)
}

/// The resident memory of process `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

/// The status line of a GET of `path`.
fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.lines().next().unwrap_or_default().to_string()
}

/// Whether the server closes `stream` within `within` (what it sent first, if anything).
fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => Some(String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()),
        // Closed with what we sent unread: a reset.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Some(String::new()),
        Err(_) => None,
    }
}

#[test]
fn stalled_connections_are_closed_and_service_comes_back() {
    let dir = Dir::new();
    let limits = [
        ("SEATMETER_HEADER_TIMEOUT_SECONDS", "1"),
        ("SEATMETER_BODY_TIMEOUT_SECONDS", "1"),
        ("SEATMETER_MAX_CONNECTIONS", "20"),
    ];
    let (_server, address) = start(&dir.path("data"), &limits);
    assert!(get(&address, "/healthz").contains("200"));
    let created = Command::new(env!("CARGO_BIN_EXE_seatmeter"))
        .args(["account", "create", "--name", "Example Corp", "--admin-email", "admin@example.com"])
        .env("SEATMETER_DATA_DIR", dir.path("data"))
        .output()
        .unwrap();
    let printed = String::from_utf8(created.stdout).unwrap();
    let token = printed.split_whitespace().find(|w| w.starts_with("smt_")).unwrap().to_string();

    // Twenty connections stall: half mid-headers, half mid-body.
    let mut stalled: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut stream = TcpStream::connect(&address).unwrap();
            if i % 2 == 0 {
                write!(stream, "GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
            } else {
                write!(
                    stream,
                    "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: \
                     application/json\r\nContent-Length: 100\r\n\r\n{{\"email\""
                )
                .unwrap();
            }
            stream
        })
        .collect();
    // The limit is reached: one more is closed at once, unanswered.
    std::thread::sleep(Duration::from_millis(200));
    let mut over = TcpStream::connect(&address).unwrap();
    let _ = write!(over, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(closed_within(&mut over, Duration::from_secs(1)).as_deref(), Some(""), "over the limit");

    // Each stalled one is closed after its timeout (the stalled body with a 408).
    let started = Instant::now();
    for (i, stream) in stalled.iter_mut().enumerate() {
        let first = closed_within(stream, Duration::from_secs(5));
        assert!(first.is_some(), "connection {i} still open after {:?}", started.elapsed());
        if i % 2 == 1 {
            assert!(first.unwrap().contains("408"), "connection {i}");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(4), "closed after {:?}", started.elapsed());
    // Service is back.
    assert!(get(&address, "/healthz").contains("200"));
}

/// One sign-in attempt from source address `source`; the status code.
async fn sign_in_from(address: &str, source: std::net::Ipv4Addr, email: &str) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    let mut stream = socket.connect(address.parse().unwrap()).await.unwrap();
    let body = format!("csrf=abc&email={email}&password=wrong+guess+here");
    let request = format!(
        "POST /sign-in HTTP/1.1\r\nHost: x\r\nCookie: seatmeter_csrf=abc\r\nContent-Type: \
         application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
}

#[test]
fn bursts_of_sign_ins_from_many_sources_leave_memory_flat() {
    let dir = Dir::new();
    let (server, address) = start(&dir.path("data"), &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // One sign-in first: what a served server holds anyway.
    runtime.block_on(sign_in_from(&address, [127, 0, 0, 2].into(), "warm@example.com"));
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_mib(server.0.id());
    let mut peak = before;
    for round in 0..3u8 {
        let attempts = (0..60u8).map(|i| {
            let source = std::net::Ipv4Addr::new(127, 1, round, i + 1);
            let address = address.clone();
            async move { sign_in_from(&address, source, &format!("guess{round}x{i}@example.com")).await }
        });
        let answers = runtime.block_on(futures_join(attempts.collect()));
        peak = peak.max(rss_mib(server.0.id()));
        // Checked (wrong), or refused as busy: never a failure of the server.
        assert!(answers.iter().all(|s| *s == 401 || *s == 503), "round {round}: {answers:?}");
        assert!(answers.iter().filter(|s| **s == 401).count() >= 30, "round {round}: {answers:?}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_mib(server.0.id());
    println!(
        "resident memory: {before:.1} MiB before, {peak:.1} MiB at most, {after:.1} MiB after 180 sign-ins"
    );
    // Passwords are hashed one per core in memory kept for them: tens of MiB, not GiB.
    assert!(peak - before < 160.0, "grew from {before:.1} to {peak:.1} MiB");
    assert!(after - before < 120.0, "kept {after:.1} MiB after, from {before:.1}");
    assert!(get(&address, "/healthz").contains("200"));
}

/// Runs every future at once, each on its own task; their outputs in order.
async fn futures_join<T: Send + 'static>(futures: Vec<impl Future<Output = T> + Send + 'static>) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}
