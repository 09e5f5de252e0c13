//! The port through its in-memory implementation: the round trip the relayer makes
//! (prepare, open, simulate, sign, send, receipt) and the chain behaviours its state
//! machine has to survive.

#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use latchkey_chain::fake::{FakeChain, SendScript};
use latchkey_chain::{
    AccountChange, Call, Calls, ChainBackend, Chains, Job, SendError, SessionGrant, SessionRules,
    Signer, Signing, SimulationError, SpendingCap,
};
use latchkey_core::{codes, selector, to_hex, Felt, U256};

const OWNER: &str = "0x123";

fn game_move() -> Calls {
    Calls::Starknet(vec![Call::new(Felt::from(0x6a3eu32), "make_move", vec![Felt::ONE])])
}

#[tokio::test]
async fn a_signed_payload_runs_once_and_pays_its_fee() {
    let fake = Arc::new(FakeChain::new(2));
    let chain: Arc<dyn ChainBackend> = fake.clone();
    let account = fake.deploy(OWNER);
    let relayer = &chain.relayer_accounts()[0];
    let now = chain.now().await.unwrap();
    let signable =
        chain.prepare(&account, game_move(), &Signing::Owner, relayer, now, 600).await.unwrap();
    let signature = FakeChain::sign_owner(OWNER, &signable.hash);
    let opened = chain.open(&account, OWNER, &signable.payload, &signature).unwrap();
    assert_eq!(opened.by, Signer::Owner);
    assert_eq!(opened.inspected.caller.as_deref(), Some(relayer.as_str()));
    assert_eq!(opened.inspected.calls[0].selector, to_hex(&selector("make_move")));
    assert_eq!(
        chain.open(&account, "0x999", &signable.payload, &signature).unwrap_err().code,
        codes::INVALID_SIGNATURE
    );

    let job = Job::Execute { account: account.clone(), payload: signable.payload, signature };
    let nonce = chain.relayer_nonce(relayer).await.unwrap();
    let quote = chain.simulate(relayer, nonce, &job).await.unwrap();
    let signed = chain.sign(relayer, nonce, &job, &quote).await.unwrap();
    chain.send(&signed.raw).await.unwrap();
    let outcome = chain.receipt(&signed.hash).await.unwrap().unwrap();
    assert!(outcome.reverted.is_none() && outcome.fee <= quote.max_fee);
    assert!(chain.is_spent(&account, &signable.nonce_key).await.unwrap());
    // The same bytes again change nothing (a node refuses the mined transaction's nonce);
    // the spent payload cannot be simulated again.
    assert!(matches!(chain.send(&signed.raw).await, Err(SendError::Nonce(_))));
    assert_eq!(fake.landed(), (1, 0));
    let again = chain.simulate(relayer, nonce + 1, &job).await.unwrap_err();
    assert!(matches!(again, SimulationError::Refused(r) if r.code == codes::DUPLICATE_EXECUTION));
}

#[tokio::test]
async fn stale_nonces_lost_broadcasts_and_outages_are_reported_as_such() {
    let fake = Arc::new(FakeChain::new(1));
    let chain: Arc<dyn ChainBackend> = fake.clone();
    let account = fake.deploy(OWNER);
    let relayer = chain.relayer_accounts()[0].clone();
    let job = Job::Deploy { owner_public_key: "0x456".into() };
    let quote = chain.simulate(&relayer, 0, &job).await.unwrap();

    fake.bump_relayer_nonce(&relayer);
    assert_eq!(chain.simulate(&relayer, 0, &job).await.unwrap_err(), SimulationError::Nonce);
    let stale = chain.sign(&relayer, 0, &job, &quote).await.unwrap();
    assert!(matches!(chain.send(&stale.raw).await, Err(SendError::Nonce(_))));

    let signed = chain.sign(&relayer, 1, &job, &quote).await.unwrap();
    fake.script_send(SendScript::UnknownAndLost);
    assert!(matches!(chain.send(&signed.raw).await, Err(SendError::Unknown(_))));
    assert!(chain.receipt(&signed.hash).await.unwrap().is_none());
    fake.script_send(SendScript::UnknownButAccepted);
    assert!(matches!(chain.send(&signed.raw).await, Err(SendError::Unknown(_))));
    assert!(chain.receipt(&signed.hash).await.unwrap().is_some());
    assert!(chain.is_deployed(&chain.account_address("0x456").unwrap()).await.unwrap());

    fake.set_down(true);
    assert!(chain.now().await.is_err());
    assert!(matches!(
        chain.simulate(&relayer, 2, &job).await,
        Err(SimulationError::Unavailable(_))
    ));
    fake.set_down(false);
    assert_eq!(chain.owner_key(&account).await.unwrap().as_deref(), Some(OWNER));
}

