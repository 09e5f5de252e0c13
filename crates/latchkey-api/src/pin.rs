//! PIN unlock through the OPRF (threats K1–K4): the server half of `lk2` envelopes.
//!
//! - `POST /api/wallets/{address}/pin/evaluate`: the client sends its blinded PIN; the
//!   server **counts the attempt durably first**, then answers with the evaluation under
//!   the wallet's OPRF key and a `pin-unlock` challenge. Locked: `423 PIN_LOCKED` with
//!   `Retry-After`, nothing counted. Malformed input: `400`, nothing counted.
//! - `POST /api/wallets/{address}/pin/confirm`: a signature by the unlocked key (the owner
//!   key, or a session key registered on the wallet) over that challenge resets the
//!   counter. A passkey holder who unlocks the owner key that way lifts a lock with it.
//! - `GET /api/wallets/{address}/pin`: the counter.
//! - `POST /api/wallets/{address}/pin/reset`: the organisation (secret key) resets the
//!   counter; recorded in the append-only PIN event log.
//!
//! Per-wallet OPRF keys come from the key ring ([`OprfKeyRing`]), a file kept outside the
//! database, so a database dump alone says nothing about any PIN.

use latchkey_core::codes;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latchkey_core::keystore::oprf::{WalletOprfKey, ELEMENT_BYTES, MASTER_KEY_BYTES};
use latchkey_core::{parse_felt, Felt, ProofPurpose};
use latchkey_store::{PinAttempt, PinEventKind, PinGuard, PinPolicy};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::custody::{check_proof, issue, ChallengeResponse, Possession, ProofInput};
use crate::service::{find_wallet, wallet_at};
use crate::util::{address_text, felt, now_unix, parse_json, RawBody};
use crate::{ApiError, ApiResult, AppState, Caller};

/// The server's OPRF master keys, oldest first; the last one seals new envelopes.
///
/// File format: one key per line, `<key-id> <64 hex digits>`; `#` starts a comment. Key
/// ids follow the share-id syntax (`v1`, `2027-01`, …). To rotate, append a line with a
/// new id: envelopes under older ids still open and are re-wrapped under the newest one
/// on their next unlock; drop an old line only when no envelope names it. `Debug` shows
/// only the ids.
pub struct OprfKeyRing {
    keys: Vec<(String, Zeroizing<[u8; MASTER_KEY_BYTES]>)>,
}

impl std::fmt::Debug for OprfKeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("OprfKeyRing").field("ids", &ids).finish_non_exhaustive()
    }
}

impl OprfKeyRing {
    /// A ring of one fresh key, `v1`.
    pub fn generate(rng: &mut impl RngCore) -> Self {
        let mut key = Zeroizing::new([0u8; MASTER_KEY_BYTES]);
        rng.fill_bytes(key.as_mut());
        Self { keys: vec![("v1".to_string(), key)] }
    }

    /// Reads the file format. Errors name the line, never its key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<(String, Zeroizing<[u8; MASTER_KEY_BYTES]>)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why: &str| format!("line {}: {why}", n + 1);
            let mut parts = line.split_whitespace();
            let (Some(id), Some(hex_key), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad("expected `<key-id> <64 hex digits>`"));
            };
            if WalletOprfKey::derive(&[0; MASTER_KEY_BYTES], id, &Felt::ZERO).is_err() {
                return Err(bad("bad key id (1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric)"));
            }
            if keys.iter().any(|(known, _)| known == id) {
                return Err(bad("this key id appears twice"));
            }
            let mut key = Zeroizing::new([0u8; MASTER_KEY_BYTES]);
            if hex_key.len() != 2 * MASTER_KEY_BYTES
                || hex::decode_to_slice(hex_key, key.as_mut()).is_err()
            {
                return Err(bad("the key must be 64 hex digits"));
            }
            keys.push((id.to_string(), key));
        }
        if keys.is_empty() {
            return Err("no key in the OPRF key file".into());
        }
        Ok(Self { keys })
    }

    /// The file format of this ring.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut text = String::from(
            "# latchkey OPRF keys: <key-id> <hex>, newest last. Keep this file out of database\n\
             # backups; without it no PIN-sealed (lk2) key can be unlocked.\n",
        );
        for (id, key) in &self.keys {
            text.push_str(&format!("{id} {}\n", hex::encode(key.as_ref())));
        }
        Zeroizing::new(text)
    }

    /// The id new envelopes are sealed under.
    pub fn current_id(&self) -> &str {
        self.keys.last().map_or("", |(id, _)| id.as_str())
    }

    /// The key ids, oldest first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    /// The OPRF key of `account` under `key_id`, if the ring has that id.
    pub fn wallet_key(&self, key_id: &str, account: &Felt) -> Option<WalletOprfKey> {
        let (_, master) = self.keys.iter().find(|(id, _)| id == key_id)?;
        WalletOprfKey::derive(master, key_id, account).ok()
    }
}

