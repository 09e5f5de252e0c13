//! Tokens by symbol: a served chain's own (its fee tokens, set by the server) and those an
//! organisation registers (`/api/organization/tokens`); balances read from the chain.

use latchkey_core::codes;
use latchkey_store::OrgToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ApiError, ApiResult, AppState, ChainSlot};

/// Most tokens one organisation may register.
pub(crate) const MAX_TOKENS: usize = 100;

/// A token a chain is served with: its symbol, contract and decimal places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownToken {
    /// The symbol it is asked for by (`STRK`).
    pub symbol: String,
    /// The contract, in the chain's canonical form.
    pub address: String,
    /// Decimal places of its smallest unit.
    pub decimals: u8,
}

/// A registered token, as the API shows and takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TokenDocument {
    /// A served chain (CAIP-2 id).
    #[schema(example = "starknet:SN_SEPOLIA")]
    pub(crate) chain: String,
    /// Upper-case letters, digits and `_`, 1 to 16 (`USDC`, `USDC_E`).
    #[schema(pattern = "^[A-Z0-9_]{1,16}$", example = "USDC")]
    pub(crate) symbol: String,
    /// The token contract.
    #[schema(example = "0x53c91253bc9682c04929ca02ed00b3e423f6710d2ee7e0d5ebb06f3ecf368a8")]
    pub(crate) address: String,
    /// Decimal places of its smallest unit (0 to 36).
    #[schema(maximum = 36)]
    pub(crate) decimals: u8,
}

impl From<OrgToken> for TokenDocument {
    fn from(token: OrgToken) -> Self {
        Self {
            chain: token.chain,
            symbol: token.symbol,
            address: token.address,
            decimals: token.decimals,
        }
    }
}

fn valid_symbol(symbol: &str) -> bool {
    (1..=16).contains(&symbol.len())
        && symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks and normalises registered tokens (chain served, symbol well formed, address in
/// the chain's canonical form).
pub(crate) fn check_tokens(
    state: &AppState,
    tokens: Vec<TokenDocument>,
) -> ApiResult<Vec<OrgToken>> {
    if tokens.len() > MAX_TOKENS {
        return Err(ApiError::bad_request(
            codes::INVALID_REQUEST,
            format!("at most {MAX_TOKENS} tokens"),
        ));
    }
    tokens
        .into_iter()
        .map(|token| {
            let slot = state.requested_chain(Some(&token.chain))?;
            if !valid_symbol(&token.symbol) {
                return Err(ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    format!(
                        "token symbol {:?}: upper-case letters, digits and _, 1 to 16",
                        token.symbol.chars().take(32).collect::<String>()
                    ),
                ));
            }
            if token.decimals > 36 {
                return Err(ApiError::bad_request(
                    codes::INVALID_REQUEST,
                    format!("{}: decimals are 0 to 36", token.symbol),
                ));
            }
            let address =
                slot.chain.parse_address(&token.address).map_err(ApiError::from_refusal)?;
            Ok(OrgToken {
                chain: token.chain,
                symbol: token.symbol,
                address,
                decimals: token.decimals,
            })
        })
        .collect()
}

/// The token `symbol` names on `slot` for `org_id`: the organisation's registration
/// first, then the chain's own; `400 TOKEN_NOT_SUPPORTED` when neither has it.
pub(crate) async fn resolve(
    state: &AppState,
    org_id: &str,
    slot: &ChainSlot,
    symbol: &str,
) -> ApiResult<KnownToken> {
    let chain = slot.chain.id().as_str();
    if let Some(token) = state.store.org_token(org_id, chain, symbol).await? {
        return Ok(KnownToken {
            symbol: token.symbol,
            address: token.address,
            decimals: token.decimals,
        });
    }
    slot.tokens.iter().find(|t| t.symbol == symbol).cloned().ok_or_else(|| {
        let known: Vec<&str> = slot.tokens.iter().map(|t| t.symbol.as_str()).collect();
        ApiError::bad_request(
            codes::TOKEN_NOT_SUPPORTED,
            format!(
                "no token {:?} on {chain} (this chain has {}; an organisation registers others with PUT /api/organization/tokens)",
                symbol.chars().take(32).collect::<String>(),
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ),
        )
    })
}

/// `amount` (decimal text, the smallest unit) in whole tokens of `decimals` places:
/// exact, without trailing zeros (`1500000` with 6 places is `1.5`).
pub(crate) fn in_whole_units(amount: &str, decimals: u8) -> String {
    let digits = amount.trim_start_matches('0');
    let places = usize::from(decimals);
    if digits.is_empty() {
        return "0".into();
    }
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (whole, fraction) = padded.split_at(padded.len() - places);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_read_in_whole_units() {
        assert_eq!(in_whole_units("0", 18), "0");
        assert_eq!(in_whole_units("1500000", 6), "1.5");
        assert_eq!(in_whole_units("1000000000000000000", 18), "1");
        assert_eq!(in_whole_units("1", 18), "0.000000000000000001");
        assert_eq!(in_whole_units("123", 0), "123");
        assert_eq!(in_whole_units("00120", 2), "1.2");
    }

    #[test]
    fn symbols_are_upper_case_words() {
        assert!(valid_symbol("USDC") && valid_symbol("USDC_E") && valid_symbol("WBTC2"));
        assert!(!valid_symbol("") && !valid_symbol("usdc") && !valid_symbol("US DC"));
        assert!(!valid_symbol("ABCDEFGHIJKLMNOPQ"));
    }

    proptest! {
        #[test]
        fn whole_units_are_exact(amount in any::<u128>(), decimals in 0u8..=36) {
            let text = in_whole_units(&amount.to_string(), decimals);
            let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
            let places = usize::from(decimals);
            prop_assert!(fraction.len() <= places);
            let back = format!("{whole}{fraction:0<places$}");
            let amount = amount.to_string();
            prop_assert_eq!(back.trim_start_matches('0'), amount.trim_start_matches('0'));
        }
    }
}
