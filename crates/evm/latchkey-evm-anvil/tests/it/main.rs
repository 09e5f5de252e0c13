//! Tests on a real anvil: every test starts its own node (free port, own temp dir) and
//! drops it. Skipped, saying so, without Node.js (mandatory when LATCHKEY_REQUIRE_NODE is
//! set).

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chain;
mod process;
mod support;
mod vectors;
