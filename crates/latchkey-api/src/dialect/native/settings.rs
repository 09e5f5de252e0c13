//! The native dialect: an organisation's own settings, set with its secret key: the issuer
//! of its end users' tokens (`/api/organization/token-issuer`) and its sponsorship policy
//! (`/api/sponsorship/policy`), and the browser origins allowed to use its keys
//! (`/api/organization/allowed-origins`). The operator reads and changes the same settings
//! of any organisation through the admin API (`admin::settings`); both go through
//! `service::organizations`, which checks them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::organizations::{self, TokenIssuer};
use crate::service::tokens;
use crate::util::{parse_json, RawBody};
use crate::{ApiError, ApiResult, AppState, Caller};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/organization/token-issuer",
            get(get_token_issuer).put(put_token_issuer).delete(delete_token_issuer),
        )
        .route("/api/sponsorship/policy", get(get_policy).put(put_policy))
        .route("/api/organization/allowed-origins", get(get_origins).put(put_origins))
        .route("/api/organization/tokens", get(get_tokens).put(put_tokens))
}

/// The tokens an organisation names by symbol (for balances by symbol, such as the Chipi
/// API's `token-balance`), beside each chain's own.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Tokens {
    /// At most 100; a symbol once per chain.
    #[schema(max_items = 100)]
    pub(crate) tokens: Vec<tokens::TokenDocument>,
}

#[utoipa::path(get, path = "/api/organization/tokens", tag = "organization",
    responses((status = 200, body = Tokens, description = "The organisation's registered tokens."),
        (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn get_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Tokens>> {
    caller.require_organization()?;
    let stored = state.store.org_tokens(&caller.org_id).await?;
    let tokens = stored.into_iter().map(Into::into).collect();
    Ok(Json(Tokens { tokens }))
}

#[utoipa::path(put, path = "/api/organization/tokens", tag = "organization",
    request_body(content = Tokens, content_type = "application/json"),
    responses((status = 200, body = Tokens, description = "Stored, addresses normalised; replaces the previous list."),
        (status = 400, body = crate::error::ErrorBody, description = "A chain that is not served (`UNKNOWN_CHAIN`), a malformed symbol, decimals or address, a symbol twice on one chain, or more than 100 (`INVALID_REQUEST`)."),
        (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn put_tokens(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<Tokens>> {
    caller.require_organization()?;
    let Tokens { tokens: asked } = parse_json(&body)?;
    let stored = organizations::set_tokens(&state, &caller.org_id, asked, None).await?;
    Ok(Json(Tokens { tokens: stored.into_iter().map(Into::into).collect() }))
}

/// The browser origins allowed to call the API with an organisation's keys: exact
/// origins, `scheme://host[:port]` (stored as browsers send them: lower case, no default
/// port). None by default.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AllowedOrigins {
    /// For example `https://app.example` or `http://localhost:3000`; at most 100.
    #[schema(max_items = 100, example = json!(["https://app.example"]))]
    pub(crate) origins: Vec<String>,
}

#[utoipa::path(get, path = "/api/organization/allowed-origins", tag = "organization",
    responses((status = 200, body = AllowedOrigins, description = "The organisation's allowed browser origins."),
        (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn get_origins(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<AllowedOrigins>> {
    caller.require_organization()?;
    Ok(Json(AllowedOrigins { origins: state.store.allowed_origins(&caller.org_id).await? }))
}

#[utoipa::path(put, path = "/api/organization/allowed-origins", tag = "organization",
    request_body(content = AllowedOrigins, content_type = "application/json"),
    responses((status = 200, body = AllowedOrigins, description = "Stored, normalised; replaces the previous list."),
        (status = 400, body = crate::error::ErrorBody, description = "An origin is malformed (`INVALID_ORIGIN`), or there are more than 100."),
        (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn put_origins(
    State(state): State<AppState>,
    caller: Caller,
    RawBody(body): RawBody,
) -> ApiResult<Json<AllowedOrigins>> {
    caller.require_organization()?;
    let AllowedOrigins { origins } = parse_json(&body)?;
    let origins =
        organizations::set_allowed_origins(&state, &caller.org_id, &origins, None).await?;
    Ok(Json(AllowedOrigins { origins }))
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
    organizations::set_issuer(&state, &caller.org_id, Some(&issuer), None).await?;
    Ok(Json(issuer))
}

#[utoipa::path(delete, path = "/api/organization/token-issuer", tag = "organization",
    responses((status = 204, description = "Removed (or there was none)."), (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn delete_token_issuer(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.require_organization()?;
    organizations::set_issuer(&state, &caller.org_id, None, None).await?;
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
    let policy = organizations::parse_policy(&body)?;
    organizations::set_policy(&state, &caller.org_id, &policy, None).await?;
    Ok(Json(serde_json::to_value(&policy).map_err(ApiError::internal)?))
}
