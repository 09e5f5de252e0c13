//! The operator's bearer token for the admin API: `lkop_` and 48 random letters and
//! digits. Like a secret API key it is shown once, stored as its hash
//! ([`hash_api_key`](crate::hash_api_key)), and never printed by `Debug`.

use std::fmt;

use rand::distributions::{Alphanumeric, Distribution};
use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

/// What every operator token starts with.
pub const OPERATOR_TOKEN_PREFIX: &str = "lkop_";
/// Random letters and digits after the prefix.
const RANDOM_LEN: usize = 48;

/// An operator token.
pub struct OperatorToken(Zeroizing<String>);

impl fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OperatorToken({})", self.display_prefix())
    }
}

impl OperatorToken {
    /// A new token from a cryptographic RNG.
    pub fn generate(rng: &mut (impl CryptoRng + RngCore)) -> Self {
        let mut token =
            Zeroizing::new(String::with_capacity(OPERATOR_TOKEN_PREFIX.len() + RANDOM_LEN));
        token.push_str(OPERATOR_TOKEN_PREFIX);
        for byte in Alphanumeric.sample_iter(&mut *rng).take(RANDOM_LEN) {
            token.push(char::from(byte));
        }
        Self(token)
    }

    /// The token itself, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short form safe to show and log: `lkop_` and its first four random characters.
    pub fn display_prefix(&self) -> String {
        operator_token_prefix(&self.0)
    }
}

/// Whether `text` is shaped like an operator token (checked before any lookup).
pub fn is_operator_token(text: &str) -> bool {
    text.strip_prefix(OPERATOR_TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The display prefix of a well-formed operator token (`lkop_Ab3d…`); `lkop_…` otherwise.
pub fn operator_token_prefix(text: &str) -> String {
    if is_operator_token(text) {
        format!("{}{}…", OPERATOR_TOKEN_PREFIX, &text[OPERATOR_TOKEN_PREFIX.len()..][..4])
    } else {
        format!("{OPERATOR_TOKEN_PREFIX}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_well_formed_distinct_and_never_shown_by_debug() {
        let mut rng = rand::rngs::OsRng;
        let a = OperatorToken::generate(&mut rng);
        let b = OperatorToken::generate(&mut rng);
        assert_ne!(a.expose(), b.expose());
        assert!(is_operator_token(a.expose()), "{}", a.display_prefix());
        assert_eq!(a.expose().len(), 53);
        let debug = format!("{a:?}");
        assert!(!debug.contains(&a.expose()[9..]), "{debug}");
        assert!(debug.starts_with("OperatorToken(lkop_"), "{debug}");
        for bad in [
            "",
            "lkop_",
            "lkop_short",
            "sk_dev_x",
            &format!("lkop_{}é", "a".repeat(47)),
            &format!("{}x", a.expose()),
        ] {
            assert!(!is_operator_token(bad), "{bad}");
            assert_eq!(operator_token_prefix(bad), "lkop_…");
        }
    }
}
