//! The soak: mixed owner and session executions on both chains through the API of
//! `latchkey serve`, for a bounded time and count, while faults are injected (F1–F8,
//! F10 of `../shared/design/security.md` §4.3), then every invariant N1–N7 checked
//! against the chains themselves.
//!
//! ```sh
//! cargo bench -p latchkey --bench soak -- --minutes 10 --max-executions 20000
//! ```
//!
//! It runs the rig of the fault tests (both nodes behind fault-injecting proxies, the
//! server a child process it kills) with finality two blocks deep and a block made on
//! each chain every half second. Reorgs take the last block back: `anvil_rollback` on
//! EVM; on Starknet the node is stopped and its journal cut back by a block (a devnet
//! able to abort blocks keeps every block's state, gigabytes over a soak). It prints
//! executions accepted, faults injected by kind,
//! lost, duplicated, stuck, nonce gaps and the money reconciliation, and exits 1 on any
//! violation.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[path = "../tests/it/support.rs"]
mod support;

#[path = "../tests/it/faults/rig.rs"]
mod rig;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_testkit::{Chaos, Fault};
use rand::Rng;
use rig::{chain_of, Family, Rig, Wallet};
use serde_json::json;

/// What the soak is told.
struct Args {
    minutes: f64,
    max_executions: u64,
    concurrency: usize,
    fault_every: Duration,
}

