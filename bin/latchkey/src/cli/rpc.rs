//! `latchkey wallet rpc --key-file OWNER`: a local JSON-RPC signer endpoint for an EVM
//! wallet. The owner key is unlocked once (its PIN through the server) and held in
//! memory; wallet permissions (EIP-7715) are granted as latchkey sessions the owner key
//! signs here, and calls (EIP-5792) are sent with them, signed by session keys held here.
//! Any client can point at it: viem's `http(url)` transport, `curl`.
//!
//! Methods: `eth_chainId`, `eth_accounts`, `eth_requestAccounts`, `wallet_grantPermissions`
//! (the 2024 draft, as viem's `erc7715Actions().grantPermissions` sends it),
//! `wallet_requestExecutionPermissions`, `wallet_revokeExecutionPermission`,
//! `wallet_getSupportedExecutionPermissions`, `wallet_getGrantedExecutionPermissions`,
//! `wallet_sendCalls` (with the `permissions` capability), `wallet_getCallsStatus`. The
//! grant rules are the SDK provider's (`sdk/ts/src/eip1193.ts`): what the account enforces
//! (contract calls, a number of calls, an expiry) is granted; anything else is refused
//! unless `required` is false; `expiry` is absolute unix seconds.
//!
//! Requests are handled one at a time, in order: the owner key signs for one account.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use latchkey_core::{codes, AccountChange, SessionGrant, SessionRules};
use latchkey_evm::{address_text, parse_address, EvmCall};
use latchkey_evm_contracts::{Address, EvmSigningKey, SignatureKind, U256};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::evm::{self, EvmMethod, Expected, Signer};
use super::flow::Transaction;
use super::{Ctx, NamedKey};
use crate::client::{segment, ApiRefusal, Client};
use crate::keyfile::{now_unix, unlock, PinCheck};
use crate::pin::PinServer;

/// Longest grant: 30 days.
const MAX_DURATION: u64 = 30 * 86_400;
/// Calls a grant allows when no rate-limit policy says.
const DEFAULT_MAX_CALLS: u32 = 100;

/// A JSON-RPC error: code, message, and latchkey's code in `data.code`.
#[derive(Debug)]
struct RpcError {
    code: i64,
    message: String,
    /// latchkey's code (`data.code`).
    reason: String,
}

impl RpcError {
    fn invalid(message: impl Into<String>) -> Self {
        Self::with(-32602, codes::INVALID_INPUT, message)
    }
    fn with(code: i64, reason: &str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), reason: reason.to_string() }
    }
    fn json(&self, id: &Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": self.code, "message": self.message, "data": {"code": self.reason}}})
    }
}

type RpcResult<T> = Result<T, RpcError>;

/// What the server refused, as a JSON-RPC error (`4100`, its code kept), anything else
/// as an internal error.
fn from_cli(error: &anyhow::Error) -> RpcError {
    match error.downcast_ref::<ApiRefusal>() {
        Some(refusal) => RpcError::with(4100, &refusal.code, format!("{error:#}")),
        None => RpcError::with(-32603, codes::INTERNAL_ERROR, format!("{error:#}")),
    }
}

/// A grant made here.
struct Grant {
    session: Address,
    /// The session key, when this endpoint made it.
    key: Option<EvmSigningKey>,
    expiry: u64,
    permissions: Vec<Value>,
    revoked: bool,
}

/// The endpoint's state: the wallet, its owner key, the grants and the calls sent.
struct Wallet<'a> {
    ctx: &'a Ctx,
    client: Client,
    account: Address,
    chain_id: u64,
    owner: EvmSigningKey,
    grants: HashMap<String, Grant>,
    bundles: HashMap<String, Transaction>,
}

fn object<'v>(value: &'v Value, what: &str) -> RpcResult<&'v serde_json::Map<String, Value>> {
    value.as_object().ok_or_else(|| RpcError::invalid(format!("{what} must be an object")))
}

