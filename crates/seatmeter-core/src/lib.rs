//! Seatmeter's pure core: no I/O, no async, no database.
//!
//! - [`time`]: instants as UTC nanoseconds, RFC 3339 parsing and formatting;
//! - [`usage`]: the host-license usage engine (batch and incremental);
//! - [`log`]: the meeting-log record format (header, fields, validation);
//! - [`people`]: e-mail addresses and roles, checked where they enter.
//!
//! Everything that depends on the current time takes it as an argument.

pub mod log;
pub mod people;
pub mod time;
pub mod usage;
