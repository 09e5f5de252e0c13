//! What an organisation's sponsorship did, computed from the store for the dashboard's
//! charts: executions per hour by outcome, sponsored fees per day and chain, sessions
//! created, active and revoked per day, and each gas budget's burn-down with the date it
//! is projected to run out. The operator reads the same for any organisation, its
//! transactions, and the relayer accounts of every chain with their funds and nonces.
//!
//! Days and hours are UTC. Amounts are decimal text in the chain's fee unit (`FRI`, `WEI`:
//! 10^-18 of STRK and ETH).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use latchkey_core::codes;
use latchkey_store::{
    GasBudget, HourCount, RequestFilter, RequestStatus, SessionSpan, SessionState, SettledFee,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::admin::Operator;
use crate::error::ErrorBody;
use crate::util::{in_range, iso8601, ApiQuery};
use crate::views::TransactionResponse;
use crate::{ApiError, ApiResult, AppState, Caller};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// The days whose fees give a budget's daily burn.
const BURN_DAYS: i64 = 7;
/// A projected exhaustion further than this is not projected.
const MAX_PROJECTION_DAYS: u128 = 3_650;
/// How long one chain's relayer accounts are waited for.
const CHAIN_READ_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/stats", get(organization_stats))
        .route("/api/admin/organizations/{id}/stats", get(admin_organization_stats))
        .route("/api/admin/organizations/{id}/transactions", get(admin_transactions))
        .route("/api/admin/relayers", get(relayer_accounts))
}

/// The windows of the series.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// Days of the daily series, today included (1 to 90, default 14).
    #[param(minimum = 1, maximum = 90)]
    days: Option<u32>,
    /// Hours of the hourly series, this hour included (1 to 168, default 24).
    #[param(minimum = 1, maximum = 168)]
    hours: Option<u32>,
}

/// Executions created in one hour, by what became of them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HourOutcomes {
    /// The hour's start, unix seconds.
    hour: i64,
    /// Final on chain, executed.
    succeeded: i64,
    /// Final on chain, reverted (the fee was paid).
    reverted: i64,
    /// Refused, nothing executed: by the chain, or by the relayer's checks before anything
    /// was sent (a `prepared` payload whose execution was refused).
    rejected: i64,
    /// Never sent within their window, or superseded.
    expired: i64,
    /// Not final yet.
    pending: i64,
    /// All of them.
    total: i64,
}

/// Fees sponsored on one chain in one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DayGas {
    /// `YYYY-MM-DD` (UTC).
    day: String,
    /// The day's start, unix seconds.
    start: i64,
    /// The chain (CAIP-2 id).
    chain: String,
    /// The fee unit (`FRI`, `WEI`).
    unit: String,
    /// Fees paid, in the unit (decimal text).
    amount: String,
    /// Transactions they paid for.
    transactions: i64,
}

/// Sessions on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionDay {
    /// `YYYY-MM-DD` (UTC).
    day: String,
    /// The day's start, unix seconds.
    start: i64,
    /// Created that day.
    created: i64,
    /// Revoked that day.
    revoked: i64,
    /// Usable at the day's end (today: now): registered, in their window, not revoked.
    active: i64,
}

/// The organisation's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionStats {
    /// Created in the window.
    created: i64,
    /// Revoked in the window.
    revoked: i64,
    /// Usable now.
    active: i64,
    /// Day by day, oldest first.
    by_day: Vec<SessionDay>,
}

/// One point of a budget's burn-down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BurnPoint {
    /// `YYYY-MM-DD` (UTC).
    day: String,
    /// The day's start, unix seconds.
    start: i64,
    /// What was left at the day's end (today: now), against today's budget.
    remaining: Option<String>,
    /// What is projected to be left, at the daily burn (today, and the day it runs out).
    projected: Option<String>,
}

/// A gas budget on one chain, and how fast it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BudgetBurn {
    /// The chain (CAIP-2 id).
    chain: String,
    /// The fee unit.
    unit: String,
    /// The allowance (decimal text).
    budget: String,
    /// Paid so far.
    spent: String,
    /// Reserved by transactions in flight.
    reserved: String,
    /// Left to reserve.
    remaining: String,
    /// Fees paid per day, averaged over the last 7 days (decimal text, rounded down).
    daily_burn: String,
    /// The day (`YYYY-MM-DD`) the budget is projected to run out at the daily burn; none
    /// when nothing was spent lately, or more than ten years away.
    projected_exhaustion: Option<String>,
    /// Day by day, oldest first, then the projected day it runs out.
    burn_down: Vec<BurnPoint>,
}

