//! The native dialect: preparing and executing signed payloads.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use latchkey_chain::{Calls, EvmCall, Family, Method, Refusal, Signing};
use latchkey_core::codes;
use latchkey_core::{parse_u256, selector, Call, Felt, TypedData, U256};
use latchkey_relayer::{Prepared, Purpose};
use latchkey_store::Wallet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::error::ErrorBody;
use crate::service::{execute_signed, wallet_at, wallet_ref};
use crate::util::{felt, parse_json, signature_words, ApiQuery, RawBody};
use crate::{idempotency, ApiError, ApiResult, AppState, Caller, ChainSlot};

/// One call. On Starknet: the target, an entrypoint name or a selector, and calldata
/// felts. On EVM: the target, `data` (the calldata, hex) and optionally `value` (wei).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CallInput {
    #[schema(value_type = crate::openapi::AddressText)]
    to: String,
    /// Starknet: the entrypoint's name (1 to 256 bytes); or give `selector`.
    #[schema(min_length = 1, max_length = 256)]
    entrypoint: Option<String>,
    /// Starknet: the entrypoint's selector; or give `entrypoint`.
    #[schema(value_type = Option<crate::openapi::FeltText>)]
    selector: Option<String>,
    /// Starknet: the calldata.
    #[schema(value_type = Vec<crate::openapi::FeltText>)]
    #[serde(default)]
    calldata: Vec<String>,
    /// EVM: the calldata, `0x` hex (a 4-byte selector and its ABI-encoded arguments).
    #[schema(pattern = "^0x([0-9a-fA-F]{2})*$")]
    data: Option<String>,
    /// EVM: wei sent with the call, decimal or `0x` hex (default 0).
    #[schema(pattern = "^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$")]
    value: Option<String>,
}

/// The selector of a method named by `entrypoint` or given as `selector` (exactly one),
/// in the chain's canonical text.
pub(super) fn method_selector(
    slot: &ChainSlot,
    field: &str,
    entrypoint: Option<&str>,
    sel: Option<&str>,
) -> ApiResult<String> {
    let method = match (entrypoint, sel) {
        (Some(name), None) if !name.is_empty() && name.len() <= 256 => Method::Name(name),
        (None, Some(sel)) => Method::Selector(sel),
        _ => {
            return Err(ApiError::bad_request(
                codes::INVALID_REQUEST,
                format!("{field}: give exactly one of entrypoint or selector"),
            ))
        }
    };
    slot.chain.selector(method).map_err(|r| field_refusal(field, r))
}

/// A refusal of the chain about a request field, as a `400` naming the field.
pub(super) fn field_refusal(field: &str, refusal: Refusal) -> ApiError {
    ApiError::bad_request(refusal.code, format!("{field}: {}", refusal.message))
}

impl CallInput {
    fn starknet(&self, i: usize) -> ApiResult<Call> {
        if self.data.is_some() || self.value.is_some() {
            return Err(ApiError::bad_request(
                codes::INVALID_REQUEST,
                format!("calls[{i}]: data and value are EVM fields; give entrypoint and calldata"),
            ));
        }
        let sel = entry_selector(
            &format!("calls[{i}]"),
            self.entrypoint.as_deref(),
            self.selector.as_deref(),
        )?;
        Ok(Call {
            to: felt(&format!("calls[{i}].to"), &self.to)?,
            selector: sel,
            calldata: self
                .calldata
                .iter()
                .map(|c| felt(&format!("calls[{i}].calldata"), c))
                .collect::<Result<_, _>>()?,
        })
    }

    fn evm(&self, slot: &ChainSlot, i: usize) -> ApiResult<EvmCall> {
        if self.entrypoint.is_some() || self.selector.is_some() || !self.calldata.is_empty() {
            return Err(ApiError::bad_request(
                codes::INVALID_REQUEST,
                format!("calls[{i}]: on EVM a call is to, data and value"),
            ));
        }
        let to = slot
            .chain
            .parse_address(&self.to)
            .map_err(|r| field_refusal(&format!("calls[{i}].to"), r))?;
        let data = self.data.as_deref().unwrap_or("0x");
        let data =
            data.strip_prefix("0x").and_then(|hex| hex::decode(hex).ok()).ok_or_else(|| {
                ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    format!("calls[{i}].data must be 0x and hex bytes"),
                )
            })?;
        let value = match &self.value {
            None => U256::ZERO,
            Some(text) => parse_u256(&Value::String(text.clone())).ok_or_else(|| {
                ApiError::bad_request(
                    codes::INVALID_AMOUNT,
                    format!("calls[{i}].value must be a u256"),
                )
            })?,
        };
        Ok(EvmCall { to, value, data })
    }
}

/// Calls in the form of `slot`'s family.
pub(super) fn calls_for(slot: &ChainSlot, calls: &[CallInput]) -> ApiResult<Calls> {
    Ok(match slot.chain.id().family() {
        Family::Starknet => Calls::Starknet(
            calls.iter().enumerate().map(|(i, c)| c.starknet(i)).collect::<Result<_, _>>()?,
        ),
        Family::Evm => Calls::Evm(
            calls.iter().enumerate().map(|(i, c)| c.evm(slot, i)).collect::<Result<_, _>>()?,
        ),
    })
}

