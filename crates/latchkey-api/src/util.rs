//! Small shared pieces of the handlers: request bodies, felts, wallet access, dates.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use latchkey_core::{parse_felt, to_hex, Felt};
use latchkey_store::{NewWallet, Wallet};
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState, Caller};

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
                    "BODY_TOO_LARGE",
                    format!("request body larger than {limit} bytes"),
                )
            } else {
                ApiError::bad_request("INVALID_BODY", rejection.body_text())
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
            .map_err(|rejection| ApiError::bad_request("INVALID_QUERY", rejection.body_text()))
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
    T::deserialize(deserializer)
        .map_err(|e| ApiError::bad_request("INVALID_REQUEST", format!("invalid request body: {e}")))
}

/// A felt from a request field, strictly (hex or decimal, below the prime).
pub(crate) fn felt(field: &str, value: &str) -> Result<Felt, ApiError> {
    parse_felt(value).map_err(|e| ApiError::bad_request("INVALID_FELT", format!("{field}: {e}")))
}

/// Canonical address text: lowercase minimal hex.
pub(crate) fn address_text(address: &Felt) -> String {
    to_hex(address)
}

/// The wallet at `address` if the caller may see it; 404 otherwise (also when it exists
/// for someone else, so existence does not leak). Counts against the wallet's rate limit.
pub(crate) async fn accessible_wallet(
    state: &AppState,
    caller: &Caller,
    address: &Felt,
) -> Result<Wallet, ApiError> {
    let wallet = state.store.wallet_by_address(&caller.org_id, &address_text(address)).await?;
    match wallet {
        Some(wallet) if caller.can_access(&wallet) => {
            state.limits.check_wallet(&wallet.id)?;
            Ok(wallet)
        }
        _ => Err(ApiError::not_found("WALLET_NOT_FOUND", "wallet not found")),
    }
}

/// The relayer's view of a stored wallet.
pub(crate) fn wallet_ref(wallet: &Wallet) -> Result<latchkey_relayer::WalletRef, ApiError> {
    Ok(latchkey_relayer::WalletRef {
        id: wallet.id.clone(),
        org_id: wallet.org_id.clone(),
        address: parse_felt(&wallet.address).map_err(ApiError::internal)?,
        owner_public_key: parse_felt(&wallet.owner_public_key).map_err(ApiError::internal)?,
        external_user_id: wallet.external_user_id.clone(),
        cooldown_until: wallet.cooldown_until,
    })
}

/// Refuses a wallet's key blobs unless each is in an encrypted format: the server must
/// never receive a plaintext key.
pub(crate) fn ensure_encrypted_keys(primary: &str, backup: Option<&str>) -> Result<(), ApiError> {
    if is_encrypted_key_blob(primary) && backup.is_none_or(is_encrypted_key_blob) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "INVALID_ENCRYPTED_KEY",
        "encryptedPrivateKey must be an encrypted key (lk1 or Chipi format), never a plaintext key",
    ))
}

/// Records a new wallet, deploys its account gaslessly (or finds it deployed) and
/// returns the stored wallet, marked deployed. A second wallet for the same user or
/// address is `409 WALLET_EXISTS`.
pub(crate) async fn create_and_deploy_wallet(
    state: &AppState,
    wallet: &NewWallet,
    owner: Felt,
) -> Result<Wallet, ApiError> {
    let stored = state.store.insert_wallet(wallet).await.map_err(|e| match e {
        latchkey_store::StoreError::Conflict { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "WALLET_EXISTS",
            "a wallet already exists for this user or address",
        ),
        other => other.into(),
    })?;
    let deployment =
        state.relayer.deploy_account(&wallet.org_id, state.account_class_hash, owner).await?;
    let tx = deployment.transaction_hash.map(|h| to_hex(&h)).unwrap_or_default();
    state.store.set_wallet_deployed(&stored.id, &tx).await?;
    Ok(state.store.wallet(&stored.id).await?.unwrap_or(stored))
}

/// Whether a stored private key is in an encrypted format (Chipi CryptoJS or latchkey
/// `lk1`), as opposed to a plaintext key that must never reach the server.
pub(crate) fn is_encrypted_key_blob(blob: &str) -> bool {
    latchkey_core::keystore::KeyFormat::validate(blob).is_ok()
}

/// Unix seconds as an RFC 3339 UTC timestamp (`2026-11-21T05:22:00.000Z`).
pub(crate) fn iso8601(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Now, as unix seconds.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_000), "1970-01-01T00:16:40.000Z");
        assert_eq!(iso8601(1_893_456_000), "2030-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn encrypted_blobs_are_recognised() {
        assert!(is_encrypted_key_blob("U2FsdGVkX18BAgMEBQYHCKGUsHUkL0wRBA6EiGSL1TU="));
        assert!(!is_encrypted_key_blob(
            "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcd"
        ));
        assert!(!is_encrypted_key_blob(""));
    }
}
