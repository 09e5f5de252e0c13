//! Field elements: strict parsing, formatting, short strings, selectors and `u256` splits.

use num_bigint::BigUint;
use sha3::{Digest, Keccak256};
pub use starknet_types_core::felt::Felt;

/// Why a string is not a field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeltError {
    /// The string is empty (or only `0x`).
    #[error("empty value")]
    Empty,
    /// The string holds a character that is not a digit of its base.
    #[error("invalid digit in {0:?}")]
    InvalidDigit(String),
    /// The value is not below the field prime `2^251 + 17·2^192 + 1`.
    #[error("value {0} does not fit in a field element")]
    OutOfRange(String),
    /// A short string longer than 31 bytes or with a non-ASCII character.
    #[error("invalid short string {0:?}: at most 31 ASCII characters")]
    InvalidShortString(String),
    /// The value does not fit the integer type asked for.
    #[error("value {value} does not fit in {ty}")]
    Overflow {
        /// The offending value, as hex.
        value: String,
        /// The integer type that was asked for.
        ty: &'static str,
    },
}

/// Longest accepted input, in characters: 78 decimal digits or `0x` + 64 hex digits,
/// with room for leading zeros but not for megabytes of them.
const MAX_INPUT_LEN: usize = 80;

/// Parses a felt from `0x`-prefixed hex (any case) or plain decimal, rejecting anything
/// that is not canonical: empty strings, other characters, and values `>= P`.
pub fn parse_felt(input: &str) -> Result<Felt, FeltError> {
    let s = input.trim();
    if s.len() > MAX_INPUT_LEN {
        return Err(FeltError::OutOfRange(truncate(s)));
    }
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    if digits.is_empty() {
        return Err(FeltError::Empty);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(FeltError::InvalidDigit(truncate(s)));
    }
    let value = BigUint::parse_bytes(digits.as_bytes(), radix)
        .ok_or_else(|| FeltError::InvalidDigit(truncate(s)))?;
    if value > Felt::MAX.to_biguint() {
        return Err(FeltError::OutOfRange(truncate(s)));
    }
    Ok(Felt::from(value))
}

fn truncate(s: &str) -> String {
    if s.len() > 24 {
        format!("{}…", &s[..24])
    } else {
        s.to_string()
    }
}

/// Minimal lowercase hex with `0x` (`0x0` for zero), as starknet.js prints felts.
pub fn to_hex(value: &Felt) -> String {
    format!("{value:#x}")
}

/// Encodes an ASCII string of at most 31 characters as a Cairo short string.
pub fn short_string(s: &str) -> Result<Felt, FeltError> {
    if s.len() > 31 || !s.is_ascii() {
        return Err(FeltError::InvalidShortString(s.to_string()));
    }
    Ok(Felt::from_bytes_be_slice(s.as_bytes()))
}

/// Decodes a felt as a short string, if it is one (printable ASCII, no leading NULs).
pub fn decode_short_string(value: &Felt) -> Option<String> {
    let bytes = value.to_bytes_be();
    let start = bytes.iter().position(|b| *b != 0)?;
    let text = &bytes[start..];
    if text.len() > 31 || !text.iter().all(|b| (0x20..0x7f).contains(b)) {
        return None;
    }
    String::from_utf8(text.to_vec()).ok()
}

/// `sn_keccak`: Keccak-256 of the bytes, truncated to 250 bits.
pub fn starknet_keccak(data: &[u8]) -> Felt {
    let mut hash: [u8; 32] = Keccak256::digest(data).into();
    hash[0] &= 0x03;
    Felt::from_bytes_be(&hash)
}

/// The entrypoint selector of a function name: `sn_keccak(name)`.
pub fn selector(name: &str) -> Felt {
    starknet_keccak(name.as_bytes())
}

/// Converts a felt to a `u64`, failing when it does not fit.
pub fn felt_to_u64(value: &Felt) -> Result<u64, FeltError> {
    u64::try_from(*value).map_err(|_| FeltError::Overflow { value: to_hex(value), ty: "u64" })
}

