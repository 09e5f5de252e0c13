//! SNIP-9 v2 outside execution: the struct, its SNIP-12 revision 1 hash (u128
//! timestamps), the typed-data document a client signs, and the
//! `execute_from_outside_v2` calldata.

use indexmap::IndexMap;
use serde_json::{json, Value};
use starknet_rust_crypto::poseidon_hash_many;

use crate::call::{serialize_calls, Call};
use crate::felt::{decode_short_string, felt_from_json, felt_to_u64, short_string, to_hex, Felt};
use crate::snip12::{starknet_message_prefix, TypeMember, TypedData, TypedDataError};

/// `'ANY_CALLER'`: the caller value that lets any contract relay an outside execution.
pub const ANY_CALLER: Felt = Felt::from_hex_unchecked("0x414e595f43414c4c4552");

/// SNIP-12 type string of the domain (revision 1).
pub const DOMAIN_TYPE: &str = "\"StarknetDomain\"(\"name\":\"shortstring\",\"version\":\"shortstring\",\"chainId\":\"shortstring\",\"revision\":\"shortstring\")";
/// SNIP-12 type string of a call.
pub const CALL_TYPE: &str =
    "\"Call\"(\"To\":\"ContractAddress\",\"Selector\":\"selector\",\"Calldata\":\"felt*\")";
/// SNIP-12 type string of the SNIP-9 v2 outside execution, with u128 timestamps.
pub const OUTSIDE_EXECUTION_TYPE: &str = "\"OutsideExecution\"(\"Caller\":\"ContractAddress\",\"Nonce\":\"felt\",\"Execute After\":\"u128\",\"Execute Before\":\"u128\",\"Calls\":\"Call*\")\"Call\"(\"To\":\"ContractAddress\",\"Selector\":\"selector\",\"Calldata\":\"felt*\")";

/// `sn_keccak(DOMAIN_TYPE)`.
pub const DOMAIN_TYPE_HASH: Felt =
    Felt::from_hex_unchecked("0x1ff2f602e42168014d405a94f75e8a93d640751d71d16311266e140d8b0a210");
/// `sn_keccak(CALL_TYPE)`.
pub const CALL_TYPE_HASH: Felt =
    Felt::from_hex_unchecked("0x3635c7f2a7ba93844c0d064e18e487f35ab90f7c39d00f186a781fc3f0c2ca9");
/// `sn_keccak(OUTSIDE_EXECUTION_TYPE)`.
pub const OUTSIDE_EXECUTION_TYPE_HASH: Felt =
    Felt::from_hex_unchecked("0x312b56c05a7965066ddbda31c016d8d05afc305071c0ca3cdc2192c3c2f1f0f");

/// Domain name of SNIP-9 v2.
pub const DOMAIN_NAME: &str = "Account.execute_from_outside";
/// Domain version of SNIP-9 v2 (hashed as the integer 2).
pub const DOMAIN_VERSION: u64 = 2;

/// A SNIP-9 v2 outside execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideExecution {
    /// Who may relay it: a contract address or [`ANY_CALLER`].
    pub caller: Felt,
    /// A single-use nonce, random per execution.
    pub nonce: Felt,
    /// Valid strictly after this timestamp.
    pub execute_after: u64,
    /// Valid strictly before this timestamp.
    pub execute_before: u64,
    /// The calls the account makes.
    pub calls: Vec<Call>,
}

