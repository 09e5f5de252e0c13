//! An organisation's own settings, set with its secret key: the issuer of its end users'
//! tokens (`/api/organization/token-issuer`) and its sponsorship policy
//! (`/api/sponsorship/policy`).

use latchkey_core::codes;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_auth::{JwtConfig, JwtVerifier};
use latchkey_relayer::SponsorshipPolicy;
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

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

/// Where an organisation's end-user tokens come from. A token must carry exactly this
/// `iss` and name this `aud`; its signing keys are fetched from `jwksUrl`. No two
/// organisations may configure the same issuer and audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TokenIssuer {
    /// `https://…` (or `http://` to a loopback address where the server allows it).
    #[schema(
        example = "https://auth.example.com/.well-known/jwks.json",
        pattern = "^https://([a-z0-9]{1,20}\\.){0,3}[a-z][a-z0-9]{0,20}(/[A-Za-z0-9._~-]{1,20}){0,4}$"
    )]
    jwks_url: String,
    /// The exact `iss` claim.
    #[schema(min_length = 1, max_length = 512)]
    issuer: String,
    /// The `aud` claim tokens must name.
    #[schema(min_length = 1, max_length = 512)]
    audience: String,
}

impl TokenIssuer {
    fn config(&self, allow_loopback_http: bool) -> Result<JwtConfig, ApiError> {
        let invalid = |m: String| ApiError::bad_request(codes::INVALID_TOKEN_ISSUER, m);
        if self.issuer.is_empty() || self.issuer.len() > 512 {
            return Err(invalid("issuer must be 1 to 512 characters".into()));
        }
        if self.audience.is_empty() || self.audience.len() > 512 {
            return Err(invalid("audience must be 1 to 512 characters".into()));
        }
        // The documented alphabet: a JWKS address needs no query, escapes or sub-delimiters.
        if !self.jwks_url.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~:/-".contains(&b)) {
            return Err(invalid(
                "jwksUrl may hold only letters, digits and . _ ~ : / - (no query or escapes)"
                    .into(),
            ));
        }
        let url = Url::parse(&self.jwks_url)
            .map_err(|e| invalid(format!("jwksUrl is not a URL: {e}")))?;
        if url.scheme() != "https" && !allow_loopback_http {
            return Err(invalid("jwksUrl must be https".into()));
        }
        let config = JwtConfig::new(url, self.issuer.clone(), [self.audience.clone()]);
        // The verifier checks the rest (https, or http to loopback only).
        JwtVerifier::new(config.clone()).map_err(|e| invalid(e.to_string()))?;
        Ok(config)
    }

    /// The (issuer, audience) pair, unique across organisations.
    fn unique_key(&self) -> String {
        format!("{}\n{}", self.issuer, self.audience)
    }
}

/// How long a verifier is reused before the organisation's settings are read again.
const ISSUER_CACHE: Duration = Duration::from_secs(5);

/// One verifier per organisation, built from its stored issuer and reused (with its
/// cached JWKS) while the settings are unchanged.
#[derive(Default)]
pub struct IssuerCache {
    by_org: RwLock<HashMap<String, CachedIssuer>>,
}

struct CachedIssuer {
    read_at: Instant,
    json: Option<String>,
    verifier: Option<JwtVerifier>,
}

impl std::fmt::Debug for IssuerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerCache").finish_non_exhaustive()
    }
}

