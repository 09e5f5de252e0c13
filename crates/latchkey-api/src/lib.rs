//! latchkey's HTTP surface.
//!
//! Two dialects over one relayer and one store:
//! - **Chipi v1** under `/v1`: the endpoints and exact JSON of the Chipi REST API that
//!   `@chipi-stack/backend` uses, so the real SDK works against this server through its
//!   `alphaUrl` option;
//! - **native** under `/api`: wallets, sessions with (contract, selector) allowlists and
//!   `valid_after`, executions, transactions, sponsorship, end-user session storage; its
//!   OpenAPI document is served at `/api/openapi.json`.
//!
//! Plus `/health` and `/metrics` (Prometheus text), and the dashboard and demo game as
//! static files for every other path. Errors are always `{ "message", "code", "status" }`
//! with a stable code.

mod admin;
mod auth;
mod cors;
mod custody;
mod dialect;
mod error;
mod idempotency;
mod limits;
mod metrics;
mod openapi;
mod pin;
mod rpc_proxy;
mod service;
mod stats;
mod util;
mod views;
mod web;

use latchkey_core::codes;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use latchkey_chain::ChainBackend;
use latchkey_core::Felt;
use latchkey_relayer::Relayer;
use latchkey_store::Store;

pub use admin::ensure_operator_token;
pub use auth::{Caller, Principal};
pub use error::{ApiError, ApiResult};
pub use limits::{Rate, RateLimits};
pub use metrics::Metrics;
pub use openapi::ApiDoc;
pub use pin::{OprfKeyRing, PinSettings};
pub use service::organizations::set_token_issuer;
pub use service::tokens::KnownToken;

/// API settings.
#[derive(Clone)]
pub struct ApiConfig {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest session the native API registers (`valid_until - max(now, valid_after)`).
    pub max_session_seconds: u64,
    /// Pepper mixed into API-key hashes, if configured.
    pub api_key_pepper: Option<Vec<u8>>,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl_seconds: i64,
    /// The built dashboard (`web/dist`), served for every non-API path.
    pub web_dir: Option<PathBuf>,
    /// Rate limits per API key, end user and wallet.
    pub rate_limits: RateLimits,
    /// Whether organisations may name a token issuer whose JWKS is served over plain
    /// HTTP on a loopback address (development only: the server would fetch from its own
    /// host).
    pub allow_loopback_issuers: bool,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// This process's name (its relayer lease owner), with which it claims idempotency
    /// keys and releases, at start, the claims it left in flight.
    pub instance: String,
    /// An in-flight idempotency claim older than this is taken over by a retry (its
    /// request died with its process).
    pub idempotency_stale_seconds: i64,
    /// PIN unlock through the OPRF: the key ring and the attempt policy.
    pub pin: PinSettings,
    /// Whether browsers on loopback origins (`http://localhost:3000`, …) may call with any
    /// organisation's keys (development only; other origins are allowed per organisation).
    pub dev_cors: bool,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_session_seconds", &self.max_session_seconds)
            .field("api_key_pepper", &self.api_key_pepper.as_ref().map(|_| "<set>"))
            .field("idempotency_ttl_seconds", &self.idempotency_ttl_seconds)
            .field("web_dir", &self.web_dir)
            .field("rate_limits", &self.rate_limits)
            .field("allow_loopback_issuers", &self.allow_loopback_issuers)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<set>"))
            .field("instance", &self.instance)
            .field("pin", &self.pin)
            .field("dev_cors", &self.dev_cors)
            .finish()
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_session_seconds: 86_400,
            api_key_pepper: None,
            idempotency_ttl_seconds: 86_400,
            web_dir: None,
            rate_limits: RateLimits::default(),
            allow_loopback_issuers: false,
            metrics_token: None,
            instance: format!("latchkey-{}", std::process::id()),
            idempotency_stale_seconds: 300,
            pin: PinSettings::default(),
            dev_cors: false,
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

/// One chain the API serves: its backend, its relayer, and latchkey's account there.
#[derive(Clone)]
pub struct ChainSlot {
    /// The chain, behind the port.
    pub chain: Arc<dyn ChainBackend>,
    /// The relayer / paymaster / bundler of that chain.
    pub relayer: Relayer,
    /// latchkey's account code there: the account class hash (Starknet), the
    /// implementation every account proxies to (EVM).
    pub account_class: String,
    /// The demo game contract, when the chain has one.
    pub demo_game: Option<String>,
    /// Contracts clients need, by name (`entryPoint`, `factory`, `paymaster`, demo
    /// contracts), published in `/api/config`.
    pub contracts: std::collections::BTreeMap<String, String>,
    /// The node's JSON-RPC address, which `/rpc/{family}` forwards read methods to (never
    /// shown: it may carry credentials).
    pub node_url: Option<String>,
    /// The chain's own tokens by symbol (its fee tokens), beside those organisations
    /// register.
    pub tokens: Vec<KnownToken>,
}

impl ChainSlot {
    /// A chain served with its relayer and latchkey's account code there, without a demo
    /// game or published contracts.
    pub fn new(chain: Arc<dyn ChainBackend>, relayer: Relayer, account_class: String) -> Self {
        Self {
            chain,
            relayer,
            account_class,
            demo_game: None,
            contracts: Default::default(),
            node_url: None,
            tokens: Vec::new(),
        }
    }

