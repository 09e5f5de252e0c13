//! `test-vectors/oprf-lk2.json`'s `lk2Secp256k1`: an EVM owner key in an `lk2` envelope,
//! which the TypeScript SDK opens too.

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_core::keystore::oprf::{blind_pin, OprfOutput, WalletOprfKey};
use latchkey_core::keystore::{self, EncryptKey, KeyBinding, KeystoreError};
use latchkey_core::KeyKind;
use latchkey_evm_contracts::{address_felt, Address, EvmSigningKey};
use serde_json::Value;

fn vector() -> Value {
    let all: Value =
        serde_json::from_str(include_str!("../../../../test-vectors/oprf-lk2.json")).unwrap();
    all["lk2Secp256k1"].clone()
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_string()
}

#[test]
fn the_secp256k1_lk2_vector_opens_with_the_pin_and_the_wallet_output_only() {
    let v = vector();
    let master: [u8; 32] = hex::decode(text(&v, "master")).unwrap().try_into().unwrap();
    let (key_id, pin) = (text(&v, "keyId"), text(&v, "pin"));
    let account = address_felt(text(&v, "account").parse::<Address>().unwrap());
    let address: Address = text(&v, "address").parse().unwrap();
    let wallet_key = WalletOprfKey::derive(&master, &key_id, &account).unwrap();
    let (blind, message) = blind_pin(&pin, &mut rand::rngs::OsRng).unwrap();
    let output = blind.finalize(&pin, &wallet_key.evaluate(&message).unwrap(), &key_id).unwrap();
    assert_eq!(hex::encode(output.bytes()), text(&v, "oprfOutput"));

    let binding = KeyBinding {
        kind: KeyKind::parse(&text(&v, "kind")).unwrap(),
        account,
        public_key: address_felt(address),
    };
    let envelope = text(&v, "envelope");
    let key: EvmSigningKey =
        keystore::open_as(&envelope, &EncryptKey::passphrase(&pin).with_oprf(output), &binding)
            .unwrap();
    assert_eq!(key.address(), address);
    let expected = EvmSigningKey::from_bytes(
        &hex::decode(text(&v, "privateKey").trim_start_matches("0x")).unwrap().try_into().unwrap(),
    )
    .unwrap();
    assert_eq!(expected.address(), address);

    let recorded = OprfOutput::new(&key_id, &hex::decode(text(&v, "oprfOutput")).unwrap()).unwrap();
    let wrong_pin = EncryptKey::passphrase("482914").with_oprf(recorded);
    assert_eq!(
        keystore::open_as::<EvmSigningKey>(&envelope, &wrong_pin, &binding).err(),
        Some(KeystoreError::WrongKey)
    );
    assert_eq!(
        keystore::open_as::<EvmSigningKey>(&envelope, &EncryptKey::passphrase(&pin), &binding)
            .err(),
        Some(KeystoreError::OprfRequired { key_id })
    );
}
