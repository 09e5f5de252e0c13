//! The Chipi REST API v1 dialect (`/v1/...`), with the exact request and response JSON
//! `@chipi-stack/backend` 14.4 sends and reads.
//!
//! Where the SDK's protocol is weaker than the native one, the server makes up for it:
//! wallet creation must sign typed data this server issued for this organisation and
//! caller (once, within its window); a key replacement, for which the SDK sends no proof,
//! keeps every previous version (restorable through the native API) and is recorded; the
//! backup blob is never returned; session registrations follow the guardrails of every
//! route (an allowlist, a bounded duration, never a revoked key).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_chain::{AccountChange, CallView, Calls};
use latchkey_core::codes;
use latchkey_core::{
    parse_felt, selector, to_hex, verify_signature, Call, Felt, OutsideExecution, Signature,
    TypedData, ANY_CALLER,
};
use latchkey_relayer::Purpose;
use latchkey_store::{Challenge, KeyEventKind, NewKeyEvent, NewSession, NewWallet, Wallet};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::custody::{record_read, CHALLENGE_SECONDS};
use crate::util::{
    accessible_wallet, address_text, create_and_deploy_wallet, domain_chain_id,
    ensure_encrypted_keys, felt, felt_json, in_range, iso8601, now_unix, parse_json,
    random_challenge, wallet_ref, ApiQuery, KeyFormats, RawBody,
};

/// The challenge purpose of the creation typed data this server issues.
const CREATION_PURPOSE: &str = "chipi-create-wallet";
use crate::{idempotency, ApiError, ApiResult, AppState, Caller};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/chipi-wallets/prepare-creation", post(prepare_creation))
        .route("/v1/chipi-wallets", post(create_wallet))
        .route("/v1/chipi-wallets/by-user", get(wallet_by_user))
        .route(
            "/v1/chipi-wallets/update-encryption-details",
            axum::routing::patch(update_encryption),
        )
        .route("/v1/transactions/prepare-typed-data", post(prepare_typed_data))
        .route("/v1/transactions/execute-sponsored-transaction", post(execute_sponsored))
        .route("/v1/transactions/transaction-list", get(transaction_list))
        .route("/v1/transactions/{hash}/status", get(transaction_status))
}

/// The only wallet type this server deploys: latchkey's session-key account.
const CHIPI: &str = "CHIPI";

fn check_wallet_type(wallet_type: Option<&str>) -> ApiResult<()> {
    match wallet_type {
        None | Some(CHIPI) => Ok(()),
        Some(other) => Err(ApiError::bad_request(
            codes::WALLET_TYPE_NOT_SUPPORTED,
            format!("wallet type {other:?} is not supported; this server deploys latchkey session accounts (CHIPI)"),
        )),
    }
}

fn check_class_hash(state: &AppState, class_hash: Option<&str>) -> ApiResult<()> {
    if let Some(text) = class_hash {
        if felt("classHash", text)? != state.account_class_hash {
            return Err(ApiError::bad_request(
                codes::UNSUPPORTED_CLASS_HASH,
                format!("this server deploys account class {}", to_hex(&state.account_class_hash)),
            ));
        }
    }
    Ok(())
}

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
    let now = state.chain.now().await?;
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
    let typed_data = oe.to_typed_data(&domain_chain_id(&state)?);
    Ok(Json(PrepareCreationResponse {
        typed_data: serde_json::to_value(&typed_data).map_err(ApiError::internal)?,
        account_class_hash: to_hex(&state.account_class_hash),
    }))
}

