//! The native dialect under `/api`: wallets, sessions with (contract, selector)
//! allowlists and `valid_after`, executions and their transactions, sponsorship. Every
//! write that needs the owner returns typed data to sign (`prepare`), then takes the
//! signature (`execute`): the server never holds a user key.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_chain::{AccountChange, Calls, SessionGrant, SpendingCap};
use latchkey_core::codes;
use latchkey_core::{
    parse_u256, payload_hash, selector, to_hex, AllowedMethod, Call, Felt, ProofPurpose,
    SessionPolicy, TypedData, U256,
};
use latchkey_relayer::Purpose;
use latchkey_store::{NewSession, NewWallet, SessionState, Wallet};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::custody::{check_proof, record_read, ProofInput};
use crate::error::ErrorBody;
use crate::util::{
    accessible_wallet, address_text, create_and_deploy_wallet, ensure_encrypted_keys, felt,
    in_range, iso8601, parse_json, signature_words, wallet_ref, ApiQuery, KeyFormats, RawBody,
};
use crate::views::TransactionResponse;
use crate::{idempotency, ApiError, ApiResult, AppState, Caller, Principal};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/wallets", post(create_wallet).get(list_wallets))
        .route("/api/wallets/{address}", get(get_wallet))
        .route("/api/wallets/{address}/prepare", post(prepare))
        .route("/api/wallets/{address}/execute", post(execute))
        .route("/api/wallets/{address}/sessions", post(register_session).get(list_sessions))
        .route("/api/wallets/{address}/sessions/revoke-all", post(revoke_all))
        .route("/api/wallets/{address}/sessions/{key}", get(get_session))
        .route("/api/wallets/{address}/sessions/{key}/revoke", post(revoke_session))
        .route("/api/transactions", get(list_transactions))
        .route("/api/transactions/{id}", get(get_transaction))
        .route("/api/sponsorship", get(sponsorship))
}

// ---------------------------------------------------------------------------------------
// Wallets

/// A wallet to create; the server deploys it gaslessly.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateWalletRequest {
    /// Owner public key (a non-zero felt).
    #[schema(value_type = crate::openapi::NonZeroFeltText)]
    owner_public_key: String,
    /// The owner private key, encrypted on the client in a latchkey envelope (`lk2$…`,
    /// `lk1$…`), well-formed. Plaintext keys and Chipi ciphertexts are refused.
    #[schema(value_type = crate::openapi::HardenedKeyText)]
    encrypted_private_key: String,
    /// An optional second encryption of the same key (e.g. a PIN backup of a passkey).
    #[schema(value_type = Option<crate::openapi::HardenedKeyText>)]
    encrypted_private_key_backup: Option<String>,
    /// Your user id; with an end-user token it must be the token's subject.
    external_user_id: Option<String>,
    /// Proof of possession of the owner key: purpose `create-wallet`, account = the
    /// wallet's address, payload = `sn_keccak(encryptedPrivateKey)`.
    proof: ProofInput,
}

/// A wallet.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WalletResponse {
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
    created_at: String,
}

impl WalletResponse {
    /// The wallet with its encrypted owner key (answers about this one wallet).
    fn with_key(w: &Wallet) -> Self {
        Self { encrypted_private_key: Some(w.encrypted_private_key.clone()), ..Self::from(w) }
    }
}

