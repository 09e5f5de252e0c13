//! The README's walkthroughs, run verbatim with bash against `latchkey serve`, so the
//! README stays true: the CLI one and the curl one.

use std::path::Path;
use std::process::Command;

use crate::support::{readme_block, serve, TempDir};

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// What a walkthrough printed.
struct Ran {
    stdout: String,
    stderr: String,
}

/// Runs the README block `marker` with bash (`set -e -o pipefail`) against a fresh
/// `latchkey serve`, with the environment its banner tells people to export, in a fresh
/// directory; `None` when bash or curl is missing (and not required).
fn run_block(marker: &str) -> Option<Ran> {
    run_block_in(marker, None)
}

/// [`run_block`] in `cwd` (the repository, for blocks that say to run there).
fn run_block_in(marker: &str, cwd: Option<&Path>) -> Option<Ran> {
    if !has("curl") || !has("bash") {
        assert!(
            std::env::var_os("LATCHKEY_REQUIRE_CURL").is_none(),
            "bash and curl are required (LATCHKEY_REQUIRE_CURL is set)"
        );
        eprintln!("SKIPPED: the README walkthrough needs bash and curl");
        return None;
    }
    let script = readme_block(marker);
    let data = TempDir::new(marker);
    let work = TempDir::new(&format!("{marker}-cwd"));
    let server = serve(&data.0, &[]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_latchkey")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e -o pipefail\n{script}"))
        .current_dir(cwd.unwrap_or(&work.0))
        .env("PATH", path)
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_PUBLIC_KEY", server.get("Public key"))
        .env("LATCHKEY_SECRET_KEY", server.get("Secret key"))
        .env("LATCHKEY_OPERATOR_TOKEN", server.get("Operator"))
        .env("GAME", server.get("Demo game"))
        .env("EVM_GAME", server.banner.get("EVM game").map_or("", String::as_str))
        .env_remove("LATCHKEY_PIN")
        .output()
        .expect("run bash");
    let ran = Ran {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(output.status.success(), "the walkthrough failed:\n{}\n{}", ran.stdout, ran.stderr);
    // The PIN came from the environment and is never echoed; no key is printed in the clear.
    assert!(!ran.stdout.contains("482915") && !ran.stderr.contains("482915"), "PIN printed");
    assert!(!ran.stdout.contains("privateKey\":\"0x"), "{}", ran.stdout);
    Some(ran)
}

/// What both CLI walkthroughs show: a wallet deployed, a session registered, four
/// transactions final on chain (the registration, two executions of which one a batch,
/// and a revocation), the session's count as `calls`, and the refusal after revocation.
fn assert_cli_lifecycle(ran: &Ran, calls: &str) {
    let Ran { stdout, stderr } = ran;
    let all = format!("{stdout}\n{stderr}");
    assert!(stdout.contains("Wallet created"), "{all}");
    assert!(stdout.contains("Deployed   yes"), "{all}");
    assert!(stdout.contains("registered on wallet"), "{all}");
    assert_eq!(stdout.matches("Status       succeeded").count(), 4, "{all}");
    assert!(stdout.contains("State          active"), "{all}");
    assert!(stdout.contains(calls), "{all}");
    assert!(stderr.contains("SESSION_REVOKED"), "{all}");
    assert!(stdout.contains("refused: exit code 3"), "{all}");
}

#[test]
fn the_readme_cli_walkthrough_runs_as_written() {
    let Some(ran) = run_block("walkthrough-cli") else { return };
    assert_cli_lifecycle(&ran, "2 of 100 used, 98 remaining");
    let Ran { stdout, stderr } = ran;
    let all = format!("{stdout}\n{stderr}");
    let listed =
        stdout.lines().find(|l| l.starts_with("0x") && l.contains("revoked")).unwrap_or_default();
    assert!(listed.contains("2/100"), "the list shows the revoked session: {all}");
}

#[test]
fn the_readme_cli_evm_walkthrough_runs_as_written() {
    if !latchkey_node::available_for("run the README's EVM CLI walkthrough") {
        return;
    }
    let Some(ran) = run_block("walkthrough-cli-evm") else { return };
    assert_cli_lifecycle(&ran, "2 of 10 used, 8 remaining");
    let all = format!("{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("makeMove(uint256) on"), "the allowlist is named: {all}");
    assert!(!ran.stderr.contains("not confirmed"), "every unlock was proved: {all}");
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let Some(Ran { stdout, .. }) = run_block("walkthrough") else { return };
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}\n{stdout}"))
        })
        .collect();
    // wallet, registration, move, status, revocation, refused move, transaction list.
    assert_eq!(lines.len(), 7, "{stdout}");
    assert_eq!(lines[0]["deployed"], true, "{stdout}");
    for (index, what) in [(1, "registration"), (2, "move"), (4, "revocation")] {
        assert_eq!(lines[index]["status"], "succeeded", "{what}: {stdout}");
    }
    assert_eq!(lines[3]["state"], "active", "{stdout}");
    assert_eq!(lines[3]["remainingCalls"], 99, "{stdout}");
    assert_eq!(lines[5]["code"], "SESSION_REVOKED", "{stdout}");
    assert_eq!(lines[5]["status"], 403, "{stdout}");
    let statuses: Vec<&str> =
        lines[6].as_array().unwrap().iter().filter_map(|t| t["status"].as_str()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "succeeded").count(), 3, "{stdout}");
}

