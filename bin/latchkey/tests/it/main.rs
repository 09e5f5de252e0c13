//! The `latchkey` binary as users run it: `latchkey serve` in a child process.

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bench;
mod browser;
mod chipi_nextjs;
mod chipi_sdk;
mod cli;
mod evm;
mod evm_contracts;
mod faults;
mod keys;
mod pin;
mod restart;
mod sdk_ts;
mod support;
mod walkthrough;
