//! `/metrics`, through the Prometheus project's client (`prometheus-client`, OpenMetrics
//! text): HTTP requests and latencies per route, the relayer's counters (requests
//! finished by chain, kind and outcome; sponsored fees; reconciliation actions), and
//! what is read when scraped: requests in flight by status, relayer accounts with their
//! funds and nonces, and every organisation's gas budget with its alert threshold.
//!
//! Counters are per process; the values read at scrape time come from the database and
//! the chains, so every instance reports the same ones.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use latchkey_core::codes;
use latchkey_relayer::RelayerMetrics;
use latchkey_store::RequestStatus;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::{AppState, ChainSlot};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// How long a scrape waits for one chain's relayer accounts.
const CHAIN_READ_TIMEOUT: Duration = Duration::from_secs(3);

/// The OpenMetrics text format's content type.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainLabels {
    chain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    chain: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RelayerLabels {
    chain: String,
    relayer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FundsLabels {
    chain: String,
    relayer: String,
    unit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    organization: String,
    chain: String,
    unit: String,
}

type Amount = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The server's metrics and the registry they are encoded from.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    unfinished: Family<StatusLabels, Gauge>,
    chain_up: Family<ChainLabels, Gauge>,
    relayer_accounts: Family<ChainLabels, Gauge>,
    relayer_nonce: Family<RelayerLabels, Gauge>,
    relayer_funds: Family<FundsLabels, Amount>,
    budget: Family<BudgetLabels, Amount>,
    spent: Family<BudgetLabels, Amount>,
    reserved: Family<BudgetLabels, Amount>,
    remaining: Family<BudgetLabels, Amount>,
    alert_threshold: Family<BudgetLabels, Amount>,
    alerting: Family<BudgetLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(&RelayerMetrics::default())
    }
}

impl Metrics {
    /// The server's metrics, with the counters of its relayers (`relayer`, shared by
    /// all of them).
    pub fn new(relayer: &RelayerMetrics) -> Self {
        let mut metrics = Self {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            unfinished: Family::default(),
            chain_up: Family::default(),
            relayer_accounts: Family::default(),
            relayer_nonce: Family::default(),
            relayer_funds: Family::default(),
            budget: Family::default(),
            spent: Family::default(),
            reserved: Family::default(),
            remaining: Family::default(),
            alert_threshold: Family::default(),
            alerting: Family::default(),
        };
        let r = &mut metrics.registry;
        r.register(
            "latchkey_http_requests",
            "HTTP requests answered, by method, route and status",
            metrics.http_requests.clone(),
        );
        r.register(
            "latchkey_http_request_duration_seconds",
            "Time to answer HTTP requests, by route",
            metrics.http_duration.clone(),
        );
        relayer.register(r);
        r.register(
            "latchkey_requests_unfinished",
            "Sponsored transactions not final yet, by chain and status (read from the database when scraped)",
            metrics.unfinished.clone(),
        );
        r.register(
            "latchkey_chain_up",
            "Whether the chain's node answered this scrape's reads of the relayer accounts (1) or not (0)",
            metrics.chain_up.clone(),
        );
        r.register(
            "latchkey_relayer_accounts",
            "Relayer accounts this process uses, by chain",
            metrics.relayer_accounts.clone(),
        );
        r.register(
            "latchkey_relayer_nonce",
            "A relayer account's next nonce as its chain knows it (pending transactions included)",
            metrics.relayer_nonce.clone(),
        );
        r.register(
            "latchkey_relayer_funds",
            "What a relayer account holds to pay fees with, in the chain's fee unit",
            metrics.relayer_funds.clone(),
        );
        r.register(
            "latchkey_gas_budget",
            "An organisation's sponsorship budget on a chain, in the fee unit",
            metrics.budget.clone(),
        );
        r.register(
            "latchkey_gas_spent",
            "Fees an organisation's sponsorship has paid on a chain, in the fee unit",
            metrics.spent.clone(),
        );
        r.register(
            "latchkey_gas_reserved",
            "Fees reserved by an organisation's transactions in flight, in the fee unit",
            metrics.reserved.clone(),
        );
        r.register(
            "latchkey_gas_remaining",
            "What an organisation's budget has left to reserve on a chain, in the fee unit",
            metrics.remaining.clone(),
        );
        r.register(
            "latchkey_gas_alert_threshold",
            "The alert threshold of an organisation's budget on a chain, in the fee unit (only budgets with one)",
            metrics.alert_threshold.clone(),
        );
        r.register(
            "latchkey_gas_alerting",
            "Whether an organisation's budget on a chain has less left than its alert threshold (1) or not (0; only budgets with one)",
            metrics.alerting.clone(),
        );
        metrics
    }

