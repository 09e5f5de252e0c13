//! Wallets, for every dialect: finding the caller's wallet, creating and deploying one,
//! the relayer's view of it, and the chain's signing domain.

use axum::http::StatusCode;
use latchkey_core::codes;
use latchkey_core::Felt;
use latchkey_store::{NewWallet, Wallet};

use crate::util::address_text;
use crate::{ApiError, AppState, Caller, ChainSlot};

/// The chain id the Starknet signing domains name: the chain's CAIP-2 reference
/// (`SN_SEPOLIA`) as a short string. The Chipi dialect is Starknet's; on another family
/// it refuses with `WRONG_CHAIN`.
pub(crate) fn domain_chain_id(slot: &ChainSlot) -> Result<Felt, ApiError> {
    let id = slot.chain.id();
    if id.family() != latchkey_chain::Family::Starknet {
        return Err(ApiError::bad_request(
            codes::WRONG_CHAIN,
            format!("this route signs for Starknet; the server's chain is {id}"),
        ));
    }
    latchkey_core::short_string(id.reference()).map_err(ApiError::internal)
}

/// The wallet at `address` on the default chain if the caller may see it; 404
/// otherwise (also when it exists for someone else, so existence does not leak). Counts
/// against the wallet's rate limit.
pub(crate) async fn accessible_wallet(
    state: &AppState,
    caller: &Caller,
    address: &Felt,
) -> Result<Wallet, ApiError> {
    let chain = state.primary().chain.id().as_str();
    let wallet =
        state.store.wallet_by_address(&caller.org_id, chain, &address_text(address)).await?;
    visible(state, caller, wallet.ok_or_else(not_found)?)
}

/// The wallet at `address` on whichever served chain's address rules it follows, if the
/// caller may see it; 404 otherwise. `field` names the address in a `400` when no served
/// family reads it as an address.
pub(crate) async fn wallet_at(
    state: &AppState,
    caller: &Caller,
    field: &str,
    address: &str,
) -> Result<Wallet, ApiError> {
    find_wallet(state, caller, field, address).await?.ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ApiError::not_found(codes::WALLET_NOT_FOUND, "wallet not found")
}

/// [`wallet_at`], with `None` when no wallet is stored at `address` on any served chain
/// (404 still when it is someone else's).
pub(crate) async fn find_wallet(
    state: &AppState,
    caller: &Caller,
    field: &str,
    address: &str,
) -> Result<Option<Wallet>, ApiError> {
    let mut refusal = None;
    let mut read = false;
    for slot in state.chains() {
        let canonical = match slot.chain.parse_address(address) {
            Ok(canonical) => canonical,
            Err(r) => {
                refusal.get_or_insert(r);
                continue;
            }
        };
        read = true;
        let chain = slot.chain.id().as_str();
        if let Some(wallet) =
            state.store.wallet_by_address(&caller.org_id, chain, &canonical).await?
        {
            return visible(state, caller, wallet).map(Some);
        }
    }
    match refusal {
        Some(r) if !read => Err(ApiError::bad_request(r.code, format!("{field}: {}", r.message))),
        _ => Ok(None),
    }
}

fn visible(state: &AppState, caller: &Caller, wallet: Wallet) -> Result<Wallet, ApiError> {
    if !caller.can_access(&wallet) {
        return Err(not_found());
    }
    state.limits.check_wallet(&wallet.id)?;
    Ok(wallet)
}

/// The relayer's view of a stored wallet.
pub(crate) fn wallet_ref(wallet: &Wallet) -> Result<latchkey_relayer::WalletRef, ApiError> {
    Ok(latchkey_relayer::WalletRef {
        id: wallet.id.clone(),
        org_id: wallet.org_id.clone(),
        address: wallet.address.clone(),
        owner_public_key: wallet.owner_public_key.clone(),
        external_user_id: wallet.external_user_id.clone(),
        cooldown_until: wallet.cooldown_until,
    })
}

/// Records a new wallet, deploys its account gaslessly (or finds it deployed) and
/// returns the stored wallet, marked deployed. A second wallet for the same user or
/// address is `409 WALLET_EXISTS`.
pub(crate) async fn create_and_deploy_wallet(
    state: &AppState,
    wallet: &NewWallet,
    owner: &str,
) -> Result<Wallet, ApiError> {
    let stored = state.store.insert_wallet(wallet).await.map_err(|e| match e {
        latchkey_store::StoreError::Conflict { .. } => ApiError::new(
            StatusCode::CONFLICT,
            codes::WALLET_EXISTS,
            "a wallet already exists for this user or address",
        ),
        other => other.into(),
    })?;
    let slot = state.chain_of(&stored)?;
    let deployment = slot.relayer.deploy_account(&wallet.org_id, owner).await?;
    let tx = deployment.transaction_hash.unwrap_or_default();
    state.store.set_wallet_deployed(&stored.id, &tx).await?;
    Ok(state.store.wallet(&stored.id).await?.unwrap_or(stored))
}
