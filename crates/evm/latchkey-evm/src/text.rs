//! Canonical text forms on the EVM family: addresses are EIP-55 checksummed, selectors
//! `0x` + 8 lowercase hex digits, hashes and nonces `0x` + lowercase hex.

use alloy_primitives::{Address, B256, U256};
use latchkey_chain::Refusal;
use latchkey_core::codes;

/// An address in canonical form: EIP-55 checksummed.
pub fn address_text(address: Address) -> String {
    address.to_checksum(None)
}

/// Parses an address: `0x` and 40 hex digits, all lowercase, all uppercase, or with a
/// valid EIP-55 checksum. Anything else is refused with `INVALID_INPUT`.
pub fn parse_address(text: &str) -> Result<Address, Refusal> {
    let bad = |why: &str| {
        let shown: String = text.chars().take(48).collect();
        Refusal::new(codes::INVALID_INPUT, format!("{shown:?} is not an EVM address: {why}"))
    };
    let digits = text.strip_prefix("0x").ok_or_else(|| bad("no 0x prefix"))?;
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("not 40 hex digits"));
    }
    let lower = digits.bytes().all(|b| !b.is_ascii_uppercase());
    let upper = digits.bytes().all(|b| !b.is_ascii_lowercase());
    if lower || upper {
        let mut bytes = [0u8; 20];
        for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).map_err(|_| bad("not hex"))?;
            bytes[i] = u8::from_str_radix(pair, 16).map_err(|_| bad("not hex"))?;
        }
        return Ok(Address::from(bytes));
    }
    Address::parse_checksummed(text, None).map_err(|_| bad("wrong EIP-55 checksum"))
}

/// A selector as text.
pub(crate) fn selector_text(selector: [u8; 4]) -> String {
    format!("0x{:08x}", u32::from_be_bytes(selector))
}

/// A 32-byte hash as text.
pub(crate) fn hash_text(hash: B256) -> String {
    format!("{hash:#x}")
}

/// A 256-bit integer as `0x` hex.
pub(crate) fn u256_text(value: U256) -> String {
    format!("{value:#x}")
}

/// Parses `0x` hex bytes.
pub(crate) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.strip_prefix("0x")?;
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// Parses a `0x` hex or decimal 256-bit integer.
pub(crate) fn parse_u256(text: &str) -> Option<U256> {
    match text.strip_prefix("0x") {
        Some(digits) if !digits.is_empty() => U256::from_str_radix(digits, 16).ok(),
        Some(_) => None,
        None => U256::from_str_radix(text, 10).ok(),
    }
}

/// Parses a 32-byte hash.
pub(crate) fn parse_b256(text: &str) -> Option<B256> {
    let bytes = parse_hex(text)?;
    (bytes.len() == 32).then(|| B256::from_slice(&bytes))
}

/// The core's 256-bit integer.
pub(crate) fn to_core_u256(value: U256) -> latchkey_core::U256 {
    let limbs = value.as_limbs();
    latchkey_core::U256 {
        low: u128::from(limbs[0]) | (u128::from(limbs[1]) << 64),
        high: u128::from(limbs[2]) | (u128::from(limbs[3]) << 64),
    }
}

/// From the core's 256-bit integer (the inverse of [`to_core_u256`]).
pub(crate) fn from_core_u256(value: latchkey_core::U256) -> U256 {
    (U256::from(value.high) << 128) | U256::from(value.low)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn addresses_parse_in_three_spellings_only() {
        let canonical = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        let address = parse_address(canonical).unwrap();
        assert_eq!(address_text(address), canonical);
        assert_eq!(parse_address(&canonical.to_lowercase()).unwrap(), address);
        assert_eq!(
            parse_address(&format!("0x{}", &canonical[2..].to_uppercase())).unwrap(),
            address
        );
        for bad in [
            "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",
            "0xzaAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "",
        ] {
            assert_eq!(parse_address(bad).unwrap_err().code, codes::INVALID_INPUT, "{bad}");
        }
    }

    #[test]
    fn u256_converts_both_limbs() {
        let value = (U256::from(3u8) << 128) | U256::from(5u8);
        assert_eq!(to_core_u256(value), latchkey_core::U256 { high: 3, low: 5 });
        for value in [U256::ZERO, value, U256::MAX, U256::from(u128::MAX)] {
            assert_eq!(from_core_u256(to_core_u256(value)), value);
        }
        assert_eq!(parse_u256("0x10"), Some(U256::from(16u8)));
        assert_eq!(parse_u256("16"), Some(U256::from(16u8)));
        assert_eq!(parse_u256("0x"), None);
    }
}
