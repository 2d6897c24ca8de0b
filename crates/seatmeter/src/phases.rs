//! Optional timing of the phases of a long command, printed on standard
//! error when `SEATMETER_TRACE_PHASES=1`; for finding where time goes.

use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Option<Instant>> = OnceLock::new();

/// Starts the clock (if tracing is on); call once at the start of a command.
pub fn start() {
    START.get_or_init(|| {
        (std::env::var_os("SEATMETER_TRACE_PHASES").is_some_and(|v| v == "1")).then(Instant::now)
    });
}

/// Prints how long after [`start`] the phase `label` ended.
pub fn mark(label: &str) {
    if let Some(Some(start)) = START.get() {
        eprintln!("[{:>8.3} s] {label}", start.elapsed().as_secs_f64());
    }
}
