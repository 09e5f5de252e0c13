//! `latchkey bench throughput --chain evm` (P3 on the EVM family): sustained session
//! userOps per second through the HTTP API, the relayer (our bundler) and the paymaster on
//! an embedded anvil, with latency percentiles, against the same session userOps bundled
//! directly (`handleOps` from plain funded accounts, each simulated first as a bundler
//! does), measured in the same run before and after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_sol_types::SolCall;
use anyhow::Context;
use latchkey_api::{ApiConfig, AppState, ChainSlot};
use latchkey_auth::{generate_api_keys, hash_api_key, KeyEnvironment};
use latchkey_chain::{Calls, Chain, ChainBackend, EvmCall, Job, Relay, Signing};
use latchkey_evm::{address_text, EvmBackend, EvmConfig, EvmContracts};
use latchkey_evm_anvil::{deploy_on_anvil, Anvil, AnvilConfig, Deployment};
use latchkey_evm_contracts::abi::Game;
use latchkey_evm_contracts::{
    account_address, address_of, eip191_digest, proof_hash, sign_digest, Address, SignatureKind,
    UserOpSignature, B256, U256,
};
use latchkey_relayer::{Relayer, RelayerConfig};
use latchkey_store::{ApiKeyKind, BudgetKey, Store};
use serde_json::{json, Value};

use crate::bench_serve::{join_api_workers, joined_rate, print_api_rows, relayer_wait, Client};

/// A fresh secp256k1 key.
fn fresh_key() -> B256 {
    loop {
        let key = B256::from(rand::random::<[u8; 32]>());
        if address_of(&key).is_ok() {
            return key;
        }
    }
}

/// `count` fresh keys, each given 1 000 ETH on the anvil.
async fn funded_keys(anvil: &Anvil, count: usize) -> anyhow::Result<Vec<B256>> {
    let http = reqwest::Client::new();
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count {
        let key = fresh_key();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance",
            "params": [address_text(address_of(&key)?), "0x3635c9adc5dea00000"]});
        let answer: Value = http.post(anvil.url()).json(&body).send().await?.json().await?;
        anyhow::ensure!(answer.get("error").is_none(), "anvil_setBalance: {answer}");
        keys.push(key);
    }
    Ok(keys)
}

fn backend(
    anvil: &Anvil,
    d: &Deployment,
    paymaster: B256,
    relayers: Vec<B256>,
) -> anyhow::Result<EvmBackend> {
    EvmBackend::new(EvmConfig {
        rpc_url: anvil.url().to_string(),
        chain_id: anvil.chain_id(),
        contracts: EvmContracts {
            entry_point: d.entry_point,
            factory: d.factory,
            paymaster: d.paymaster,
            account_implementation: d.account_implementation,
        },
        paymaster_signer: paymaster,
        relayers,
    })
    .map_err(|e| anyhow::anyhow!("the EVM backend: {}", e.0))
}

