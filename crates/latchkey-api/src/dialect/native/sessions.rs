//! The native dialect: sessions, their registration, status and revocation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use latchkey_chain::{Permission, SpendingCap};
use latchkey_core::codes;
use latchkey_core::{parse_u256, U256};
use latchkey_store::Wallet;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::service::sessions::{self, SessionRequest, Standing};
use crate::service::wallet_at;
use crate::util::{parse_json, RawBody};
use crate::{ApiError, ApiResult, AppState, Caller, ChainSlot};

use super::executions::{field_refusal, method_selector, PreparedResponse};

/// One allowed method: a contract (`0x0` = any contract) and an entrypoint or selector
/// (on EVM, a Solidity signature such as `makeMove(uint64)`, or a 4-byte selector).
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
    /// The session's key: a non-zero felt public key on Starknet, its address on EVM.
    #[schema(max_length = 66)]
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
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let req: RegisterSessionRequest = parse_json(&body)?;
    let slot = state.chain_of(&wallet)?;
    let key = slot
        .chain
        .parse_key(&req.session_public_key)
        .map_err(|r| field_refusal("sessionPublicKey", r))?;
    let mut permissions = Vec::with_capacity(req.allowed_methods.len());
    for (i, m) in req.allowed_methods.iter().enumerate() {
        let field = format!("allowedMethods[{i}]");
        let target = contract(slot, &format!("{field}.contract"), &m.contract)?;
        let selector =
            method_selector(slot, &field, m.entrypoint.as_deref(), m.selector.as_deref())?;
        permissions.push(Permission { target, selector });
    }
    let mut caps = Vec::with_capacity(req.spending_caps.len());
    for (i, cap) in req.spending_caps.iter().enumerate() {
        let token = slot
            .chain
            .parse_address(&cap.token)
            .map_err(|r| field_refusal(&format!("spendingCaps[{i}].token"), r))?;
        caps.push(SpendingCap {
            session_key: key.clone(),
            token,
            max_per_call: u256_field(&format!("spendingCaps[{i}].maxPerCall"), &cap.max_per_call)?,
            max_per_window: u256_field(
                &format!("spendingCaps[{i}].maxPerWindow"),
                &cap.max_per_window,
            )?,
            window_seconds: cap.window_seconds,
        });
    }
    let prepared = sessions::register(
        &state,
        &wallet,
        SessionRequest {
            key,
            valid_after: req.valid_after,
            valid_until: req.valid_until,
            max_calls: req.max_calls,
            permissions,
            allow_all: req.allow_all,
            caps,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(PreparedResponse::new(slot, prepared))))
}

/// A contract an allowed method names: `None` for any contract (`0x0`, or the zero
/// address on EVM).
fn contract(slot: &ChainSlot, field: &str, text: &str) -> ApiResult<Option<String>> {
    let zero = |t: &str| {
        let digits = t.strip_prefix("0x").unwrap_or(t);
        !digits.is_empty() && digits.bytes().all(|b| b == b'0')
    };
    if text.starts_with("0x") && zero(text) {
        return Ok(None);
    }
    let address = slot.chain.parse_address(text).map_err(|r| field_refusal(field, r))?;
    Ok((!zero(&address)).then_some(address))
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
    wallet: &Wallet,
    session: &latchkey_store::Session,
) -> ApiResult<SessionResponse> {
    let status = sessions::status(state, wallet, session).await?;
    let rules = status.rules;
    Ok(SessionResponse {
        session_public_key: status.key,
        state: status.standing.as_str().into(),
        is_active: status.standing == Standing::Active,
        valid_after: rules.valid_after,
        valid_until: rules.valid_until,
        max_calls: rules.max_calls,
        calls_used: status.calls_used,
        remaining_calls: rules.max_calls.saturating_sub(status.calls_used),
        allow_all: status.allow_all,
        allowed_methods: rules
            .permissions
            .into_iter()
            .map(|p| MethodOutput {
                contract: p.target.unwrap_or_else(|| "0x0".into()),
                selector: p.selector,
            })
            .collect(),
        spending_caps: status
            .caps
            .into_iter()
            .map(|(token, cap)| SpendingCapOutput {
                token,
                max_per_call: cap.max_per_call.to_string(),
                max_per_window: cap.max_per_window.to_string(),
                window_seconds: cap.window_seconds,
                spent_in_window: cap.spent_in_window.to_string(),
                window_start: cap.window_start,
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/api/wallets/{address}/sessions", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    responses((status = 200, body = [SessionResponse]), (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<Vec<SessionResponse>>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let mut out = Vec::new();
    for session in state.store.sessions_for_wallet(&wallet.id).await? {
        out.push(session_response(&state, &wallet, &session).await?);
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
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let key =
        state.chain_of(&wallet)?.chain.parse_key(&key).map_err(|r| field_refusal("key", r))?;
    let session = state
        .store
        .session(&wallet.id, &key)
        .await?
        .ok_or_else(|| ApiError::not_found(codes::SESSION_NOT_FOUND, "session not found"))?;
    Ok(Json(session_response(&state, &wallet, &session).await?))
}

#[utoipa::path(post, path = "/api/wallets/{address}/sessions/{key}/revoke", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address."), ("key" = crate::openapi::FeltText, Path, description = "The session public key.")),
    responses((status = 200, body = PreparedResponse, description = "Typed data revoking the session, to sign and execute."),
        (status = 404, body = ErrorBody, description = "No such wallet, or no active registration of this key.")))]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path((address, key)): Path<(String, String)>,
) -> ApiResult<Json<PreparedResponse>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let slot = state.chain_of(&wallet)?;
    let key = slot.chain.parse_key(&key).map_err(|r| field_refusal("key", r))?;
    Ok(Json(PreparedResponse::new(slot, sessions::revoke(&state, &wallet, &key).await?)))
}

#[utoipa::path(post, path = "/api/wallets/{address}/sessions/revoke-all", tag = "sessions", params(("address" = crate::openapi::AddressText, Path, description = "The wallet's address.")),
    responses((status = 200, body = PreparedResponse, description = "Typed data revoking every session, to sign and execute."),
        (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn revoke_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(address): Path<String>,
) -> ApiResult<Json<PreparedResponse>> {
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let slot = state.chain_of(&wallet)?;
    Ok(Json(PreparedResponse::new(slot, sessions::revoke_all(&state, &wallet).await?)))
}
