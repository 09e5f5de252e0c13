//! The one mapping from errors to the wire: `{ "message", "code", "status" }` (the body
//! the Chipi SDK parses), with a stable `code` per failure. Internal details are logged,
//! never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::codes;
use latchkey_relayer::RelayError;
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation (never secrets).
    pub message: String,
    /// Seconds after which the same request may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    code: &'a str,
    status: u16,
}

/// Every error: `{ message, code, status }`. The OpenAPI schema of what [`ApiError`]
/// serialises (as `Body`, which borrows instead of owning).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    message: String,
    code: String,
    status: u16,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// The same error, telling the client when to retry.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 `NOT_FOUND`-style.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 401.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 500; the detail goes to the log only.
    #[cold]
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL_ERROR, "internal error")
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::to_string(&Body {
            message: &self.message,
            code: self.code,
            status: self.status.as_u16(),
        })
        .unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response =
            (self.status, [(axum::http::header::CONTENT_TYPE, "application/json")], body)
                .into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<RelayError> for ApiError {
    fn from(error: RelayError) -> Self {
        let status = match &error {
            RelayError::InvalidRequest(_)
            | RelayError::WrongChain { .. }
            | RelayError::Invalid { .. }
            | RelayError::TypedDataMismatch
            | RelayError::BadWindow(_)
            | RelayError::CallerNotAllowed(_)
            | RelayError::InvalidSignature => StatusCode::BAD_REQUEST,
            RelayError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RelayError::Session { .. } | RelayError::SpendingLimit(_) => StatusCode::FORBIDDEN,
            RelayError::AlreadySubmitted { .. } => StatusCode::CONFLICT,
            RelayError::SimulationFailed(_) | RelayError::Rejected(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RelayError::SponsorshipExhausted => StatusCode::PAYMENT_REQUIRED,
            RelayError::Conflict => StatusCode::CONFLICT,
            RelayError::NotSponsored(_) | RelayError::FeeAboveLimit(_) => StatusCode::FORBIDDEN,
            RelayError::QuotaExhausted { .. }
            | RelayError::CoolingDown { .. }
            | RelayError::SimulationBusy => StatusCode::TOO_MANY_REQUESTS,
            RelayError::SimulationTimeout | RelayError::Unfunded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            RelayError::SessionGuard { code: codes::SESSION_KEY_REVOKED, .. } => {
                StatusCode::CONFLICT
            }
            RelayError::SessionGuard { .. } => StatusCode::BAD_REQUEST,
            RelayError::Unavailable(detail) => {
                tracing::warn!(%detail, "upstream unavailable");
                return Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::UPSTREAM_UNAVAILABLE,
                    "the chain or database is unavailable",
                );
            }
        };
        let message = match &error {
            RelayError::AlreadySubmitted { tx_hash: Some(hash), .. } => {
                format!("outside execution already submitted in transaction {hash}")
            }
            other => other.to_string(),
        };
        let retry_after = error.retry_after();
        let answer = Self::new(status, error.code(), message);
        match retry_after {
            Some(seconds) => answer.with_retry_after(seconds),
            None => answer,
        }
    }
}

impl From<latchkey_store::StoreError> for ApiError {
    fn from(error: latchkey_store::StoreError) -> Self {
        match error {
            latchkey_store::StoreError::Conflict { constraint } => Self::new(
                StatusCode::CONFLICT,
                codes::ALREADY_EXISTS,
                format!("already exists ({constraint})"),
            ),
            latchkey_store::StoreError::NotFound => Self::not_found(codes::NOT_FOUND, "not found"),
            latchkey_store::StoreError::Database(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::UPSTREAM_UNAVAILABLE,
                    "the chain or database is unavailable",
                )
            }
            other => Self::internal(other),
        }
    }
}

impl From<latchkey_chain::Unavailable> for ApiError {
    fn from(error: latchkey_chain::Unavailable) -> Self {
        tracing::warn!(detail = %error.0, "chain unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::UPSTREAM_UNAVAILABLE,
            "the chain is unavailable",
        )
    }
}

impl ApiError {
    /// The error for the chain's refusal of what a request names (an address, a key, a
    /// payload): the same code and status the relayer gives it.
    pub fn from_refusal(refusal: latchkey_chain::Refusal) -> Self {
        RelayError::from_refusal(refusal, None).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_the_chipi_error_shape() {
        let e = ApiError::not_found("WALLET_NOT_FOUND", "wallet not found");
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"message": "wallet not found", "code": "WALLET_NOT_FOUND", "status": 404})
        );
        // The documented schema is the same shape.
        let documented = ErrorBody {
            message: e.message.clone(),
            code: e.code.to_string(),
            status: e.status.as_u16(),
        };
        assert_eq!(serde_json::to_value(documented).unwrap(), v);
    }

    #[test]
    fn relay_errors_have_stable_statuses() {
        let e: ApiError = RelayError::SponsorshipExhausted.into();
        assert_eq!((e.status, e.code), (StatusCode::PAYMENT_REQUIRED, "SPONSORSHIP_EXHAUSTED"));
        let e: ApiError =
            RelayError::Session { code: "SESSION_EXPIRED", message: "x".into() }.into();
        assert_eq!((e.status, e.code), (StatusCode::FORBIDDEN, "SESSION_EXPIRED"));
        let e: ApiError = RelayError::Unavailable("db down at 10.0.0.1".into()).into();
        assert!(!e.message.contains("10.0.0.1"), "internal detail leaked: {}", e.message);
    }
}
