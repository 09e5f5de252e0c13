//! latchkey-core's generic SNIP-12 revision 1 hashing equals starknet.js
//! `typedData.getMessageHash` on documents starknet.js itself generates: the spec's
//! example, every basic and preset type, enums, Merkle trees, nested structs, SNIP-9
//! outside executions as the Chipi SDK builds them, and randomly generated documents.
//!
//! Needs Node.js and npm (it installs `conformance/package-lock.json`, i.e. starknet.js
//! 10.8.0, on first run); without them it is skipped, unless `LATCHKEY_REQUIRE_NODE` is
//! set (CI sets it). The random part's seed is printed; set `LATCHKEY_SNIP12_SEED` to
//! replay one.

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use latchkey_core::{parse_felt, TypedData};
use serde_json::Value;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance")
}

/// Installs starknet.js; `false` (the test is skipped) when Node.js is not available and
/// not required.
fn install_starknet_js() -> bool {
    let has_node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_node {
        assert!(
            std::env::var_os("LATCHKEY_REQUIRE_NODE").is_none(),
            "Node.js is required (LATCHKEY_REQUIRE_NODE is set): install nodejs and npm"
        );
        eprintln!(
            "SKIPPED: Node.js not available; install nodejs and npm to compare with starknet.js"
        );
        return false;
    }
    let dir = conformance_dir();
    if dir.join("node_modules/starknet/package.json").is_file() {
        return true;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .expect("this test needs npm (Node.js) on PATH to install starknet.js");
    assert!(status.success(), "npm ci in {} failed", dir.display());
    true
}

#[test]
fn snip12_rev1_hashes_match_starknet_js() {
    if !install_starknet_js() {
        return;
    }
    let seed: u32 = std::env::var("LATCHKEY_SNIP12_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() ^ 0x5eed);
    println!("seed {seed} (set LATCHKEY_SNIP12_SEED to replay)");
    let output = Command::new("node")
        .arg("typed-data-vectors.mjs")
        .arg("40")
        .arg(seed.to_string())
        .current_dir(conformance_dir())
        .output()
        .expect("this test needs node on PATH");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let docs: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(docs.len() >= 40, "expected the fixed and random documents, got {}", docs.len());

    let mut failures = Vec::new();
    for doc in &docs {
        let name = doc["name"].as_str().unwrap();
        let account = parse_felt(doc["account"].as_str().unwrap()).unwrap();
        let expected = parse_felt(doc["hash"].as_str().unwrap()).unwrap();
        let typed: TypedData = match serde_json::from_value(doc["typedData"].clone()) {
            Ok(typed) => typed,
            Err(e) => {
                failures.push(format!("{name}: does not parse: {e}"));
                continue;
            }
        };
        match typed.message_hash(&account) {
            Ok(hash) if hash == expected => {}
            Ok(hash) => failures.push(format!("{name}: {hash:#x} != starknet.js {expected:#x}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
}
