//! Ready-made flows on the embedded chain: create a user account gaslessly, and run
//! owner- or session-signed outside executions through a relayer. The CLI's benchmarks
//! and the integration tests use them.

use latchkey_core::{Call, Felt, OutsideExecution, SigningKey};
use latchkey_starknet::{
    new_outside_execution, sign_outside_execution_as_owner, sign_outside_execution_as_session,
    ChainError, FeeMode, TxOutcome,
};

use crate::{Devnet, DevnetError};

/// A user account on the devnet and its owner key.
#[derive(Debug, Clone)]
pub struct User {
    /// The account address.
    pub address: Felt,
    /// The owner key.
    pub owner: SigningKey,
}

/// Validity window of the outside executions these flows build.
pub const OUTSIDE_EXECUTION_WINDOW: u64 = 600;

impl Devnet {
    /// Deploys a latchkey account for `owner` through relayer 0 (gasless for the user)
    /// and funds it with 100 STRK so it can also pay for its own transactions.
    pub async fn create_user(&self, owner: SigningKey) -> Result<User, DevnetError> {
        let relayer = self.relayer_account(0)?;
        let deployed = self
            .client()
            .deploy_account(&relayer, self.classes().account, owner.public_key())
            .await?;
        self.mint(deployed.address, 100 * 10u128.pow(18), self.strk()).await?;
        Ok(User { address: deployed.address, owner })
    }

    /// Builds an outside execution of `calls` valid around the chain's current time.
    pub async fn outside_execution(
        &self,
        calls: Vec<Call>,
    ) -> Result<OutsideExecution, ChainError> {
        let now = self.client().block_timestamp().await?;
        Ok(new_outside_execution(calls, now, OUTSIDE_EXECUTION_WINDOW))
    }

    /// Relays a signed outside execution through relayer `relayer` and waits for it.
    pub async fn relay(
        &self,
        relayer: usize,
        account: Felt,
        outside_execution: &OutsideExecution,
        signature: &[Felt],
        fees: FeeMode,
    ) -> Result<TxOutcome, ChainError> {
        let relayer = self.relayer_account(relayer).map_err(|e| ChainError::Node(e.to_string()))?;
        let hash = self
            .client()
            .relay_outside_execution(&relayer, account, outside_execution, signature, fees)
            .await?;
        self.client().wait_for_transaction(hash).await
    }

    /// Owner-signed gasless execution of `calls` (SNIP-9 v2 through relayer 0).
    pub async fn owner_execute(
        &self,
        user: &User,
        calls: Vec<Call>,
    ) -> Result<TxOutcome, ChainError> {
        let oe = self.outside_execution(calls).await?;
        let signature =
            sign_outside_execution_as_owner(&user.owner, &oe, self.chain_id(), user.address)?;
        self.relay(0, user.address, &oe, &signature, FeeMode::Estimate).await
    }

    /// Session-signed gasless execution of `calls` (SNIP-9 v2 through relayer 0).
    pub async fn session_execute(
        &self,
        user: &User,
        session: &SigningKey,
        valid_until: u64,
        calls: Vec<Call>,
    ) -> Result<TxOutcome, ChainError> {
        let oe = self.outside_execution(calls).await?;
        let signature = sign_outside_execution_as_session(
            session,
            valid_until,
            &oe,
            self.chain_id(),
            user.address,
        )?;
        self.relay(0, user.address, &oe, &signature, FeeMode::Estimate).await
    }
}
