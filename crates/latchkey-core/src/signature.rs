//! Stark ECDSA keys and signatures: RFC 6979 deterministic signing, verification, and the
//! owner (`[r, s]`) and session (`[session_pubkey, r, s, valid_until]`) layouts.

mod fixed_base;
mod scalar;

use serde::{Deserialize, Serialize};
use starknet_rust_crypto::{get_public_key, rfc6979_generate_k, verify, SignError};
use zeroize::Zeroizing;

use crate::felt::{parse_felt, serde_hex, to_hex, Felt};

/// Order of the STARK curve's generator.
pub const EC_ORDER: Felt =
    Felt::from_hex_unchecked("0x0800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2f");

/// Why a key or signature cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A private key must lie in `[1, n - 1]`.
    #[error("private key out of range")]
    InvalidPrivateKey,
    /// A private key string that is not a felt. The input is never echoed.
    #[error("private key is not a valid hex or decimal number")]
    MalformedPrivateKey,
    /// Message hashes must be below `2^251`.
    #[error("message hash out of range")]
    MessageHashOutOfRange,
    /// The generator table could not be built (a point at infinity, which the STARK
    /// curve's multiples of `G` never are).
    #[error("the signing table is unavailable")]
    TableUnavailable,
}

/// A Stark private key. Zeroed on drop; its `Debug` shows only the public key.
pub struct SigningKey {
    secret: Zeroizing<[u8; 32]>,
    public_key: Felt,
}

impl SigningKey {
    /// A key from its scalar, which must lie in `[1, n - 1]`.
    pub fn from_felt(secret: Felt) -> Result<Self, SignatureError> {
        if secret == Felt::ZERO || secret >= EC_ORDER {
            return Err(SignatureError::InvalidPrivateKey);
        }
        Ok(Self {
            secret: Zeroizing::new(secret.to_bytes_be()),
            public_key: get_public_key(&secret),
        })
    }

    /// A key from `0x` hex or decimal text (as the Chipi SDK stores it).
    pub fn from_hex(text: &str) -> Result<Self, SignatureError> {
        let secret = parse_felt(text).map_err(|_| SignatureError::MalformedPrivateKey)?;
        Self::from_felt(secret)
    }

    /// The public key: the x coordinate of `secret · G`.
    pub fn public_key(&self) -> Felt {
        self.public_key
    }

    /// The private key as `0x` + 64 zero-padded lowercase hex digits, in a zeroizing
    /// buffer. This is the only way out of a `SigningKey`.
    pub fn secret_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("0x{}", hex::encode(*self.secret)))
    }

    /// The scalar, for the few callers that must hand it to another library.
    pub fn secret_scalar(&self) -> Zeroizing<[u8; 32]> {
        self.secret.clone()
    }

    fn scalar(&self) -> Felt {
        Felt::from_bytes_be(&self.secret)
    }

    /// Signs a message hash with an RFC 6979 deterministic nonce (as cairo-lang,
    /// starknet.js and starknet-rs do, including the seed bump on a rejected `k`).
    pub fn sign(&self, hash: &Felt) -> Result<Signature, SignatureError> {
        // `Felt` is `Copy` and cannot be zeroized; the stored secret bytes are.
        let secret = self.scalar();
        // The precomputed generator table gives the same (r, s) as
        // `starknet_rust_crypto::sign`, several times faster, without its big-integer
        // arithmetic (which would weigh on the browser's WebAssembly).
        let table = fixed_base::table().ok_or(SignatureError::TableUnavailable)?;
        let mut seed: Option<Felt> = None;
        loop {
            let k = rfc6979_generate_k(hash, &secret, seed.as_ref());
            match fixed_base::sign(table, &secret, hash, &k) {
                Ok((r, s)) => return Ok(Signature { r, s }),
                Err(SignError::InvalidMessageHash) => {
                    return Err(SignatureError::MessageHashOutOfRange)
                }
                Err(SignError::InvalidK) => {
                    seed = Some(seed.map_or(Felt::ONE, |s| s + Felt::ONE));
                }
            }
        }
    }
}

impl Clone for SigningKey {
    fn clone(&self) -> Self {
        Self { secret: self.secret.clone(), public_key: self.public_key }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &to_hex(&self.public_key))
            .finish_non_exhaustive()
    }
}

/// A Stark ECDSA signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// `r`.
    #[serde(with = "serde_hex")]
    pub r: Felt,
    /// `s`.
    #[serde(with = "serde_hex")]
    pub s: Felt,
}

