//! The path every write takes: the API prepares typed data, the CLI checks that it holds
//! exactly the calls it asked for, signs it with a key file (after the PIN), submits it
//! to `execute`, and follows the transaction to a final state on `GET /api/transactions/{id}`.

use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey_core::{to_hex, Call, Felt, OutsideExecution, TypedData};
use serde::Deserialize;
use serde_json::{json, Value};

use super::exit::TransactionFailed;
use super::progress::Progress;
use super::render::{details, iso_time};
use super::{Ctx, NamedKey};
use crate::client::{decode, segment, Client, ServerUnavailable};
use crate::keyfile::{now_unix, unlock, PinCheck};
use crate::pin::PinServer;

/// How often a pending transaction is looked at.
const POLL: Duration = Duration::from_millis(250);

/// A prepared execution, as the API answers `prepare`, `sessions`, `revoke`, `revoke-all`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Prepared {
    typed_data: Value,
}

/// The answer of `execute`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Executed {
    request_id: String,
    transaction_hash: String,
    status: String,
}

/// A transaction as `GET /api/transactions/{id}` shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Transaction {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) transaction_hash: Option<String>,
    #[serde(default)]
    pub(super) error_code: Option<String>,
    #[serde(default)]
    pub(super) error_message: Option<String>,
    #[serde(default)]
    pub(super) fee: Option<String>,
    #[serde(default)]
    pub(super) fee_unit: Option<String>,
    #[serde(default)]
    pub(super) updated_at: Option<String>,
}

impl Transaction {
    fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "reverted" | "rejected" | "expired")
    }
}

/// Checks, signs and submits `prepared` (the API's answer) for `wallet` with `key`, then
/// waits for the transaction's final state, showing `task` and its states on standard
/// error. Returns the final transaction (the API's object and its reading).
pub(super) async fn sign_and_execute(
    ctx: &Ctx,
    client: &Client,
    wallet: Felt,
    prepared: &Value,
    key: &NamedKey,
    expected: &[Call],
    task: String,
) -> anyhow::Result<(Value, Transaction)> {
    let prepared: Prepared = decode(prepared, "prepared execution")?;
    let typed: TypedData = decode(&prepared.typed_data, "typed data to sign")?;
    let (execution, _chain) = OutsideExecution::from_typed_data(&typed).map_err(|e| {
        ServerUnavailable::new(format!(
            "the server prepared something that is not an outside execution: {e}"
        ))
    })?;
    check_calls(&execution.calls, expected)?;
    if key.account()? != wallet {
        anyhow::bail!(
            "{} signs for wallet {}, not {}",
            key.path.display(),
            key.file.account,
            to_hex(&wallet)
        );
    }
    let mut file = key.file.clone();
    let unlocked = unlock(&key.path, &mut file, PinCheck::Server(PinServer::new(client))).await?;
    let signature = file
        .sign_with(&unlocked, &typed, now_unix())
        .with_context(|| format!("cannot sign with {}", key.path.display()))?;
    drop(unlocked);
    let body = json!({"typedData": prepared.typed_data, "signature": signature});
    let path = format!("/api/wallets/{}/execute", segment(&to_hex(&wallet)));
    follow_execution(ctx, client, &path, &body, task).await
}

/// Submits a signed execution (`body` to the wallet's `execute` route, `path`), then
/// waits for the transaction's final state, showing `task` and its states.
pub(super) async fn follow_execution(
    ctx: &Ctx,
    client: &Client,
    path: &str,
    body: &Value,
    task: String,
) -> anyhow::Result<(Value, Transaction)> {
    let mut progress = Progress::start(task);
    progress.state("submitting", None);
    let executed = match client.post(path, Some(body)).await {
        Ok(value) => value,
        Err(error) => {
            progress.abandon();
            return Err(error);
        }
    };
    let executed: Executed = decode(&executed, "execution")?;
    progress.state(&executed.status, Some(&executed.transaction_hash));
    follow(client, &executed.request_id, progress, ctx.timeout()).await
}

/// Refuses to sign calls other than the ones asked for.
fn check_calls(prepared: &[Call], expected: &[Call]) -> anyhow::Result<()> {
    if prepared != expected {
        return Err(ServerUnavailable::new(format!(
            "the server prepared {} call(s) other than the {} asked for; nothing was signed",
            prepared.len(),
            expected.len()
        ))
        .into());
    }
    Ok(())
}

