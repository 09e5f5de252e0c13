//! latchkey's chain port: what the relayer and the API need from a chain, whatever its
//! family.
//!
//! One [`ChainBackend`] exists per configured chain (a Starknet devnet and Starknet
//! Sepolia are two), and a [`Chains`] registry finds it by its CAIP-2 id. The relayer and
//! the API hold `Arc<dyn ChainBackend>` and never name a family's types: addresses,
//! hashes, nonce keys and keys are text in the family's canonical form, payloads to sign
//! are JSON, signed transactions are opaque text stored for a byte-identical re-broadcast.
//!
//! A backend plays three roles:
//! - [`Chain`]: identity and clock, address rules, the counterfactual account address,
//!   *preparing* a payload for a user to sign and *opening* a signed one (who signed it,
//!   and neutral [`CallView`]s for the policy engine in `latchkey-core`);
//! - [`SessionCodec`]: the account contract's session calls, and the on-chain session
//!   record;
//! - [`Relay`]: the paymaster role: simulate to a [`Quote`] or a [`Refusal`], sign from a
//!   relayer account, send, follow receipts, check a nonce key on chain.
//!
//! The `testing` feature adds `fake::FakeChain`, an in-memory chain for unit tests of
//! everything built on the port.

mod chain_ref;
mod registry;

#[cfg(feature = "testing")]
pub mod fake;

use async_trait::async_trait;
use serde_json::Value;

pub use chain_ref::{ChainRef, ChainRefError, Family};
pub use latchkey_core::{
    is_revocation, rotated_owner, AccountChange, Call, CallView, Permission, ProofPurpose,
    SessionGrant, SessionRules, Spend, SpendingCap, SpendingPolicy, U256,
};
pub use registry::Chains;

/// A batch of calls, in the form its family writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Calls {
    /// Starknet calls: contract, selector, calldata felts.
    Starknet(Vec<Call>),
    /// EVM calls: address, wei, calldata.
    Evm(Vec<EvmCall>),
}

/// One EVM call, as an account's `executeBatch` makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmCall {
    /// The contract (or account) called, `0x` and 40 hex digits.
    pub to: String,
    /// Wei sent with the call.
    pub value: U256,
    /// The calldata: a 4-byte selector and its ABI-encoded arguments.
    pub data: Vec<u8>,
}

impl Calls {
    /// Calls in the batch.
    pub fn len(&self) -> usize {
        match self {
            Self::Starknet(calls) => calls.len(),
            Self::Evm(calls) => calls.len(),
        }
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Words the batch takes on the wire (each call's calldata and its own header), for
    /// size limits.
    pub fn words(&self) -> usize {
        match self {
            Self::Starknet(calls) => calldata_words(calls),
            // Each call's calldata in 32-byte words, and its three-word header (address,
            // value, data length).
            Self::Evm(calls) => calls.iter().map(|c| c.data.len().div_ceil(32) + 3).sum(),
        }
    }
}

/// Words Starknet calls take on the wire: each call's calldata and its three-word header
/// (contract, selector, calldata length).
pub fn calldata_words(calls: &[Call]) -> usize {
    calls.iter().map(|c| c.calldata.len() + 3).sum()
}

/// What a custody proof binds: the key proving possession, the account it is for, the
/// action, a single-use challenge the server issued and a hash of what is being stored.
#[derive(Debug, Clone, Copy)]
pub struct ProofClaim<'a> {
    /// The key that signs (a public key or address, canonical text).
    pub key: &'a str,
    /// The account, canonical text.
    pub account: &'a str,
    /// The action.
    pub purpose: ProofPurpose,
    /// The challenge, hex.
    pub challenge: &'a str,
    /// The payload hash, hex.
    pub payload: &'a str,
}

/// A method, as a request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method<'a> {
    /// Its name (or, on EVM, its signature).
    Name(&'a str),
    /// Its selector.
    Selector(&'a str),
}

/// Who will sign a payload being prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// The account's owner key.
    Owner,
    /// A session key (its public key or address, in the chain's canonical text).
    Session(String),
}

/// A payload issued for a user to sign.
#[derive(Debug, Clone, PartialEq)]
pub struct Signable {
    /// The single-use nonce key: the payload can execute at most once.
    pub nonce_key: String,
    /// What the signer signs, as JSON (SNIP-12 typed data, a packed user operation, …).
    pub payload: Value,
    /// The digest the key signs.
    pub hash: String,
    /// Last second (exclusive) the payload may execute.
    pub execute_before: u64,
    /// When the payload already carries the sponsor's commitment (an EVM paymaster's
    /// signature: anyone may then submit it, through any bundler), the most it can cost
    /// the sponsor, in the fee unit; the relayer reserves it at once. `None` when the
    /// sponsor commits only when its relayer signs and sends (Starknet).
    pub max_cost: Option<u128>,
}

/// What a signed payload says, read without checking its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// The single-use nonce key.
    pub nonce_key: String,
    /// The digest its signer signed; equal digests mean equal payloads.
    pub hash: String,
    /// The payload may execute only after this second.
    pub execute_after: u64,
    /// The payload may execute only before this second.
    pub execute_before: u64,
    /// The only relayer account that may submit it, or `None` for anyone.
    pub caller: Option<String>,
    /// Its calls, as the policy engine sees them.
    pub calls: Vec<CallView>,
    /// Words its calls take, for size limits.
    pub words: usize,
}

