//! One error type for everything the JavaScript side can see: a stable numeric
//! [`ErrorCode`], its string name, and a message that never carries a secret.
//!
//! Codes 1–10 and 100–104 are latchkey-core's [`SessionErrorCode`] numbers (1–10 mirror
//! the Chipi SDK's `SESSION_ERRORS`). 200 and up belong to this crate and to the
//! TypeScript SDK above it: 2xx for client-side failures, 3xx for what a server answers
//! (300 for any refusal without a code of its own here). A number, once published, never
//! changes meaning.

use latchkey_core::codes;
use latchkey_core::{KeyKind, KeystoreError, SessionError, SessionErrorCode};
use wasm_bindgen::prelude::*;

/// Stable numeric error codes, thrown on every error as `numericCode` (with the name in
/// `code`).
#[wasm_bindgen]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ErrorCode {
    /// `SESSION_EXPIRED`: the session is past its `validUntil`.
    SessionExpired = 1,
    /// `SESSION_NOT_REGISTERED`: the wallet does not know the session key (or there is no
    /// local session).
    SessionNotRegistered = 2,
    /// `SESSION_REVOKED`: the owner revoked the session.
    SessionRevoked = 3,
    /// `SESSION_MAX_CALLS_EXCEEDED`: no calls left.
    SessionMaxCallsExceeded = 4,
    /// `SESSION_ENTRYPOINT_NOT_ALLOWED`: a call is outside the session's allowlist.
    SessionEntrypointNotAllowed = 5,
    /// `SESSION_DECRYPTION_FAILED`: wrong PIN, or the encrypted session key does not
    /// belong to this session.
    SessionDecryptionFailed = 6,
    /// `SESSION_CREATION_FAILED`: a session key could not be created.
    SessionCreationFailed = 7,
    /// `SESSION_INVALID_RESPONSE`: an answer has the wrong shape.
    SessionInvalidResponse = 8,
    /// `INVALID_SPENDING_POLICY`.
    InvalidSpendingPolicy = 9,
    /// `INVALID_WALLET_TYPE_FOR_SESSION`.
    InvalidWalletTypeForSession = 10,
    /// `WEAK_PIN`: a new PIN or passphrase fails the strength rules.
    WeakPin = 100,
    /// `OWNER_KEY_DECRYPTION_FAILED`: wrong PIN, or the encrypted owner key does not
    /// belong to this wallet.
    OwnerKeyDecryptionFailed = 101,
    /// `INVALID_TYPED_DATA`: the typed data cannot be hashed (or is not an outside
    /// execution where one is required).
    InvalidTypedData = 102,
    /// `SIGNING_FAILED`.
    SigningFailed = 103,
    /// `INVALID_INPUT`: a malformed argument.
    InvalidInput = 104,
    /// `INSUFFICIENT_ENTROPY`: fewer than 32 bytes of randomness were given.
    InsufficientEntropy = 200,
    /// `KEY_CREATION_FAILED`: an owner key could not be created or sealed.
    KeyCreationFailed = 201,
    /// `ENCRYPTION_FAILED`: an existing key could not be sealed again.
    EncryptionFailed = 202,
    /// `INVALID_ENCRYPTED_KEY`: not a well-formed `lk1$…` or `U2FsdGVkX1…` key.
    InvalidEncryptedKey = 203,
    /// `NOT_INITIALIZED`: the WebAssembly module is not loaded (`init()` first).
    NotInitialized = 204,
    /// `SESSION_LOCKED`: the session key is not unlocked in memory (enter the PIN).
    SessionLocked = 205,
    /// `UNEXPECTED_TYPED_DATA`: the server's typed data does not do what was asked.
    UnexpectedTypedData = 206,
    /// `OPRF_REQUIRED`: the key is sealed as `lk2`, so its PIN opens it only together with
    /// the server's evaluation under the OPRF key the envelope names.
    OprfRequired = 207,
    /// `INVALID_OPRF_ELEMENT`: a blinded or evaluated OPRF element is not 32 bytes
    /// encoding a ristretto255 point (the server's `400` of the same name, too).
    InvalidOprfElement = 208,
    /// `API_ERROR`: the server refused a request (its own code is in `code`).
    ApiError = 300,
    /// `NETWORK_ERROR`: the server could not be reached or did not answer in JSON.
    NetworkError = 301,
    /// `RATE_LIMITED`: too many requests; retry after the server's `Retry-After`.
    RateLimited = 302,
    /// `DAILY_QUOTA_EXHAUSTED`: the day's sponsored gas of the wallet or end user is used up.
    DailyQuotaExhausted = 303,
    /// `WALLET_COOLING_DOWN`: sponsorship of the wallet paused after repeated reverts.
    WalletCoolingDown = 304,
    /// `TOO_MANY_SIMULATIONS`: too many fee simulations at once; retry later.
    TooManySimulations = 305,
    /// `SIMULATION_TIMEOUT`: the fee simulation did not finish in time.
    SimulationTimeout = 306,
    /// `NOT_SPONSORED`: the organisation's sponsorship policy does not pay for a call.
    NotSponsored = 307,
    /// `MAX_FEE_EXCEEDED`: the transaction would reserve more than the policy allows.
    MaxFeeExceeded = 308,
    /// `REQUEST_CONFLICT`: an idempotency key was reused for another request, or the same
    /// request is still running.
    RequestConflict = 309,
    /// `SESSION_KEY_REVOKED`: a revoked session key can never be registered again.
    SessionKeyRevoked = 310,
    /// `ALLOWLIST_REQUIRED`: a session needs allowed methods (or an explicit allow-all).
    AllowlistRequired = 311,
    /// `SESSION_TOO_LONG`: the session lasts longer than the server allows.
    SessionTooLong = 312,
    /// `SELF_CALL_NOT_ALLOWED`: a session may not call its own wallet.
    SelfCallNotAllowed = 313,
    /// `INVALID_PROOF`: a proof of key possession does not verify, or its challenge is
    /// unknown, used, expired or someone else's.
    InvalidProof = 314,
    /// `PIN_LOCKED`: too many PIN evaluations without a proved unlock; the server refuses
    /// more until `Retry-After`.
    PinLocked = 315,
    /// `UNKNOWN_OPRF_KEY`: the server has no OPRF key of the id the envelope names.
    UnknownOprfKey = 316,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [Self; 41] = [
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
        Self::InsufficientEntropy,
        Self::KeyCreationFailed,
        Self::EncryptionFailed,
        Self::InvalidEncryptedKey,
        Self::NotInitialized,
        Self::SessionLocked,
        Self::UnexpectedTypedData,
        Self::OprfRequired,
        Self::InvalidOprfElement,
        Self::ApiError,
        Self::NetworkError,
        Self::RateLimited,
        Self::DailyQuotaExhausted,
        Self::WalletCoolingDown,
        Self::TooManySimulations,
        Self::SimulationTimeout,
        Self::NotSponsored,
        Self::MaxFeeExceeded,
        Self::RequestConflict,
        Self::SessionKeyRevoked,
        Self::AllowlistRequired,
        Self::SessionTooLong,
        Self::SelfCallNotAllowed,
        Self::InvalidProof,
        Self::PinLocked,
        Self::UnknownOprfKey,
    ];

    /// The number.
    pub const fn value(self) -> u16 {
        self as u16
    }

    /// The string name (`SESSION_EXPIRED`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Self::SessionExpired => SessionErrorCode::SessionExpired.as_str(),
            Self::SessionNotRegistered => SessionErrorCode::SessionNotRegistered.as_str(),
            Self::SessionRevoked => SessionErrorCode::SessionRevoked.as_str(),
            Self::SessionMaxCallsExceeded => SessionErrorCode::SessionMaxCallsExceeded.as_str(),
            Self::SessionEntrypointNotAllowed => {
                SessionErrorCode::SessionEntrypointNotAllowed.as_str()
            }
            Self::SessionDecryptionFailed => SessionErrorCode::SessionDecryptionFailed.as_str(),
            Self::SessionCreationFailed => SessionErrorCode::SessionCreationFailed.as_str(),
            Self::SessionInvalidResponse => SessionErrorCode::SessionInvalidResponse.as_str(),
            Self::InvalidSpendingPolicy => SessionErrorCode::InvalidSpendingPolicy.as_str(),
            Self::InvalidWalletTypeForSession => {
                SessionErrorCode::InvalidWalletTypeForSession.as_str()
            }
            Self::WeakPin => SessionErrorCode::WeakPin.as_str(),
            Self::OwnerKeyDecryptionFailed => SessionErrorCode::OwnerKeyDecryptionFailed.as_str(),
            Self::InvalidTypedData => SessionErrorCode::InvalidTypedData.as_str(),
            Self::SigningFailed => SessionErrorCode::SigningFailed.as_str(),
            Self::InvalidInput => SessionErrorCode::InvalidInput.as_str(),
            Self::InsufficientEntropy => codes::INSUFFICIENT_ENTROPY,
            Self::KeyCreationFailed => codes::KEY_CREATION_FAILED,
            Self::EncryptionFailed => codes::ENCRYPTION_FAILED,
            Self::InvalidEncryptedKey => codes::INVALID_ENCRYPTED_KEY,
            Self::NotInitialized => codes::NOT_INITIALIZED,
            Self::SessionLocked => codes::SESSION_LOCKED,
            Self::UnexpectedTypedData => codes::UNEXPECTED_TYPED_DATA,
            Self::OprfRequired => codes::OPRF_REQUIRED,
            Self::InvalidOprfElement => codes::INVALID_OPRF_ELEMENT,
            Self::ApiError => codes::API_ERROR,
            Self::NetworkError => codes::NETWORK_ERROR,
            Self::RateLimited => codes::RATE_LIMITED,
            Self::DailyQuotaExhausted => codes::DAILY_QUOTA_EXHAUSTED,
            Self::WalletCoolingDown => codes::WALLET_COOLING_DOWN,
            Self::TooManySimulations => codes::TOO_MANY_SIMULATIONS,
            Self::SimulationTimeout => codes::SIMULATION_TIMEOUT,
            Self::NotSponsored => codes::NOT_SPONSORED,
            Self::MaxFeeExceeded => codes::MAX_FEE_EXCEEDED,
            Self::RequestConflict => codes::REQUEST_CONFLICT,
            Self::SessionKeyRevoked => codes::SESSION_KEY_REVOKED,
            Self::AllowlistRequired => codes::ALLOWLIST_REQUIRED,
            Self::SessionTooLong => codes::SESSION_TOO_LONG,
            Self::SelfCallNotAllowed => codes::SELF_CALL_NOT_ALLOWED,
            Self::InvalidProof => codes::INVALID_PROOF,
            Self::PinLocked => codes::PIN_LOCKED,
            Self::UnknownOprfKey => codes::UNKNOWN_OPRF_KEY,
        }
    }

    /// The code of a latchkey-core session error.
    pub const fn from_session(code: SessionErrorCode) -> Self {
        match code {
            SessionErrorCode::SessionExpired => Self::SessionExpired,
            SessionErrorCode::SessionNotRegistered => Self::SessionNotRegistered,
            SessionErrorCode::SessionRevoked => Self::SessionRevoked,
            SessionErrorCode::SessionMaxCallsExceeded => Self::SessionMaxCallsExceeded,
            SessionErrorCode::SessionEntrypointNotAllowed => Self::SessionEntrypointNotAllowed,
            SessionErrorCode::SessionDecryptionFailed => Self::SessionDecryptionFailed,
            SessionErrorCode::SessionCreationFailed => Self::SessionCreationFailed,
            SessionErrorCode::SessionInvalidResponse => Self::SessionInvalidResponse,
            SessionErrorCode::InvalidSpendingPolicy => Self::InvalidSpendingPolicy,
            SessionErrorCode::InvalidWalletTypeForSession => Self::InvalidWalletTypeForSession,
            SessionErrorCode::WeakPin => Self::WeakPin,
            SessionErrorCode::OwnerKeyDecryptionFailed => Self::OwnerKeyDecryptionFailed,
            SessionErrorCode::InvalidTypedData => Self::InvalidTypedData,
            SessionErrorCode::SigningFailed => Self::SigningFailed,
            SessionErrorCode::InvalidInput => Self::InvalidInput,
        }
    }
}

