//! The Chipi dialect: wallets (creation in two steps, lookup, key replacement).

use crate::custody::{record_read, CHALLENGE_SECONDS};
use crate::service::{create_and_deploy_wallet, domain_chain_id};
use crate::util::{
    address_text, ensure_encrypted_key, ensure_encrypted_keys, ensure_owner_keys, felt, iso8601,
    now_unix, parse_json, random_challenge, ApiQuery, KeyFormats, RawBody,
};
use crate::{idempotency, ApiError, ApiResult, AppState, Caller};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use latchkey_core::codes;
use latchkey_core::keystore::Curve;
use latchkey_core::{
    parse_felt, to_hex, verify_signature, Felt, OutsideExecution, Signature, TypedData, ANY_CALLER,
};
use latchkey_store::{Challenge, KeyEventKind, NewKeyEvent, NewWallet, Wallet};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::*;

/// What `prepareCreation` sends: the future wallet's address and owner key.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrepareCreation {
    /// Accepted and ignored (`STARKNET`).
    #[allow(dead_code)]
    chain: Option<String>,
    /// The wallet's address: the account address of `starkKeyPubAX` with this server's
    /// account class (`ADDRESS_MISMATCH` otherwise).
    #[schema(value_type = crate::openapi::AddressText)]
    public_key: String,
    /// `CHIPI`, the only type this server deploys.
    #[schema(pattern = "^CHIPI$")]
    wallet_type: Option<String>,
    /// The owner public key.
    #[schema(value_type = crate::openapi::FeltText)]
    stark_key_pub_a_x: String,
    /// This server's account class hash, if given (`UNSUPPORTED_CLASS_HASH` otherwise).
    #[schema(value_type = Option<crate::openapi::FeltText>)]
    class_hash: Option<String>,
}

/// Creation typed data to sign with the owner key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrepareCreationResponse {
    /// SNIP-12 typed data of an outside execution without calls, for the future account.
    #[schema(value_type = Object)]
    typed_data: Value,
    /// The account class the wallet is deployed with.
    account_class_hash: String,
}

/// Creation typed data: an outside execution for the future account that proves the
/// caller holds its owner key. It makes no call, so it can never do anything on chain. Its
/// nonce is a single-use challenge bound to this organisation and caller (R2-13).
#[utoipa::path(post, path = "/v1/chipi-wallets/prepare-creation", tag = "chipi",
    request_body(content = PrepareCreation, content_type = "application/json"),
    responses((status = 200, body = PrepareCreationResponse, description = "Creation typed data, valid for 5 minutes.")))]
pub(crate) async fn prepare_creation(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<PrepareCreationResponse>> {
    let req: PrepareCreation = parse_json(&body)?;
    check_wallet_type(req.wallet_type.as_deref())?;
    check_class_hash(&state, req.class_hash.as_deref())?;
    let owner = felt("starkKeyPubAX", &req.stark_key_pub_a_x)?;
    let address = felt("publicKey", &req.public_key)?;
    check_address(&state, address, owner)?;
    let now = state.primary().chain.now().await?;
    let oe = OutsideExecution {
        caller: ANY_CALLER,
        nonce: random_challenge(),
        execute_after: now.saturating_sub(60),
        execute_before: now + CHALLENGE_SECONDS as u64,
        calls: vec![],
    };
    let wall = now_unix();
    state
        .store
        .insert_challenge(&Challenge {
            challenge: to_hex(&oe.nonce),
            org_id: caller.org_id.clone(),
            purpose: CREATION_PURPOSE.into(),
            principal: caller.principal.key(),
            created_at: wall,
            expires_at: wall + CHALLENGE_SECONDS,
        })
        .await?;
    let typed_data = oe.to_typed_data(&domain_chain_id(state.primary())?);
    Ok(Json(PrepareCreationResponse {
        typed_data: serde_json::to_value(&typed_data).map_err(ApiError::internal)?,
        account_class_hash: to_hex(&state.starknet_class_hash()?),
    }))
}

fn check_address(state: &AppState, address: Felt, owner: Felt) -> ApiResult<()> {
    let expected =
        state.primary().chain.account_address(&to_hex(&owner)).map_err(ApiError::from_refusal)?;
    if expected != to_hex(&address) {
        return Err(ApiError::bad_request(
            codes::ADDRESS_MISMATCH,
            format!(
                "publicKey {} is not the address of this key with class {} (expected {}); pass classHash to createWallet",
                to_hex(&address),
                to_hex(&state.starknet_class_hash()?),
                expected
            ),
        ));
    }
    Ok(())
}

/// The owner's signature of the creation typed data.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OwnerSignatureDto {
    #[schema(value_type = crate::openapi::FeltText)]
    r: String,
    #[schema(value_type = crate::openapi::FeltText)]
    s: String,
}

