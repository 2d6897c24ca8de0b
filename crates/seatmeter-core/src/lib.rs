//! Seatmeter's pure core: no I/O, no async, no database.
//!
//! - [`time`]: instants as UTC nanoseconds, RFC 3339 parsing and formatting;
//! - [`usage`]: the host-license usage engine (batch and incremental);
//! - [`log`]: the meeting-log record format (header, fields, validation);
//! - [`people`]: e-mail addresses, roles, admin areas and license kinds;
//! - [`access`]: typed account and user ids, rights, and who may change them;
//! - [`availability`]: booking-page hours, checked where they enter;
//! - [`meeting`]: a meeting's facts from its events in any order, and admission;
//! - [`sign_in`]: throttling failed sign-ins (delays, lockout, the hourly cap);
//! - [`compliance`]: the compliance engine (trial, overage, out-of-date
//!   licenses, lost contact; grace periods, notices, the disabled state).
//!
//! Everything that depends on the current time takes it as an argument.

pub mod access;
pub mod availability;
pub mod compliance;
pub mod log;
pub mod meeting;
pub mod people;
pub mod sign_in;
pub mod time;
pub mod usage;
