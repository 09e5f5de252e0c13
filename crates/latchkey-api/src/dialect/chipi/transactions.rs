//! The Chipi dialect: transactions (typed data to sign, sponsored execution, lists and statuses).

use crate::service::{accessible_wallet, execute_signed, sessions, wallet_ref};
use crate::util::{felt, felt_json, in_range, parse_json, ApiQuery, RawBody};
use crate::{idempotency, ApiError, ApiResult, AppState, Caller};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use latchkey_chain::{AccountChange, CallView, Calls, Signing};
use latchkey_core::codes;
use latchkey_core::{selector, to_hex, Call, Felt, TypedData};
use latchkey_relayer::Purpose;
use latchkey_store::Wallet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::*;

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
    let views = state.primary().chain.views(&account, &calls).map_err(ApiError::from_refusal)?;
    let now = state.primary().chain.now().await?;
    state.primary().relayer.check_registrations(&account, &views, now, false).await?;
    let purpose = mirror_session_calls(&state, &wallet, &views).await?;
    let prepared = state
        .primary()
        .relayer
        .prepare(&wallet_ref(&wallet)?, calls, purpose, &Signing::Owner)
        .await?;
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
            sessions::mirror_registration(state, wallet, grant).await?;
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
        let payload = serde_json::to_value(&req.typed_data).map_err(ApiError::internal)?;
        let submitted =
            execute_signed(&state, &caller, &wallet, &payload, &signature, key.as_deref()).await?;
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
    use latchkey_core::{selector, Felt};
    use serde_json::json;

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
