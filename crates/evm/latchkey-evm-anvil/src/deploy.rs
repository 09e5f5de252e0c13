//! Deployment of EntryPoint v0.8 (at its canonical address) and latchkey's contracts.

use std::path::{Path, PathBuf};

use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::{TransactionReceipt, TransactionRequest};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolValue};
use latchkey_evm_contracts::abi::{EntryPoint, LatchkeyAccountFactory, LatchkeyPaymaster};
use latchkey_evm_contracts::{
    address_of, entry_point_deploy_calldata, Artifact, CREATE2_PROXY, ENTRY_POINT_DEPLOY_GAS,
    ENTRY_POINT_V08,
};
use serde::{Deserialize, Serialize};

use crate::accounts::{DEPLOYER_KEY, PAYMASTER_OWNER_KEY};
use crate::{Anvil, DeployError};

/// Runtime code of the deterministic-deployment proxy at [`CREATE2_PROXY`], placed with
/// `anvil_setCode` on an anvil that lacks it.
const CREATE2_PROXY_RUNTIME: &str = "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3";

/// Where everything is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The chain the addresses are on.
    pub chain_id: u64,
    /// EntryPoint v0.8 (canonical address).
    pub entry_point: Address,
    /// Its SenderCreator.
    pub sender_creator: Address,
    /// LatchkeyPaymaster.
    pub paymaster: Address,
    /// The paymaster's signer at deployment.
    pub paymaster_signer: Address,
    /// The paymaster's owner.
    pub paymaster_owner: Address,
    /// LatchkeyAccountFactory.
    pub factory: Address,
    /// The factory's account implementation.
    pub account_implementation: Address,
    /// Demo game.
    pub game: Address,
    /// Demo ERC-20.
    pub token: Address,
    /// Demo NFT.
    pub nft: Address,
}

impl Deployment {
    /// Every (name, address) pair, for checks and logs.
    pub fn contracts(&self) -> [(&'static str, Address); 8] {
        [
            ("EntryPoint", self.entry_point),
            ("SenderCreator", self.sender_creator),
            ("LatchkeyPaymaster", self.paymaster),
            ("LatchkeyAccountFactory", self.factory),
            ("LatchkeyAccount implementation", self.account_implementation),
            ("Game", self.game),
            ("DemoToken", self.token),
            ("DemoNft", self.nft),
        ]
    }
}

/// What [`deploy_latchkey`] deploys, and with which keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployConfig {
    /// The funded key that sends every transaction.
    pub deployer: B256,
    /// The paymaster's owner (withdrawals, signer rotation, stake).
    pub paymaster_owner: Address,
    /// The key latchkey signs sponsored userOps with.
    pub paymaster_signer: Address,
    /// Wei deposited for the paymaster in the EntryPoint at deployment.
    pub paymaster_deposit: U256,
    /// A JSON file recording the deployment: when it exists and every recorded contract
    /// still has code on the same chain, nothing is deployed again.
    pub record: Option<PathBuf>,
}

impl DeployConfig {
    /// On anvil: dev account 0 deploys, dev account 1 owns the paymaster, 100 ETH of
    /// deposit, recorded next to the state file (if any).
    pub fn for_anvil(anvil: &Anvil, paymaster_signer: Address) -> Result<Self, DeployError> {
        Ok(Self {
            deployer: DEPLOYER_KEY,
            paymaster_owner: address_of(&PAYMASTER_OWNER_KEY)?,
            paymaster_signer,
            paymaster_deposit: U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64)),
            record: anvil.deployment_record(),
        })
    }
}

fn rpc<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> DeployError {
    move |e| DeployError::Rpc { what, message: e.to_string() }
}

/// Sends `tx` and waits for its successful receipt.
async fn send<P: Provider>(
    provider: &P,
    tx: TransactionRequest,
    what: &'static str,
) -> Result<TransactionReceipt, DeployError> {
    let pending = provider.send_transaction(tx).await.map_err(rpc(what))?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|e| DeployError::Rpc { what, message: e.to_string() })?;
    if !receipt.status() {
        return Err(DeployError::Reverted { what, tx: receipt.transaction_hash });
    }
    Ok(receipt)
}

