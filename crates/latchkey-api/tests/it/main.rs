//! The HTTP API over a real embedded chain and a real database: one server per test.

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod admin;
mod bad_input;
mod browser;
mod idempotency;
mod metrics;
mod native;
mod pin;
mod recovery;
mod reorg;
mod security;
mod stats;
mod support;
mod users;
