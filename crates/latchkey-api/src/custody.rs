//! Key custody: the server keeps encrypted keys for their owners, and guards them.
//!
//! - An encrypted owner key is returned only for one wallet at a time: to its end user, or
//!   to the organisation (each such read is recorded); never in lists. The backup blob is
//!   returned only to the wallet's own end user, on this route alone.
//! - Replacing what is stored for a key (a wallet's encrypted owner key, an end user's
//!   stored session) needs a proof of possession of the key inside: a signature over a
//!   server-issued, single-use challenge ([`latchkey_core::proof_hash`]). The Chipi route,
//!   whose SDK sends no proof, keeps every previous version instead (restorable here).
//! - Creating a wallet proves possession of its owner key the same way.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_chain::ProofClaim;
use latchkey_core::codes;
use latchkey_core::{payload_hash, to_hex, Felt, ProofPurpose};
use latchkey_store::{Challenge, KeyEventKind, NewKeyEvent, Wallet};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::service::{domain_chain_id, wallet_at};
use crate::util::{
    ensure_encrypted_keys, ensure_owner_keys, felt, iso8601, now_unix, parse_json,
    random_challenge, ApiQuery, KeyFormats, RawBody,
};
use crate::{ApiError, ApiResult, AppState, Caller, ChainSlot};

/// How long a challenge may be used.
pub(crate) const CHALLENGE_SECONDS: i64 = 300;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/challenges", post(issue_challenge))
        .route(
            "/api/wallets/{address}/encrypted-key",
            get(get_encrypted_key).put(put_encrypted_key),
        )
        .route("/api/wallets/{address}/key-history", get(key_history))
        .route("/api/wallets/{address}/key-history/{id}/restore", post(restore_key))
}

/// What a challenge is for.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChallengeRequest {
    /// `create-wallet`, `replace-key`, `restore-key`, `store-session` or `pin-unlock`.
    #[schema(
        example = "create-wallet",
        pattern = "^(create-wallet|replace-key|restore-key|store-session|pin-unlock)$"
    )]
    purpose: String,
}

/// A challenge to sign with the key whose possession is proved. On Starknet the proof is
/// a Stark signature of `poseidon('latchkey.proof.v1', chainId, account, purpose,
/// challenge, payload)`; on EVM the `personal_sign` of `keccak256(abi.encode(
/// keccak256("latchkey.proof"), chainId, account, keccak256(purpose), challenge,
/// payload))`, with the chain's numeric id.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChallengeResponse {
    #[schema(pattern = "^0x[0-9a-f]{1,64}$")]
    challenge: String,
    purpose: String,
    /// The default chain's id, which its proof hash binds, hex: a Starknet short string,
    /// or an EVM chain's number.
    chain_id: String,
    /// Unix seconds; the challenge is refused from then on.
    expires_at: i64,
}

/// A proof of key possession.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ProofInput {
    /// The challenge from `POST /api/challenges`.
    #[schema(value_type = crate::openapi::FeltText)]
    challenge: String,
    /// Starknet: `[r, s]` over the proof hash, hex. EVM: one `0x` string of 65 bytes
    /// (`r ‖ s ‖ v`), the `personal_sign` of the proof hash. Any other shape is a proof
    /// that does not verify (`403 INVALID_PROOF`).
    #[schema(value_type = Vec<crate::openapi::ProofWordText>, min_items = 1, max_items = 2)]
    signature: Vec<String>,
}

#[utoipa::path(post, path = "/api/challenges", tag = "custody",
    request_body(content = ChallengeRequest, content_type = "application/json"),
    responses((status = 201, body = ChallengeResponse, description = "A single-use challenge, valid for 5 minutes.")))]
pub(crate) async fn issue_challenge(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<ChallengeResponse>)> {
    let req: ChallengeRequest = parse_json(&body)?;
    let purpose = ProofPurpose::parse(&req.purpose).ok_or_else(|| {
        ApiError::bad_request(
            codes::INVALID_REQUEST,
            "purpose must be create-wallet, replace-key, restore-key, store-session or pin-unlock",
        )
    })?;
    Ok((StatusCode::CREATED, Json(issue(&state, &caller, purpose).await?)))
}

