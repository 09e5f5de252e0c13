//! The embedded local chain: starknet-devnet running in-process on `127.0.0.1` with an
//! ephemeral port, latchkey's classes declared, the demo game deployed, and funded
//! relayer accounts. Dropping the [`Devnet`] stops the server.
//!
//! With [`DevnetConfig::state`] set, the chain keeps its state in a [journal] file and a
//! restart on the same file finds every account, class, balance and counter where it was.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Instant;

use latchkey_core::{short_string, to_hex, Felt, SigningKey};
use latchkey_starknet::{
    ChainClient, ChainError, FeeMode, KeyAccount, ETH_ADDRESS, STRK_ADDRESS, UDC_ADDRESS,
};
use latchkey_starknet_contracts::{ACCOUNT, CALL_FORWARDER, GAME};
use starknet_devnet_core::starknet::starknet_config::{
    BlockGenerationOn, DumpOn, StarknetConfig, StateArchiveCapacity,
};
use starknet_devnet_core::starknet::Starknet;
use starknet_devnet_server::api::Api;
use starknet_devnet_server::rpc_core::request::{Id, RequestParams, RpcMethodCall, Version};
use starknet_devnet_server::rpc_handler::RpcHandler as _;
use starknet_devnet_server::ServerConfig;
use starknet_devnet_types::chain_id::ChainId;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

/// Errors starting or driving the embedded chain.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// Devnet itself failed.
    #[error("devnet: {0}")]
    Devnet(String),
    /// Binding the listener, or reading or writing the chain state, failed.
    #[error("input/output: {0}")]
    Io(#[from] std::io::Error),
    /// A chain operation during setup failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// An artifact could not be read.
    #[error(transparent)]
    Contracts(#[from] latchkey_starknet_contracts::ContractsError),
}

/// How to start the chain.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// Seed of the predeployed accounts' keys.
    pub seed: u32,
    /// Number of funded relayer accounts.
    pub relayers: u8,
    /// Chain id as a short string (`SN_SEPOLIA` by default).
    pub chain_id: String,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Deploy the demo game.
    pub deploy_game: bool,
    /// The journal file the chain keeps its state in (replayed at start when it exists);
    /// `None` starts an empty chain that is gone when it stops.
    pub state: Option<PathBuf>,
    /// Keep every block's state, so blocks can be aborted (`devnet_abortBlocks`, a
    /// simulated reorg). Costs memory per block.
    pub reorgs: bool,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            relayers: 4,
            chain_id: "SN_SEPOLIA".into(),
            port: 0,
            deploy_game: true,
            state: None,
            reorgs: false,
        }
    }
}

/// A funded account the devnet predeployed, used as a relayer / paymaster.
#[derive(Debug, Clone)]
pub struct RelayerAccount {
    /// Its address.
    pub address: Felt,
    /// Its private key.
    pub key: SigningKey,
}

/// Class hashes of latchkey's contracts on this chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    /// The session-key account.
    pub account: Felt,
    /// The demo game.
    pub game: Felt,
    /// The test call forwarder.
    pub call_forwarder: Felt,
}

/// A running in-process devnet. Stops when dropped.
pub struct Devnet {
    handler: Handler,
    restored: Option<usize>,
    url: Url,
    client: ChainClient,
    relayers: Vec<RelayerAccount>,
    classes: Classes,
    game: Option<Felt>,
    shutdown: Option<oneshot::Sender<()>>,
    /// The node's thread, joined when it stops.
    thread: Option<std::thread::JoinHandle<()>>,
    startup: std::time::Duration,
}

impl Devnet {
    /// Starts a devnet with the default configuration.
    pub async fn start() -> Result<Self, DevnetError> {
        Self::start_with(DevnetConfig::default()).await
    }

