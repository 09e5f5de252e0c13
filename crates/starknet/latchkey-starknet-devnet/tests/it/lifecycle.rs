//! The whole session lifecycle, gasless, on a real chain.

use latchkey_core::{selector, Felt, U256};
use latchkey_starknet::ChainError;
use latchkey_starknet_contracts::account_calls;

use crate::support::{Env, Path, Rejection, Session};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_register_play_transfer_revoke() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let recipient_before = env.client().erc20_balance(env.strk(), env.recipient).await.unwrap();

    // One batch: three moves, a reward claim and a token transfer, in one transaction.
    env.session_exec(
        Path::Outside,
        &session,
        vec![
            env.make_move(1),
            env.make_move(2),
            env.make_move(3),
            latchkey_starknet_contracts::game_calls::claim_reward(env.game()),
            env.transfer_strk(500),
        ],
    )
    .await
    .expect("batched session execution");
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    assert!(data.is_active);
    assert_eq!(data.valid_until, session.valid_until);
    assert_eq!(data.remaining_calls, 9, "one transaction consumes one call, whatever its size");

    // Several transactions: one call each.
    for (i, mv) in [4u64, 5, 6].into_iter().enumerate() {
        env.session_exec(Path::Outside, &session, vec![env.make_move(mv)]).await.expect("move");
        let data =
            env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
        assert_eq!(data.remaining_calls, 8 - i as u32);
    }
    env.session_exec(Path::Outside, &session, vec![env.transfer_strk(250)])
        .await
        .expect("transfer");

    let player = env.client().call(env.game(), "get_player", vec![env.account()]).await.unwrap();
    // PlayerState { moves, last_move, unclaimed_moves, rewards }
    assert_eq!(player, vec![Felt::from(6u8), Felt::from(6u8), Felt::from(3u8), Felt::ONE]);
    let recipient_after = env.client().erc20_balance(env.strk(), env.recipient).await.unwrap();
    assert_eq!(recipient_after.low - recipient_before.low, 750);
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    assert_eq!(data.remaining_calls, 5);
    assert_eq!(
        data.allowed_entrypoints,
        vec![selector("make_move"), selector("claim_reward"), selector("transfer")]
    );

    // Revoke, gasless, signed by the owner.
    env.owner(vec![account_calls::revoke_session_key(env.account(), session.public_key())]).await;
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    assert!(!data.is_active);
    let view = env.session_view(session.public_key()).await;
    assert!(view.revoked);
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![env.make_move(7)],
        Rejection::Policy("Session: revoked"),
    )
    .await;
    env.assert_rejected(
        Path::Invoke,
        &session,
        vec![env.make_move(7)],
        Rejection::Policy("Session: revoked"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_through_the_chipi_entrypoints() {
    let env = Env::new().await;
    let key = crate::support::fresh_key();
    let valid_until = env.now().await + 3600;
    // Exactly the calls @chipi-stack/backend builds: selector-only allowlist.
    env.owner(vec![account_calls::add_or_update_session_key(
        env.account(),
        key.public_key(),
        valid_until,
        1000,
        &[selector("make_move"), selector("transfer")],
    )])
    .await;
    let session = Session { key, valid_until };
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    assert!(data.is_active, "the SDK reads is_active from the first felt");
    assert_eq!(data.remaining_calls, 1000);
    assert_eq!(data.valid_until, valid_until);

    env.session_exec(Path::Outside, &session, vec![env.make_move(9), env.transfer_strk(1)])
        .await
        .unwrap();
    // Selector-only entries match any contract: ETH transfer is allowed too.
    let eth = latchkey_starknet_contracts::erc20_calls::transfer(
        env.eth(),
        env.recipient,
        U256::from_u128(1),
    );
    env.session_exec(Path::Outside, &session, vec![eth]).await.unwrap();
    // claim_reward is not in the list.
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![latchkey_starknet_contracts::game_calls::claim_reward(env.game())],
        Rejection::Policy("Session: method not allowed"),
    )
    .await;
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    assert_eq!(data.remaining_calls, 998);

    // Spending policy through the Chipi entrypoints, read back in the SDK's layout.
    env.owner(vec![account_calls::set_spending_policy(
        env.account(),
        session.public_key(),
        env.strk(),
        U256::from_u128(100),
        U256::from_u128(150),
        86_400,
    )])
    .await;
    let policy = env
        .client()
        .get_spending_policy(env.account(), session.public_key(), env.strk())
        .await
        .unwrap();
    assert_eq!(policy.max_per_call, U256::from_u128(100));
    assert_eq!(policy.max_per_window, U256::from_u128(150));
    assert_eq!(policy.window_seconds, 86_400);
    env.session_exec(Path::Outside, &session, vec![env.transfer_strk(100)]).await.unwrap();
    let policy = env
        .client()
        .get_spending_policy(env.account(), session.public_key(), env.strk())
        .await
        .unwrap();
    assert_eq!(policy.spent_in_window, U256::from_u128(100));
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![env.transfer_strk(60)],
        Rejection::Revert("Spending: window cap"),
    )
    .await;
    env.owner(vec![account_calls::remove_spending_policy(
        env.account(),
        session.public_key(),
        env.strk(),
    )])
    .await;
    env.session_exec(Path::Outside, &session, vec![env.transfer_strk(60)]).await.unwrap();

    env.owner(vec![account_calls::revoke_session_key(env.account(), session.public_key())]).await;
    assert!(
        !env.client()
            .get_session_data(env.account(), session.public_key())
            .await
            .unwrap()
            .is_active
    );
    env.assert_rejected(
        Path::Outside,
        &session,
        vec![env.make_move(1)],
        Rejection::Policy("Session: revoked"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_never_pays_a_fee_on_the_direct_invoke_path() {
    // An allowed call, signed by a live session as an INVOKE from the account: refused at
    // validation, so the account pays nothing and the session keeps its calls.
    let env = Env::new().await;
    let session = env.game_session(5).await;
    env.assert_invoke_refused(&session, vec![env.make_move(1), env.transfer_strk(10)]).await;
    env.assert_invoke_refused(&session, vec![env.make_move(2)]).await;
    let data = env.client().get_session_data(env.account(), session.public_key()).await.unwrap();
    assert_eq!(data.remaining_calls, 5);
    // The same calls through SNIP-9 go through.
    env.session_exec(Path::Outside, &session, vec![env.make_move(1)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayer_estimate_refuses_what_would_revert() {
    // A paymaster estimates first: a refused session execution costs it nothing.
    let env = Env::new().await;
    let session = env.game_session(5).await;
    let relayer = env.devnet.relayers()[0].address;
    let before = env.client().erc20_balance(env.strk(), relayer).await.unwrap();
    let call = latchkey_starknet_contracts::erc20_calls::transfer(
        env.eth(),
        env.recipient,
        U256::from_u128(1),
    );
    let err =
        env.session_exec(Path::Outside, &session, vec![call]).await.expect_err("ETH not allowed");
    assert!(matches!(err, ChainError::Rejected { .. }), "{err:?}");
    assert!(err.reason().unwrap().contains("Session: method not allowed"), "{err}");
    assert_eq!(env.session_view(session.public_key()).await.calls_used, 0);
    assert_eq!(env.client().erc20_balance(env.strk(), relayer).await.unwrap(), before);
}

/// A relayer estimates without running its own `__validate__`: the bounds from that
/// estimate still cover the whole relayed transaction (validation included) with room
/// to spare, and a refused execution is still refused by the estimate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unvalidated_relayer_estimate_covers_the_transaction() {
    let env = Env::new().await;
    let session = env.game_session(10).await;
    let relayer = env.devnet.relayer_account(0).unwrap();
    let nonce = env.client().nonce(env.devnet.relayers()[0].address).await.unwrap();
    let oe = env.devnet.outside_execution(vec![env.make_move(7)]).await.unwrap();
    let signature = latchkey_starknet::sign_outside_execution_as_session(
        &session.key,
        session.valid_until,
        &oe,
        env.devnet.chain_id(),
        env.account(),
    )
    .unwrap();
    let call = latchkey_starknet::outside_execution_call(env.account(), &oe, &signature);
    let calls = [call];

    let (full, full_fee) = relayer.estimate_bounds(&calls, nonce).await.unwrap();
    let (bounds, fee) = relayer.estimate_bounds_unvalidated(&calls, nonce).await.unwrap();
    assert!(bounds.l2_gas < full.l2_gas, "validation costs something: {bounds:?} vs {full:?}");
    assert!(fee < full_fee);

    let signed = relayer.sign_invoke(&calls, nonce, bounds).await.unwrap();
    relayer.submit(&signed).await.unwrap();
    let outcome = env.client().wait_for_transaction(signed.hash).await.unwrap();
    // The skipped validation is a few percent of the transaction: well inside the margin
    // (amounts × 1.5), with at least a fifth of the bound to spare.
    let validation = outcome.l2_gas.saturating_sub(fee_gas(&bounds));
    assert!(validation * 10 < outcome.l2_gas, "validation {validation} of {}", outcome.l2_gas);
    assert!(
        outcome.l2_gas * 5 <= bounds.l2_gas * 4,
        "used {} of a bound of {}",
        outcome.l2_gas,
        bounds.l2_gas
    );
    eprintln!(
        "relayed session move: {} L2 gas used; unvalidated estimate {} (bound {}), validated estimate {}",
        outcome.l2_gas,
        fee_gas(&bounds),
        bounds.l2_gas,
        fee_gas(&full)
    );

    // A spent nonce is refused by the unvalidated estimate too.
    let nonce = env.client().nonce(env.devnet.relayers()[0].address).await.unwrap();
    let refused = relayer.estimate_bounds_unvalidated(&calls, nonce).await.unwrap_err();
    assert!(refused.to_string().contains("SRC9: duplicated nonce"), "{refused}");
}

/// The L2 gas an estimate found, from bounds that are 1.5 times it.
fn fee_gas(bounds: &latchkey_starknet::FeeBounds) -> u64 {
    bounds.l2_gas * 2 / 3
}
