//! Authentication and tenant isolation (J8): a foreign organisation reaches nothing, on
//! every route that names a wallet, a session or a transaction.

use latchkey_core::to_hex;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{create_org, fresh_key, send, App, Backend};

/// Every route that names one of the organisation's resources, with a body.
pub(crate) fn resource_routes(
    wallet: &str,
    session: &str,
    request_id: &str,
    tx_hash: &str,
    external_user: &str,
) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/api/wallets/{wallet}"), None),
        (
            Method::POST,
            format!("/api/wallets/{wallet}/prepare"),
            Some(json!({"calls": [{"to": "0x1", "entrypoint": "x"}]})),
        ),
        (
            Method::POST,
            format!("/api/wallets/{wallet}/execute"),
            Some(
                json!({"typedData": {"types": {}, "primaryType": "x", "domain": {}, "message": {}}, "signature": ["0x1", "0x2"]}),
            ),
        ),
        (
            Method::POST,
            format!("/api/wallets/{wallet}/sessions"),
            Some(
                json!({"sessionPublicKey": "0x1", "validUntil": 9_999_999_999u64, "maxCalls": 1, "allowAll": true}),
            ),
        ),
        (Method::GET, format!("/api/wallets/{wallet}/sessions"), None),
        (Method::GET, format!("/api/wallets/{wallet}/encrypted-key"), None),
        (Method::GET, format!("/api/wallets/{wallet}/encrypted-key?backup=true"), None),
        (
            Method::PUT,
            format!("/api/wallets/{wallet}/encrypted-key"),
            Some(
                json!({"encryptedPrivateKey": "U2FsdGVkX18BAgMEBQYHCKGUsHUkL0wRBA6EiGSL1TU=", "proof": {"challenge": "0x1", "signature": ["0x1", "0x2"]}}),
            ),
        ),
        (Method::GET, format!("/api/wallets/{wallet}/key-history"), None),
        (
            Method::POST,
            format!("/api/wallets/{wallet}/key-history/x/restore"),
            Some(json!({"proof": {"challenge": "0x1", "signature": ["0x1", "0x2"]}})),
        ),
        (Method::GET, format!("/api/wallets/{wallet}/sessions/{session}"), None),
        (Method::POST, format!("/api/wallets/{wallet}/sessions/{session}/revoke"), None),
        (Method::POST, format!("/api/wallets/{wallet}/sessions/revoke-all"), None),
        (Method::GET, format!("/api/transactions/{request_id}"), None),
        (Method::GET, format!("/api/transactions?walletAddress={wallet}"), None),
        (Method::GET, format!("/v1/chipi-wallets/by-user?externalUserId={external_user}"), None),
        (
            Method::POST,
            "/v1/transactions/prepare-typed-data".into(),
            Some(
                json!({"publicKey": wallet, "calls": [{"contractAddress": "0x1", "entrypoint": "x"}]}),
            ),
        ),
        (
            Method::POST,
            "/v1/transactions/execute-sponsored-transaction".into(),
            Some(
                json!({"publicKey": wallet, "typedData": {"types": {}, "primaryType": "x", "domain": {}, "message": {}}, "userSignature": {"r": "1", "s": "2"}}),
            ),
        ),
        (Method::GET, format!("/v1/transactions/{tx_hash}/status"), None),
        (Method::GET, format!("/v1/transactions/transaction-list?walletAddress={wallet}"), None),
        (
            Method::PATCH,
            "/v1/chipi-wallets/update-encryption-details".into(),
            Some(
                json!({"externalUserId": external_user, "newEncryptedPrivateKey": "U2FsdGVkX18BAgMEBQYHCKGUsHUkL0wRBA6EiGSL1TU="}),
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j8_another_organisation_reaches_nothing() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let w = to_hex(&wallet);
    // A session and a finished transaction of the organisation.
    let session = fresh_key();
    let now = app.now().await;
    let (_, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{w}/sessions"),
            Some(json!({"sessionPublicKey": to_hex(&session.public_key()), "validUntil": now + 600, "maxCalls": 3,
                "allowedMethods": [{"contract": to_hex(&app.game()), "entrypoint": "make_move"}]})),
        )
        .await;
    let done = app.owner_execute(wallet, &owner, prepared).await;
    let request_id = done["id"].as_str().unwrap().to_string();
    let tx_hash = done["transactionHash"].as_str().unwrap().to_string();

    let other = create_org(&app.store, &app.chain, 10u128.pow(20)).await;
    for (method, path, body) in
        resource_routes(&w, &to_hex(&session.public_key()), &request_id, &tx_hash, "alice")
    {
        let mut request = app.req_as(&other, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, answer) = send(request).await;
        assert_eq!(status, 404, "{method} {path} leaked to another organisation: {answer}");
    }
    let (status, list) = send(app.req_as(&other, Method::GET, "/api/wallets")).await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]), "another organisation lists no wallet");
    // And the owning organisation still sees everything.
    let (status, _) = app.call(Method::GET, &format!("/api/transactions/{request_id}"), None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked_with_stable_codes() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let url = format!("{}/api/wallets", app.url);
    let cases: Vec<(Option<&str>, Option<String>, &str)> = vec![
        (None, Some(format!("Bearer {}", app.org.secret)), "MISSING_API_KEY"),
        (Some("pk_test_abc"), Some(format!("Bearer {}", app.org.secret)), "INVALID_API_KEY"),
        (
            Some("pk_dev_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            Some(format!("Bearer {}", app.org.secret)),
            "INVALID_API_KEY",
        ),
        (Some(&app.org.public), None, "MISSING_BEARER_TOKEN"),
        (
            Some(&app.org.public),
            Some("Bearer sk_dev_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into()),
            "INVALID_API_KEY",
        ),
        // A user token on a server with no JWKS configured.
        (Some(&app.org.public), Some("Bearer eyJhbGciOiJub25lIn0.e30.".into()), "INVALID_TOKEN"),
    ];
    for (public, bearer, code) in cases {
        let mut request = app.http.get(&url);
        if let Some(public) = public {
            request = request.header("x-api-key", public);
        }
        if let Some(bearer) = bearer {
            request = request.header("authorization", bearer);
        }
        let (status, body) = send(request).await;
        assert_eq!((status, body["code"].as_str()), (401, Some(code)), "{body}");
        assert!(!body.to_string().contains(&app.org.secret), "a secret was echoed");
    }
    // A secret key of another organisation does not pair with this public key.
    let other = create_org(&app.store, &app.chain, 1).await;
    let (status, body) = send(
        app.http
            .get(&url)
            .header("x-api-key", &app.org.public)
            .header("authorization", format!("Bearer {}", other.secret)),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("INVALID_API_KEY")), "{body}");
}