/// Who signed a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// The account's owner key.
    Owner,
    /// A session key, with the expiry its signature claims.
    Session {
        /// The session public key.
        key: String,
        /// The `valid_until` the signature commits to.
        valid_until: u64,
    },
}

/// A payload whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// What it says.
    pub inspected: Inspected,
    /// Who signed it.
    pub by: Signer,
}

/// Why a chain refuses something, with a code from `latchkey_core::codes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// The stable code.
    pub code: &'static str,
    /// What a person needs to know.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// The chain could not be reached, or answered something unreadable. The text names no
/// node URL, path or credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// A transaction the relayer pays for.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Executes a signed payload on `account`.
    Execute {
        /// The account.
        account: String,
        /// The signed payload.
        payload: Value,
        /// Its signature, as the family writes it.
        signature: Vec<String>,
    },
    /// Deploys the account of an owner key at its counterfactual address.
    Deploy {
        /// The owner public key.
        owner_public_key: String,
    },
}

/// What a simulated transaction may cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// The most it may cost, in `unit`.
    pub max_fee: u128,
    /// The fee's unit (`FRI`, `WEI`).
    pub unit: &'static str,
    /// The family's fee limits to sign with, opaque to the relayer.
    pub limits: Value,
}

/// A transaction signed by a relayer account and not yet sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// Its hash, known before it is sent.
    pub hash: String,
    /// Everything needed to send it again, byte for byte.
    pub raw: String,
}

/// A transaction's result as its receipt tells it, and how far it is on its way to
/// finality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `Some(reason)` when it reverted.
    pub reverted: Option<String>,
    /// The fee it paid, in the chain's fee unit.
    pub fee: u128,
    /// Where it is.
    pub inclusion: Inclusion,
}

/// Whether a JSON-RPC error code says the node failed rather than the request: -32603
/// (internal error) and the -32000 to -32099 range JSON-RPC reserves for server errors,
/// except -32000 to -32003 which Ethereum nodes use for refusals of the request itself
/// (-32000 "nonce too low", "insufficient funds", -32003 "transaction rejected"). The
/// outcome of a send answered so is unknown.
pub fn is_server_error(code: i64) -> bool {
    code == -32603 || (-32099..=-32004).contains(&code)
}

/// Whether a node's refusal says the paying account cannot cover the fee (Ethereum nodes:
/// "insufficient funds for gas * price + value"; Starknet: "resources bounds … exceed
/// balance", "insufficient … balance").
pub fn is_unfunded_reason(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("insufficient funds")
        || reason.contains("exceed balance")
        || reason.contains("exceeds balance")
        || (reason.contains("insufficient") && reason.contains("balance"))
}

/// Whether a node's refusal says the transaction's fee limits are below the current
/// price (Ethereum nodes: "max fee per gas less than block base fee", "transaction
/// underpriced"; starknet-devnet: "InsufficientResourcesForValidate"; Starknet nodes: a
/// max price "lower than" the actual one): the same transaction priced again may run.
pub fn is_underpriced_reason(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("less than block base fee")
        || reason.contains("underpriced")
        || reason.contains("insufficientresourcesforvalidate")
        || reason.contains("insufficient max fee")
        || (reason.contains("gas price") && reason.contains("lower than"))
}

