//! Integration tests of the `seatmeter` command, run as a user would run it.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its line.

mod abuse;
mod licensing;
mod live_usage;
mod replicas;
mod serve;
mod support;
mod usage;
mod usage_errors;
mod usage_inputs;
