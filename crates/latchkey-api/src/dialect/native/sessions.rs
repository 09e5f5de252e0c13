//! The native dialect: sessions, their registration, status and revocation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use latchkey_chain::{AccountChange, SessionGrant, SpendingCap};
use latchkey_core::codes;
use latchkey_core::{parse_u256, to_hex, AllowedMethod, Felt, SessionPolicy, U256};
use latchkey_relayer::Purpose;
use latchkey_store::{NewSession, SessionState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::service::accessible_wallet;
use crate::util::{felt, parse_json, RawBody};
use crate::{ApiError, ApiResult, AppState, Caller};

use super::executions::{entry_selector, prepared_response, PreparedResponse};
use super::wallets::path_address;

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