/// Where an executed transaction is on its way to finality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inclusion {
    /// Executed in the node's pre-confirmed block, which is not closed yet.
    PreConfirmed,
    /// In block `n` of the chain as the node sees it now: a reorg may still undo it, so
    /// it is final once the chain is deep enough past it.
    Block(u64),
    /// Final by the chain's own rule (on Starknet: accepted on L1).
    Final,
}

impl Inclusion {
    /// Whether, with the chain's latest block at `head`, this is final under a rule of
    /// `depth` blocks (0: final once in a block).
    pub fn is_final(self, head: u64, depth: u64) -> bool {
        match self {
            Self::PreConfirmed => false,
            Self::Block(block) => head.saturating_sub(block) >= depth,
            Self::Final => true,
        }
    }
}

/// Why a simulation did not produce a quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulationError {
    /// The relayer nonce it used is stale.
    #[error("relayer nonce is stale")]
    Nonce,
    /// The transaction would fail; the code says why.
    #[error("{0}")]
    Refused(Refusal),
    /// The relayer account cannot pay for it: another account may.
    #[error("relayer account cannot pay: {0}")]
    Unfunded(String),
    /// The chain did not answer.
    #[error("{0}")]
    Unavailable(Unavailable),
}

/// Why a signed transaction was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The node refused its relayer nonce.
    #[error("nonce refused: {0}")]
    Nonce(String),
    /// The relayer account cannot pay for it (the node refused it for that): signed by
    /// another account, it may run.
    #[error("relayer account cannot pay: {0}")]
    Unfunded(String),
    /// The node refused it for another reason; it will never execute.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The node may or may not have it.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

/// A session as the account contract records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Ever registered.
    pub registered: bool,
    /// Revoked, by itself, by revoke-all or by an owner rotation.
    pub revoked: bool,
    /// Its limits.
    pub rules: SessionRules,
    /// Calls it has made.
    pub calls_used: u32,
}

/// Identity, addresses, and the payloads users sign.
#[async_trait]
pub trait Chain: Send + Sync + std::fmt::Debug {
    /// The chain's CAIP-2 id.
    fn id(&self) -> &ChainRef;

    /// The unit fees are paid and budgeted in (`FRI`, `WEI`).
    fn fee_unit(&self) -> &'static str;

    /// The chain's clock, in seconds.
    async fn now(&self) -> Result<u64, Unavailable>;

    /// An address in canonical form, or why it is not one on this family.
    fn parse_address(&self, text: &str) -> Result<String, Refusal>;

    /// A signing key's public identity (a Stark public key, an EVM address) in canonical
    /// form; zero and anything else are refused.
    fn parse_key(&self, text: &str) -> Result<String, Refusal>;

