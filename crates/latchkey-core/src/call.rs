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