fn make_move(game: Address, mv: u64) -> Value {
    let data = Game::makeMoveCall { r#move: U256::from(mv) }.abi_encode();
    json!({"to": address_text(game), "data": format!("0x{}", hex::encode(data))})
}

fn signed(prepared: &Value, kind: SignatureKind, key: &B256) -> anyhow::Result<Value> {
    let hash: B256 = prepared["userOpHash"].as_str().context("userOpHash")?.parse()?;
    Ok(json!([UserOpSignature::sign(kind, key, hash)?.encode().to_string()]))
}

/// P3 on EVM.
pub(crate) async fn throughput(seconds: u64, concurrency: usize) -> anyhow::Result<()> {
    let concurrency = concurrency.clamp(1, 64);
    eprintln!("starting anvil, latchkey's contracts, a fresh SQLite database and the API…");
    let anvil = Anvil::start(AnvilConfig::default()).await?;
    let paymaster = fresh_key();
    let deployment = deploy_on_anvil(&anvil, address_of(&paymaster)?).await?;
    let relayer_keys = funded_keys(&anvil, concurrency).await?;
    let direct_keys = funded_keys(&anvil, concurrency).await?;
    let chain: Arc<dyn ChainBackend> =
        Arc::new(backend(&anvil, &deployment, paymaster, relayer_keys)?);
    let direct = Arc::new(backend(&anvil, &deployment, paymaster, direct_keys)?);

    let dir = std::env::temp_dir().join(format!(
        "latchkey-bench-evm-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir)?;
    let store = Store::connect(&format!("sqlite://{}/bench.db", dir.display())).await?;
    let relayer = Relayer::start(chain.clone(), store.clone(), RelayerConfig::default()).await?;
    let org = store.create_organization("bench").await?;
    let budget = BudgetKey { org_id: &org.id, chain: chain.id().as_str(), unit: chain.fee_unit() };
    store.set_gas_budget(budget, 10u128.pow(24)).await?;
    let keys = generate_api_keys(KeyEnvironment::Dev, &mut rand::rngs::OsRng);
    let secret = keys.secret_key.expose().to_string();
    store
        .insert_api_key(&org.id, ApiKeyKind::Public, &hash_api_key(&keys.public_key, None), "pk")
        .await?;
    store.insert_api_key(&org.id, ApiKeyKind::Secret, &hash_api_key(&secret, None), "sk").await?;
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
        ChainSlot::new(chain.clone(), relayer, address_text(deployment.account_implementation))
            .with_demo_game(Some(address_text(deployment.game)));
    let state = AppState::new(store.clone(), primary, vec![], config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server =
        tokio::spawn(async move { axum::serve(listener, latchkey_api::router(state)).await });
    let client = Arc::new(Client {
        http: reqwest::Client::new(),
        url,
        public: keys.public_key.clone(),
        secret,
    });

    // A wallet with an external owner, and one session per client (each signs on its own
    // nonce key, so clients never wait for each other's sequence).
    let owner = fresh_key();
    let owner_address = address_of(&owner)?;
    let account = account_address(
        deployment.factory,
        deployment.account_implementation,
        owner_address,
        U256::ZERO,
    );
    let (status, challenge) =
        client.post("/api/challenges", &json!({"purpose": "create-wallet"})).await?;
    anyhow::ensure!(status == 201, "challenge: {challenge}");
    let challenge_text = challenge["challenge"].as_str().context("challenge")?;
    let word = |text: &str| -> anyhow::Result<B256> {
        Ok(B256::from(text.parse::<U256>()?.to_be_bytes::<32>()))
    };
    let nothing = latchkey_core::to_hex(&latchkey_core::payload_hash(b""));
    let hash = proof_hash(
        anvil.chain_id(),
        account,
        "create-wallet",
        word(challenge_text)?,
        word(&nothing)?,
    );
    let proof = sign_digest(&owner, eip191_digest(hash))?.to_bytes();
    let (status, wallet) = client
        .post(
            "/api/wallets",
            &json!({"ownerPublicKey": address_text(owner_address),
                "proof": {"challenge": challenge_text, "signature": [format!("0x{}", hex::encode(proof))]}}),
        )
        .await?;
    anyhow::ensure!(status == 201, "wallet: {wallet}");
    let address = address_text(account);
    let game = deployment.game;
    let now = chain.now().await.map_err(|e| anyhow::anyhow!(e.0))?;
    let mut sessions = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let key = fresh_key();
        let session = address_text(address_of(&key)?);
        let (status, prepared) = client
            .post(
                &format!("/api/wallets/{address}/sessions"),
                &json!({"sessionPublicKey": session, "validUntil": now + 3_600, "maxCalls": 1_000_000,
                    "allowedMethods": [{"contract": address_text(game), "entrypoint": "makeMove(uint256)"}]}),
            )
            .await?;
        anyhow::ensure!(status == 201, "session: {prepared}");
        let signature = signed(&prepared, SignatureKind::OwnerEip191, &owner)?;
        let (status, done) = client
            .post(
                &format!("/api/wallets/{address}/execute"),
                &json!({"payload": prepared["payload"], "signature": signature}),
            )
            .await?;
        anyhow::ensure!(status == 202, "session registration: {done}");
        let outcome = relayer_wait(&client, done["requestId"].as_str().unwrap_or_default()).await?;
        anyhow::ensure!(outcome == "succeeded", "session registration {outcome}");
        sessions.push((key, session));
    }

    // The chain slows as it grows (anvil: steeply over its first few hundred userOps, then
    // slowly), so after one warm-up slice of each path (not counted) the two paths are
    // measured in alternating slices, each API slice against the direct slices on either
    // side of it: both at the same chain length.
    let duration = Duration::from_secs(seconds.max(1));
    let slice = duration / SLICES;
    let raw = |round: u64| direct_phase(direct.clone(), &address, game, &sessions, slice, round);
    raw(0).await?;
    api_phase(&client, &address, game, &sessions, slice, u64::from(SLICES)).await?;
    let mut direct_rates = vec![raw(1).await?];
    let (mut latencies, mut prepares, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    let (mut api_time, mut ratios) = (Duration::ZERO, Vec::new());
    for round in 0..u64::from(SLICES) {
        let started = Instant::now();
        let (l, p, i) = api_phase(&client, &address, game, &sessions, slice, round).await?;
        let elapsed = started.elapsed();
        let rate = i.len() as f64 / elapsed.as_secs_f64();
        let before = direct_rates[direct_rates.len() - 1];
        let after = raw(round + 2).await?;
        ratios.push(rate / ((before + after) / 2.0));
        direct_rates.push(after);
        api_time += elapsed;
        latencies.extend(l);
        prepares.extend(p);
        ids.extend(i);
    }
    let api_rate = ids.len() as f64 / api_time.as_secs_f64();
    let raw = direct_rates.iter().sum::<f64>() / direct_rates.len() as f64;
    let ratio = ratios.iter().sum::<f64>() / ratios.len() as f64;
    latencies.sort();
    prepares.sort();
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);

    println!("P3 on EVM: session userOps per second ({}s per path in {SLICES} alternating slices after a warm-up slice of each, {concurrency} concurrent clients, one session each, {concurrency} bundler accounts per path)", duration.as_secs());
    let last = "durable record, paymaster";
    print_api_rows("userOps/s", last, api_rate, &latencies, &prepares);
    let slices: Vec<String> = direct_rates.iter().map(|r| format!("{r:.1}")).collect();
    println!(
        "| direct handleOps, simulated first (mean of the slices: {}) | {raw:.1} | | |",
        slices.join(", ")
    );
    println!();
    let (low, high) = ratios.iter().fold((f64::MAX, f64::MIN), |(l, h), r| (l.min(*r), h.max(*r)));
    println!(
        "API ÷ direct handleOps: {ratio:.2}  (mean of each API slice ÷ the direct slices beside it, {low:.2}–{high:.2}; target ≥ 0.9)"
    );
    println!("{} API executions, each final and succeeded before its session's next.", ids.len());
    Ok(())
}

/// Slices per path in [`throughput`].
const SLICES: u32 = 5;

/// Session userOps through the API for `duration`: each client prepares (as its
/// session), signs, and executes with `wait=true`, one after the other.
async fn api_phase(
    client: &Arc<Client>,
    address: &str,
    game: Address,
    sessions: &[(B256, String)],
    duration: Duration,
    round: u64,
) -> anyhow::Result<crate::bench_serve::ApiSamples> {
    let deadline = Instant::now() + duration;
    let mut workers = Vec::new();
    for (worker, (key, session)) in sessions.iter().cloned().enumerate() {
        let client = client.clone();
        let address = address.to_string();
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut prepares, mut ids) = (Vec::new(), Vec::new(), Vec::new());
            let mut mv = 1_000_000 * (worker as u64 + 1) + 100_000 * round;
            while Instant::now() < deadline {
                mv += 1;
                let started = Instant::now();
                let (status, prepared) = client
                    .post(
                        &format!("/api/wallets/{address}/prepare"),
                        &json!({"calls": [make_move(game, mv)], "sessionKey": session}),
                    )
                    .await?;
                anyhow::ensure!(status == 200, "prepare: {prepared}");
                prepares.push(started.elapsed());
                let signature = signed(&prepared, SignatureKind::SessionEip191, &key)?;
                // The session's next userOp signs the next sequence of its nonce key:
                // each waits for the previous to be final, as a real client of one
                // session does (and as the direct path waits for its receipt).
                let (status, done) = client
                    .post(
                        &format!("/api/wallets/{address}/execute?wait=true"),
                        &json!({"payload": prepared["payload"], "signature": signature}),
                    )
                    .await?;
                anyhow::ensure!(status == 200 && done["status"] == "succeeded", "execute: {done}");
                latencies.push(started.elapsed());
                ids.push(done["requestId"].as_str().unwrap_or_default().to_string());
            }
            Ok::<_, anyhow::Error>((latencies, prepares, ids))
        }));
    }
    join_api_workers(workers).await
}