/// Records a fresh single-use challenge for `purpose`, issued to this caller.
pub(crate) async fn issue(
    state: &AppState,
    caller: &Caller,
    purpose: ProofPurpose,
) -> ApiResult<ChallengeResponse> {
    let challenge = to_hex(&random_challenge());
    let now = now_unix();
    let expires_at = now + CHALLENGE_SECONDS;
    state
        .store
        .insert_challenge(&Challenge {
            challenge: challenge.clone(),
            org_id: caller.org_id.clone(),
            purpose: purpose.as_str().to_string(),
            principal: caller.principal.key(),
            created_at: now,
            expires_at,
        })
        .await?;
    Ok(ChallengeResponse {
        challenge,
        purpose: purpose.as_str().into(),
        chain_id: proof_chain_id(state.primary())?,
        expires_at,
    })
}

/// The chain id a proof on `slot`'s chain binds, as hex: the Starknet short string, or
/// the EVM chain's number.
fn proof_chain_id(slot: &ChainSlot) -> ApiResult<String> {
    match slot.chain.id().family() {
        latchkey_chain::Family::Starknet => Ok(to_hex(&domain_chain_id(slot)?)),
        latchkey_chain::Family::Evm => {
            let number: u64 = slot.chain.id().reference().parse().map_err(ApiError::internal)?;
            Ok(format!("{number:#x}"))
        }
    }
}

/// What a proof must bind: the key proving possession, on which chain and account, for
/// which action, over which payload hash.
pub(crate) struct Possession<'a> {
    /// The chain whose proof scheme applies.
    pub slot: &'a ChainSlot,
    pub purpose: ProofPurpose,
    /// The account, canonical text.
    pub account: &'a str,
    /// The key, canonical text.
    pub key: &'a str,
    pub payload: Felt,
}

/// Checks a proof of `possession` in its chain's scheme, and uses up its challenge
/// (issued to this caller in this organisation, for this purpose, unexpired, never
/// used). `403 INVALID_PROOF` otherwise.
pub(crate) async fn check_proof(
    state: &AppState,
    caller: &Caller,
    possession: &Possession<'_>,
    proof: &ProofInput,
) -> ApiResult<()> {
    let invalid =
        |m: &str| ApiError::new(StatusCode::FORBIDDEN, codes::INVALID_PROOF, m.to_string());
    let challenge = to_hex(&felt("proof.challenge", &proof.challenge)?);
    let purpose = possession.purpose;
    let claim = ProofClaim {
        key: possession.key,
        account: possession.account,
        purpose,
        challenge: &challenge,
        payload: &to_hex(&possession.payload),
    };
    // A signature of the wrong shape for the wallet's family proves nothing either: the
    // same `403 INVALID_PROOF`, saying why.
    possession
        .slot
        .chain
        .verify_proof(&claim, &proof.signature)
        .map_err(|refusal| invalid(&format!("proof.signature: {}", refusal.message)))?;
    let used = state
        .store
        .consume_challenge(
            &challenge,
            &caller.org_id,
            &caller.principal.key(),
            purpose.as_str(),
            now_unix(),
        )
        .await?;
    if !used {
        return Err(invalid(
            "the challenge is unknown, used, expired, or was issued to someone else",
        ));
    }
    Ok(())
}

/// The payload a key replacement binds: the new primary blob and the new backup.
pub(crate) fn key_blobs_payload(primary: &str, backup: Option<&str>) -> Felt {
    let mut bytes = primary.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(backup.unwrap_or_default().as_bytes());
    payload_hash(&bytes)
}

/// The owner's proof on `wallet` for `purpose` over `payload`.
fn owner_possession<'a>(
    state: &'a AppState,
    wallet: &'a Wallet,
    purpose: ProofPurpose,
    payload: Felt,
) -> ApiResult<Possession<'a>> {
    Ok(Possession {
        slot: state.chain_of(wallet)?,
        purpose,
        account: &wallet.address,
        key: &wallet.owner_public_key,
        payload,
    })
}

