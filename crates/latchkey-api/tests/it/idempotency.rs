//! Idempotency (I1–I4) and the (account, nonce) dedup behind it (C22).

use latchkey_core::{parse_felt, to_hex, Felt, EC_ORDER};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{fresh_key, send, App, Backend};

async fn moves(app: &App, wallet: Felt) -> Felt {
    app.devnet.client().call(app.game(), "get_player", vec![wallet]).await.unwrap()[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i1_i2_concurrent_requests_with_one_key_execute_once() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "idem").await;
    let game = to_hex(&app.game());
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["7"]}]))
        .await;
    let hash = parse_felt(prepared["messageHash"].as_str().unwrap()).unwrap();
    let sig = owner.sign(&hash).unwrap();
    let body =
        json!({"typedData": prepared["typedData"], "signature": [to_hex(&sig.r), to_hex(&sig.s)]});
    let path = format!("/api/wallets/{}/execute", to_hex(&wallet));

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let request = app.req(Method::POST, &path).header("idempotency-key", "pay-7").json(&body);
        tasks.push(tokio::spawn(async move { send(request).await }));
    }
    let mut accepted = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            202 => accepted.push(body),
            409 => assert_eq!(body["code"], "IDEMPOTENCY_IN_FLIGHT", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(!accepted.is_empty());
    assert!(
        accepted.windows(2).all(|w| w[0]["requestId"] == w[1]["requestId"]),
        "one request: {accepted:?}"
    );
    app.wait_final(accepted[0]["requestId"].as_str().unwrap()).await;
    assert_eq!(moves(&app, wallet).await, Felt::ONE, "executed exactly once");

    // A later repeat replays the stored answer.
    let response = app
        .req(Method::POST, &path)
        .header("idempotency-key", "pay-7")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(
        response.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let replay: Value = response.json().await.unwrap();
    assert_eq!(replay["requestId"], accepted[0]["requestId"]);

    // I2: the same key with another body.
    let mut other = body.clone();
    other["signature"] = json!(["0x1", "0x2"]);
    let (status, answer) =
        send(app.req(Method::POST, &path).header("idempotency-key", "pay-7").json(&other)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("IDEMPOTENCY_KEY_REUSED")),
        "{answer}"
    );
    // An invalid first attempt stores nothing: the key can be used again once fixed.
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["8"]}]))
        .await;
    let wrong = json!({"typedData": prepared["typedData"], "signature": ["0x1", "0x2"]});
    let (status, answer) =
        send(app.req(Method::POST, &path).header("idempotency-key", "fresh").json(&wrong)).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("INVALID_SIGNATURE")), "{answer}");
    let hash = parse_felt(prepared["messageHash"].as_str().unwrap()).unwrap();
    let sig = owner.sign(&hash).unwrap();
    let fixed =
        json!({"typedData": prepared["typedData"], "signature": [to_hex(&sig.r), to_hex(&sig.s)]});
    let (status, answer) =
        send(app.req(Method::POST, &path).header("idempotency-key", "fresh").json(&fixed)).await;
    assert_eq!(status, 202, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i4_c22_same_outside_execution_under_new_keys_or_flipped_signature_runs_once() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "dedup").await;
    let game = to_hex(&app.game());
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["3"]}]))
        .await;
    let hash = parse_felt(prepared["messageHash"].as_str().unwrap()).unwrap();
    let sig = owner.sign(&hash).unwrap();
    let path = format!("/api/wallets/{}/execute", to_hex(&wallet));
    let body =
        json!({"typedData": prepared["typedData"], "signature": [to_hex(&sig.r), to_hex(&sig.s)]});
    let (status, first) =
        send(app.req(Method::POST, &path).header("idempotency-key", "a").json(&body)).await;
    assert_eq!(status, 202, "{first}");
    let (status, second) =
        send(app.req(Method::POST, &path).header("idempotency-key", "b").json(&body)).await;
    assert_eq!((status, second["code"].as_str()), (409, Some("DUPLICATE_EXECUTION")), "{second}");
    // (r, n - s) also verifies; it must not buy a second execution.
    let flipped = json!({"typedData": prepared["typedData"], "signature": [to_hex(&sig.r), to_hex(&(EC_ORDER - sig.s))]});
    let (status, third) =
        send(app.req(Method::POST, &path).header("idempotency-key", "c").json(&flipped)).await;
    assert_eq!((status, third["code"].as_str()), (409, Some("DUPLICATE_EXECUTION")), "{third}");
    app.wait_final(first["requestId"].as_str().unwrap()).await;
    assert_eq!(moves(&app, wallet).await, Felt::ONE);
}