/// What an organisation's sponsorship did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatsResponse {
    /// When this was computed, unix seconds.
    generated_at: i64,
    /// Every hour of the hourly window, oldest first, by when the executions were made.
    executions_by_hour: Vec<HourOutcomes>,
    /// Every day of the window and every chain with a budget or a fee, oldest first, by
    /// when the fees were paid.
    sponsored_gas_by_day: Vec<DayGas>,
    /// Sessions.
    sessions: SessionStats,
    /// Every gas budget.
    budgets: Vec<BudgetBurn>,
}

fn day_text(start: i64) -> String {
    iso8601(start).chars().take(10).collect()
}

/// Everything the statistics are computed from.
struct Inputs {
    now: i64,
    days: i64,
    hours: i64,
    counts: Vec<HourCount>,
    fees: Vec<SettledFee>,
    sessions: Vec<SessionSpan>,
    budgets: Vec<GasBudget>,
}

impl Inputs {
    fn today(&self) -> i64 {
        self.now.div_euclid(DAY) * DAY
    }

    fn first_day(&self) -> i64 {
        self.today() - (self.days - 1) * DAY
    }

    fn first_hour(&self) -> i64 {
        self.now.div_euclid(HOUR) * HOUR - (self.hours - 1) * HOUR
    }

    /// Since when the store is read: the window's first day, or the burn's first second.
    fn since(&self) -> i64 {
        self.first_day().min(self.now - BURN_DAYS * DAY).min(self.first_hour())
    }

    /// The starts of the window's days, oldest first.
    fn day_starts(&self) -> impl Iterator<Item = i64> {
        let first = self.first_day();
        (0..self.days).map(move |i| first + i * DAY)
    }

    fn compute(&self) -> StatsResponse {
        StatsResponse {
            generated_at: self.now,
            executions_by_hour: self.executions_by_hour(),
            sponsored_gas_by_day: self.sponsored_gas_by_day(),
            sessions: self.session_stats(),
            budgets: self.budgets.iter().map(|b| self.burn(b)).collect(),
        }
    }

    fn executions_by_hour(&self) -> Vec<HourOutcomes> {
        let first = self.first_hour();
        let mut hours: Vec<HourOutcomes> = (0..self.hours)
            .map(|i| HourOutcomes { hour: first + i * HOUR, ..HourOutcomes::default() })
            .collect();
        for count in &self.counts {
            let Some(slot) = hours.iter_mut().find(|h| h.hour == count.hour) else { continue };
            let field = match count.status {
                RequestStatus::Succeeded => &mut slot.succeeded,
                RequestStatus::Reverted => &mut slot.reverted,
                RequestStatus::Rejected => &mut slot.rejected,
                RequestStatus::Expired => &mut slot.expired,
                // A payload whose execution was refused before anything was sent.
                RequestStatus::Prepared if count.refused => &mut slot.rejected,
                _ => &mut slot.pending,
            };
            *field += count.count;
            slot.total += count.count;
        }
        hours
    }

    fn sponsored_gas_by_day(&self) -> Vec<DayGas> {
        // Every chain with a budget or a fee in the window, in a stable order.
        let mut chains: BTreeMap<(String, String), ()> = BTreeMap::new();
        for b in &self.budgets {
            chains.insert((b.chain.clone(), b.unit.clone()), ());
        }
        let first = self.first_day();
        for fee in self.fees.iter().filter(|f| f.finalized_at >= first) {
            chains.insert((fee.chain.clone(), fee.unit.clone()), ());
        }
        let mut out = Vec::new();
        for start in self.day_starts() {
            for (chain, unit) in chains.keys() {
                let paid = self.fees.iter().filter(|f| {
                    &f.chain == chain
                        && &f.unit == unit
                        && f.finalized_at >= start
                        && f.finalized_at < start + DAY
                });
                let (amount, transactions) =
                    paid.fold((0u128, 0i64), |(sum, n), f| (sum.saturating_add(f.fee), n + 1));
                out.push(DayGas {
                    day: day_text(start),
                    start,
                    chain: chain.clone(),
                    unit: unit.clone(),
                    amount: amount.to_string(),
                    transactions,
                });
            }
        }
        out
    }