fn first<'v>(params: &'v Value, method: &str) -> RpcResult<&'v Value> {
    params.as_array().and_then(|a| a.first()).ok_or_else(|| {
        RpcError::invalid(format!("{method}: params must be an array with one element"))
    })
}

fn address_arg(value: Option<&Value>, what: &str) -> RpcResult<Address> {
    value
        .and_then(Value::as_str)
        .and_then(|t| parse_address(t).ok())
        .ok_or_else(|| RpcError::invalid(format!("{what} must be a 20-byte 0x address")))
}

/// Checks an absolute expiry (unix seconds): in the future, within the longest grant.
fn check_expiry(expiry: Option<&Value>, now: u64) -> RpcResult<u64> {
    let expiry = expiry
        .and_then(Value::as_u64)
        .ok_or_else(|| RpcError::invalid("expiry must be an integer (unix seconds)"))?;
    let refuse = |m: String| RpcError::with(-32602, codes::INVALID_EXPIRY, m);
    if expiry > 1_000_000_000_000 {
        return Err(refuse(format!(
            "expiry {expiry} looks like milliseconds; it is an absolute unix time in seconds"
        )));
    }
    if expiry <= now {
        return Err(refuse(format!(
            "expiry {expiry} is not in the future: it is an absolute unix time in seconds (now is {now}), not a duration; pass now + the duration"
        )));
    }
    if expiry - now > MAX_DURATION {
        return Err(refuse(format!(
            "expiry is more than {MAX_DURATION} s away; grants last at most that long"
        )));
    }
    Ok(expiry)
}

/// The methods and number of calls of a grant, and the permissions granted (a permission
/// the account cannot enforce is dropped when `required` is false, else refused).
fn grant_terms(
    permissions: Option<&Value>,
    duration: u64,
) -> RpcResult<(Vec<Value>, Vec<EvmMethod>, u32)> {
    let list = permissions
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| RpcError::invalid("permissions must be a non-empty array"))?;
    let (mut granted, mut methods, mut max_calls) = (Vec::new(), Vec::new(), None::<u32>);
    for (i, raw) in list.iter().enumerate() {
        let p = object(raw, &format!("permissions[{i}]"))?;
        let kind = p.get("type").and_then(Value::as_str).unwrap_or_default();
        let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        let refuse = |why: String| -> RpcResult<()> {
            if required {
                Err(RpcError::with(
                    -32602,
                    codes::PERMISSION_NOT_ENFORCEABLE,
                    format!("permissions[{i}] ({kind}): {why}"),
                ))
            } else {
                Ok(())
            }
        };
        if kind != "contract-call" {
            refuse("the account enforces contract calls only (its session allowlist), not token transfers".into())?;
            continue;
        }
        let data =
            object(p.get("data").unwrap_or(&Value::Null), &format!("permissions[{i}].data"))?;
        let contract = address_arg(data.get("address"), &format!("permissions[{i}].data.address"))?;
        let calls: Vec<&str> = data
            .get("calls")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .filter(|c: &Vec<&str>| !c.is_empty())
            .ok_or_else(|| {
                RpcError::invalid(format!(
                    "permissions[{i}].data.calls must be a non-empty list of function signatures"
                ))
            })?;
        let mut these = Vec::new();
        for call in &calls {
            let signature = call.strip_prefix("function ").unwrap_or(call).replace(' ', "");
            let method = EvmMethod::parse(&format!("{}:{signature}", address_text(contract)))
                .map_err(|e| RpcError::invalid(format!("permissions[{i}].data.calls: {e:#}")))?;
            these.push(method);
        }
        let mut limit = None::<u32>;
        let mut enforceable = true;
        for policy in p.get("policies").and_then(Value::as_array).into_iter().flatten() {
            let ty = policy.get("type").and_then(Value::as_str).unwrap_or_default();
            if ty == "rate-limit" {
                let count =
                    policy.pointer("/data/count").and_then(Value::as_u64).filter(|c| *c > 0);
                let interval =
                    policy.pointer("/data/interval").and_then(Value::as_u64).filter(|c| *c > 0);
                let (Some(count), Some(interval)) = (count, interval) else {
                    return Err(RpcError::invalid(format!("permissions[{i}]: a rate-limit policy needs a positive integer count and interval")));
                };
                if interval < duration {
                    enforceable = false;
                    refuse(format!("a rate limit per {interval} s is shorter than the grant; the account counts calls over the whole grant"))?;
                } else {
                    let count = u32::try_from(count).unwrap_or(u32::MAX);
                    limit = Some(limit.map_or(count, |l| l.min(count)));
                }
            } else {
                enforceable = false;
                refuse(format!("the account cannot enforce a {ty} policy"))?;
            }
        }
        if !enforceable {
            continue;
        }
        if let Some(limit) = limit {
            max_calls = Some(max_calls.map_or(limit, |m| m.min(limit)));
        }
        methods.extend(these);
        let mut out = raw.clone();
        out["required"] = json!(required);
        if out.get("policies").is_none() {
            out["policies"] = json!([]);
        }
        granted.push(out);
    }
    if granted.is_empty() {
        return Err(RpcError::with(
            -32602,
            codes::PERMISSION_NOT_ENFORCEABLE,
            "none of the permissions asked for is one the account can enforce",
        ));
    }
    Ok((granted, methods, max_calls.unwrap_or(DEFAULT_MAX_CALLS)))
}

