//! Starknet behind latchkey's chain port: SNIP-9 v2 outside executions as the payloads
//! users sign, latchkey's Cairo account as the session contract, and relayer accounts
//! paying in FRI through v3 invoke transactions.

use crate::TransactionFinalityStatus;
use async_trait::async_trait;
use latchkey_chain::{
    calldata_words, AccountChange, CallView, Calls, Chain, ChainRef, Inclusion, Inspected, Job,
    Method, Outcome, ProofClaim, Quote, Refusal, Relay, SendError, SessionCodec, SessionGrant,
    SessionRecord, SessionRules, Signable, SignedTx, Signer, Signing, SimulationError, Spend,
    SpendingCap, SpendingPolicy, Unavailable,
};
use latchkey_core::{
    codes, decode_short_string, felt_to_u64, parse_felt, selector, to_hex, tracked_amount,
    verify_signature, AllowedMethod, Call, Felt, OutsideExecution, SessionPolicy, SessionSignature,
    Signature, SigningKey, TypedData, ANY_CALLER, U256,
};
use latchkey_starknet_contracts::account_calls;
use serde_json::Value;

use crate::{
    new_outside_execution, outside_execution_call, udc_deploy_call, ChainClient, ChainError,
    FeeBounds, KeyAccount, Receipt, SignedInvoke,
};

/// One configured Starknet chain: a node, the account class users get, and the relayer
/// accounts that pay for them.
#[derive(Debug)]
pub struct StarknetBackend {
    id: ChainRef,
    client: ChainClient,
    class_hash: Felt,
    /// Relayer accounts in the order they were configured.
    relayers: Vec<(Felt, KeyAccount)>,
}

fn unavailable(error: ChainError) -> Unavailable {
    Unavailable(error.to_string())
}

fn felt(text: &str) -> Result<Felt, Refusal> {
    parse_felt(text).map_err(|e| Refusal::new(codes::INVALID_FELT, e.to_string()))
}

/// The largest fee `bounds` allow, in FRI.
pub fn max_fee(bounds: &FeeBounds) -> u128 {
    u128::from(bounds.l1_gas)
        .saturating_mul(bounds.l1_gas_price)
        .saturating_add(u128::from(bounds.l2_gas).saturating_mul(bounds.l2_gas_price))
        .saturating_add(u128::from(bounds.l1_data_gas).saturating_mul(bounds.l1_data_gas_price))
}

impl StarknetBackend {
    /// The chain `client` is connected to, with user accounts of `class_hash` and the
    /// relayer accounts `relayers` (address and key).
    pub fn new(
        client: ChainClient,
        class_hash: Felt,
        relayers: Vec<(Felt, SigningKey)>,
    ) -> Result<Self, Unavailable> {
        let name = decode_short_string(&client.chain_id())
            .ok_or_else(|| Unavailable("the node's chain id is not a short string".into()))?;
        let id = ChainRef::starknet(&name)
            .map_err(|e| Unavailable(format!("chain id {name:?}: {e}")))?;
        let relayers = relayers
            .into_iter()
            .map(|(address, key)| (address, KeyAccount::owner(&client, address, key)))
            .collect();
        Ok(Self { id, client, class_hash, relayers })
    }

    /// The node connection.
    pub fn client(&self) -> &ChainClient {
        &self.client
    }

    /// The class user accounts are deployed with.
    pub fn class_hash(&self) -> Felt {
        self.class_hash
    }

    fn relayer(&self, address: &str) -> Result<&KeyAccount, Unavailable> {
        parse_felt(address)
            .ok()
            .and_then(|a| self.relayers.iter().find(|(address, _)| *address == a))
            .map(|(_, account)| account)
            .ok_or_else(|| Unavailable(format!("{address} is not a relayer account of this chain")))
    }

    /// The relayer's invoke for `job`.
    fn call_for(&self, job: &Job) -> Result<Call, Refusal> {
        match job {
            Job::Execute { account, payload, signature } => {
                let account = felt(account)?;
                let (oe, _) = outside_execution(payload)?;
                let signature = signature.iter().map(|s| felt(s)).collect::<Result<Vec<_>, _>>()?;
                Ok(outside_execution_call(account, &oe, &signature))
            }
            Job::Deploy { owner_public_key } => {
                let owner = felt(owner_public_key)?;
                Ok(udc_deploy_call(self.class_hash, owner, &[owner]))
            }
        }
    }
}

