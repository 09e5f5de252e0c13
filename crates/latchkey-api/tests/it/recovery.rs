//! A server that stopped between "recorded" and "submitted": whatever state it left, the
//! request reaches a final state exactly once after the restart.

use latchkey_core::{parse_felt, to_hex, Felt};
use latchkey_store::{RequestStatus, RequestUpdate};
use serde_json::json;

use crate::support::{fresh_key, App, Backend};

async fn moves(app: &App, wallet: Felt) -> Felt {
    app.devnet.client().call(app.game(), "get_player", vec![wallet]).await.unwrap()[0]
}

/// Prepares and owner-signs one move; returns the request id and the signature JSON the
/// crashed process had recorded.
async fn signed_move(
    app: &App,
    wallet: Felt,
    owner: &latchkey_core::SigningKey,
    mv: u32,
) -> (String, String) {
    let prepared = app
        .prepare(wallet, json!([{"to": to_hex(&app.game()), "entrypoint": "make_move", "calldata": [mv.to_string()]}]))
        .await;
    let hash = parse_felt(prepared["messageHash"].as_str().unwrap()).unwrap();
    let sig = owner.sign(&hash).unwrap();
    let signature = serde_json::to_string(&[to_hex(&sig.r), to_hex(&sig.s)]).unwrap();
    (prepared["requestId"].as_str().unwrap().to_string(), signature)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_but_never_submitted_is_submitted_once_after_restart() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "crash-1").await;
    let (id, signature) = signed_move(&app, wallet, &owner, 1).await;
    // What the stopped process left: the durable record, the budget reservation, nothing
    // on chain.
    let reserved = 10u128.pow(17);
    assert!(app.store.reserve_gas(app.budget_key(&app.org.org_id), reserved).await.unwrap());
    let applied = app
        .store
        .update_request(
            &id,
            &[RequestStatus::Prepared],
            &RequestUpdate {
                status: Some(RequestStatus::Recorded),
                kind: Some("owner".into()),
                signature_json: Some(signature),
                fee: Some(reserved.to_string()),
                ..RequestUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(applied);
    // The running relayer is the restarted process: its reconciliation picks it up.
    let done = app.wait_final(&id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(moves(&app, wallet).await, Felt::ONE, "executed exactly once");
    let budget = app.store.gas_budget(app.budget_key(&app.org.org_id)).await.unwrap();
    assert_eq!(budget.reserved, 0, "the reservation was settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_and_recorded_but_not_broadcast_is_broadcast_once_after_restart() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "crash-2").await;
    let (id, signature) = signed_move(&app, wallet, &owner, 2).await;
    let request = app.store.request(&id).await.unwrap().unwrap();
    let typed: latchkey_core::TypedData = serde_json::from_str(&request.typed_data_json).unwrap();
    let (oe, _) = latchkey_core::OutsideExecution::from_typed_data(&typed).unwrap();
    let felts: Vec<Felt> = serde_json::from_str::<Vec<String>>(&signature)
        .unwrap()
        .iter()
        .map(|s| parse_felt(s).unwrap())
        .collect();
    // The stopped process had signed the relayer transaction (from the relayer account the
    // execution is bound to) and recorded its hash, then died before broadcasting it. What
    // it left is written in one step: the running relayer, the restarted process, must
    // never see a half-written crash state (it would act on a `recorded` request).
    let index = app.devnet.relayers().iter().position(|r| r.address == oe.caller).unwrap();
    let relayer = app.devnet.relayer_account(index).unwrap();
    let nonce = app.devnet.client().nonce(app.devnet.relayers()[index].address).await.unwrap();
    let bounds = relayer.generous_fee_bounds().await.unwrap();
    let call = latchkey_starknet::outside_execution_call(wallet, &oe, &felts);
    let signed = relayer.sign_invoke(&[call], nonce, bounds).await.unwrap();
    let update = RequestUpdate {
        status: Some(RequestStatus::Submitting),
        kind: Some("owner".into()),
        signature_json: Some(signature),
        tx_hash: Some(to_hex(&signed.hash)),
        relayer_address: Some(to_hex(&app.devnet.relayers()[index].address)),
        relayer_nonce: Some(to_hex(&nonce)),
        signed_tx_json: Some(serde_json::to_string(&signed).unwrap()),
        fee: Some("0".into()),
        ..RequestUpdate::default()
    };
    assert!(app.store.update_request(&id, &[RequestStatus::Prepared], &update).await.unwrap());
    let done = app.wait_final(&id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(moves(&app, wallet).await, Felt::ONE, "executed exactly once");
    // Whether the very transaction was re-broadcast or re-signed with a fresh relayer
    // nonce, the outside execution's nonce is spent once.
    assert!(!app.devnet.client().is_valid_outside_execution_nonce(wallet, oe.nonce).await.unwrap());
}