    /// A method's selector in canonical text, from its name (a Starknet entrypoint name;
    /// on EVM a Solidity signature such as `transfer(address,uint256)`) or its selector.
    fn selector(&self, method: Method<'_>) -> Result<String, Refusal>;

    /// The counterfactual address of the account of `owner_public_key`.
    fn account_address(&self, owner_public_key: &str) -> Result<String, Refusal>;

    /// Whether a contract is deployed at `address`.
    async fn is_deployed(&self, address: &str) -> Result<bool, Unavailable>;

    /// The owner key `account` holds on chain, if it is deployed.
    async fn owner_key(&self, account: &str) -> Result<Option<String>, Unavailable>;

    /// The ERC-20 `token` balance of `owner`, in the token's smallest unit (decimal
    /// text): what the token contract's `balance_of` / `balanceOf` answers.
    async fn token_balance(&self, token: &str, owner: &str) -> Result<String, Unavailable>;

    /// A payload for `account` to sign that executes `calls` once, signed as `signing`
    /// says, submitted by `caller` (a relayer account) within `window_seconds` from `now`.
    /// A family whose payload depends on the signer (an EVM session signs its own nonce
    /// key and call form) reads what it needs from the chain here.
    async fn prepare(
        &self,
        account: &str,
        calls: Calls,
        signing: &Signing,
        caller: &str,
        now: u64,
        window_seconds: u64,
    ) -> Result<Signable, Refusal>;

    /// The policy engine's view of `calls` on `account` (before anything is signed).
    fn views(&self, account: &str, calls: &Calls) -> Result<Vec<CallView>, Refusal>;

    /// Reads a payload for `account` without checking a signature: it must be well
    /// formed and for this chain.
    fn inspect(&self, account: &str, payload: &Value) -> Result<Inspected, Refusal>;

    /// Verifies `signature` over an inspected payload: by the owner key `owner_key`, or by
    /// the session key the signature names (whose registration the caller checks). Only
    /// the payload's digest is needed, so a payload is read once however often it is
    /// verified.
    fn verify(
        &self,
        inspected: &Inspected,
        owner_key: &str,
        signature: &[String],
    ) -> Result<Signer, Refusal>;

    /// Checks a custody proof: `signature` is the holder of `claim.key`'s proof of
    /// possession for `claim` in this family's scheme (`INVALID_PROOF` otherwise, or
    /// `INVALID_SIGNATURE` for a signature of the wrong shape).
    fn verify_proof(&self, claim: &ProofClaim<'_>, signature: &[String]) -> Result<(), Refusal>;

    /// Reads a signed payload for `account` and verifies its signature
    /// ([`inspect`](Self::inspect), then [`verify`](Self::verify)).
    fn open(
        &self,
        account: &str,
        owner_key: &str,
        payload: &Value,
        signature: &[String],
    ) -> Result<Authorized, Refusal> {
        let inspected = self.inspect(account, payload)?;
        let by = self.verify(&inspected, owner_key, signature)?;
        Ok(Authorized { inspected, by })
    }
}

/// The account contract's session API.
#[async_trait]
pub trait SessionCodec: Send + Sync {
    /// The calls on `account` that make `changes`, in order, as one batch.
    fn session_calls(&self, account: &str, changes: &[AccountChange]) -> Result<Calls, Refusal>;

    /// The session record of `key` on `account` (unregistered when there is none).
    async fn session(&self, account: &str, key: &str) -> Result<SessionRecord, Unavailable>;

    /// The spending cap of session `key` on `account` for `token` (window `0`: none).
    async fn spending_cap(
        &self,
        account: &str,
        key: &str,
        token: &str,
    ) -> Result<SpendingPolicy, Unavailable>;
}

/// The paymaster role: relayer accounts paying for users' transactions.
#[async_trait]
pub trait Relay: Send + Sync {
    /// The relayer accounts this backend signs for.
    fn relayer_accounts(&self) -> Vec<String>;

    /// The next nonce of a relayer account, as the chain knows it.
    async fn relayer_nonce(&self, relayer: &str) -> Result<u64, Unavailable>;

    /// What a relayer account holds to pay fees with, in the chain's
    /// [`fee_unit`](Chain::fee_unit) (saturating at `u128::MAX`).
    async fn relayer_funds(&self, relayer: &str) -> Result<u128, Unavailable>;

    /// Simulates `job` from `relayer` at `nonce` (without the relayer's own signature).
    async fn simulate(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
    ) -> Result<Quote, SimulationError>;

    /// Signs `job` from `relayer` at `nonce` within `quote`'s limits, without sending it.
    async fn sign(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
        quote: &Quote,
    ) -> Result<SignedTx, Unavailable>;

    /// Sends a signed transaction (again: the same bytes, so it executes at most once).
    async fn send(&self, raw: &str) -> Result<(), SendError>;

    /// The result of an executed transaction and where it is, `None` while the chain
    /// does not know it, it is pending, or a reorg took it out.
    async fn receipt(&self, tx_hash: &str) -> Result<Option<Outcome>, Unavailable>;

    /// The number of the chain's latest block.
    async fn head(&self) -> Result<u64, Unavailable>;

    /// Whether `nonce_key` is spent on `account` (its payload ran, or can never run).
    async fn is_spent(&self, account: &str, nonce_key: &str) -> Result<bool, Unavailable>;
}

/// Everything a configured chain does for latchkey.
pub trait ChainBackend: Chain + SessionCodec + Relay {}

impl<T: Chain + SessionCodec + Relay> ChainBackend for T {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails to compile when the port stops being object safe.
    #[allow(dead_code)]
    fn backends_are_objects(backend: Box<dyn ChainBackend>) -> std::sync::Arc<dyn ChainBackend> {
        std::sync::Arc::from(backend)
    }

    #[test]
    fn batch_words_count_each_calls_header() {
        let call = Call::new(1u8.into(), "transfer", vec![2u8.into(), 3u8.into()]);
        let calls = Calls::Starknet(vec![call.clone(), call]);
        assert_eq!((calls.len(), calls.words()), (2, 10));
        assert!(Calls::Starknet(Vec::new()).is_empty());
    }
}
