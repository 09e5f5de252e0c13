//! Why the relayer refuses or fails a request, with stable codes for the wire.

use latchkey_chain::Refusal;
use latchkey_core::codes;
use latchkey_core::PolicyViolation;

/// A refused or failed relay request.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The request is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The payload names another chain.
    #[error("{0}")]
    WrongChain(String),
    /// The payload is malformed for its chain; the code says how.
    #[error("{message}")]
    Invalid {
        /// `INVALID_FELT`, `INVALID_TYPED_DATA`, …
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// The typed data differs from the one this relayer issued for that nonce.
    #[error("typed data differs from the one issued for this nonce")]
    TypedDataMismatch,
    /// The execution window is over, too close to its end, not open yet, or too long.
    #[error("{0}")]
    BadWindow(String),
    /// The outside execution names a caller other than `ANY_CALLER` or our relayers.
    #[error("outside execution caller {0} is not a relayer of this service")]
    CallerNotAllowed(String),
    /// Too many calls or too much calldata.
    #[error("{0}")]
    TooLarge(String),
    /// The signature does not verify.
    #[error("signature does not verify for this account and typed data")]
    InvalidSignature,
    /// The session may not execute these calls now.
    #[error("{message}")]
    Session {
        /// `SESSION_*` code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// A spending cap would be exceeded.
    #[error("{0}")]
    SpendingLimit(String),
    /// This outside execution was already submitted (or its nonce is spent on chain).
    #[error("outside execution already submitted")]
    AlreadySubmitted {
        /// The existing request, if it is one of ours.
        request_id: Option<String>,
        /// Its transaction, if known.
        tx_hash: Option<String>,
    },
    /// The chain's simulation says the transaction would fail.
    #[error("simulation failed: {0}")]
    SimulationFailed(String),
    /// The organisation's gas budget cannot cover the transaction.
    #[error("sponsorship budget exhausted")]
    SponsorshipExhausted,
    /// The node refused the transaction for a reason other than the ones above.
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// The chain or the database is unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// No relayer account that may send it can pay its fee.
    #[error("no relayer account can pay for it: {0}")]
    Unfunded(String),
    /// The outside execution was prepared for another wallet or organisation.
    #[error("this outside execution belongs to another wallet")]
    Conflict,
    /// The organisation does not sponsor one of the calls.
    #[error("{0}")]
    NotSponsored(String),
    /// The transaction may cost more than the organisation sponsors per transaction.
    #[error("{0}")]
    FeeAboveLimit(String),
    /// A daily sponsored-gas quota (of the wallet or of its end user) is used up.
    #[error("the {scope}'s daily sponsored-gas quota is used up")]
    QuotaExhausted {
        /// `wallet` or `user`.
        scope: &'static str,
        /// Seconds until the quota renews (the next UTC day).
        retry_after: u64,
    },
    /// The wallet's recent sponsored transactions reverted; it waits before the next.
    #[error("this wallet's recent transactions reverted; sponsored executions resume later")]
    CoolingDown {
        /// Seconds until the cool-down ends.
        retry_after: u64,
    },
    /// The organisation already has as many simulations running as it may.
    #[error("too many executions of this organisation are being simulated; retry shortly")]
    SimulationBusy,
    /// The chain did not finish the simulation in time.
    #[error("the simulation did not finish in time")]
    SimulationTimeout,
    /// A session registration breaks a rule every route enforces.
    #[error("{message}")]
    SessionGuard {
        /// `ALLOWLIST_REQUIRED`, `SESSION_TOO_LONG`, `SELF_CALL_NOT_ALLOWED`,
        /// `SESSION_KEY_REVOKED`, …
        code: &'static str,
        /// Explanation.
        message: String,
    },
}

impl RelayError {
    /// The stable error code of the wire.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => codes::INVALID_REQUEST,
            Self::WrongChain(_) => codes::WRONG_CHAIN,
            Self::Invalid { code, .. } => code,
            Self::TypedDataMismatch => codes::TYPED_DATA_MISMATCH,
            Self::BadWindow(_) => codes::INVALID_EXECUTION_WINDOW,
            Self::CallerNotAllowed(_) => codes::CALLER_NOT_ALLOWED,
            Self::TooLarge(_) => codes::BATCH_TOO_LARGE,
            Self::InvalidSignature => codes::INVALID_SIGNATURE,
            Self::Session { code, .. } => code,
            Self::SpendingLimit(_) => codes::SPENDING_LIMIT_EXCEEDED,
            Self::AlreadySubmitted { .. } => codes::DUPLICATE_EXECUTION,
            Self::SimulationFailed(_) => codes::SIMULATION_FAILED,
            Self::SponsorshipExhausted => codes::SPONSORSHIP_EXHAUSTED,
            Self::Rejected(_) => codes::TRANSACTION_REJECTED,
            Self::Unavailable(_) => codes::UPSTREAM_UNAVAILABLE,
            Self::Unfunded(_) => codes::RELAYER_UNFUNDED,
            Self::Conflict => codes::REQUEST_CONFLICT,
            Self::NotSponsored(_) => codes::NOT_SPONSORED,
            Self::FeeAboveLimit(_) => codes::MAX_FEE_EXCEEDED,
            Self::QuotaExhausted { .. } => codes::DAILY_QUOTA_EXHAUSTED,
            Self::CoolingDown { .. } => codes::WALLET_COOLING_DOWN,
            Self::SimulationBusy => codes::TOO_MANY_SIMULATIONS,
            Self::SimulationTimeout => codes::SIMULATION_TIMEOUT,
            Self::SessionGuard { code, .. } => code,
        }
    }

    /// Seconds after which the same request may succeed, for refusals that end by
    /// themselves (sent as `Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::QuotaExhausted { retry_after, .. } | Self::CoolingDown { retry_after } => {
                Some((*retry_after).max(1))
            }
            Self::SimulationBusy => Some(1),
            _ => None,
        }
    }

    /// The error a session policy violation maps to.
    pub fn from_policy(violation: PolicyViolation) -> Self {
        let code = match &violation {
            PolicyViolation::NotYetValid { .. } => codes::SESSION_NOT_YET_VALID,
            PolicyViolation::Expired { .. } => codes::SESSION_EXPIRED,
            PolicyViolation::SignatureOutlivesSession { .. } => codes::SESSION_EXPIRED,
            PolicyViolation::MaxCallsExceeded { .. } => codes::SESSION_MAX_CALLS_EXCEEDED,
            PolicyViolation::SelfCall { .. } | PolicyViolation::MethodNotAllowed { .. } => {
                codes::SESSION_ENTRYPOINT_NOT_ALLOWED
            }
            PolicyViolation::NoCalls => codes::INVALID_REQUEST,
        };
        Self::Session { code, message: violation.to_string() }
    }
}

