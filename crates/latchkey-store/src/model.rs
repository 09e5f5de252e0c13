//! Row types and the enums stored as text.

use std::fmt;
use std::str::FromStr;

use latchkey_core::Permission;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// Declares a text-backed enum with `as_str`, `Display` and `FromStr`.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored (and serialised) spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = StoreError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok(Self::$variant), )+
                    other => Err(StoreError::corrupt(format_args!(
                        concat!("unknown ", stringify!($name), " {:?}"),
                        other
                    ))),
                }
            }
        }
    };
}

text_enum! {
    /// Whether an API key is the publishable or the secret half of a pair.
    ApiKeyKind {
        /// `pk_…`: identifies the organisation, safe to ship to browsers.
        Public => "public",
        /// `sk_…`: authorises server-to-server calls.
        Secret => "secret",
    }
}

text_enum! {
    /// Lifecycle of a session key as latchkey knows it.
    SessionState {
        /// Registered in the database; the on-chain registration is not confirmed yet.
        Pending => "pending",
        /// Registered on chain.
        Active => "active",
        /// Revoked (on chain or by the operator).
        Revoked => "revoked",
        /// The registration failed.
        Failed => "failed",
    }
}

text_enum! {
    /// Status of an outside-execution request.
    RequestStatus {
        /// Typed data handed out for signing.
        Prepared => "prepared",
        /// The signature is stored; not yet sent.
        Recorded => "recorded",
        /// A relayer owns it and is building or sending the transaction.
        Submitting => "submitting",
        /// The transaction was accepted by the node.
        Submitted => "submitted",
        /// Executed in the node's pre-confirmed block, which is not closed yet.
        PreConfirmed => "pre_confirmed",
        /// In a block, not final yet: a reorg may still undo it (which sends it back to
        /// `submitted`).
        Accepted => "accepted",
        /// Executed successfully, and final.
        Succeeded => "succeeded",
        /// Executed but reverted, and final.
        Reverted => "reverted",
        /// Refused before inclusion (validation, policy or node rejection).
        Rejected => "rejected",
        /// `execute_before` passed without a successful execution by latchkey (code
        /// `SUBMITTED_ELSEWHERE` when someone else's transaction spent its nonce).
        Expired => "expired",
    }
}

impl RequestStatus {
    /// Whether no further transition is expected.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Reverted | Self::Rejected | Self::Expired)
    }
}

/// Whose gas budget pays a fee: an organisation's, on one chain (CAIP-2 id), in one fee
/// unit (`FRI`, `WEI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetKey<'a> {
    /// The organisation.
    pub org_id: &'a str,
    /// The chain.
    pub chain: &'a str,
    /// The fee unit.
    pub unit: &'a str,
}

/// An organisation's sponsorship budget on one chain, in one fee unit.
///
/// The database keeps amounts in units of 10^9 of the fee unit (gFRI, gwei), so the
/// values read back are multiples of 10^9 (budgets rounded down, reservations and spends
/// rounded up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GasBudget {
    /// The chain (CAIP-2 id).
    pub chain: String,
    /// The fee unit.
    pub unit: String,
    /// Total sponsorship allowance.
    pub budget: u128,
    /// Fees actually paid so far.
    pub spent: u128,
    /// Fees reserved by executions in flight.
    pub reserved: u128,
    /// The budget is alerting while what it has left is below this; `None`: no alert.
    pub alert_threshold: Option<u128>,
}

impl GasBudget {
    /// What is left to reserve.
    pub fn remaining(&self) -> u128 {
        self.budget.saturating_sub(self.spent).saturating_sub(self.reserved)
    }

    /// Whether what is left is below the alert threshold (never without one).
    pub fn alerting(&self) -> bool {
        self.alert_threshold.is_some_and(|threshold| self.remaining() < threshold)
    }
}

/// An organisation (tenant). Its gas budgets are [`GasBudget`]s, one per chain and unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// UUID v4.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The end-user token issuer (`{jwksUrl, issuer, audience}` JSON), if configured.
    pub token_issuer_json: Option<String>,
    /// The sponsorship policy (JSON), if configured.
    pub sponsorship_policy_json: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// When it was suspended (unix seconds): its API calls are refused while set.
    pub suspended_at: Option<i64>,
}