/// PIN unlock settings.
#[derive(Clone, Debug)]
pub struct PinSettings {
    /// The OPRF key ring.
    pub keys: Arc<OprfKeyRing>,
    /// Attempts and locks.
    pub policy: PinPolicy,
}

impl Default for PinSettings {
    /// A fresh in-memory key ring (each process its own: `latchkey serve` loads a file).
    fn default() -> Self {
        Self { keys: Arc::new(OprfKeyRing::generate(&mut OsRng)), policy: PinPolicy::default() }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/wallets/{address}/pin", get(pin_status))
        .route("/api/wallets/{address}/pin/evaluate", post(evaluate))
        .route("/api/wallets/{address}/pin/confirm", post(confirm))
        .route("/api/wallets/{address}/pin/reset", post(reset))
}

/// A blinded PIN.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EvaluateRequest {
    /// The client's blinded element: 32 bytes, base64url without padding (RFC 9497
    /// `BlindedElement`, ristretto255).
    #[schema(
        pattern = "^[A-Za-z0-9_-]{43}$",
        example = "4gC6ZL1y0kIvTw8yRUDvWrNxeC5nYvSLG1xP1kLhnG4"
    )]
    blinded_element: String,
    /// The OPRF key to evaluate under (the one an envelope names); default: the current.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", example = "v1")]
    key_id: Option<String>,
}

/// The evaluation, and what to sign once the key is unlocked.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EvaluateResponse {
    /// 32 bytes, base64url without padding (RFC 9497 `EvaluationElement`).
    evaluated_element: String,
    /// The OPRF key used.
    key_id: String,
    /// The key new envelopes should be sealed under (re-wrap when it differs).
    current_key_id: String,
    /// Attempts left before the PIN unlock locks (this one counted).
    attempts_remaining: i64,
    /// Set when this attempt started a lock: unix seconds until the next is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_until: Option<i64>,
    /// A `pin-unlock` challenge: sign it with the unlocked key and send it to
    /// `/pin/confirm` to reset the counter.
    challenge: ChallengeResponse,
}

/// A proved unlock.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConfirmRequest {
    /// The key that signs: the wallet's owner key (default) or one of its registered
    /// session keys.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::FeltText>)]
    public_key: Option<String>,
    /// Signature over `poseidon('latchkey.proof.v1', chainId, wallet, 'pin-unlock',
    /// challenge, publicKey)`.
    proof: ProofInput,
}

/// A wallet's PIN attempt counter.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PinStatus {
    wallet_address: String,
    /// Consecutive evaluations without a proved unlock.
    failures: i64,
    /// Attempts left before the PIN unlock locks.
    attempts_remaining: i64,
    /// Unix seconds until which evaluations are refused; absent when not locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_until: Option<i64>,
    /// Evaluations ever counted.
    evaluations: i64,
    /// The key new envelopes are sealed under.
    current_key_id: String,
}

fn status_of(state: &AppState, address: &str, guard: &PinGuard) -> PinStatus {
    let max = i64::from(state.config.pin.policy.max_failures);
    let now = now_unix();
    PinStatus {
        wallet_address: address.to_string(),
        failures: guard.failures,
        attempts_remaining: if guard.is_locked(now) { 0 } else { (max - guard.failures).max(0) },
        locked_until: guard.is_locked(now).then_some(guard.locked_until),
        evaluations: guard.evaluations,
        current_key_id: state.config.pin.keys.current_id().to_string(),
    }
}

fn locked(until: i64) -> ApiError {
    let wait = (until - now_unix()).max(1);
    ApiError::new(
        StatusCode::LOCKED,
        codes::PIN_LOCKED,
        format!(
            "too many PIN attempts without a proved unlock; retry in {wait} s, unlock with \
             the passkey, or ask the organisation to reset it"
        ),
    )
    .with_retry_after(u64::try_from(wait).unwrap_or(1))
}