fn outside_execution(payload: &Value) -> Result<(OutsideExecution, Felt), Refusal> {
    let typed: TypedData = serde_json::from_value(payload.clone())
        .map_err(|e| Refusal::new(codes::INVALID_TYPED_DATA, e.to_string()))?;
    OutsideExecution::from_typed_data(&typed)
        .map_err(|e| Refusal::new(codes::INVALID_REQUEST, e.to_string()))
}

/// The policy engine's view of a call on `account`.
fn view(account: &Felt, call: &Call) -> CallView {
    let spend = match tracked_amount(call) {
        Ok(Some(amount)) => Spend::Amount(amount),
        Ok(None) => Spend::None,
        Err(_) => Spend::Malformed,
    };
    let change = (call.to == *account).then(|| change_of(account, call));
    CallView { target: to_hex(&call.to), selector: to_hex(&call.selector), spend, change }
}

fn grant_of(policy: &SessionPolicy) -> SessionGrant {
    SessionGrant { session_key: to_hex(&policy.session_key), rules: policy.rules() }
}

/// The cap a `set_spending_policy(key, token, per_call: u256, per_window: u256, window)`
/// call sets, when its calldata decodes.
fn spending_cap_of(data: &[Felt]) -> Option<SpendingCap> {
    let [key, token, call_low, call_high, window_low, window_high, seconds] = data else {
        return None;
    };
    Some(SpendingCap {
        session_key: to_hex(key),
        token: to_hex(token),
        max_per_call: U256::from_felts(call_low, call_high).ok()?,
        max_per_window: U256::from_felts(window_low, window_high).ok()?,
        window_seconds: felt_to_u64(seconds).ok()?,
    })
}

/// What a call to the account itself changes (the inverse of [`account_calls`]).
fn change_of(account: &Felt, call: &Call) -> AccountChange {
    if let Some(registration) = account_calls::decode_registration(*account, call) {
        return match registration {
            Ok(policy) => AccountChange::RegisterSession(grant_of(&policy)),
            Err(e) => AccountChange::MalformedRegistration(e.to_string()),
        };
    }
    let first = || call.calldata.first().map(to_hex);
    if call.selector == selector("revoke_session_key") {
        return first().map_or(AccountChange::Other, AccountChange::RevokeSession);
    }
    if call.selector == selector("revoke_all_sessions") {
        return AccountChange::RevokeAllSessions;
    }
    if call.selector == selector("set_spending_policy") {
        return spending_cap_of(&call.calldata)
            .map_or(AccountChange::Other, AccountChange::SetSpendingCap);
    }
    if call.selector == selector("set_public_key") || call.selector == selector("setPublicKey") {
        return AccountChange::SetOwner(first());
    }
    AccountChange::Other
}

/// The calls on `account` that make `changes`: the inverse of reading a call's account
/// change.
pub fn session_calls(account: &Felt, changes: &[AccountChange]) -> Result<Calls, Refusal> {
    let calls = changes.iter().map(|change| change_call(*account, change));
    Ok(Calls::Starknet(calls.collect::<Result<_, _>>()?))
}

/// The call on `account` that makes `change`.
fn change_call(account: Felt, change: &AccountChange) -> Result<Call, Refusal> {
    Ok(match change {
        AccountChange::RegisterSession(grant) => {
            let rules = &grant.rules;
            let allowed_methods = rules
                .permissions
                .iter()
                .map(|p| {
                    Ok(AllowedMethod {
                        contract: p.target.as_deref().map_or(Ok(Felt::ZERO), felt)?,
                        selector: felt(&p.selector)?,
                    })
                })
                .collect::<Result<Vec<_>, Refusal>>()?;
            account_calls::register_session(
                account,
                &SessionPolicy {
                    session_key: felt(&grant.session_key)?,
                    valid_after: rules.valid_after,
                    valid_until: rules.valid_until,
                    max_calls: rules.max_calls,
                    allowed_methods,
                },
            )
        }
        AccountChange::SetSpendingCap(cap) => account_calls::set_spending_policy(
            account,
            felt(&cap.session_key)?,
            felt(&cap.token)?,
            cap.max_per_call,
            cap.max_per_window,
            cap.window_seconds,
        ),
        AccountChange::RevokeSession(key) => account_calls::revoke_session_key(account, felt(key)?),
        AccountChange::RevokeAllSessions => account_calls::revoke_all_sessions(account),
        AccountChange::SetOwner(Some(key)) => account_calls::set_public_key(account, felt(key)?),
        _ => return Err(Refusal::new(codes::INVALID_REQUEST, "no account call makes this change")),
    })
}

