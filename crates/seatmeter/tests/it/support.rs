//! Running the real binary on files in a temporary directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The seed table of users A to K, shipped as the README's example.
pub fn example_log() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/meetings.csv")
}

/// What one run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `seatmeter ARGS`.
pub fn seatmeter(args: &[&str]) -> Run {
    seatmeter_with_stdin(args, b"")
}

/// Runs `seatmeter ARGS` with `stdin` as standard input.
pub fn seatmeter_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatmeter"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("seatmeter starts");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let output = child.wait_with_output().expect("seatmeter runs");
    writer.join().expect("stdin written");
    output.into()
}

/// A temporary directory with files written into it.
pub struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Dir { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `content` to `name` and returns its path as a string.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write test file");
        path.to_string_lossy().into_owned()
    }
}

pub const HEADER: &str = "meeting_id,host,start,end,web_attendees,phone_attendees\n";

/// A CSV log from rows written after the standard header.
pub fn csv(rows: &[&str]) -> String {
    let mut text = HEADER.to_string();
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

/// Runs `seatmeter usage --meetings <the example log> ARGS`.
pub fn usage_of_example(args: &[&str]) -> Run {
    let log = example_log();
    let mut all = vec!["usage", "--meetings", log.to_str().expect("a UTF-8 path")];
    all.extend_from_slice(args);
    seatmeter(&all)
}
