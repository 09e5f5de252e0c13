//! An EVM private key held in memory: secp256k1, zeroed on drop, never printed, and
//! sealable in latchkey's key envelopes (`owner-secp256k1`, `session-secp256k1`).

use alloy_primitives::{Address, B256};
use latchkey_core::keystore::{Curve, KeystoreError, Sealable};
use latchkey_core::Felt;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::signature::{address_of, eip191_digest, sign_digest};
use crate::{EvmContractsError, RawSignature, SignatureKind, UserOpSignature};

/// A secp256k1 private key and its address. `Debug` shows the address only.
pub struct EvmSigningKey {
    secret: Zeroizing<[u8; 32]>,
    address: Address,
}

impl EvmSigningKey {
    /// A new random key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        loop {
            let mut secret = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(secret.as_mut());
            // A uniformly drawn 32 bytes is out of range with probability about 2^-128.
            if let Ok(key) = Self::from_bytes(&secret) {
                return key;
            }
        }
    }

    /// The key of a 32-byte big-endian scalar, which must be in `1..n`.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, EvmContractsError> {
        let address = address_of(&B256::from(*secret))?;
        Ok(Self { secret: Zeroizing::new(*secret), address })
    }

    /// The key's Ethereum address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The address as the felt key envelopes bind (the 20 bytes, left-padded).
    pub fn address_felt(&self) -> Felt {
        address_felt(self.address)
    }

    /// Signs a 32-byte digest as is (RFC 6979, low `s`).
    pub fn sign_digest(&self, digest: B256) -> Result<RawSignature, EvmContractsError> {
        sign_digest(&B256::from(*self.secret), digest)
    }

    /// `personal_sign` over the 32 bytes of `hash` (EIP-191), as wallets sign messages.
    pub fn sign_message_hash(&self, hash: B256) -> Result<RawSignature, EvmContractsError> {
        self.sign_digest(eip191_digest(hash))
    }

    /// A userOp signature of `kind` over `user_op_hash`.
    pub fn sign_user_op(
        &self,
        kind: SignatureKind,
        user_op_hash: B256,
    ) -> Result<UserOpSignature, EvmContractsError> {
        Ok(UserOpSignature { kind, signature: self.sign_digest(kind.digest(user_op_hash))? })
    }
}

impl std::fmt::Debug for EvmSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmSigningKey").field("address", &self.address).finish_non_exhaustive()
    }
}

/// An EVM address as a felt: its 20 bytes, left-padded (always below the field prime).
pub fn address_felt(address: Address) -> Felt {
    let mut bytes = [0u8; 32];
    bytes[12..].copy_from_slice(address.as_slice());
    Felt::from_bytes_be(&bytes)
}

impl Sealable for EvmSigningKey {
    const CURVE: Curve = Curve::Secp256k1;

    fn to_scalar(&self) -> Zeroizing<[u8; 32]> {
        self.secret.clone()
    }

    fn from_scalar(scalar: &[u8; 32]) -> Result<Self, KeystoreError> {
        Self::from_bytes(scalar).map_err(|_| KeystoreError::InvalidPrivateKey)
    }