#[tokio::test]
async fn session_calls_decode_back_to_their_changes_and_land_on_the_account() {
    let fake = Arc::new(FakeChain::new(1));
    let chains = Chains::new().with(fake.clone());
    let chain = chains.by_name("eip155:1337").unwrap().clone();
    assert!(chains.by_name("starknet:SN_SEPOLIA").is_none());
    let account = fake.deploy(OWNER);
    let grant = SessionGrant {
        session_key: "0x5e55".into(),
        rules: SessionRules {
            valid_after: 0,
            valid_until: 2_000_000,
            max_calls: 5,
            permissions: vec![],
        },
    };
    let cap = SpendingCap {
        session_key: "0x5e55".into(),
        token: "0x70".into(),
        max_per_call: U256::from_u128(5),
        max_per_window: U256::from_u128(50),
        window_seconds: 3600,
    };
    let changes =
        [AccountChange::RegisterSession(grant), AccountChange::SetSpendingCap(cap.clone())];
    let calls = chain.session_calls(&account, &changes).unwrap();
    let seen: Vec<_> =
        chain.views(&account, &calls).unwrap().into_iter().map(|v| v.change).collect();
    assert_eq!(seen, changes.iter().cloned().map(Some).collect::<Vec<_>>());

    let relayer = chain.relayer_accounts()[0].clone();
    let signable =
        chain.prepare(&account, calls, &Signing::Owner, &relayer, 1_000_000, 600).await.unwrap();
    let signature = FakeChain::sign_owner(OWNER, &signable.hash);
    let job = Job::Execute { account: account.clone(), payload: signable.payload, signature };
    let quote = chain.simulate(&relayer, 0, &job).await.unwrap();
    let signed = chain.sign(&relayer, 0, &job, &quote).await.unwrap();
    chain.send(&signed.raw).await.unwrap();
    let record = chain.session(&account, "0x5e55").await.unwrap();
    assert!(record.registered && !record.revoked);
    assert!(!chain.session(&account, "0x77").await.unwrap().registered);
    let stored = chain.spending_cap(&account, "0x5e55", "0x70").await.unwrap();
    assert_eq!((stored.max_per_call, stored.window_seconds), (cap.max_per_call, 3600));
}

#[tokio::test]
async fn pending_transactions_reverts_refusals_and_the_clock_are_under_the_tests_control() {
    let fake = Arc::new(FakeChain::new(1));
    let chain: Arc<dyn ChainBackend> = fake.clone();
    let account = fake.deploy(OWNER);
    let relayer = chain.relayer_accounts()[0].clone();
    let before = chain.now().await.unwrap();
    fake.advance(30);
    assert_eq!(chain.now().await.unwrap(), before + 30);

    // A session signature names its key and expiry.
    let signable =
        chain.prepare(&account, game_move(), &Signing::Owner, &relayer, before, 600).await.unwrap();
    let signature = FakeChain::sign_session("0x5e55", &signable.hash, before + 99);
    let opened = chain.open(&account, OWNER, &signable.payload, &signature).unwrap();
    assert_eq!(opened.by, Signer::Session { key: "0x5e55".into(), valid_until: before + 99 });

    // Held until mined; then it reverts as scripted, and pays the fee set.
    fake.set_auto_mine(false);
    fake.set_fees(5_000, 4_000);
    fake.revert_on_chain(&signable.nonce_key);
    let job = Job::Execute { account: account.clone(), payload: signable.payload, signature };
    let quote = chain.simulate(&relayer, 0, &job).await.unwrap();
    assert_eq!(quote.max_fee, 5_000);
    let signed = chain.sign(&relayer, 0, &job, &quote).await.unwrap();
    chain.send(&signed.raw).await.unwrap();
    assert_eq!(fake.broadcasts(), 1);
    assert!(chain.receipt(&signed.hash).await.unwrap().is_none());
    fake.mine();
    let outcome = chain.receipt(&signed.hash).await.unwrap().unwrap();
    assert_eq!((outcome.reverted.is_some(), outcome.fee), (true, 4_000));
    assert!(fake.spent(&account, &signable.nonce_key));
    assert_eq!(fake.landed(), (1, 1));
    assert!(fake.session_of(&account, "0x5e55").is_none());

    // A scripted refusal comes back once, with its code.
    fake.refuse_simulation(latchkey_chain::Refusal::new(codes::SESSION_EXPIRED, "expired"));
    let deploy = Job::Deploy { owner_public_key: "0x456".into() };
    let refused = chain.simulate(&relayer, 1, &deploy).await.unwrap_err();
    assert!(matches!(refused, SimulationError::Refused(r) if r.code == codes::SESSION_EXPIRED));
    assert!(chain.simulate(&relayer, 1, &deploy).await.is_ok());
}
