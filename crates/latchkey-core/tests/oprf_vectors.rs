//! The OPRF and `lk2` vectors of `test-vectors/oprf-lk2.json`: RFC 9497's own
//! ristretto255-SHA512 vectors, and an `lk2` envelope the TypeScript SDK opens too.

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_core::keystore::oprf::{
    blind_pin, derive_private_key_bytes, evaluate_with_seed, OprfOutput, WalletOprfKey,
};
use latchkey_core::keystore::{self, EncryptKey, KeyBinding, KeystoreError};
use latchkey_core::{parse_felt, Felt, KeyKind};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../test-vectors/oprf-lk2.json")).unwrap()
}

fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap()).unwrap()
}

fn felt(value: &Value) -> Felt {
    parse_felt(value.as_str().unwrap()).unwrap()
}

#[test]
fn rfc9497_ristretto255_sha512_oprf_vectors() {
    let v = &vectors()["rfc9497"];
    let (seed, info) = (bytes(&v["seed"]), bytes(&v["keyInfo"]));
    assert_eq!(derive_private_key_bytes(&seed, &info).unwrap().to_vec(), bytes(&v["skSm"]));
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let output = evaluate_with_seed(&seed, &info, &bytes(&case["input"])).unwrap();
        assert_eq!(output.to_vec(), bytes(&case["output"]), "{case}");
    }
}

#[test]
fn the_lk2_vector_opens_with_the_pin_and_the_wallet_output_only() {
    let v = &vectors()["lk2"];
    let master: [u8; 32] = bytes(&v["master"]).try_into().unwrap();
    let key_id = v["keyId"].as_str().unwrap();
    let pin = v["pin"].as_str().unwrap();
    let account = felt(&v["account"]);
    let wallet_key = WalletOprfKey::derive(&master, key_id, &account).unwrap();
    // The blinded round trip gives the recorded output.
    let (blind, message) = blind_pin(pin, &mut rand::rngs::OsRng).unwrap();
    let output = blind.finalize(pin, &wallet_key.evaluate(&message).unwrap(), key_id).unwrap();
    assert_eq!(output.bytes().to_vec(), bytes(&v["oprfOutput"]));

    let binding = KeyBinding {
        kind: KeyKind::parse(v["kind"].as_str().unwrap()).unwrap(),
        account,
        public_key: felt(&v["publicKey"]),
    };
    let envelope = v["envelope"].as_str().unwrap();
    let unlocked =
        keystore::open(envelope, &EncryptKey::passphrase(pin).with_oprf(output), &binding).unwrap();
    assert_eq!(unlocked.public_key(), felt(&v["publicKey"]));
    assert_eq!(parse_felt(&unlocked.secret_hex()).unwrap(), felt(&v["privateKey"]));
    assert_eq!(
        keystore::open(envelope, &EncryptKey::passphrase(pin), &binding).err(),
        Some(KeystoreError::OprfRequired { key_id: key_id.into() })
    );
    let recorded = OprfOutput::new(key_id, &bytes(&v["oprfOutput"])).unwrap();
    let wrong_pin = EncryptKey::passphrase("482914").with_oprf(recorded);
    assert_eq!(keystore::open(envelope, &wrong_pin, &binding).err(), Some(KeystoreError::WrongKey));
}
