//! Private-key encryption at rest.
//!
//! Two formats are read and written:
//!
//! - [`chipi`]: the Chipi SDK's CryptoJS/OpenSSL `Salted__` format (`U2FsdGVkX1…`), for
//!   compatibility. Cheap to brute-force: about 1 MD5-based guess per microsecond.
//! - [`hardened`]: latchkey's versioned envelopes. `lk2$…`, the default for PINs and
//!   passphrases: Argon2id of the PIN together with the wallet's OPRF output ([`oprf`]),
//!   so a stolen envelope cannot be attacked offline. `lk1$…`: Argon2id alone (still read,
//!   re-wrapped to `lk2` on the next unlock), or HKDF of a WebAuthn PRF output
//!   ([`passkey`]). Both end in XChaCha20-Poly1305 with the key kind, account and public
//!   key bound as associated data.
//!
//! [`open`] reads either format and always checks the decrypted key against the expected
//! public key, so a wrong PIN or a swapped ciphertext is an error, never a wrong key.
//! [`rewrap`] moves any stored key to the current hardened parameters.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::felt::Felt;
use crate::secret::KeyKind;
use crate::signature::SigningKey;

pub mod chipi;
pub mod hardened;
pub mod oprf;
pub mod passkey;
mod pin;

pub use pin::{
    check_pin_strength, WeakPinReason, MAX_SECRET_BYTES, MIN_PASSPHRASE_CHARS, MIN_PIN_DIGITS,
};

/// Length of a WebAuthn PRF output and of a server share, in bytes.
pub const KEY_MATERIAL_BYTES: usize = 32;

/// The secret a user unlocks keys with: a PIN or passphrase, or a WebAuthn PRF output,
/// optionally combined with a server-held share.
///
/// Zeroed on drop. `Debug` shows only which kind of secret it is.
pub struct EncryptKey {
    material: Material,
    share: Option<ServerShare>,
    oprf: Option<oprf::OprfOutput>,
}

enum Material {
    Passphrase(Zeroizing<String>),
    Prf(Zeroizing<[u8; KEY_MATERIAL_BYTES]>),
}

impl EncryptKey {
    /// A PIN or passphrase, used as typed (UTF-8, no normalisation), as the SDK does.
    pub fn passphrase(text: impl Into<String>) -> Self {
        Self {
            material: Material::Passphrase(Zeroizing::new(text.into())),
            share: None,
            oprf: None,
        }
    }

    /// A WebAuthn PRF output; it must be exactly 32 bytes.
    pub fn prf(output: &[u8]) -> Result<Self, KeystoreError> {
        let bytes: [u8; KEY_MATERIAL_BYTES] =
            output.try_into().map_err(|_| KeystoreError::InvalidPrfOutput { len: output.len() })?;
        Ok(Self { material: Material::Prf(Zeroizing::new(bytes)), share: None, oprf: None })
    }

    /// Adds a server-held share: latchkey envelopes sealed with it need it to open.
    pub fn with_server_share(mut self, share: ServerShare) -> Self {
        self.share = Some(share);
        self
    }

    /// Adds the wallet's OPRF output for this PIN ([`oprf`]): a PIN then seals `lk2`
    /// envelopes, and opens `lk2` envelopes under the same OPRF key.
    pub fn with_oprf(mut self, output: oprf::OprfOutput) -> Self {
        self.oprf = Some(output);
        self
    }

    /// The OPRF output, if any.
    pub fn oprf(&self) -> Option<&oprf::OprfOutput> {
        self.oprf.as_ref()
    }

    /// The PIN or passphrase as typed (none for a PRF output): what the OPRF blinds.
    pub fn pin_text(&self) -> Option<&str> {
        match &self.material {
            Material::Passphrase(text) => Some(text),
            Material::Prf(_) => None,
        }
    }

    /// Whether this is a PRF output (`true`) or a PIN/passphrase (`false`).
    pub fn is_prf(&self) -> bool {
        matches!(self.material, Material::Prf(_))
    }

    /// Whether the secret is empty (only a passphrase can be).
    pub fn is_empty(&self) -> bool {
        match &self.material {
            Material::Passphrase(text) => text.is_empty(),
            Material::Prf(_) => false,
        }
    }

