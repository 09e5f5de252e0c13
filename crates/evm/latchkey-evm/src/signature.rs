//! A userOp signature in the port's `Vec<String>`: the account's 66 bytes
//! `kind ‖ r ‖ s ‖ v` in one of two layouts.
//!
//! - **hex**: one string, `0x` and 132 hex digits (what viem-based clients hold);
//! - **words**: six integers `[kind, r_high, r_low, s_high, s_low, v]` (`r` and `s` cut in
//!   128-bit halves), each below 2^128, in `0x` hex or decimal. Every word is a valid
//!   Starknet felt, so the signature passes routes that read signatures as felts (the
//!   API's `signature_words` today) unchanged.
//!
//! Both layouts give the same bytes; the account then checks them (kind, low `s`, `v`).

use latchkey_evm_contracts::{UserOpSignature, USER_OP_SIGNATURE_LENGTH};

use crate::text::{parse_hex, parse_u256};

/// The 66 signature bytes of either layout, or `None`.
pub fn signature_bytes(signature: &[String]) -> Option<Vec<u8>> {
    match signature {
        [hex] => parse_hex(hex).filter(|b| b.len() == USER_OP_SIGNATURE_LENGTH),
        [kind, r_high, r_low, s_high, s_low, v] => {
            let byte = |t: &str| u8::try_from(parse_u256(t)?).ok();
            let half = |t: &str| u128::try_from(parse_u256(t)?).ok();
            let mut out = Vec::with_capacity(USER_OP_SIGNATURE_LENGTH);
            out.push(byte(kind)?);
            for part in [r_high, r_low, s_high, s_low] {
                out.extend_from_slice(&half(part)?.to_be_bytes());
            }
            out.push(byte(v)?);
            Some(out)
        }
        _ => None,
    }
}

/// The hex layout of a signature.
pub fn signature_hex(signature: &UserOpSignature) -> Vec<String> {
    vec![signature.encode().to_string()]
}

/// The words layout of a signature.
pub fn signature_words(signature: &UserOpSignature) -> Vec<String> {
    let bytes = signature.to_bytes();
    let half = |at: usize| {
        let mut word = [0u8; 16];
        word.copy_from_slice(&bytes[at..at + 16]);
        format!("{:#x}", u128::from_be_bytes(word))
    };
    vec![
        format!("{:#x}", bytes[0]),
        half(1),
        half(17),
        half(33),
        half(49),
        format!("{:#x}", bytes[65]),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use alloy_primitives::B256;
    use latchkey_evm_contracts::SignatureKind;

    #[test]
    fn both_layouts_give_the_same_bytes_and_nothing_else_parses() {
        let signature = UserOpSignature::sign(
            SignatureKind::SessionEip191,
            &B256::repeat_byte(3),
            B256::repeat_byte(4),
        )
        .unwrap();
        let bytes = signature.to_bytes().to_vec();
        assert_eq!(signature_bytes(&signature_hex(&signature)).unwrap(), bytes);
        let words = signature_words(&signature);
        assert_eq!(words.len(), 6);
        assert_eq!(signature_bytes(&words).unwrap(), bytes);
        // Every word is below 2^128 (a felt).
        assert!(words.iter().all(|w| w.len() <= 34));
        for bad in [
            vec![],
            vec!["0x".to_string()],
            vec![format!("{}00", signature_hex(&signature)[0])],
            vec![
                "0x100".into(),
                "0x0".into(),
                "0x0".into(),
                "0x0".into(),
                "0x0".into(),
                "0x1b".into(),
            ],
            vec!["0x1".into(); 5],
        ] {
            assert_eq!(signature_bytes(&bad), None, "{bad:?}");
        }
    }
}
