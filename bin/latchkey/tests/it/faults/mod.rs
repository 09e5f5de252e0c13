//! Faults F1–F10 of `../shared/design/security.md` §4.3 on both chain families, each
//! checking the invariants N1–N3 (no loss, no duplicate, no stuck nonce) against the
//! chains themselves. The nodes sit behind fault-injecting proxies (see [`rig`]).

pub(crate) mod rig;

use std::time::Duration;

use latchkey_testkit::Fault;

use rig::{Family, Rig};

/// Submits `count` owner-signed moves of `wallet` at once (moves `first`…); the request
/// ids and those answered 2xx.
async fn burst(
    rig: &Rig,
    wallet: &rig::Wallet,
    first: u64,
    count: u64,
) -> (Vec<String>, Vec<String>) {
    burst_signed(rig, wallet, first, count, false).await
}

/// The same, signed by the wallet's session key when `session`.
async fn burst_signed(
    rig: &Rig,
    wallet: &rig::Wallet,
    first: u64,
    count: u64,
    session: bool,
) -> (Vec<String>, Vec<String>) {
    let mut sends = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for mv in first..first + count {
        let (id, body) = if session {
            rig.session_move(wallet, mv).await
        } else {
            rig.owner_move(wallet, mv).await
        };
        let request = rig.execute_request(wallet, &body, None);
        ids.push(id.clone());
        sends.spawn(async move { (id, request.send().await.map(|r| r.status().as_u16())) });
    }
    let mut accepted = Vec::new();
    while let Some(done) = sends.join_next().await {
        match done {
            Ok((id, Ok(status))) if (200..300).contains(&status) => accepted.push(id),
            Ok((id, answer)) => eprintln!("not accepted: {id}: {answer:?}"),
            Err(error) => eprintln!("send task failed: {error}"),
        }
    }
    (ids, accepted)
}

