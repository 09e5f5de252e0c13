//! The Rust userOp code against the real EntryPoint, paymaster and factory; a sponsored
//! userOp end to end; a restart on the same state.

use alloy_primitives::{Address, U256};
use alloy_provider::Provider;
use alloy_sol_types::{SolCall, SolEvent};
use latchkey_evm_anvil::{deploy_on_anvil, relayer_keys, DEPLOYER_KEY, DEV_KEYS};
use latchkey_evm_contracts::abi::{
    EntryPoint, Game, LatchkeyAccount, LatchkeyAccountFactory, LatchkeyPaymaster, SenderCreator,
};
use latchkey_evm_contracts::{
    address_of, domain_separator, implementation_address, nonce, session_nonce_key, SignatureKind,
    UserOperation, ENTRY_POINT_V08, PACKED_USEROP_TYPEHASH, SENDER_CREATOR_V08,
};

use crate::support::*;

#[tokio::test]
async fn e2e_hashes_match_the_entry_point_paymaster_and_factory() {
    if !available() {
        return;
    }
    let (anvil, deployment) = world(None).await;
    let chain = reader(&anvil);

    // The hard-coded dev keys are anvil's accounts.
    let accounts = chain.get_accounts().await.unwrap();
    for (key, account) in DEV_KEYS.iter().zip(&accounts) {
        assert_eq!(address_of(key).unwrap(), *account);
    }
    assert_eq!(anvil.dev_addresses(), accounts[..DEV_KEYS.len()].to_vec());

    // EntryPoint at its canonical address, its SenderCreator, the EIP-712 pieces.
    assert_eq!(deployment.entry_point, ENTRY_POINT_V08);
    assert_eq!(deployment.sender_creator, SENDER_CREATOR_V08);
    assert_eq!(
        call(&chain, SENDER_CREATOR_V08, SenderCreator::entryPointCall {}).await,
        ENTRY_POINT_V08
    );
    assert_eq!(
        call(&chain, ENTRY_POINT_V08, EntryPoint::getPackedUserOpTypeHashCall {}).await,
        PACKED_USEROP_TYPEHASH
    );
    assert_eq!(
        call(&chain, ENTRY_POINT_V08, EntryPoint::getDomainSeparatorV4Call {}).await,
        domain_separator(ENTRY_POINT_V08, anvil.chain_id())
    );

    // getUserOpHash == UserOperation::hash: with/without factory, with/without paymaster,
    // a session nonce, empty calldata, a signature (not hashed).
    let owner = address_of(&fresh_key()).unwrap();
    let sender = account_of(&deployment, owner, U256::ZERO);
    let session = address_of(&fresh_key()).unwrap();
    let base = make_move_op(&deployment, sender, U256::ZERO, 3);
    let ops = vec![
        base.clone(),
        with_factory(base.clone(), &deployment, owner, U256::ZERO),
        sponsor(with_factory(base.clone(), &deployment, owner, U256::ZERO), &deployment, 0, 0),
        sponsor(
            UserOperation { nonce: nonce(session_nonce_key(session, 3), 2), ..base.clone() },
            &deployment,
            2_000_000_000,
            1_000,
        ),
        UserOperation { call_data: Default::default(), ..base.clone() },
        sign(base.clone(), &deployment, SignatureKind::OwnerEip191, &fresh_key()),
    ];
    for op in &ops {
        let on_chain =
            call(&chain, ENTRY_POINT_V08, EntryPoint::getUserOpHashCall { userOp: op.pack() })
                .await;
        assert_eq!(on_chain, op.hash(ENTRY_POINT_V08, anvil.chain_id()), "{op:?}");
    }

    // LatchkeyPaymaster.getHash == paymaster_hash.
    for (valid_until, valid_after) in
        [(0u64, 0u64), (1_900_000_000, 1_700_000_000), (0xffff_ffff_ffff, 1)]
    {
        let op = sponsor(ops[1].clone(), &deployment, valid_until, valid_after);
        let on_chain = call(
            &chain,
            deployment.paymaster,
            LatchkeyPaymaster::getHashCall {
                userOp: op.pack(),
                validUntil: alloy_primitives::aliases::U48::from(valid_until),
                validAfter: alloy_primitives::aliases::U48::from(valid_after),
            },
        )
        .await;
        let expected = latchkey_evm_contracts::paymaster_hash(
            &op,
            deployment.paymaster,
            anvil.chain_id(),
            valid_until,
            valid_after,
        );
        assert_eq!(on_chain, expected);
    }
    assert_eq!(
        call(&chain, deployment.paymaster, LatchkeyPaymaster::signerCall {}).await,
        address_of(&PAYMASTER_SIGNER_KEY).unwrap()
    );
    assert!(
        call(&chain, ENTRY_POINT_V08, EntryPoint::balanceOfCall { account: deployment.paymaster })
            .await
            > U256::ZERO
    );

    // The factory's implementation and counterfactual addresses.
    assert_eq!(deployment.account_implementation, implementation_address(deployment.factory));
    for (owner, salt) in [
        (owner, U256::ZERO),
        (owner, U256::from(7u64)),
        (session, U256::MAX),
        (Address::repeat_byte(0x11), U256::from(1u64) << 200),
    ] {
        let on_chain = call(
            &chain,
            deployment.factory,
            LatchkeyAccountFactory::getAddressCall { owner, salt },
        )
        .await;
        assert_eq!(on_chain, account_of(&deployment, owner, salt));
    }
}

