//! An account driven by a local key: an owner (or relayer) signing `[r, s]`, or a session
//! key signing `[session_key, r, s, valid_until]` over the transaction hash.

use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::{Call, Felt, SigningKey};
use latchkey_starknet_contracts::Artifact;
use starknet_rust_accounts::{
    Account, AccountError, ConnectedAccount, ExecutionEncoder, RawDeclarationV3, RawExecutionV3,
};
use starknet_rust_core::types::{
    BlockId, BlockTag, BroadcastedInvokeTransaction, BroadcastedTransaction, Call as RpcCall,
    FeeEstimate, MaybePreConfirmedBlockWithTxHashes, SimulationFlagForEstimateFee,
};
use starknet_rust_providers::Provider;
use starknet_rust_signers::SignerInteractivityContext;

use crate::{ChainClient, ChainError, Result, RpcProvider};

/// Who signs the account's transactions.
#[derive(Debug, Clone)]
pub enum TxSigner {
    /// The owner key (or a relayer's key): signature `[r, s]`.
    Owner(SigningKey),
    /// A session key: signature `[session_key, r, s, valid_until]`.
    Session {
        /// The session key.
        key: SigningKey,
        /// The expiry the signature claims.
        valid_until: u64,
    },
}

/// How a transaction's fee bounds are set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeeMode {
    /// Estimate through the node (a transaction that would fail is rejected before it
    /// is sent) and add a safety margin.
    Estimate,
    /// Fixed generous bounds, no estimate: the transaction is sent even if it will
    /// revert, so the revert happens on chain.
    Unchecked,
}

/// Resource bounds of a v3 transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeeBounds {
    /// Max L1 gas.
    pub l1_gas: u64,
    /// Max price per L1 gas unit (FRI).
    pub l1_gas_price: u128,
    /// Max L2 gas.
    pub l2_gas: u64,
    /// Max price per L2 gas unit (FRI).
    pub l2_gas_price: u128,
    /// Max L1 data gas.
    pub l1_data_gas: u64,
    /// Max price per L1 data gas unit (FRI).
    pub l1_data_gas_price: u128,
    /// Tip.
    pub tip: u64,
}

/// A signed invoke transaction that has not been sent yet. Serialisable, so a relayer
/// can record it before broadcasting and re-broadcast the very same transaction.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SignedInvoke {
    /// Its transaction hash.
    pub hash: Felt,
    /// The request to broadcast.
    pub request: BroadcastedInvokeTransaction,
}

/// A Starknet account signed by a local key.
#[derive(Debug, Clone)]
pub struct KeyAccount {
    provider: Arc<RpcProvider>,
    address: Felt,
    chain_id: Felt,
    signer: TxSigner,
}

/// Signing errors of [`KeyAccount`].
#[derive(Debug, thiserror::Error)]
pub enum KeySignError {
    /// The key could not sign.
    #[error(transparent)]
    Signature(#[from] latchkey_core::SignatureError),
    /// Session keys cannot declare classes.
    #[error("a session key cannot sign a declare transaction")]
    SessionDeclare,
}

impl KeyAccount {
    /// An account signed by its owner key (or a relayer signed by its key).
    pub fn owner(client: &ChainClient, address: Felt, key: SigningKey) -> Self {
        Self::new(client, address, TxSigner::Owner(key))
    }

    /// An account driven by one of its session keys on the direct-invoke path. latchkey's
    /// account refuses such transactions at validation (a session never pays a fee); the
    /// test suite uses this signer to show that.
    pub fn session(client: &ChainClient, address: Felt, key: SigningKey, valid_until: u64) -> Self {
        Self::new(client, address, TxSigner::Session { key, valid_until })
    }

    /// An account with the given signer.
    pub fn new(client: &ChainClient, address: Felt, signer: TxSigner) -> Self {
        Self { provider: client.provider().clone(), address, chain_id: client.chain_id(), signer }
    }