impl Signature {
    /// `[r, s]`: the owner signature as the account contract reads it.
    pub fn to_owner_felts(self) -> Vec<Felt> {
        vec![self.r, self.s]
    }
}

/// Verifies a signature; any malformed input is simply invalid.
pub fn verify_signature(public_key: &Felt, hash: &Felt, signature: &Signature) -> bool {
    verify(public_key, hash, &signature.r, &signature.s).unwrap_or(false)
}

/// The 4-felt session signature `[session_pubkey, r, s, valid_until]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSignature {
    /// The session public key.
    pub session_key: Felt,
    /// The signature over the message hash.
    pub signature: Signature,
    /// The session expiry the signer claims; the contract caps it by the stored expiry.
    pub valid_until: u64,
}

impl SessionSignature {
    /// Signs `hash` with a session key.
    pub fn sign(key: &SigningKey, hash: &Felt, valid_until: u64) -> Result<Self, SignatureError> {
        Ok(Self { session_key: key.public_key(), signature: key.sign(hash)?, valid_until })
    }

    /// `[session_pubkey, r, s, valid_until]`.
    pub fn to_felts(&self) -> Vec<Felt> {
        vec![self.session_key, self.signature.r, self.signature.s, Felt::from(self.valid_until)]
    }

    /// The JSON array of minimal hex strings the Chipi SDK sends.
    pub fn to_hex_strings(&self) -> Vec<String> {
        self.to_felts().iter().map(to_hex).collect()
    }

    /// Parses `[session_pubkey, r, s, valid_until]`; `None` unless exactly 4 felts with a
    /// `valid_until` that fits a `u64`.
    pub fn from_felts(felts: &[Felt]) -> Option<Self> {
        let [key, r, s, until] = felts else { return None };
        Some(Self {
            session_key: *key,
            signature: Signature { r: *r, s: *s },
            valid_until: u64::try_from(*until).ok()?,
        })
    }

    /// Verifies the signature part against the embedded session key.
    pub fn verify(&self, hash: &Felt) -> bool {
        verify_signature(&self.session_key, hash, &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::felt::tests::{any_felt, any_text};
    use num_bigint::BigUint;
    use proptest::prelude::*;
    use starknet_rust_crypto::sign;
    use starknet_types_core::curve::AffinePoint;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn session_signature_from_felts_takes_exactly_four_and_round_trips(
            felts in prop::collection::vec(any_felt(), 0..7),
        ) {
            let parsed = SessionSignature::from_felts(&felts);
            let fits = felts.len() == 4 && u64::try_from(felts[3]).is_ok();
            prop_assert_eq!(parsed.is_some(), fits);
            if let Some(sig) = parsed {
                prop_assert_eq!(sig.to_felts(), felts);
                let strings = sig.to_hex_strings();
                let back: Vec<Felt> =
                    strings.iter().map(|s| crate::felt::parse_felt(s).unwrap()).collect();
                prop_assert_eq!(SessionSignature::from_felts(&back), Some(sig));
            }
        }

    }

    // Curve arithmetic costs about a millisecond a case.
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn session_signatures_of_arbitrary_felts_never_verify(
            key in any_felt(),
            r in any_felt(),
            s in any_felt(),
            until in any::<u64>(),
            hash in any_felt(),
        ) {
            let sig = SessionSignature::from_felts(&[key, r, s, Felt::from(until)]).unwrap();
            // A random (key, r, s) verifies with probability about 2^-251.
            prop_assert!(!sig.verify(&hash));
        }

        #[test]
        fn signing_key_from_hex_never_panics_or_echoes_its_input(text in any_text()) {
            match SigningKey::from_hex(&text) {
                Ok(key) => {
                    let again = SigningKey::from_hex(&key.secret_hex()).unwrap();
                    prop_assert_eq!(again.public_key(), key.public_key());
                }
                Err(err) => {
                    let shown = format!("{err} {err:?}");
                    let input = text.trim();
                    prop_assert!(input.len() < 4 || !shown.contains(input), "{}", shown);
                }
            }
        }

        #[test]
        fn signatures_verify_only_for_their_hash(
            secret in any_felt(),
            hash in any::<[u8; 31]>(),
            other in any::<[u8; 31]>(),
        ) {
            let Ok(key) = SigningKey::from_felt(secret) else { return Ok(()) };
            let hash = Felt::from_bytes_be_slice(&hash);
            let other = Felt::from_bytes_be_slice(&other);
            let sig = SessionSignature::sign(&key, &hash, 7).unwrap();
            prop_assert!(sig.verify(&hash));
            prop_assert_eq!(sig.verify(&other), hash == other);
            prop_assert_eq!(SessionSignature::from_felts(&sig.to_felts()), Some(sig));
        }
    }

