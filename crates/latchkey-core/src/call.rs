//! Contract calls, as an account executes them.

use serde::{Deserialize, Serialize};

use crate::felt::{serde_hex, Felt};

/// One call of a multicall: target contract, entrypoint selector and calldata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Call {
    /// The contract called.
    #[serde(with = "serde_hex")]
    pub to: Felt,
    /// The entrypoint selector (`sn_keccak` of its name).
    #[serde(with = "serde_hex")]
    pub selector: Felt,
    /// The serialised arguments.
    #[serde(with = "serde_hex::vec")]
    pub calldata: Vec<Felt>,
}

impl Call {
    /// A call to `entrypoint` (by name) on `to`.
    pub fn new(to: Felt, entrypoint: &str, calldata: Vec<Felt>) -> Self {
        Self { to, selector: crate::felt::selector(entrypoint), calldata }
    }
}

/// Serialises calls as Cairo does for `Array<Call>` / `Span<Call>`:
/// `[n, (to, selector, calldata_len, calldata…)…]`.
pub fn serialize_calls(calls: &[Call], out: &mut Vec<Felt>) {
    out.push(Felt::from(calls.len() as u64));
    for call in calls {
        out.push(call.to);
        out.push(call.selector);
        out.push(Felt::from(call.calldata.len() as u64));
        out.extend_from_slice(&call.calldata);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;
    use crate::felt::tests::{any_felt, any_json, any_text};

    fn any_call() -> impl Strategy<Value = Call> {
        (any_felt(), any_felt(), prop::collection::vec(any_felt(), 0..6))
            .prop_map(|(to, selector, calldata)| Call { to, selector, calldata })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn calls_round_trip_through_json(calls in prop::collection::vec(any_call(), 0..4)) {
            let text = serde_json::to_string(&calls).unwrap();
            prop_assert_eq!(serde_json::from_str::<Vec<Call>>(&text).unwrap(), calls);
        }

        #[test]
        fn call_deserialisation_never_panics(text in any_text(), value in any_json()) {
            let _ = serde_json::from_str::<Vec<Call>>(&text);
            if let Ok(call) = serde_json::from_value::<Call>(value.clone()) {
                // The contract was read as a felt, from the `to` field or (serde reads a
                // struct from a list too) the first element.
                let to = value.get("to").or_else(|| value.get(0)).unwrap();
                prop_assert_eq!(crate::felt::felt_from_json(to), Ok(call.to));
            }
        }

        #[test]
        fn call_fields_accept_only_felts(to in any_json(), data in any_json()) {
            let value = json!({ "to": to, "selector": "0x1", "calldata": [data] });
            let parsed = serde_json::from_value::<Call>(value);
            let expected = crate::felt::felt_from_json(&to).is_ok()
                && crate::felt::felt_from_json(&data).is_ok();
            prop_assert_eq!(parsed.is_ok(), expected);
        }

        #[test]
        fn serialised_calls_have_the_cairo_layout(
            calls in prop::collection::vec(any_call(), 0..4),
        ) {
            let mut out = Vec::new();
            serialize_calls(&calls, &mut out);
            let expected = 1 + calls.iter().map(|c| 3 + c.calldata.len()).sum::<usize>();
            prop_assert_eq!(out.len(), expected);
            prop_assert_eq!(out[0], Felt::from(calls.len() as u64));
        }
    }

    #[test]
    fn calls_reject_missing_and_mistyped_fields() {
        for bad in [
            json!({}),
            json!({ "to": "0x1", "selector": "0x2" }),
            json!({ "to": "0x1", "selector": "0x2", "calldata": "0x3" }),
            json!({ "to": -1, "selector": "0x2", "calldata": [] }),
            json!({ "to": "0x1", "selector": "transfer", "calldata": [] }),
            Value::from("0x1"),
        ] {
            assert!(serde_json::from_value::<Call>(bad.clone()).is_err(), "{bad}");
        }
    }
}
