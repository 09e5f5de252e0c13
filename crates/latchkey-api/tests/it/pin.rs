//! PIN unlock through the OPRF over HTTP (K1–K4): every evaluation counted before it is
//! answered, a lock after ten unproved ones, a proof or the organisation to lift it, and a
//! database that tells nothing about the PIN.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use latchkey_api::{ApiConfig, OprfKeyRing, PinSettings, Rate, RateLimits};
use latchkey_core::keystore::hardened::{seal_with_params, FLOOR_PARAMS};
use latchkey_core::keystore::oprf::{blind_pin, OprfOutput, PinBlind, WalletOprfKey};
use latchkey_core::keystore::{self, EncryptKey, KeyBinding, KeystoreError};
use latchkey_core::{parse_felt, payload_hash, to_hex, Felt, KeyKind, ProofPurpose, SigningKey};
use latchkey_starknet_contracts::ACCOUNT;
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use crate::support::{fresh_key, App, Backend};

const PIN: &str = "839201";
const RING: &str = "v1 1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988\n";

async fn app(backend: Backend) -> Option<App> {
    let config = ApiConfig {
        rate_limits: RateLimits { pin_evaluations: Rate::new(1000, 1000), ..RateLimits::default() },
        pin: PinSettings {
            keys: Arc::new(OprfKeyRing::parse(RING).unwrap()),
            ..PinSettings::default()
        },
        ..ApiConfig::default()
    };
    App::start_with(backend, config).await
}

/// Blinds `pin` and asks the server: the answer, and the blind to finalise it with.
async fn evaluate(app: &App, address: Felt, pin: &str) -> (u16, Value, PinBlind) {
    let (blind, message) = blind_pin(pin, &mut rand::rngs::OsRng).unwrap();
    let body = json!({ "blindedElement": URL_SAFE_NO_PAD.encode(message) });
    let (status, answer) = app
        .call(
            reqwest::Method::POST,
            &format!("/api/wallets/{}/pin/evaluate", to_hex(&address)),
            Some(body),
        )
        .await;
    (status, answer, blind)
}

fn output(blind: &PinBlind, pin: &str, answer: &Value) -> OprfOutput {
    let element = URL_SAFE_NO_PAD.decode(answer["evaluatedElement"].as_str().unwrap()).unwrap();
    blind.finalize(pin, &element, answer["keyId"].as_str().unwrap()).unwrap()
}

fn binding(owner: &SigningKey, address: Felt) -> KeyBinding {
    KeyBinding { kind: KeyKind::Owner, account: address, public_key: owner.public_key() }
}

async fn status(app: &App, address: Felt) -> Value {
    let (code, body) = app
        .call(reqwest::Method::GET, &format!("/api/wallets/{}/pin", to_hex(&address)), None)
        .await;
    assert_eq!(code, 200, "{body}");
    body
}

async fn confirm(app: &App, address: Felt, owner: &SigningKey, challenge: Felt) -> (u16, Value) {
    let proof =
        app.sign_challenge(owner, ProofPurpose::PinUnlock, address, owner.public_key(), challenge);
    app.call(
        reqwest::Method::POST,
        &format!("/api/wallets/{}/pin/confirm", to_hex(&address)),
        Some(json!({ "proof": proof })),
    )
    .await
}

fn challenge_of(answer: &Value) -> Felt {
    parse_felt(answer["challenge"]["challenge"].as_str().unwrap()).unwrap()
}

/// A wallet whose owner key is sealed in `lk2` under `PIN` (the client's whole creation
/// flow: OPRF, seal, create with a proof, confirm): owner, address, envelope.
async fn lk2_wallet(app: &App) -> (SigningKey, Felt, String) {
    let owner = fresh_key();
    let address = latchkey_starknet::ChainClient::account_address(
        ACCOUNT.class_hash().unwrap(),
        owner.public_key(),
    );
    let (code, answer, blind) = evaluate(app, address, PIN).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["keyId"], "v1");
    let pin = EncryptKey::passphrase(PIN).with_oprf(output(&blind, PIN, &answer));
    let envelope = seal_with_params(
        &owner,
        &pin,
        &binding(&owner, address),
        FLOOR_PARAMS,
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    assert!(envelope.starts_with("lk2$owner$"), "{envelope}");
    let proof = app
        .proof(&owner, ProofPurpose::CreateWallet, address, payload_hash(envelope.as_bytes()))
        .await;
    let body = json!({
        "ownerPublicKey": to_hex(&owner.public_key()),
        "encryptedPrivateKey": envelope,
        "externalUserId": format!("pin-{}", to_hex(&address)),
        "proof": proof,
    });
    let (code, wallet) = app.call(reqwest::Method::POST, "/api/wallets", Some(body)).await;
    assert_eq!(code, 201, "{wallet}");
    assert_eq!(status(app, address).await["failures"], 1);
    let (code, reset) = confirm(app, address, &owner, challenge_of(&answer)).await;
    assert_eq!(code, 200, "{reset}");
    assert_eq!(reset["failures"], 0);
    (owner, address, envelope)
}