    #[test]
    fn verify_is_false_when_the_two_points_cancel() {
        // With public key Q = (m / r)·G, one of u1·G ± u2·Q is the point at infinity;
        // verification must treat it as a mismatch, not fail.
        let n = EC_ORDER.to_biguint();
        let (m, r, s) = (Felt::from(5u8), Felt::from(7u8), Felt::from(3u8));
        let r_inv = r.to_biguint().modpow(&(&n - 2u8), &n);
        let k = Felt::from(m.to_biguint() * r_inv % &n);
        let public_key = (&AffinePoint::generator() * k).x();
        assert!(!verify_signature(&public_key, &m, &Signature { r, s }));
        let sig = SessionSignature::from_felts(&[public_key, r, s, Felt::ONE]).unwrap();
        assert!(!sig.verify(&m));
    }

    /// The signer before the fixed-base table: `starknet_rust_crypto::sign` in the same
    /// RFC 6979 retry loop.
    fn reference_sign(secret: &Felt, hash: &Felt) -> Result<Signature, SignatureError> {
        let mut seed: Option<Felt> = None;
        loop {
            let k = rfc6979_generate_k(hash, secret, seed.as_ref());
            match sign(secret, hash, &k) {
                Ok(sig) => return Ok(Signature { r: sig.r, s: sig.s }),
                Err(SignError::InvalidMessageHash) => {
                    return Err(SignatureError::MessageHashOutOfRange)
                }
                Err(SignError::InvalidK) => {
                    seed = Some(seed.map_or(Felt::ONE, |s| s + Felt::ONE));
                }
            }
        }
    }

    /// Deterministic xorshift felts below `2^bits`.
    struct Felts(u64);

    impl Felts {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below_pow2(&mut self, bits: u32) -> Felt {
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_exact_mut(8) {
                chunk.copy_from_slice(&self.next_u64().to_be_bytes());
            }
            // Vary the magnitude too: sometimes clear the top bytes.
            let cleared = (self.next_u64() % 8) as usize;
            let cleared = if cleared < 6 { 0 } else { cleared * 3 };
            bytes[..cleared].fill(0);
            let excess = (256 - bits) as usize;
            bytes[..excess / 8].fill(0);
            bytes[excess / 8] &= 0xffu8 >> (excess % 8);
            Felt::from_bytes_be(&bytes)
        }
    }

    #[test]
    fn fixed_base_signer_matches_starknet_crypto() {
        let bound = Felt::TWO.pow(251u32);
        let mut rng = Felts(0x0123_4567_89ab_cdef);
        let edge_keys = [Felt::ONE, Felt::TWO, EC_ORDER - Felt::ONE, EC_ORDER - Felt::TWO, bound];
        let edge_hashes = [
            Felt::ZERO,
            Felt::ONE,
            bound - Felt::ONE,
            bound - Felt::TWO,
            bound,
            bound + Felt::ONE,
            EC_ORDER,
            Felt::MAX,
        ];
        let mut pairs = Vec::new();
        for key in edge_keys {
            for hash in edge_hashes {
                pairs.push((key, hash));
            }
            for _ in 0..20 {
                pairs.push((key, rng.below_pow2(252)));
            }
        }
        for _ in 0..2_500 {
            let key = loop {
                let candidate = rng.below_pow2(252);
                if candidate != Felt::ZERO && candidate < EC_ORDER {
                    break candidate;
                }
            };
            // One in 16 is out of range: in [2^251, p).
            let hash = if rng.next_u64().is_multiple_of(16) {
                bound + rng.below_pow2(190)
            } else {
                rng.below_pow2(251)
            };
            pairs.push((key, hash));
        }
        let mut errors = 0;
        for (secret, hash) in &pairs {
            let key = SigningKey::from_felt(*secret).unwrap();
            let ours = key.sign(hash);
            assert_eq!(ours, reference_sign(secret, hash), "key {secret:#x}, hash {hash:#x}");
            errors += usize::from(ours.is_err());
        }
        assert!(pairs.len() >= 2_000);
        // Hashes at or above 2^251 are rejected by both.
        assert!(errors > 100, "{errors}");
    }