    fn session_stats(&self) -> SessionStats {
        let first = self.first_day();
        let active_at = |s: &SessionSpan, at: i64| {
            let usable = match s.state {
                SessionState::Active => true,
                SessionState::Revoked => s.revoked_at.is_some_and(|r| r > at),
                SessionState::Pending | SessionState::Failed => false,
            };
            usable && s.created_at <= at && s.valid_after <= at && at < s.valid_until
        };
        let by_day = self
            .day_starts()
            .map(|start| {
                let end = (start + DAY - 1).min(self.now);
                let within = |t: i64| t >= start && t < start + DAY;
                SessionDay {
                    day: day_text(start),
                    start,
                    created: self.sessions.iter().filter(|s| within(s.created_at)).count() as i64,
                    revoked: self
                        .sessions
                        .iter()
                        .filter(|s| s.revoked_at.is_some_and(within))
                        .count() as i64,
                    active: self.sessions.iter().filter(|s| active_at(s, end)).count() as i64,
                }
            })
            .collect();
        SessionStats {
            created: self.sessions.iter().filter(|s| s.created_at >= first).count() as i64,
            revoked: self
                .sessions
                .iter()
                .filter(|s| s.revoked_at.is_some_and(|r| r >= first))
                .count() as i64,
            active: self.sessions.iter().filter(|s| active_at(s, self.now)).count() as i64,
            by_day,
        }
    }

    fn burn(&self, budget: &GasBudget) -> BudgetBurn {
        let fees: Vec<&SettledFee> =
            self.fees.iter().filter(|f| f.chain == budget.chain && f.unit == budget.unit).collect();
        let remaining = budget.remaining();
        let paid_after = |t: i64| -> u128 {
            fees.iter().filter(|f| f.finalized_at > t).fold(0u128, |s, f| s.saturating_add(f.fee))
        };
        let lately = fees
            .iter()
            .filter(|f| f.finalized_at > self.now - BURN_DAYS * DAY)
            .fold(0u128, |s, f| s.saturating_add(f.fee));
        let daily_burn = lately / BURN_DAYS as u128;
        let today = self.today();
        let mut burn_down: Vec<BurnPoint> = self
            .day_starts()
            .map(|start| {
                let end = (start + DAY - 1).min(self.now);
                let left = remaining.saturating_add(paid_after(end)).min(budget.budget);
                let is_today = start == today;
                BurnPoint {
                    day: day_text(start),
                    start,
                    remaining: Some(left.to_string()),
                    projected: (is_today && daily_burn > 0).then(|| left.to_string()),
                }
            })
            .collect();
        let days_left = (daily_burn > 0).then(|| remaining / daily_burn);
        let exhaustion =
            days_left.filter(|d| *d <= MAX_PROJECTION_DAYS).map(|d| today + d as i64 * DAY);
        if let Some(day) = exhaustion.filter(|d| *d > today) {
            burn_down.push(BurnPoint {
                day: day_text(day),
                start: day,
                remaining: None,
                projected: Some("0".into()),
            });
        }
        BudgetBurn {
            chain: budget.chain.clone(),
            unit: budget.unit.clone(),
            budget: budget.budget.to_string(),
            spent: budget.spent.to_string(),
            reserved: budget.reserved.to_string(),
            remaining: remaining.to_string(),
            daily_burn: daily_burn.to_string(),
            projected_exhaustion: exhaustion.map(day_text),
            burn_down,
        }
    }
}

async fn stats_of(state: &AppState, org_id: &str, query: &StatsQuery) -> ApiResult<StatsResponse> {
    let days = i64::from(in_range("days", query.days, 14, 1..=90)?);
    let hours = i64::from(in_range("hours", query.hours, 24, 1..=168)?);
    let mut inputs = Inputs {
        now: crate::util::now_unix(),
        days,
        hours,
        counts: Vec::new(),
        fees: Vec::new(),
        sessions: Vec::new(),
        budgets: Vec::new(),
    };
    let since = inputs.since();
    inputs.counts = state.store.request_counts_by_hour(org_id, inputs.first_hour()).await?;
    inputs.fees = state.store.settled_fees(org_id, since).await?;
    inputs.sessions = state.store.session_spans(org_id, since).await?;
    inputs.budgets = state.store.gas_budgets(org_id).await?;
    Ok(inputs.compute())
}

#[utoipa::path(get, path = "/api/stats", tag = "sponsorship", params(StatsQuery),
    responses((status = 200, body = StatsResponse, description = "What the organisation's sponsorship did: executions per hour by outcome, fees per day and chain, sessions, budgets' burn-down."),
        (status = 403, body = ErrorBody, description = "End users may not read it (`FORBIDDEN`).")))]
