//! The account's userOp signature (`kind ‖ r ‖ s ‖ v`), EIP-191 digests and deterministic
//! secp256k1 signing (RFC 6979, low s).

use alloy_primitives::{eip191_hash_message, keccak256, Address, B256, U256};
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};

use crate::EvmContractsError;

/// Length of a userOp signature: `kind (1) ‖ r (32) ‖ s (32) ‖ v (1)`.
pub const USER_OP_SIGNATURE_LENGTH: usize = 66;

/// secp256k1's group order divided by two: a valid `s` is at most this (EIP-2).
const HALF_ORDER: U256 = alloy_primitives::uint!(
    0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0_U256
);

/// Who signs a userOp and over which digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SignatureKind {
    /// The owner, over the userOp hash (an EIP-712 wallet signing the v0.8 typed data).
    OwnerRaw = 0,
    /// The owner, EIP-191 (`personal_sign`) over the 32 bytes of the userOp hash.
    OwnerEip191 = 1,
    /// A session key, over the userOp hash.
    SessionRaw = 2,
    /// A session key, EIP-191 over the 32 bytes of the userOp hash.
    SessionEip191 = 3,
}

impl SignatureKind {
    /// Every kind.
    pub const ALL: [SignatureKind; 4] =
        [Self::OwnerRaw, Self::OwnerEip191, Self::SessionRaw, Self::SessionEip191];

    /// The kind byte.
    pub fn byte(self) -> u8 {
        self as u8
    }

    /// The kind of a byte, if any.
    pub fn from_byte(byte: u8) -> Option<Self> {
        Self::ALL.get(usize::from(byte)).copied()
    }

    /// Whether the session key signs.
    pub fn is_session(self) -> bool {
        matches!(self, Self::SessionRaw | Self::SessionEip191)
    }

    /// Whether the digest is EIP-191 over the userOp hash.
    pub fn is_eip191(self) -> bool {
        matches!(self, Self::OwnerEip191 | Self::SessionEip191)
    }

    /// The digest the signer signs for `user_op_hash`.
    pub fn digest(self, user_op_hash: B256) -> B256 {
        if self.is_eip191() {
            eip191_digest(user_op_hash)
        } else {
            user_op_hash
        }
    }
}

/// `keccak256("\x19Ethereum Signed Message:\n32" ‖ hash)`: `personal_sign` over 32 bytes.
pub fn eip191_digest(hash: B256) -> B256 {
    eip191_hash_message(hash.as_slice())
}

/// An ECDSA signature as the contracts take it: `r`, `s`, `v` ∈ {27, 28}.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawSignature {
    /// `r`.
    pub r: B256,
    /// `s` (low: at most half the group order).
    pub s: B256,
    /// 27 or 28.
    pub v: u8,
}

impl RawSignature {
    /// `r ‖ s ‖ v` (65 bytes; the paymaster's and ERC-1271's layout).
    pub fn to_bytes(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[..32].copy_from_slice(self.r.as_slice());
        out[32..64].copy_from_slice(self.s.as_slice());
        out[64] = self.v;
        out
    }

    /// Parses `r ‖ s ‖ v`, refusing any other length, a `v` other than 27/28 and a high `s`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EvmContractsError> {
        if bytes.len() != 65 {
            return Err(EvmContractsError::MalformedSignature("not 65 bytes"));
        }
        let signature = Self {
            r: B256::from_slice(&bytes[..32]),
            s: B256::from_slice(&bytes[32..64]),
            v: bytes[64],
        };
        signature.check()?;
        Ok(signature)
    }

    fn check(&self) -> Result<(), EvmContractsError> {
        if self.v != 27 && self.v != 28 {
            return Err(EvmContractsError::MalformedSignature("v is not 27 or 28"));
        }
        if U256::from_be_bytes(self.s.0) > HALF_ORDER {
            return Err(EvmContractsError::MalformedSignature("high s"));
        }
        Ok(())
    }

    /// The address that signed `digest` (no prefix added).
    pub fn recover(&self, digest: B256) -> Result<Address, EvmContractsError> {
        self.check()?;
        let signature = Signature::from_scalars(self.r.0, self.s.0)
            .map_err(|e| EvmContractsError::Unrecoverable(e.to_string()))?;
        let recovery = RecoveryId::new(self.v == 28, false);
        let key = VerifyingKey::recover_from_prehash(digest.as_slice(), &signature, recovery)
            .map_err(|e| EvmContractsError::Unrecoverable(e.to_string()))?;
        Ok(address_of_key(&key))
    }
}

