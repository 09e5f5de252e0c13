//! [`EvmBackend`]: the port's three roles on an EVM node.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use alloy_network::eip2718::Encodable2718;
use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::aliases::U192;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_provider::{Provider, RootProvider};
use alloy_rpc_types_eth::{BlockNumberOrTag, TransactionRequest};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent};
use async_trait::async_trait;
use latchkey_chain::{
    AccountChange, CallView, Calls, Chain, ChainRef, Inclusion, Inspected, Job, Method, Outcome,
    ProofClaim, Quote, Refusal, Relay, SendError, SessionCodec, SessionRecord, SessionRules,
    Signable, SignedTx, Signer, Signing, SimulationError, SpendingPolicy, Unavailable,
};
use latchkey_core::codes;
use latchkey_evm_contracts::abi::{DemoToken, EntryPoint, LatchkeyAccount, LatchkeyAccountFactory};
use latchkey_evm_contracts::{
    account_address, address_of, create_account_data, execute_batch, execute_user_op, nonce,
    paymaster_hash, sign_digest, split_nonce, PaymasterData, UserOpSignature, UserOperation,
};
use serde_json::{json, Value};

use crate::calls::{self, EvmCall};
use crate::payload::Payload;
use crate::reasons::{entry_point_reason, execution_refusal, refusal_of_aa};
use crate::text::{
    address_text, hash_text, parse_address, parse_b256, parse_hex, parse_u256, u256_text,
};

/// Gas of an owner or session validation (signature, session record, allowlist).
pub const VERIFICATION_GAS: u128 = 250_000;
/// Extra validation gas when the userOp deploys its account (proxy and `initialize`).
pub const DEPLOY_VERIFICATION_GAS: u128 = 400_000;
/// Execution gas of a userOp, before its calls.
pub const CALL_GAS_BASE: u128 = 60_000;
/// Execution gas per call of a userOp.
pub const CALL_GAS_PER_CALL: u128 = 150_000;
/// The bundler's overhead charged to the userOp (transaction base cost, calldata).
pub const PRE_VERIFICATION_GAS: u64 = 80_000;
/// Gas of `LatchkeyPaymaster.validatePaymasterUserOp`.
pub const PAYMASTER_VERIFICATION_GAS: u128 = 100_000;
/// The priority fee of prepared userOps and of the relayer's transactions, in wei.
pub const PRIORITY_FEE: u128 = 1_000_000_000;

/// Where latchkey's contracts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvmContracts {
    /// EntryPoint v0.8.
    pub entry_point: Address,
    /// `LatchkeyAccountFactory`.
    pub factory: Address,
    /// `LatchkeyPaymaster`.
    pub paymaster: Address,
    /// The factory's account implementation.
    pub account_implementation: Address,
}

/// What an [`EvmBackend`] needs.
pub struct EvmConfig {
    /// The node's JSON-RPC URL (never shown in errors).
    pub rpc_url: String,
    /// The chain id the node must answer.
    pub chain_id: u64,
    /// Where the contracts are.
    pub contracts: EvmContracts,
    /// The key signing `LatchkeyPaymaster` data (its `signer()`).
    pub paymaster_signer: B256,
    /// The relayer EOAs' keys (funded: they pay for `handleOps` and are refunded by the
    /// EntryPoint as beneficiaries).
    pub relayers: Vec<B256>,
}

impl std::fmt::Debug for EvmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmConfig")
            .field("chain_id", &self.chain_id)
            .field("contracts", &self.contracts)
            .field("relayers", &self.relayers.len())
            .finish_non_exhaustive()
    }
}

/// What the backend learnt from the chain.
#[derive(Debug, Default)]
struct Cache {
    deployed: HashSet<Address>,
    undeployed: HashSet<Address>,
    owners: HashMap<Address, Address>,
}