/// The string name of a numeric error code (`SESSION_EXPIRED` for 1), or `undefined` for
/// a number that is not a code.
#[wasm_bindgen(js_name = errorCodeName)]
pub fn error_code_name(value: u16) -> Option<String> {
    ErrorCode::ALL.iter().find(|code| code.value() == value).map(|code| code.name().to_string())
}

/// An error for JavaScript: a code and a message without secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WasmError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl WasmError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub(crate) fn invalid_input(reason: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidInput, format!("Invalid input: {reason}."))
    }

    /// A failure to open a stored key of `kind`, with the SDK's messages; an `lk2`
    /// envelope opened without (or with another key's) OPRF evaluation is `OPRF_REQUIRED`.
    pub(crate) fn open_failed(kind: KeyKind, cause: KeystoreError) -> Self {
        match (kind, cause) {
            (_, KeystoreError::OprfRequired { key_id }) => Self::new(
                ErrorCode::OprfRequired,
                format!(
                    "This {kind} key is sealed as lk2: its PIN opens it only with the server's \
                     evaluation under OPRF key {key_id:?} (unlock it through the server)."
                ),
            ),
            (_, KeystoreError::OprfKeyMismatch { expected, found }) => Self::new(
                ErrorCode::OprfRequired,
                format!(
                    "This {kind} key needs the server's evaluation under OPRF key {expected:?}, \
                     not {found:?}."
                ),
            ),
            (KeyKind::Session, cause) => SessionError::DecryptionFailed { cause }.into(),
            (KeyKind::Owner, cause) => SessionError::OwnerKeyDecryptionFailed { cause }.into(),
        }
    }

    /// A refused OPRF element (`INVALID_OPRF_ELEMENT`).
    #[cfg(any(feature = "sealing", feature = "session"))]
    pub(crate) fn invalid_oprf_element() -> Self {
        Self::new(
            ErrorCode::InvalidOprfElement,
            "The server's PIN evaluation is not 32 bytes encoding a ristretto255 point.",
        )
    }

    /// A failure to seal a new key of `kind`.
    #[cfg(feature = "sealing")]
    pub(crate) fn create_failed(kind: KeyKind, cause: KeystoreError) -> Self {
        match (kind, cause) {
            (_, KeystoreError::WeakPin(reason)) => SessionError::WeakPin(reason).into(),
            (KeyKind::Session, cause) => SessionError::CreationFailed {
                message: format!("Failed to create session key: {cause}"),
            }
            .into(),
            (KeyKind::Owner, cause) => Self::new(
                ErrorCode::KeyCreationFailed,
                format!("Failed to create the owner key: {cause}"),
            ),
        }
    }

    /// A failure to seal an existing key again.
    #[cfg(feature = "common")]
    pub(crate) fn reseal_failed(cause: KeystoreError) -> Self {
        match cause {
            KeystoreError::WeakPin(reason) => SessionError::WeakPin(reason).into(),
            cause => Self::new(
                ErrorCode::EncryptionFailed,
                format!("Failed to encrypt the private key: {cause}"),
            ),
        }
    }

    /// Converts to a thrown JavaScript `Error` with `name = "LatchkeyError"`, `code` (the
    /// string name) and `numericCode`.
    pub(crate) fn into_js(self) -> JsValue {
        let error = js_sys::Error::new(&self.message);
        error.set_name("LatchkeyError");
        let value: JsValue = error.into();
        // Setting plain data properties on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&value, &"code".into(), &self.code.name().into());
        let _ =
            js_sys::Reflect::set(&value, &"numericCode".into(), &JsValue::from(self.code.value()));
        value
    }
}