    /// The chain's own tokens, asked for by symbol.
    pub fn with_tokens(mut self, tokens: Vec<KnownToken>) -> Self {
        self.tokens = tokens;
        self
    }

    /// The node that `/rpc/{family}` forwards read methods to.
    pub fn with_node_url(mut self, url: impl Into<String>) -> Self {
        self.node_url = Some(url.into());
        self
    }

    /// The chain's demo game, if it has one.
    pub fn with_demo_game(mut self, game: Option<String>) -> Self {
        self.demo_game = game;
        self
    }

    /// The contracts published in `/api/config`.
    pub fn with_contracts(mut self, contracts: std::collections::BTreeMap<String, String>) -> Self {
        self.contracts = contracts;
        self
    }
}

impl std::fmt::Debug for ChainSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainSlot")
            .field("chain", &self.chain.id())
            .field("account_class", &self.account_class)
            .finish_non_exhaustive()
    }
}

/// The contents of [`AppState`].
pub struct AppInner {
    /// Persistence.
    pub store: Store,
    /// The default chain: requests that name none go to it, and the Chipi dialect (a
    /// Starknet API) serves it.
    primary: ChainSlot,
    /// The other chains, by CAIP-2 id.
    others: Vec<ChainSlot>,
    /// End-user token verifiers, one per organisation.
    pub issuers: service::organizations::IssuerCache,
    /// Rate limiters.
    pub limits: limits::Limiters,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Settings.
    pub config: ApiConfig,
}

impl AppInner {
    /// The default chain.
    pub fn primary(&self) -> &ChainSlot {
        &self.primary
    }

    /// Every chain served, the default first.
    pub fn chains(&self) -> impl Iterator<Item = &ChainSlot> {
        std::iter::once(&self.primary).chain(&self.others)
    }

    /// The chain of CAIP-2 id `id`, if it is served.
    pub fn chain_slot(&self, id: &str) -> Option<&ChainSlot> {
        self.chains().find(|slot| slot.chain.id().as_str() == id)
    }

    /// The chain `id` names (`400 UNKNOWN_CHAIN` when it is not served), or the default.
    pub(crate) fn requested_chain(&self, id: Option<&str>) -> ApiResult<&ChainSlot> {
        match id {
            None => Ok(&self.primary),
            Some(id) => self.chain_slot(id).ok_or_else(|| {
                let served: Vec<&str> = self.chains().map(|s| s.chain.id().as_str()).collect();
                ApiError::bad_request(
                    codes::UNKNOWN_CHAIN,
                    format!("this server serves {}", served.join(", ")),
                )
            }),
        }
    }

    /// The chain a stored wallet lives on.
    pub(crate) fn chain_of(&self, wallet: &latchkey_store::Wallet) -> ApiResult<&ChainSlot> {
        self.chain_slot(&wallet.chain).ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::UPSTREAM_UNAVAILABLE,
                format!("this wallet's chain, {}, is not served now", wallet.chain),
            )
        })
    }

    /// The default chain's account class hash, which the Starknet-only routes (the Chipi
    /// dialect) name.
    pub(crate) fn starknet_class_hash(&self) -> ApiResult<Felt> {
        service::domain_chain_id(&self.primary)?;
        latchkey_core::parse_felt(&self.primary.account_class).map_err(ApiError::internal)
    }
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for AppInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("primary", &self.primary)
            .field("others", &self.others)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state: `primary` is the default chain, `others` the rest (one per
    /// CAIP-2 id). `/metrics` reports the counters of `primary`'s relayer: start every
    /// relayer of the server with the same [`RelayerConfig::metrics`](latchkey_relayer::RelayerConfig::metrics).
    pub fn new(
        store: Store,
        primary: ChainSlot,
        others: Vec<ChainSlot>,
        config: ApiConfig,
    ) -> Self {
        let metrics = Metrics::new(primary.relayer.metrics());
        Self(Arc::new(AppInner {
            store,
            primary,
            others,
            issuers: service::organizations::IssuerCache::default(),
            limits: limits::Limiters::new(config.rate_limits),
            metrics,
            config,
        }))
    }

    /// Releases the idempotency claims this instance left in flight when it last stopped
    /// (nothing of it can still be running): call once at start.
    pub async fn release_orphaned_claims(&self) -> Result<u64, latchkey_store::StoreError> {
        self.store.release_in_flight_idempotency(&self.config.instance).await
    }
}

