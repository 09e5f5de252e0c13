//! The native dialect end to end, on SQLite and on PostgreSQL.

use latchkey_core::{to_hex, Felt};
use reqwest::Method;
use serde_json::json;

use crate::support::{fresh_key, App};

async fn lifecycle(app: App) {
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "user-1").await;
    app.devnet.mint(wallet, 10u128.pow(18), app.devnet.strk()).await.unwrap();
    let game = to_hex(&app.game());
    let strk = to_hex(&app.devnet.strk());
    let recipient = to_hex(&app.devnet.relayers()[3].address);

    // Register a session: game moves and STRK transfers only, capped.
    let session = fresh_key();
    let now = app.now().await;
    let valid_until = now + 3600;
    let (status, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/sessions", to_hex(&wallet)),
            Some(json!({
                "sessionPublicKey": to_hex(&session.public_key()),
                "validUntil": valid_until,
                "maxCalls": 10,
                "allowedMethods": [
                    {"contract": game, "entrypoint": "make_move"},
                    {"contract": strk, "entrypoint": "transfer"}
                ],
                "spendingCaps": [{"token": strk, "maxPerCall": "1000", "maxPerWindow": "1500", "windowSeconds": 3600}]
            })),
        )
        .await;
    assert_eq!(status, 201, "{prepared}");
    let registered = app.owner_execute(wallet, &owner, prepared).await;
    assert_eq!(registered["status"], "succeeded", "{registered}");

    let session_path =
        format!("/api/wallets/{}/sessions/{}", to_hex(&wallet), to_hex(&session.public_key()));
    let (status, view) = app.call(Method::GET, &session_path, None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"], "active", "{view}");
    assert_eq!(view["remainingCalls"], 10);
    assert_eq!(view["spendingCaps"][0]["maxPerWindow"], "1500");

    // Play and pay gaslessly with the session: a batch, then single calls.
    let calls = json!([
        {"to": game, "entrypoint": "make_move", "calldata": ["1"]},
        {"to": game, "entrypoint": "make_move", "calldata": ["2"]},
        {"to": strk, "entrypoint": "transfer", "calldata": [recipient, "700", "0"]}
    ]);
    let prepared = app.prepare(wallet, calls).await;
    let signature = app.session_sign(wallet, &session, valid_until, &prepared);
    let done = app.execute(wallet, &prepared["typedData"], signature).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["3"]}]))
        .await;
    let signature = app.session_sign(wallet, &session, valid_until, &prepared);
    assert_eq!(app.execute(wallet, &prepared["typedData"], signature).await["status"], "succeeded");
    // With ?wait=true the answer comes once the transaction is final.
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["4"]}]))
        .await;
    let signature = app.session_sign(wallet, &session, valid_until, &prepared);
    let (status, done) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/execute?wait=true", to_hex(&wallet)),
            Some(json!({"typedData": prepared["typedData"], "signature": signature})),
        )
        .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    let (_, view) = app.call(Method::GET, &session_path, None).await;
    assert_eq!(view["remainingCalls"], 7, "{view}");
    assert_eq!(view["spendingCaps"][0]["spentInWindow"], "700");
    let player = app.devnet.client().call(app.game(), "get_player", vec![wallet]).await.unwrap();
    assert_eq!(player[0], Felt::from(4u8));

    // Refused before any gas is spent: over the spending window, then a method outside the allowlist.
    let prepared = app
        .prepare(
            wallet,
            json!([{"to": strk, "entrypoint": "transfer", "calldata": [recipient, "900", "0"]}]),
        )
        .await;
    let signature = app.session_sign(wallet, &session, valid_until, &prepared);
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/execute", to_hex(&wallet)),
            Some(json!({"typedData": prepared["typedData"], "signature": signature})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("SPENDING_LIMIT_EXCEEDED")), "{body}");
    let prepared = app.prepare(wallet, json!([{"to": game, "entrypoint": "claim_reward"}])).await;
    let signature = app.session_sign(wallet, &session, valid_until, &prepared);
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/execute", to_hex(&wallet)),
            Some(json!({"typedData": prepared["typedData"], "signature": signature})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("SESSION_ENTRYPOINT_NOT_ALLOWED")),
        "{body}"
    );

    // Transactions list shows every execution with its state.
    let (status, list) = app
        .call(Method::GET, &format!("/api/transactions?walletAddress={}", to_hex(&wallet)), None)
        .await;
    assert_eq!(status, 200);
    let succeeded = list.as_array().unwrap().iter().filter(|t| t["status"] == "succeeded").count();
    assert_eq!(succeeded, 4, "{list}");

    // Revoke, then the session is refused.
    let (status, prepared) = app.call(Method::POST, &format!("{session_path}/revoke"), None).await;
    assert_eq!(status, 200, "{prepared}");
    assert_eq!(app.owner_execute(wallet, &owner, prepared).await["status"], "succeeded");
    let (_, view) = app.call(Method::GET, &session_path, None).await;
    assert_eq!(view["state"], "revoked", "{view}");
    let prepared = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["5"]}]))
        .await;
    let signature = app.session_sign(wallet, &session, valid_until, &prepared);
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/execute", to_hex(&wallet)),
            Some(json!({"typedData": prepared["typedData"], "signature": signature})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("SESSION_REVOKED")), "{body}");

    // Sponsorship accounting moved.
    let (_, sponsorship) = app.call(Method::GET, "/api/sponsorship", None).await;
    assert_ne!(sponsorship["spentFri"], "0", "{sponsorship}");
    assert_eq!(sponsorship["reservedFri"], "0", "{sponsorship}");
    // The same budget in the list by chain and unit, the only one this organisation has.
    let budgets = sponsorship["budgets"].as_array().expect("budgets");
    assert_eq!(budgets.len(), 1, "{sponsorship}");
    assert_eq!(
        (budgets[0]["chain"].as_str(), budgets[0]["unit"].as_str()),
        (Some(app.chain.as_str()), Some("FRI"))
    );
    assert_eq!(budgets[0]["spent"], sponsorship["spentFri"]);
    assert_eq!(budgets[0]["remaining"], sponsorship["remainingFri"]);
}

