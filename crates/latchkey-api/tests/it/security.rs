//! One test per finding of the December 2026 security review that the API and relayer
//! close (R2-02 … R2-19), each asserting the refusal and that nothing changed: budgets,
//! stored blobs, records, chain state.

use latchkey_api::{ApiConfig, Rate, RateLimits};
use latchkey_core::{
    parse_felt, payload_hash, selector, to_hex, AllowedMethod, Felt, OutsideExecution,
    ProofPurpose, SessionPolicy, SigningKey, TypedData,
};
use latchkey_starknet_contracts::account_calls;
use latchkey_testkit::AUDIENCE;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{create_org, fresh_key, sealed, send, App, Backend, OrgKeys};
use crate::users::{as_user, user_proof};

/// The organisation's gas accounting on the chain, in FRI: (reserved, spent).
async fn budget(app: &App, org: &OrgKeys) -> (u128, u128) {
    let budget = app.store.gas_budget(app.budget_key(&org.org_id)).await.unwrap();
    (budget.reserved, budget.spent)
}

fn owner_signature(owner: &SigningKey, wallet: Felt, prepared: &Value) -> Vec<String> {
    let typed: TypedData = serde_json::from_value(prepared["typedData"].clone()).unwrap();
    let sig = owner.sign(&typed.message_hash(&wallet).unwrap()).unwrap();
    vec![to_hex(&sig.r), to_hex(&sig.s)]
}

fn execute_body(prepared: &Value, signature: Vec<String>) -> Value {
    json!({ "typedData": prepared["typedData"], "signature": signature })
}

fn make_move(app: &App, mv: u64) -> Value {
    json!([{ "to": to_hex(&app.game()), "entrypoint": "make_move", "calldata": [mv.to_string()] }])
}

