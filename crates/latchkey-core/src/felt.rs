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
    let bytes = accumulate(digits, radix).ok_or_else(|| FeltError::OutOfRange(truncate(s)))?;
    if bytes > Felt::MAX.to_bytes_be() {
        return Err(FeltError::OutOfRange(truncate(s)));
    }
    Ok(Felt::from_bytes_be(&bytes))
}

/// The big-endian 256-bit value of `digits` (each a digit of `radix`), or `None` when it
/// does not fit in 256 bits. Fixed-width arithmetic: parsing a felt needs no big-integer
/// library (which would weigh on the browser's WebAssembly).
fn accumulate(digits: &str, radix: u32) -> Option<[u8; 32]> {
    // Little-endian 64-bit limbs.
    let mut limbs = [0u64; 4];
    for c in digits.chars() {
        let mut carry = u128::from(c.to_digit(radix)?);
        for limb in &mut limbs {
            let v = u128::from(*limb) * u128::from(radix) + carry;
            // Keeps the low 64 bits; the high ones carry into the next limb.
            *limb = v as u64;
            carry = v >> 64;
        }
        if carry != 0 {
            return None;
        }
    }
    let mut bytes = [0u8; 32];
    for (chunk, limb) in bytes.chunks_exact_mut(8).zip(limbs.iter().rev()) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    Some(bytes)
}

/// The first 24 characters of `s` (never cut inside a character), for error messages.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(24) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// Minimal lowercase hex with `0x` (`0x0` for zero), as starknet.js prints felts.
pub fn to_hex(value: &Felt) -> String {
    format!("{value:#x}")
}

/// A uniformly random felt below 2^251 drawn from `rng`: single-use nonces and
/// challenges.
pub fn random_felt(rng: &mut impl rand_core::CryptoRngCore) -> Felt {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    bytes[0] &= 0x07;
    Felt::from_bytes_be(&bytes)
}