/// Polls the transaction until it is final or `timeout` has passed.
async fn follow(
    client: &Client,
    id: &str,
    mut progress: Progress,
    timeout: Duration,
) -> anyhow::Result<(Value, Transaction)> {
    let deadline = Instant::now() + timeout;
    let path = format!("/api/transactions/{}", segment(id));
    let mut last_status = String::from("submitted");
    loop {
        match client.get(&path).await {
            Ok(raw) => {
                let transaction: Transaction = match decode(&raw, "transaction") {
                    Ok(t) => t,
                    Err(error) => {
                        progress.abandon();
                        return Err(error);
                    }
                };
                progress.state(&transaction.status, transaction.transaction_hash.as_deref());
                if transaction.is_final() {
                    progress.finish();
                    return Ok((raw, transaction));
                }
                last_status = transaction.status;
            }
            // A server that is briefly away (a restart) is waited for, up to the deadline.
            Err(error) if error.is::<ServerUnavailable>() && Instant::now() < deadline => {}
            Err(error) => {
                progress.abandon();
                return Err(error);
            }
        }
        if Instant::now() >= deadline {
            progress.abandon();
            return Err(ServerUnavailable::new(format!(
                "the transaction was still {last_status} after {}s; it may yet complete: \
                 see GET {}/api/transactions/{id}",
                timeout.as_secs(),
                client.base()
            ))
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Prints a final transaction (`headline` first when it succeeded) and turns a failed
/// one into an error (exit code 5).
pub(super) fn conclude(
    ctx: &Ctx,
    raw: &Value,
    transaction: &Transaction,
    headline: &str,
) -> anyhow::Result<()> {
    let succeeded = transaction.status == "succeeded";
    ctx.out.emit(raw, || {
        let mut pairs = vec![
            ("Status", transaction.status.clone()),
            ("Transaction", transaction.transaction_hash.clone().unwrap_or_else(|| "-".into())),
            ("Request", transaction.id.clone()),
        ];
        if let Some(fee) = &transaction.fee {
            let unit = transaction.fee_unit.as_deref().unwrap_or("FRI");
            pairs.push(("Fee", format!("{fee} {unit} (paid by the relayer)")));
        }
        if let Some(at) = &transaction.updated_at {
            pairs.push(("Final at", iso_time(at)));
        }
        if !succeeded {
            let reason = match (&transaction.error_code, &transaction.error_message) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(reason), None) | (None, Some(reason)) => reason.clone(),
                (None, None) => "-".into(),
            };
            pairs.push(("Reason", reason));
        }
        let body = details(&pairs);
        if succeeded {
            format!("{headline}\n{body}")
        } else {
            body
        }
    })?;
    if succeeded {
        return Ok(());
    }
    Err(TransactionFailed {
        id: transaction.id.clone(),
        status: transaction.status.clone(),
        transaction_hash: transaction.transaction_hash.clone(),
        error_code: transaction.error_code.clone(),
        error_message: transaction.error_message.clone(),
    }
    .into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn only_the_calls_asked_for_are_signed() {
        let ask = vec![Call::new(Felt::from(9u8), "make_move", vec![Felt::from(7u8)])];
        assert!(check_calls(&ask, &ask).is_ok());
        let other = vec![Call::new(Felt::from(9u8), "make_move", vec![Felt::from(8u8)])];
        let err = check_calls(&other, &ask).unwrap_err();
        assert!(err.is::<ServerUnavailable>(), "{err}");
        let more = vec![ask[0].clone(), ask[0].clone()];
        assert!(check_calls(&more, &ask).is_err());
    }

    #[test]
    fn final_states_are_the_four_terminal_ones() {
        let at = |status: &str| Transaction {
            id: "r".into(),
            status: status.into(),
            transaction_hash: None,
            error_code: None,
            error_message: None,
            fee: None,
            fee_unit: None,
            updated_at: None,
        };
        for status in ["succeeded", "reverted", "rejected", "expired"] {
            assert!(at(status).is_final(), "{status}");
        }
        for status in ["prepared", "recorded", "submitting", "submitted"] {
            assert!(!at(status).is_final(), "{status}");
        }
    }
}