crate::both_backends!(native_lifecycle, |app: App| lifecycle(app));

async fn c30_allow_all_must_be_explicit(app: App) {
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "user-2").await;
    let now = app.now().await;
    let path = format!("/api/wallets/{}/sessions", to_hex(&wallet));
    let base = json!({"sessionPublicKey": to_hex(&fresh_key().public_key()), "validUntil": now + 600, "maxCalls": 5});
    let (status, body) = app.call(Method::POST, &path, Some(base.clone())).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("ALLOWLIST_REQUIRED")), "{body}");
    let mut allow_all = base.clone();
    allow_all["allowAll"] = json!(true);
    let (status, body) = app.call(Method::POST, &path, Some(allow_all)).await;
    assert_eq!(status, 201, "{body}");
    let mut too_long = base.clone();
    too_long["validUntil"] = json!(now + 2 * 86_400);
    too_long["allowAll"] = json!(true);
    let (status, body) = app.call(Method::POST, &path, Some(too_long)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("SESSION_TOO_LONG")), "{body}");
    let mut self_call = base;
    self_call["allowedMethods"] = json!([{"contract": to_hex(&wallet), "entrypoint": "upgrade"}]);
    let (status, body) = app.call(Method::POST, &path, Some(self_call)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("SELF_CALL_NOT_ALLOWED")), "{body}");
}

crate::both_backends!(allow_all_is_explicit, |app: App| c30_allow_all_must_be_explicit(app));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_openapi() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let (status, health) = crate::support::send(app.http.get(format!("{}/health", app.url))).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["chainId"], "SN_SEPOLIA");
    let (status, doc) =
        crate::support::send(app.http.get(format!("{}/api/openapi.json", app.url))).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/wallets",
        "/api/wallets/{address}/sessions",
        "/api/wallets/{address}/execute",
        "/api/me/session",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    let metrics =
        app.http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(
            "latchkey_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_are_served_beside_the_api() {
    let dir = std::env::temp_dir().join(format!("latchkey-web-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>dash</title>").unwrap();
    std::fs::write(dir.join("assets/app-1234.js"), "console.log(1)").unwrap();
    let config = latchkey_api::ApiConfig { web_dir: Some(dir.clone()), ..Default::default() };
    let app = App::start_with(crate::support::Backend::Sqlite, config).await.unwrap();
    let get = |path: &str| app.http.get(format!("{}{path}", app.url)).send();

    // The page, and the single-page fallback for its client-side routes.
    for path in ["/", "/game", "/wallets/0x1"] {
        let response = get(path).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("default-src 'self'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
        assert!(response.text().await.unwrap().contains("<title>dash</title>"), "{path}");
    }
    let asset = get("/assets/app-1234.js").await.unwrap();
    assert_eq!(asset.status(), 200);
    assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));

    // API paths never fall through to the page.
    for path in ["/api/nothing", "/v1/nothing", "/api"] {
        let (status, body) = crate::support::send(app.http.get(format!("{}{path}", app.url))).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("ROUTE_NOT_FOUND")), "{path}");
    }
    let (status, body) = crate::support::send(app.http.post(format!("{}/game", app.url))).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ROUTE_NOT_FOUND")));

    // Public deployment facts, without credentials.
    let (status, config) =
        crate::support::send(app.http.get(format!("{}/api/config", app.url))).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["chainId"], "SN_SEPOLIA");
    assert!(config["accountClassHash"].as_str().unwrap().starts_with("0x"));
    let _ = std::fs::remove_dir_all(&dir);

    // Without a built dashboard, `/` says how to build it.
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let page = app.http.get(format!("{}/", app.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("web/build.sh"), "{page}");
}