/// Deploys `owner_key`'s account (salt 0) with a sponsored first userOp signed as `kind`;
/// returns the account.
async fn first_user_op(
    anvil: &latchkey_evm_anvil::Anvil,
    deployment: &latchkey_evm_anvil::Deployment,
    owner_key: &alloy_primitives::B256,
    kind: SignatureKind,
) -> (Address, EntryPoint::UserOperationEvent) {
    let owner = address_of(owner_key).unwrap();
    let account = account_of(deployment, owner, U256::ZERO);
    let op = make_move_op(deployment, account, U256::ZERO, 1);
    let op = sponsor(with_factory(op, deployment, owner, U256::ZERO), deployment, 0, 0);
    let op = sign(op, deployment, kind, owner_key);
    let receipt = handle_ops(anvil, deployment, relayer_keys()[0], std::slice::from_ref(&op)).await;
    let events = user_operation_events(&receipt);
    assert_eq!(events.len(), 1);
    let deployed = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.topic0() == Some(&EntryPoint::AccountDeployed::SIGNATURE_HASH))
        .count();
    assert_eq!(deployed, 1, "AccountDeployed");
    assert_eq!(events[0].userOpHash, op.hash(deployment.entry_point, deployment.chain_id));
    (account, events[0].clone())
}

#[tokio::test]
async fn e2e_a_sponsored_user_op_deploys_the_account_and_executes() {
    if !available() {
        return;
    }
    let (anvil, deployment) = world(None).await;
    let chain = reader(&anvil);
    let deposit_before =
        call(&chain, ENTRY_POINT_V08, EntryPoint::balanceOfCall { account: deployment.paymaster })
            .await;

    let mut total_cost = U256::ZERO;
    for first_kind in [SignatureKind::OwnerEip191, SignatureKind::OwnerRaw] {
        let owner_key = fresh_key();
        let owner = address_of(&owner_key).unwrap();
        assert!(chain
            .get_code_at(account_of(&deployment, owner, U256::ZERO))
            .await
            .unwrap()
            .is_empty());

        // First userOp: deployed through the factory fields, gasless for the account.
        let (account, event) = first_user_op(&anvil, &deployment, &owner_key, first_kind).await;
        assert!(event.success, "{event:?}");
        assert_eq!((event.sender, event.paymaster), (account, deployment.paymaster));
        assert!(event.actualGasCost > U256::ZERO && event.actualGasUsed > U256::ZERO);
        total_cost += event.actualGasCost;
        assert!(!chain.get_code_at(account).await.unwrap().is_empty());
        assert_eq!(call(&chain, account, LatchkeyAccount::ownerCall {}).await, owner);
        assert_eq!(
            chain.get_balance(account).await.unwrap(),
            U256::ZERO,
            "the account paid nothing"
        );

        // Second userOp with the other owner signature kind, nonce read from the EntryPoint.
        let other = if first_kind == SignatureKind::OwnerRaw {
            SignatureKind::OwnerEip191
        } else {
            SignatureKind::OwnerRaw
        };
        let sequence = call(
            &chain,
            ENTRY_POINT_V08,
            EntryPoint::getNonceCall { sender: account, key: Default::default() },
        )
        .await;
        assert_eq!(sequence, U256::from(1u64));
        let op = sponsor(make_move_op(&deployment, account, sequence, 2), &deployment, 0, 0);
        let op = sign(op, &deployment, other, &owner_key);
        let receipt = handle_ops(&anvil, &deployment, relayer_keys()[1], &[op]).await;
        let events = user_operation_events(&receipt);
        assert_eq!(events.len(), 1);
        assert!(events[0].success);
        total_cost += events[0].actualGasCost;

        let player = call(&chain, deployment.game, Game::getPlayerCall { player: account }).await;
        assert_eq!(player.moves, 2);
    }

    // The paymaster paid exactly the reported gas costs.
    let deposit_after =
        call(&chain, ENTRY_POINT_V08, EntryPoint::balanceOfCall { account: deployment.paymaster })
            .await;
    assert_eq!(deposit_before - deposit_after, total_cost);
}

