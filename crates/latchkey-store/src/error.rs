//! The crate's error type and the mapping from driver errors.

use sqlx::error::ErrorKind;

/// Names of the unique constraints, identical on both backends.
///
/// [`StoreError::Conflict`] carries one of these, so callers can tell which duplicate
/// they hit without parsing driver messages.
pub mod constraints {
    /// `api_keys (key_hash)`.
    pub const API_KEY_HASH: &str = "api_keys_key_hash_key";
    /// `wallets (org_id, chain, address)`.
    pub const WALLET_ORG_ADDRESS: &str = "wallets_org_chain_address_key";
    /// `wallets (org_id, chain, external_user_id)`: one account per user per chain.
    pub const WALLET_ORG_EXTERNAL_USER: &str = "wallets_org_chain_external_user_key";
    /// `sessions (wallet_id, session_public_key)`.
    pub const SESSION_WALLET_KEY: &str = "sessions_wallet_key_key";
    /// `requests (chain, account, oe_nonce)`: one record per signed payload.
    pub const REQUEST_ACCOUNT_OE_NONCE: &str = "requests_chain_account_nonce_key";
    /// `idempotency_keys (org_id, principal, idempotency_key)`.
    pub const IDEMPOTENCY_ORG_KEY: &str = "idempotency_keys_pkey";
    /// `organizations (token_issuer_key)`: one organisation per (issuer, audience).
    pub const ORG_TOKEN_ISSUER: &str = "organizations_token_issuer_key";
    /// `challenges (challenge)`.
    pub const CHALLENGE: &str = "challenges_pkey";

    /// SQLite reports a unique violation as `UNIQUE constraint failed: t.a, t.b`; this maps
    /// the column list back to the constraint name PostgreSQL reports.
    pub(crate) fn from_sqlite_columns(columns: &str) -> Option<&'static str> {
        Some(match columns {
            "api_keys.key_hash" => API_KEY_HASH,
            "wallets.org_id, wallets.chain, wallets.address" => WALLET_ORG_ADDRESS,
            "wallets.org_id, wallets.chain, wallets.external_user_id" => WALLET_ORG_EXTERNAL_USER,
            "sessions.wallet_id, sessions.session_public_key" => SESSION_WALLET_KEY,
            "requests.chain, requests.account, requests.oe_nonce" => REQUEST_ACCOUNT_OE_NONCE,
            "idempotency_keys.org_id, idempotency_keys.principal, idempotency_keys.idempotency_key" => {
                IDEMPOTENCY_ORG_KEY
            }
            "organizations.token_issuer_key" => ORG_TOKEN_ISSUER,
            "challenges.challenge" => CHALLENGE,
            "wallet_key_events.id" => "wallet_key_events_id_key",
            "gas_usage.org_id, gas_usage.scope, gas_usage.scope_key, gas_usage.day" => {
                "gas_usage_pkey"
            }
            "organizations.id" => "organizations_id_key",
            "api_keys.id" => "api_keys_pkey",
            "wallets.id" => "wallets_id_key",
            "sessions.id" => "sessions_id_key",
            "requests.id" => "requests_id_key",
            "relayers.chain, relayers.address" => "relayers_pkey",
            "user_sessions.org_id, user_sessions.subject" => "user_sessions_pkey",
            _ => return None,
        })
    }
}

/// Errors returned by [`Store`](crate::Store).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint rejected the write; `constraint` is one of [`constraints`].
    #[error("conflict on unique constraint {constraint}")]
    Conflict {
        /// Name of the violated constraint.
        constraint: String,
    },
    /// The row addressed by the call does not exist (or a referenced row is missing).
    #[error("not found")]
    NotFound,
    /// The database was migrated by a newer latchkey; this build refuses to touch it.
    #[error(
        "database schema version {found} is newer than this build knows ({known}); \
         upgrade latchkey or point it at another database"
    )]
    UnknownSchema {
        /// Highest migration version recorded in the database.
        found: i64,
        /// Highest migration version this build ships.
        known: i64,
    },
    /// The connection URL is not a supported `sqlite://` or `postgres://` URL.
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// Any other database or driver failure.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// Whether this is a unique-constraint conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Whether this is a conflict on the named constraint.
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, Self::Conflict { constraint } if constraint == name)
    }

    /// Whether the addressed row does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Database(format!("unexpected stored value: {what}"))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    let constraint = match db.constraint() {
                        Some(name) => name.to_owned(),
                        None => {
                            let columns = db
                                .message()
                                .split_once("constraint failed: ")
                                .map_or(db.message(), |(_, cols)| cols)
                                .trim();
                            constraints::from_sqlite_columns(columns)
                                .map_or_else(|| columns.to_owned(), str::to_owned)
                        }
                    };
                    Self::Conflict { constraint }
                }
                ErrorKind::ForeignKeyViolation => Self::NotFound,
                _ => Self::Database(db.to_string()),
            },
            other => Self::Database(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::Database(format!("migration failed: {err}"))
    }
}

/// `Result` with [`StoreError`] as the default error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