fn check_address(state: &AppState, address: Felt, owner: Felt) -> ApiResult<()> {
    let expected = state.chain.account_address(&to_hex(&owner)).map_err(ApiError::from_refusal)?;
    if expected != to_hex(&address) {
        return Err(ApiError::bad_request(
            codes::ADDRESS_MISMATCH,
            format!(
                "publicKey {} is not the address of this key with class {} (expected {}); pass classHash to createWallet",
                to_hex(&address),
                to_hex(&state.account_class_hash),
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
        ensure_encrypted_keys(
            KeyFormats::WithChipi,
            &req.encrypted_private_key,
            req.encrypted_private_key_backup.as_deref(),
        )?;
        // Proof of key possession: the owner signed the creation typed data for this address.
        let (oe, chain_id) = OutsideExecution::from_typed_data(&req.typed_data)
            .map_err(|e| ApiError::bad_request(codes::INVALID_TYPED_DATA, e.to_string()))?;
        if chain_id != domain_chain_id(&state)? || !oe.calls.is_empty() {
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
            chain: state.chain.id().to_string(),
            class_hash: to_hex(&state.account_class_hash),
            auth_method: req.auth_method,
            credential_id: req.credential_id,
            prf_supported: req.prf_supported,
            device_type: req.device_type,
        };
        let wallet = create_and_deploy_wallet(&state, &new_wallet, owner).await?;
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
        .wallet_by_external_user(&caller.org_id, state.chain.id().as_str(), &external)
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
    if !KeyFormats::WithChipi.accepts(&req.new_encrypted_private_key) {
        return Err(
            KeyFormats::WithChipi.refusal("newEncryptedPrivateKey", &req.new_encrypted_private_key)
        );
    }
    let wallet = state
        .store
        .wallet_by_external_user(&caller.org_id, state.chain.id().as_str(), &req.external_user_id)
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

/// A call as starknet.js writes it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SdkCall {
    #[schema(value_type = crate::openapi::AddressText)]
    contract_address: String,
    /// An entrypoint name (1 to 256 bytes), or a `0x` selector.
    #[schema(min_length = 1, max_length = 256)]
    entrypoint: String,
    #[schema(value_type = Vec<crate::openapi::FeltJson>)]
    #[serde(default)]
    calldata: Vec<Value>,
}

impl SdkCall {
    fn to_call(&self, index: usize) -> ApiResult<Call> {
        let to = felt(&format!("calls[{index}].contractAddress"), &self.contract_address)?;
        let selector = if self.entrypoint.starts_with("0x") {
            felt(&format!("calls[{index}].entrypoint"), &self.entrypoint)?
        } else if !self.entrypoint.is_empty() && self.entrypoint.len() <= 256 {
            selector(&self.entrypoint)
        } else {
            return Err(ApiError::bad_request(
                codes::INVALID_REQUEST,
                format!("calls[{index}].entrypoint is invalid"),
            ));
        };
        let calldata = self
            .calldata
            .iter()
            .map(|v| felt_json(&format!("calls[{index}].calldata"), v))
            .collect::<Result<_, _>>()?;
        Ok(Call { to, selector, calldata })
    }
}

/// What `prepareTypedData` sends.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrepareTypedData {
    /// The wallet's address.
    #[schema(value_type = crate::openapi::AddressText)]
    public_key: String,
    calls: Vec<SdkCall>,
    /// Accepted and ignored for latchkey wallets.
    #[allow(dead_code)]
    account_class_hash: Option<String>,
    /// `CHIPI`, the only type this server deploys.
    #[schema(pattern = "^CHIPI$")]
    wallet_type: Option<String>,
}

/// Typed data to sign with the owner or a session key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrepareTypedDataResponse {
    /// SNIP-12 revision 1 typed data of a SNIP-9 v2 outside execution.
    #[schema(value_type = Object)]
    typed_data: Value,
    /// `CHIPI`.
    wallet_type: String,
}

#[utoipa::path(post, path = "/v1/transactions/prepare-typed-data", tag = "chipi",
    request_body(content = PrepareTypedData, content_type = "application/json"),
    responses((status = 200, body = PrepareTypedDataResponse),
        (status = 403, body = crate::error::ErrorBody, description = "A call the session or the sponsorship policy does not allow."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`)."),
        (status = 409, body = crate::error::ErrorBody, description = "A session key in the calls was revoked (`SESSION_KEY_REVOKED`).")))]
pub(crate) async fn prepare_typed_data(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<PrepareTypedDataResponse>> {
    let req: PrepareTypedData = parse_json(&body)?;
    check_wallet_type(req.wallet_type.as_deref())?;
    let address = felt("publicKey", &req.public_key)?;
    let wallet = accessible_wallet(&state, &caller, &address).await?;
    let calls: Vec<Call> =
        req.calls.iter().enumerate().map(|(i, c)| c.to_call(i)).collect::<Result<_, _>>()?;
    // The registration guardrails, before anything is mirrored: this route cannot ask for
    // allow-all explicitly, so an empty allowlist is refused (R2-11).
    let account = to_hex(&address);
    let calls = Calls::Starknet(calls);
    let views = state.chain.views(&account, &calls).map_err(ApiError::from_refusal)?;
    let now = state.chain.now().await?;
    state.relayer.check_registrations(&account, &views, now, false).await?;
    let purpose = mirror_session_calls(&state, &wallet, &views).await?;
    let prepared = state.relayer.prepare(&wallet_ref(&wallet)?, calls, purpose).await?;
    Ok(Json(PrepareTypedDataResponse {
        typed_data: prepared.signable.payload,
        wallet_type: CHIPI.into(),
    }))
}

/// Records the public data of a session the owner registers (so the dashboard and the
/// native API can list it) and names what the execution is for: a single call to the
/// account that registers or revokes sessions (the chain decodes it).
async fn mirror_session_calls(
    state: &AppState,
    wallet: &Wallet,
    views: &[CallView],
) -> ApiResult<Purpose> {
    let [CallView { change: Some(change), .. }] = views else { return Ok(Purpose::User) };
    match change {
        AccountChange::RegisterSession(grant) => {
            let rules = &grant.rules;
            let methods = rules
                .permissions
                .iter()
                .map(|p| {
                    Ok(latchkey_core::AllowedMethod {
                        contract: p.target.as_deref().map_or(Ok(Felt::ZERO), |t| felt("to", t))?,
                        selector: felt("selector", &p.selector)?,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            state
                .store
                .upsert_session(&NewSession {
                    wallet_id: wallet.id.clone(),
                    session_public_key: grant.session_key.clone(),
                    valid_after: i64::try_from(rules.valid_after).unwrap_or(i64::MAX),
                    valid_until: i64::try_from(rules.valid_until).unwrap_or(i64::MAX),
                    max_calls: i64::from(rules.max_calls),
                    allowed_methods_json: serde_json::to_string(&methods)
                        .map_err(ApiError::internal)?,
                    allow_all: methods.is_empty(),
                    registration_request_id: None,
                })
                .await?;
            Ok(Purpose::RegisterSession(grant.session_key.clone()))
        }
        AccountChange::MalformedRegistration(why) => {
            Err(ApiError::bad_request(codes::INVALID_REQUEST, why.clone()))
        }
        AccountChange::RevokeSession(key) => Ok(Purpose::RevokeSession(key.clone())),
        AccountChange::RevokeAllSessions | AccountChange::SetOwner(_) => {
            Ok(Purpose::RevokeAllSessions)
        }
        _ => Ok(Purpose::User),
    }
}

/// What `executeSponsoredTransaction` sends.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecuteSponsored {
    /// The wallet's address.
    #[schema(value_type = crate::openapi::AddressText)]
    public_key: String,
    /// The typed data `prepare-typed-data` returned.
    #[schema(value_type = crate::openapi::TypedDataSchema)]
    typed_data: TypedData,
    /// Owner `{ r, s }`, or a session's `[sessionPublicKey, r, s, validUntil]`.
    #[schema(schema_with = user_signature_schema)]
    user_signature: Value,
    /// Accepted and ignored.
    #[allow(dead_code)]
    save_to_database: Option<bool>,
    /// `CHIPI`, the only type this server deploys.
    #[schema(pattern = "^CHIPI$")]
    wallet_type: Option<String>,
    /// Whether `userSignature` is a session signature.
    is_session_signature: Option<bool>,
}

fn user_signature_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema};
    use utoipa::openapi::Ref;
    let owner = ObjectBuilder::new()
        .property("r", Ref::from_schema_name("FeltJson"))
        .property("s", Ref::from_schema_name("FeltJson"))
        .required("r")
        .required("s");
    let felts = |n: usize| {
        ArrayBuilder::new()
            .items(Ref::from_schema_name("FeltJson"))
            .min_items(Some(n))
            .max_items(Some(n))
    };
    Schema::OneOf(OneOfBuilder::new().item(owner).item(felts(2)).item(felts(4)).build())
}

/// An accepted execution.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionHashResponse {
    transaction_hash: String,
}

/// Owner signatures arrive as `{ "r": decimal, "s": decimal }`; session signatures as a
/// 4-element array of hex strings.
fn parse_user_signature(value: &Value, is_session: bool) -> ApiResult<Vec<Felt>> {
    let invalid = |m: &str| ApiError::bad_request(codes::INVALID_SIGNATURE, m.to_string());
    match value {
        Value::Object(map) => {
            if is_session {
                return Err(invalid(
                    "a session signature must be [sessionPublicKey, r, s, validUntil]",
                ));
            }
            let part = |k: &str| -> ApiResult<Felt> {
                let v = map.get(k).ok_or_else(|| invalid("userSignature needs r and s"))?;
                felt_json(&format!("userSignature.{k}"), v)
                    .map_err(|e| ApiError::bad_request(codes::INVALID_SIGNATURE, e.message))
            };
            Ok(vec![part("r")?, part("s")?])
        }
        Value::Array(items) => {
            let felts: Vec<Felt> = items
                .iter()
                .map(|v| {
                    felt_json("userSignature", v)
                        .map_err(|e| ApiError::bad_request(codes::INVALID_SIGNATURE, e.message))
                })
                .collect::<Result<_, _>>()?;
            match (felts.len(), is_session) {
                (4, _) | (2, false) => Ok(felts),
                _ => Err(invalid(
                    "userSignature must be {r, s} or [sessionPublicKey, r, s, validUntil]",
                )),
            }
        }
        _ => Err(invalid("userSignature must be {r, s} or [sessionPublicKey, r, s, validUntil]")),
    }
}

#[utoipa::path(post, path = "/v1/transactions/execute-sponsored-transaction", tag = "chipi",
    request_body(content = ExecuteSponsored, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry safe: the first request with a key runs, a repeat with the same body gets its stored answer.")),
    responses((status = 200, body = TransactionHashResponse, description = "Submitted."),
        (status = 402, body = crate::error::ErrorBody, description = "The organisation's gas budget is spent (`SPONSORSHIP_EXHAUSTED`)."),
        (status = 403, body = crate::error::ErrorBody, description = "The session or the sponsorship policy refuses it."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`)."),
        (status = 409, body = crate::error::ErrorBody, description = "Already submitted, another wallet's, or the same `Idempotency-Key` in flight."),
        (status = 422, body = crate::error::ErrorBody, description = "The simulation failed or the chain rejected it, or the `Idempotency-Key` was used with another request.")))]
