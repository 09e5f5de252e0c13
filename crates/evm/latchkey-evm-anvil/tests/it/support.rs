//! Shared fixtures: a started anvil with latchkey deployed, userOps, sponsorship,
//! `handleOps` and event decoding.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_provider::{Provider, ProviderBuilder, RootProvider};
use alloy_rpc_types_eth::{TransactionReceipt, TransactionRequest};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent};
use latchkey_evm_anvil::{deploy_on_anvil, Anvil, AnvilConfig, Deployment};
use latchkey_evm_contracts::abi::{EntryPoint, Game};
use latchkey_evm_contracts::{
    account_address, address_of, create_account_data, execute, paymaster_and_data, paymaster_hash,
    sign_digest, PaymasterData, SignatureKind, UserOpSignature, UserOperation,
};

/// The paymaster signer of every test (latchkey's key in production).
pub(crate) const PAYMASTER_SIGNER_KEY: B256 = B256::repeat_byte(0x5a);

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A temporary directory removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(what: &str) -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join(format!("latchkey-evm-anvil-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A distinct deterministic key.
pub(crate) fn fresh_key() -> B256 {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    B256::from(U256::from(0x0e1e_5000_0000u64 + n * 7919))
}

/// Whether anvil can run here (Node.js installs it); prints SKIPPED otherwise.
pub(crate) fn available() -> bool {
    latchkey_node::available_for("run the anvil tests")
}

/// anvil with a free port and the given state file.
pub(crate) async fn start(state: Option<PathBuf>) -> Anvil {
    Anvil::start(AnvilConfig { state, ..AnvilConfig::default() }).await.unwrap()
}

/// anvil and latchkey deployed on it.
pub(crate) async fn world(state: Option<PathBuf>) -> (Anvil, Deployment) {
    let anvil = start(state).await;
    let deployment =
        deploy_on_anvil(&anvil, address_of(&PAYMASTER_SIGNER_KEY).unwrap()).await.unwrap();
    (anvil, deployment)
}

/// A read-only provider.
pub(crate) fn reader(anvil: &Anvil) -> RootProvider {
    RootProvider::new_http(anvil.url().parse().unwrap())
}

/// A provider that signs with `key`.
pub(crate) fn wallet(anvil: &Anvil, key: B256) -> impl Provider {
    let signer = PrivateKeySigner::from_bytes(&key).unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(anvil.url().parse().unwrap())
}

/// `eth_call` of a `sol!` call.
pub(crate) async fn call<C: SolCall>(provider: &impl Provider, to: Address, call: C) -> C::Return {
    let tx = TransactionRequest::default().with_to(to).with_input(call.abi_encode());
    C::abi_decode_returns(&provider.call(tx).await.unwrap()).unwrap()
}

/// The counterfactual account of `owner` (salt 0) and its first userOp's factory fields.
pub(crate) fn account_of(deployment: &Deployment, owner: Address, salt: U256) -> Address {
    account_address(deployment.factory, deployment.account_implementation, owner, salt)
}

/// An unsigned, unsponsored userOp calling `Game.makeMove(mv)` from `sender`.
pub(crate) fn make_move_op(
    deployment: &Deployment,
    sender: Address,
    nonce: U256,
    mv: u64,
) -> UserOperation {
    UserOperation {
        sender,
        nonce,
        call_data: execute(
            deployment.game,
            U256::ZERO,
            Game::makeMoveCall { r#move: U256::from(mv) }.abi_encode().into(),
        ),
        call_gas_limit: 200_000,
        verification_gas_limit: 500_000,
        pre_verification_gas: U256::from(60_000u64),
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        ..UserOperation::default()
    }
}

/// Adds the factory fields that deploy `owner`'s account (salt) with the first userOp.
pub(crate) fn with_factory(
    mut op: UserOperation,
    deployment: &Deployment,
    owner: Address,
    salt: U256,
) -> UserOperation {
    op.factory = Some(deployment.factory);
    op.factory_data = create_account_data(owner, salt);
    op
}

/// Sponsors `op` with the paymaster (signed by [`PAYMASTER_SIGNER_KEY`]), window
/// [valid_after, valid_until].
pub(crate) fn sponsor(
    mut op: UserOperation,
    deployment: &Deployment,
    valid_until: u64,
    valid_after: u64,
) -> UserOperation {
    op.paymaster = Some(deployment.paymaster);
    op.paymaster_verification_gas_limit = 100_000;
    op.paymaster_post_op_gas_limit = 0;
    let hash =
        paymaster_hash(&op, deployment.paymaster, deployment.chain_id, valid_until, valid_after);
    let signature = sign_digest(&PAYMASTER_SIGNER_KEY, hash).unwrap();
    op.paymaster_data =
        Bytes::copy_from_slice(&PaymasterData { valid_until, valid_after, signature }.to_bytes());
    // The same bytes as the whole 129-byte layout.
    assert_eq!(
        op.paymaster_and_data(),
        paymaster_and_data(deployment.paymaster, 100_000, 0, valid_until, valid_after, &signature)
    );
    op
}

/// Signs `op` (its hash on this chain and EntryPoint) as `kind` with `key`.
pub(crate) fn sign(
    mut op: UserOperation,
    deployment: &Deployment,
    kind: SignatureKind,
    key: &B256,
) -> UserOperation {
    let hash = op.hash(deployment.entry_point, deployment.chain_id);
    op.signature = UserOpSignature::sign(kind, key, hash).unwrap().encode();
    op
}

/// `handleOps(ops, beneficiary = relayer)` sent by the relayer EOA `relayer`.
pub(crate) async fn handle_ops(
    anvil: &Anvil,
    deployment: &Deployment,
    relayer: B256,
    ops: &[UserOperation],
) -> TransactionReceipt {
    let beneficiary = address_of(&relayer).unwrap();
    let data = EntryPoint::handleOpsCall {
        ops: ops.iter().map(UserOperation::pack).collect(),
        beneficiary,
    }
    .abi_encode();
    let tx = TransactionRequest::default().with_to(deployment.entry_point).with_input(data);
    let provider = wallet(anvil, relayer);
    let receipt = provider.send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status(), "handleOps reverted: {receipt:?}");
    receipt
}

/// The `UserOperationEvent`s of a receipt.
pub(crate) fn user_operation_events(
    receipt: &TransactionReceipt,
) -> Vec<EntryPoint::UserOperationEvent> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.topic0() == Some(&EntryPoint::UserOperationEvent::SIGNATURE_HASH))
        .map(|log| EntryPoint::UserOperationEvent::decode_log(&log.inner).unwrap().data)
        .collect()
}

/// Whether a process exists and is not a zombie.
pub(crate) fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state =
                stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X') | None)
        }
        Err(_) => false,
    }
}