/// The EVM family's chain backend.
pub struct EvmBackend {
    id: ChainRef,
    chain_id: u64,
    contracts: EvmContracts,
    provider: RootProvider,
    paymaster_key: B256,
    paymaster_signer: Address,
    relayers: Vec<(Address, PrivateKeySigner)>,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for EvmBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmBackend")
            .field("id", &self.id)
            .field("contracts", &self.contracts)
            .field("paymaster_signer", &self.paymaster_signer)
            .field("relayers", &self.relayers.iter().map(|(a, _)| *a).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A node error as text that names no URL: the node's own error message, or that it
/// could not be reached.
fn rpc_text<E: std::fmt::Display>(error: &alloy_json_rpc_error::Error<E>) -> String {
    match error.as_error_resp() {
        Some(payload) => format!("the EVM node refused: {}", payload.message),
        None => "the EVM node could not be reached or answered something unreadable".into(),
    }
}

/// The alloy error type, named once.
mod alloy_json_rpc_error {
    pub(crate) type Error<E> = alloy_provider::transport::RpcError<E>;
}

fn unavailable<E: std::fmt::Display>(error: alloy_json_rpc_error::Error<E>) -> Unavailable {
    Unavailable(rpc_text(&error))
}

fn unavailable_refusal(error: Unavailable) -> Refusal {
    Refusal::new(codes::UPSTREAM_UNAVAILABLE, error.0)
}

fn invalid_signature(message: &str) -> Refusal {
    Refusal::new(codes::INVALID_SIGNATURE, message)
}

impl EvmBackend {
    /// A backend for the node at `config.rpc_url` (nothing is requested yet).
    pub fn new(config: EvmConfig) -> Result<Self, Unavailable> {
        let url = config
            .rpc_url
            .parse()
            .map_err(|_| Unavailable("the EVM node URL does not parse".into()))?;
        let paymaster_signer = address_of(&config.paymaster_signer)
            .map_err(|_| Unavailable("the paymaster signer key is not a secp256k1 key".into()))?;
        let relayers = config
            .relayers
            .iter()
            .map(|key| {
                let signer = PrivateKeySigner::from_bytes(key)
                    .map_err(|_| Unavailable("a relayer key is not a secp256k1 key".into()))?;
                Ok((signer.address(), signer))
            })
            .collect::<Result<Vec<_>, Unavailable>>()?;
        Ok(Self {
            id: ChainRef::eip155(config.chain_id),
            chain_id: config.chain_id,
            contracts: config.contracts,
            provider: RootProvider::new_http(url),
            paymaster_key: config.paymaster_signer,
            paymaster_signer,
            relayers,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// Checks the node: its chain id, the contracts' code, and that the paymaster's
    /// `signer()` is this backend's paymaster key.
    pub async fn check(&self) -> Result<(), Unavailable> {
        let chain_id = self.provider.get_chain_id().await.map_err(unavailable)?;
        if chain_id != self.chain_id {
            return Err(Unavailable(format!(
                "the EVM node serves chain {chain_id}, configured {}",
                self.chain_id
            )));
        }
        for (name, address) in [
            ("EntryPoint", self.contracts.entry_point),
            ("factory", self.contracts.factory),
            ("paymaster", self.contracts.paymaster),
        ] {
            if !self.has_code(address).await? {
                return Err(Unavailable(format!("no {name} at {}", address_text(address))));
            }
        }
        let signer = self
            .eth_call(
                self.contracts.paymaster,
                &latchkey_evm_contracts::abi::LatchkeyPaymaster::signerCall {},
            )
            .await?;
        if signer != self.paymaster_signer {
            return Err(Unavailable(format!(
                "the paymaster's signer is {}, this relayer signs as {}",
                address_text(signer),
                address_text(self.paymaster_signer)
            )));
        }
        Ok(())
    }

    /// The contracts.
    pub fn contracts(&self) -> EvmContracts {
        self.contracts
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn has_code(&self, address: Address) -> Result<bool, Unavailable> {
        Ok(!self.provider.get_code_at(address).await.map_err(unavailable)?.is_empty())
    }

    async fn eth_call<C: SolCall>(&self, to: Address, call: &C) -> Result<C::Return, Unavailable> {
        let tx = TransactionRequest::default().with_to(to).with_input(call.abi_encode());
        let output = self.provider.call(tx).await.map_err(unavailable)?;
        C::abi_decode_returns(&output).map_err(|e| {
            Unavailable(format!("{} answered something unreadable: {e}", C::SIGNATURE))
        })
    }

    /// [`Self::eth_call`] on the latest block: what is included, not what waits in the
    /// node's pool (a session's standing is reported as the chain has it).
    async fn eth_call_latest<C: SolCall>(
        &self,
        to: Address,
        call: &C,
    ) -> Result<C::Return, Unavailable> {
        let tx = TransactionRequest::default().with_to(to).with_input(call.abi_encode());
        let output = self
            .provider
            .call(tx)
            .block(alloy_rpc_types_eth::BlockId::latest())
            .await
            .map_err(unavailable)?;
        C::abi_decode_returns(&output).map_err(|e| {
            Unavailable(format!("{} answered something unreadable: {e}", C::SIGNATURE))
        })
    }

    /// The latest block's timestamp and base fee.
    async fn latest(&self) -> Result<(u64, u128), Unavailable> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Unavailable("the EVM node has no latest block".into()))?;
        let base_fee = u128::from(block.header.base_fee_per_gas.unwrap_or(0));
        Ok((block.header.timestamp, base_fee))
    }

    /// Builds, sponsors and describes a userOp of `account` running `calls`, paying at
    /// most twice `base_fee` and our priority fee per gas.
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        account: Address,
        calls: &[EvmCall],
        nonce: U256,
        session: bool,
        factory_owner: Option<Address>,
        valid_until: u64,
        base_fee: u128,
    ) -> Result<Signable, Refusal> {
        let abi_calls = calls.iter().map(EvmCall::to_abi).collect();
        let call_data = if session { execute_user_op(abi_calls) } else { execute_batch(abi_calls) };
        let extra = if factory_owner.is_some() { DEPLOY_VERIFICATION_GAS } else { 0 };
        let mut op = UserOperation {
            sender: account,
            nonce,
            factory: factory_owner.map(|_| self.contracts.factory),
            factory_data: factory_owner
                .map(|owner| create_account_data(owner, U256::ZERO))
                .unwrap_or_default(),
            call_data,
            call_gas_limit: CALL_GAS_BASE + CALL_GAS_PER_CALL * calls.len() as u128,
            verification_gas_limit: VERIFICATION_GAS + extra,
            pre_verification_gas: U256::from(PRE_VERIFICATION_GAS),
            max_fee_per_gas: base_fee.saturating_mul(2).saturating_add(PRIORITY_FEE),
            max_priority_fee_per_gas: PRIORITY_FEE,
            paymaster: Some(self.contracts.paymaster),
            paymaster_verification_gas_limit: PAYMASTER_VERIFICATION_GAS,
            paymaster_post_op_gas_limit: 0,
            paymaster_data: Bytes::new(),
            signature: Bytes::new(),
        };
        let digest = paymaster_hash(&op, self.contracts.paymaster, self.chain_id, valid_until, 0);
        let signature = sign_digest(&self.paymaster_key, digest)
            .map_err(|e| Refusal::new(codes::SIGNING_FAILED, e.to_string()))?;
        op.paymaster_data = Bytes::copy_from_slice(
            &PaymasterData { valid_until, valid_after: 0, signature }.to_bytes(),
        );
        let max_cost = user_op_max_cost(&op);
        let payload = Payload {
            chain_id: self.chain_id,
            entry_point: self.contracts.entry_point,
            user_operation: op,
        };
        Ok(Signable {
            nonce_key: u256_text(nonce),
            hash: hash_text(payload.hash()),
            execute_before: valid_until + 1,
            payload: payload.to_json()?,
            max_cost: Some(max_cost),
        })
    }

    /// The factory owner to deploy `account` with, if it is known to be undeployed.
    fn factory_owner(&self, account: Address) -> Option<Address> {
        let cache = self.cache();
        if cache.undeployed.contains(&account) {
            cache.owners.get(&account).copied()
        } else {
            None
        }
    }

    fn window_end(now: u64, window_seconds: u64) -> Result<u64, Refusal> {
        let end = now.saturating_add(window_seconds).saturating_sub(1);
        if window_seconds == 0 || end > 0xffff_ffff_ffff {
            return Err(Refusal::new(
                codes::INVALID_EXECUTION_WINDOW,
                "the window is out of bounds",
            ));
        }
        Ok(end)
    }

    /// A session userOp: the session's nonce key (`key << 32 | registration`) and next
    /// sequence (`callsUsed + 1`) read from the account, the `executeUserOp` form (so
    /// spending caps apply), a window ending no later than the session's `validUntil`.
    /// A session the account would refuse is refused here, before anything is signed.
    async fn session_op(
        &self,
        address: Address,
        calls: &[EvmCall],
        key: &str,
        now: u64,
        window_seconds: u64,
        base_fee: u128,
    ) -> Result<Signable, Refusal> {
        let key = parse_address(key)?;
        let view = self
            .eth_call(address, &LatchkeyAccount::getSessionCall { key })
            .await
            .map_err(unavailable_refusal)?;
        if !view.registered {
            return Err(Refusal::new(
                codes::SESSION_NOT_REGISTERED,
                "the session key is not registered",
            ));
        }
        if view.revoked {
            return Err(Refusal::new(codes::SESSION_REVOKED, "the session was revoked"));
        }
        if view.callsUsed >= u64::from(view.maxCalls) {
            return Err(Refusal::new(
                codes::SESSION_MAX_CALLS_EXCEEDED,
                "the session has used all its calls",
            ));
        }
        let valid_until: u64 = view.validUntil.to::<u64>();
        if now > valid_until {
            return Err(Refusal::new(codes::SESSION_EXPIRED, "the session has expired"));
        }
        let end = Self::window_end(now, window_seconds)?.min(valid_until);
        let op_nonce = nonce(U256::from(view.nonceKey), view.callsUsed + 1);
        self.build(address, calls, op_nonce, true, None, end, base_fee)
    }

    /// Reads a payload for `account`: this chain and EntryPoint, this account, sponsored
    /// by this relayer's paymaster signature; returns the userOp and its paymaster data.
    fn read(&self, account: &str, payload: &Value) -> Result<(Payload, PaymasterData), Refusal> {
        let account = parse_address(account)?;
        let payload = Payload::from_json(payload)?;
        if payload.chain_id != self.chain_id {
            return Err(Refusal::new(
                codes::WRONG_CHAIN,
                format!(
                    "the userOp is for chain {}, this relayer serves {}",
                    payload.chain_id, self.chain_id
                ),
            ));
        }
        if payload.entry_point != self.contracts.entry_point {
            return Err(Refusal::new(codes::WRONG_CHAIN, "the userOp is for another EntryPoint"));
        }
        let op = &payload.user_operation;
        if op.sender != account {
            return Err(invalid_signature("the userOp is for another account"));
        }
        if op.paymaster != Some(self.contracts.paymaster) {
            return Err(Refusal::new(
                codes::INVALID_TYPED_DATA,
                "the userOp is not sponsored by this relayer's paymaster",
            ));
        }
        let data = PaymasterData::from_bytes(&op.paymaster_data)
            .map_err(|e| Refusal::new(codes::INVALID_TYPED_DATA, e.to_string()))?;
        let digest = paymaster_hash(
            op,
            self.contracts.paymaster,
            self.chain_id,
            data.valid_until,
            data.valid_after,
        );
        if data.signature.recover(digest).ok() != Some(self.paymaster_signer)
            || data.valid_until == 0
        {
            return Err(invalid_signature(
                "the userOp's sponsorship was not signed by this relayer",
            ));
        }
        Ok((payload, data))
    }

    fn relayer(&self, relayer: &str) -> Result<&(Address, PrivateKeySigner), Unavailable> {
        let address = parse_address(relayer).map_err(|r| Unavailable(r.message))?;
        self.relayers.iter().find(|(a, _)| *a == address).ok_or_else(|| {
            Unavailable(format!("{relayer} is not a relayer account of this backend"))
        })
    }

    /// The transaction of a job from `relayer`, and the userOp it carries.
    fn job_tx(
        &self,
        relayer: Address,
        job: &Job,
    ) -> Result<(TransactionRequest, Option<UserOperation>), Refusal> {
        match job {
            Job::Execute { account, payload, signature } => {
                let (payload, _) = self.read(account, payload)?;
                let mut op = payload.user_operation;
                op.signature = crate::signature::signature_bytes(signature)
                    .ok_or_else(|| invalid_signature("not an EVM userOp signature"))?
                    .into();
                let data = EntryPoint::handleOpsCall { ops: vec![op.pack()], beneficiary: relayer };
                let tx = TransactionRequest::default()
                    .with_from(relayer)
                    .with_to(self.contracts.entry_point)
                    .with_input(data.abi_encode());
                Ok((tx, Some(op)))
            }
            Job::Deploy { owner_public_key } => {
                let owner = parse_address(owner_public_key)?;
                let tx = TransactionRequest::default()
                    .with_from(relayer)
                    .with_to(self.contracts.factory)
                    .with_input(create_account_data(owner, U256::ZERO));
                Ok((tx, None))
            }
        }
    }

    /// A precise code for a session userOp the EntryPoint refused in validation (`AA22`,
    /// `AA24`): why its session cannot run it.
    async fn diagnose_session(&self, op: &UserOperation, refusal: Refusal) -> Refusal {
        let Ok(signature) = UserOpSignature::decode(&op.signature) else { return refusal };
        if !signature.kind.is_session() {
            return refusal;
        }
        let hash = op.hash(self.contracts.entry_point, self.chain_id);
        let Ok(key) = signature.recover(hash) else { return refusal };
        let Ok(view) = self.eth_call(op.sender, &LatchkeyAccount::getSessionCall { key }).await
        else {
            return refusal;
        };
        let now = self.latest().await.map(|(now, _)| now).unwrap_or(0);
        let (code, why) = if !view.registered {
            (codes::SESSION_NOT_REGISTERED, "the session key is not registered")
        } else if view.revoked {
            (codes::SESSION_REVOKED, "the session was revoked")
        } else if view.callsUsed >= u64::from(view.maxCalls) {
            (codes::SESSION_MAX_CALLS_EXCEEDED, "the session has used all its calls")
        } else if now < view.validAfter.to::<u64>() {
            (codes::SESSION_NOT_YET_VALID, "the session is not valid yet")
        } else if now > view.validUntil.to::<u64>() {
            (codes::SESSION_EXPIRED, "the session has expired")
        } else if split_nonce(op.nonce).0 != U256::from(view.nonceKey) {
            (codes::INVALID_SIGNATURE, "the userOp does not use the session's nonce key")
        } else {
            (codes::SESSION_ENTRYPOINT_NOT_ALLOWED, "a call is not in the session's allowlist")
        };
        Refusal::new(code, format!("{why} ({})", refusal.message))
    }

    /// The refusal of a failed simulation.
    async fn simulation_refusal(&self, data: &[u8], op: Option<&UserOperation>) -> Refusal {
        let Some(reason) = entry_point_reason(data) else { return execution_refusal(data) };
        let refusal = refusal_of_aa(&reason);
        match op {
            Some(op) if reason.starts_with("AA22") || reason.starts_with("AA24") => {
                self.diagnose_session(op, refusal).await
            }
            // A first userOp replayed: the account exists because it ran.
            Some(op) if reason.starts_with("AA10") => {
                let spent = self.is_spent(&address_text(op.sender), &u256_text(op.nonce)).await;
                match spent {
                    Ok(true) => Refusal::new(
                        codes::DUPLICATE_EXECUTION,
                        format!("the userOp already ran ({})", refusal.message),
                    ),
                    _ => refusal,
                }
            }
            _ => refusal,
        }
    }

    /// Runs the userOp's execution as the EntryPoint would (an `eth_call` from the
    /// EntryPoint to the deployed account), to refuse a userOp whose calls revert before
    /// it costs anything. Session spending caps are applied by the account only inside a
    /// real `handleOps` (they need the validation's transient record), so a cap refusal
    /// is found on chain, not here.
    async fn simulate_execution(&self, op: &UserOperation) -> Result<(), SimulationError> {
        if op.factory.is_some() || op.call_data.is_empty() {
            return Ok(());
        }
        let data: Bytes =
            if op.call_data.starts_with(&latchkey_evm_contracts::EXECUTE_USER_OP_SELECTOR) {
                LatchkeyAccount::executeUserOpCall {
                    userOp: op.pack(),
                    userOpHash: op.hash(self.contracts.entry_point, self.chain_id),
                }
                .abi_encode()
                .into()
            } else {
                op.call_data.clone()
            };
        let tx = TransactionRequest::default()
            .with_from(self.contracts.entry_point)
            .with_to(op.sender)
            .with_input(data);
        match self.provider.call(tx).await {
            Ok(_) => Ok(()),
            Err(error) => match error.as_error_resp().and_then(|p| p.as_revert_data()) {
                Some(data) => Err(SimulationError::Refused(execution_refusal(&data))),
                None => Err(SimulationError::Unavailable(unavailable(error))),
            },
        }
    }

    fn remember_receipt_logs(&self, logs: &[alloy_rpc_types_eth::Log]) {
        let mut cache = self.cache();
        for log in logs {
            let deployed = if log.address() == self.contracts.factory {
                LatchkeyAccountFactory::AccountCreated::decode_log(&log.inner)
                    .ok()
                    .map(|l| l.data.account)
            } else if log.address() == self.contracts.entry_point {
                EntryPoint::AccountDeployed::decode_log(&log.inner).ok().map(|l| l.data.sender)
            } else {
                None
            };
            if let Some(account) = deployed {
                cache.undeployed.remove(&account);
                cache.deployed.insert(account);
            }
        }
    }
}

/// An owner userOp's nonce: a fresh random 192-bit key, sequence 0.
fn random_nonce() -> U256 {
    let key: [u8; 24] = rand::random();
    nonce(U256::from_be_slice(&key), 0)
}

#[async_trait]
impl Chain for EvmBackend {
    fn id(&self) -> &ChainRef {
        &self.id
    }

    fn fee_unit(&self) -> &'static str {
        "WEI"
    }

    async fn now(&self) -> Result<u64, Unavailable> {
        Ok(self.latest().await?.0)
    }

    fn parse_address(&self, text: &str) -> Result<String, Refusal> {
        parse_address(text).map(address_text)
    }

    fn parse_key(&self, text: &str) -> Result<String, Refusal> {
        match parse_address(text)? {
            Address::ZERO => {
                Err(Refusal::new(codes::INVALID_INPUT, "a key is not the zero address"))
            }
            key => Ok(address_text(key)),
        }
    }

    /// A name must be a Solidity signature (`name(type,…)`, no spaces): its selector is
    /// the first 4 bytes of its keccak-256.
    fn selector(&self, method: Method<'_>) -> Result<String, Refusal> {
        match method {
            Method::Name(signature) => {
                let well_formed = signature
                    .split_once('(')
                    .is_some_and(|(name, _)| !name.is_empty() && signature.ends_with(')'))
                    && !signature.contains(char::is_whitespace);
                if !well_formed {
                    return Err(Refusal::new(
                        codes::INVALID_INPUT,
                        "on EVM a method is named by its signature, e.g. transfer(address,uint256)",
                    ));
                }
                let hash = alloy_primitives::keccak256(signature.as_bytes());
                Ok(crate::text::selector_text([hash[0], hash[1], hash[2], hash[3]]))
            }
            Method::Selector(text) => calls::selector_of_text(text).map(crate::text::selector_text),
        }
    }

    fn account_address(&self, owner_public_key: &str) -> Result<String, Refusal> {
        let owner = parse_address(owner_public_key)?;
        let account = account_address(
            self.contracts.factory,
            self.contracts.account_implementation,
            owner,
            U256::ZERO,
        );
        self.cache().owners.insert(account, owner);
        Ok(address_text(account))
    }

    async fn is_deployed(&self, address: &str) -> Result<bool, Unavailable> {
        let address = parse_address(address).map_err(|r| Unavailable(r.message))?;
        let deployed = self.has_code(address).await?;
        let mut cache = self.cache();
        if deployed {
            cache.undeployed.remove(&address);
            cache.deployed.insert(address);
        } else {
            cache.deployed.remove(&address);
            cache.undeployed.insert(address);
        }
        Ok(deployed)
    }

    async fn owner_key(&self, account: &str) -> Result<Option<String>, Unavailable> {
        let account = parse_address(account).map_err(|r| Unavailable(r.message))?;
        if !self.has_code(account).await? {
            return Ok(None);
        }
        let owner = self.eth_call(account, &LatchkeyAccount::ownerCall {}).await?;
        Ok(Some(address_text(owner)))
    }

    async fn token_balance(&self, token: &str, owner: &str) -> Result<String, Unavailable> {
        let token = parse_address(token).map_err(|r| Unavailable(r.message))?;
        let owner = parse_address(owner).map_err(|r| Unavailable(r.message))?;
        let balance = self.eth_call(token, &DemoToken::balanceOfCall { account: owner }).await?;
        Ok(balance.to_string())
    }

    /// A userOp paying at most twice the latest base fee (and our priority fee) per gas,
    /// with fixed gas bounds (the constants of this crate), sponsored until
    /// `now + window - 1`. The owner's has a fresh random nonce key, and factory fields
    /// when the account is not deployed yet (its owner known from
    /// [`account_address`](Chain::account_address)); a session's is described at
    /// `session_op` (below). `caller` is not bound: any bundler may submit a userOp, and
    /// the paymaster window limits it.
    async fn prepare(
        &self,
        account: &str,
        calls: Calls,
        signing: &Signing,
        _caller: &str,
        now: u64,
        window_seconds: u64,
    ) -> Result<Signable, Refusal> {
        let address = parse_address(account)?;
        let calls = calls::decode_calls(&calls)?;
        let (_, base_fee) = self.latest().await.map_err(unavailable_refusal)?;
        match signing {
            Signing::Owner => {
                self.is_deployed(account).await.map_err(unavailable_refusal)?;
                let end = Self::window_end(now, window_seconds)?;
                let factory_owner = self.factory_owner(address);
                self.build(address, &calls, random_nonce(), false, factory_owner, end, base_fee)
            }
            Signing::Session(key) => {
                self.session_op(address, &calls, key, now, window_seconds, base_fee).await
            }
        }
    }

    fn views(&self, account: &str, calls: &Calls) -> Result<Vec<CallView>, Refusal> {
        let account = parse_address(account)?;
        Ok(calls::decode_calls(calls)?.iter().map(|c| calls::view(account, c)).collect())
    }

    fn inspect(&self, account: &str, payload: &Value) -> Result<Inspected, Refusal> {
        let (payload, sponsorship) = self.read(account, payload)?;
        let op = &payload.user_operation;
        let calls = calls::calls_of_call_data(op.sender, &op.call_data)?;
        Ok(Inspected {
            nonce_key: u256_text(op.nonce),
            hash: hash_text(payload.hash()),
            execute_after: sponsorship.valid_after,
            execute_before: sponsorship.valid_until + 1,
            caller: None,
            words: calls::encode_calls(&calls)?.words(),
            calls: calls.iter().map(|c| calls::view(op.sender, c)).collect(),
        })
    }

    /// The account's 66-byte `kind ‖ r ‖ s ‖ v`, in either layout of
    /// [`crate::signature`]. An owner kind must
    /// recover `owner_key` (an address); a session kind names the recovered address, and
    /// its `valid_until` is the sponsorship's last second: the userOp hash the session
    /// signs commits to the paymaster window, which the EntryPoint enforces together with
    /// the session's own (prepared session userOps end no later than the session).
    /// `personal_sign` of [`latchkey_evm_contracts::proof_hash`] by the key's address:
    /// one `0x` string of 65 bytes `r ‖ s ‖ v`.
    fn verify_proof(&self, claim: &ProofClaim<'_>, signature: &[String]) -> Result<(), Refusal> {
        let malformed = || {
            invalid_signature("an EVM proof is one 0x string of 65 bytes (r, s, v), with a low s")
        };
        let [hex] = signature else { return Err(malformed()) };
        let bytes = parse_hex(hex).ok_or_else(malformed)?;
        let word = |name: &str, text: &str| {
            parse_u256(text).map(|v| B256::from(v.to_be_bytes::<32>())).ok_or_else(|| {
                Refusal::new(
                    codes::INVALID_INPUT,
                    format!("the proof's {name} is not a 256-bit number"),
                )
            })
        };
        let hash = latchkey_evm_contracts::proof_hash(
            self.chain_id,
            parse_address(claim.account)?,
            claim.purpose.as_str(),
            word("challenge", claim.challenge)?,
            word("payload", claim.payload)?,
        );
        let signer =
            latchkey_evm_contracts::recover_proof(&bytes, hash).map_err(|_| malformed())?;
        if signer != parse_address(claim.key)? {
            return Err(Refusal::new(
                codes::INVALID_PROOF,
                "the proof does not verify for this key",
            ));
        }
        Ok(())
    }

    fn verify(
        &self,
        inspected: &Inspected,
        owner_key: &str,
        signature: &[String],
    ) -> Result<Signer, Refusal> {
        let invalid = || invalid_signature("signature does not verify for this account and userOp");
        let bytes = crate::signature::signature_bytes(signature).ok_or_else(invalid)?;
        let signature = UserOpSignature::decode(&bytes).map_err(|_| invalid())?;
        let hash = parse_b256(&inspected.hash).ok_or_else(invalid)?;
        let signer = signature.recover(hash).map_err(|_| invalid())?;
        if !signature.kind.is_session() {
            if signer != parse_address(owner_key)? {
                return Err(invalid());
            }
            return Ok(Signer::Owner);
        }
        let nonce = parse_u256(&inspected.nonce_key).ok_or_else(invalid)?;
        let key = split_nonce(nonce).0 >> 32;
        if key != U256::from_be_slice(signer.as_slice()) {
            return Err(invalid_signature("a session signature needs the session's nonce key"));
        }
        Ok(Signer::Session {
            key: address_text(signer),
            valid_until: inspected.execute_before.saturating_sub(1),
        })
    }
}

fn unregistered() -> SessionRecord {
    SessionRecord {
        registered: false,
        revoked: false,
        rules: SessionRules { valid_after: 0, valid_until: 0, max_calls: 0, permissions: vec![] },
        calls_used: 0,
    }
}

#[async_trait]
impl SessionCodec for EvmBackend {
    fn session_calls(&self, account: &str, changes: &[AccountChange]) -> Result<Calls, Refusal> {
        calls::encode_calls(&calls::change_calls(parse_address(account)?, changes)?)
    }

    async fn session(&self, account: &str, key: &str) -> Result<SessionRecord, Unavailable> {
        let parse = |t: &str| parse_address(t).map_err(|r| Unavailable(r.message));
        let (account, key) = (parse(account)?, parse(key)?);
        if !self.has_code(account).await? {
            return Ok(unregistered());
        }
        let view = self.eth_call_latest(account, &LatchkeyAccount::getSessionCall { key }).await?;
        let permissions = view
            .allowedMethods
            .iter()
            .map(|m| latchkey_chain::Permission {
                target: (m.target != Address::ZERO).then(|| address_text(m.target)),
                selector: crate::text::selector_text(m.selector.0),
            })
            .collect();
        Ok(SessionRecord {
            registered: view.registered,
            revoked: view.revoked,
            calls_used: u32::try_from(view.callsUsed).unwrap_or(u32::MAX),
            rules: SessionRules {
                valid_after: view.validAfter.to::<u64>(),
                valid_until: view.validUntil.to::<u64>(),
                max_calls: view.maxCalls,
                permissions: if view.allowAll { Vec::new() } else { permissions },
            },
        })
    }

    async fn spending_cap(
        &self,
        account: &str,
        key: &str,
        token: &str,
    ) -> Result<SpendingPolicy, Unavailable> {
        let parse = |t: &str| parse_address(t).map_err(|r| Unavailable(r.message));
        let (account, key, token) = (parse(account)?, parse(key)?, parse(token)?);
        let zero = latchkey_core::U256::ZERO;
        if !self.has_code(account).await? {
            return Ok(SpendingPolicy {
                max_per_call: zero,
                max_per_window: zero,
                window_seconds: 0,
                spent_in_window: zero,
                window_start: 0,
            });
        }
        let cap = self
            .eth_call_latest(account, &LatchkeyAccount::getSpendingCapCall { key, token })
            .await?;
        Ok(SpendingPolicy {
            max_per_call: latchkey_core::U256::from_u128(cap.maxPerCall),
            max_per_window: latchkey_core::U256::from_u128(cap.maxPerWindow),
            window_seconds: cap.windowSeconds,
            spent_in_window: latchkey_core::U256::from_u128(cap.spentInWindow),
            window_start: cap.windowStart,
        })
    }
}

/// The fee limits of a relayer transaction, in a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    gas: u64,
    max_fee_per_gas: u128,
    max_priority_fee_per_gas: u128,
}

impl Limits {
    fn to_json(self) -> Value {
        json!({
            "gas": self.gas.to_string(),
            "maxFeePerGas": self.max_fee_per_gas.to_string(),
            "maxPriorityFeePerGas": self.max_priority_fee_per_gas.to_string(),
        })
    }

