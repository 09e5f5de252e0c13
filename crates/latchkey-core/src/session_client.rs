//! The client side of Chipi-style sessions without I/O: create a session key, sign a
//! session execution, sign as the owner. Errors carry the SDK's string codes
//! ([`SessionError::code`]) and stable numbers for bindings ([`SessionErrorCode`]).
//!
//! Differences from `@chipi-stack/backend` 14.4.0, all on the safe side:
//! - new keys are sealed in the hardened `lk1` format by default (Chipi format on request);
//! - a PIN for a hardened key must pass the weak-PIN rules (`WEAK_PIN`);
//! - the owner path also checks the decrypted key against the expected public key.

use rand_core::CryptoRngCore;

use crate::codes;
use crate::felt::Felt;
use crate::keys::{generate_session_key, public_key_hex, KeyKind, SessionKeyData};
use crate::keystore::hardened::{self, Argon2Params, CURRENT_PARAMS};
use crate::keystore::{self, chipi, passkey, EncryptKey, KeyBinding, KeystoreError, WeakPinReason};
use crate::policy::is_live_at;
use crate::signature::{SessionSignature, Signature, SignatureError};
use crate::snip12::{TypedData, TypedDataError};

/// The SDK's message for a failed session-key decryption.
const DECRYPTION_FAILED_MESSAGE: &str =
    "Failed to decrypt session private key. Verify the encryptKey is correct.";

/// Stable numeric error codes for bindings. The numbers never change; 1–99 mirror the
/// Chipi SDK's `SESSION_ERRORS`, 100 and up are latchkey's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum SessionErrorCode {
    /// `SESSION_EXPIRED`.
    SessionExpired = 1,
    /// `SESSION_NOT_REGISTERED`.
    SessionNotRegistered = 2,
    /// `SESSION_REVOKED`.
    SessionRevoked = 3,
    /// `SESSION_MAX_CALLS_EXCEEDED`.
    SessionMaxCallsExceeded = 4,
    /// `SESSION_ENTRYPOINT_NOT_ALLOWED`.
    SessionEntrypointNotAllowed = 5,
    /// `SESSION_DECRYPTION_FAILED`.
    SessionDecryptionFailed = 6,
    /// `SESSION_CREATION_FAILED`.
    SessionCreationFailed = 7,
    /// `SESSION_INVALID_RESPONSE`.
    SessionInvalidResponse = 8,
    /// `INVALID_SPENDING_POLICY`.
    InvalidSpendingPolicy = 9,
    /// `INVALID_WALLET_TYPE_FOR_SESSION`.
    InvalidWalletTypeForSession = 10,
    /// `WEAK_PIN`.
    WeakPin = 100,
    /// `OWNER_KEY_DECRYPTION_FAILED`.
    OwnerKeyDecryptionFailed = 101,
    /// `INVALID_TYPED_DATA`.
    InvalidTypedData = 102,
    /// `SIGNING_FAILED`.
    SigningFailed = 103,
    /// `INVALID_INPUT`.
    InvalidInput = 104,
}

impl SessionErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [Self; 15] = [
        Self::SessionExpired,
        Self::SessionNotRegistered,
        Self::SessionRevoked,
        Self::SessionMaxCallsExceeded,
        Self::SessionEntrypointNotAllowed,
        Self::SessionDecryptionFailed,
        Self::SessionCreationFailed,
        Self::SessionInvalidResponse,
        Self::InvalidSpendingPolicy,
        Self::InvalidWalletTypeForSession,
        Self::WeakPin,
        Self::OwnerKeyDecryptionFailed,
        Self::InvalidTypedData,
        Self::SigningFailed,
        Self::InvalidInput,
    ];

    /// The number.
    pub const fn value(self) -> u16 {
        self as u16
    }

    /// The code with this number.
    pub fn from_value(value: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.value() == value)
    }

    /// The string code, as the SDK's `ChipiSessionError.code` (from [`crate::codes`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionExpired => codes::SESSION_EXPIRED,
            Self::SessionNotRegistered => codes::SESSION_NOT_REGISTERED,
            Self::SessionRevoked => codes::SESSION_REVOKED,
            Self::SessionMaxCallsExceeded => codes::SESSION_MAX_CALLS_EXCEEDED,
            Self::SessionEntrypointNotAllowed => codes::SESSION_ENTRYPOINT_NOT_ALLOWED,
            Self::SessionDecryptionFailed => codes::SESSION_DECRYPTION_FAILED,
            Self::SessionCreationFailed => codes::SESSION_CREATION_FAILED,
            Self::SessionInvalidResponse => codes::SESSION_INVALID_RESPONSE,
            Self::InvalidSpendingPolicy => codes::INVALID_SPENDING_POLICY,
            Self::InvalidWalletTypeForSession => codes::INVALID_WALLET_TYPE_FOR_SESSION,
            Self::WeakPin => codes::WEAK_PIN,
            Self::OwnerKeyDecryptionFailed => codes::OWNER_KEY_DECRYPTION_FAILED,
            Self::InvalidTypedData => codes::INVALID_TYPED_DATA,
            Self::SigningFailed => codes::SIGNING_FAILED,
            Self::InvalidInput => codes::INVALID_INPUT,
        }
    }
}