/// The full router: both dialects, health, metrics, OpenAPI.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(dialect::chipi::routes())
        .merge(dialect::native::routes())
        .merge(admin::routes())
        .merge(stats::routes())
        .merge(custody::routes())
        .merge(pin::routes())
        .route("/health", get(health))
        .route("/metrics", get(metrics::render))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/config", get(public_config))
        .route("/rpc/{family}", axum::routing::post(rpc_proxy::forward))
        .fallback(web::fallback)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), cors::layer))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

/// Any panic left in a handler becomes a `500 INTERNAL_ERROR` with the usual body and a
/// log line, never a dropped connection. (The message is logged, not sent.)
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(%detail, "handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL_ERROR, "internal error")
        .into_response()
}

async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let response = next.run(request).await;
    state.metrics.observe(method.as_str(), &route, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /health`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HealthResponse {
    /// `ok`, or `degraded` (with status 503) when the database or a chain is unavailable.
    #[schema(pattern = "^(ok|degraded)$")]
    status: &'static str,
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    database: &'static str,
    /// The default chain: `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    chain: &'static str,
    /// The default chain's id as a short string (`SN_SEPOLIA`), when it is one.
    chain_id: Option<String>,
    /// Class hash of latchkey's account on the default chain.
    account_class_hash: String,
    /// Every chain served, the default first.
    chains: Vec<ChainHealth>,
}

/// One chain's health.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChainHealth {
    /// CAIP-2 id (`starknet:SN_SEPOLIA`, `eip155:31337`).
    id: String,
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    status: &'static str,
}

fn up(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "unavailable"
    }
}

#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, body = HealthResponse, description = "The database and every chain answer."),
        (status = 503, body = HealthResponse, description = "The database or a chain does not answer.")))]
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let db = state.store.health().await;
    let mut chains = Vec::new();
    for slot in state.chains() {
        let ok = slot.chain.now().await.is_ok();
        chains.push(ChainHealth { id: slot.chain.id().to_string(), status: up(ok) });
    }
    let chains_ok = chains.iter().all(|c| c.status == "ok");
    let ok = db.is_ok() && chains_ok;
    let primary = state.primary();
    let body = HealthResponse {
        status: if ok { "ok" } else { "degraded" },
        database: up(db.is_ok()),
        chain: chains.first().map_or("unavailable", |c| c.status),
        chain_id: Some(primary.chain.id().reference().to_string()),
        account_class_hash: primary.account_class.clone(),
        chains,
    };
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// What a client needs to know about this deployment.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PublicConfig {
    /// The default chain's id as a short string (`SN_SEPOLIA`), when it is one.
    chain_id: Option<String>,
    /// Class hash of latchkey's account on the default chain.
    account_class_hash: String,
    /// The demo game contract on the default chain, when it has one.
    demo_game: Option<String>,
    /// Every chain served, the default first.
    chains: Vec<ChainConfig>,
}

/// One chain served.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChainConfig {
    /// CAIP-2 id (`starknet:SN_SEPOLIA`, `eip155:31337`): what requests name in `chain`.
    id: String,
    /// `starknet` or `evm`.
    #[schema(pattern = "^(starknet|evm)$")]
    family: &'static str,
    /// The unit fees are paid and budgeted in (`FRI`, `WEI`).
    fee_unit: &'static str,
    /// latchkey's account: its class hash (Starknet), the implementation every account
    /// proxies to (EVM).
    account_class: String,
    /// The demo game contract, when the chain has one.
    demo_game: Option<String>,
    /// Contracts clients need, by name (on EVM: `entryPoint`, `factory`, `paymaster`,
    /// `game`, `token`, `nft`).
    contracts: std::collections::BTreeMap<String, String>,
}

/// What a client needs to know about this deployment; public, no credentials.
#[utoipa::path(get, path = "/api/config", tag = "service", responses((status = 200, body = PublicConfig)))]
pub(crate) async fn public_config(State(state): State<AppState>) -> Json<PublicConfig> {
    let primary = state.primary();
    Json(PublicConfig {
        chain_id: Some(primary.chain.id().reference().to_string()),
        account_class_hash: primary.account_class.clone(),
        demo_game: primary.demo_game.clone(),
        chains: state
            .chains()
            .map(|slot| ChainConfig {
                id: slot.chain.id().to_string(),
                family: slot.chain.id().family().as_str(),
                fee_unit: slot.chain.fee_unit(),
                account_class: slot.account_class.clone(),
                demo_game: slot.demo_game.clone(),
                contracts: slot.contracts.clone(),
            })
            .collect(),
    })
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "The OpenAPI document of every dialect.", body = Object, content_type = "application/json")))]
pub(crate) async fn openapi_json(State(state): State<AppState>) -> Response {
    match openapi::served_document(&state.primary().account_class).to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}