    /// The server share, if any.
    pub fn server_share(&self) -> Option<&ServerShare> {
        self.share.as_ref()
    }

    /// The passphrase the Chipi format uses: the PIN as typed, or for a PRF output its
    /// lowercase hex (the Chipi passkey convention).
    pub(crate) fn chipi_passphrase(&self) -> Zeroizing<String> {
        match &self.material {
            Material::Passphrase(text) => text.clone(),
            Material::Prf(bytes) => Zeroizing::new(hex::encode(bytes.as_ref())),
        }
    }

    pub(crate) fn passphrase_bytes(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Passphrase(text) => Some(text.as_bytes()),
            Material::Prf(_) => None,
        }
    }

    pub(crate) fn prf_bytes(&self) -> Option<&[u8; KEY_MATERIAL_BYTES]> {
        match &self.material {
            Material::Passphrase(_) => None,
            Material::Prf(bytes) => Some(bytes),
        }
    }

    /// Checks a new PIN or passphrase against the weak-PIN rules ([`check_pin_strength`]);
    /// PRF outputs always pass.
    pub fn check_strength(&self) -> Result<(), KeystoreError> {
        match &self.material {
            Material::Passphrase(text) => check_pin_strength(text).map_err(KeystoreError::WeakPin),
            Material::Prf(_) => Ok(()),
        }
    }
}

impl std::fmt::Debug for EncryptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.material {
            Material::Passphrase(_) => "passphrase",
            Material::Prf(_) => "prf",
        };
        f.debug_struct("EncryptKey")
            .field("kind", &kind)
            .field("server_share", &self.share)
            .field("oprf", &self.oprf)
            .finish_non_exhaustive()
    }
}

/// A 32-byte secret held by a server and released only after its own checks (attempt
/// counter, authentication), named by an id that is written into the envelope header.
///
/// Zeroed on drop. `Debug` shows only the id.
pub struct ServerShare {
    id: String,
    secret: Zeroizing<[u8; KEY_MATERIAL_BYTES]>,
}

/// Longest share id.
pub const MAX_SHARE_ID_LEN: usize = 64;

impl ServerShare {
    /// A share. `id`: 1–64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit;
    /// `secret`: exactly 32 bytes.
    pub fn new(id: &str, secret: &[u8]) -> Result<Self, KeystoreError> {
        if !is_valid_share_id(id) {
            return Err(KeystoreError::InvalidServerShare("bad share id"));
        }
        let secret: [u8; KEY_MATERIAL_BYTES] = secret
            .try_into()
            .map_err(|_| KeystoreError::InvalidServerShare("the share must be 32 bytes"))?;
        Ok(Self { id: id.to_string(), secret: Zeroizing::new(secret) })
    }

    /// The share's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn secret(&self) -> &[u8; KEY_MATERIAL_BYTES] {
        &self.secret
    }
}

pub(crate) fn is_valid_share_id(id: &str) -> bool {
    let mut chars = id.chars();
    let Some(first) = chars.next() else { return false };
    id.len() <= MAX_SHARE_ID_LEN
        && first.is_ascii_alphanumeric()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl std::fmt::Debug for ServerShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerShare").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The curve a sealed private key lives on. Written into the envelope's kind field (and so
/// bound as associated data): a key sealed for one curve never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// The Stark curve (Starknet keys). The envelope kind is the role alone.
    Stark,
    /// secp256k1 (EVM keys). The envelope kind is the role and `-secp256k1`.
    Secp256k1,
}

impl Curve {
    /// What follows the role in an envelope's kind field.
    pub(crate) fn kind_suffix(self) -> &'static str {
        match self {
            Self::Stark => "",
            Self::Secp256k1 => "-secp256k1",
        }
    }

    /// `"stark"` or `"secp256k1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stark => "stark",
            Self::Secp256k1 => "secp256k1",
        }
    }
}