/// Contract revert messages with a precise code of their own, by prefix.
const REVERT_CODES: &[(&str, &str)] = &[
    ("SRC9: duplicated nonce", codes::DUPLICATE_EXECUTION),
    ("SRC9: invalid signature", codes::INVALID_SIGNATURE),
    ("SRC9: now <= execute_after", codes::INVALID_EXECUTION_WINDOW),
    ("SRC9: now >= execute_before", codes::INVALID_EXECUTION_WINDOW),
    ("Spending: per-call cap", codes::SPENDING_LIMIT_EXCEEDED),
    ("Spending: window cap", codes::SPENDING_LIMIT_EXCEEDED),
    ("Spending: bad amount", codes::SPENDING_LIMIT_EXCEEDED),
    ("Session: revoked", codes::SESSION_REVOKED),
    ("Session: not registered", codes::SESSION_NOT_REGISTERED),
    ("Session: expired", codes::SESSION_EXPIRED),
    ("Session: valid_until exceeded", codes::SESSION_EXPIRED),
    ("Session: not yet valid", codes::SESSION_NOT_YET_VALID),
    ("Session: max calls reached", codes::SESSION_MAX_CALLS_EXCEEDED),
    ("Session: method not allowed", codes::SESSION_ENTRYPOINT_NOT_ALLOWED),
    ("Session: self call", codes::SESSION_ENTRYPOINT_NOT_ALLOWED),
];

/// The refusal a failed simulation's trace means: the account contract's own refusals
/// (spent nonce, bad signature, closed window, session rules, spending caps) keep the
/// codes the off-chain checks use; anything else is `SIMULATION_FAILED` with the reason.
pub fn refusal_of(trace: &str) -> Refusal {
    let reason = revert_reason(trace);
    match REVERT_CODES.iter().find(|(message, _)| trace.contains(message)) {
        Some((_, code)) if *code == codes::INVALID_EXECUTION_WINDOW => {
            Refusal::new(code, format!("the chain refused the execution window: {reason}"))
        }
        Some((_, code)) => Refusal::new(code, reason),
        None => Refusal::new(codes::SIMULATION_FAILED, reason),
    }
}

/// The innermost revert reason of a simulation trace: the chain nests one "in contract
/// …" frame per call level and ends with the failing contract's decoded message
/// (`0x… ('Game: nothing to claim')`). That message, when present, is what a person needs;
/// otherwise the trace, cut to a readable length.
fn revert_reason(trace: &str) -> String {
    const LIMIT: usize = 600;
    let decoded = trace.rfind("('").and_then(|start| {
        let rest = &trace[start + 2..];
        rest.find("')").map(|end| &rest[..end])
    });
    match decoded {
        Some(message) if !message.is_empty() => format!("the call reverted: {message}"),
        _ if trace.len() <= LIMIT => trace.to_string(),
        _ => {
            let cut = (0..=LIMIT).rev().find(|i| trace.is_char_boundary(*i)).unwrap_or(0);
            format!("{}…", &trace[..cut])
        }
    }
}

fn nonce_u64(nonce: Felt) -> Result<u64, Unavailable> {
    latchkey_core::felt_to_u64(&nonce).map_err(|_| Unavailable("relayer nonce beyond 2^64".into()))
}

#[async_trait]
impl Chain for StarknetBackend {
    fn id(&self) -> &ChainRef {
        &self.id
    }