impl From<&Wallet> for WalletResponse {
    fn from(w: &Wallet) -> Self {
        Self {
            address: w.address.clone(),
            owner_public_key: w.owner_public_key.clone(),
            external_user_id: w.external_user_id.clone(),
            wallet_type: w.wallet_type.clone(),
            class_hash: w.class_hash.clone(),
            deployed: w.deployed,
            deploy_transaction_hash: w.deploy_tx_hash.clone().filter(|h| !h.is_empty()),
            encrypted_private_key: None,
            has_backup: w.encrypted_private_key_backup.is_some(),
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
        let owner = felt("ownerPublicKey", &req.owner_public_key)?;
        if owner == Felt::ZERO {
            return Err(ApiError::bad_request(
                codes::INVALID_FELT,
                "ownerPublicKey must not be zero",
            ));
        }
        ensure_encrypted_keys(
            KeyFormats::Hardened,
            &req.encrypted_private_key,
            req.encrypted_private_key_backup.as_deref(),
        )?;
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
        let address =
            state.chain.account_address(&to_hex(&owner)).map_err(ApiError::from_refusal)?;
        let address = latchkey_core::parse_felt(&address).map_err(ApiError::internal)?;
        check_proof(
            &state,
            &caller,
            ProofPurpose::CreateWallet,
            address,
            payload_hash(req.encrypted_private_key.as_bytes()),
            owner,
            &req.proof,
        )
        .await?;
        let new_wallet = NewWallet {
            org_id: caller.org_id.clone(),
            external_user_id,
            address: address_text(&address),
            owner_public_key: to_hex(&owner),
            encrypted_private_key: req.encrypted_private_key,
            encrypted_private_key_backup: req.encrypted_private_key_backup,
            wallet_type: "CHIPI".into(),
            chain: state.chain.id().to_string(),
            class_hash: to_hex(&state.account_class_hash),
            auth_method: None,
            credential_id: None,
            prf_supported: None,
            device_type: None,
        };
        let wallet = create_and_deploy_wallet(&state, &new_wallet, owner).await?;
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
        Some(subject) => state
            .store
            .wallet_by_external_user(&caller.org_id, state.chain.id().as_str(), subject)
            .await?
            .into_iter()
            .collect(),
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

fn path_address(address: &str) -> ApiResult<Felt> {
    felt("address", address)
}

#[utoipa::path(get, path = "/api/wallets/{address}", tag = "wallets", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    responses((status = 200, body = WalletResponse), (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn get_wallet(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<WalletResponse>> {
    let wallet = accessible_wallet(&state, &caller, &path_address(&address)?).await?;
    record_read(&state, &caller, &wallet, "GET /api/wallets/{address}").await?;
    Ok(Json(WalletResponse::with_key(&wallet)))
}

// ---------------------------------------------------------------------------------------
// Executions

/// One call: the target and either an entrypoint name or a selector.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CallInput {
    #[schema(value_type = crate::openapi::AddressText)]
    to: String,
    /// The entrypoint's name (1 to 256 bytes); or give `selector`.
    #[schema(min_length = 1, max_length = 256)]
    entrypoint: Option<String>,
    /// The entrypoint's selector; or give `entrypoint`.
    #[schema(value_type = Option<crate::openapi::FeltText>)]
    selector: Option<String>,
    #[schema(value_type = Vec<crate::openapi::FeltText>)]
    #[serde(default)]
    calldata: Vec<String>,
}

fn entry_selector(field: &str, entrypoint: Option<&str>, sel: Option<&str>) -> ApiResult<Felt> {
    match (entrypoint, sel) {
        (Some(name), None) if !name.is_empty() && name.len() <= 256 => Ok(selector(name)),
        (None, Some(sel)) => felt(field, sel),
        _ => Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            format!("{field}: give exactly one of entrypoint or selector"),
        )),
    }
}

