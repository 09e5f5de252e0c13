//! Errors of chain operations, with revert reasons made readable.

use latchkey_core::{decode_short_string, Felt, SignatureError};
use starknet_rust_core::types::{ContractExecutionError, StarknetError};
use starknet_rust_providers::jsonrpc::{HttpTransportError, JsonRpcClientError};
use starknet_rust_providers::ProviderError;

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node refused the transaction, or its simulation failed (nothing was
    /// included on chain).
    #[error("transaction rejected: {reason}")]
    Rejected {
        /// The node's explanation, with Cairo short strings decoded.
        reason: String,
    },
    /// The transaction was included but reverted.
    #[error("transaction {hash:#x} reverted: {reason}")]
    Reverted {
        /// The transaction hash.
        hash: Felt,
        /// The revert reason, with Cairo short strings decoded.
        reason: String,
    },
    /// No receipt appeared in time.
    #[error("transaction {hash:#x} not confirmed in time")]
    Timeout {
        /// The transaction hash.
        hash: Felt,
    },
    /// The node could not be reached or answered with an error unrelated to a
    /// transaction.
    #[error("node error: {0}")]
    Node(String),
    /// The node answered something this client does not understand.
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
    /// A signature could not be made.
    #[error(transparent)]
    Signing(#[from] SignatureError),
    /// A contract view returned an unexpected layout.
    #[error(transparent)]
    Contracts(#[from] latchkey_starknet_contracts::ContractsError),
    /// The operation is not possible for this kind of signer.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

/// `text` with every URL cut to its scheme, host and port: node URLs often carry a
/// provider's API key in their path or query, and transport errors quote the URL; these
/// messages reach logs.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&rest[..start]);
        let url = &rest[start..];
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(url.len());
        let (candidate, after) = url.split_at(end);
        let scheme_end = candidate.find("://").map_or(0, |i| i + 3);
        let authority_end = candidate[scheme_end..]
            .find(['/', '?', '#'])
            .map_or(candidate.len(), |i| i + scheme_end);
        // Credentials before an '@' go too.
        let authority = &candidate[scheme_end..authority_end];
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        out.push_str(&candidate[..scheme_end]);
        out.push_str(host);
        if authority_end < candidate.len() || authority.contains('@') {
            out.push_str("/…");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

impl ChainError {
    /// Classifies a provider error.
    pub fn from_provider(error: ProviderError) -> Self {
        match error {
            ProviderError::StarknetError(e) => Self::from_starknet(e),
            ProviderError::RateLimited => Self::Node("rate limited".into()),
            ProviderError::ArrayLengthMismatch => {
                Self::UnexpectedResponse("array length mismatch".into())
            }
            ProviderError::Other(e) => {
                // A JSON-RPC error object is the node refusing the request (devnet reports
                // some validation failures this way); anything else is a transport problem.
                let any = e.as_any();
                match any.downcast_ref::<JsonRpcClientError<HttpTransportError>>() {
                    // The node failed, not the request (an internal or server error): the
                    // outcome is unknown.
                    Some(JsonRpcClientError::JsonRpcError(rpc))
                        if latchkey_chain::is_server_error(rpc.code) =>
                    {
                        Self::Node(format!("node error {}: {}", rpc.code, rpc.message))
                    }
                    Some(JsonRpcClientError::JsonRpcError(rpc)) => Self::Rejected {
                        reason: readable_reason(&match &rpc.data {
                            Some(data) => format!("{} ({data})", rpc.message),
                            None => rpc.message.clone(),
                        }),
                    },
                    _ => Self::Node(redact_urls(&e.to_string())),
                }
            }
        }
    }

    fn from_starknet(error: StarknetError) -> Self {
        let reason = match &error {
            StarknetError::TransactionExecutionError(data) => {
                format!("execution failed: {}", flatten(&data.execution_error))
            }
            StarknetError::ContractError(data) => {
                format!("contract error: {}", flatten(&data.revert_error))
            }
            StarknetError::ValidationFailure(msg) => format!("validation failure: {msg}"),
            StarknetError::InvalidTransactionNonce(msg) => {
                format!("invalid transaction nonce: {msg}")
            }
            StarknetError::UnexpectedError(msg) => format!("unexpected error: {msg}"),
            StarknetError::CompilationFailed(msg) => format!("compilation failed: {msg}"),
            other => other.to_string(),
        };
        Self::Rejected { reason: readable_reason(&reason) }
    }

    /// The human-readable reason of a rejection or revert, if this is one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Rejected { reason } | Self::Reverted { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Whether the nonce the transaction used was wrong (stale or ahead).
    pub fn is_nonce_error(&self) -> bool {
        self.reason().is_some_and(is_nonce_reason)
    }
}

/// Whether a rejection or simulation reason says the transaction's nonce was wrong. Nodes
/// word it as "Invalid transaction nonce" (a refused transaction) or "Account transaction
/// nonce is invalid" (a refused fee estimate).
pub fn is_nonce_reason(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("invalid transaction nonce") || reason.contains("transaction nonce is invalid")
}

fn flatten(error: &ContractExecutionError) -> String {
    match error {
        ContractExecutionError::Message(msg) => msg.clone(),
        ContractExecutionError::Nested(inner) => format!(
            "in contract {:#x} (selector {:#x}): {}",
            inner.contract_address,
            inner.selector,
            flatten(&inner.error)
        ),
    }
}

/// Appends the text of every hex felt in `reason` that is a Cairo short string and is
/// not already spelled out, so `0x53657373696f6e3a2065787069726564` reads
/// `Session: expired`.
pub(crate) fn readable_reason(reason: &str) -> String {
    let mut decoded: Vec<String> = Vec::new();
    for token in reason.split(|c: char| !c.is_ascii_hexdigit() && c != 'x') {
        let Some(hex) = token.strip_prefix("0x") else { continue };
        if hex.is_empty() || hex.len() > 62 {
            continue;
        }
        let Ok(felt) = Felt::from_hex(token) else { continue };
        if let Some(text) = decode_short_string(&felt) {
            if text.len() >= 4 && !reason.contains(&text) && !decoded.contains(&text) {
                decoded.push(text);
            }
        }
    }
    if decoded.is_empty() {
        reason.to_string()
    } else {
        format!("{reason} [{}]", decoded.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_wordings_of_a_nonce_refusal_are_nonce_errors() {
        for reason in [
            "Invalid transaction nonce of contract at address 0x1",
            "execution failed: Account transaction nonce is invalid.",
        ] {
            assert!(ChainError::Rejected { reason: reason.into() }.is_nonce_error(), "{reason}");
        }
        assert!(!ChainError::Rejected { reason: "Session: expired".into() }.is_nonce_error());
    }

    #[test]
    fn r2_21_urls_in_node_errors_lose_paths_queries_and_credentials() {
        let message = "error sending request for url (https://user:pw@rpc.example.com:8443/v0_10/KEY123?apikey=SECRET): timed out";
        let redacted = redact_urls(message);
        assert_eq!(
            redacted,
            "error sending request for url (https://rpc.example.com:8443/…): timed out"
        );
        for secret in ["KEY123", "SECRET", "user", "pw@"] {
            assert!(!redacted.contains(secret), "{redacted}");
        }
        assert_eq!(redact_urls("no url here"), "no url here");
        assert_eq!(redact_urls("http://127.0.0.1:5050 refused"), "http://127.0.0.1:5050 refused");
        assert_eq!(redact_urls("a http://h/x and https://k/y?z"), "a http://h/… and https://k/…");
        // Multi-byte text around a URL is kept whole.
        assert_eq!(redact_urls("é http://h/p é"), "é http://h/… é");
    }

    #[test]
    fn short_strings_in_reasons_are_decoded() {
        let reason = readable_reason("Failure reason: 0x53657373696f6e3a2065787069726564.");
        assert!(reason.ends_with("[Session: expired]"), "{reason}");
        // Already spelled out: left alone.
        let spelled = "0x53657373696f6e3a2065787069726564 ('Session: expired')";
        assert_eq!(readable_reason(spelled), spelled);
        // Addresses are not text.
        let addr = "contract 0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7";
        assert_eq!(readable_reason(addr), addr);
    }
}
