//! The native dialect: preparing and executing signed payloads.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use latchkey_chain::Calls;
use latchkey_core::codes;
use latchkey_core::{selector, Call, Felt, TypedData};
use latchkey_relayer::{Prepared, Purpose};
use latchkey_store::Wallet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::error::ErrorBody;
use crate::service::{accessible_wallet, execute_signed, wallet_ref};
use crate::util::{felt, parse_json, signature_words, ApiQuery, RawBody};
use crate::{idempotency, ApiError, ApiResult, AppState, Caller};

use super::wallets::path_address;

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
    pub(super) request_id: String,
    /// SNIP-12 revision 1 typed data of a SNIP-9 v2 outside execution.
    #[schema(value_type = Object)]
    typed_data: Value,
    /// Its message hash for this wallet.
    message_hash: String,
    /// Unix time after which it can no longer execute.
    expires_at: u64,
}

pub(super) async fn prepared_response(
    state: &AppState,
    wallet: &Wallet,
    calls: Calls,
    purpose: Purpose,
) -> ApiResult<PreparedResponse> {
    Ok(state.relayer.prepare(&wallet_ref(wallet)?, calls, purpose).await?.into())
}

impl From<Prepared> for PreparedResponse {
    fn from(prepared: Prepared) -> Self {
        let signable = prepared.signable;
        Self {
            request_id: prepared.request_id,
            typed_data: signable.payload,
            message_hash: signable.hash,
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
        let submitted =
            execute_signed(&state, &caller, &wallet, &req.typed_data, &signature, key.as_deref())
                .await?;
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
