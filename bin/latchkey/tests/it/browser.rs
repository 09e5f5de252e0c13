//! The demo and the dashboard in a real browser: `web/tests/*.mjs` drive Debian's Chromium
//! (headless, off the network, through playwright-core) against `latchkey serve` with the
//! built dashboard, on its Starknet and EVM chains. Screenshots go to the test's output
//! directory.
//!
//! Needs Node.js and Chromium (`/usr/bin/chromium`, or `CHROMIUM`); it builds the SDK
//! and the dashboard (`web/build.sh`) when they are not up to date. Without Node.js or
//! Chromium the test is skipped, unless `LATCHKEY_REQUIRE_BROWSER` is set (CI sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{build_once, readme_block, serve, TempDir};

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

/// Why the browser test cannot run here, if it cannot.
pub(crate) fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).is_file() {
        return Some(format!("no Chromium at {chromium} (apt-get install chromium)"));
    }
    if !latchkey_node::has_node() {
        return Some("no Node.js".into());
    }
    None
}

/// Runs `web/tests/{script}` against a fresh `latchkey serve` with the built dashboard;
/// its standard output (one JSON line per step), or `None` when the test is skipped.
fn run_script(script: &str) -> Option<String> {
    if let Some(why) = missing() {
        assert!(
            std::env::var_os("LATCHKEY_REQUIRE_BROWSER").is_none(),
            "the browser test must run (LATCHKEY_REQUIRE_BROWSER is set): {why}"
        );
        eprintln!("SKIPPED: {why}");
        return None;
    }
    build_once("web/build.sh").unwrap_or_else(|e| panic!("{e}"));
    assert!(web_dir().join("node_modules/playwright-core/package.json").is_file());
    let data = TempDir::new("browser");
    let dist = web_dir().join("dist");
    let server = serve(&data.0, &["--web-dir", dist.to_str().unwrap()]);
    let name = script.trim_end_matches(".mjs");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{name}"));
    let _ = std::fs::remove_dir_all(&out);
    // The latchkey binary first on the PATH, for scripts that run the README's commands.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_latchkey")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let started = std::time::Instant::now();
    let output = Command::new("node")
        .arg(format!("tests/{script}"))
        .current_dir(web_dir())
        .env("PATH", path)
        .env("LATCHKEY_URL", server.get("API"))
        .env("LATCHKEY_PUBLIC_KEY", server.get("Public key"))
        .env("LATCHKEY_SECRET_KEY", server.get("Secret key"))
        .env("LATCHKEY_OPERATOR_TOKEN", server.get("Operator"))
        .env("GAME", server.get("Demo game"))
        .env("EVM_GAME", server.banner.get("EVM game").map_or("", String::as_str))
        .env("WALKTHROUGH", readme_block("walkthrough"))
        .env_remove("LATCHKEY_PIN")
        .env("OUT_DIR", &out)
        .output()
        .expect("run node");
    eprintln!("{script}: {:.1} s in the browser", started.elapsed().as_secs_f64());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed (screenshots in {}):\n{stdout}\n{stderr}",
        out.display()
    );
    let screenshots = std::fs::read_dir(&out).unwrap().filter_map(Result::ok).count();
    assert!(screenshots >= 2, "screenshots in {}", out.display());
    eprintln!("screenshots: {}", out.display());
    Some(stdout)
}

fn assert_steps(stdout: &str, steps: &[&str]) {
    for step in steps {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "step {step} missing:\n{stdout}");
    }
}

#[test]
fn the_demo_game_runs_in_a_real_browser() {
    let Some(stdout) = run_script("demo.mjs") else { return };
    assert_steps(
        &stdout,
        &[
            "signIn",
            "createWallet",
            "startSession",
            "fiveMoves",
            "moveAfterRevoke",
            "dashboard",
            "done",
        ],
    );
    assert!(stdout.contains("\"remaining\":\"995\""), "{stdout}");
}

#[test]
fn the_dashboard_revokes_with_the_owner_pin_in_a_real_browser() {
    let Some(stdout) = run_script("dashboard.mjs") else { return };
    assert_steps(
        &stdout,
        &["gameSession", "reload", "wrongPin", "revoke", "revokeAll", "signOut", "done"],
    );
    assert!(stdout.contains("OWNER_KEY_DECRYPTION_FAILED"), "{stdout}");
}

#[test]
fn the_dashboard_lists_and_revokes_evm_sessions_with_the_owner_pin_in_a_real_browser() {
    let Some(stdout) = run_script("dashboard-evm.mjs") else { return };
    assert_steps(
        &stdout,
        &[
            "setup",
            "evmWallet",
            "sessions",
            "externalOwner",
            "wrongPin",
            "revoke",
            "revokeAll",
            "done",
        ],
    );
    assert!(stdout.contains("\"chainLabel\":\"EVM · eip155:31337\""), "{stdout}");
    assert!(stdout.contains("\"format\":\"lk2$owner-secp256k1\""), "{stdout}");
    assert!(stdout.contains("game.makeMove(uint256)"), "{stdout}");
    assert!(stdout.contains("game.claimReward()"), "{stdout}");
    assert!(stdout.contains("OWNER_KEY_DECRYPTION_FAILED"), "{stdout}");
    assert!(stdout.contains("\"states\":[\"revoked\",\"revoked\"]"), "{stdout}");
}

#[test]
fn the_operator_creates_an_organisation_whose_keys_run_the_walkthrough_and_show_in_the_charts() {
    let Some(stdout) = run_script("operator.mjs") else { return };
    assert_steps(
        &stdout,
        &[
            "createOrganization",
            "issueKeys",
            "budget",
            "settings",
            "walkthrough",
            "charts",
            "transactions",
            "relayers",
            "audit",
            "activity",
            "done",
        ],
    );
    // The README walkthrough's deployment, registration, move and revocation, each final.
    assert!(stdout.contains("\"succeeded\":\"4\",\"rejected\":\"1\""), "{stdout}");
    // The execution refused after the revocation says why in the transactions view.
    assert!(stdout.contains("\"refused\":\"SESSION_REVOKED"), "{stdout}");
    let charts = stdout.lines().find(|l| l.contains("\"step\":\"charts\"")).unwrap();
    for shown in ["\"created\":\"1\"", "\"revoked\":\"1\"", "\"active\":\"0\""] {
        assert!(charts.contains(shown), "{shown}: {charts}");
    }
    assert!(stdout.contains("\"origins\":\"https://acme.example\""), "{stdout}");
    // No key is printed: the steps name keys by count only.
    assert!(!stdout.contains("sk_prod_") && !stdout.contains("lkop_"), "{stdout}");
}
