//! `latchkey serve`: the HTTP API and the relayer, on the embedded chain and SQLite by
//! default, or on any Starknet node and PostgreSQL.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use latchkey_api::{ApiConfig, AppState, ChainSlot, Rate, RateLimits};
use latchkey_auth::{generate_api_keys, hash_api_key, KeyEnvironment};
use latchkey_chain::ChainBackend;
use latchkey_core::{parse_felt, to_hex, Felt, SigningKey};
use latchkey_relayer::{Relayer, RelayerConfig};
use latchkey_starknet::{ChainClient, KeyAccount, StarknetBackend};
use latchkey_starknet_contracts::ACCOUNT;
use latchkey_starknet_devnet::{Devnet, DevnetConfig};
use latchkey_store::{ApiKeyKind, BudgetKey, Store};
use url::Url;

use crate::serve_evm::{Absent, EvmArgs, EvmChain};

/// Options of `latchkey serve`; every one is also an environment variable.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LATCHKEY_LISTEN", default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Directory for the SQLite database and the development key file.
    #[arg(long, env = "LATCHKEY_DATA_DIR", default_value = "./latchkey-data")]
    pub(crate) data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: SQLite in the data directory.
    #[arg(long, env = "LATCHKEY_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// JSON-RPC URL of a Starknet node to use instead of the embedded chain.
    #[arg(long, env = "LATCHKEY_RPC_URL", requires = "relayers")]
    pub(crate) rpc_url: Option<Url>,
    /// Relayer accounts for `--rpc-url`, as `address:private_key` (repeat or
    /// comma-separate). Prefer the environment variable: arguments land in shell history.
    #[arg(
        long = "relayer",
        env = "LATCHKEY_RELAYERS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub(crate) relayers: Vec<RelayerKey>,
    /// Start the embedded chains empty, discarding the state they keep in the data
    /// directory. The database keeps its wallets: Starknet wallets are deployed again at
    /// the same addresses, and every session must be registered again.
    #[arg(long, env = "LATCHKEY_FRESH_CHAIN")]
    pub(crate) fresh_chain: bool,
    /// Blocks the Starknet chain must be past a transaction's block before it is final
    /// (its fee settled, a session registration or revocation taken as done); until then
    /// it is `accepted`, and a reorg that takes it out sends it again. 0 trusts the node's
    /// acceptance on L2; acceptance on L1 is final at any depth.
    #[arg(long, env = "LATCHKEY_FINALITY_BLOCKS", default_value_t = 0)]
    pub(crate) finality_blocks: u64,
    /// How many instances share this database and the relayer accounts (each given all
    /// of them): each leases its share, takes over the accounts of one that stops (once
    /// its leases expire) to finish what it left in flight, and gives back idle accounts
    /// beyond its share for one that starts.
    #[arg(long, env = "LATCHKEY_INSTANCES", default_value_t = 1)]
    pub(crate) instances: usize,
    /// Length of a relayer-account lease, in seconds: how long a stopped instance's
    /// accounts wait before another takes them over.
    #[arg(long, env = "LATCHKEY_RELAYER_LEASE_SECONDS", default_value_t = 60)]
    pub(crate) relayer_lease_seconds: u32,
    /// Port of the embedded chain's JSON-RPC (0 picks a free one).
    #[arg(long, env = "LATCHKEY_DEVNET_PORT", default_value_t = 5050)]
    pub(crate) devnet_port: u16,
    /// JWKS URL of the development organisation's auth provider, to accept its end users'
    /// JWTs as bearer tokens (other organisations configure theirs through the API:
    /// `PUT /api/organization/token-issuer`).
    #[arg(long, env = "LATCHKEY_JWKS_URL", requires_all = ["jwt_issuer", "jwt_audience"])]
    pub(crate) jwks_url: Option<Url>,
    /// Required `iss` of the development organisation's end-user JWTs.
    #[arg(long, env = "LATCHKEY_JWT_ISSUER")]
    pub(crate) jwt_issuer: Option<String>,
    /// Required `aud` of the development organisation's end-user JWTs.
    #[arg(long, env = "LATCHKEY_JWT_AUDIENCE")]
    pub(crate) jwt_audience: Option<String>,
    /// Let organisations name a token issuer whose JWKS is plain HTTP on a loopback
    /// address (always allowed on the embedded chain, which is for development).
    #[arg(long, env = "LATCHKEY_ALLOW_LOOPBACK_JWKS")]
    pub(crate) allow_loopback_jwks: bool,
    /// Let browsers on loopback origins (`http://localhost:3000`, `http://127.0.0.1:5173`,
    /// …) call the API with any organisation's keys, for app development. Other origins
    /// are allowed per organisation (`PUT /api/organization/allowed-origins`).
    #[arg(long, env = "LATCHKEY_DEV_CORS")]
    pub(crate) dev_cors: bool,
    /// Rate limit per API key, as `per_second[/burst]`.
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_PER_KEY", default_value = "1000/2000")]
    pub(crate) rate_limit_per_key: RateArg,
    /// Rate limit per end user, as `per_second[/burst]`.
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_PER_USER", default_value = "50/100")]
    pub(crate) rate_limit_per_user: RateArg,
    /// Rate limit per wallet, as `per_second[/burst]`.
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_PER_WALLET", default_value = "50/100")]
    pub(crate) rate_limit_per_wallet: RateArg,
    /// PIN evaluations (OPRF unlocks) per wallet and per end user, as `per_second[/burst]`
    /// (a durable attempt counter locks a wallet after 10 unproved ones regardless).
    #[arg(long, env = "LATCHKEY_RATE_LIMIT_PIN", default_value = "1/5")]
    pub(crate) rate_limit_pin: RateArg,
    /// The OPRF key file that PIN-sealed (`lk2`) keys depend on; created (mode 0600) at
    /// first start. Keep it apart from database backups: with the database alone no PIN
    /// can be tested, without the file no PIN-sealed key can be unlocked. Default:
    /// `oprf-keys` in the data directory.
    #[arg(long, env = "LATCHKEY_OPRF_KEY_FILE")]
    pub(crate) oprf_key_file: Option<PathBuf>,
    /// The OPRF keys themselves, in the key file's format, instead of a file (for secret
    /// stores that hand out environment variables).
    #[arg(
        long,
        env = "LATCHKEY_OPRF_KEYS",
        hide_env_values = true,
        conflicts_with = "oprf_key_file"
    )]
    pub(crate) oprf_keys: Option<String>,
    /// A token `/metrics` requires as `Authorization: Bearer …` (default: open).
    #[arg(long, env = "LATCHKEY_METRICS_TOKEN", hide_env_values = true)]
    pub(crate) metrics_token: Option<String>,
    /// Gas budget of the development organisation created at first start, in STRK.
    #[arg(long, env = "LATCHKEY_DEV_GAS_BUDGET_STRK", default_value_t = 1_000)]
    pub(crate) dev_gas_budget_strk: u64,
    /// The built dashboard and demo game (`web/build.sh` writes them); default: `web/dist`
    /// of the source tree this binary was built from.
    #[arg(long, env = "LATCHKEY_WEB_DIR")]
    pub(crate) web_dir: Option<PathBuf>,
    /// The EVM chain.
    #[command(flatten)]
    pub(crate) evm: EvmArgs,
}