impl std::fmt::Display for Curve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A private key the hardened envelopes can hold: a 32-byte big-endian scalar on one
/// [`Curve`], named in public by one felt (a Stark public key, or an EVM address).
pub trait Sealable: Sized {
    /// The key's curve.
    const CURVE: Curve;
    /// The private scalar, 32 bytes big-endian.
    fn to_scalar(&self) -> Zeroizing<[u8; 32]>;
    /// The key of a scalar; [`KeystoreError::InvalidPrivateKey`] when it is zero or not
    /// below the curve order.
    fn from_scalar(scalar: &[u8; 32]) -> Result<Self, KeystoreError>;
    /// What [`KeyBinding::public_key`] names for this key.
    fn public_id(&self) -> Felt;
}

impl Sealable for SigningKey {
    const CURVE: Curve = Curve::Stark;

    fn to_scalar(&self) -> Zeroizing<[u8; 32]> {
        self.secret_scalar()
    }

    fn from_scalar(scalar: &[u8; 32]) -> Result<Self, KeystoreError> {
        Self::from_felt(Felt::from_bytes_be(scalar)).map_err(|_| KeystoreError::InvalidPrivateKey)
    }

    fn public_id(&self) -> Felt {
        self.public_key()
    }
}

/// What a stored key belongs to. Latchkey envelopes bind all three fields as associated
/// data; every format checks the decrypted key against `public_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    /// Session key or owner key.
    pub kind: KeyKind,
    /// The account (wallet) address the key signs for.
    pub account: Felt,
    /// The key's public key.
    pub public_key: Felt,
}

/// The two storage formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFormat {
    /// Chipi/CryptoJS `Salted__`, base64 (`U2FsdGVkX1…`).
    Chipi,
    /// Latchkey `lk1$…` envelope.
    Hardened,
}

impl KeyFormat {
    /// Recognises a stored key by its prefix.
    pub fn detect(stored: &str) -> Option<Self> {
        if stored.starts_with(chipi::PREFIX) {
            Some(Self::Chipi)
        } else if stored.starts_with(hardened::PREFIX) || stored.starts_with(hardened::PREFIX_V2) {
            Some(Self::Hardened)
        } else {
            None
        }
    }

    /// Recognises a stored key and checks that it is well-formed in its format (without
    /// any key): what a server can verify about a blob a client says is encrypted.
    pub fn validate(stored: &str) -> Result<Self, KeystoreError> {
        match Self::detect(stored) {
            Some(Self::Chipi) => chipi::inspect(stored).map(|()| Self::Chipi),
            Some(Self::Hardened) => hardened::inspect(stored).map(|_| Self::Hardened),
            None => Err(KeystoreError::Malformed("not an encrypted key in a known format")),
        }
    }

    /// `"chipi"` or `"latchkey"` (the `lk1`/`lk2` envelopes).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chipi => "chipi",
            Self::Hardened => "latchkey",
        }
    }
}

