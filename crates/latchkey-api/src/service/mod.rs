//! What the dialects share beyond parsing: the operations on wallets, sessions and
//! executions that
//! every dialect performs the same way, each written once.

mod executions;
pub(crate) mod organizations;
pub(crate) mod sessions;
pub(crate) mod tokens;
mod wallets;

pub(crate) use executions::execute_signed;
pub(crate) use wallets::{
    accessible_wallet, create_and_deploy_wallet, domain_chain_id, find_wallet, wallet_at,
    wallet_ref,
};
