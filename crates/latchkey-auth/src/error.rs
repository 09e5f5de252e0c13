//! The crate's error type and its stable wire codes.

/// Stable error codes, as sent to API clients in the `code` field of an error body.
pub mod codes {
    /// No `x-api-key` header (or an empty one) was sent.
    pub const MISSING_API_KEY: &str = "MISSING_API_KEY";
    /// The API key is malformed or unknown.
    pub const INVALID_API_KEY: &str = "INVALID_API_KEY";
    /// The bearer token is missing, malformed, badly signed or has invalid claims.
    pub const INVALID_TOKEN: &str = "INVALID_TOKEN";
    /// The bearer token is correctly signed but past its `exp` (plus leeway).
    pub const TOKEN_EXPIRED: &str = "TOKEN_EXPIRED";
    /// The issuer's signing keys could not be obtained and none are cached.
    pub const JWKS_UNAVAILABLE: &str = "JWKS_UNAVAILABLE";
    /// The authentication configuration was rejected at start-up.
    pub const AUTH_CONFIG_INVALID: &str = "AUTH_CONFIG_INVALID";
}

/// Why a request could not be authenticated, or why a configuration was refused.
///
/// Messages never contain the token or key that was presented: they are safe to log and
/// to return to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No API key was sent.
    #[error("missing API key")]
    MissingApiKey,
    /// The API key is malformed or unknown.
    #[error("invalid API key")]
    InvalidApiKey,
    /// The bearer token was refused; `reason` is a fixed, non-secret description.
    #[error("invalid token: {reason}")]
    InvalidToken {
        /// A short fixed description of the failed check.
        reason: &'static str,
    },
    /// The token's signature and claims are valid but it has expired.
    #[error("token expired")]
    TokenExpired,
    /// The issuer's JWKS could not be fetched and no unexpired copy is cached.
    #[error("signing keys unavailable")]
    JwksUnavailable,
    /// The verifier configuration was refused.
    #[error("invalid auth configuration: {0}")]
    Config(String),
}

impl AuthError {
    pub(crate) const fn invalid_token(reason: &'static str) -> Self {
        Self::InvalidToken { reason }
    }

    /// The stable code for the HTTP layer (see [`codes`]).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MissingApiKey => codes::MISSING_API_KEY,
            Self::InvalidApiKey => codes::INVALID_API_KEY,
            Self::InvalidToken { .. } => codes::INVALID_TOKEN,
            Self::TokenExpired => codes::TOKEN_EXPIRED,
            Self::JwksUnavailable => codes::JWKS_UNAVAILABLE,
            Self::Config(_) => codes::AUTH_CONFIG_INVALID,
        }
    }

    /// The HTTP status this error maps to: 401 for credential failures, 503 when the
    /// signing keys are unavailable, 500 for a configuration error.
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::MissingApiKey
            | Self::InvalidApiKey
            | Self::InvalidToken { .. }
            | Self::TokenExpired => 401,
            Self::JwksUnavailable => 503,
            Self::Config(_) => 500,
        }
    }

    /// Whether retrying the same request later may succeed without new credentials.
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::JwksUnavailable)
    }
}

/// `Result` with [`AuthError`] as the default error.
pub type Result<T, E = AuthError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let table = [
            (AuthError::MissingApiKey, "MISSING_API_KEY", 401),
            (AuthError::InvalidApiKey, "INVALID_API_KEY", 401),
            (AuthError::invalid_token("x"), "INVALID_TOKEN", 401),
            (AuthError::TokenExpired, "TOKEN_EXPIRED", 401),
            (AuthError::JwksUnavailable, "JWKS_UNAVAILABLE", 503),
            (AuthError::Config("x".into()), "AUTH_CONFIG_INVALID", 500),
        ];
        for (err, code, status) in table {
            assert_eq!(err.code(), code);
            assert_eq!(err.http_status(), status);
            assert_eq!(err.is_retryable(), code == "JWKS_UNAVAILABLE");
        }
    }
}
