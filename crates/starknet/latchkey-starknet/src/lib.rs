//! Starknet JSON-RPC operations for latchkey, on the `starknet-rust` client the embedded
//! devnet uses: gasless account deployment through the UDC, building, signing and
//! relaying SNIP-9 v2 outside executions for owner and session signers, direct invokes
//! signed by a session key over the transaction hash, reads of the account's session
//! views, and waiting for a transaction with a clear error when it reverts.

mod account;
mod backend;
mod error;

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::{
    selector, Call, Felt, OutsideExecution, SessionSignature, SigningKey, SpendingPolicy,
    ANY_CALLER, U256,
};
use latchkey_starknet_contracts::{parse_spending_policy, SessionData, SessionView};
use starknet_rust_core::types::{
    BlockId, BlockTag, ExecutionResult, FunctionCall, MaybePreConfirmedBlockWithTxHashes,
    StarknetError, TransactionReceipt,
};
use starknet_rust_providers::jsonrpc::HttpTransport;
use starknet_rust_providers::{JsonRpcClient, Provider, ProviderError};
use url::Url;

pub use account::{FeeBounds, FeeMode, KeyAccount, KeySignError, SignedInvoke, TxSigner};
pub use backend::{max_fee, refusal_of, session_calls, StarknetBackend};
pub use error::{is_nonce_reason, redact_urls, ChainError};
pub use starknet_rust_core::types::TransactionFinalityStatus;

/// The JSON-RPC provider type used throughout.
pub type RpcProvider = JsonRpcClient<HttpTransport>;

/// Result alias of this crate.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;

/// The Universal Deployer Contract (the same address on mainnet, Sepolia and devnet).
pub const UDC_ADDRESS: Felt =
    Felt::from_hex_unchecked("0x02ceed65a4bd731034c01113685c831b01c15d7d432f71afb1cf1634b53a2125");
/// The STRK token (fee token of v3 transactions).
pub const STRK_ADDRESS: Felt =
    Felt::from_hex_unchecked("0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d");
/// The ETH token.
pub const ETH_ADDRESS: Felt =
    Felt::from_hex_unchecked("0x049d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7");

/// Starknet's fee tokens by symbol (the same contracts on mainnet, Sepolia and the
/// devnet), each of 18 decimal places.
pub const FEE_TOKENS: [(&str, Felt); 2] = [("STRK", STRK_ADDRESS), ("ETH", ETH_ADDRESS)];

/// A connection to a Starknet node.
#[derive(Debug, Clone)]
pub struct ChainClient {
    provider: Arc<RpcProvider>,
    chain_id: Felt,
    url: Url,
    poll_interval: Duration,
    timeout: Duration,
}

/// What a confirmed transaction cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// The transaction hash.
    pub hash: Felt,
    /// The block it landed in.
    pub block_number: u64,
    /// How final that block is: pre-confirmed, accepted on L2, or accepted on L1.
    pub finality: TransactionFinalityStatus,
    /// The fee charged, in the fee unit of the transaction (FRI for v3).
    pub fee: Felt,
    /// L2 gas consumed.
    pub l2_gas: u64,
    /// L1 gas consumed.
    pub l1_gas: u64,
    /// L1 data gas consumed.
    pub l1_data_gas: u64,
}

/// A transaction's final outcome as its receipt tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Executed successfully.
    Succeeded(TxOutcome),
    /// Included but reverted (the fee was still charged).
    Reverted {
        /// Fee and resources.
        outcome: TxOutcome,
        /// The revert reason, with Cairo short strings decoded.
        reason: String,
    },
}

/// A deployed (or already present) user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedAccount {
    /// The account address.
    pub address: Felt,
    /// The deployment transaction, `None` when the account already existed.
    pub transaction_hash: Option<Felt>,
}

