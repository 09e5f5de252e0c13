//! The I/O-free core of latchkey: field elements and selectors, SNIP-12 revision 1
//! typed-data hashing, the SNIP-9 v2 outside execution, Stark ECDSA owner and session
//! signatures, and the session policy model.
//!
//! Nothing here touches the network, the disk or a clock: callers pass time in. The
//! crate builds for `wasm32-unknown-unknown`.

mod call;
pub mod codes;
mod felt;
mod grant;
mod outside_execution;
mod policy;
mod proof;
mod signature;
mod snip12;
mod time;

// Key management: key generation, key encryption, lifecycle, session client.
mod keys;
pub mod keystore;
mod lifecycle;
mod secret;
mod session_client;

pub use keys::{
    generate_owner_key, generate_session_key, owner_key_from_entropy, private_key_text,
    public_key_hex, session_key_from_entropy, KeyError, KeyKind, SecretString, SessionKeyData,
    DEFAULT_SESSION_DURATION_SECONDS, DEFAULT_SESSION_MAX_CALLS, OWNER_KEY_ENTROPY_BYTES,
    SESSION_KEY_ENTROPY_BYTES,
};
pub use keystore::{
    check_pin_strength, EncryptKey, KeyBinding, KeyFormat, KeystoreError, ServerShare,
    WeakPinReason,
};
pub use lifecycle::{ensure_active, session_state, OnChainSession, SessionState};
pub use session_client::{
    create_session_key, create_session_key_chipi, create_session_key_with, prove_possession,
    sign_owner, sign_session_execution, KeyProtection, SessionError, SessionErrorCode,
};

pub use call::{serialize_calls, Call};
pub use felt::{
    decode_short_string, felt_from_json, felt_to_u128, felt_to_u32, felt_to_u64, parse_felt,
    parse_u256, random_felt, selector, serde_hex, short_string, starknet_keccak, to_hex, Felt,
    FeltError, U256,
};
pub use grant::{
    is_revocation, rotated_owner, AccountChange, CallView, Permission, SessionGrant, SessionRules,
    Spend, SpendingCap,
};
pub use outside_execution::{
    OutsideExecution, OutsideExecutionError, ANY_CALLER, CALL_TYPE, CALL_TYPE_HASH, DOMAIN_NAME,
    DOMAIN_TYPE, DOMAIN_TYPE_HASH, DOMAIN_VERSION, OUTSIDE_EXECUTION_TYPE,
    OUTSIDE_EXECUTION_TYPE_HASH,
};
pub use policy::{
    is_live_at, tracked_amount, tracked_amount_index, AllowedMethod, MalformedAmount,
    PolicyViolation, SessionPolicy, SpendingPolicy, SpendingViolation,
};
pub use proof::{payload_hash, proof_hash, sign_proof, verify_proof, ProofPurpose, PROOF_TAG};
pub use signature::{
    verify_signature, SessionSignature, Signature, SignatureError, SigningKey, EC_ORDER,
};
pub use snip12::{
    byte_array_hash, is_js_hex, merkle_root, starknet_message_prefix, TypeMember, TypedData,
    TypedDataError,
};
pub use time::{iso8601_utc, UtcDateTime};

/// Starknet's contract address formula (`deployer = 0` for UDC deployments with
/// `unique = false` and for deploy-account transactions).
pub fn contract_address(
    salt: &Felt,
    class_hash: &Felt,
    constructor_calldata: &[Felt],
    deployer: &Felt,
) -> Felt {
    use starknet_rust_crypto::pedersen_hash;
    let prefix = Felt::from_bytes_be_slice(b"STARKNET_CONTRACT_ADDRESS");
    let mut calldata_hash = Felt::ZERO;
    for item in constructor_calldata {
        calldata_hash = pedersen_hash(&calldata_hash, item);
    }
    calldata_hash = pedersen_hash(&calldata_hash, &Felt::from(constructor_calldata.len() as u64));
    let mut acc = Felt::ZERO;
    for item in [prefix, *deployer, *salt, *class_hash, calldata_hash] {
        acc = pedersen_hash(&acc, &item);
    }
    acc = pedersen_hash(&acc, &Felt::from(5u8));
    // Addresses live below 2^251 - 256.
    let bound = Felt::from_hex_unchecked(
        "0x7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00",
    );
    Felt::from(acc.to_biguint() % bound.to_biguint())
}