/// Encodes an ASCII string of at most 31 characters as a Cairo short string.
pub fn short_string(s: &str) -> Result<Felt, FeltError> {
    if s.len() > 31 || !s.is_ascii() {
        return Err(FeltError::InvalidShortString(truncate(s)));
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
            None => Err(FeltError::InvalidDigit(truncate(&n.to_string()))),
        },
        // Arrays and objects can be large: the message shows only their start.
        other => Err(FeltError::InvalidDigit(truncate(&other.to_string()))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Felts across the whole range: small integers, edge values and reduced 256-bit
    /// patterns.
    pub(crate) fn any_felt() -> impl Strategy<Value = Felt> {
        prop_oneof![
            any::<u64>().prop_map(Felt::from),
            any::<u128>().prop_map(Felt::from),
            prop::array::uniform32(any::<u8>()).prop_map(|b| Felt::from_bytes_be(&b)),
            Just(Felt::ZERO),
            Just(Felt::MAX),
        ]
    }

    /// Strings a caller might send: anything at all, multi-byte text, and near misses of
    /// numbers (hex and decimal digits, prefixes, signs, whitespace, overlong runs).
    pub(crate) fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ \t]{0,2}[-+]?(0x|0X)?[0-9a-fA-F]{0,70}[ \n]{0,2}",
            "[0-9]{60,90}",
            "(0x|0X)?[0-9a-fé€𝄞ä\u{0}\u{7f} _.,]{0,40}",
            "[ -~]{0,40}",
        ]
    }

    /// JSON values of every kind, nested a few levels, with [`any_text`] strings.
    pub(crate) fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any_text().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec((any_text(), inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// The digits of a number as the parsers split them: after `0x`/`0X` in base 16,
    /// otherwise in base 10.
    fn split_radix(s: &str) -> (&str, u32) {
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => (hex, 16),
            None => (s, 10),
        }
    }

    /// Longest error message a parser may produce: the fixed text plus 24 characters of
    /// the input.
    fn assert_short_message(err: &FeltError) {
        let message = err.to_string();
        assert!(message.chars().count() <= 160, "{message}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parse_felt_never_panics_and_accepts_only_canonical_values(input in any_text()) {
            match parse_felt(&input) {
                Ok(value) => {
                    let (digits, radix) = split_radix(input.trim());
                    let expected = BigUint::parse_bytes(digits.as_bytes(), radix).unwrap();
                    prop_assert_eq!(value.to_biguint(), expected);
                }
                Err(err) => assert_short_message(&err),
            }
        }

        #[test]
        fn parse_felt_round_trips_every_felt(value in any_felt(), pad in 0usize..4) {
            prop_assert_eq!(parse_felt(&to_hex(&value)), Ok(value));
            prop_assert_eq!(parse_felt(&value.to_biguint().to_string()), Ok(value));
            let upper = format!("0X{:064X}", value.to_biguint());
            prop_assert_eq!(parse_felt(&upper), Ok(value));
            let spaced = format!("{}{}\n", " ".repeat(pad), to_hex(&value));
            prop_assert_eq!(parse_felt(&spaced), Ok(value));
        }

        #[test]
        fn parse_felt_rejects_values_from_the_prime_up(
            offset in prop::array::uniform32(any::<u8>()),
        ) {
            // P + offset, kept below 2^256 so the hex stays 64 digits.
            let p = Felt::MAX.to_biguint() + 1u8;
            let room = (BigUint::from(1u8) << 256u32) - &p;
            let value = &p + BigUint::from_bytes_be(&offset) % room;
            let hex = format!("{value:#x}");
            prop_assert!(matches!(parse_felt(&hex), Err(FeltError::OutOfRange(_))));
            prop_assert!(matches!(parse_felt(&value.to_string()), Err(FeltError::OutOfRange(_))));
        }

        #[test]
        fn felt_from_json_never_panics_and_reads_strings_and_integers(value in any_json()) {
            let result = felt_from_json(&value);
            match &value {
                Value::String(s) => prop_assert_eq!(&result, &parse_felt(s)),
                Value::Number(n) => {
                    prop_assert_eq!(result.clone().ok(), n.as_u64().map(Felt::from));
                }
                _ => prop_assert!(result.is_err()),
            }
            if let Err(err) = &result {
                assert_short_message(err);
            }
        }

        #[test]
        fn felt_serde_round_trips(values in prop::collection::vec(any_felt(), 0..8)) {
            #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
            struct Doc {
                #[serde(with = "serde_hex")]
                one: Felt,
                #[serde(with = "serde_hex::vec")]
                many: Vec<Felt>,
            }
            let doc = Doc { one: values.first().copied().unwrap_or_default(), many: values };
            let text = serde_json::to_string(&doc).unwrap();
            prop_assert_eq!(serde_json::from_str::<Doc>(&text).unwrap(), doc);
        }

        #[test]
        fn short_string_never_panics_and_checks_length_and_ascii(input in any_text()) {
            let result = short_string(&input);
            prop_assert_eq!(result.is_ok(), input.len() <= 31 && input.is_ascii());
            if let Err(err) = &result {
                assert_short_message(err);
            }
        }

        #[test]
        fn short_strings_of_printable_ascii_round_trip(text in "[ -~]{1,31}") {
            let value = short_string(&text).unwrap();
            prop_assert_eq!(decode_short_string(&value), Some(text));
        }

        #[test]
        fn decode_short_string_never_panics_and_inverts_short_string(value in any_felt()) {
            if let Some(text) = decode_short_string(&value) {
                prop_assert!(!text.is_empty() && text.len() <= 31);
                prop_assert!(text.bytes().all(|b| (0x20..0x7f).contains(&b)));
                prop_assert_eq!(short_string(&text), Ok(value));
            }
        }

        #[test]
        fn selectors_of_any_name_fit_in_250_bits(name in any_text()) {
            let value = selector(&name);
            prop_assert!(value.to_biguint().bits() <= 250);
            prop_assert_eq!(value, starknet_keccak(name.as_bytes()));
        }

        #[test]
        fn felt_integer_conversions_never_panic(value in any_felt()) {
            let big = value.to_biguint();
            prop_assert_eq!(felt_to_u32(&value).ok(), u32::try_from(&big).ok());
            prop_assert_eq!(felt_to_u64(&value).ok(), u64::try_from(&big).ok());
            prop_assert_eq!(felt_to_u128(&value).ok(), u128::try_from(&big).ok());
        }

        #[test]
        fn parse_u256_never_panics_on_any_json(value in any_json()) {
            if let Some(amount) = parse_u256(&value) {
                match &value {
                    Value::Number(n) => {
                        let expected = n.as_u64().map(|n| U256::from_u128(n.into()));
                        prop_assert_eq!(Some(amount), expected);
                    }
                    Value::String(s) => prop_assert!(s.trim().len() <= MAX_INPUT_LEN),
                    other => prop_assert!(false, "accepted {}", other),
                }
            }
            // The serde path agrees with parse_u256.
            prop_assert_eq!(serde_json::from_value::<U256>(value.clone()).ok(), parse_u256(&value));
        }

        #[test]
        fn parse_u256_reads_string_digits_exactly(input in any_text()) {
            if let Some(amount) = parse_u256(&Value::from(input.as_str())) {
                let (digits, radix) = split_radix(input.trim());
                prop_assert_eq!(
                    Some(amount.to_biguint()),
                    BigUint::parse_bytes(digits.as_bytes(), radix)
                );
            }
        }

        #[test]
        fn u256_round_trips_through_text_limbs_and_json(
            high in any::<u128>(),
            low in any::<u128>(),
        ) {
            let value = U256 { high, low };
            prop_assert_eq!(parse_u256(&Value::from(value.to_string())), Some(value));
            let hex = format!("{:#x}", value.to_biguint());
            prop_assert_eq!(parse_u256(&Value::from(hex)), Some(value));
            let [low_felt, high_felt] = value.to_felts();
            prop_assert_eq!(U256::from_felts(&low_felt, &high_felt), Ok(value));
            prop_assert_eq!(U256::from_biguint(&value.to_biguint()), Some(value));
            let json = serde_json::to_value(value).unwrap();
            prop_assert_eq!(serde_json::from_value::<U256>(json).unwrap(), value);
        }

        #[test]
        fn u256_from_felts_rejects_limbs_above_u128(low in any_felt(), high in any_felt()) {
            let fits = |f: &Felt| f.to_biguint().bits() <= 128;
            let result = U256::from_felts(&low, &high);
            prop_assert_eq!(result.is_ok(), fits(&low) && fits(&high));
        }

        #[test]
        fn u256_checked_add_matches_big_integers(
            a in (any::<u128>(), any::<u128>()),
            b in (any::<u128>(), any::<u128>()),
        ) {
            let (a, b) = (U256 { high: a.0, low: a.1 }, U256 { high: b.0, low: b.1 });
            let sum = a.to_biguint() + b.to_biguint();
            prop_assert_eq!(a.checked_add(b), U256::from_biguint(&sum));
        }
    }

    #[test]
    fn parse_felt_errors_cut_multi_byte_input_on_character_boundaries() {
        // The fuzzer's case: 24 bytes fall inside a multi-byte character.
        let input = format!("{}é{}", "1".repeat(23), "€".repeat(40));
        let err = parse_felt(&input).unwrap_err();
        assert!(matches!(err, FeltError::InvalidDigit(_) | FeltError::OutOfRange(_)), "{err}");
        let wide = "𝄞".repeat(30);
        assert!(matches!(parse_felt(&wide), Err(FeltError::OutOfRange(_))));
        assert!(matches!(short_string(&wide), Err(FeltError::InvalidShortString(_))));
    }

    #[test]
    fn error_messages_do_not_echo_large_inputs() {
        let long = "x".repeat(10_000);
        for err in [
            short_string(&long).unwrap_err(),
            felt_from_json(&Value::from(vec![Value::from(long.as_str())])).unwrap_err(),
            felt_from_json(&serde_json::json!({ "a": long })).unwrap_err(),
            felt_from_json(&Value::from(-1.5e300)).unwrap_err(),
        ] {
            assert_short_message(&err);
        }
    }

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
