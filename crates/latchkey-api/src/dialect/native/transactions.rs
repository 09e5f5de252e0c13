//! The native dialect: transactions and sponsorship.

use axum::extract::{Path, State};
use axum::Json;
use latchkey_core::codes;
use latchkey_store::{BudgetKey, RequestFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::service::wallet_at;
use crate::util::{in_range, ApiQuery};
use crate::views::TransactionResponse;
use crate::{ApiError, ApiResult, AppState, Caller};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionsQuery {
    wallet_address: Option<String>,
    status: Option<String>,
    chain: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

#[utoipa::path(get, path = "/api/transactions", tag = "transactions",
    params(("walletAddress" = Option<crate::openapi::AddressText>, Query, description = "Only this wallet's."),
        ("status" = Option<String>, Query, description = "Only those in these statuses, separated by commas (`succeeded,reverted`).",
            pattern = "^(prepared|recorded|submitting|submitted|pre_confirmed|accepted|succeeded|reverted|rejected|expired)(,(prepared|recorded|submitting|submitted|pre_confirmed|accepted|succeeded|reverted|rejected|expired))*$"),
        ("chain" = Option<String>, Query, description = "Only those on this chain (CAIP-2 id)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "At most this many (default 50)."),
        ("offset" = Option<u64>, Query, minimum = 0, maximum = 4294967295_u64, description = "Skip this many (default 0).")),
    responses((status = 200, body = [TransactionResponse]), (status = 404, body = ErrorBody, description = "No such wallet for this caller (`WALLET_NOT_FOUND`).")))]
pub(crate) async fn list_transactions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TransactionsQuery>,
) -> ApiResult<Json<Vec<TransactionResponse>>> {
    let wallet_id = match (&q.wallet_address, caller.subject()) {
        (Some(address), _) => Some(wallet_at(&state, &caller, "walletAddress", address).await?.id),
        (None, Some(subject)) => {
            match state
                .store
                .wallet_by_external_user(
                    &caller.org_id,
                    state.primary().chain.id().as_str(),
                    subject,
                )
                .await?
            {
                Some(wallet) => Some(wallet.id),
                None => return Ok(Json(vec![])),
            }
        }
        (None, None) => None,
    };
    let filter = RequestFilter {
        wallet_id,
        chain: q.chain.clone(),
        statuses: crate::stats::parse_statuses(q.status.as_deref())?,
    };
    let requests = state
        .store
        .list_requests_filtered(
            &caller.org_id,
            &filter,
            in_range("limit", q.limit, 50, 1..=200)?,
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(requests.iter().map(TransactionResponse::from).collect()))
}

#[utoipa::path(get, path = "/api/transactions/{id}", tag = "transactions",
    params(("id" = String, Path, description = "The execution's request id.")),
    responses((status = 200, body = TransactionResponse), (status = 404, body = ErrorBody, description = "No such transaction for this caller (`TRANSACTION_NOT_FOUND`).")))]
pub(crate) async fn get_transaction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TransactionResponse>> {
    let not_found = || ApiError::not_found(codes::TRANSACTION_NOT_FOUND, "transaction not found");
    let request = state
        .store
        .request(&id)
        .await
        .ok()
        .flatten()
        .filter(|r| r.org_id == caller.org_id)
        .ok_or_else(not_found)?;
    if caller.subject().is_some() {
        let wallet = match &request.wallet_id {
            Some(id) => state.store.wallet(id).await?,
            None => None,
        };
        if !wallet.is_some_and(|w| caller.can_access(&w)) {
            return Err(not_found());
        }
    }
    Ok(Json(TransactionResponse::from(&request)))
}

/// The organisation's gas budgets: the one on this server's chain in its fee unit (the
/// `…Fri` fields, for Starknet), and every budget by chain and unit.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SponsorshipResponse {
    budget_fri: String,
    spent_fri: String,
    reserved_fri: String,
    remaining_fri: String,
    budgets: Vec<BudgetView>,
}

/// A gas budget on one chain, in one fee unit (decimal strings).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BudgetView {
    /// CAIP-2 chain id.
    chain: String,
    /// `FRI` or `WEI`.
    unit: String,
    budget: String,
    spent: String,
    reserved: String,
    remaining: String,
}

#[utoipa::path(get, path = "/api/sponsorship", tag = "sponsorship",
    responses((status = 200, body = SponsorshipResponse), (status = 403, body = ErrorBody, description = "End users may not read it (`FORBIDDEN`).")))]
pub(crate) async fn sponsorship(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<SponsorshipResponse>> {
    caller.require_organization()?;
    let primary = &state.primary().chain;
    let chain = primary.id().to_string();
    let key = BudgetKey { org_id: &caller.org_id, chain: &chain, unit: primary.fee_unit() };
    let here = state.store.gas_budget(key).await?;
    let budgets = state.store.gas_budgets(&caller.org_id).await?;
    Ok(Json(SponsorshipResponse {
        budget_fri: here.budget.to_string(),
        spent_fri: here.spent.to_string(),
        reserved_fri: here.reserved.to_string(),
        remaining_fri: here.remaining().to_string(),
        budgets: budgets
            .into_iter()
            .map(|b| BudgetView {
                remaining: b.remaining().to_string(),
                chain: b.chain,
                unit: b.unit,
                budget: b.budget.to_string(),
                spent: b.spent.to_string(),
                reserved: b.reserved.to_string(),
            })
            .collect(),
    }))
}
