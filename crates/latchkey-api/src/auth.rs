//! Who is calling: `x-api-key` names the organisation; `Authorization: Bearer` carries
//! either the organisation's secret key or an end user's JWT. End-user tokens are verified
//! against the issuer *this* organisation configured (its JWKS URL, `iss` and `aud`), and
//! no two organisations may configure the same (issuer, audience): a token valid for one
//! organisation is refused with another's public key (R2-05). An organisation reaches only
//! its own data, an end user only the wallets whose external user id is its JWT subject
//! (J8); anything else answers 404, so existence does not leak. Every authenticated request
//! counts against the rate limits of its API key and, for end users, of the user.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use latchkey_auth::{hash_api_key, is_valid_public_key, is_valid_secret_key};
use latchkey_core::codes;
use latchkey_store::{ApiKeyKind, Wallet};

use crate::{ApiError, AppState};

/// Who is behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The organisation itself (its secret key).
    Organization,
    /// One of its end users (a verified JWT).
    User {
        /// The JWT subject, matched against wallets' external user ids.
        subject: String,
    },
}

impl Principal {
    /// The principal as stored with idempotency keys, challenges and custody events:
    /// `organization` or `user:<subject>`.
    pub fn key(&self) -> String {
        match self {
            Self::Organization => "organization".into(),
            Self::User { subject } => format!("user:{subject}"),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The organisation.
    pub org_id: String,
    /// The public API key it presented (echoed in Chipi wallet responses).
    pub api_public_key: String,
    /// Organisation or end user.
    pub principal: Principal,
}

impl Caller {
    /// Whether this caller may see and act on `wallet`.
    pub fn can_access(&self, wallet: &Wallet) -> bool {
        wallet.org_id == self.org_id
            && match &self.principal {
                Principal::Organization => true,
                Principal::User { subject } => {
                    wallet.external_user_id.as_deref() == Some(subject.as_str())
                }
            }
    }

    /// Whether `wallet` belongs to this caller as its end user (not merely reachable by
    /// the organisation).
    pub fn is_end_user_of(&self, wallet: &Wallet) -> bool {
        matches!(&self.principal, Principal::User { .. }) && self.can_access(wallet)
    }

    /// The JWT subject, when an end user calls.
    pub fn subject(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { subject } => Some(subject),
            Principal::Organization => None,
        }
    }

    /// Refuses end users (for organisation-level routes).
    pub fn require_organization(&self) -> Result<(), ApiError> {
        match self.principal {
            Principal::Organization => Ok(()),
            Principal::User { .. } => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                codes::FORBIDDEN,
                "this route needs the organisation's secret key",
            )),
        }
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The credential of `Authorization: Bearer …` (either case of the scheme), if there is
/// a non-empty one.
pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    header(parts, "authorization")
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let store = &state.store;
        let pepper = state.config.api_key_pepper.as_deref();
        let public = header(parts, "x-api-key").filter(|k| !k.is_empty()).ok_or_else(|| {
            ApiError::unauthorized(codes::MISSING_API_KEY, "x-api-key header is required")
        })?;
        if !is_valid_public_key(public) {
            return Err(ApiError::unauthorized(codes::INVALID_API_KEY, "invalid API key"));
        }
        // The key and its organisation's suspension, in one read.
        let (key, suspended_at) = store
            .find_api_key_and_suspension(&hash_api_key(public, pepper))
            .await?
            .filter(|(k, _)| k.kind == ApiKeyKind::Public)
            .ok_or_else(|| ApiError::unauthorized(codes::INVALID_API_KEY, "invalid API key"))?;
        state.limits.check_api_key(&key.id)?;
        if suspended_at.is_some() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                codes::ORGANIZATION_SUSPENDED,
                "this organisation is suspended by the operator",
            ));
        }
        if let Some(origin) = parts.extensions.get::<crate::cors::CrossOrigin>() {
            crate::cors::check_origin(state, origin, &key.org_id).await?;
        }

        let bearer = bearer_token(parts).ok_or_else(|| {
            ApiError::unauthorized(
                codes::MISSING_BEARER_TOKEN,
                "Authorization: Bearer <secret key or user token> is required",
            )
        })?;
        let principal = if bearer.starts_with("sk_") {
            if !is_valid_secret_key(bearer) {
                return Err(ApiError::unauthorized(codes::INVALID_API_KEY, "invalid secret key"));
            }
            let secret = store
                .find_api_key(&hash_api_key(bearer, pepper))
                .await?
                .filter(|k| k.kind == ApiKeyKind::Secret && k.org_id == key.org_id)
                .ok_or_else(|| {
                    ApiError::unauthorized(codes::INVALID_API_KEY, "invalid secret key")
                })?;
            drop(secret);
            Principal::Organization
        } else {
            let verifier = state.issuers.verifier(state, &key.org_id).await?.ok_or_else(|| {
                ApiError::unauthorized(
                    codes::INVALID_TOKEN,
                    "this organisation has no end-user token issuer configured",
                )
            })?;
            let user = verifier
                .verify(bearer)
                .await
                .map_err(|e| ApiError::unauthorized(e.code(), "invalid or expired token"))?;
            state.limits.check_user(&key.org_id, &user.subject)?;
            Principal::User { subject: user.subject }
        };
        Ok(Caller { org_id: key.org_id, api_public_key: public.to_string(), principal })
    }
}
