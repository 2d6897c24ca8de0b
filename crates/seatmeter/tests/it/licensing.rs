//! The vendor's `seatmeter authority` and a customer's `seatmeter licenses
//! install`, as separate processes: a PAK registered over HTTP on loopback,
//! and a license file installed offline.

use std::process::{Command, Stdio};

use crate::replicas::listening;
use crate::support::{Dir, seatmeter};

#[test]
fn a_vendor_makes_a_pak_and_a_customer_installs_it_online_and_from_a_file() {
    let dir = Dir::new();
    let authority_dir = dir.path("authority").display().to_string();
    let data = dir.path("data").display().to_string();

    let init = seatmeter(&["authority", "init", "--dir", &authority_dir]);
    assert!(init.code == 0, "{}", init.stderr);
    let public_key = init.stdout.lines().find_map(|l| l.trim().strip_prefix("ed25519:")).unwrap();
    let public_key = format!("ed25519:{public_key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path("authority/authority.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is its owner's alone");
    }
    let again = seatmeter(&["authority", "init", "--dir", &authority_dir]);
    assert!(again.code != 0 && again.stderr.contains("exists already"), "{}", again.stderr);

    let pak = seatmeter(&[
        "authority",
        "pak",
        "create",
        "--dir",
        &authority_dir,
        "--customer",
        "Example Corp",
        "--license",
        "host=25",
        "--license",
        "scheduled_meetings=10",
    ]);
    assert!(pak.code == 0, "{}", pak.stderr);
    let pak = pak.stdout.trim().to_string();
    assert!(pak.starts_with("PAK-"), "{pak}");

    let account = seatmeter(&[
        "account",
        "create",
        "--data-dir",
        &data,
        "--name",
        "Example",
        "--admin-email",
        "a@example.com",
    ]);
    assert!(account.code == 0, "{}", account.stderr);
    let account_id = account.stdout.split('(').nth(1).unwrap().split(')').next().unwrap().to_string();

    // Online: the PAK is registered with the running authority.
    let served = listening(
        &["authority", "serve", "--dir", &authority_dir, "--listen", "127.0.0.1:0"].map(String::from),
    );
    let url = format!("http://{}", served.address);
    let install = Command::new(env!("CARGO_BIN_EXE_seatmeter"))
        .args(["licenses", "install", "--data-dir", &data, "--account", &account_id, "--pak", &pak])
        .env("SEATMETER_AUTHORITY_URL", &url)
        .env("SEATMETER_AUTHORITY_PUBLIC_KEY", &public_key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&install.stdout);
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    assert!(stdout.contains("installed"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("host") && l.contains("installed     25")), "{stdout}");

    let list = seatmeter(&["authority", "pak", "list", "--dir", &authority_dir]);
    assert!(list.stdout.contains(&format!("account {account_id}")), "{}", list.stdout);
    assert!(list.stdout.contains("last sync"), "{}", list.stdout);

    // Offline: another PAK's file, issued for the account, installed from disk.
    let second = seatmeter(&[
        "authority",
        "pak",
        "create",
        "--dir",
        &authority_dir,
        "--customer",
        "Example Corp",
        "--license",
        "live_engagement=4",
    ]);
    let second = second.stdout.trim().to_string();
    let file = dir.path("license.json").display().to_string();
    let issued = seatmeter(&[
        "authority",
        "issue",
        "--dir",
        &authority_dir,
        "--pak",
        &second,
        "--account",
        &account_id,
        "--output",
        &file,
    ]);
    assert!(issued.code == 0, "{}", issued.stderr);
    let install = Command::new(env!("CARGO_BIN_EXE_seatmeter"))
        .args(["licenses", "install", "--data-dir", &data, "--account", &account_id, "--file", &file])
        .env("SEATMETER_AUTHORITY_PUBLIC_KEY", &public_key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&install.stdout);
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    assert!(
        stdout.lines().any(|l| l.starts_with("live_engagement") && l.contains("installed      4")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.starts_with("host") && l.contains("installed     25")), "{stdout}");

    // Without the authority's key nothing can be verified; the message says what to set.
    let install =
        seatmeter(&["licenses", "install", "--data-dir", &data, "--account", &account_id, "--file", &file]);
    assert!(install.code != 0);
    assert!(install.stderr.contains("authority_public_key"), "{}", install.stderr);

    // Setting pool sizes by hand is for development only, and says so.
    let set = seatmeter(&[
        "licenses",
        "set",
        "--data-dir",
        &data,
        "--account",
        &account_id,
        "--kind",
        "host",
        "--installed",
        "5",
    ]);
    assert!(set.code != 0 && set.stderr.contains("--development"), "{}", set.stderr);
}

#[test]
fn the_server_refuses_to_start_with_invalid_licensing_or_mail_settings() {
    let dir = Dir::new();
    let data = dir.path("data").display().to_string();
    for (key, value, expected) in [
        ("SEATMETER_AUTHORITY_PUBLIC_KEY", "ed25519:1234", "authority_public_key"),
        ("SEATMETER_SMTP_URL", "mail.example.com", "smtp_url"),
        ("SEATMETER_MAIL_FROM", "not an address", "mail_from"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_seatmeter"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", &data])
            .env(key, value)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A server that starts anyway is stopped after 10 s, and the test fails.
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let run = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success() && started.elapsed().as_secs() < 10, "{key}={value} was accepted");
        assert!(stderr.contains("invalid settings") && stderr.contains(expected), "{stderr}");
    }
}