/// A rate limit on the command line: `per_second[/burst]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateArg(Rate);

impl std::str::FromStr for RateArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let number = |text: &str| {
            text.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{text:?} is not a positive whole number"))
        };
        let (rate, burst) = match s.split_once('/') {
            Some((rate, burst)) => (number(rate)?, number(burst)?),
            None => {
                let rate = number(s)?;
                (rate, rate)
            }
        };
        Ok(Self(Rate::new(rate, burst.max(rate))))
    }
}

/// `web/dist` of the source tree the binary was built from.
fn default_web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist")
}

/// A relayer account given on the command line; its key never prints.
#[derive(Clone)]
pub(crate) struct RelayerKey {
    address: Felt,
    key: SigningKey,
}

impl std::fmt::Debug for RelayerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayerKey")
            .field("address", &to_hex(&self.address))
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for RelayerKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (address, key) = s.split_once(':').ok_or("expected address:private_key")?;
        let address = parse_felt(address).map_err(|e| format!("relayer address: {e}"))?;
        // Never echo the key, even when it is malformed.
        let key = SigningKey::from_hex(key)
            .map_err(|_| "relayer private key is not a valid key".to_string())?;
        Ok(Self { address, key })
    }
}

/// A running server, for the command and for the benchmarks.
pub(crate) struct Server {
    pub(crate) api_url: String,
    pub(crate) rpc_url: Url,
    pub(crate) chain_id: Felt,
    pub(crate) account_class_hash: Felt,
    pub(crate) database: String,
    pub(crate) dev_keys: DevKeys,
    pub(crate) embedded_chain: Option<Devnet>,
    /// The EVM chain, or why it is not served.
    pub(crate) evm: Result<EvmChain, Absent>,
    /// The dashboard's directory, when it is built.
    pub(crate) dashboard: Option<PathBuf>,
    serve: tokio::task::JoinHandle<std::io::Result<()>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The development organisation's keys: both at first start, the public one after; and
/// the operator token (the admin API's), at first start only.
pub(crate) struct DevKeys {
    pub(crate) public: Option<String>,
    pub(crate) secret_shown_once: Option<String>,
    pub(crate) operator_token_shown_once: Option<String>,
}

impl Server {
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.serve).await;
    }
}

