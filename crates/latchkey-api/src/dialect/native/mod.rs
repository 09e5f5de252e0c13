//! The native dialect under `/api`: wallets, sessions with (contract, selector)
//! allowlists and `valid_after`, executions and their transactions, sponsorship. Every
//! write that needs the owner returns typed data to sign (`prepare`), then takes the
//! signature (`execute`): the server never holds a user key.

mod executions;
mod me;
mod sessions;
pub(crate) mod settings;
mod transactions;
mod wallets;

use axum::routing::{get, post};
use axum::Router;

pub(crate) use executions::*;
pub(crate) use me::*;
pub(crate) use sessions::*;
pub(crate) use transactions::*;
pub(crate) use wallets::*;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(me::routes())
        .merge(settings::routes())
        .route("/api/wallets", post(create_wallet).get(list_wallets))
        .route("/api/wallets/{address}", get(get_wallet))
        .route("/api/wallets/{address}/prepare", post(prepare))
        .route("/api/wallets/{address}/execute", post(execute))
        .route("/api/wallets/{address}/sessions", post(register_session).get(list_sessions))
        .route("/api/wallets/{address}/sessions/revoke-all", post(revoke_all))
        .route("/api/wallets/{address}/sessions/{key}", get(get_session))
        .route("/api/wallets/{address}/sessions/{key}/revoke", post(revoke_session))
        .route("/api/transactions", get(list_transactions))
        .route("/api/transactions/{id}", get(get_transaction))
        .route("/api/sponsorship", get(sponsorship))
}
