//! The committed golden vectors (`test-vectors/evm-userop-v08.json`, asserted by
//! latchkey-evm-contracts' tests) are exactly what viem computes today.

#[test]
fn the_committed_vectors_are_what_viem_computes() {
    let Some(dir) = latchkey_node::EVM_CONTRACTS.for_test("check the EVM golden vectors") else {
        return;
    };
    let output = std::process::Command::new("node")
        .args(["vectors.mjs", "--check"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "node vectors.mjs --check: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