    fn from_json(value: &Value) -> Option<Self> {
        let text = |key: &str| value.get(key)?.as_str();
        Some(Self {
            gas: text("gas")?.parse().ok()?,
            max_fee_per_gas: text("maxFeePerGas")?.parse().ok()?,
            max_priority_fee_per_gas: text("maxPriorityFeePerGas")?.parse().ok()?,
        })
    }
}

/// The most a userOp can be charged: all its gas limits at its `maxFeePerGas`.
fn user_op_max_cost(op: &UserOperation) -> u128 {
    let pre = u128::try_from(op.pre_verification_gas).unwrap_or(u128::MAX);
    op.verification_gas_limit
        .saturating_add(op.call_gas_limit)
        .saturating_add(pre)
        .saturating_add(op.paymaster_verification_gas_limit)
        .saturating_add(op.paymaster_post_op_gas_limit)
        .saturating_mul(op.max_fee_per_gas)
}

#[async_trait]
impl Relay for EvmBackend {
    fn relayer_accounts(&self) -> Vec<String> {
        self.relayers.iter().map(|(address, _)| address_text(*address)).collect()
    }

    async fn relayer_nonce(&self, relayer: &str) -> Result<u64, Unavailable> {
        let address = parse_address(relayer).map_err(|r| Unavailable(r.message))?;
        self.provider.get_transaction_count(address).pending().await.map_err(unavailable)
    }