fn invalid_element() -> ApiError {
    ApiError::bad_request(
        codes::INVALID_OPRF_ELEMENT,
        "blindedElement must be 32 bytes (base64url, no padding) encoding a ristretto255 point",
    )
}

fn decode_element(text: &str) -> ApiResult<[u8; ELEMENT_BYTES]> {
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid_element())?;
    bytes.try_into().map_err(|_| invalid_element())
}

#[utoipa::path(post, path = "/api/wallets/{address}/pin/evaluate", tag = "pin",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address (it may not be stored yet)."),),
    request_body(content = EvaluateRequest, content_type = "application/json"),
    responses(
        (status = 200, body = EvaluateResponse, description = "Counted and evaluated."),
        (status = 404, body = crate::error::ErrorBody, description = "The wallet belongs to someone else (`WALLET_NOT_FOUND`)."),
        (status = 423, body = crate::error::ErrorBody, description = "`PIN_LOCKED`: too many unproved attempts; `Retry-After` says when."),
    ))]
pub(crate) async fn evaluate(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<EvaluateResponse>> {
    let address = felt("address", &text)?;
    let req: EvaluateRequest = parse_json(&body)?;
    let blinded = decode_element(&req.blinded_element)?;
    let ring = &state.config.pin.keys;
    let key_id = req.key_id.as_deref().unwrap_or(ring.current_id());
    let key = ring.wallet_key(key_id, &address).ok_or_else(|| {
        ApiError::bad_request(
            codes::UNKNOWN_OPRF_KEY,
            format!("no OPRF key {key_id:?} on this server"),
        )
    })?;
    // Refuse a bad point before counting: malformed input costs the wallet nothing.
    let evaluated = key.evaluate(&blinded).map_err(|_| invalid_element())?;
    // Any served chain's address; the wallet need not be stored yet (a wallet being
    // created seals its key first). The OPRF key and the counter are keyed by the felt.
    find_wallet(&state, &caller, "address", &text).await?;
    let address_key = address_text(&address);
    state.limits.check_pin(&caller.org_id, &address_key, caller.subject())?;
    let attempt = state
        .store
        .count_pin_attempt(&caller.org_id, &address_key, now_unix(), &state.config.pin.policy)
        .await?;
    let (remaining, locked_until) = match attempt {
        PinAttempt::Locked { until } => return Err(locked(until)),
        PinAttempt::Counted { remaining, locked_until, .. } => (remaining, locked_until),
    };
    let challenge = issue(&state, &caller, ProofPurpose::PinUnlock).await?;
    Ok(Json(EvaluateResponse {
        evaluated_element: URL_SAFE_NO_PAD.encode(evaluated),
        key_id: key.key_id().to_string(),
        current_key_id: ring.current_id().to_string(),
        attempts_remaining: remaining,
        locked_until,
        challenge,
    }))
}

#[utoipa::path(post, path = "/api/wallets/{address}/pin/confirm", tag = "pin",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."),),
    request_body(content = ConfirmRequest, content_type = "application/json"),
    responses(
        (status = 200, body = PinStatus, description = "The counter, reset."),
        (status = 403, body = crate::error::ErrorBody, description = "The proof does not verify, or its challenge is used or expired, or the key is not the wallet's (`INVALID_PROOF`)."),
        (status = 404, body = crate::error::ErrorBody, description = "The wallet belongs to someone else, or is not stored (`WALLET_NOT_FOUND`)."),
    ))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<PinStatus>> {
    let address = felt("address", &text)?;
    let req: ConfirmRequest = parse_json(&body)?;
    let wallet = wallet_at(&state, &caller, "address", &text).await?;
    let slot = state.chain_of(&wallet)?;
    let key_text = match &req.public_key {
        None => wallet.owner_public_key.clone(),
        Some(text) => {
            let key = slot
                .chain
                .parse_key(text)
                .map_err(|r| ApiError::bad_request(r.code, format!("publicKey: {}", r.message)))?;
            let registered = state.store.session(&wallet.id, &key).await?.is_some();
            if key != wallet.owner_public_key && !registered {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    codes::INVALID_PROOF,
                    "publicKey is neither the owner key nor a session key of this wallet",
                ));
            }
            key
        }
    };
    let possession = Possession {
        slot,
        purpose: ProofPurpose::PinUnlock,
        account: &wallet.address,
        key: &key_text,
        // The key as a felt (an EVM key is its address).
        payload: parse_felt(&key_text).map_err(ApiError::internal)?,
    };
    check_proof(&state, &caller, &possession, &req.proof).await?;
    let address_key = address_text(&address);
    state
        .store
        .reset_pin_guard(
            &caller.org_id,
            &address_key,
            PinEventKind::Proved,
            &caller.principal.key(),
        )
        .await?;
    let guard = state.store.pin_guard(&caller.org_id, &address_key).await?;
    Ok(Json(status_of(&state, &wallet.address, &guard)))
}