async fn register_game_session(app: &App, wallet: Felt, owner: &SigningKey) -> SigningKey {
    let session = fresh_key();
    let now = app.now().await;
    let (status, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/sessions", to_hex(&wallet)),
            Some(json!({"sessionPublicKey": to_hex(&session.public_key()), "validUntil": now + 3600,
                "maxCalls": 10, "allowedMethods": [{"contract": to_hex(&app.game()), "entrypoint": "make_move"}]})),
        )
        .await;
    assert_eq!(status, 201, "{prepared}");
    assert_eq!(app.owner_execute(wallet, owner, prepared).await["status"], "succeeded");
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_03_an_execution_prepared_in_one_organisation_cannot_run_in_another() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let other = create_org(&app.store, &app.chain, 10u128.pow(21)).await;
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    // The same account is a wallet of the other organisation too (the owner proves its
    // key there as well).
    let body = app.wallet_body_as(&other, &owner, "alice-elsewhere").await;
    let (status, created) =
        send(app.req_as(&other, Method::POST, "/api/wallets").json(&body)).await;
    assert_eq!(status, 201, "{created}");

    let prepared = app.prepare(wallet, make_move(&app, 1)).await;
    let request_id = prepared["requestId"].as_str().unwrap().to_string();
    let before = (budget(&app, &app.org).await, budget(&app, &other).await);
    let path = format!("/api/wallets/{}/execute", to_hex(&wallet));
    let (status, answer) = send(
        app.req_as(&other, Method::POST, &path)
            .json(&execute_body(&prepared, owner_signature(&owner, wallet, &prepared))),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (409, Some("REQUEST_CONFLICT")), "{answer}");
    assert!(!answer.to_string().contains(&request_id), "the other organisation's id leaked");
    assert_eq!((budget(&app, &app.org).await, budget(&app, &other).await), before);
    let request = app.store.request(&request_id).await.unwrap().unwrap();
    assert_eq!(request.status, latchkey_store::RequestStatus::Prepared);
    // In its own organisation it still runs.
    let done = app.owner_execute(wallet, &owner, prepared).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_05_end_user_tokens_are_bound_to_their_organisation() {
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let other = create_org(&app.store, &app.chain, 10u128.pow(21)).await;
    let alice = app.create_wallet(&fresh_key(), "alice").await;
    let token = issuer.token("alice");
    let foreign = |path: &str| {
        app.http
            .get(format!("{}{path}", app.url))
            .header("x-api-key", &other.public)
            .header("authorization", format!("Bearer {token}"))
    };
    // With its own organisation's key, the token works.
    let (status, _) =
        send(as_user(&app, &token, Method::GET, &format!("/api/wallets/{}", to_hex(&alice)))).await;
    assert_eq!(status, 200);
    // With another organisation's public key: 401, whether that one has no issuer…
    for path in
        ["/api/wallets", "/api/me/session", "/v1/chipi-wallets/by-user?externalUserId=alice"]
    {
        let (status, body) = send(foreign(path)).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("INVALID_TOKEN")), "{path}: {body}");
    }
    // …or the same issuer with an audience of its own.
    let (status, body) = app.set_issuer(&other, &issuer, "latchkey-other").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(foreign("/api/wallets")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("INVALID_TOKEN")), "{body}");
    // No organisation may take an (issuer, audience) another one has.
    let (status, body) = app.set_issuer(&other, &issuer, AUDIENCE).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("TOKEN_ISSUER_IN_USE")), "{body}");
    // A token for the other organisation's audience is refused with the first one's key.
    let theirs = issuer.token_with(json!({"sub": "alice", "iss": latchkey_testkit::ISSUER,
        "aud": "latchkey-other", "exp": app.now().await + 600}));
    let (status, _) = send(as_user(&app, &theirs, Method::GET, "/api/wallets")).await;
    assert_eq!(status, 401);
    // End users cannot change the issuer.
    let (status, _) =
        send(as_user(&app, &token, Method::DELETE, "/api/organization/token-issuer")).await;
    assert_eq!(status, 403);
    // The organisation reads its issuer back, `null` once it is removed, and its end
    // users' tokens are refused from then on.
    let (status, body) = app.call(Method::GET, "/api/organization/token-issuer", None).await;
    assert_eq!((status, body["audience"].as_str()), (200, Some(AUDIENCE)), "{body}");
    let (status, _) = app.call(Method::DELETE, "/api/organization/token-issuer", None).await;
    assert_eq!(status, 204);
    let (status, body) = app.call(Method::GET, "/api/organization/token-issuer", None).await;
    assert_eq!((status, body.is_null()), (200, true), "{body}");
    let (status, _) = send(as_user(&app, &token, Method::GET, "/api/wallets")).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_02_k4_encrypted_keys_are_never_returned_in_bulk_nor_backups_like_the_primary() {
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let mut body = app.wallet_body(&owner, "alice").await;
    let address = latchkey_starknet::ChainClient::account_address(
        latchkey_starknet_contracts::ACCOUNT.class_hash().unwrap(),
        owner.public_key(),
    );
    let backup = sealed(&owner, latchkey_core::KeyKind::Owner, address, 9);
    body["encryptedPrivateKeyBackup"] = json!(backup);
    let (status, created) = app.call(Method::POST, "/api/wallets", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let address = created["address"].as_str().unwrap().to_string();
    assert!(created.get("encryptedPrivateKeyBackup").is_none(), "{created}");
    for _ in 0..3 {
        app.create_wallet(&fresh_key(), &format!("user-{}", rand::random::<u32>())).await;
    }
    // The list, with the organisation's secret key: no blob at all.
    let (status, list) = app.call(Method::GET, "/api/wallets", None).await;
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(!text.contains("lk1$"), "ciphertexts in a list: {text}");
    assert!(!text.contains(&backup));
    // One wallet: the primary for the organisation (a recorded read), never the backup.
    let (status, one) = app.call(Method::GET, &format!("/api/wallets/{address}"), None).await;
    assert_eq!(status, 200);
    assert!(one["encryptedPrivateKey"].as_str().unwrap().starts_with("lk1$owner$"));
    assert!(!one.to_string().contains(&backup));
    assert_eq!(one["hasBackup"], true);
    let (_, chipi) =
        app.call(Method::GET, "/v1/chipi-wallets/by-user?externalUserId=alice", None).await;
    assert!(!chipi.to_string().contains(&backup), "{chipi}");
    let (_, history) =
        app.call(Method::GET, &format!("/api/wallets/{address}/key-history"), None).await;
    let reads = history.as_array().unwrap().iter().filter(|e| e["kind"] == "read").count();
    assert_eq!(reads, 2, "every organisation read is recorded: {history}");
    // The backup: to the wallet's own end user only.
    let (status, body) = app
        .call(Method::GET, &format!("/api/wallets/{address}/encrypted-key?backup=true"), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("END_USER_TOKEN_REQUIRED")), "{body}");
    let (status, body) = send(as_user(
        &app,
        &issuer.token("alice"),
        Method::GET,
        &format!("/api/wallets/{address}/encrypted-key?backup=true"),
    ))
    .await;
    assert_eq!((status, body["encryptedPrivateKey"].as_str()), (200, Some(backup.as_str())));
    let (status, _) = send(as_user(
        &app,
        &issuer.token("mallory"),
        Method::GET,
        &format!("/api/wallets/{address}/encrypted-key?backup=true"),
    ))
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_06_replacing_a_stored_key_needs_its_proof_and_nothing_is_ever_lost() {
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let path = format!("/api/wallets/{}/encrypted-key", to_hex(&wallet));
    let original = app.call(Method::GET, &path, None).await.1["encryptedPrivateKey"].clone();
    let new_blob = sealed(&owner, latchkey_core::KeyKind::Owner, wallet, 4);
    let payload = latchkey_api_payload(&new_blob);
    // A proof by another key, a proof over another blob, a reused challenge: 403, and the
    // stored key is unchanged.
    let thief = fresh_key();
    let wrong_key = app.proof(&thief, ProofPurpose::ReplaceKey, wallet, payload).await;
    let wrong_payload = app.proof(&owner, ProofPurpose::ReplaceKey, wallet, Felt::ONE).await;
    let wrong_purpose = app.proof(&owner, ProofPurpose::StoreSession, wallet, payload).await;
    for proof in [wrong_key, wrong_payload, wrong_purpose] {
        let (status, body) = app
            .call(
                Method::PUT,
                &path,
                Some(json!({"encryptedPrivateKey": new_blob, "proof": proof})),
            )
            .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("INVALID_PROOF")), "{body}");
    }
    assert_eq!(app.call(Method::GET, &path, None).await.1["encryptedPrivateKey"], original);
    let good = app.proof(&owner, ProofPurpose::ReplaceKey, wallet, payload).await;
    let (status, body) = app
        .call(
            Method::PUT,
            &path,
            Some(json!({"encryptedPrivateKey": new_blob, "proof": good.clone()})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(Method::PUT, &path, Some(json!({"encryptedPrivateKey": new_blob, "proof": good})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("INVALID_PROOF")),
        "a challenge works once"
    );

    // The Chipi route sends no proof: the replacement happens, the previous version is
    // kept and the owner restores it with a proof.
    let junk = "U2FsdGVkX18BAgMEBQYHCKGUsHUkL0wRBA6EiGSL1TU=";
    let (status, body) = send(
        as_user(
            &app,
            &issuer.token("alice"),
            Method::PATCH,
            "/v1/chipi-wallets/update-encryption-details",
        )
        .json(&json!({"externalUserId": "alice", "newEncryptedPrivateKey": junk})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, history) =
        app.call(Method::GET, &format!("/api/wallets/{}/key-history", to_hex(&wallet)), None).await;
    let events = history.as_array().unwrap();
    let chipi = events.iter().rfind(|e| e["kind"] == "replaced").unwrap();
    assert_eq!(
        (chipi["proof"].as_str(), chipi["restorable"].as_bool()),
        (Some("none"), Some(true))
    );
    let id = chipi["id"].as_str().unwrap();
    let restore = format!("/api/wallets/{}/key-history/{id}/restore", to_hex(&wallet));
    let stolen =
        app.proof(&thief, ProofPurpose::RestoreKey, wallet, payload_hash(id.as_bytes())).await;
    let (status, _) = app.call(Method::POST, &restore, Some(json!({"proof": stolen}))).await;
    assert_eq!(status, 403);
    let proof =
        app.proof(&owner, ProofPurpose::RestoreKey, wallet, payload_hash(id.as_bytes())).await;
    let (status, body) = app.call(Method::POST, &restore, Some(json!({"proof": proof}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.call(Method::GET, &path, None).await.1["encryptedPrivateKey"], json!(new_blob));

    // A stored session needs the session key's own proof.
    let session = fresh_key();
    let session_blob = sealed(&session, latchkey_core::KeyKind::Session, wallet, 3);
    let stored = json!({"publicKey": to_hex(&session.public_key()), "encryptedPrivateKey": session_blob, "validUntil": 1});
    let token = issuer.token("alice");
    let planted = user_proof(
        &app,
        &token,
        &fresh_key(),
        ProofPurpose::StoreSession,
        wallet,
        payload_hash(session_blob.as_bytes()),
    )
    .await;
    let (status, body) = send(as_user(&app, &token, Method::PUT, "/api/me/session").json(&json!({
        "walletAddress": to_hex(&wallet), "session": stored, "proof": planted
    })))
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("INVALID_PROOF")), "{body}");
    let (status, _) = send(as_user(&app, &token, Method::GET, "/api/me/session")).await;
    assert_eq!(status, 404, "nothing was stored");
    // A challenge issued to the organisation does not serve an end user's proof.
    let org_challenge = app
        .proof(&session, ProofPurpose::StoreSession, wallet, payload_hash(session_blob.as_bytes()))
        .await;
    let (status, _) = send(as_user(&app, &token, Method::PUT, "/api/me/session").json(&json!({
        "walletAddress": to_hex(&wallet), "session": stored, "proof": org_challenge
    })))
    .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k1_chipi_ciphertexts_are_accepted_on_the_chipi_dialect_only() {
    // A Chipi ciphertext gives its PIN to whoever holds a copy in under a second: the native
    // routes store latchkey's envelopes only, with a clear 400, and nothing is written.
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let chipi = |key: &latchkey_core::SigningKey, pin: &str| {
        latchkey_core::keystore::chipi::encrypt_with_salt(&key.secret_hex(), pin, [6; 8]).unwrap()
    };
    let refused = |status: u16, body: &Value| {
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_ENCRYPTED_KEY")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("Chipi dialect only"), "{body}");
    };
    // Creation, as the primary blob or as the backup.
    for field in ["encryptedPrivateKey", "encryptedPrivateKeyBackup"] {
        let mut body = app.wallet_body(&owner, "alice").await;
        body[field] = json!(chipi(&owner, "739154"));
        let (status, answer) = app.call(Method::POST, "/api/wallets", Some(body)).await;
        refused(status, &answer);
    }
    let (status, list) = app.call(Method::GET, "/api/wallets", None).await;
    assert_eq!((status, list), (200, json!([])), "nothing was created");
    // Replacement, with a valid proof over the Chipi blob.
    let wallet = app.create_wallet(&owner, "alice").await;
    let path = format!("/api/wallets/{}/encrypted-key", to_hex(&wallet));
    let before = app.call(Method::GET, &path, None).await.1["encryptedPrivateKey"].clone();
    let blob = chipi(&owner, "739154");
    let proof =
        app.proof(&owner, ProofPurpose::ReplaceKey, wallet, latchkey_api_payload(&blob)).await;
    let (status, answer) = app
        .call(Method::PUT, &path, Some(json!({"encryptedPrivateKey": blob, "proof": proof})))
        .await;
    refused(status, &answer);
    assert_eq!(app.call(Method::GET, &path, None).await.1["encryptedPrivateKey"], before);
    // A session record stored for an end user.
    let session = fresh_key();
    let blob = chipi(&session, "739154");
    let token = issuer.token("alice");
    let proof = user_proof(
        &app,
        &token,
        &session,
        ProofPurpose::StoreSession,
        wallet,
        payload_hash(blob.as_bytes()),
    )
    .await;
    let stored = json!({"publicKey": to_hex(&session.public_key()), "encryptedPrivateKey": blob, "validUntil": 1});
    let (status, answer) =
        send(as_user(&app, &token, Method::PUT, "/api/me/session").json(&json!({
            "walletAddress": to_hex(&wallet), "session": stored, "proof": proof
        })))
        .await;
    refused(status, &answer);
    // The Chipi dialect, whose SDK makes them, takes one.
    let (status, body) = send(
        as_user(&app, &token, Method::PATCH, "/v1/chipi-wallets/update-encryption-details").json(
            &json!({"externalUserId": "alice", "newEncryptedPrivateKey": chipi(&owner, "739154")}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// What `PUT …/encrypted-key` binds for a primary blob without a backup.
fn latchkey_api_payload(primary: &str) -> Felt {
    payload_hash(format!("{primary}\n").as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_07_a_prepared_execution_can_only_be_submitted_by_its_relayer() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let prepared = app.prepare(wallet, make_move(&app, 1)).await;
    let typed: TypedData = serde_json::from_value(prepared["typedData"].clone()).unwrap();
    let (oe, _) = OutsideExecution::from_typed_data(&typed).unwrap();
    let relayers: Vec<Felt> = app.devnet.relayers().iter().map(|r| r.address).collect();
    let pinned = relayers.iter().position(|r| *r == oe.caller).expect("bound to a relayer");
    assert_ne!(oe.caller, latchkey_core::ANY_CALLER);
    // Anyone else who holds the signed execution (it is public once submitted, and stays
    // signed if it reverts) cannot run it.
    let signature: Vec<Felt> =
        owner_signature(&owner, wallet, &prepared).iter().map(|s| parse_felt(s).unwrap()).collect();
    let other = (pinned + 1) % relayers.len();
    let err = app
        .devnet
        .relay(other, wallet, &oe, &signature, latchkey_starknet::FeeMode::Unchecked)
        .await
        .expect_err("another caller");
    assert!(err.reason().unwrap().contains("SRC9: invalid caller"), "{err}");
    assert!(app.devnet.client().is_valid_outside_execution_nonce(wallet, oe.nonce).await.unwrap());
    let done = app.owner_execute(wallet, &owner, prepared).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

/// Waits until the API shows `owner` as the wallet's owner key.
async fn owner_key_becomes(app: &App, wallet: Felt, owner: &SigningKey) {
    for _ in 0..200 {
        let (_, shown) =
            app.call(Method::GET, &format!("/api/wallets/{}", to_hex(&wallet)), None).await;
        if shown["ownerPublicKey"] == to_hex(&owner.public_key()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the store never followed the rotation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_08_the_store_follows_an_owner_rotation() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let old = fresh_key();
    let wallet = app.create_wallet(&old, "alice").await;
    let session = register_game_session(&app, wallet, &old).await;
    // Rotation through the API.
    let new = fresh_key();
    let rotate = json!([{"to": to_hex(&wallet), "entrypoint": "set_public_key", "calldata": [to_hex(&new.public_key())]}]);
    let prepared = app.prepare(wallet, rotate).await;
    assert_eq!(app.owner_execute(wallet, &old, prepared).await["status"], "succeeded");
    // The monitor mirrors the rotation right after it settles the transaction.
    owner_key_becomes(&app, wallet, &new).await;
    // The new owner signs gaslessly at once; the old one is refused before any gas.
    let prepared = app.prepare(wallet, make_move(&app, 1)).await;
    let before = budget(&app, &app.org).await;
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/execute", to_hex(&wallet)),
            Some(execute_body(&prepared, owner_signature(&old, wallet, &prepared))),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_SIGNATURE")), "{body}");
    assert_eq!(budget(&app, &app.org).await, before);
    assert_eq!(app.owner_execute(wallet, &new, prepared).await["status"], "succeeded");
    // The rotation revoked every session, and the store says so.
    let (_, listed) =
        app.call(Method::GET, &format!("/api/wallets/{}/sessions", to_hex(&wallet)), None).await;
    assert_eq!(listed[0]["sessionPublicKey"], to_hex(&session.public_key()));
    assert_eq!(listed[0]["state"], "revoked");

    // A rotation made outside latchkey: the next owner signature is checked against the
    // chain, and the store follows.
    let newer = fresh_key();
    let user = latchkey_starknet_devnet::User { address: wallet, owner: new.clone() };
    app.devnet
        .owner_execute(&user, vec![account_calls::set_public_key(wallet, newer.public_key())])
        .await
        .unwrap();
    let prepared = app.prepare(wallet, make_move(&app, 2)).await;
    assert_eq!(app.owner_execute(wallet, &newer, prepared).await["status"], "succeeded");
    let (_, shown) =
        app.call(Method::GET, &format!("/api/wallets/{}", to_hex(&wallet)), None).await;
    assert_eq!(shown["ownerPublicKey"], to_hex(&newer.public_key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_04_sponsorship_policy_quotas_cooldown_and_revocations_that_always_get_through() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let session = register_game_session(&app, wallet, &owner).await;
    let w = to_hex(&wallet);
    let execute_path = format!("/api/wallets/{w}/execute");
    let execute = |prepared: &Value, signature: Vec<String>| {
        app.call(Method::POST, &execute_path, Some(execute_body(prepared, signature)))
    };

    // Sponsored methods: the game only.
    let policy = json!({"allowedMethods": [{"contract": to_hex(&app.game()), "selector": to_hex(&selector("make_move"))}]});
    let (status, body) = app.call(Method::PUT, "/api/sponsorship/policy", Some(policy)).await;
    assert_eq!(status, 200, "{body}");
    let transfer = json!([{"to": to_hex(&app.devnet.strk()), "entrypoint": "transfer", "calldata": ["0x1", "1", "0"]}]);
    let prepared = app.prepare(wallet, transfer).await;
    let before = budget(&app, &app.org).await;
    let (status, body) = execute(&prepared, owner_signature(&owner, wallet, &prepared)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("NOT_SPONSORED")), "{body}");
    assert_eq!(budget(&app, &app.org).await, before);
    let prepared = app.prepare(wallet, make_move(&app, 1)).await;
    assert_eq!(app.owner_execute(wallet, &owner, prepared).await["status"], "succeeded");

    // A fee ceiling per transaction.
    app.call(Method::PUT, "/api/sponsorship/policy", Some(json!({"maxFeePerTxFri": "1"}))).await;
    let prepared = app.prepare(wallet, make_move(&app, 2)).await;
    let (status, body) = execute(&prepared, owner_signature(&owner, wallet, &prepared)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("MAX_FEE_EXCEEDED")), "{body}");

    // A daily quota per wallet: the first execution fits, the next one waits for tomorrow.
    let spent_so_far = budget(&app, &app.org).await.1;
    let _ = spent_so_far;
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/sponsorship/policy",
            Some(json!({"dailyGasPerWalletFri": "1000000000000000000"})),
        )
        .await;
    assert_eq!(status, 200);
    let prepared = app.prepare(wallet, make_move(&app, 3)).await;
    assert_eq!(app.owner_execute(wallet, &owner, prepared).await["status"], "succeeded");
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/sponsorship/policy",
            Some(json!({"dailyGasPerWalletFri": "1000000000"})),
        )
        .await;
    assert_eq!(status, 200);
    let prepared = app.prepare(wallet, make_move(&app, 4)).await;
    let response = app
        .req(Method::POST, &format!("/api/wallets/{w}/execute"))
        .json(&execute_body(&prepared, owner_signature(&owner, wallet, &prepared)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "DAILY_QUOTA_EXHAUSTED", "{body}");

    // A wallet whose sponsored transactions keep reverting cools down.
    app.call(
        Method::PUT,
        "/api/sponsorship/policy",
        Some(json!({"revertCooldownAfter": 2, "revertCooldownSeconds": 300})),
    )
    .await;
    let wallet_id =
        app.store.wallet_by_address(&app.org.org_id, &app.chain, &w).await.unwrap().unwrap().id;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    for _ in 0..2 {
        app.store.record_wallet_outcome(&wallet_id, true, 2, 300, now).await.unwrap();
    }
    let prepared = app.prepare(wallet, make_move(&app, 5)).await;
    let (status, body) = execute(&prepared, owner_signature(&owner, wallet, &prepared)).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("WALLET_COOLING_DOWN")), "{body}");

    // With the budget empty too, a revocation still gets through.
    app.store.set_gas_budget(app.budget_key(&app.org.org_id), 0).await.unwrap();
    let prepared = app.prepare(wallet, make_move(&app, 6)).await;
    let (status, _) = execute(&prepared, owner_signature(&owner, wallet, &prepared)).await;
    assert_eq!(status, 429);
    let (status, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{w}/sessions/{}/revoke", to_hex(&session.public_key())),
            None,
        )
        .await;
    assert_eq!(status, 200, "{prepared}");
    assert_eq!(app.owner_execute(wallet, &owner, prepared).await["status"], "succeeded");
    let view = app.devnet.client().get_session(wallet, session.public_key()).await.unwrap();
    assert!(view.revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_04_rate_limits_answer_429_with_retry_after() {
    let config = ApiConfig {
        rate_limits: RateLimits {
            per_api_key: Rate::new(1000, 1000),
            per_user: Rate::new(1000, 1000),
            per_wallet: Rate::new(1, 3),
            pin_evaluations: Rate::new(1, 3),
            per_rpc_client: Rate::new(1, 3),
        },
        ..ApiConfig::default()
    };
    let app = App::start_with(Backend::Sqlite, config).await.unwrap();
    let wallet = app.create_wallet(&fresh_key(), "alice").await;
    let path = format!("/api/wallets/{}", to_hex(&wallet));
    let mut codes = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let response = app.req(Method::GET, &path).send().await.unwrap();
        codes.push(response.status().as_u16());
        if let Some(value) = response.headers().get("retry-after") {
            retry_after = Some(value.to_str().unwrap().to_string());
        }
    }
    assert!(codes.contains(&429), "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 3, "{codes:?}");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    // Another wallet is not affected.
    let other = app.create_wallet(&fresh_key(), "bob").await;
    let (status, _) =
        app.call(Method::GET, &format!("/api/wallets/{}", to_hex(&other)), None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_11_c30_session_guardrails_hold_on_every_route() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let now = app.now().await;
    let key = fresh_key().public_key();
    let register = |methods: Vec<AllowedMethod>, valid_until: u64| {
        account_calls::register_session(
            wallet,
            &SessionPolicy {
                session_key: key,
                valid_after: 0,
                valid_until,
                max_calls: 5,
                allowed_methods: methods,
            },
        )
    };
    let as_json = |call: &latchkey_core::Call| {
        json!([{"to": to_hex(&call.to), "selector": to_hex(&call.selector),
            "calldata": call.calldata.iter().map(to_hex).collect::<Vec<_>>()}])
    };
    let game = AllowedMethod::new(app.game(), "make_move");
    let cases = [
        (register(vec![], now + 600), "ALLOWLIST_REQUIRED"),
        (register(vec![game], now + 10 * 365 * 86_400), "SESSION_TOO_LONG"),
        (register(vec![AllowedMethod::new(wallet, "upgrade")], now + 600), "SELF_CALL_NOT_ALLOWED"),
    ];
    for (call, code) in &cases {
        // Generic prepare.
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/wallets/{}/prepare", to_hex(&wallet)),
                Some(json!({"calls": as_json(call)})),
            )
            .await;
        assert_eq!((status, body["code"].as_str()), (400, Some(*code)), "prepare: {body}");
    }
    // The Chipi route: add_or_update_session_key with an empty list or a long window.
    for (selectors, until, code) in [
        (vec![], now + 600, "ALLOWLIST_REQUIRED"),
        (vec![to_hex(&selector("make_move"))], now + 10 * 365 * 86_400, "SESSION_TOO_LONG"),
    ] {
        let mut calldata =
            vec![to_hex(&key), until.to_string(), "5".to_string(), selectors.len().to_string()];
        calldata.extend(selectors);
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/transactions/prepare-typed-data",
                Some(json!({"publicKey": to_hex(&wallet), "calls": [{"contractAddress": to_hex(&wallet),
                    "entrypoint": "add_or_update_session_key", "calldata": calldata}]})),
            )
            .await;
        assert_eq!((status, body["code"].as_str()), (400, Some(code)), "chipi: {body}");
    }
    assert!(app
        .store
        .sessions_for_wallet(
            &app.store
                .wallet_by_address(&app.org.org_id, &app.chain, &to_hex(&wallet))
                .await
                .unwrap()
                .unwrap()
                .id
        )
        .await
        .unwrap()
        .is_empty());
    // Typed data made by the client (never prepared here) passes the same rules at
    // execution, and a refusal leaves no record (R2-14).
    let oe = latchkey_starknet::new_outside_execution(vec![register(vec![], now + 600)], now, 300);
    let typed = oe.to_typed_data(&app.devnet.chain_id());
    let hash = typed.message_hash(&wallet).unwrap();
    let sig = owner.sign(&hash).unwrap();
    let records = app.store.list_requests(&app.org.org_id, None, 200, 0).await.unwrap().len();
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/execute", to_hex(&wallet)),
            Some(json!({"typedData": typed, "signature": [to_hex(&sig.r), to_hex(&sig.s)]})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("ALLOWLIST_REQUIRED")), "{body}");
    assert_eq!(
        app.store.list_requests(&app.org.org_id, None, 200, 0).await.unwrap().len(),
        records
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_14_refused_foreign_typed_data_leaves_no_record() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let wallet = app.create_wallet(&fresh_key(), "alice").await;
    let now = app.now().await;
    let calls = vec![latchkey_core::Call::new(app.game(), "make_move", vec![Felt::ONE])];
    let records = app.store.list_requests(&app.org.org_id, None, 200, 0).await.unwrap().len();
    for _ in 0..5 {
        let oe = latchkey_starknet::new_outside_execution(calls.clone(), now, 300);
        let typed = oe.to_typed_data(&app.devnet.chain_id());
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/api/wallets/{}/execute", to_hex(&wallet)),
                Some(json!({"typedData": typed, "signature": ["0x1", "0x2"]})),
            )
            .await;
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_SIGNATURE")), "{body}");
    }
    assert_eq!(
        app.store.list_requests(&app.org.org_id, None, 200, 0).await.unwrap().len(),
        records
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_12_i3_idempotency_keys_are_per_principal_and_survive_a_crash() {
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let w = to_hex(&wallet);
    let prepared = app.prepare(wallet, make_move(&app, 1)).await;
    let body = execute_body(&prepared, owner_signature(&owner, wallet, &prepared));
    let path = format!("/api/wallets/{w}/execute");
    let (status, first) = send(
        as_user(&app, &issuer.token("alice"), Method::POST, &path)
            .header("idempotency-key", "k-1")
            .json(&body),
    )
    .await;
    assert_eq!(status, 202, "{first}");
    // Bob, same key, same body: his own request (which cannot see Alice's wallet), not a
    // replay of Alice's answer.
    let (status, answer) = send(
        as_user(&app, &issuer.token("bob"), Method::POST, &path)
            .header("idempotency-key", "k-1")
            .json(&body),
    )
    .await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("WALLET_NOT_FOUND")), "{answer}");
    app.wait_final(first["requestId"].as_str().unwrap()).await;

    // A process that claimed a key, got the execution recorded and died before answering:
    // its claim is stale, and the retry answers with the recorded execution instead of a
    // duplicate or a 409 for a day.
    let prepared = app.prepare(wallet, make_move(&app, 2)).await;
    let body = execute_body(&prepared, owner_signature(&owner, wallet, &prepared));
    let (status, first) =
        send(app.req(Method::POST, &path).header("idempotency-key", "k-2").json(&body)).await;
    assert_eq!(status, 202, "{first}");
    app.store.purge_expired_idempotency(i64::MAX).await.unwrap();
    let text = serde_json::to_vec(&body).unwrap();
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut hasher, format!("POST /api/wallets/{w}/execute").as_bytes());
    sha2::Digest::update(&mut hasher, [0u8]);
    sha2::Digest::update(&mut hasher, &text);
    let hash = hex::encode(sha2::Digest::finalize(hasher));
    let long_ago =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
            as i64
            - 3600;
    let scope = latchkey_store::IdempotencyScope {
        org_id: &app.org.org_id,
        principal: "organization",
        key: "k-2",
    };
    app.store
        .claim_idempotency(scope, &hash, "a-dead-process", long_ago, 86_400, 300)
        .await
        .unwrap();
    let (status, again) = send(
        app.req(Method::POST, &path)
            .header("idempotency-key", "k-2")
            .header("content-type", "application/json")
            .body(text),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["requestId"], first["requestId"], "the recorded execution is the answer");
    let done = app.wait_final(first["requestId"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_13_wallet_creation_proves_the_owner_key() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let other = create_org(&app.store, &app.chain, 10u128.pow(21)).await;
    let owner = fresh_key();
    let squatter = fresh_key();
    let mut body = app.wallet_body(&owner, "alice").await;
    // The proof of another key, or one issued to another organisation: refused, nothing
    // stored.
    let address = latchkey_starknet::ChainClient::account_address(
        latchkey_starknet_contracts::ACCOUNT.class_hash().unwrap(),
        owner.public_key(),
    );
    let payload = payload_hash(body["encryptedPrivateKey"].as_str().unwrap().as_bytes());
    for proof in [
        app.proof(&squatter, ProofPurpose::CreateWallet, address, payload).await,
        app.proof_as(&other, &owner, ProofPurpose::CreateWallet, address, payload).await,
    ] {
        body["proof"] = proof;
        let (status, answer) = app.call(Method::POST, "/api/wallets", Some(body.clone())).await;
        assert_eq!((status, answer["code"].as_str()), (403, Some("INVALID_PROOF")), "{answer}");
    }
    assert!(app
        .store
        .wallet_by_address(&app.org.org_id, &app.chain, &to_hex(&address))
        .await
        .unwrap()
        .is_none());
    let body = app.wallet_body(&owner, "alice").await;
    let (status, created) = app.call(Method::POST, "/api/wallets", Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");

    // The Chipi route: creation typed data must come from this organisation's
    // prepare-creation, once.
    let chipi_owner = fresh_key();
    let chipi_address = latchkey_starknet::ChainClient::account_address(
        latchkey_starknet_contracts::ACCOUNT.class_hash().unwrap(),
        chipi_owner.public_key(),
    );
    let prepare = json!({"publicKey": to_hex(&chipi_address), "starkKeyPubAX": to_hex(&chipi_owner.public_key())});
    let create = |typed: &Value| {
        let typed_data: TypedData = serde_json::from_value(typed.clone()).unwrap();
        let sig = chipi_owner.sign(&typed_data.message_hash(&chipi_address).unwrap()).unwrap();
        json!({"externalUserId": "chipi-user", "publicKey": to_hex(&chipi_address),
            "userSignature": {"r": to_hex(&sig.r), "s": to_hex(&sig.s)}, "typedData": typed,
            "encryptedPrivateKey": "U2FsdGVkX18BAgMEBQYHCKGUsHUkL0wRBA6EiGSL1TU=",
            "deploymentData": {"class_hash": to_hex(&latchkey_starknet_contracts::ACCOUNT.class_hash().unwrap()),
                "salt": to_hex(&chipi_owner.public_key()), "unique": "0x0", "calldata": [to_hex(&chipi_owner.public_key())]}})
    };
    let (_, foreign) =
        send(app.req_as(&other, Method::POST, "/v1/chipi-wallets/prepare-creation").json(&prepare))
            .await;
    let homemade = latchkey_starknet::new_outside_execution(vec![], app.now().await, 300)
        .to_typed_data(&app.devnet.chain_id());
    for typed in [foreign["typedData"].clone(), serde_json::to_value(&homemade).unwrap()] {
        let (status, answer) =
            app.call(Method::POST, "/v1/chipi-wallets", Some(create(&typed))).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("INVALID_TYPED_DATA")),
            "{answer}"
        );
    }
    let (_, issued) =
        app.call(Method::POST, "/v1/chipi-wallets/prepare-creation", Some(prepare)).await;
    let (status, answer) =
        app.call(Method::POST, "/v1/chipi-wallets", Some(create(&issued["typedData"]))).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) =
        app.call(Method::POST, "/v1/chipi-wallets", Some(create(&issued["typedData"]))).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("INVALID_TYPED_DATA")),
        "replayed: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_19_a_revoked_key_is_refused_before_the_chain() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let session = register_game_session(&app, wallet, &owner).await;
    let w = to_hex(&wallet);
    let (_, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{w}/sessions/{}/revoke", to_hex(&session.public_key())),
            None,
        )
        .await;
    assert_eq!(app.owner_execute(wallet, &owner, prepared).await["status"], "succeeded");
    let now = app.now().await;
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{w}/sessions"),
            Some(json!({"sessionPublicKey": to_hex(&session.public_key()), "validUntil": now + 600, "maxCalls": 5,
                "allowedMethods": [{"contract": to_hex(&app.game()), "entrypoint": "make_move"}]})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("SESSION_KEY_REVOKED")), "{body}");
    let calldata = vec![
        to_hex(&session.public_key()),
        (now + 600).to_string(),
        "5".into(),
        "1".into(),
        to_hex(&selector("make_move")),
    ];
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/transactions/prepare-typed-data",
            Some(json!({"publicKey": w, "calls": [{"contractAddress": w, "entrypoint": "add_or_update_session_key", "calldata": calldata}]})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("SESSION_KEY_REVOKED")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multibyte_path_segments_get_a_clear_error_not_a_dropped_connection() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    for segment in [
        "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9",
        "0x%F0%9F%A6%80%F0%9F%A6%80%F0%9F%A6%80%F0%9F%A6%80%F0%9F%A6%80%F0%9F%A6%80%F0%9F%A6%80",
    ] {
        let (status, body) = app.call(Method::GET, &format!("/api/wallets/{segment}"), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_FELT")),
            "{segment}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i5_an_outside_execution_runs_once_even_after_its_idempotency_key_expired() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "alice").await;
    let prepared = app.prepare(wallet, make_move(&app, 1)).await;
    let body = execute_body(&prepared, owner_signature(&owner, wallet, &prepared));
    let path = format!("/api/wallets/{}/execute", to_hex(&wallet));
    let (status, first) =
        send(app.req(Method::POST, &path).header("idempotency-key", "old").json(&body)).await;
    assert_eq!(status, 202, "{first}");
    app.wait_final(first["requestId"].as_str().unwrap()).await;
    // Every key expires; the same signed execution under a new key is still refused.
    app.store.purge_expired_idempotency(i64::MAX).await.unwrap();
    let (status, again) =
        send(app.req(Method::POST, &path).header("idempotency-key", "new").json(&body)).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("DUPLICATE_EXECUTION")), "{again}");
    let player = app.devnet.client().call(app.game(), "get_player", vec![wallet]).await.unwrap();
    assert_eq!(player[0], Felt::ONE, "one move, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2_21_metrics_can_require_a_token() {
    let config = ApiConfig { metrics_token: Some("metrics-secret".into()), ..ApiConfig::default() };
    let app = App::start_with(Backend::Sqlite, config).await.unwrap();
    let url = format!("{}/metrics", app.url);
    let (status, body) = send(app.http.get(&url)).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("MISSING_BEARER_TOKEN")), "{body}");
    let (status, _) = send(app.http.get(&url).bearer_auth("wrong")).await;
    assert_eq!(status, 401);
    let response = app.http.get(&url).bearer_auth("metrics-secret").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.unwrap().contains("latchkey_relayer_accounts"));
}
