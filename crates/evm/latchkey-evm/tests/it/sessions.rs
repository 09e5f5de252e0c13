//! Sessions through the port: registration by an owner userOp built from
//! `session_calls`, a session-signed userOp on the session's nonce key, a disallowed
//! method refused in simulation at no cost, revocation.

use alloy_primitives::U256;
use alloy_sol_types::SolCall;
use latchkey_chain::{
    AccountChange, Chain, Job, Permission, Relay, SessionCodec, SessionGrant, SessionRules, Signer,
    Signing, SimulationError,
};
use latchkey_core::codes;
use latchkey_evm::{address_text, encode_calls, EvmCall, Payload};
use latchkey_evm_contracts::abi::{DemoToken, EntryPoint, Game};
use latchkey_evm_contracts::{nonce, session_nonce_key, SignatureKind};

use crate::support::*;

#[tokio::test]
async fn a_registered_session_signs_user_ops_on_its_nonce_key_until_revoked() {
    if !available() {
        return;
    }
    let (anvil, deployment, backend) = world().await;
    let owner_key = fresh_key();
    let owner = address_of_key(&owner_key);
    let account = backend.account_address(&owner).unwrap();
    let (_, deployed) = run(&backend, &Job::Deploy { owner_public_key: owner.clone() }).await;
    assert_eq!(deployed.reverted, None);

    // Register a session that may only make moves, through session_calls.
    let session_key = fresh_key();
    let key = address_of_key(&session_key);
    let now = backend.now().await.unwrap();
    let grant = SessionGrant {
        session_key: key.clone(),
        rules: SessionRules {
            valid_after: now,
            valid_until: now + 3_600,
            max_calls: 3,
            permissions: vec![Permission {
                target: Some(address_text(deployment.game)),
                selector: selector(Game::makeMoveCall::SELECTOR),
            }],
        },
    };
    let change = AccountChange::RegisterSession(grant.clone());
    let calls = backend.session_calls(&account, std::slice::from_ref(&change)).unwrap();
    assert_eq!(backend.views(&account, &calls).unwrap()[0].change, Some(change));
    let registration = prepare(&backend, &account, calls).await;
    let signature = sign(&registration, SignatureKind::OwnerEip191, &owner_key);
    let (_, outcome) = run(&backend, &execute(&account, &registration, signature)).await;
    assert_eq!(outcome.reverted, None);
    let record = backend.session(&account, &key).await.unwrap();
    assert!(record.registered && !record.revoked);
    assert_eq!((record.rules.clone(), record.calls_used), (grant.rules.clone(), 0));

    // A session userOp: the session's nonce key (registration 1), sequence 1.
    let now = backend.now().await.unwrap();
    let role = Signing::Session(key.clone());
    let signable = backend
        .prepare(&account, make_move(&deployment, 3), &role, "0x00", now, 300)
        .await
        .unwrap();
    let op = Payload::from_json(&signable.payload).unwrap().user_operation;
    assert_eq!(op.nonce, nonce(session_nonce_key(key.parse().unwrap(), 1), 1));
    assert_eq!(signable.nonce_key, format!("{:#x}", op.nonce));
    let signature = sign(&signable, SignatureKind::SessionRaw, &session_key);
    let opened = backend.open(&account, &owner, &signable.payload, &signature).unwrap();
    assert_eq!(
        opened.by,
        Signer::Session { key: key.clone(), valid_until: signable.execute_before - 1 }
    );
    grant
        .rules
        .check(&account, &opened.inspected.calls, now, 0, signable.execute_before - 1)
        .unwrap();
    let (quote, outcome) = run(&backend, &execute(&account, &signable, signature)).await;
    assert_eq!(outcome.reverted, None);
    assert!(outcome.fee > 0 && outcome.fee <= quote.max_fee);
    assert_eq!(moves(&anvil, &deployment, &account).await, 1);
    assert_eq!(backend.session(&account, &key).await.unwrap().calls_used, 1);
    assert!(backend.is_spent(&account, &signable.nonce_key).await.unwrap());

    // A method the session may not call: refused in simulation, with a stable code, and
    // nothing is sent or charged.
    let mint =
        DemoToken::mintCall { to: account.parse().unwrap(), amount: U256::from(5u8) }.abi_encode();
    let calls = encode_calls(&[EvmCall::new(deployment.token, mint)]).unwrap();
    let refused = backend.prepare(&account, calls, &role, "0x00", now, 300).await.unwrap();
    let job =
        execute(&account, &refused, sign(&refused, SignatureKind::SessionEip191, &session_key));
    let relayer = backend.relayer_accounts()[0].clone();
    let nonce_before = relayer_nonce(&backend).await;
    let deposit = |anvil| {
        read(
            anvil,
            deployment.entry_point,
            EntryPoint::balanceOfCall { account: deployment.paymaster },
        )
    };
    let deposit_before = deposit(&anvil).await;
    match backend.simulate(&relayer, nonce_before, &job).await {
        Err(SimulationError::Refused(refusal)) => {
            assert_eq!(refusal.code, codes::SESSION_ENTRYPOINT_NOT_ALLOWED, "{refusal:?}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(relayer_nonce(&backend).await, nonce_before);
    assert_eq!(deposit(&anvil).await, deposit_before);
    assert_eq!(backend.session(&account, &key).await.unwrap().calls_used, 1);

    // Revocation by the owner; the session can no longer prepare.
    let revoke =
        backend.session_calls(&account, &[AccountChange::RevokeSession(key.clone())]).unwrap();
    let revocation = prepare(&backend, &account, revoke).await;
    let signature = sign(&revocation, SignatureKind::OwnerRaw, &owner_key);
    let (_, outcome) = run(&backend, &execute(&account, &revocation, signature)).await;
    assert_eq!(outcome.reverted, None);
    assert!(backend.session(&account, &key).await.unwrap().revoked);
    let again = backend.prepare(&account, make_move(&deployment, 4), &role, "0x00", now, 300).await;
    assert_eq!(again.unwrap_err().code, codes::SESSION_REVOKED);
    // And an op it signed before the revocation is refused with the session's reason.
    match backend.simulate(&relayer, relayer_nonce(&backend).await, &job).await {
        Err(SimulationError::Refused(refusal)) => {
            assert_eq!(refusal.code, codes::SESSION_REVOKED, "{refusal:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_session_spending_cap_is_enforced_on_chain_and_its_receipt_says_so() {
    if !available() {
        return;
    }
    let (anvil, deployment, backend) = world().await;
    let owner_key = fresh_key();
    let owner = address_of_key(&owner_key);
    let account = backend.account_address(&owner).unwrap();
    run(&backend, &Job::Deploy { owner_public_key: owner.clone() }).await;

    // One owner batch: mint tokens to the account, cap the key on the token, register
    // the key with every method allowed.
    let session_key = fresh_key();
    let key = address_of_key(&session_key);
    let token = address_text(deployment.token);
    let now = backend.now().await.unwrap();
    let changes = [
        AccountChange::SetSpendingCap(latchkey_chain::SpendingCap {
            session_key: key.clone(),
            token: token.clone(),
            max_per_call: latchkey_core::U256::from_u128(10),
            max_per_window: latchkey_core::U256::from_u128(15),
            window_seconds: 3_600,
        }),
        AccountChange::RegisterSession(SessionGrant {
            session_key: key.clone(),
            rules: SessionRules {
                valid_after: now,
                valid_until: now + 3_600,
                max_calls: 5,
                permissions: vec![],
            },
        }),
    ];
    let mut calls =
        latchkey_evm::decode_calls(&backend.session_calls(&account, &changes).unwrap()).unwrap();
    let mint = DemoToken::mintCall { to: account.parse().unwrap(), amount: U256::from(1_000u32) };
    calls.insert(0, EvmCall::new(deployment.token, mint.abi_encode()));
    let setup = prepare(&backend, &account, encode_calls(&calls).unwrap()).await;
    let signature = sign(&setup, SignatureKind::OwnerRaw, &owner_key);
    assert_eq!(run(&backend, &execute(&account, &setup, signature)).await.1.reverted, None);
    let cap = backend.spending_cap(&account, &key, &token).await.unwrap();
    assert_eq!((cap.max_per_call.low, cap.max_per_window.low, cap.window_seconds), (10, 15, 3_600));

    // Above the per-call cap: the EntryPoint runs the userOp and its execution reverts
    // (caps apply only inside handleOps); the receipt says why, and the fee was paid.
    let recipient = fresh_key();
    let recipient_address: alloy_primitives::Address = address_of_key(&recipient).parse().unwrap();
    let transfer = |amount: u32| {
        let data = DemoToken::transferCall { to: recipient_address, value: U256::from(amount) };
        encode_calls(&[EvmCall::new(deployment.token, data.abi_encode())]).unwrap()
    };
    let role = Signing::Session(key.clone());
    let now = backend.now().await.unwrap();
    let over = backend.prepare(&account, transfer(50), &role, "0x00", now, 300).await.unwrap();
    let inspected = backend.inspect(&account, &over.payload).unwrap();
    assert_eq!(
        inspected.calls[0].spend,
        latchkey_chain::Spend::Amount(latchkey_core::U256::from_u128(50))
    );
    let signature = sign(&over, SignatureKind::SessionEip191, &session_key);
    let (_, outcome) = run(&backend, &execute(&account, &over, signature)).await;
    let reason = outcome.reverted.expect("the capped transfer reverts");
    assert!(reason.contains("PerCallCapExceeded"), "{reason}");
    assert!(outcome.fee > 0);
    assert_eq!(backend.session(&account, &key).await.unwrap().calls_used, 1);

    // Within the cap: it runs, and the window counts it.
    let within = backend.prepare(&account, transfer(10), &role, "0x00", now, 300).await.unwrap();
    let signature = sign(&within, SignatureKind::SessionRaw, &session_key);
    assert_eq!(run(&backend, &execute(&account, &within, signature)).await.1.reverted, None);
    let balance =
        read(&anvil, deployment.token, DemoToken::balanceOfCall { account: recipient_address })
            .await;
    assert_eq!(balance, U256::from(10u8));
    let cap = backend.spending_cap(&account, &key, &token).await.unwrap();
    assert_eq!(cap.spent_in_window.low, 10);
}
