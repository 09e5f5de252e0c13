//! Owner userOps end to end: counterfactual deployment by the first userOp, both owner
//! signature kinds, receipts with fees, spent nonces, replays.

use alloy_sol_types::SolCall;
use latchkey_chain::{Chain, Job, Relay, Signer, SimulationError};
use latchkey_core::codes;
use latchkey_evm::Payload;
use latchkey_evm_contracts::abi::Game;
use latchkey_evm_contracts::SignatureKind;

use crate::support::*;

#[tokio::test]
async fn owner_user_ops_deploy_the_account_then_run_with_both_signature_kinds() {
    if !available() {
        return;
    }
    let (anvil, deployment, backend) = world().await;
    let owner_key = fresh_key();
    let owner = address_of_key(&owner_key);
    let account = backend.account_address(&owner).unwrap();
    assert!(!backend.is_deployed(&account).await.unwrap());
    assert_eq!(backend.owner_key(&account).await.unwrap(), None);
    assert_eq!(backend.id().as_str(), format!("eip155:{}", anvil.chain_id()));

    // First userOp: counterfactual deployment through its factory fields, EIP-191 owner.
    let first = prepare(&backend, &account, make_move(&deployment, 7)).await;
    let op = Payload::from_json(&first.payload).unwrap().user_operation;
    assert_eq!(op.factory, Some(deployment.factory));
    let signature = sign(&first, SignatureKind::OwnerEip191, &owner_key);
    let opened = backend.open(&account, &owner, &first.payload, &signature).unwrap();
    assert_eq!(opened.by, Signer::Owner);
    assert_eq!(opened.inspected.calls[0].target, latchkey_evm::address_text(deployment.game));
    assert_eq!(opened.inspected.calls[0].selector, selector(Game::makeMoveCall::SELECTOR));
    assert!(!backend.is_spent(&account, &first.nonce_key).await.unwrap());
    // The signed payload, tampered with, no longer opens.
    let mut tampered = first.payload.clone();
    tampered["userOperation"]["callGasLimit"] = serde_json::json!("0x989680");
    let refused = backend.open(&account, &owner, &tampered, &signature).unwrap_err();
    assert_eq!(refused.code, codes::INVALID_SIGNATURE);
    let other = sign(
        &prepare(&backend, &account, make_move(&deployment, 7)).await,
        SignatureKind::OwnerRaw,
        &owner_key,
    );
    let refused = backend.open(&account, &owner, &first.payload, &other).unwrap_err();
    assert_eq!(refused.code, codes::INVALID_SIGNATURE);
    let job = execute(&account, &first, signature);
    let (quote, outcome) = run(&backend, &job).await;
    assert_eq!(outcome.reverted, None);
    assert!(outcome.fee > 0 && outcome.fee <= quote.max_fee, "{outcome:?} {quote:?}");
    assert!(backend.is_deployed(&account).await.unwrap());
    assert_eq!(backend.owner_key(&account).await.unwrap(), Some(owner.clone()));
    assert!(backend.is_spent(&account, &first.nonce_key).await.unwrap());
    assert_eq!(moves(&anvil, &deployment, &account).await, 1);

    // Second userOp: no factory fields any more, raw owner signature.
    let second = prepare(&backend, &account, make_move(&deployment, 8)).await;
    assert!(Payload::from_json(&second.payload).unwrap().user_operation.factory.is_none());
    // (In the words layout: six felt-sized integers.)
    let hash = second.hash.parse().unwrap();
    let raw =
        latchkey_evm_contracts::UserOpSignature::sign(SignatureKind::OwnerRaw, &owner_key, hash);
    let signature = latchkey_evm::signature_words(&raw.unwrap());
    assert_eq!(
        backend.open(&account, &owner, &second.payload, &signature).unwrap().by,
        Signer::Owner
    );
    let (_, outcome) = run(&backend, &execute(&account, &second, signature)).await;
    assert_eq!(outcome.reverted, None);
    assert_eq!(moves(&anvil, &deployment, &account).await, 2);
    assert!(backend.is_spent(&account, &second.nonce_key).await.unwrap());

    // A replay of the first userOp is refused by simulation, and nothing is sent.
    let relayer = backend.relayer_accounts()[0].clone();
    let nonce = relayer_nonce(&backend).await;
    match backend.simulate(&relayer, nonce, &job).await {
        Err(SimulationError::Refused(refusal)) => {
            assert_eq!(refusal.code, codes::DUPLICATE_EXECUTION, "{refusal:?}")
        }
        other => panic!("{other:?}"),
    }
    let replay_second =
        execute(&account, &second, sign(&second, SignatureKind::OwnerRaw, &owner_key));
    match backend.simulate(&relayer, nonce, &replay_second).await {
        Err(SimulationError::Refused(refusal)) => {
            assert_eq!(refusal.code, codes::DUPLICATE_EXECUTION, "{refusal:?}")
        }
        other => panic!("{other:?}"),
    }
    // A signature by someone else is refused by the EntryPoint too.
    let third = prepare(&backend, &account, make_move(&deployment, 9)).await;
    let forged = execute(&account, &third, sign(&third, SignatureKind::OwnerRaw, &fresh_key()));
    match backend.simulate(&relayer, nonce, &forged).await {
        Err(SimulationError::Refused(refusal)) => {
            assert_eq!(refusal.code, codes::INVALID_SIGNATURE, "{refusal:?}")
        }
        other => panic!("{other:?}"),
    }
    // A call that reverts (Game.makeMove(0)) is refused before anything is sent.
    let bad = prepare(&backend, &account, make_move(&deployment, 0)).await;
    let bad = execute(&account, &bad, sign(&bad, SignatureKind::OwnerRaw, &owner_key));
    match backend.simulate(&relayer, nonce, &bad).await {
        Err(SimulationError::Refused(refusal)) => {
            assert_eq!(refusal.code, codes::SIMULATION_FAILED, "{refusal:?}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(relayer_nonce(&backend).await, nonce);
    assert_eq!(moves(&anvil, &deployment, &account).await, 2);
}

#[tokio::test]
async fn a_deploy_job_creates_the_account_from_the_relayer() {
    if !available() {
        return;
    }
    let (_anvil, _deployment, backend) = world().await;
    let owner = address_of_key(&fresh_key());
    let account = backend.account_address(&owner).unwrap();
    let job = Job::Deploy { owner_public_key: owner.clone() };
    let relayer = backend.relayer_accounts()[0].clone();
    let funds_before = backend.relayer_funds(&relayer).await.unwrap();
    assert!(funds_before > 0);
    let (quote, outcome) = run(&backend, &job).await;
    assert_eq!(outcome.reverted, None);
    assert!(outcome.fee > 0 && outcome.fee <= quote.max_fee);
    // The relayer account paid the transaction's fee, in wei, and nothing else.
    assert_eq!(funds_before - backend.relayer_funds(&relayer).await.unwrap(), outcome.fee);
    assert!(backend.is_deployed(&account).await.unwrap());
    assert_eq!(backend.owner_key(&account).await.unwrap(), Some(owner));
}