    /// Starts a devnet, declares latchkey's classes and deploys the demo game; or, with
    /// a journal from an earlier run, replays it.
    pub async fn start_with(config: DevnetConfig) -> Result<Self, DevnetError> {
        let started = Instant::now();
        let chain_id = short_string(&config.chain_id)
            .map_err(|e| DevnetError::Devnet(format!("chain id: {e}")))?;
        let accounts = config.relayers.max(1);
        let loaded = match &config.state {
            Some(path) => Journal::load(path)?,
            None => None,
        };
        let genesis_time = loaded
            .as_ref()
            .map(|loaded| loaded.genesis.time)
            .unwrap_or_else(Starknet::get_unix_timestamp_as_seconds);
        let genesis = Genesis::new(config.seed, accounts, &config.chain_id, genesis_time);
        let starknet_config = StarknetConfig {
            seed: config.seed,
            total_accounts: accounts,
            start_time: Some(genesis_time),
            // Devnet records each state change in memory; the journal writes them out.
            dump_on: config.state.is_some().then_some(DumpOn::Request),
            state_archive: if config.reorgs {
                StateArchiveCapacity::Full
            } else {
                StateArchiveCapacity::None
            },
            chain_id: match config.chain_id.as_str() {
                "SN_MAIN" => ChainId::Mainnet,
                "SN_SEPOLIA" => ChainId::Testnet,
                _ => ChainId::Custom(chain_id),
            },
            block_generation_on: BlockGenerationOn::Transaction,
            ..StarknetConfig::default()
        };
        let starknet =
            Starknet::new(&starknet_config).map_err(|e| DevnetError::Devnet(e.to_string()))?;
        let relayers = starknet
            .get_predeployed_accounts()
            .into_iter()
            .map(|account| {
                let key = SigningKey::from_felt(account.keys.private_key)
                    .map_err(|e| DevnetError::Devnet(format!("predeployed key: {e}")))?;
                Ok(RelayerAccount { address: Felt::from(account.account_address), key })
            })
            .collect::<Result<Vec<_>, DevnetError>>()?;

        let listener = std::net::TcpListener::bind((IpAddr::V4(Ipv4Addr::LOCALHOST), config.port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let server_config = ServerConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            timeout: 120,
            log_request: false,
            log_response: false,
            restricted_methods: None,
            ui_enabled: false,
        };
        let api = Api::new(starknet, server_config.clone());
        let (handler, restored) = match (&config.state, &loaded) {
            (Some(path), Some(loaded)) => {
                let handler =
                    Handler::new(api.clone(), Some(Journal::reopen(path, loaded, &genesis)?));
                if loaded.dropped_bytes > 0 {
                    tracing::warn!(
                        bytes = loaded.dropped_bytes,
                        "the chain state ended in a partial write (a crash); it was cut off"
                    );
                }
                handler.replay(loaded).await?;
                (handler, Some(loaded.entries.len()))
            }
            (Some(path), None) => {
                (Handler::new(api.clone(), Some(Journal::create(path, &genesis)?)), None)
            }
            (None, _) => (Handler::new(api.clone(), None), None),
        };
        let router = node_router(handler.clone());
        // The node runs on a thread and runtime of its own, as a separate node would:
        // executing a transaction is seconds of CPU-bound work per thousand, which must
        // not hold up the worker threads of whoever embeds the chain.
        let (shutdown, stopped) = oneshot::channel::<()>();
        let (ready, started_up) = oneshot::channel::<std::io::Result<()>>();
        let thread = std::thread::Builder::new().name("latchkey-starknet-devnet".into()).spawn(
            move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("latchkey-starknet-devnet")
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = ready.send(Err(error));
                            return;
                        }
                    };
                    // Stopping takes no new request and lets those being handled finish (a
                    // block being made is made whole, and journaled, or not at all), within
                    // a grace; then the runtime is dropped, and every connection with it.
                    let (finish, finishing) = oneshot::channel::<()>();
                    let server = axum::serve(listener, router.into_make_service())
                        .with_graceful_shutdown(async move {
                            let _ = finishing.await;
                        });
                    let server = tokio::spawn(std::future::IntoFuture::into_future(server));
                    let _ = ready.send(Ok(()));
                    let _ = stopped.await;
                    let _ = finish.send(());
                    let _ = tokio::time::timeout(STOP_GRACE, server).await;
                });
            },
        )?;
        started_up
            .await
            .map_err(|_| DevnetError::Devnet("the node thread stopped during start-up".into()))??;

        let url = Url::parse(&format!("http://127.0.0.1:{port}/rpc"))
            .map_err(|e| DevnetError::Devnet(e.to_string()))?;
        let client = ChainClient::connect(url.clone()).await?;
        let mut devnet = Self {
            handler,
            restored,
            url,
            client,
            relayers,
            classes: Classes {
                account: ACCOUNT.class_hash()?,
                game: GAME.class_hash()?,
                call_forwarder: CALL_FORWARDER.class_hash()?,
            },
            game: None,
            shutdown: Some(shutdown),
            thread: Some(thread),
            startup: std::time::Duration::ZERO,
        };
        devnet.setup(config.deploy_game).await?;
        devnet.startup = started.elapsed();
        Ok(devnet)
    }

    async fn setup(&mut self, deploy_game: bool) -> Result<(), DevnetError> {
        let deployer = self.relayer_account(0)?;
        for artifact in [&ACCOUNT, &GAME, &CALL_FORWARDER] {
            deployer.declare_artifact(&self.client, artifact).await?;
        }
        if deploy_game {
            let salt =
                short_string("latchkey-game").map_err(|e| DevnetError::Devnet(e.to_string()))?;
            let game = latchkey_core::contract_address(&salt, &self.classes.game, &[], &Felt::ZERO);
            // A restored chain has it already.
            if self.client.class_hash_at(game).await?.is_none() {
                let call = latchkey_starknet::udc_deploy_call(self.classes.game, salt, &[]);
                let hash = deployer.send(&[call], FeeMode::Estimate).await?;
                self.client.wait_for_transaction(hash).await?;
            }
            self.game = Some(game);
        }
        Ok(())
    }

    /// The JSON-RPC endpoint.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A client connected to this chain.
    pub fn client(&self) -> &ChainClient {
        &self.client
    }

    /// The chain id felt.
    pub fn chain_id(&self) -> Felt {
        self.client.chain_id()
    }

    /// The funded relayer accounts.
    pub fn relayers(&self) -> &[RelayerAccount] {
        &self.relayers
    }

    /// A [`KeyAccount`] for relayer `index`.
    pub fn relayer_account(&self, index: usize) -> Result<KeyAccount, DevnetError> {
        let relayer = self
            .relayers
            .get(index)
            .ok_or_else(|| DevnetError::Devnet(format!("no relayer {index}")))?;
        Ok(KeyAccount::owner(&self.client, relayer.address, relayer.key.clone()))
    }

    /// Class hashes of latchkey's contracts.
    pub fn classes(&self) -> Classes {
        self.classes
    }

    /// The demo game's address, if deployed.
    pub fn game(&self) -> Option<Felt> {
        self.game
    }

    /// The STRK token.
    pub fn strk(&self) -> Felt {
        STRK_ADDRESS
    }

    /// The ETH token.
    pub fn eth(&self) -> Felt {
        ETH_ADDRESS
    }

    /// The UDC.
    pub fn udc(&self) -> Felt {
        UDC_ADDRESS
    }

    /// With a journal: how many state changes were replayed from it at start (`None` for
    /// a chain that started empty).
    pub fn restored(&self) -> Option<usize> {
        self.restored
    }

    /// Sends a JSON-RPC request to the node the way a client would (state changes are
    /// journaled), returning its result.
    pub async fn request(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, DevnetError> {
        let params = match params {
            serde_json::Value::Object(map) => RequestParams::Object(map),
            serde_json::Value::Array(list) => RequestParams::Array(list),
            _ => RequestParams::None,
        };
        let call = RpcMethodCall {
            jsonrpc: Version::V2,
            method: method.into(),
            params,
            id: Id::Number(1),
        };
        let response = self.handler.on_call(call).await;
        if let Some(error) = handler::response_error(&response) {
            return Err(DevnetError::Devnet(format!("{method}: {error}")));
        }
        let value =
            serde_json::to_value(&response).map_err(|e| DevnetError::Devnet(e.to_string()))?;
        Ok(value.get("result").cloned().unwrap_or(serde_json::Value::Null))
    }

    /// How long starting and setting up took.
    pub fn startup_time(&self) -> std::time::Duration {
        self.startup
    }

    /// Sets the chain clock: the next transaction executes at exactly `timestamp`, and
    /// later blocks follow the wall clock from there.
    pub async fn set_time(&self, timestamp: u64) {
        let params = serde_json::json!({"time": timestamp, "generate_block": true});
        if let Err(error) = self.request("devnet_setTime", params).await {
            tracing::error!(%error, "setting the chain clock");
        }
    }

    /// Moves the chain clock forward by `seconds` (and mines an empty block).
    pub async fn increase_time(&self, seconds: u64) {
        if let Err(error) =
            self.request("devnet_increaseTime", serde_json::json!({"time": seconds})).await
        {
            tracing::error!(%error, "moving the chain clock");
        }
    }

    /// Mints `amount` (in the token's base unit) of STRK or ETH to `address`.
    pub async fn mint(&self, address: Felt, amount: u128, token: Felt) -> Result<(), DevnetError> {
        let unit = match token {
            t if t == STRK_ADDRESS => "FRI",
            t if t == ETH_ADDRESS => "WEI",
            _ => return Err(DevnetError::Devnet(format!("cannot mint {}", to_hex(&token)))),
        };
        let params =
            serde_json::json!({"address": to_hex(&address), "amount": amount, "unit": unit});
        self.request("devnet_mint", params).await.map(drop)
    }
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("url", &self.url.as_str())
            .field("classes", &self.classes)
            .field("game", &self.game)
            .finish_non_exhaustive()
    }
}

/// The node's HTTP routes: JSON-RPC on `/` and `/rpc`, a liveness probe, and CORS open to
/// any origin (a development node that browsers on other local ports read).
fn node_router(handler: Handler) -> axum::Router {
    use axum::routing::{get, post};
    use starknet_devnet_server::rpc_handler::handle;
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_headers([axum::http::header::CONTENT_TYPE])
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST]);
    axum::Router::new()
        .route("/is_alive", get(|| async { "Alive!!!" }))
        .route("/", post(handle::<Handler>))
        .route("/rpc", post(handle::<Handler>))
        .with_state(handler)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(cors)
}

impl Drop for Devnet {
    /// Stops the node and waits for its thread: the requests it was handling are finished
    /// (within a grace of ten seconds), and journaled, before anything may open the
    /// journal again.
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long a stopping node lets the requests it is handling finish.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

mod flows;
mod handler;
pub mod journal;
pub use flows::{User, OUTSIDE_EXECUTION_WINDOW};
use handler::Handler;
use journal::{Genesis, Journal};
