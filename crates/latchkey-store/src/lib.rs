//! Persistence for latchkey: one [`Store`] over SQLite (the default) or PostgreSQL.
//!
//! The store keeps plain strings and integers; it knows nothing about Starknet types.
//! Felts are stored as lowercase minimal `0x` hex (callers normalise them), JSON documents
//! as text, ids as UUID v4 text, and timestamps as `i64` unix seconds.
//!
//! # Schema (version 1)
//!
//! | table | holds | unique |
//! |---|---|---|
//! | `organizations` | tenants, their settings, and when one was suspended | `id` |
//! | `api_keys` | **hashes** of API keys, kind, display prefix, revocation time, expiry (a rotated-out key's overlap) | `key_hash` |
//! | `operator_tokens` | **hashes** of the operator's admin API tokens, display prefix, expiry | `token_hash` |
//! | `audit_log` | append-only (triggers refuse updates and deletes): every admin change, who, what, to what, before and after | `seq` |
//! | `wallets` | address, owner public key, encrypted owner key (+ backup), external user id, class hash, deployment | `(org_id, address)`, `(org_id, external_user_id)` |
//! | `sessions` | session public key, policy (validity, call cap, allowed methods JSON), state | `(wallet_id, session_public_key)` |
//! | `requests` | the write-ahead record of every outside execution: typed data, signature, status, tx hash, relayer and nonce, fee, errors | `(account, oe_nonce)` |
//! | `idempotency_keys` | claimed keys with the request hash and the stored response | `(org_id, idempotency_key)` |
//! | `relayers` | per relayer account: lease owner and expiry, recorded nonce | `address` |
//! | `user_sessions` | end users' opaque session blobs | `(org_id, subject)` |
//! | `pin_guards` | per wallet address: consecutive unproved PIN (OPRF) evaluations, the lock they caused | `(org_id, address)` |
//! | `pin_events` | append-only: PIN locks, and resets by proof or by the organisation | `seq` |
//! | `allowed_origins` | the browser origins each organisation allows (normalised) | `(org_id, origin)` |
//! | `org_tokens` | ERC-20 tokens an organisation names by symbol on a chain | `(org_id, chain, symbol)` |
//!
//! Tables whose rows are listed in order carry a `seq` insertion counter (SQLite rowid,
//! PostgreSQL identity) that breaks ties between rows created in the same second. Unique
//! constraints have the same names on both backends and are reported as
//! [`StoreError::Conflict`] with one of the names in [`constraints`].
//!
//! Migrations live in `migrations/sqlite` and `migrations/postgres` (the DDL differs only
//! in types) and are compiled into the binary. [`Store::connect`] applies the missing ones
//! and **refuses to open** a database whose recorded version is newer than this build
//! ([`StoreError::UnknownSchema`]), so an old binary never writes into a newer schema.
//!
//! # Atomicity
//!
//! Every claim is a single conditional statement, never a read followed by a write:
//! idempotency keys and relayer leases are `INSERT … ON CONFLICT DO UPDATE … WHERE`,
//! gas reservations and request transitions are `UPDATE … WHERE <condition>` whose
//! affected-row count says whether the caller won. Multi-statement writes run in one
//! transaction.
//!
//! # Durability
//!
//! * **SQLite** runs in WAL mode with `synchronous=FULL`: every commit fsyncs the WAL, so
//!   an acknowledged write survives a process crash *and* a power loss (`NORMAL` would
//!   only survive the former). `foreign_keys=ON`, `busy_timeout=5000`. All writes go
//!   through a pool of exactly one connection, so writers in this process queue instead
//!   of contending for the lock; multi-statement write transactions start with
//!   `BEGIN IMMEDIATE`, so a transaction never upgrades a read lock (the case where SQLite
//!   reports `SQLITE_BUSY` without waiting). Reads use a separate pool and, in WAL mode,
//!   never block the writer. A second process on the same file waits up to the busy
//!   timeout.
//! * **PostgreSQL** keeps the server's durable defaults (`fsync=on`, which is checked and
//!   warned about at startup if off) and every connection sets `synchronous_commit=on`,
//!   so a commit is acknowledged only once flushed. Migrations run under sqlx's advisory
//!   lock, so several `latchkey serve` processes may start at once.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod challenges;
mod db;
mod error;
mod idempotency;
mod model;
// Before `admin`, which uses its column lists.
#[macro_use]
mod orgs;
mod admin;
mod pin_guard;
mod relayers;
mod requests;
mod sessions;
mod stats;
mod wallets;

pub use admin::NewApiKey;
pub use db::{now_unix, Store};
pub use error::{constraints, Result, StoreError};
pub use idempotency::IdempotencyScope;
pub use model::{
    ApiKey, ApiKeyKind, AuditEntry, AuditRecord, Backend, BudgetKey, Challenge, GasBudget,
    IdempotencyClaim, KeyEvent, KeyEventKind, NewKeyEvent, NewRequest, NewSession, NewWallet,
    OperatorToken, OrgToken, Organization, QuotaCharge, Request, RequestStatus, RequestUpdate,
    Reservation, ReserveOptions, Session, SessionState, StoredGrant, UserSession, Wallet,
};
pub use pin_guard::{PinAttempt, PinEvent, PinEventKind, PinGuard, PinPolicy};
pub use stats::{HourCount, RequestFilter, SessionSpan, SettledFee};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_can_be_shared_across_tasks() {
        fn shareable<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
        shareable::<Store>();
        shareable::<StoreError>();
    }
}
