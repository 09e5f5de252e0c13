//! SNIP-9 v2 outside execution: the struct, its SNIP-12 revision 1 hash (u128
//! timestamps), the typed-data document a client signs, and the
//! `execute_from_outside_v2` calldata.

use indexmap::IndexMap;
use serde_json::{json, Value};
use starknet_rust_crypto::poseidon_hash_many;

use crate::call::{serialize_calls, Call};
use crate::felt::{decode_short_string, felt_from_json, felt_to_u64, to_hex, Felt};
use crate::snip12::{
    is_js_hex, reads_as_integer, shortstring_value, starknet_message_prefix, TypeMember, TypedData,
    TypedDataError,
};

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

    /// The typed-data document for this execution, in starknet.js's layout. The chain id
    /// is written as its short string (e.g. `SN_SEPOLIA`), or as hex when it is not one or
    /// its text would read as a number.
    pub fn to_typed_data(&self, chain_id: &Felt) -> TypedData {
        let chain = decode_short_string(chain_id)
            .filter(|text| !reads_as_integer(text))
            .unwrap_or_else(|| to_hex(chain_id));
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
    /// Returns the execution and the chain id named in the domain. Every value is read as
    /// [`TypedData::message_hash`] encodes it, so the execution's hash is the document's.
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
        let chain = domain
            .get("chainId")
            .filter(|v| v.is_string() || v.is_number())
            .ok_or_else(|| wrong("domain chainId missing"))?;
        // As the hash encodes it: `"SN_MAIN"` and `"0x534e5f4d41494e"` are the same chain.
        let chain_id =
            shortstring_value(chain).map_err(|_| wrong("domain chainId is not a short string"))?;

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
            // A name, or a hex selector (surrounding whitespace allowed), as the hash reads
            // it; the `selector` type takes only strings.
            let selector = match call.get("Selector") {
                Some(Value::String(s)) if !is_js_hex(s) => crate::felt::selector(s),
                Some(v @ Value::String(_)) => felt("Selector", Some(v))?,
                Some(_) => {
                    return Err(OutsideExecutionError::InvalidField {
                        field: "Selector",
                        reason: "expected a function name or hex selector".into(),
                    })
                }
                None => felt("Selector", None)?,
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
    use proptest::prelude::*;

    use super::*;
    use crate::felt::tests::{any_felt, any_json};
    use crate::felt::{short_string, starknet_keccak};

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
    fn any_call() -> impl Strategy<Value = Call> {
        (any_felt(), any_felt(), prop::collection::vec(any_felt(), 0..4))
            .prop_map(|(to, selector, calldata)| Call { to, selector, calldata })
    }

    fn any_execution() -> impl Strategy<Value = OutsideExecution> {
        (
            any_felt(),
            any_felt(),
            any::<u64>(),
            any::<u64>(),
            prop::collection::vec(any_call(), 0..3),
        )
            .prop_map(|(caller, nonce, execute_after, execute_before, calls)| {
                OutsideExecution { caller, nonce, execute_after, execute_before, calls }
            })
    }

    /// Chain ids: the real ones, short strings (some all digits) and any felt.
    fn any_chain_id() -> impl Strategy<Value = Felt> {
        prop_oneof![
            Just(short_string("SN_MAIN").unwrap()),
            Just(short_string("SN_SEPOLIA").unwrap()),
            "[ -~]{1,31}".prop_map(|s| short_string(&s).unwrap()),
            "[0-9]{1,12}".prop_map(|s| short_string(&s).unwrap()),
            any_felt(),
        ]
    }

    /// What a client might put in a field: hex with whitespace around it, digits, names
    /// and short strings, integers, and any JSON.
    fn field_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[ \t]{0,2}(0x|0X)[0-9a-f]{0,6}[ ]?".prop_map(Value::from),
            "[ ]?[0-9]{1,6}".prop_map(Value::from),
            "[A-Za-z_ ]{0,10}".prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any_json(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn outside_execution_round_trips_through_typed_data(
            oe in any_execution(),
            chain in any_chain_id(),
            account in any_felt(),
        ) {
            let td = oe.to_typed_data(&chain);
            prop_assert_eq!(td.message_hash(&account), Ok(oe.message_hash(&chain, &account)));
            let text = serde_json::to_string(&td).unwrap();
            let back = TypedData::from_json(&text).unwrap();
            prop_assert_eq!(OutsideExecution::from_typed_data(&back), Ok((oe, chain)));
        }

        #[test]
        fn from_typed_data_reads_every_value_as_the_hash_does(
            oe in any_execution(),
            chain in any_chain_id(),
            account in any_felt(),
            place in 0usize..9,
            value in field_value(),
        ) {
            let mut td = oe.to_typed_data(&chain);
            let slot = match place {
                0 => td.domain.get_mut("chainId"),
                1 => td.domain.get_mut("version"),
                2 => td.domain.get_mut("revision"),
                3 => td.message.get_mut("Caller"),
                4 => td.message.get_mut("Nonce"),
                5 => td.message.get_mut("Execute After"),
                6 => td.message.pointer_mut("/Calls/0/Selector"),
                7 => td.message.pointer_mut("/Calls/0/To"),
                _ => td.message.pointer_mut("/Calls/0/Calldata/0"),
            };
            if let Some(slot) = slot {
                *slot = value;
            }
            // Whatever is accepted is signed as the document hashes it.
            if let Ok((read, read_chain)) = OutsideExecution::from_typed_data(&td) {
                let expected = read.message_hash(&read_chain, &account);
                prop_assert_eq!(td.message_hash(&account), Ok(expected));
            }
        }

        #[test]
        fn from_typed_data_never_panics_on_any_json(
            document in any_json(),
            domain in any_json(),
            message in any_json(),
        ) {
            if let Ok(td) = serde_json::from_value::<TypedData>(document) {
                let read = OutsideExecution::from_typed_data(&td);
                prop_assert!(read.is_err() || td.primary_type == "OutsideExecution");
            }
            let mut td = OutsideExecution {
                caller: ANY_CALLER,
                nonce: Felt::ONE,
                execute_after: 1,
                execute_before: 2,
                calls: vec![],
            }
            .to_typed_data(&short_string("SN_MAIN").unwrap());
            td.message = message;
            if let Ok((read, chain)) = OutsideExecution::from_typed_data(&td) {
                let expected = read.message_hash(&chain, &Felt::ONE);
                prop_assert_eq!(td.message_hash(&Felt::ONE), Ok(expected));
            }
            td.domain = domain;
            prop_assert!(OutsideExecution::from_typed_data(&td).is_err() || td.domain.is_object());
        }
    }

    fn sample_execution() -> OutsideExecution {
        OutsideExecution {
            caller: ANY_CALLER,
            nonce: Felt::from(9u8),
            execute_after: 1,
            execute_before: 2,
            calls: vec![Call {
                to: Felt::from(5u8),
                selector: Felt::from(0x12u8),
                calldata: vec![],
            }],
        }
    }

    #[test]
    fn a_hex_selector_with_spaces_is_read_as_the_hash_reads_it() {
        // The hash trims " 0x12" to the number 0x12; reading it as the name " 0x12" gave
        // an execution whose hash differed from the signed document's.
        let oe = sample_execution();
        let chain = short_string("SN_MAIN").unwrap();
        let mut td = oe.to_typed_data(&chain);
        td.message["Calls"][0]["Selector"] = Value::from(" 0x12");
        let (read, _) = OutsideExecution::from_typed_data(&td).unwrap();
        assert_eq!(read, oe);
        assert_eq!(td.message_hash(&Felt::ONE), Ok(read.message_hash(&chain, &Felt::ONE)));
        // The `selector` type takes only strings.
        td.message["Calls"][0]["Selector"] = Value::from(18);
        assert!(matches!(
            OutsideExecution::from_typed_data(&td),
            Err(OutsideExecutionError::InvalidField { field: "Selector", .. })
        ));
        assert!(td.message_hash(&Felt::ONE).is_err());
    }

    #[test]
    fn chain_ids_are_read_as_the_hash_reads_them() {
        let oe = sample_execution();
        // starknet.js constants spell chain ids in hex; the hash reads digits as a number.
        let sepolia = short_string("SN_SEPOLIA").unwrap();
        for (written, expected) in [
            (Value::from("SN_SEPOLIA"), sepolia),
            (Value::from(to_hex(&sepolia)), sepolia),
            (Value::from("123"), Felt::from(123u8)),
            (Value::from(123), Felt::from(123u8)),
        ] {
            let mut td = oe.to_typed_data(&sepolia);
            td.domain["chainId"] = written.clone();
            let (_, chain) = OutsideExecution::from_typed_data(&td).unwrap();
            assert_eq!(chain, expected, "{written}");
            assert_eq!(td.message_hash(&Felt::ONE), Ok(oe.message_hash(&chain, &Felt::ONE)));
        }
        // A chain id whose text reads as a number is written in hex, and round trips.
        let numeric = short_string("123").unwrap();
        let td = oe.to_typed_data(&numeric);
        assert_eq!(td.domain["chainId"], Value::from(to_hex(&numeric)));
        assert_eq!(OutsideExecution::from_typed_data(&td), Ok((oe, numeric)));
    }
}
