//! `contracts/build/` is exactly what the pinned compiler makes of `contracts/src/`.
//!
//! Runs the offline build tool (its own Cargo workspace, pinned to Cairo 2.16.0) in
//! check mode. Its target directory sits inside this build's target directory, so a
//! warm CI cache keeps it warm too.

// Test code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn target_dir() -> PathBuf {
    // <target>/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target directory").to_path_buf()
}

#[test]
fn compiled_contracts_are_not_stale() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .args([
            "run",
            "--release",
            "--quiet",
            "--locked",
            "--manifest-path",
            "tools/cairo-build/Cargo.toml",
        ])
        .arg("--target-dir")
        .arg(target_dir().join("cairo-build"))
        .args(["--", "check"])
        .output()
        .expect("run cargo");
    assert!(
        output.status.success(),
        "contracts/build is stale or the compiler failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
