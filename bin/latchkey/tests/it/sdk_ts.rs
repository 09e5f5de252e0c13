//! `@latchkey/sdk` (sdk/ts) against `latchkey serve`: the package is built with
//! `sdk/ts/build.sh`, then its end-to-end scripts (Starknet and EVM) and its unit tests
//! (vitest) run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{build_once, readme_block, serve, TempDir};

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/ts")
}

/// What a script printed, and whether it succeeded.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `script` (a path in the package) with node against a fresh `latchkey serve`
/// (data directory `name`), with the environment its banner gives.
fn run_against_serve(name: &str, script: &Path) -> Ran {
    let data = TempDir::new(name);
    let server = serve(&data.0, &[]);
    let output = Command::new("node")
        .arg(script)
        .current_dir(sdk_dir())
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_API_URL", server.get("API"))
        .env("LATCHKEY_PUBLIC_KEY", server.get("Public key"))
        .env("LATCHKEY_SECRET_KEY", server.get("Secret key"))
        .env("EVM_GAME", server.banner.get("EVM game").map_or("", String::as_str))
        .output()
        .expect("run node");
    Ran {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Whether the test can run: Node.js present (or required), and the package built.
fn ready(what: &str) -> bool {
    if !latchkey_node::available_for(what) {
        return false;
    }
    build_once("sdk/ts/build.sh").unwrap_or_else(|e| panic!("{e}"));
    true
}

#[test]
fn the_typescript_sdk_runs_a_session_end_to_end_against_latchkey_serve() {
    if !ready("run the TypeScript SDK end to end") {
        return;
    }
    let Ran { ok, stdout, stderr } = run_against_serve("sdk-ts", Path::new("tests/e2e.mjs"));
    assert!(ok, "the SDK end-to-end flow failed:\n{stdout}\n{stderr}");
    for step in [
        "config",
        "createWallet",
        "createSession",
        "registerSession",
        "execute",
        "allowlistEnforced",
        "restore",
        "sessionEntry",
        "revoke",
        "logout",
        "logoutRevokes",
        "chipiDialect",
        "custody",
        "lk1Rewrap",
        "settings",
        "done",
    ] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "step {step} missing:\n{stdout}");
    }
    assert!(
        stdout.contains("\"remainingCalls\":[9,8,7]"),
        "remaining calls did not drop:\n{stdout}"
    );
    assert!(stdout.contains("\"serverCode\":\"SESSION_REVOKED\""), "{stdout}");
}

#[test]
fn the_typescript_sdk_runs_an_evm_wallet_end_to_end_against_latchkey_serve() {
    if !ready("run the TypeScript SDK's EVM module end to end") {
        return;
    }
    let Ran { ok, stdout, stderr } =
        run_against_serve("sdk-ts-evm", Path::new("tests/e2e-evm.mjs"));
    assert!(ok, "the SDK's EVM end-to-end flow failed:\n{stdout}\n{stderr}");
    for step in [
        "config",
        "createWallet",
        "wrongPin",
        "createSession",
        "registerSession",
        "execute",
        "status",
        "sessionReopened",
        "revoke",
        "allowlistEnforced",
        "revokeAll",
        "eip7715",
        "done",
    ] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "step {step} missing:\n{stdout}");
    }
    assert!(stdout.contains("\"deployed\":true,\"format\":\"lk2\""), "{stdout}");
    assert!(stdout.contains("\"callsUsed\":[1,2]"), "{stdout}");
    assert!(stdout.contains("\"serverCode\":\"SESSION_REVOKED\""), "{stdout}");
    assert!(stdout.contains("\"states\":[\"revoked\",\"revoked\"]"), "{stdout}");
    // No key or PIN in the clear.
    assert!(!stdout.contains("482913") && !stderr.contains("482913"), "PIN printed");
}

