//! Passkey-protected keys: a WebAuthn PRF output (exactly 32 bytes) as key material.
//!
//! - Hardened (default): the `lk1` envelope of [`super::hardened`] with KDF id
//!   `hkdf-prf`: `KEK = HKDF-SHA256(salt = envelope salt, ikm = PRF ‖ share?,
//!   info = "latchkey/lk1/kek/hkdf-prf")`. No Argon2: the PRF output is already a uniformly
//!   random 256-bit secret, so stretching it adds nothing. The AAD binding is the same as
//!   for PIN envelopes (kind, account, public key, header).
//! - Chipi compatibility: the SDK's passkey mode uses the lowercase hex of the PRF output
//!   (64 characters) as the CryptoJS passphrase; [`chipi_passphrase`] produces it, and
//!   [`super::chipi::seal_key`] / [`super::chipi::open_key`] apply it automatically to an
//!   [`EncryptKey`] built with [`EncryptKey::prf`].
//!
//! The WebAuthn side is the caller's: request the PRF with `userVerification: "required"`
//! and a fixed per-wallet salt (threat K10). The Chipi SDK evaluates the PRF on the bytes
//! of the base64url text of [`CHIPI_PRF_INPUT`].

use rand_core::CryptoRngCore;

use super::{hardened, EncryptKey, KeyBinding, KeystoreError, KEY_MATERIAL_BYTES};
use crate::secret::SecretString;
use crate::signature::SigningKey;

/// The label the Chipi SDK feeds to the PRF (`eval.first`, as base64url text bytes).
pub const CHIPI_PRF_INPUT: &str = "chipi-wallet-encryption-key-v1";

/// The Chipi passkey convention: the PRF output's lowercase hex, used as the passphrase.
pub fn chipi_passphrase(prf_output: &[u8; KEY_MATERIAL_BYTES]) -> SecretString {
    SecretString::new(hex::encode(prf_output))
}

/// Seals a private key under a PRF output (`key` must come from [`EncryptKey::prf`]).
/// A server share on `key` is mixed in and named, as for PINs.
pub fn seal<K: super::Sealable>(
    private_key: &K,
    key: &EncryptKey,
    binding: &KeyBinding,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    hardened::seal_prf(private_key, key, binding, rng)
}

/// Opens a PRF envelope (the same as [`hardened::open`], which accepts both KDFs).
pub fn open(
    text: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
) -> Result<SigningKey, KeystoreError> {
    hardened::open(text, key, binding)
}

