//! Executions, for every dialect: a signed payload handed to the relayer under the
//! caller's idempotency key.

use latchkey_core::TypedData;
use latchkey_relayer::Submitted;
use latchkey_store::Wallet;

use crate::service::wallet_ref;
use crate::{idempotency, ApiError, AppState, Caller};

/// Submits `typed_data`, signed by `signature`, for `wallet` through the relayer. With an
/// idempotency key, a retry of a submission that was already accepted gets that
/// submission back instead of a duplicate-execution refusal.
pub(crate) async fn execute_signed(
    state: &AppState,
    caller: &Caller,
    wallet: &Wallet,
    typed_data: &TypedData,
    signature: &[String],
    idempotency_key: Option<&str>,
) -> Result<Submitted, ApiError> {
    let payload = serde_json::to_value(typed_data).map_err(ApiError::internal)?;
    let outcome =
        state.relayer.execute(&wallet_ref(wallet)?, &payload, signature, idempotency_key).await;
    idempotency::resume(state, &caller.org_id, idempotency_key, outcome).await
}