/// How the account is deployed (as starknet.js describes a deployment).
#[derive(Deserialize, ToSchema)]
pub(crate) struct DeploymentData {
    /// This server's account class hash.
    #[schema(value_type = crate::openapi::FeltText)]
    class_hash: String,
    /// The owner public key.
    #[schema(value_type = crate::openapi::FeltText)]
    salt: String,
    /// `0x0`: unique deployments are not supported.
    #[schema(pattern = "^(0x0{1,64}|0{1,78})$")]
    unique: String,
    /// `[owner public key]`.
    #[schema(value_type = Vec<crate::openapi::FeltText>)]
    calldata: Vec<String>,
}

/// What `createWallet` sends.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateWallet {
    /// Your user id; with an end-user token, the token's subject.
    external_user_id: String,
    /// The wallet's address.
    #[schema(value_type = crate::openapi::AddressText)]
    public_key: String,
    /// `CHIPI`, the only type this server deploys.
    #[schema(pattern = "^CHIPI$")]
    wallet_type: Option<String>,
    /// Accepted and ignored (`STARKNET`).
    #[allow(dead_code)]
    chain: Option<String>,
    user_signature: OwnerSignatureDto,
    /// The creation typed data `prepare-creation` issued (single use).
    #[schema(value_type = crate::openapi::TypedDataSchema)]
    typed_data: TypedData,
    /// The owner private key, encrypted on the client (Chipi or lk1 format).
    #[schema(value_type = crate::openapi::EncryptedKeyText)]
    encrypted_private_key: String,
    /// An optional second encryption of the same key.
    #[schema(value_type = Option<crate::openapi::EncryptedKeyText>)]
    encrypted_private_key_backup: Option<String>,
    auth_method: Option<String>,
    credential_id: Option<String>,
    prf_supported: Option<bool>,
    device_type: Option<String>,
    deployment_data: DeploymentData,
}

#[utoipa::path(post, path = "/v1/chipi-wallets", tag = "chipi",
    request_body(content = CreateWallet, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry safe: the first request with a key runs, a repeat with the same body gets its stored answer.")),
    responses((status = 200, body = ChipiWallet, description = "Created and deployed."),
        (status = 402, body = crate::error::ErrorBody, description = "The organisation's gas budget is spent (`SPONSORSHIP_EXHAUSTED`)."),
        (status = 403, body = crate::error::ErrorBody, description = "`externalUserId` is not the token's subject, or the deployment is refused."),
        (status = 409, body = crate::error::ErrorBody, description = "A wallet exists for this user or address (`WALLET_EXISTS`)."),
        (status = 422, body = crate::error::ErrorBody, description = "The deployment failed to simulate.")))]