/// Deploys `artifact` with ABI-encoded constructor arguments.
async fn deploy<P: Provider>(
    provider: &P,
    artifact: Artifact,
    constructor_args: &[u8],
) -> Result<Address, DeployError> {
    let code: Bytes = [&artifact.bytecode()?[..], constructor_args].concat().into();
    let receipt =
        send(provider, TransactionRequest::default().with_deploy_code(code), artifact.name())
            .await?;
    let address = receipt
        .contract_address
        .ok_or(DeployError::NoCode { what: artifact.name(), address: Address::ZERO })?;
    tracing::debug!(%address, "deployed {}", artifact.name());
    Ok(address)
}

/// `eth_call` of a `sol!` call, decoded.
async fn call<P: Provider, C: SolCall>(
    provider: &P,
    to: Address,
    call: &C,
    what: &'static str,
) -> Result<C::Return, DeployError> {
    let tx = TransactionRequest::default().with_to(to).with_input(call.abi_encode());
    let output = provider.call(tx).await.map_err(rpc(what))?;
    C::abi_decode_returns(&output)
        .map_err(|e| DeployError::Rpc { what, message: format!("cannot decode: {e}") })
}

async fn has_code<P: Provider>(provider: &P, address: Address) -> Result<bool, DeployError> {
    Ok(!provider.get_code_at(address).await.map_err(rpc("eth_getCode"))?.is_empty())
}

/// Places EntryPoint v0.8 at [`ENTRY_POINT_V08`] through the CREATE2 proxy unless it is
/// there already; returns its SenderCreator.
async fn place_entry_point<P: Provider>(provider: &P) -> Result<Address, DeployError> {
    if !has_code(provider, ENTRY_POINT_V08).await? {
        if !has_code(provider, CREATE2_PROXY).await? {
            // Not every node ships the proxy; anvil can be given it.
            let set: Result<serde_json::Value, _> = provider
                .raw_request("anvil_setCode".into(), (CREATE2_PROXY, CREATE2_PROXY_RUNTIME))
                .await;
            if set.is_err() || !has_code(provider, CREATE2_PROXY).await? {
                return Err(DeployError::NoCreate2Proxy);
            }
        }
        let tx = TransactionRequest::default()
            .with_to(CREATE2_PROXY)
            .with_input(entry_point_deploy_calldata()?)
            .with_gas_limit(ENTRY_POINT_DEPLOY_GAS);
        send(provider, tx, "EntryPoint placement").await?;
        if !has_code(provider, ENTRY_POINT_V08).await? {
            return Err(DeployError::NoCode { what: "EntryPoint", address: ENTRY_POINT_V08 });
        }
        tracing::info!(entry_point = %ENTRY_POINT_V08, "placed EntryPoint v0.8");
    }
    call(provider, ENTRY_POINT_V08, &EntryPoint::senderCreatorCall {}, "senderCreator").await
}

/// A recorded deployment that is still on the chain, if any.
async fn recorded<P: Provider>(
    provider: &P,
    path: &Path,
    chain_id: u64,
) -> Result<Option<Deployment>, DeployError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DeployError::Record(format!("{}: {e}", path.display()))),
    };
    let deployment: Deployment = serde_json::from_str(&text)
        .map_err(|e| DeployError::Record(format!("{}: {e}", path.display())))?;
    if deployment.chain_id != chain_id {
        return Ok(None);
    }
    for (name, address) in deployment.contracts() {
        if !has_code(provider, address).await? {
            tracing::warn!(%address, "recorded {name} has no code: deploying again");
            return Ok(None);
        }
    }
    Ok(Some(deployment))
}

