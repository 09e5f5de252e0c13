//! One test per applicable row of the contract threat matrix (security.md §1), each
//! asserting the rejection and that nothing changed. Policy rows run on both paths: the
//! outside path refuses with the rule's own message; the invoke path refuses every
//! session transaction at validation (a session never pays a fee, R2-01).

use latchkey_core::{
    is_live_at, selector, short_string, AllowedMethod, Call, Felt, OutsideExecution, SessionPolicy,
    SessionSignature, TypedData, EC_ORDER, U256,
};
use latchkey_starknet::{
    new_outside_execution, sign_outside_execution_as_owner, sign_outside_execution_as_session,
    FeeMode, KeyAccount,
};
use latchkey_starknet_contracts::{account_calls, admin_selectors, erc20_calls, interface_ids};
use latchkey_starknet_devnet::DevnetConfig;
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
    let call = latchkey_starknet::outside_execution_call(env.account(), &nested_oe, &nested_sig);
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
    let forwarder = env.deploy_forwarder(77).await;
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
    // A property over random selectors × every kind of allowlist × both paths: a session
    // call to the account itself is always refused, whether the allowlist is empty
    // (allow-all), names the selector on the account, or names it on any contract.
    let env = Env::new().await;
    let now = env.now().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let selectors: Vec<Felt> =
        (0..8).map(|_| Felt::from(rng.gen::<u128>()) * Felt::from(rng.gen::<u64>())).collect();
    let on_account =
        selectors.iter().map(|s| AllowedMethod { contract: env.account(), selector: *s }).collect();
    let on_any =
        selectors.iter().map(|s| AllowedMethod { contract: Felt::ZERO, selector: *s }).collect();
    let kinds = [
        env.register(0, now + 3600, 100, vec![]).await,
        env.register(0, now + 3600, 100, on_account).await,
        env.register(0, now + 3600, 100, on_any).await,
    ];
    for session in &kinds {
        for sel in &selectors {
            let calldata: Vec<Felt> =
                (0..rng.gen_range(0..4)).map(|_| Felt::from(rng.gen::<u64>())).collect();
            for path in BOTH_PATHS {
                env.assert_rejected(
                    path,
                    session,
                    vec![self_call(&env, *sel, calldata.clone())],
                    Rejection::Policy("Session: self call"),
                )
                .await;
            }
        }
        assert_eq!(env.session_view(session.public_key()).await.calls_used, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c06_privileged_selectors_on_other_contracts_follow_the_allowlist() {
    // Decision: on contracts other than the account, the allowlist is the authority. A
    // method the owner did not list is refused, whatever it is; one the owner listed
    // explicitly is allowed, even if it is administrative on that contract (the owner
    // chose it). The account itself is never reachable (C1, C5).
    let env = Env::new().await;
    let forwarder = env.deploy_forwarder(6).await;
    let now = env.now().await;
    let game_only =
        env.register(0, now + 3600, 10, vec![AllowedMethod::new(env.game(), "make_move")]).await;
    let admin = Call::new(forwarder, "store_call", vec![env.game(), selector("x"), Felt::ZERO]);
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &game_only,
            vec![admin.clone()],
            Rejection::Policy("Session: method not allowed"),
        )
        .await;
    }
    let listed =
        env.register(0, now + 3600, 10, vec![AllowedMethod::new(forwarder, "store_call")]).await;
    env.session_exec(Path::Outside, &listed, vec![admin]).await.expect("explicitly allowed");
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
    env.assert_invoke_refused(&session, vec![eth]).await;
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
                AllowedMethod::new(strk, "transfer_from"),
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
        // (b) The camelCase and snake_case allowance entrypoints count too.
        for entrypoint in ["increaseAllowance", "increase_allowance"] {
            let increase =
                Call::new(strk, entrypoint, vec![attacker, Felt::from(101u8), Felt::ZERO]);
            env.assert_rejected(
                path,
                &session,
                vec![increase],
                Rejection::Revert("Spending: per-call cap"),
            )
            .await;
        }
        // (c) transferFrom / transfer_from as the session.
        for entrypoint in ["transferFrom", "transfer_from"] {
            let from = Call::new(
                strk,
                entrypoint,
                vec![attacker, env.account(), Felt::from(500u32), Felt::ZERO],
            );
            env.assert_rejected(
                path,
                &session,
                vec![from],
                Rejection::Revert("Spending: per-call cap"),
            )
            .await;
        }
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
    env.session_exec(Path::Outside, &session, vec![env.transfer_strk(50)]).await.unwrap();
    env.assert_rejected(
        Path::Outside,
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
    // as the validate-phase clock (rounded down to the hour) sees it. The invoke path,
    // where an expired session once validated and then reverted at the account's cost,
    // refuses at validation: no fee, no call, repeatable by nobody.
    let valid_until = next_hour(now, 600) + 100;
    let session = env.game_session_until(valid_until).await;
    env.devnet.set_time(valid_until + 1800).await;
    for _ in 0..3 {
        env.assert_invoke_refused(&session, vec![env.make_move(1)]).await;
    }
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
            if path == Path::Invoke {
                env.assert_invoke_refused(&session, vec![env.make_move(1)]).await;
            } else if live {
                env.session_exec_with(path, &session, vec![env.make_move(1)], FeeMode::Unchecked)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("{path:?} at {t}: core says live, chain refused: {e}")
                    });
            } else {
                let msg =
                    if t < valid_after { "Session: not yet valid" } else { "Session: expired" };
                env.devnet.set_time(t).await;
                env.assert_rejected(path, &session, vec![env.make_move(1)], Rejection::Policy(msg))
                    .await;
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
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![env.make_move(1)],
        Rejection::Policy("Session: not yet valid"),
    )
    .await;
    env.devnet.set_time(start).await;
    env.session_exec(Path::Outside, &session, vec![env.make_move(1)]).await.unwrap();
    env.assert_invoke_refused(&session, vec![env.make_move(2)]).await;
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
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 1);
    // (c) A session invoke, which once consumed a call in validation and then reverted,
    // is refused at validation: no call consumed (assert_invoke_refused compares).
    env.assert_invoke_refused(&session, batch).await;
    env.assert_invoke_refused(&session, vec![env.make_move(0)]).await;
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
async fn r2_01_session_tip_cannot_drain_fee_token() {
    // C23/R2-01: a session allowed only make_move signs INVOKEs from the account with
    // fees of its own choosing, a large tip among them. Every one is refused at
    // validation: the account's STRK, nonce and call counter stay where they were, and
    // the STRK spending cap saw nothing.
    let env = Env::new().await;
    let now = env.now().await;
    let session =
        env.register(0, now + 3600, 10, vec![AllowedMethod::new(env.game(), "make_move")]).await;
    let one_strk = U256::from_u128(10u128.pow(18));
    env.owner(vec![account_calls::set_spending_policy(
        env.account(),
        session.public_key(),
        env.strk(),
        one_strk,
        one_strk,
        3600,
    )])
    .await;
    let account =
        KeyAccount::session(env.client(), env.account(), session.key.clone(), session.valid_until);
    let nonce = account.get_nonce().await.unwrap();
    let bounds = account.generous_fee_bounds().await.unwrap();
    let before = env.snapshot(session.public_key()).await;
    // The largest tip the account's balance could pay (10^13 FRI per L2 gas at most),
    // so that the node reaches validation instead of refusing for the balance.
    let balance = before.account_strk.low;
    let base = u128::from(bounds.l1_gas) * bounds.l1_gas_price
        + u128::from(bounds.l2_gas) * bounds.l2_gas_price
        + u128::from(bounds.l1_data_gas) * bounds.l1_data_gas_price;
    let affordable = (balance / 2).saturating_sub(base) / u128::from(bounds.l2_gas.max(1));
    let drain_tip = u64::try_from(affordable.min(10u128.pow(13))).unwrap();
    assert!(drain_tip > 1_000_000, "the account can afford a large tip ({drain_tip})");
    for (tip, l2_price) in
        [(0, bounds.l2_gas_price), (drain_tip, bounds.l2_gas_price), (0, bounds.l2_gas_price * 10)]
    {
        let chosen = latchkey_starknet::FeeBounds { tip, l2_gas_price: l2_price, ..bounds };
        let signed = account.sign_invoke(&[env.make_move(1)], nonce, chosen).await.unwrap();
        let err = account.submit(&signed).await.expect_err("a session never pays a fee");
        assert!(err.reason().unwrap().contains("alidat"), "tip {tip}: {err}");
    }
    assert_eq!(env.snapshot(session.public_key()).await, before);
    let cap =
        env.client().get_spending_policy(env.account(), session.public_key(), env.strk()).await;
    assert_eq!(cap.unwrap().spent_in_window, U256::ZERO);
    // The owner's own INVOKE, same fields, still validates.
    let owner = KeyAccount::owner(env.client(), env.account(), env.user.owner.clone());
    let signed = owner.sign_invoke(&[env.make_move(1)], nonce, bounds).await.unwrap();
    env.client().wait_for_transaction(owner.submit(&signed).await.unwrap()).await.unwrap();
}

