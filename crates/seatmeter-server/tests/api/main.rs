//! The server's API, exercised over HTTP against a real server on a
//! loopback port and a real database: a fresh SQLite file always, and a
//! fresh PostgreSQL database as well when `SEATMETER_TEST_DATABASE_URL`
//! names a server (`.ci/run` sets it).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test, with its line.

mod accounts;
mod activities;
mod architecture;
mod booking_pages;
mod browser;
mod compliance;
mod console;
mod credentials;
mod idempotency;
mod isolation;
mod licenses;
mod mail;
mod meetings;
mod operations;
mod privileges;
mod schema;
mod sign_ins;
mod strict_input;
mod support;
mod users;
