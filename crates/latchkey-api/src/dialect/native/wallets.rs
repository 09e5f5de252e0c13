//! The native dialect: wallets.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use latchkey_chain::Family;
use latchkey_core::codes;
use latchkey_core::{payload_hash, ProofPurpose};
use latchkey_store::{NewWallet, Wallet};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::custody::{check_proof, record_read, Possession, ProofInput};
use crate::error::ErrorBody;
use crate::service::{create_and_deploy_wallet, wallet_at};
use crate::util::{
    ensure_encrypted_keys, ensure_owner_keys, in_range, iso8601, parse_json, ApiQuery, KeyFormats,
    RawBody,
};
use crate::{idempotency, ApiError, ApiResult, AppState, Caller, Principal};

/// A wallet to create; the server deploys it gaslessly.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateWalletRequest {
    /// The chain, a CAIP-2 id from `GET /api/config` (`eip155:31337`); the default chain
    /// when absent.
    #[schema(example = "eip155:31337", max_length = 64)]
    chain: Option<String>,
    /// The owner key: a non-zero felt public key on Starknet, the owner's address on EVM.
    #[schema(max_length = 66)]
    owner_public_key: String,
    /// The owner private key, encrypted on the client in a latchkey envelope (`lk2$…`,
    /// `lk1$…`), well-formed. Plaintext keys and Chipi ciphertexts are refused. Required
    /// on Starknet; on EVM leave it out for an external owner (a browser or hardware
    /// wallet) whose key never reaches the server.
    #[schema(value_type = Option<crate::openapi::OwnerKeyText>)]
    encrypted_private_key: Option<String>,
    /// An optional second encryption of the same key (e.g. a PIN backup of a passkey).
    #[schema(value_type = Option<crate::openapi::OwnerKeyText>)]
    encrypted_private_key_backup: Option<String>,
    /// Your user id; with an end-user token it must be the token's subject.
    external_user_id: Option<String>,
    /// Proof of possession of the owner key: purpose `create-wallet`, account = the
    /// wallet's address, payload = `sn_keccak(encryptedPrivateKey)` (of the empty string
    /// for an external owner), on every chain.
    proof: ProofInput,
}

/// A wallet.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WalletResponse {
    /// The chain, CAIP-2.
    chain: String,
    address: String,
    owner_public_key: String,
    external_user_id: Option<String>,
    wallet_type: String,
    class_hash: String,
    deployed: bool,
    deploy_transaction_hash: Option<String>,
    /// The encrypted owner key: in answers about one wallet only, never in lists. The
    /// backup blob is never here (`GET /api/wallets/{address}/encrypted-key?backup=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted_private_key: Option<String>,
    /// Whether a backup blob is stored.
    has_backup: bool,
    /// The owner key never reached the server (an EVM wallet with an external owner): no
    /// encrypted key is stored.
    external_owner: bool,
    created_at: String,
}

impl WalletResponse {
    /// The wallet with its encrypted owner key (answers about this one wallet).
    fn with_key(w: &Wallet) -> Self {
        let stored = Some(w.encrypted_private_key.clone()).filter(|key| !key.is_empty());
        Self { encrypted_private_key: stored, ..Self::from(w) }
    }
}

impl From<&Wallet> for WalletResponse {
    fn from(w: &Wallet) -> Self {
        Self {
            chain: w.chain.clone(),
            address: w.address.clone(),
            owner_public_key: w.owner_public_key.clone(),
            external_user_id: w.external_user_id.clone(),
            wallet_type: w.wallet_type.clone(),
            class_hash: w.class_hash.clone(),
            deployed: w.deployed,
            deploy_transaction_hash: w.deploy_tx_hash.clone().filter(|h| !h.is_empty()),
            encrypted_private_key: None,
            has_backup: w.encrypted_private_key_backup.is_some(),
            external_owner: w.encrypted_private_key.is_empty(),
            created_at: iso8601(w.created_at),
        }
    }
}

#[utoipa::path(post, path = "/api/wallets", tag = "wallets", request_body(content = CreateWalletRequest, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry safe: the first request with a key runs, a repeat with the same body gets its stored answer.")),
    responses((status = 201, body = WalletResponse, description = "Created and deployed."),
        (status = 402, body = ErrorBody, description = "The organisation's gas budget is spent (`SPONSORSHIP_EXHAUSTED`)."),
        (status = 403, body = ErrorBody, description = "The proof does not verify (`INVALID_PROOF`), or `externalUserId` is not the token's subject."),
        (status = 409, body = ErrorBody, description = "A wallet exists for this user or address (`WALLET_EXISTS`)."),
        (status = 422, body = ErrorBody, description = "The deployment failed to simulate.")))]