    /// Signs for `chain_id` instead of the connected node's chain (offline signing for
    /// another network; the node rejects such transactions).
    pub fn for_chain(mut self, chain_id: Felt) -> Self {
        self.chain_id = chain_id;
        self
    }

    /// The signer.
    pub fn signer(&self) -> &TxSigner {
        &self.signer
    }

    fn to_rpc_calls(calls: &[Call]) -> Vec<RpcCall> {
        calls
            .iter()
            .map(|c| RpcCall { to: c.to, selector: c.selector, calldata: c.calldata.clone() })
            .collect()
    }

    /// Signs and sends an invoke of `calls`; returns the transaction hash.
    pub async fn send(&self, calls: &[Call], fees: FeeMode) -> Result<Felt> {
        self.send_with_nonce(calls, fees, None).await
    }

    /// Like [`KeyAccount::send`] with an explicit account nonce (relayers that manage
    /// their own nonces).
    pub async fn send_with_nonce(
        &self,
        calls: &[Call],
        fees: FeeMode,
        nonce: Option<Felt>,
    ) -> Result<Felt> {
        match fees {
            FeeMode::Estimate => {
                let mut execution = self
                    .execute_v3(Self::to_rpc_calls(calls))
                    .gas_estimate_multiplier(1.5)
                    .gas_price_estimate_multiplier(2.0);
                if let Some(nonce) = nonce {
                    execution = execution.nonce(nonce);
                }
                let result = execution.send().await.map_err(account_error)?;
                Ok(result.transaction_hash)
            }
            FeeMode::Unchecked => {
                let nonce = match nonce {
                    Some(nonce) => nonce,
                    None => self.get_nonce().await.map_err(ChainError::from_provider)?,
                };
                let bounds = self.generous_fee_bounds().await?;
                let signed = self.sign_invoke(calls, nonce, bounds).await?;
                self.submit(&signed).await
            }
        }
    }

    /// Signs an invoke of `calls` with the given nonce and fee bounds without sending it:
    /// the hash is known before submission, so a caller can record it first.
    pub async fn sign_invoke(
        &self,
        calls: &[Call],
        nonce: Felt,
        bounds: FeeBounds,
    ) -> Result<SignedInvoke> {
        let prepared = self
            .execute_v3(Self::to_rpc_calls(calls))
            .nonce(nonce)
            .l1_gas(bounds.l1_gas)
            .l1_gas_price(bounds.l1_gas_price)
            .l2_gas(bounds.l2_gas)
            .l2_gas_price(bounds.l2_gas_price)
            .l1_data_gas(bounds.l1_data_gas)
            .l1_data_gas_price(bounds.l1_data_gas_price)
            .tip(bounds.tip)
            .prepared()
            .map_err(|_| ChainError::UnexpectedResponse("incomplete fee bounds".into()))?;
        let hash = prepared.transaction_hash(false);
        let request = prepared.get_invoke_request(false, false).await.map_err(|e| match e {
            KeySignError::Signature(e) => ChainError::Signing(e),
            KeySignError::SessionDeclare => ChainError::Unsupported("a session key cannot declare"),
        })?;
        Ok(SignedInvoke { hash, request })
    }

    /// Submits a signed invoke; returns its hash.
    pub async fn submit(&self, signed: &SignedInvoke) -> Result<Felt> {
        broadcast(&self.provider, signed).await
    }

    /// Estimates `calls` at `nonce` and returns fee bounds with a safety margin (amounts
    /// × 1.5, prices × 2) and the estimated overall fee in FRI.
    pub async fn estimate_bounds(&self, calls: &[Call], nonce: Felt) -> Result<(FeeBounds, u128)> {
        let estimate = self
            .execute_v3(Self::to_rpc_calls(calls))
            .nonce(nonce)
            .estimate_fee()
            .await
            .map_err(account_error)?;
        Ok(Self::bounds_from(&estimate))
    }