fn database_url(args: &ServeArgs) -> anyhow::Result<String> {
    match &args.database_url {
        Some(url) => Ok(url.clone()),
        None => {
            let path = args.data_dir.join("latchkey.db");
            Ok(format!("sqlite://{}", path.display()))
        }
    }
}

fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Starts everything: store, chain, relayer, HTTP. Returns once the API answers.
pub(crate) async fn start(args: &ServeArgs) -> anyhow::Result<Server> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let database = database_url(args)?;
    let store = Store::connect(&database)
        .await
        .with_context(|| format!("opening {}", redact_url(&database)))?;

    let account_class_hash = ACCOUNT.class_hash()?;
    let (chain, relayer_keys, embedded) = match &args.rpc_url {
        Some(url) => {
            let chain = ChainClient::connect(url.clone()).await.with_context(|| {
                format!("connecting to {}", latchkey_starknet::redact_urls(url.as_str()))
            })?;
            if args.relayers.is_empty() {
                bail!("--rpc-url needs at least one --relayer address:private_key (or LATCHKEY_RELAYERS)");
            }
            let keys: Vec<(Felt, SigningKey)> =
                args.relayers.iter().map(|r| (r.address, r.key.clone())).collect();
            let (address, key) = &keys[0];
            KeyAccount::owner(&chain, *address, key.clone())
                .declare_artifact(&chain, &ACCOUNT)
                .await
                .context("declaring latchkey's account class")?;
            (chain, keys, None)
        }
        None => {
            let state = args.data_dir.join(STARKNET_STATE_FILE);
            if args.fresh_chain {
                discard(&state)?;
            }
            let devnet = Devnet::start_with(DevnetConfig {
                port: args.devnet_port,
                state: Some(state),
                ..DevnetConfig::default()
            })
            .await
            .with_context(|| {
                format!("starting the embedded chain on 127.0.0.1:{}", args.devnet_port)
            })?;
            let keys = devnet.relayers().iter().map(|r| (r.address, r.key.clone())).collect();
            (devnet.client().clone(), keys, Some(devnet))
        }
    };

    let instance = instance_id(&args.data_dir)?;
    let config = RelayerConfig {
        lease_owner: instance.clone(),
        instances: args.instances.max(1),
        lease_seconds: i64::from(args.relayer_lease_seconds.max(3)),
        ..RelayerConfig::default()
    };
    let backend = StarknetBackend::new(chain.clone(), account_class_hash, relayer_keys)
        .map_err(|e| anyhow::anyhow!("the chain: {}", e.0))?;
    let backend: Arc<dyn ChainBackend> = Arc::new(backend);
    let adopted = store.adopt_legacy_chain(backend.id().as_str()).await?;
    if adopted > 0 {
        tracing::info!(adopted, chain = %backend.id(), "rows written before chains were named now name this chain");
    }
    let evm = crate::serve_evm::start(&args.evm, &args.data_dir, args.fresh_chain).await?;
    let mut budgets = vec![(backend.clone(), u128::from(args.dev_gas_budget_strk))];
    if let Ok(evm) = &evm {
        budgets.push((evm.backend.clone(), u128::from(args.evm.dev_gas_budget_eth)));
    }
    let mut dev_keys = ensure_dev_organization(&store, &args.data_dir, &budgets).await?;
    dev_keys.operator_token_shown_once = latchkey_api::ensure_operator_token(&store, None)
        .await?
        .map(|token| token.expose().to_string());
    let starknet_config = RelayerConfig { finality_depth: args.finality_blocks, ..config.clone() };
    let relayer = Relayer::start(backend.clone(), store.clone(), starknet_config).await?;
    if embedded.is_some() {
        redeploy_wallets(&store, backend.id().as_str(), &relayer, account_class_hash).await?;
    }
    let mut others = Vec::new();
    if let Ok(evm) = &evm {
        let config = RelayerConfig { finality_depth: args.evm.evm_finality_blocks, ..config };
        let relayer = Relayer::start(evm.backend.clone(), store.clone(), config).await?;
        let class = latchkey_evm::address_text(evm.deployment.account_implementation);
        others.push(
            ChainSlot::new(evm.backend.clone(), relayer, class)
                .with_demo_game(Some(latchkey_evm::address_text(evm.deployment.game)))
                .with_contracts(evm.contracts())
                .with_node_url(evm.node_url.clone()),
        );
    }

    let oprf_keys = load_oprf_keys(args)?;
    let web_dir = args.web_dir.clone().unwrap_or_else(default_web_dir);
    let dashboard = web_dir.join("index.html").is_file().then(|| web_dir.clone());
    let config = ApiConfig {
        web_dir: Some(web_dir),
        rate_limits: RateLimits {
            per_api_key: args.rate_limit_per_key.0,
            per_user: args.rate_limit_per_user.0,
            per_wallet: args.rate_limit_per_wallet.0,
            pin_evaluations: args.rate_limit_pin.0,
            ..RateLimits::default()
        },
        pin: latchkey_api::PinSettings {
            keys: std::sync::Arc::new(oprf_keys),
            ..latchkey_api::PinSettings::default()
        },
        allow_loopback_issuers: args.allow_loopback_jwks || embedded.is_some(),
        metrics_token: args.metrics_token.clone(),
        instance,
        dev_cors: args.dev_cors,
        ..ApiConfig::default()
    };
    let primary = ChainSlot::new(backend, relayer, to_hex(&account_class_hash))
        .with_demo_game(embedded.as_ref().and_then(Devnet::game).map(|game| to_hex(&game)))
        .with_node_url(chain.url().as_str())
        .with_tokens(starknet_fee_tokens());
    let state = AppState::new(store.clone(), primary, others, config);
    let released = state.release_orphaned_claims().await?;
    if released > 0 {
        tracing::info!(released, "released idempotency keys this instance left in flight");
    }
    if let (Some(url), Some(issuer), Some(audience)) =
        (&args.jwks_url, &args.jwt_issuer, &args.jwt_audience)
    {
        let org = store.first_organization().await?.context("the development organisation")?;
        latchkey_api::set_token_issuer(&state, &org.id, url.as_str(), issuer, audience)
            .await
            .map_err(|e| anyhow::anyhow!("the end-user token issuer: {}", e.message))?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let api_url = format!("http://{}", listener.local_addr()?);
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    // The client address is what the read-only chain endpoints are rate limited by.
    let app =
        latchkey_api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let serve = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Server {
        api_url,
        rpc_url: chain.url().clone(),
        chain_id: chain.chain_id(),
        account_class_hash,
        database: redact_url(&database),
        dev_keys,
        embedded_chain: embedded,
        evm,
        dashboard,
        serve,
        shutdown: Some(shutdown),
    })
}