/// Why a typed-data document is not a SNIP-9 v2 outside execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutsideExecutionError {
    /// The document's types, domain or primary type are not exactly SNIP-9 v2's.
    #[error("not a SNIP-9 v2 outside execution: {0}")]
    WrongShape(String),
    /// A message value is malformed.
    #[error("invalid outside execution field {field}: {reason}")]
    InvalidField {
        /// The message field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The document cannot be hashed.
    #[error(transparent)]
    TypedData(#[from] TypedDataError),
}

impl OutsideExecution {
    /// The SNIP-12 domain hash for `chain_id` (a short-string felt such as `SN_SEPOLIA`).
    pub fn domain_hash(chain_id: &Felt) -> Felt {
        poseidon_hash_many(&[
            DOMAIN_TYPE_HASH,
            // 28 ASCII characters: a valid short string.
            Felt::from_bytes_be_slice(DOMAIN_NAME.as_bytes()),
            Felt::from(DOMAIN_VERSION),
            *chain_id,
            Felt::ONE,
        ])
    }

    /// The struct hash of the outside execution.
    pub fn struct_hash(&self) -> Felt {
        let call_hashes: Vec<Felt> = self
            .calls
            .iter()
            .map(|call| {
                poseidon_hash_many(&[
                    CALL_TYPE_HASH,
                    call.to,
                    call.selector,
                    poseidon_hash_many(&call.calldata),
                ])
            })
            .collect();
        poseidon_hash_many(&[
            OUTSIDE_EXECUTION_TYPE_HASH,
            self.caller,
            self.nonce,
            Felt::from(self.execute_after),
            Felt::from(self.execute_before),
            poseidon_hash_many(&call_hashes),
        ])
    }

    /// The message hash the account signs off and the contract recomputes.
    pub fn message_hash(&self, chain_id: &Felt, account: &Felt) -> Felt {
        poseidon_hash_many(&[
            starknet_message_prefix(),
            Self::domain_hash(chain_id),
            *account,
            self.struct_hash(),
        ])
    }

    /// The typed-data document for this execution, in starknet.js's layout. `chain_id`
    /// must be a short string (e.g. `SN_SEPOLIA`).
    pub fn to_typed_data(&self, chain_id: &Felt) -> TypedData {
        let chain = decode_short_string(chain_id).unwrap_or_else(|| to_hex(chain_id));
        let member = TypeMember::new;
        let mut types = IndexMap::new();
        types.insert(
            "StarknetDomain".to_string(),
            vec![
                member("name", "shortstring"),
                member("version", "shortstring"),
                member("chainId", "shortstring"),
                member("revision", "shortstring"),
            ],
        );
        types.insert(
            "OutsideExecution".to_string(),
            vec![
                member("Caller", "ContractAddress"),
                member("Nonce", "felt"),
                member("Execute After", "u128"),
                member("Execute Before", "u128"),
                member("Calls", "Call*"),
            ],
        );
        types.insert(
            "Call".to_string(),
            vec![
                member("To", "ContractAddress"),
                member("Selector", "selector"),
                member("Calldata", "felt*"),
            ],
        );
        TypedData {
            types,
            primary_type: "OutsideExecution".to_string(),
            domain: json!({
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION.to_string(),
                "chainId": chain,
                "revision": "1"
            }),
            message: json!({
                "Caller": to_hex(&self.caller),
                "Nonce": to_hex(&self.nonce),
                "Execute After": format!("{:#x}", self.execute_after),
                "Execute Before": format!("{:#x}", self.execute_before),
                "Calls": self.calls.iter().map(|c| json!({
                    "To": to_hex(&c.to),
                    "Selector": to_hex(&c.selector),
                    "Calldata": c.calldata.iter().map(to_hex).collect::<Vec<_>>()
                })).collect::<Vec<_>>()
            }),
        }
    }

    /// Reads an outside execution back from a typed-data document, insisting that its
    /// types and domain are exactly SNIP-9 v2's (so the one canonical hash applies).
    /// Returns the execution and the chain id named in the domain.
    pub fn from_typed_data(td: &TypedData) -> Result<(Self, Felt), OutsideExecutionError> {
        let wrong = |what: &str| OutsideExecutionError::WrongShape(what.to_string());
        let expected = Self {
            caller: Felt::ZERO,
            nonce: Felt::ZERO,
            execute_after: 0,
            execute_before: 0,
            calls: vec![],
        }
        .to_typed_data(&Felt::ZERO);
        if td.primary_type != "OutsideExecution" {
            return Err(wrong("primaryType must be OutsideExecution"));
        }
        if td.types.len() != expected.types.len()
            || expected.types.iter().any(|(name, members)| td.types.get(name) != Some(members))
        {
            return Err(wrong("types differ from SNIP-9 v2 (u128 timestamps)"));
        }
        td.check_revision()?;
        let domain = td.domain.as_object().ok_or_else(|| wrong("domain must be an object"))?;
        if domain.len() != 4 {
            return Err(wrong("domain must have exactly name, version, chainId, revision"));
        }
        let text = |v: Option<&Value>| -> Option<String> {
            match v? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        if text(domain.get("name")).as_deref() != Some(DOMAIN_NAME) {
            return Err(wrong("domain name must be Account.execute_from_outside"));
        }
        if text(domain.get("version")).as_deref() != Some("2") {
            return Err(wrong("domain version must be 2"));
        }
        let chain = text(domain.get("chainId")).ok_or_else(|| wrong("domain chainId missing"))?;
        let chain_id =
            short_string(&chain).map_err(|_| wrong("domain chainId is not a short string"))?;

        let msg = td.message.as_object().ok_or_else(|| wrong("message must be an object"))?;
        let felt = |field: &'static str,
                    v: Option<&Value>|
         -> Result<Felt, OutsideExecutionError> {
            let v =
                v.ok_or(OutsideExecutionError::InvalidField { field, reason: "missing".into() })?;
            felt_from_json(v)
                .map_err(|e| OutsideExecutionError::InvalidField { field, reason: e.to_string() })
        };
        let timestamp = |field: &'static str| -> Result<u64, OutsideExecutionError> {
            let f = felt(field, msg.get(field))?;
            felt_to_u64(&f)
                .map_err(|e| OutsideExecutionError::InvalidField { field, reason: e.to_string() })
        };
        let calls_value = msg.get("Calls").and_then(Value::as_array).ok_or(
            OutsideExecutionError::InvalidField {
                field: "Calls",
                reason: "expected an array".into(),
            },
        )?;
        let mut calls = Vec::with_capacity(calls_value.len());
        for call in calls_value {
            let selector = match call.get("Selector") {
                Some(Value::String(s)) if !s.starts_with("0x") && !s.starts_with("0X") => {
                    crate::felt::selector(s)
                }
                other => felt("Selector", other)?,
            };
            let calldata = call
                .get("Calldata")
                .and_then(Value::as_array)
                .ok_or(OutsideExecutionError::InvalidField {
                    field: "Calldata",
                    reason: "expected an array".into(),
                })?
                .iter()
                .map(|v| felt("Calldata", Some(v)))
                .collect::<Result<Vec<_>, _>>()?;
            calls.push(Call { to: felt("To", call.get("To"))?, selector, calldata });
        }
        let oe = Self {
            caller: felt("Caller", msg.get("Caller"))?,
            nonce: felt("Nonce", msg.get("Nonce"))?,
            execute_after: timestamp("Execute After")?,
            execute_before: timestamp("Execute Before")?,
            calls,
        };
        Ok((oe, chain_id))
    }

    /// Calldata of `execute_from_outside_v2(outside_execution, signature)`.
    pub fn to_calldata(&self, signature: &[Felt]) -> Vec<Felt> {
        let mut out = vec![
            self.caller,
            self.nonce,
            Felt::from(self.execute_after),
            Felt::from(self.execute_before),
        ];
        serialize_calls(&self.calls, &mut out);
        out.push(Felt::from(signature.len() as u64));
        out.extend_from_slice(signature);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::felt::starknet_keccak;

    #[test]
    fn type_hashes_come_from_the_type_strings() {
        assert_eq!(starknet_keccak(DOMAIN_TYPE.as_bytes()), DOMAIN_TYPE_HASH);
        assert_eq!(starknet_keccak(CALL_TYPE.as_bytes()), CALL_TYPE_HASH);
        assert_eq!(starknet_keccak(OUTSIDE_EXECUTION_TYPE.as_bytes()), OUTSIDE_EXECUTION_TYPE_HASH);
    }

    #[test]
    fn typed_data_round_trip_and_hash_agree() {
        let oe = OutsideExecution {
            caller: ANY_CALLER,
            nonce: Felt::from(0x1234u32),
            execute_after: 100,
            execute_before: 200,
            calls: vec![Call::new(
                Felt::from(5u8),
                "transfer",
                vec![Felt::ONE, Felt::TWO, Felt::ZERO],
            )],
        };
        let chain = short_string("SN_SEPOLIA").unwrap();
        let account = Felt::from(77u8);
        let td = oe.to_typed_data(&chain);
        assert_eq!(td.message_hash(&account).unwrap(), oe.message_hash(&chain, &account));
        let (back, back_chain) = OutsideExecution::from_typed_data(&td).unwrap();
        assert_eq!(back, oe);
        assert_eq!(back_chain, chain);
    }

    #[test]
    fn felt_timestamp_variant_is_refused() {
        let oe = OutsideExecution {
            caller: ANY_CALLER,
            nonce: Felt::ONE,
            execute_after: 1,
            execute_before: 2,
            calls: vec![],
        };
        let mut td = oe.to_typed_data(&short_string("SN_MAIN").unwrap());
        if let Some(members) = td.types.get_mut("OutsideExecution") {
            members[2].r#type = "felt".into();
            members[3].r#type = "felt".into();
        }
        assert!(matches!(
            OutsideExecution::from_typed_data(&td),
            Err(OutsideExecutionError::WrongShape(_))
        ));
    }
}
