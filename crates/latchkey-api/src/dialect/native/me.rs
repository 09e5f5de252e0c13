//! `/api/me/session`: an end user's encrypted session key, stored server-side so a
//! front end can resume a session on another tab or device without client-writable
//! metadata. Only end users (JWT) reach it, each only their own; the blob must be an
//! encrypted key — a plaintext key is refused — and it is deleted when the session is
//! revoked through latchkey. Storing a blob needs a proof of possession by the session key
//! inside it (R2-06), so a stolen token alone can neither plant a key the attacker made nor
//! destroy the user's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_core::codes;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::custody::{check_proof, Possession, ProofInput};
use crate::service::accessible_wallet;
use crate::util::{felt, iso8601, parse_json, KeyFormats, RawBody};
use crate::{ApiError, ApiResult, AppState, Caller};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/me/session", get(get_me_session).put(put_me_session).delete(delete_me_session))
}

/// `SessionKeyData`, exactly as the Chipi SDK and latchkey's SDK produce it.
#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SessionKeyDataDto {
    /// The session public key.
    #[schema(value_type = crate::openapi::FeltText)]
    public_key: String,
    /// The session private key, encrypted on the client (lk1 or Chipi format).
    #[schema(value_type = crate::openapi::HardenedKeyText)]
    encrypted_private_key: String,
    valid_until: u64,
}

/// What to store.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MeSessionRequest {
    /// The wallet the session is for, if any (it must be this end user's).
    #[schema(value_type = Option<crate::openapi::AddressText>)]
    wallet_address: Option<String>,
    session: SessionKeyDataDto,
    /// Proof of possession by the session key: purpose `store-session`, account = the
    /// wallet (`0x0` without one), payload = `sn_keccak(session.encryptedPrivateKey)`.
    proof: ProofInput,
}

/// What is stored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MeSessionResponse {
    wallet_address: Option<String>,
    session: SessionKeyDataDto,
    updated_at: String,
}

fn subject(caller: &Caller) -> ApiResult<&str> {
    caller.subject().ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            codes::END_USER_TOKEN_REQUIRED,
            "this route is for end users (a JWT bearer token)",
        )
    })
}

#[utoipa::path(get, path = "/api/me/session", tag = "end users",
    responses((status = 200, body = MeSessionResponse), (status = 403, body = crate::error::ErrorBody, description = "Only end users (a JWT bearer token) have a stored session (`END_USER_TOKEN_REQUIRED`)."),
        (status = 404, body = crate::error::ErrorBody, description = "Nothing stored (`SESSION_NOT_FOUND`).")))]
pub(crate) async fn get_me_session(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<MeSessionResponse>> {
    let subject = subject(&caller)?;
    let stored = state
        .store
        .user_session(&caller.org_id, subject)
        .await?
        .ok_or_else(|| ApiError::not_found(codes::SESSION_NOT_FOUND, "no stored session"))?;
    let session: SessionKeyDataDto =
        serde_json::from_str(&stored.blob).map_err(ApiError::internal)?;
    Ok(Json(MeSessionResponse {
        wallet_address: stored.wallet_address,
        session,
        updated_at: iso8601(stored.updated_at),
    }))
}

#[utoipa::path(put, path = "/api/me/session", tag = "end users",
    request_body(content = MeSessionRequest, content_type = "application/json"),
    responses((status = 200, body = MeSessionResponse, description = "Stored."),
        (status = 403, body = crate::error::ErrorBody, description = "Not an end user (`END_USER_TOKEN_REQUIRED`), or the proof does not verify (`INVALID_PROOF`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this end user (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn put_me_session(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<MeSessionResponse>> {
    let subject = subject(&caller)?.to_string();
    let req: MeSessionRequest = parse_json(&body)?;
    let session_key = felt("session.publicKey", &req.session.public_key)?;
    let blob = &req.session.encrypted_private_key;
    if !KeyFormats::Hardened.accepts(blob) {
        if latchkey_core::keystore::KeyFormat::validate(blob).is_ok() {
            // Encrypted, but a Chipi ciphertext: the Chipi dialect's format only.
            return Err(KeyFormats::Hardened.refusal("session.encryptedPrivateKey", blob));
        }
        return Err(ApiError::bad_request(
            codes::PLAINTEXT_KEY_REJECTED,
            "session.encryptedPrivateKey must be an encrypted key (lk2 or lk1)",
        ));
    }
    let wallet_address = match &req.wallet_address {
        Some(address) => {
            let address = felt("walletAddress", address)?;
            Some(accessible_wallet(&state, &caller, &address).await?.address)
        }
        None => None,
    };
    let account = match &wallet_address {
        Some(address) => felt("walletAddress", address)?,
        None => latchkey_core::Felt::ZERO,
    };
    let (account, key) = (latchkey_core::to_hex(&account), latchkey_core::to_hex(&session_key));
    let possession = Possession {
        slot: state.primary(),
        purpose: latchkey_core::ProofPurpose::StoreSession,
        account: &account,
        key: &key,
        payload: latchkey_core::payload_hash(req.session.encrypted_private_key.as_bytes()),
    };
    check_proof(&state, &caller, &possession, &req.proof).await?;
    let blob = serde_json::to_string(&req.session).map_err(ApiError::internal)?;
    state.store.put_user_session(&caller.org_id, &subject, wallet_address.clone(), &blob).await?;
    Ok(Json(MeSessionResponse {
        wallet_address,
        session: req.session,
        updated_at: iso8601(crate::util::now_unix()),
    }))
}

#[utoipa::path(delete, path = "/api/me/session", tag = "end users",
    responses((status = 204, description = "Deleted."), (status = 403, body = crate::error::ErrorBody, description = "Only end users (a JWT bearer token) have a stored session (`END_USER_TOKEN_REQUIRED`)."),
        (status = 404, body = crate::error::ErrorBody, description = "Nothing stored (`SESSION_NOT_FOUND`).")))]
pub(crate) async fn delete_me_session(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let subject = subject(&caller)?;
    if state.store.delete_user_session(&caller.org_id, subject).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(codes::SESSION_NOT_FOUND, "no stored session"))
    }
}
