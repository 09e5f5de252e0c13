//! Benchmarks of the server. `latchkey bench throughput` (P3): sustained session
//! executions per second through the HTTP API and the relayer on the embedded chain, with
//! latency percentiles, against the chain's own invoke throughput for the same
//! transactions measured in the same run. `latchkey bench startup` (P4): time from
//! `latchkey serve` to a ready API.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey_api::{ApiConfig, AppState};
use latchkey_auth::{generate_api_keys, hash_api_key, KeyEnvironment};
use latchkey_chain::ChainBackend;
use latchkey_core::{parse_felt, to_hex, Felt, SessionSignature, SigningKey, TypedData};
use latchkey_relayer::{Relayer, RelayerConfig};
use latchkey_starknet::{
    new_outside_execution, outside_execution_call, sign_outside_execution_as_session, FeeMode,
    KeyAccount, StarknetBackend,
};
use latchkey_starknet_contracts::{game_calls, ACCOUNT};
use latchkey_starknet_devnet::{Devnet, DevnetConfig};
use latchkey_store::{ApiKeyKind, BudgetKey, Store};
use serde_json::{json, Value};

/// An API client with an organisation's keys.
pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) public: String,
    pub(crate) secret: String,
}

impl Client {
    pub(crate) async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("x-api-key", &self.public)
            .header("authorization", format!("Bearer {}", self.secret))
            .json(body)
            .send()
            .await?;
        Ok((response.status().as_u16(), response.json().await?))
    }

    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .header("x-api-key", &self.public)
            .header("authorization", format!("Bearer {}", self.secret))
            .send()
            .await?;
        Ok((response.status().as_u16(), response.json().await?))
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// An API server in this process on the embedded chain and a fresh SQLite database, with
/// one organisation and no rate limits (they are not what the benchmarks measure).
pub(crate) struct BenchServer {
    pub(crate) devnet: Devnet,
    pub(crate) store: Store,
    pub(crate) org_id: String,
    pub(crate) url: String,
    pub(crate) public: String,
    pub(crate) secret: String,
    client: Arc<Client>,
    class_hash: Felt,
    dir: std::path::PathBuf,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl BenchServer {
    /// A chain with `chain_relayers` funded accounts, of which the relayer uses the first
    /// `relayers`.
    pub(crate) async fn start(chain_relayers: u8, relayers: usize) -> anyhow::Result<Self> {
        eprintln!("starting the embedded chain, a fresh SQLite database and the API…");
        let devnet = Devnet::start_with(DevnetConfig {
            relayers: chain_relayers,
            ..DevnetConfig::default()
        })
        .await?;
        let dir = std::env::temp_dir().join(format!(
            "latchkey-bench-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir)?;
        let store = Store::connect(&format!("sqlite://{}/bench.db", dir.display())).await?;
        let relayer_keys =
            devnet.relayers()[..relayers].iter().map(|r| (r.address, r.key.clone())).collect();
        let class_hash = ACCOUNT.class_hash()?;
        let backend = StarknetBackend::new(devnet.client().clone(), class_hash, relayer_keys)
            .map_err(|e| anyhow::anyhow!("the chain: {}", e.0))?;
        let backend: Arc<dyn ChainBackend> = Arc::new(backend);
        let relayer =
            Relayer::start(backend.clone(), store.clone(), RelayerConfig::default()).await?;
        let org = store.create_organization("bench").await?;
        let budget =
            BudgetKey { org_id: &org.id, chain: backend.id().as_str(), unit: backend.fee_unit() };
        store.set_gas_budget(budget, 10u128.pow(24)).await?;
        let keys = generate_api_keys(KeyEnvironment::Dev, &mut rand::rngs::OsRng);
        let secret = keys.secret_key.expose().to_string();
        store
            .insert_api_key(
                &org.id,
                ApiKeyKind::Public,
                &hash_api_key(&keys.public_key, None),
                "pk",
            )
            .await?;
        store
            .insert_api_key(&org.id, ApiKeyKind::Secret, &hash_api_key(&secret, None), "sk")
            .await?;
        let unlimited = latchkey_api::Rate::new(1_000_000, 1_000_000);
        let config = ApiConfig {
            rate_limits: latchkey_api::RateLimits {
                per_api_key: unlimited,
                per_user: unlimited,
                per_wallet: unlimited,
                pin_evaluations: unlimited,
                per_rpc_client: unlimited,
            },
            ..ApiConfig::default()
        };
        let primary =
            latchkey_api::ChainSlot::new(backend, relayer, latchkey_core::to_hex(&class_hash));
        let state = AppState::new(store.clone(), primary, vec![], config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = latchkey_api::router(state);
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = Arc::new(Client {
            http: reqwest::Client::new(),
            url: url.clone(),
            public: keys.public_key.clone(),
            secret: secret.clone(),
        });
        Ok(Self {
            devnet,
            store,
            org_id: org.id,
            url,
            public: keys.public_key,
            secret,
            client,
            class_hash,
            dir,
            server,
        })
    }

    /// Creates (and deploys) the wallet of `owner` through the API, storing `sealed` as
    /// its encrypted owner key; returns its address.
    pub(crate) async fn create_wallet(
        &self,
        owner: &SigningKey,
        sealed: &str,
    ) -> anyhow::Result<Felt> {
        let client = &self.client;
        let (status, challenge) =
            client.post("/api/challenges", &json!({"purpose": "create-wallet"})).await?;
        anyhow::ensure!(status == 201, "challenge failed: {challenge}");
        let address =
            latchkey_starknet::ChainClient::account_address(self.class_hash, owner.public_key());
        let proof = latchkey_core::sign_proof(
            owner,
            &self.devnet.chain_id(),
            &address,
            latchkey_core::ProofPurpose::CreateWallet,
            &parse_felt(challenge["challenge"].as_str().context("challenge")?)?,
            &latchkey_core::payload_hash(sealed.as_bytes()),
        )?;
        let (status, wallet) = client
            .post(
                "/api/wallets",
                &json!({"ownerPublicKey": to_hex(&owner.public_key()), "encryptedPrivateKey": sealed,
                    "proof": {"challenge": challenge["challenge"], "signature": [to_hex(&proof.r), to_hex(&proof.s)]}}),
            )
            .await?;
        anyhow::ensure!(status == 201, "wallet creation failed: {wallet}");
        Ok(parse_felt(wallet["address"].as_str().context("address")?)?)
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// P3.
pub(crate) async fn throughput(seconds: u64, concurrency: usize) -> anyhow::Result<()> {
    // One submitting account per client on both paths: the relayer's pool and the direct
    // submitters are the same size.
    let concurrency = concurrency.clamp(1, 64);
    let relayers = concurrency;
    let bench = BenchServer::start((2 * relayers) as u8, relayers).await?;
    let (devnet, client) = (&bench.devnet, bench.client.clone());

    // A wallet and a game session, through the API.
    let owner = SigningKey::from_felt(Felt::from(0xbe_c4_u64))?;
    // Native routes take hardened envelopes only; the floor parameters keep set-up short.
    let expected =
        latchkey_starknet::ChainClient::account_address(bench.class_hash, owner.public_key());
    let binding = latchkey_core::KeyBinding {
        kind: latchkey_core::KeyKind::Owner,
        account: expected,
        public_key: owner.public_key(),
    };
    let blob = latchkey_core::keystore::hardened::seal_with_params(
        &owner,
        &latchkey_core::EncryptKey::passphrase("bench-pin-7319"),
        &binding,
        latchkey_core::keystore::hardened::FLOOR_PARAMS,
        &mut rand::rngs::OsRng,
    )?;
    let address = bench.create_wallet(&owner, &blob).await?;
    let game = devnet.game().context("game")?;
    let session = SigningKey::from_felt(Felt::from(0x5e55_u64))?;
    let now = devnet.client().block_timestamp().await?;
    let valid_until = now + 3600;
    let (status, prepared) = client
        .post(
            &format!("/api/wallets/{}/sessions", to_hex(&address)),
            &json!({"sessionPublicKey": to_hex(&session.public_key()), "validUntil": valid_until, "maxCalls": 1_000_000,
                "allowedMethods": [{"contract": to_hex(&game), "entrypoint": "make_move"}]}),
        )
        .await?;
    anyhow::ensure!(status == 201, "session registration failed: {prepared}");
    let typed: TypedData = serde_json::from_value(prepared["typedData"].clone())?;
    let sig = owner.sign(&typed.message_hash(&address)?)?;
    let (status, done) = client
        .post(
            &format!("/api/wallets/{}/execute", to_hex(&address)),
            &json!({"typedData": prepared["typedData"], "signature": [to_hex(&sig.r), to_hex(&sig.s)]}),
        )
        .await?;
    anyhow::ensure!(status == 202, "session registration failed: {done}");
    relayer_wait(&client, done["requestId"].as_str().unwrap_or_default()).await?;

    // Phase 1: the chain's own throughput for the same transactions: session-signed
    // outside executions of one game move, submitted directly by plain accounts (one per
    // worker, so nonces never collide), with a fee estimate as a normal client does.
    let duration = Duration::from_secs(seconds.max(1));
    let (chain, key) = (devnet, &session);
    let raw =
        move |fees| raw_phase(chain, address, key, valid_until, game, concurrency, duration, fees);
    let raw_before = raw(FeeMode::Estimate).await?;
    let raw_unchecked = raw(FeeMode::Unchecked).await?;

    // Phase 2: through the API: prepare, sign with the session key, execute.
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let session = session.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut prepares = Vec::new();
            let mut ids = Vec::new();
            let mut mv = 1_000_000 * (worker as u64 + 1);
            while Instant::now() < deadline {
                mv += 1;
                let started = Instant::now();
                let (status, prepared) = client
                    .post(
                        &format!("/api/wallets/{}/prepare", to_hex(&address)),
                        &json!({"calls": [{"to": to_hex(&game), "entrypoint": "make_move", "calldata": [mv.to_string()]}]}),
                    )
                    .await?;
                anyhow::ensure!(status == 200, "prepare: {prepared}");
                prepares.push(started.elapsed());
                let typed: TypedData = serde_json::from_value(prepared["typedData"].clone())?;
                let signature = SessionSignature::sign(&session, &typed.message_hash(&address)?, valid_until)?;
                let (status, done) = client
                    .post(
                        &format!("/api/wallets/{}/execute", to_hex(&address)),
                        &json!({"typedData": prepared["typedData"], "signature": signature.to_hex_strings()}),
                    )
                    .await?;
                anyhow::ensure!(status == 202, "execute: {done}");
                latencies.push(started.elapsed());
                ids.push(done["requestId"].as_str().unwrap_or_default().to_string());
            }
            Ok::<_, anyhow::Error>((latencies, prepares, ids))
        }));
    }
    let (mut latencies, mut prepares, ids) = join_api_workers(workers).await?;
    // Count only executions that really succeeded on chain, over the time until the last
    // of them was final: a relayer that falls behind does not sustain its rate.
    let mut succeeded = 0usize;
    for id in &ids {
        if relayer_wait(&client, id).await? == "succeeded" {
            succeeded += 1;
        }
    }
    let api_rate = succeeded as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    prepares.sort();
    // The chain's throughput again, after the API phase, so that a chain slowing as it
    // grows favours neither path.
    let raw_after = raw(FeeMode::Estimate).await?;
    let raw = (raw_before + raw_after) / 2.0;
    drop(bench);

    println!("P3: session executions per second ({}s per phase, {concurrency} concurrent clients, {relayers} relayer accounts)", duration.as_secs());
    print_api_rows("executions/s", "durable record", api_rate, &latencies, &prepares);
    println!(
        "| chain, direct submission with a fee estimate (mean of before and after) | {raw:.1} ({raw_before:.1}, {raw_after:.1}) | | |"
    );
    println!("| chain, direct submission with fixed fee bounds | {:.1} | | |", raw_unchecked);
    println!();
    println!(
        "API ÷ chain (direct submission with a fee estimate): {:.2}  (target ≥ 0.9)",
        api_rate / raw
    );
    println!(
        "API ÷ chain (fixed fee bounds, no simulation):       {:.2}",
        api_rate / raw_unchecked
    );
    println!("{succeeded} of {} accepted API executions succeeded on chain.", ids.len());
    Ok(())
}

/// The head of a P3 table and its API rows: the rate, and the latency percentiles of the
/// whole execution and of its prepare (`latencies` and `prepares` sorted).
pub(crate) fn print_api_rows(
    unit: &str,
    last_step: &str,
    rate: f64,
    latencies: &[Duration],
    prepares: &[Duration],
) {
    println!();
    println!("| path | {unit} | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| API + relayer (prepare, sign, execute; checks, simulation, {last_step}) | {rate:.1} | {:.1} ms | {:.1} ms |",
        ms(percentile(latencies, 0.5)),
        ms(percentile(latencies, 0.99))
    );
    println!(
        "| of which prepare | | {:.1} ms | {:.1} ms |",
        ms(percentile(prepares, 0.5)),
        ms(percentile(prepares, 0.99))
    );
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) async fn relayer_wait(client: &Client, id: &str) -> anyhow::Result<String> {
    for _ in 0..2_000 {
        let (status, tx) = client.get(&format!("/api/transactions/{id}")).await?;
        anyhow::ensure!(status == 200, "transaction {id}: {tx}");
        let s = tx["status"].as_str().unwrap_or_default().to_string();
        if ["succeeded", "reverted", "rejected", "expired"].contains(&s.as_str()) {
            return Ok(s);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("transaction {id} never reached a final status")
}

#[allow(clippy::too_many_arguments)]
async fn raw_phase(
    devnet: &Devnet,
    account: Felt,
    session: &SigningKey,
    valid_until: u64,
    game: Felt,
    concurrency: usize,
    duration: Duration,
    fees: FeeMode,
) -> anyhow::Result<f64> {
    let chain = devnet.client().clone();
    let chain_id = chain.chain_id();
    let deadline = Instant::now() + duration;
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let relayer = &devnet.relayers()[devnet.relayers().len() / 2 + worker];
        let submitter = KeyAccount::owner(&chain, relayer.address, relayer.key.clone());
        let chain = chain.clone();
        let session = session.clone();
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut mv = 9_000_000 * (worker as u64 + 1);
            while Instant::now() < deadline {
                mv += 1;
                let now = chain.block_timestamp().await?;
                let oe = new_outside_execution(vec![game_calls::make_move(game, mv)], now, 600);
                let signature = sign_outside_execution_as_session(
                    &session,
                    valid_until,
                    &oe,
                    chain_id,
                    account,
                )?;
                let call = outside_execution_call(account, &oe, &signature);
                let hash = submitter.send(&[call], fees).await?;
                chain.wait_for_transaction(hash).await?;
                done += 1;
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    joined_rate(workers, duration).await
}

/// What one API worker measured: execution latencies, prepare latencies, request ids.
pub(crate) type ApiSamples = (Vec<Duration>, Vec<Duration>, Vec<String>);

/// Every API worker's samples, together.
pub(crate) async fn join_api_workers(
    workers: Vec<tokio::task::JoinHandle<anyhow::Result<ApiSamples>>>,
) -> anyhow::Result<ApiSamples> {
    let (mut latencies, mut prepares, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for worker in workers {
        let (l, p, i) = worker.await??;
        latencies.extend(l);
        prepares.extend(p);
        ids.extend(i);
    }
    Ok((latencies, prepares, ids))
}

/// Operations per second over `duration`, summed over workers that each return a count.
pub(crate) async fn joined_rate(
    workers: Vec<tokio::task::JoinHandle<anyhow::Result<u64>>>,
    duration: Duration,
) -> anyhow::Result<f64> {
    let mut total = 0u64;
    for worker in workers {
        total += worker.await??;
    }
    Ok(total as f64 / duration.as_secs_f64())
}

/// P4: `latchkey serve` start to a ready API, on a fresh data directory each run.
pub(crate) async fn startup(runs: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let exe = std::env::current_exe()?;
    let mut times = Vec::new();
    for run in 0..runs.max(1) {
        let dir =
            std::env::temp_dir().join(format!("latchkey-startup-{}-{run}", std::process::id()));
        let started = Instant::now();
        let mut child = Command::new(&exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--devnet-port", "0", "--anvil-port", "0"])
            .arg("--data-dir")
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut api = None;
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(rest) = line.trim_start().strip_prefix("API") {
                api = rest.split_whitespace().next().map(str::to_string);
            }
            if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        let api = api.context("no API line in the banner")?;
        // Ready means answering: poll /health.
        let ready = loop {
            let healthy = http
                .get(format!("{api}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                break started.elapsed();
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "server never became healthy"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
        times.push(ready);
    }
    times.sort();
    println!("P4: `latchkey serve` to a healthy API (embedded chain declared and deployed, SQLite migrated), fresh data directory, {} runs:", times.len());
    println!();
    println!(
        "  median {:.0} ms, min {:.0} ms, max {:.0} ms  (target ≤ 3000 ms)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    Ok(())
}
