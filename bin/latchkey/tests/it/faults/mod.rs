//! Faults F1–F10 of `../shared/design/security.md` §4.3 on both chain families, each
//! checking the invariants N1–N3 (no loss, no duplicate, no stuck nonce) against the
//! chains themselves. The nodes sit behind fault-injecting proxies (see [`rig`]).

mod rig;

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
    let mut sends = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for mv in first..first + count {
        let (id, body) = rig.owner_move(wallet, mv).await;
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