/// An ERC-20 token an organisation names by symbol on a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgToken {
    /// The chain (CAIP-2 id).
    pub chain: String,
    /// The symbol it is asked for by (`USDC`), upper case.
    pub symbol: String,
    /// The token contract, in the chain's canonical form.
    pub address: String,
    /// Decimal places of its smallest unit (0 to 36).
    pub decimals: u8,
}

/// An API key record. The key itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// UUID v4.
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// Public or secret.
    pub kind: ApiKeyKind,
    /// The non-secret leading characters shown in dashboards (e.g. `sk_live_ab12`).
    pub prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `None` while the key is valid.
    pub revoked_at: Option<i64>,
    /// Unix seconds after which the key no longer works (a rotated-out key's overlap);
    /// `None`: no end.
    pub expires_at: Option<i64>,
}

impl ApiKey {
    /// Whether it still works at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A bearer token of the operator (the admin API), by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorToken {
    /// UUID v4.
    pub id: String,
    /// The non-secret leading characters (`lkop_ab12`).
    pub prefix: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds after which it no longer works (a rotated-out token's overlap).
    pub expires_at: Option<i64>,
}

/// One change to record in the audit log: who made it, what, to what, and the state
/// before and after it (JSON, secrets never included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry<'a> {
    /// Who: `operator:<token prefix>`, or `system` for what the server does itself.
    pub actor: &'a str,
    /// What: `organization.create`, `api_key.rotate`, …
    pub action: &'a str,
    /// To what: `organization:<id>`, `api_key:<id>`, `operator_token:<id>`.
    pub target: &'a str,
    /// The state before (JSON), if there was one.
    pub before: Option<String>,
    /// The state after (JSON), if there is one.
    pub after: Option<String>,
}

/// A record of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Its position in the log (increasing).
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: String,
    /// The state before (JSON).
    pub before_json: Option<String>,
    /// The state after (JSON).
    pub after_json: Option<String>,
}

/// Fields of a wallet supplied at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWallet {
    /// Owning organisation.
    pub org_id: String,
    /// The integrator's user id, unique per organisation when present.
    pub external_user_id: Option<String>,
    /// Account address (felt hex), unique per organisation.
    pub address: String,
    /// Owner public key (felt hex).
    pub owner_public_key: String,
    /// Encrypted owner private key (opaque blob).
    pub encrypted_private_key: String,
    /// Second encryption of the owner key (e.g. under a recovery secret).
    pub encrypted_private_key_backup: Option<String>,
    /// Wallet flavour (e.g. `ready`, `argent`, `chipi`).
    pub wallet_type: String,
    /// Chain name (e.g. `SN_SEPOLIA`).
    pub chain: String,
    /// Account class hash (felt hex).
    pub class_hash: String,
    /// How the user unlocks the key (`pin`, `passkey`, …).
    pub auth_method: Option<String>,
    /// WebAuthn credential id for passkey wallets.
    pub credential_id: Option<String>,
    /// Whether the passkey supports the PRF extension.
    pub prf_supported: Option<bool>,
    /// Device description supplied by the client.
    pub device_type: Option<String>,
}