impl IssuerCache {
    /// The verifier of `org_id`'s end-user tokens, or `None` when it has no issuer.
    pub(crate) async fn verifier(
        &self,
        state: &AppState,
        org_id: &str,
    ) -> Result<Option<JwtVerifier>, ApiError> {
        if let Ok(cache) = self.by_org.read() {
            if let Some(cached) = cache.get(org_id) {
                if cached.read_at.elapsed() < ISSUER_CACHE {
                    return Ok(cached.verifier.clone());
                }
            }
        }
        let json = state.store.organization(org_id).await?.and_then(|o| o.token_issuer_json);
        let reuse = self.by_org.read().ok().and_then(|cache| {
            cache.get(org_id).filter(|c| c.json == json).map(|c| c.verifier.clone())
        });
        let verifier = match reuse {
            Some(verifier) => verifier,
            None => match &json {
                None => None,
                Some(text) => {
                    let issuer: TokenIssuer =
                        serde_json::from_str(text).map_err(ApiError::internal)?;
                    let config = issuer.config(state.config.allow_loopback_issuers)?;
                    Some(JwtVerifier::new(config).map_err(ApiError::internal)?)
                }
            },
        };
        if let Ok(mut cache) = self.by_org.write() {
            cache.insert(
                org_id.to_string(),
                CachedIssuer { read_at: Instant::now(), json, verifier: verifier.clone() },
            );
        }
        Ok(verifier)
    }

    fn forget(&self, org_id: &str) {
        if let Ok(mut cache) = self.by_org.write() {
            cache.remove(org_id);
        }
    }
}

/// Sets an organisation's issuer directly (the server's startup flags configure the
/// development organisation this way).
pub async fn set_token_issuer(
    state: &AppState,
    org_id: &str,
    jwks_url: &str,
    issuer: &str,
    audience: &str,
) -> Result<(), ApiError> {
    let issuer = TokenIssuer {
        jwks_url: jwks_url.to_string(),
        issuer: issuer.to_string(),
        audience: audience.to_string(),
    };
    store_issuer(state, org_id, Some(&issuer)).await
}

async fn store_issuer(
    state: &AppState,
    org_id: &str,
    issuer: Option<&TokenIssuer>,
) -> Result<(), ApiError> {
    let stored = match issuer {
        Some(issuer) => {
            issuer.config(state.config.allow_loopback_issuers)?;
            Some((serde_json::to_string(issuer).map_err(ApiError::internal)?, issuer.unique_key()))
        }
        None => None,
    };
    let pair = stored.as_ref().map(|(json, key)| (json.as_str(), key.as_str()));
    state.store.set_token_issuer(org_id, pair).await.map_err(|e| {
        if e.is_conflict_on(latchkey_store::constraints::ORG_TOKEN_ISSUER) {
            ApiError::new(
                StatusCode::CONFLICT,
                codes::TOKEN_ISSUER_IN_USE,
                "another organisation uses this issuer and audience; give this organisation an audience of its own",
            )
        } else {
            e.into()
        }
    })?;
    state.issuers.forget(org_id);
    Ok(())
}

#[utoipa::path(get, path = "/api/organization/token-issuer", tag = "organization",
    responses((status = 200, body = Option<TokenIssuer>, description = "The issuer, or `null` when none is configured (end-user tokens are then refused)."),
        (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn get_token_issuer(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Option<TokenIssuer>>> {
    caller.require_organization()?;
    let org = state
        .store
        .organization(&caller.org_id)
        .await?
        .ok_or_else(|| ApiError::internal("organisation of a valid key is missing"))?;
    let issuer = match org.token_issuer_json {
        Some(json) => Some(serde_json::from_str(&json).map_err(ApiError::internal)?),
        None => None,
    };
    Ok(Json(issuer))
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
    store_issuer(&state, &caller.org_id, Some(&issuer)).await?;
    Ok(Json(issuer))
}

#[utoipa::path(delete, path = "/api/organization/token-issuer", tag = "organization",
    responses((status = 204, description = "Removed (or there was none)."), (status = 403, body = crate::error::ErrorBody, description = "End users may not (`FORBIDDEN`): this route needs the organisation's secret key.")))]
pub(crate) async fn delete_token_issuer(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.require_organization()?;
    store_issuer(&state, &caller.org_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An organisation's sponsorship policy. Amounts are FRI as decimal strings; a limit left
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
    let policy = state.relayer.policy(&caller.org_id).await?;
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
    let stored = serde_json::to_string(&policy).map_err(ApiError::internal)?;
    state.store.set_sponsorship_policy(&caller.org_id, Some(&stored)).await?;
    state.relayer.forget_policy(&caller.org_id);
    Ok(Json(serde_json::to_value(&policy).map_err(ApiError::internal)?))
}