    /// Its ether balance (the bundler account pays `handleOps`' gas, in wei).
    async fn relayer_funds(&self, relayer: &str) -> Result<u128, Unavailable> {
        let address = parse_address(relayer).map_err(|r| Unavailable(r.message))?;
        let balance = self.provider.get_balance(address).await.map_err(unavailable)?;
        Ok(u128::try_from(balance).unwrap_or(u128::MAX))
    }

    /// `eth_estimateGas` of `handleOps([op], relayer)` (or `createAccount`) from the
    /// relayer at `nonce`; an EntryPoint refusal becomes a [`Refusal`] with a stable code
    /// (see [`crate::reasons`]), sharpened for session userOps by reading the session. Then
    /// the userOp's execution is run from the EntryPoint, so a call that reverts is
    /// refused before anything is sent. The quote's `max_fee` is the most the paymaster
    /// can be charged for the userOp (every gas limit at its `maxFeePerGas`), which bounds
    /// the fee the receipt reports; for a deployment, gas limit × `maxFeePerGas`.
    async fn simulate(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
    ) -> Result<Quote, SimulationError> {
        let (address, _) = self.relayer(relayer).map_err(SimulationError::Unavailable)?;
        let address = *address;
        let pending = self.relayer_nonce(relayer).await.map_err(SimulationError::Unavailable)?;
        if pending != nonce {
            return Err(SimulationError::Nonce);
        }
        let (tx, op) = self.job_tx(address, job).map_err(SimulationError::Refused)?;
        let estimate = match self.provider.estimate_gas(tx.with_nonce(nonce)).await {
            Ok(gas) => gas,
            Err(error) => {
                let data = error.as_error_resp().and_then(|p| p.as_revert_data());
                return Err(match (data, error.as_error_resp()) {
                    (Some(data), _) => {
                        SimulationError::Refused(self.simulation_refusal(&data, op.as_ref()).await)
                    }
                    (None, Some(payload)) if payload.message.contains("nonce") => {
                        SimulationError::Nonce
                    }
                    (None, Some(payload))
                        if latchkey_chain::is_unfunded_reason(&payload.message) =>
                    {
                        SimulationError::Unfunded(payload.message.to_string())
                    }
                    (None, Some(payload)) => SimulationError::Refused(Refusal::new(
                        codes::SIMULATION_FAILED,
                        format!("the transaction would fail: {}", payload.message),
                    )),
                    (None, None) => SimulationError::Unavailable(unavailable(error)),
                });
            }
        };
        if let Some(op) = &op {
            self.simulate_execution(op).await?;
        }
        let (_, base_fee) = self.latest().await.map_err(SimulationError::Unavailable)?;
        let limits = Limits {
            gas: estimate.saturating_add(estimate / 4).saturating_add(25_000),
            max_fee_per_gas: base_fee.saturating_mul(2).saturating_add(PRIORITY_FEE),
            max_priority_fee_per_gas: PRIORITY_FEE,
        };
        let max_fee = match &op {
            Some(op) => user_op_max_cost(op),
            None => u128::from(limits.gas).saturating_mul(limits.max_fee_per_gas),
        };
        Ok(Quote { max_fee, unit: "WEI", limits: limits.to_json() })
    }