    fn public_id(&self) -> Felt {
        self.address_felt()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use latchkey_core::keystore::hardened::{self, inspect, FLOOR_PARAMS};
    use latchkey_core::keystore::{self, EncryptKey, KeyBinding};
    use latchkey_core::KeyKind;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn binding(key: &EvmSigningKey, kind: KeyKind) -> KeyBinding {
        KeyBinding {
            kind,
            account: address_felt(Address::repeat_byte(0xac)),
            public_key: key.address_felt(),
        }
    }

    #[test]
    fn the_address_is_the_one_every_wallet_derives() {
        // Anvil's first development account.
        let secret: [u8; 32] = alloy_primitives::hex!(
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        let key = EvmSigningKey::from_bytes(&secret).unwrap();
        assert_eq!(
            key.address(),
            alloy_primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            key.address_felt(),
            Felt::from_hex("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266").unwrap()
        );
    }

    #[test]
    fn out_of_range_scalars_are_refused() {
        assert!(EvmSigningKey::from_bytes(&[0; 32]).is_err());
        assert!(EvmSigningKey::from_bytes(&[0xff; 32]).is_err());
        assert!(matches!(
            <EvmSigningKey as Sealable>::from_scalar(&[0; 32]),
            Err(KeystoreError::InvalidPrivateKey)
        ));
    }

    #[test]
    fn k11_debug_shows_the_address_not_the_key() {
        let key = EvmSigningKey::from_bytes(&[0x11; 32]).unwrap();
        let text = format!("{key:?}");
        assert!(text.contains("address"), "{text}");
        assert!(!text.contains("1111"), "{text}");
        assert!(!text.contains("17, 17"), "{text}");
    }

    #[test]
    fn signatures_recover_to_the_address() {
        let mut rng = StdRng::seed_from_u64(7);
        let key = EvmSigningKey::generate(&mut rng);
        let hash = B256::repeat_byte(0x42);
        for kind in [SignatureKind::OwnerEip191, SignatureKind::SessionRaw] {
            let signature = key.sign_user_op(kind, hash).unwrap();
            assert_eq!(signature.recover(hash).unwrap(), key.address());
        }
        let message = key.sign_message_hash(hash).unwrap();
        assert_eq!(message.recover(eip191_digest(hash)).unwrap(), key.address());
    }

    #[test]
    fn k05_secp256k1_keys_seal_and_open_bound_to_their_account() {
        let mut rng = StdRng::seed_from_u64(1);
        let key = EvmSigningKey::generate(&mut rng);
        let pin = EncryptKey::passphrase("482915");
        let owner = binding(&key, KeyKind::Owner);
        let sealed =
            hardened::seal_with_params(&key, &pin, &owner, FLOOR_PARAMS, &mut rng).unwrap();
        assert!(sealed.starts_with("lk1$owner-secp256k1$argon2id$"), "{sealed}");
        let info = inspect(&sealed).unwrap();
        assert_eq!((info.kind, info.curve), (KeyKind::Owner, Curve::Secp256k1));

        let opened: EvmSigningKey = keystore::open_as(&sealed, &pin, &owner).unwrap();
        assert_eq!(opened.address(), key.address());
        // Another account, a wrong PIN, or a session binding: refused.
        let moved = KeyBinding { account: address_felt(Address::repeat_byte(1)), ..owner };
        assert_eq!(
            keystore::open_as::<EvmSigningKey>(&sealed, &pin, &moved).unwrap_err(),
            KeystoreError::WrongKey
        );
        assert_eq!(
            keystore::open_as::<EvmSigningKey>(&sealed, &EncryptKey::passphrase("482916"), &owner)
                .unwrap_err(),
            KeystoreError::WrongKey
        );
        assert!(matches!(
            keystore::open_as::<EvmSigningKey>(&sealed, &pin, &binding(&key, KeyKind::Session)),
            Err(KeystoreError::KindMismatch { .. })
        ));
    }

    #[test]
    fn k05_a_key_never_opens_as_another_curve() {
        let mut rng = StdRng::seed_from_u64(2);
        let key = EvmSigningKey::generate(&mut rng);
        let pin = EncryptKey::passphrase("482915");
        let owner = binding(&key, KeyKind::Owner);
        let sealed =
            hardened::seal_with_params(&key, &pin, &owner, FLOOR_PARAMS, &mut rng).unwrap();
        assert_eq!(
            keystore::open(&sealed, &pin, &owner).unwrap_err(),
            KeystoreError::CurveMismatch { expected: Curve::Stark, found: Curve::Secp256k1 }
        );
        // Rewriting the kind to the Stark curve breaks the tag: the header is bound.
        let relabelled = sealed.replacen("owner-secp256k1", "owner", 1);
        assert_eq!(
            keystore::open_as::<latchkey_core::SigningKey>(&relabelled, &pin, &owner).unwrap_err(),
            KeystoreError::WrongKey
        );
        // A Stark envelope does not open as an EVM key.
        let stark = latchkey_core::generate_owner_key(&mut rng);
        let stark_binding =
            KeyBinding { kind: KeyKind::Owner, account: Felt::ONE, public_key: stark.public_key() };
        let sealed =
            hardened::seal_with_params(&stark, &pin, &stark_binding, FLOOR_PARAMS, &mut rng)
                .unwrap();
        assert_eq!(
            keystore::open_as::<EvmSigningKey>(&sealed, &pin, &stark_binding).unwrap_err(),
            KeystoreError::CurveMismatch { expected: Curve::Secp256k1, found: Curve::Stark }
        );
    }
}