/// Options of a key read.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyQuery {
    /// The backup blob instead of the primary (the wallet's own end user only).
    #[serde(default)]
    #[param(required = false)]
    backup: bool,
}

/// A stored encrypted key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EncryptedKeyResponse {
    wallet_address: String,
    /// `primary` or `backup`.
    which: String,
    encrypted_private_key: String,
}

#[utoipa::path(get, path = "/api/wallets/{address}/encrypted-key", tag = "custody",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."), KeyQuery),
    responses((status = 200, body = EncryptedKeyResponse),
        (status = 403, body = crate::error::ErrorBody, description = "The backup is for the wallet's own end user only (`END_USER_TOKEN_REQUIRED`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller, or no backup (`WALLET_NOT_FOUND`, `BACKUP_NOT_FOUND`).")))]
pub(crate) async fn get_encrypted_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
    ApiQuery(query): ApiQuery<KeyQuery>,
) -> ApiResult<Json<EncryptedKeyResponse>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let blob = if query.backup {
        if !caller.is_end_user_of(&wallet) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                codes::END_USER_TOKEN_REQUIRED,
                "the backup key is returned to the wallet's own end user only",
            ));
        }
        wallet.encrypted_private_key_backup.clone().ok_or_else(|| {
            ApiError::not_found(codes::BACKUP_NOT_FOUND, "this wallet has no backup key")
        })?
    } else if wallet.encrypted_private_key.is_empty() {
        return Err(ApiError::not_found(
            codes::KEY_NOT_STORED,
            "this wallet's owner is external: no key is stored",
        ));
    } else {
        record_read(&state, &caller, &wallet, "GET /api/wallets/{address}/encrypted-key").await?;
        wallet.encrypted_private_key.clone()
    };
    Ok(Json(EncryptedKeyResponse {
        wallet_address: wallet.address.clone(),
        which: if query.backup { "backup" } else { "primary" }.into(),
        encrypted_private_key: blob,
    }))
}

/// Records an organisation's read of a wallet's encrypted key (an end user reading its
/// own is not an event).
pub(crate) async fn record_read(
    state: &AppState,
    caller: &Caller,
    wallet: &Wallet,
    route: &str,
) -> ApiResult<()> {
    if caller.subject().is_none() {
        let event = NewKeyEvent {
            kind: KeyEventKind::Read,
            principal: caller.principal.key(),
            route: route.into(),
            proof: "organisation secret key".into(),
        };
        state.store.record_key_event(&wallet.id, &event).await?;
    }
    Ok(())
}

/// New encrypted blobs for a wallet's owner key, with the owner's proof.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReplaceKeyRequest {
    /// The new primary blob (lk1 or Chipi format).
    #[schema(value_type = crate::openapi::OwnerKeyText)]
    encrypted_private_key: String,
    /// The new backup blob, if any (lk1 or Chipi format).
    #[schema(value_type = Option<crate::openapi::OwnerKeyText>)]
    encrypted_private_key_backup: Option<String>,
    /// Purpose `replace-key`, account = the wallet, payload =
    /// `sn_keccak(encryptedPrivateKey + "\n" + (encryptedPrivateKeyBackup or ""))`,
    /// signed by the owner key.
    proof: ProofInput,
}