/// A stored wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// UUID v4.
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// The integrator's user id.
    pub external_user_id: Option<String>,
    /// Account address (felt hex).
    pub address: String,
    /// Owner public key (felt hex).
    pub owner_public_key: String,
    /// Encrypted owner private key.
    pub encrypted_private_key: String,
    /// Backup encryption of the owner key.
    pub encrypted_private_key_backup: Option<String>,
    /// Wallet flavour.
    pub wallet_type: String,
    /// Chain name.
    pub chain: String,
    /// Account class hash (felt hex).
    pub class_hash: String,
    /// Unlock method.
    pub auth_method: Option<String>,
    /// WebAuthn credential id.
    pub credential_id: Option<String>,
    /// Passkey PRF support.
    pub prf_supported: Option<bool>,
    /// Device description.
    pub device_type: Option<String>,
    /// Whether the account contract is deployed.
    pub deployed: bool,
    /// Hash of the deployment transaction, once known.
    pub deploy_tx_hash: Option<String>,
    /// Consecutive sponsored transactions of this wallet that reverted.
    pub revert_streak: i64,
    /// Unix seconds until which sponsored executions are refused, after repeated reverts.
    pub cooldown_until: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// What happened to a wallet's stored key blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyEventKind {
    /// An organisation read the encrypted key.
    Read,
    /// The blobs were replaced; the event keeps the previous ones.
    Replaced,
    /// The blobs were restored from an earlier event; the event keeps the ones replaced.
    Restored,
}

impl KeyEventKind {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Replaced => "replaced",
            Self::Restored => "restored",
        }
    }
}

impl FromStr for KeyEventKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Self::Read),
            "replaced" => Ok(Self::Replaced),
            "restored" => Ok(Self::Restored),
            other => Err(StoreError::corrupt(format_args!("unknown key event {other:?}"))),
        }
    }
}

/// Who did what to a wallet's stored key blobs, and how it was authorised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKeyEvent {
    /// What happened.
    pub kind: KeyEventKind,
    /// `organization` or `user:<subject>`.
    pub principal: String,
    /// The route it came through (e.g. `PATCH /v1/chipi-wallets/update-encryption-details`).
    pub route: String,
    /// How possession of the key was proved (`owner-signature`, or `none`).
    pub proof: String,
}

/// A recorded custody event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// UUID v4.
    pub id: String,
    /// The wallet.
    pub wallet_id: String,
    /// What happened.
    pub kind: KeyEventKind,
    /// Who did it.
    pub principal: String,
    /// Through which route.
    pub route: String,
    /// How possession was proved.
    pub proof: String,
    /// The encrypted key this event replaced (replacements and restores only).
    pub previous_key: Option<String>,
    /// The backup blob this event replaced.
    pub previous_backup: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A daily sponsored-gas quota one reservation is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaCharge {
    /// `wallet` or `user`.
    pub scope: String,
    /// The wallet id or the end user's id.
    pub key: String,
    /// The UTC day (unix seconds / 86 400).
    pub day: i64,
    /// Most this scope may spend that day, in the chain's fee unit (FRI, wei).
    #[serde(skip)]
    pub limit: u128,
}

/// How [`Store::update_request_reserving`](crate::Store::update_request_reserving)
/// reserves a fee.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReserveOptions {
    /// Reserve even beyond the organisation's budget (revocations always get through).
    pub bypass_budget: bool,
    /// Daily quotas to charge too; any one exhausted refuses the reservation.
    pub quotas: Vec<QuotaCharge>,
}

/// What a session may do, as stored: one shape for every dialect and chain family.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoredGrant {
    /// Allowed methods (`target` `None`: any contract); empty when every method is allowed.
    pub permissions: Vec<Permission>,
    /// Tokens the session has spending caps on (the caps themselves live on chain).
    pub spending_tokens: Vec<String>,
}

/// Public data of a session key at registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// Wallet the session belongs to.
    pub wallet_id: String,
    /// Session public key (felt hex).
    pub session_public_key: String,
    /// Unix seconds.
    pub valid_after: i64,
    /// Unix seconds.
    pub valid_until: i64,
    /// Maximum number of calls the session may make.
    pub max_calls: i64,
    /// What the session may do.
    pub grant: StoredGrant,
    /// Whether every method is allowed.
    pub allow_all: bool,
    /// The request that registers the session on chain, if any.
    pub registration_request_id: Option<String>,
}

