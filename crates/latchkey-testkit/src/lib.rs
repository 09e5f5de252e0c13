//! Fixtures for latchkey's tests, in a crate of their own so that no production crate
//! needs a `testing` feature: the server and the test suite then compile every shared
//! dependency with one feature set, and the release build is done once.
//!
//! * [`TestDatabase`]: a throwaway SQLite file or PostgreSQL database.
//! * [`TestIssuer`]: an ES256 JWKS issuer on 127.0.0.1 minting end-user tokens.
//! * [`FaultProxy`]: a proxy between latchkey and a node that injects network faults.

mod db;
mod issuer;
mod proxy;

pub use db::{TestDatabase, POSTGRES_URL_ENV, REQUIRE_POSTGRES_ENV};
pub use issuer::{TestIssuer, AUDIENCE, ISSUER};
pub use proxy::{Chaos, Fault, FaultProxy};
