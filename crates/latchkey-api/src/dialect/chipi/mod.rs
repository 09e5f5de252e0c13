//! The Chipi REST API v1 dialect (`/v1/...`), with the exact request and response JSON
//! `@chipi-stack/backend` 14.4 sends and reads.
//!
//! Where the SDK's protocol is weaker than the native one, the server makes up for it:
//! wallet creation must sign typed data this server issued for this organisation and
//! caller (once, within its window); a key replacement, for which the SDK sends no proof,
//! keeps every previous version (restorable through the native API) and is recorded; the
//! backup blob is never returned; session registrations follow the guardrails of every
//! route (an allowlist, a bounded duration, never a revoked key).

mod transactions;
mod wallets;

use axum::routing::{get, post};
use axum::Router;
use latchkey_core::codes;
use latchkey_core::to_hex;

use crate::util::felt;
use crate::{ApiError, ApiResult, AppState};

/// The challenge purpose of the creation typed data this server issues.
const CREATION_PURPOSE: &str = "chipi-create-wallet";

pub(crate) use transactions::*;
pub(crate) use wallets::*;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/chipi-wallets/prepare-creation", post(prepare_creation))
        .route("/v1/chipi-wallets", post(create_wallet))
        .route("/v1/chipi-wallets/by-user", get(wallet_by_user))
        .route("/v1/chipi-wallets/token-balance", get(token_balance))
        .route(
            "/v1/chipi-wallets/update-encryption-details",
            axum::routing::patch(update_encryption),
        )
        .route("/v1/transactions/prepare-typed-data", post(prepare_typed_data))
        .route("/v1/transactions/execute-sponsored-transaction", post(execute_sponsored))
        .route("/v1/transactions/transaction-list", get(transaction_list))
        .route("/v1/transactions/{hash}/status", get(transaction_status))
}

/// The only wallet type this server deploys: latchkey's session-key account.
const CHIPI: &str = "CHIPI";

fn check_wallet_type(wallet_type: Option<&str>) -> ApiResult<()> {
    match wallet_type {
        None | Some(CHIPI) => Ok(()),
        Some(other) => Err(ApiError::bad_request(
            codes::WALLET_TYPE_NOT_SUPPORTED,
            format!("wallet type {other:?} is not supported; this server deploys latchkey session accounts (CHIPI)"),
        )),
    }
}

fn check_class_hash(state: &AppState, class_hash: Option<&str>) -> ApiResult<()> {
    if let Some(text) = class_hash {
        let deployed = state.starknet_class_hash()?;
        if felt("classHash", text)? != deployed {
            return Err(ApiError::bad_request(
                codes::UNSUPPORTED_CLASS_HASH,
                format!("this server deploys account class {}", to_hex(&deployed)),
            ));
        }
    }
    Ok(())
}