impl Args {
    fn parse() -> Result<Self, String> {
        let mut args = Self {
            minutes: 2.0,
            max_executions: 5_000,
            concurrency: 8,
            fault_every: Duration::from_secs(6),
        };
        let mut words = std::env::args().skip(1);
        while let Some(word) = words.next() {
            let mut value =
                |name: &str| words.next().ok_or_else(|| format!("{name} needs a value"));
            match word.as_str() {
                "--minutes" => {
                    args.minutes =
                        value("--minutes")?.parse().map_err(|e| format!("--minutes: {e}"))?
                }
                "--max-executions" => {
                    args.max_executions = value("--max-executions")?
                        .parse()
                        .map_err(|e| format!("--max-executions: {e}"))?
                }
                "--concurrency" => {
                    args.concurrency = value("--concurrency")?
                        .parse()
                        .map_err(|e| format!("--concurrency: {e}"))?
                }
                "--fault-every" => {
                    let seconds: f64 = value("--fault-every")?
                        .parse()
                        .map_err(|e| format!("--fault-every: {e}"))?;
                    args.fault_every = Duration::from_secs_f64(seconds.max(0.5));
                }
                // `cargo bench` passes this to every bench target.
                "--bench" => {}
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if args.minutes.is_nan() || args.minutes <= 0.0 || args.concurrency == 0 {
            return Err("--minutes and --concurrency must be positive".into());
        }
        Ok(args)
    }
}

/// One execution sent.
struct Sent {
    id: String,
    wallet: usize,
    session: bool,
    accepted: bool,
}

/// The faults, in the order they come round.
const FAULTS: [&str; 9] = [
    "F1 server killed",
    "F3 proxy chaos",
    "F2 node restarted",
    "F5 fee spike",
    "F6 clock jump",
    "F7 reorg",
    "F10 relayer used elsewhere",
    "F8 relayer drained",
    "F2 port dark",
];

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("soak: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(soak(args))
}

async fn soak(args: Args) -> ExitCode {
    let evm = latchkey_node::available_for("run the EVM chain of the soak");
    let families: Vec<Family> =
        if evm { vec![Family::Starknet, Family::Evm] } else { vec![Family::Starknet] };
    let extra = ["--finality-blocks", "2", "--evm-finality-blocks", "2"];
    // The nodes' own warnings (a state file cut short, a node that ignored SIGTERM).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .try_init();
    // The Starknet node keeps no per-block states (they would grow by gigabytes over a
    // soak): its reorgs cut its journal back instead.
    let mut rig = Rig::start_with("soak", &extra, false).await;
    eprintln!("soak: rig up ({} chains); setting up wallets and sessions", families.len());

    // Blocks keep coming on both chains, so finality two blocks deep is reached.
    let ticking = Arc::new(AtomicBool::new(true));
    let ticker = block_ticker(&rig, evm, Arc::clone(&ticking));

    let mut wallets: Vec<Wallet> = Vec::new();
    for family in &families {
        for _ in 0..2 {
            let mut wallet = rig.wallet(*family).await;
            rig.register_session(&mut wallet).await;
            wallets.push(wallet);
        }
    }
    let strk_before = rig.relayer_strk().await;
    let fees_before = [
        rig.settled_fees(Family::Starknet).await,
        if evm { rig.settled_fees(Family::Evm).await } else { 0 },
    ];
    let deposit_before = if evm { rig.paymaster_deposit().await } else { 0 };
    let moves_before: Vec<u64> = futures_seq(&rig, &wallets).await;
    let calls_before: Vec<u64> = {
        let mut out = Vec::new();
        for wallet in &wallets {
            out.push(rig.session_calls_used(wallet).await);
        }
        out
    };

    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.minutes * 60.0);
    let mut sent: Vec<Sent> = Vec::new();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut injected: BTreeMap<String, u64> = BTreeMap::new();
    let mut next_fault = Instant::now() + args.fault_every;
    let mut fault_index = 0usize;
    let mut external_fees = 0u128;
    let mut duplicates = 0u64;
    let mut rng = rand::thread_rng();
    let mut mv = 1_000u64;

    while Instant::now() < deadline && (sent.len() as u64) < args.max_executions {
        // Keep `concurrency` executions in flight.
        while in_flight.len() < args.concurrency {
            let index = rng.gen_range(0..wallets.len());
            let session = rng.gen_bool(0.5);
            mv += 1;
            let wallet = &wallets[index];
            let prepared =
                tokio::time::timeout(Duration::from_secs(30), rig.try_move(wallet, mv, session))
                    .await;
            let Ok(Ok((id, body))) = prepared else {
                // Not prepared (a node down, a server restarting): nothing was accepted.
                tokio::time::sleep(Duration::from_millis(100)).await;
                break;
            };
            let key = format!("soak-{id}");
            let position = sent.len();
            sent.push(Sent { id, wallet: index, session, accepted: false });
            // F4: now and then the same request three times at once under one key, and
            // once more under another.
            let copies = if rng.gen_bool(0.1) {
                duplicates += 1;
                vec![
                    Some(key.clone()),
                    Some(key.clone()),
                    Some(key.clone()),
                    Some(format!("{key}-again")),
                ]
            } else {
                vec![Some(key)]
            };
            for copy in copies {
                let request = rig.execute_request(wallet, &body, copy.as_deref());
                in_flight.spawn(async move {
                    let status = request.send().await.ok().map(|r| r.status().as_u16());
                    (position, status)
                });
            }
        }
        // Collect what has answered.
        while let Some(done) = in_flight.try_join_next() {
            mark(&mut sent, done);
        }
        if Instant::now() >= next_fault {
            let name = FAULTS[fault_index % FAULTS.len()];
            let family = families[(fault_index / FAULTS.len()) % families.len()];
            fault_index += 1;
            eprintln!("soak: [{:>6.1}s] {name} ({family:?})", started.elapsed().as_secs_f64());
            let head = if family == Family::Evm { Some(rig.evm_head().await) } else { None };
            let applied = inject(&mut rig, name, family, &ticking, &mut external_fees).await;
            if let Some(before) = head {
                // A node that comes back lower than a rollback asked for lost blocks.
                let after = rig.evm_head().await;
                eprintln!("soak:           EVM head {before} before, {after} after");
            }
            if applied {
                *injected.entry(format!("{name} ({family:?})")).or_default() += 1;
            }
            next_fault = Instant::now() + args.fault_every;
        }
        if let Some(done) = in_flight.join_next().await {
            mark(&mut sent, done);
        }
    }
    while let Some(done) = in_flight.join_next().await {
        mark(&mut sent, done);
    }
    let ran_for = started.elapsed();
    rig.starknet_proxy.chaos(None);
    rig.evm_proxy.chaos(None);
    rig.starknet_proxy.set_down(false);
    rig.evm_proxy.set_down(false);
    ticking.store(true, Ordering::SeqCst);

    // Quiesce: every request final (or never accepted) within five minutes.
    eprintln!("soak: {} executions sent in {ran_for:.0?}; waiting for them to settle", sent.len());
    let quiesce = Instant::now() + Duration::from_secs(300);
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let (mut lost, mut stuck) = (Vec::new(), Vec::new());
    let mut succeeded_moves = vec![0u64; wallets.len()];
    let mut session_runs = vec![0u64; wallets.len()];
    for item in &sent {
        let status = settle_until(&rig, &item.id, quiesce).await;
        *statuses.entry(status.clone()).or_default() += 1;
        match status.as_str() {
            "succeeded" => {
                succeeded_moves[item.wallet] += 1;
                if item.session {
                    session_runs[item.wallet] += 1;
                }
            }
            "reverted" if item.session && wallets[item.wallet].family == Family::Evm => {
                // A userOp's validation (which counts the call) stands when it reverts.
                session_runs[item.wallet] += 1;
            }
            "prepared" | "missing" if item.accepted => lost.push(item.id.clone()),
            "reverted" | "rejected" | "expired" | "prepared" | "missing" => {}
            _ => stuck.push(item.id.clone()),
        }
    }
    ticking.store(false, Ordering::SeqCst);
    ticker.abort();

    // The chains' word.
    let mut violations = Vec::new();
    let mut duplicated = 0i64;
    let moves_after = futures_seq(&rig, &wallets).await;
    for (index, wallet) in wallets.iter().enumerate() {
        let on_chain = (moves_after[index] - moves_before[index]) as i64;
        let recorded = succeeded_moves[index] as i64;
        if on_chain != recorded {
            violations.push(format!(
                "N2/N6: {:?} wallet {}: {on_chain} moves on chain, {recorded} succeeded requests",
                wallet.family, wallet.address
            ));
            duplicated += (on_chain - recorded).max(0);
            // Which succeeded requests the chain does not have: their transactions'
            // receipts, read from the node itself.
            let store = rig.store().await;
            for item in sent.iter().filter(|s| s.wallet == index) {
                let Some(request) = store.request(&item.id).await.unwrap() else { continue };
                if request.status != latchkey_store::RequestStatus::Succeeded {
                    continue;
                }
                let Some(hash) = request.tx_hash.clone() else { continue };
                let params = match wallet.family {
                    Family::Starknet => json!({"transaction_hash": hash}),
                    Family::Evm => json!([hash]),
                };
                let receipt = rig.try_node(wallet.family, wallet.family.receipt_method(), params);
                match receipt.await {
                    Ok(receipt) if !receipt.is_null() => {}
                    answer => eprintln!(
                        "soak: request {} succeeded (tx {hash}, updated at {}), the node has no receipt: {answer:?}",
                        request.id, request.updated_at
                    ),
                }
            }
        }
        let calls = rig.session_calls_used(wallet).await - calls_before[index];
        if calls != session_runs[index] {
            violations.push(format!(
                "N5: {:?} wallet {}: the session counted {calls} calls, {} session executions ran",
                wallet.family, wallet.address, session_runs[index]
            ));
        }
    }
    let mut nonce_gaps = 0u64;
    if evm {
        let pool = rig.node(Family::Evm, "txpool_status", json!([])).await;
        for field in ["pending", "queued"] {
            let text = pool[field].as_str().unwrap_or("0x0").trim_start_matches("0x");
            nonce_gaps += u64::from_str_radix(text, 16).unwrap_or(0);
        }
        if nonce_gaps > 0 {
            violations.push(format!("N3: transactions stuck in the EVM node's pool: {pool}"));
        }
    }
    let strk_after = rig.relayer_strk().await;
    let starknet_fees = rig.settled_fees(Family::Starknet).await - fees_before[0];
    let strk_spent = strk_before as i128 - strk_after as i128;
    let strk_expected = (starknet_fees + external_fees) as i128;
    if strk_spent != strk_expected {
        violations.push(format!(
            "N4: the Starknet relayer accounts spent {strk_spent} FRI; settled fees and outside transactions say {strk_expected}"
        ));
    }
    let (mut deposit_spent, mut evm_fees) = (0i128, 0u128);
    if evm {
        evm_fees = rig.settled_fees(Family::Evm).await - fees_before[1];
        deposit_spent = deposit_before as i128 - rig.paymaster_deposit().await as i128;
        if deposit_spent != evm_fees as i128 {
            violations.push(format!(
                "N4: the paymaster's deposit fell by {deposit_spent} wei; settled EVM fees say {evm_fees}"
            ));
        }
    }
    if !lost.is_empty() {
        violations.push(format!("N1/N7: accepted and lost: {lost:?}"));
    }
    if !stuck.is_empty() {
        violations.push(format!("N1: stuck after quiesce: {stuck:?}"));
    }
    let store = rig.store().await;
    for family in &families {
        let left = store
            .requests_with_status(
                chain_of(*family),
                &[
                    latchkey_store::RequestStatus::Recorded,
                    latchkey_store::RequestStatus::Submitting,
                    latchkey_store::RequestStatus::Submitted,
                    latchkey_store::RequestStatus::PreConfirmed,
                    latchkey_store::RequestStatus::Accepted,
                ],
                100,
            )
            .await
            .unwrap();
        if !left.is_empty() {
            violations.push(format!("N1: {} {family:?} requests still in flight", left.len()));
        }
    }
    for family in &families {
        for (kind, count) in rig.proxy(*family).injected() {
            *injected.entry(format!("F3 {kind} ({family:?})")).or_default() += count;
        }
    }

    let accepted = sent.iter().filter(|s| s.accepted).count();
    println!("latchkey soak: {ran_for:.0?}, {} chains", families.len());
    println!("  executions sent        {} ({} with duplicates, F4)", sent.len(), duplicates);
    println!("  executions accepted    {accepted}");
    println!("  ended                  {statuses:?}");
    println!("  faults injected");
    for (kind, count) in &injected {
        println!("    {kind:<40} {count}");
    }
    println!("  lost                   {}", lost.len());
    println!("  duplicated             {duplicated}");
    println!("  stuck                  {}", stuck.len());
    println!("  nonce gaps             {nonce_gaps}");
    println!(
        "  money (Starknet)       relayers spent {strk_spent} FRI = settled fees {starknet_fees} + outside transactions {external_fees}"
    );
    if evm {
        println!("  money (EVM)            paymaster deposit spent {deposit_spent} wei = settled fees {evm_fees}");
    }
    if violations.is_empty() {
        println!("  invariants N1-N7       hold");
        ExitCode::SUCCESS
    } else {
        println!("  VIOLATIONS");
        for violation in &violations {
            println!("    {violation}");
        }
        // The database and the nodes' state stay for a look at what happened.
        let kept = std::env::temp_dir().join(format!("latchkey-soak-{}", std::process::id()));
        if std::fs::create_dir_all(&kept).is_ok() {
            for entry in std::fs::read_dir(&rig.data.0).into_iter().flatten().flatten() {
                let _ = std::fs::copy(entry.path(), kept.join(entry.file_name()));
            }
            println!("  kept for inspection    {}", kept.display());
        }
        ExitCode::from(1)
    }
}

/// Marks an execution accepted when its send was answered 2xx.
fn mark(sent: &mut [Sent], done: Result<(usize, Option<u16>), tokio::task::JoinError>) {
    if let Ok((position, Some(200..=299))) = done {
        sent[position].accepted = true;
    }
}

/// Each wallet's move count on its chain.
async fn futures_seq(rig: &Rig, wallets: &[Wallet]) -> Vec<u64> {
    let mut out = Vec::new();
    for wallet in wallets {
        out.push(rig.moves_on_chain(wallet).await);
    }
    out
}

/// The status of request `id` once final (or `prepared`/`missing`), or its last status
/// at `until`.
async fn settle_until(rig: &Rig, id: &str, until: Instant) -> String {
    loop {
        let answer =
            rig.api.call(reqwest::Method::GET, &format!("/api/transactions/{id}"), None).await;
        let status = match answer {
            Ok((200, body)) => body["status"].as_str().unwrap_or_default().to_string(),
            Ok((404, _)) => "missing".to_string(),
            _ => String::new(),
        };
        let done = ["succeeded", "reverted", "rejected", "expired", "prepared", "missing"];
        if done.contains(&status.as_str()) || Instant::now() >= until {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A block on each chain every half second while `ticking`.
fn block_ticker(rig: &Rig, evm: bool, ticking: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    let starknet = rig.starknet_proxy.url("/rpc");
    let evm_url = evm.then(|| rig.evm_proxy.url("/"));
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if !ticking.load(Ordering::SeqCst) {
                continue;
            }
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "devnet_createBlock"});
            let _ = http.post(&starknet).json(&body).send().await;
            if let Some(url) = &evm_url {
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "evm_mine"});
                let _ = http.post(url).json(&body).send().await;
            }
        }
    })
}

