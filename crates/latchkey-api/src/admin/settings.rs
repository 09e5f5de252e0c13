//! The operator's view of any organisation's settings
//! (`/api/admin/organizations/{id}/…`): its allowed browser origins, the issuer of its end
//! users' tokens, its registered tokens, and its sponsorship policy with its quotas. The
//! same documents, checks and stores as the organisation's own routes
//! (`dialect::native::settings`, through `service::organizations`), and every change is
//! written with its audit record (the setting before and after) in one transaction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::{organization, Operator};
use crate::dialect::native::settings::{AllowedOrigins, Tokens};
use crate::service::organizations::{self, TokenIssuer};
use crate::util::{parse_json, RawBody};
use crate::{ApiError, ApiResult, AppState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/admin/organizations/{id}/allowed-origins",
            get(get_allowed_origins).put(put_allowed_origins),
        )
        .route(
            "/api/admin/organizations/{id}/token-issuer",
            get(get_token_issuer).put(put_token_issuer).delete(delete_token_issuer),
        )
        .route("/api/admin/organizations/{id}/tokens", get(get_tokens).put(put_tokens))
        .route(
            "/api/admin/organizations/{id}/sponsorship-policy",
            get(get_sponsorship_policy).put(put_sponsorship_policy),
        )
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/allowed-origins", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 200, body = AllowedOrigins, description = "The browser origins allowed to call with its keys."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn get_allowed_origins(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<AllowedOrigins>> {
    organization(&state, &id).await?;
    Ok(Json(AllowedOrigins { origins: state.store.allowed_origins(&id).await? }))
}

#[utoipa::path(put, path = "/api/admin/organizations/{id}/allowed-origins", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = AllowedOrigins, content_type = "application/json"),
    responses((status = 200, body = AllowedOrigins, description = "Stored, normalised; replaces the previous list (and recorded in the audit log as `allowed_origins.set`)."),
        (status = 400, body = crate::error::ErrorBody, description = "An origin is malformed, or there are more than 100 (`INVALID_ORIGIN`)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn put_allowed_origins(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<AllowedOrigins>> {
    organization(&state, &id).await?;
    let AllowedOrigins { origins } = parse_json(&body)?;
    let entry = operator.entry("allowed_origins.set");
    let origins = organizations::set_allowed_origins(&state, &id, &origins, Some(&entry)).await?;
    Ok(Json(AllowedOrigins { origins }))
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/token-issuer", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 200, body = Option<TokenIssuer>, description = "The issuer of its end users' tokens, or `null` when none is configured."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn get_token_issuer(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<Option<TokenIssuer>>> {
    organization(&state, &id).await?;
    Ok(Json(organizations::token_issuer(&state, &id).await?))
}

#[utoipa::path(put, path = "/api/admin/organizations/{id}/token-issuer", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = TokenIssuer, content_type = "application/json"),
    responses((status = 200, body = TokenIssuer, description = "Stored (and recorded in the audit log as `token_issuer.set`)."),
        (status = 400, body = crate::error::ErrorBody, description = "A malformed issuer, audience or JWKS address (`INVALID_TOKEN_ISSUER`)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`)."),
        (status = 409, body = crate::error::ErrorBody, description = "Another organisation uses this issuer and audience (`TOKEN_ISSUER_IN_USE`).")))]
pub(crate) async fn put_token_issuer(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<TokenIssuer>> {
    organization(&state, &id).await?;
    let issuer: TokenIssuer = parse_json(&body)?;
    let entry = operator.entry("token_issuer.set");
    organizations::set_issuer(&state, &id, Some(&issuer), Some(&entry)).await?;
    Ok(Json(issuer))
}

#[utoipa::path(delete, path = "/api/admin/organizations/{id}/token-issuer", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 204, description = "Removed, or there was none (recorded in the audit log as `token_issuer.remove`); its end users' tokens are refused from now on."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn delete_token_issuer(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    organization(&state, &id).await?;
    let entry = operator.entry("token_issuer.remove");
    organizations::set_issuer(&state, &id, None, Some(&entry)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/tokens", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 200, body = Tokens, description = "The tokens it registered by symbol."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn get_tokens(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<Tokens>> {
    organization(&state, &id).await?;
    let stored = state.store.org_tokens(&id).await?;
    Ok(Json(Tokens { tokens: stored.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(put, path = "/api/admin/organizations/{id}/tokens", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = Tokens, content_type = "application/json"),
    responses((status = 200, body = Tokens, description = "Stored, addresses normalised; replaces the previous list (and recorded in the audit log as `tokens.set`)."),
        (status = 400, body = crate::error::ErrorBody, description = "A chain that is not served (`UNKNOWN_CHAIN`), a malformed symbol, decimals or address, a symbol twice on one chain, or more than 100 (`INVALID_REQUEST`, or the chain's address code)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn put_tokens(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<Tokens>> {
    organization(&state, &id).await?;
    let Tokens { tokens: asked } = parse_json(&body)?;
    let entry = operator.entry("tokens.set");
    let stored = organizations::set_tokens(&state, &id, asked, Some(&entry)).await?;
    Ok(Json(Tokens { tokens: stored.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/sponsorship-policy", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    responses((status = 200, body = crate::dialect::native::settings::PolicyDocument, description = "Its sponsorship policy and quotas (the default when none is set)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn get_sponsorship_policy(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    organization(&state, &id).await?;
    let policy = organizations::policy(&state, &id).await?;
    Ok(Json(serde_json::to_value(&policy).map_err(ApiError::internal)?))
}

#[utoipa::path(put, path = "/api/admin/organizations/{id}/sponsorship-policy", tag = "admin",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The organisation's id.")),
    request_body(content = crate::dialect::native::settings::PolicyDocument, content_type = "application/json"),
    responses((status = 200, body = crate::dialect::native::settings::PolicyDocument, description = "Stored, replacing the previous policy (and recorded in the audit log as `sponsorship_policy.set`); every chain's relayer applies it from the next request."),
        (status = 400, body = crate::error::ErrorBody, description = "Not a sponsorship policy (`INVALID_SPONSORSHIP_POLICY`)."),
        (status = 403, body = crate::error::ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = crate::error::ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn put_sponsorship_policy(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Json<serde_json::Value>> {
    organization(&state, &id).await?;
    let policy = organizations::parse_policy(&body)?;
    let entry = operator.entry("sponsorship_policy.set");
    organizations::set_policy(&state, &id, &policy, Some(&entry)).await?;
    Ok(Json(serde_json::to_value(&policy).map_err(ApiError::internal)?))
}
