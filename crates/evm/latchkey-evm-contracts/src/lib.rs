//! latchkey's EVM contracts for Rust, free of I/O (it also builds for
//! `wasm32-unknown-unknown`):
//!
//! - [`abi`]: `sol!` bindings of the EntryPoint v0.8, `LatchkeyAccount`,
//!   `LatchkeyAccountFactory`, `LatchkeyPaymaster` and the demo contracts;
//! - [`UserOperation`]: the unpacked ERC-4337 v0.8 userOp, its packing and its EIP-712
//!   hash (`EntryPoint.getUserOpHash`);
//! - [`UserOpSignature`]: the account's 66-byte `kind ‖ r ‖ s ‖ v` signature, EIP-191
//!   digests, deterministic secp256k1 signing;
//! - [`paymaster_hash`] / [`paymaster_and_data`]: `LatchkeyPaymaster`'s data;
//! - [`session_nonce_key`] / [`nonce`]: the session's EntryPoint nonce key;
//! - [`account_address`], [`implementation_address`], the EntryPoint placement
//!   ([`entry_point_deploy_calldata`]);
//! - [`Artifact`]: the compiled contracts committed under `contracts/evm/build/`.
//!
//! The Solidity side and its conventions are documented in `contracts/evm/README.md`.

pub mod abi;
mod address;
mod artifacts;
mod calls;
mod key;
mod paymaster;
mod proof;
mod quantity;
mod signature;
mod userop;

pub use address::{
    account_address, account_salt, create2_address, eip1167_init_code, entry_point_deploy_calldata,
    implementation_address, CREATE2_PROXY, ENTRY_POINT_DEPLOY_GAS, ENTRY_POINT_SALT,
    ENTRY_POINT_V08, SENDER_CREATOR_V08,
};
pub use artifacts::{bytecode, Artifact};
pub use calls::{
    create_account_data, execute, execute_batch, execute_user_op, nonce, register_session,
    revoke_all_sessions, revoke_session, session_nonce_key, set_owner, set_spending_cap,
    split_nonce, EXECUTE_USER_OP_SELECTOR, NATIVE_TOKEN,
};
pub use key::{address_felt, EvmSigningKey};
pub use paymaster::{
    paymaster_and_data, paymaster_hash, PaymasterData, PAYMASTER_AND_DATA_LENGTH,
    PAYMASTER_DATA_OFFSET,
};
pub use proof::{proof_hash, recover_proof, PROOF_TAG};
pub use signature::{
    address_of, eip191_digest, sign_digest, RawSignature, SignatureKind, UserOpSignature,
    USER_OP_SIGNATURE_LENGTH,
};
pub use userop::{
    domain_separator, UserOperation, DOMAIN_NAME, DOMAIN_VERSION, PACKED_USEROP_TYPE,
    PACKED_USEROP_TYPEHASH,
};

/// Re-exported so that users name the same primitive types.
pub use alloy_primitives::{self as primitives, Address, Bytes, B256, U256};

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvmContractsError {
    /// A committed artifact does not parse.
    #[error("artifact {name}: {message}")]
    Artifact {
        /// The contract name.
        name: &'static str,
        /// What failed.
        message: String,
    },
    /// A userOp signature is not `kind ‖ r ‖ s ‖ v` (66 bytes, kind 0..=3, v 27/28, low s).
    #[error("malformed userOp signature: {0}")]
    MalformedSignature(&'static str),
    /// A signature does not recover to an address.
    #[error("signature does not recover: {0}")]
    Unrecoverable(String),
    /// A private key is not a valid secp256k1 scalar.
    #[error("invalid secp256k1 private key")]
    InvalidPrivateKey,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// Packed userOp fields that cannot be unpacked.
    #[error("malformed packed userOp: {0}")]
    MalformedPackedUserOp(&'static str),
    /// `paymasterAndData` that is not the 129-byte LatchkeyPaymaster layout.
    #[error("malformed paymasterAndData: {0}")]
    MalformedPaymasterData(&'static str),
}