#[test]
fn the_readme_browser_walkthrough_runs_as_written() {
    let Some(Ran { stdout, stderr }) = run_block("walkthrough-browser") else { return };
    let all = format!("{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{all}");
    let json = |line: &str| -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}\n{all}"))
    };
    assert_eq!(json(lines[0])["origins"], serde_json::json!(["http://localhost:3000"]), "{all}");
    assert_eq!(lines[1], "204 http://localhost:3000", "{all}");
    assert!(json(lines[2])["result"].as_str().is_some_and(|id| id.starts_with("0x")), "{all}");
    assert_eq!(json(lines[3])["error"]["data"]["code"], "RPC_METHOD_NOT_ALLOWED", "{all}");
    let balance = json(lines[4]);
    assert_eq!(
        (&balance["chainToken"], &balance["decimals"]),
        (&"STRK".into(), &18.into()),
        "{all}"
    );
    assert!(balance["balance"].as_str().is_some(), "{all}");
}

#[test]
fn the_readme_operators_walkthrough_runs_as_written() {
    let Some(Ran { stdout, stderr }) = run_block("walkthrough-operators") else { return };
    let all = format!("{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{all}");
    let json = |line: &str| -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}\n{all}"))
    };
    assert_eq!(json(lines[0])["budget"], "5000000000000000000", "{all}");
    assert_eq!(json(lines[1])["budget"], "6000000000000000000", "{all}");
    assert_eq!(json(lines[2]), serde_json::json!([]), "{all}");
    assert_eq!(json(lines[3])["code"], "ORGANIZATION_SUSPENDED", "{all}");
    // `latchkey admin`'s text: the origin, then the budget table with its threshold.
    assert!(
        lines[4].starts_with("Allowed origins") && lines[4].ends_with("https://app.acme.example"),
        "{all}"
    );
    assert!(lines[5].contains("ALERT BELOW") && lines[5].contains("ALERTING"), "{all}");
    assert!(
        lines[6].starts_with("starknet:SN_SEPOLIA")
            && lines[6].contains(" 1000000000000000000 ")
            && lines[6].ends_with("no"),
        "{all}"
    );
    let actions: Vec<String> = json(lines[7])["records"]
        .as_array()
        .unwrap_or_else(|| panic!("{all}"))
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        actions,
        [
            "organization.create",
            "api_key.issue",
            "gas_budget.set",
            "gas_budget.top_up",
            "organization.suspend",
            "organization.reinstate",
            "allowed_origins.set",
            "gas_budget.alert_threshold"
        ],
        "{all}"
    );
    // Keys and the operator token appear by their prefixes only (four characters).
    for marker in ["sk_prod_", "pk_prod_", "lkop_"] {
        for (at, _) in lines[7].match_indices(marker) {
            let shown = lines[7][at + marker.len()..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .count();
            assert!(shown <= 4, "{marker} with {shown} characters in the audit log: {all}");
        }
    }
}

#[test]
fn the_readme_pin_walkthrough_runs_as_written() {
    let Some(Ran { stdout, stderr }) = run_block("walkthrough-pin") else { return };
    let all = format!("{stdout}\n{stderr}");
    let envelopes: Vec<&str> = stdout.lines().filter(|l| matches!(*l, "lk1" | "lk2")).collect();
    assert_eq!(envelopes, ["lk2", "lk1", "lk2"], "{all}");
    assert_eq!(stdout.matches("wrong PIN: exit code 1").count(), 3, "{all}");
    assert!(stderr.contains("7 attempt(s) left"), "{all}");
    assert!(stdout.contains(r#""failures":3,"attemptsRemaining":7"#), "{all}");
    assert!(stdout.contains(r#""failures":0,"attemptsRemaining":10"#), "{all}");
    assert!(stderr.contains("re-sealed"), "{all}");
    assert!(!stderr.contains("not confirmed"), "every unlock was proved: {all}");
}

#[test]
fn the_readme_evm_walkthrough_runs_as_written() {
    if !latchkey_node::available_for("run the README's EVM walkthrough") {
        return;
    }
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some(Ran { stdout, stderr }) = run_block_in("walkthrough-evm", Some(&repository)) else {
        return;
    };
    let all = format!("{stdout}\n{stderr}");
    assert!(stdout.contains("deployed: true external owner: true"), "{all}");
    // The registration, two moves and the revocation, each final on chain.
    assert_eq!(stdout.matches("succeeded 0x").count(), 4, "{all}");
    assert!(stdout.contains("session active 2 of 10 used"), "{all}");
    assert!(stdout.contains("refused SESSION_REVOKED"), "{all}");
}