impl ChainClient {
    /// Connects to a node and reads its chain id.
    pub async fn connect(url: Url) -> Result<Self> {
        let provider = Arc::new(JsonRpcClient::new(HttpTransport::new(url.clone())));
        let chain_id = provider.chain_id().await.map_err(ChainError::from_provider)?;
        Ok(Self {
            provider,
            chain_id,
            url,
            poll_interval: Duration::from_millis(50),
            timeout: Duration::from_secs(120),
        })
    }

    /// Sets how often and how long [`ChainClient::wait_for_transaction`] polls.
    pub fn with_polling(mut self, interval: Duration, timeout: Duration) -> Self {
        self.poll_interval = interval;
        self.timeout = timeout;
        self
    }

    /// The node's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The chain id (a short string such as `SN_SEPOLIA`).
    pub fn chain_id(&self) -> Felt {
        self.chain_id
    }

    /// Broadcasts a signed invoke (again, byte for byte, when it was sent before).
    pub async fn submit(&self, signed: &SignedInvoke) -> Result<Felt> {
        account::broadcast(&self.provider, signed).await
    }

    /// The underlying provider.
    pub fn provider(&self) -> &Arc<RpcProvider> {
        &self.provider
    }

    /// Calls a view at the pre-confirmed block.
    pub async fn call(&self, to: Felt, entrypoint: &str, calldata: Vec<Felt>) -> Result<Vec<Felt>> {
        self.provider
            .call(
                FunctionCall {
                    contract_address: to,
                    entry_point_selector: selector(entrypoint),
                    calldata,
                },
                BlockId::Tag(BlockTag::PreConfirmed),
            )
            .await
            .map_err(ChainError::from_provider)
    }

    /// `get_session_data(key)`: the Chipi-compatible status.
    pub async fn get_session_data(&self, account: Felt, session_key: Felt) -> Result<SessionData> {
        let data = self.call(account, "get_session_data", vec![session_key]).await?;
        Ok(SessionData::from_felts(&data)?)
    }

    /// `get_session(key)`: the full view.
    pub async fn get_session(&self, account: Felt, session_key: Felt) -> Result<SessionView> {
        let data = self.call(account, "get_session", vec![session_key]).await?;
        Ok(SessionView::from_felts(&data)?)
    }

    /// `get_spending_policy(key, token)`.
    pub async fn get_spending_policy(
        &self,
        account: Felt,
        session_key: Felt,
        token: Felt,
    ) -> Result<SpendingPolicy> {
        let data = self.call(account, "get_spending_policy", vec![session_key, token]).await?;
        Ok(parse_spending_policy(&data)?)
    }

    /// `is_valid_outside_execution_nonce(nonce)`.
    pub async fn is_valid_outside_execution_nonce(
        &self,
        account: Felt,
        nonce: Felt,
    ) -> Result<bool> {
        let data = self.call(account, "is_valid_outside_execution_nonce", vec![nonce]).await?;
        Ok(data.first() == Some(&Felt::ONE))
    }

    /// An ERC-20 balance.
    pub async fn erc20_balance(&self, token: Felt, owner: Felt) -> Result<U256> {
        let data = self.call(token, "balance_of", vec![owner]).await?;
        match data.as_slice() {
            [low, high] => U256::from_felts(low, high)
                .map_err(|e| ChainError::UnexpectedResponse(format!("balance_of: {e}"))),
            other => Err(ChainError::UnexpectedResponse(format!(
                "balance_of returned {} felts",
                other.len()
            ))),
        }
    }

    /// The account nonce at the pre-confirmed block.
    pub async fn nonce(&self, address: Felt) -> Result<Felt> {
        self.provider
            .get_nonce(BlockId::Tag(BlockTag::PreConfirmed), address)
            .await
            .map_err(ChainError::from_provider)
    }

    /// The class hash deployed at `address`, or `None` when nothing is deployed there.
    pub async fn class_hash_at(&self, address: Felt) -> Result<Option<Felt>> {
        match self.provider.get_class_hash_at(BlockId::Tag(BlockTag::PreConfirmed), address).await {
            Ok(hash) => Ok(Some(hash)),
            Err(ProviderError::StarknetError(StarknetError::ContractNotFound)) => Ok(None),
            Err(e) => Err(ChainError::from_provider(e)),
        }
    }

