//! `latchkey wallet create|show|list`.

use std::path::{Path, PathBuf};

use latchkey_core::{to_hex, SigningKey};
use latchkey_evm_contracts::EvmSigningKey;
use serde::Deserialize;
use serde_json::{json, Value};

use super::evm::{self, EvmChain};
use super::progress::Progress;
use super::render::{details, iso_time, short_hex, Table};
use super::{wallet_address, Ctx, NamedKey};
use crate::client::Client;
use crate::client::{decode, segment};
use crate::keyfile::{self, Challenge, FileKey, KeyFile, PinCheck};
use crate::pin::PinServer;

/// `latchkey wallet …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum WalletCommand {
    /// Create a wallet: a new owner key, sealed under a PIN in the key file, and its
    /// account, deployed gaslessly by the server.
    Create {
        /// Where to write the owner key file (never overwritten).
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Your user id for the wallet (its external user id).
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// Use the owner key already in the key file instead of making one (to finish a
        /// creation that failed after the key file was written).
        #[arg(long)]
        existing: bool,
        /// The chain, as the server lists it (`eip155:31337`, or `evm`/`starknet` for
        /// the one chain of that family) [default: the server's default chain].
        #[arg(long, value_name = "CHAIN", conflicts_with = "existing")]
        chain: Option<String>,
    },
    /// Show a wallet, by address or by a key file of it.
    Show {
        /// The wallet address.
        #[arg(required_unless_present = "key_file", conflicts_with = "key_file")]
        address: Option<String>,
        /// A key file (owner or session) of the wallet.
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// List the organisation's wallets.
    List {
        /// At most this many (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Serve a local JSON-RPC signer endpoint for an EVM wallet: wallet permissions
    /// (EIP-7715) granted as sessions its owner key signs, and calls (EIP-5792) sent with
    /// them. The owner key is unlocked once (LATCHKEY_PIN or a prompt) and held in memory.
    Rpc {
        /// The wallet's EVM owner key file.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// Where to listen (port 0: any free port, printed at start).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8545")]
        listen: std::net::SocketAddr,
    },
}

/// A wallet as the API shows it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wallet {
    address: String,
    owner_public_key: String,
    #[serde(default)]
    external_user_id: Option<String>,
    deployed: bool,
    #[serde(default)]
    deploy_transaction_hash: Option<String>,
    #[serde(default)]
    class_hash: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

pub(super) async fn run(ctx: &Ctx, command: WalletCommand) -> anyhow::Result<()> {
    match command {
        WalletCommand::Create { key_file, user, existing, chain } => {
            create(ctx, &key_file, user.as_deref(), existing, chain.as_deref()).await
        }
        WalletCommand::Show { address, key_file } => {
            show(ctx, address.as_deref(), key_file.as_deref()).await
        }
        WalletCommand::List { limit, offset } => list(ctx, limit, offset).await,
        WalletCommand::Rpc { key_file, listen } => super::rpc::serve(ctx, &key_file, listen).await,
    }
}

async fn create(
    ctx: &Ctx,
    path: &Path,
    user: Option<&str>,
    existing: bool,
    chain: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(user) = user {
        if user.trim().is_empty() {
            anyhow::bail!("--user must not be empty");
        }
    }
    if !existing && path.exists() {
        anyhow::bail!(
            "{} exists already; it is never overwritten (add --existing to create the wallet \
             of the owner key it holds)",
            path.display()
        );
    }
    let client = ctx.client()?;
    // Reach the server before making a key, so an outage or a bad API key leaves no
    // orphan key file behind; its challenge is what the new owner key signs to prove it
    // is held here.
    let answer = client.post("/api/challenges", Some(&json!({"purpose": "create-wallet"}))).await?;
    let challenge = keyfile::Challenge::from_answer(&answer)?;
    let pins = PinServer::new(&client);
    if existing {
        let key = NamedKey::owner(path)?;
        return if key.file.is_evm() {
            let parts = existing_owner::<EvmSigningKey>(key, &challenge, pins).await?;
            finish(ctx, &client, path, user, parts).await
        } else {
            let parts = existing_owner::<SigningKey>(key, &challenge, pins).await?;
            finish(ctx, &client, path, user, parts).await
        };
    }
    let evm = match chain {
        Some(chain) => EvmChain::find(&client, chain).await?,
        None => None,
    };
    if let Some(evm) = evm {
        let parts = evm::new_owner(path, &evm, &challenge, pins).await?;
        return finish(ctx, &client, path, user, parts).await;
    }
    let created = keyfile::create_owner_file(path, PinCheck::Server(pins)).await?;
    let body = keyfile::wallet_body(&created.file, &created.key, &challenge)?;
    finish(ctx, &client, path, user, (created.file, created.key, created.unlock_challenge, body))
        .await
}

/// An existing owner key file, unlocked through the server (its `pin-unlock` challenge
/// kept to prove the unlock once the wallet is stored), and the body of
/// `POST /api/wallets` proving it for `challenge`.
async fn existing_owner<K: FileKey>(
    key: NamedKey,
    challenge: &Challenge,
    pins: PinServer<'_>,
) -> anyhow::Result<(KeyFile, K, Option<Challenge>, Value)> {
    let NamedKey { path, mut file } = key;
    let (unlocked, unlock_challenge) =
        keyfile::unlock_unproved::<K>(&path, &mut file, PinCheck::Server(pins)).await?;
    let body = keyfile::wallet_body(&file, &unlocked, challenge)?;
    Ok((file, unlocked, unlock_challenge, body))
}

/// Creates the wallet of a new or existing owner key file: posts `body` (with the user
/// id), shows the deployment, proves the PIN unlock, and prints the wallet.
async fn finish<K: FileKey>(
    ctx: &Ctx,
    client: &Client,
    path: &Path,
    user: Option<&str>,
    (file, key, unlock_challenge, mut body): (KeyFile, K, Option<Challenge>, Value),
) -> anyhow::Result<()> {
    let pins = PinServer::new(client);
    if let Some(user) = user {
        body["externalUserId"] = json!(user);
    }
    let mut progress = Progress::start(format!("creating wallet {}", file.account));
    progress.state("deploying", None);
    let raw = match client.post("/api/wallets", Some(&body)).await {
        Ok(raw) => raw,
        Err(error) => {
            progress.abandon();
            return Err(error.context(format!(
                "the key file {} was kept: retry with `latchkey wallet create --key-file {} --existing`",
                path.display(),
                path.display()
            )));
        }
    };
    let wallet: Wallet = decode(&raw, "wallet")?;
    progress.state(
        if wallet.deployed { "deployed" } else { "created" },
        wallet.deploy_transaction_hash.as_deref(),
    );
    progress.finish();
    // The new key's PIN evaluation counted as an attempt; proving the key resets it.
    if let Some(challenge) = unlock_challenge {
        keyfile::prove_unlock(pins, &file, &key, &challenge).await;
    }
    drop(key);
    ctx.out.emit(&raw, || {
        format!(
            "Wallet created; the owner key is in {}.\n{}",
            path.display(),
            wallet_details(&wallet)
        )
    })
}

async fn show(ctx: &Ctx, address: Option<&str>, key_file: Option<&Path>) -> anyhow::Result<()> {
    let address = match (address, key_file) {
        (Some(address), _) => wallet_address(address)?,
        (None, Some(path)) => NamedKey::read(path)?.account()?,
        (None, None) => anyhow::bail!("name the wallet: ADDRESS or --key-file FILE"),
    };
    let client = ctx.client()?;
    let raw = client.get(&format!("/api/wallets/{}", segment(&to_hex(&address)))).await?;
    let wallet: Wallet = decode(&raw, "wallet")?;
    ctx.out.emit(&raw, || wallet_details(&wallet))
}

async fn list(ctx: &Ctx, limit: u32, offset: u32) -> anyhow::Result<()> {
    if !(1..=200).contains(&limit) {
        anyhow::bail!("--limit must be between 1 and 200");
    }
    let client = ctx.client()?;
    let raw = client.get(&format!("/api/wallets?limit={limit}&offset={offset}")).await?;
    let wallets: Vec<Wallet> = decode(&raw, "wallet list")?;
    ctx.out.emit(&raw, || wallet_table(&wallets))
}

fn wallet_details(wallet: &Wallet) -> String {
    details(&[
        ("Address", wallet.address.clone()),
        ("Owner key", wallet.owner_public_key.clone()),
        ("User", wallet.external_user_id.clone().unwrap_or_else(|| "-".into())),
        (
            "Deployed",
            match (&wallet.deployed, &wallet.deploy_transaction_hash) {
                (true, Some(hash)) => format!("yes (transaction {hash})"),
                (true, None) => "yes".into(),
                (false, _) => "no".into(),
            },
        ),
        ("Class", wallet.class_hash.clone().unwrap_or_else(|| "-".into())),
        ("Created", wallet.created_at.as_deref().map(iso_time).unwrap_or_else(|| "-".into())),
    ])
}

fn wallet_table(wallets: &[Wallet]) -> String {
    if wallets.is_empty() {
        return "No wallets.\n".into();
    }
    let mut table = Table::new(&["ADDRESS", "USER", "DEPLOYED", "CREATED"]);
    for wallet in wallets {
        table.row(vec![
            short_hex(&wallet.address),
            wallet.external_user_id.clone().unwrap_or_else(|| "-".into()),
            if wallet.deployed { "yes" } else { "no" }.into(),
            wallet.created_at.as_deref().map(iso_time).unwrap_or_else(|| "-".into()),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn wallet(user: Option<&str>) -> Wallet {
        serde_json::from_value(json!({
            "address": "0x7a40dec7e18c0dfc5bb15415917032e5c856ac72c8b34019d8d58a4ffb494f0",
            "ownerPublicKey": "0x1234",
            "externalUserId": user,
            "walletType": "CHIPI",
            "classHash": "0x5f4",
            "deployed": true,
            "deployTransactionHash": "0xbeef",
            "encryptedPrivateKey": "lk1$owner$…",
            "createdAt": "2025-11-21T06:12:05.000Z",
        }))
        .unwrap()
    }

    #[test]
    fn wallet_tables_shorten_addresses_and_read_times() {
        let text = wallet_table(&[wallet(Some("alice")), wallet(None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ADDRESS        USER   DEPLOYED  CREATED");
        assert_eq!(lines[1], "0x7a40de…94f0  alice  yes       2025-11-21 06:12:05 UTC");
        assert_eq!(lines[2], "0x7a40de…94f0  -      yes       2025-11-21 06:12:05 UTC");
        assert_eq!(wallet_table(&[]), "No wallets.\n");
    }

    #[test]
    fn wallet_details_show_the_full_address() {
        let text = wallet_details(&wallet(Some("alice")));
        assert!(text.contains("0x7a40dec7e18c0dfc5bb15415917032e5c856ac72c8b34019d8d58a4ffb494f0"));
        assert!(text.contains("Deployed   yes (transaction 0xbeef)"), "{text}");
        assert!(!text.contains("lk1$"), "the sealed key is not shown: {text}");
    }
}