const DEV_KEY_FILE: &str = "dev-public-key.txt";
/// The embedded Starknet chain's journal, in the data directory.
pub(crate) const STARKNET_STATE_FILE: &str = "starknet-chain.jsonl";

/// Removes a kept chain state file (`--fresh-chain`); a missing one is fine.
pub(crate) fn discard(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "discarded the kept chain state");
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("removing {}", path.display())),
    }
}
const OPRF_KEY_FILE: &str = "oprf-keys";

/// The OPRF key ring: from `LATCHKEY_OPRF_KEYS`, or the key file (created with one fresh
/// key, readable by this user only, when it does not exist).
fn load_oprf_keys(args: &ServeArgs) -> anyhow::Result<latchkey_api::OprfKeyRing> {
    if let Some(text) = &args.oprf_keys {
        return latchkey_api::OprfKeyRing::parse(text)
            .map_err(|e| anyhow::anyhow!("LATCHKEY_OPRF_KEYS: {e}"));
    }
    let path = args.oprf_key_file.clone().unwrap_or_else(|| args.data_dir.join(OPRF_KEY_FILE));
    match std::fs::read_to_string(&path) {
        Ok(text) => latchkey_api::OprfKeyRing::parse(&text)
            .map_err(|e| anyhow::anyhow!("the OPRF key file {}: {e}", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let ring = latchkey_api::OprfKeyRing::generate(&mut rand::rngs::OsRng);
            write_private(&path, ring.to_file_text().as_bytes())
                .with_context(|| format!("creating the OPRF key file {}", path.display()))?;
            tracing::info!(path = %path.display(), "created the OPRF key file");
            Ok(ring)
        }
        Err(err) => {
            Err(err).with_context(|| format!("reading the OPRF key file {}", path.display()))
        }
    }
}

/// Creates `path` with `bytes`, readable and writable by this user only; fails if it
/// exists.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
const INSTANCE_FILE: &str = "instance-id";

/// This instance's stable name (kept in the data directory): a restart after a crash
/// reclaims its relayer leases at once, while other instances on the same database keep
/// theirs.
fn instance_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(INSTANCE_FILE);
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let id = format!("latchkey-{:016x}", rand::random::<u64>());
    std::fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// The development organisation, created with its API keys at first start, and its gas
/// budget on each chain (`budgets`: the chain and whole units of its fee token, STRK or
/// ETH), given on the first start that serves that chain.
async fn ensure_dev_organization(
    store: &Store,
    data_dir: &Path,
    budgets: &[(Arc<dyn ChainBackend>, u128)],
) -> anyhow::Result<DevKeys> {
    let key_file = data_dir.join(DEV_KEY_FILE);
    if let Some(org) = store.first_organization().await? {
        for (chain, whole) in budgets {
            let key =
                BudgetKey { org_id: &org.id, chain: chain.id().as_str(), unit: chain.fee_unit() };
            let current = store.gas_budget(key).await?;
            if current.budget == 0 && current.spent == 0 {
                store.set_gas_budget(key, whole * 10u128.pow(18)).await?;
            }
        }
        let public = std::fs::read_to_string(&key_file).ok().map(|s| s.trim().to_string());
        return Ok(DevKeys { public, secret_shown_once: None, operator_token_shown_once: None });
    }
    let org = store.create_organization("development").await?;
    for (chain, whole) in budgets {
        let key = BudgetKey { org_id: &org.id, chain: chain.id().as_str(), unit: chain.fee_unit() };
        store.set_gas_budget(key, whole * 10u128.pow(18)).await?;
    }
    let keys = generate_api_keys(KeyEnvironment::Dev, &mut rand::rngs::OsRng);
    store
        .insert_api_key(
            &org.id,
            ApiKeyKind::Public,
            &hash_api_key(&keys.public_key, None),
            &latchkey_auth::display_prefix(&keys.public_key),
        )
        .await?;
    let secret = keys.secret_key.expose().to_string();
    store
        .insert_api_key(
            &org.id,
            ApiKeyKind::Secret,
            &hash_api_key(&secret, None),
            &latchkey_auth::display_prefix(&secret),
        )
        .await?;
    // The public key is public (browsers send it); keep it to print on later starts.
    std::fs::write(&key_file, format!("{}\n", keys.public_key))?;
    Ok(DevKeys {
        public: Some(keys.public_key),
        secret_shown_once: Some(secret),
        operator_token_shown_once: None,
    })
}

/// The embedded chain starts empty at every start: deploy the known wallets again (same
/// addresses, same owner keys) so they keep working. Their sessions must be registered
/// again.
async fn redeploy_wallets(
    store: &Store,
    chain: &str,
    relayer: &Relayer,
    class_hash: Felt,
) -> anyhow::Result<()> {
    let Some(org) = store.first_organization().await? else { return Ok(()) };
    let mut offset = 0;
    loop {
        let page = store.list_wallets(&org.id, 100, offset).await?;
        if page.is_empty() {
            return Ok(());
        }
        for wallet in &page {
            if wallet.chain == chain && parse_felt(&wallet.class_hash)? == class_hash {
                relayer.deploy_account(&org.id, &wallet.owner_public_key).await?;
            }
        }
        offset += page.len() as u32;
    }
}

/// `latchkey serve`.
pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let server = start(&args).await?;
    let elapsed = started.elapsed();
    print_banner(&server, elapsed);
    shutdown_signal().await;
    eprintln!("stopping…");
    server.stop().await;
    Ok(())
}

