//! What apps in a browser, on their own origin, need: CORS allowed per organisation, the
//! read-only chain endpoint, and token balances by symbol.

use latchkey_api::ApiConfig;
use latchkey_core::to_hex;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{create_org, fresh_key, send, App, Backend};

const APP: &str = "https://app.example";

fn preflight(app: &App, path: &str, origin: &str) -> reqwest::RequestBuilder {
    app.http
        .request(Method::OPTIONS, format!("{}{}", app.url, path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type, x-api-key")
}

async fn headers_of(request: reqwest::RequestBuilder) -> (u16, HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn allowed_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get("access-control-allow-origin").and_then(|v| v.to_str().ok())
}

async fn allow(app: &App, origins: Value) -> (u16, Value) {
    app.call(Method::PUT, "/api/organization/allowed-origins", Some(json!({ "origins": origins })))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisations_origins_open_its_keys_and_no_others() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let other = create_org(&app.store, &app.chain, 10u128.pow(20)).await;

    // None by default: the preflight of an app on its own origin is refused.
    let (status, headers, body) = headers_of(preflight(&app, "/api/wallets", APP)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "ORIGIN_NOT_ALLOWED");
    assert_eq!(allowed_origin(&headers), None);

    // Listed (normalised as browsers send it), the preflight passes, cached, every SDK
    // header named, never credentials.
    let (status, body) =
        allow(&app, json!(["https://APP.example:443/", "http://localhost:3000"])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["origins"], json!(["http://localhost:3000", APP]));
    let (status, headers, _) = headers_of(preflight(&app, "/api/wallets", APP)).await;
    assert_eq!(status, 204);
    assert_eq!(allowed_origin(&headers), Some(APP));
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for header in ["authorization", "content-type", "x-api-key", "idempotency-key"] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }
    assert_eq!(headers["access-control-max-age"], "600");
    assert!(headers.get("access-control-allow-credentials").is_none());
    assert!(headers.get_all("vary").iter().any(|v| v == "origin"));

    // The call itself, with the organisation's keys.
    let (status, headers, body) =
        headers_of(app.req(Method::GET, "/api/wallets").header("origin", APP)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(allowed_origin(&headers), Some(APP));
    assert!(headers.get("access-control-allow-credentials").is_none());

    // Another organisation's keys from that origin: refused before anything runs.
    let (status, _, body) =
        headers_of(app.req_as(&other, Method::GET, "/api/wallets").header("origin", APP)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "ORIGIN_NOT_ALLOWED");

    // An origin no organisation lists: refused, preflight and call alike.
    for request in [
        preflight(&app, "/v1/chipi-wallets", "https://evil.example"),
        app.req(Method::GET, "/api/wallets").header("origin", "https://evil.example"),
        app.req(Method::GET, "/api/wallets").header("origin", "null"),
    ] {
        let (status, headers, body) = headers_of(request).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "ORIGIN_NOT_ALLOWED");
        assert_eq!(allowed_origin(&headers), None);
    }

    // Servers (no Origin) and the dashboard (its own origin) are served as always.
    let (status, _) = app.call(Method::GET, "/api/wallets", None).await;
    assert_eq!(status, 200);
    let own = app.url.clone();
    let (status, _, _) =
        headers_of(app.req(Method::GET, "/api/wallets").header("origin", own)).await;
    assert_eq!(status, 200);

    // A malformed origin is refused whole; the list stays as it was.
    for bad in [json!(["*"]), json!(["https://app.example/path"]), json!(["null"]), json!("x")] {
        let (status, body) = allow(&app, bad).await;
        assert_eq!(status, 400, "{body}");
    }
    let (status, body) = allow(&app, json!(["ftp://files.example"])).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_ORIGIN")), "{body}");
    let (_, body) = app.call(Method::GET, "/api/organization/allowed-origins", None).await;
    assert_eq!(body["origins"], json!(["http://localhost:3000", APP]));

    // Emptied, the origin is closed again.
    let (status, _) = allow(&app, json!([])).await;
    assert_eq!(status, 200);
    let (status, _, _) = headers_of(preflight(&app, "/api/wallets", APP)).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_cors_opens_loopback_origins_only() {
    let config = ApiConfig { dev_cors: true, ..ApiConfig::default() };
    let app = App::start_with(Backend::Sqlite, config).await.unwrap();
    let local = "http://localhost:3000";
    let (status, headers, _) = headers_of(preflight(&app, "/v1/chipi-wallets", local)).await;
    assert_eq!((status, allowed_origin(&headers)), (204, Some(local)));
    let (status, headers, body) =
        headers_of(app.req(Method::GET, "/api/wallets").header("origin", local)).await;
    assert_eq!((status, allowed_origin(&headers)), (200, Some(local)), "{body}");
    let (status, _, _) = headers_of(preflight(&app, "/api/wallets", APP)).await;
    assert_eq!(status, 403, "other origins still need an organisation's list");
}

async fn rpc(app: &App, family: &str, body: &str) -> (u16, Value) {
    send(
        app.http
            .post(format!("{}/rpc/{family}", app.url))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_read_endpoint_forwards_reads_and_refuses_writes() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let (status, body) =
        rpc(&app, "starknet", r#"{"jsonrpc":"2.0","id":7,"method":"starknet_chainId"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], 7);
    assert!(body["result"].as_str().unwrap().starts_with("0x"), "{body}");

    // A contract read, as a page reads a session's state: a token balance (low, high).
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "starknet_call", "params": {
        "request": {"contract_address": to_hex(&latchkey_starknet::STRK_ADDRESS),
            "entry_point_selector": to_hex(&latchkey_core::selector("balance_of")),
            "calldata": [to_hex(&app.game())]},
        "block_id": "latest"}});
    let (status, body) = rpc(&app, "starknet", &call.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"].as_array().map(Vec::len), Some(2), "{body}");

    // Writes, simulations and node controls: a JSON-RPC refusal, nothing forwarded.
    for method in [
        "starknet_addInvokeTransaction",
        "starknet_estimateFee",
        "devnet_mint",
        "devnet_abortBlocks",
    ] {
        let request = json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": {}});
        let (status, body) = rpc(&app, "starknet", &request.to_string()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["error"]["code"], -32601, "{method}: {body}");
        assert_eq!(body["error"]["data"]["code"], "RPC_METHOD_NOT_ALLOWED");
        assert_eq!(body["id"], 2);
    }

    // A batch: each call answered in order, the write refused alone.
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"starknet_blockNumber"},
                    {"jsonrpc":"2.0","id":2,"method":"starknet_addInvokeTransaction","params":{}}]"#;
    let (status, body) = rpc(&app, "starknet", batch).await;
    assert_eq!(status, 200, "{body}");
    assert!(body[0]["result"].is_u64(), "{body}");
    assert_eq!(body[1]["error"]["data"]["code"], "RPC_METHOD_NOT_ALLOWED");

    // Not JSON-RPC: 400 with a JSON-RPC error.
    for (text, code) in [("{", -32700), ("[]", -32600), (r#"{"id":1}"#, -32600), ("42", -32600)] {
        let (status, body) = rpc(&app, "starknet", text).await;
        assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(code)), "{text}: {body}");
    }
    let too_many = format!(
        "[{}]",
        vec![r#"{"jsonrpc":"2.0","id":1,"method":"starknet_chainId"}"#; 21].join(",")
    );
    assert_eq!(rpc(&app, "starknet", &too_many).await.0, 400);

    // A family this server does not serve, or no family at all.
    for family in ["evm", "bitcoin"] {
        let (status, body) =
            rpc(&app, family, r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("UNKNOWN_CHAIN")), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_balances_are_read_from_the_chain_in_whole_units() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "balance-user").await;
    let strk = latchkey_starknet::STRK_ADDRESS;
    app.devnet.mint(wallet, 2_500_000_000_000_000_000, strk).await.unwrap();
    let on_chain = app.devnet.client().erc20_balance(strk, wallet).await.unwrap();
    let balance = |query: String| {
        let request = app.req(Method::GET, &format!("/v1/chipi-wallets/token-balance?{query}"));
        send(request)
    };

    let (status, body) =
        balance(format!("chain=STARKNET&chainToken=STRK&walletPublicKey={}", to_hex(&wallet)))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chain"], "STARKNET");
    assert_eq!(body["chainToken"], "STRK");
    assert_eq!(body["chainTokenAddress"], to_hex(&strk));
    assert_eq!(body["decimals"], 18);
    let expected = on_chain.to_string();
    let shown = body["balance"].as_str().unwrap();
    let (whole, fraction) = shown.split_once('.').unwrap_or((shown, ""));
    assert_eq!(format!("{whole}{fraction:0<18}").trim_start_matches('0'), expected, "{body}");

    // A token the organisation registers, found by the user's id.
    let usdc = json!({"tokens": [{"chain": app.chain, "symbol": "USDC",
        "address": to_hex(&strk), "decimals": 6}]});
    let (status, body) = app.call(Method::PUT, "/api/organization/tokens", Some(usdc)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        balance("chain=STARKNET&chainToken=USDC&externalUserId=balance-user".into()).await;
    assert_eq!((status, body["decimals"].as_u64()), (200, Some(6)), "{body}");

    // Refusals: an unknown token, another chain, no wallet named, another's wallet.
    let (status, body) =
        balance(format!("chain=STARKNET&chainToken=DAI&walletPublicKey={}", to_hex(&wallet))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("TOKEN_NOT_SUPPORTED")), "{body}");
    let (status, body) =
        balance(format!("chain=BASE&chainToken=USDC&walletPublicKey={}", to_hex(&wallet))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("UNKNOWN_CHAIN")), "{body}");
    let (status, _) = balance("chain=STARKNET&chainToken=STRK".into()).await;
    assert_eq!(status, 400);
    let other = create_org(&app.store, &app.chain, 10u128.pow(20)).await;
    let request = app.req_as(
        &other,
        Method::GET,
        &format!(
            "/v1/chipi-wallets/token-balance?chain=STARKNET&chainToken=STRK&walletPublicKey={}",
            to_hex(&wallet)
        ),
    );
    let (status, body) = send(request).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("WALLET_NOT_FOUND")), "{body}");

    // Registered tokens are checked whole.
    for bad in [
        json!({"tokens": [{"chain": "eip155:1", "symbol": "USDC", "address": "0x1", "decimals": 6}]}),
        json!({"tokens": [{"chain": app.chain, "symbol": "usdc", "address": "0x1", "decimals": 6}]}),
        json!({"tokens": [{"chain": app.chain, "symbol": "USDC", "address": "0x1", "decimals": 37}]}),
        json!({"tokens": [{"chain": app.chain, "symbol": "USDC", "address": "nope", "decimals": 6}]}),
    ] {
        let (status, body) = app.call(Method::PUT, "/api/organization/tokens", Some(bad)).await;
        assert_eq!(status, 400, "{body}");
    }
    let (_, body) = app.call(Method::GET, "/api/organization/tokens", None).await;
    assert_eq!(body["tokens"][0]["symbol"], "USDC", "unchanged: {body}");
}