    /// The number of the latest block.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider.block_number().await.map_err(ChainError::from_provider)
    }

    /// Whether a class is declared.
    pub async fn is_declared(&self, class_hash: Felt) -> Result<bool> {
        match self.provider.get_class(BlockId::Tag(BlockTag::PreConfirmed), class_hash).await {
            Ok(_) => Ok(true),
            Err(ProviderError::StarknetError(StarknetError::ClassHashNotFound)) => Ok(false),
            Err(e) => Err(ChainError::from_provider(e)),
        }
    }

    /// Timestamp of the latest block (the pre-confirmed one when the node has one).
    pub async fn block_timestamp(&self) -> Result<u64> {
        let block = self
            .provider
            .get_block_with_tx_hashes(BlockId::Tag(BlockTag::PreConfirmed))
            .await
            .map_err(ChainError::from_provider)?;
        Ok(match block {
            MaybePreConfirmedBlockWithTxHashes::Block(b) => b.timestamp,
            MaybePreConfirmedBlockWithTxHashes::PreConfirmedBlock(b) => b.timestamp,
        })
    }

    /// Timestamp of a given block.
    pub async fn block_timestamp_of(&self, block_number: u64) -> Result<u64> {
        let block = self
            .provider
            .get_block_with_tx_hashes(BlockId::Number(block_number))
            .await
            .map_err(ChainError::from_provider)?;
        Ok(match block {
            MaybePreConfirmedBlockWithTxHashes::Block(b) => b.timestamp,
            MaybePreConfirmedBlockWithTxHashes::PreConfirmedBlock(b) => b.timestamp,
        })
    }

    /// The receipt of a transaction, `None` while the node does not know it.
    pub async fn receipt(&self, hash: Felt) -> Result<Option<Receipt>> {
        let with_block = match self.provider.get_transaction_receipt(hash).await {
            Ok(with_block) => with_block,
            Err(ProviderError::StarknetError(StarknetError::TransactionHashNotFound)) => {
                return Ok(None)
            }
            Err(e) => return Err(ChainError::from_provider(e)),
        };
        let block_number = with_block.block.block_number();
        let receipt = with_block.receipt;
        let (fee, resources) = match &receipt {
            TransactionReceipt::Invoke(r) => (r.actual_fee.amount, r.execution_resources.clone()),
            TransactionReceipt::Declare(r) => (r.actual_fee.amount, r.execution_resources.clone()),
            TransactionReceipt::DeployAccount(r) => {
                (r.actual_fee.amount, r.execution_resources.clone())
            }
            TransactionReceipt::Deploy(r) => (r.actual_fee.amount, r.execution_resources.clone()),
            TransactionReceipt::L1Handler(r) => {
                (r.actual_fee.amount, r.execution_resources.clone())
            }
        };
        let outcome = TxOutcome {
            hash,
            block_number,
            finality: *receipt.finality_status(),
            fee,
            l2_gas: resources.l2_gas,
            l1_gas: resources.l1_gas,
            l1_data_gas: resources.l1_data_gas,
        };
        Ok(Some(match receipt.execution_result() {
            ExecutionResult::Succeeded => Receipt::Succeeded(outcome),
            ExecutionResult::Reverted { reason } => {
                Receipt::Reverted { outcome, reason: error::readable_reason(reason) }
            }
        }))
    }

    /// Polls until the transaction has a receipt. A reverted transaction is an error
    /// carrying the revert reason.
    pub async fn wait_for_transaction(&self, hash: Felt) -> Result<TxOutcome> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match self.receipt(hash).await? {
                Some(Receipt::Succeeded(outcome)) => return Ok(outcome),
                Some(Receipt::Reverted { reason, .. }) => {
                    return Err(ChainError::Reverted { hash, reason })
                }
                None => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ChainError::Timeout { hash });
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The address a latchkey account of `class_hash` for `owner_public_key` has: the rule
    /// the Chipi SDK uses (salt = owner key, calldata = `[owner key]`, deployer = 0).
    pub fn account_address(class_hash: Felt, owner_public_key: Felt) -> Felt {
        latchkey_core::contract_address(
            &owner_public_key,
            &class_hash,
            &[owner_public_key],
            &Felt::ZERO,
        )
    }

    /// Deploys a user account gaslessly: `relayer` calls the UDC with `unique = false`.
    /// Does nothing when the account already exists.
    pub async fn deploy_account(
        &self,
        relayer: &KeyAccount,
        class_hash: Felt,
        owner_public_key: Felt,
    ) -> Result<DeployedAccount> {
        let address = Self::account_address(class_hash, owner_public_key);
        if self.class_hash_at(address).await?.is_some() {
            return Ok(DeployedAccount { address, transaction_hash: None });
        }
        let call = udc_deploy_call(class_hash, owner_public_key, &[owner_public_key]);
        let hash = relayer.send(&[call], FeeMode::Estimate).await?;
        self.wait_for_transaction(hash).await?;
        Ok(DeployedAccount { address, transaction_hash: Some(hash) })
    }

    /// Relays a signed outside execution: `relayer` invokes
    /// `account.execute_from_outside_v2(outside_execution, signature)`.
    pub async fn relay_outside_execution(
        &self,
        relayer: &KeyAccount,
        account: Felt,
        outside_execution: &OutsideExecution,
        signature: &[Felt],
        fees: FeeMode,
    ) -> Result<Felt> {
        relayer.send(&[outside_execution_call(account, outside_execution, signature)], fees).await
    }
}

