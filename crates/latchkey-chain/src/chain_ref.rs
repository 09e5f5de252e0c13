//! CAIP-2 chain ids: `namespace:reference`, such as `starknet:SN_SEPOLIA` or
//! `eip155:31337`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The chain families latchkey speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Starknet (CAIP-2 namespace `starknet`).
    Starknet,
    /// EVM chains (CAIP-2 namespace `eip155`).
    Evm,
}

impl Family {
    /// `starknet` or `evm`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Starknet => "starknet",
            Self::Evm => "evm",
        }
    }

    /// The curve of the family's account keys, as key envelopes name it.
    pub const fn key_curve(self) -> latchkey_core::keystore::Curve {
        match self {
            Self::Starknet => latchkey_core::keystore::Curve::Stark,
            Self::Evm => latchkey_core::keystore::Curve::Secp256k1,
        }
    }
}

/// A CAIP-2 chain id of a family latchkey speaks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainRef {
    text: String,
    split: usize,
}

/// Why a text is not a CAIP-2 chain id latchkey serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainRefError {
    /// Not `namespace:reference` with CAIP-2's characters and lengths.
    #[error(
        "a chain id is CAIP-2 `namespace:reference` (such as starknet:SN_SEPOLIA or eip155:1)"
    )]
    Malformed,
    /// A well-formed id of a family latchkey does not speak.
    #[error("chain namespace {0:?} is not supported (starknet, eip155)")]
    Unsupported(String),
}

impl ChainRef {
    /// Parses and checks `namespace:reference` (namespace `[-a-z0-9]{3,8}`, reference
    /// `[-_a-zA-Z0-9]{1,32}`), for the namespaces latchkey speaks. An `eip155` reference
    /// is a decimal chain id without leading zeros.
    pub fn parse(text: &str) -> Result<Self, ChainRefError> {
        let (namespace, reference) = text.split_once(':').ok_or(ChainRefError::Malformed)?;
        let namespace_ok = (3..=8).contains(&namespace.len())
            && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let reference_ok = (1..=32).contains(&reference.len())
            && reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !namespace_ok || !reference_ok {
            return Err(ChainRefError::Malformed);
        }
        match namespace {
            "starknet" => {}
            "eip155" => {
                let decimal = reference.bytes().all(|b| b.is_ascii_digit())
                    && (reference == "0" || !reference.starts_with('0'));
                if !decimal {
                    return Err(ChainRefError::Malformed);
                }
            }
            other => return Err(ChainRefError::Unsupported(other.to_string())),
        }
        Ok(Self { text: text.to_string(), split: namespace.len() })
    }

    /// The Starknet chain whose chain id is the short string `name` (`SN_SEPOLIA`).
    pub fn starknet(name: &str) -> Result<Self, ChainRefError> {
        Self::parse(&format!("starknet:{name}"))
    }

    /// The EVM chain with EIP-155 chain id `chain_id`.
    pub fn eip155(chain_id: u64) -> Self {
        let text = format!("eip155:{chain_id}");
        Self { split: "eip155".len(), text }
    }

    /// The family.
    pub fn family(&self) -> Family {
        if self.namespace() == "eip155" {
            Family::Evm
        } else {
            Family::Starknet
        }
    }

    /// The namespace (`starknet`, `eip155`).
    pub fn namespace(&self) -> &str {
        &self.text[..self.split]
    }

    /// The reference (`SN_SEPOLIA`, `31337`).
    pub fn reference(&self) -> &str {
        &self.text[self.split + 1..]
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ChainRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ChainRef {
    type Err = ChainRefError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for ChainRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ChainRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caip2_ids_parse_and_print_back() {
        for (text, family, reference) in [
            ("starknet:SN_SEPOLIA", Family::Starknet, "SN_SEPOLIA"),
            ("starknet:SN_MAIN", Family::Starknet, "SN_MAIN"),
            ("eip155:31337", Family::Evm, "31337"),
            ("eip155:1", Family::Evm, "1"),
        ] {
            let id = ChainRef::parse(text).unwrap();
            assert_eq!(
                (id.family(), id.reference(), id.to_string()),
                (family, reference, text.into())
            );
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<ChainRef>(&json).unwrap(), id);
        }
        assert_eq!(ChainRef::eip155(31337).as_str(), "eip155:31337");
        assert_eq!(ChainRef::starknet("SN_SEPOLIA").unwrap().namespace(), "starknet");
    }

    #[test]
    fn malformed_and_foreign_ids_are_refused() {
        for text in [
            "",
            "starknet",
            ":x",
            "starknet:",
            "Starknet:SN",
            "eip155:01",
            "eip155:0x1",
            "starknet:SN SEPOLIA",
            "eip155:1:2",
            "ab:1",
            &format!("starknet:{}", "A".repeat(33)),
        ] {
            assert_eq!(ChainRef::parse(text), Err(ChainRefError::Malformed), "{text}");
        }
        assert_eq!(
            ChainRef::parse("cosmos:cosmoshub-4"),
            Err(ChainRefError::Unsupported("cosmos".into()))
        );
    }
}