async fn k3_k4_attempts_lock_and_proofs_reset(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let (owner, address, envelope) = lk2_wallet(&app).await;
    let binding = binding(&owner, address);

    // The right PIN unlocks the stored envelope; the proof resets the count.
    let (code, answer, blind) = evaluate(&app, address, PIN).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["attemptsRemaining"], 9);
    let recorded = answer.clone();
    let pin = EncryptKey::passphrase(PIN).with_oprf(output(&blind, PIN, &answer));
    assert_eq!(keystore::open(&envelope, &pin, &binding).unwrap().public_key(), owner.public_key());
    let challenge = challenge_of(&answer);
    assert_eq!(confirm(&app, address, &owner, challenge).await.0, 200);
    // A proof is single-use, and must come from a key of the wallet.
    let (code, body) = confirm(&app, address, &owner, challenge).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("INVALID_PROOF")), "{body}");

    // K4: a recorded answer, replayed to a fresh blind, gives a useless output.
    let (fresh, _) = blind_pin(PIN, &mut rand::rngs::OsRng).unwrap();
    let replayed = EncryptKey::passphrase(PIN).with_oprf(output(&fresh, PIN, &recorded));
    assert_eq!(keystore::open(&envelope, &replayed, &binding).err(), Some(KeystoreError::WrongKey));

    // Malformed requests are refused with a code, and count nothing.
    let before = status(&app, address).await;
    let path = format!("/api/wallets/{}/pin/evaluate", to_hex(&address));
    for (body, code) in [
        (json!({ "blindedElement": "abc" }), "INVALID_OPRF_ELEMENT"),
        (json!({ "blindedElement": URL_SAFE_NO_PAD.encode([0u8; 32]) }), "INVALID_OPRF_ELEMENT"),
        (json!({ "blindedElement": URL_SAFE_NO_PAD.encode([0xffu8; 32]) }), "INVALID_OPRF_ELEMENT"),
        (json!({ "blindedElement": URL_SAFE_NO_PAD.encode([1u8; 31]) }), "INVALID_OPRF_ELEMENT"),
        (json!({ "blindedElement": STANDARD.encode([1u8; 32]) }), "INVALID_OPRF_ELEMENT"),
        (json!({ "blindedElement": "A".repeat(43), "keyId": "v9" }), "UNKNOWN_OPRF_KEY"),
        (json!({ "blinded": "x" }), "INVALID_REQUEST"),
    ] {
        let (status, answer) = app.call(reqwest::Method::POST, &path, Some(body.clone())).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some(code)), "{body} → {answer}");
    }
    assert_eq!(status(&app, address).await, before);

    // K3: ten wrong PINs are answered (and are useless); the tenth locks; the next waits.
    for n in 1..=10 {
        let (code, answer, blind) = evaluate(&app, address, "111111").await;
        assert_eq!(code, 200, "{answer}");
        assert_eq!(answer["attemptsRemaining"], 10 - n);
        let guess = EncryptKey::passphrase("111111").with_oprf(output(&blind, "111111", &answer));
        assert_eq!(
            keystore::open(&envelope, &guess, &binding).err(),
            Some(KeystoreError::WrongKey)
        );
        assert_eq!(answer.get("lockedUntil").is_some(), n == 10, "{answer}");
    }
    let (code, answer, _) = evaluate(&app, address, PIN).await;
    assert_eq!((code, answer["code"].as_str()), (423, Some("PIN_LOCKED")), "{answer}");
    let response = app
        .req(reqwest::Method::POST, &path)
        .json(&json!({ "blindedElement": URL_SAFE_NO_PAD.encode(blind_pin(PIN, &mut rand::rngs::OsRng).unwrap().1) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 423);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let locked = status(&app, address).await;
    assert_eq!(
        (locked["failures"].as_i64(), locked["attemptsRemaining"].as_i64()),
        (Some(10), Some(0))
    );
    assert!(locked["lockedUntil"].is_i64(), "{locked}");

    // The owner key, unlocked another way (a passkey), lifts the lock with a proof.
    let request = app.req(reqwest::Method::POST, "/api/challenges");
    let challenge = app.challenge(request, "pin-unlock").await;
    let (code, lifted) = confirm(&app, address, &owner, challenge).await;
    assert_eq!((code, lifted["failures"].as_i64()), (200, Some(0)), "{lifted}");
    let (code, answer, blind) = evaluate(&app, address, PIN).await;
    assert_eq!(code, 200, "{answer}");
    let pin = EncryptKey::passphrase(PIN).with_oprf(output(&blind, PIN, &answer));
    assert!(keystore::open(&envelope, &pin, &binding).is_ok());

    // The organisation can reset too, and that is recorded.
    evaluate(&app, address, "111111").await;
    let (code, reset) = app
        .call(reqwest::Method::POST, &format!("/api/wallets/{}/pin/reset", to_hex(&address)), None)
        .await;
    assert_eq!((code, reset["failures"].as_i64()), (200, Some(0)), "{reset}");
    let events =
        app.store.pin_events(&app.org.org_id, &latchkey_core::to_hex(&address)).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["locked", "proved", "reset"]);

    // A bad address is a 400.
    let (code, body) = app.call(reqwest::Method::GET, "/api/wallets/0xnothex/pin", None).await;
    assert_eq!((code, body["code"].as_str()), (400, Some("INVALID_FELT")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k3_k4_attempts_lock_and_proofs_reset_sqlite() {
    k3_k4_attempts_lock_and_proofs_reset(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k3_k4_attempts_lock_and_proofs_reset_postgres() {
    k3_k4_attempts_lock_and_proofs_reset(Backend::Postgres).await;
}

/// Printable runs of at least 32 characters in `bytes`: every text value a dump holds.
fn strings(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for run in bytes.split(|b| !(0x21..0x7f).contains(b)) {
        if run.len() >= 32 {
            out.push(String::from_utf8_lossy(run).into_owned());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What a value from the dump could be read as: hex, base64url, base64, or its text.
fn decodings(text: &str) -> Vec<Vec<u8>> {
    let mut out = vec![text.as_bytes().to_vec()];
    for piece in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_".contains(c))) {
        let piece = piece.trim_start_matches("0x");
        if let Ok(bytes) = hex::decode(piece) {
            out.push(bytes);
        }
        if let Ok(bytes) = URL_SAFE_NO_PAD.decode(piece) {
            out.push(bytes);
        }
        if let Ok(bytes) = STANDARD.decode(piece) {
            out.push(bytes);
        }
    }
    out.retain(|b| b.len() >= 32);
    out
}

// K1: the whole database file (and its WAL), every value in it tried as the OPRF output
// and as the OPRF master key: none opens the envelope, even with the right PIN, so no
// value in the dump tells a right guess from a wrong one. With the key file it opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k1_a_database_dump_cannot_test_a_pin_guess() {
    let app = app(Backend::Sqlite).await.unwrap();
    let (owner, address, envelope) = lk2_wallet(&app).await;
    let binding = binding(&owner, address);
    let path = app.database_url().trim_start_matches("sqlite://").to_string();
    let mut dump = std::fs::read(&path).unwrap();
    dump.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    let dump_text = String::from_utf8_lossy(&dump).into_owned();
    assert!(dump_text.contains(&envelope), "the dump holds the envelope");
    assert!(!dump_text.contains(&RING[3..67]), "the OPRF key is not in the database");

    let candidates: Vec<Vec<u8>> = strings(&dump).iter().flat_map(|s| decodings(s)).collect();
    assert!(candidates.len() > 20, "{}", candidates.len());
    let opens = |output: OprfOutput| {
        keystore::open(&envelope, &EncryptKey::passphrase(PIN).with_oprf(output), &binding).is_ok()
    };
    let mut tried = 0;
    for bytes in &candidates {
        let as_output: Vec<u8> =
            if bytes.len() == 64 { bytes.clone() } else { Sha512::digest(bytes).to_vec() };
        assert!(!opens(OprfOutput::new("v1", &as_output).unwrap()));
        if let Ok(master) = <[u8; 32]>::try_from(&bytes[..32]) {
            let key = WalletOprfKey::derive(&master, "v1", &address).unwrap();
            assert!(!opens(key.evaluate_unblinded(PIN).unwrap()));
        }
        tried += 1;
    }
    assert_eq!(tried, candidates.len());
    // The control: the key file's key (which the server keeps outside the database) does.
    let ring = OprfKeyRing::parse(RING).unwrap();
    let key = ring.wallet_key("v1", &address).unwrap();
    assert!(opens(key.evaluate_unblinded(PIN).unwrap()));
    let wrong =
        EncryptKey::passphrase("839202").with_oprf(key.evaluate_unblinded("839202").unwrap());
    assert!(keystore::open(&envelope, &wrong, &binding).is_err());
}