#[test]
fn the_readme_typescript_example_runs_as_written() {
    if !ready("run the README's TypeScript example") {
        return;
    }
    // Inside the package, so that `@latchkey/sdk` resolves to it (a self-reference).
    let script = sdk_dir().join(format!("tests/.readme-example-{}.mjs", std::process::id()));
    std::fs::write(&script, readme_block("sdk-example")).unwrap();
    let Ran { ok, stdout, stderr } = run_against_serve("sdk-readme", &script);
    let _ = std::fs::remove_file(&script);
    assert!(ok, "the README example failed:\n{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("active 99 0x"), "{stdout}");
    assert_eq!(lines[1], "succeeded", "{stdout}");
    assert_eq!(lines[2], "none", "{stdout}");
}

#[test]
fn the_typescript_sdk_unit_tests_pass() {
    if !ready("run the TypeScript SDK's unit tests") {
        return;
    }
    let output = Command::new("npx")
        .args(["--no-install", "vitest", "run"])
        .current_dir(sdk_dir())
        .env("CI", "1")
        .output()
        .expect("run vitest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "vitest failed:\n{stdout}\n{stderr}");
}

#[test]
fn the_starknet_session_path_stays_within_its_size_budget() {
    if !ready("measure the TypeScript SDK's bundles") {
        return;
    }
    // What `@latchkey/sdk/session` costs a page, bundled and minified, with its module:
    // sizes are deterministic for a given build, so the budget is checked here.
    let output = Command::new("node")
        .args(["bench/size.mjs", "--json"])
        .current_dir(sdk_dir())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let sizes: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let gzip = sizes["sessionPath"]["gzip"].as_u64().expect("sessionPath.gzip");
    let target = sizes["sessionPathTargetKib"].as_u64().expect("sessionPathTargetKib") * 1024;
    assert!(gzip <= target, "the Starknet session path is {gzip} bytes gzipped, over {target}");
    // The session entry is a fraction of the full SDK's path to the same signature.
    let full = sizes["fullPath"]["gzip"].as_u64().expect("fullPath.gzip");
    assert!(gzip * 2 < full, "session path {gzip}, full SDK path {full}");
}

#[test]
fn viem_grants_and_uses_permissions_through_latchkey_wallet_rpc() {
    if !ready("run viem against `latchkey wallet rpc`") {
        return;
    }
    let data = TempDir::new("wallet-rpc");
    let server = serve(&data.0, &[]);
    let Some(game) = server.banner.get("EVM game").cloned() else {
        panic!("the server runs no EVM chain: {:?}", server.banner);
    };
    let pin = crate::cli::PIN;
    let created = crate::cli::latchkey(
        &server,
        &data.0,
        pin,
        &["wallet", "create", "--key-file", "owner.json", "--chain", "evm", "--json"],
    );
    assert!(created.status.success(), "{}", crate::cli::text(&created));
    // The endpoint, on a free port it prints.
    let mut endpoint = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["wallet", "rpc", "--key-file", "owner.json", "--listen", "127.0.0.1:0"])
        .current_dir(&data.0)
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_PUBLIC_KEY", server.get("Public key"))
        .env("LATCHKEY_SECRET_KEY", server.get("Secret key"))
        .env("LATCHKEY_PIN", pin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start latchkey wallet rpc");
    let stdout = endpoint.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("read");
    let url = line.split_whitespace().last().unwrap_or_default().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let output = Command::new("node")
        .arg("tests/wallet-rpc.mjs")
        .current_dir(sdk_dir())
        .env("RPC_URL", &url)
        .env("EVM_GAME", &game)
        .output()
        .expect("run node");
    let _ = endpoint.kill();
    let _ = endpoint.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "viem against the endpoint failed:\n{stdout}\n{stderr}");
    for step in ["grant", "sendCalls", "refusals", "currentErc", "malformed", "done"] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "step {step} missing:\n{stdout}");
    }
    assert!(!stdout.contains(pin) && !stderr.contains(pin), "PIN printed");
}
