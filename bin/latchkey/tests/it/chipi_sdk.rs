//! The real Chipi SDK (`@chipi-stack/backend` 14.4.0, unmodified) against `latchkey serve`.

use std::process::Command;

use crate::support::{serve, TempDir};

#[test]
fn the_real_chipi_sdk_runs_unchanged_against_latchkey_serve() {
    let Some(dir) = latchkey_node::CONFORMANCE.for_test("run the Chipi SDK test") else { return };
    let data = TempDir::new("chipi-sdk");
    let server = serve(&data.0, &[]);
    let output = Command::new("node")
        .arg("chipi-sdk-flow.mjs")
        .current_dir(&dir)
        .env("LATCHKEY_API_URL", server.get("API"))
        .env("LATCHKEY_PUBLIC_KEY", server.get("Public key"))
        .env("LATCHKEY_SECRET_KEY", server.get("Secret key"))
        .env("LATCHKEY_ACCOUNT_CLASS_HASH", server.get("Account class"))
        .env("LATCHKEY_GAME", server.get("Demo game"))
        .env("STARKNET_RPC_URL", server.get("Chain RPC"))
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the Chipi SDK flow failed:\n{stdout}\n{stderr}");
    for step in [
        "createWallet",
        "getWallet",
        "createSessionKey",
        "addSessionKeyToContract",
        "getSessionData",
        "executeTransactionWithSession",
        "spendingPolicy",
        "spendingCapEnforced",
        "revokeSessionKey",
        "executionAfterRevoke",
        "done",
    ] {
        assert!(stdout.contains(&format!("\"step\":\"{step}\"")), "step {step} missing:\n{stdout}");
    }
}
