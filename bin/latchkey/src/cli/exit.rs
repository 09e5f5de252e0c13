//! Exit codes of the `latchkey` command, one per kind of failure, so scripts can tell a
//! mistake on this machine from a refusal, an outage or a transaction that failed.
//!
//! | code | meaning |
//! |---:|---|
//! | 0 | success |
//! | 1 | local error: an invalid flag value (a bad `--call` spec, a missing API key), an unreadable key file, a wrong PIN |
//! | 2 | the command line does not parse (unknown flag, missing argument, not a number) |
//! | 3 | the API refused the request (4xx); its `code` and message are printed |
//! | 4 | the server is unreachable, failed (5xx), answered something unexpected, or a transaction was still pending at `--timeout` |
//! | 5 | the transaction reached a final failed state on chain (`reverted`, `rejected`, `expired`); the reason is printed |

use serde_json::{json, Value};

use crate::client::{ApiRefusal, ServerUnavailable};

/// The exit code table, for `--help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  local error: invalid flag value, unreadable key file, wrong PIN, missing API key
  2  the command line does not parse
  3  the API refused the request (4xx); its code and message are printed
  4  the server is unreachable or failed (5xx), or a transaction was still pending at --timeout
  5  the transaction reached a final failed state (reverted, rejected, expired)";

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 1.
    Local,
    /// 3.
    Refused,
    /// 4.
    Unavailable,
    /// 5.
    TransactionFailed,
}

impl Exit {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Local => 1,
            Self::Refused => 3,
            Self::Unavailable => 4,
            Self::TransactionFailed => 5,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Refused => "refused",
            Self::Unavailable => "unavailable",
            Self::TransactionFailed => "transaction",
        }
    }
}

/// A transaction that reached a final failed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransactionFailed {
    /// The request id.
    pub(crate) id: String,
    /// `reverted`, `rejected` or `expired`.
    pub(crate) status: String,
    /// The chain transaction hash, when it got one.
    pub(crate) transaction_hash: Option<String>,
    /// Why, as a code.
    pub(crate) error_code: Option<String>,
    /// Why, in words (the revert reason for `reverted`).
    pub(crate) error_message: Option<String>,
}

impl std::fmt::Display for TransactionFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the transaction {}", self.status)?;
        match (&self.error_code, &self.error_message) {
            (Some(code), Some(message)) => write!(f, ": {code}: {message}")?,
            (Some(reason), None) | (None, Some(reason)) => write!(f, ": {reason}")?,
            (None, None) => write!(f, " (no reason given)")?,
        }
        match &self.transaction_hash {
            Some(hash) => write!(f, " (request {}, transaction {hash})", self.id),
            None => write!(f, " (request {})", self.id),
        }
    }
}

impl std::error::Error for TransactionFailed {}

/// The kind of an error, from the typed failures anywhere in its chain.
pub(crate) fn classify(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.is::<ApiRefusal>() {
            return Exit::Refused;
        }
        if cause.is::<ServerUnavailable>() {
            return Exit::Unavailable;
        }
        if cause.is::<TransactionFailed>() {
            return Exit::TransactionFailed;
        }
    }
    Exit::Local
}

/// The `--json` document of an error: `{"error": {exitCode, kind, message, code?, status?}}`.
pub(crate) fn error_json(error: &anyhow::Error) -> Value {
    let exit = classify(error);
    let mut body = json!({
        "exitCode": exit.code(),
        "kind": exit.kind(),
        "message": format!("{error:#}"),
    });
    for cause in error.chain() {
        if let Some(refusal) = cause.downcast_ref::<ApiRefusal>() {
            body["code"] = json!(refusal.code);
            body["status"] = json!(refusal.status);
            break;
        }
        if let Some(failure) = cause.downcast_ref::<ServerUnavailable>() {
            if let Some(code) = &failure.code {
                body["code"] = json!(code);
            }
            break;
        }
    }
    json!({ "error": body })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use anyhow::Context;

    use super::*;

    fn refusal() -> ApiRefusal {
        ApiRefusal {
            status: 403,
            code: "SESSION_REVOKED".into(),
            message: "session was revoked".into(),
        }
    }

    #[test]
    fn every_kind_of_failure_has_its_code_even_under_context() {
        let local = anyhow::anyhow!("cannot read key file");
        assert_eq!(classify(&local).code(), 1);
        let refused = Err::<(), _>(anyhow::Error::new(refusal())).context("executing").unwrap_err();
        assert_eq!(classify(&refused).code(), 3);
        let down = anyhow::Error::new(ServerUnavailable::new("cannot reach")).context("listing");
        assert_eq!(classify(&down).code(), 4);
        let failed = anyhow::Error::new(TransactionFailed {
            id: "r1".into(),
            status: "reverted".into(),
            transaction_hash: Some("0xabc".into()),
            error_code: Some("REVERTED".into()),
            error_message: Some("game over".into()),
        });
        assert_eq!(classify(&failed).code(), 5);
        assert_eq!(
            failed.to_string(),
            "the transaction reverted: REVERTED: game over (request r1, transaction 0xabc)"
        );
        let codes: Vec<u8> =
            [Exit::Local, Exit::Refused, Exit::Unavailable, Exit::TransactionFailed]
                .iter()
                .map(|e| e.code())
                .collect();
        assert_eq!(codes, [1, 3, 4, 5], "2 stays clap's usage error");
    }

    #[test]
    fn json_errors_carry_the_api_code() {
        let refused = anyhow::Error::new(refusal()).context("executing");
        let doc = error_json(&refused);
        assert_eq!(doc["error"]["exitCode"], 3);
        assert_eq!(doc["error"]["kind"], "refused");
        assert_eq!(doc["error"]["code"], "SESSION_REVOKED");
        assert_eq!(doc["error"]["status"], 403);
        assert!(doc["error"]["message"].as_str().unwrap().starts_with("executing: "));
        let local = error_json(&anyhow::anyhow!("wrong PIN"));
        assert_eq!(local["error"], json!({"exitCode": 1, "kind": "local", "message": "wrong PIN"}));
    }

    #[test]
    fn the_help_table_matches_the_codes() {
        for (exit, word) in [
            (Exit::Local, "local error"),
            (Exit::Refused, "refused"),
            (Exit::Unavailable, "unreachable"),
            (Exit::TransactionFailed, "final failed state"),
        ] {
            let line = format!("  {}  ", exit.code());
            let row = EXIT_CODES_HELP.lines().find(|l| l.starts_with(&line)).unwrap();
            assert!(row.contains(word), "{row}");
        }
    }
}
