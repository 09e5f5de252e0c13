//! Key generation in the Chipi SDK's exact formats, and the session key record the SDK
//! stores (`SessionKeyData`).
//!
//! - Session keys: 48 random bytes reduced into `[1, n - 1]` the way `@noble/curves`'
//!   `mapHashToField` does (`x mod (n - 1) + 1`, big-endian), written `0x` + 64
//!   zero-padded lowercase hex digits.
//! - Owner (wallet) keys: 32 random bytes reduced mod `2^251`, written in minimal
//!   lowercase hex; zero is rejected.
//! - Public keys: the x coordinate of `secret · G` in minimal lowercase hex.
//!
//! Randomness is always a parameter: this crate never reaches for an OS RNG.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::felt::{parse_felt, to_hex, Felt, FeltError};
pub use crate::secret::{private_key_text, KeyKind, SecretString};
use crate::signature::SigningKey;

/// Default session lifetime in seconds (`SESSION_DEFAULTS.DURATION_SECONDS`: 6 hours).
pub const DEFAULT_SESSION_DURATION_SECONDS: u64 = 21_600;

/// Default number of calls a registered session may make (`SESSION_DEFAULTS.MAX_CALLS`).
pub const DEFAULT_SESSION_MAX_CALLS: u32 = 1_000;

/// Bytes of entropy behind a session key (noble's `getMinHashLength(n)`).
pub const SESSION_KEY_ENTROPY_BYTES: usize = 48;

/// Bytes of entropy behind an owner key (`WordArray.random(32)` in the SDK).
pub const OWNER_KEY_ENTROPY_BYTES: usize = 32;

/// `n - 1` for the STARK curve order `n`, as little-endian 64-bit limbs.
const ORDER_MINUS_ONE: [u64; 4] =
    [0x1e66_a241_adc6_4d2e, 0xb781_126d_cae7_b232, 0xffff_ffff_ffff_ffff, 0x0800_0000_0000_0010];

/// Why a key cannot be made from the given bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes reduce to zero, which is not a private key.
    #[error("the key material reduces to zero")]
    Zero,
}

