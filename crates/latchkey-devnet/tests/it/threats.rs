//! One test per applicable row of the contract threat matrix (security.md §1), each
//! asserting the rejection and that nothing changed. Policy rows run on both paths.

use latchkey_chain::{
    new_outside_execution, sign_outside_execution_as_owner, sign_outside_execution_as_session,
    udc_deploy_call, FeeMode, KeyAccount,
};
use latchkey_contracts::{account_calls, admin_selectors, erc20_calls, interface_ids};
use latchkey_core::{
    is_live_at, selector, short_string, AllowedMethod, Call, Felt, OutsideExecution,
    SessionSignature, TypedData, EC_ORDER, U256,
};
use latchkey_devnet::DevnetConfig;
use rand::{Rng, SeedableRng};
use starknet_rust_accounts::ConnectedAccount;

use crate::support::{fresh_key, next_hour, Env, Path, Rejection, Session, BOTH_PATHS};

fn self_call(env: &Env, entrypoint_selector: Felt, calldata: Vec<Felt>) -> Call {
    Call { to: env.account(), selector: entrypoint_selector, calldata }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c01_session_cannot_call_admin_selectors_on_the_account() {
    let env = Env::new().await;
    let now = env.now().await;
    let empty = env.register(0, now + 3600, 100, vec![]).await;
    let mut listed_methods: Vec<AllowedMethod> = Vec::new();
    for (_, sel) in admin_selectors() {
        listed_methods.push(AllowedMethod { contract: env.account(), selector: sel });
        listed_methods.push(AllowedMethod { contract: Felt::ZERO, selector: sel });
    }
    let listed = env.register(0, now + 3600, 100, listed_methods).await;
    for session in [&empty, &listed] {
        for (name, sel) in admin_selectors() {
            let calldata = match name {
                "add_or_update_session_key" => vec![
                    session.public_key(),
                    Felt::from(now + 99_999),
                    Felt::from(9999u32),
                    Felt::ZERO,
                ],
                "revoke_session_key" => vec![session.public_key()],
                _ => vec![Felt::ONE],
            };
            for path in BOTH_PATHS {
                env.assert_rejected(
                    path,
                    session,
                    vec![self_call(&env, sel, calldata.clone())],
                    Rejection::Policy("Session: self call"),
                )
                .await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c02_nested_execute_is_rejected() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    // __execute__([transfer]) on the account itself.
    let mut inner = Vec::new();
    latchkey_core::serialize_calls(&[env.transfer_strk(1)], &mut inner);
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &session,
            vec![self_call(&env, selector("__execute__"), inner.clone())],
            Rejection::Policy("Session: self call"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c03_session_cannot_take_over_the_owner_key() {
    let env = Env::new().await;
    let now = env.now().await;
    let session = env
        .register(
            0,
            now + 3600,
            10,
            vec![
                AllowedMethod::any_contract("set_public_key"),
                AllowedMethod::any_contract("setPublicKey"),
            ],
        )
        .await;
    let attacker = fresh_key().public_key();
    for entrypoint in ["set_public_key", "setPublicKey"] {
        for path in BOTH_PATHS {
            env.assert_rejected(
                path,
                &session,
                vec![self_call(&env, selector(entrypoint), vec![attacker])],
                Rejection::Policy("Session: self call"),
            )
            .await;
        }
    }
    let key = env.client().call(env.account(), "get_public_key", vec![]).await.unwrap();
    assert_eq!(key, vec![env.user.owner.public_key()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c04_nested_outside_execution_is_rejected() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    // (a) A session calling execute_from_outside_v2 on its own account.
    let nested_oe = env.devnet.outside_execution(vec![env.transfer_strk(1)]).await.unwrap();
    let nested_sig = sign_outside_execution_as_owner(
        &env.user.owner,
        &nested_oe,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    let call = latchkey_chain::outside_execution_call(env.account(), &nested_oe, &nested_sig);
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &session,
            vec![call.clone()],
            Rejection::Policy("Session: self call"),
        )
        .await;
    }

    // (b) An outside execution whose inner call re-enters the account with the same
    // outside execution, through a forwarder contract.
    let relayer = env.devnet.relayer_account(1).unwrap();
    let salt = Felt::from(77u8);
    let forwarder_class = env.devnet.classes().call_forwarder;
    let hash = relayer
        .send(&[udc_deploy_call(forwarder_class, salt, &[])], FeeMode::Estimate)
        .await
        .unwrap();
    env.client().wait_for_transaction(hash).await.unwrap();
    let forwarder = latchkey_core::contract_address(&salt, &forwarder_class, &[], &Felt::ZERO);
    let replay = Call::new(forwarder, "replay", vec![]);

    let outer = env.devnet.outside_execution(vec![replay.clone()]).await.unwrap();
    let outer_sig = sign_outside_execution_as_owner(
        &env.user.owner,
        &outer,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    let store = |oe: &OutsideExecution, sig: &[Felt]| {
        let mut calldata = vec![env.account(), selector("execute_from_outside_v2")];
        let inner = oe.to_calldata(sig);
        calldata.push(Felt::from(inner.len() as u64));
        calldata.extend(inner);
        Call::new(forwarder, "store_call", calldata)
    };
    let hash = relayer.send(&[store(&outer, &outer_sig)], FeeMode::Estimate).await.unwrap();
    env.client().wait_for_transaction(hash).await.unwrap();
    let before = env.snapshot(session.public_key()).await;
    let err = env
        .relay_raw(&outer, &outer_sig)
        .await
        .expect_err("re-entry with the same outside execution");
    assert!(err.reason().unwrap().contains("SRC9: duplicated nonce"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);
    assert!(env
        .client()
        .is_valid_outside_execution_nonce(env.account(), outer.nonce)
        .await
        .unwrap());

    // A different, validly signed outside execution entered from inside one: the
    // reentrancy guard refuses it.
    let other = env.devnet.outside_execution(vec![env.transfer_strk(1)]).await.unwrap();
    let other_sig = sign_outside_execution_as_owner(
        &env.user.owner,
        &other,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    let hash = relayer.send(&[store(&other, &other_sig)], FeeMode::Estimate).await.unwrap();
    env.client().wait_for_transaction(hash).await.unwrap();
    let outer2 = env.devnet.outside_execution(vec![replay]).await.unwrap();
    let outer2_sig = sign_outside_execution_as_owner(
        &env.user.owner,
        &outer2,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    let err = env.relay_raw(&outer2, &outer2_sig).await.expect_err("nested outside execution");
    assert!(err.reason().unwrap().contains("ReentrancyGuard: reentrant call"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c05_self_calls_are_rejected_whatever_the_allowlist() {
    let env = Env::new().await;
    let now = env.now().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let selectors: Vec<Felt> =
        (0..12).map(|_| Felt::from(rng.gen::<u128>()) * Felt::from(rng.gen::<u64>())).collect();
    let methods =
        selectors.iter().map(|s| AllowedMethod { contract: env.account(), selector: *s }).collect();
    let session = env.register(0, now + 3600, 100, methods).await;
    for (i, sel) in selectors.iter().enumerate() {
        let path = BOTH_PATHS[i % 2];
        env.assert_rejected(
            path,
            &session,
            vec![self_call(&env, *sel, vec![])],
            Rejection::Policy("Session: self call"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c07_allowlist_is_per_contract() {
    let env = Env::new().await;
    let now = env.now().await;
    let session =
        env.register(0, now + 3600, 10, vec![AllowedMethod::new(env.eth(), "transfer")]).await;
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &session,
            vec![env.transfer_strk(1)],
            Rejection::Policy("Session: method not allowed"),
        )
        .await;
    }
    let eth = erc20_calls::transfer(env.eth(), env.recipient, U256::from_u128(1));
    env.session_exec(Path::Outside, &session, vec![eth.clone()])
        .await
        .expect("ETH transfer is allowed");
    env.session_exec(Path::Invoke, &session, vec![eth]).await.expect("ETH transfer is allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c08_batch_with_one_disallowed_call_is_rejected() {
    let env = Env::new().await;
    let now = env.now().await;
    let session =
        env.register(0, now + 3600, 10, vec![AllowedMethod::new(env.game(), "make_move")]).await;
    let allowed = env.make_move(1);
    let disallowed = env.transfer_strk(1);
    let mut fifty_one = vec![allowed.clone(); 50];
    fifty_one.push(disallowed.clone());
    let batches = [
        vec![allowed.clone(), disallowed.clone()],
        vec![disallowed.clone(), allowed.clone()],
        fifty_one,
    ];
    for batch in batches {
        for path in BOTH_PATHS {
            env.assert_rejected(
                path,
                &session,
                batch.clone(),
                Rejection::Policy("Session: method not allowed"),
            )
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c09_batches_are_atomic() {
    let env = Env::new().await;
    let now = env.now().await;
    let session = env
        .register(
            0,
            now + 3600,
            10,
            vec![
                AllowedMethod::new(env.strk(), "approve"),
                AllowedMethod::new(env.game(), "make_move"),
            ],
        )
        .await;
    // An approval followed by a failing call: nothing of the batch may remain.
    let batch =
        vec![erc20_calls::approve(env.strk(), env.recipient, U256::from_u128(5)), env.make_move(0)];
    for path in BOTH_PATHS {
        env.assert_rejected(path, &session, batch.clone(), Rejection::Revert("Game: invalid move"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c10_spending_caps_count_transfers_and_approvals() {
    let env = Env::new().await;
    let now = env.now().await;
    let strk = env.strk();
    let session = env
        .register(
            0,
            now + 3 * 3600,
            50,
            vec![
                AllowedMethod::new(strk, "transfer"),
                AllowedMethod::new(strk, "approve"),
                AllowedMethod::new(strk, "increaseAllowance"),
                AllowedMethod::new(strk, "increase_allowance"),
                AllowedMethod::new(strk, "transferFrom"),
            ],
        )
        .await;
    env.owner(vec![account_calls::set_spending_policy(
        env.account(),
        session.public_key(),
        strk,
        U256::from_u128(100),
        U256::from_u128(150),
        3600,
    )])
    .await;
    let attacker = env.recipient;
    for path in BOTH_PATHS {
        // (a) A standing allowance far above the cap.
        let approve = erc20_calls::approve(strk, attacker, U256::MAX);
        env.assert_rejected(
            path,
            &session,
            vec![approve],
            Rejection::Revert("Spending: per-call cap"),
        )
        .await;
        // (b) The camelCase alias counts too.
        let increase =
            Call::new(strk, "increaseAllowance", vec![attacker, Felt::from(101u8), Felt::ZERO]);
        env.assert_rejected(
            path,
            &session,
            vec![increase],
            Rejection::Revert("Spending: per-call cap"),
        )
        .await;
        // (c) transferFrom as the session.
        let from = Call::new(
            strk,
            "transferFrom",
            vec![attacker, env.account(), Felt::from(500u32), Felt::ZERO],
        );
        env.assert_rejected(
            path,
            &session,
            vec![from],
            Rejection::Revert("Spending: per-call cap"),
        )
        .await;
        // Malformed amounts are refused, not skipped.
        let short = Call::new(strk, "transfer", vec![attacker]);
        env.assert_rejected(
            path,
            &session,
            vec![short],
            Rejection::Revert("Spending: bad calldata"),
        )
        .await;
    }
    // Per window: 100 + 50 fit, one more does not, in one batch or across transactions.
    env.session_exec(Path::Outside, &session, vec![env.transfer_strk(100)]).await.unwrap();
    let batch = vec![env.transfer_strk(30), env.transfer_strk(30)];
    env.assert_rejected(Path::Outside, &session, batch, Rejection::Revert("Spending: window cap"))
        .await;
    env.session_exec(Path::Invoke, &session, vec![env.transfer_strk(50)]).await.unwrap();
    env.assert_rejected(
        Path::Invoke,
        &session,
        vec![env.transfer_strk(1)],
        Rejection::Revert("Spending: window cap"),
    )
    .await;
    // Approvals count against the same window.
    let approve = erc20_calls::approve(strk, attacker, U256::from_u128(1));
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![approve.clone()],
        Rejection::Revert("Spending: window cap"),
    )
    .await;
    let policy =
        env.client().get_spending_policy(env.account(), session.public_key(), strk).await.unwrap();
    assert_eq!(policy.spent_in_window, U256::from_u128(150));
    // A new window starts after window_seconds.
    env.devnet.set_time(policy.window_start + 3600).await;
    env.session_exec(Path::Outside, &session, vec![approve]).await.unwrap();
    let policy =
        env.client().get_spending_policy(env.account(), session.public_key(), strk).await.unwrap();
    assert_eq!(policy.spent_in_window, U256::from_u128(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c11_expiry_is_rechecked_at_execution_within_the_same_hour() {
    let env = Env::new().await;
    let now = env.now().await;
    // valid_until = 100 s past an hour boundary; execute 30 min later, still in that hour
    // as the validate-phase clock (rounded down to the hour) sees it.
    let valid_until = next_hour(now, 600) + 100;
    let session = env.game_session_until(valid_until).await;
    env.devnet.set_time(valid_until + 1800).await;
    env.assert_rejected(
        Path::Invoke,
        &session,
        vec![env.make_move(1)],
        Rejection::Revert("Session: expired"),
    )
    .await;
    env.devnet.set_time(valid_until + 1800).await;
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![env.make_move(1)],
        Rejection::Policy("Session: expired"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c12_signed_valid_until_is_bound_to_storage() {
    let env = Env::new().await;
    let registered = env.game_session(10).await;
    let stretched =
        Session { key: registered.key.clone(), valid_until: registered.valid_until + 86_400 };
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &stretched,
            vec![env.make_move(1)],
            Rejection::Policy("Session: valid_until exceeded"),
        )
        .await;
    }
    let now = env.now().await;
    let shortened = Session { key: registered.key.clone(), valid_until: now - 10 };
    env.assert_rejected(
        Path::Outside,
        &shortened,
        vec![env.make_move(1)],
        Rejection::Policy("Session: expired"),
    )
    .await;
    // Effective expiry = min(signed, stored): a signature may shorten the session.
    let exact = Session { key: registered.key.clone(), valid_until: now + 60 };
    env.session_exec(Path::Outside, &exact, vec![env.make_move(1)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c13_expiry_boundary_matches_the_rust_convention() {
    let env = Env::new().await;
    let now = env.now().await;
    // Mid-hour, so the hour-rounded validation clock never decides these cases alone.
    let valid_after = next_hour(now, 600) + 1200;
    let valid_until = valid_after + 1000;
    let session = env
        .register(valid_after, valid_until, 100, vec![AllowedMethod::new(env.game(), "make_move")])
        .await;
    for path in BOTH_PATHS {
        for t in [
            valid_after - 1,
            valid_after,
            valid_after + 1,
            valid_until - 1,
            valid_until,
            valid_until + 1,
        ] {
            env.devnet.set_time(t).await;
            let live = is_live_at(valid_after, valid_until, t);
            if live {
                env.session_exec_with(path, &session, vec![env.make_move(1)], FeeMode::Unchecked)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{path:?} at {t}: core says live, chain refused: {e}")
                    });
            } else {
                let msg =
                    if t < valid_after { "Session: not yet valid" } else { "Session: expired" };
                // The invoke path's validation sees an hour-rounded clock and leaves the
                // exact window to execution.
                let expected = match path {
                    Path::Outside => Rejection::Policy(msg),
                    Path::Invoke => Rejection::Revert(msg),
                };
                env.devnet.set_time(t).await;
                env.assert_rejected(path, &session, vec![env.make_move(1)], expected).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_after_in_the_future_is_rejected_until_it_arrives() {
    let env = Env::new().await;
    let now = env.now().await;
    let start = next_hour(now, 3 * 3600);
    let session = env
        .register(start, start + 3600, 10, vec![AllowedMethod::new(env.game(), "make_move")])
        .await;
    // More than an hour ahead: even the hour-rounded validation clock knows it.
    env.assert_rejected(
        Path::Invoke,
        &session,
        vec![env.make_move(1)],
        Rejection::Policy("Session: not yet valid"),
    )
    .await;
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![env.make_move(1)],
        Rejection::Policy("Session: not yet valid"),
    )
    .await;
    env.devnet.set_time(start).await;
    env.session_exec(Path::Outside, &session, vec![env.make_move(1)]).await.unwrap();
    env.session_exec(Path::Invoke, &session, vec![env.make_move(2)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c14_max_calls_counts_transactions_after_the_signature() {
    let env = Env::new().await;
    // (a) max_calls = 1: the first use works, the second does not.
    let once = env.game_session(1).await;
    env.session_exec(Path::Outside, &once, vec![env.make_move(1)]).await.unwrap();
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &once,
            vec![env.make_move(2)],
            Rejection::Policy("Session: max calls reached"),
        )
        .await;
    }
    // A bad signature does not consume a call.
    let session = env.game_session(10).await;
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    let mut sig = sign_outside_execution_as_session(
        &session.key,
        session.valid_until,
        &oe,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    sig[2] += Felt::ONE;
    let err = env.relay_raw(&oe, &sig).await.expect_err("bad signature");
    assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "{err}");
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 0);
    // (b) A 20-call batch consumes one call.
    let batch: Vec<Call> = (1..=20).map(|m| env.make_move(m)).collect();
    env.session_exec(Path::Outside, &session, batch.clone()).await.unwrap();
    env.session_exec(Path::Invoke, &session, batch).await.unwrap();
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 2);
    // (c) An invoke that passes validation and reverts in execution still consumed a call
    // (validation writes persist); assert_rejected checks calls_used + 1.
    env.assert_rejected(
        Path::Invoke,
        &session,
        vec![env.make_move(0)],
        Rejection::Revert("Game: invalid move"),
    )
    .await;
    // (d) A reverted outside execution consumes neither a call nor its nonce.
    let oe = env.devnet.outside_execution(vec![env.make_move(0)]).await.unwrap();
    let sig = sign_outside_execution_as_session(
        &session.key,
        session.valid_until,
        &oe,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    let before = env.session_view(session.public_key()).await.calls_used;
    let err = env.relay_raw(&oe, &sig).await.expect_err("reverts");
    assert!(err.reason().unwrap().contains("Game: invalid move"), "{err}");
    assert_eq!(env.session_view(session.public_key()).await.calls_used, before);
    assert!(env.client().is_valid_outside_execution_nonce(env.account(), oe.nonce).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c15_update_clears_old_entrypoints_and_sessions_cannot_reset_themselves() {
    let env = Env::new().await;
    let key = fresh_key();
    let valid_until = env.now().await + 3600;
    let five =
        ["make_move", "claim_reward", "transfer", "approve", "increase_allowance"].map(selector);
    env.owner(vec![account_calls::add_or_update_session_key(
        env.account(),
        key.public_key(),
        valid_until,
        10,
        &five,
    )])
    .await;
    let session = Session { key: key.clone(), valid_until };
    env.session_exec(
        Path::Outside,
        &session,
        vec![erc20_calls::approve(env.strk(), env.recipient, U256::from_u128(1))],
    )
    .await
    .unwrap();
    env.owner(vec![account_calls::add_or_update_session_key(
        env.account(),
        key.public_key(),
        valid_until,
        10,
        &five[..2],
    )])
    .await;
    let view = env.session_view(key.public_key()).await;
    assert_eq!(view.allowed_methods.len(), 2);
    assert_eq!(view.calls_used, 0, "an owner update resets the counter");
    let approve = erc20_calls::approve(env.strk(), env.recipient, U256::from_u128(2));
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &session,
            vec![approve.clone()],
            Rejection::Policy("Session: method not allowed"),
        )
        .await;
    }
    // The session may not re-register itself to reset its counter.
    let reset = account_calls::add_or_update_session_key(
        env.account(),
        key.public_key(),
        valid_until,
        1000,
        &[],
    );
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &session,
            vec![reset.clone()],
            Rejection::Policy("Session: self call"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c16_revocation_stops_signed_executions() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    // Signed before the revocation, relayed after it.
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    let sig = sign_outside_execution_as_session(
        &session.key,
        session.valid_until,
        &oe,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    env.owner(vec![account_calls::revoke_session_key(env.account(), session.public_key())]).await;
    let before = env.snapshot(session.public_key()).await;
    let err = env.relay_raw(&oe, &sig).await.expect_err("revoked");
    assert!(err.reason().unwrap().contains("Session: revoked"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);
    // Revoking twice, or a key never registered, reverts.
    for key in [session.public_key(), fresh_key().public_key()] {
        let err = env
            .devnet
            .owner_execute(&env.user, vec![account_calls::revoke_session_key(env.account(), key)])
            .await
            .expect_err("nothing to revoke");
        assert!(err.reason().unwrap().contains("Session: unknown or revoked"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c17_owner_rotation_and_revoke_all_end_every_session() {
    let env = Env::new().await;
    let first = env.game_session(10).await;
    let second = env.game_session(10).await;
    env.owner(vec![account_calls::revoke_all_sessions(env.account())]).await;
    for session in [&first, &second] {
        for path in BOTH_PATHS {
            env.assert_rejected(
                path,
                session,
                vec![env.make_move(1)],
                Rejection::Policy("Session: revoked"),
            )
            .await;
        }
    }
    // A session registered afterwards works; rotating the owner ends it too.
    let third = env.game_session(10).await;
    env.session_exec(Path::Outside, &third, vec![env.make_move(1)]).await.unwrap();
    let new_owner = fresh_key();
    env.owner(vec![account_calls::set_public_key(env.account(), new_owner.public_key())]).await;
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &third,
            vec![env.make_move(2)],
            Rejection::Policy("Session: revoked"),
        )
        .await;
    }
    // The old owner key no longer signs; the new one does.
    let oe = env.devnet.outside_execution(vec![env.make_move(3)]).await.unwrap();
    let old_sig =
        sign_outside_execution_as_owner(&env.user.owner, &oe, env.devnet.chain_id(), env.account())
            .unwrap();
    let err = env.relay_raw(&oe, &old_sig).await.expect_err("old owner");
    assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "{err}");
    let new_sig =
        sign_outside_execution_as_owner(&new_owner, &oe, env.devnet.chain_id(), env.account())
            .unwrap();
    env.relay_raw(&oe, &new_sig).await.expect("new owner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c18_signatures_for_another_chain_are_rejected() {
    let env =
        Env::with_config(DevnetConfig { chain_id: "SN_MAIN".into(), ..DevnetConfig::default() })
            .await;
    let session = env.game_session(10).await;
    let sepolia = short_string("SN_SEPOLIA").unwrap();
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    let sig = sign_outside_execution_as_session(
        &session.key,
        session.valid_until,
        &oe,
        sepolia,
        env.account(),
    )
    .unwrap();
    let before = env.snapshot(session.public_key()).await;
    let err = env.relay_raw(&oe, &sig).await.expect_err("wrong chain");
    assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);
    // A direct invoke signed for Sepolia is refused by validation on this chain.
    let account =
        KeyAccount::session(env.client(), env.account(), session.key.clone(), session.valid_until)
            .for_chain(sepolia);
    let err = account.send(&[env.make_move(1)], FeeMode::Unchecked).await.expect_err("wrong chain");
    assert!(err.reason().unwrap().contains("alidat"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c19_session_signatures_do_not_replay_across_accounts() {
    let env = Env::new().await;
    let other = env.devnet.create_user(fresh_key()).await.unwrap();
    let session = env.game_session(10).await;
    // Register the same session key on the second account.
    let policy = latchkey_core::SessionPolicy {
        session_key: session.public_key(),
        valid_after: 0,
        valid_until: session.valid_until,
        max_calls: 10,
        allowed_methods: vec![AllowedMethod::new(env.game(), "make_move")],
    };
    env.devnet
        .owner_execute(&other, vec![account_calls::register_session(other.address, &policy)])
        .await
        .unwrap();
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    let sig = sign_outside_execution_as_session(
        &session.key,
        session.valid_until,
        &oe,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    let err = env
        .devnet
        .relay(0, other.address, &oe, &sig, FeeMode::Unchecked)
        .await
        .expect_err("signed for the first account");
    assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "{err}");
    let view = env.client().get_session(other.address, session.public_key()).await.unwrap();
    assert_eq!(view.calls_used, 0);
    // The same signature works where it belongs.
    env.relay_raw(&oe, &sig).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c20_exactly_one_canonical_hash_is_accepted() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let chain = env.devnet.chain_id();
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    // The legacy felt-timestamp variant of the SNIP-9 hash.
    let mut legacy: TypedData = oe.to_typed_data(&chain);
    for member in legacy.types.get_mut("OutsideExecution").unwrap().iter_mut() {
        if member.r#type == "u128" {
            member.r#type = "felt".into();
        }
    }
    let legacy_hash = legacy.message_hash(&env.account()).unwrap();
    assert_ne!(legacy_hash, oe.message_hash(&chain, &env.account()));
    // The struct hash alone (no domain), as a validate-path style message.
    let struct_hash = oe.struct_hash();
    for hash in [legacy_hash, struct_hash] {
        let sig =
            SessionSignature::sign(&session.key, &hash, session.valid_until).unwrap().to_felts();
        let err = env.relay_raw(&oe, &sig).await.expect_err("non-canonical hash");
        assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "{err}");
    }
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c21_is_valid_signature_accepts_owner_signatures_only() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let hash = Felt::from(0xdeadbeefu32);
    let check = |signature: Vec<Felt>| {
        let mut calldata = vec![hash, Felt::from(signature.len() as u64)];
        calldata.extend(signature);
        env.client().call(env.account(), "is_valid_signature", calldata)
    };
    let session_sig =
        SessionSignature::sign(&session.key, &hash, session.valid_until).unwrap().to_felts();
    assert_eq!(check(session_sig).await.unwrap(), vec![Felt::ZERO]);
    let owner_sig = env.user.owner.sign(&hash).unwrap().to_owner_felts();
    assert_eq!(check(owner_sig).await.unwrap(), vec![short_string("VALID").unwrap()]);
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c22_malleated_signature_does_not_replay() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    let sig = sign_outside_execution_as_session(
        &session.key,
        session.valid_until,
        &oe,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    env.relay_raw(&oe, &sig).await.unwrap();
    let mut flipped = sig.clone();
    flipped[2] = EC_ORDER - sig[2];
    let before = env.snapshot(session.public_key()).await;
    let err = env.relay_raw(&oe, &flipped).await.expect_err("same outside execution");
    assert!(err.reason().unwrap().contains("SRC9: duplicated nonce"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c23_session_invoke_binds_its_fees() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let account =
        KeyAccount::session(env.client(), env.account(), session.key.clone(), session.valid_until);
    let nonce = account.get_nonce().await.unwrap();
    let bounds = account.generous_fee_bounds().await.unwrap();
    let before = env.snapshot(session.public_key()).await;
    for tamper in 0..2 {
        let mut signed = account.sign_invoke(&[env.make_move(1)], nonce, bounds).await.unwrap();
        let tx = &mut signed.request.broadcasted_invoke_txn_v3;
        match tamper {
            0 => tx.tip = 1_000_000,
            _ => tx.resource_bounds.l2_gas.max_price_per_unit *= 10,
        }
        let err = account.submit(&signed).await.expect_err("fee fields are signed");
        assert!(err.reason().unwrap().contains("alidat"), "{err}");
    }
    assert_eq!(env.snapshot(session.public_key()).await, before);
    // Untampered, it goes through.
    let signed = account.sign_invoke(&[env.make_move(1)], nonce, bounds).await.unwrap();
    env.client().wait_for_transaction(account.submit(&signed).await.unwrap()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c24_execute_cannot_be_called_by_another_contract() {
    let env = Env::new().await;
    let relayer = env.devnet.relayer_account(1).unwrap();
    let salt = Felt::from(24u8);
    let class = env.devnet.classes().call_forwarder;
    env.client()
        .wait_for_transaction(
            relayer.send(&[udc_deploy_call(class, salt, &[])], FeeMode::Estimate).await.unwrap(),
        )
        .await
        .unwrap();
    let forwarder = latchkey_core::contract_address(&salt, &class, &[], &Felt::ZERO);
    let mut inner = vec![env.account(), selector("__execute__")];
    let mut calls = Vec::new();
    latchkey_core::serialize_calls(&[env.transfer_strk(1)], &mut calls);
    inner.push(Felt::from(calls.len() as u64));
    inner.extend(calls);
    let session = env.game_session(1).await;
    let before = env.snapshot(session.public_key()).await;
    let hash =
        relayer.send(&[Call::new(forwarder, "forward", inner)], FeeMode::Unchecked).await.unwrap();
    let err = env.client().wait_for_transaction(hash).await.expect_err("caller is a contract");
    // Starknet itself refuses a contract's call to `__execute__` ('Invalid argument'
    // from the syscall); the account's own caller check ('Account: invalid caller') is
    // the second line of defence for nodes that would not.
    let reason = err.reason().unwrap();
    assert!(
        reason.contains("Invalid argument") || reason.contains("Account: invalid caller"),
        "{reason}"
    );
    assert_eq!(env.snapshot(session.public_key()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c26_malformed_signatures_are_refused_without_panicking() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let hash = Felt::from(42u8);
    let lengths = [0usize, 1, 3, 5, 100];
    for len in lengths {
        let signature = vec![Felt::from(7u8); len];
        // is_valid_signature answers 0.
        let mut calldata = vec![hash, Felt::from(len as u64)];
        calldata.extend(signature.clone());
        let answer =
            env.client().call(env.account(), "is_valid_signature", calldata).await.unwrap();
        assert_eq!(answer, vec![Felt::ZERO], "length {len}");
        // An outside execution reverts with the signature error, not an index panic.
        let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
        let err = env.relay_raw(&oe, &signature).await.expect_err("malformed");
        assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "length {len}: {err}");
    }
    // valid_until that does not fit a u64.
    for until in [
        Felt::from(u128::from(u64::MAX) + 1),
        Felt::from_hex_unchecked(
            "0x800000000000000000000000000000000000000000000000000000000000000",
        ),
    ] {
        let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
        let mut sig = sign_outside_execution_as_session(
            &session.key,
            session.valid_until,
            &oe,
            env.devnet.chain_id(),
            env.account(),
        )
        .unwrap();
        sig[3] = until;
        let err = env.relay_raw(&oe, &sig).await.expect_err("bad valid_until");
        assert!(err.reason().unwrap().contains("Session: bad valid_until"), "{err}");
    }
    // The invoke path: validation returns 0 for every malformed length.
    let account =
        KeyAccount::session(env.client(), env.account(), session.key.clone(), session.valid_until);
    let nonce = account.get_nonce().await.unwrap();
    let bounds = account.generous_fee_bounds().await.unwrap();
    for len in lengths {
        let mut signed = account.sign_invoke(&[env.make_move(1)], nonce, bounds).await.unwrap();
        signed.request.broadcasted_invoke_txn_v3.signature = vec![Felt::from(7u8); len];
        let err = account.submit(&signed).await.expect_err("malformed");
        let reason = err.reason().unwrap();
        assert!(
            reason.contains("alidat") && !reason.contains("out of bounds"),
            "length {len}: {reason}"
        );
    }
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c27_outside_execution_nonce_window_and_caller() {
    let env = Env::new().await;
    let session = env.game_session(20).await;
    let sign = |oe: &OutsideExecution| {
        sign_outside_execution_as_session(
            &session.key,
            session.valid_until,
            oe,
            env.devnet.chain_id(),
            env.account(),
        )
        .unwrap()
    };
    // Replay.
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    env.relay_raw(&oe, &sign(&oe)).await.unwrap();
    let err = env.relay_raw(&oe, &sign(&oe)).await.expect_err("replay");
    assert!(err.reason().unwrap().contains("SRC9: duplicated nonce"), "{err}");
    // The window is strict on both ends.
    let t = env.now().await + 100;
    let at_start = new_outside_execution(vec![env.make_move(1)], t, 600);
    let at_start = OutsideExecution { execute_after: t, ..at_start };
    env.devnet.set_time(t).await;
    let err = env.relay_raw(&at_start, &sign(&at_start)).await.expect_err("now == execute_after");
    assert!(err.reason().unwrap().contains("SRC9: now <= execute_after"), "{err}");
    let at_end = OutsideExecution {
        execute_before: t + 10,
        ..new_outside_execution(vec![env.make_move(1)], t, 600)
    };
    env.devnet.set_time(t + 10).await;
    let err = env.relay_raw(&at_end, &sign(&at_end)).await.expect_err("now == execute_before");
    assert!(err.reason().unwrap().contains("SRC9: now >= execute_before"), "{err}");
    // A named caller: only that relayer may submit.
    let mut named = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    named.caller = env.devnet.relayers()[1].address;
    let sig = sign(&named);
    let err = env
        .devnet
        .relay(0, env.account(), &named, &sig, FeeMode::Unchecked)
        .await
        .expect_err("other relayer");
    assert!(err.reason().unwrap().contains("SRC9: invalid caller"), "{err}");
    env.devnet
        .relay(1, env.account(), &named, &sig, FeeMode::Unchecked)
        .await
        .expect("named relayer");
    // Zero is not "any caller".
    named.caller = Felt::ZERO;
    named.nonce += Felt::ONE;
    let sig = sign(&named);
    let err = env.relay_raw(&named, &sig).await.expect_err("caller 0");
    assert!(err.reason().unwrap().contains("SRC9: invalid caller"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c30_allow_all_session_still_cannot_call_the_account() {
    let env = Env::new().await;
    let now = env.now().await;
    let session = env.register(0, now + 3600, 10, vec![]).await;
    assert!(env.session_view(session.public_key()).await.allow_all);
    env.session_exec(Path::Outside, &session, vec![env.make_move(1), env.transfer_strk(1)])
        .await
        .unwrap();
    let revoke_all = account_calls::revoke_all_sessions(env.account());
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &session,
            vec![revoke_all.clone()],
            Rejection::Policy("Session: self call"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c33_src5_reports_every_interface() {
    let env = Env::new().await;
    for id in [
        interface_ids::SRC5,
        interface_ids::SRC6,
        interface_ids::SRC9_V2,
        interface_ids::SESSION_KEY_MANAGER,
        interface_ids::LATCHKEY_SESSIONS,
    ] {
        let answer =
            env.client().call(env.account(), "supports_interface", vec![id]).await.unwrap();
        assert_eq!(answer, vec![Felt::ONE], "{id:#x}");
    }
    let answer = env
        .client()
        .call(env.account(), "supports_interface", vec![Felt::from(0x1234u32)])
        .await
        .unwrap();
    assert_eq!(answer, vec![Felt::ZERO]);
}