impl Wallet<'_> {
    fn chain_hex(&self) -> String {
        format!("{:#x}", self.chain_id)
    }

    fn owner_signer(&self) -> Signer<'_> {
        Signer {
            wallet: self.account,
            chain_id: self.chain_id,
            key: &self.owner,
            kind: SignatureKind::OwnerEip191,
        }
    }

    /// Registers a session for the terms, signed by the owner key; `signer` is the key's
    /// address when the app holds it.
    async fn grant(
        &mut self,
        expiry: Option<&Value>,
        signer: Option<Address>,
        permissions: Option<&Value>,
    ) -> RpcResult<String> {
        let now = now_unix();
        let expiry = check_expiry(expiry, now)?;
        let (granted, methods, max_calls) = grant_terms(permissions, expiry - now)?;
        let key = signer.is_none().then(|| EvmSigningKey::generate(&mut rand::rngs::OsRng));
        let session =
            key.as_ref().map_or_else(|| signer.unwrap_or(Address::ZERO), EvmSigningKey::address);
        let session_text = address_text(session);
        let permissions = methods
            .iter()
            .map(EvmMethod::permission)
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(|e| from_cli(&e))?;
        let body = json!({
            "sessionPublicKey": session_text,
            "validUntil": expiry,
            "maxCalls": max_calls,
            "allowedMethods": methods,
        });
        let grant = SessionGrant {
            session_key: session_text.clone(),
            rules: SessionRules { valid_after: 0, valid_until: expiry, max_calls, permissions },
        };
        let path = format!("/api/wallets/{}/sessions", segment(&address_text(self.account)));
        let prepared = self.client.post(&path, Some(&body)).await.map_err(|e| from_cli(&e))?;
        let expected = Expected::Change(AccountChange::RegisterSession(grant));
        let task = format!("granting {session_text}");
        let (_, done) = evm::sign_with_and_execute(
            self.ctx,
            &self.client,
            &prepared,
            &self.owner_signer(),
            &expected,
            task,
        )
        .await
        .map_err(|e| from_cli(&e))?;
        if done.status != "succeeded" {
            return Err(RpcError::with(
                -32603,
                codes::API_ERROR,
                format!("the session registration ended {}", done.status),
            ));
        }
        let context = session_text.to_ascii_lowercase();
        self.grants.insert(
            context.clone(),
            Grant { session, key, expiry, permissions: granted, revoked: false },
        );
        Ok(context)
    }

    fn grant_of(&self, context: Option<&Value>) -> RpcResult<&Grant> {
        context
            .and_then(Value::as_str)
            .and_then(|c| self.grants.get(&c.to_ascii_lowercase()))
            .filter(|g| !g.revoked)
            .ok_or_else(|| {
                RpcError::with(
                    4100,
                    codes::UNKNOWN_PERMISSION,
                    "No granted permission has this context.",
                )
            })
    }

    fn current_shape(&self, context: &str, g: &Grant) -> Value {
        let data = match g.permissions.as_slice() {
            [one] => one.get("data").cloned().unwrap_or(Value::Null),
            many => {
                json!({"contracts": many.iter().map(|p| p.get("data").cloned().unwrap_or(Value::Null)).collect::<Vec<_>>()})
            }
        };
        json!({
            "chainId": self.chain_hex(),
            "from": address_text(self.account).to_ascii_lowercase(),
            "to": address_text(g.session).to_ascii_lowercase(),
            "permission": {"type": "contract-call", "isAdjustmentAllowed": false, "data": data},
            "rules": [{"type": "expiry", "data": {"timestamp": g.expiry}}],
            "context": context,
            "dependencies": [],
        })
    }

    async fn handle(&mut self, method: &str, params: &Value) -> RpcResult<Value> {
        match method {
            "eth_chainId" => Ok(json!(self.chain_hex())),
            "eth_accounts" | "eth_requestAccounts" => Ok(json!([address_text(self.account)])),
            "wallet_grantPermissions" => {
                let request = object(first(params, method)?, "the request")?;
                let signer = match request.get("signer") {
                    None => None,
                    Some(s) => match s.get("type").and_then(Value::as_str) {
                        Some("account" | "key") => Some(address_arg(s.pointer("/data/id"), "signer.data.id")?),
                        other => return Err(RpcError::invalid(format!("signer type {} is not supported: give an account or key address, or none", other.unwrap_or("?")))),
                    },
                };
                let context =
                    self.grant(request.get("expiry"), signer, request.get("permissions")).await?;
                let g = &self.grants[&context];
                Ok(json!({
                    "expiry": g.expiry,
                    "grantedPermissions": g.permissions,
                    "permissionsContext": context,
                    "signerData": {"submitToAddress": address_text(self.account)},
                }))
            }
            "wallet_requestExecutionPermissions" => {
                let list = params.as_array().filter(|l| !l.is_empty()).ok_or_else(|| {
                    RpcError::invalid("params must be a non-empty array of permission requests")
                })?;
                let mut out = Vec::new();
                for (i, raw) in list.iter().enumerate() {
                    let r = object(raw, &format!("params[{i}]"))?;
                    if r.get("chainId").and_then(Value::as_str).map(str::to_ascii_lowercase)
                        != Some(self.chain_hex())
                    {
                        return Err(RpcError::with(
                            4901,
                            codes::WRONG_CHAIN,
                            format!(
                                "params[{i}].chainId is not this wallet's chain {}",
                                self.chain_hex()
                            ),
                        ));
                    }
                    let permission = object(
                        r.get("permission").unwrap_or(&Value::Null),
                        &format!("params[{i}].permission"),
                    )?;
                    if permission.get("type").and_then(Value::as_str) != Some("contract-call") {
                        return Err(RpcError::with(-32602, codes::PERMISSION_NOT_ENFORCEABLE, format!("params[{i}].permission: only contract-call permissions are granted here")));
                    }
                    let rules =
                        r.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
                    if let Some(other) = rules
                        .iter()
                        .find(|x| x.get("type").and_then(Value::as_str) != Some("expiry"))
                    {
                        return Err(RpcError::with(
                            -32602,
                            codes::PERMISSION_NOT_ENFORCEABLE,
                            format!(
                                "params[{i}].rules: a {} rule is not supported",
                                other.get("type").unwrap_or(&Value::Null)
                            ),
                        ));
                    }
                    let expiry = rules.iter().find_map(|x| x.pointer("/data/timestamp").cloned());
                    let Some(expiry) = expiry else {
                        return Err(RpcError::with(
                            -32602,
                            codes::INVALID_EXPIRY,
                            format!("params[{i}].rules: an expiry rule is required"),
                        ));
                    };
                    let signer = match r.get("to") {
                        None => None,
                        to => Some(address_arg(to, &format!("params[{i}].to"))?),
                    };
                    let permissions = json!([{"type": "contract-call", "data": permission.get("data").cloned().unwrap_or(Value::Null), "policies": [], "required": true}]);
                    let context = self.grant(Some(&expiry), signer, Some(&permissions)).await?;
                    out.push(self.current_shape(&context, &self.grants[&context]));
                }
                Ok(Value::Array(out))
            }
            "wallet_revokeExecutionPermission" => {
                let p = object(first(params, method)?, "the request")?;
                let context = p.get("permissionContext").or_else(|| p.get("context"));
                let session = self.grant_of(context)?.session;
                let session_text = address_text(session);
                let path = format!(
                    "/api/wallets/{}/sessions/{}/revoke",
                    segment(&address_text(self.account)),
                    segment(&session_text)
                );
                let prepared = self.client.post(&path, None).await.map_err(|e| from_cli(&e))?;
                let expected = Expected::Change(AccountChange::RevokeSession(session_text.clone()));
                let (_, done) = evm::sign_with_and_execute(
                    self.ctx,
                    &self.client,
                    &prepared,
                    &self.owner_signer(),
                    &expected,
                    format!("revoking {session_text}"),
                )
                .await
                .map_err(|e| from_cli(&e))?;
                if done.status != "succeeded" {
                    return Err(RpcError::with(
                        -32603,
                        codes::API_ERROR,
                        format!("the revocation ended {}", done.status),
                    ));
                }
                if let Some(g) = self.grants.get_mut(&session_text.to_ascii_lowercase()) {
                    g.revoked = true;
                    g.key = None;
                }
                Ok(json!({}))
            }
            "wallet_getSupportedExecutionPermissions" => Ok(
                json!({"contract-call": {"chainIds": [self.chain_hex()], "ruleTypes": ["expiry"]}}),
            ),
            "wallet_getGrantedExecutionPermissions" => {
                let now = now_unix();
                let mut live: Vec<(&String, &Grant)> =
                    self.grants.iter().filter(|(_, g)| !g.revoked && g.expiry > now).collect();
                live.sort_by_key(|(c, _)| c.as_str());
                Ok(Value::Array(live.into_iter().map(|(c, g)| self.current_shape(c, g)).collect()))
            }
            "wallet_sendCalls" => self.send_calls(first(params, method)?).await,
            "wallet_getCallsStatus" => {
                let id = first(params, method)?.as_str().unwrap_or_default();
                let Some(done) = self.bundles.get(id) else {
                    return Err(RpcError::with(
                        5730,
                        codes::UNKNOWN_BUNDLE,
                        "No calls were sent with this id.",
                    ));
                };
                let receipt = match &done.transaction_hash {
                    Some(hash) => self
                        .client
                        .post("/rpc/evm", Some(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [hash]})))
                        .await
                        .map_err(|e| from_cli(&e))?
                        .get("result")
                        .cloned()
                        .filter(|r| !r.is_null()),
                    None => None,
                };
                let status = match done.status.as_str() {
                    "succeeded" => 200,
                    "reverted" | "rejected" | "expired" => 500,
                    _ => 100,
                };
                let receipts: Vec<Value> = receipt
                    .map(|r| {
                        json!({
                            "logs": r.get("logs").cloned().unwrap_or(json!([])),
                            "status": r.get("status"), "blockHash": r.get("blockHash"),
                            "blockNumber": r.get("blockNumber"), "gasUsed": r.get("gasUsed"),
                            "transactionHash": r.get("transactionHash"),
                        })
                    })
                    .into_iter()
                    .collect();
                Ok(
                    json!({"version": "2.0.0", "id": id, "chainId": self.chain_hex(), "atomic": true, "status": status, "receipts": receipts}),
                )
            }
            other => Err(RpcError::with(
                4200,
                codes::UNSUPPORTED_METHOD,
                format!("The method {other} is not supported."),
            )),
        }
    }

    async fn send_calls(&mut self, request: &Value) -> RpcResult<Value> {
        let p = object(request, "the request")?;
        if let Some(chain) = p.get("chainId") {
            if chain.as_str().map(str::to_ascii_lowercase) != Some(self.chain_hex()) {
                return Err(RpcError::with(
                    4901,
                    codes::WRONG_CHAIN,
                    format!("chainId is not this wallet's chain {}", self.chain_hex()),
                ));
            }
        }
        if p.get("from").is_some() && address_arg(p.get("from"), "from")? != self.account {
            return Err(RpcError::invalid("from is not this wallet"));
        }
        let Some(context) = p.get("capabilities").and_then(|c| c.pointer("/permissions/context"))
        else {
            return Err(RpcError::with(4100, codes::PERMISSION_REQUIRED, "This wallet sends calls with a granted permission: give capabilities.permissions.context."));
        };
        let grant = self.grant_of(Some(context))?;
        let Some(key) = grant.key.as_ref() else {
            return Err(RpcError::with(
                4100,
                codes::KEY_NOT_HELD,
                "This grant's key is held by the app, which signs its own calls.",
            ));
        };
        let list = p
            .get("calls")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| RpcError::invalid("calls must be a non-empty array"))?;
        let mut calls = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let to = address_arg(c.get("to"), &format!("calls[{i}].to"))?;
            let data = match c.get("data").and_then(Value::as_str) {
                None => Vec::new(),
                Some(text) => text
                    .strip_prefix("0x")
                    .and_then(|h| hex::decode(h).ok())
                    .ok_or_else(|| RpcError::invalid(format!("calls[{i}].data must be 0x hex")))?,
            };
            let mut call = EvmCall::new(to, data);
            if let Some(value) = c.get("value").and_then(Value::as_str) {
                call.value = value.parse::<U256>().map_err(|_| {
                    RpcError::invalid(format!("calls[{i}].value is not a quantity"))
                })?;
            }
            calls.push(call);
        }
        let session_text = address_text(key.address());
        let body = evm::prepare_body(&calls, &session_text);
        let path = format!("/api/wallets/{}/prepare", segment(&address_text(self.account)));
        let prepared = self.client.post(&path, Some(&body)).await.map_err(|e| from_cli(&e))?;
        let signer = Signer {
            wallet: self.account,
            chain_id: self.chain_id,
            key,
            kind: SignatureKind::SessionEip191,
        };
        let (_, done) = evm::sign_with_and_execute(
            self.ctx,
            &self.client,
            &prepared,
            &signer,
            &Expected::Calls(calls),
            "sending calls".into(),
        )
        .await
        .map_err(|e| from_cli(&e))?;
        if let Some(code) = done.error_code.as_deref() {
            return Err(RpcError::with(
                4100,
                code,
                format!("the calls ended {} ({code})", done.status),
            ));
        }
        let id = done.id.clone();
        self.bundles.insert(id.clone(), done);
        Ok(json!({"id": id}))
    }
}

