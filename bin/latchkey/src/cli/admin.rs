//! `latchkey admin …`: the operator's commands, over the admin API (`/api/admin/…`) with
//! the operator token from `LATCHKEY_OPERATOR_TOKEN`: organisations, their keys, budgets
//! (with alert thresholds) and settings (allowed origins, token issuer, registered tokens,
//! sponsorship policy), the audit log, the operator token. Each prints a short text, or
//! with `--json` the API's answer as one JSON document.

use reqwest::Method;
use serde_json::{json, Value};

use super::render::{details, utc, Table};
use super::Output;
use crate::client::{segment, Client, URL_ENV};

/// `latchkey admin …`.
#[derive(Debug, clap::Args)]
pub(crate) struct AdminArgs {
    /// The latchkey server.
    #[arg(long, env = URL_ENV, default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// Print one JSON document on standard output instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Organisations: list, create, show, rename, suspend, reinstate.
    #[command(subcommand)]
    Org(OrgCommand),
    /// An organisation's API keys: list, issue, rotate, revoke.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// An organisation's gas budgets: list, set (a cap), top up, alert threshold.
    #[command(subcommand)]
    Budget(BudgetCommand),
    /// An organisation's allowed browser origins: list, set.
    #[command(subcommand)]
    Origins(OriginsCommand),
    /// The issuer of an organisation's end-user tokens (JWTs): show, set, remove.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// The tokens an organisation names by symbol (beside each chain's own): list, set.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// An organisation's sponsorship policy and quotas: show, set.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The audit log: every admin change, oldest first.
    Audit {
        /// Only the records about this target (`organization:<id>`, `api_key:<id>`).
        #[arg(long)]
        target: Option<String>,
        /// Records after this position (`seq`).
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// The operator token: rotate it (the new one is printed once).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, clap::Subcommand)]
enum OrgCommand {
    /// List the organisations.
    List {
        /// At most this many (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Create an organisation (with no keys: issue them next).
    Create {
        /// Its name.
        name: String,
    },
    /// Show one.
    Show { id: String },
    /// Rename one.
    Rename { id: String, name: String },
    /// Suspend one: its API calls are refused until it is reinstated.
    Suspend { id: String },
    /// Reinstate a suspended one.
    Reinstate { id: String },
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// List an organisation's keys (by prefix; never the keys).
    List { org: String },
    /// Issue a key pair; the secret key is printed this once.
    Issue {
        org: String,
        /// `dev` (pk_dev_/sk_dev_) or `prod` (pk_prod_/sk_prod_), the Chipi SDK's formats;
        /// `test` (pk_test_/sk_test_) or `live` (pk_live_/sk_live_), the Openfort SDK's.
        #[arg(long, default_value = "dev")]
        environment: String,
    },
    /// Replace a key with a new one of the same kind, printed once; the old one keeps
    /// working for the overlap.
    Rotate {
        org: String,
        key_id: String,
        /// Seconds the old key keeps working (at most 30 days).
        #[arg(long, default_value_t = 0)]
        overlap: u64,
    },
    /// Revoke a key now.
    Revoke { org: String, key_id: String },
}

#[derive(Debug, clap::Subcommand)]
enum BudgetCommand {
    /// List an organisation's gas budgets.
    List { org: String },
    /// Set an organisation's budget on a chain to AMOUNT (in its fee unit: FRI, wei).
    Set {
        org: String,
        /// The chain (CAIP-2 id, e.g. starknet:SN_SEPOLIA).
        #[arg(long)]
        chain: String,
        amount: String,
    },
    /// Add AMOUNT (in the chain's fee unit) to an organisation's budget on a chain.
    TopUp {
        org: String,
        /// The chain (CAIP-2 id).
        #[arg(long)]
        chain: String,
        amount: String,
    },
    /// Alert when an organisation's budget on a chain has less than THRESHOLD left (in the
    /// chain's fee unit): shown in budget listings and exported on /metrics.
    Alert {
        org: String,
        /// The chain (CAIP-2 id).
        #[arg(long)]
        chain: String,
        /// The threshold, in the chain's fee unit (FRI, wei).
        #[arg(required_unless_present = "clear")]
        threshold: Option<String>,
        /// Remove the threshold instead.
        #[arg(long, conflicts_with = "threshold")]
        clear: bool,
    },
}

#[derive(Debug, clap::Subcommand)]
enum OriginsCommand {
    /// List the browser origins allowed to call with an organisation's keys.
    List { org: String },
    /// Replace them with ORIGIN… (`https://app.example`, `http://localhost:3000`); none
    /// allows no browser origin.
    Set { org: String, origins: Vec<String> },
}

#[derive(Debug, clap::Subcommand)]
enum IssuerCommand {
    /// Show an organisation's end-user token issuer.
    Show { org: String },
    /// Accept end-user tokens with exactly this issuer and audience, signed by a key of
    /// the JWKS at --jwks-url.
    Set {
        org: String,
        /// The issuer's JWKS address (https).
        #[arg(long)]
        jwks_url: String,
        /// The exact `iss` claim.
        #[arg(long)]
        issuer: String,
        /// The `aud` claim tokens must name (no other organisation's with this issuer).
        #[arg(long)]
        audience: String,
    },
    /// Remove it: the organisation's end-user tokens are refused from now on.
    Remove { org: String },
}

#[derive(Debug, clap::Subcommand)]
enum TokensCommand {
    /// List the tokens an organisation registered.
    List { org: String },
    /// Replace them with the --token ones; none removes them all.
    Set {
        org: String,
        /// CHAIN,SYMBOL,ADDRESS,DECIMALS (e.g. starknet:SN_SEPOLIA,USDC,0x53c9…,6); repeat
        /// for several.
        #[arg(long = "token", value_parser = parse_token)]
        tokens: Vec<Value>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum PolicyCommand {
    /// Show an organisation's sponsorship policy (the default when none is set).
    Show { org: String },
    /// Replace it with the JSON document in FILE (`-`: standard input), as
    /// `PUT /api/sponsorship/policy` takes it.
    Set {
        org: String,
        /// The policy document (JSON).
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

/// A `--token` of `tokens set`: `CHAIN,SYMBOL,ADDRESS,DECIMALS`, as the API's document.
fn parse_token(text: &str) -> Result<Value, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [chain, symbol, address, decimals] = parts[..] else {
        return Err("a token is CHAIN,SYMBOL,ADDRESS,DECIMALS".into());
    };
    let decimals: u8 =
        decimals.parse().map_err(|_| format!("decimals {decimals:?} is not a number 0 to 36"))?;
    Ok(json!({ "chain": chain, "symbol": symbol, "address": address, "decimals": decimals }))
}

/// The JSON document in `path` (`-`: standard input).
fn read_document(path: &std::path::Path) -> anyhow::Result<Value> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
    };
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a JSON document: {e}", path.display()))
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Make a new operator token (printed once); the others keep working for the overlap.
    Rotate {
        /// Seconds the other tokens keep working (at most 30 days).
        #[arg(long, default_value_t = 0)]
        overlap: u64,
    },
}

/// Runs `latchkey admin …`.
pub(crate) async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let out = Output::new(args.json);
    let result = run_command(&args, &out).await;
    out.fail(result)
}

async fn run_command(args: &AdminArgs, out: &Output) -> anyhow::Result<()> {
    let client = Client::operator(&args.url)?;
    let org_path = |id: &str| format!("/api/admin/organizations/{}", segment(id));
    let (answer, text): (Value, fn(&Value) -> String) = match &args.command {
        AdminCommand::Org(command) => match command {
            OrgCommand::List { limit, offset } => (
                client
                    .get(&format!("/api/admin/organizations?limit={limit}&offset={offset}"))
                    .await?,
                |v| org_table(&v["organizations"]),
            ),
            OrgCommand::Create { name } => (
                client.post("/api/admin/organizations", Some(&json!({ "name": name }))).await?,
                org_details,
            ),
            OrgCommand::Show { id } => (client.get(&org_path(id)).await?, org_details),
            OrgCommand::Rename { id, name } => (
                client.send(Method::PATCH, &org_path(id), Some(&json!({ "name": name }))).await?,
                org_details,
            ),
            OrgCommand::Suspend { id } => (
                client
                    .send(Method::PATCH, &org_path(id), Some(&json!({ "suspended": true })))
                    .await?,
                org_details,
            ),
            OrgCommand::Reinstate { id } => (
                client
                    .send(Method::PATCH, &org_path(id), Some(&json!({ "suspended": false })))
                    .await?,
                org_details,
            ),
        },
        AdminCommand::Keys(command) => match command {
            KeysCommand::List { org } => {
                (client.get(&format!("{}/api-keys", org_path(org))).await?, |v| {
                    key_table(&v["apiKeys"])
                })
            }
            KeysCommand::Issue { org, environment } => (
                client
                    .post(
                        &format!("{}/api-keys", org_path(org)),
                        Some(&json!({ "environment": environment })),
                    )
                    .await?,
                |v| {
                    details(&[
                        ("Public key", str_of(&v["publicKey"])),
                        ("Secret key", str_of(&v["secretKey"])),
                        ("", "The secret key is shown this once: hand it to the app now.".into()),
                    ])
                },
            ),
            KeysCommand::Rotate { org, key_id, overlap } => (
                client
                    .post(
                        &format!("{}/api-keys/{}/rotate", org_path(org), segment(key_id)),
                        Some(&json!({ "overlapSeconds": overlap })),
                    )
                    .await?,
                |v| {
                    details(&[
                        ("New key", str_of(&v["key"])),
                        ("Key id", str_of(&v["apiKey"]["id"])),
                        ("Old key works until", time_of(&v["replaced"]["expiresAt"])),
                    ])
                },
            ),
            KeysCommand::Revoke { org, key_id } => (
                client
                    .send(
                        Method::DELETE,
                        &format!("{}/api-keys/{}", org_path(org), segment(key_id)),
                        None,
                    )
                    .await?,
                |v| format!("Revoked {} ({})\n", str_of(&v["prefix"]), str_of(&v["id"])),
            ),
        },
        AdminCommand::Budget(command) => match command {
            BudgetCommand::List { org } => {
                (client.get(&format!("{}/gas-budgets", org_path(org))).await?, |v| {
                    budget_table(&v["gasBudgets"])
                })
            }
            BudgetCommand::Set { org, chain, amount } => (
                client
                    .send(
                        Method::PUT,
                        &format!("{}/gas-budgets", org_path(org)),
                        Some(&json!({ "chain": chain, "amount": amount })),
                    )
                    .await?,
                |v| budget_table(&json!([v])),
            ),
            BudgetCommand::Alert { org, chain, threshold, clear } => (
                client
                    .send(
                        Method::PUT,
                        &format!("{}/gas-budgets/alert-threshold", org_path(org)),
                        Some(&json!({
                            "chain": chain,
                            "alertThreshold": if *clear { None } else { threshold.clone() },
                        })),
                    )
                    .await?,
                |v| budget_table(&json!([v])),
            ),
            BudgetCommand::TopUp { org, chain, amount } => (
                client
                    .post(
                        &format!("{}/gas-budgets/top-up", org_path(org)),
                        Some(&json!({ "chain": chain, "amount": amount })),
                    )
                    .await?,
                |v| budget_table(&json!([v])),
            ),
        },
        AdminCommand::Origins(command) => {
            let path = |org: &str| format!("{}/allowed-origins", org_path(org));
            let answer = match command {
                OriginsCommand::List { org } => client.get(&path(org)).await?,
                OriginsCommand::Set { org, origins } => {
                    let body = json!({ "origins": origins });
                    client.send(Method::PUT, &path(org), Some(&body)).await?
                }
            };
            (answer, |v| list_of("Allowed origins", &v["origins"]))
        }
        AdminCommand::Issuer(command) => match command {
            IssuerCommand::Show { org } => {
                (client.get(&format!("{}/token-issuer", org_path(org))).await?, issuer_details)
            }
            IssuerCommand::Set { org, jwks_url, issuer, audience } => (
                client
                    .send(
                        Method::PUT,
                        &format!("{}/token-issuer", org_path(org)),
                        Some(
                            &json!({ "jwksUrl": jwks_url, "issuer": issuer, "audience": audience }),
                        ),
                    )
                    .await?,
                issuer_details,
            ),
            IssuerCommand::Remove { org } => (
                client
                    .send(Method::DELETE, &format!("{}/token-issuer", org_path(org)), None)
                    .await?,
                |_| "Token issuer removed: end-user tokens are refused.\n".into(),
            ),
        },
        AdminCommand::Tokens(command) => {
            let path = |org: &str| format!("{}/tokens", org_path(org));
            let answer = match command {
                TokensCommand::List { org } => client.get(&path(org)).await?,
                TokensCommand::Set { org, tokens } => {
                    let body = json!({ "tokens": tokens });
                    client.send(Method::PUT, &path(org), Some(&body)).await?
                }
            };
            (answer, |v| token_table(&v["tokens"]))
        }
        AdminCommand::Policy(command) => {
            let path = |org: &str| format!("{}/sponsorship-policy", org_path(org));
            let answer = match command {
                PolicyCommand::Show { org } => client.get(&path(org)).await?,
                PolicyCommand::Set { org, file } => {
                    let body = read_document(file)?;
                    client.send(Method::PUT, &path(org), Some(&body)).await?
                }
            };
            (answer, |v| {
                serde_json::to_string_pretty(v).map(|text| text + "\n").unwrap_or_default()
            })
        }
        AdminCommand::Audit { target, after, limit } => {
            let mut path = format!("/api/admin/audit?after={after}&limit={limit}");
            if let Some(target) = target {
                path.push_str(&format!("&target={}", segment(target)));
            }
            (client.get(&path).await?, |v| audit_table(&v["records"]))
        }
        AdminCommand::Token(TokenCommand::Rotate { overlap }) => (
            client
                .post(
                    "/api/admin/operator-token/rotate",
                    Some(&json!({ "overlapSeconds": overlap })),
                )
                .await?,
            |v| {
                details(&[
                    ("Operator token", str_of(&v["token"])),
                    ("Others work until", time_of(&v["othersExpireAt"])),
                    (
                        "",
                        "The token is shown this once: set LATCHKEY_OPERATOR_TOKEN to it now."
                            .into(),
                    ),
                ])
            },
        ),
    };
    out.emit(&answer, || text(&answer))
}

fn str_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn time_of(value: &Value) -> String {
    value.as_u64().map_or_else(|| "-".into(), utc)
}

fn org_details(v: &Value) -> String {
    details(&[
        ("Organisation", str_of(&v["id"])),
        ("Name", str_of(&v["name"])),
        ("Created", time_of(&v["createdAt"])),
        (
            "Suspended",
            if v["suspended"] == true { time_of(&v["suspendedAt"]) } else { "no".into() },
        ),
    ])
}

fn rows(list: &Value) -> impl Iterator<Item = &Value> {
    list.as_array().into_iter().flatten()
}

fn org_table(list: &Value) -> String {
    let mut table = Table::new(&["ID", "NAME", "CREATED", "SUSPENDED"]);
    for org in rows(list) {
        table.row(vec![
            str_of(&org["id"]),
            str_of(&org["name"]),
            time_of(&org["createdAt"]),
            if org["suspended"] == true { "yes".into() } else { "no".into() },
        ]);
    }
    table.render()
}

fn key_table(list: &Value) -> String {
    let mut table = Table::new(&["ID", "KIND", "PREFIX", "ACTIVE", "EXPIRES", "REVOKED"]);
    for key in rows(list) {
        table.row(vec![
            str_of(&key["id"]),
            str_of(&key["kind"]),
            str_of(&key["prefix"]),
            if key["active"] == true { "yes".into() } else { "no".into() },
            time_of(&key["expiresAt"]),
            time_of(&key["revokedAt"]),
        ]);
    }
    table.render()
}

fn budget_table(list: &Value) -> String {
    let mut table = Table::new(&[
        "CHAIN",
        "UNIT",
        "BUDGET",
        "SPENT",
        "RESERVED",
        "REMAINING",
        "ALERT BELOW",
        "ALERTING",
    ]);
    for budget in rows(list) {
        let mut row: Vec<String> =
            ["chain", "unit", "budget", "spent", "reserved", "remaining", "alertThreshold"]
                .iter()
                .map(|field| str_of(&budget[*field]))
                .collect();
        row.push(if budget["alerting"] == true { "yes".into() } else { "no".into() });
        table.row(row);
    }
    table.render()
}

/// `label` and one item of `list` per line (`none` when it is empty).
fn list_of(label: &str, list: &Value) -> String {
    let items: Vec<String> = rows(list).map(str_of).collect();
    let shown = if items.is_empty() { "none".into() } else { items.join("\n") };
    details(&[(label, shown)])
}

fn issuer_details(v: &Value) -> String {
    if v.is_null() {
        return "No token issuer: end-user tokens are refused.\n".into();
    }
    details(&[
        ("JWKS", str_of(&v["jwksUrl"])),
        ("Issuer", str_of(&v["issuer"])),
        ("Audience", str_of(&v["audience"])),
    ])
}

fn token_table(list: &Value) -> String {
    let mut table = Table::new(&["CHAIN", "SYMBOL", "ADDRESS", "DECIMALS"]);
    for token in rows(list) {
        table.row(
            ["chain", "symbol", "address", "decimals"]
                .iter()
                .map(|field| str_of(&token[*field]))
                .collect(),
        );
    }
    table.render()
}

fn audit_table(list: &Value) -> String {
    let mut table = Table::new(&["SEQ", "AT", "ACTOR", "ACTION", "TARGET"]);
    for record in rows(list) {
        table.row(vec![
            str_of(&record["seq"]),
            time_of(&record["at"]),
            str_of(&record["actor"]),
            str_of(&record["action"]),
            str_of(&record["target"]),
        ]);
    }
    table.render()
}
