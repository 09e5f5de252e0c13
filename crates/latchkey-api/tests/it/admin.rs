//! The operator's API (issue 17): only the operator token opens it; organisations, their
//! keys and budgets change as asked, each change is in the audit log, and bad input is a
//! clear 4xx that writes nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{send, App, OrgKeys};

/// A current operator token of `app`'s database.
async fn operator(app: &App) -> String {
    latchkey_api::ensure_operator_token(&app.store, None)
        .await
        .unwrap()
        .expect("no operator token yet")
        .expose()
        .to_string()
}

async fn admin(
    app: &App,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .http
        .request(method, format!("{}/api/admin{path}", app.url))
        .header("authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

async fn audit_len(app: &App) -> usize {
    app.store.audit_records(0, None, 1000).await.unwrap().len()
}

/// Every admin route, with a body where it takes one.
fn every_route(org: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/organizations".into(), None),
        (Method::POST, "/organizations".into(), Some(json!({"name": "x"}))),
        (Method::GET, format!("/organizations/{org}"), None),
        (Method::PATCH, format!("/organizations/{org}"), Some(json!({"suspended": true}))),
        (Method::GET, format!("/organizations/{org}/api-keys"), None),
        (Method::POST, format!("/organizations/{org}/api-keys"), Some(json!({}))),
        (Method::POST, format!("/organizations/{org}/api-keys/k/rotate"), Some(json!({}))),
        (Method::DELETE, format!("/organizations/{org}/api-keys/k"), None),
        (Method::GET, format!("/organizations/{org}/gas-budgets"), None),
        (
            Method::PUT,
            format!("/organizations/{org}/gas-budgets"),
            Some(json!({"chain": "x", "amount": "1"})),
        ),
        (
            Method::POST,
            format!("/organizations/{org}/gas-budgets/top-up"),
            Some(json!({"chain": "x", "amount": "1"})),
        ),
        (
            Method::PUT,
            format!("/organizations/{org}/gas-budgets/alert-threshold"),
            Some(json!({"chain": "x", "alertThreshold": "1"})),
        ),
        (Method::GET, format!("/organizations/{org}/allowed-origins"), None),
        (
            Method::PUT,
            format!("/organizations/{org}/allowed-origins"),
            Some(json!({"origins": ["https://app.example"]})),
        ),
        (Method::GET, format!("/organizations/{org}/token-issuer"), None),
        (Method::PUT, format!("/organizations/{org}/token-issuer"), Some(issuer("x"))),
        (Method::DELETE, format!("/organizations/{org}/token-issuer"), None),
        (Method::GET, format!("/organizations/{org}/tokens"), None),
        (Method::PUT, format!("/organizations/{org}/tokens"), Some(json!({"tokens": []}))),
        (Method::GET, format!("/organizations/{org}/sponsorship-policy"), None),
        (Method::PUT, format!("/organizations/{org}/sponsorship-policy"), Some(json!({}))),
        (Method::POST, "/operator-token/rotate".into(), Some(json!({}))),
        (Method::GET, "/audit".into(), None),
    ]
}

/// A token issuer document with `audience`.
fn issuer(audience: &str) -> Value {
    json!({
        "jwksUrl": "https://auth.example.com/.well-known/jwks.json",
        "issuer": "https://auth.example.com",
        "audience": audience,
    })
}

const USDC: &str = "0x53c91253bc9682c04929ca02ed00b3e423f6710d2ee7e0d5ebb06f3ecf368a8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_open_only_to_a_current_operator_token() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let token = operator(&app).await;
    let before = audit_len(&app).await;
    for (method, path, body) in every_route(&app.org.org_id) {
        // No credentials.
        let mut request = app.http.request(method.clone(), format!("{}/api/admin{path}", app.url));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let (status, answer) = send(request).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some("MISSING_BEARER_TOKEN")),
            "{method} {path}"
        );
        // An organisation's keys.
        let mut request = app.req(method.clone(), &format!("/api/admin{path}"));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let (status, answer) = send(request).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("OPERATOR_ONLY")),
            "{method} {path}"
        );
        // Something else, or a token of the right shape that is not one.
        for bad in ["nonsense", "lkop_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            let (status, answer) = admin(&app, bad, method.clone(), &path, body.clone()).await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (401, Some("INVALID_OPERATOR_TOKEN")),
                "{method} {path}"
            );
        }
    }
    // Nothing was changed, so nothing was recorded.
    assert_eq!(audit_len(&app).await, before);
    let org = app.store.organization(&app.org.org_id).await.unwrap().unwrap();
    assert_eq!(org.suspended_at, None);

    // A rotation with no overlap ends the old token at once.
    let (status, rotated) =
        admin(&app, &token, Method::POST, "/operator-token/rotate", Some(json!({}))).await;
    assert_eq!(status, 201, "{rotated}");
    let fresh = rotated["token"].as_str().unwrap().to_string();
    assert!(fresh.starts_with("lkop_") && fresh != token);
    let (status, answer) = admin(&app, &token, Method::GET, "/organizations", None).await;
    assert_eq!((status, answer["code"].as_str()), (401, Some("INVALID_OPERATOR_TOKEN")));
    let (status, _) = admin(&app, &fresh, Method::GET, "/organizations", None).await;
    assert_eq!(status, 200);
    // With an overlap, both work until it ends.
    let (status, rotated) = admin(
        &app,
        &fresh,
        Method::POST,
        "/operator-token/rotate",
        Some(json!({"overlapSeconds": 600})),
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    let third = rotated["token"].as_str().unwrap().to_string();
    for token in [&fresh, &third] {
        assert_eq!(admin(&app, token, Method::GET, "/audit", None).await.0, 200);
    }
    // Too long an overlap is refused.
    let (status, answer) = admin(
        &app,
        &third,
        Method::POST,
        "/operator-token/rotate",
        Some(json!({"overlapSeconds": 99_999_999})),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("INVALID_REQUEST")));
    // The log names the token that acted, never the token itself.
    let (_, page) = admin(&app, &third, Method::GET, "/audit", None).await;
    let text = page.to_string();
    for secret in [&token, &fresh, &third] {
        assert!(!text.contains(secret.as_str()), "{text}");
    }
    let rotations: Vec<_> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "operator_token.rotate")
        .collect();
    assert_eq!(rotations.len(), 2, "{page}");
    assert_eq!(rotations[0]["actor"], format!("operator:{}…", &token[..9]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_runs_a_new_organisation_its_keys_budget_and_suspension() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let token = operator(&app).await;
    let chain = app.chain.clone();

    // An organisation and its keys.
    let (status, org) =
        admin(&app, &token, Method::POST, "/organizations", Some(json!({"name": "Acme Games"})))
            .await;
    assert_eq!(status, 201, "{org}");
    assert_eq!(
        (org["name"].as_str(), org["suspended"].as_bool()),
        (Some("Acme Games"), Some(false))
    );
    let id = org["id"].as_str().unwrap().to_string();
    let (status, keys) = admin(
        &app,
        &token,
        Method::POST,
        &format!("/organizations/{id}/api-keys"),
        Some(json!({"environment": "prod"})),
    )
    .await;
    assert_eq!(status, 201, "{keys}");
    let acme = OrgKeys {
        org_id: id.clone(),
        public: keys["publicKey"].as_str().unwrap().to_string(),
        secret: keys["secretKey"].as_str().unwrap().to_string(),
    };
    assert!(acme.public.starts_with("pk_prod_") && acme.secret.starts_with("sk_prod_"));
    // The new keys work, and reach only the new organisation.
    let (status, wallets) = send(app.req_as(&acme, Method::GET, "/api/wallets")).await;
    assert_eq!(status, 200, "{wallets}");
    assert_eq!(wallets.as_array().map(Vec::len), Some(0), "{wallets}");
    // Listed by prefix, never in full.
    let (_, listed) =
        admin(&app, &token, Method::GET, &format!("/organizations/{id}/api-keys"), None).await;
    let listed_text = listed.to_string();
    assert!(!listed_text.contains(&acme.secret) && !listed_text.contains(&acme.public), "{listed}");
    let secret_id =
        listed["apiKeys"].as_array().unwrap().iter().find(|k| k["kind"] == "secret").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();

    // A budget: set, then topped up.
    let budget_path = format!("/organizations/{id}/gas-budgets");
    let (status, budget) = admin(
        &app,
        &token,
        Method::PUT,
        &budget_path,
        Some(json!({"chain": chain, "amount": "5000000000000000000"})),
    )
    .await;
    assert_eq!((status, budget["budget"].as_str()), (200, Some("5000000000000000000")), "{budget}");
    let (status, budget) = admin(
        &app,
        &token,
        Method::POST,
        &format!("{budget_path}/top-up"),
        Some(json!({"chain": chain, "amount": "1000000000000000000"})),
    )
    .await;
    assert_eq!((status, budget["budget"].as_str()), (200, Some("6000000000000000000")), "{budget}");
    assert_eq!(budget["unit"], "FRI");

    // Rotation with an overlap: both secrets work; then the old one is revoked.
    let (status, rotated) = admin(
        &app,
        &token,
        Method::POST,
        &format!("/organizations/{id}/api-keys/{secret_id}/rotate"),
        Some(json!({"overlapSeconds": 3600})),
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    let new_secret = rotated["key"].as_str().unwrap().to_string();
    assert!(new_secret.starts_with("sk_prod_"));
    assert!(rotated["replaced"]["expiresAt"].as_i64().is_some());
    let with_secret = |secret: &str| OrgKeys {
        org_id: id.clone(),
        public: acme.public.clone(),
        secret: secret.into(),
    };
    for secret in [&acme.secret, &new_secret] {
        assert_eq!(
            send(app.req_as(&with_secret(secret), Method::GET, "/api/wallets")).await.0,
            200
        );
    }
    let (status, revoked) = admin(
        &app,
        &token,
        Method::DELETE,
        &format!("/organizations/{id}/api-keys/{secret_id}"),
        None,
    )
    .await;
    assert_eq!((status, revoked["active"].as_bool()), (200, Some(false)), "{revoked}");
    let (status, refused) = send(app.req_as(&acme, Method::GET, "/api/wallets")).await;
    assert_eq!((status, refused["code"].as_str()), (401, Some("INVALID_API_KEY")));
    assert_eq!(
        send(app.req_as(&with_secret(&new_secret), Method::GET, "/api/wallets")).await.0,
        200
    );

    // Suspended: a clear 403 on every dialect; reinstated: back.
    let acme = with_secret(&new_secret);
    let (status, suspended) = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/organizations/{id}"),
        Some(json!({"suspended": true})),
    )
    .await;
    assert_eq!((status, suspended["suspended"].as_bool()), (200, Some(true)), "{suspended}");
    for path in ["/api/wallets", "/v1/chipi-wallets/by-user?externalUserId=u1"] {
        let (status, refused) = send(app.req_as(&acme, Method::GET, path)).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (403, Some("ORGANIZATION_SUSPENDED")),
            "{path}"
        );
    }
    // Another organisation is not affected.
    assert_eq!(app.call(Method::GET, "/api/wallets", None).await.0, 200);
    let (status, back) = admin(
        &app,
        &token,
        Method::PATCH,
        &format!("/organizations/{id}"),
        Some(json!({"suspended": false, "name": "Acme"})),
    )
    .await;
    assert_eq!(
        (status, back["name"].as_str(), back["suspended"].as_bool()),
        (200, Some("Acme"), Some(false))
    );
    assert_eq!(send(app.req_as(&acme, Method::GET, "/api/wallets")).await.0, 200);

    // Every change is in the log, in order, with its before and after.
    let (_, page) =
        admin(&app, &token, Method::GET, &format!("/audit?target=organization:{id}"), None).await;
    let actions: Vec<_> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        [
            "organization.create",
            "api_key.issue",
            "gas_budget.set",
            "gas_budget.top_up",
            "organization.suspend",
            "organization.reinstate"
        ]
    );
    let reinstated = page["records"].as_array().unwrap().last().unwrap();
    assert_eq!(reinstated["before"]["name"], "Acme Games");
    assert_eq!(reinstated["after"], json!({"name": "Acme", "suspendedAt": null}));
    let (_, all) = admin(&app, &token, Method::GET, "/audit?limit=200", None).await;
    let text = all.to_string();
    assert!(
        !text.contains(&new_secret) && !text.contains(&acme.public),
        "secrets in the audit log: {text}"
    );
    let key_actions: Vec<_> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["target"] == format!("api_key:{secret_id}"))
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(key_actions, ["api_key.rotate", "api_key.revoke"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_gets_keys_in_the_openfort_sdks_format_and_they_open_every_dialect() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let token = operator(&app).await;
    let (_, org) =
        admin(&app, &token, Method::POST, "/organizations", Some(json!({"name": "Mint Co"}))).await;
    let id = org["id"].as_str().unwrap().to_string();
    for (environment, public, secret) in
        [("test", "pk_test_", "sk_test_"), ("live", "pk_live_", "sk_live_")]
    {
        let path = format!("/organizations/{id}/api-keys");
        let (status, keys) =
            admin(&app, &token, Method::POST, &path, Some(json!({ "environment": environment })))
                .await;
        assert_eq!(status, 201, "{keys}");
        let issued = OrgKeys {
            org_id: id.clone(),
            public: keys["publicKey"].as_str().unwrap().to_string(),
            secret: keys["secretKey"].as_str().unwrap().to_string(),
        };
        assert!(issued.public.starts_with(public) && issued.secret.starts_with(secret), "{keys}");
        // The native API and the Chipi dialect take them like any other key.
        let (status, wallets) = send(app.req_as(&issued, Method::GET, "/api/wallets")).await;
        assert_eq!(status, 200, "{wallets}");
        let (status, body) =
            send(app.req_as(&issued, Method::GET, "/v1/transactions/transaction-list")).await;
        assert_eq!(status, 200, "{body}");
        // A rotated key keeps its format.
        let (_, listed) = admin(&app, &token, Method::GET, &path, None).await;
        let key_id = listed["apiKeys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == "secret" && k["prefix"].as_str().unwrap().starts_with(secret))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, rotated) =
            admin(&app, &token, Method::POST, &format!("{path}/{key_id}/rotate"), None).await;
        assert_eq!(status, 201, "{rotated}");
        assert!(rotated["key"].as_str().unwrap().starts_with(secret), "{rotated}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_admin_input_is_a_clear_4xx_and_writes_nothing() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let token = operator(&app).await;
    let org = app.org.org_id.clone();
    let before = audit_len(&app).await;
    let orgs_before = app.store.list_organizations(100, 0).await.unwrap();
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (Method::POST, "/organizations".into(), Some(json!({"name": ""})), 400, "INVALID_REQUEST"),
        (
            Method::POST,
            "/organizations".into(),
            Some(json!({"name": "  "})),
            400,
            "INVALID_REQUEST",
        ),
        (
            Method::POST,
            "/organizations".into(),
            Some(json!({"name": "a".repeat(101)})),
            400,
            "INVALID_REQUEST",
        ),
        (
            Method::POST,
            "/organizations".into(),
            Some(json!({"name": "a\u{7}b"})),
            400,
            "INVALID_REQUEST",
        ),
        (
            Method::POST,
            "/organizations".into(),
            Some(json!({"name": "x", "extra": 1})),
            400,
            "INVALID_REQUEST",
        ),
        (Method::POST, "/organizations".into(), Some(json!([1])), 400, "INVALID_REQUEST"),
        (Method::GET, "/organizations?limit=0".into(), None, 400, "INVALID_QUERY"),
        (Method::GET, "/organizations?limit=abc".into(), None, 400, "INVALID_QUERY"),
        (Method::GET, "/organizations/missing".into(), None, 404, "ORGANIZATION_NOT_FOUND"),
        (
            Method::PATCH,
            "/organizations/missing".into(),
            Some(json!({"name": "x"})),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (Method::PATCH, format!("/organizations/{org}"), Some(json!({})), 400, "INVALID_REQUEST"),
        (
            Method::PATCH,
            format!("/organizations/{org}"),
            Some(json!({"suspended": "yes"})),
            400,
            "INVALID_REQUEST",
        ),
        (
            Method::GET,
            "/organizations/missing/api-keys".into(),
            None,
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::POST,
            "/organizations/missing/api-keys".into(),
            Some(json!({})),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::POST,
            format!("/organizations/{org}/api-keys"),
            Some(json!({"environment": "staging"})),
            400,
            "INVALID_REQUEST",
        ),
        (
            Method::POST,
            format!("/organizations/{org}/api-keys/missing/rotate"),
            Some(json!({})),
            404,
            "API_KEY_NOT_FOUND",
        ),
        (
            Method::DELETE,
            format!("/organizations/{org}/api-keys/missing"),
            None,
            404,
            "API_KEY_NOT_FOUND",
        ),
        (
            Method::PUT,
            format!("/organizations/{org}/gas-budgets"),
            Some(json!({"chain": "eip155:9", "amount": "1"})),
            400,
            "UNKNOWN_CHAIN",
        ),
        (
            Method::PUT,
            format!("/organizations/{org}/gas-budgets"),
            Some(json!({"chain": app.chain, "amount": "-1"})),
            400,
            "INVALID_AMOUNT",
        ),
        (
            Method::PUT,
            format!("/organizations/{org}/gas-budgets"),
            Some(json!({"chain": app.chain, "amount": "1e18"})),
            400,
            "INVALID_AMOUNT",
        ),
        (
            Method::PUT,
            format!("/organizations/{org}/gas-budgets"),
            Some(json!({"chain": app.chain, "amount": "9".repeat(40)})),
            400,
            "INVALID_AMOUNT",
        ),
        (
            Method::POST,
            "/organizations/missing/gas-budgets/top-up".into(),
            Some(json!({"chain": app.chain, "amount": "1"})),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (Method::GET, "/audit?after=-1".into(), None, 400, "INVALID_QUERY"),
        (Method::GET, "/audit?limit=201".into(), None, 400, "INVALID_QUERY"),
    ];
    for (method, path, body, want_status, want_code) in cases {
        let (status, answer) = admin(&app, &token, method.clone(), &path, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (want_status, Some(want_code)),
            "{method} {path}: {answer}"
        );
    }
    // Malformed JSON.
    let (status, answer) = send(
        app.http
            .post(format!("{}/api/admin/organizations", app.url))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body("{\"name\":"),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("INVALID_REQUEST")), "{answer}");
    assert_eq!(audit_len(&app).await, before);
    assert_eq!(app.store.list_organizations(100, 0).await.unwrap(), orgs_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sets_an_organisations_origins_issuer_tokens_and_policy() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let token = operator(&app).await;
    let id = app.org.org_id.clone();
    let path = |setting: &str| format!("/organizations/{id}/{setting}");

    // Allowed origins: normalised as the organisation's own route stores them.
    let (status, origins) = admin(
        &app,
        &token,
        Method::PUT,
        &path("allowed-origins"),
        Some(json!({"origins": ["https://App.Example:443", "http://localhost:3000"]})),
    )
    .await;
    assert_eq!(status, 200, "{origins}");
    let want = json!({"origins": ["http://localhost:3000", "https://app.example"]});
    assert_eq!(origins, want);
    assert_eq!(admin(&app, &token, Method::GET, &path("allowed-origins"), None).await.1, want);
    assert_eq!(app.call(Method::GET, "/api/organization/allowed-origins", None).await.1, want);

    // The end-user token issuer: set, read by the organisation, removed.
    let (status, set) =
        admin(&app, &token, Method::PUT, &path("token-issuer"), Some(issuer("acme"))).await;
    assert_eq!((status, &set), (200, &issuer("acme")));
    assert_eq!(admin(&app, &token, Method::GET, &path("token-issuer"), None).await.1, set);
    assert_eq!(app.call(Method::GET, "/api/organization/token-issuer", None).await.1, set);
    let (status, _) = admin(&app, &token, Method::DELETE, &path("token-issuer"), None).await;
    assert_eq!(status, 204);
    assert_eq!(
        admin(&app, &token, Method::GET, &path("token-issuer"), None).await,
        (200, Value::Null)
    );

    // Registered tokens, then the organisation's balance route knows the symbol.
    let tokens = json!({"tokens": [
        {"chain": app.chain, "symbol": "USDC", "address": USDC, "decimals": 6},
    ]});
    let (status, stored) =
        admin(&app, &token, Method::PUT, &path("tokens"), Some(tokens.clone())).await;
    assert_eq!((status, &stored), (200, &tokens));
    assert_eq!(app.call(Method::GET, "/api/organization/tokens", None).await.1, tokens);

    // The sponsorship policy and its quotas, as the relayer applies them.
    let policy = json!({
        "maxFeePerTxFri": "1000000000000000000",
        "dailyGasPerWalletFri": "5000000000000000000",
        "revertCooldownAfter": 2,
    });
    let (status, stored) =
        admin(&app, &token, Method::PUT, &path("sponsorship-policy"), Some(policy)).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["maxFeePerTxFri"], "1000000000000000000", "{stored}");
    assert_eq!(stored["dailyGasPerWalletFri"], "5000000000000000000", "{stored}");
    assert_eq!(admin(&app, &token, Method::GET, &path("sponsorship-policy"), None).await.1, stored);
    assert_eq!(app.call(Method::GET, "/api/sponsorship/policy", None).await.1, stored);

    // Every change is in the audit log, by the operator, with the setting before and after.
    let (_, page) =
        admin(&app, &token, Method::GET, &format!("/audit?target=organization:{id}"), None).await;
    let records = page["records"].as_array().unwrap();
    let actions: Vec<_> = records.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "allowed_origins.set",
            "token_issuer.set",
            "token_issuer.remove",
            "tokens.set",
            "sponsorship_policy.set"
        ]
    );
    assert!(records.iter().all(|r| r["actor"].as_str().unwrap().starts_with("operator:lkop_")));
    assert_eq!(records[0]["before"], json!({"allowedOrigins": []}));
    assert_eq!(records[0]["after"], json!({"allowedOrigins": want["origins"]}));
    assert_eq!(records[1]["before"], json!({"tokenIssuer": null}));
    assert_eq!(records[1]["after"], json!({"tokenIssuer": issuer("acme")}));
    assert_eq!(records[2]["before"], json!({"tokenIssuer": issuer("acme")}));
    assert_eq!(records[2]["after"], json!({"tokenIssuer": null}));
    assert_eq!(records[3]["after"]["tokens"][0]["symbol"], "USDC");
    assert_eq!(records[4]["before"], json!({"sponsorshipPolicy": null}));
    assert_eq!(records[4]["after"]["sponsorshipPolicy"]["maxFeePerTxFri"], "1000000000000000000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_alert_threshold_is_shown_in_budgets_and_exported_on_metrics() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let token = operator(&app).await;
    let id = app.org.org_id.clone();
    let chain = app.chain.clone();
    let threshold_path = format!("/organizations/{id}/gas-budgets/alert-threshold");
    let series =
        |name: &str| format!("{name}{{organization=\"{id}\",chain=\"{chain}\",unit=\"FRI\"}}");
    let scrape = || async {
        app.http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap()
    };
    let sample = |text: &str, name: &str| -> Option<f64> {
        let series = series(name);
        text.lines()
            .find_map(|line| line.strip_prefix(series.as_str())?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
    };
    // Without a threshold: not alerting, and no series.
    let (_, budgets) =
        admin(&app, &token, Method::GET, &format!("/organizations/{id}/gas-budgets"), None).await;
    assert_eq!(budgets["gasBudgets"][0]["alertThreshold"], Value::Null, "{budgets}");
    assert_eq!(budgets["gasBudgets"][0]["alerting"], false, "{budgets}");
    let text = scrape().await;
    assert_eq!(sample(&text, "latchkey_gas_alert_threshold"), None, "{text}");

    // Above what is left (the budget is 1000 STRK): alerting.
    let (status, budget) = admin(
        &app,
        &token,
        Method::PUT,
        &threshold_path,
        Some(json!({"chain": chain, "alertThreshold": "2000000000000000000000"})),
    )
    .await;
    assert_eq!(status, 200, "{budget}");
    assert_eq!(budget["alertThreshold"], "2000000000000000000000");
    assert_eq!(
        (budget["alerting"].as_bool(), budget["budget"].as_str()),
        (Some(true), Some("1000000000000000000000"))
    );
    let text = scrape().await;
    assert_eq!(sample(&text, "latchkey_gas_alert_threshold"), Some(2e21), "{text}");
    assert_eq!(sample(&text, "latchkey_gas_alerting"), Some(1.0), "{text}");

    // Below it: not alerting, in the listing and on /metrics.
    let (status, budget) = admin(
        &app,
        &token,
        Method::PUT,
        &threshold_path,
        Some(json!({"chain": chain, "alertThreshold": "1000000000000000000"})),
    )
    .await;
    assert_eq!((status, budget["alerting"].as_bool()), (200, Some(false)), "{budget}");
    let (_, budgets) =
        admin(&app, &token, Method::GET, &format!("/organizations/{id}/gas-budgets"), None).await;
    assert_eq!(budgets["gasBudgets"][0]["alertThreshold"], "1000000000000000000", "{budgets}");
    let text = scrape().await;
    assert_eq!(sample(&text, "latchkey_gas_alert_threshold"), Some(1e18), "{text}");
    assert_eq!(sample(&text, "latchkey_gas_alerting"), Some(0.0), "{text}");

    // Removed: its series go too.
    let (status, budget) = admin(
        &app,
        &token,
        Method::PUT,
        &threshold_path,
        Some(json!({"chain": chain, "alertThreshold": null})),
    )
    .await;
    assert_eq!((status, &budget["alertThreshold"]), (200, &Value::Null), "{budget}");
    let text = scrape().await;
    assert_eq!(sample(&text, "latchkey_gas_alert_threshold"), None, "{text}");
    assert_eq!(sample(&text, "latchkey_gas_alerting"), None, "{text}");
    assert!(sample(&text, "latchkey_gas_remaining").is_some(), "{text}");

    let (_, page) =
        admin(&app, &token, Method::GET, &format!("/audit?target=organization:{id}"), None).await;
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{page}");
    assert!(records.iter().all(|r| r["action"] == "gas_budget.alert_threshold"), "{page}");
    assert_eq!(records[1]["before"]["alertThreshold"], "2000000000000000000000");
    assert_eq!(records[1]["after"]["alertThreshold"], "1000000000000000000");
    assert_eq!(records[2]["after"]["alertThreshold"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_input_is_a_clear_4xx_and_writes_nothing() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let token = operator(&app).await;
    let org = app.org.org_id.clone();
    let chain = app.chain.clone();
    // Another organisation holds an issuer and audience.
    let (status, other) =
        admin(&app, &token, Method::POST, "/organizations", Some(json!({"name": "other"}))).await;
    assert_eq!(status, 201, "{other}");
    let other = other["id"].as_str().unwrap().to_string();
    let (status, _) = admin(
        &app,
        &token,
        Method::PUT,
        &format!("/organizations/{other}/token-issuer"),
        Some(issuer("taken")),
    )
    .await;
    assert_eq!(status, 200);

    let before = audit_len(&app).await;
    let stored_org = app.store.organization(&org).await.unwrap();
    let budget = app.store.gas_budget(app.budget_key(&org)).await.unwrap();
    let p = |setting: &str| format!("/organizations/{org}/{setting}");
    let many: Vec<String> = (0..101).map(|i| format!("https://a{i}.example")).collect();
    let token_doc = |chain: &str, symbol: &str| json!({"chain": chain, "symbol": symbol, "address": USDC, "decimals": 6});
    let cases: Vec<(Method, String, Option<Value>, u16, &str)> = vec![
        (
            Method::GET,
            "/organizations/missing/allowed-origins".into(),
            None,
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            "/organizations/missing/allowed-origins".into(),
            Some(json!({"origins": []})),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            p("allowed-origins"),
            Some(json!({"origins": ["not an origin"]})),
            400,
            "INVALID_ORIGIN",
        ),
        (
            Method::PUT,
            p("allowed-origins"),
            Some(json!({"origins": ["https://a.example/path"]})),
            400,
            "INVALID_ORIGIN",
        ),
        (Method::PUT, p("allowed-origins"), Some(json!({"origins": many})), 400, "INVALID_ORIGIN"),
        (Method::PUT, p("allowed-origins"), Some(json!({"origin": []})), 400, "INVALID_REQUEST"),
        (
            Method::GET,
            "/organizations/missing/token-issuer".into(),
            None,
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            "/organizations/missing/token-issuer".into(),
            Some(issuer("a")),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::DELETE,
            "/organizations/missing/token-issuer".into(),
            None,
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            p("token-issuer"),
            Some(
                json!({"jwksUrl": "http://auth.example.com/jwks", "issuer": "x", "audience": "y"}),
            ),
            400,
            "INVALID_TOKEN_ISSUER",
        ),
        (
            Method::PUT,
            p("token-issuer"),
            Some(
                json!({"jwksUrl": "https://auth.example.com/jwks", "issuer": "", "audience": "y"}),
            ),
            400,
            "INVALID_TOKEN_ISSUER",
        ),
        (Method::PUT, p("token-issuer"), Some(json!({"issuer": "x"})), 400, "INVALID_REQUEST"),
        (Method::PUT, p("token-issuer"), Some(issuer("taken")), 409, "TOKEN_ISSUER_IN_USE"),
        (Method::GET, "/organizations/missing/tokens".into(), None, 404, "ORGANIZATION_NOT_FOUND"),
        (
            Method::PUT,
            "/organizations/missing/tokens".into(),
            Some(json!({"tokens": []})),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            p("tokens"),
            Some(json!({"tokens": [token_doc("eip155:9", "USDC")]})),
            400,
            "UNKNOWN_CHAIN",
        ),
        (
            Method::PUT,
            p("tokens"),
            Some(json!({"tokens": [token_doc(&chain, "usdc")]})),
            400,
            "INVALID_REQUEST",
        ),
        (
            Method::PUT,
            p("tokens"),
            Some(json!({"tokens": [token_doc(&chain, "USDC"), token_doc(&chain, "USDC")]})),
            400,
            "INVALID_REQUEST",
        ),
        (
            Method::GET,
            "/organizations/missing/sponsorship-policy".into(),
            None,
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            "/organizations/missing/sponsorship-policy".into(),
            Some(json!({})),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            p("sponsorship-policy"),
            Some(json!({"maxFeePerTxFri": "lots"})),
            400,
            "INVALID_SPONSORSHIP_POLICY",
        ),
        (
            Method::PUT,
            p("sponsorship-policy"),
            Some(json!({"allowedMethods": [{"contract": "0xZZ", "selector": "0x1"}]})),
            400,
            "INVALID_SPONSORSHIP_POLICY",
        ),
        (
            Method::PUT,
            "/organizations/missing/gas-budgets/alert-threshold".into(),
            Some(json!({"chain": chain, "alertThreshold": "1"})),
            404,
            "ORGANIZATION_NOT_FOUND",
        ),
        (
            Method::PUT,
            p("gas-budgets/alert-threshold"),
            Some(json!({"chain": "eip155:9", "alertThreshold": "1"})),
            400,
            "UNKNOWN_CHAIN",
        ),
        (
            Method::PUT,
            p("gas-budgets/alert-threshold"),
            Some(json!({"chain": chain, "alertThreshold": "-1"})),
            400,
            "INVALID_AMOUNT",
        ),
        (
            Method::PUT,
            p("gas-budgets/alert-threshold"),
            Some(json!({"chain": chain, "alertThreshold": "1e18"})),
            400,
            "INVALID_AMOUNT",
        ),
        (
            Method::PUT,
            p("gas-budgets/alert-threshold"),
            Some(json!({"chain": chain, "threshold": "1"})),
            400,
            "INVALID_REQUEST",
        ),
    ];
    for (method, path, body, want_status, want_code) in cases {
        let (status, answer) = admin(&app, &token, method.clone(), &path, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (want_status, Some(want_code)),
            "{method} {path}: {answer}"
        );
    }
    // Nothing was written: no record, no setting, the budget as it was.
    assert_eq!(audit_len(&app).await, before);
    assert_eq!(app.store.organization(&org).await.unwrap(), stored_org);
    assert!(app.store.allowed_origins(&org).await.unwrap().is_empty());
    assert!(app.store.org_tokens(&org).await.unwrap().is_empty());
    assert_eq!(app.store.gas_budget(app.budget_key(&org)).await.unwrap(), budget);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_is_in_the_openapi_document_with_the_operator_scheme() {
    let app = App::start(crate::support::Backend::Sqlite).await.unwrap();
    let (status, doc) = send(app.http.get(format!("{}/api/openapi.json", app.url))).await;
    assert_eq!(status, 200);
    // Each route of `every_route`, with its organisation and key ids as the templates.
    for (method, path, _) in every_route("{id}") {
        let template = format!("/api/admin{}", path.replace("/api-keys/k", "/api-keys/{key_id}"));
        let operation = &doc["paths"][&template][method.as_str().to_lowercase()];
        assert!(operation.is_object(), "{method} {template} is not in the OpenAPI document");
        assert_eq!(operation["security"], json!([{"operator": []}]), "{method} {template}");
    }
}