pub(crate) async fn create_wallet(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    idempotency::run(&state, &caller, &headers, "POST /api/wallets", &body, async {
        let req: CreateWalletRequest = parse_json(&body)?;
        let slot = state.requested_chain(req.chain.as_deref())?;
        let owner = slot
            .chain
            .parse_key(&req.owner_public_key)
            .map_err(|r| ApiError::bad_request(r.code, format!("ownerPublicKey: {}", r.message)))?;
        let encrypted_private_key = match (&req.encrypted_private_key, slot.chain.id().family()) {
            (Some(key), _) => {
                ensure_encrypted_keys(
                    KeyFormats::Hardened,
                    key,
                    req.encrypted_private_key_backup.as_deref(),
                )?;
                key.clone()
            }
            (None, Family::Evm) if req.encrypted_private_key_backup.is_none() => String::new(),
            (None, Family::Evm) => {
                return Err(ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    "a backup needs encryptedPrivateKey",
                ))
            }
            (None, Family::Starknet) => {
                return Err(ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    "encryptedPrivateKey is required on Starknet",
                ))
            }
        };
        let external_user_id = match (&caller.principal, req.external_user_id) {
            (Principal::User { subject }, Some(ext)) if &ext != subject => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    codes::FORBIDDEN,
                    "externalUserId must be the token's subject",
                ))
            }
            (Principal::User { subject }, _) => Some(subject.clone()),
            (Principal::Organization, ext) => ext,
        };
        let address = slot.chain.account_address(&owner).map_err(ApiError::from_refusal)?;
        let possession = Possession {
            slot,
            purpose: ProofPurpose::CreateWallet,
            account: &address,
            key: &owner,
            payload: payload_hash(encrypted_private_key.as_bytes()),
        };
        check_proof(&state, &caller, &possession, &req.proof).await?;
        if !encrypted_private_key.is_empty() {
            let curve = slot.chain.id().family().key_curve();
            let backup = req.encrypted_private_key_backup.as_deref();
            ensure_owner_keys(curve, &encrypted_private_key, backup)?;
        }
        let new_wallet = NewWallet {
            org_id: caller.org_id.clone(),
            external_user_id,
            address,
            owner_public_key: owner.clone(),
            encrypted_private_key,
            encrypted_private_key_backup: req.encrypted_private_key_backup,
            wallet_type: match slot.chain.id().family() {
                Family::Starknet => "CHIPI",
                Family::Evm => "ERC4337",
            }
            .into(),
            chain: slot.chain.id().to_string(),
            class_hash: slot.account_class.clone(),
            auth_method: None,
            credential_id: None,
            prf_supported: None,
            device_type: None,
        };
        let wallet = create_and_deploy_wallet(&state, &new_wallet, &owner).await?;
        Ok((StatusCode::CREATED, json!(WalletResponse::with_key(&wallet))))
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

#[utoipa::path(get, path = "/api/wallets", tag = "wallets",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "At most this many (default 50)."),
        ("offset" = Option<u64>, Query, minimum = 0, maximum = 4294967295_u64, description = "Skip this many (default 0).")),
    responses((status = 200, body = [WalletResponse], description = "The organisation's wallets (an end user's own only).")))]
pub(crate) async fn list_wallets(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<Json<Vec<WalletResponse>>> {
    let wallets = match caller.subject() {
        Some(subject) => {
            let mut wallets = Vec::new();
            for slot in state.chains() {
                let chain = slot.chain.id().as_str();
                wallets.extend(
                    state.store.wallet_by_external_user(&caller.org_id, chain, subject).await?,
                );
            }
            wallets
        }
        None => {
            state
                .store
                .list_wallets(
                    &caller.org_id,
                    in_range("limit", page.limit, 50, 1..=200)?,
                    page.offset.unwrap_or(0),
                )
                .await?
        }
    };
    Ok(Json(wallets.iter().map(WalletResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/wallets/{address}", tag = "wallets", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    responses((status = 200, body = WalletResponse), (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn get_wallet(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<WalletResponse>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    record_read(&state, &caller, &wallet, "GET /api/wallets/{address}").await?;
    Ok(Json(WalletResponse::with_key(&wallet)))
}
