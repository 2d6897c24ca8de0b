//! The one clock of the server. Every operation, job and page reads the
//! time from [`Clock::now`] in the [`crate::app::Services`]; nothing else in
//! the server reads the system time (a test keeps it so). Tests that drive
//! whole scenarios month by month use a manual clock and move it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The system clock, or a clock moved by hand (tests). The server binary
/// always uses the system clock.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that shows `ms` until moved (for tests).
    pub fn manual(ms: i64) -> Self {
        Self(Some(Arc::new(AtomicI64::new(ms))))
    }

    /// Moves a manual clock to `ms`.
    pub fn set(&self, ms: i64) {
        if let Some(at) = &self.0 {
            at.store(ms, Ordering::SeqCst);
        }
    }

    /// The current time in UTC milliseconds.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Some(at) => at.load(Ordering::SeqCst),
            None => jiff::Timestamp::now().as_millisecond(),
        }
    }
}

/// UTC milliseconds as RFC 3339, as the API, the activity stream and the
/// license authority show instants.
pub fn rfc3339_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}