impl CallInput {
    fn to_call(&self, i: usize) -> ApiResult<Call> {
        Ok(Call {
            to: felt(&format!("calls[{i}].to"), &self.to)?,
            selector: entry_selector(
                &format!("calls[{i}]"),
                self.entrypoint.as_deref(),
                self.selector.as_deref(),
            )?,
            calldata: self
                .calldata
                .iter()
                .map(|c| felt(&format!("calls[{i}].calldata"), c))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Calls to prepare for signing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrepareRequest {
    calls: Vec<CallInput>,
}

/// Typed data to sign, then submit to `execute`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreparedResponse {
    request_id: String,
    /// SNIP-12 revision 1 typed data of a SNIP-9 v2 outside execution.
    #[schema(value_type = Object)]
    typed_data: Value,
    /// Its message hash for this wallet.
    message_hash: String,
    /// Unix time after which it can no longer execute.
    expires_at: u64,
}

async fn prepared_response(
    state: &AppState,
    wallet: &Wallet,
    calls: Calls,
    purpose: Purpose,
) -> ApiResult<PreparedResponse> {
    let prepared = state.relayer.prepare(&wallet_ref(wallet)?, calls, purpose).await?;
    let signable = prepared.signable;
    Ok(PreparedResponse {
        request_id: prepared.request_id,
        typed_data: signable.payload,
        message_hash: signable.hash,
        expires_at: signable.execute_before,
    })
}

#[utoipa::path(post, path = "/api/wallets/{address}/prepare", tag = "executions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    request_body(content = PrepareRequest, content_type = "application/json"),
    responses((status = 200, body = PreparedResponse),
        (status = 403, body = ErrorBody, description = "A call the session or the sponsorship policy does not allow."),
        (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`)."),
        (status = 409, body = ErrorBody, description = "A session key in the calls was revoked (`SESSION_KEY_REVOKED`).")))]
pub(crate) async fn prepare(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<PreparedResponse>> {
    let wallet = accessible_wallet(&state, &caller, &path_address(&address)?).await?;
    let req: PrepareRequest = parse_json(&body)?;
    let calls =
        req.calls.iter().enumerate().map(|(i, c)| c.to_call(i)).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(prepared_response(&state, &wallet, Calls::Starknet(calls), Purpose::User).await?))
}

/// A signed outside execution.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExecuteRequest {
    #[schema(value_type = crate::openapi::TypedDataSchema)]
    typed_data: TypedData,
    /// Owner `[r, s]` or session `[sessionPublicKey, r, s, validUntil]`, hex.
    #[schema(value_type = Vec<crate::openapi::FeltText>)]
    signature: Vec<String>,
}

/// An accepted execution.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecuteResponse {
    request_id: String,
    transaction_hash: String,
    /// `submitted` (202), or with `?wait=true` the final status (200): `succeeded`,
    /// `reverted`, `rejected` or `expired`.
    status: String,
    /// Why it failed, for a final failed status.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    /// Explanation (the chain's revert reason for `reverted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
}

/// Options of an execution.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecuteQuery {
    /// Answer only once the transaction is final (at most 60 s), with status 200.
    #[serde(default)]
    #[param(required = false)]
    wait: bool,
}

/// How long `?wait=true` waits for a final status.
const EXECUTE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

#[utoipa::path(post, path = "/api/wallets/{address}/execute", tag = "executions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."), ExecuteQuery, ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes a retry safe: the first request with a key runs, a repeat with the same body gets its stored answer.")),
    request_body(content = ExecuteRequest, content_type = "application/json"),
    responses((status = 200, body = ExecuteResponse, description = "Final, with `?wait=true`."),
        (status = 202, body = ExecuteResponse, description = "Submitted."),
        (status = 402, body = ErrorBody, description = "The organisation's gas budget is spent (`SPONSORSHIP_EXHAUSTED`)."),
        (status = 403, body = ErrorBody, description = "The session or the sponsorship policy refuses it."),
        (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`)."),
        (status = 409, body = ErrorBody, description = "Already submitted, another wallet's, or the same `Idempotency-Key` in flight."),
        (status = 422, body = ErrorBody, description = "The simulation failed or the chain rejected it, or the `Idempotency-Key` was used with another request.")))]
pub(crate) async fn execute(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(address): Path<String>,
    ApiQuery(options): ApiQuery<ExecuteQuery>,
    RawBody(body): RawBody,
) -> Response {
    let route = format!("POST /api/wallets/{address}/execute");
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    idempotency::run(&state, &caller, &headers, &route, &body, async {
        let wallet = accessible_wallet(&state, &caller, &path_address(&address)?).await?;
        let req: ExecuteRequest = parse_json(&body)?;
        let signature = signature_words(&req.signature)?;
        let typed_data = serde_json::to_value(&req.typed_data).map_err(ApiError::internal)?;
        let outcome = state
            .relayer
            .execute(&wallet_ref(&wallet)?, &typed_data, &signature, key.as_deref())
            .await;
        let submitted =
            idempotency::resume(&state, &caller.org_id, key.as_deref(), outcome).await?;
        let request = if options.wait {
            Some(state.relayer.wait_final(&submitted.request_id, EXECUTE_WAIT).await?)
        } else {
            state.store.request(&submitted.request_id).await?
        };
        let done = options.wait && request.as_ref().is_some_and(|r| r.status.is_final());
        let (code, message) = match &request {
            Some(r) if done => (r.error_code.clone(), r.error_message.clone()),
            _ => (None, None),
        };
        Ok((
            if done { StatusCode::OK } else { StatusCode::ACCEPTED },
            json!(ExecuteResponse {
                request_id: submitted.request_id,
                transaction_hash: submitted.transaction_hash,
                status: request
                    .map_or_else(|| "submitted".into(), |r| r.status.as_str().to_string()),
                error_code: code,
                error_message: message,
            }),
        ))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Sessions

/// One allowed method: a contract (`0x0` = any contract) and an entrypoint or selector.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MethodInput {
    /// The contract, `0x0` for any contract.
    #[schema(value_type = crate::openapi::AddressText)]
    contract: String,
    /// The entrypoint's name (1 to 256 bytes); or give `selector`.
    #[schema(min_length = 1, max_length = 256)]
    entrypoint: Option<String>,
    /// The entrypoint's selector; or give `entrypoint`.
    #[schema(value_type = Option<crate::openapi::FeltText>)]
    selector: Option<String>,
}

/// A spending cap on one token.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SpendingCapInput {
    #[schema(value_type = crate::openapi::AddressText)]
    token: String,
    /// u256, decimal or hex string.
    #[schema(pattern = "^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$")]
    max_per_call: String,
    /// u256, decimal or hex string.
    #[schema(pattern = "^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$")]
    max_per_window: String,
    window_seconds: u64,
}

/// A session to register. The owner signs the returned typed data, then submits it to
/// `execute`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegisterSessionRequest {
    /// The session's public key (a non-zero felt).
    #[schema(value_type = crate::openapi::NonZeroFeltText)]
    session_public_key: String,
    /// Unix time the session starts (default: now).
    #[serde(default)]
    valid_after: u64,
    /// Unix time the session ends (inclusive).
    valid_until: u64,
    /// Transactions the session may make.
    max_calls: u32,
    /// Allowed (contract, entrypoint) pairs. Must not be empty unless `allowAll` is true.
    #[serde(default)]
    allowed_methods: Vec<MethodInput>,
    /// Allow every method of every contract (never the wallet itself). Explicit by design.
    #[serde(default)]
    allow_all: bool,
    /// Per-token spending caps.
    #[serde(default)]
    spending_caps: Vec<SpendingCapInput>,
}

/// Stored session data (public data only): its methods and the tokens it has caps on.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StoredPolicy {
    methods: Vec<AllowedMethod>,
    #[serde(default)]
    spending_tokens: Vec<String>,
}

fn stored_policy(json: &str) -> StoredPolicy {
    // Sessions mirrored from Chipi calls store the bare method list.
    serde_json::from_str::<StoredPolicy>(json)
        .or_else(|_| {
            serde_json::from_str::<Vec<AllowedMethod>>(json)
                .map(|methods| StoredPolicy { methods, spending_tokens: vec![] })
        })
        .unwrap_or_default()
}

#[utoipa::path(post, path = "/api/wallets/{address}/sessions", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    request_body(content = RegisterSessionRequest, content_type = "application/json"),
    responses((status = 201, body = PreparedResponse, description = "Typed data registering the session, to sign and execute."),
        (status = 403, body = ErrorBody, description = "The sponsorship policy refuses it."),
        (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`)."),
        (status = 409, body = ErrorBody, description = "This session key was revoked on this wallet (`SESSION_KEY_REVOKED`).")))]
pub(crate) async fn register_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<PreparedResponse>)> {
    let account = path_address(&address)?;
    let wallet = accessible_wallet(&state, &caller, &account).await?;
    let req: RegisterSessionRequest = parse_json(&body)?;
    let key = felt("sessionPublicKey", &req.session_public_key)?;
    if key == Felt::ZERO {
        return Err(ApiError::bad_request(
            codes::INVALID_FELT,
            "sessionPublicKey must not be zero",
        ));
    }
    state.relayer.check_not_revoked(&to_hex(&account), &to_hex(&key)).await?;
    if req.allowed_methods.is_empty() && !req.allow_all {
        return Err(ApiError::bad_request(
            codes::ALLOWLIST_REQUIRED,
            "give allowedMethods, or set allowAll: true to allow every method (never recommended)",
        ));
    }
    if !req.allowed_methods.is_empty() && req.allow_all {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            "allowAll and allowedMethods are exclusive",
        ));
    }
    if req.max_calls == 0 {
        return Err(ApiError::bad_request(codes::INVALID_REQUEST, "maxCalls must be at least 1"));
    }
    let now = state.chain.now().await?;
    let start = req.valid_after.max(now);
    if req.valid_until <= start {
        return Err(ApiError::bad_request(
            codes::INVALID_SESSION_WINDOW,
            "validUntil must be after validAfter and now",
        ));
    }
    if req.valid_until - start > state.config.max_session_seconds {
        return Err(ApiError::bad_request(
            codes::SESSION_TOO_LONG,
            format!("sessions may last at most {} seconds", state.config.max_session_seconds),
        ));
    }
    let mut methods = Vec::with_capacity(req.allowed_methods.len());
    for (i, m) in req.allowed_methods.iter().enumerate() {
        let contract = felt(&format!("allowedMethods[{i}].contract"), &m.contract)?;
        if contract == account {
            return Err(ApiError::bad_request(
                codes::SELF_CALL_NOT_ALLOWED,
                "a session can never call its own wallet",
            ));
        }
        let selector = entry_selector(
            &format!("allowedMethods[{i}]"),
            m.entrypoint.as_deref(),
            m.selector.as_deref(),
        )?;
        methods.push(AllowedMethod { contract, selector });
    }
    if methods.len() > 128 {
        return Err(ApiError::bad_request(codes::TOO_MANY_METHODS, "at most 128 allowed methods"));
    }
    let policy = SessionPolicy {
        session_key: key,
        valid_after: req.valid_after,
        valid_until: req.valid_until,
        max_calls: req.max_calls,
        allowed_methods: methods.clone(),
    };
    let mut changes = vec![AccountChange::RegisterSession(SessionGrant {
        session_key: to_hex(&key),
        rules: policy.rules(),
    })];
    let mut spending_tokens = Vec::new();
    for (i, cap) in req.spending_caps.iter().enumerate() {
        let token = felt(&format!("spendingCaps[{i}].token"), &cap.token)?;
        let per_call = u256_field(&format!("spendingCaps[{i}].maxPerCall"), &cap.max_per_call)?;
        let per_window =
            u256_field(&format!("spendingCaps[{i}].maxPerWindow"), &cap.max_per_window)?;
        if cap.window_seconds == 0 || per_call == U256::ZERO || per_call > per_window {
            return Err(ApiError::bad_request(
                codes::INVALID_SPENDING_POLICY,
                format!(
                    "spendingCaps[{i}]: need 0 < maxPerCall <= maxPerWindow and windowSeconds > 0"
                ),
            ));
        }
        changes.push(AccountChange::SetSpendingCap(SpendingCap {
            session_key: to_hex(&key),
            token: to_hex(&token),
            max_per_call: per_call,
            max_per_window: per_window,
            window_seconds: cap.window_seconds,
        }));
        spending_tokens.push(to_hex(&token));
    }
    let calls =
        state.chain.session_calls(&to_hex(&account), &changes).map_err(ApiError::from_refusal)?;
    let purpose = Purpose::RegisterSession(to_hex(&key));
    let prepared = prepared_response(&state, &wallet, calls, purpose).await?;
    state
        .store
        .upsert_session(&NewSession {
            wallet_id: wallet.id.clone(),
            session_public_key: to_hex(&key),
            valid_after: req.valid_after as i64,
            valid_until: i64::try_from(req.valid_until).unwrap_or(i64::MAX),
            max_calls: i64::from(req.max_calls),
            allowed_methods_json: serde_json::to_string(&StoredPolicy { methods, spending_tokens })
                .map_err(ApiError::internal)?,
            allow_all: req.allow_all,
            registration_request_id: Some(prepared.request_id.clone()),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(prepared)))
}

