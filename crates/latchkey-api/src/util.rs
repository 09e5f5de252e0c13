//! Small shared pieces of the handlers: request bodies, felts, key blobs, dates.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use latchkey_core::codes;
use latchkey_core::keystore::{hardened, Curve};
use latchkey_core::KeyKind;
use latchkey_core::{parse_felt, to_hex, Felt};
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

/// The raw request body, with a JSON error when it is too large.
pub(crate) struct RawBody(pub(crate) Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_body_bytes;
        Bytes::from_request(req, state).await.map(RawBody).map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::BODY_TOO_LARGE,
                    format!("request body larger than {limit} bytes"),
                )
            } else {
                ApiError::bad_request(codes::INVALID_BODY, rejection.body_text())
            }
        })
    }
}

/// Query parameters, with a JSON error (`INVALID_QUERY`) naming the bad parameter.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::bad_request(codes::INVALID_QUERY, rejection.body_text()))
    }
}

/// Parses a JSON body, naming the offending field on failure.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error(deserializer)
}

fn serde_path_to_error<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<T, ApiError>
where
    D::Error: std::fmt::Display,
{
    T::deserialize(deserializer).map_err(|e| {
        ApiError::bad_request(codes::INVALID_REQUEST, format!("invalid request body: {e}"))
    })
}

/// A felt from a request field, strictly: exactly the syntax the OpenAPI document gives
/// (`0x` and 1 to 64 hex digits, or 1 to 78 decimal digits; no spaces, no `0X`), and a
/// value below the prime.
pub(crate) fn felt(field: &str, value: &str) -> Result<Felt, ApiError> {
    if !is_felt_syntax(value) {
        return Err(ApiError::bad_request(
            codes::INVALID_FELT,
            format!("{field}: a felt is 0x and 1 to 64 hex digits, or 1 to 78 decimal digits"),
        ));
    }
    parse_felt(value)
        .map_err(|e| ApiError::bad_request(codes::INVALID_FELT, format!("{field}: {e}")))
}

/// Whether `value` is `0x` and 1 to 64 hex digits, or 1 to 78 decimal digits.
pub(crate) fn is_felt_syntax(value: &str) -> bool {
    match value.strip_prefix("0x") {
        Some(hex) => (1..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => (1..=78).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// A felt from a JSON value: a string as [`felt`] takes it, or an integer from 0 to
/// 2^64 - 1 (also written as a float with no fraction, `5.0`: JSON Schema's integers).
pub(crate) fn felt_json(field: &str, value: &serde_json::Value) -> Result<Felt, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            codes::INVALID_FELT,
            format!(
                "{field}: a felt is a string (hex or decimal) or an integer from 0 to 2^64 - 1"
            ),
        )
    };
    match value {
        serde_json::Value::String(text) => felt(field, text),
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(v), _) => Ok(Felt::from(v)),
            // Below 2^64 (u64::MAX as f64 rounds up to 2^64) and whole: exact as u64.
            (None, Some(f)) if f >= 0.0 && f < u64::MAX as f64 && f.fract() == 0.0 => {
                Ok(Felt::from(f as u64))
            }
            _ => Err(invalid()),
        },
        _ => Err(invalid()),
    }
}

/// An optional numeric query parameter: `default` when absent, `400 INVALID_QUERY` outside
/// `range` (the range the OpenAPI document gives).
pub(crate) fn in_range(
    name: &str,
    value: Option<u32>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_request(
            codes::INVALID_QUERY,
            format!("{name} must be from {} to {}", range.start(), range.end()),
        ))
    }
}

/// Canonical address text: lowercase minimal hex.
pub(crate) fn address_text(address: &Felt) -> String {
    to_hex(address)
}

/// A signature as the relayer takes it: each word checked as a felt (`400 INVALID_FELT`
/// naming `signature` otherwise) and written in canonical hex.
pub(crate) fn signature_words(words: &[String]) -> Result<Vec<String>, ApiError> {
    words.iter().map(|w| felt("signature", w).map(|f| to_hex(&f))).collect()
}

/// A fresh single-use challenge or nonce: a random felt below 2^251.
pub(crate) fn random_challenge() -> Felt {
    latchkey_core::random_felt(&mut rand::rngs::OsRng)
}