pub(crate) async fn execute_sponsored(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let route = "POST /v1/transactions/execute-sponsored-transaction";
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    idempotency::run(&state, &caller, &headers, route, &body, async {
        let req: ExecuteSponsored = parse_json(&body)?;
        check_wallet_type(req.wallet_type.as_deref())?;
        let address = felt("publicKey", &req.public_key)?;
        let wallet = accessible_wallet(&state, &caller, &address).await?;
        let signature =
            parse_user_signature(&req.user_signature, req.is_session_signature.unwrap_or(false))?;
        let signature: Vec<String> = signature.iter().map(to_hex).collect();
        let typed_data = serde_json::to_value(&req.typed_data).map_err(ApiError::internal)?;
        let outcome = state
            .relayer
            .execute(&wallet_ref(&wallet)?, &typed_data, &signature, key.as_deref())
            .await;
        let submitted =
            idempotency::resume(&state, &caller.org_id, key.as_deref(), outcome).await?;
        let answer = TransactionHashResponse { transaction_hash: submitted.transaction_hash };
        Ok((StatusCode::OK, json!(answer)))
    })
    .await
}

/// A page of executions.
#[derive(Serialize, ToSchema)]
pub(crate) struct TransactionListResponse {
    data: Vec<crate::views::TransactionResponse>,
    page: u32,
    limit: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    wallet_address: Option<String>,
    limit: Option<u32>,
    page: Option<u32>,
}

