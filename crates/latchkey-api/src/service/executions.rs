//! Executions, for every dialect: a signed payload handed to the relayer under the
//! caller's idempotency key.

use latchkey_relayer::Submitted;
use latchkey_store::Wallet;

use crate::service::wallet_ref;
use crate::{idempotency, ApiError, AppState, Caller};

/// Submits `payload`, signed by `signature`, for `wallet` through its chain's relayer. With an
/// idempotency key, a retry of a submission that was already accepted gets that
/// submission back instead of a duplicate-execution refusal.
pub(crate) async fn execute_signed(
    state: &AppState,
    caller: &Caller,
    wallet: &Wallet,
    payload: &serde_json::Value,
    signature: &[String],
    idempotency_key: Option<&str>,
) -> Result<Submitted, ApiError> {
    let relayer = &state.chain_of(wallet)?.relayer;
    let outcome = relayer.execute(&wallet_ref(wallet)?, payload, signature, idempotency_key).await;
    idempotency::resume(state, &caller.org_id, idempotency_key, outcome).await
}