/// Session errors. `Display` gives the SDK's message where the SDK has one; no variant
/// carries a PIN, a key or a ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The session is past its expiry (`now > valid_until`).
    #[error("Session expired at {}. Create a new session key.", iso8601_utc(*valid_until))]
    Expired {
        /// The expiry, unix seconds.
        valid_until: u64,
    },
    /// The account does not know the session key (or there is no local session).
    #[error("Session is not registered on the wallet. Register the session first.")]
    NotRegistered,
    /// The owner revoked the session.
    #[error("Session has been revoked.")]
    Revoked,
    /// The session has no calls left.
    #[error("Session has used all its allowed calls.")]
    MaxCallsExceeded,
    /// A call's entrypoint is not allowed for the session.
    #[error("Entrypoint {selector} is not allowed for this session.")]
    EntrypointNotAllowed {
        /// The selector, as hex.
        selector: String,
    },
    /// The session key could not be decrypted, or it does not match its public key.
    #[error("{}", decryption_message(cause))]
    DecryptionFailed {
        /// Why.
        cause: KeystoreError,
    },
    /// A session key could not be created.
    #[error("{message}")]
    CreationFailed {
        /// The SDK-style message.
        message: String,
    },
    /// An answer (such as `get_session_data`) has the wrong shape.
    #[error("Invalid session response: {reason}.")]
    InvalidResponse {
        /// What is wrong.
        reason: String,
    },
    /// A spending policy is inconsistent.
    #[error("Invalid spending policy: {reason}.")]
    InvalidSpendingPolicy {
        /// What is wrong.
        reason: String,
    },
    /// The wallet type does not support sessions.
    #[error("Wallet type {wallet_type:?} does not support sessions; only CHIPI wallets do.")]
    InvalidWalletType {
        /// The wallet type given.
        wallet_type: String,
    },
    /// A new PIN or passphrase is too weak (K9).
    #[error("Weak PIN: {0}.")]
    WeakPin(WeakPinReason),
    /// The owner key could not be decrypted, or it does not match the expected public key.
    #[error("Failed to decrypt the wallet's private key: {cause}.")]
    OwnerKeyDecryptionFailed {
        /// Why.
        cause: KeystoreError,
    },
    /// The typed data cannot be hashed.
    #[error("Invalid typed data: {0}.")]
    InvalidTypedData(TypedDataError),
    /// Signing failed.
    #[error("Signing failed: {0}.")]
    SigningFailed(SignatureError),
    /// An argument is malformed.
    #[error("Invalid input: {reason}.")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
}

fn decryption_message(cause: &KeystoreError) -> String {
    match cause {
        KeystoreError::WrongKey
        | KeystoreError::PublicKeyMismatch
        | KeystoreError::InvalidPrivateKey
        | KeystoreError::EmptyKey => DECRYPTION_FAILED_MESSAGE.to_string(),
        other => format!("Failed to decrypt session private key: {other}."),
    }
}

