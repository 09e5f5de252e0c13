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
use latchkey_core::{
    felt_from_json, parse_felt, selector, to_hex, verify_signature, Call, Felt, OutsideExecution,
    Signature, TypedData, ANY_CALLER,
};
use latchkey_relayer::Purpose;
use latchkey_store::{Challenge, KeyEventKind, NewKeyEvent, NewSession, NewWallet, Wallet};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::custody::{record_read, CHALLENGE_SECONDS};
use crate::util::{
    accessible_wallet, address_text, create_and_deploy_wallet, ensure_encrypted_keys, felt,
    is_encrypted_key_blob, iso8601, now_unix, parse_json, wallet_ref, ApiQuery, RawBody,
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
            "WALLET_TYPE_NOT_SUPPORTED",
            format!("wallet type {other:?} is not supported; this server deploys latchkey session accounts (CHIPI)"),
        )),
    }
}

fn check_class_hash(state: &AppState, class_hash: Option<&str>) -> ApiResult<()> {
    if let Some(text) = class_hash {
        if felt("classHash", text)? != state.account_class_hash {
            return Err(ApiError::bad_request(
                "UNSUPPORTED_CLASS_HASH",
                format!("this server deploys account class {}", to_hex(&state.account_class_hash)),
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrepareCreation {
    #[allow(dead_code)]
    chain: Option<String>,
    public_key: String,
    wallet_type: Option<String>,
    stark_key_pub_a_x: String,
    class_hash: Option<String>,
}

/// Creation typed data: an outside execution for the future account that proves the
/// caller holds its owner key. It makes no call, so it can never do anything on chain. Its
/// nonce is a single-use challenge bound to this organisation and caller (R2-13).
async fn prepare_creation(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let req: PrepareCreation = parse_json(&body)?;
    check_wallet_type(req.wallet_type.as_deref())?;
    check_class_hash(&state, req.class_hash.as_deref())?;
    let owner = felt("starkKeyPubAX", &req.stark_key_pub_a_x)?;
    let address = felt("publicKey", &req.public_key)?;
    check_address(&state, address, owner)?;
    let now = state.relayer.chain().block_timestamp().await?;
    let oe = OutsideExecution {
        caller: ANY_CALLER,
        nonce: latchkey_chain::random_nonce(),
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
    let typed_data = oe.to_typed_data(&state.relayer.chain().chain_id());
    Ok(Json(
        json!({ "typedData": typed_data, "accountClassHash": to_hex(&state.account_class_hash) }),
    ))
}

fn check_address(state: &AppState, address: Felt, owner: Felt) -> ApiResult<()> {
    let expected = latchkey_chain::ChainClient::account_address(state.account_class_hash, owner);
    if expected != address {
        return Err(ApiError::bad_request(
            "ADDRESS_MISMATCH",
            format!(
                "publicKey {} is not the address of this key with class {} (expected {}); pass classHash to createWallet",
                to_hex(&address),
                to_hex(&state.account_class_hash),
                to_hex(&expected)
            ),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnerSignatureDto {
    r: String,
    s: String,
}

#[derive(Deserialize)]
struct DeploymentData {
    class_hash: String,
    salt: String,
    unique: String,
    calldata: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateWallet {
    external_user_id: String,
    public_key: String,
    wallet_type: Option<String>,
    #[allow(dead_code)]
    chain: Option<String>,
    user_signature: OwnerSignatureDto,
    typed_data: TypedData,
    encrypted_private_key: String,
    encrypted_private_key_backup: Option<String>,
    auth_method: Option<String>,
    credential_id: Option<String>,
    prf_supported: Option<bool>,
    device_type: Option<String>,
    deployment_data: DeploymentData,
}

async fn create_wallet(
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
                    "FORBIDDEN",
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
                "INVALID_DEPLOYMENT_DATA",
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
                "INVALID_DEPLOYMENT_DATA",
                "constructor calldata must be [owner public key]",
            ));
        }
        check_address(&state, address, owner)?;
        ensure_encrypted_keys(
            &req.encrypted_private_key,
            req.encrypted_private_key_backup.as_deref(),
        )?;
        // Proof of key possession: the owner signed the creation typed data for this address.
        let (oe, chain_id) = OutsideExecution::from_typed_data(&req.typed_data)
            .map_err(|e| ApiError::bad_request("INVALID_TYPED_DATA", e.to_string()))?;
        if chain_id != state.relayer.chain().chain_id() || !oe.calls.is_empty() {
            return Err(ApiError::bad_request(
                "INVALID_TYPED_DATA",
                "typedData is not this server's creation typed data",
            ));
        }
        let signature = Signature {
            r: felt("userSignature.r", &req.user_signature.r)?,
            s: felt("userSignature.s", &req.user_signature.s)?,
        };
        if !verify_signature(&owner, &oe.message_hash(&chain_id, &address), &signature) {
            return Err(ApiError::bad_request(
                "INVALID_SIGNATURE",
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
                "INVALID_TYPED_DATA",
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
            chain: "STARKNET".into(),
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

fn wallet_json(wallet: &Wallet, caller: &Caller) -> Value {
    let normalized = parse_felt(&wallet.address)
        .map(|a| format!("0x{}", hex::encode(a.to_bytes_be())))
        .unwrap_or_default();
    let mut value = json!({
        "id": wallet.id,
        "externalUserId": wallet.external_user_id,
        "organizationId": wallet.org_id,
        "apiPublicKey": caller.api_public_key,
        "publicKey": wallet.address,
        "normalizedPublicKey": normalized,
        "encryptedPrivateKey": wallet.encrypted_private_key,
        "isDeployed": wallet.deployed,
        "createdAt": iso8601(wallet.created_at),
        "updatedAt": iso8601(wallet.updated_at),
        "walletType": wallet.wallet_type,
        "chain": wallet.chain,
    });
    if let Some(map) = value.as_object_mut() {
        // The backup blob is never returned (K4): the native API gives it to the wallet's
        // own end user on request.
        let optional = [
            ("authMethod", wallet.auth_method.clone().map(Value::from)),
            ("credentialId", wallet.credential_id.clone().map(Value::from)),
            ("prfSupported", wallet.prf_supported.map(Value::from)),
            ("deviceType", wallet.device_type.clone().map(Value::from)),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.insert(key.into(), value);
            }
        }
    }
    value
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ByUser {
    external_user_id: Option<String>,
}

async fn wallet_by_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ByUser>,
) -> ApiResult<Json<Value>> {
    let external = query
        .external_user_id
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::bad_request("INVALID_REQUEST", "externalUserId is required"))?;
    let wallet = state.store.wallet_by_external_user(&caller.org_id, &external).await?;
    match wallet {
        Some(wallet) if caller.can_access(&wallet) => {
            state.limits.check_wallet(&wallet.id)?;
            record_read(&state, &caller, &wallet, "GET /v1/chipi-wallets/by-user").await?;
            Ok(Json(wallet_json(&wallet, &caller)))
        }
        _ => Err(ApiError::not_found("WALLET_NOT_FOUND", "wallet not found")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateEncryption {
    external_user_id: String,
    new_encrypted_private_key: String,
    public_key: Option<String>,
}

async fn update_encryption(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let req: UpdateEncryption = parse_json(&body)?;
    if !is_encrypted_key_blob(&req.new_encrypted_private_key) {
        return Err(ApiError::bad_request(
            "INVALID_ENCRYPTED_KEY",
            "newEncryptedPrivateKey must be an encrypted key",
        ));
    }
    let wallet = state
        .store
        .wallet_by_external_user(&caller.org_id, &req.external_user_id)
        .await?
        .filter(|w| caller.can_access(w))
        .ok_or_else(|| ApiError::not_found("WALLET_NOT_FOUND", "wallet not found"))?;
    if let Some(public_key) = &req.public_key {
        if felt("publicKey", public_key)?
            != parse_felt(&wallet.address).map_err(ApiError::internal)?
        {
            return Err(ApiError::bad_request(
                "ADDRESS_MISMATCH",
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SdkCall {
    contract_address: String,
    entrypoint: String,
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
                "INVALID_REQUEST",
                format!("calls[{index}].entrypoint is invalid"),
            ));
        };
        let calldata = self
            .calldata
            .iter()
            .map(|v| {
                felt_from_json(v).map_err(|e| {
                    ApiError::bad_request("INVALID_FELT", format!("calls[{index}].calldata: {e}"))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Call { to, selector, calldata })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrepareTypedData {
    public_key: String,
    calls: Vec<SdkCall>,
    /// Accepted and ignored for latchkey wallets.
    #[allow(dead_code)]
    account_class_hash: Option<String>,
    wallet_type: Option<String>,
}

async fn prepare_typed_data(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Value>> {
    let req: PrepareTypedData = parse_json(&body)?;
    check_wallet_type(req.wallet_type.as_deref())?;
    let address = felt("publicKey", &req.public_key)?;
    let wallet = accessible_wallet(&state, &caller, &address).await?;
    let calls: Vec<Call> =
        req.calls.iter().enumerate().map(|(i, c)| c.to_call(i)).collect::<Result<_, _>>()?;
    // The registration guardrails, before anything is mirrored: this route cannot ask for
    // allow-all explicitly, so an empty allowlist is refused (R2-11).
    let now = state.relayer.chain().block_timestamp().await?;
    state.relayer.check_registrations(address, &calls, now, false).await?;
    let purpose = mirror_session_calls(&state, &wallet, address, &calls).await?;
    let prepared = state.relayer.prepare(&wallet_ref(&wallet)?, calls, purpose).await?;
    Ok(Json(json!({ "typedData": prepared.typed_data, "walletType": CHIPI })))
}

/// Records the public data of a session the owner registers (so the dashboard and the
/// native API can list it) and names what the execution is for.
async fn mirror_session_calls(
    state: &AppState,
    wallet: &Wallet,
    address: Felt,
    calls: &[Call],
) -> ApiResult<Purpose> {
    let [call] = calls else { return Ok(Purpose::User) };
    if call.to != address {
        return Ok(Purpose::User);
    }
    let data = &call.calldata;
    if call.selector == selector("add_or_update_session_key") {
        let (Some(key), Some(until), Some(max_calls), Some(n)) =
            (data.first(), data.get(1), data.get(2), data.get(3))
        else {
            return Err(ApiError::bad_request(
                "INVALID_REQUEST",
                "add_or_update_session_key calldata is too short",
            ));
        };
        let n = latchkey_core::felt_to_u32(n)
            .map_err(|e| ApiError::bad_request("INVALID_FELT", e.to_string()))?
            as usize;
        let selectors = data.get(4..4 + n).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_REQUEST",
                "add_or_update_session_key calldata is too short",
            )
        })?;
        let methods: Vec<latchkey_core::AllowedMethod> = selectors
            .iter()
            .map(|s| latchkey_core::AllowedMethod { contract: Felt::ZERO, selector: *s })
            .collect();
        state
            .store
            .upsert_session(&NewSession {
                wallet_id: wallet.id.clone(),
                session_public_key: to_hex(key),
                valid_after: 0,
                valid_until: i64::try_from(
                    latchkey_core::felt_to_u64(until)
                        .map_err(|e| ApiError::bad_request("INVALID_FELT", e.to_string()))?,
                )
                .unwrap_or(i64::MAX),
                max_calls: i64::from(
                    latchkey_core::felt_to_u32(max_calls)
                        .map_err(|e| ApiError::bad_request("INVALID_FELT", e.to_string()))?,
                ),
                allowed_methods_json: serde_json::to_string(&methods)
                    .map_err(ApiError::internal)?,
                allow_all: methods.is_empty(),
                registration_request_id: None,
            })
            .await?;
        return Ok(Purpose::RegisterSession(*key));
    }
    if call.selector == selector("revoke_session_key") {
        if let Some(key) = data.first() {
            return Ok(Purpose::RevokeSession(*key));
        }
    }
    if call.selector == selector("revoke_all_sessions")
        || call.selector == selector("set_public_key")
    {
        return Ok(Purpose::RevokeAllSessions);
    }
    Ok(Purpose::User)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecuteSponsored {
    public_key: String,
    typed_data: TypedData,
    user_signature: Value,
    #[allow(dead_code)]
    save_to_database: Option<bool>,
    wallet_type: Option<String>,
    is_session_signature: Option<bool>,
}

/// Owner signatures arrive as `{ "r": decimal, "s": decimal }`; session signatures as a
/// 4-element array of hex strings.
fn parse_user_signature(value: &Value, is_session: bool) -> ApiResult<Vec<Felt>> {
    let invalid = |m: &str| ApiError::bad_request("INVALID_SIGNATURE", m.to_string());
    match value {
        Value::Object(map) => {
            if is_session {
                return Err(invalid(
                    "a session signature must be [sessionPublicKey, r, s, validUntil]",
                ));
            }
            let part = |k: &str| -> ApiResult<Felt> {
                let v = map.get(k).ok_or_else(|| invalid("userSignature needs r and s"))?;
                felt_from_json(v).map_err(|e| {
                    ApiError::bad_request("INVALID_SIGNATURE", format!("userSignature.{k}: {e}"))
                })
            };
            Ok(vec![part("r")?, part("s")?])
        }
        Value::Array(items) => {
            let felts: Vec<Felt> = items
                .iter()
                .map(|v| {
                    felt_from_json(v).map_err(|e| {
                        ApiError::bad_request("INVALID_SIGNATURE", format!("userSignature: {e}"))
                    })
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

async fn execute_sponsored(
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
        let outcome = state
            .relayer
            .execute(&wallet_ref(&wallet)?, &req.typed_data, &signature, key.as_deref())
            .await;
        let submitted =
            idempotency::resume(&state, &caller.org_id, key.as_deref(), outcome).await?;
        Ok((StatusCode::OK, json!({ "transactionHash": to_hex(&submitted.transaction_hash) })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    wallet_address: Option<String>,
    limit: Option<u32>,
    page: Option<u32>,
}

async fn transaction_list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
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
    let data: Vec<Value> = requests.iter().map(crate::native::transaction_json).collect();
    Ok(Json(json!({ "data": data, "page": page, "limit": limit })))
}

async fn transaction_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> ApiResult<Json<Value>> {
    let hash = felt("hash", &hash)?;
    let request = state
        .store
        .request_by_tx_hash(&to_hex(&hash))
        .await?
        .filter(|r| r.org_id == caller.org_id)
        .ok_or_else(|| ApiError::not_found("TRANSACTION_NOT_FOUND", "transaction not found"))?;
    if let (Some(wallet_id), Some(_)) = (&request.wallet_id, caller.subject()) {
        let wallet = state.store.wallet(wallet_id).await?;
        if !wallet.is_some_and(|w| caller.can_access(&w)) {
            return Err(ApiError::not_found("TRANSACTION_NOT_FOUND", "transaction not found"));
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
    Ok(Json(json!({
        "transactionHash": request.tx_hash,
        "status": status,
        "detailedStatus": request.status.as_str(),
        "errorCode": request.error_code,
        "errorMessage": request.error_message,
    })))
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
