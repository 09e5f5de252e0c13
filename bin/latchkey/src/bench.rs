//! Benchmarks. `latchkey bench gas`: what a session transfer costs next to an owner
//! transfer and a plain transfer from devnet's predeployed OpenZeppelin account, on the
//! embedded chain (sessions execute through SNIP-9 only: the account refuses session
//! signatures on the direct-invoke path). `latchkey bench sign`: session-execution signatures per second,
//! latchkey against starknet.js on the same inputs.

use std::process::Command;
use std::time::{Duration, Instant};

use latchkey_core::{AllowedMethod, Call, SessionPolicy, SigningKey, U256};
use latchkey_starknet::{FeeMode, TxOutcome};
use latchkey_starknet_contracts::{account_calls, erc20_calls};
use latchkey_starknet_devnet::Devnet;

use crate::fixed_felt;

struct Row {
    name: &'static str,
    runs: Vec<TxOutcome>,
}

impl Row {
    fn median(&self, f: impl Fn(&TxOutcome) -> u64) -> u64 {
        let mut values: Vec<u64> = self.runs.iter().map(f).collect();
        values.sort_unstable();
        values.get(values.len() / 2).copied().unwrap_or_default()
    }
}

pub(crate) async fn gas(rounds: u32) -> anyhow::Result<()> {
    let rounds = rounds.max(1);
    eprintln!("starting the embedded chain…");
    let devnet = Devnet::start().await?;
    let client = devnet.client();
    let strk = devnet.strk();

    let owner = SigningKey::from_felt(fixed_felt("0x1234567890abcdef1234567890abcdef")?)?;
    let user = devnet.create_user(owner.clone()).await?;
    let recipient = devnet.relayers()[1].address;
    let amount = U256::from_u128(1_000);

    let session = SigningKey::from_felt(fixed_felt("0xfedcba9876543210fedcba9876543210")?)?;
    let now = client.block_timestamp().await?;
    let valid_until = now + 3600;
    let policy = SessionPolicy {
        session_key: session.public_key(),
        valid_after: 0,
        valid_until,
        max_calls: 10_000,
        allowed_methods: vec![AllowedMethod::new(strk, "transfer")],
    };
    devnet
        .owner_execute(&user, vec![account_calls::register_session(user.address, &policy)])
        .await?;

    let transfer: Call = erc20_calls::transfer(strk, recipient, amount);
    let oz = devnet.relayer_account(2)?;

    // Warm up every path once so all measured runs write the same storage slots.
    devnet.owner_execute(&user, vec![transfer.clone()]).await?;
    devnet.session_execute(&user, &session, valid_until, vec![transfer.clone()]).await?;
    client
        .wait_for_transaction(oz.send(std::slice::from_ref(&transfer), FeeMode::Estimate).await?)
        .await?;

    let mut rows = vec![
        Row { name: "owner transfer via SNIP-9 (relayed)", runs: vec![] },
        Row { name: "session transfer via SNIP-9 (relayed)", runs: vec![] },
        Row { name: "plain transfer, predeployed OZ account", runs: vec![] },
    ];
    for _ in 0..rounds {
        rows[0].runs.push(devnet.owner_execute(&user, vec![transfer.clone()]).await?);
        rows[1].runs.push(
            devnet.session_execute(&user, &session, valid_until, vec![transfer.clone()]).await?,
        );
        let hash = oz.send(std::slice::from_ref(&transfer), FeeMode::Estimate).await?;
        rows[2].runs.push(client.wait_for_transaction(hash).await?);
    }

    println!(
        "Gas per transaction on the embedded devnet (median of {rounds} runs, STRK transfer):"
    );
    println!();
    println!(
        "| {:<40} | {:>10} | {:>12} | {:>14} |",
        "transaction", "L2 gas", "L1 data gas", "fee (FRI)"
    );
    println!("|{:-<42}|{:->12}|{:->14}|{:->16}|", "", "", "", "");
    for row in &rows {
        let fee = row.median(|o| u64::try_from(o.fee).unwrap_or(u64::MAX));
        println!(
            "| {:<40} | {:>10} | {:>12} | {:>14} |",
            row.name,
            row.median(|o| o.l2_gas),
            row.median(|o| o.l1_data_gas),
            fee
        );
    }
    let ratio = |a: &Row, b: &Row| a.median(|o| o.l2_gas) as f64 / b.median(|o| o.l2_gas) as f64;
    println!();
    println!(
        "session ÷ owner (SNIP-9, L2 gas):          {:.3}  (target ≤ 1.10)",
        ratio(&rows[1], &rows[0])
    );
    println!("session SNIP-9 ÷ OZ plain transfer (L2 gas): {:.3}", ratio(&rows[1], &rows[2]));
    println!();
    println!(
        "Relayed rows include the relayer's own account validation and fee transfer. Cairo steps are \
         not reported: Sierra 1.7 contracts are metered in L2 (Sierra) gas, and JSON-RPC 0.10 \
         exposes gas only."
    );
    Ok(())
}

