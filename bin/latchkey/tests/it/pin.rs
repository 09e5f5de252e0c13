//! PINs checked by the server, as CLI users meet them: key files sealed as `lk2` that open
//! only through the server, `lk1` files re-sealed on their first unlock through it, the
//! attempt counter locking and being reset, and the counter shared by two `latchkey serve`
//! processes on one PostgreSQL and surviving a kill and restart.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use latchkey_core::{short_string, to_hex, Call, Felt};
use latchkey_starknet::new_outside_execution;
use latchkey_starknet_devnet::{Devnet, DevnetConfig};
use latchkey_testkit::TestDatabase;
use serde_json::Value;

use crate::support::{serve, serve_with_env, Api, TempDir};

const PIN: &str = "482915";
const WRONG: &str = "917364";

/// Runs `latchkey ARGS` in `dir` with `pin` and `stdin`, connected to the server of
/// `target` with its keys (`None`: to no server).
fn latchkey(target: Option<&Api>, dir: &Path, pin: &str, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command.args(args).current_dir(dir).env("LATCHKEY_PIN", pin);
    for name in ["LATCHKEY_URL", "LATCHKEY_PUBLIC_KEY", "LATCHKEY_SECRET_KEY"] {
        command.env_remove(name);
    }
    if let Some(target) = target {
        command
            .env("LATCHKEY_URL", &target.url)
            .env("LATCHKEY_PUBLIC_KEY", &target.public)
            .env("LATCHKEY_SECRET_KEY", &target.secret);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn field(dir: &Path, file: &str, name: &str) -> String {
    let output = latchkey(None, dir, "", &["key", "show", file, name], "");
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Typed data of an owner-signable outside execution (signing it needs no chain).
fn typed_data() -> String {
    let oe = new_outside_execution(
        vec![Call { to: Felt::from(0x1234u64), selector: Felt::from(5u8), calldata: vec![] }],
        1_900_000_000,
        600,
    );
    serde_json::to_string(&oe.to_typed_data(&short_string("SN_SEPOLIA").unwrap())).unwrap()
}

/// The wallet's PIN attempt counter, as the server reports it.
async fn pin_status(api: &Api, wallet: &str) -> Value {
    let (status, body) =
        api.call(reqwest::Method::GET, &format!("/api/wallets/{wallet}/pin"), None).await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k1_k8_lk2_key_files_open_only_through_the_server_and_lk1_ones_are_resealed() {
    let data = TempDir::new("pin-cli");
    let work = TempDir::new("pin-cli-cwd");
    let dir = work.0.as_path();
    let server = serve(&data.0, &["--rate-limit-pin", "100/100"]);
    let api = Api::of(&server);
    let online = &api;
    let typed = typed_data();
    let mut outputs = Vec::new();

    // A new wallet's owner key file is lk2; its creation leaves the counter at zero.
    let created = latchkey(
        Some(online),
        dir,
        PIN,
        &["wallet", "create", "--key-file", "owner.json", "--json"],
        "",
    );
    outputs.push(text(&created));
    assert!(created.status.success(), "{}", text(&created));
    assert_eq!(field(dir, "owner.json", "envelope"), "lk2");
    let wallet = field(dir, "owner.json", "account");
    let status = pin_status(&api, &wallet).await;
    assert_eq!((status["failures"].as_i64(), status["evaluations"].as_i64()), (Some(0), Some(1)));

    // Offline it cannot even be tried: the error says what is needed.
    let offline = latchkey(None, dir, PIN, &["sign", "owner.json"], &typed);
    outputs.push(text(&offline));
    assert_eq!(offline.status.code(), Some(1), "{}", text(&offline));
    assert!(text(&offline).contains("LATCHKEY_URL"), "{}", text(&offline));

    // A wrong PIN through the server counts, and says how many attempts are left.
    let wrong = latchkey(Some(online), dir, WRONG, &["sign", "owner.json"], &typed);
    outputs.push(text(&wrong));
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(text(&wrong).contains("9 attempt(s) left"), "{}", text(&wrong));
    assert_eq!(pin_status(&api, &wallet).await["failures"], 1);

    // The right PIN signs and, proved, resets the counter.
    let signed = latchkey(Some(online), dir, PIN, &["sign", "owner.json"], &typed);
    outputs.push(text(&signed));
    assert!(signed.status.success(), "{}", text(&signed));
    let body: Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert_eq!(body["signature"].as_array().unwrap().len(), 2);
    assert_eq!(pin_status(&api, &wallet).await["failures"], 0);

    // Another server (another OPRF key file) cannot open it: a right PIN is refused there.
    let other_data = TempDir::new("pin-cli-other");
    let other = serve(&other_data.0, &[]);
    let elsewhere = Api::of(&other);
    let refused = latchkey(Some(&elsewhere), dir, PIN, &["sign", "owner.json"], &typed);
    outputs.push(text(&refused));
    assert!(!refused.status.success(), "{}", text(&refused));
    drop(other);

    // An lk1 file (sealed offline) signs offline, and is re-sealed as lk2 on its first
    // unlock through the server; from then on it needs the server.
    let old = latchkey(None, dir, PIN, &["key", "new", "owner", "old.json", "--offline"], "");
    outputs.push(text(&old));
    assert!(old.status.success(), "{}", text(&old));
    assert_eq!(field(dir, "old.json", "envelope"), "lk1");
    let public_key = field(dir, "old.json", "publicKey");
    let still_offline = latchkey(None, dir, PIN, &["sign", "old.json"], &typed);
    assert!(still_offline.status.success(), "{}", text(&still_offline));
    assert_eq!(field(dir, "old.json", "envelope"), "lk1");
    let upgraded = latchkey(Some(online), dir, PIN, &["sign", "old.json"], &typed);
    outputs.push(text(&upgraded));
    assert!(upgraded.status.success(), "{}", text(&upgraded));
    assert!(text(&upgraded).contains("re-sealed"), "{}", text(&upgraded));
    assert_eq!(field(dir, "old.json", "envelope"), "lk2");
    assert_eq!(field(dir, "old.json", "publicKey"), public_key, "the same key, re-sealed");
    assert!(!dir.join("old.json.new").exists(), "no staging file is left behind");
    let now_online = latchkey(None, dir, PIN, &["sign", "old.json"], &typed);
    assert_eq!(now_online.status.code(), Some(1), "{}", text(&now_online));
    let again = latchkey(Some(online), dir, PIN, &["sign", "old.json"], &typed);
    assert!(again.status.success(), "{}", text(&again));

    // A new session key file is lk2 as well.
    let session = latchkey(
        Some(online),
        dir,
        PIN,
        &["key", "new", "session", "s.json", "--account", &wallet, "--allow-all"],
        "",
    );
    outputs.push(text(&session));
    assert!(session.status.success(), "{}", text(&session));
    assert_eq!(field(dir, "s.json", "envelope"), "lk2");

    for output in &outputs {
        assert!(!output.contains(PIN) && !output.contains(WRONG), "PIN printed:\n{output}");
        assert!(!output.contains(&api.secret), "secret key printed:\n{output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k3_cli_pin_unlock_locks_after_ten_wrong_pins_until_the_organisation_resets_it() {
    let data = TempDir::new("pin-lock");
    let work = TempDir::new("pin-lock-cwd");
    let dir = work.0.as_path();
    let server = serve(&data.0, &["--rate-limit-pin", "100/100"]);
    let api = Api::of(&server);
    let online = &api;
    let typed = typed_data();
    let created =
        latchkey(Some(online), dir, PIN, &["wallet", "create", "--key-file", "o.json"], "");
    assert!(created.status.success(), "{}", text(&created));
    let wallet = field(dir, "o.json", "account");

    for attempt in 1..=10 {
        let wrong = latchkey(Some(online), dir, WRONG, &["sign", "o.json"], &typed);
        assert_eq!(wrong.status.code(), Some(1), "attempt {attempt}: {}", text(&wrong));
    }
    // Locked: even the right PIN is refused by the API (exit 3, PIN_LOCKED), uncounted.
    let locked = latchkey(Some(online), dir, PIN, &["sign", "o.json"], &typed);
    assert_eq!(locked.status.code(), Some(3), "{}", text(&locked));
    assert!(text(&locked).contains("PIN_LOCKED"), "{}", text(&locked));
    let status = pin_status(&api, &wallet).await;
    assert_eq!(status["failures"], 10, "{status}");
    assert!(status["lockedUntil"].as_i64().is_some(), "{status}");

    let (code, reset) = api
        .call(reqwest::Method::POST, &format!("/api/wallets/{wallet}/pin/reset"), None)
        .await
        .unwrap();
    assert_eq!(code, 200, "{reset}");
    let signed = latchkey(Some(online), dir, PIN, &["sign", "o.json"], &typed);
    assert!(signed.status.success(), "{}", text(&signed));
}

/// Two `latchkey serve` processes on one PostgreSQL and one chain, with the same OPRF key
/// file: wrong PINs counted by either add up, a killed and restarted server goes on from
/// the stored count, and a proved unlock through the other resets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k3_pin_attempts_are_shared_by_two_servers_and_survive_a_kill() {
    let Some(database) = TestDatabase::postgres().await else { return };
    // Relayer accounts are leased by one process at a time (a killed one's lease runs out
    // after a minute): each server process gets its own two.
    let devnet =
        Devnet::start_with(DevnetConfig { relayers: 6, ..DevnetConfig::default() }).await.unwrap();
    let relayers: Vec<String> = devnet
        .relayers()
        .chunks(2)
        .map(|pair| {
            let keys: Vec<String> = pair
                .iter()
                .map(|r| format!("{}:{}", to_hex(&r.address), r.key.secret_hex().as_str()))
                .collect();
            keys.join(",")
        })
        .collect();
    let keys = TempDir::new("pin-two-keys");
    let oprf_file = keys.0.join("oprf-keys");
    let oprf_file = oprf_file.to_str().unwrap();
    let rpc = devnet.url().to_string();
    // Starknet only: two embedded EVM chains would be two chains under one id (EVM
    // scale-out shares one node through --evm-rpc-url, with distinct --evm-relayer keys).
    let args = [
        "--no-evm",
        "--rpc-url",
        rpc.as_str(),
        "--database-url",
        database.url(),
        "--oprf-key-file",
        oprf_file,
        "--rate-limit-pin",
        "100/100",
    ];
    let env = |i: usize| [("LATCHKEY_RELAYERS", relayers[i].as_str())];
    let (data_a, data_b) = (TempDir::new("pin-two-a"), TempDir::new("pin-two-b"));
    let work = TempDir::new("pin-two-cwd");
    let dir = work.0.as_path();
    let typed = typed_data();

    let server_a = serve_with_env(&data_a.0, &args, &env(0));
    let a = Api::of(&server_a);
    let created = latchkey(Some(&a), dir, PIN, &["wallet", "create", "--key-file", "o.json"], "");
    assert!(created.status.success(), "{}", text(&created));
    let wallet = field(dir, "o.json", "account");

    // The second server finds the organisation in the shared database.
    let server_b = serve_with_env(&data_b.0, &args, &env(1));
    let b = a.at(server_b.get("API"));

    let wrong_a = latchkey(Some(&a), dir, WRONG, &["sign", "o.json"], &typed);
    assert!(text(&wrong_a).contains("9 attempt(s) left"), "{}", text(&wrong_a));
    let wrong_b = latchkey(Some(&b), dir, WRONG, &["sign", "o.json"], &typed);
    assert!(text(&wrong_b).contains("8 attempt(s) left"), "{}", text(&wrong_b));
    assert_eq!(pin_status(&a, &wallet).await["failures"], 2);
    assert_eq!(pin_status(&b, &wallet).await["failures"], 2);

    // Server A is killed and restarted on the same database: the count goes on.
    drop(server_a);
    let server_a = serve_with_env(&data_a.0, &args, &env(2));
    let a = a.at(server_a.get("API"));
    assert_eq!(pin_status(&a, &wallet).await["failures"], 2);
    let wrong_again = latchkey(Some(&a), dir, WRONG, &["sign", "o.json"], &typed);
    assert!(text(&wrong_again).contains("7 attempt(s) left"), "{}", text(&wrong_again));

    // The right PIN through B: proved, and reset for both.
    let signed = latchkey(Some(&b), dir, PIN, &["sign", "o.json"], &typed);
    assert!(signed.status.success(), "{}", text(&signed));
    assert_eq!(pin_status(&a, &wallet).await["failures"], 0);
    assert_eq!(pin_status(&b, &wallet).await["failures"], 0);
    drop(server_a);
    drop(server_b);
}
