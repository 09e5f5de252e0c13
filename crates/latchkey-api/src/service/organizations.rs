//! An organisation's settings, the same for every dialect and for the operator's admin
//! API: the issuer of its end users' tokens (checked, unique across organisations, its
//! verifier cached), its sponsorship policy (checked, stored, and the relayer's cached copy
//! dropped), its allowed browser origins and its registered tokens (checked and
//! normalised). Each setter takes the audit record to write with the change, when the
//! operator makes it.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use latchkey_auth::{JwtConfig, JwtVerifier};
use latchkey_core::codes;
use latchkey_relayer::SponsorshipPolicy;
use latchkey_store::{AuditEntry, OrgToken};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use crate::service::tokens::{self, TokenDocument};
use crate::util::felt_json;
use crate::{ApiError, ApiResult, AppState};

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

    pub(crate) fn forget(&self, org_id: &str) {
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
    set_issuer(state, org_id, Some(&issuer), None).await
}

/// Checks and sets (or with `None` removes) an organisation's token issuer, with `audit`
/// written in the same transaction when given.
pub(crate) async fn set_issuer(
    state: &AppState,
    org_id: &str,
    issuer: Option<&TokenIssuer>,
    audit: Option<&AuditEntry<'_>>,
) -> Result<(), ApiError> {
    let stored = match issuer {
        Some(issuer) => {
            issuer.config(state.config.allow_loopback_issuers)?;
            Some((serde_json::to_string(issuer).map_err(ApiError::internal)?, issuer.unique_key()))
        }
        None => None,
    };
    let pair = stored.as_ref().map(|(json, key)| (json.as_str(), key.as_str()));
    state.store.set_token_issuer(org_id, pair, audit).await.map_err(|e| {
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

/// The organisation's token issuer, if it has one.
pub(crate) async fn token_issuer(state: &AppState, org_id: &str) -> ApiResult<Option<TokenIssuer>> {
    let org = state
        .store
        .organization(org_id)
        .await?
        .ok_or_else(|| ApiError::internal("organisation of a valid key is missing"))?;
    match org.token_issuer_json {
        Some(json) => Ok(Some(serde_json::from_str(&json).map_err(ApiError::internal)?)),
        None => Ok(None),
    }
}

/// The organisation's sponsorship policy (the default when none is set).
pub(crate) async fn policy(state: &AppState, org_id: &str) -> ApiResult<SponsorshipPolicy> {
    Ok(state.primary().relayer.policy(org_id).await?)
}

/// The policy document with its counts as integers (`3.0` is one), each allowed method's
/// contract and selector checked as the API checks every felt (`util::felt_json`: the
/// documented syntax, no padding spaces) and written as hex; the rest is left to
/// [`SponsorshipPolicy::parse`].
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

/// A sponsorship policy document (a request body), checked: `400
/// INVALID_SPONSORSHIP_POLICY` (or `INVALID_BODY`) when it is not one.
pub(crate) fn parse_policy(body: &[u8]) -> ApiResult<SponsorshipPolicy> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request(codes::INVALID_BODY, "the body must be UTF-8 JSON"))?;
    let text = canonical_policy_methods(text)?;
    SponsorshipPolicy::parse(&text)
        .map_err(|e| ApiError::bad_request(codes::INVALID_SPONSORSHIP_POLICY, e.to_string()))
}

/// Replaces the organisation's sponsorship policy (with `audit` written in the same
/// transaction when given); every chain's relayer reads it again.
pub(crate) async fn set_policy(
    state: &AppState,
    org_id: &str,
    policy: &SponsorshipPolicy,
    audit: Option<&AuditEntry<'_>>,
) -> ApiResult<()> {
    let stored = serde_json::to_string(policy).map_err(ApiError::internal)?;
    state.store.set_sponsorship_policy(org_id, Some(&stored), audit).await?;
    for slot in state.chains() {
        slot.relayer.forget_policy(org_id);
    }
    Ok(())
}

/// Checks and normalises allowed browser origins (at most
/// [`MAX_ORIGINS`](crate::cors::MAX_ORIGINS), each `scheme://host[:port]`), sorted and
/// without repeats; `400 INVALID_ORIGIN` otherwise.
fn check_origins(origins: &[String]) -> ApiResult<Vec<String>> {
    if origins.len() > crate::cors::MAX_ORIGINS {
        return Err(ApiError::bad_request(
            codes::INVALID_ORIGIN,
            format!("at most {} origins", crate::cors::MAX_ORIGINS),
        ));
    }
    let mut normalised = origins
        .iter()
        .map(|origin| crate::cors::normalize_origin(origin))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| ApiError::bad_request(codes::INVALID_ORIGIN, reason))?;
    normalised.sort();
    normalised.dedup();
    Ok(normalised)
}

/// Checks `origins` and makes them the organisation's allowed browser origins (with
/// `audit` written in the same transaction when given); returns them as stored.
pub(crate) async fn set_allowed_origins(
    state: &AppState,
    org_id: &str,
    origins: &[String],
    audit: Option<&AuditEntry<'_>>,
) -> ApiResult<Vec<String>> {
    let normalised = check_origins(origins)?;
    state.store.set_allowed_origins(org_id, &normalised, audit).await?;
    Ok(normalised)
}

/// Checks `asked` (served chains, well-formed symbols and addresses, a symbol once per
/// chain) and makes them the organisation's registered tokens (with `audit` written in the
/// same transaction when given); returns them as stored.
pub(crate) async fn set_tokens(
    state: &AppState,
    org_id: &str,
    asked: Vec<TokenDocument>,
    audit: Option<&AuditEntry<'_>>,
) -> ApiResult<Vec<OrgToken>> {
    let checked = tokens::check_tokens(state, asked)?;
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) =
        checked.iter().find(|t| !seen.insert((t.chain.as_str(), t.symbol.as_str())))
    {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            format!("{} is named twice on {}", twice.symbol, twice.chain),
        ));
    }
    state.store.set_org_tokens(org_id, &checked, audit).await?;
    Ok(checked)
}