    /// Records one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels { route: route.to_string() })
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition text (OpenMetrics).
    pub fn render_text(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Reads what the scrape reports from the database and the chains.
    async fn collect(&self, state: &AppState) {
        for slot in state.chains() {
            let chain = slot.chain.id().as_str().to_string();
            match state.store.count_unfinished_requests(&chain).await {
                Ok(counts) => {
                    // Every status that is not final, 0 when no request is in it.
                    for status in RequestStatus::ALL.iter().filter(|s| !s.is_final()) {
                        let n = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
                        let labels =
                            StatusLabels { chain: chain.clone(), status: status.as_str().into() };
                        self.unfinished.get_or_create(&labels).set(n);
                    }
                }
                Err(error) => tracing::warn!(%error, "metrics: counting requests in flight"),
            }
            let up =
                tokio::time::timeout(CHAIN_READ_TIMEOUT, self.read_relayers(slot, &chain)).await;
            let up = matches!(up, Ok(true));
            self.chain_up.get_or_create(&ChainLabels { chain }).set(i64::from(up));
        }
        match state.store.all_gas_budgets().await {
            Ok(budgets) => {
                for (organization, b) in budgets {
                    let labels =
                        BudgetLabels { organization, chain: b.chain.clone(), unit: b.unit.clone() };
                    self.budget.get_or_create(&labels).set(b.budget as f64);
                    self.spent.get_or_create(&labels).set(b.spent as f64);
                    self.reserved.get_or_create(&labels).set(b.reserved as f64);
                    self.remaining.get_or_create(&labels).set(b.remaining() as f64);
                    match b.alert_threshold {
                        Some(threshold) => {
                            self.alert_threshold.get_or_create(&labels).set(threshold as f64);
                            self.alerting.get_or_create(&labels).set(i64::from(b.alerting()));
                        }
                        // A threshold removed since the last scrape leaves no series behind.
                        None => {
                            self.alert_threshold.remove(&labels);
                            self.alerting.remove(&labels);
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "metrics: reading gas budgets"),
        }
    }

    /// Reads every relayer account's nonce and funds; whether the node answered them all.
    async fn read_relayers(&self, slot: &ChainSlot, chain: &str) -> bool {
        let addresses = slot.relayer.relayer_addresses();
        self.relayer_accounts
            .get_or_create(&ChainLabels { chain: chain.to_string() })
            .set(addresses.len() as i64);
        let unit = slot.chain.fee_unit();
        let mut answered = true;
        for relayer in addresses {
            match slot.chain.relayer_nonce(&relayer).await {
                Ok(nonce) => {
                    let labels =
                        RelayerLabels { chain: chain.to_string(), relayer: relayer.clone() };
                    self.relayer_nonce.get_or_create(&labels).set(nonce as i64);
                }
                Err(_) => answered = false,
            }
            match slot.chain.relayer_funds(&relayer).await {
                Ok(funds) => {
                    let labels =
                        FundsLabels { chain: chain.to_string(), relayer, unit: unit.to_string() };
                    self.relayer_funds.get_or_create(&labels).set(funds as f64);
                }
                Err(_) => answered = false,
            }
        }
        answered
    }
}

/// `GET /metrics`: OpenMetrics text. Open, unless the server was started with a metrics
/// token, which it then needs as `Authorization: Bearer <token>`.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "OpenMetrics text exposition format (Prometheus reads it).", body = String,
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        (status = 401, description = "A metrics token is configured and was not presented (`MISSING_BEARER_TOKEN`).",
            body = crate::error::ErrorBody)))]
pub(crate) async fn render(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let same = presented.len() == token.len()
            && bool::from(subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.as_bytes()));
        if !same {
            return crate::ApiError::unauthorized(
                codes::MISSING_BEARER_TOKEN,
                "/metrics needs Authorization: Bearer <metrics token>",
            )
            .into_response();
        }
    }
    state.metrics.collect(&state).await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], state.metrics.render_text()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format() {
        let m = Metrics::default();
        m.observe("GET", "/health", 200, Duration::from_millis(3));
        m.observe("GET", "/health", 200, Duration::from_millis(30));
        let text = m.render_text();
        assert!(
            text.contains(
                "latchkey_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "latchkey_http_request_duration_seconds_bucket{le=\"0.005\",route=\"/health\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("latchkey_http_request_duration_seconds_count{route=\"/health\"} 2\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    /// The metric families registered: the names in this file's and the relayer's
    /// `register` calls.
    fn registered() -> Vec<String> {
        let sources =
            [include_str!("metrics.rs"), include_str!("../../latchkey-relayer/src/metrics.rs")];
        let mut names = Vec::new();
        for source in sources {
            for quoted in source.split('"').skip(1).step_by(2) {
                if quoted.starts_with("latchkey_")
                    && quoted.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                {
                    names.push(quoted.to_string());
                }
            }
        }
        names
    }

    #[test]
    fn the_grafana_dashboard_reads_only_series_the_server_exposes() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../../docs/grafana/latchkey.json")).unwrap();
        let families = registered();
        assert!(families.len() >= 14, "{families:?}");
        let mut queried = Vec::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                let mut rest = expr;
                while let Some(at) = rest.find("latchkey_") {
                    let name: String = rest[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    rest = &rest[at + name.len()..];
                    queried.push(name);
                }
            }
        }
        // A counter's series is `name_total`, a histogram's `name_bucket`, `_sum`, `_count`.
        let family_of = |series: &str| {
            families.iter().find(|f| {
                ["", "_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| series == format!("{f}{s}"))
            })
        };
        for name in &queried {
            assert!(
                family_of(name).is_some(),
                "the dashboard queries {name}, which /metrics does not have"
            );
        }
        // Every family is on a panel, but the budget's parts that `remaining` sums up.
        for family in &families {
            let shown = queried.iter().any(|q| family_of(q) == Some(family));
            let part = ["latchkey_gas_budget", "latchkey_gas_reserved"].contains(&family.as_str());
            assert!(shown || part, "{family} is on no panel of the dashboard");
        }
    }
}
