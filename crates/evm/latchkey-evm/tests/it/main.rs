//! The EVM backend on a real anvil through the port: every test starts its own node
//! (free port, killed on drop) with EntryPoint v0.8 and latchkey's contracts. Skipped,
//! saying so, without Node.js (mandatory when LATCHKEY_REQUIRE_NODE is set).

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lifecycle;
mod sessions;
mod support;