    fn fee_unit(&self) -> &'static str {
        "FRI"
    }

    async fn now(&self) -> Result<u64, Unavailable> {
        self.client.block_timestamp().await.map_err(unavailable)
    }

    fn parse_address(&self, text: &str) -> Result<String, Refusal> {
        felt(text).map(|f| to_hex(&f))
    }

    fn parse_key(&self, text: &str) -> Result<String, Refusal> {
        match felt(text)? {
            key if key == Felt::ZERO => Err(Refusal::new(codes::INVALID_FELT, "a key is not zero")),
            key => Ok(to_hex(&key)),
        }
    }

    fn selector(&self, method: Method<'_>) -> Result<String, Refusal> {
        match method {
            Method::Name(name) => Ok(to_hex(&selector(name))),
            Method::Selector(text) => felt(text).map(|f| to_hex(&f)),
        }
    }

    fn account_address(&self, owner_public_key: &str) -> Result<String, Refusal> {
        let owner = felt(owner_public_key)?;
        Ok(to_hex(&ChainClient::account_address(self.class_hash, owner)))
    }

    async fn is_deployed(&self, address: &str) -> Result<bool, Unavailable> {
        let address = parse_felt(address).map_err(|e| Unavailable(e.to_string()))?;
        Ok(self.client.class_hash_at(address).await.map_err(unavailable)?.is_some())
    }

    async fn owner_key(&self, account: &str) -> Result<Option<String>, Unavailable> {
        let account = parse_felt(account).map_err(|e| Unavailable(e.to_string()))?;
        Ok(self
            .client
            .call(account, "get_public_key", vec![])
            .await
            .ok()
            .and_then(|key| key.first().map(to_hex)))
    }

    async fn token_balance(&self, token: &str, owner: &str) -> Result<String, Unavailable> {
        let parse = |t: &str| parse_felt(t).map_err(|e| Unavailable(e.to_string()));
        let balance =
            self.client.erc20_balance(parse(token)?, parse(owner)?).await.map_err(unavailable)?;
        Ok(balance.to_string())
    }

    async fn prepare(
        &self,
        account: &str,
        calls: Calls,
        _signing: &Signing,
        caller: &str,
        now: u64,
        window_seconds: u64,
    ) -> Result<Signable, Refusal> {
        let Calls::Starknet(calls) = calls else {
            return Err(Refusal::new(codes::WRONG_CHAIN, "these calls are not Starknet calls"));
        };
        let account = felt(account)?;
        let mut oe = new_outside_execution(calls, now, window_seconds);
        oe.caller = felt(caller)?;
        let chain_id = self.client.chain_id();
        let payload = serde_json::to_value(oe.to_typed_data(&chain_id))
            .map_err(|e| Refusal::new(codes::INVALID_REQUEST, e.to_string()))?;
        Ok(Signable {
            nonce_key: to_hex(&oe.nonce),
            hash: to_hex(&oe.message_hash(&chain_id, &account)),
            execute_before: oe.execute_before,
            payload,
            max_cost: None,
        })
    }

    fn views(&self, account: &str, calls: &Calls) -> Result<Vec<CallView>, Refusal> {
        let Calls::Starknet(calls) = calls else {
            return Err(Refusal::new(codes::WRONG_CHAIN, "these calls are not Starknet calls"));
        };
        let account = felt(account)?;
        Ok(calls.iter().map(|c| view(&account, c)).collect())
    }

    fn inspect(&self, account: &str, payload: &Value) -> Result<Inspected, Refusal> {
        let account = felt(account)?;
        let (oe, chain_id) = outside_execution(payload)?;
        let ours = self.client.chain_id();
        if chain_id != ours {
            let name = |id: &Felt| decode_short_string(id).unwrap_or_else(|| to_hex(id));
            return Err(Refusal::new(
                codes::WRONG_CHAIN,
                format!(
                    "typed data is for chain {}, this relayer serves {}",
                    name(&chain_id),
                    decode_short_string(&ours).unwrap_or_default()
                ),
            ));
        }
        let hash = oe.message_hash(&chain_id, &account);
        Ok(Inspected {
            nonce_key: to_hex(&oe.nonce),
            hash: to_hex(&hash),
            execute_after: oe.execute_after,
            execute_before: oe.execute_before,
            caller: (oe.caller != ANY_CALLER).then(|| to_hex(&oe.caller)),
            words: calldata_words(&oe.calls),
            calls: oe.calls.iter().map(|c| view(&account, c)).collect(),
        })
    }

    /// A Stark signature `[r, s]` over the core's proof hash, whose domain names this
    /// chain's id.
    fn verify_proof(&self, claim: &ProofClaim<'_>, signature: &[String]) -> Result<(), Refusal> {
        let [r, s] = signature else {
            return Err(Refusal::new(codes::INVALID_SIGNATURE, "proof.signature must be [r, s]"));
        };
        let signature = Signature { r: felt(r)?, s: felt(s)? };
        let verified = latchkey_core::verify_proof(
            &felt(claim.key)?,
            &self.client.chain_id(),
            &felt(claim.account)?,
            claim.purpose,
            &felt(claim.challenge)?,
            &felt(claim.payload)?,
            &signature,
        );
        if !verified {
            return Err(Refusal::new(
                codes::INVALID_PROOF,
                "the proof does not verify for this key",
            ));
        }
        Ok(())
    }

    fn verify(
        &self,
        inspected: &Inspected,
        owner_key: &str,
        signature: &[String],
    ) -> Result<Signer, Refusal> {
        let invalid = || {
            Refusal::new(
                codes::INVALID_SIGNATURE,
                "signature does not verify for this account and typed data",
            )
        };
        let hash = felt(&inspected.hash)?;
        let words = signature.iter().map(|s| parse_felt(s)).collect::<Result<Vec<_>, _>>();
        let words = words.map_err(|_| invalid())?;
        match words.as_slice() {
            [r, s] => {
                let owner = felt(owner_key)?;
                if !verify_signature(&owner, &hash, &Signature { r: *r, s: *s }) {
                    return Err(invalid());
                }
                Ok(Signer::Owner)
            }
            [_, _, _, _] => {
                let session = SessionSignature::from_felts(&words).ok_or_else(invalid)?;
                if !session.verify(&hash) {
                    return Err(invalid());
                }
                Ok(Signer::Session {
                    key: to_hex(&session.session_key),
                    valid_until: session.valid_until,
                })
            }
            _ => Err(invalid()),
        }
    }
}