    async fn sign(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
        quote: &Quote,
    ) -> Result<SignedTx, Unavailable> {
        let (address, signer) = self.relayer(relayer)?;
        let (tx, _) = self.job_tx(*address, job).map_err(|r| Unavailable(r.message))?;
        let limits = Limits::from_json(&quote.limits)
            .ok_or_else(|| Unavailable("the quote's limits are not EVM fee limits".into()))?;
        let tx = tx
            .with_nonce(nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(limits.gas)
            .with_max_fee_per_gas(limits.max_fee_per_gas)
            .with_max_priority_fee_per_gas(limits.max_priority_fee_per_gas);
        let wallet = EthereumWallet::from(signer.clone());
        let envelope =
            tx.build(&wallet).await.map_err(|e| Unavailable(format!("signing failed: {e}")))?;
        let raw = format!("0x{}", hex_of(&envelope.encoded_2718()));
        Ok(SignedTx { hash: hash_text(*envelope.tx_hash()), raw })
    }

    async fn send(&self, raw: &str) -> Result<(), SendError> {
        let bytes = parse_hex(raw)
            .ok_or_else(|| SendError::Rejected("the recorded transaction is not hex".into()))?;
        match self.provider.send_raw_transaction(&bytes).await {
            Ok(_) => Ok(()),
            Err(error) => match error.as_error_resp() {
                Some(payload) => {
                    let message = payload.message.to_string();
                    let lower = message.to_lowercase();
                    if lower.contains("already known") || lower.contains("already imported") {
                        Ok(())
                    } else if latchkey_chain::is_server_error(payload.code) {
                        // The node failed, not the transaction: it may have taken it.
                        Err(SendError::Unknown(message))
                    } else if latchkey_chain::is_unfunded_reason(&message) {
                        Err(SendError::Unfunded(message))
                    } else if lower.contains("nonce") || lower.contains("replacement transaction") {
                        Err(SendError::Nonce(message))
                    } else {
                        Err(SendError::Rejected(message))
                    }
                }
                None => Err(SendError::Unknown(rpc_text(&error))),
            },
        }
    }

    /// A `handleOps` transaction's result is its userOp's: `UserOperationEvent.success`
    /// and `actualGasCost` (what the paymaster paid, in wei), with the revert reason of
    /// `UserOperationRevertReason`. A transaction without userOps (a deployment) reports
    /// its status and gas used × effective gas price.
    async fn receipt(&self, tx_hash: &str) -> Result<Option<Outcome>, Unavailable> {
        let hash =
            parse_b256(tx_hash).ok_or_else(|| Unavailable("not a transaction hash".into()))?;
        let Some(receipt) =
            self.provider.get_transaction_receipt(hash).await.map_err(unavailable)?
        else {
            return Ok(None);
        };
        let logs = receipt.logs();
        self.remember_receipt_logs(logs);
        let tx_fee = u128::from(receipt.gas_used).saturating_mul(receipt.effective_gas_price);
        // A receipt without a block is a pending transaction's (some nodes serve those).
        let Some(block) = receipt.block_number else { return Ok(None) };
        let inclusion = Inclusion::Block(block);
        if !receipt.status() {
            return Ok(Some(Outcome {
                reverted: Some("the transaction reverted".into()),
                fee: tx_fee,
                inclusion,
            }));
        }
        let from_entry_point =
            |l: &&alloy_rpc_types_eth::Log| l.address() == self.contracts.entry_point;
        let events: Vec<EntryPoint::UserOperationEvent> = logs
            .iter()
            .filter(from_entry_point)
            .filter_map(|l| EntryPoint::UserOperationEvent::decode_log(&l.inner).ok())
            .map(|l| l.data)
            .collect();
        if events.is_empty() {
            return Ok(Some(Outcome { reverted: None, fee: tx_fee, inclusion }));
        }
        let fee = events
            .iter()
            .map(|e| u128::try_from(e.actualGasCost).unwrap_or(u128::MAX))
            .fold(0u128, u128::saturating_add);
        let reverted = events.iter().any(|e| !e.success).then(|| {
            logs.iter()
                .filter(from_entry_point)
                .find_map(|l| EntryPoint::UserOperationRevertReason::decode_log(&l.inner).ok())
                .map(|l| execution_refusal(&l.data.revertReason).message)
                .unwrap_or_else(|| "the userOp's execution reverted".into())
        });
        Ok(Some(Outcome { reverted, fee, inclusion }))
    }

    async fn head(&self) -> Result<u64, Unavailable> {
        self.provider.get_block_number().await.map_err(unavailable)
    }

    /// Whether the userOp nonce `nonce_key` (the whole nonce) can no longer run: the
    /// EntryPoint's sequence for its key has passed it.
    async fn is_spent(&self, account: &str, nonce_key: &str) -> Result<bool, Unavailable> {
        let account = parse_address(account).map_err(|r| Unavailable(r.message))?;
        let full = parse_u256(nonce_key).ok_or_else(|| Unavailable("not a userOp nonce".into()))?;
        let (key, sequence) = split_nonce(full);
        let current = self
            .eth_call(
                self.contracts.entry_point,
                &EntryPoint::getNonceCall {
                    sender: account,
                    key: U192::from_be_slice(&key.to_be_bytes::<32>()[8..]),
                },
            )
            .await?;
        Ok(split_nonce(current).1 > sequence)
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn limits_round_trip_and_max_cost_counts_every_limit() {
        let limits = Limits { gas: 5, max_fee_per_gas: 7, max_priority_fee_per_gas: 1 };
        assert_eq!(Limits::from_json(&limits.to_json()), Some(limits));
        let op = UserOperation {
            verification_gas_limit: 1,
            call_gas_limit: 2,
            pre_verification_gas: U256::from(3u8),
            paymaster_verification_gas_limit: 4,
            paymaster_post_op_gas_limit: 5,
            max_fee_per_gas: 10,
            ..UserOperation::default()
        };
        assert_eq!(user_op_max_cost(&op), 150);
    }

    const PAYMASTER_KEY: B256 = B256::repeat_byte(0x5a);

    fn offline(chain_id: u64) -> EvmBackend {
        let contracts = EvmContracts {
            entry_point: latchkey_evm_contracts::ENTRY_POINT_V08,
            factory: Address::repeat_byte(0xfa),
            paymaster: Address::repeat_byte(0x9a),
            account_implementation: Address::repeat_byte(0x1a),
        };
        EvmBackend::new(EvmConfig {
            rpc_url: "http://127.0.0.1:9".into(),
            chain_id,
            contracts,
            paymaster_signer: PAYMASTER_KEY,
            relayers: vec![B256::repeat_byte(0x11)],
        })
        .unwrap()
    }

    #[test]
    fn keys_never_appear_in_debug_output() {
        let backend = offline(31337);
        let shown = format!("{backend:?}");
        let config = EvmConfig {
            rpc_url: "http://user:secret@127.0.0.1:9/path".into(),
            chain_id: 1,
            contracts: backend.contracts,
            paymaster_signer: PAYMASTER_KEY,
            relayers: vec![B256::repeat_byte(0x11)],
        };
        let shown_config = format!("{config:?}");
        for text in [&shown, &shown_config] {
            for secret in ["5a5a5a5a", "11111111", "secret"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    fn signed(kind: latchkey_evm_contracts::SignatureKind, key: &B256, hash: &str) -> Vec<String> {
        let hash = parse_b256(hash).unwrap();
        vec![UserOpSignature::sign(kind, key, hash).unwrap().encode().to_string()]
    }

    /// What `prepare` makes for the owner at time 1 000 with a 300 s window, without
    /// reading a chain (a base fee of 1 gwei).
    fn owner_op(backend: &EvmBackend, account: &str, calls: Calls) -> Signable {
        let address = parse_address(account).unwrap();
        let calls = calls::decode_calls(&calls).unwrap();
        let end = EvmBackend::window_end(1_000, 300).unwrap();
        let factory_owner = backend.factory_owner(address);
        backend
            .build(address, &calls, random_nonce(), false, factory_owner, end, 1_000_000_000)
            .unwrap()
    }

    #[test]
    fn a_prepared_payload_inspects_to_itself_and_verifies() {
        use latchkey_evm_contracts::SignatureKind;
        let backend = offline(31337);
        let owner_key = B256::repeat_byte(0x42);
        let owner = address_text(address_of(&owner_key).unwrap());
        let account = backend.account_address(&owner).unwrap();
        let calls =
            calls::encode_calls(&[EvmCall::new(Address::repeat_byte(0x6a), vec![1, 2, 3, 4, 5])])
                .unwrap();
        let signable = owner_op(&backend, &account, calls.clone());
        assert_eq!(signable.execute_before, 1_300);

        // The JSON round-trips and says the same thing.
        let text = signable.payload.to_string();
        let back: Value = serde_json::from_str(&text).unwrap();
        let inspected = backend.inspect(&account, &back).unwrap();
        assert_eq!(inspected.hash, signable.hash);
        assert_eq!(inspected.nonce_key, signable.nonce_key);
        assert_eq!((inspected.execute_after, inspected.execute_before), (0, 1_300));
        assert_eq!(inspected.calls, backend.views(&account, &calls).unwrap());
        assert_eq!(inspected.caller, None);
        assert_eq!(back["chainId"], 31337);
        assert!(back["userOperation"]["factory"].is_null());

        // Each prepared userOp has its own nonce key.
        let again = owner_op(&backend, &account, calls);
        assert_ne!(again.nonce_key, signable.nonce_key);

        // Owner signatures of both kinds verify; a session signature needs its nonce key.
        for kind in [SignatureKind::OwnerRaw, SignatureKind::OwnerEip191] {
            let signature = signed(kind, &owner_key, &signable.hash);
            assert_eq!(backend.verify(&inspected, &owner, &signature).unwrap(), Signer::Owner);
        }
        let stranger = B256::repeat_byte(0x43);
        let wrong = signed(SignatureKind::OwnerRaw, &stranger, &signable.hash);
        assert_eq!(
            backend.verify(&inspected, &owner, &wrong).unwrap_err().code,
            codes::INVALID_SIGNATURE
        );
        let session = signed(SignatureKind::SessionRaw, &stranger, &signable.hash);
        assert_eq!(
            backend.verify(&inspected, &owner, &session).unwrap_err().code,
            codes::INVALID_SIGNATURE
        );
        for malformed in [vec![], vec!["0x".to_string()], vec!["zz".into()], vec!["0x00".repeat(2)]]
        {
            assert!(backend.verify(&inspected, &owner, &malformed).is_err());
        }

        // Tampering with anything the sponsorship covers is refused before any signature.
        let mut tampered = back.clone();
        tampered["userOperation"]["callGasLimit"] = json!("0x1");
        assert_eq!(
            backend.inspect(&account, &tampered).unwrap_err().code,
            codes::INVALID_SIGNATURE
        );
        let mut tampered = back.clone();
        tampered["userOperation"]["callData"] = json!("0x");
        assert_eq!(
            backend.inspect(&account, &tampered).unwrap_err().code,
            codes::INVALID_SIGNATURE
        );
        let mut other_chain = back.clone();
        other_chain["chainId"] = json!(1);
        assert_eq!(backend.inspect(&account, &other_chain).unwrap_err().code, codes::WRONG_CHAIN);
        let mut other_entry_point = back.clone();
        other_entry_point["entryPoint"] = json!(address_text(Address::repeat_byte(1)));
        assert_eq!(
            backend.inspect(&account, &other_entry_point).unwrap_err().code,
            codes::WRONG_CHAIN
        );
        let other_account = address_text(Address::repeat_byte(2));
        assert_eq!(
            backend.inspect(&other_account, &back).unwrap_err().code,
            codes::INVALID_SIGNATURE
        );
        let mut extra = back.clone();
        extra["more"] = json!(1);
        assert_eq!(backend.inspect(&account, &extra).unwrap_err().code, codes::INVALID_TYPED_DATA);
        assert_eq!(offline(1).inspect(&account, &back).unwrap_err().code, codes::WRONG_CHAIN);
    }

    #[test]
    fn an_account_seen_undeployed_is_deployed_by_its_first_user_op() {
        let backend = offline(31337);
        let owner = address_of(&B256::repeat_byte(0x42)).unwrap();
        let account = backend.account_address(&address_text(owner)).unwrap();
        backend.cache().undeployed.insert(parse_address(&account).unwrap());
        let calls =
            calls::encode_calls(&[EvmCall::new(Address::repeat_byte(0x6a), vec![1])]).unwrap();
        let signable = owner_op(&backend, &account, calls);
        let op = Payload::from_json(&signable.payload).unwrap().user_operation;
        assert_eq!(op.factory, Some(Address::repeat_byte(0xfa)));
        assert_eq!(op.factory_data, create_account_data(owner, U256::ZERO));
        assert_eq!(op.verification_gas_limit, VERIFICATION_GAS + DEPLOY_VERIFICATION_GAS);
    }
}
