//! Bad input: each a 4xx with a stable code, and nothing recorded half-way.

use latchkey_core::to_hex;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{fresh_key, App, Backend};

async fn expect(
    app: &App,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
    code: &str,
) {
    let (got, body) = app.call(method, path, body).await;
    assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{path}: {body}");
    assert_eq!(body["status"], status, "error bodies carry the status: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_stable_code_and_records_nothing() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "bad-input").await;
    let w = to_hex(&wallet);
    let game = to_hex(&app.game());

    // Malformed felts, anywhere.
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{w}/prepare"),
        Some(json!({"calls": [{"to": "0xzz", "entrypoint": "x"}]})),
        400,
        "INVALID_FELT",
    )
    .await;
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{w}/prepare"),
        Some(json!({"calls": [{"to": game, "entrypoint": "make_move", "calldata": ["-1"]}]})),
        400,
        "INVALID_FELT",
    )
    .await;
    let p = "0x800000000000011000000000000000000000000000000000000000000000001";
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{w}/prepare"),
        Some(json!({"calls": [{"to": p, "entrypoint": "x"}]})),
        400,
        "INVALID_FELT",
    )
    .await;
    expect(&app, Method::GET, "/api/wallets/not-a-felt", None, 400, "INVALID_FELT").await;
    // Bad query parameters, in both dialects.
    expect(&app, Method::GET, "/api/transactions?limit=abc", None, 400, "INVALID_QUERY").await;
    expect(&app, Method::GET, "/api/wallets?offset=-1", None, 400, "INVALID_QUERY").await;
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{w}/execute?wait=maybe"),
        Some(json!({})),
        400,
        "INVALID_QUERY",
    )
    .await;
    expect(
        &app,
        Method::GET,
        "/v1/transactions/transaction-list?limit=lots",
        None,
        400,
        "INVALID_QUERY",
    )
    .await;
    expect(
        &app,
        Method::POST,
        "/api/wallets",
        Some(json!({"ownerPublicKey": "0x", "encryptedPrivateKey": "x", "proof": {"challenge": "0x1", "signature": ["0x1", "0x2"]}})),
        400,
        "INVALID_FELT",
    )
    .await;
    // Not JSON, unknown fields, missing fields.
    let (status, body) = crate::support::send(
        app.req(Method::POST, &format!("/api/wallets/{w}/prepare"))
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")), "{body}");
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{w}/prepare"),
        Some(json!({"calls": [], "extra": 1})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{w}/prepare"),
        Some(json!({"calls": []})),
        400,
        "INVALID_REQUEST",
    )
    .await;
    // Plaintext keys are refused.
    expect(
        &app,
        Method::POST,
        "/api/wallets",
        Some(json!({"ownerPublicKey": to_hex(&fresh_key().public_key()), "encryptedPrivateKey": owner.secret_hex().as_str(),
            "proof": {"challenge": "0x1", "signature": ["0x1", "0x2"]}})),
        400,
        "INVALID_ENCRYPTED_KEY",
    )
    .await;

    // Oversized bodies and batches.
    let huge = "0".repeat(300 * 1024);
    let (status, body) = crate::support::send(
        app.req(Method::POST, &format!("/api/wallets/{w}/prepare"))
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (413, Some("BODY_TOO_LARGE")), "{body}");
    let calls: Vec<Value> = (0..33)
        .map(|_| json!({"to": game, "entrypoint": "make_move", "calldata": ["1"]}))
        .collect();
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{w}/prepare"),
        Some(json!({"calls": calls})),
        413,
        "BATCH_TOO_LARGE",
    )
    .await;

    // Unknown wallets and routes.
    let stranger = to_hex(&fresh_key().public_key());
    expect(&app, Method::GET, &format!("/api/wallets/{stranger}"), None, 404, "WALLET_NOT_FOUND")
        .await;
    expect(
        &app,
        Method::POST,
        &format!("/api/wallets/{stranger}/prepare"),
        Some(json!({"calls": []})),
        404,
        "WALLET_NOT_FOUND",
    )
    .await;
    expect(&app, Method::GET, "/api/nope", None, 404, "ROUTE_NOT_FOUND").await;

    // Wrong signatures: a stranger's key, a malformed length, and the right key on
    // altered typed data.
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["1"]}]))
        .await;
    let stranger_sig = {
        let hash = latchkey_core::parse_felt(prepared["messageHash"].as_str().unwrap()).unwrap();
        let sig = fresh_key().sign(&hash).unwrap();
        vec![to_hex(&sig.r), to_hex(&sig.s)]
    };
    let execute = format!("/api/wallets/{w}/execute");
    expect(
        &app,
        Method::POST,
        &execute,
        Some(json!({"typedData": prepared["typedData"], "signature": stranger_sig})),
        400,
        "INVALID_SIGNATURE",
    )
    .await;
    expect(
        &app,
        Method::POST,
        &execute,
        Some(json!({"typedData": prepared["typedData"], "signature": ["0x1", "0x2", "0x3"]})),
        400,
        "INVALID_SIGNATURE",
    )
    .await;
    let mut altered = prepared["typedData"].clone();
    altered["message"]["Calls"][0]["Calldata"] = json!(["0x2"]);
    let hash = latchkey_core::TypedData::message_hash(
        &serde_json::from_value(altered.clone()).unwrap(),
        &wallet,
    )
    .unwrap();
    let sig = owner.sign(&hash).unwrap();
    expect(
        &app,
        Method::POST,
        &execute,
        Some(json!({"typedData": altered, "signature": [to_hex(&sig.r), to_hex(&sig.s)]})),
        400,
        "TYPED_DATA_MISMATCH",
    )
    .await;
    // Typed data for another chain.
    let mut other_chain = prepared["typedData"].clone();
    other_chain["domain"]["chainId"] = json!("SN_MAIN");
    expect(
        &app,
        Method::POST,
        &execute,
        Some(json!({"typedData": other_chain, "signature": ["0x1", "0x2"]})),
        400,
        "WRONG_CHAIN",
    )
    .await;

    // An expired session.
    let session = fresh_key();
    let now = app.now().await;
    let (_, prepared_reg) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{w}/sessions"),
            Some(json!({"sessionPublicKey": to_hex(&session.public_key()), "validUntil": now + 120, "maxCalls": 5,
                "allowedMethods": [{"contract": game, "entrypoint": "make_move"}]})),
        )
        .await;
    app.owner_execute(wallet, &owner, prepared_reg).await;
    app.devnet.set_time(now + 300).await;
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["1"]}]))
        .await;
    let sig = app.session_sign(wallet, &session, now + 120, &prepared);
    expect(
        &app,
        Method::POST,
        &execute,
        Some(json!({"typedData": prepared["typedData"], "signature": sig})),
        403,
        "SESSION_EXPIRED",
    )
    .await;

    // Nothing was recorded half-way: every request is either still `prepared` (never
    // accepted) or final.
    let (_, list) = app
        .call(Method::GET, &format!("/api/transactions?walletAddress={w}&limit=200"), None)
        .await;
    for tx in list.as_array().unwrap() {
        let status = tx["status"].as_str().unwrap();
        assert!(
            ["prepared", "succeeded", "expired"].contains(&status),
            "half-recorded request: {tx}"
        );
        if status == "prepared" {
            assert!(tx["transactionHash"].is_null(), "{tx}");
        }
    }
    let player = app.devnet.client().call(app.game(), "get_player", vec![wallet]).await.unwrap();
    assert_eq!(player[0], latchkey_core::Felt::ZERO, "no refused execution ran");
}