impl RelayError {
    /// The error for a chain's refusal of request `request_id` (its simulation, or its
    /// payload): the account contract's own refusals (spent nonce, bad signature, closed
    /// window, session rules, spending caps) keep the codes the off-chain checks use.
    pub fn from_refusal(refusal: Refusal, request_id: Option<&str>) -> Self {
        let Refusal { code, message } = refusal;
        match code {
            codes::DUPLICATE_EXECUTION => {
                Self::AlreadySubmitted { request_id: request_id.map(str::to_string), tx_hash: None }
            }
            codes::INVALID_SIGNATURE => Self::InvalidSignature,
            codes::INVALID_EXECUTION_WINDOW => Self::BadWindow(message),
            codes::SPENDING_LIMIT_EXCEEDED => Self::SpendingLimit(message),
            codes::SIMULATION_FAILED => Self::SimulationFailed(message),
            codes::WRONG_CHAIN => Self::WrongChain(message),
            code if code.starts_with("SESSION_") => Self::Session { code, message },
            code => Self::Invalid { code, message },
        }
    }
}

impl From<latchkey_store::StoreError> for RelayError {
    fn from(error: latchkey_store::StoreError) -> Self {
        Self::Unavailable(format!("database: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_their_codes() {
        for code in [
            "DUPLICATE_EXECUTION",
            "INVALID_SIGNATURE",
            "INVALID_EXECUTION_WINDOW",
            "SPENDING_LIMIT_EXCEEDED",
            "SIMULATION_FAILED",
            "WRONG_CHAIN",
            "SESSION_REVOKED",
            "SESSION_EXPIRED",
            "INVALID_FELT",
        ] {
            let code = codes::ALL.iter().find(|c| c.name == code).map_or("missing", |c| c.name);
            let error = RelayError::from_refusal(Refusal::new(code, "why"), Some("r1"));
            assert_eq!(error.code(), code);
        }
        match RelayError::from_refusal(Refusal::new(codes::DUPLICATE_EXECUTION, "x"), Some("r1")) {
            RelayError::AlreadySubmitted { request_id, .. } => {
                assert_eq!(request_id.as_deref(), Some("r1"))
            }
            other => panic!("{other:?}"),
        }
    }
}