fn u256_field(field: &str, value: &str) -> ApiResult<U256> {
    parse_u256(&Value::String(value.to_string())).ok_or_else(|| {
        ApiError::bad_request(
            codes::INVALID_AMOUNT,
            format!("{field} must be a u256 (decimal or hex)"),
        )
    })
}

/// A method a session may call.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MethodOutput {
    contract: String,
    selector: String,
}

/// A spending cap and its current window.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SpendingCapOutput {
    token: String,
    max_per_call: String,
    max_per_window: String,
    window_seconds: u64,
    spent_in_window: String,
    window_start: u64,
}

/// A session: its registered policy and its live on-chain status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionResponse {
    session_public_key: String,
    /// `pending`, `active`, `scheduled`, `expired`, `exhausted`, `revoked`, `failed`.
    state: String,
    is_active: bool,
    valid_after: u64,
    valid_until: u64,
    max_calls: u32,
    calls_used: u32,
    remaining_calls: u32,
    allow_all: bool,
    allowed_methods: Vec<MethodOutput>,
    spending_caps: Vec<SpendingCapOutput>,
}

async fn session_response(
    state: &AppState,
    account: Felt,
    session: &latchkey_store::Session,
) -> ApiResult<SessionResponse> {
    let key = felt("sessionPublicKey", &session.session_public_key)?;
    let chain = &state.chain;
    let (account, key_text) = (to_hex(&account), to_hex(&key));
    let view = chain.session(&account, &key_text).await?;
    let rules = &view.rules;
    let stored = stored_policy(&session.allowed_methods_json);
    let now = chain.now().await?;
    let registered_here =
        view.registered && u64::try_from(session.valid_until).ok() == Some(rules.valid_until);
    let state_name = if view.revoked || session.state == SessionState::Revoked {
        "revoked"
    } else if !registered_here {
        match session.state {
            SessionState::Failed => "failed",
            _ => "pending",
        }
    } else if now < rules.valid_after {
        "scheduled"
    } else if now > rules.valid_until {
        "expired"
    } else if view.calls_used >= rules.max_calls {
        "exhausted"
    } else {
        "active"
    };
    let mut caps = Vec::new();
    for token in &stored.spending_tokens {
        let token = to_hex(&felt("token", token)?);
        let cap = chain.spending_cap(&account, &key_text, &token).await?;
        if cap.window_seconds != 0 {
            caps.push(SpendingCapOutput {
                token,
                max_per_call: cap.max_per_call.to_string(),
                max_per_window: cap.max_per_window.to_string(),
                window_seconds: cap.window_seconds,
                spent_in_window: cap.spent_in_window.to_string(),
                window_start: cap.window_start,
            });
        }
    }
    let (valid_after, valid_until, max_calls, calls_used, allow_all, methods) = if registered_here {
        (
            rules.valid_after,
            rules.valid_until,
            rules.max_calls,
            view.calls_used,
            rules.permissions.is_empty(),
            rules.permissions.clone(),
        )
    } else {
        (
            u64::try_from(session.valid_after).unwrap_or(0),
            u64::try_from(session.valid_until).unwrap_or(0),
            u32::try_from(session.max_calls).unwrap_or(0),
            0,
            session.allow_all,
            stored.methods.iter().map(AllowedMethod::permission).collect(),
        )
    };
    Ok(SessionResponse {
        session_public_key: key_text,
        state: state_name.into(),
        is_active: state_name == "active",
        valid_after,
        valid_until,
        max_calls,
        calls_used,
        remaining_calls: max_calls.saturating_sub(calls_used),
        allow_all,
        allowed_methods: methods
            .into_iter()
            .map(|p| MethodOutput {
                contract: p.target.unwrap_or_else(|| to_hex(&Felt::ZERO)),
                selector: p.selector,
            })
            .collect(),
        spending_caps: caps,
    })
}