/// One JSON-RPC request (or a batch) as its answer.
async fn answer(wallet: &mut Wallet<'_>, body: &[u8]) -> Value {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error: the body is not JSON", "data": {"code": codes::INVALID_BODY}}});
    };
    match request {
        Value::Array(batch) if !batch.is_empty() => {
            let mut out = Vec::new();
            for r in batch {
                out.push(answer_one(wallet, r).await);
            }
            Value::Array(out)
        }
        other => answer_one(wallet, other).await,
    }
}

async fn answer_one(wallet: &mut Wallet<'_>, request: Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str);
    let (Some(method), Some("2.0")) = (method, request.get("jsonrpc").and_then(Value::as_str))
    else {
        return json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "Invalid request: a JSON-RPC 2.0 object with a method is expected", "data": {"code": codes::INVALID_REQUEST}}});
    };
    let params = request.get("params").cloned().unwrap_or(Value::Array(Vec::new()));
    match wallet.handle(method, &params).await {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => error.json(&id),
    }
}

/// Serves the endpoint on `listen` until interrupted.
pub(super) async fn serve(ctx: &Ctx, key_file: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let owner_file = NamedKey::owner(key_file)?;
    if !owner_file.file.is_evm() {
        anyhow::bail!(
            "{} is not an EVM owner key file: the endpoint signs for EVM wallets",
            key_file.display()
        );
    }
    let client = ctx.client()?;
    let account = evm::wallet_of(&owner_file)?;
    let chain_id = owner_file.file.evm_chain_id()?;
    let mut file = owner_file.file.clone();
    let owner: EvmSigningKey =
        unlock(key_file, &mut file, PinCheck::Server(PinServer::new(&client))).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr()?;
    let (tx, mut rx) = mpsc::channel::<(axum::body::Bytes, oneshot::Sender<Value>)>(16);
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let (reply, answer) = oneshot::channel();
                if tx.send((body, reply)).await.is_err() {
                    return axum::Json(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32603, "message": "the endpoint is stopping"}}));
                }
                axum::Json(answer.await.unwrap_or(Value::Null))
            }
        }),
    );
    println!(
        "JSON-RPC endpoint for wallet {} on eip155:{chain_id}: http://{local}/",
        address_text(account)
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut wallet = Wallet {
        ctx,
        client,
        account,
        chain_id,
        owner,
        grants: HashMap::new(),
        bundles: HashMap::new(),
    };
    loop {
        tokio::select! {
            next = rx.recv() => {
                let Some((body, reply)) = next else { break };
                let _ = reply.send(answer(&mut wallet, &body).await);
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const GAME: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    #[test]
    fn grants_hold_what_the_account_enforces() {
        let call = json!({"type": "contract-call", "data": {"address": GAME, "calls": ["makeMove(uint256)"]},
            "policies": [{"type": "rate-limit", "data": {"count": 5, "interval": 3600}}]});
        let (granted, methods, max) = grant_terms(Some(&json!([call])), 600).unwrap();
        assert_eq!((granted.len(), methods.len(), max), (1, 1, 5));
        let native = json!({"type": "native-token-transfer", "data": {"ticker": "ETH"}, "policies": [], "required": false});
        let (granted, _, max) = grant_terms(Some(&json!([native, call])), 600).unwrap();
        assert_eq!((granted.len(), max), (1, 5));
        for (permissions, said) in [
            (
                json!([{"type": "native-token-transfer", "data": {}, "policies": [], "required": true}]),
                "contract calls only",
            ),
            (
                json!([{"type": "contract-call", "data": {"address": GAME, "calls": ["f()"]}, "policies": [{"type": "rate-limit", "data": {"count": 1, "interval": 60}}], "required": true}]),
                "shorter than the grant",
            ),
            (
                json!([{"type": "contract-call", "data": {"address": GAME, "calls": ["f()"]}, "policies": [{"type": "gas-limit", "data": {"limit": "0x1"}}], "required": true}]),
                "gas-limit",
            ),
            (
                json!([{"type": "contract-call", "data": {"address": "0x12", "calls": ["f()"]}, "policies": []}]),
                "20-byte",
            ),
            (
                json!([{"type": "contract-call", "data": {"address": GAME, "calls": ["make Move("]}, "policies": []}]),
                "bad method",
            ),
            (json!([]), "non-empty"),
        ] {
            let error = grant_terms(Some(&permissions), 600).unwrap_err();
            assert!(error.message.contains(said), "{said}: {}", error.message);
        }
    }

    #[test]
    fn expiry_is_absolute_seconds() {
        let now = 1_800_000_000;
        assert_eq!(check_expiry(Some(&json!(now + 60)), now).unwrap(), now + 60);
        for (expiry, said) in [
            (json!(3600), "not a duration"),
            (json!(now * 1000), "milliseconds"),
            (json!(now + 40 * 86_400), "at most"),
            (json!("soon"), "integer"),
        ] {
            let error = check_expiry(Some(&expiry), now).unwrap_err();
            assert!(error.message.contains(said), "{said}: {}", error.message);
        }
    }
}