    fn to_big(value: &Felt) -> BigUint {
        BigUint::from_bytes_be(&value.to_bytes_be())
    }

    fn from_big(value: &BigUint) -> Felt {
        Felt::from_bytes_be_slice(&value.to_bytes_be())
    }

    #[test]
    fn fixed_base_sign_matches_on_rejected_nonces() {
        let table = fixed_base::table().unwrap();
        let n = to_big(&EC_ORDER);
        let mut cases = Vec::new();
        let d = Felt::from_hex_unchecked("0x4a3b2c1d");
        let m = Felt::from_hex_unchecked("0x5ee5");
        // k = 0, k = n, k just above n, large k, valid k with out-of-range message.
        for k in [Felt::ZERO, EC_ORDER, EC_ORDER + Felt::ONE, Felt::MAX, Felt::TWO.pow(251u32)] {
            cases.push((d, m, k));
        }
        cases.push((d, Felt::TWO.pow(251u32), Felt::from(5u8)));
        cases.push((d, Felt::TWO.pow(251u32), Felt::ZERO));
        // Keys chosen so that s lands on 0, n - 1 (>= 2^251), 2^251 and 2^251 - 1.
        let k = Felt::from_hex_unchecked("0x2f0e1d2c3b4a59687766554433221100ffeeddccbbaa");
        let r = to_big(&(&AffinePoint::generator() * k).x());
        let r_inv = r.modpow(&(&n - 2u8), &n);
        let two_251: BigUint = BigUint::from(1u8) << 251u32;
        for target in [BigUint::from(0u8), &n - 1u8, two_251.clone(), &two_251 - 1u8] {
            // s = (m + r·d) / k  =>  d = (s·k - m) / r.
            let numerator = (&target * to_big(&k) + &n - to_big(&m)) % &n;
            let key = from_big(&(numerator * &r_inv % &n));
            cases.push((key, m, k));
        }
        for (d, m, k) in cases {
            let reference = sign(&d, &m, &k).map(|sig| (sig.r, sig.s));
            let ours = fixed_base::sign(table, &d, &m, &k);
            assert_eq!(format!("{ours:?}"), format!("{reference:?}"), "d {d:#x} m {m:#x} k {k:#x}");
        }
    }

    #[test]
    fn private_key_range_is_enforced() {
        assert_eq!(
            SigningKey::from_felt(Felt::ZERO).err(),
            Some(SignatureError::InvalidPrivateKey)
        );
        assert_eq!(SigningKey::from_felt(EC_ORDER).err(), Some(SignatureError::InvalidPrivateKey));
        assert!(SigningKey::from_felt(EC_ORDER - Felt::ONE).is_ok());
        assert_eq!(
            SigningKey::from_hex("0xnothex").err(),
            Some(SignatureError::MalformedPrivateKey)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SigningKey::from_hex(
            "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcd",
        )
        .unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("1234567890abcdef"), "{debug}");
        assert!(debug.contains("0x4838c4ed86f1c9b4fe1aac884ac79431b0243b79d9e24500eb0f6229f4fe72a"));
        // 62 significant digits, zero-padded to 64 as the SDK formats session keys.
        assert_eq!(
            key.secret_hex().as_str(),
            "0x001234567890abcdef1234567890abcdef1234567890abcdef1234567890abcd"
        );
    }

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let key = SigningKey::from_felt(Felt::from(42u8)).unwrap();
        let hash = Felt::from(7u8);
        let sig = key.sign(&hash).unwrap();
        assert!(verify_signature(&key.public_key(), &hash, &sig));
        assert!(!verify_signature(&key.public_key(), &(hash + Felt::ONE), &sig));
        let bad = Signature { r: sig.r, s: Felt::ZERO };
        assert!(!verify_signature(&key.public_key(), &hash, &bad));
    }

    #[test]
    fn session_signature_layout() {
        let key = SigningKey::from_felt(Felt::from(42u8)).unwrap();
        let sig = SessionSignature::sign(&key, &Felt::from(9u8), 1_893_456_000).unwrap();
        let felts = sig.to_felts();
        assert_eq!(felts.len(), 4);
        assert_eq!(felts[3], Felt::from(1_893_456_000u64));
        assert_eq!(SessionSignature::from_felts(&felts), Some(sig));
        assert!(SessionSignature::from_felts(&felts[..3]).is_none());
        let mut huge = felts;
        huge[3] = Felt::from(u128::from(u64::MAX) + 1);
        assert!(SessionSignature::from_felts(&huge).is_none());
    }
}