#[utoipa::path(get, path = "/api/wallets/{address}/sessions", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    responses((status = 200, body = [SessionResponse]), (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<Vec<SessionResponse>>> {
    let account = path_address(&address)?;
    let wallet = accessible_wallet(&state, &caller, &account).await?;
    let mut out = Vec::new();
    for session in state.store.sessions_for_wallet(&wallet.id).await? {
        out.push(session_response(&state, account, &session).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/wallets/{address}/sessions/{key}", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."), ("key" = crate::openapi::FeltText, Path, description = "The session public key.")),
    responses((status = 200, body = SessionResponse), (status = 404, body = ErrorBody, description = "No such wallet or session (`WALLET_NOT_FOUND`, `SESSION_NOT_FOUND`).")))]
pub(crate) async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((address, key)): Path<(String, String)>,
) -> ApiResult<Json<SessionResponse>> {
    let account = path_address(&address)?;
    let wallet = accessible_wallet(&state, &caller, &account).await?;
    let key = felt("key", &key)?;
    let session = state
        .store
        .session(&wallet.id, &to_hex(&key))
        .await?
        .ok_or_else(|| ApiError::not_found(codes::SESSION_NOT_FOUND, "session not found"))?;
    Ok(Json(session_response(&state, account, &session).await?))
}

