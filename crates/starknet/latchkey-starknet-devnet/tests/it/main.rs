//! End-to-end tests on the embedded chain. Every test starts its own devnet and drops it.

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend;
mod lifecycle;
mod state;
mod support;
mod threats;
mod vectors;