#[async_trait]
impl SessionCodec for StarknetBackend {
    fn session_calls(&self, account: &str, changes: &[AccountChange]) -> Result<Calls, Refusal> {
        session_calls(&felt(account)?, changes)
    }

    async fn session(&self, account: &str, key: &str) -> Result<SessionRecord, Unavailable> {
        let parse = |t: &str| parse_felt(t).map_err(|e| Unavailable(e.to_string()));
        let view =
            self.client.get_session(parse(account)?, parse(key)?).await.map_err(unavailable)?;
        Ok(SessionRecord {
            registered: view.registered,
            revoked: view.revoked,
            calls_used: view.calls_used,
            rules: SessionRules {
                valid_after: view.valid_after,
                valid_until: view.valid_until,
                max_calls: view.max_calls,
                permissions: view.allowed_methods.iter().map(AllowedMethod::permission).collect(),
            },
        })
    }

    async fn spending_cap(
        &self,
        account: &str,
        key: &str,
        token: &str,
    ) -> Result<SpendingPolicy, Unavailable> {
        let parse = |t: &str| parse_felt(t).map_err(|e| Unavailable(e.to_string()));
        self.client
            .get_spending_policy(parse(account)?, parse(key)?, parse(token)?)
            .await
            .map_err(unavailable)
    }
}

#[async_trait]
impl Relay for StarknetBackend {
    fn relayer_accounts(&self) -> Vec<String> {
        self.relayers.iter().map(|(address, _)| to_hex(address)).collect()
    }

    async fn relayer_nonce(&self, relayer: &str) -> Result<u64, Unavailable> {
        let address = parse_felt(relayer).map_err(|e| Unavailable(e.to_string()))?;
        nonce_u64(self.client.nonce(address).await.map_err(unavailable)?)
    }

    /// Its STRK balance: fees (FRI) are paid in STRK.
    async fn relayer_funds(&self, relayer: &str) -> Result<u128, Unavailable> {
        let address = parse_felt(relayer).map_err(|e| Unavailable(e.to_string()))?;
        let balance =
            self.client.erc20_balance(crate::STRK_ADDRESS, address).await.map_err(unavailable)?;
        Ok(balance.to_string().parse().unwrap_or(u128::MAX))
    }

