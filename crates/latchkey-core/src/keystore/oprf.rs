//! PIN unlock through an oblivious PRF: RFC 9497, ristretto255-SHA512, OPRF mode.
//!
//! A PIN-sealed `lk2` envelope ([`super::hardened`]) mixes into its key-encryption key the
//! OPRF output `F(k, PIN)`, where `k` is a per-wallet key only the server can compute
//! (from a key file it keeps outside the database). The client learns `F(k, PIN)` by
//! blinding the PIN ([`blind_pin`]), sending the 32-byte blinded element, and unblinding
//! the server's 32-byte answer ([`PinBlind::finalize`]); the server sees neither the PIN
//! nor the output. Without `k` a right guess cannot be told from a wrong one offline,
//! and every online guess is an evaluation the server counts (threats K1–K4).
//!
//! ```text
//! client                                   server (key file: master)
//! r ← random scalar
//! B = r · HashToGroup(PIN)       ──B──▶     k = DeriveKeyPair(master, info(key id, account))
//!                                ◀──Z──     Z = k · B
//! y = SHA-512(len ‖ PIN ‖ len ‖ r⁻¹·Z ‖ "Finalize")   (64 bytes)
//! ```
//!
//! `info(key id, account) = "latchkey/lk2/oprf" 0x00 ‖ key id ‖ 0x00 ‖ account (32 bytes BE)`,
//! so each wallet has its own OPRF key and an evaluation for one wallet says nothing
//! about another. The blinded element is random for every unlock: a recorded answer is
//! useless for any later request.

use rand_core::CryptoRngCore;
use voprf::{BlindedElement, EvaluationElement, OprfClient, OprfServer, Ristretto255};
use zeroize::Zeroizing;

use super::{is_valid_share_id, KeystoreError};
use crate::felt::Felt;

/// Length of a blinded or evaluated element (a compressed ristretto255 point).
pub const ELEMENT_BYTES: usize = 32;
/// Length of an OPRF output (SHA-512).
pub const OUTPUT_BYTES: usize = 64;
/// Length of the server's master key material.
pub const MASTER_KEY_BYTES: usize = 32;

const INFO_LABEL: &[u8] = b"latchkey/lk2/oprf";

/// The client's half of one evaluation: the blinding scalar, for [`Self::finalize`].
///
/// Zeroed on drop (the scalar is the only secret). `Debug` shows nothing of it.
pub struct PinBlind {
    state: OprfClient<Ristretto255>,
}

impl std::fmt::Debug for PinBlind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinBlind").finish_non_exhaustive()
    }
}