/// Which encrypted formats a route stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFormats {
    /// latchkey's envelopes (`lk2`, `lk1`): the native routes. A Chipi ciphertext gives a
    /// 6-digit PIN to anyone with a copy in under a second, so only the Chipi dialect,
    /// whose SDK makes them, takes one.
    Hardened,
    /// latchkey's envelopes and Chipi ciphertexts: the Chipi dialect.
    WithChipi,
}

impl KeyFormats {
    /// Whether `blob` is an encrypted key in one of these formats (never a plaintext key).
    pub(crate) fn accepts(self, blob: &str) -> bool {
        match latchkey_core::keystore::KeyFormat::validate(blob) {
            Ok(latchkey_core::keystore::KeyFormat::Hardened) => true,
            Ok(latchkey_core::keystore::KeyFormat::Chipi) => self == Self::WithChipi,
            Err(_) => false,
        }
    }

    /// The refusal of a blob this route does not store, naming `field`.
    pub(crate) fn refusal(self, field: &str, blob: &str) -> ApiError {
        let chipi = latchkey_core::keystore::KeyFormat::validate(blob)
            == Ok(latchkey_core::keystore::KeyFormat::Chipi);
        let message = match self {
            Self::Hardened if chipi => format!(
                "{field} is a Chipi ciphertext, which a copy opens by trying every PIN in under                  a second: it is accepted on the Chipi dialect only; seal the key as lk2 (or lk1)"
            ),
            Self::Hardened => format!(
                "{field} must be an encrypted key (lk2 or lk1), never a plaintext key"
            ),
            Self::WithChipi => format!(
                "{field} must be an encrypted key (lk2, lk1 or Chipi format), never a plaintext key"
            ),
        };
        ApiError::bad_request(codes::INVALID_ENCRYPTED_KEY, message)
    }
}

/// Refuses a wallet's key blobs unless each is an encrypted key in one of `formats`: the
/// server must never receive a plaintext key. Checked before anything else.
pub(crate) fn ensure_encrypted_keys(
    formats: KeyFormats,
    primary: &str,
    backup: Option<&str>,
) -> Result<(), ApiError> {
    key_fields(primary, backup).try_for_each(|(field, blob)| ensure_format(formats, field, blob))
}

/// Refuses a wallet's key blobs unless each holds an owner key on the wallet's `curve`:
/// the server never stores a blob its owner could not open. Checked once the request is
/// proved to come from the owner (what a blob may hold depends on the wallet's chain).
pub(crate) fn ensure_owner_keys(
    curve: Curve,
    primary: &str,
    backup: Option<&str>,
) -> Result<(), ApiError> {
    key_fields(primary, backup).try_for_each(|(field, blob)| ensure_owner_key(curve, field, blob))
}

/// Both checks, for one blob named `field` in the refusal.
pub(crate) fn ensure_encrypted_key(
    formats: KeyFormats,
    curve: Curve,
    field: &str,
    blob: &str,
) -> Result<(), ApiError> {
    ensure_format(formats, field, blob)?;
    ensure_owner_key(curve, field, blob)
}

fn key_fields<'a>(
    primary: &'a str,
    backup: Option<&'a str>,
) -> impl Iterator<Item = (&'static str, &'a str)> {
    std::iter::once(("encryptedPrivateKey", primary))
        .chain(backup.map(|blob| ("encryptedPrivateKeyBackup", blob)))
}

fn ensure_format(formats: KeyFormats, field: &str, blob: &str) -> Result<(), ApiError> {
    if formats.accepts(blob) {
        Ok(())
    } else {
        Err(formats.refusal(field, blob))
    }
}

fn ensure_owner_key(curve: Curve, field: &str, blob: &str) -> Result<(), ApiError> {
    let (kind, found) = match hardened::inspect(blob) {
        Ok(info) => (info.kind, info.curve),
        // Not an envelope (the format was checked): a Chipi ciphertext, a Stark owner key.
        Err(_) => (KeyKind::Owner, Curve::Stark),
    };
    if kind != KeyKind::Owner || found != curve {
        return Err(ApiError::bad_request(
            codes::INVALID_ENCRYPTED_KEY,
            format!("{field} holds a {found} {kind} key; this wallet needs a {curve} owner key"),
        ));
    }
    Ok(())
}

/// Unix seconds as an RFC 3339 UTC timestamp (`2026-11-21T05:22:00.000Z`).
pub(crate) use latchkey_core::iso8601_utc as iso8601;

