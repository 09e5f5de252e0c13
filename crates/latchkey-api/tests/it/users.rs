//! End users with JWTs: each reaches only its own wallet (J8), and `/api/me/session`
//! stores its encrypted session key, never a plaintext one, until the session is revoked.

use latchkey_core::{payload_hash, to_hex, Felt, ProofPurpose, SigningKey};
use latchkey_testkit::{AUDIENCE, ISSUER};
use reqwest::Method;
use serde_json::{json, Value};

use crate::access::resource_routes;
use crate::support::{fresh_key, sealed, send, App, Backend};

pub(crate) fn as_user(
    app: &App,
    token: &str,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.http
        .request(method, format!("{}{}", app.url, path))
        .header("x-api-key", &app.org.public)
        .header("authorization", format!("Bearer {token}"))
}

/// A proof of possession of `key`, with a challenge issued to the end user of `token`.
pub(crate) async fn user_proof(
    app: &App,
    token: &str,
    key: &SigningKey,
    purpose: ProofPurpose,
    account: Felt,
    payload: Felt,
) -> Value {
    let request = as_user(app, token, Method::POST, "/api/challenges");
    let challenge = app.challenge(request, purpose.as_str()).await;
    app.sign_challenge(key, purpose, account, payload, challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j8_end_users_reach_only_their_own_wallet() {
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let alice_owner = fresh_key();
    let alice = app.create_wallet(&alice_owner, "alice").await;
    let bob_owner = fresh_key();
    let bob = app.create_wallet(&bob_owner, "bob").await;
    let alice_token = issuer.token("alice");

    let (status, list) = send(as_user(&app, &alice_token, Method::GET, "/api/wallets")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["address"], to_hex(&alice));
    let (status, _) =
        send(as_user(&app, &alice_token, Method::GET, &format!("/api/wallets/{}", to_hex(&alice))))
            .await;
    assert_eq!(status, 200);

    // Bob's wallet, session and transaction are invisible to Alice on every route.
    let session = fresh_key();
    let now = app.now().await;
    let (_, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/sessions", to_hex(&bob)),
            Some(json!({"sessionPublicKey": to_hex(&session.public_key()), "validUntil": now + 600, "maxCalls": 2,
                "allowedMethods": [{"contract": to_hex(&app.game()), "entrypoint": "make_move"}]})),
        )
        .await;
    let done = app.owner_execute(bob, &bob_owner, prepared).await;
    let routes = resource_routes(
        &to_hex(&bob),
        &to_hex(&session.public_key()),
        done["id"].as_str().unwrap(),
        done["transactionHash"].as_str().unwrap(),
        "bob",
    );
    for (method, path, body) in routes {
        let mut request = as_user(&app, &alice_token, method.clone(), &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, answer) = send(request).await;
        assert!(
            status == 404 || status == 403,
            "{method} {path} leaked Bob's data to Alice: {status} {answer}"
        );
    }
    // Organisation-level routes are closed to end users.
    let (status, body) = send(as_user(&app, &alice_token, Method::GET, "/api/sponsorship")).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");
    // Alice cannot create a wallet for Bob.
    let body = app.wallet_body(&fresh_key(), "bob").await;
    let (status, body) =
        send(as_user(&app, &alice_token, Method::POST, "/api/wallets").json(&body)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j5_bad_tokens_are_refused() {
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let cases = [
        (json!({"sub": "a", "iss": ISSUER, "aud": AUDIENCE, "exp": now - 600}), "TOKEN_EXPIRED"),
        (
            json!({"sub": "a", "iss": ISSUER, "aud": "someone-else", "exp": now + 600}),
            "INVALID_TOKEN",
        ),
        (
            json!({"sub": "a", "iss": "https://evil.test", "aud": AUDIENCE, "exp": now + 600}),
            "INVALID_TOKEN",
        ),
        (json!({"sub": "a", "iss": ISSUER, "aud": AUDIENCE}), "INVALID_TOKEN"),
    ];
    for (claims, code) in cases {
        let token = issuer.token_with(claims.clone());
        let (status, body) = send(as_user(&app, &token, Method::GET, "/api/wallets")).await;
        assert_eq!((status, body["code"].as_str()), (401, Some(code)), "{claims}: {body}");
        assert!(!body.to_string().contains(&token), "the token was echoed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_session_stores_only_encrypted_keys_and_is_deleted_on_revoke() {
    let (app, issuer) = App::with_issuer(Backend::Sqlite).await.unwrap();
    let owner = fresh_key();
    let wallet = app.create_wallet(&owner, "carol").await;
    let carol = issuer.token("carol");
    let session = fresh_key();

    // Plaintext keys are refused, and nothing is stored.
    let plain = session.secret_hex().as_str().to_string();
    let proof = user_proof(
        &app,
        &carol,
        &session,
        ProofPurpose::StoreSession,
        wallet,
        payload_hash(plain.as_bytes()),
    )
    .await;
    let (status, body) = send(as_user(&app, &carol, Method::PUT, "/api/me/session").json(&json!({
        "walletAddress": to_hex(&wallet),
        "session": {"publicKey": to_hex(&session.public_key()), "encryptedPrivateKey": plain, "validUntil": 1},
        "proof": proof,
    })))
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("PLAINTEXT_KEY_REJECTED")), "{body}");
    let (status, _) = send(as_user(&app, &carol, Method::GET, "/api/me/session")).await;
    assert_eq!(status, 404);

    let encrypted = sealed(&session, latchkey_core::KeyKind::Session, wallet, 3);
    let now = app.now().await;
    let stored = json!({"publicKey": to_hex(&session.public_key()), "encryptedPrivateKey": encrypted, "validUntil": now + 600});
    let payload = payload_hash(encrypted.as_bytes());
    let proof =
        user_proof(&app, &carol, &session, ProofPurpose::StoreSession, wallet, payload).await;
    let (status, body) = send(as_user(&app, &carol, Method::PUT, "/api/me/session").json(&json!({
        "walletAddress": to_hex(&wallet), "session": stored, "proof": proof
    })))
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(as_user(&app, &carol, Method::GET, "/api/me/session")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"], stored);
    // Only Carol: another user sees nothing, the organisation is told to use a user token.
    let (status, _) =
        send(as_user(&app, &issuer.token("dave"), Method::GET, "/api/me/session")).await;
    assert_eq!(status, 404);
    let (status, body) = app.call(Method::GET, "/api/me/session", None).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("END_USER_TOKEN_REQUIRED")), "{body}");

    // Register the session, then revoke it: the stored key is deleted with it.
    let (_, prepared) = app
        .call(
            Method::POST,
            &format!("/api/wallets/{}/sessions", to_hex(&wallet)),
            Some(json!({"sessionPublicKey": to_hex(&session.public_key()), "validUntil": now + 600, "maxCalls": 2,
                "allowedMethods": [{"contract": to_hex(&app.game()), "entrypoint": "make_move"}]})),
        )
        .await;
    app.owner_execute(wallet, &owner, prepared).await;
    let (status, prepared) = app
        .call(
            Method::POST,
            &format!(
                "/api/wallets/{}/sessions/{}/revoke",
                to_hex(&wallet),
                to_hex(&session.public_key())
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{prepared}");
    assert_eq!(app.owner_execute(wallet, &owner, prepared).await["status"], "succeeded");
    let (status, _) = send(as_user(&app, &carol, Method::GET, "/api/me/session")).await;
    assert_eq!(status, 404, "the revoked session's stored key is gone");

    // DELETE works and is idempotent in effect.
    let proof =
        user_proof(&app, &carol, &session, ProofPurpose::StoreSession, Felt::ZERO, payload).await;
    let (status, body) = send(
        as_user(&app, &carol, Method::PUT, "/api/me/session")
            .json(&json!({"session": stored, "proof": proof})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(as_user(&app, &carol, Method::DELETE, "/api/me/session")).await;
    assert_eq!(status, 204);
    let (status, _) = send(as_user(&app, &carol, Method::DELETE, "/api/me/session")).await;
    assert_eq!(status, 404);
}