/// Why a key cannot be encrypted or decrypted. No variant carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    /// The PIN, passphrase or password is empty.
    #[error("the encryption key is empty")]
    EmptyKey,
    /// The private key to encrypt is empty.
    #[error("the private key is empty")]
    EmptyPlaintext,
    /// Decryption failed: wrong PIN or key, or a modified ciphertext or header.
    #[error("wrong PIN or key, or the encrypted key was modified")]
    WrongKey,
    /// The decrypted key's public key is not the expected one.
    #[error("the decrypted key does not match the expected public key")]
    PublicKeyMismatch,
    /// The decrypted private key is zero or not below the curve order.
    #[error("the decrypted private key is out of range")]
    InvalidPrivateKey,
    /// Neither a Chipi nor a latchkey ciphertext.
    #[error("not a Chipi (U2FsdGVkX1…) or latchkey (lk1$…) encrypted key")]
    UnknownFormat,
    /// A latchkey envelope of a version this build does not know.
    #[error("unsupported envelope version")]
    UnsupportedVersion,
    /// The ciphertext or envelope does not follow its grammar.
    #[error("malformed encrypted key: {0}")]
    Malformed(&'static str),
    /// The envelope holds a different kind of key than the caller expects.
    #[error("the envelope holds a {found} key, expected a {expected} key")]
    KindMismatch {
        /// What the caller asked for.
        expected: KeyKind,
        /// What the envelope says.
        found: KeyKind,
    },
    /// The envelope holds a key on another curve than the caller expects.
    #[error("the envelope holds a {found} key, expected a {expected} key")]
    CurveMismatch {
        /// What the caller asked for.
        expected: Curve,
        /// What the envelope says.
        found: Curve,
    },
    /// Argon2id parameters below the floor (K7).
    #[error(
        "KDF parameters m={m_kib} KiB, t={t}, p={p} are below the minimum m=19456 KiB, t=2, p=1"
    )]
    KdfParamsTooWeak {
        /// Memory in KiB.
        m_kib: u32,
        /// Passes.
        t: u32,
        /// Lanes.
        p: u32,
    },
    /// Argon2id parameters so large that unlocking would be a denial of service.
    #[error("KDF parameters m={m_kib} KiB, t={t}, p={p} exceed the maximum")]
    KdfParamsTooLarge {
        /// Memory in KiB.
        m_kib: u32,
        /// Passes.
        t: u32,
        /// Lanes.
        p: u32,
    },
    /// A PIN was given for a PRF envelope, or a PRF output for a PIN envelope.
    #[error("this key is protected by {expected}")]
    KeyTypeMismatch {
        /// What the envelope needs.
        expected: &'static str,
    },
    /// The envelope mixes in a server share that was not supplied.
    #[error("the server share {id:?} is required")]
    ServerShareRequired {
        /// The share the envelope names.
        id: String,
    },
    /// The supplied server share is not the one the envelope names.
    #[error("the envelope needs server share {expected:?}, got {found:?}")]
    ServerShareMismatch {
        /// The share the envelope names.
        expected: String,
        /// The share supplied.
        found: String,
    },
    /// The Chipi format cannot mix in a server share.
    #[error("the Chipi format cannot use a server share")]
    ServerShareUnsupported,
    /// A server share with a bad id or length.
    #[error("invalid server share: {0}")]
    InvalidServerShare(&'static str),
    /// An `lk2` envelope needs the wallet's OPRF output for this PIN, under this key.
    #[error("this key needs the server's OPRF evaluation under key {key_id:?}")]
    OprfRequired {
        /// The OPRF key the envelope names.
        key_id: String,
    },
    /// The OPRF output supplied was computed under another OPRF key.
    #[error("the envelope needs OPRF key {expected:?}, got {found:?}")]
    OprfKeyMismatch {
        /// The OPRF key the envelope names.
        expected: String,
        /// The one supplied.
        found: String,
    },
    /// A blinded or evaluated OPRF element that is not a valid ristretto255 point.
    #[error("invalid OPRF element: 32 bytes encoding a valid ristretto255 point expected")]
    InvalidOprfElement,
    /// A PRF output that is not 32 bytes.
    #[error("a PRF output must be 32 bytes, got {len}")]
    InvalidPrfOutput {
        /// The length given.
        len: usize,
    },
    /// A new PIN or passphrase fails the strength rules (K9).
    #[error("weak PIN: {0}")]
    WeakPin(WeakPinReason),
    /// The key derivation function failed.
    #[error("key derivation failed")]
    Kdf,
    /// The cipher refused its input.
    #[error("encryption failed")]
    Cipher,
}

/// Decrypts a stored key of either format and checks it against `binding.public_key`.
///
/// For the Chipi format, which binds nothing, `binding.kind` and `binding.account` are
/// not used; the public key check still rejects wrong PINs and swapped ciphertexts.
pub fn open(
    stored: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
) -> Result<SigningKey, KeystoreError> {
    open_as(stored, key, binding)
}

/// [`open`] for a key on any curve. The Chipi format holds Stark keys only.
pub fn open_as<K: Sealable>(
    stored: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
) -> Result<K, KeystoreError> {
    match KeyFormat::detect(stored) {
        Some(KeyFormat::Chipi) if K::CURVE != Curve::Stark => {
            Err(KeystoreError::CurveMismatch { expected: K::CURVE, found: Curve::Stark })
        }
        Some(KeyFormat::Chipi) => {
            let stark = chipi::open_key(stored, key, Some(&binding.public_key))?;
            K::from_scalar(&stark.secret_scalar())
        }
        Some(KeyFormat::Hardened) => hardened::open_as(stored, key, binding),
        None if hardened::looks_like_future_version(stored) => {
            Err(KeystoreError::UnsupportedVersion)
        }
        None => Err(KeystoreError::UnknownFormat),
    }
}