pub(crate) async fn create_wallet(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let route = "POST /v1/chipi-wallets";
    idempotency::run(&state, &caller, &headers, route, &body, async {
        let req: CreateWallet = parse_json(&body)?;
        if let Some(subject) = caller.subject() {
            if subject != req.external_user_id {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    codes::FORBIDDEN,
                    "externalUserId must be the token's subject",
                ));
            }
        }
        check_wallet_type(req.wallet_type.as_deref())?;
        let address = felt("publicKey", &req.public_key)?;
        let owner = felt("deploymentData.salt", &req.deployment_data.salt)?;
        check_class_hash(&state, Some(&req.deployment_data.class_hash))?;
        if felt("deploymentData.unique", &req.deployment_data.unique)? != Felt::ZERO {
            return Err(ApiError::bad_request(
                codes::INVALID_DEPLOYMENT_DATA,
                "unique deployments are not supported",
            ));
        }
        let calldata: Vec<Felt> = req
            .deployment_data
            .calldata
            .iter()
            .map(|c| felt("deploymentData.calldata", c))
            .collect::<Result<_, _>>()?;
        if calldata != [owner] {
            return Err(ApiError::bad_request(
                codes::INVALID_DEPLOYMENT_DATA,
                "constructor calldata must be [owner public key]",
            ));
        }
        check_address(&state, address, owner)?;
        let backup = req.encrypted_private_key_backup.as_deref();
        ensure_encrypted_keys(KeyFormats::WithChipi, &req.encrypted_private_key, backup)?;
        ensure_owner_keys(Curve::Stark, &req.encrypted_private_key, backup)?;
        // Proof of key possession: the owner signed the creation typed data for this address.
        let (oe, chain_id) = OutsideExecution::from_typed_data(&req.typed_data)
            .map_err(|e| ApiError::bad_request(codes::INVALID_TYPED_DATA, e.to_string()))?;
        if chain_id != domain_chain_id(state.primary())? || !oe.calls.is_empty() {
            return Err(ApiError::bad_request(
                codes::INVALID_TYPED_DATA,
                "typedData is not this server's creation typed data",
            ));
        }
        let signature = Signature {
            r: felt("userSignature.r", &req.user_signature.r)?,
            s: felt("userSignature.s", &req.user_signature.s)?,
        };
        if !verify_signature(&owner, &oe.message_hash(&chain_id, &address), &signature) {
            return Err(ApiError::bad_request(
                codes::INVALID_SIGNATURE,
                "userSignature does not verify for this key",
            ));
        }
        let issued = state
            .store
            .consume_challenge(
                &to_hex(&oe.nonce),
                &caller.org_id,
                &caller.principal.key(),
                CREATION_PURPOSE,
                now_unix(),
            )
            .await?;
        if !issued {
            return Err(ApiError::bad_request(
                codes::INVALID_TYPED_DATA,
                "typedData was not issued by prepare-creation for this caller, was used already, or expired",
            ));
        }

        let new_wallet = NewWallet {
            org_id: caller.org_id.clone(),
            external_user_id: Some(req.external_user_id.clone()),
            address: address_text(&address),
            owner_public_key: to_hex(&owner),
            encrypted_private_key: req.encrypted_private_key,
            encrypted_private_key_backup: req.encrypted_private_key_backup,
            wallet_type: CHIPI.into(),
            chain: state.primary().chain.id().to_string(),
            class_hash: to_hex(&state.starknet_class_hash()?),
            auth_method: req.auth_method,
            credential_id: req.credential_id,
            prf_supported: req.prf_supported,
            device_type: req.device_type,
        };
        let wallet = create_and_deploy_wallet(&state, &new_wallet, &to_hex(&owner)).await?;
        Ok((StatusCode::OK, wallet_json(&wallet, &caller)))
    })
    .await
}

/// A wallet as the Chipi API returns it. The backup blob is never returned (K4): the
/// native API gives it to the wallet's own end user on request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChipiWallet {
    id: String,
    external_user_id: Option<String>,
    organization_id: String,
    api_public_key: String,
    /// The wallet's address (minimal hex).
    public_key: String,
    /// The address as 64 hex digits.
    normalized_public_key: String,
    encrypted_private_key: String,
    is_deployed: bool,
    created_at: String,
    updated_at: String,
    wallet_type: String,
    chain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prf_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_type: Option<String>,
}

/// Chipi's name of a chain family: `STARKNET` for every Starknet chain (its SDK knows no
/// other); any other chain by its CAIP-2 id.
fn chipi_chain(chain: &str) -> String {
    match latchkey_chain::ChainRef::parse(chain) {
        Ok(id) if id.family() == latchkey_chain::Family::Starknet => "STARKNET".into(),
        _ => chain.to_string(),
    }
}