#[utoipa::path(put, path = "/api/wallets/{address}/encrypted-key", tag = "custody",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")), request_body(content = ReplaceKeyRequest, content_type = "application/json"),
    responses((status = 200, body = EncryptedKeyResponse, description = "Replaced; the previous blobs are kept."),
        (status = 403, body = crate::error::ErrorBody, description = "The owner's proof does not verify (`INVALID_PROOF`)."), (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn put_encrypted_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<EncryptedKeyResponse>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let req: ReplaceKeyRequest = parse_json(&body)?;
    let backup = req.encrypted_private_key_backup.as_deref();
    ensure_encrypted_keys(KeyFormats::Hardened, &req.encrypted_private_key, backup)?;
    let payload = key_blobs_payload(&req.encrypted_private_key, backup);
    let possession = owner_possession(&state, &wallet, ProofPurpose::ReplaceKey, payload)?;
    check_proof(&state, &caller, &possession, &req.proof).await?;
    let curve = possession.slot.chain.id().family().key_curve();
    ensure_owner_keys(curve, &req.encrypted_private_key, backup)?;
    let event = NewKeyEvent {
        kind: KeyEventKind::Replaced,
        principal: caller.principal.key(),
        route: "PUT /api/wallets/{address}/encrypted-key".into(),
        proof: "owner-signature".into(),
    };
    let wallet = state
        .store
        .replace_wallet_keys(
            &wallet.id,
            &req.encrypted_private_key,
            req.encrypted_private_key_backup.as_deref(),
            &event,
        )
        .await?;
    Ok(Json(EncryptedKeyResponse {
        wallet_address: wallet.address.clone(),
        which: "primary".into(),
        encrypted_private_key: wallet.encrypted_private_key,
    }))
}

/// One custody event.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyEventResponse {
    id: String,
    /// `read`, `replaced` or `restored`.
    kind: String,
    /// `organization` or `user:<subject>`.
    principal: String,
    route: String,
    /// How possession of the key was proved: `owner-signature`, or `none` on the Chipi
    /// route.
    proof: String,
    /// Whether the blobs this event replaced can be restored.
    restorable: bool,
    created_at: String,
}

#[utoipa::path(get, path = "/api/wallets/{address}/key-history", tag = "custody",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    responses((status = 200, body = [KeyEventResponse]), (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn key_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<Vec<KeyEventResponse>>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let events = state.store.key_events(&wallet.id).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| KeyEventResponse {
                restorable: e.previous_key.is_some(),
                id: e.id,
                kind: e.kind.as_str().into(),
                principal: e.principal,
                route: e.route,
                proof: e.proof,
                created_at: iso8601(e.created_at),
            })
            .collect(),
    ))
}

/// The owner's proof for a restore.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RestoreKeyRequest {
    /// Purpose `restore-key`, account = the wallet, payload = `sn_keccak(event id)`,
    /// signed by the owner key.
    proof: ProofInput,
}

#[utoipa::path(post, path = "/api/wallets/{address}/key-history/{id}/restore", tag = "custody",
    params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."), ("id" = String, Path, description = "The custody event whose replaced blobs to restore.")),
    request_body(content = RestoreKeyRequest, content_type = "application/json"),
    responses((status = 200, body = EncryptedKeyResponse, description = "Restored."),
        (status = 403, body = crate::error::ErrorBody, description = "The owner's proof does not verify (`INVALID_PROOF`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet or custody event (`WALLET_NOT_FOUND`, `KEY_EVENT_NOT_FOUND`).")))]
pub(crate) async fn restore_key(
    State(state): State<AppState>,
    caller: Caller,
    Path((address, id)): Path<(String, String)>,
    RawBody(body): RawBody,
) -> ApiResult<Json<EncryptedKeyResponse>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let req: RestoreKeyRequest = parse_json(&body)?;
    let events = state.store.key_events(&wallet.id).await?;
    let event = events.into_iter().find(|e| e.id == id).ok_or_else(|| {
        ApiError::not_found(codes::KEY_EVENT_NOT_FOUND, "no such custody event for this wallet")
    })?;
    let Some(previous_key) = event.previous_key else {
        return Err(ApiError::bad_request(codes::NOT_RESTORABLE, "this event replaced nothing"));
    };
    let payload = payload_hash(event.id.as_bytes());
    let possession = owner_possession(&state, &wallet, ProofPurpose::RestoreKey, payload)?;
    check_proof(&state, &caller, &possession, &req.proof).await?;
    let record = NewKeyEvent {
        kind: KeyEventKind::Restored,
        principal: caller.principal.key(),
        route: "POST /api/wallets/{address}/key-history/{id}/restore".into(),
        proof: "owner-signature".into(),
    };
    let wallet = state
        .store
        .replace_wallet_keys(&wallet.id, &previous_key, event.previous_backup.as_deref(), &record)
        .await?;
    Ok(Json(EncryptedKeyResponse {
        wallet_address: wallet.address.clone(),
        which: "primary".into(),
        encrypted_private_key: wallet.encrypted_private_key,
    }))
}