    async fn simulate(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
    ) -> Result<Quote, SimulationError> {
        let account = self.relayer(relayer).map_err(SimulationError::Unavailable)?;
        let call = self.call_for(job).map_err(SimulationError::Refused)?;
        match account.estimate_bounds_unvalidated(&[call], Felt::from(nonce)).await {
            Ok((bounds, _)) => Ok(Quote {
                max_fee: max_fee(&bounds),
                unit: "FRI",
                limits: serde_json::to_value(bounds)
                    .map_err(|e| SimulationError::Unavailable(Unavailable(e.to_string())))?,
            }),
            Err(error) if error.is_nonce_error() => Err(SimulationError::Nonce),
            Err(ChainError::Rejected { reason }) if latchkey_chain::is_unfunded_reason(&reason) => {
                Err(SimulationError::Unfunded(reason))
            }
            Err(ChainError::Rejected { reason }) => {
                Err(SimulationError::Refused(refusal_of(&reason)))
            }
            Err(error) => Err(SimulationError::Unavailable(unavailable(error))),
        }
    }

    async fn sign(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
        quote: &Quote,
    ) -> Result<SignedTx, Unavailable> {
        let account = self.relayer(relayer)?;
        let call = self.call_for(job).map_err(|r| Unavailable(r.message))?;
        let bounds: FeeBounds = serde_json::from_value(quote.limits.clone())
            .map_err(|e| Unavailable(format!("fee bounds: {e}")))?;
        let signed =
            account.sign_invoke(&[call], Felt::from(nonce), bounds).await.map_err(unavailable)?;
        let raw = serde_json::to_string(&signed).map_err(|e| Unavailable(e.to_string()))?;
        Ok(SignedTx { hash: to_hex(&signed.hash), raw })
    }

    async fn send(&self, raw: &str) -> Result<(), SendError> {
        let signed: SignedInvoke = serde_json::from_str(raw).map_err(|e| {
            SendError::Rejected(format!("recorded transaction does not parse: {e}"))
        })?;
        match self.client.submit(&signed).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_nonce_error() => Err(SendError::Nonce(error.to_string())),
            Err(ChainError::Rejected { reason }) if latchkey_chain::is_unfunded_reason(&reason) => {
                Err(SendError::Unfunded(reason))
            }
            Err(ChainError::Rejected { reason }) => Err(SendError::Rejected(reason)),
            Err(error) => Err(SendError::Unknown(error.to_string())),
        }
    }

    async fn receipt(&self, tx_hash: &str) -> Result<Option<Outcome>, Unavailable> {
        let hash = parse_felt(tx_hash).map_err(|e| Unavailable(e.to_string()))?;
        let (outcome, reverted) = match self.client.receipt(hash).await.map_err(unavailable)? {
            None => return Ok(None),
            Some(Receipt::Succeeded(outcome)) => (outcome, None),
            Some(Receipt::Reverted { outcome, reason }) => (outcome, Some(reason)),
        };
        let inclusion = match outcome.finality {
            TransactionFinalityStatus::PreConfirmed => Inclusion::PreConfirmed,
            TransactionFinalityStatus::AcceptedOnL2 => Inclusion::Block(outcome.block_number),
            TransactionFinalityStatus::AcceptedOnL1 => Inclusion::Final,
        };
        Ok(Some(Outcome {
            reverted,
            fee: u128::try_from(outcome.fee).unwrap_or(u128::MAX),
            inclusion,
        }))
    }

    async fn head(&self) -> Result<u64, Unavailable> {
        self.client.block_number().await.map_err(unavailable)
    }

    async fn is_spent(&self, account: &str, nonce_key: &str) -> Result<bool, Unavailable> {
        let parse = |t: &str| parse_felt(t).map_err(|e| Unavailable(e.to_string()));
        let valid = self
            .client
            .is_valid_outside_execution_nonce(parse(account)?, parse(nonce_key)?)
            .await
            .map_err(unavailable)?;
        Ok(!valid)
    }
}

#[cfg(test)]
mod tests {
    use latchkey_chain::Permission;

    use super::*;

