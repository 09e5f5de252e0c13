//! Integration tests of `latchkey-store`. Every behavioural test runs once per backend:
//! `<name>::sqlite` and `<name>::postgres` (the latter prints `SKIPPED` and passes when no
//! PostgreSQL is available, unless `LATCHKEY_REQUIRE_POSTGRES=1`).

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod admin;
mod concurrency;
mod constraints;
mod durability;
mod idempotency;
mod migration;
mod orgs;
mod pin_guard;
mod relayers;
mod requests;
mod schema;
mod security;
mod sessions;
mod wallets;