/// Seals `private_key` in the current hardened format: Argon2id for a PIN or passphrase
/// (which must pass [`check_pin_strength`]), HKDF for a PRF output.
pub fn seal<K: Sealable>(
    private_key: &K,
    key: &EncryptKey,
    binding: &KeyBinding,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    if key.is_prf() {
        passkey::seal(private_key, key, binding, rng)
    } else {
        hardened::seal(private_key, key, binding, rng)
    }
}

/// Whether a stored key should be re-wrapped: it is in the Chipi format, or its Argon2id
/// parameters are below [`hardened::CURRENT_PARAMS`] (K8).
pub fn needs_upgrade(stored: &str) -> Result<bool, KeystoreError> {
    match KeyFormat::detect(stored) {
        Some(KeyFormat::Chipi) => Ok(true),
        Some(KeyFormat::Hardened) => Ok(hardened::inspect(stored)?.needs_upgrade()),
        None => Err(KeystoreError::UnknownFormat),
    }
}

/// Re-wraps a stored key of either format into the current hardened format (K8):
/// opens it with `old_key` (checking the public key), then seals it with `new_key`
/// (which may be the same secret, and must pass the strength rules if it is a PIN).
pub fn rewrap(
    stored: &str,
    old_key: &EncryptKey,
    new_key: &EncryptKey,
    binding: &KeyBinding,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    let private_key = open(stored, old_key, binding)?;
    seal(&private_key, new_key, binding, rng)
}

/// Checks a decrypted key against the expected public key.
pub(crate) fn check_public_key<K: Sealable>(
    key: &K,
    expected: Option<&Felt>,
) -> Result<(), KeystoreError> {
    match expected {
        Some(expected) if key.public_id() != *expected => Err(KeystoreError::PublicKeyMismatch),
        _ => Ok(()),
    }
}