/// A stored session key (public data only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// UUID v4.
    pub id: String,
    /// Wallet the session belongs to.
    pub wallet_id: String,
    /// Session public key (felt hex).
    pub session_public_key: String,
    /// Unix seconds.
    pub valid_after: i64,
    /// Unix seconds.
    pub valid_until: i64,
    /// Maximum number of calls.
    pub max_calls: i64,
    /// What the session may do.
    pub grant: StoredGrant,
    /// Whether every method is allowed.
    pub allow_all: bool,
    /// The registering request, if any.
    pub registration_request_id: Option<String>,
    /// Lifecycle state.
    pub state: SessionState,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Unix seconds, set when the session enters [`SessionState::Revoked`].
    pub revoked_at: Option<i64>,
}

/// An outside execution about to be handed out for signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    /// Owning organisation (pays the gas).
    pub org_id: String,
    /// The latchkey wallet, when the account is one.
    pub wallet_id: Option<String>,
    /// The chain (CAIP-2 id).
    pub chain: String,
    /// Account address executing the calls, in the chain's canonical form.
    pub account: String,
    /// The payload's single-use nonce key; `(chain, account, oe_nonce)` is unique.
    pub oe_nonce: String,
    /// The SNIP-12 typed data as JSON.
    pub typed_data_json: String,
    /// The calls as JSON.
    pub calls_json: String,
    /// SNIP-9 `execute_before`, unix seconds.
    pub execute_before: i64,
    /// Why the request exists (e.g. `execute`, `register_session`, `deploy`).
    pub purpose: String,
    /// The unit its fees are counted in (`FRI`, `WEI`).
    pub fee_unit: String,
    /// The digest its signer signs (none for a deployment, which has no signer).
    pub payload_hash: Option<String>,
}

/// A write-ahead record of a gasless execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// UUID v4.
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// The latchkey wallet, if any.
    pub wallet_id: Option<String>,
    /// The chain (CAIP-2 id; the legacy `STARKNET` until the server adopts the row).
    pub chain: String,
    /// Account address.
    pub account: String,
    /// The payload's single-use nonce key.
    pub oe_nonce: String,
    /// Typed data as JSON.
    pub typed_data_json: String,
    /// Calls as JSON.
    pub calls_json: String,
    /// Unix seconds.
    pub execute_before: i64,
    /// Why the request exists.
    pub purpose: String,
    /// Current status.
    pub status: RequestStatus,
    /// Signer kind (`owner`, `session`, …).
    pub kind: Option<String>,
    /// The session key that signed, for session executions.
    pub session_public_key: Option<String>,
    /// The signature as JSON.
    pub signature_json: Option<String>,
    /// Transaction hash, computed before sending.
    pub tx_hash: Option<String>,
    /// Relayer account that sends it.
    pub relayer_address: Option<String>,
    /// Relayer nonce used (felt hex).
    pub relayer_nonce: Option<String>,
    /// The signed relayer transaction as JSON, kept for resubmission.
    pub signed_tx_json: Option<String>,
    /// The fee, in `fee_unit` (decimal text): reserved while in flight, actual once final.
    pub fee: Option<String>,
    /// The unit of `fee` (`FRI`, `WEI`).
    pub fee_unit: String,
    /// The digest its signer signs (none for deployments and requests from before schema 5).
    pub payload_hash: Option<String>,
    /// Machine-readable failure code.
    pub error_code: Option<String>,
    /// Human-readable failure message.
    pub error_message: Option<String>,
    /// The idempotency key the request arrived with.
    pub idempotency_key: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Unix seconds, when it last entered [`RequestStatus::Submitted`].
    pub submitted_at: Option<i64>,
    /// Unix seconds, when it entered a final status.
    pub finalized_at: Option<i64>,
    /// Transaction hashes signed for this request before `tx_hash` (JSON array).
    pub previous_tx_hashes_json: Option<String>,
    /// The daily quotas its reservation is charged to (JSON array of [`QuotaCharge`]).
    pub quota_json: Option<String>,
    /// The instance handling it (its relayer lease owner), when a live call recorded it.
    pub handler: Option<String>,
}