#[utoipa::path(get, path = "/v1/transactions/transaction-list", tag = "chipi",
    params(("walletAddress" = Option<crate::openapi::AddressText>, Query, description = "Only this wallet's (required with an end-user token)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "At most this many (default 20)."),
        ("page" = Option<u32>, Query, minimum = 1, maximum = 100000, description = "The page, from 1 (default 1).")),
    responses((status = 200, body = TransactionListResponse),
        (status = 403, body = crate::error::ErrorBody, description = "An end user must name a wallet (`FORBIDDEN`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn transaction_list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<TransactionListResponse>> {
    let limit = in_range("limit", query.limit, 20, 1..=100)?;
    let page = in_range("page", query.page, 1, 1..=100_000)?;
    let wallet_id = match &query.wallet_address {
        Some(address) => {
            Some(accessible_wallet(&state, &caller, &felt("walletAddress", address)?).await?.id)
        }
        None => {
            caller.require_organization()?;
            None
        }
    };
    let requests = state
        .store
        .list_requests(&caller.org_id, wallet_id.as_deref(), limit, (page - 1) * limit)
        .await?;
    let data = requests.iter().map(crate::views::TransactionResponse::from).collect();
    Ok(Json(TransactionListResponse { data, page, limit }))
}

/// An execution's status as the Chipi SDK reads it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionStatusResponse {
    transaction_hash: Option<String>,
    /// `PENDING`, `SUCCESS`, `FAILED` or `EXPIRED`.
    #[schema(pattern = "^(PENDING|SUCCESS|FAILED|EXPIRED)$")]
    status: &'static str,
    /// latchkey's own status (`prepared` … `expired`).
    detailed_status: String,
    error_code: Option<String>,
    error_message: Option<String>,
}

#[utoipa::path(get, path = "/v1/transactions/{hash}/status", tag = "chipi",
    params(("hash" = crate::openapi::FeltText, Path, description = "The transaction hash.")),
    responses((status = 200, body = TransactionStatusResponse),
        (status = 404, body = crate::error::ErrorBody, description = "No such transaction for this caller (`TRANSACTION_NOT_FOUND`).")))]
