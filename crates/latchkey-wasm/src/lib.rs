//! latchkey-core for JavaScript, through wasm-bindgen: the client half of latchkey's
//! session keys, running in the browser or Node.js.
//!
//! - **Keys**: owner and session keys in the Chipi SDK's exact formats
//!   ([`create_owner_signer`], [`create_session_signer`], [`generate_owner_signer`]),
//!   sealed in latchkey's hardened envelope (`lk2` with a PIN the server evaluated,
//!   `lk1` without) or in the Chipi CryptoJS format on request ([`KeyFormat`]).
//! - **PINs checked by the server** (`lk2`): [`blind_pin`] blinds a PIN for the server's
//!   OPRF evaluation and [`PinBlind::finalize`] turns the answer into a [`Secret`] that
//!   every seal and unlock export takes; [`envelope_info`] says which envelopes need it.
//! - **Signers**: a key is unlocked once ([`unlock_session_key`], [`unlock_owner_key`])
//!   into a [`SessionSigner`] or [`OwnerSigner`] that keeps it in WebAssembly memory and
//!   zeroes it on `free()`. Plaintext keys cross to JavaScript only through the explicitly
//!   named `exportPrivateKeyPlaintext()` and `fromPlaintext()`; between two instances of
//!   this module (a page and its worker) a key moves sealed under a one-time key
//!   (`sealForTransfer`, `fromTransfer`).
//! - **EVM keys** (secp256k1): [`generate_evm_signer`] and [`unlock_evm_key`] give an
//!   [`EvmSigner`], sealed as `lk2$owner-secp256k1$…` / `lk2$session-secp256k1$…`, which
//!   signs userOp hashes (`kind ‖ r ‖ s ‖ v`) and custody proofs (`personal_sign`).
//! - **Hashing and addresses**: [`message_hash`] (SNIP-12 revision 1),
//!   [`account_address`], [`decode_outside_execution`], [`selector_from_name`].
//! - **Proofs of key possession**: [`proof_hash`] and [`payload_hash`], and
//!   `signProof` on both signers, which signs a server-issued challenge with the held key
//!   (the key itself never leaves WebAssembly memory).
//! - **Errors**: every failure is thrown as a JavaScript `Error` named `LatchkeyError`
//!   with `code` (a stable string) and `numericCode` (an [`ErrorCode`]); messages never
//!   contain a PIN, a key or a ciphertext.
//!
//! ## Feature flags
//! One crate, several WebAssembly modules (see `sdk/ts/build.sh`), so that a page loads
//! only what it uses: the default is everything.
//! - `signing`: holding Starknet keys and signing with them (typed data, proofs,
//!   hashes, verification); the module a page loads first.
//! - `sealing`: making, sealing and opening keys (Argon2id, the PIN OPRF, the Chipi
//!   format); the key vault's module, loaded when a key is sealed or opened.
//! - `evm`: EVM keys, with `sealing` (their envelopes are the same).
//!
//! - `session`: the Starknet session path alone ([`SessionUnlock`], [`SessionKey`]):
//!   open a sealed session key with the server's PIN evaluation, prove the unlock, sign
//!   outside executions given by their fields; no JSON parser and no big integers.
//!
//! Each of `signing`, `sealing` and `evm` also holds keys by their public parts and moves
//! them to another module under a one-time key (`sealForTransfer`, `fromTransfer`).
//!
//! Randomness comes from the caller: functions that need it take 32+ bytes from
//! `crypto.getRandomValues` (see [`MIN_ENTROPY_BYTES`]).

#[cfg(any(feature = "signing", feature = "sealing"))]
mod address;
#[cfg(feature = "common")]
mod api;
mod args;
mod entropy;
mod error;
#[cfg(feature = "evm")]
mod evm;
#[cfg(feature = "common")]
mod format;
#[cfg(feature = "common")]
mod js;
#[cfg(feature = "common")]
mod keys;
mod pin;
#[cfg(feature = "session")]
mod session;
#[cfg(any(feature = "signing", feature = "session"))]
mod signature;

#[cfg(feature = "signing")]
pub use api::{
    account_address, decode_outside_execution, generate_owner_signer, message_hash, proof_hash,
    verify,
};
#[cfg(feature = "sealing")]
pub use api::{
    create_owner_signer, create_session_signer, unlock_owner_key, unlock_session_key, KdfParams,
    Secret,
};
#[cfg(feature = "common")]
pub use api::{
    encrypted_key_format, needs_upgrade, normalize_felt, payload_hash, pin_weakness,
    selector_from_name, short_string_felt, validate_encrypted_key, version, OwnerSigner,
    SessionSigner,
};
pub use entropy::MIN_ENTROPY_BYTES;
pub use error::{error_code_name, ErrorCode};
#[cfg(feature = "evm")]
pub use evm::{generate_evm_signer, unlock_evm_key, EvmSigner};
#[cfg(feature = "common")]
pub use format::KeyFormat;
#[cfg(feature = "common")]
pub use js::{JsEnvelopeInfo, JsOutsideExecution, JsOwnerSignature, JsSessionKeyData, JsTypedData};
#[cfg(feature = "common")]
pub use pin::envelope_info;
#[cfg(feature = "sealing")]
pub use pin::{blind_pin, PinBlind};
#[cfg(feature = "session")]
pub use session::{entrypoint_selector, session_key_oprf_key, SessionKey, SessionUnlock};