pub(crate) async fn organization_stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<StatsResponse>> {
    caller.require_organization()?;
    Ok(Json(stats_of(&state, &caller.org_id, &query).await?))
}

async fn existing_organization(state: &AppState, id: &str) -> ApiResult<()> {
    match state.store.organization(id).await? {
        Some(_) => Ok(()),
        None => {
            Err(ApiError::not_found(codes::ORGANIZATION_NOT_FOUND, format!("no organisation {id}")))
        }
    }
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/stats", tag = "admin", params(("id" = String, Path, description = "The organisation's id."), StatsQuery),
    security(("operator" = [])),
    responses((status = 200, body = StatsResponse, description = "What the organisation's sponsorship did, as `/api/stats` shows it to the organisation."),
        (status = 403, body = ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = ErrorBody, description = "No such organisation (`ORGANIZATION_NOT_FOUND`).")))]
pub(crate) async fn admin_organization_stats(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<StatsResponse>> {
    existing_organization(&state, &id).await?;
    Ok(Json(stats_of(&state, &id, &query).await?))
}

/// `status` of the transactions filters: statuses separated by commas.
pub(crate) fn parse_statuses(text: Option<&str>) -> ApiResult<Vec<RequestStatus>> {
    // Absent: every status. Present, it is exactly the documented pattern: no empty
    // list, no empty entry, no spaces.
    let Some(text) = text else { return Ok(Vec::new()) };
    text.split(',')
        .map(|name| {
            name.parse::<RequestStatus>().map_err(|_| {
                let known: Vec<&str> = RequestStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::bad_request(
                    codes::INVALID_QUERY,
                    format!("status is one or more of {}, separated by commas", known.join(", ")),
                )
            })
        })
        .collect()
}

/// Which of an organisation's transactions the operator lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub(crate) struct AdminTransactionsQuery {
    /// Only those in these statuses (comma-separated: `succeeded,reverted`).
    #[param(
        pattern = "^(prepared|recorded|submitting|submitted|pre_confirmed|accepted|succeeded|reverted|rejected|expired)(,(prepared|recorded|submitting|submitted|pre_confirmed|accepted|succeeded|reverted|rejected|expired))*$"
    )]
    status: Option<String>,
    /// Only those on this chain (CAIP-2 id).
    chain: Option<String>,
    /// Only this wallet's (its address; with `chain`, on that chain).
    wallet_address: Option<String>,
    /// At most this many (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// Skip this many (default 0).
    offset: Option<u32>,
}