/// `latchkey bench gas --chain evm`: one sponsored `Game.makeMove` userOp owner-signed and
/// session-signed on latchkey's account, and owner-signed on the npm SimpleAccount, on one
/// fresh anvil with EntryPoint v0.8 (`contracts/evm/gas.mjs`, which builds and measures
/// the userOps with viem: `actualGasUsed` of each `UserOperationEvent`).
pub(crate) fn gas_evm() -> anyhow::Result<()> {
    use anyhow::Context;
    eprintln!("starting anvil and measuring (contracts/evm/gas.mjs)…");
    let dir = latchkey_node::EVM_CONTRACTS.install().map_err(anyhow::Error::msg)?;
    let output = Command::new("node")
        .args(["gas.mjs", "--json"])
        .current_dir(&dir)
        .output()
        .context("running node")?;
    anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let gas = |row: &str, field: &str| result[row][field].as_u64().unwrap_or_default();
    println!("Gas of one sponsored Game.makeMove userOp on anvil (EntryPoint v0.8), one run:");
    println!();
    println!("| {:<40} | {:>13} | {:>16} |", "userOp", "actualGasUsed", "handleOps tx gas");
    println!("|{:-<42}|{:->15}|{:->18}|", "", "", "");
    for (name, row) in [
        ("owner, LatchkeyAccount", "ownerOp"),
        ("session, LatchkeyAccount", "sessionOp"),
        ("owner, npm SimpleAccount", "simpleAccountOwnerOp"),
        ("first userOp of a session", "firstSessionOp"),
    ] {
        println!(
            "| {name:<40} | {:>13} | {:>16} |",
            gas(row, "actualGasUsed"),
            gas(row, "handleOpsTxGas")
        );
    }
    let ratio = |name: &str| result[name].as_f64().unwrap_or(f64::NAN);
    println!();
    println!(
        "session ÷ owner (LatchkeyAccount):      {:.3}  (target ≤ 1.10)",
        ratio("sessionOverOwner")
    );
    println!(
        "session ÷ SimpleAccount owner:          {:.3}  (target ≤ 1.25)",
        ratio("sessionOverSimpleAccount")
    );
    Ok(())
}

/// The captured Chipi SDK run: the signing vector's typed data, account and session key
/// are the benchmark's inputs on both sides.
const CAPTURE: &str = include_str!("../../../test-vectors/chipi-sdk-14.4.0-capture.json");

pub(crate) fn sign(millis: u64) -> anyhow::Result<()> {
    use anyhow::Context;
    use latchkey_core::{parse_felt, SessionSignature, TypedData};

    let capture: serde_json::Value = serde_json::from_str(CAPTURE)?;
    let vector = &capture["signingVector"];
    let typed_json = serde_json::to_string(&vector["typedData"])?;
    let typed: TypedData = serde_json::from_str(&typed_json)?;
    let account_hex = vector["walletAddr"].as_str().context("walletAddr")?;
    let account = parse_felt(account_hex)?;
    let key_hex = capture["keys"]["SESSION_PK"].as_str().context("SESSION_PK")?;
    let key = SigningKey::from_hex(key_hex)?;
    let valid_until = 1_893_456_000;

    // latchkey: generic SNIP-12 hash of the same JSON document + RFC 6979 signature.
    let budget = Duration::from_millis(millis);
    let mut last = SessionSignature::sign(&key, &typed.message_hash(&account)?, valid_until)?;
    for _ in 0..50 {
        last = SessionSignature::sign(&key, &typed.message_hash(&account)?, valid_until)?;
    }
    let started = Instant::now();
    let mut iterations = 0u64;
    while started.elapsed() < budget {
        last = SessionSignature::sign(&key, &typed.message_hash(&account)?, valid_until)?;
        iterations += 1;
    }
    let native = iterations as f64 / started.elapsed().as_secs_f64();

    // starknet.js on the same inputs.
    let dir = latchkey_node::CONFORMANCE.install().map_err(anyhow::Error::msg)?;
    let input =
        std::env::temp_dir().join(format!("latchkey-bench-sign-{}.json", std::process::id()));
    std::fs::write(&input, &typed_json)?;
    let output = Command::new("node")
        .arg("bench-sign.mjs")
        .arg(&input)
        .arg(account_hex)
        .arg(key_hex)
        .arg(millis.to_string())
        .current_dir(&dir)
        .output()
        .context("running node")?;
    let _ = std::fs::remove_file(&input);
    anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let js: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let js_ops = js["opsPerSecond"].as_f64().context("opsPerSecond")?;

    // Same inputs, same outputs.
    let same = parse_felt(js["r"].as_str().unwrap_or_default()).ok() == Some(last.signature.r)
        && parse_felt(js["s"].as_str().unwrap_or_default()).ok() == Some(last.signature.s);
    anyhow::ensure!(same, "starknet.js produced a different signature on the same inputs");

    println!("Session-execution signing (SNIP-12 rev 1 hash of the typed data + RFC 6979 ECDSA),");
    println!("same typed data, account and key on both sides; identical signatures checked.");
    println!();
    let js_name = format!("starknet.js (Node {})", latchkey_node::node_major_version());
    println!("| {:<24} | signatures/s |", "implementation");
    println!("|{:-<26}|--------------|", "");
    println!("| {:<24} | {native:>12.0} |", "latchkey-core (native)");
    println!("| {js_name:<24} | {js_ops:>12.0} |");
    println!();
    println!("latchkey ÷ starknet.js: {:.1}×  (target ≥ 10×)", native / js_ops);
    Ok(())
}
