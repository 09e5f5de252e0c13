//! The Solidity contracts of the EVM family (`contracts/evm/`) on a real anvil node: their
//! own test suite (`node --test`), which places EntryPoint v0.8 at its canonical address,
//! deploys the factory, the paymaster and the demo contracts, and runs sponsored userOps
//! through `handleOps`: the session lifecycle and the `e..` threat rows.

use std::process::Command;

#[test]
fn the_evm_contracts_pass_their_suite_on_anvil() {
    let Some(dir) = latchkey_node::EVM_CONTRACTS.for_test("run the EVM contracts' suite on anvil")
    else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(dir.join("test"))
        .expect("contracts/evm/test")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("test/{name}"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "test files: {files:?}");
    let output = Command::new("node")
        .args(["--test", "--test-reporter=tap"])
        .args(&files)
        .current_dir(&dir)
        .output()
        .expect("run node --test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the EVM contracts' suite failed:\n{stdout}\n{stderr}");
    let count = |label: &str| -> u32 {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("# {label} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `# {label}` line in the summary:\n{stdout}"))
    };
    assert_eq!(count("fail"), 0, "{stdout}");
    assert!(count("pass") >= 40, "fewer tests than the suite has:\n{stdout}");
    // The threat rows are there by name.
    for row in ["e01_", "e10_", "e20_"] {
        assert!(stdout.contains(row), "threat row {row} missing:\n{stdout}");
    }
}