fn print_banner(server: &Server, elapsed: std::time::Duration) {
    let chain = latchkey_core::decode_short_string(&server.chain_id)
        .unwrap_or_else(|| to_hex(&server.chain_id));
    let chain_kind =
        if server.embedded_chain.is_some() { "embedded devnet" } else { "external node" };
    println!("latchkey is ready ({:.2?})", elapsed);
    println!();
    println!(
        "  API            {}   (OpenAPI: {}/api/openapi.json)",
        server.api_url, server.api_url
    );
    match &server.dashboard {
        Some(_) => {
            println!("  Dashboard      {}/   (demo game: {}/game)", server.api_url, server.api_url)
        }
        None => println!("  Dashboard      not built: run web/build.sh (needs Node.js and npm)"),
    }
    println!("  Chain RPC      {}   ({chain_kind}, {chain})", server.rpc_url);
    println!("  Account class  {}", to_hex(&server.account_class_hash));
    if let Some(game) = server.embedded_chain.as_ref().and_then(|d| d.game()) {
        println!("  Demo game      {}", to_hex(&game));
    }
    match &server.evm {
        Ok(evm) => {
            let kind = if evm.anvil.is_some() { "embedded anvil" } else { "external node" };
            let d = &evm.deployment;
            let id = evm.backend.id();
            println!("  EVM RPC        {}   ({kind}, {id})", evm.rpc_url);
            println!("  EntryPoint     {}   (v0.8)", latchkey_evm::address_text(d.entry_point));
            println!(
                "  EVM account    {}   (implementation; factory {})",
                latchkey_evm::address_text(d.account_implementation),
                latchkey_evm::address_text(d.factory)
            );
            println!("  EVM game       {}", latchkey_evm::address_text(d.game));
        }
        Err(Absent::Disabled) => println!("  EVM            off (--no-evm)"),
        Err(Absent::NoNode) => println!(
            "  EVM            off: install Node.js and npm and restart to add eip155:31337 (anvil)"
        ),
    }
    println!("  Database       {}", server.database);
    match (&server.dev_keys.public, &server.dev_keys.secret_shown_once) {
        (Some(public), Some(secret)) => {
            println!("  Public key     {public}");
            println!("  Secret key     {secret}");
        }
        (Some(public), None) => {
            println!("  Public key     {public}   (the secret key was shown at first start)")
        }
        (None, _) => println!("  API keys       were created at first start"),
    }
    if let Some(token) = &server.dev_keys.operator_token_shown_once {
        println!("  Operator       {token}   (the admin API's token)");
    }
    match (&server.dev_keys.secret_shown_once, &server.dev_keys.operator_token_shown_once) {
        (Some(_), Some(_)) => {
            println!();
            println!(
                "  The secret key and the operator token are shown this once and stored only as"
            );
            println!("  hashes: keep them now.");
        }
        (Some(_), None) => {
            println!();
            println!("  The secret key is shown this once and stored only as a hash: keep it now.");
        }
        (None, Some(_)) => {
            println!();
            println!(
                "  The operator token is shown this once and stored only as a hash: keep it now."
            );
        }
        (None, None) => {}
    }
    if let Some(devnet) = &server.embedded_chain {
        println!();
        match devnet.restored() {
            Some(changes) => println!(
                "  The embedded chains kept their state: {changes} Starknet changes replayed; wallets\n  and sessions are where they were (--fresh-chain starts them empty)."
            ),
            None => println!(
                "  The embedded chains started empty; they keep their state in the data directory\n  from now on (--fresh-chain starts them empty again)."
            ),
        }
    }
    let public = server.dev_keys.public.as_deref().unwrap_or("pk_dev_…");
    let secret = server.dev_keys.secret_shown_once.as_deref().unwrap_or("sk_dev_…");
    println!();
    println!("Next: in another terminal, set these and follow the README walkthrough:");
    println!();
    println!("  export LATCHKEY_URL={}", server.api_url);
    println!("  export LATCHKEY_PUBLIC_KEY={public}");
    println!("  export LATCHKEY_SECRET_KEY={secret}");
    if let Some(token) = &server.dev_keys.operator_token_shown_once {
        println!("  export LATCHKEY_OPERATOR_TOKEN={token}");
    }
    if let Some(game) = server.embedded_chain.as_ref().and_then(|d| d.game()) {
        println!("  export GAME={}", to_hex(&game));
    }
    if let Ok(evm) = &server.evm {
        println!("  export EVM_GAME={}", latchkey_evm::address_text(evm.deployment.game));
    }
    println!("  curl -s $LATCHKEY_URL/health");
    println!();
    println!("Press Ctrl-C to stop.");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Starknet's fee tokens, asked for by symbol.
fn starknet_fee_tokens() -> Vec<latchkey_api::KnownToken> {
    latchkey_starknet::FEE_TOKENS
        .into_iter()
        .map(|(symbol, address)| latchkey_api::KnownToken {
            symbol: symbol.into(),
            address: to_hex(&address),
            decimals: 18,
        })
        .collect()
}