impl Request {
    /// The budget its fee is reserved from and charged to.
    pub fn budget(&self) -> BudgetKey<'_> {
        BudgetKey { org_id: &self.org_id, chain: &self.chain, unit: &self.fee_unit }
    }

    /// Every transaction hash this request has signed, the current one last.
    pub fn tx_hashes(&self) -> Vec<String> {
        let mut hashes: Vec<String> = self
            .previous_tx_hashes_json
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default();
        hashes.extend(self.tx_hash.iter().cloned());
        hashes
    }

    /// The daily quotas its reservation is charged to.
    pub fn quota_charges(&self) -> Vec<QuotaCharge> {
        self.quota_json
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default()
    }
}

/// Changes applied by [`Store::update_request`](crate::Store::update_request): every
/// `Some` field is written, `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestUpdate {
    /// New status.
    pub status: Option<RequestStatus>,
    /// Signer kind.
    pub kind: Option<String>,
    /// Signing session key.
    pub session_public_key: Option<String>,
    /// Signature JSON.
    pub signature_json: Option<String>,
    /// Transaction hash.
    pub tx_hash: Option<String>,
    /// Relayer address.
    pub relayer_address: Option<String>,
    /// Relayer nonce.
    pub relayer_nonce: Option<String>,
    /// Signed transaction JSON.
    pub signed_tx_json: Option<String>,
    /// Fee, in the request's unit.
    pub fee: Option<String>,
    /// Failure code.
    pub error_code: Option<String>,
    /// Failure message.
    pub error_message: Option<String>,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Earlier transaction hashes (JSON array).
    pub previous_tx_hashes_json: Option<String>,
    /// The payload's nonce key, rewritten when a payload never submitted gives its nonce
    /// up to a newer one (`(chain, account, oe_nonce)` stays unique).
    pub oe_nonce: Option<String>,
    /// The instance that handles it from now on.
    pub handler: Option<String>,
}

/// Outcome of [`Store::update_request_reserving`](crate::Store::update_request_reserving).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The request was updated and the fee reserved.
    Recorded,
    /// The budget cannot cover the fee; nothing was written.
    BudgetExhausted,
    /// A daily quota (`wallet` or `user`) cannot cover the fee; nothing was written.
    QuotaExhausted(&'static str),
    /// The request was not in an expected status; nothing was written.
    StatusChanged,
}

/// Outcome of [`Store::claim_idempotency`](crate::Store::claim_idempotency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdempotencyClaim {
    /// The caller owns the key now and must complete or release it.
    Claimed,
    /// Another request with the same key and body is still running (HTTP 409).
    InFlight,
    /// The first request finished; replay its response.
    Completed {
        /// HTTP status of the stored response.
        status: u16,
        /// Body of the stored response.
        body: String,
    },
    /// The key was used with a different request body (HTTP 422).
    Mismatch,
}

/// An end user's stored session blob (`/api/me/session`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSession {
    /// Opaque blob written by the client.
    pub blob: String,
    /// The wallet the blob belongs to, if recorded.
    pub wallet_address: Option<String>,
    /// Unix seconds.
    pub updated_at: i64,
}

/// A challenge issued for a proof of key possession.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The random value the key holder signs (felt hex).
    pub challenge: String,
    /// The organisation it was issued in.
    pub org_id: String,
    /// What the proof is for (e.g. `create-wallet`).
    pub purpose: String,
    /// Who it was issued to: `organization` or `user:<subject>`.
    pub principal: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; it cannot be used from then on.
    pub expires_at: i64,
}

/// Which database engine a [`Store`](crate::Store) talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// SQLite file (WAL, `synchronous=FULL`).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_status_text_round_trips() {
        for status in RequestStatus::ALL {
            assert_eq!(status.as_str().parse::<RequestStatus>(), Ok(*status));
        }
        assert!("done".parse::<RequestStatus>().is_err());
        let finals: Vec<_> = RequestStatus::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            [
                &RequestStatus::Succeeded,
                &RequestStatus::Reverted,
                &RequestStatus::Rejected,
                &RequestStatus::Expired
            ]
        );
    }

    #[test]
    fn serde_spelling_matches_stored_spelling() {
        for state in SessionState::ALL {
            let json = serde_json::to_string(state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(serde_json::to_string(&ApiKeyKind::Secret).unwrap(), "\"secret\"");
    }
}
