//! Presenters shared by the dialects: domain records as the JSON every dialect answers
//! with, so that no dialect module reaches into another.

use latchkey_core::{to_hex, TypedData};
use latchkey_store::Request;
use serde::Serialize;
use utoipa::ToSchema;

use crate::util::iso8601;

/// A gasless execution and its state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionResponse {
    id: String,
    /// The chain (CAIP-2 id).
    chain: String,
    account: String,
    /// `prepared`, `recorded`, `submitting`, `submitted`, `pre_confirmed` (executed in the
    /// node's open block), `accepted` (in a block, not final yet: a reorg may undo it),
    /// then final: `succeeded`, `reverted`, `rejected`, `expired`.
    status: String,
    transaction_hash: Option<String>,
    /// Who signed it: `owner`, `session`, … (none before it was signed).
    kind: Option<String>,
    /// The session key that signed it, for a session's execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    session_public_key: Option<String>,
    purpose: String,
    /// Why it was refused or failed: a stable code…
    error_code: Option<String>,
    /// …and what happened.
    error_message: Option<String>,
    /// The fee paid, once final, in `feeUnit` (decimal).
    fee: Option<String>,
    /// `FRI` on Starknet, `WEI` on EVM chains.
    fee_unit: String,
    /// The fee in FRI, on Starknet rows (kept for clients of earlier releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    fee_fri: Option<String>,
    /// For a `reverted` execution whose window is still open: until when its signed
    /// outside execution could still run on chain (unix seconds)…
    #[serde(skip_serializing_if = "Option::is_none")]
    executable_until: Option<i64>,
    /// …and by whom: the address of the relayer account it is bound to (this service's,
    /// which never sends a final request again), or `anyone` for typed data signed with
    /// `ANY_CALLER`.
    #[serde(skip_serializing_if = "Option::is_none")]
    executable_by: Option<String>,
    created_at: String,
    updated_at: String,
}

/// For a reverted request whose window is open: until when, and by whom, its signed
/// outside execution could still run (R2-07).
fn still_executable(r: &Request) -> (Option<i64>, Option<String>) {
    if r.status != latchkey_store::RequestStatus::Reverted
        || r.execute_before <= crate::util::now_unix()
    {
        return (None, None);
    }
    let caller = serde_json::from_str::<TypedData>(&r.typed_data_json)
        .ok()
        .and_then(|typed| latchkey_core::OutsideExecution::from_typed_data(&typed).ok())
        .map(|(oe, _)| oe.caller);
    let by = match caller {
        Some(caller) if caller == latchkey_core::ANY_CALLER => "anyone".to_string(),
        Some(caller) => to_hex(&caller),
        None => return (None, None),
    };
    (Some(r.execute_before), Some(by))
}

impl From<&Request> for TransactionResponse {
    fn from(r: &Request) -> Self {
        let (executable_until, executable_by) = still_executable(r);
        let fee = if r.status.is_final() { r.fee.clone() } else { None };
        Self {
            id: r.id.clone(),
            chain: r.chain.clone(),
            account: r.account.clone(),
            status: r.status.as_str().to_string(),
            transaction_hash: r.tx_hash.clone(),
            kind: r.kind.clone(),
            session_public_key: r.session_public_key.clone(),
            purpose: r.purpose.clone(),
            error_code: r.error_code.clone(),
            error_message: r.error_message.clone(),
            fee: fee.clone(),
            fee_unit: r.fee_unit.clone(),
            fee_fri: if r.fee_unit == "FRI" { fee } else { None },
            executable_until,
            executable_by,
            created_at: iso8601(r.created_at),
            updated_at: iso8601(r.updated_at),
        }
    }
}