/// The Starknet selector of a method named by `entrypoint` or given as `selector`.
pub(super) fn entry_selector(
    field: &str,
    entrypoint: Option<&str>,
    sel: Option<&str>,
) -> ApiResult<Felt> {
    match (entrypoint, sel) {
        (Some(name), None) if !name.is_empty() && name.len() <= 256 => Ok(selector(name)),
        (None, Some(sel)) => felt(field, sel),
        _ => Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            format!("{field}: give exactly one of entrypoint or selector"),
        )),
    }
}

/// Calls to prepare for signing.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PrepareRequest {
    calls: Vec<CallInput>,
    /// The session key that will sign (its public key, or its address on EVM); the owner
    /// when absent. On EVM a session signs its own nonce and call form, so say it here;
    /// on Starknet the payload is the same for both.
    session_key: Option<String>,
}

/// A payload to sign, then submit to `execute`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreparedResponse {
    pub(super) request_id: String,
    /// Starknet: SNIP-12 revision 1 typed data of a SNIP-9 v2 outside execution.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    typed_data: Option<Value>,
    /// Starknet: its message hash for this wallet.
    #[serde(skip_serializing_if = "Option::is_none")]
    message_hash: Option<String>,
    /// EVM: `{chainId, entryPoint, userOperation}`, the ERC-4337 v0.8 user operation
    /// (sponsored by latchkey's paymaster) and where it runs.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
    /// EVM: its `userOpHash`, which the owner or session key signs.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_op_hash: Option<String>,
    /// Unix time after which it can no longer execute.
    expires_at: u64,
}

pub(super) async fn prepared_response(
    state: &AppState,
    wallet: &Wallet,
    calls: Calls,
    purpose: Purpose,
    signing: &Signing,
) -> ApiResult<PreparedResponse> {
    let slot = state.chain_of(wallet)?;
    let prepared = slot.relayer.prepare(&wallet_ref(wallet)?, calls, purpose, signing).await?;
    Ok(PreparedResponse::new(slot, prepared))
}

impl PreparedResponse {
    /// The answer for a payload prepared on `slot`'s chain.
    pub(crate) fn new(slot: &ChainSlot, prepared: Prepared) -> Self {
        let signable = prepared.signable;
        let starknet = slot.chain.id().family() == Family::Starknet;
        let (typed_data, message_hash, payload, user_op_hash) = if starknet {
            (Some(signable.payload), Some(signable.hash), None, None)
        } else {
            (None, None, Some(signable.payload), Some(signable.hash))
        };
        Self {
            request_id: prepared.request_id,
            typed_data,
            message_hash,
            payload,
            user_op_hash,
            expires_at: signable.execute_before,
        }
    }
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
    let wallet = wallet_at(&state, &caller, "address", &address).await?;
    let req: PrepareRequest = parse_json(&body)?;
    let slot = state.chain_of(&wallet)?;
    let calls = calls_for(slot, &req.calls)?;
    let signing = match &req.session_key {
        None => Signing::Owner,
        Some(key) => {
            Signing::Session(slot.chain.parse_key(key).map_err(|r| field_refusal("sessionKey", r))?)
        }
    };
    Ok(Json(prepared_response(&state, &wallet, calls, Purpose::User, &signing).await?))
}

/// A signed payload.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExecuteRequest {
    /// Starknet: the typed data from `prepare`.
    #[schema(value_type = Option<crate::openapi::TypedDataSchema>)]
    typed_data: Option<TypedData>,
    /// EVM: the payload from `prepare`.
    #[schema(value_type = Option<Object>)]
    payload: Option<Value>,
    /// Starknet: owner `[r, s]` or session `[sessionPublicKey, r, s, validUntil]`, hex.
    /// EVM: one `0x` string, the account's 66 bytes `kind ‖ r ‖ s ‖ v`.
    #[schema(max_items = 8)]
    signature: Vec<String>,
}

impl ExecuteRequest {
    /// The payload and signature, in the form of `slot`'s family.
    fn signed(self, slot: &ChainSlot) -> ApiResult<(Value, Vec<String>)> {
        match (slot.chain.id().family(), self.typed_data, self.payload) {
            (Family::Starknet, Some(typed_data), None) => Ok((
                serde_json::to_value(typed_data).map_err(ApiError::internal)?,
                signature_words(&self.signature)?,
            )),
            (Family::Evm, None, Some(payload)) => {
                if self.signature.len() > 8 || self.signature.iter().any(|w| w.len() > 200) {
                    return Err(ApiError::bad_request(
                        codes::INVALID_SIGNATURE,
                        "signature: one 0x string of 66 bytes",
                    ));
                }
                Ok((payload, self.signature))
            }
            (Family::Starknet, ..) => Err(ApiError::bad_request(
                codes::INVALID_REQUEST,
                "a Starknet wallet executes typedData (and no payload)",
            )),
            (Family::Evm, ..) => Err(ApiError::bad_request(
                codes::INVALID_REQUEST,
                "an EVM wallet executes a payload (and no typedData)",
            )),
        }
    }
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
        let wallet = wallet_at(&state, &caller, "address", &address).await?;
        let req: ExecuteRequest = parse_json(&body)?;
        let slot = state.chain_of(&wallet)?;
        let (payload, signature) = req.signed(slot)?;
        let submitted =
            execute_signed(&state, &caller, &wallet, &payload, &signature, key.as_deref()).await?;
        let request = if options.wait {
            Some(slot.relayer.wait_final(&submitted.request_id, EXECUTE_WAIT).await?)
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
