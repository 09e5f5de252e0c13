//! Golden vectors computed by viem (`contracts/evm/vectors.mjs`, committed as
//! `test-vectors/evm-userop-v08.json`): every one must match the Rust implementation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_evm_contracts::{
    account_address, address_of, create2_address, eip191_digest, entry_point_deploy_calldata,
    implementation_address, nonce, paymaster_and_data, paymaster_hash, session_nonce_key,
    sign_digest, split_nonce, Address, Artifact, Bytes, PaymasterData, SignatureKind,
    UserOpSignature, UserOperation, B256, CREATE2_PROXY, ENTRY_POINT_SALT, ENTRY_POINT_V08, U256,
};
use serde::Deserialize;

const VECTORS: &str = include_str!("../../../../test-vectors/evm-userop-v08.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vectors {
    keys: Keys,
    session_nonce: SessionNonce,
    entry_point_placement: Placement,
    user_ops: Vec<UserOpVector>,
    paymaster_hashes: Vec<PaymasterVector>,
    accounts: Vec<AccountVector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keys {
    owner: Key,
    session: Key,
    paymaster_signer: Key,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Key {
    private_key: B256,
    address: Address,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionNonce {
    key: Address,
    registration: u32,
    nonce_key: U256,
    sequence: u64,
    nonce: U256,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Placement {
    proxy: Address,
    salt: B256,
    bytecode_hash: B256,
    address: Address,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserOpVector {
    name: String,
    chain_id: u64,
    entry_point: Address,
    user_op: UserOperation,
    packed: Packed,
    user_op_hash: B256,
    eip191_digest: B256,
    signatures: Vec<SignatureVector>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Packed {
    init_code: Bytes,
    account_gas_limits: B256,
    gas_fees: B256,
    paymaster_and_data: Bytes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignatureVector {
    kind: u8,
    digest: B256,
    encoded: Bytes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymasterVector {
    chain_id: u64,
    paymaster: Address,
    valid_until: u64,
    valid_after: u64,
    user_op: UserOperation,
    hash: B256,
    signer_signature: Bytes,
    paymaster_and_data: Bytes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountVector {
    factory: Address,
    implementation: Address,
    owner: Address,
    salt: U256,
    account: Address,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("test-vectors/evm-userop-v08.json parses")
}

#[test]
fn keys_have_the_vector_addresses() {
    let v = vectors();
    for key in [&v.keys.owner, &v.keys.session, &v.keys.paymaster_signer] {
        assert_eq!(address_of(&key.private_key).unwrap(), key.address);
    }
}

#[test]
fn user_op_packing_and_hash_match_viem() {
    let v = vectors();
    assert_eq!(v.user_ops.len(), 15);
    for case in &v.user_ops {
        let what =
            format!("{} (chain {}, EntryPoint {})", case.name, case.chain_id, case.entry_point);
        let packed = case.user_op.pack();
        assert_eq!(packed.initCode, case.packed.init_code, "{what}");
        assert_eq!(packed.accountGasLimits, case.packed.account_gas_limits, "{what}");
        assert_eq!(packed.gasFees, case.packed.gas_fees, "{what}");
        assert_eq!(packed.paymasterAndData, case.packed.paymaster_and_data, "{what}");
        assert_eq!(UserOperation::from_packed(&packed).unwrap(), case.user_op, "{what}");
        assert_eq!(case.user_op.hash(case.entry_point, case.chain_id), case.user_op_hash, "{what}");
        assert_eq!(eip191_digest(case.user_op_hash), case.eip191_digest, "{what}");
    }
}

#[test]
fn the_hash_changes_with_chain_and_entry_point() {
    let v = vectors();
    for triple in v.user_ops.chunks(3) {
        assert_ne!(triple[0].user_op_hash, triple[1].user_op_hash);
        assert_ne!(triple[0].user_op_hash, triple[2].user_op_hash);
    }
}

#[test]
fn signatures_of_every_kind_match_viem_and_recover() {
    let v = vectors();
    for case in &v.user_ops {
        assert_eq!(case.signatures.len(), 4);
        for sig in &case.signatures {
            let kind = SignatureKind::from_byte(sig.kind).unwrap();
            let key = if kind.is_session() { &v.keys.session } else { &v.keys.owner };
            assert_eq!(
                kind.digest(case.user_op_hash),
                sig.digest,
                "{} kind {}",
                case.name,
                sig.kind
            );
            let signed = UserOpSignature::sign(kind, &key.private_key, case.user_op_hash).unwrap();
            assert_eq!(signed.encode(), sig.encoded, "{} kind {}", case.name, sig.kind);
            let decoded = UserOpSignature::decode(&sig.encoded).unwrap();
            assert_eq!(decoded, signed);
            assert_eq!(decoded.recover(case.user_op_hash).unwrap(), key.address);
        }
    }
}

#[test]
fn paymaster_hash_signature_and_data_match() {
    let v = vectors();
    assert!(!v.paymaster_hashes.is_empty());
    for case in &v.paymaster_hashes {
        let hash = paymaster_hash(
            &case.user_op,
            case.paymaster,
            case.chain_id,
            case.valid_until,
            case.valid_after,
        );
        assert_eq!(hash, case.hash, "chain {}", case.chain_id);
        let signature = sign_digest(&v.keys.paymaster_signer.private_key, hash).unwrap();
        assert_eq!(&signature.to_bytes()[..], &case.signer_signature[..]);
        assert_eq!(signature.recover(hash).unwrap(), v.keys.paymaster_signer.address);
        let data = paymaster_and_data(
            case.paymaster,
            case.user_op.paymaster_verification_gas_limit,
            case.user_op.paymaster_post_op_gas_limit,
            case.valid_until,
            case.valid_after,
            &signature,
        );
        assert_eq!(data, case.paymaster_and_data);
        assert_eq!(data.len(), 129);
        let (paymaster, vgl, pogl, parsed) = PaymasterData::from_paymaster_and_data(&data).unwrap();
        assert_eq!(paymaster, case.paymaster);
        assert_eq!(vgl, case.user_op.paymaster_verification_gas_limit);
        assert_eq!(pogl, case.user_op.paymaster_post_op_gas_limit);
        assert_eq!((parsed.valid_until, parsed.valid_after), (case.valid_until, case.valid_after));
        assert_eq!(parsed.signature, signature);
        // The hash does not cover paymasterData, so the signed userOp hashes the same.
        let mut signed = case.user_op.clone();
        signed.paymaster_data = Bytes::copy_from_slice(&parsed.to_bytes());
        assert_eq!(
            paymaster_hash(
                &signed,
                case.paymaster,
                case.chain_id,
                case.valid_until,
                case.valid_after
            ),
            hash
        );
    }
}

#[test]
fn counterfactual_accounts_match() {
    let v = vectors();
    for case in &v.accounts {
        assert_eq!(implementation_address(case.factory), case.implementation);
        assert_eq!(
            account_address(case.factory, case.implementation, case.owner, case.salt),
            case.account
        );
    }
}

#[test]
fn session_nonce_matches() {
    let s = vectors().session_nonce;
    assert_eq!(session_nonce_key(s.key, s.registration), s.nonce_key);
    assert_eq!(nonce(s.nonce_key, s.sequence), s.nonce);
    assert_eq!(split_nonce(s.nonce), (s.nonce_key, s.sequence));
}

#[test]
fn entry_point_placement_matches() {
    let p = vectors().entry_point_placement;
    assert_eq!((p.proxy, p.salt, p.address), (CREATE2_PROXY, ENTRY_POINT_SALT, ENTRY_POINT_V08));
    let bytecode = Artifact::EntryPoint.bytecode().unwrap();
    assert_eq!(latchkey_evm_contracts::primitives::keccak256(&bytecode), p.bytecode_hash);
    assert_eq!(create2_address(CREATE2_PROXY, ENTRY_POINT_SALT, &bytecode), ENTRY_POINT_V08);
    let calldata = entry_point_deploy_calldata().unwrap();
    assert_eq!(&calldata[..32], ENTRY_POINT_SALT.as_slice());
    assert_eq!(&calldata[32..], &bytecode[..]);
}
