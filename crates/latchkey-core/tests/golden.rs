//! Golden vectors captured from the real Chipi SDK 14.4.0 and starknet.js
//! (`test-vectors/chipi-sdk-14.4.0-capture.json`).

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_core::{
    contract_address, parse_felt, selector, short_string, to_hex, Felt, OutsideExecution,
    SessionSignature, SigningKey, TypedData, CALL_TYPE_HASH, DOMAIN_TYPE_HASH,
    OUTSIDE_EXECUTION_TYPE_HASH,
};
use serde_json::Value;

fn capture() -> Value {
    serde_json::from_str(include_str!("../../../test-vectors/chipi-sdk-14.4.0-capture.json"))
        .expect("capture file is JSON")
}

fn felt(v: &Value) -> Felt {
    parse_felt(v.as_str().expect("string")).expect("felt")
}

#[test]
fn c29_type_hashes_match_the_reference() {
    let r = &capture()["snip12Reference"];
    assert_eq!(DOMAIN_TYPE_HASH, felt(&r["DOMAIN_TYPEHASH"]));
    assert_eq!(CALL_TYPE_HASH, felt(&r["CALL_TYPEHASH"]));
    assert_eq!(OUTSIDE_EXECUTION_TYPE_HASH, felt(&r["OE_TYPEHASH_u128"]));
    assert_eq!(selector("transfer"), felt(&r["selectorTransfer"]));
}

#[test]
fn c29_domain_and_message_hash_match_starknet_js() {
    let c = capture();
    let v = &c["signingVector"];
    let td: TypedData = serde_json::from_value(v["typedData"].clone()).unwrap();
    let account = felt(&v["walletAddr"]);
    assert_eq!(td.domain_hash().unwrap(), felt(&c["snip12Reference"]["domainHash"]));
    assert_eq!(td.message_hash(&account).unwrap(), felt(&v["msgHash"]));

    // The typed fast path agrees with the generic one.
    let (oe, chain) = OutsideExecution::from_typed_data(&td).unwrap();
    assert_eq!(chain, short_string("SN_MAIN").unwrap());
    assert_eq!(oe.message_hash(&chain, &account), felt(&v["msgHash"]));
    assert_eq!(OutsideExecution::domain_hash(&chain), felt(&c["snip12Reference"]["domainHash"]));

    // The legacy felt-timestamp hash is a different message (C20: one canonical hash).
    assert_ne!(td.message_hash(&account).unwrap(), felt(&c["snip12Reference"]["manualHash_felt"]));
}

#[test]
fn session_and_owner_signatures_are_rfc6979_exact() {
    let c = capture();
    let v = &c["signingVector"];
    let keys = &c["keys"];
    let hash = felt(&v["msgHash"]);

    let session = SigningKey::from_hex(keys["SESSION_PK"].as_str().unwrap()).unwrap();
    assert_eq!(session.public_key(), felt(&keys["sessionPub"]));
    let expected: Vec<String> = v["sessionSignature"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let valid_until = latchkey_core::felt_to_u64(&felt(&v["sessionSignature"][3])).unwrap();
    let sig = SessionSignature::sign(&session, &hash, valid_until).unwrap();
    assert_eq!(sig.to_hex_strings(), expected);
    assert!(sig.verify(&hash));

    let owner = SigningKey::from_hex(keys["OWNER_PK"].as_str().unwrap()).unwrap();
    assert_eq!(owner.public_key(), felt(&keys["ownerPub"]));
    let owner_sig = owner.sign(&hash).unwrap();
    assert_eq!(owner_sig.r.to_string(), v["ownerSignatureDecimal"]["r"].as_str().unwrap());
    assert_eq!(owner_sig.s.to_string(), v["ownerSignatureDecimal"]["s"].as_str().unwrap());
}

#[test]
fn account_address_matches_the_sdk() {
    let c = capture();
    let pubkey = felt(&c["keys"]["ownerPub"]);
    let class_hash = felt(&c["address"]["classHash"]);
    let address = contract_address(&pubkey, &class_hash, &[pubkey], &Felt::ZERO);
    assert_eq!(to_hex(&address), c["address"]["walletAddr"].as_str().unwrap());
}

#[test]
fn sdk_calls_serialise_as_captured() {
    // add_or_update_session_key calldata the SDK built (chipi-wire.md §5.3).
    let c = capture();
    let call = &c["addSessionKeyWithEntrypoints"]["calls"][0];
    let calldata: Vec<Felt> = call["calldata"].as_array().unwrap().iter().map(felt).collect();
    assert_eq!(calldata[3], Felt::TWO);
    assert_eq!(calldata[4], selector("transfer"));
    assert_eq!(calldata[5], selector("approve"));
}