/// F3 on one family: answers dropped after the node ran the transaction, JSON-RPC errors
/// and resets on sends, resets on receipts, latency on estimates.
async fn f3(family: Family) {
    let rig = Rig::start(&format!("f3-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;
    let proxy = rig.proxy(family);
    proxy.inject(Some(family.send_method()), Fault::DropResponse, 2);
    proxy.inject(
        Some(family.send_method()),
        Fault::RpcError { code: -32603, message: "internal error".into() },
        1,
    );
    proxy.inject(Some(family.send_method()), Fault::Reset, 1);
    proxy.inject(Some(family.receipt_method()), Fault::Reset, 2);
    proxy.inject(Some(family.estimate_method()), Fault::Latency(Duration::from_millis(300)), 2);
    let (ids, accepted) = burst(&rig, &wallet, 1, 8).await;
    let succeeded = rig.check_invariants(&wallet, &ids, &accepted).await;
    let injected = proxy.injected();
    assert_eq!(proxy.pending(), 0, "every planned fault was met: {injected:?}");
    assert!(
        succeeded >= accepted.len() as u64,
        "every accepted move ran: {succeeded} of {}",
        accepted.len()
    );
    // A fresh move afterwards goes straight through: nothing jammed.
    let (id, body) = rig.owner_move(&wallet, 99).await;
    let (status, _) = rig.execute(&wallet, &body, None).await;
    assert_eq!(status, 202);
    assert_eq!(rig.settle(&id).await["status"], "succeeded");
    eprintln!(
        "F3 {family:?}: {} accepted, {succeeded} succeeded, faults {injected:?}",
        accepted.len()
    );

    // Session moves under the same faults: the session counts exactly the moves that ran
    // (N5), and the sponsor paid exactly the settled fees (N4).
    let mut wallet = wallet;
    rig.register_session(&mut wallet).await;
    let paid_before = (rig.relayer_strk().await, paid_evm(&rig, family).await);
    let fees_before = rig.settled_fees(family).await;
    let calls_before = rig.session_calls_used(&wallet).await;
    proxy.inject(Some(family.send_method()), Fault::DropResponse, 2);
    proxy.inject(Some(family.receipt_method()), Fault::Reset, 2);
    // (An EVM session's userOps share one nonce sequence: one at a time.)
    let (session_ids, session_accepted) = match family {
        Family::Starknet => burst_signed(&rig, &wallet, 201, 6, true).await,
        Family::Evm => {
            let (mut ids, mut accepted) = (Vec::new(), Vec::new());
            for mv in 201..207 {
                let (one, done) = burst_signed(&rig, &wallet, mv, 1, true).await;
                rig.settle(&one[0]).await;
                ids.extend(one);
                accepted.extend(done);
            }
            (ids, accepted)
        }
    };
    assert_eq!(session_accepted.len(), 6);
    let mut all = ids;
    all.push(id);
    all.extend(session_ids);
    let mut all_accepted = accepted;
    all_accepted.push(all[all.len() - 7].clone());
    all_accepted.extend(session_accepted);
    rig.check_invariants(&wallet, &all, &all_accepted).await;
    assert_eq!(rig.session_calls_used(&wallet).await - calls_before, 6, "N5");
    let fees = rig.settled_fees(family).await - fees_before;
    let paid = match family {
        Family::Starknet => paid_before.0 - rig.relayer_strk().await,
        Family::Evm => paid_before.1 - paid_evm(&rig, family).await,
    };
    assert_eq!(paid, fees, "N4: the sponsor paid exactly the settled fees");
}

/// The paymaster's deposit on EVM (0 on Starknet, whose relayer accounts pay).
async fn paid_evm(rig: &Rig, family: Family) -> u128 {
    match family {
        Family::Starknet => 0,
        Family::Evm => rig.paymaster_deposit().await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f3_starknet_dropped_answers_errors_and_resets_lose_and_repeat_nothing() {
    f3(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f3_evm_dropped_answers_errors_and_resets_lose_and_repeat_nothing() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f3(Family::Evm).await;
}

/// Spawns the sends of `count` owner-signed moves without waiting for them.
async fn spawn_moves(
    rig: &Rig,
    wallet: &rig::Wallet,
    first: u64,
    count: u64,
) -> (Vec<String>, tokio::task::JoinSet<(String, Option<u16>)>) {
    let mut sends = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for mv in first..first + count {
        let (id, body) = rig.owner_move(wallet, mv).await;
        let request = rig.execute_request(wallet, &body, None);
        ids.push(id.clone());
        sends.spawn(async move { (id, request.send().await.ok().map(|r| r.status().as_u16())) });
    }
    (ids, sends)
}

/// The ids whose sends were answered 2xx.
async fn accepted_of(mut sends: tokio::task::JoinSet<(String, Option<u16>)>) -> Vec<String> {
    let mut accepted = Vec::new();
    while let Some(done) = sends.join_next().await {
        if let Ok((id, Some(status))) = done {
            if (200..300).contains(&status) {
                accepted.push(id);
            }
        }
    }
    accepted
}

/// F1 on one family: the server is killed (`SIGKILL`) in the middle of bursts, at a
/// different moment each round, and started again on the same database and nodes.
async fn f1(family: Family) {
    let mut rig = Rig::start(&format!("f1-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;
    let (mut all_ids, mut all_accepted) = (Vec::new(), Vec::new());
    for (round, kill_after_ms) in [30u64, 90, 250].into_iter().enumerate() {
        let (ids, sends) = spawn_moves(&rig, &wallet, round as u64 * 100 + 1, 10).await;
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        rig.restart_server();
        all_ids.extend(ids);
        all_accepted.extend(accepted_of(sends).await);
        rig.check_invariants(&wallet, &all_ids, &all_accepted).await;
    }
    assert!(!all_accepted.is_empty(), "some requests were accepted before a kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f1_starknet_killed_mid_burst_every_accepted_request_ends_exactly_once() {
    f1(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f1_evm_killed_mid_burst_every_accepted_request_ends_exactly_once() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f1(Family::Evm).await;
}

/// F2 on one family: the node's port goes dark for a while during a burst, then the node
/// itself is stopped and started again (from its kept state) during another.
async fn f2(family: Family) {
    let mut rig = Rig::start(&format!("f2-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;

    let (mut ids, sends) = spawn_moves(&rig, &wallet, 1, 6).await;
    rig.proxy(family).set_down(true);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    rig.proxy(family).set_down(false);
    let mut accepted = accepted_of(sends).await;
    rig.check_invariants(&wallet, &ids, &accepted).await;

    let (more, sends) = spawn_moves(&rig, &wallet, 101, 6).await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    match family {
        Family::Starknet => rig.restart_starknet_node(Duration::from_millis(800)).await,
        Family::Evm => rig.restart_evm_node(Duration::from_millis(800)).await,
    }
    ids.extend(more);
    accepted.extend(accepted_of(sends).await);
    rig.check_invariants(&wallet, &ids, &accepted).await;
    let injected = rig.proxy(family).injected();
    assert!(injected.get("down").is_some_and(|n| *n > 0), "the port was dark: {injected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f2_starknet_a_node_gone_and_back_loses_and_repeats_nothing() {
    f2(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f2_evm_a_node_gone_and_back_loses_and_repeats_nothing() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f2(Family::Evm).await;
}

/// F5 on one family: fees rise tenfold between the estimate and the send; the refused
/// sends are priced again at the same nonce, within the budget, and run once.
async fn f5(family: Family) {
    let rig = Rig::start(&format!("f5-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;
    // The sends wait long enough for the spike to land between estimate and send.
    rig.proxy(family).inject(
        Some(family.send_method()),
        Fault::Latency(Duration::from_millis(600)),
        4,
    );
    let (mut ids, sends) = spawn_moves(&rig, &wallet, 1, 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    rig.fee_spike(family).await;
    let mut accepted = accepted_of(sends).await;
    let before = rig.check_invariants(&wallet, &ids, &accepted).await;
    assert_eq!((accepted.len(), before), (4, 4), "priced again, all ran");
    // And after it, moves go through at the new price.
    let (more, more_accepted) = burst(&rig, &wallet, 101, 3).await;
    assert_eq!(more_accepted.len(), 3);
    ids.extend(more);
    accepted.extend(more_accepted);
    assert_eq!(rig.check_invariants(&wallet, &ids, &accepted).await, before + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f5_starknet_a_fee_spike_between_estimate_and_send_is_priced_again() {
    f5(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f5_evm_a_fee_spike_between_estimate_and_send_is_priced_again() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f5(Family::Evm).await;
}

/// F6 on one family: the chain's clock jumps past the payloads' windows while their sends
/// are on the way.
async fn f6(family: Family) {
    let rig = Rig::start(&format!("f6-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;
    rig.proxy(family).inject(
        Some(family.send_method()),
        Fault::Latency(Duration::from_millis(800)),
        4,
    );
    let before = rig.moves_on_chain(&wallet).await;
    let (ids, sends) = spawn_moves(&rig, &wallet, 1, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    match family {
        Family::Starknet => {
            rig.node(family, "devnet_increaseTime", serde_json::json!({"time": 7_200})).await;
        }
        Family::Evm => {
            rig.node(family, "evm_increaseTime", serde_json::json!([7_200])).await;
            rig.node(family, "evm_mine", serde_json::json!([])).await;
        }
    }
    let accepted = accepted_of(sends).await;
    let succeeded = rig.check_invariants(&wallet, &ids, &accepted).await;
    assert_eq!(rig.moves_on_chain(&wallet).await, before + succeeded);
    // Moves prepared after the jump go through.
    let (ids, accepted) = burst(&rig, &wallet, 101, 2).await;
    assert_eq!(
        rig.check_invariants(&wallet, &ids, &accepted).await as usize,
        accepted.len() + succeeded as usize
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f6_starknet_a_clock_jump_with_sends_in_flight_ends_them_cleanly() {
    f6(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f6_evm_a_clock_jump_with_sends_in_flight_ends_them_cleanly() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f6(Family::Evm).await;
}

/// F10 on one family: someone else's transaction uses a relayer account's nonce.
async fn f10(family: Family) {
    let rig = Rig::start(&format!("f10-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;
    let (mut ids, mut accepted) = burst(&rig, &wallet, 1, 4).await;
    rig.check_invariants(&wallet, &ids, &accepted).await;
    // Every relayer account sends a transaction of its own, outside latchkey.
    rig.use_relayers_elsewhere(family).await;
    let (more, more_accepted) = burst(&rig, &wallet, 101, 8).await;
    assert_eq!(more_accepted.len(), 8);
    ids.extend(more);
    accepted.extend(more_accepted);
    assert_eq!(rig.check_invariants(&wallet, &ids, &accepted).await, 4 + 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f10_starknet_a_relayer_nonce_used_elsewhere_is_read_again_without_a_jam() {
    f10(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f10_evm_a_relayer_nonce_used_elsewhere_is_read_again_without_a_jam() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f10(Family::Evm).await;
}

/// F8 on one family: a relayer account is drained. It is passed over from the first
/// refusal of its fee; a payload bound to it (Starknet's outside executions name their
/// caller) fails cleanly with `RELAYER_UNFUNDED` and, prepared again, runs from another.
async fn f8(family: Family) {
    let rig = Rig::start(&format!("f8-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;
    rig.drain_relayer(family, 0).await;
    let (mut ids, mut accepted, mut refused) = (Vec::new(), Vec::new(), 0);
    for mv in 1..=8 {
        for _ in 0..3 {
            let (id, body) = rig.owner_move(&wallet, mv).await;
            let (status, answer) = rig.execute(&wallet, &body, None).await;
            ids.push(id.clone());
            if status == 202 {
                accepted.push(id);
                break;
            }
            assert_eq!(
                (status, answer["code"].as_str()),
                (503, Some("RELAYER_UNFUNDED")),
                "{answer}"
            );
            refused += 1;
        }
    }
    let succeeded = rig.check_invariants(&wallet, &ids, &accepted).await;
    assert_eq!((accepted.len(), succeeded), (8, 8), "the other relayer accounts carry the load");
    assert!(refused <= 2, "{refused} refusals: the drained account was not passed over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f8_starknet_a_drained_relayer_account_is_passed_over() {
    f8(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f8_evm_a_drained_relayer_account_is_passed_over() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f8(Family::Evm).await;
}

/// F4 on one family: one idempotency key sent twenty times at once, and one signed
/// payload under five different keys: one execution.
async fn f4(family: Family) {
    let rig = Rig::start(&format!("f4-{family:?}"), &[]).await;
    let wallet = rig.wallet(family).await;
    let (id, body) = rig.owner_move(&wallet, 1).await;
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = rig.execute_request(&wallet, &body, Some("f4-same-key"));
        sends.spawn(async move { request.send().await.ok().map(|r| r.status().as_u16()) });
    }
    for n in 0..5 {
        let request = rig.execute_request(&wallet, &body, Some(&format!("f4-key-{n}")));
        sends.spawn(async move { request.send().await.ok().map(|r| r.status().as_u16()) });
    }
    let mut answers = Vec::new();
    while let Some(Ok(status)) = sends.join_next().await {
        answers.push(status);
    }
    assert!(answers.iter().all(|s| matches!(s, Some(200..=299 | 409))), "{answers:?}");
    let accepted = if answers.iter().any(|s| matches!(s, Some(200..=299))) {
        vec![id.clone()]
    } else {
        vec![]
    };
    assert_eq!(rig.check_invariants(&wallet, &[id], &accepted).await, 1, "exactly one execution");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f4_starknet_duplicates_execute_once() {
    f4(Family::Starknet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f4_evm_duplicates_execute_once() {
    if !latchkey_node::available_for("run anvil") {
        return;
    }
    f4(Family::Evm).await;
}

/// Sends `count` owner moves of `wallet` (moves `first`…), `concurrency` at a time, each
/// to the next of `instances` in turn; the request ids, those answered 2xx, and the
/// executions per second until all are final.
async fn spread(
    rig: &Rig,
    instances: &[String],
    wallet: &rig::Wallet,
    first: u64,
    count: u64,
) -> (Vec<String>, Vec<String>, f64) {
    let mut prepared = Vec::new();
    for mv in first..first + count {
        prepared.push(rig.owner_move(wallet, mv).await);
    }
    let started = std::time::Instant::now();
    let mut sends = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for (n, (id, body)) in prepared.into_iter().enumerate() {
        let request = rig.execute_request_at(&instances[n % instances.len()], wallet, &body, None);
        ids.push(id.clone());
        sends.spawn(async move {
            let answer = match request.send().await {
                Ok(response) => Some((response.status().as_u16(), response.text().await)),
                Err(_) => None,
            };
            (id, answer)
        });
    }
    let mut accepted = Vec::new();
    while let Some(done) = sends.join_next().await {
        match done {
            Ok((id, Some((status, _)))) if (200..300).contains(&status) => accepted.push(id),
            other => eprintln!("not accepted: {other:?}"),
        }
    }
    for id in &ids {
        let status = rig.settle(id).await;
        if !accepted.contains(id) {
            eprintln!("{id} not accepted ended as {status}");
        }
    }
    (ids, accepted, count as f64 / started.elapsed().as_secs_f64())
}

/// Two instances on one PostgreSQL database and the same relayer accounts, on one
/// family: each leases half the accounts; both take traffic; one is killed mid-burst and
/// the other takes its accounts over once their leases expire, so every accepted request
/// still ends exactly once.
async fn two_instances(family: Family, database: &str) {
    let extra = ["--database-url", database, "--instances", "2", "--relayer-lease-seconds", "4"];
    let mut rig = Rig::start(&format!("scale-{family:?}"), &extra).await;
    let (_data, second) = rig.second_instance(&format!("scale-{family:?}-b"));
    let first_url = rig.api.url.clone();
    let second_url = second.get("API").to_string();
    let wallet = rig.wallet(family).await;

    let (mut ids, mut accepted, one) =
        spread(&rig, std::slice::from_ref(&first_url), &wallet, 1, 24).await;
    let (more, more_accepted, two) =
        spread(&rig, &[first_url.clone(), second_url.clone()], &wallet, 101, 24).await;
    ids.extend(more);
    accepted.extend(more_accepted);
    rig.check_invariants(&wallet, &ids, &accepted).await;
    assert_eq!(accepted.len(), 48, "both instances take traffic");

    // Killed mid-burst: what the first instance accepted, the second finishes.
    let mut sends = tokio::task::JoinSet::new();
    for mv in 201..217u64 {
        let (id, body) = rig.owner_move(&wallet, mv).await;
        let url = if mv % 2 == 0 { &first_url } else { &second_url };
        let request = rig.execute_request_at(url, &wallet, &body, None);
        ids.push(id.clone());
        sends.spawn(async move { (id, request.send().await.ok().map(|r| r.status().as_u16())) });
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    rig.kill_server();
    rig.api = rig.api.at(&second_url);
    accepted.extend(accepted_of(sends).await);
    let succeeded = rig.check_invariants(&wallet, &ids, &accepted).await;
    eprintln!(
        "{family:?}: one instance {one:.1} executions/s, two instances {two:.1}/s; after the kill {succeeded} succeeded in all"
    );
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_share_relayers_and_survive_a_kill() {
    let Some(database) = latchkey_testkit::TestDatabase::postgres().await else { return };
    two_instances(Family::Starknet, database.url()).await;
    if latchkey_node::available_for("run anvil") {
        let Some(database) = latchkey_testkit::TestDatabase::postgres().await else { return };
        two_instances(Family::Evm, database.url()).await;
    }
}
