//! latchkey's Cairo contracts: the session-key account, a demo game, and a small call
//! forwarder used by the test suite.

pub mod account;
pub mod game;
pub mod interfaces;
pub mod outside_execution;
pub mod session;
pub mod spending;
pub mod testing;
