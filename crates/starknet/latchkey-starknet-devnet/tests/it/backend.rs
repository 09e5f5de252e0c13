//! The Starknet backend through the chain port, on the embedded chain: what the relayer
//! does with it (deploy an account, relay an owner-signed execution once), and the
//! refusals it must word (a spent nonce key, a stale relayer nonce, a wrong signer).

use std::sync::Arc;
use std::time::Duration;

use latchkey_chain::{
    Calls, ChainBackend, Family, Job, Outcome, SendError, Signer, Signing, SimulationError,
};
use latchkey_core::{codes, decode_short_string, parse_felt, to_hex, Felt, SigningKey};
use latchkey_starknet::StarknetBackend;
use latchkey_starknet_contracts::game_calls;
use latchkey_starknet_devnet::Devnet;

/// Waits for a transaction's receipt.
async fn landed(chain: &dyn ChainBackend, hash: &str) -> Outcome {
    for _ in 0..600 {
        if let Some(outcome) = chain.receipt(hash).await.unwrap() {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{hash} did not land");
}

/// Simulates, signs and sends `job` from `relayer`; returns the outcome and the quote.
async fn relay(chain: &dyn ChainBackend, relayer: &str, job: &Job) -> (Outcome, u128) {
    let nonce = chain.relayer_nonce(relayer).await.unwrap();
    let quote = chain.simulate(relayer, nonce, job).await.unwrap();
    let signed = chain.sign(relayer, nonce, job, &quote).await.unwrap();
    chain.send(&signed.raw).await.unwrap();
    (landed(chain, &signed.hash).await, quote.max_fee)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starknet_backend_deploys_relays_and_refuses_through_the_port() {
    let devnet = Devnet::start().await.unwrap();
    let relayers = devnet.relayers()[..2].iter().map(|r| (r.address, r.key.clone())).collect();
    let backend =
        StarknetBackend::new(devnet.client().clone(), devnet.classes().account, relayers).unwrap();
    let chain: Arc<dyn ChainBackend> = Arc::new(backend);
    assert_eq!(chain.id().family(), Family::Starknet);
    assert_eq!(Some(chain.id().reference().to_string()), decode_short_string(&devnet.chain_id()));
    assert_eq!(chain.fee_unit(), "FRI");
    let relayer = chain.relayer_accounts()[0].clone();

    // A deployment at the counterfactual address.
    let owner = SigningKey::from_felt(Felt::from(0xb0b_5eed_u64)).unwrap();
    let owner_key = to_hex(&owner.public_key());
    let account = chain.account_address(&owner_key).unwrap();
    assert!(!chain.is_deployed(&account).await.unwrap());
    let (deployed, max_fee) =
        relay(chain.as_ref(), &relayer, &Job::Deploy { owner_public_key: owner_key.clone() }).await;
    assert!(deployed.reverted.is_none() && deployed.fee > 0 && deployed.fee <= max_fee);
    assert!(chain.is_deployed(&account).await.unwrap());
    assert_eq!(chain.owner_key(&account).await.unwrap(), Some(owner_key.clone()));

    // An owner-signed game move, bound to the relayer, runs once.
    let game = devnet.game().unwrap();
    let calls = Calls::Starknet(vec![game_calls::make_move(game, 1)]);
    let now = chain.now().await.unwrap();
    let signable =
        chain.prepare(&account, calls, &Signing::Owner, &relayer, now, 600).await.unwrap();
    let signed = owner.sign(&parse_felt(&signable.hash).unwrap()).unwrap();
    let signature = vec![to_hex(&signed.r), to_hex(&signed.s)];
    let opened = chain.open(&account, &owner_key, &signable.payload, &signature).unwrap();
    assert_eq!(opened.by, Signer::Owner);
    assert_eq!(opened.inspected.caller.as_deref(), Some(relayer.as_str()));
    assert_eq!(opened.inspected.nonce_key, signable.nonce_key);
    assert_eq!(
        chain.open(&account, "0x1234", &signable.payload, &signature).unwrap_err().code,
        codes::INVALID_SIGNATURE
    );
    let job = Job::Execute { account: account.clone(), payload: signable.payload, signature };
    let (moved, _) = relay(chain.as_ref(), &relayer, &job).await;
    assert!(moved.reverted.is_none(), "{moved:?}");
    assert!(chain.is_spent(&account, &signable.nonce_key).await.unwrap());

    // The spent nonce key is refused with the off-chain check's code; a stale relayer
    // nonce is a nonce error, at simulation and at broadcast.
    let nonce = chain.relayer_nonce(&relayer).await.unwrap();
    match chain.simulate(&relayer, nonce, &job).await {
        Err(SimulationError::Refused(refusal)) => {
            assert_eq!(refusal.code, codes::DUPLICATE_EXECUTION)
        }
        other => panic!("{other:?}"),
    }
    let other = Job::Deploy { owner_public_key: "0x777".into() };
    assert_eq!(chain.simulate(&relayer, nonce - 1, &other).await, Err(SimulationError::Nonce));
    let quote = chain.simulate(&relayer, nonce, &other).await.unwrap();
    let stale = chain.sign(&relayer, nonce - 1, &other, &quote).await.unwrap();
    assert!(matches!(chain.send(&stale.raw).await, Err(SendError::Nonce(_))));

    // No session is registered yet.
    let record = chain.session(&account, "0x5e55").await.unwrap();
    assert!(!record.registered && !record.revoked);
}