/// The Ethereum address of a public key: the last 20 bytes of the keccak of its
/// uncompressed coordinates.
fn address_of_key(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

/// Signs a 32-byte digest as is (no prefix), deterministically (RFC 6979), low `s`.
pub fn sign_digest(private_key: &B256, digest: B256) -> Result<RawSignature, EvmContractsError> {
    let key = SigningKey::from_slice(private_key.as_slice())
        .map_err(|_| EvmContractsError::InvalidPrivateKey)?;
    let (signature, recovery) = key
        .sign_prehash_recoverable(digest.as_slice())
        .map_err(|e| EvmContractsError::Signing(e.to_string()))?;
    // k256 already returns a low s; normalising again keeps the recovery id consistent.
    let (signature, recovery) = match signature.normalize_s() {
        Some(normalized) => (normalized, recovery.is_y_odd() ^ true),
        None => (signature, recovery.is_y_odd()),
    };
    let bytes = signature.to_bytes();
    Ok(RawSignature {
        r: B256::from_slice(&bytes[..32]),
        s: B256::from_slice(&bytes[32..]),
        v: 27 + u8::from(recovery),
    })
}

/// The address of a private key.
pub fn address_of(private_key: &B256) -> Result<Address, EvmContractsError> {
    let key = SigningKey::from_slice(private_key.as_slice())
        .map_err(|_| EvmContractsError::InvalidPrivateKey)?;
    Ok(address_of_key(key.verifying_key()))
}

/// A userOp signature of [`SignatureKind`] `kind`: 66 bytes `kind ‖ r ‖ s ‖ v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserOpSignature {
    /// Who signed, over which digest.
    pub kind: SignatureKind,
    /// The ECDSA signature.
    pub signature: RawSignature,
}

impl UserOpSignature {
    /// Signs `user_op_hash` as `kind` with `private_key`.
    pub fn sign(
        kind: SignatureKind,
        private_key: &B256,
        user_op_hash: B256,
    ) -> Result<Self, EvmContractsError> {
        Ok(Self { kind, signature: sign_digest(private_key, kind.digest(user_op_hash))? })
    }

    /// The 66 bytes the account takes.
    pub fn to_bytes(&self) -> [u8; USER_OP_SIGNATURE_LENGTH] {
        let mut out = [0u8; USER_OP_SIGNATURE_LENGTH];
        out[0] = self.kind.byte();
        out[1..].copy_from_slice(&self.signature.to_bytes());
        out
    }

    /// [`Self::to_bytes`] as `Bytes`.
    pub fn encode(&self) -> alloy_primitives::Bytes {
        alloy_primitives::Bytes::copy_from_slice(&self.to_bytes())
    }

    /// Parses a userOp signature with the account's rules: exactly 66 bytes, kind 0..=3,
    /// `v` 27 or 28, low `s`. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, EvmContractsError> {
        if bytes.len() != USER_OP_SIGNATURE_LENGTH {
            return Err(EvmContractsError::MalformedSignature("not 66 bytes"));
        }
        let kind = SignatureKind::from_byte(bytes[0])
            .ok_or(EvmContractsError::MalformedSignature("unknown kind"))?;
        Ok(Self { kind, signature: RawSignature::from_bytes(&bytes[1..])? })
    }

    /// The signer of `user_op_hash` (the owner or the session key, after `kind`).
    pub fn recover(&self, user_op_hash: B256) -> Result<Address, EvmContractsError> {
        self.signature.recover(self.kind.digest(user_op_hash))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn kinds_round_trip_and_nothing_else_is_a_kind() {
        for kind in SignatureKind::ALL {
            assert_eq!(SignatureKind::from_byte(kind.byte()), Some(kind));
        }
        for byte in 4..=u8::MAX {
            assert_eq!(SignatureKind::from_byte(byte), None);
        }
    }

    #[test]
    fn high_s_and_bad_v_are_refused() {
        let key = B256::repeat_byte(0x11);
        let good =
            UserOpSignature::sign(SignatureKind::OwnerRaw, &key, B256::repeat_byte(7)).unwrap();
        let mut bytes = good.to_bytes();
        assert_eq!(UserOpSignature::decode(&bytes).unwrap(), good);
        // s' = n - s is the malleable twin: refused.
        let n = alloy_primitives::uint!(
            0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141_U256
        );
        let s = U256::from_be_slice(&bytes[33..65]);
        bytes[33..65].copy_from_slice(&(n - s).to_be_bytes::<32>());
        bytes[65] ^= 1;
        assert!(UserOpSignature::decode(&bytes).is_err());
        let mut bytes = good.to_bytes();
        bytes[65] = 0;
        assert!(UserOpSignature::decode(&bytes).is_err());
    }

    #[test]
    fn a_signature_recovers_its_signer() {
        let key = B256::repeat_byte(0x22);
        let hash = B256::repeat_byte(9);
        for kind in SignatureKind::ALL {
            let signature = UserOpSignature::sign(kind, &key, hash).unwrap();
            assert_eq!(signature.recover(hash).unwrap(), address_of(&key).unwrap());
        }
        assert!(address_of(&B256::ZERO).is_err());
    }
}
