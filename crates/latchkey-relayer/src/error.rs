//! Why the relayer refuses or fails a request, with stable codes for the wire.

use latchkey_core::codes;
use latchkey_core::{Felt, PolicyViolation};

/// A refused or failed relay request.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The request is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The typed data names another chain.
    #[error("typed data is for chain {got}, this relayer serves {expected}")]
    WrongChain {
        /// Our chain id (short string).
        expected: String,
        /// The chain id in the typed data.
        got: String,
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
        tx_hash: Option<Felt>,
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
            Self::WrongChain { .. } => codes::WRONG_CHAIN,
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
    /// The error for a failed simulation of request `request_id`: the account contract's
    /// own refusals (spent nonce, bad signature, closed window, session rules, spending
    /// caps) keep the codes the off-chain checks use (the Starknet family's revert table);
    /// anything else is `SIMULATION_FAILED` with the chain's reason.
    pub fn from_simulation(trace: String, request_id: &str) -> Self {
        let refusal = latchkey_starknet::refusal_of(&trace);
        let message = refusal.message;
        match refusal.code {
            codes::DUPLICATE_EXECUTION => {
                Self::AlreadySubmitted { request_id: Some(request_id.to_string()), tx_hash: None }
            }
            codes::INVALID_SIGNATURE => Self::InvalidSignature,
            codes::INVALID_EXECUTION_WINDOW => Self::BadWindow(message),
            codes::SPENDING_LIMIT_EXCEEDED => Self::SpendingLimit(message),
            codes::SIMULATION_FAILED => Self::SimulationFailed(message),
            code => Self::Session { code, message },
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
    fn simulation_reverts_keep_precise_codes() {
        let cases = [
            ("execution failed: 0x…('SRC9: duplicated nonce')", "DUPLICATE_EXECUTION"),
            ("in contract 0x1: 'SRC9: invalid signature'", "INVALID_SIGNATURE"),
            ("'SRC9: now >= execute_before'", "INVALID_EXECUTION_WINDOW"),
            ("'Session: revoked'", "SESSION_REVOKED"),
            ("'Session: not registered'", "SESSION_NOT_REGISTERED"),
            ("'Session: expired'", "SESSION_EXPIRED"),
            ("'Session: not yet valid'", "SESSION_NOT_YET_VALID"),
            ("'Session: max calls reached'", "SESSION_MAX_CALLS_EXCEEDED"),
            ("'Session: method not allowed'", "SESSION_ENTRYPOINT_NOT_ALLOWED"),
            ("'Session: self call'", "SESSION_ENTRYPOINT_NOT_ALLOWED"),
            ("'Spending: window cap'", "SPENDING_LIMIT_EXCEEDED"),
            ("'Game: invalid move'", "SIMULATION_FAILED"),
        ];
        for (reason, code) in cases {
            assert_eq!(RelayError::from_simulation(reason.into(), "r1").code(), code, "{reason}");
        }
        let nested = "in contract 0x1 (selector 0x2): Transaction execution has failed:\n\
            Error in contract (contract address: 0x07a4):\n\
            0x47616d653a206e6f7468696e6720746f20636c61696d ('Game: nothing to claim').\n \
            [\"0x47616d653a206e6f7468696e6720746f20636c61696d\"]";
        let error = RelayError::from_simulation(nested.into(), "r1");
        assert_eq!(error.code(), "SIMULATION_FAILED");
        assert_eq!(
            error.to_string(),
            "simulation failed: the call reverted: Game: nothing to claim"
        );
        let long = "x".repeat(5000);
        assert!(RelayError::from_simulation(long, "r1").to_string().len() < 700);
        match RelayError::from_simulation("'SRC9: duplicated nonce'".into(), "r1") {
            RelayError::AlreadySubmitted { request_id, .. } => {
                assert_eq!(request_id.as_deref(), Some("r1"))
            }
            other => panic!("{other:?}"),
        }
    }
}
