//! The proof-of-possession vectors of `test-vectors/proof-v1.json` (computed with
//! starknet.js; the TypeScript SDK asserts the same file).

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_core::{
    parse_felt, payload_hash, proof_hash, short_string, verify_proof, Felt, ProofPurpose,
    Signature, SigningKey,
};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../test-vectors/proof-v1.json")).unwrap()
}

fn felt(value: &Value) -> Felt {
    parse_felt(value.as_str().unwrap()).unwrap()
}

#[test]
fn proof_hashes_and_signatures_match_the_vectors() {
    let vectors = vectors();
    let chain = short_string(vectors["chainId"].as_str().unwrap()).unwrap();
    let key = SigningKey::from_hex(vectors["privateKey"].as_str().unwrap()).unwrap();
    assert_eq!(key.public_key(), felt(&vectors["publicKey"]));
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let purpose = ProofPurpose::parse(case["purpose"].as_str().unwrap()).unwrap();
        let payload = payload_hash(case["payload"].as_str().unwrap().as_bytes());
        assert_eq!(payload, felt(&case["payloadHash"]), "{case}");
        let account = felt(&case["account"]);
        let challenge = felt(&case["challenge"]);
        let hash = proof_hash(&chain, &account, purpose, &challenge, &payload);
        assert_eq!(hash, felt(&case["proofHash"]), "{case}");
        let signature = key.sign(&hash).unwrap();
        let expected =
            Signature { r: felt(&case["signature"]["r"]), s: felt(&case["signature"]["s"]) };
        assert_eq!(signature, expected, "{case}");
        assert!(verify_proof(
            &key.public_key(),
            &chain,
            &account,
            purpose,
            &challenge,
            &payload,
            &signature
        ));
    }
}