/// Converts a felt to a `u32`, failing when it does not fit.
pub fn felt_to_u32(value: &Felt) -> Result<u32, FeltError> {
    u32::try_from(*value).map_err(|_| FeltError::Overflow { value: to_hex(value), ty: "u32" })
}

/// Converts a felt to a `u128`, failing when it does not fit.
pub fn felt_to_u128(value: &Felt) -> Result<u128, FeltError> {
    u128::try_from(*value).map_err(|_| FeltError::Overflow { value: to_hex(value), ty: "u128" })
}

/// A 256-bit unsigned integer as Cairo serialises it: two 128-bit limbs, low first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct U256 {
    /// The high 128 bits.
    pub high: u128,
    /// The low 128 bits.
    pub low: u128,
}

impl U256 {
    /// Zero.
    pub const ZERO: Self = Self { high: 0, low: 0 };
    /// `2^256 - 1`.
    pub const MAX: Self = Self { high: u128::MAX, low: u128::MAX };

    /// A value below `2^128`.
    pub const fn from_u128(low: u128) -> Self {
        Self { high: 0, low }
    }

    /// Reads the two limbs `[low, high]` of a Cairo-serialised `u256`.
    pub fn from_felts(low: &Felt, high: &Felt) -> Result<Self, FeltError> {
        Ok(Self { low: felt_to_u128(low)?, high: felt_to_u128(high)? })
    }

    /// The two limbs `[low, high]`, as Cairo serialises a `u256`.
    pub fn to_felts(self) -> [Felt; 2] {
        [Felt::from(self.low), Felt::from(self.high)]
    }

    /// Checked addition.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let (low, carry) = self.low.overflowing_add(other.low);
        let high = self.high.checked_add(other.high)?.checked_add(u128::from(carry))?;
        Some(Self { high, low })
    }

    /// As an arbitrary-precision integer.
    pub fn to_biguint(self) -> BigUint {
        (BigUint::from(self.high) << 128u32) + BigUint::from(self.low)
    }

    /// From an arbitrary-precision integer below `2^256`.
    pub fn from_biguint(value: &BigUint) -> Option<Self> {
        if value.bits() > 256 {
            return None;
        }
        let mask = (BigUint::from(1u8) << 128u32) - 1u32;
        let low = u128::try_from(value & &mask).ok()?;
        let high = u128::try_from(value >> 128u32).ok()?;
        Some(Self { high, low })
    }
}

impl serde::Serialize for U256 {
    /// As a decimal string: JSON numbers cannot hold 256 bits.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for U256 {
    /// From a decimal or `0x` hex string, or a non-negative JSON integer.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        parse_u256(&value)
            .ok_or_else(|| serde::de::Error::custom("expected a u256 as a decimal or hex string"))
    }
}

/// Reads a `u256` from a decimal or `0x` hex JSON string, or a non-negative JSON integer.
pub fn parse_u256(value: &serde_json::Value) -> Option<U256> {
    let big = match value {
        serde_json::Value::Number(n) => BigUint::from(n.as_u64()?),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.len() > MAX_INPUT_LEN {
                return None;
            }
            let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => (hex, 16),
                None => (s, 10),
            };
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            BigUint::parse_bytes(digits.as_bytes(), radix)?
        }
        _ => return None,
    };
    U256::from_biguint(&big)
}

impl std::fmt::Display for U256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_biguint())
    }
}

/// Serde helpers that write felts as minimal `0x` hex and read them strictly from hex or
/// decimal strings (or JSON integers).
pub mod serde_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{to_hex, Felt};

    /// Serialises a felt as minimal hex.
    pub fn serialize<S: Serializer>(value: &Felt, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_hex(value))
    }

    /// Deserialises a felt from a hex or decimal string, or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Felt, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        super::felt_from_json(&value).map_err(serde::de::Error::custom)
    }

    /// The same for a list of felts.
    pub mod vec {
        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        use super::super::{felt_from_json, to_hex, Felt};

        /// Serialises felts as minimal hex strings.
        pub fn serialize<S: Serializer>(values: &[Felt], serializer: S) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(Some(values.len()))?;
            for value in values {
                seq.serialize_element(&to_hex(value))?;
            }
            seq.end()
        }

        /// Deserialises a list of felts from hex or decimal strings or JSON integers.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<Felt>, D::Error> {
            let values = Vec::<serde_json::Value>::deserialize(deserializer)?;
            values
                .iter()
                .map(felt_from_json)
                .collect::<Result<_, _>>()
                .map_err(serde::de::Error::custom)
        }
    }
}

