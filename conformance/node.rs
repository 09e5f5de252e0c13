//! Node.js and the npm packages of `conformance/`, for the Rust tests and benchmarks that
//! compare latchkey with starknet.js and run the real Chipi SDK. Each user includes this
//! file with `#[path]`; not every user needs every function.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set to make the Node.js checks mandatory (CI sets it): without Node.js they fail
/// instead of being skipped.
pub(crate) const REQUIRE_NODE_ENV: &str = "LATCHKEY_REQUIRE_NODE";

/// The `conformance/` directory.
pub(crate) fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance")
}

/// Whether `node` runs.
pub(crate) fn has_node() -> bool {
    Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The major version of Node.js, or an empty string.
pub(crate) fn node_major_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().trim_start_matches('v').split('.').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// Installs exactly `package-lock.json` (`npm ci`) unless it is installed already;
/// returns the directory.
pub(crate) fn install() -> Result<PathBuf, String> {
    let dir = dir();
    let installed = ["node_modules/starknet", "node_modules/@chipi-stack/backend"]
        .iter()
        .all(|package| dir.join(package).join("package.json").is_file());
    if installed {
        return Ok(dir);
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("cannot run npm (Node.js and npm are needed): {e}"))?;
    if !status.success() {
        return Err(format!("npm ci in {} failed", dir.display()));
    }
    Ok(dir)
}

/// For a test: whether Node.js is there; when it is missing and not required, the test is
/// to be skipped (this says so), and when it is required, the test fails.
pub(crate) fn available_for(what: &str) -> bool {
    if !has_node() {
        assert!(
            std::env::var_os(REQUIRE_NODE_ENV).is_none(),
            "Node.js is required ({REQUIRE_NODE_ENV} is set): install nodejs and npm"
        );
        eprintln!("SKIPPED: Node.js not available; install nodejs and npm to {what}");
        return false;
    }
    true
}

/// For a test: the installed directory, or `None` (the test is skipped, saying so) when
/// Node.js is missing and not required.
pub(crate) fn for_test(what: &str) -> Option<PathBuf> {
    available_for(what).then(|| install().unwrap_or_else(|e| panic!("{e}")))
}
