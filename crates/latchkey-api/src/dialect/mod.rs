//! The API's dialects, one folder each: its routes, its request and response shapes, and
//! how it words its errors. What they share (wallet creation and lookup, the chain's
//! signing domain, custody proofs, idempotency) lives beside them in the crate.
//!
//! - [`native`] under `/api`: latchkey's own API;
//! - [`chipi`] under `/v1`: the Chipi REST API v1, as `@chipi-stack/backend` calls it.

pub(crate) mod chipi;
pub(crate) mod native;