pub(crate) async fn transaction_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> ApiResult<Json<TransactionStatusResponse>> {
    let hash = felt("hash", &hash)?;
    let request = state
        .store
        .request_by_tx_hash(&to_hex(&hash))
        .await?
        .filter(|r| r.org_id == caller.org_id)
        .ok_or_else(|| {
            ApiError::not_found(codes::TRANSACTION_NOT_FOUND, "transaction not found")
        })?;
    if let (Some(wallet_id), Some(_)) = (&request.wallet_id, caller.subject()) {
        let wallet = state.store.wallet(wallet_id).await?;
        if !wallet.is_some_and(|w| caller.can_access(&w)) {
            return Err(ApiError::not_found(codes::TRANSACTION_NOT_FOUND, "transaction not found"));
        }
    }
    let status = match request.status {
        latchkey_store::RequestStatus::Succeeded => "SUCCESS",
        latchkey_store::RequestStatus::Reverted | latchkey_store::RequestStatus::Rejected => {
            "FAILED"
        }
        latchkey_store::RequestStatus::Expired => "EXPIRED",
        _ => "PENDING",
    };
    Ok(Json(TransactionStatusResponse {
        transaction_hash: request.tx_hash,
        status,
        detailed_status: request.status.as_str().to_string(),
        error_code: request.error_code,
        error_message: request.error_message,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_signatures_parse_in_both_sdk_shapes() {
        let owner = json!({"r": "904764587069082438608748828619667654621181185606785470391005935541096139918", "s": "2001837498107509677976902304815898415227532959260046545619748388501060766629"});
        assert_eq!(parse_user_signature(&owner, false).unwrap().len(), 2);
        assert!(parse_user_signature(&owner, true).is_err());
        let session = json!(["0x4032", "0x7e96", "0x17a5", "0x70dbd880"]);
        assert_eq!(parse_user_signature(&session, true).unwrap().len(), 4);
        assert!(parse_user_signature(&json!(["0x1", "0x2", "0x3"]), true).is_err());
        assert!(parse_user_signature(&json!({"r": "0xzz", "s": "1"}), false).is_err());
        assert!(parse_user_signature(&json!("nope"), false).is_err());
    }

    #[test]
    fn sdk_calls_accept_names_hex_selectors_and_mixed_calldata() {
        let call: SdkCall = serde_json::from_value(json!({
            "contractAddress": "0x033068F6539f8e6e6b131e6B2B814e6c34A5224bC66947c47DaB9dFeE93b35fb",
            "entrypoint": "transfer",
            "calldata": ["0x05a1b2c3", "1000000", 0]
        }))
        .unwrap();
        let call = call.to_call(0).unwrap();
        assert_eq!(call.selector, selector("transfer"));
        assert_eq!(
            call.calldata,
            vec![Felt::from(0x5a1b2c3u64), Felt::from(1_000_000u64), Felt::ZERO]
        );
        let bad: SdkCall = serde_json::from_value(
            json!({"contractAddress": "0x1", "entrypoint": "x", "calldata": ["-1"]}),
        )
        .unwrap();
        assert_eq!(bad.to_call(0).unwrap_err().code, "INVALID_FELT");
    }
}