    /// Like [`KeyAccount::estimate_bounds`], but the node skips this account's own
    /// `__validate__` (and nothing is signed): for a relayer, whose validation is a
    /// signature check by its own key, this saves a signature and a validation run per
    /// estimate. Everything the calls do, including an outside execution's signature and
    /// session checks, is still simulated. The margin covers the skipped validation, which
    /// costs a few percent of a relayed execution (the chain tests measure it).
    pub async fn estimate_bounds_unvalidated(
        &self,
        calls: &[Call],
        nonce: Felt,
    ) -> Result<(FeeBounds, u128)> {
        let prepared = self
            .execute_v3(Self::to_rpc_calls(calls))
            .nonce(nonce)
            .l1_gas(0)
            .l1_gas_price(0)
            .l2_gas(0)
            .l2_gas_price(0)
            .l1_data_gas(0)
            .l1_data_gas_price(0)
            .tip(0)
            .prepared()
            .map_err(|_| ChainError::UnexpectedResponse("incomplete fee bounds".into()))?;
        let request = prepared.get_invoke_request(true, true).await.map_err(|e| match e {
            KeySignError::Signature(e) => ChainError::Signing(e),
            KeySignError::SessionDeclare => ChainError::Unsupported("a session key cannot declare"),
        })?;
        let estimate = self
            .provider
            .estimate_fee_single(
                BroadcastedTransaction::Invoke(request),
                vec![SimulationFlagForEstimateFee::SkipValidate],
                self.block_id(),
            )
            .await
            .map_err(ChainError::from_provider)?;
        Ok(Self::bounds_from(&estimate))
    }

    fn bounds_from(estimate: &FeeEstimate) -> (FeeBounds, u128) {
        let amount = |consumed: u64| consumed.saturating_add(consumed / 2).max(1);
        let bounds = FeeBounds {
            l1_gas: amount(estimate.l1_gas_consumed),
            l1_gas_price: estimate.l1_gas_price.saturating_mul(2),
            l2_gas: amount(estimate.l2_gas_consumed),
            l2_gas_price: estimate.l2_gas_price.saturating_mul(2),
            l1_data_gas: amount(estimate.l1_data_gas_consumed),
            l1_data_gas_price: estimate.l1_data_gas_price.saturating_mul(2),
            tip: 0,
        };
        (bounds, estimate.overall_fee)
    }

    /// Fee bounds far above what a transfer-sized transaction needs, at twice the current
    /// gas prices.
    pub async fn generous_fee_bounds(&self) -> Result<FeeBounds> {
        let (l1, l2, data) = self.gas_prices().await?;
        Ok(FeeBounds {
            l1_gas: 0,
            l1_gas_price: l1.saturating_mul(2),
            l2_gas: 100_000_000,
            l2_gas_price: l2.saturating_mul(2),
            l1_data_gas: 20_000,
            l1_data_gas_price: data.saturating_mul(2),
            tip: 0,
        })
    }

    /// Fee estimate (overall fee in FRI) for `calls`.
    pub async fn estimate_fee(&self, calls: &[Call]) -> Result<Felt> {
        let estimate = self
            .execute_v3(Self::to_rpc_calls(calls))
            .estimate_fee()
            .await
            .map_err(account_error)?;
        Ok(Felt::from(estimate.overall_fee))
    }

    /// Current (l1, l2, l1 data) gas prices in FRI from the pre-confirmed block.
    async fn gas_prices(&self) -> Result<(u128, u128, u128)> {
        let block = self
            .provider
            .get_block_with_tx_hashes(BlockId::Tag(BlockTag::PreConfirmed))
            .await
            .map_err(ChainError::from_provider)?;
        let (l1, l2, data) = match block {
            MaybePreConfirmedBlockWithTxHashes::Block(b) => (
                b.l1_gas_price.price_in_fri,
                b.l2_gas_price.price_in_fri,
                b.l1_data_gas_price.price_in_fri,
            ),
            MaybePreConfirmedBlockWithTxHashes::PreConfirmedBlock(b) => (
                b.l1_gas_price.price_in_fri,
                b.l2_gas_price.price_in_fri,
                b.l1_data_gas_price.price_in_fri,
            ),
        };
        let price = |f: Felt| {
            u128::try_from(f)
                .map_err(|_| ChainError::UnexpectedResponse(format!("gas price {f:#x}")))
        };
        Ok((price(l1)?, price(l2)?, price(data)?))
    }

