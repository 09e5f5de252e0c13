//! A started anvil with latchkey deployed and an [`EvmBackend`] on it; jobs run to
//! their receipt.

use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::{Address, B256, U256};
use latchkey_chain::{Chain, Job, Outcome, Quote, Relay, Signable, Signing};
use latchkey_evm::{address_text, EvmBackend, EvmConfig, EvmContracts};
use latchkey_evm_anvil::{deploy_on_anvil, relayer_keys, Anvil, AnvilConfig, Deployment};
use latchkey_evm_contracts::{address_of, SignatureKind, UserOpSignature};

/// The paymaster signer of every test (latchkey's key in production).
pub(crate) const PAYMASTER_SIGNER_KEY: B256 = B256::repeat_byte(0x5a);

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A distinct deterministic key.
pub(crate) fn fresh_key() -> B256 {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    B256::from(U256::from(0x0e1e_7000_0000u64 + n * 7919 + u64::from(std::process::id())))
}

/// The address of a key, as text.
pub(crate) fn address_of_key(key: &B256) -> String {
    address_text(address_of(key).unwrap())
}

/// Whether anvil can run here (Node.js installs it); prints SKIPPED otherwise.
pub(crate) fn available() -> bool {
    latchkey_node::available_for("run the EVM backend tests")
}

/// anvil, latchkey deployed on it, and a backend with the anvil relayer keys.
pub(crate) async fn world() -> (Anvil, Deployment, EvmBackend) {
    let anvil = Anvil::start(AnvilConfig::default()).await.unwrap();
    let deployment =
        deploy_on_anvil(&anvil, address_of(&PAYMASTER_SIGNER_KEY).unwrap()).await.unwrap();
    let backend = EvmBackend::new(EvmConfig {
        rpc_url: anvil.url().to_string(),
        chain_id: anvil.chain_id(),
        contracts: EvmContracts {
            entry_point: deployment.entry_point,
            factory: deployment.factory,
            paymaster: deployment.paymaster,
            account_implementation: deployment.account_implementation,
        },
        paymaster_signer: PAYMASTER_SIGNER_KEY,
        relayers: relayer_keys().to_vec(),
    })
    .unwrap();
    backend.check().await.unwrap();
    (anvil, deployment, backend)
}

/// A signature of `kind` by `key` over a prepared payload's hash.
pub(crate) fn sign(signable: &Signable, kind: SignatureKind, key: &B256) -> Vec<String> {
    let hash: B256 = signable.hash.parse().unwrap();
    vec![UserOpSignature::sign(kind, key, hash).unwrap().encode().to_string()]
}

/// An execution job.
pub(crate) fn execute(account: &str, signable: &Signable, signature: Vec<String>) -> Job {
    Job::Execute { account: account.to_string(), payload: signable.payload.clone(), signature }
}

/// Simulates `job` from the first relayer, signs, sends (twice: the second send is the
/// same bytes) and returns its quote and outcome.
pub(crate) async fn run(backend: &EvmBackend, job: &Job) -> (Quote, Outcome) {
    let relayer = backend.relayer_accounts()[0].clone();
    let nonce = backend.relayer_nonce(&relayer).await.unwrap();
    // A stale nonce is told apart.
    assert!(matches!(
        backend.simulate(&relayer, nonce + 1, job).await,
        Err(latchkey_chain::SimulationError::Nonce)
    ));
    let quote = backend.simulate(&relayer, nonce, job).await.unwrap();
    assert_eq!(quote.unit, "WEI");
    let signed = backend.sign(&relayer, nonce, job, &quote).await.unwrap();
    backend.send(&signed.raw).await.unwrap();
    // The same bytes again: known to the pool, or mined (its nonce is then refused).
    let again = backend.send(&signed.raw).await;
    assert!(matches!(again, Ok(()) | Err(latchkey_chain::SendError::Nonce(_))), "{again:?}");
    for _ in 0..100 {
        if let Some(outcome) = backend.receipt(&signed.hash).await.unwrap() {
            assert_eq!(backend.relayer_nonce(&relayer).await.unwrap(), nonce + 1);
            return (quote, outcome);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no receipt for {}", signed.hash);
}

/// The first relayer's nonce.
pub(crate) async fn relayer_nonce(backend: &EvmBackend) -> u64 {
    backend.relayer_nonce(&backend.relayer_accounts()[0]).await.unwrap()
}

/// Prepares `calls` for `account` as the relayer would (clock first).
pub(crate) async fn prepare(
    backend: &EvmBackend,
    account: &str,
    calls: latchkey_chain::Calls,
) -> Signable {
    let now = backend.now().await.unwrap();
    let caller = backend.relayer_accounts()[0].clone();
    backend.prepare(account, calls, &Signing::Owner, &caller, now, 300).await.unwrap()
}

/// `eth_call` of a `sol!` call on the anvil.
pub(crate) async fn read<C: alloy_sol_types::SolCall>(
    anvil: &Anvil,
    to: Address,
    call: C,
) -> C::Return {
    use alloy_network::TransactionBuilder;
    use alloy_provider::Provider;
    let provider: alloy_provider::RootProvider =
        alloy_provider::RootProvider::new_http(anvil.url().parse().unwrap());
    let tx = alloy_rpc_types_eth::TransactionRequest::default()
        .with_to(to)
        .with_input(call.abi_encode());
    C::abi_decode_returns(&provider.call(tx).await.unwrap()).unwrap()
}

/// Moves `Game.getPlayer(player)` has recorded.
pub(crate) async fn moves(anvil: &Anvil, deployment: &Deployment, player: &str) -> u32 {
    let player: Address = player.parse().unwrap();
    read(anvil, deployment.game, latchkey_evm_contracts::abi::Game::getPlayerCall { player })
        .await
        .moves
}

/// `Game.makeMove(mv)` as a one-call batch.
pub(crate) fn make_move(deployment: &Deployment, mv: u64) -> latchkey_chain::Calls {
    use alloy_sol_types::SolCall;
    let data =
        latchkey_evm_contracts::abi::Game::makeMoveCall { r#move: U256::from(mv) }.abi_encode();
    latchkey_evm::encode_calls(&[latchkey_evm::EvmCall::new(deployment.game, data)]).unwrap()
}

/// A selector as the backend writes it.
pub(crate) fn selector(selector: [u8; 4]) -> String {
    format!("0x{:08x}", u32::from_be_bytes(selector))
}