#[tokio::test]
async fn e2e_a_restart_on_the_same_state_keeps_everything() {
    if !available() {
        return;
    }
    let dir = TempDir::new("restart");
    let state = dir.path().join("anvil").join("state.json");
    let (anvil, deployment) = world(Some(state.clone())).await;
    let record = anvil.deployment_record().unwrap();
    assert!(record.is_file());
    let owner_key = fresh_key();
    let (account, event) =
        first_user_op(&anvil, &deployment, &owner_key, SignatureKind::OwnerEip191).await;
    assert!(event.success);
    let deployer = address_of(&DEPLOYER_KEY).unwrap();
    let deployer_nonce = reader(&anvil).get_transaction_count(deployer).await.unwrap();
    let block = reader(&anvil).get_block_number().await.unwrap();
    let first_pid = anvil.pid();
    anvil.shutdown().await;
    assert!(state.is_file(), "anvil wrote its state on stop");
    assert!(!process_alive(first_pid));

    let anvil = start(Some(state.clone())).await;
    let chain = reader(&anvil);
    assert!(chain.get_block_number().await.unwrap() >= block);
    // Deploying again finds the recorded deployment and sends nothing.
    let again = deploy_on_anvil(&anvil, address_of(&PAYMASTER_SIGNER_KEY).unwrap()).await.unwrap();
    assert_eq!(again, deployment);
    assert_eq!(chain.get_transaction_count(deployer).await.unwrap(), deployer_nonce);
    for (name, address) in deployment.contracts() {
        assert!(!chain.get_code_at(address).await.unwrap().is_empty(), "{name}");
    }
    assert_eq!(
        call(&chain, account, LatchkeyAccount::ownerCall {}).await,
        address_of(&owner_key).unwrap()
    );
    let player = call(&chain, deployment.game, Game::getPlayerCall { player: account }).await;
    assert_eq!(player.moves, 1);

    // And it keeps working: the account's next userOp.
    let op = sponsor(make_move_op(&deployment, account, U256::from(1u64), 5), &deployment, 0, 0);
    let op = sign(op, &deployment, SignatureKind::OwnerRaw, &owner_key);
    let receipt = handle_ops(&anvil, &deployment, relayer_keys()[2], &[op]).await;
    assert!(user_operation_events(&receipt)[0].success);
}

#[tokio::test]
async fn e2e_a_session_user_op_runs_through_execute_user_op() {
    if !available() {
        return;
    }
    let (anvil, deployment) = world(None).await;
    let chain = reader(&anvil);
    let owner_key = fresh_key();
    let owner = address_of(&owner_key).unwrap();
    let session_key = fresh_key();
    let session = address_of(&session_key).unwrap();
    let account = account_of(&deployment, owner, U256::ZERO);

    // First userOp (owner): deploys the account and registers the session in one go.
    let make_move = alloy_primitives::FixedBytes(Game::makeMoveCall::SELECTOR);
    let mut op = make_move_op(&deployment, account, U256::ZERO, 0);
    op.call_data = latchkey_evm_contracts::register_session(
        session,
        0,
        4_000_000_000,
        5,
        vec![latchkey_evm_contracts::abi::AllowedMethod {
            target: deployment.game,
            selector: make_move,
        }],
    );
    let op = with_factory(op, &deployment, owner, U256::ZERO);
    let op = sign(sponsor(op, &deployment, 0, 0), &deployment, SignatureKind::OwnerRaw, &owner_key);
    let receipt = handle_ops(&anvil, &deployment, relayer_keys()[0], &[op]).await;
    assert!(user_operation_events(&receipt)[0].success);

    let view = call(&chain, account, LatchkeyAccount::getSessionCall { key: session }).await;
    assert!(view.registered && view.active && !view.revoked);
    let key = session_nonce_key(session, view.registration);
    assert_eq!(U256::from(view.nonceKey), key);
    assert_eq!(
        U256::from(
            call(&chain, account, LatchkeyAccount::sessionNonceKeyCall { key: session }).await
        ),
        key
    );
    // registerSession starts the key's sequence at 1.
    let on_chain_nonce = call(
        &chain,
        ENTRY_POINT_V08,
        EntryPoint::getNonceCall {
            sender: account,
            key: alloy_primitives::aliases::U192::from(key),
        },
    )
    .await;
    assert_eq!(on_chain_nonce, nonce(key, 1));

    // A session userOp through executeUserOp (0x8dd7712f ‖ abi.encode(Call[])), both kinds.
    for (sequence, kind) in [(1u64, SignatureKind::SessionEip191), (2, SignatureKind::SessionRaw)] {
        let mut op = make_move_op(&deployment, account, nonce(key, sequence), 0);
        op.call_data =
            latchkey_evm_contracts::execute_user_op(vec![latchkey_evm_contracts::abi::Call {
                target: deployment.game,
                value: U256::ZERO,
                data: Game::makeMoveCall { r#move: U256::from(sequence) }.abi_encode().into(),
            }]);
        let op = sign(sponsor(op, &deployment, 0, 0), &deployment, kind, &session_key);
        let receipt = handle_ops(&anvil, &deployment, relayer_keys()[1], &[op]).await;
        let events = user_operation_events(&receipt);
        assert!(events[0].success, "{kind:?}: {events:?}");
    }
    let view = call(&chain, account, LatchkeyAccount::getSessionCall { key: session }).await;
    assert_eq!(view.callsUsed, 2);
    let player = call(&chain, deployment.game, Game::getPlayerCall { player: account }).await;
    assert_eq!(player.moves, 2);
}