/// The UDC call deploying `class_hash` with `salt` from address zero (`unique = false`).
pub fn udc_deploy_call(class_hash: Felt, salt: Felt, constructor_calldata: &[Felt]) -> Call {
    let mut calldata =
        vec![class_hash, salt, Felt::ZERO, Felt::from(constructor_calldata.len() as u64)];
    calldata.extend_from_slice(constructor_calldata);
    Call::new(UDC_ADDRESS, "deployContract", calldata)
}

/// The call a relayer makes to execute an outside execution on `account`.
pub fn outside_execution_call(
    account: Felt,
    outside_execution: &OutsideExecution,
    signature: &[Felt],
) -> Call {
    Call::new(account, "execute_from_outside_v2", outside_execution.to_calldata(signature))
}

/// A fresh outside execution: random 251-bit nonce, caller `ANY_CALLER`, valid from
/// `now - 60` to `now + window_seconds`.
pub fn new_outside_execution(calls: Vec<Call>, now: u64, window_seconds: u64) -> OutsideExecution {
    OutsideExecution {
        caller: ANY_CALLER,
        nonce: random_nonce(),
        execute_after: now.saturating_sub(60),
        execute_before: now.saturating_add(window_seconds),
        calls,
    }
}

/// A uniformly random felt below 2^251, for outside-execution nonces.
pub fn random_nonce() -> Felt {
    latchkey_core::random_felt(&mut rand::rngs::OsRng)
}

/// Owner signature `[r, s]` of an outside execution for `account` on `chain_id`.
pub fn sign_outside_execution_as_owner(
    owner: &SigningKey,
    outside_execution: &OutsideExecution,
    chain_id: Felt,
    account: Felt,
) -> Result<Vec<Felt>> {
    let hash = outside_execution.message_hash(&chain_id, &account);
    Ok(owner.sign(&hash)?.to_owner_felts())
}

/// Session signature `[key, r, s, valid_until]` of an outside execution.
pub fn sign_outside_execution_as_session(
    session: &SigningKey,
    valid_until: u64,
    outside_execution: &OutsideExecution,
    chain_id: Felt,
    account: Felt,
) -> Result<Vec<Felt>> {
    let hash = outside_execution.message_hash(&chain_id, &account);
    Ok(SessionSignature::sign(session, &hash, valid_until)?.to_felts())
}
