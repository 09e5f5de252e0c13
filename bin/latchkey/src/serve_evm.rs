//! The EVM chain of `latchkey serve`: the embedded anvil (or any node by URL), latchkey's
//! contracts on it (EntryPoint v0.8 at its canonical address, the account factory, the
//! paymaster, the demo contracts), the backend behind the port and its relayer.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use latchkey_chain::ChainBackend;
use latchkey_evm::{address_text, EvmBackend, EvmConfig, EvmContracts};
use latchkey_evm_anvil::{
    deploy_latchkey, relayer_keys, Anvil, AnvilConfig, DeployConfig, Deployment, DEPLOYER_KEY,
};
use latchkey_evm_contracts::{address_of, B256};
use url::Url;

/// Options of the EVM chain; every one is also an environment variable.
#[derive(Debug, clap::Args)]
pub(crate) struct EvmArgs {
    /// Serve Starknet alone (the embedded EVM chain needs Node.js and npm).
    #[arg(long, env = "LATCHKEY_NO_EVM", conflicts_with = "evm_rpc_url")]
    pub(crate) no_evm: bool,
    /// JSON-RPC URL of an EVM node to use instead of the embedded anvil. latchkey's
    /// contracts are deployed there once by `--evm-deployer-key` (recorded in the data
    /// directory).
    #[arg(long, env = "LATCHKEY_EVM_RPC_URL")]
    pub(crate) evm_rpc_url: Option<Url>,
    /// Port of the embedded anvil's JSON-RPC (0 picks a free one).
    #[arg(long, env = "LATCHKEY_ANVIL_PORT", default_value_t = 8545)]
    pub(crate) anvil_port: u16,
    /// The funded key that deploys latchkey's contracts on `--evm-rpc-url` (default: the
    /// first development account of anvil's default mnemonic). Prefer the environment
    /// variable.
    #[arg(long, env = "LATCHKEY_EVM_DEPLOYER_KEY", hide_env_values = true)]
    pub(crate) evm_deployer_key: Option<EvmKey>,
    /// Funded keys of the EOAs that submit `handleOps` on `--evm-rpc-url` (repeat or
    /// comma-separate; default: anvil's development accounts 2 to 5).
    #[arg(
        long = "evm-relayer",
        env = "LATCHKEY_EVM_RELAYERS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub(crate) evm_relayers: Vec<EvmKey>,
    /// Blocks the EVM chain must be past a transaction's block before it is final (see
    /// `--finality-blocks`); reorgs on anvil: `anvil_reorg`, `evm_snapshot`/`evm_revert`.
    #[arg(long, env = "LATCHKEY_EVM_FINALITY_BLOCKS", default_value_t = 0)]
    pub(crate) evm_finality_blocks: u64,
    /// Gas budget of the development organisation on the EVM chain, in ETH.
    #[arg(long, env = "LATCHKEY_DEV_GAS_BUDGET_ETH", default_value_t = 10)]
    pub(crate) dev_gas_budget_eth: u64,
}

/// A secp256k1 private key given on the command line; it never prints.
#[derive(Clone)]
pub(crate) struct EvmKey(B256);

impl std::fmt::Debug for EvmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match address_of(&self.0) {
            Ok(address) => write!(f, "EvmKey({})", address_text(address)),
            Err(_) => f.write_str("EvmKey(…)"),
        }
    }
}

impl std::str::FromStr for EvmKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Never echo the key, even when it is malformed.
        let key: B256 =
            s.trim().parse().map_err(|_| "an EVM key is 0x and 64 hex digits".to_string())?;
        address_of(&key).map_err(|_| "not a valid secp256k1 private key".to_string())?;
        Ok(Self(key))
    }
}

/// The EVM chain as it runs.
pub(crate) struct EvmChain {
    pub(crate) backend: Arc<dyn ChainBackend>,
    pub(crate) deployment: Deployment,
    pub(crate) rpc_url: String,
    /// The node's address as given, credentials included (for `/rpc/evm`, never shown).
    pub(crate) node_url: String,
    /// The embedded node, stopped with the server.
    pub(crate) anvil: Option<Anvil>,
}

impl EvmChain {
    /// The contracts clients need, by the names `/api/config` gives them.
    pub(crate) fn contracts(&self) -> std::collections::BTreeMap<String, String> {
        let d = &self.deployment;
        [
            ("entryPoint", d.entry_point),
            ("factory", d.factory),
            ("accountImplementation", d.account_implementation),
            ("paymaster", d.paymaster),
            ("game", d.game),
            ("token", d.token),
            ("nft", d.nft),
        ]
        .into_iter()
        .map(|(name, address)| (name.to_string(), address_text(address)))
        .collect()
    }
}

/// Why the EVM chain is not served.
pub(crate) enum Absent {
    /// `--no-evm`.
    Disabled,
    /// The embedded node needs Node.js (to install anvil from npm).
    NoNode,
}

const PAYMASTER_KEY_FILE: &str = "evm-paymaster-key";
const ANVIL_STATE_FILE: &str = "anvil-state.json";
const EXTERNAL_RECORD_FILE: &str = "evm-deployment.json";