/// The same session userOps bundled directly: each client prepares through the backend
/// (its session's nonce), signs, and one funded account per client simulates, signs and
/// sends `handleOps`, waiting for the receipt before the next.
async fn direct_phase(
    direct: Arc<EvmBackend>,
    account: &str,
    game: Address,
    sessions: &[(B256, String)],
    duration: Duration,
    round: u64,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + duration;
    let submitters = direct.relayer_accounts();
    let mut workers = Vec::new();
    for (worker, (key, session)) in sessions.iter().cloned().enumerate() {
        let direct = direct.clone();
        let account = account.to_string();
        let submitter = submitters[worker % submitters.len()].clone();
        workers.push(tokio::spawn(async move {
            let unavailable = |e: latchkey_chain::Unavailable| anyhow::anyhow!(e.0);
            let mut nonce = direct.relayer_nonce(&submitter).await.map_err(unavailable)?;
            let mut done = 0u64;
            let mut mv = 9_000_000 * round + 100_000 * worker as u64;
            while Instant::now() < deadline {
                mv += 1;
                let data = Game::makeMoveCall { r#move: U256::from(mv) }.abi_encode();
                let calls = Calls::Evm(vec![EvmCall {
                    to: address_text(game),
                    value: latchkey_core::U256::ZERO,
                    data,
                }]);
                let now = direct.now().await.map_err(unavailable)?;
                let signing = Signing::Session(session.clone());
                let signable = direct
                    .prepare(&account, calls, &signing, &submitter, now, 300)
                    .await
                    .map_err(|r| anyhow::anyhow!(r.message))?;
                let hash: B256 = signable.hash.parse()?;
                let signature =
                    UserOpSignature::sign(SignatureKind::SessionEip191, &key, hash)?.encode();
                let job = Job::Execute {
                    account: account.clone(),
                    payload: signable.payload,
                    signature: vec![signature.to_string()],
                };
                let quote = direct
                    .simulate(&submitter, nonce, &job)
                    .await
                    .map_err(|e| anyhow::anyhow!("simulation: {e:?}"))?;
                let tx = direct.sign(&submitter, nonce, &job, &quote).await.map_err(unavailable)?;
                direct.send(&tx.raw).await.map_err(|e| anyhow::anyhow!("send: {e:?}"))?;
                nonce += 1;
                loop {
                    match direct.receipt(&tx.hash).await.map_err(unavailable)? {
                        Some(outcome) => {
                            anyhow::ensure!(outcome.reverted.is_none(), "{:?}", outcome.reverted);
                            break;
                        }
                        None => tokio::time::sleep(Duration::from_millis(2)).await,
                    }
                }
                done += 1;
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    joined_rate(workers, duration).await
}
