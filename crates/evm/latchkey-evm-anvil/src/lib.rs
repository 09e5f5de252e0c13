//! The embedded local EVM chain of latchkey: Foundry's anvil (the binary of the npm
//! package `@foundry-rs/anvil-linux-amd64` 1.7.1, installed in `contracts/evm/`) as a
//! supervised child on 127.0.0.1 ([`Anvil`]), and the deployment of EntryPoint v0.8 at its
//! canonical address plus latchkey's contracts ([`deploy_latchkey`]).
//!
//! Any other EVM node is used by URL through the same [`deploy_latchkey`].

mod accounts;
mod deploy;
mod process;
mod state;

pub use accounts::{relayer_keys, DEPLOYER_KEY, DEV_KEYS, PAYMASTER_OWNER_KEY};
pub use deploy::{deploy_latchkey, deploy_on_anvil, DeployConfig, Deployment};
pub use process::{anvil_binary, Anvil, AnvilConfig, OrphanGuard, ANVIL_BINARY_ENV, STOP_GRACE};
pub use state::good_copy as good_state_copy;

use std::time::Duration;

use alloy_primitives::{Address, B256};

/// Errors starting anvil.
#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    /// The anvil binary cannot be found or installed.
    #[error("anvil binary: {0} (set {ANVIL_BINARY_ENV} or install contracts/evm with npm ci)")]
    Binary(String),
    /// No free port.
    #[error("no free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    /// The configured port is taken.
    #[error("port {port} on 127.0.0.1 is in use: {source}")]
    PortInUse {
        /// The port.
        port: u16,
        /// The bind error.
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("cannot start anvil: {0}")]
    Spawn(std::io::Error),
    /// anvil exited before answering.
    #[error("anvil exited during startup ({status}): {stderr}")]
    Exited {
        /// Its exit status.
        status: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// anvil did not answer in time.
    #[error("anvil did not answer eth_chainId on {url} within {timeout:?}: {stderr}")]
    Timeout {
        /// Its URL.
        url: String,
        /// The time it had.
        timeout: Duration,
        /// The end of its standard error.
        stderr: String,
    },
    /// The state file cannot be used.
    #[error("anvil's state file: {0}")]
    State(String),
    /// anvil answers another chain id (for example a state file of another chain).
    #[error("anvil answers chain id {actual}, expected {expected}")]
    ChainId {
        /// The configured chain id.
        expected: u64,
        /// What anvil answered.
        actual: u64,
    },
}

/// Errors deploying.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// A JSON-RPC request failed.
    #[error("{what}: {message}")]
    Rpc {
        /// What was being done.
        what: &'static str,
        /// The error.
        message: String,
    },
    /// A transaction reverted.
    #[error("{what}: transaction {tx} reverted")]
    Reverted {
        /// What was being done.
        what: &'static str,
        /// The transaction.
        tx: B256,
    },
    /// A contract is not where it should be.
    #[error("{what}: no code at {address}")]
    NoCode {
        /// The contract.
        what: &'static str,
        /// Where it was expected.
        address: Address,
    },
    /// The node has no CREATE2 deployment proxy and cannot be given one.
    #[error("no CREATE2 deployment proxy at 0x4e59b44847b379578588920ca78fbf26c0b4956c: deploy it first (its presigned transaction) or use anvil")]
    NoCreate2Proxy,
    /// The deployer key is not a valid key.
    #[error("deployer key: {0}")]
    Key(String),
    /// The deployment record cannot be read or written.
    #[error("deployment record {0}")]
    Record(String),
    /// The recorded paymaster has another signer than the one asked for.
    #[error("the deployed paymaster's signer is {recorded}, expected {expected} (rotate it with setSigner)")]
    SignerMismatch {
        /// The paymaster's signer on chain.
        recorded: Address,
        /// The signer asked for.
        expected: Address,
    },
    /// The committed artifacts.
    #[error(transparent)]
    Contracts(#[from] latchkey_evm_contracts::EvmContractsError),
}
