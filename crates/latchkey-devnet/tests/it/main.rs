//! End-to-end tests on the embedded chain. Every test starts its own devnet and drops it.

mod lifecycle;
mod support;
mod threats;
mod vectors;
