//! The native dialect: an organisation's own settings, set with its secret key: the issuer
//! of its end users' tokens (`/api/organization/token-issuer`) and its sponsorship policy
//! (`/api/sponsorship/policy`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_core::codes;
use latchkey_relayer::SponsorshipPolicy;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::organizations::{self, TokenIssuer};
use crate::util::{felt_json, parse_json, RawBody};
use crate::{ApiError, ApiResult, AppState, Caller};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/organization/token-issuer",
            get(get_token_issuer).put(put_token_issuer).delete(delete_token_issuer),
        )
        .route("/api/sponsorship/policy", get(get_policy).put(put_policy))
}

#[utoipa::path(get, path = "/api/organization/token-issuer", tag = "organization",
    responses((status = 200, body = Option<TokenIssuer>, description = "The issuer, or `null` when none is configured (end-user tokens are then refused)."),
        (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn get_token_issuer(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Option<TokenIssuer>>> {
    caller.require_organization()?;
    Ok(Json(organizations::token_issuer(&state, &caller.org_id).await?))
}

#[utoipa::path(put, path = "/api/organization/token-issuer", tag = "organization",
    request_body(content = TokenIssuer, content_type = "application/json"),
    responses((status = 200, body = TokenIssuer, description = "Stored."), (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key."),
        (status = 409, body = crate::error::ErrorBody, description = "Another organisation uses this issuer and audience (`TOKEN_ISSUER_IN_USE`).")))]
pub(crate) async fn put_token_issuer(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<TokenIssuer>> {
    caller.require_organization()?;
    let issuer: TokenIssuer = parse_json(&body)?;
    organizations::set_issuer(&state, &caller.org_id, Some(&issuer)).await?;
    Ok(Json(issuer))
}

#[utoipa::path(delete, path = "/api/organization/token-issuer", tag = "organization",
    responses((status = 204, description = "Removed (or there was none)."), (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn delete_token_issuer(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.require_organization()?;
    organizations::set_issuer(&state, &caller.org_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An organisation's sponsorship policy. Amounts are decimal strings in each chain's fee
/// unit: the `…Fri` limits apply on Starknet, the `…Wei` ones on EVM chains; a limit left
/// out is no limit.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PolicyDocument {
    /// Sponsored (contract, selector) pairs on contracts other than the wallet; `0x0` =
    /// any contract; empty = every method. Calls to the wallet itself are always sponsored.
    #[schema(value_type = Vec<PolicyMethod>, max_items = 256)]
    #[serde(default)]
    allowed_methods: Vec<latchkey_core::AllowedMethod>,
    /// Largest fee one transaction may reserve (a positive amount below 2^128).
    #[schema(pattern = "^[1-9][0-9]{0,37}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_fee_per_tx_fri: Option<String>,
    /// Most sponsored gas per wallet per UTC day (a positive amount below 2^128).
    #[schema(pattern = "^[1-9][0-9]{0,37}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    daily_gas_per_wallet_fri: Option<String>,
    /// Most sponsored gas per end user per UTC day (a positive amount below 2^128).
    #[schema(pattern = "^[1-9][0-9]{0,37}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    daily_gas_per_user_fri: Option<String>,
    /// EVM chains: largest fee one userOp may reserve, in wei (a positive amount below 2^128).
    #[schema(pattern = "^[1-9][0-9]{0,37}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_fee_per_tx_wei: Option<String>,
    /// EVM chains: most sponsored gas per wallet per UTC day, in wei.
    #[schema(pattern = "^[1-9][0-9]{0,37}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    daily_gas_per_wallet_wei: Option<String>,
    /// EVM chains: most sponsored gas per end user per UTC day on each chain, in wei.
    #[schema(pattern = "^[1-9][0-9]{0,37}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    daily_gas_per_user_wei: Option<String>,
    /// Consecutive reverts that start a wallet's cool-down (0 = never; default 3).
    #[schema(value_type = Option<u64>, nullable = false, minimum = 0, maximum = 4294967295_u64)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revert_cooldown_after: Option<u32>,
    /// Cool-down length in seconds (default 600, at most a week).
    #[schema(nullable = false, minimum = 0, maximum = 604800)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revert_cooldown_seconds: Option<u64>,
}

/// A sponsored method: a contract (`0x0` = any) and an entrypoint selector, each a felt
/// (a string, or a JSON integer).
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of `latchkey_core::AllowedMethod`
pub(crate) struct PolicyMethod {
    #[schema(value_type = crate::openapi::FeltJson)]
    contract: String,
    #[schema(value_type = crate::openapi::FeltJson)]
    selector: String,
}

/// The policy document with its counts as integers (`3.0` is one), each allowed method's
/// contract and selector checked as the API checks every felt (`util::felt_json`: the documented syntax, no padding spaces) and
/// written as hex; the rest is left to [`SponsorshipPolicy::parse`].
fn canonical_policy_methods(text: &str) -> ApiResult<String> {
    let invalid = |m: String| ApiError::bad_request(codes::INVALID_SPONSORSHIP_POLICY, m);
    let mut document: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| invalid(format!("invalid sponsorship policy: {e}")))?;
    // Counts are JSON Schema integers, which `3.0` is too.
    for key in ["revertCooldownAfter", "revertCooldownSeconds"] {
        if let Some(value) = document.get_mut(key) {
            if let Some(whole) = value
                .as_f64()
                .filter(|f| value.is_f64() && *f >= 0.0 && *f < u64::MAX as f64 && f.fract() == 0.0)
            {
                *value = serde_json::Value::from(whole as u64);
            }
        }
    }
    if let Some(methods) = document.get_mut("allowedMethods").and_then(|m| m.as_array_mut()) {
        for (i, method) in methods.iter_mut().enumerate() {
            let Some(method) = method.as_object_mut() else { continue };
            for key in ["contract", "selector"] {
                if let Some(value) = method.get_mut(key) {
                    let felt = felt_json(&format!("allowedMethods[{i}].{key}"), value)
                        .map_err(|e| invalid(e.message))?;
                    *value = serde_json::Value::String(latchkey_core::to_hex(&felt));
                }
            }
        }
    }
    Ok(document.to_string())
}

#[utoipa::path(get, path = "/api/sponsorship/policy", tag = "sponsorship",
    responses((status = 200, body = PolicyDocument), (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require_organization()?;
    let policy = organizations::policy(&state, &caller.org_id).await?;
    Ok(Json(serde_json::to_value(&policy).map_err(ApiError::internal)?))
}

#[utoipa::path(put, path = "/api/sponsorship/policy", tag = "sponsorship",
    request_body(content = PolicyDocument, content_type = "application/json"),
    responses((status = 200, body = PolicyDocument, description = "Stored."), (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require_organization()?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request(codes::INVALID_BODY, "the body must be UTF-8 JSON"))?;
    let text = canonical_policy_methods(text)?;
    let policy = SponsorshipPolicy::parse(&text)
        .map_err(|e| ApiError::bad_request(codes::INVALID_SPONSORSHIP_POLICY, e.to_string()))?;
    organizations::set_policy(&state, &caller.org_id, &policy).await?;
    Ok(Json(serde_json::to_value(&policy).map_err(ApiError::internal)?))
}
