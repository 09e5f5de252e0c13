//! Session signatures as JavaScript receives them, shared by the full SDK's
//! `SessionSigner` and the session module's `SessionKey`.

use latchkey_core::{Felt, SessionError, SessionSignature, SigningKey};

use crate::error::{WasmError, WasmResult};

/// `key`'s session signature of `hash` (`SIGNING_FAILED` for a hash out of range).
pub(crate) fn sign_session_hash(
    key: &SigningKey,
    hash: &Felt,
    valid_until: u64,
) -> WasmResult<SessionSignature> {
    SessionSignature::sign(key, hash, valid_until)
        .map_err(|e| WasmError::from(SessionError::SigningFailed(e)))
}

/// `[sessionPublicKey, r, s, validUntil]` (hex), the public key exactly as the session
/// record stores it.
pub(crate) fn session_signature_hex(signature: &SessionSignature, public_key: &str) -> Vec<String> {
    let mut felts = signature.to_hex_strings();
    if let Some(first) = felts.first_mut() {
        public_key.clone_into(first);
    }
    felts
}