/// Now, as unix seconds.
pub(crate) use latchkey_store::now_unix;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn felts_have_exactly_the_documented_syntax() {
        for good in ["0x0", "0x1", "0xAbC", "1", "0", &format!("0x{}", "0".repeat(64))] {
            assert!(felt("f", good).is_ok(), "{good}");
        }
        let p = "0x800000000000011000000000000000000000000000000000000000000000001";
        for bad in [
            "",
            "0x",
            "0X1",
            " 1",
            "1 ",
            "-1",
            "+1",
            "0x 1",
            "1e3",
            "0xg",
            p,
            &format!("0x{}", "0".repeat(65)),
            &"1".repeat(79),
        ] {
            assert_eq!(felt("f", bad).map_err(|e| e.code), Err("INVALID_FELT"), "{bad:?}");
        }
        let json = |v: serde_json::Value| felt_json("f", &v).map_err(|e| e.code);
        assert_eq!(json(serde_json::json!(5)), Ok(Felt::from(5u64)));
        assert_eq!(json(serde_json::json!(5.0)), Ok(Felt::from(5u64)));
        assert_eq!(json(serde_json::json!("0x5")), Ok(Felt::from(5u64)));
        for bad in [serde_json::json!(-1), serde_json::json!(0.5), serde_json::json!(1e20)] {
            assert_eq!(json(bad.clone()), Err("INVALID_FELT"), "{bad}");
        }
        assert!(in_range("limit", None, 50, 1..=200).is_ok_and(|v| v == 50));
        assert!(in_range("limit", Some(0), 50, 1..=200).is_err());
        assert!(in_range("limit", Some(201), 50, 1..=200).is_err());
    }

    #[test]
    fn encrypted_blobs_are_recognised_and_chipi_ones_only_where_the_dialect_makes_them() {
        let chipi = "U2FsdGVkX18BAgMEBQYHCKGUsHUkL0wRBA6EiGSL1TU=";
        let key = latchkey_core::SigningKey::from_felt(Felt::from(7u64)).unwrap();
        let binding = latchkey_core::keystore::KeyBinding {
            kind: latchkey_core::KeyKind::Owner,
            account: Felt::ONE,
            public_key: key.public_key(),
        };
        let prf = latchkey_core::EncryptKey::prf(&[5; 32]).unwrap();
        let mut rng = rand::rngs::OsRng;
        let lk1 = latchkey_core::keystore::passkey::seal(&key, &prf, &binding, &mut rng).unwrap();
        let plaintext = "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcd";
        assert!(KeyFormats::WithChipi.accepts(chipi));
        assert!(!KeyFormats::Hardened.accepts(chipi));
        for formats in [KeyFormats::Hardened, KeyFormats::WithChipi] {
            assert!(formats.accepts(&lk1));
            assert!(!formats.accepts(plaintext));
            assert!(!formats.accepts(""));
            assert!(ensure_encrypted_keys(formats, &lk1, None).is_ok());
            let refused = ensure_encrypted_keys(formats, &lk1, Some(plaintext)).unwrap_err();
            assert_eq!(refused.code, "INVALID_ENCRYPTED_KEY");
            assert!(refused.message.contains("encryptedPrivateKeyBackup"));
            assert!(!refused.message.contains(&plaintext[2..20]), "{}", refused.message);
        }
        let refused = ensure_encrypted_keys(KeyFormats::Hardened, chipi, None).unwrap_err();
        assert!(refused.message.contains("Chipi dialect only"), "{}", refused.message);
        assert!(ensure_encrypted_keys(KeyFormats::WithChipi, chipi, Some(&lk1)).is_ok());
        // A key on another curve than the wallet's, or a session key, is refused.
        let refused = ensure_owner_keys(Curve::Secp256k1, &lk1, None).unwrap_err();
        assert_eq!(refused.code, "INVALID_ENCRYPTED_KEY");
        assert!(refused.message.contains("needs a secp256k1 owner key"), "{}", refused.message);
        let refused = ensure_owner_keys(Curve::Secp256k1, chipi, None).unwrap_err();
        assert!(refused.message.contains("holds a stark owner key"), "{}", refused.message);
        let session = latchkey_core::keystore::KeyBinding {
            kind: latchkey_core::KeyKind::Session,
            ..binding
        };
        let sealed =
            latchkey_core::keystore::passkey::seal(&key, &prf, &session, &mut rng).unwrap();
        let refused = ensure_owner_keys(Curve::Stark, &sealed, None).unwrap_err();
        assert!(refused.message.contains("holds a stark session key"), "{}", refused.message);
    }
}