    /// Declares a compiled class unless it is already declared. Returns the declare
    /// transaction hash, or `None` when nothing had to be done.
    pub async fn declare_artifact(
        &self,
        client: &ChainClient,
        artifact: &Artifact,
    ) -> Result<Option<Felt>> {
        let class_hash = artifact.class_hash()?;
        if client.is_declared(class_hash).await? {
            return Ok(None);
        }
        let class = Arc::new(artifact.flattened_class()?);
        let result = self
            .declare_v3(class, artifact.compiled_class_hash()?)
            .gas_estimate_multiplier(1.5)
            .gas_price_estimate_multiplier(2.0)
            .send()
            .await
            .map_err(account_error)?;
        client.wait_for_transaction(result.transaction_hash).await?;
        Ok(Some(result.transaction_hash))
    }
}

fn account_error(error: AccountError<KeySignError>) -> ChainError {
    match error {
        AccountError::Provider(e) => ChainError::from_provider(e),
        AccountError::Signing(KeySignError::Signature(e)) => ChainError::Signing(e),
        AccountError::Signing(KeySignError::SessionDeclare) => {
            ChainError::Unsupported("a session key cannot declare classes")
        }
        AccountError::ClassHashCalculation(e) => ChainError::UnexpectedResponse(e.to_string()),
        AccountError::FeeOutOfRange => ChainError::UnexpectedResponse("fee out of range".into()),
    }
}

#[async_trait]
impl Account for KeyAccount {
    type SignError = KeySignError;

    fn address(&self) -> Felt {
        self.address
    }

    fn chain_id(&self) -> Felt {
        self.chain_id
    }

    async fn sign_execution_v3(
        &self,
        execution: &RawExecutionV3,
        query_only: bool,
    ) -> Result<Vec<Felt>, Self::SignError> {
        let hash = execution.transaction_hash(self.chain_id, self.address, query_only, self);
        Ok(match &self.signer {
            TxSigner::Owner(key) => key.sign(&hash)?.to_owner_felts(),
            TxSigner::Session { key, valid_until } => {
                latchkey_core::SessionSignature::sign(key, &hash, *valid_until)?.to_felts()
            }
        })
    }

    async fn sign_declaration_v3(
        &self,
        declaration: &RawDeclarationV3,
        query_only: bool,
    ) -> Result<Vec<Felt>, Self::SignError> {
        let hash = declaration.transaction_hash(self.chain_id, self.address, query_only);
        match &self.signer {
            TxSigner::Owner(key) => Ok(key.sign(&hash)?.to_owner_felts()),
            TxSigner::Session { .. } => Err(KeySignError::SessionDeclare),
        }
    }

    fn is_signer_interactive(&self, _context: SignerInteractivityContext<'_>) -> bool {
        false
    }
}

impl ExecutionEncoder for KeyAccount {
    fn encode_calls(&self, calls: &[RpcCall]) -> Vec<Felt> {
        let mut out = vec![Felt::from(calls.len() as u64)];
        for call in calls {
            out.push(call.to);
            out.push(call.selector);
            out.push(Felt::from(call.calldata.len() as u64));
            out.extend_from_slice(&call.calldata);
        }
        out
    }
}

impl ConnectedAccount for KeyAccount {
    type Provider = RpcProvider;

    fn provider(&self) -> &Self::Provider {
        &self.provider
    }

    fn block_id(&self) -> BlockId {
        BlockId::Tag(BlockTag::PreConfirmed)
    }
}

/// Broadcasts a signed invoke; returns its hash.
pub(crate) async fn broadcast(provider: &RpcProvider, signed: &SignedInvoke) -> Result<Felt> {
    let result = provider
        .add_invoke_transaction(signed.request.clone())
        .await
        .map_err(ChainError::from_provider)?;
    Ok(result.transaction_hash)
}