/// Blinds a PIN or passphrase (UTF-8, as typed): the state to keep and the 32-byte
/// element to send.
pub fn blind_pin(
    pin: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<(PinBlind, [u8; ELEMENT_BYTES]), KeystoreError> {
    if pin.is_empty() {
        return Err(KeystoreError::EmptyKey);
    }
    let blinded = OprfClient::<Ristretto255>::blind(pin.as_bytes(), rng)
        .map_err(|_| KeystoreError::Malformed("PIN too long for the OPRF"))?;
    let mut message = [0u8; ELEMENT_BYTES];
    message.copy_from_slice(&blinded.message.serialize());
    Ok((PinBlind { state: blinded.state }, message))
}

impl PinBlind {
    /// Unblinds the server's answer into the OPRF output for `pin` (the same PIN that was
    /// blinded; another PIN gives another, useless output). `key_id` is the OPRF key the
    /// server used, recorded in envelopes sealed with the output.
    pub fn finalize(
        &self,
        pin: &str,
        evaluated: &[u8],
        key_id: &str,
    ) -> Result<OprfOutput, KeystoreError> {
        let element = EvaluationElement::<Ristretto255>::deserialize(evaluated)
            .map_err(|_| KeystoreError::InvalidOprfElement)?;
        let output = self
            .state
            .finalize(pin.as_bytes(), &element)
            .map_err(|_| KeystoreError::InvalidOprfElement)?;
        OprfOutput::new(key_id, &output)
    }
}

/// The OPRF output for a PIN under one wallet's OPRF key, and that key's id.
///
/// Zeroed on drop. `Debug` shows only the key id.
pub struct OprfOutput {
    key_id: String,
    bytes: Zeroizing<[u8; OUTPUT_BYTES]>,
}

impl OprfOutput {
    /// An output of 64 bytes under the key `key_id` (share-id syntax: 1–64 characters of
    /// `[A-Za-z0-9._-]`, starting with a letter or digit).
    pub fn new(key_id: &str, bytes: &[u8]) -> Result<Self, KeystoreError> {
        if !is_valid_share_id(key_id) {
            return Err(KeystoreError::Malformed("bad OPRF key id"));
        }
        let bytes: [u8; OUTPUT_BYTES] =
            bytes.try_into().map_err(|_| KeystoreError::InvalidOprfElement)?;
        Ok(Self { key_id: key_id.to_string(), bytes: Zeroizing::new(bytes) })
    }

    /// The OPRF key the output was computed under.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The 64 output bytes: a secret, as strong as the sealing key it helps derive.
    pub fn bytes(&self) -> &[u8; OUTPUT_BYTES] {
        &self.bytes
    }
}

impl std::fmt::Debug for OprfOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OprfOutput").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// One wallet's OPRF key, held by the server. `Debug` shows only the key id.
pub struct WalletOprfKey {
    key_id: String,
    server: OprfServer<Ristretto255>,
}

impl std::fmt::Debug for WalletOprfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletOprfKey").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// The RFC 9497 `info` string of a wallet's key.
fn key_info(key_id: &str, account: &Felt) -> Vec<u8> {
    let mut info = Vec::with_capacity(INFO_LABEL.len() + key_id.len() + 34);
    info.extend_from_slice(INFO_LABEL);
    info.push(0);
    info.extend_from_slice(key_id.as_bytes());
    info.push(0);
    info.extend_from_slice(&account.to_bytes_be());
    info
}

impl WalletOprfKey {
    /// `DeriveKeyPair(master, info(key_id, account))` (RFC 9497 §3.2.1).
    pub fn derive(
        master: &[u8; MASTER_KEY_BYTES],
        key_id: &str,
        account: &Felt,
    ) -> Result<Self, KeystoreError> {
        if !is_valid_share_id(key_id) {
            return Err(KeystoreError::Malformed("bad OPRF key id"));
        }
        let server = OprfServer::<Ristretto255>::new_from_seed(master, &key_info(key_id, account))
            .map_err(|_| KeystoreError::Kdf)?;
        Ok(Self { key_id: key_id.to_string(), server })
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Evaluates a client's blinded element. A value that is not the canonical encoding
    /// of a non-identity ristretto255 point is refused.
    pub fn evaluate(&self, blinded: &[u8]) -> Result<[u8; ELEMENT_BYTES], KeystoreError> {
        if blinded.len() != ELEMENT_BYTES {
            return Err(KeystoreError::InvalidOprfElement);
        }
        let element = BlindedElement::<Ristretto255>::deserialize(blinded)
            .map_err(|_| KeystoreError::InvalidOprfElement)?;
        let mut out = [0u8; ELEMENT_BYTES];
        out.copy_from_slice(&self.server.blind_evaluate(&element).serialize());
        Ok(out)
    }

    /// The OPRF output computed directly from the input, without blinding (RFC 9497
    /// `Evaluate`): for test vectors and for showing what only the key holder can do.
    pub fn evaluate_unblinded(&self, pin: &str) -> Result<OprfOutput, KeystoreError> {
        let output = self
            .server
            .evaluate(pin.as_bytes())
            .map_err(|_| KeystoreError::Malformed("PIN too long for the OPRF"))?;
        OprfOutput::new(&self.key_id, &output)
    }
}

/// A serialised RFC 9497 private key, from seed and info: what the RFC's test vectors
/// call `skSm`. Only for checking the derivation against those vectors.
pub fn derive_private_key_bytes(seed: &[u8], info: &[u8]) -> Result<[u8; 32], KeystoreError> {
    let server =
        OprfServer::<Ristretto255>::new_from_seed(seed, info).map_err(|_| KeystoreError::Kdf)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&server.serialize());
    Ok(out)
}

/// RFC 9497 `Evaluate(skS, input)` with a key derived from seed and info: the output a
/// blinded round trip must also produce. Only for test vectors.
pub fn evaluate_with_seed(
    seed: &[u8],
    info: &[u8],
    input: &[u8],
) -> Result<[u8; OUTPUT_BYTES], KeystoreError> {
    let server =
        OprfServer::<Ristretto255>::new_from_seed(seed, info).map_err(|_| KeystoreError::Kdf)?;
    let output = server.evaluate(input).map_err(|_| KeystoreError::Malformed("bad OPRF input"))?;
    let mut out = [0u8; OUTPUT_BYTES];
    out.copy_from_slice(&output);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    const MASTER: [u8; 32] = [7; 32];

    fn account() -> Felt {
        Felt::from(0xacc0u32)
    }

    #[test]
    fn a_blinded_round_trip_gives_the_direct_output() {
        let mut rng = StdRng::seed_from_u64(1);
        let key = WalletOprfKey::derive(&MASTER, "v1", &account()).unwrap();
        let (blind, message) = blind_pin("482913", &mut rng).unwrap();
        let answer = key.evaluate(&message).unwrap();
        let output = blind.finalize("482913", &answer, "v1").unwrap();
        assert_eq!(output.bytes(), key.evaluate_unblinded("482913").unwrap().bytes());
        assert_eq!(output.key_id(), "v1");
    }

    #[test]
    fn outputs_differ_by_pin_wallet_and_key_id() {
        let direct = |id: &str, account: Felt, pin: &str| {
            *WalletOprfKey::derive(&MASTER, id, &account)
                .unwrap()
                .evaluate_unblinded(pin)
                .unwrap()
                .bytes()
        };
        let base = direct("v1", account(), "482913");
        assert_ne!(base, direct("v1", account(), "482914"));
        assert_ne!(base, direct("v1", Felt::from(0xacc1u32), "482913"));
        assert_ne!(base, direct("v2", account(), "482913"));
    }

    #[test]
    fn k4_a_recorded_answer_is_useless_for_a_new_blind() {
        let mut rng = StdRng::seed_from_u64(2);
        let key = WalletOprfKey::derive(&MASTER, "v1", &account()).unwrap();
        let (_, old_message) = blind_pin("482913", &mut rng).unwrap();
        let recorded = key.evaluate(&old_message).unwrap();
        let (fresh, _) = blind_pin("482913", &mut rng).unwrap();
        let replayed = fresh.finalize("482913", &recorded, "v1").unwrap();
        assert_ne!(replayed.bytes(), key.evaluate_unblinded("482913").unwrap().bytes());
    }

    #[test]
    fn malformed_elements_are_refused() {
        let key = WalletOprfKey::derive(&MASTER, "v1", &account()).unwrap();
        let (blind, _) = blind_pin("482913", &mut StdRng::seed_from_u64(3)).unwrap();
        for bad in [vec![], vec![0u8; 31], vec![0u8; 33], vec![0u8; 32], vec![0xff; 32]] {
            assert_eq!(key.evaluate(&bad), Err(KeystoreError::InvalidOprfElement), "{bad:?}");
            assert!(blind.finalize("482913", &bad, "v1").is_err());
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let key = WalletOprfKey::derive(&MASTER, "v1", &account()).unwrap();
        let output = key.evaluate_unblinded("482913").unwrap();
        let (blind, _) = blind_pin("482913", &mut StdRng::seed_from_u64(4)).unwrap();
        let text = format!("{key:?} {output:?} {blind:?}");
        assert_eq!(text, "WalletOprfKey { key_id: \"v1\", .. } OprfOutput { key_id: \"v1\", .. } PinBlind { .. }");
    }

    proptest! {
        #[test]
        fn evaluate_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let key = WalletOprfKey::derive(&MASTER, "v1", &account()).unwrap();
            let _ = key.evaluate(&bytes);
            let (blind, _) = blind_pin("1", &mut StdRng::seed_from_u64(5)).unwrap();
            let _ = blind.finalize("1", &bytes, "v1");
        }
    }
}