/// Starts the EVM chain as `args` say, or tells why there is none.
pub(crate) async fn start(
    args: &EvmArgs,
    data_dir: &Path,
    fresh_chain: bool,
) -> anyhow::Result<Result<EvmChain, Absent>> {
    if args.no_evm {
        return Ok(Err(Absent::Disabled));
    }
    let paymaster_key = paymaster_key(data_dir)?;
    let paymaster_signer = address_of(&paymaster_key)?;
    let (url, record, deployer, relayers, anvil) = match &args.evm_rpc_url {
        Some(url) => {
            let deployer = args.evm_deployer_key.as_ref().map_or(DEPLOYER_KEY, |k| k.0);
            let relayers: Vec<B256> = if args.evm_relayers.is_empty() {
                relayer_keys().to_vec()
            } else {
                args.evm_relayers.iter().map(|k| k.0).collect()
            };
            let record = data_dir.join(EXTERNAL_RECORD_FILE);
            (url.to_string(), record, deployer, relayers, None)
        }
        None => {
            if std::env::var_os(latchkey_evm_anvil::ANVIL_BINARY_ENV).is_none()
                && !latchkey_node::has_node()
            {
                return Ok(Err(Absent::NoNode));
            }
            let state = data_dir.join(ANVIL_STATE_FILE);
            if fresh_chain {
                crate::serve::discard(&state)?;
                crate::serve::discard(&latchkey_evm_anvil::good_state_copy(&state))?;
            }
            let anvil = Anvil::start(AnvilConfig {
                port: (args.anvil_port != 0).then_some(args.anvil_port),
                state: Some(state),
                ..AnvilConfig::default()
            })
            .await
            .context("starting the embedded EVM chain (anvil)")?;
            let record = anvil.deployment_record().context("anvil's deployment record")?;
            (anvil.url().to_string(), record, DEPLOYER_KEY, relayer_keys().to_vec(), Some(anvil))
        }
    };
    let config = DeployConfig {
        deployer,
        paymaster_owner: address_of(&deployer)?,
        paymaster_signer,
        paymaster_deposit: latchkey_evm_contracts::U256::from(100u64)
            * latchkey_evm_contracts::U256::from(10u64)
                .pow(latchkey_evm_contracts::U256::from(18u64)),
        record: Some(record),
    };
    let deployment = deploy_latchkey(&url, &config)
        .await
        .context("deploying latchkey's contracts on the EVM chain")?;
    let backend = EvmBackend::new(EvmConfig {
        rpc_url: url.clone(),
        chain_id: deployment.chain_id,
        contracts: EvmContracts {
            entry_point: deployment.entry_point,
            factory: deployment.factory,
            paymaster: deployment.paymaster,
            account_implementation: deployment.account_implementation,
        },
        paymaster_signer: paymaster_key,
        relayers,
    })
    .map_err(|e| anyhow::anyhow!("the EVM chain: {}", e.0))?;
    backend.check().await.map_err(|e| anyhow::anyhow!("the EVM chain: {}", e.0))?;
    Ok(Ok(EvmChain {
        backend: Arc::new(backend),
        deployment,
        rpc_url: redact(&url),
        node_url: url,
        anvil,
    }))
}

/// The key latchkey's paymaster signs with: kept in the data directory (mode 0600),
/// created at first start, because the deployed paymaster trusts this one key.
fn paymaster_key(data_dir: &Path) -> anyhow::Result<B256> {
    let path = data_dir.join(PAYMASTER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key: EvmKey = text
                .parse()
                .map_err(|e| anyhow::anyhow!("the paymaster key file {}: {e}", path.display()))?;
            Ok(key.0)
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = loop {
                let candidate = B256::from(rand::random::<[u8; 32]>());
                if address_of(&candidate).is_ok() {
                    break candidate;
                }
            };
            crate::serve::write_private(&path, format!("{key}\n").as_bytes())
                .with_context(|| format!("creating the paymaster key file {}", path.display()))?;
            Ok(key)
        }
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

/// A URL without its credentials.
fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => "(an unreadable URL)".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_evm_key_never_prints_and_malformed_ones_are_refused_without_echo() {
        let text = format!("0x{}", "11".repeat(32));
        let key: EvmKey = text.parse().unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&"11".repeat(8)), "{shown}");
        for bad in
            ["0x12", "zz", &format!("0x{}", "00".repeat(32)), &format!("0x{}", "ab".repeat(31))]
        {
            let error = bad.parse::<EvmKey>().unwrap_err();
            assert!(!error.contains(bad), "{error}");
        }
    }

    #[test]
    fn the_paymaster_key_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("lk-pm-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = paymaster_key(&dir).unwrap();
        assert_eq!(paymaster_key(&dir).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(PAYMASTER_KEY_FILE)).unwrap().permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_node_url_loses_its_credentials() {
        assert_eq!(redact("https://user:pw@node.example/rpc"), "https://node.example/rpc");
        assert_eq!(redact("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    }
}