    #[test]
    fn max_fee_sums_every_resource() {
        let bounds = FeeBounds {
            l1_gas: 1,
            l1_gas_price: 10,
            l2_gas: 100,
            l2_gas_price: 2,
            l1_data_gas: 3,
            l1_data_gas_price: 5,
            tip: 0,
        };
        assert_eq!(max_fee(&bounds), 10 + 200 + 15);
    }

    #[test]
    fn simulation_reverts_keep_precise_codes() {
        let cases = [
            ("execution failed: 0x…('SRC9: duplicated nonce')", "DUPLICATE_EXECUTION"),
            ("in contract 0x1: 'SRC9: invalid signature'", "INVALID_SIGNATURE"),
            ("'SRC9: now >= execute_before'", "INVALID_EXECUTION_WINDOW"),
            ("'Session: revoked'", "SESSION_REVOKED"),
            ("'Session: not registered'", "SESSION_NOT_REGISTERED"),
            ("'Session: expired'", "SESSION_EXPIRED"),
            ("'Session: not yet valid'", "SESSION_NOT_YET_VALID"),
            ("'Session: max calls reached'", "SESSION_MAX_CALLS_EXCEEDED"),
            ("'Session: method not allowed'", "SESSION_ENTRYPOINT_NOT_ALLOWED"),
            ("'Session: self call'", "SESSION_ENTRYPOINT_NOT_ALLOWED"),
            ("'Spending: window cap'", "SPENDING_LIMIT_EXCEEDED"),
            ("'Game: invalid move'", "SIMULATION_FAILED"),
        ];
        for (reason, code) in cases {
            assert_eq!(refusal_of(reason).code, code, "{reason}");
        }
        let nested = "in contract 0x1 (selector 0x2): Transaction execution has failed:\n\
            Error in contract (contract address: 0x07a4):\n\
            0x47616d653a206e6f7468696e6720746f20636c61696d ('Game: nothing to claim').\n \
            [\"0x47616d653a206e6f7468696e6720746f20636c61696d\"]";
        let refusal = refusal_of(nested);
        assert_eq!(refusal.code, "SIMULATION_FAILED");
        assert_eq!(refusal.message, "the call reverted: Game: nothing to claim");
        assert!(refusal_of(&"x".repeat(5000)).message.len() < 700);
    }

    #[test]
    fn account_changes_are_the_inverse_of_session_calls() {
        let account = Felt::from(0xaccu32);
        let grant = SessionGrant {
            session_key: "0x5e55".into(),
            rules: SessionRules {
                valid_after: 10,
                valid_until: 99,
                max_calls: 4,
                permissions: vec![
                    Permission {
                        target: Some("0x6a3e".into()),
                        selector: to_hex(&selector("make_move")),
                    },
                    Permission { target: None, selector: to_hex(&selector("transfer")) },
                ],
            },
        };
        for change in [
            AccountChange::RegisterSession(grant),
            AccountChange::RevokeSession("0x5e55".into()),
            AccountChange::RevokeAllSessions,
            AccountChange::SetOwner(Some("0x77".into())),
            AccountChange::SetSpendingCap(SpendingCap {
                session_key: "0x5e55".into(),
                token: "0x70".into(),
                max_per_call: latchkey_core::U256::from_u128(5),
                max_per_window: latchkey_core::U256::from_u128(1 << 100),
                window_seconds: 3600,
            }),
        ] {
            let call = account_calls_for(&account, &change);
            assert_eq!(view(&account, &call).change, Some(change));
        }
        let transfer =
            Call::new(Felt::from(0x70u8), "transfer", vec![account, 5u8.into(), Felt::ZERO]);
        let seen = view(&account, &transfer);
        assert_eq!(
            (seen.change, seen.spend),
            (None, Spend::Amount(latchkey_core::U256::from_u128(5)))
        );
        let short = Call::new(Felt::from(0x70u8), "transfer", vec![account]);
        assert_eq!(view(&account, &short).spend, Spend::Malformed);
    }

    fn account_calls_for(account: &Felt, change: &AccountChange) -> Call {
        match session_calls(account, std::slice::from_ref(change)) {
            Ok(Calls::Starknet(mut calls)) => calls.remove(0),
            other => panic!("{other:?}"),
        }
    }
}