/// Opens a PRF envelope and nothing else: a PIN envelope is refused before any KDF work
/// (see [`hardened::open_prf_as`]).
pub fn open_prf_only(
    text: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
) -> Result<SigningKey, KeystoreError> {
    hardened::open_prf_as(text, key, binding)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::felt::Felt;
    use crate::keys::{generate_owner_key, KeyKind};
    use crate::keystore::hardened::{inspect, Kdf};
    use crate::keystore::{chipi, ServerShare};

    fn setup() -> (SigningKey, KeyBinding, StdRng) {
        let mut rng = StdRng::seed_from_u64(21);
        let key = generate_owner_key(&mut rng);
        let binding = KeyBinding {
            kind: KeyKind::Owner,
            account: Felt::from(77u8),
            public_key: key.public_key(),
        };
        (key, binding, rng)
    }

    #[test]
    fn prf_envelope_round_trip() {
        let (key, binding, mut rng) = setup();
        let prf = EncryptKey::prf(&[0x11; 32]).unwrap();
        let text = seal(&key, &prf, &binding, &mut rng).unwrap();
        let fields: Vec<&str> = text.split('$').collect();
        assert_eq!(&fields[..5], &["lk1", "owner", "hkdf-prf", "-", "-"]);
        assert_eq!(inspect(&text).unwrap().kdf, Kdf::HkdfPrf);
        assert!(!inspect(&text).unwrap().needs_upgrade());
        assert_eq!(open(&text, &prf, &binding).unwrap().public_key(), key.public_key());
        // Another PRF output, or a PIN, does not open it.
        let other = EncryptKey::prf(&[0x12; 32]).unwrap();
        assert_eq!(open(&text, &other, &binding).err(), Some(KeystoreError::WrongKey));
        assert_eq!(open_prf_only(&text, &prf, &binding).unwrap().public_key(), key.public_key());
        assert_eq!(open_prf_only(&text, &other, &binding).err(), Some(KeystoreError::WrongKey));
        // A PIN envelope is refused by the PRF-only opener whatever the secret.
        let pin_text = hardened::seal_with_params(
            &key,
            &EncryptKey::passphrase("a long passphrase 7"),
            &binding,
            hardened::FLOOR_PARAMS,
            &mut rng,
        )
        .unwrap();
        assert!(matches!(
            open_prf_only(&pin_text, &prf, &binding),
            Err(KeystoreError::KeyTypeMismatch { .. })
        ));
        assert!(matches!(
            open(&text, &EncryptKey::passphrase("482913"), &binding),
            Err(KeystoreError::KeyTypeMismatch { .. })
        ));
        // A PIN envelope is not sealed with a PRF key.
        assert!(matches!(
            hardened::seal(&key, &prf, &binding, &mut rng),
            Err(KeystoreError::KeyTypeMismatch { .. })
        ));
    }

    #[test]
    fn k05_prf_envelope_bound_to_account_and_key() {
        let (key, binding, mut rng) = setup();
        let prf = EncryptKey::prf(&[0x11; 32]).unwrap();
        let text = seal(&key, &prf, &binding, &mut rng).unwrap();
        let moved = KeyBinding { account: Felt::from(78u8), ..binding };
        assert_eq!(open(&text, &prf, &moved).err(), Some(KeystoreError::WrongKey));
        let as_session = KeyBinding { kind: KeyKind::Session, ..binding };
        assert!(matches!(open(&text, &prf, &as_session), Err(KeystoreError::KindMismatch { .. })));
    }

    #[test]
    fn prf_with_server_share() {
        let (key, binding, mut rng) = setup();
        let share = ServerShare::new("srv", &[3; 32]).unwrap();
        let prf = EncryptKey::prf(&[0x11; 32]).unwrap().with_server_share(share);
        let text = seal(&key, &prf, &binding, &mut rng).unwrap();
        assert!(open(&text, &prf, &binding).is_ok());
        let bare = EncryptKey::prf(&[0x11; 32]).unwrap();
        assert!(matches!(
            open(&text, &bare, &binding),
            Err(KeystoreError::ServerShareRequired { .. })
        ));
    }

    #[test]
    fn chipi_passkey_convention_is_lowercase_hex() {
        let output: [u8; 32] =
            core::array::from_fn(|i| (i as u8).wrapping_mul(7).wrapping_add(0xa0));
        let text = chipi_passphrase(&output);
        assert_eq!(text.len(), 64);
        assert_eq!(text.expose(), hex::encode(output));
        assert!(text.expose().chars().all(|c| !c.is_ascii_uppercase()));
        assert!(!format!("{text:?}").contains(&hex::encode(output)[..16]));
        // A Chipi passkey-mode ciphertext: the SDK encrypts with that hex string.
        let (key, _, mut rng) = setup();
        let ct = chipi::encrypt("0x1234", text.expose(), &mut rng).unwrap();
        assert_eq!(chipi::decrypt(&ct, &hex::encode(output)).unwrap().expose(), "0x1234");
        let sdk_style =
            chipi::seal_key(&key, KeyKind::Owner, &EncryptKey::prf(&output).unwrap(), &mut rng)
                .unwrap();
        let opened = chipi::open_key(
            &sdk_style,
            &EncryptKey::passphrase(text.expose()),
            Some(&key.public_key()),
        )
        .unwrap();
        assert_eq!(opened.public_key(), key.public_key());
    }

    #[test]
    fn hkdf_kek_depends_on_every_input() {
        let base =
            hardened::hkdf_kek(Some(&[1; 16]), &[2; 32], None, hardened::INFO_HKDF_PRF).unwrap();
        let other_salt =
            hardened::hkdf_kek(Some(&[9; 16]), &[2; 32], None, hardened::INFO_HKDF_PRF).unwrap();
        let other_ikm =
            hardened::hkdf_kek(Some(&[1; 16]), &[3; 32], None, hardened::INFO_HKDF_PRF).unwrap();
        let with_share =
            hardened::hkdf_kek(Some(&[1; 16]), &[2; 32], Some(&[4; 32]), hardened::INFO_HKDF_PRF)
                .unwrap();
        let other_info = hardened::hkdf_kek(Some(&[1; 16]), &[2; 32], None, b"other").unwrap();
        for other in [other_salt, other_ikm, with_share, other_info] {
            assert_ne!(*base, *other);
        }
    }

    #[test]
    fn hkdf_matches_rfc5869_structure() {
        // HKDF-SHA256 with a 64-byte IKM (PRF ‖ share) equals HKDF over the concatenation.
        let prf = [0x0bu8; 32];
        let share = [0x0cu8; 32];
        let ours = hardened::hkdf_kek(Some(&[5; 16]), &prf, Some(&share), b"info").unwrap();
        let mut ikm = prf.to_vec();
        ikm.extend_from_slice(&share);
        let reference = hkdf::Hkdf::<sha2::Sha256>::new(Some(&[5; 16]), &ikm);
        let mut okm = [0u8; 32];
        reference.expand(b"info", &mut okm).unwrap();
        assert_eq!(*ours, okm);
    }
}
