//! `latchkey session create|register|status|exec|revoke|revoke-all|list`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use latchkey_core::{parse_felt, selector, to_hex, AccountChange, Felt, DEFAULT_SESSION_MAX_CALLS};
use latchkey_starknet_contracts::account_calls;
use serde::Deserialize;
use serde_json::json;

use super::evm;
use super::flow::{conclude, sign_and_execute};
use super::render::{details, duration, short_hex, utc, utc_relative, Table};
use super::spec::CallSpec;
use super::{wallet_address, Ctx, NamedKey};
use crate::client::{decode, segment};
use crate::keyfile::{self, now_unix, Lifetime, PinCheck, SessionRequest};
use crate::pin::PinServer;

/// `latchkey session …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SessionCommand {
    /// Make a session key file: a new session key sealed under a PIN, with what the
    /// session may do. Local only: `session register` puts it on chain.
    Create {
        /// Where to write the session key file (never overwritten).
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// The wallet the session acts for.
        #[arg(long, value_name = "ADDRESS")]
        wallet: String,
        /// A method the session may call, CONTRACT:ENTRYPOINT (repeatable; contract 0x0 =
        /// any contract).
        #[arg(long, value_name = "CONTRACT:ENTRYPOINT")]
        allow: Vec<String>,
        /// Allow every method of every contract (never the wallet itself).
        #[arg(long, conflicts_with = "allow")]
        allow_all: bool,
        /// Transactions the session may make.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_SESSION_MAX_CALLS)]
        max_calls: u32,
        /// Lifetime in seconds from now [default: 3600].
        #[arg(long, value_name = "SECONDS", conflicts_with = "valid_until")]
        valid_for: Option<u64>,
        /// End of the session, as a Unix time (inclusive).
        #[arg(long, value_name = "UNIX")]
        valid_until: Option<u64>,
        /// Start of the session, as a Unix time [default: at registration].
        #[arg(long, value_name = "UNIX")]
        valid_after: Option<u64>,
    },
    /// Register a session key file's session on its wallet: the owner signs once.
    Register {
        /// The session key file (from `session create`).
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// The wallet's owner key file.
        #[arg(long, value_name = "FILE")]
        owner_key: PathBuf,
    },
    /// Show a session's live status: state, calls left, expiry, what it may call.
    Status {
        #[command(flatten)]
        which: WhichSession,
    },
    /// Execute calls gaslessly with the session key; several --call are one atomic batch.
    Exec {
        /// The session key file.
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
        /// A call, CONTRACT:ENTRYPOINT[:FELT,FELT…] (repeatable; in order).
        #[arg(long = "call", value_name = "CONTRACT:ENTRYPOINT[:FELTS]", required = true)]
        calls: Vec<String>,
    },
    /// Revoke one session (owner-signed).
    Revoke {
        #[command(flatten)]
        which: WhichSession,
        /// The wallet's owner key file.
        #[arg(long, value_name = "FILE")]
        owner_key: PathBuf,
    },
    /// Revoke every session of the owner key's wallet (owner-signed).
    RevokeAll {
        /// The wallet's owner key file.
        #[arg(long, value_name = "FILE")]
        owner_key: PathBuf,
    },
    /// List a wallet's sessions.
    List {
        /// The wallet address.
        #[arg(
            long,
            value_name = "ADDRESS",
            required_unless_present = "key_file",
            conflicts_with = "key_file"
        )]
        wallet: Option<String>,
        /// A key file (owner or session) of the wallet.
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
}

/// A session, by its key file or by wallet and session public key.
#[derive(Debug, clap::Args)]
pub(crate) struct WhichSession {
    /// The session key file.
    #[arg(long, value_name = "FILE", required_unless_present = "session", conflicts_with_all = ["wallet", "session"])]
    key_file: Option<PathBuf>,
    /// The wallet address (with --session).
    #[arg(long, value_name = "ADDRESS", requires = "session")]
    wallet: Option<String>,
    /// The session public key (with --wallet).
    #[arg(long, value_name = "KEY", requires = "wallet")]
    session: Option<String>,
}

