//! Finality and reorgs on the embedded Starknet chain (N6): with a finality depth of two
//! blocks, a revocation is `accepted` once in a block and mirrored only when final; when
//! its block is aborted (`devnet_abortBlocks`), it is not reported revoked until it is
//! included again, and the identical signed transaction is what includes it again.

use std::time::Duration;

use latchkey_api::ApiConfig;
use latchkey_core::{parse_felt, to_hex, Felt};
use latchkey_relayer::{Relayer, RelayerConfig};
use latchkey_starknet_devnet::DevnetConfig;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{fresh_key, App, Backend};

const DEPTH: u64 = 2;

/// Mines an empty block every few milliseconds until dropped (a live chain's blocks).
struct Blocks(tokio::task::JoinHandle<()>);

impl Blocks {
    fn start(rpc: String) -> Self {
        Self(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "devnet_createBlock"});
            loop {
                let _ = http.post(&rpc).json(&body).send().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }))
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn status(app: &App, id: &str) -> Value {
    let (code, body) = app.call(Method::GET, &format!("/api/transactions/{id}"), None).await;
    assert_eq!(code, 200, "{body}");
    body
}

/// Runs the relayer's passes until request `id` has `wanted` status (mining a block
/// before each pass when `mine`).
async fn drive(app: &App, relayer: &Relayer, id: &str, wanted: &str, mine: bool) -> Value {
    for _ in 0..300 {
        if mine {
            app.devnet.request("devnet_createBlock", json!({})).await.unwrap();
        }
        relayer.reconcile().await;
        let body = status(app, id).await;
        if body["status"] == wanted {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("request {id} never became {wanted}: {}", status(app, id).await);
}

/// Signs `prepared` as `owner` and submits it; the request id.
async fn submit(
    app: &App,
    wallet: Felt,
    owner: &latchkey_core::SigningKey,
    prepared: Value,
) -> String {
    let typed: latchkey_core::TypedData =
        serde_json::from_value(prepared["typedData"].clone()).unwrap();
    let sig = owner.sign(&typed.message_hash(&wallet).unwrap()).unwrap();
    let body =
        json!({"typedData": prepared["typedData"], "signature": [to_hex(&sig.r), to_hex(&sig.s)]});
    let (code, submitted) = app
        .call(Method::POST, &format!("/api/wallets/{}/execute", to_hex(&wallet)), Some(body))
        .await;
    assert_eq!(code, 202, "{submitted}");
    submitted["requestId"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n6_starknet_a_revocation_whose_block_is_aborted_is_not_revoked_until_included_again() {
    // The relayer's own passes are far apart: the test runs each pass itself.
    let relayer = RelayerConfig {
        poll_interval: Duration::from_secs(3600),
        finality_depth: DEPTH,
        ..RelayerConfig::default()
    };
    let devnet = DevnetConfig { reorgs: true, ..DevnetConfig::default() };
    let (app, relayer) =
        App::start_on(Backend::Sqlite, ApiConfig::default(), devnet, relayer).await.unwrap();

    // A wallet (its deployment waits for finality: blocks keep coming meanwhile) and a
    // session registered, final.
    let owner = fresh_key();
    let wallet = {
        let _blocks = Blocks::start(app.devnet.url().to_string());
        app.create_wallet(&owner, "reorg").await
    };
    let session = fresh_key();
    let key = to_hex(&session.public_key());
    let valid_until = app.now().await + 3600;
    let game = to_hex(&app.game());
    let (code, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/sessions", to_hex(&wallet)),
            Some(json!({"sessionPublicKey": key, "validUntil": valid_until, "maxCalls": 5,
                "allowedMethods": [{"contract": game, "entrypoint": "make_move"}]})),
        )
        .await;
    assert_eq!(code, 201, "{prepared}");
    let registration = submit(&app, wallet, &owner, prepared).await;
    drive(&app, &relayer, &registration, "succeeded", true).await;
    let session_path = format!("/api/wallets/{}/sessions/{key}", to_hex(&wallet));
    let mirrored = || async {
        let wallet = app
            .store
            .wallet_by_address(&app.org.org_id, &app.chain, &to_hex(&wallet))
            .await
            .unwrap()
            .unwrap();
        app.store.session(&wallet.id, &key).await.unwrap().unwrap().state
    };
    assert_eq!(mirrored().await, latchkey_store::SessionState::Active);

    // The revocation lands in a block: accepted, not final, not mirrored.
    let (code, prepared) = app.call(Method::POST, &format!("{session_path}/revoke"), None).await;
    assert_eq!(code, 200, "{prepared}");
    let revocation = submit(&app, wallet, &owner, prepared).await;
    let accepted = drive(&app, &relayer, &revocation, "accepted", false).await;
    let hash = accepted["transactionHash"].as_str().unwrap().to_string();
    let block = app.devnet.client().receipt(parse_felt(&hash).unwrap()).await.unwrap().unwrap();
    let block = match block {
        latchkey_starknet::Receipt::Succeeded(outcome) => outcome.block_number,
        other => panic!("the revocation reverted: {other:?}"),
    };
    assert_eq!(mirrored().await, latchkey_store::SessionState::Active, "not final: not mirrored");
    let (_, view) = app.call(Method::GET, &session_path, None).await;
    assert_eq!(view["state"], "revoked", "the chain has it: {view}");

    // A reorg takes its block away: the session is active again, on the chain and in
    // every answer, until the revocation is included again.
    let aborted = app
        .devnet
        .request("devnet_abortBlocks", json!({"starting_block_id": {"block_number": block}}))
        .await
        .unwrap();
    assert_eq!(aborted["aborted"].as_array().map(Vec::len), Some(1), "{aborted}");
    assert!(app.devnet.client().receipt(parse_felt(&hash).unwrap()).await.unwrap().is_none());
    let (_, view) = app.call(Method::GET, &session_path, None).await;
    assert_eq!(view["state"], "active", "revoked while the revocation is off the chain: {view}");
    assert_eq!(status(&app, &revocation).await["status"], "accepted", "no pass has run yet");

    // One pass: the monitor finds it gone and sends the identical transaction again.
    relayer.reconcile().await;
    let again = drive(&app, &relayer, &revocation, "accepted", false).await;
    assert_eq!(again["transactionHash"], hash.as_str(), "the same signed transaction");
    assert!(app.devnet.client().receipt(parse_felt(&hash).unwrap()).await.unwrap().is_some());
    let (_, view) = app.call(Method::GET, &session_path, None).await;
    assert_eq!(view["state"], "revoked", "{view}");
    assert_eq!(mirrored().await, latchkey_store::SessionState::Active, "still not final");

    // Two blocks later it is final: settled and mirrored.
    let done = drive(&app, &relayer, &revocation, "succeeded", true).await;
    assert!(done["fee"].as_str().is_some_and(|fee| fee != "0"), "{done}");
    assert_eq!(mirrored().await, latchkey_store::SessionState::Revoked);
}