impl From<SessionError> for WasmError {
    fn from(err: SessionError) -> Self {
        Self { code: ErrorCode::from_session(err.kind()), message: err.to_string() }
    }
}

impl std::fmt::Display for WasmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

/// `Result` of the Rust side, converted to a thrown error at the boundary.
pub(crate) type WasmResult<T> = Result<T, WasmError>;

/// Converts a Rust result into one wasm-bindgen throws.
pub(crate) fn to_js<T>(result: WasmResult<T>) -> Result<T, JsValue> {
    result.map_err(WasmError::into_js)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn core_codes_keep_their_numbers_and_names() {
        for code in SessionErrorCode::ALL {
            let ours = ErrorCode::from_session(code);
            assert_eq!(ours.value(), code.value(), "{code:?}");
            assert_eq!(ours.name(), code.as_str());
        }
    }

    #[test]
    fn codes_are_pinned_unique_and_in_order() {
        let pinned: [(u16, &str); 41] = [
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
            (200, "INSUFFICIENT_ENTROPY"),
            (201, "KEY_CREATION_FAILED"),
            (202, "ENCRYPTION_FAILED"),
            (203, "INVALID_ENCRYPTED_KEY"),
            (204, "NOT_INITIALIZED"),
            (205, "SESSION_LOCKED"),
            (206, "UNEXPECTED_TYPED_DATA"),
            (207, "OPRF_REQUIRED"),
            (208, "INVALID_OPRF_ELEMENT"),
            (300, "API_ERROR"),
            (301, "NETWORK_ERROR"),
            (302, "RATE_LIMITED"),
            (303, "DAILY_QUOTA_EXHAUSTED"),
            (304, "WALLET_COOLING_DOWN"),
            (305, "TOO_MANY_SIMULATIONS"),
            (306, "SIMULATION_TIMEOUT"),
            (307, "NOT_SPONSORED"),
            (308, "MAX_FEE_EXCEEDED"),
            (309, "REQUEST_CONFLICT"),
            (310, "SESSION_KEY_REVOKED"),
            (311, "ALLOWLIST_REQUIRED"),
            (312, "SESSION_TOO_LONG"),
            (313, "SELF_CALL_NOT_ALLOWED"),
            (314, "INVALID_PROOF"),
            (315, "PIN_LOCKED"),
            (316, "UNKNOWN_OPRF_KEY"),
        ];
        let values: HashSet<u16> = ErrorCode::ALL.iter().map(|c| c.value()).collect();
        assert_eq!(values.len(), ErrorCode::ALL.len());
        for (code, (value, name)) in ErrorCode::ALL.iter().zip(pinned) {
            assert_eq!((code.value(), code.name()), (value, name));
            assert_eq!(error_code_name(value).as_deref(), Some(name));
        }
        assert_eq!(error_code_name(0), None);
        assert_eq!(error_code_name(105), None);
    }

    #[test]
    fn the_codes_are_exactly_the_registry_s_numbered_ones() {
        let numbered: Vec<(u16, &str)> = latchkey_core::codes::ALL
            .iter()
            .filter_map(|code| code.number.map(|n| (n, code.name)))
            .collect();
        let ours: Vec<(u16, &str)> = ErrorCode::ALL.iter().map(|c| (c.value(), c.name())).collect();
        assert_eq!(ours, numbered);
    }

    #[test]
    fn keystore_failures_map_by_key_kind() {
        let err = WasmError::open_failed(KeyKind::Session, KeystoreError::WrongKey);
        assert_eq!(err.code, ErrorCode::SessionDecryptionFailed);
        assert_eq!(
            err.message,
            "Failed to decrypt session private key. Verify the encryptKey is correct."
        );
        let err = WasmError::open_failed(KeyKind::Owner, KeystoreError::PublicKeyMismatch);
        assert_eq!(err.code, ErrorCode::OwnerKeyDecryptionFailed);
        let weak = KeystoreError::WeakPin(latchkey_core::WeakPinReason::Sequential);
        assert_eq!(WasmError::create_failed(KeyKind::Owner, weak.clone()).code, ErrorCode::WeakPin);
        assert_eq!(WasmError::reseal_failed(weak).code, ErrorCode::WeakPin);
        assert_eq!(
            WasmError::create_failed(KeyKind::Session, KeystoreError::EmptyKey).code,
            ErrorCode::SessionCreationFailed
        );
        assert_eq!(
            WasmError::create_failed(KeyKind::Owner, KeystoreError::EmptyKey).code,
            ErrorCode::KeyCreationFailed
        );
    }

    #[test]
    fn lk2_without_the_servers_evaluation_is_oprf_required() {
        let required = KeystoreError::OprfRequired { key_id: "v1".into() };
        for kind in [KeyKind::Session, KeyKind::Owner] {
            let err = WasmError::open_failed(kind, required.clone());
            assert_eq!(err.code, ErrorCode::OprfRequired);
            assert!(err.message.contains("\"v1\""), "{}", err.message);
            assert!(err.message.contains(kind.as_str()), "{}", err.message);
        }
        let mismatch = KeystoreError::OprfKeyMismatch { expected: "v2".into(), found: "v1".into() };
        let err = WasmError::open_failed(KeyKind::Owner, mismatch);
        assert_eq!(err.code, ErrorCode::OprfRequired);
        assert!(err.message.contains("\"v2\"") && err.message.contains("\"v1\""));
        // A wrong PIN under the right evaluation stays a decryption failure.
        let err = WasmError::open_failed(KeyKind::Owner, KeystoreError::WrongKey);
        assert_eq!(err.code, ErrorCode::OwnerKeyDecryptionFailed);
    }
}