/// Injects fault `name` on `family`; whether it was applied.
async fn inject(
    rig: &mut Rig,
    name: &str,
    family: Family,
    ticking: &AtomicBool,
    external_fees: &mut u128,
) -> bool {
    match name {
        "F1 server killed" => rig.restart_server(),
        "F3 proxy chaos" => {
            let chaos = Chaos {
                rate: 0.2,
                kinds: vec![
                    Fault::Latency(Duration::from_millis(300)),
                    Fault::DropResponse,
                    Fault::Reset,
                    Fault::RpcError { code: -32603, message: "internal error".into() },
                ],
                methods: vec![
                    family.send_method().into(),
                    family.receipt_method().into(),
                    family.estimate_method().into(),
                ],
            };
            rig.proxy(family).chaos(Some(chaos));
            tokio::time::sleep(Duration::from_secs(3)).await;
            rig.proxy(family).chaos(None);
        }
        "F2 node restarted" => match family {
            Family::Starknet => rig.restart_starknet_node(Duration::from_millis(500)).await,
            Family::Evm => rig.restart_evm_node(Duration::from_millis(500)).await,
        },
        "F2 port dark" => {
            rig.proxy(family).set_down(true);
            tokio::time::sleep(Duration::from_secs(2)).await;
            rig.proxy(family).set_down(false);
        }
        "F5 fee spike" => {
            let before = match family {
                Family::Starknet => Some(rig.node(family, "devnet_getConfig", json!({})).await),
                Family::Evm => None,
            };
            rig.fee_spike(family).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            // Starknet keeps a set price; anvil's base fee falls back block by block.
            if let Some(config) = before {
                rig.restore_gas_prices(&config).await;
            }
        }
        "F6 clock jump" => match family {
            Family::Starknet => {
                rig.node(family, "devnet_increaseTime", json!({"time": 120})).await;
            }
            Family::Evm => {
                rig.node(family, "evm_increaseTime", json!([120])).await;
                rig.node(family, "evm_mine", json!([])).await;
            }
        },
        "F7 reorg" => {
            // One block taken back, shallower than the two-block finality: latchkey must
            // notice, send again, and settle nothing that the chain no longer has.
            ticking.store(false, Ordering::SeqCst);
            match family {
                Family::Starknet => rig.rewind_starknet_node(1).await,
                Family::Evm => rig.rollback_evm_node(1).await,
            }
            ticking.store(true, Ordering::SeqCst);
        }
        "F10 relayer used elsewhere" => *external_fees += rig.use_relayers_elsewhere(family).await,
        "F8 relayer drained" => {
            let (address, fee) = rig.drain_relayer(family, 1).await;
            *external_fees += fee;
            tokio::time::sleep(Duration::from_secs(2)).await;
            match family {
                Family::Starknet => {
                    // Funded again by the account the drain went to.
                    *external_fees += rig.move_strk(2, 1, 1_000u128 * 10u128.pow(18)).await;
                }
                Family::Evm => {
                    let funds = format!("{:#x}", 10_000u128 * 10u128.pow(18));
                    rig.node(family, "anvil_setBalance", json!([address, funds])).await;
                }
            }
        }
        _ => return false,
    }
    true
}
