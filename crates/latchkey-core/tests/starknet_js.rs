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

use std::process::Command;

use latchkey_core::{parse_felt, TypedData};
use serde_json::Value;

#[test]
fn snip12_rev1_hashes_match_starknet_js() {
    let Some(dir) = latchkey_node::CONFORMANCE.for_test("compare with starknet.js") else { return };
    let seed: u32 = std::env::var("LATCHKEY_SNIP12_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() ^ 0x5eed);
    println!("seed {seed} (set LATCHKEY_SNIP12_SEED to replay)");
    let output = Command::new("node")
        .arg("typed-data-vectors.mjs")
        .arg("40")
        .arg(seed.to_string())
        .current_dir(&dir)
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
