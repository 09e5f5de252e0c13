//! PINs checked by the server (`lk2` envelopes).
//!
//! A PIN alone no longer opens a key file: the CLI blinds it, the server evaluates it
//! under the wallet's OPRF key (`POST /api/wallets/{address}/pin/evaluate`, counted as an
//! attempt), and the unblinded output is mixed into the sealing key. Once a key opens, a
//! signature by it over the evaluation's `pin-unlock` challenge
//! (`POST /api/wallets/{address}/pin/confirm`) resets the wallet's attempt counter. The
//! server never sees the PIN, and nothing on this machine or in the server's database lets
//! a PIN be tested without asking the server.

use std::time::Duration;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_core::keystore::oprf::blind_pin;
use latchkey_core::EncryptKey;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::client::{decode, segment, ApiRefusal, Client};
use crate::keyfile::Challenge;

/// How often an evaluation refused by the rate limit is retried, and the first wait.
const RATE_LIMIT_RETRIES: u32 = 4;
const FIRST_RATE_LIMIT_WAIT: Duration = Duration::from_millis(500);

/// The server that checks a wallet's PIN.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PinServer<'a> {
    client: &'a Client,
}

/// A PIN with the server's evaluation mixed in, and what proves its unlock.
pub(crate) struct Evaluation {
    /// The PIN and its OPRF output: what seals and opens `lk2` envelopes.
    pub(crate) pin: EncryptKey,
    /// The `pin-unlock` challenge to sign with the unlocked key.
    pub(crate) challenge: Challenge,
    /// Attempts left before the wallet's PIN unlock locks (this one counted).
    pub(crate) attempts_remaining: i64,
}

impl std::fmt::Debug for Evaluation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluation")
            .field("pin", &self.pin)
            .field("attempts_remaining", &self.attempts_remaining)
            .finish_non_exhaustive()
    }
}

/// The answer of `/pin/evaluate`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Evaluated {
    evaluated_element: String,
    key_id: String,
    attempts_remaining: i64,
    challenge: Value,
}

impl<'a> PinServer<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Has the server evaluate `pin` for the wallet at `account` under its OPRF key
    /// `key_id` (the one an envelope names; `None`: the server's current key). Counts as
    /// one PIN attempt on the server; a rate-limited request is retried a few times.
    pub(crate) async fn evaluate(
        &self,
        account: &str,
        pin: EncryptKey,
        key_id: Option<&str>,
    ) -> anyhow::Result<Evaluation> {
        let text = pin.pin_text().context("only a PIN or passphrase goes through the server")?;
        let (blind, element) = blind_pin(text, &mut rand::rngs::OsRng)?;
        let mut body = json!({"blindedElement": URL_SAFE_NO_PAD.encode(element)});
        if let Some(key_id) = key_id {
            body["keyId"] = json!(key_id);
        }
        let path = format!("/api/wallets/{}/pin/evaluate", segment(account));
        let answer = self.post_patiently(&path, &body).await?;
        let evaluated: Evaluated = decode(&answer, "PIN evaluation")?;
        let bytes = URL_SAFE_NO_PAD
            .decode(&evaluated.evaluated_element)
            .context("the server's PIN evaluation is not base64url")?;
        let output = blind
            .finalize(text, &bytes, &evaluated.key_id)
            .context("the server's PIN evaluation is not a valid OPRF element")?;
        let challenge = Challenge::from_answer(&evaluated.challenge)?;
        Ok(Evaluation {
            pin: pin.with_oprf(output),
            challenge,
            attempts_remaining: evaluated.attempts_remaining,
        })
    }

    /// Proves to the server, with `proof` (a `pin-unlock` proof by the unlocked key: the
    /// wallet's owner key, or the registered session key `session_key`), that the key was
    /// unlocked after the proof's challenge was issued; this resets the wallet's attempt
    /// counter.
    pub(crate) async fn confirm(
        &self,
        account: &str,
        proof: Value,
        session_key: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut body = json!({"proof": proof});
        if let Some(key) = session_key {
            body["publicKey"] = json!(key);
        }
        let path = format!("/api/wallets/{}/pin/confirm", segment(account));
        self.client.post(&path, Some(&body)).await?;
        Ok(())
    }

    /// `POST path`, waiting and retrying while the answer is `429 RATE_LIMITED` (an
    /// evaluation refused by the rate limit is not counted as an attempt).
    async fn post_patiently(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let mut wait = FIRST_RATE_LIMIT_WAIT;
        let mut retries = 0;
        loop {
            match self.client.post(path, Some(body)).await {
                Err(error) if retries < RATE_LIMIT_RETRIES && is_rate_limited(&error) => {
                    retries += 1;
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                other => return other,
            }
        }
    }
}

fn is_rate_limited(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<ApiRefusal>()
        .is_some_and(|refusal| refusal.code == latchkey_core::codes::RATE_LIMITED)
}