fn wallet_json(wallet: &Wallet, caller: &Caller) -> Value {
    let normalized_public_key = parse_felt(&wallet.address)
        .map(|a| format!("0x{}", hex::encode(a.to_bytes_be())))
        .unwrap_or_default();
    json!(ChipiWallet {
        id: wallet.id.clone(),
        external_user_id: wallet.external_user_id.clone(),
        organization_id: wallet.org_id.clone(),
        api_public_key: caller.api_public_key.clone(),
        public_key: wallet.address.clone(),
        normalized_public_key,
        encrypted_private_key: wallet.encrypted_private_key.clone(),
        is_deployed: wallet.deployed,
        created_at: iso8601(wallet.created_at),
        updated_at: iso8601(wallet.updated_at),
        wallet_type: wallet.wallet_type.clone(),
        chain: chipi_chain(&wallet.chain),
        auth_method: wallet.auth_method.clone(),
        credential_id: wallet.credential_id.clone(),
        prf_supported: wallet.prf_supported,
        device_type: wallet.device_type.clone(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ByUser {
    external_user_id: Option<String>,
}

#[utoipa::path(get, path = "/v1/chipi-wallets/by-user", tag = "chipi",
    params(("externalUserId" = String, Query, min_length = 1, description = "Your user id.")),
    responses((status = 200, body = ChipiWallet),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn wallet_by_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ByUser>,
) -> ApiResult<Json<Value>> {
    let external = query.external_user_id.filter(|e| !e.is_empty()).ok_or_else(|| {
        ApiError::bad_request(codes::INVALID_REQUEST, "externalUserId is required")
    })?;
    let wallet = state
        .store
        .wallet_by_external_user(&caller.org_id, state.primary().chain.id().as_str(), &external)
        .await?;
    match wallet {
        Some(wallet) if caller.can_access(&wallet) => {
            state.limits.check_wallet(&wallet.id)?;
            record_read(&state, &caller, &wallet, "GET /v1/chipi-wallets/by-user").await?;
            Ok(Json(wallet_json(&wallet, &caller)))
        }
        _ => Err(ApiError::not_found(codes::WALLET_NOT_FOUND, "wallet not found")),
    }
}

/// What `updateWalletEncryption` sends.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateEncryption {
    external_user_id: String,
    /// The new encrypted owner key (Chipi or lk1 format); the previous one is kept.
    #[schema(value_type = crate::openapi::EncryptedKeyText)]
    new_encrypted_private_key: String,
    /// The wallet's address, if given (`ADDRESS_MISMATCH` otherwise).
    #[schema(value_type = Option<crate::openapi::AddressText>)]
    public_key: Option<String>,
}

#[utoipa::path(patch, path = "/v1/chipi-wallets/update-encryption-details", tag = "chipi",
    request_body(content = UpdateEncryption, content_type = "application/json"),
    responses((status = 200, body = ChipiWallet, description = "Replaced; every previous version is kept."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn update_encryption(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let req: UpdateEncryption = parse_json(&body)?;
    ensure_encrypted_key(
        KeyFormats::WithChipi,
        Curve::Stark,
        "newEncryptedPrivateKey",
        &req.new_encrypted_private_key,
    )?;
    let wallet = state
        .store
        .wallet_by_external_user(
            &caller.org_id,
            state.primary().chain.id().as_str(),
            &req.external_user_id,
        )
        .await?
        .filter(|w| caller.can_access(w))
        .ok_or_else(|| ApiError::not_found(codes::WALLET_NOT_FOUND, "wallet not found"))?;
    if let Some(public_key) = &req.public_key {
        if felt("publicKey", public_key)?
            != parse_felt(&wallet.address).map_err(ApiError::internal)?
        {
            return Err(ApiError::bad_request(
                codes::ADDRESS_MISMATCH,
                "publicKey is not this user's wallet",
            ));
        }
    }
    // The SDK sends no proof of possession: every earlier version is kept (restorable
    // with the owner's proof through the native API) and the replacement is recorded.
    let event = NewKeyEvent {
        kind: KeyEventKind::Replaced,
        principal: caller.principal.key(),
        route: "PATCH /v1/chipi-wallets/update-encryption-details".into(),
        proof: "none".into(),
    };
    let wallet = state
        .store
        .replace_wallet_keys(
            &wallet.id,
            &req.new_encrypted_private_key,
            wallet.encrypted_private_key_backup.as_deref(),
            &event,
        )
        .await?;
    tracing::info!(wallet = %wallet.id, principal = %caller.principal.key(), "stored key replaced without a proof (Chipi route); previous version kept");
    Ok(Json(wallet_json(&wallet, &caller)))
}

/// What `getTokenBalance` sends: the chain, the token, and the wallet by address or by
/// user id.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenBalanceQuery {
    chain: Option<String>,
    chain_token: Option<String>,
    wallet_public_key: Option<String>,
    external_user_id: Option<String>,
}

/// A wallet's balance of one token, as `getTokenBalance` reads it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenBalance {
    /// `STARKNET`.
    chain: String,
    /// The symbol asked for.
    chain_token: String,
    /// The token contract.
    chain_token_address: String,
    /// Decimal places of its smallest unit.
    decimals: u8,
    /// In whole tokens, exact (`"12.5"`).
    balance: String,
}

#[utoipa::path(get, path = "/v1/chipi-wallets/token-balance", tag = "chipi",
    params(("chain" = String, Query, description = "`STARKNET`."),
        ("chainToken" = String, Query, description = "The token's symbol: the chain's own (`STRK`, `ETH` on the embedded chain) or one the organisation registered (`PUT /api/organization/tokens`)."),
        ("walletPublicKey" = Option<String>, Query, description = "The wallet's address (this or `externalUserId`)."),
        ("externalUserId" = Option<String>, Query, description = "Your user id (this or `walletPublicKey`).")),
    responses((status = 200, body = TokenBalance),
        (status = 400, body = crate::error::ErrorBody, description = "A chain other than `STARKNET` (`UNKNOWN_CHAIN`), no such token (`TOKEN_NOT_SUPPORTED`), or no wallet named (`INVALID_REQUEST`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`)."),
        (status = 503, body = crate::error::ErrorBody, description = "The chain did not answer (`UPSTREAM_UNAVAILABLE`).")))]
pub(crate) async fn token_balance(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<TokenBalanceQuery>,
) -> ApiResult<Json<TokenBalance>> {
    let chain = query.chain.unwrap_or_default();
    if chain != "STARKNET" {
        return Err(ApiError::bad_request(
            codes::UNKNOWN_CHAIN,
            format!(
                "chain {:?}: this server's Chipi API serves STARKNET",
                chain.chars().take(32).collect::<String>()
            ),
        ));
    }
    let slot = state.primary();
    domain_chain_id(slot)?;
    let symbol = query
        .chain_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request(codes::INVALID_REQUEST, "chainToken is required"))?;
    let wallet = match (query.wallet_public_key.filter(|k| !k.is_empty()), query.external_user_id) {
        (Some(address), _) => {
            crate::service::accessible_wallet(&state, &caller, &felt("walletPublicKey", &address)?)
                .await?
        }
        (None, Some(external)) if !external.is_empty() => {
            let wallet = state
                .store
                .wallet_by_external_user(&caller.org_id, slot.chain.id().as_str(), &external)
                .await?
                .filter(|wallet| caller.can_access(wallet))
                .ok_or_else(|| ApiError::not_found(codes::WALLET_NOT_FOUND, "wallet not found"))?;
            state.limits.check_wallet(&wallet.id)?;
            wallet
        }
        _ => {
            return Err(ApiError::bad_request(
                codes::INVALID_REQUEST,
                "walletPublicKey or externalUserId is required",
            ))
        }
    };
    let token = crate::service::tokens::resolve(&state, &caller.org_id, slot, &symbol).await?;
    let amount = slot.chain.token_balance(&token.address, &wallet.address).await?;
    Ok(Json(TokenBalance {
        chain,
        chain_token: token.symbol,
        chain_token_address: token.address,
        decimals: token.decimals,
        balance: crate::service::tokens::in_whole_units(&amount, token.decimals),
    }))
}