impl WhichSession {
    /// The wallet, the session key (each as the API reads it), and the key file when one
    /// was named.
    fn resolve(&self) -> anyhow::Result<(String, String, Option<NamedKey>)> {
        match (&self.key_file, &self.wallet, &self.session) {
            (Some(path), _, _) => {
                let key = NamedKey::session(path)?;
                key.account()?;
                Ok((key.file.account.clone(), key.file.public_key.clone(), Some(key)))
            }
            (None, Some(wallet), Some(session)) => {
                let key = match evm_text(session) {
                    Some(address) => address,
                    None => to_hex(&parse_felt(session).map_err(|e| {
                        anyhow::anyhow!("--session {session:?} is not a felt: {e}")
                    })?),
                };
                Ok((wallet_text(wallet)?, key, None))
            }
            _ => anyhow::bail!(
                "name the session: --key-file FILE, or --wallet ADDRESS --session KEY"
            ),
        }
    }
}

/// A session as the API shows it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    session_public_key: String,
    state: String,
    valid_after: u64,
    valid_until: u64,
    max_calls: u32,
    calls_used: u32,
    remaining_calls: u32,
    allow_all: bool,
    #[serde(default)]
    allowed_methods: Vec<Method>,
    #[serde(default)]
    spending_caps: Vec<SpendingCap>,
}

