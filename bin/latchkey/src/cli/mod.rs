//! `latchkey wallet …` and `latchkey session …`: the command line for people, talking to a
//! running `latchkey serve` through its native API.
//!
//! - `wallet create --key-file owner.json [--user ID]`: a new owner key file (sealed under
//!   a PIN) and its wallet, created and deployed gaslessly; `wallet show [ADDRESS |
//!   --key-file F]`; `wallet list`.
//! - `session create --key-file session.json --wallet A --allow C:E…` (local: a new
//!   session key file holding the terms to register), `session register` (the owner
//!   signs the registration), `session status`, `session exec --call C:E[:felts]…`
//!   (several `--call`s are one atomic batch), `session revoke`, `session revoke-all`,
//!   `session list`.
//!
//! Connection: `--url` (`LATCHKEY_URL`, default `http://127.0.0.1:8080`), `--public-key`
//! (`LATCHKEY_PUBLIC_KEY`), and the secret key from `LATCHKEY_SECRET_KEY` only. PINs come
//! from a prompt without echo or `LATCHKEY_PIN`, never from an argument.
//!
//! Output: a table or label/value block on standard output by default (long hex values
//! shortened in tables), or with `--json` exactly one JSON document: the API's own
//! object for what was shown or created (a wallet, a session, the final transaction),
//! or `{"error": {exitCode, kind, message, code?, status?}}` on failure. Progress
//! (a spinner, or plain lines when standard error is not a terminal) goes to standard
//! error. Before signing anything the server prepared, the CLI checks that the calls
//! in it are exactly the ones it asked for.
//!
//! Exit codes: see [`exit`] (0 success, 1 local error, 2 command-line syntax, 3 API
//! refusal, 4 server unreachable or failed, 5 transaction failed on chain).

mod admin;
pub(crate) mod evm;
pub(crate) mod exit;
mod flow;
mod progress;
mod render;
mod rpc;
mod session;
pub(crate) mod spec;
mod wallet;

use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::client::{ApiKeys, Client, PUBLIC_KEY_ENV, URL_ENV};
use crate::keyfile::KeyFile;

pub(crate) use admin::{run as run_admin, AdminArgs};
pub(crate) use exit::EXIT_CODES_HELP;

/// Where the server is, and the organisation's API keys.
#[derive(Debug, clap::Args)]
pub(crate) struct Connection {
    /// The latchkey server.
    #[arg(long, env = URL_ENV, default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// The organisation's public API key (pk_…). The secret key (sk_…) is read from
    /// LATCHKEY_SECRET_KEY only, never from an argument.
    #[arg(long, env = PUBLIC_KEY_ENV, hide_env_values = true, global = true)]
    public_key: Option<String>,
}

impl Connection {
    /// A client of the server; fails (exit 1) when an API key is missing.
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        let keys = ApiKeys::new(self.public_key.as_deref(), ApiKeys::secret_from_env())?;
        Client::new(&self.url, keys)
    }

    /// Whether API keys are configured at all (a command that can work offline then
    /// goes through the server).
    pub(crate) fn is_configured(&self) -> bool {
        self.public_key.is_some() || ApiKeys::secret_from_env().is_some()
    }
}

/// Connection and output options, accepted anywhere after `wallet` or `session`.
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    #[command(flatten)]
    connection: Connection,
    /// Print one JSON document on standard output instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds to wait for a transaction to reach a final state.
    #[arg(long, value_name = "SECONDS", default_value_t = 120, global = true)]
    timeout: u64,
}

/// `latchkey wallet …`.
#[derive(Debug, clap::Args)]
pub(crate) struct WalletArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: wallet::WalletCommand,
}

/// `latchkey session …`.
#[derive(Debug, clap::Args)]
pub(crate) struct SessionArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: session::SessionCommand,
}

/// Runs `latchkey wallet …`.
pub(crate) async fn run_wallet(args: WalletArgs) -> anyhow::Result<()> {
    let ctx = Ctx::new(args.common);
    let result = wallet::run(&ctx, args.command).await;
    ctx.out.fail(result)
}

/// Runs `latchkey session …`.
pub(crate) async fn run_session(args: SessionArgs) -> anyhow::Result<()> {
    let ctx = Ctx::new(args.common);
    let result = session::run(&ctx, args.command).await;
    ctx.out.fail(result)
}

/// What every command gets: the options and the output.
#[derive(Debug)]
struct Ctx {
    common: Common,
    out: Output,
}

impl Ctx {
    fn new(common: Common) -> Self {
        let out = Output::new(common.json);
        Self { common, out }
    }

    /// A client of the server; fails (exit 1) when an API key is missing.
    fn client(&self) -> anyhow::Result<Client> {
        self.common.connection.client()
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.common.timeout.max(1))
    }
}

/// Standard output: one JSON document with `--json`, text otherwise.
#[derive(Debug)]
struct Output {
    json: bool,
    emitted: Cell<bool>,
}

impl Output {
    fn new(json: bool) -> Self {
        Self { json, emitted: Cell::new(false) }
    }

    /// Prints the result: `json` with `--json`, else the text `human` renders.
    fn emit(&self, json: &Value, human: impl FnOnce() -> String) -> anyhow::Result<()> {
        let mut stdout = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut stdout, json)?;
            writeln!(stdout)?;
        } else {
            stdout.write_all(human().as_bytes())?;
        }
        stdout.flush()?;
        self.emitted.set(true);
        Ok(())
    }

    /// With `--json`, an error that left standard output empty gets its JSON document.
    fn fail(&self, result: anyhow::Result<()>) -> anyhow::Result<()> {
        if let Err(error) = &result {
            if self.json && !self.emitted.get() {
                let mut stdout = std::io::stdout().lock();
                let _ = serde_json::to_writer_pretty(&mut stdout, &exit::error_json(error));
                let _ = writeln!(stdout);
            }
        }
        result
    }
}

/// A key file named on the command line, with its path (for prompts and messages).
#[derive(Debug)]
struct NamedKey {
    path: PathBuf,
    file: KeyFile,
}

impl NamedKey {
    fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self { path: path.to_path_buf(), file: KeyFile::read(path)? })
    }

    /// Reads an owner key file, refusing other kinds.
    fn owner(path: &std::path::Path) -> anyhow::Result<Self> {
        let key = Self::read(path)?;
        if key.file.kind() != latchkey_core::KeyKind::Owner {
            anyhow::bail!(
                "{} holds a {} key; an owner key file is needed",
                path.display(),
                key.file.kind
            );
        }
        Ok(key)
    }

    /// Reads a session key file, refusing other kinds.
    fn session(path: &std::path::Path) -> anyhow::Result<Self> {
        let key = Self::read(path)?;
        if key.file.kind() != latchkey_core::KeyKind::Session {
            anyhow::bail!(
                "{} holds an {} key; a session key file is needed",
                path.display(),
                key.file.kind
            );
        }
        Ok(key)
    }

    /// The wallet the key signs for.
    fn account(&self) -> anyhow::Result<latchkey_core::Felt> {
        self.file.account_felt().with_context(|| format!("{}", self.path.display()))
    }
}

/// A wallet address from the command line, checked and in canonical form.
fn wallet_address(text: &str) -> anyhow::Result<latchkey_core::Felt> {
    let felt = latchkey_core::parse_felt(text)
        .map_err(|e| anyhow::anyhow!("the wallet address {text:?} is not a felt: {e}"))?;
    if felt == latchkey_core::Felt::ZERO {
        anyhow::bail!("the wallet address must not be zero");
    }
    Ok(felt)
}