#[utoipa::path(get, path = "/api/wallets/{address}/pin", tag = "pin",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."),),
    responses(
        (status = 200, body = PinStatus),
        (status = 404, body = crate::error::ErrorBody, description = "The wallet belongs to someone else (`WALLET_NOT_FOUND`)."),
    ))]
pub(crate) async fn pin_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<PinStatus>> {
    let address = felt("address", &text)?;
    let shown = match find_wallet(&state, &caller, "address", &text).await? {
        Some(wallet) => wallet.address,
        None => address_text(&address),
    };
    let guard = state.store.pin_guard(&caller.org_id, &address_text(&address)).await?;
    Ok(Json(status_of(&state, &shown, &guard)))
}

#[utoipa::path(post, path = "/api/wallets/{address}/pin/reset", tag = "pin",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."),),
    responses(
        (status = 200, body = PinStatus, description = "Reset; recorded in the PIN event log."),
        (status = 403, body = crate::error::ErrorBody, description = "End users cannot reset (`FORBIDDEN`)."),
        (status = 404, body = crate::error::ErrorBody, description = "The wallet belongs to someone else, or is not stored (`WALLET_NOT_FOUND`)."),
    ))]
pub(crate) async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<Json<PinStatus>> {
    caller.require_organization()?;
    let address = felt("address", &text)?;
    let wallet = wallet_at(&state, &caller, "address", &text).await?;
    let address_key = address_text(&address);
    let before = state
        .store
        .reset_pin_guard(&caller.org_id, &address_key, PinEventKind::Reset, &caller.principal.key())
        .await?;
    tracing::info!(
        org = %caller.org_id,
        wallet = %address_key,
        failures_before = before.failures,
        "PIN attempt counter reset by the organisation"
    );
    let guard = state.store.pin_guard(&caller.org_id, &address_key).await?;
    Ok(Json(status_of(&state, &wallet.address, &guard)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn key_files_round_trip_and_errors_never_show_a_key() {
        let ring = OprfKeyRing::generate(&mut OsRng);
        let text = ring.to_file_text();
        let again = OprfKeyRing::parse(&text).unwrap();
        assert_eq!(again.current_id(), "v1");
        let account = Felt::from(7u8);
        let (a, b) =
            (ring.wallet_key("v1", &account).unwrap(), again.wallet_key("v1", &account).unwrap());
        assert_eq!(
            a.evaluate_unblinded("1").unwrap().bytes(),
            b.evaluate_unblinded("1").unwrap().bytes()
        );
        assert!(ring.wallet_key("v2", &account).is_none());

        let secret = "ab".repeat(32);
        let rotated = OprfKeyRing::parse(&format!("{}v2 {secret} # new\n", &*text)).unwrap();
        assert_eq!(rotated.ids().collect::<Vec<_>>(), ["v1", "v2"]);
        assert_eq!(rotated.current_id(), "v2");
        assert!(!format!("{rotated:?}").contains(&secret));
        for bad in [
            String::new(),
            "# only a comment".into(),
            format!("v1 {secret}\nv1 {secret}"),
            format!("v1 {}", &secret[..62]),
            format!("v1 {secret} extra"),
            format!("-bad {secret}"),
            format!("v1 {}zz", &secret[..62]),
        ] {
            let err = OprfKeyRing::parse(&bad).unwrap_err();
            assert!(!err.contains(&secret[..20]), "{err}");
        }
    }

    proptest! {
        #[test]
        fn key_file_parsing_never_panics(text in "\\PC{0,200}") {
            let _ = OprfKeyRing::parse(&text);
        }
    }
}