#[derive(Debug, Deserialize)]
struct Method {
    contract: String,
    selector: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpendingCap {
    token: String,
    max_per_call: String,
    max_per_window: String,
    window_seconds: u64,
    spent_in_window: String,
}

pub(super) async fn run(ctx: &Ctx, command: SessionCommand) -> anyhow::Result<()> {
    match command {
        SessionCommand::Create {
            key_file,
            wallet,
            allow,
            allow_all,
            max_calls,
            valid_for,
            valid_until,
            valid_after,
        } => {
            let lifetime = match valid_until {
                Some(until) => Lifetime::Until(until),
                None => Lifetime::For(valid_for.unwrap_or(3600)),
            };
            let request = SessionRequest {
                account: &wallet,
                lifetime,
                valid_after: valid_after.unwrap_or(0),
                max_calls,
                allow: &allow,
                allow_all,
            };
            create(ctx, &key_file, &request).await
        }
        SessionCommand::Register { key_file, owner_key } => {
            register(ctx, &key_file, &owner_key).await
        }
        SessionCommand::Status { which } => status(ctx, &which).await,
        SessionCommand::Exec { key_file, calls } => exec(ctx, &key_file, &calls).await,
        SessionCommand::Revoke { which, owner_key } => revoke(ctx, &which, &owner_key).await,
        SessionCommand::RevokeAll { owner_key } => revoke_all(ctx, &owner_key).await,
        SessionCommand::List { wallet, key_file } => {
            list(ctx, wallet.as_deref(), key_file.as_deref()).await
        }
    }
}

async fn create(ctx: &Ctx, path: &Path, request: &SessionRequest<'_>) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let pins = PinServer::new(&client);
    let file = match evm::wallet_chain(&client, request.account).await? {
        Some(chain) => evm::new_session_file(path, &evm_session(request, chain)?, pins).await?,
        None => keyfile::create_session_file(path, request, PinCheck::Server(pins)).await?,
    };
    let terms = file.terms()?;
    let valid_until = file.valid_until.unwrap_or_default();
    let doc = json!({
        "keyFile": path.display().to_string(),
        "wallet": file.account,
        "sessionPublicKey": file.public_key,
        "validAfter": terms.valid_after,
        "validUntil": valid_until,
        "maxCalls": terms.max_calls,
        "allowAll": terms.allow_all,
        "allowedMethods": terms.allowed_methods_json(file.is_evm()),
    });
    ctx.out.emit(&doc, || {
        let now = now_unix();
        let allowed = if terms.allow_all {
            "every method of every contract".to_string()
        } else {
            let starknet = terms
                .allowed_methods
                .iter()
                .map(|m| format!("{} on {}", m.entrypoint, short_hex(&to_hex(&m.contract))));
            let evm = terms.evm_methods.iter().map(|m| match m.contract.as_str() {
                "0x0" => format!("{} on any contract", m.entrypoint),
                contract => format!("{} on {}", m.entrypoint, short_hex(contract)),
            });
            starknet.chain(evm).collect::<Vec<_>>().join("\n")
        };
        format!(
            "Session key created in {} (not registered yet).\n{}\nNext: latchkey session register --key-file {} --owner-key OWNER_KEY_FILE\n",
            path.display(),
            details(&[
                ("Session", file.public_key.clone()),
                ("Wallet", file.account.clone()),
                ("Valid after", valid_after_text(terms.valid_after, now)),
                ("Valid until", utc_relative(valid_until, now)),
                ("Max calls", terms.max_calls.to_string()),
                ("Allowed", allowed),
            ]),
            path.display()
        )
    })
}

async fn register(ctx: &Ctx, session_path: &Path, owner_path: &Path) -> anyhow::Result<()> {
    let session = NamedKey::session(session_path)?;
    let owner = NamedKey::owner(owner_path)?;
    let wallet = session.account()?;
    if owner.account()? != wallet {
        anyhow::bail!(
            "{} is for wallet {} but {} owns {}",
            session_path.display(),
            session.file.account,
            owner_path.display(),
            owner.file.account
        );
    }
    let client = ctx.client()?;
    let task = format!("registering session {}", short_hex(&session.file.public_key));
    let (raw, transaction) = if session.file.is_evm() {
        let body = session.file.registration_body()?;
        let grant = evm::registration_grant(&session.file)?;
        let path = format!("/api/wallets/{}/sessions", segment(&session.file.account));
        let prepared = client.post(&path, Some(&body)).await?;
        let expected = evm::Expected::Change(AccountChange::RegisterSession(grant));
        evm::sign_and_execute(ctx, &client, &prepared, &owner, &expected, task).await?
    } else {
        let body = session.file.registration_body()?;
        let expected =
            [account_calls::register_session(wallet, &session.file.registration_policy()?)];
        let prepared =
            client.post(&format!("{}/sessions", wallet_path(wallet)), Some(&body)).await?;
        sign_and_execute(ctx, &client, wallet, &prepared, &owner, &expected, task).await?
    };
    conclude(
        ctx,
        &raw,
        &transaction,
        &format!(
            "Session {} registered on wallet {}.",
            session.file.public_key, session.file.account
        ),
    )
}

async fn status(ctx: &Ctx, which: &WhichSession) -> anyhow::Result<()> {
    let (wallet, key, file) = which.resolve()?;
    let client = ctx.client()?;
    let raw = client
        .get(&format!("/api/wallets/{}/sessions/{}", segment(&wallet), segment(&key)))
        .await?;
    let session: Session = decode(&raw, "session")?;
    let names = file.as_ref().map(known_names).unwrap_or_default();
    ctx.out.emit(&raw, || session_details(&session, &wallet, &names, now_unix()))
}

async fn exec(ctx: &Ctx, path: &Path, specs: &[String]) -> anyhow::Result<()> {
    let session = NamedKey::session(path)?;
    let client = ctx.client()?;
    let task = |what: &str| {
        format!("executing {what} with session {}", short_hex(&session.file.public_key))
    };
    let (what, (raw, transaction)) = if session.file.is_evm() {
        let parsed =
            specs.iter().map(|s| evm::parse_call(s)).collect::<anyhow::Result<Vec<_>>>()?;
        evm::wallet_of(&session)?;
        let what = match parsed.as_slice() {
            [(_, name)] => name.clone(),
            many => format!("{} calls", many.len()),
        };
        let calls: Vec<_> = parsed.into_iter().map(|(call, _)| call).collect();
        let body = evm::prepare_body(&calls, &session.file.public_key);
        let path = format!("/api/wallets/{}/prepare", segment(&session.file.account));
        let prepared = client.post(&path, Some(&body)).await?;
        let expected = evm::Expected::Calls(calls);
        let task = task(&what);
        (what, evm::sign_and_execute(ctx, &client, &prepared, &session, &expected, task).await?)
    } else {
        let calls = specs.iter().map(|s| CallSpec::parse(s)).collect::<anyhow::Result<Vec<_>>>()?;
        let wallet = session.account()?;
        let body = json!({"calls": calls.iter().map(CallSpec::to_json).collect::<Vec<_>>()});
        let prepared =
            client.post(&format!("{}/prepare", wallet_path(wallet)), Some(&body)).await?;
        let expected: Vec<_> = calls.iter().map(CallSpec::call).collect();
        let what = match calls.as_slice() {
            [one] => one.entrypoint.clone(),
            many => format!("{} calls", many.len()),
        };
        let task = task(&what);
        (what, sign_and_execute(ctx, &client, wallet, &prepared, &session, &expected, task).await?)
    };
    conclude(
        ctx,
        &raw,
        &transaction,
        &format!(
            "Executed {what} as wallet {} with session {}.",
            session.file.account, session.file.public_key
        ),
    )
}

async fn revoke(ctx: &Ctx, which: &WhichSession, owner_path: &Path) -> anyhow::Result<()> {
    let (wallet, key, _) = which.resolve()?;
    let owner = NamedKey::owner(owner_path)?;
    if !same_address(&owner.file.account, &wallet) {
        anyhow::bail!("{} owns wallet {}, not {wallet}", owner_path.display(), owner.file.account);
    }
    let client = ctx.client()?;
    let path = format!("/api/wallets/{}/sessions/{}/revoke", segment(&wallet), segment(&key));
    let prepared = client.post(&path, None).await?;
    let task = format!("revoking session {}", short_hex(&key));
    let (raw, transaction) = if owner.file.is_evm() {
        let key = latchkey_evm::parse_address(&key)
            .map_err(|r| anyhow::anyhow!("the session key: {}", r.message))?;
        let change = AccountChange::RevokeSession(latchkey_evm::address_text(key));
        let expected = evm::Expected::Change(change);
        evm::sign_and_execute(ctx, &client, &prepared, &owner, &expected, task).await?
    } else {
        let wallet = owner.account()?;
        let expected = [account_calls::revoke_session_key(wallet, parse_felt(&key)?)];
        sign_and_execute(ctx, &client, wallet, &prepared, &owner, &expected, task).await?
    };
    conclude(ctx, &raw, &transaction, &format!("Session {key} revoked."))
}

async fn revoke_all(ctx: &Ctx, owner_path: &Path) -> anyhow::Result<()> {
    let owner = NamedKey::owner(owner_path)?;
    let wallet = owner.account()?;
    let client = ctx.client()?;
    let path = format!("/api/wallets/{}/sessions/revoke-all", segment(&owner.file.account));
    let prepared = client.post(&path, None).await?;
    let task = format!("revoking every session of {}", short_hex(&owner.file.account));
    let (raw, transaction) = if owner.file.is_evm() {
        let expected = evm::Expected::Change(AccountChange::RevokeAllSessions);
        evm::sign_and_execute(ctx, &client, &prepared, &owner, &expected, task).await?
    } else {
        let expected = [account_calls::revoke_all_sessions(wallet)];
        sign_and_execute(ctx, &client, wallet, &prepared, &owner, &expected, task).await?
    };
    conclude(
        ctx,
        &raw,
        &transaction,
        &format!("Every session of wallet {} revoked.", owner.file.account),
    )
}

async fn list(ctx: &Ctx, wallet: Option<&str>, key_file: Option<&Path>) -> anyhow::Result<()> {
    let (wallet, names) = match (wallet, key_file) {
        (Some(wallet), _) => (wallet_text(wallet)?, HashMap::new()),
        (None, Some(path)) => {
            let key = NamedKey::read(path)?;
            key.account()?;
            (key.file.account.clone(), known_names(&key))
        }
        (None, None) => anyhow::bail!("name the wallet: --wallet ADDRESS or --key-file FILE"),
    };
    let client = ctx.client()?;
    let raw = client.get(&format!("/api/wallets/{}/sessions", segment(&wallet))).await?;
    let sessions: Vec<Session> = decode(&raw, "session list")?;
    ctx.out.emit(&raw, || session_table(&sessions, &names))
}

fn wallet_path(wallet: Felt) -> String {
    format!("/api/wallets/{}", segment(&to_hex(&wallet)))
}

/// Entrypoint names by selector, from a session key file's terms.
fn known_names(key: &NamedKey) -> HashMap<String, String> {
    let terms = key.file.policy.iter();
    let starknet = terms
        .clone()
        .flat_map(|terms| &terms.allowed_methods)
        .map(|m| (to_hex(&selector(&m.entrypoint)), m.entrypoint.clone()));
    let evm = terms.flat_map(|terms| &terms.evm_methods).filter_map(|m| {
        let selector = parse_felt(&evm::selector_text(&m.entrypoint)).ok()?;
        Some((to_hex(&selector), m.entrypoint.clone()))
    });
    starknet.chain(evm).collect()
}

/// An address written as an EVM address (`0x` and 40 hex digits), as given.
fn evm_text(text: &str) -> Option<String> {
    evm::is_evm_address(text).then(|| text.to_string())
}

/// A wallet address from the command line as the API reads it: an EVM address as given,
/// a Starknet address in canonical hex.
fn wallet_text(text: &str) -> anyhow::Result<String> {
    match evm_text(text) {
        Some(address) => Ok(address),
        None => Ok(to_hex(&wallet_address(text)?)),
    }
}

/// Whether two address texts name the same address (EVM spellings differ in case).
fn same_address(a: &str, b: &str) -> bool {
    match (parse_felt(a), parse_felt(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// An EVM session key file's terms from the command line's request.
fn evm_session<'a>(
    request: &'a SessionRequest<'a>,
    chain: String,
) -> anyhow::Result<evm::NewSession<'a>> {
    let account = latchkey_evm::parse_address(request.account)
        .map_err(|r| anyhow::anyhow!("--wallet {:?}: {}", request.account, r.message))?;
    let seconds = request.check_terms(now_unix())?;
    Ok(evm::NewSession {
        chain,
        account,
        seconds,
        valid_after: request.valid_after,
        max_calls: request.max_calls,
        allow: request.allow,
        allow_all: request.allow_all,
    })
}

fn valid_after_text(valid_after: u64, now: u64) -> String {
    if valid_after == 0 {
        "at registration".into()
    } else {
        utc_relative(valid_after, now)
    }
}

fn method_text(method: &Method, names: &HashMap<String, String>) -> String {
    let name = parse_felt(&method.selector)
        .ok()
        .and_then(|s| names.get(&to_hex(&s)).cloned())
        .unwrap_or_else(|| format!("selector {}", short_hex(&method.selector)));
    let contract = match parse_felt(&method.contract) {
        Ok(c) if c == Felt::ZERO => "any contract".to_string(),
        _ => short_hex(&method.contract),
    };
    format!("{name} on {contract}")
}

fn session_details(
    session: &Session,
    wallet: &str,
    names: &HashMap<String, String>,
    now: u64,
) -> String {
    let allowed = if session.allow_all {
        "every method of every contract".to_string()
    } else if session.allowed_methods.is_empty() {
        "-".to_string()
    } else {
        session.allowed_methods.iter().map(|m| method_text(m, names)).collect::<Vec<_>>().join("\n")
    };
    let caps = if session.spending_caps.is_empty() {
        "none".to_string()
    } else {
        session
            .spending_caps
            .iter()
            .map(|c| {
                format!(
                    "{}: {} per call, {} per {} ({} spent)",
                    short_hex(&c.token),
                    c.max_per_call,
                    c.max_per_window,
                    duration(c.window_seconds),
                    c.spent_in_window
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    details(&[
        ("Session", session.session_public_key.clone()),
        ("Wallet", wallet.to_string()),
        ("State", session.state.clone()),
        ("Valid after", valid_after_text(session.valid_after, now)),
        ("Valid until", utc_relative(session.valid_until, now)),
        (
            "Calls",
            format!(
                "{} of {} used, {} remaining",
                session.calls_used, session.max_calls, session.remaining_calls
            ),
        ),
        ("Allowed", allowed),
        ("Spending caps", caps),
    ])
}

fn session_table(sessions: &[Session], names: &HashMap<String, String>) -> String {
    if sessions.is_empty() {
        return "No sessions.\n".into();
    }
    let mut table = Table::new(&["SESSION", "STATE", "CALLS", "VALID UNTIL", "ALLOWED"]);
    for session in sessions {
        let allowed = match (session.allow_all, session.allowed_methods.as_slice()) {
            (true, _) => "everything".to_string(),
            (false, [one]) => method_text(one, names),
            (false, many) => format!("{} methods", many.len()),
        };
        table.row(vec![
            short_hex(&session.session_public_key),
            session.state.clone(),
            format!("{}/{}", session.calls_used, session.max_calls),
            utc(session.valid_until),
            allowed,
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const GAME: &str = "0x7a40dec7e18c0dfc5bb15415917032e5c856ac72c8b34019d8d58a4ffb494f0";

    fn session(state: &str, used: u32) -> Session {
        serde_json::from_value(json!({
            "sessionPublicKey": "0x3b1f2e4d5c6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e",
            "state": state,
            "isActive": state == "active",
            "validAfter": 0,
            "validUntil": 1_763_709_125u64,
            "maxCalls": 10,
            "callsUsed": used,
            "remainingCalls": 10 - used,
            "allowAll": false,
            "allowedMethods": [{"contract": GAME, "selector": to_hex(&selector("make_move"))}],
            "spendingCaps": [],
        }))
        .unwrap()
    }

    #[test]
    fn session_tables_are_aligned_and_short() {
        let names = HashMap::from([(to_hex(&selector("make_move")), "make_move".to_string())]);
        let text = session_table(&[session("active", 2), session("revoked", 10)], &names);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "SESSION        STATE    CALLS  VALID UNTIL              ALLOWED");
        assert_eq!(
            lines[1],
            "0x3b1f2e…5d6e  active   2/10   2025-11-21 07:12:05 UTC  make_move on 0x7a40de…94f0"
        );
        assert_eq!(
            lines[2],
            "0x3b1f2e…5d6e  revoked  10/10  2025-11-21 07:12:05 UTC  make_move on 0x7a40de…94f0"
        );
        assert_eq!(session_table(&[], &names), "No sessions.\n");
    }

    #[test]
    fn session_details_name_methods_when_they_can() {
        let now = 1_763_705_525;
        let text = session_details(&session("active", 2), "0x99", &HashMap::new(), now);
        assert!(text.contains("State          active"), "{text}");
        assert!(text.contains("2 of 10 used, 8 remaining"), "{text}");
        assert!(text.contains("Valid until    2025-11-21 07:12:05 UTC (in 1h 0m)"), "{text}");
        assert!(text.contains("selector 0x"), "unknown names show the selector: {text}");
        let names = HashMap::from([(to_hex(&selector("make_move")), "make_move".to_string())]);
        let text = session_details(&session("active", 2), "0x99", &names, now);
        assert!(text.contains("make_move on 0x7a40de…94f0"), "{text}");
    }
}