/// Reads a felt from a JSON string (hex or decimal) or a non-negative JSON integer.
pub fn felt_from_json(value: &serde_json::Value) -> Result<Felt, FeltError> {
    match value {
        serde_json::Value::String(s) => parse_felt(s),
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(v) => Ok(Felt::from(v)),
            None => Err(FeltError::InvalidDigit(n.to_string())),
        },
        other => Err(FeltError::InvalidDigit(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_decimal_strictly() {
        assert_eq!(parse_felt("0x10").unwrap(), Felt::from(16u8));
        assert_eq!(parse_felt("0X0a").unwrap(), Felt::from(10u8));
        assert_eq!(parse_felt("1000000").unwrap(), Felt::from(1_000_000u32));
        assert_eq!(parse_felt(" 7 ").unwrap(), Felt::from(7u8));
        assert_eq!(parse_felt(""), Err(FeltError::Empty));
        assert_eq!(parse_felt("0x"), Err(FeltError::Empty));
        assert!(matches!(parse_felt("0xzz"), Err(FeltError::InvalidDigit(_))));
        assert!(matches!(parse_felt("-1"), Err(FeltError::InvalidDigit(_))));
        assert!(matches!(parse_felt("12a"), Err(FeltError::InvalidDigit(_))));
        // P - 1 is the largest felt; P itself is rejected, not reduced.
        let p_minus_1 = "0x800000000000011000000000000000000000000000000000000000000000000";
        assert_eq!(parse_felt(p_minus_1).unwrap(), Felt::MAX);
        let p = "0x800000000000011000000000000000000000000000000000000000000000001";
        assert!(matches!(parse_felt(p), Err(FeltError::OutOfRange(_))));
        assert!(matches!(parse_felt(&"9".repeat(200)), Err(FeltError::OutOfRange(_))));
    }

    #[test]
    fn formats_minimal_lowercase_hex() {
        assert_eq!(to_hex(&Felt::ZERO), "0x0");
        assert_eq!(to_hex(&Felt::from(0xABCu32)), "0xabc");
    }

    #[test]
    fn short_strings_round_trip() {
        let any = short_string("ANY_CALLER").unwrap();
        assert_eq!(to_hex(&any), "0x414e595f43414c4c4552");
        assert_eq!(decode_short_string(&any).as_deref(), Some("ANY_CALLER"));
        assert!(short_string(&"x".repeat(32)).is_err());
        assert!(short_string("pässword").is_err());
    }

    #[test]
    fn selectors_match_the_sdk() {
        // chipi-wire.md §1.3, computed with starknet.js `hash.getSelectorFromName`.
        assert_eq!(
            to_hex(&selector("add_or_update_session_key")),
            "0x27d4f8b711f8a318b18cac75c0b7c9941844dbbece6f62ca10111055acb64c1"
        );
        assert_eq!(
            to_hex(&selector("transfer")),
            "0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e"
        );
        assert_eq!(
            to_hex(&selector("approve")),
            "0x219209e083275171774dab1df80982e9df2096516f06319c5c6d71ae0a8480c"
        );
    }

    #[test]
    fn u256_limbs_and_arithmetic() {
        let v = U256 { high: 4, low: 5 };
        assert_eq!(v.to_felts(), [Felt::from(5u8), Felt::from(4u8)]);
        assert_eq!(U256::from_felts(&Felt::from(5u8), &Felt::from(4u8)).unwrap(), v);
        assert!(U256::from_felts(&Felt::MAX, &Felt::ZERO).is_err());
        assert_eq!(U256::MAX.checked_add(U256::from_u128(1)), None);
        assert_eq!(
            U256::from_u128(u128::MAX).checked_add(U256::from_u128(1)),
            Some(U256 { high: 1, low: 0 })
        );
        assert_eq!(U256::from_biguint(&U256::MAX.to_biguint()), Some(U256::MAX));
    }
}