/// A session key from 48 bytes of entropy, exactly as noble's
/// `mapHashToField(bytes, n)`: the big-endian integer reduced mod `n - 1`, plus one.
///
/// The result always lies in `[1, n - 1]`; the `Result` only mirrors
/// [`SigningKey::from_felt`].
pub fn session_key_from_entropy(
    entropy: &[u8; SESSION_KEY_ENTROPY_BYTES],
) -> Result<SigningKey, KeyError> {
    let mut reduced = reduce_mod_order_minus_one(entropy);
    // reduced + 1 <= n - 1 < 2^252: no carry out of the top limb.
    let mut carry = 1u64;
    for limb in reduced.iter_mut() {
        let (sum, overflow) = limb.overflowing_add(carry);
        *limb = sum;
        carry = u64::from(overflow);
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    for (i, limb) in reduced.iter().enumerate() {
        bytes[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
    }
    reduced.zeroize();
    SigningKey::from_felt(Felt::from_bytes_be(&bytes)).map_err(|_| KeyError::Zero)
}

/// A fresh session key from `rng`, as `ec.starkCurve.utils.randomPrivateKey()`.
pub fn generate_session_key(rng: &mut impl CryptoRngCore) -> SigningKey {
    let mut entropy = Zeroizing::new([0u8; SESSION_KEY_ENTROPY_BYTES]);
    loop {
        rng.fill_bytes(entropy.as_mut());
        if let Ok(key) = session_key_from_entropy(&entropy) {
            return key;
        }
    }
}

/// An owner key from 32 bytes of entropy, as the SDK's `getPrivateKeyAX`: the big-endian
/// integer mod `2^251` (always below the curve order). Zero is rejected.
pub fn owner_key_from_entropy(
    entropy: &[u8; OWNER_KEY_ENTROPY_BYTES],
) -> Result<SigningKey, KeyError> {
    let mut bytes = Zeroizing::new(*entropy);
    // 256 - 251 = 5 bits to drop from the top byte.
    bytes[0] &= 0x07;
    SigningKey::from_felt(Felt::from_bytes_be(&bytes)).map_err(|_| KeyError::Zero)
}

/// A fresh owner key from `rng`; draws again in the (2^-251) case of a zero key.
pub fn generate_owner_key(rng: &mut impl CryptoRngCore) -> SigningKey {
    let mut entropy = Zeroizing::new([0u8; OWNER_KEY_ENTROPY_BYTES]);
    loop {
        rng.fill_bytes(entropy.as_mut());
        if let Ok(key) = owner_key_from_entropy(&entropy) {
            return key;
        }
    }
}

/// The public key as the SDK prints it (`getStarkKey`): minimal lowercase hex.
pub fn public_key_hex(key: &SigningKey) -> String {
    to_hex(&key.public_key())
}

/// `x mod (n - 1)` for a 384-bit big-endian `x`, by binary long division over 4 limbs
/// without secret-dependent branches.
fn reduce_mod_order_minus_one(input: &[u8; SESSION_KEY_ENTROPY_BYTES]) -> [u64; 4] {
    let mut r = [0u64; 4];
    let mut diff = [0u64; 4];
    for byte in input {
        for bit in (0..8).rev() {
            // r < m < 2^252, so 2r + 1 < 2^253 fits in four limbs.
            let mut carry = u64::from((byte >> bit) & 1);
            for limb in r.iter_mut() {
                let next = *limb >> 63;
                *limb = (*limb << 1) | carry;
                carry = next;
            }
            let mut borrow = 0u64;
            for i in 0..4 {
                let (d, b1) = r[i].overflowing_sub(ORDER_MINUS_ONE[i]);
                let (d, b2) = d.overflowing_sub(borrow);
                diff[i] = d;
                borrow = u64::from(b1 | b2);
            }
            // borrow = 1 means r < m: keep r; otherwise take r - m.
            let keep = 0u64.wrapping_sub(borrow);
            for i in 0..4 {
                r[i] = (r[i] & keep) | (diff[i] & !keep);
            }
        }
    }
    diff.zeroize();
    r
}

/// The session key record of the Chipi SDK (`SessionKeyData`), with identical JSON:
/// `{"publicKey": "0x…", "encryptedPrivateKey": "…", "validUntil": 1795256074}`.
///
/// `public_key` is kept verbatim (the SDK sends it back as signature element 0);
/// `encrypted_private_key` is either a Chipi `U2FsdGVkX1…` ciphertext or a latchkey
/// `lk1$…` envelope. `Debug` does not print the ciphertext.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionKeyData {
    /// The session public key, `0x` + minimal lowercase hex.
    pub public_key: String,
    /// The encrypted session private key.
    pub encrypted_private_key: String,
    /// Unix time (seconds) after which the session is expired.
    pub valid_until: u64,
}

impl SessionKeyData {
    /// The public key as a felt.
    pub fn public_key_felt(&self) -> Result<Felt, FeltError> {
        parse_felt(&self.public_key)
    }
}

impl std::fmt::Debug for SessionKeyData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = crate::keystore::KeyFormat::detect(&self.encrypted_private_key)
            .map_or("unknown", |format| format.as_str());
        f.debug_struct("SessionKeyData")
            .field("public_key", &self.public_key)
            .field("encrypted_private_key", &format_args!("<{format} ciphertext>"))
            .field("valid_until", &self.valid_until)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::BigUint;
    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};

    use super::*;
    use crate::signature::EC_ORDER;

    fn reference_map_hash_to_field(bytes: &[u8]) -> BigUint {
        let n_minus_1 = EC_ORDER.to_biguint() - 1u32;
        BigUint::from_bytes_be(bytes) % n_minus_1 + 1u32
    }

    #[test]
    fn map_hash_to_field_matches_noble() {
        // Values computed independently: int.from_bytes(b, "big") % (n - 1) + 1.
        let ascending: [u8; 48] = core::array::from_fn(|i| i as u8);
        assert_eq!(
            session_key_from_entropy(&ascending).unwrap().secret_hex().as_str(),
            "0x01fa7ad8e94030963af9337eab88379b83ece49c812d5a96a342888e8f6fcaa2"
        );
        assert_eq!(
            session_key_from_entropy(&[0xff; 48]).unwrap().secret_hex().as_str(),
            "0x07ddb246997113497c10e1afd2b4964a336a9c6e87a5e47d18103d6c42abdf12"
        );
        assert_eq!(
            session_key_from_entropy(&[0u8; 48]).unwrap().secret_hex().as_str(),
            "0x0000000000000000000000000000000000000000000000000000000000000001"
        );
    }

    #[test]
    fn map_hash_to_field_agrees_with_bignum_reduction() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..300 {
            let mut bytes = [0u8; 48];
            rng.fill_bytes(&mut bytes);
            let key = session_key_from_entropy(&bytes).unwrap();
            let expected = reference_map_hash_to_field(&bytes);
            assert_eq!(key.secret_hex().as_str(), format!("0x{expected:064x}"));
        }
        // Inputs at the modulus boundary: n - 1 and n - 2 themselves.
        let m = EC_ORDER.to_biguint() - 1u32;
        for value in [m.clone(), m.clone() - 1u32, m.clone() + 1u32, m * 2u32] {
            let raw = value.to_bytes_be();
            let mut bytes = [0u8; 48];
            bytes[48 - raw.len()..].copy_from_slice(&raw);
            let key = session_key_from_entropy(&bytes).unwrap();
            assert_eq!(
                key.secret_hex().as_str(),
                format!("0x{:064x}", reference_map_hash_to_field(&bytes))
            );
        }
    }

    #[test]
    fn session_keys_are_padded_and_public_keys_minimal() {
        let mut rng = StdRng::seed_from_u64(1);
        let key = generate_session_key(&mut rng);
        let text = private_key_text(&key, KeyKind::Session);
        let text = text.expose();
        assert_eq!(text.len(), 66);
        assert!(text.starts_with("0x"));
        assert!(text[2..].chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        let public = public_key_hex(&key);
        assert_eq!(public, to_hex(&key.public_key()));
        assert!(!public[2..].starts_with('0'));
    }

    #[test]
    fn sdk_key_formats_and_public_keys() {
        // chipi-wire.md §3.1: the captured session key and its public key.
        let key = SigningKey::from_hex(
            "0x00aaa8e74ec9583ccf4b2222cf97149172b5579647d567c0dd7873b392e1f88b",
        )
        .unwrap();
        assert_eq!(
            public_key_hex(&key),
            "0xf4ccb917ed5f83f157418ec503451dcd48d958be30dac3007b61fa8a6185e5"
        );
        assert_eq!(
            private_key_text(&key, KeyKind::Session).expose(),
            "0x00aaa8e74ec9583ccf4b2222cf97149172b5579647d567c0dd7873b392e1f88b"
        );
        assert_eq!(
            private_key_text(&key, KeyKind::Owner).expose(),
            "0xaaa8e74ec9583ccf4b2222cf97149172b5579647d567c0dd7873b392e1f88b"
        );
    }

    #[test]
    fn owner_keys_reduce_mod_2_251_and_reject_zero() {
        let key = owner_key_from_entropy(&[0xff; 32]).unwrap();
        assert_eq!(
            private_key_text(&key, KeyKind::Owner).expose(),
            format!("0x7{}", "f".repeat(62))
        );
        let mut top_only = [0u8; 32];
        top_only[0] = 0xf8; // only bits at or above 2^251
        assert_eq!(owner_key_from_entropy(&top_only).err(), Some(KeyError::Zero));
        assert_eq!(owner_key_from_entropy(&[0u8; 32]).err(), Some(KeyError::Zero));
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(
            private_key_text(&owner_key_from_entropy(&one).unwrap(), KeyKind::Owner).expose(),
            "0x1"
        );

        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..50 {
            let key = generate_owner_key(&mut rng);
            let text = private_key_text(&key, KeyKind::Owner);
            let text = text.expose();
            assert!(!text[2..].starts_with('0'));
            assert!(key.public_key() != Felt::ZERO);
            let value = BigUint::parse_bytes(&text.as_bytes()[2..], 16).unwrap();
            assert!(value < (BigUint::from(1u8) << 251u32));
        }
    }

    #[test]
    fn session_key_data_json_matches_the_sdk() {
        let json = r#"{"publicKey":"0xf4cc","encryptedPrivateKey":"U2FsdGVkX18abc","validUntil":1795256074}"#;
        let data: SessionKeyData = serde_json::from_str(json).unwrap();
        assert_eq!(data.valid_until, 1_795_256_074);
        assert_eq!(serde_json::to_string(&data).unwrap(), json);
        assert_eq!(data.public_key_felt().unwrap(), Felt::from(0xf4ccu32));
    }

    #[test]
    fn k11_secret_text_debug_is_redacted() {
        let key = SigningKey::from_hex(
            "0x00aaa8e74ec9583ccf4b2222cf97149172b5579647d567c0dd7873b392e1f88b",
        )
        .unwrap();
        for kind in [KeyKind::Session, KeyKind::Owner] {
            let text = private_key_text(&key, kind);
            let debug = format!("{text:?} {:?}", Some(&text));
            assert!(!debug.contains("aaa8e74ec9583ccf"), "{debug}");
            assert!(debug.contains("redacted"));
        }
    }

    #[test]
    fn k11_session_key_data_debug_hides_the_ciphertext() {
        let data = SessionKeyData {
            public_key: "0xabc".into(),
            encrypted_private_key: "U2FsdGVkX18BAgMEBQYHCKGUsHUkL0wRBA6EiGSL1TU=".into(),
            valid_until: 5,
        };
        let debug = format!("{data:?}");
        assert!(!debug.contains("KGUsHUkL0wRBA6EiGSL1TU"), "{debug}");
        assert!(debug.contains("chipi"), "{debug}");
    }
}
