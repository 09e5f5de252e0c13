//! `u128` as a JSON-RPC quantity (`"0x…"` hex string), the ERC-4337 RPC wire format.

use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{value:#x}"))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
    let text = String::deserialize(deserializer)?;
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| D::Error::custom("a quantity is a 0x-prefixed hex string"))?;
    if digits.is_empty() {
        return Err(D::Error::custom("empty quantity"));
    }
    u128::from_str_radix(digits, 16).map_err(D::Error::custom)
}