#[utoipa::path(get, path = "/api/admin/organizations/{id}/transactions", tag = "admin",
    params(("id" = String, Path, description = "The organisation's id."), AdminTransactionsQuery),
    security(("operator" = [])),
    responses((status = 200, body = [TransactionResponse], description = "The organisation's executions, newest first."),
        (status = 403, body = ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`)."),
        (status = 404, body = ErrorBody, description = "No such organisation, or no such wallet of it (`ORGANIZATION_NOT_FOUND`, `WALLET_NOT_FOUND`).")))]
pub(crate) async fn admin_transactions(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AdminTransactionsQuery>,
) -> ApiResult<Json<Vec<TransactionResponse>>> {
    existing_organization(&state, &id).await?;
    let statuses = parse_statuses(q.status.as_deref())?;
    let limit = in_range("limit", q.limit, 50, 1..=200)?;
    let wallet_id = match &q.wallet_address {
        None => None,
        Some(address) => {
            let mut found = None;
            for slot in state.chains() {
                let chain = slot.chain.id().as_str();
                if q.chain.as_deref().is_some_and(|c| c != chain) {
                    continue;
                }
                let Ok(address) = slot.chain.parse_address(address) else { continue };
                if let Some(wallet) = state.store.wallet_by_address(&id, chain, &address).await? {
                    found = Some(wallet.id);
                    break;
                }
            }
            Some(found.ok_or_else(|| {
                ApiError::not_found(codes::WALLET_NOT_FOUND, "no such wallet in this organisation")
            })?)
        }
    };
    let filter = RequestFilter { wallet_id, chain: q.chain.clone(), statuses };
    let requests =
        state.store.list_requests_filtered(&id, &filter, limit, q.offset.unwrap_or(0)).await?;
    Ok(Json(requests.iter().map(TransactionResponse::from).collect()))
}

/// One relayer account as its chain knows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RelayerAccount {
    /// Its address.
    address: String,
    /// Its next nonce, pending transactions included (none when the node did not answer).
    nonce: Option<u64>,
    /// What it holds to pay fees with, in the chain's fee unit (decimal text; none when
    /// the node did not answer).
    funds: Option<String>,
}

/// A chain's relayer accounts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChainRelayers {
    /// The chain (CAIP-2 id).
    chain: String,
    /// Its fee unit.
    unit: String,
    /// Whether its node answered every read.
    up: bool,
    /// The accounts this process sends from.
    relayers: Vec<RelayerAccount>,
}

/// Every chain's relayer accounts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub(crate) struct RelayerList {
    chains: Vec<ChainRelayers>,
}

async fn read_chain(slot: &crate::ChainSlot) -> ChainRelayers {
    let mut relayers = Vec::new();
    for address in slot.relayer.relayer_addresses() {
        let nonce = slot.chain.relayer_nonce(&address).await.ok();
        let funds = slot.chain.relayer_funds(&address).await.ok().map(|f| f.to_string());
        relayers.push(RelayerAccount { address, nonce, funds });
    }
    ChainRelayers {
        chain: slot.chain.id().as_str().to_string(),
        unit: slot.chain.fee_unit().to_string(),
        up: relayers.iter().all(|r| r.nonce.is_some() && r.funds.is_some()),
        relayers,
    }
}

#[utoipa::path(get, path = "/api/admin/relayers", tag = "admin",
    security(("operator" = [])),
    responses((status = 200, body = RelayerList, description = "Every served chain's relayer accounts with their funds and nonces, read from the chain now."),
        (status = 403, body = ErrorBody, description = "An organisation's key was presented (`OPERATOR_ONLY`).")))]
pub(crate) async fn relayer_accounts(
    State(state): State<AppState>,
    _operator: Operator,
) -> ApiResult<Json<RelayerList>> {
    let mut chains = Vec::new();
    for slot in state.chains() {
        let read = tokio::time::timeout(CHAIN_READ_TIMEOUT, read_chain(slot)).await;
        chains.push(read.unwrap_or_else(|_| {
            ChainRelayers {
                chain: slot.chain.id().as_str().to_string(),
                unit: slot.chain.fee_unit().to_string(),
                up: false,
                relayers: slot
                    .relayer
                    .relayer_addresses()
                    .into_iter()
                    .map(|address| RelayerAccount { address, nonce: None, funds: None })
                    .collect(),
            }
        }));
    }
    Ok(Json(RelayerList { chains }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half past ten, some day.
    const NOW: i64 = 20_000 * DAY + 10 * HOUR + 30 * 60;
    const CHAIN: &str = "starknet:SN_SEPOLIA";

    fn fee(at: i64, amount: u128) -> SettledFee {
        SettledFee { finalized_at: at, chain: CHAIN.into(), unit: "FRI".into(), fee: amount }
    }

    fn inputs() -> Inputs {
        let hour = NOW.div_euclid(HOUR) * HOUR;
        let today = NOW.div_euclid(DAY) * DAY;
        Inputs {
            now: NOW,
            days: 3,
            hours: 3,
            counts: vec![
                HourCount {
                    hour: hour - 2 * HOUR,
                    status: RequestStatus::Succeeded,
                    refused: false,
                    count: 2,
                },
                HourCount { hour, status: RequestStatus::Succeeded, refused: false, count: 3 },
                HourCount { hour, status: RequestStatus::Rejected, refused: true, count: 1 },
                HourCount { hour, status: RequestStatus::Prepared, refused: false, count: 1 },
                HourCount { hour, status: RequestStatus::Prepared, refused: true, count: 2 },
                HourCount { hour, status: RequestStatus::Submitted, refused: false, count: 1 },
            ],
            fees: vec![fee(today - DAY + 5, 700), fee(today + 60, 300), fee(today + 120, 400)],
            sessions: vec![
                SessionSpan {
                    chain: CHAIN.into(),
                    state: SessionState::Active,
                    created_at: today - DAY + 10,
                    valid_after: today - DAY + 10,
                    valid_until: NOW + DAY,
                    revoked_at: None,
                },
                SessionSpan {
                    chain: CHAIN.into(),
                    state: SessionState::Revoked,
                    created_at: today + 10,
                    valid_after: today + 10,
                    valid_until: NOW + DAY,
                    revoked_at: Some(today + 20),
                },
                SessionSpan {
                    chain: CHAIN.into(),
                    state: SessionState::Pending,
                    created_at: today + 30,
                    valid_after: today + 30,
                    valid_until: NOW + DAY,
                    revoked_at: None,
                },
            ],
            // Read as the store's JSON, so fields it adds later take their defaults.
            budgets: vec![serde_json::from_value(serde_json::json!({
                "chain": CHAIN, "unit": "FRI", "budget": 100_000, "spent": 1_400, "reserved": 100,
            }))
            .unwrap()],
        }
    }

    #[test]
    fn executions_are_counted_by_hour_and_outcome_with_every_hour_present() {
        let stats = inputs().compute();
        let hours = &stats.executions_by_hour;
        assert_eq!(hours.len(), 3);
        assert!(hours.windows(2).all(|w| w[1].hour == w[0].hour + HOUR));
        assert_eq!((hours[0].succeeded, hours[0].total), (2, 2));
        assert_eq!(hours[1], HourOutcomes { hour: hours[1].hour, ..HourOutcomes::default() });
        let now = &hours[2];
        assert_eq!((now.succeeded, now.rejected, now.pending, now.total), (3, 3, 2, 8));
    }

    #[test]
    fn fees_are_summed_per_day_and_chain() {
        let stats = inputs().compute();
        let days: Vec<(&str, i64)> = stats
            .sponsored_gas_by_day
            .iter()
            .map(|d| (d.amount.as_str(), d.transactions))
            .collect();
        assert_eq!(days, [("0", 0), ("700", 1), ("700", 2)]);
        assert_eq!(stats.sponsored_gas_by_day[2].day, day_text(NOW));
    }

    #[test]
    fn sessions_are_created_revoked_and_active_by_day() {
        let stats = inputs().compute();
        let s = &stats.sessions;
        assert_eq!((s.created, s.revoked, s.active), (3, 1, 1));
        let by_day: Vec<(i64, i64, i64)> =
            s.by_day.iter().map(|d| (d.created, d.revoked, d.active)).collect();
        assert_eq!(by_day, [(0, 0, 0), (1, 0, 1), (2, 1, 1)]);
    }

    #[test]
    fn the_burn_down_goes_back_from_what_is_left_and_projects_the_end() {
        let stats = inputs().compute();
        let b = &stats.budgets[0];
        assert_eq!(b.remaining, "98500");
        // 1400 paid in the last 7 days: 200 a day.
        assert_eq!(b.daily_burn, "200");
        let today = NOW.div_euclid(DAY) * DAY;
        assert_eq!(b.projected_exhaustion.as_deref(), Some(day_text(today + 492 * DAY).as_str()));
        let left: Vec<Option<&str>> = b.burn_down.iter().map(|p| p.remaining.as_deref()).collect();
        assert_eq!(left, [Some("99900"), Some("99200"), Some("98500"), None]);
        assert_eq!(b.burn_down[2].projected.as_deref(), Some("98500"));
        assert_eq!(b.burn_down[3].projected.as_deref(), Some("0"));
    }

    #[test]
    fn nothing_spent_projects_nothing() {
        let mut quiet = inputs();
        quiet.fees.clear();
        let b = &quiet.compute().budgets[0];
        assert_eq!((b.daily_burn.as_str(), b.projected_exhaustion.as_deref()), ("0", None));
        assert!(b.burn_down.iter().all(|p| p.projected.is_none()));
    }

    #[test]
    fn the_documented_status_filter_names_every_status() {
        use utoipa::OpenApi;
        let names: Vec<&str> = RequestStatus::ALL.iter().map(|s| s.as_str()).collect();
        let one = format!("({})", names.join("|"));
        let expected = format!("^{one}(,{one})*$");
        let doc = serde_json::to_value(crate::ApiDoc::openapi()).unwrap();
        for path in ["/api/transactions", "/api/admin/organizations/{id}/transactions"] {
            let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
            let status = params.iter().find(|p| p["name"] == "status").unwrap();
            assert_eq!(status["schema"]["pattern"], expected.as_str(), "{path}");
        }
    }

    #[test]
    fn statuses_parse_from_a_comma_separated_list() {
        assert_eq!(parse_statuses(None).unwrap(), vec![]);
        assert_eq!(
            parse_statuses(Some("succeeded,rejected")).unwrap(),
            vec![RequestStatus::Succeeded, RequestStatus::Rejected]
        );
        for bad in ["done", "", ",", "succeeded,", " succeeded", "succeeded, rejected"] {
            assert_eq!(
                parse_statuses(Some(bad)).unwrap_err().code,
                codes::INVALID_QUERY,
                "{bad:?}"
            );
        }
    }
}