/// `calls` serialised as the calldata of `__execute__` / `__validate__`.
fn calls_calldata(calls: &[Call]) -> Vec<Felt> {
    let mut out = Vec::new();
    latchkey_core::serialize_calls(calls, &mut out);
    out
}

/// `forwarder.forward(to, selector, calldata)`.
fn forward(forwarder: Felt, to: Felt, entrypoint: &str, calldata: Vec<Felt>) -> Call {
    let mut inner = vec![to, selector(entrypoint), Felt::from(calldata.len() as u64)];
    inner.extend(calldata);
    Call::new(forwarder, "forward", inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c24_execute_cannot_be_called_by_another_contract() {
    let env = Env::new().await;
    let relayer = env.devnet.relayer_account(1).unwrap();
    let forwarder = env.deploy_forwarder(24).await;
    let transfer = calls_calldata(&[env.transfer_strk(1)]);
    let session = env.game_session(1).await;
    let before = env.snapshot(session.public_key()).await;
    let call = forward(forwarder, env.account(), "__execute__", transfer.clone());
    let hash = relayer.send(&[call], FeeMode::Unchecked).await.unwrap();
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
async fn r2_20_meta_tx_v0_into_execute_is_refused() {
    // C24/R2-20: since Starknet 0.14 any contract can run an account's `__execute__` as a
    // version-0 meta transaction (caller 0, a signature it chooses, no `__validate__`).
    // The account refuses version 0, whatever the signature looks like.
    let env = Env::new().await;
    let relayer = env.devnet.relayer_account(1).unwrap();
    let forwarder = env.deploy_forwarder(20).await;
    let session = env.game_session(5).await;
    let transfer = calls_calldata(&[env.transfer_strk(1_000)]);
    let before = env.snapshot(session.public_key()).await;
    let signatures = [
        vec![],
        vec![Felt::ONE, Felt::TWO],
        vec![session.public_key(), Felt::ONE, Felt::TWO, Felt::from(session.valid_until)],
    ];
    for signature in signatures {
        let mut calldata = vec![env.account(), selector("__execute__")];
        calldata.push(Felt::from(transfer.len() as u64));
        calldata.extend(transfer.iter().copied());
        calldata.push(Felt::from(signature.len() as u64));
        calldata.extend(signature.iter().copied());
        let call = Call::new(forwarder, "forward_meta_tx_v0", calldata);
        let hash = relayer.send(&[call], FeeMode::Unchecked).await.unwrap();
        let err = env.client().wait_for_transaction(hash).await.expect_err("version 0");
        let reason = err.reason().unwrap();
        assert!(reason.contains("Account: invalid tx version"), "{signature:?}: {reason}");
    }
    assert_eq!(env.snapshot(session.public_key()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c25_validate_refuses_foreign_caller() {
    // R2-10: `__validate__` (and the declare and deploy validators) answer the protocol
    // only. A contract calling them, from any transaction, is refused, so a callee with
    // hooks can never run validation again to use up a session's calls.
    let env = Env::new().await;
    let relayer = env.devnet.relayer_account(1).unwrap();
    let forwarder = env.deploy_forwarder(25).await;
    let moves = calls_calldata(&[env.make_move(1)]);
    let now = env.now().await;
    let session = env
        .register(
            0,
            now + 3600,
            10,
            vec![
                AllowedMethod::new(forwarder, "forward"),
                AllowedMethod::new(env.game(), "make_move"),
            ],
        )
        .await;
    let probes = [
        forward(forwarder, env.account(), "__validate__", moves.clone()),
        forward(forwarder, env.account(), "__validate_declare__", vec![Felt::ONE]),
        forward(
            forwarder,
            env.account(),
            "__validate_deploy__",
            vec![Felt::ONE, Felt::TWO, env.user.owner.public_key()],
        ),
    ];
    for probe in &probes {
        // From a relayer's own transaction.
        let before = env.snapshot(session.public_key()).await;
        let hash = relayer.send(std::slice::from_ref(probe), FeeMode::Unchecked).await.unwrap();
        let err = env.client().wait_for_transaction(hash).await.expect_err("foreign caller");
        assert!(err.reason().unwrap().contains("Account: invalid caller"), "{err}");
        assert_eq!(env.snapshot(session.public_key()).await, before);
        // From inside a session's own execution, through an allowlisted forwarder.
        env.assert_rejected(
            Path::Outside,
            &session,
            vec![probe.clone()],
            Rejection::Revert("Account: invalid caller"),
        )
        .await;
    }
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 0);
    // The forwarder itself works for an ordinary call.
    let call = forward(forwarder, env.game(), "make_move", vec![Felt::from(3u8)]);
    env.session_exec(Path::Outside, &session, vec![call]).await.unwrap();
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 1);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_19_a_revoked_key_cannot_be_registered_again() {
    // Session signatures do not name the registration they were made for. So a key whose
    // registration was revoked — one by one, by revoke-all or by an owner rotation — can
    // never be registered again: an execution signed before the revocation stays dead.
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
    env.owner(vec![account_calls::revoke_session_key(env.account(), session.public_key())]).await;
    let now = env.now().await;
    let again = SessionPolicy {
        session_key: session.public_key(),
        valid_after: 0,
        valid_until: now + 7200,
        max_calls: 100,
        allowed_methods: vec![AllowedMethod::new(env.game(), "make_move")],
    };
    let chipi_again = account_calls::add_or_update_session_key(
        env.account(),
        session.public_key(),
        now + 7200,
        100,
        &[selector("make_move")],
    );
    for call in [account_calls::register_session(env.account(), &again), chipi_again.clone()] {
        let err = env.devnet.owner_execute(&env.user, vec![call]).await.expect_err("revoked key");
        assert!(err.reason().unwrap().contains("Session: key was revoked"), "{err}");
    }
    let before = env.snapshot(session.public_key()).await;
    let err = env.relay_raw(&oe, &sig).await.expect_err("still revoked");
    assert!(err.reason().unwrap().contains("Session: revoked"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);

    // The same after revoke-all: the watermark covers the key for good.
    let other = env.game_session(10).await;
    env.owner(vec![account_calls::revoke_all_sessions(env.account())]).await;
    let renew = account_calls::add_or_update_session_key(
        env.account(),
        other.public_key(),
        now + 7200,
        100,
        &[selector("make_move")],
    );
    let err = env.devnet.owner_execute(&env.user, vec![renew]).await.expect_err("revoked key");
    assert!(err.reason().unwrap().contains("Session: key was revoked"), "{err}");
    // A live key may still be updated by its owner, and a fresh key registered.
    let live = env.game_session(10).await;
    env.owner(vec![account_calls::add_or_update_session_key(
        env.account(),
        live.public_key(),
        now + 7200,
        50,
        &[selector("make_move")],
    )])
    .await;
    assert_eq!(env.session_view(live.public_key()).await.max_calls, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c31_an_estimate_with_a_dummy_session_signature_fails() {
    // The account has no estimate shortcut: a fee estimate of an outside execution runs
    // the same signature and policy checks as the execution, so a dummy signature fails
    // the estimate exactly as it would fail on chain.
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let before = env.snapshot(session.public_key()).await;
    let oe = env.devnet.outside_execution(vec![env.make_move(1)]).await.unwrap();
    let dummy = [session.public_key(), Felt::ONE, Felt::TWO, Felt::from(session.valid_until)];
    let err = env
        .devnet
        .relay(0, env.account(), &oe, &dummy, FeeMode::Estimate)
        .await
        .expect_err("the estimate checks the signature");
    assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "{err}");
    let err = env.relay_raw(&oe, &dummy).await.expect_err("and so does the execution");
    assert!(err.reason().unwrap().contains("SRC9: invalid signature"), "{err}");
    assert_eq!(env.snapshot(session.public_key()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c32_upgrade_is_the_owners_alone_and_immediate() {
    // Decision: `upgrade` takes effect at once, for the owner key only (there is no
    // guardian a delay would give time to act). Sessions can never reach it: it is a call
    // to the account itself (C1), refused on both paths whatever the allowlist says.
    let env = Env::new().await;
    let now = env.now().await;
    let class = env.devnet.classes().account;
    let upgrade = Call { to: env.account(), selector: selector("upgrade"), calldata: vec![class] };
    let session =
        env.register(0, now + 3600, 10, vec![AllowedMethod::any_contract("upgrade")]).await;
    for path in BOTH_PATHS {
        env.assert_rejected(
            path,
            &session,
            vec![upgrade.clone()],
            Rejection::Policy("Session: self call"),
        )
        .await;
    }
    env.owner(vec![upgrade]).await;
    assert_eq!(env.client().class_hash_at(env.account()).await.unwrap(), Some(class));
    env.session_exec(Path::Outside, &env.game_session(5).await, vec![env.make_move(1)])
        .await
        .expect("the account still works after an upgrade");
}