/// Deploys on the node at `url`: EntryPoint v0.8 at its canonical address (skipped when
/// already there), `LatchkeyPaymaster(entryPoint, owner, signer)` and its EntryPoint
/// deposit, `LatchkeyAccountFactory(entryPoint, paymaster)` (which deploys the account
/// implementation), then Game, DemoToken and DemoNft. Idempotent through
/// [`DeployConfig::record`]: a recorded deployment whose contracts all have code is
/// returned as is (after a restart on the same `--state`).
pub async fn deploy_latchkey(url: &str, config: &DeployConfig) -> Result<Deployment, DeployError> {
    let signer = PrivateKeySigner::from_bytes(&config.deployer)
        .map_err(|e| DeployError::Key(e.to_string()))?;
    let url = url
        .parse()
        .map_err(|e| DeployError::Rpc { what: "node url", message: format!("{url}: {e}") })?;
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url);
    let chain_id = provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;

    if let Some(path) = &config.record {
        if let Some(deployment) = recorded(&provider, path, chain_id).await? {
            let signer =
                call(&provider, deployment.paymaster, &LatchkeyPaymaster::signerCall {}, "signer")
                    .await?;
            if signer != config.paymaster_signer {
                return Err(DeployError::SignerMismatch {
                    recorded: signer,
                    expected: config.paymaster_signer,
                });
            }
            tracing::info!(record = %path.display(), "latchkey contracts already deployed");
            return Ok(deployment);
        }
    }

    let sender_creator = place_entry_point(&provider).await?;
    let paymaster = deploy(
        &provider,
        Artifact::LatchkeyPaymaster,
        &(ENTRY_POINT_V08, config.paymaster_owner, config.paymaster_signer).abi_encode_params(),
    )
    .await?;
    if !config.paymaster_deposit.is_zero() {
        let tx = TransactionRequest::default()
            .with_to(paymaster)
            .with_input(LatchkeyPaymaster::depositCall {}.abi_encode())
            .with_value(config.paymaster_deposit);
        send(&provider, tx, "paymaster deposit").await?;
    }
    let factory = deploy(
        &provider,
        Artifact::LatchkeyAccountFactory,
        &(ENTRY_POINT_V08, paymaster).abi_encode_params(),
    )
    .await?;
    let account_implementation = call(
        &provider,
        factory,
        &LatchkeyAccountFactory::accountImplementationCall {},
        "accountImplementation",
    )
    .await?;
    let game = deploy(&provider, Artifact::Game, &[]).await?;
    let token = deploy(&provider, Artifact::DemoToken, &[]).await?;
    let nft = deploy(&provider, Artifact::DemoNft, &[]).await?;
    let deployment = Deployment {
        chain_id,
        entry_point: ENTRY_POINT_V08,
        sender_creator,
        paymaster,
        paymaster_signer: config.paymaster_signer,
        paymaster_owner: config.paymaster_owner,
        factory,
        account_implementation,
        game,
        token,
        nft,
    };
    if let Some(path) = &config.record {
        write_record(path, &deployment)?;
    }
    tracing::info!(?deployment, "deployed latchkey contracts");
    Ok(deployment)
}

/// Writes the record atomically (temporary file, then rename).
fn write_record(path: &Path, deployment: &Deployment) -> Result<(), DeployError> {
    let error = |e: std::io::Error| DeployError::Record(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    let text =
        serde_json::to_string_pretty(deployment).map_err(|e| DeployError::Record(e.to_string()))?;
    let mut temporary = path.as_os_str().to_os_string();
    temporary.push(".tmp");
    std::fs::write(&temporary, text).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}

/// [`deploy_latchkey`] on a started [`Anvil`] with [`DeployConfig::for_anvil`].
pub async fn deploy_on_anvil(
    anvil: &Anvil,
    paymaster_signer: Address,
) -> Result<Deployment, DeployError> {
    deploy_latchkey(anvil.url(), &DeployConfig::for_anvil(anvil, paymaster_signer)?).await
}
