//! Node.js and the npm package folders of this repository that latchkey's tests and
//! benchmarks run: `conformance/` (starknet.js, the real Chipi SDK) and `contracts/evm/`
//! (the pinned solc, anvil, viem). Each folder is installed exactly from its committed
//! `package-lock.json` (`npm ci`) the first time it is needed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Set to make the Node.js checks mandatory (CI sets it): without Node.js they fail
/// instead of being skipped.
pub const REQUIRE_NODE_ENV: &str = "LATCHKEY_REQUIRE_NODE";

/// An npm package folder of this repository.
#[derive(Debug, Clone, Copy)]
pub struct Packages {
    /// The folder, relative to the repository's root.
    pub folder: &'static str,
    /// Packages whose presence says the folder is installed.
    pub probes: &'static [&'static str],
}

/// `conformance/`: starknet.js and the real Chipi SDK.
pub const CONFORMANCE: Packages =
    Packages { folder: "conformance", probes: &["starknet", "@chipi-stack/backend"] };

/// `contracts/evm/`: the pinned solc, anvil, the EntryPoint artifacts and viem.
pub const EVM_CONTRACTS: Packages = Packages {
    folder: "contracts/evm",
    probes: &["solc", "@foundry-rs/anvil-linux-amd64", "@account-abstraction/contracts", "viem"],
};

/// The repository's root.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `node` runs.
pub fn has_node() -> bool {
    Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The major version of Node.js, or an empty string.
pub fn node_major_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().trim_start_matches('v').split('.').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

/// One `npm ci` at a time in this process.
static INSTALLING: Mutex<()> = Mutex::new(());

impl Packages {
    /// The folder's path.
    pub fn dir(&self) -> PathBuf {
        repository().join(self.folder)
    }

    /// Whether every probe package is installed.
    pub fn installed(&self) -> bool {
        let modules = self.dir().join("node_modules");
        self.probes.iter().all(|package| modules.join(package).join("package.json").is_file())
    }

    /// Installs exactly `package-lock.json` (`npm ci`) unless it is installed already;
    /// returns the folder.
    pub fn install(&self) -> Result<PathBuf, String> {
        let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = self.dir();
        if self.installed() {
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

    /// For a test: the installed folder, or `None` (the test is skipped, saying so) when
    /// Node.js is missing and not required.
    pub fn for_test(&self, what: &str) -> Option<PathBuf> {
        available_for(what).then(|| self.install().unwrap_or_else(|e| panic!("{e}")))
    }
}

/// For a test: whether Node.js is there; when it is missing and not required, the test is
/// to be skipped (this says so), and when it is required, the test fails.
pub fn available_for(what: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_folder_has_its_lockfile() {
        for packages in [CONFORMANCE, EVM_CONTRACTS] {
            let dir = packages.dir();
            assert!(dir.join("package.json").is_file(), "{}", dir.display());
            assert!(dir.join("package-lock.json").is_file(), "{}", dir.display());
            assert!(!packages.probes.is_empty());
        }
    }
}