impl SessionError {
    /// The numeric code.
    pub fn kind(&self) -> SessionErrorCode {
        match self {
            Self::Expired { .. } => SessionErrorCode::SessionExpired,
            Self::NotRegistered => SessionErrorCode::SessionNotRegistered,
            Self::Revoked => SessionErrorCode::SessionRevoked,
            Self::MaxCallsExceeded => SessionErrorCode::SessionMaxCallsExceeded,
            Self::EntrypointNotAllowed { .. } => SessionErrorCode::SessionEntrypointNotAllowed,
            Self::DecryptionFailed { .. } => SessionErrorCode::SessionDecryptionFailed,
            Self::CreationFailed { .. } => SessionErrorCode::SessionCreationFailed,
            Self::InvalidResponse { .. } => SessionErrorCode::SessionInvalidResponse,
            Self::InvalidSpendingPolicy { .. } => SessionErrorCode::InvalidSpendingPolicy,
            Self::InvalidWalletType { .. } => SessionErrorCode::InvalidWalletTypeForSession,
            Self::WeakPin(_) => SessionErrorCode::WeakPin,
            Self::OwnerKeyDecryptionFailed { .. } => SessionErrorCode::OwnerKeyDecryptionFailed,
            Self::InvalidTypedData(_) => SessionErrorCode::InvalidTypedData,
            Self::SigningFailed(_) => SessionErrorCode::SigningFailed,
            Self::InvalidInput { .. } => SessionErrorCode::InvalidInput,
        }
    }

    /// The SDK's string code (`SESSION_EXPIRED`, …).
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The stable numeric code.
    pub fn numeric_code(&self) -> u16 {
        self.kind().value()
    }
}