#[utoipa::path(post, path = "/api/wallets/{address}/sessions/{key}/revoke", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."), ("key" = crate::openapi::FeltText, Path, description = "The session public key.")),
    responses((status = 200, body = PreparedResponse, description = "Typed data revoking the session, to sign and execute."),
        (status = 404, body = ErrorBody, description = "No such wallet, or no active registration of this key.")))]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((address, key)): Path<(String, String)>,
) -> ApiResult<Json<PreparedResponse>> {
    let account = path_address(&address)?;
    let wallet = accessible_wallet(&state, &caller, &account).await?;
    let key = to_hex(&felt("key", &key)?);
    let account = to_hex(&account);
    let view = state.chain.session(&account, &key).await?;
    if !view.registered || view.revoked {
        return Err(ApiError::not_found(
            codes::SESSION_NOT_FOUND,
            "no active registration of this session key",
        ));
    }
    let change = AccountChange::RevokeSession(key.clone());
    let calls = state.chain.session_calls(&account, &[change]).map_err(ApiError::from_refusal)?;
    Ok(Json(prepared_response(&state, &wallet, calls, Purpose::RevokeSession(key)).await?))
}

#[utoipa::path(post, path = "/api/wallets/{address}/sessions/revoke-all", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    responses((status = 200, body = PreparedResponse, description = "Typed data revoking every session, to sign and execute."),
        (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn revoke_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<PreparedResponse>> {
    let account = path_address(&address)?;
    let wallet = accessible_wallet(&state, &caller, &account).await?;
    let calls = state
        .chain
        .session_calls(&to_hex(&account), &[AccountChange::RevokeAllSessions])
        .map_err(ApiError::from_refusal)?;
    Ok(Json(prepared_response(&state, &wallet, calls, Purpose::RevokeAllSessions).await?))
}

// ---------------------------------------------------------------------------------------
// Transactions and sponsorship

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionsQuery {
    wallet_address: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

#[utoipa::path(get, path = "/api/transactions", tag = "transactions",
    params(("walletAddress" = Option<crate::openapi::AddressText>, Query, description = "Only this wallet's."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "At most this many (default 50)."),
        ("offset" = Option<u64>, Query, minimum = 0, maximum = 4294967295_u64, description = "Skip this many (default 0).")),
    responses((status = 200, body = [TransactionResponse]), (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn list_transactions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TransactionsQuery>,
) -> ApiResult<Json<Vec<TransactionResponse>>> {
    let wallet_id = match (&q.wallet_address, caller.subject()) {
        (Some(address), _) => {
            Some(accessible_wallet(&state, &caller, &felt("walletAddress", address)?).await?.id)
        }
        (None, Some(subject)) => {
            match state
                .store
                .wallet_by_external_user(&caller.org_id, state.chain.id().as_str(), subject)
                .await?
            {
                Some(wallet) => Some(wallet.id),
                None => return Ok(Json(vec![])),
            }
        }
        (None, None) => None,
    };
    let requests = state
        .store
        .list_requests(
            &caller.org_id,
            wallet_id.as_deref(),
            in_range("limit", q.limit, 50, 1..=200)?,
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(requests.iter().map(TransactionResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/transactions/{id}", tag = "transactions",
    params(("id" = String, Path, description = "The execution's request id.")),
    responses((status = 200, body = TransactionResponse), (status = 404, body = ErrorBody, description = "No such transaction for this caller (`TRANSACTION_NOT_FOUND`).")))]
pub(crate) async fn get_transaction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TransactionResponse>> {
    let not_found = || ApiError::not_found(codes::TRANSACTION_NOT_FOUND, "transaction not found");
    let request = state
        .store
        .request(&id)
        .await
        .ok()
        .flatten()
        .filter(|r| r.org_id == caller.org_id)
        .ok_or_else(not_found)?;
    if caller.subject().is_some() {
        let wallet = match &request.wallet_id {
            Some(id) => state.store.wallet(id).await?,
            None => None,
        };
        if !wallet.is_some_and(|w| caller.can_access(&w)) {
            return Err(not_found());
        }
    }
    Ok(Json(TransactionResponse::from(&request)))
}

/// The organisation's gas budget, in FRI.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SponsorshipResponse {
    budget_fri: String,
    spent_fri: String,
    reserved_fri: String,
    remaining_fri: String,
}

#[utoipa::path(get, path = "/api/sponsorship", tag = "sponsorship",
    responses((status = 200, body = SponsorshipResponse), (status = 403, body = ErrorBody, description = "End users may not read it (`FORBIDDEN`).")))]
pub(crate) async fn sponsorship(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<SponsorshipResponse>> {
    caller.require_organization()?;
    let org = state
        .store
        .organization(&caller.org_id)
        .await?
        .ok_or_else(|| ApiError::internal("organisation of a valid key is missing"))?;
    let remaining =
        org.gas_budget_fri.saturating_sub(org.gas_spent_fri).saturating_sub(org.gas_reserved_fri);
    Ok(Json(SponsorshipResponse {
        budget_fri: org.gas_budget_fri.to_string(),
        spent_fri: org.gas_spent_fri.to_string(),
        reserved_fri: org.gas_reserved_fri.to_string(),
        remaining_fri: remaining.to_string(),
    }))
}
