//! The small languages of the command line: `--allow CONTRACT:ENTRYPOINT` and
//! `--call CONTRACT:ENTRYPOINT[:FELT,FELT…]`.
//!
//! Contracts and calldata are felts, hex (`0x…`) or decimal; entrypoints are Cairo
//! function names (ASCII letters, digits and `_`).

use anyhow::{bail, Context};
use latchkey_core::{parse_felt, selector, serde_hex, AllowedMethod, Call, Felt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A method a session may call: a contract (`0x0` = any contract) and an entrypoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MethodSpec {
    /// The contract, or zero for any contract.
    #[serde(with = "serde_hex")]
    pub(crate) contract: Felt,
    /// The entrypoint name.
    pub(crate) entrypoint: String,
}

impl MethodSpec {
    /// Parses `CONTRACT:ENTRYPOINT`.
    pub(crate) fn parse(spec: &str) -> anyhow::Result<Self> {
        let (contract, entrypoint) = spec
            .split_once(':')
            .with_context(|| format!("--allow {spec:?}: expected CONTRACT:ENTRYPOINT"))?;
        let contract = parse_felt(contract)
            .map_err(|e| anyhow::anyhow!("--allow {spec:?}: bad contract: {e}"))?;
        check_entrypoint(entrypoint).with_context(|| format!("--allow {spec:?}"))?;
        Ok(Self { contract, entrypoint: entrypoint.to_string() })
    }

    /// The (contract, selector) pair the account stores.
    pub(crate) fn allowed_method(&self) -> AllowedMethod {
        AllowedMethod { contract: self.contract, selector: selector(&self.entrypoint) }
    }
}

/// One call of an execution: `CONTRACT:ENTRYPOINT[:FELT,FELT…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallSpec {
    /// The contract called.
    pub(crate) to: Felt,
    /// The entrypoint name.
    pub(crate) entrypoint: String,
    /// The serialised arguments.
    pub(crate) calldata: Vec<Felt>,
}

impl CallSpec {
    /// Parses `CONTRACT:ENTRYPOINT[:FELT,FELT…]`.
    pub(crate) fn parse(spec: &str) -> anyhow::Result<Self> {
        let mut parts = spec.splitn(3, ':');
        let (Some(to), Some(entrypoint)) = (parts.next(), parts.next()) else {
            bail!("--call {spec:?}: expected CONTRACT:ENTRYPOINT[:FELT,FELT…]");
        };
        let to =
            parse_felt(to).map_err(|e| anyhow::anyhow!("--call {spec:?}: bad contract: {e}"))?;
        if to == Felt::ZERO {
            bail!("--call {spec:?}: the contract must not be zero");
        }
        check_entrypoint(entrypoint).with_context(|| format!("--call {spec:?}"))?;
        let calldata = match parts.next() {
            None => Vec::new(),
            Some("") => Vec::new(),
            Some(list) => list
                .split(',')
                .enumerate()
                .map(|(i, item)| {
                    parse_felt(item).map_err(|e| {
                        anyhow::anyhow!("--call {spec:?}: calldata item {}: {e}", i + 1)
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        };
        Ok(Self { to, entrypoint: entrypoint.to_string(), calldata })
    }

    /// The call as the account executes it.
    pub(crate) fn call(&self) -> Call {
        Call::new(self.to, &self.entrypoint, self.calldata.clone())
    }

    /// The call in the body of `POST /api/wallets/{address}/prepare`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "to": latchkey_core::to_hex(&self.to),
            "entrypoint": self.entrypoint,
            "calldata": self.calldata.iter().map(latchkey_core::to_hex).collect::<Vec<_>>(),
        })
    }
}

fn check_entrypoint(name: &str) -> anyhow::Result<()> {
    if name.is_empty() {
        bail!("the entrypoint name is empty");
    }
    if name.len() > 256 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("bad entrypoint name {name:?} (letters, digits and _ only)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn allow_specs_parse_and_refuse_garbage() {
        let method = MethodSpec::parse("0x12:make_move").unwrap();
        assert_eq!(method.contract, Felt::from(0x12u8));
        assert_eq!(method.entrypoint, "make_move");
        assert_eq!(method.allowed_method().selector, selector("make_move"));
        assert_eq!(
            serde_json::to_value(&method).unwrap(),
            json!({"contract": "0x12", "entrypoint": "make_move"})
        );
        // Contract 0 means any contract; decimal works as well as hex.
        assert_eq!(MethodSpec::parse("0:transfer").unwrap().contract, Felt::ZERO);
        assert_eq!(MethodSpec::parse("18:transfer").unwrap().contract, Felt::from(18u8));
        for bad in ["0x12", "zz:make_move", "0x12:", "0x12:make-move", ":make_move", "0x12:a:b"] {
            assert!(MethodSpec::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn call_specs_parse_calldata() {
        let call = CallSpec::parse("0xabc:make_move:7,0x8").unwrap();
        assert_eq!(call.to, Felt::from(0xabcu32));
        assert_eq!(call.entrypoint, "make_move");
        assert_eq!(call.calldata, vec![Felt::from(7u8), Felt::from(8u8)]);
        assert_eq!(call.call().selector, selector("make_move"));
        assert_eq!(
            call.to_json(),
            json!({"to": "0xabc", "entrypoint": "make_move", "calldata": ["0x7", "0x8"]})
        );
        // No calldata, with or without the trailing colon.
        assert!(CallSpec::parse("0xabc:claim_reward").unwrap().calldata.is_empty());
        assert!(CallSpec::parse("0xabc:claim_reward:").unwrap().calldata.is_empty());
        // Spaces around items are tolerated.
        assert_eq!(CallSpec::parse("0xabc:f: 1, 2").unwrap().calldata.len(), 2);
    }

    #[test]
    fn call_specs_refuse_garbage_with_the_spec_in_the_message() {
        for bad in [
            "0xabc",
            "0x0:make_move",
            "nothex:make_move",
            "0xabc:",
            "0xabc:make move",
            "0xabc:make_move:7,,8",
            "0xabc:make_move:seven",
            "0xabc:make_move:0x800000000000011000000000000000000000000000000000000000000000001",
        ] {
            let err = CallSpec::parse(bad).expect_err(bad);
            assert!(format!("{err:#}").contains(bad), "{bad}: {err:#}");
        }
    }
}
