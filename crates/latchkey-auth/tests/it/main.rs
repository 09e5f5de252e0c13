//! Integration tests for latchkey-auth: JWT verification against a local JWKS server,
//! one test per threat J1–J7 of the security design, plus caching and start-up cases.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod jwt;
mod support;