/// The 32-byte big-endian form of a felt, for associated data.
pub(crate) fn felt_bytes(value: &Felt) -> [u8; 32] {
    value.to_bytes_be()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use proptest::prelude::*;

    use super::*;
    use crate::felt::tests::any_text;

    /// Stored-key text: anything, and near misses of both formats.
    fn any_blob() -> impl Strategy<Value = String> {
        prop_oneof![
            any_text(),
            any_text().prop_map(|t| format!("{}{t}", chipi::PREFIX)),
            "[A-Za-z0-9+/]{0,120}={0,2}".prop_map(|t| format!("{}{t}", chipi::PREFIX)),
            any_text().prop_map(|t| format!("{}{t}", hardened::PREFIX)),
            "[a-z0-9=,$_-]{0,160}".prop_map(|t| format!("{}{t}", hardened::PREFIX)),
            "lk[0-9]{0,3}\\$.{0,20}",
        ]
    }

    fn binding() -> KeyBinding {
        KeyBinding { kind: KeyKind::Session, account: Felt::ONE, public_key: Felt::TWO }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn validate_never_panics_and_agrees_with_the_format_parsers(text in any_blob()) {
            match KeyFormat::validate(&text) {
                Ok(KeyFormat::Chipi) => {
                    prop_assert_eq!(KeyFormat::detect(&text), Some(KeyFormat::Chipi));
                    prop_assert!(chipi::inspect(&text).is_ok());
                }
                Ok(KeyFormat::Hardened) => {
                    prop_assert_eq!(KeyFormat::detect(&text), Some(KeyFormat::Hardened));
                    prop_assert!(hardened::inspect(&text).is_ok());
                }
                Err(err) => {
                    let shown = format!("{err} {err:?}");
                    prop_assert!(text.len() < 12 || !shown.contains(&text), "{}", shown);
                }
            }
        }

        #[test]
        fn open_refuses_arbitrary_blobs(text in any_blob(), pin in any_text()) {
            let by_pin = open(&text, &EncryptKey::passphrase(pin.as_str()), &binding());
            prop_assert!(by_pin.is_err());
            let by_prf = open(&text, &EncryptKey::prf(&[7; 32]).unwrap(), &binding());
            prop_assert!(by_prf.is_err());
            if let Err(err) = by_pin {
                let shown = format!("{err} {err:?}");
                prop_assert!(pin.len() < 8 || !shown.contains(&pin), "{}", shown);
            }
        }

        #[test]
        fn prf_outputs_and_server_shares_check_their_input(
            bytes in prop::collection::vec(any::<u8>(), 0..40),
            id in prop_oneof![any_text(), "[A-Za-z0-9][A-Za-z0-9._-]{0,70}"],
        ) {
            prop_assert_eq!(EncryptKey::prf(&bytes).is_ok(), bytes.len() == KEY_MATERIAL_BYTES);
            let share = ServerShare::new(&id, &bytes);
            prop_assert_eq!(share.is_ok(), is_valid_share_id(&id) && bytes.len() == 32);
            if let Ok(share) = share {
                prop_assert_eq!(share.id(), id.as_str());
                prop_assert!(id.len() <= MAX_SHARE_ID_LEN && id.is_ascii());
            }
        }
    }

    #[test]
    fn huge_blobs_are_refused_before_any_work() {
        // 8 MiB in each format's alphabet: every entry point refuses on the length alone.
        let huge = 8 << 20;
        let chipi_text = format!("{}{}", chipi::PREFIX, "A".repeat(huge));
        let lk1_text = format!("{}{}", hardened::PREFIX, "session$".repeat(huge / 8));
        let pin = EncryptKey::passphrase("482913");
        let started = Instant::now();
        for text in [&chipi_text, &lk1_text] {
            assert!(matches!(KeyFormat::validate(text), Err(KeystoreError::Malformed(_))));
            assert!(matches!(open(text, &pin, &binding()), Err(KeystoreError::Malformed(_))));
        }
        assert_eq!(needs_upgrade(&lk1_text), Err(KeystoreError::Malformed("envelope too long")));
        assert_eq!(
            chipi::decrypt(&chipi_text, "482913").err(),
            Some(KeystoreError::Malformed("ciphertext too long"))
        );
        // A huge unknown-version prefix and a huge PIN are cheap too.
        let future = format!("lk{}$", "9".repeat(huge));
        assert_eq!(open(&future, &pin, &binding()).err(), Some(KeystoreError::UnsupportedVersion));
        let huge_pin = EncryptKey::passphrase("7".repeat(huge));
        assert!(matches!(
            open(&chipi_text, &huge_pin, &binding()),
            Err(KeystoreError::Malformed(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn k11_encrypt_key_and_share_debug_hide_secrets() {
        let pin = "482913";
        let key = EncryptKey::passphrase(pin);
        let debug = format!("{key:?}");
        assert!(!debug.contains(pin), "{debug}");
        assert!(debug.contains("passphrase"));

        let prf = [0xabu8; 32];
        let key = EncryptKey::prf(&prf).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains(&hex::encode(prf)), "{debug}");
        assert!(!debug.contains("171, 171"), "{debug}");

        let share = ServerShare::new("kms-2024.a", &[0x5a; 32]).unwrap();
        let key = EncryptKey::passphrase(pin).with_server_share(share);
        let debug = format!("{key:?}");
        assert!(debug.contains("kms-2024.a"), "{debug}");
        assert!(!debug.contains(&hex::encode([0x5au8; 32])), "{debug}");
        assert!(!debug.contains("90, 90"), "{debug}");
        assert!(!debug.contains(pin), "{debug}");
    }

    #[test]
    fn prf_outputs_must_be_32_bytes() {
        assert_eq!(
            EncryptKey::prf(&[1; 31]).err(),
            Some(KeystoreError::InvalidPrfOutput { len: 31 })
        );
        assert_eq!(
            EncryptKey::prf(&[1; 33]).err(),
            Some(KeystoreError::InvalidPrfOutput { len: 33 })
        );
        assert!(EncryptKey::prf(&[1; 32]).unwrap().is_prf());
    }

    #[test]
    fn share_ids_follow_the_grammar() {
        for good in ["a", "kms-1", "share_2024.v2", &"x".repeat(64)] {
            assert!(ServerShare::new(good, &[1; 32]).is_ok(), "{good}");
        }
        for bad in ["", "-", "-a", ".a", "a$b", "a,b", "ä", &"x".repeat(65)] {
            assert!(ServerShare::new(bad, &[1; 32]).is_err(), "{bad}");
        }
        assert!(ServerShare::new("a", &[1; 16]).is_err());
    }

    #[test]
    fn k08_rewrap_from_chipi_to_hardened() {
        use rand::rngs::OsRng;

        // The captured owner ciphertext (PIN 1234) and its public key.
        let capture: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../test-vectors/chipi-sdk-14.4.0-capture.json"
        ))
        .unwrap();
        let chipi_ct = capture["aesDeterministic"]["ciphertextB64"].as_str().unwrap();
        let owner_pub = crate::parse_felt(capture["keys"]["ownerPub"].as_str().unwrap()).unwrap();
        let binding =
            KeyBinding { kind: KeyKind::Owner, account: Felt::from(99u8), public_key: owner_pub };
        let old = EncryptKey::passphrase("1234");
        assert_eq!(needs_upgrade(chipi_ct), Ok(true));

        // A 4-digit Chipi PIN cannot be carried over: the new secret is being chosen (K9).
        assert_eq!(
            rewrap(chipi_ct, &old, &old, &binding, &mut OsRng).err(),
            Some(KeystoreError::WeakPin(WeakPinReason::TooShort { min: MIN_PIN_DIGITS }))
        );
        // The old PIN must be right, and the key must be the expected one.
        let new = EncryptKey::passphrase("739154");
        assert_eq!(
            rewrap(chipi_ct, &EncryptKey::passphrase("4321"), &new, &binding, &mut OsRng).err(),
            Some(KeystoreError::WrongKey)
        );
        let wrong_binding = KeyBinding { public_key: Felt::from(5u8), ..binding };
        assert_eq!(
            rewrap(chipi_ct, &old, &new, &wrong_binding, &mut OsRng).err(),
            Some(KeystoreError::PublicKeyMismatch)
        );

        let upgraded = rewrap(chipi_ct, &old, &new, &binding, &mut OsRng).unwrap();
        assert_eq!(KeyFormat::detect(&upgraded), Some(KeyFormat::Hardened));
        assert_eq!(needs_upgrade(&upgraded), Ok(false));
        let info = hardened::inspect(&upgraded).unwrap();
        assert_eq!(info.kind, KeyKind::Owner);
        assert_eq!(info.kdf, hardened::Kdf::Argon2id(hardened::CURRENT_PARAMS));
        assert_eq!(open(&upgraded, &new, &binding).unwrap().public_key(), owner_pub);
        assert_eq!(open(&upgraded, &old, &binding).err(), Some(KeystoreError::WrongKey));
    }

    #[test]
    fn formats_are_detected_by_prefix() {
        assert_eq!(KeyFormat::detect("U2FsdGVkX18BAgMEBQYHCA=="), Some(KeyFormat::Chipi));
        assert_eq!(KeyFormat::detect("lk1$session$..."), Some(KeyFormat::Hardened));
        assert_eq!(KeyFormat::detect("0x1234"), None);
        let binding =
            KeyBinding { kind: KeyKind::Session, account: Felt::ONE, public_key: Felt::TWO };
        let key = EncryptKey::passphrase("whatever1");
        assert_eq!(open("0x1234", &key, &binding).err(), Some(KeystoreError::UnknownFormat));
        assert_eq!(open("lk9$x", &key, &binding).err(), Some(KeystoreError::UnsupportedVersion));
        assert_eq!(KeyFormat::detect("lk2$owner$..."), Some(KeyFormat::Hardened));
        assert_eq!(needs_upgrade("garbage").err(), Some(KeystoreError::UnknownFormat));
    }
}