/// `new Date(seconds * 1000).toISOString()`, for an expiry the SDK stores as `u64`.
fn iso8601_utc(seconds: u64) -> String {
    crate::time::iso8601_utc(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// How a new session key is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProtection {
    /// The `lk1` envelope: Argon2id with these parameters for a PIN or passphrase, HKDF for
    /// a PRF output (the parameters are then unused).
    Hardened(Argon2Params),
    /// The Chipi SDK's CryptoJS format, for wallets that must stay readable by the SDK.
    Chipi,
}

impl Default for KeyProtection {
    fn default() -> Self {
        Self::Hardened(CURRENT_PARAMS)
    }
}

fn creation_failed(detail: impl std::fmt::Display) -> SessionError {
    SessionError::CreationFailed { message: format!("Failed to create session key: {detail}") }
}

/// Creates a session key valid until `now + duration_seconds`, sealed in the hardened
/// format and bound to `account`. As the SDK: the duration must be positive and the key
/// non-empty (`SESSION_CREATION_FAILED`); a PIN must also pass the weak-PIN rules
/// (`WEAK_PIN`).
pub fn create_session_key(
    encrypt_key: &EncryptKey,
    account: &Felt,
    duration_seconds: u64,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<SessionKeyData, SessionError> {
    create_session_key_with(
        encrypt_key,
        account,
        duration_seconds,
        now,
        KeyProtection::default(),
        rng,
    )
}

/// Creates a session key in the Chipi SDK's format (readable by `@chipi-stack/backend`).
/// The SDK's rules apply: positive duration, non-empty key; no strength rules.
pub fn create_session_key_chipi(
    encrypt_key: &EncryptKey,
    duration_seconds: u64,
    now: u64,
    rng: &mut impl CryptoRngCore,
) -> Result<SessionKeyData, SessionError> {
    create_session_key_with(
        encrypt_key,
        &Felt::ZERO,
        duration_seconds,
        now,
        KeyProtection::Chipi,
        rng,
    )
}

/// [`create_session_key`] with an explicit storage format. `account` is bound into
/// hardened envelopes and unused by the Chipi format.
pub fn create_session_key_with(
    encrypt_key: &EncryptKey,
    account: &Felt,
    duration_seconds: u64,
    now: u64,
    protection: KeyProtection,
    rng: &mut impl CryptoRngCore,
) -> Result<SessionKeyData, SessionError> {
    if duration_seconds == 0 {
        return Err(SessionError::CreationFailed {
            message: format!(
                "Invalid session duration: {duration_seconds}. Must be a positive integer."
            ),
        });
    }
    if encrypt_key.is_empty() {
        return Err(creation_failed("Private key and password are required"));
    }
    let valid_until =
        now.checked_add(duration_seconds).ok_or_else(|| creation_failed("validUntil overflows"))?;
    let session_key = generate_session_key(rng);
    let binding = KeyBinding {
        kind: KeyKind::Session,
        account: *account,
        public_key: session_key.public_key(),
    };
    let sealed = match protection {
        KeyProtection::Chipi => chipi::seal_key(&session_key, KeyKind::Session, encrypt_key, rng),
        KeyProtection::Hardened(_) if encrypt_key.is_prf() => {
            passkey::seal(&session_key, encrypt_key, &binding, rng)
        }
        KeyProtection::Hardened(params) => {
            hardened::seal_with_params(&session_key, encrypt_key, &binding, params, rng)
        }
    };
    let encrypted_private_key = sealed.map_err(|err| match err {
        KeystoreError::WeakPin(reason) => SessionError::WeakPin(reason),
        other => creation_failed(other),
    })?;
    Ok(SessionKeyData {
        public_key: public_key_hex(&session_key),
        encrypted_private_key,
        valid_until,
    })
}

/// Signs a session execution as the SDK does: `SESSION_EXPIRED` when `now` is past
/// `session.valid_until`; the SNIP-12 hash of `typed_data` for `account`; the session key
/// decrypted (either format) and checked against `session.public_key`
/// (`SESSION_DECRYPTION_FAILED` otherwise); then `[public_key, r, s, valid_until]`.
pub fn sign_session_execution(
    session: &SessionKeyData,
    encrypt_key: &EncryptKey,
    typed_data: &TypedData,
    account: &Felt,
    now: u64,
) -> Result<SessionSignature, SessionError> {
    if !is_live_at(0, session.valid_until, now) {
        return Err(SessionError::Expired { valid_until: session.valid_until });
    }
    let public_key = session.public_key_felt().map_err(|_| SessionError::InvalidInput {
        reason: "the session publicKey is not a felt".to_string(),
    })?;
    let hash = typed_data.message_hash(account).map_err(SessionError::InvalidTypedData)?;
    let binding = KeyBinding { kind: KeyKind::Session, account: *account, public_key };
    let key = keystore::open(&session.encrypted_private_key, encrypt_key, &binding)
        .map_err(|cause| SessionError::DecryptionFailed { cause })?;
    SessionSignature::sign(&key, &hash, session.valid_until).map_err(SessionError::SigningFailed)
}

/// Signs typed data as the account owner: decrypts the owner key (either format), checks
/// it against `expected_public_key` (which the SDK does not), and signs the SNIP-12 hash
/// for `account`.
pub fn sign_owner(
    encrypted_owner_key: &str,
    encrypt_key: &EncryptKey,
    expected_public_key: &Felt,
    typed_data: &TypedData,
    account: &Felt,
) -> Result<Signature, SessionError> {
    let hash = typed_data.message_hash(account).map_err(SessionError::InvalidTypedData)?;
    let binding =
        KeyBinding { kind: KeyKind::Owner, account: *account, public_key: *expected_public_key };
    let key = keystore::open(encrypted_owner_key, encrypt_key, &binding)
        .map_err(|cause| SessionError::OwnerKeyDecryptionFailed { cause })?;
    key.sign(&hash).map_err(SessionError::SigningFailed)
}

/// Opens the sealed key bound by `binding` and signs a proof of possession with it
/// ([`crate::proof_hash`]): what the server asks before it stores something for the key.
pub fn prove_possession(
    sealed_key: &str,
    encrypt_key: &EncryptKey,
    binding: &KeyBinding,
    chain_id: &Felt,
    purpose: crate::ProofPurpose,
    challenge: &Felt,
    payload: &Felt,
) -> Result<Signature, SessionError> {
    let key =
        keystore::open(sealed_key, encrypt_key, binding).map_err(|cause| match binding.kind {
            KeyKind::Owner => SessionError::OwnerKeyDecryptionFailed { cause },
            KeyKind::Session => SessionError::DecryptionFailed { cause },
        })?;
    crate::sign_proof(&key, chain_id, &binding.account, purpose, challenge, payload)
        .map_err(SessionError::SigningFailed)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::rngs::{OsRng, StdRng};
    use rand::SeedableRng;
    use serde_json::Value;

    use super::*;
    use crate::felt::{parse_felt, to_hex};
    use crate::keys::DEFAULT_SESSION_DURATION_SECONDS;
    use crate::keystore::hardened::FLOOR_PARAMS;
    use crate::signature::verify_signature;
    use crate::SigningKey;

    fn capture() -> Value {
        serde_json::from_str(include_str!("../../../test-vectors/chipi-sdk-14.4.0-capture.json"))
            .unwrap()
    }

    fn felt(v: &Value) -> Felt {
        parse_felt(v.as_str().unwrap()).unwrap()
    }

    fn signing_vector() -> (TypedData, Felt, Value) {
        let c = capture();
        let v = c["signingVector"].clone();
        let td: TypedData = serde_json::from_value(v["typedData"].clone()).unwrap();
        (td, felt(&v["walletAddr"]), v)
    }

    fn captured_session() -> SessionKeyData {
        serde_json::from_value(capture()["createSessionKey"]["result"].clone()).unwrap()
    }

    const FAST: KeyProtection = KeyProtection::Hardened(FLOOR_PARAMS);

    #[test]
    fn err_expired_matches_the_sdk() {
        let c = capture();
        let (td, account, _) = signing_vector();
        let session = SessionKeyData { valid_until: 1000, ..captured_session() };
        let err =
            sign_session_execution(&session, &EncryptKey::passphrase("1234"), &td, &account, 1001)
                .unwrap_err();
        assert_eq!(err.code(), c["errExpired"]["code"].as_str().unwrap());
        assert_eq!(err.to_string(), c["errExpired"]["message"].as_str().unwrap());
        assert_eq!(err.numeric_code(), 1);
    }

    #[test]
    fn err_wrong_pin_matches_the_sdk() {
        let c = capture();
        let (td, account, _) = signing_vector();
        let session = captured_session();
        let now = session.valid_until - DEFAULT_SESSION_DURATION_SECONDS;
        for pin in ["0000", "4321", "12345", "1234 "] {
            let err =
                sign_session_execution(&session, &EncryptKey::passphrase(pin), &td, &account, now)
                    .unwrap_err();
            assert_eq!(err.code(), c["errWrongPin"]["code"].as_str().unwrap());
            assert_eq!(err.to_string(), c["errWrongPin"]["message"].as_str().unwrap());
        }
        // The right PIN signs, with the captured session's public key as element 0.
        let sig =
            sign_session_execution(&session, &EncryptKey::passphrase("1234"), &td, &account, now)
                .unwrap();
        assert_eq!(to_hex(&sig.session_key), session.public_key);
        assert!(sig.verify(&td.message_hash(&account).unwrap()));
    }

    #[test]
    fn captured_session_signature_is_reproduced() {
        let c = capture();
        let (td, account, v) = signing_vector();
        let key = SigningKey::from_hex(c["keys"]["SESSION_PK"].as_str().unwrap()).unwrap();
        let text = crate::keys::private_key_text(&key, KeyKind::Session);
        let session = SessionKeyData {
            public_key: c["keys"]["sessionPub"].as_str().unwrap().to_string(),
            encrypted_private_key: chipi::encrypt_with_salt(text.expose(), "1234", [9; 8]).unwrap(),
            valid_until: 1_893_456_000,
        };
        // now == valid_until is still valid (inclusive), now + 1 is not.
        let sig = sign_session_execution(
            &session,
            &EncryptKey::passphrase("1234"),
            &td,
            &account,
            1_893_456_000,
        )
        .unwrap();
        let expected: Vec<String> = v["sessionSignature"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(sig.to_hex_strings(), expected);
        let late = sign_session_execution(
            &session,
            &EncryptKey::passphrase("1234"),
            &td,
            &account,
            1_893_456_001,
        );
        assert_eq!(late.unwrap_err().code(), "SESSION_EXPIRED");
    }

    #[test]
    fn create_sign_verify_round_trip_hardened_default() {
        let (td, account, _) = signing_vector();
        let pin = EncryptKey::passphrase("482913");
        let now = 1_800_000_000;
        let session =
            create_session_key(&pin, &account, DEFAULT_SESSION_DURATION_SECONDS, now, &mut OsRng)
                .unwrap();
        assert!(session
            .encrypted_private_key
            .starts_with("lk1$session$argon2id$m=131072,t=3,p=4$-$"));
        assert_eq!(session.valid_until, now + 21_600);
        let sig = sign_session_execution(&session, &pin, &td, &account, now + 60).unwrap();
        let hash = td.message_hash(&account).unwrap();
        assert_eq!(to_hex(&sig.session_key), session.public_key);
        assert_eq!(sig.valid_until, session.valid_until);
        assert!(sig.verify(&hash));
        assert!(verify_signature(&session.public_key_felt().unwrap(), &hash, &sig.signature));
        // JSON identical in shape to the SDK's.
        let json: Value = serde_json::to_value(&session).unwrap();
        let keys: HashSet<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, HashSet::from(["publicKey", "encryptedPrivateKey", "validUntil"]));
        assert!(json["validUntil"].is_u64());
    }

    #[test]
    fn k05_hardened_session_is_bound_to_its_account() {
        let (td, account, _) = signing_vector();
        let pin = EncryptKey::passphrase("482913");
        let session = create_session_key_with(&pin, &account, 600, 100, FAST, &mut OsRng).unwrap();
        let other = account + Felt::ONE;
        let err = sign_session_execution(&session, &pin, &td, &other, 200).unwrap_err();
        assert_eq!(err.code(), "SESSION_DECRYPTION_FAILED");
        // A session record pointing at another public key fails the same way.
        let mut swapped = session.clone();
        swapped.public_key = to_hex(&(session.public_key_felt().unwrap() + Felt::ONE));
        let err = sign_session_execution(&swapped, &pin, &td, &account, 200).unwrap_err();
        assert_eq!(err.code(), "SESSION_DECRYPTION_FAILED");
    }

    #[test]
    fn chipi_and_passkey_sessions_round_trip() {
        let (td, account, _) = signing_vector();
        let hash = td.message_hash(&account).unwrap();
        let pin = EncryptKey::passphrase("482915");
        let session = create_session_key_chipi(&pin, 3600, 0, &mut OsRng).unwrap();
        assert!(session.encrypted_private_key.starts_with("U2FsdGVkX1"));
        assert_eq!(session.encrypted_private_key.len(), 128);
        let text = chipi::decrypt(&session.encrypted_private_key, "482915").unwrap();
        assert_eq!(text.len(), 66, "session keys are zero-padded to 64 hex digits");
        assert!(sign_session_execution(&session, &pin, &td, &account, 3600).unwrap().verify(&hash));

        let prf = EncryptKey::prf(&[0x77; 32]).unwrap();
        let session = create_session_key(&prf, &account, 3600, 0, &mut OsRng).unwrap();
        assert!(session.encrypted_private_key.starts_with("lk1$session$hkdf-prf$-$-$"));
        assert!(sign_session_execution(&session, &prf, &td, &account, 1).unwrap().verify(&hash));
        let wrong = EncryptKey::prf(&[0x78; 32]).unwrap();
        assert_eq!(
            sign_session_execution(&session, &wrong, &td, &account, 1).unwrap_err().code(),
            "SESSION_DECRYPTION_FAILED"
        );
    }

    #[test]
    fn creation_validates_like_the_sdk() {
        let mut rng = StdRng::seed_from_u64(4);
        let c = capture();
        let err = create_session_key(&EncryptKey::passphrase(""), &Felt::ONE, 21_600, 0, &mut rng)
            .unwrap_err();
        assert_eq!(err.code(), c["createSessionKeyEmptyPw"]["code"].as_str().unwrap());
        assert_eq!(err.to_string(), c["createSessionKeyEmptyPw"]["message"].as_str().unwrap());
        let err =
            create_session_key_chipi(&EncryptKey::passphrase(""), 21_600, 0, &mut rng).unwrap_err();
        assert_eq!(err.to_string(), c["createSessionKeyEmptyPw"]["message"].as_str().unwrap());

        // The SDK's bad-duration message format (1.5 cannot be expressed as u64; 0 can).
        let err = create_session_key(&EncryptKey::passphrase("482913"), &Felt::ONE, 0, 0, &mut rng)
            .unwrap_err();
        assert_eq!(err.code(), c["createSessionKeyBadDuration"]["code"].as_str().unwrap());
        assert_eq!(err.to_string(), "Invalid session duration: 0. Must be a positive integer.");
        let err = create_session_key(
            &EncryptKey::passphrase("482913"),
            &Felt::ONE,
            10,
            u64::MAX,
            &mut rng,
        )
        .unwrap_err();
        assert_eq!(err.code(), "SESSION_CREATION_FAILED");

        let err =
            create_session_key(&EncryptKey::passphrase("123456"), &Felt::ONE, 60, 0, &mut rng)
                .unwrap_err();
        assert_eq!(err, SessionError::WeakPin(WeakPinReason::Sequential));
        assert_eq!(err.code(), "WEAK_PIN");
        assert_eq!(err.numeric_code(), 100);
        // The Chipi format follows the same rules (K9): it is the weaker format.
        let err =
            create_session_key_chipi(&EncryptKey::passphrase("1234"), 60, 0, &mut rng).unwrap_err();
        assert_eq!(err.code(), "WEAK_PIN");
        assert!(
            create_session_key_chipi(&EncryptKey::passphrase("482915"), 60, 0, &mut rng).is_ok()
        );
    }

    #[test]
    fn owner_signature_matches_the_vector_and_checks_the_public_key() {
        let c = capture();
        let (td, account, v) = signing_vector();
        let owner = SigningKey::from_hex(c["keys"]["OWNER_PK"].as_str().unwrap()).unwrap();
        let owner_pub = felt(&c["keys"]["ownerPub"]);
        let ct = c["aesDeterministic"]["ciphertextB64"].as_str().unwrap();
        let pin = EncryptKey::passphrase("1234");
        let sig = sign_owner(ct, &pin, &owner_pub, &td, &account).unwrap();
        assert_eq!(sig.r.to_string(), v["ownerSignatureDecimal"]["r"].as_str().unwrap());
        assert_eq!(sig.s.to_string(), v["ownerSignatureDecimal"]["s"].as_str().unwrap());
        assert_eq!(owner.public_key(), owner_pub);

        let err = sign_owner(ct, &pin, &felt(&c["keys"]["sessionPub"]), &td, &account).unwrap_err();
        assert_eq!(err.code(), "OWNER_KEY_DECRYPTION_FAILED");
        assert_eq!(
            err,
            SessionError::OwnerKeyDecryptionFailed { cause: KeystoreError::PublicKeyMismatch }
        );
        let err =
            sign_owner(ct, &EncryptKey::passphrase("9999"), &owner_pub, &td, &account).unwrap_err();
        assert_eq!(err, SessionError::OwnerKeyDecryptionFailed { cause: KeystoreError::WrongKey });

        // Hardened owner envelope.
        let binding = KeyBinding { kind: KeyKind::Owner, account, public_key: owner_pub };
        let strong = EncryptKey::passphrase("correct horse battery");
        let sealed =
            hardened::seal_with_params(&owner, &strong, &binding, FLOOR_PARAMS, &mut OsRng)
                .unwrap();
        let sig2 = sign_owner(&sealed, &strong, &owner_pub, &td, &account).unwrap();
        assert_eq!(sig2, sig, "RFC 6979 signatures are deterministic");
    }

    #[test]
    fn invalid_inputs_are_typed_errors() {
        let (mut td, account, _) = signing_vector();
        let mut session = captured_session();
        let now = session.valid_until - 10;
        session.public_key = "not a felt".into();
        let err =
            sign_session_execution(&session, &EncryptKey::passphrase("1234"), &td, &account, now)
                .unwrap_err();
        assert_eq!(err.code(), "INVALID_INPUT");
        let session = captured_session();
        td.domain["revision"] = Value::from(0);
        let err =
            sign_session_execution(&session, &EncryptKey::passphrase("1234"), &td, &account, now)
                .unwrap_err();
        assert_eq!(err.code(), "INVALID_TYPED_DATA");
        let (td, _, _) = signing_vector();
        let mut garbage = captured_session();
        garbage.encrypted_private_key = "hello".into();
        let err =
            sign_session_execution(&garbage, &EncryptKey::passphrase("1234"), &td, &account, now)
                .unwrap_err();
        assert_eq!(err, SessionError::DecryptionFailed { cause: KeystoreError::UnknownFormat });
        assert!(err.to_string().starts_with("Failed to decrypt session private key: "));
    }

    #[test]
    fn k11_errors_never_contain_the_pin_or_key() {
        let (td, account, _) = signing_vector();
        let session = captured_session();
        let now = session.valid_until - 10;
        let secret = "0x00aaa8e74ec9583ccf4b2222cf97149172b5579647d567c0dd7873b392e1f88b";
        let mut errors = Vec::new();
        for pin in ["9876501", "5551234"] {
            errors.push(
                sign_session_execution(&session, &EncryptKey::passphrase(pin), &td, &account, now)
                    .unwrap_err(),
            );
        }
        errors.push(
            create_session_key(&EncryptKey::passphrase("9876543"), &account, 60, 0, &mut OsRng)
                .unwrap_err(),
        );
        errors.push(
            create_session_key(&EncryptKey::passphrase("5555555"), &account, 60, 0, &mut OsRng)
                .unwrap_err(),
        );
        for err in &errors {
            for shown in [err.to_string(), format!("{err:?}")] {
                for needle in [
                    "9876501",
                    "5551234",
                    "9876543",
                    "5555555",
                    &secret[4..24],
                    &session.encrypted_private_key[10..30],
                ] {
                    assert!(!shown.contains(needle), "{shown}");
                }
            }
        }
    }

    #[test]
    fn error_codes_are_stable_and_unique() {
        let pinned: [(u16, &str); 15] = [
            (1, "SESSION_EXPIRED"),
            (2, "SESSION_NOT_REGISTERED"),
            (3, "SESSION_REVOKED"),
            (4, "SESSION_MAX_CALLS_EXCEEDED"),
            (5, "SESSION_ENTRYPOINT_NOT_ALLOWED"),
            (6, "SESSION_DECRYPTION_FAILED"),
            (7, "SESSION_CREATION_FAILED"),
            (8, "SESSION_INVALID_RESPONSE"),
            (9, "INVALID_SPENDING_POLICY"),
            (10, "INVALID_WALLET_TYPE_FOR_SESSION"),
            (100, "WEAK_PIN"),
            (101, "OWNER_KEY_DECRYPTION_FAILED"),
            (102, "INVALID_TYPED_DATA"),
            (103, "SIGNING_FAILED"),
            (104, "INVALID_INPUT"),
        ];
        for (code, (value, name)) in SessionErrorCode::ALL.iter().zip(pinned) {
            assert_eq!(code.value(), value);
            assert_eq!(code.as_str(), name);
            assert_eq!(SessionErrorCode::from_value(value), Some(*code));
        }
        assert_eq!(SessionErrorCode::from_value(0), None);
        let samples = [
            SessionError::Expired { valid_until: 0 },
            SessionError::NotRegistered,
            SessionError::Revoked,
            SessionError::MaxCallsExceeded,
            SessionError::EntrypointNotAllowed { selector: "0x1".into() },
            SessionError::DecryptionFailed { cause: KeystoreError::WrongKey },
            SessionError::CreationFailed { message: String::new() },
            SessionError::InvalidResponse { reason: String::new() },
            SessionError::InvalidSpendingPolicy { reason: String::new() },
            SessionError::InvalidWalletType { wallet_type: "READY".into() },
            SessionError::WeakPin(WeakPinReason::Repeated),
            SessionError::OwnerKeyDecryptionFailed { cause: KeystoreError::WrongKey },
            SessionError::InvalidTypedData(TypedDataError::UnsupportedRevision),
            SessionError::SigningFailed(SignatureError::MessageHashOutOfRange),
            SessionError::InvalidInput { reason: String::new() },
        ];
        let kinds: Vec<SessionErrorCode> = samples.iter().map(SessionError::kind).collect();
        assert_eq!(kinds, SessionErrorCode::ALL.to_vec());
    }

    #[test]
    fn expiries_print_as_javascript_dates_even_past_i64() {
        // The calendar itself is tested in `time`; here, the u64 an expiry is stored as.
        assert_eq!(iso8601_utc(1_795_256_074), "2026-11-21T10:14:34.000Z");
        assert!(iso8601_utc(u64::MAX).starts_with('+'));
        let message = SessionError::Expired { valid_until: 1000 }.to_string();
        assert!(message.contains("1970-01-01T00:16:40.000Z"), "{message}");
    }
}
