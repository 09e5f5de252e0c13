//! `latchkey`: scoped, expiring session keys for smart-account wallets.
//!
//! Subcommands: `serve` runs the API and the relayer; `devnet` runs the embedded Starknet
//! chain standalone; `wallet …` and `session …` drive a running server for people
//! (see [`cli`]); `key …` and `sign` keep keys and sign on the client side for scripts;
//! `bench …` measures gas, signing speed, API throughput and start-up.
//!
//! Exit codes: 0 success, 1 local error, 2 command-line syntax, 3 the API refused the
//! request, 4 the server is unreachable or failed, 5 a transaction failed on chain
//! ([`cli::exit`]).

mod bench;
mod bench_evm;
mod bench_pin;
mod bench_serve;
mod cli;
mod client;
mod keyfile;
mod pin;
mod serve;
mod serve_evm;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use latchkey_core::{to_hex, Felt};
use latchkey_starknet_devnet::{Devnet, DevnetConfig};
use pin::PinServer;

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Scoped, expiring session keys for smart-account wallets",
    after_help = cli::EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the gasless relayer: on the embedded chain and SQLite by default,
    /// or on any Starknet node (`--rpc-url`) and PostgreSQL (`--database-url`).
    Serve(Box<serve::ServeArgs>),
    /// Run the embedded Starknet chain (devnet) with latchkey's classes declared, and
    /// print how to reach it.
    Devnet(DevnetArgs),
    /// Wallets on a latchkey server: create one (with a new owner key file), show, list.
    #[command(after_help = cli::EXIT_CODES_HELP)]
    Wallet(cli::WalletArgs),
    /// Session keys on a latchkey server: create, register, use, inspect and revoke them.
    #[command(after_help = cli::EXIT_CODES_HELP)]
    Session(cli::SessionArgs),
    /// The operator's commands: organisations, their API keys and gas budgets, the audit
    /// log (the operator token comes from LATCHKEY_OPERATOR_TOKEN only).
    #[command(after_help = cli::EXIT_CODES_HELP)]
    Admin(cli::AdminArgs),
    /// Key files: owner and session keys sealed under a PIN, on this machine.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign a prepared execution: reads the API's prepare response (or typed data) on
    /// standard input, prints the body for `POST /api/wallets/{address}/execute`.
    /// The PIN comes from LATCHKEY_PIN or a prompt; it is checked by the server (lk2 key
    /// files, and lk1 ones when API keys are set, which are then re-sealed as lk2).
    Sign {
        /// The key file to sign with.
        key_file: std::path::PathBuf,
        #[command(flatten)]
        connection: cli::Connection,
    },
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a key file. The PIN comes from LATCHKEY_PIN or a prompt and is evaluated
    /// by the server (LATCHKEY_URL, LATCHKEY_PUBLIC_KEY, LATCHKEY_SECRET_KEY), so that
    /// the key file is sealed as lk2: no PIN can be tested against it offline.
    New {
        #[command(subcommand)]
        key: NewKey,
        #[command(flatten)]
        connection: cli::Connection,
        /// Seal without the server (lk1): anyone with the file can then test PINs
        /// against it offline, until it is unlocked once through the server.
        #[arg(long, global = true)]
        offline: bool,
    },
    /// Print the public parts of a key file (one field with FIELD: account, publicKey,
    /// validUntil, kind, format, envelope).
    Show {
        /// The key file.
        key_file: std::path::PathBuf,
        /// One field only, printed bare.
        field: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum NewKey {
    /// A new owner key and its wallet address; prints the body of `POST /api/wallets`.
    Owner {
        /// Where to write the key file (never overwritten).
        key_file: std::path::PathBuf,
    },
    /// A new session key for a wallet; prints the body of
    /// `POST /api/wallets/{address}/sessions`.
    Session {
        /// Where to write the key file (never overwritten).
        key_file: std::path::PathBuf,
        /// The wallet address.
        #[arg(long)]
        account: String,
        /// What the session may call, as CONTRACT:ENTRYPOINT (repeatable).
        #[arg(long)]
        allow: Vec<String>,
        /// Allow every method of every contract (never the wallet itself).
        #[arg(long)]
        allow_all: bool,
        /// Transactions the session may make.
        #[arg(long, default_value_t = 1000)]
        max_calls: u32,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        valid_for: u64,
    },
}

#[derive(Debug, clap::Args)]
struct DevnetArgs {
    /// Port on 127.0.0.1 (0 picks a free port).
    #[arg(long, env = "LATCHKEY_DEVNET_PORT", default_value_t = 5050)]
    port: u16,
    /// Seed of the funded relayer accounts.
    #[arg(long, env = "LATCHKEY_DEVNET_SEED", default_value_t = 42)]
    seed: u32,
    /// Number of funded relayer accounts.
    #[arg(long, env = "LATCHKEY_DEVNET_RELAYERS", default_value_t = 4)]
    relayers: u8,
    /// Chain id (a short string).
    #[arg(long, env = "LATCHKEY_DEVNET_CHAIN_ID", default_value = "SN_SEPOLIA")]
    chain_id: String,
    /// A journal file to keep the chain's state in: replayed at start when it exists,
    /// so a restart on it finds every account and balance where it was.
    #[arg(long, env = "LATCHKEY_DEVNET_STATE")]
    state: Option<std::path::PathBuf>,
    /// Keep every block's state, so `devnet_abortBlocks` can simulate a reorg (memory
    /// grows with every block).
    #[arg(long, env = "LATCHKEY_DEVNET_REORGS")]
    reorgs: bool,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Gas of owner and session executions: on Starknet, L2 gas of SNIP-9 transfers
    /// against a plain transfer from devnet's predeployed OpenZeppelin account; on EVM,
    /// sponsored userOps on latchkey's account against the npm SimpleAccount.
    Gas {
        /// The chain family: `starknet` (the embedded devnet) or `evm` (anvil; the owner
        /// and session userOps on latchkey's account against the npm SimpleAccount, needs
        /// Node.js and npm).
        #[arg(long, default_value = "starknet", value_parser = ["starknet", "evm"])]
        chain: String,
        /// Measured repetitions of each transaction kind (Starknet).
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
    /// Session-execution signatures per second (SNIP-12 hash + RFC 6979 ECDSA), latchkey
    /// against starknet.js on the same inputs (needs Node.js and npm).
    Sign {
        /// Measuring time per implementation, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        millis: u64,
    },
    /// Session executions per second through the API and relayer, against the chain's
    /// own throughput for the same transactions (P3).
    Throughput {
        /// The chain family: `starknet` (the embedded devnet) or `evm` (an embedded anvil).
        #[arg(long, default_value = "starknet", value_parser = ["starknet", "evm"])]
        chain: String,
        /// Seconds per phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent clients; each path gets as many submitting accounts.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// PIN unlock latency through the API (lk2: OPRF evaluation, Argon2id, proof), the
    /// attempts an online attacker gets against one wallet, and the cost of an offline
    /// guess per sealing format.
    Pin {
        /// Measured unlocks.
        #[arg(long, default_value_t = 30)]
        unlocks: usize,
    },
    /// Time from `latchkey serve` to a healthy API (P4).
    Startup {
        /// Runs, each on a fresh data directory.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Devnet(args) => run_devnet(args).await,
            Command::Wallet(args) => cli::run_wallet(args).await,
            Command::Session(args) => cli::run_session(args).await,
            Command::Admin(args) => cli::run_admin(args).await,
            Command::Key(KeyCommand::New { key, connection, offline }) => {
                new_key(key, &connection, offline).await
            }
            Command::Key(KeyCommand::Show { key_file, field }) => {
                keyfile::show(&key_file, field.as_deref())
            }
            Command::Sign { key_file, connection } => {
                if connection.is_configured() {
                    let client = connection.client()?;
                    keyfile::sign(&key_file, keyfile::PinCheck::Server(PinServer::new(&client)))
                        .await
                } else {
                    keyfile::sign(&key_file, keyfile::PinCheck::Offline).await
                }
            }
            Command::Bench(BenchCommand::Gas { chain, rounds }) => {
                if chain == "evm" {
                    bench::gas_evm()
                } else {
                    bench::gas(rounds).await
                }
            }
            Command::Bench(BenchCommand::Sign { millis }) => bench::sign(millis),
            Command::Bench(BenchCommand::Throughput { chain, seconds, concurrency }) => {
                if chain == "evm" {
                    bench_evm::throughput(seconds, concurrency).await
                } else {
                    bench_serve::throughput(seconds, concurrency).await
                }
            }
            Command::Bench(BenchCommand::Startup { runs }) => bench_serve::startup(runs).await,
            Command::Bench(BenchCommand::Pin { unlocks }) => bench_pin::pin(unlocks).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cli::exit::classify(&err).code())
        }
    }
}

/// `latchkey key new owner|session`: through the server unless `offline`.
async fn new_key(key: NewKey, connection: &cli::Connection, offline: bool) -> anyhow::Result<()> {
    let client = if offline {
        None
    } else if connection.is_configured() {
        Some(connection.client()?)
    } else {
        anyhow::bail!(
            "a new key's PIN is evaluated by the server: set LATCHKEY_URL, LATCHKEY_PUBLIC_KEY \
             and LATCHKEY_SECRET_KEY (or pass --offline for an lk1 key file, whose PIN can be \
             tested offline)"
        );
    };
    let check = match &client {
        Some(client) => keyfile::PinCheck::Server(PinServer::new(client)),
        None => keyfile::PinCheck::Offline,
    };
    match key {
        NewKey::Owner { key_file } => keyfile::new_owner(&key_file, check).await,
        NewKey::Session { key_file, account, allow, allow_all, max_calls, valid_for } => {
            let request = keyfile::SessionRequest {
                account: &account,
                lifetime: keyfile::Lifetime::For(valid_for),
                valid_after: 0,
                max_calls,
                allow: &allow,
                allow_all,
            };
            keyfile::new_session(&key_file, &request, check).await
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn run_devnet(args: DevnetArgs) -> anyhow::Result<()> {
    let devnet = Devnet::start_with(DevnetConfig {
        seed: args.seed,
        relayers: args.relayers,
        chain_id: args.chain_id.clone(),
        port: args.port,
        deploy_game: true,
        state: args.state.clone(),
        reorgs: args.reorgs,
    })
    .await?;
    let classes = devnet.classes();
    println!("latchkey devnet ready in {:.2?}", devnet.startup_time());
    println!();
    println!("  RPC URL          {}", devnet.url());
    println!("  Chain id         {} ({})", args.chain_id, to_hex(&devnet.chain_id()));
    println!("  Account class    {}", to_hex(&classes.account));
    println!("  Game class       {}", to_hex(&classes.game));
    if let Some(game) = devnet.game() {
        println!("  Game contract    {}", to_hex(&game));
    }
    println!("  STRK token       {}", to_hex(&devnet.strk()));
    println!("  ETH token        {}", to_hex(&devnet.eth()));
    println!("  UDC              {}", to_hex(&devnet.udc()));
    println!("  Relayers (funded):");
    for relayer in devnet.relayers() {
        println!("    {}", to_hex(&relayer.address));
    }
    println!();
    println!("Point a client at it, e.g. STARKNET_RPC_URL={} for the Chipi SDK.", devnet.url());
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    drop(devnet);
    println!("stopped");
    Ok(())
}

/// Parses a felt for the benchmarks' fixed keys.
fn fixed_felt(hex: &str) -> anyhow::Result<Felt> {
    Ok(latchkey_core::parse_felt(hex)?)
}
