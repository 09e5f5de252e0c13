//! An in-memory chain for tests of code built on the port: the relayer's state machine
//! runs against it in milliseconds, with every chain behaviour a test needs made to
//! happen on purpose (a stale nonce, a broadcast whose outcome is unknown, a revert, a
//! node that is down, a clock that moves).
//!
//! Its payloads are JSON documents of its own; a "signature" is `[key, hash]` for the
//! owner and `[key, hash, valid_until]` for a session, and verifies when the key is the
//! one it names. Calls use the Starknet shape, and the account's session entrypoints
//! (`register_session`, `revoke_session_key`, `revoke_all_sessions`, `set_public_key`)
//! are decoded as the account contract's.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use latchkey_core::{codes, selector, to_hex, Felt};
use serde_json::{json, Value};

use crate::{
    calldata_words, AccountChange, Call, CallView, Calls, Chain, ChainRef, Inclusion, Inspected,
    Job, Method, Outcome, Permission, ProofClaim, Quote, Refusal, Relay, SendError, SessionCodec,
    SessionGrant, SessionRecord, SessionRules, Signable, SignedTx, Signer, Signing,
    SimulationError, Spend, SpendingCap, SpendingPolicy, Unavailable,
};

/// What the next broadcast does instead of being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendScript {
    /// The node refuses the relayer nonce.
    Nonce,
    /// The node refuses the transaction.
    Rejected(String),
    /// The node refuses the transaction: the relayer account cannot pay.
    Unfunded(String),
    /// The connection drops after the node took the transaction: it runs.
    UnknownButAccepted,
    /// The connection drops before the node saw the transaction.
    UnknownAndLost,
}

/// A transaction the fake chain holds.
#[derive(Debug, Clone)]
struct Tx {
    job: Job,
    landed: Option<Outcome>,
}

#[derive(Debug, Default, Clone)]
struct State {
    now: u64,
    /// The latest block: every landed transaction makes one.
    head: u64,
    down: bool,
    auto_mine: bool,
    fee: u128,
    max_fee: u128,
    next_nonce_key: u64,
    deployed: BTreeSet<String>,
    owners: BTreeMap<String, String>,
    sessions: BTreeMap<(String, String), SessionRecord>,
    spent: BTreeSet<(String, String)>,
    relayer_nonces: BTreeMap<String, u64>,
    /// What each relayer account holds to pay fees with; each accepted transaction
    /// costs it the chain's fee.
    relayer_funds: BTreeMap<String, u128>,
    txs: BTreeMap<String, Tx>,
    sends: VecDeque<SendScript>,
    simulations: VecDeque<Refusal>,
    reverts: BTreeSet<String>,
    broadcasts: u64,
    /// Spending caps by (account, session key, token).
    caps: BTreeMap<(String, String, String), SpendingPolicy>,
    /// The sponsor's commitment in every prepared payload, if it commits at prepare.
    commitment: Option<u128>,
    /// Receipt lookups still to answer "none" although the transaction landed.
    hidden_receipts: u32,
    /// Whether a payload's nonce is its account's next unspent sequence (as on EVM).
    sequential_nonces: bool,
    /// States saved by [`FakeChain::snapshot`].
    snapshots: Vec<State>,
    /// A reorg the next head lookup makes before it answers: back to this snapshot,
    /// then this many empty blocks.
    reorg_at_head: Option<(usize, u64)>,
    /// Token balances by (token, owner).
    balances: BTreeMap<(String, String), u128>,
}

/// What each relayer account of a [`FakeChain`] holds at first (10^21 of the fee unit).
pub const FAKE_RELAYER_FUNDS: u128 = 1_000_000_000_000_000_000_000;

/// The in-memory chain.
#[derive(Debug)]
pub struct FakeChain {
    id: ChainRef,
    relayers: Vec<String>,
    state: Mutex<State>,
}

fn digest(value: &impl Hash) -> String {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    format!("{:#x}", hasher.finish())
}

fn unavailable() -> Unavailable {
    Unavailable("the fake chain is down".into())
}

impl FakeChain {
    /// The digest a fake proof of `claim` carries.
    pub fn proof_digest(claim: &ProofClaim<'_>) -> String {
        let ProofClaim { key, account, purpose, challenge, payload } = claim;
        digest(&(key, account, purpose.as_str(), challenge, payload))
    }

    /// A chain at time 1,000,000 with relayer accounts `0xe1`, `0xe2`… holding
    /// [`FAKE_RELAYER_FUNDS`] each, every transaction quoted at 1,000 and charged 600, and
    /// transactions landing as they are sent.
    pub fn new(relayers: usize) -> Self {
        let relayers: Vec<String> = (1..=relayers).map(|i| format!("0xe{i}")).collect();
        let state = State {
            now: 1_000_000,
            auto_mine: true,
            fee: 600,
            max_fee: 1_000,
            relayer_nonces: relayers.iter().map(|r| (r.clone(), 0)).collect(),
            relayer_funds: relayers.iter().map(|r| (r.clone(), FAKE_RELAYER_FUNDS)).collect(),
            ..State::default()
        };
        let id = ChainRef::eip155(1337);
        Self { id, relayers, state: Mutex::new(state) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Deploys the account of `owner` directly (outside any relayer) and returns it.
    pub fn deploy(&self, owner: &str) -> String {
        let account = self.address_of(owner);
        let mut state = self.state();
        state.deployed.insert(account.clone());
        state.owners.insert(account.clone(), owner.to_string());
        account
    }

    fn address_of(&self, owner: &str) -> String {
        digest(&("account", owner))
    }

    /// Moves the clock on by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.state().now += seconds;
    }

    /// Makes every call fail as if the node were unreachable (or lifts that).
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// Whether sent transactions land at once (`true`) or wait for [`FakeChain::mine`].
    pub fn set_auto_mine(&self, auto: bool) {
        self.state().auto_mine = auto;
    }

    /// Lands every pending transaction.
    pub fn mine(&self) {
        let mut state = self.state();
        let pending: Vec<String> = state
            .txs
            .iter()
            .filter(|(_, tx)| tx.landed.is_none())
            .map(|(h, _)| h.clone())
            .collect();
        for hash in pending {
            land(&mut state, &hash);
        }
    }

    /// Adds `blocks` empty blocks.
    pub fn mine_empty(&self, blocks: u64) {
        self.state().head += blocks;
    }

    /// Saves the chain as it is now, for [`FakeChain::reorg_to`].
    pub fn snapshot(&self) -> usize {
        let mut state = self.state();
        let saved = State { snapshots: Vec::new(), ..state.clone() };
        state.snapshots.push(saved);
        state.snapshots.len() - 1
    }

    /// A reorg back to `snapshot`: every block since is gone, with its transactions
    /// (which the node no longer knows, so they can be sent again) and their effects.
    /// The clock and what tests scripted stay as they are now.
    pub fn reorg_to(&self, snapshot: usize) {
        let mut state = self.state();
        let Some(saved) = state.snapshots.get(snapshot).cloned() else { return };
        let keep = State {
            now: state.now,
            down: state.down,
            auto_mine: state.auto_mine,
            sends: std::mem::take(&mut state.sends),
            simulations: std::mem::take(&mut state.simulations),
            reverts: std::mem::take(&mut state.reverts),
            broadcasts: state.broadcasts,
            snapshots: std::mem::take(&mut state.snapshots),
            ..saved
        };
        *state = keep;
    }

    /// The next head lookup first reorgs back to `snapshot` and adds `blocks` empty
    /// blocks: a reorg that lands between a receipt and the head read after it.
    pub fn reorg_at_next_head(&self, snapshot: usize, blocks: u64) {
        self.state().reorg_at_head = Some((snapshot, blocks));
    }

    /// Sets `owner`'s balance of `token`.
    pub fn set_balance(&self, token: &str, owner: &str, amount: u128) {
        self.state().balances.insert((token.to_string(), owner.to_string()), amount);
    }

    /// The latest block.
    pub fn head_block(&self) -> u64 {
        self.state().head
    }

    /// The next broadcast follows `script` instead of being accepted.
    pub fn script_send(&self, script: SendScript) {
        self.state().sends.push_back(script);
    }

    /// The next simulation is refused with `refusal`.
    pub fn refuse_simulation(&self, refusal: Refusal) {
        self.state().simulations.push_back(refusal);
    }

    /// Executions with this nonce key revert on chain (they pass simulation).
    pub fn revert_on_chain(&self, nonce_key: &str) {
        self.state().reverts.insert(nonce_key.to_string());
    }

    /// Moves a relayer account's chain nonce, as a transaction sent by someone else would.
    pub fn bump_relayer_nonce(&self, relayer: &str) {
        *self.state().relayer_nonces.entry(relayer.to_string()).or_default() += 1;
    }

    /// Sets the fee a quote allows and the fee a landed transaction pays.
    pub fn set_fees(&self, max_fee: u128, fee: u128) {
        let mut state = self.state();
        state.max_fee = max_fee;
        state.fee = fee;
    }

    /// Gives each prepared payload its account's next unspent sequence as its nonce, the
    /// same for every payload until one of them is spent (as an EVM account's nonce key).
    pub fn sequential_nonces(&self) {
        self.state().sequential_nonces = true;
    }

    /// Makes every prepared payload carry the sponsor's commitment of `max_cost` (as an
    /// EVM paymaster signature does), or none.
    pub fn commit_at_prepare(&self, max_cost: Option<u128>) {
        self.state().commitment = max_cost;
    }

    /// Answers the next `lookups` receipt lookups with "none" even for landed transactions,
    /// as a node that serves a transaction's state before its receipt does.
    pub fn hide_receipts(&self, lookups: u32) {
        self.state().hidden_receipts = lookups;
    }

    /// Spends `nonce_key` of `account` as a transaction sent by someone else would.
    pub fn spend_elsewhere(&self, account: &str, nonce_key: &str) {
        self.state().spent.insert((account.to_string(), nonce_key.to_string()));
    }

    /// Broadcasts accepted so far (re-broadcasts included).
    pub fn broadcasts(&self) -> u64 {
        self.state().broadcasts
    }

    /// Transactions that landed, and how many of them reverted.
    pub fn landed(&self) -> (usize, usize) {
        let state = self.state();
        let landed: Vec<&Outcome> = state.txs.values().filter_map(|t| t.landed.as_ref()).collect();
        (landed.len(), landed.iter().filter(|o| o.reverted.is_some()).count())
    }

    /// Whether the account has spent `nonce_key`.
    pub fn spent(&self, account: &str, nonce_key: &str) -> bool {
        self.state().spent.contains(&(account.to_string(), nonce_key.to_string()))
    }

    /// The session record of `key` on `account`.
    pub fn session_of(&self, account: &str, key: &str) -> Option<SessionRecord> {
        self.state().sessions.get(&(account.to_string(), key.to_string())).cloned()
    }

    /// An owner signature over `hash`.
    pub fn sign_owner(owner: &str, hash: &str) -> Vec<String> {
        vec![owner.to_string(), hash.to_string()]
    }

    /// A session signature over `hash`.
    pub fn sign_session(key: &str, hash: &str, valid_until: u64) -> Vec<String> {
        vec![key.to_string(), hash.to_string(), valid_until.to_string()]
    }
}

/// Runs a transaction: an execution spends its nonce key and makes its account changes;
/// a deployment creates the account.
fn land(state: &mut State, hash: &str) {
    let Some(tx) = state.txs.get(hash).cloned() else { return };
    let fee = state.fee;
    let reverted = match &tx.job {
        Job::Deploy { owner_public_key } => {
            let account = digest(&("account", owner_public_key.as_str()));
            if state.deployed.insert(account.clone()) {
                state.owners.insert(account, owner_public_key.clone());
                None
            } else {
                Some("already deployed".to_string())
            }
        }
        Job::Execute { account, payload, .. } => {
            let key = payload["nonceKey"].as_str().unwrap_or_default().to_string();
            if !state.spent.insert((account.clone(), key.clone())) {
                Some("duplicated nonce".to_string())
            } else if state.reverts.contains(&key) {
                Some("the call reverted".to_string())
            } else {
                for call in calls_of(payload).unwrap_or_default() {
                    apply(state, account, &view(account, &call).change);
                }
                None
            }
        }
    };
    state.head += 1;
    let inclusion = Inclusion::Block(state.head);
    if let Some(tx) = state.txs.get_mut(hash) {
        tx.landed = Some(Outcome { reverted, fee, inclusion });
    }
}

fn apply(state: &mut State, account: &str, change: &Option<AccountChange>) {
    match change {
        Some(AccountChange::RegisterSession(grant)) => {
            state.sessions.insert(
                (account.to_string(), grant.session_key.clone()),
                SessionRecord {
                    registered: true,
                    revoked: false,
                    rules: grant.rules.clone(),
                    calls_used: 0,
                },
            );
        }
        Some(AccountChange::SetSpendingCap(cap)) => {
            let zero = latchkey_core::U256::ZERO;
            state.caps.insert(
                (account.to_string(), cap.session_key.clone(), cap.token.clone()),
                SpendingPolicy {
                    max_per_call: cap.max_per_call,
                    max_per_window: cap.max_per_window,
                    window_seconds: cap.window_seconds,
                    spent_in_window: zero,
                    window_start: 0,
                },
            );
        }
        Some(AccountChange::RevokeSession(key)) => {
            if let Some(record) = state.sessions.get_mut(&(account.to_string(), key.clone())) {
                record.revoked = true;
            }
        }
        Some(AccountChange::RevokeAllSessions) | Some(AccountChange::SetOwner(_)) => {
            for ((holder, _), record) in state.sessions.iter_mut() {
                if holder == account {
                    record.revoked = true;
                }
            }
            if let Some(AccountChange::SetOwner(Some(owner))) = change {
                state.owners.insert(account.to_string(), owner.clone());
            }
        }
        _ => {}
    }
}

fn calls_of(payload: &Value) -> Option<Vec<Call>> {
    serde_json::from_value(payload.get("calls")?.clone()).ok()
}

/// The policy view of a call, decoding the account's own session entrypoints.
fn view(account: &str, call: &Call) -> CallView {
    let target = to_hex(&call.to);
    let change = (target == account).then(|| decode_change(call));
    let spend = match latchkey_core::tracked_amount(call) {
        Ok(Some(amount)) => Spend::Amount(amount),
        Ok(None) => Spend::None,
        Err(_) => Spend::Malformed,
    };
    CallView { target, selector: to_hex(&call.selector), spend, change }
}

fn decode_change(call: &Call) -> AccountChange {
    let data = &call.calldata;
    let hex_at = |i: usize| data.get(i).map(to_hex);
    let int_at = |i: usize| data.get(i).and_then(|f| latchkey_core::felt_to_u64(f).ok());
    if call.selector == selector("revoke_session_key") {
        return hex_at(0).map_or(AccountChange::Other, AccountChange::RevokeSession);
    }
    if call.selector == selector("revoke_all_sessions") {
        return AccountChange::RevokeAllSessions;
    }
    if call.selector == selector("set_public_key") {
        return AccountChange::SetOwner(hex_at(0));
    }
    if call.selector == selector("set_spending_policy") {
        let cap = (|| {
            let [key, token, a, b, c, d, seconds] = data.as_slice() else { return None };
            Some(SpendingCap {
                session_key: to_hex(key),
                token: to_hex(token),
                max_per_call: latchkey_core::U256::from_felts(a, b).ok()?,
                max_per_window: latchkey_core::U256::from_felts(c, d).ok()?,
                window_seconds: latchkey_core::felt_to_u64(seconds).ok()?,
            })
        })();
        return cap.map_or(AccountChange::Other, AccountChange::SetSpendingCap);
    }
    if call.selector != selector("register_session") {
        return AccountChange::Other;
    }
    let decoded = (|| {
        let n = int_at(4)? as usize;
        if data.len() != 5 + 2 * n {
            return None;
        }
        let permissions = data[5..]
            .chunks(2)
            .map(|pair| Permission {
                target: (pair[0] != Felt::ZERO).then(|| to_hex(&pair[0])),
                selector: to_hex(&pair[1]),
            })
            .collect();
        Some(SessionGrant {
            session_key: hex_at(0)?,
            rules: SessionRules {
                valid_after: int_at(1)?,
                valid_until: int_at(2)?,
                max_calls: u32::try_from(int_at(3)?).ok()?,
                permissions,
            },
        })
    })();
    decoded.map_or_else(
        || AccountChange::MalformedRegistration("session registration calldata".into()),
        AccountChange::RegisterSession,
    )
}

#[async_trait]
impl Chain for FakeChain {
    fn id(&self) -> &ChainRef {
        &self.id
    }

    fn fee_unit(&self) -> &'static str {
        "WEI"
    }

    async fn now(&self) -> Result<u64, Unavailable> {
        let state = self.state();
        if state.down {
            return Err(unavailable());
        }
        Ok(state.now)
    }

    fn parse_address(&self, text: &str) -> Result<String, Refusal> {
        latchkey_core::parse_felt(text)
            .map(|f| to_hex(&f))
            .map_err(|e| Refusal::new(codes::INVALID_FELT, e.to_string()))
    }

    fn parse_key(&self, text: &str) -> Result<String, Refusal> {
        match latchkey_core::parse_felt(text) {
            Ok(key) if key != latchkey_core::Felt::ZERO => Ok(latchkey_core::to_hex(&key)),
            _ => Err(Refusal::new(codes::INVALID_FELT, "a key is a non-zero felt")),
        }
    }

    fn selector(&self, method: Method<'_>) -> Result<String, Refusal> {
        match method {
            Method::Name(name) => Ok(latchkey_core::to_hex(&latchkey_core::selector(name))),
            Method::Selector(text) => latchkey_core::parse_felt(text)
                .map(|f| latchkey_core::to_hex(&f))
                .map_err(|e| Refusal::new(codes::INVALID_FELT, e.to_string())),
        }
    }

    fn account_address(&self, owner_public_key: &str) -> Result<String, Refusal> {
        Ok(self.address_of(owner_public_key))
    }

    async fn is_deployed(&self, address: &str) -> Result<bool, Unavailable> {
        let state = self.state();
        if state.down {
            return Err(unavailable());
        }
        Ok(state.deployed.contains(address))
    }

    async fn owner_key(&self, account: &str) -> Result<Option<String>, Unavailable> {
        Ok(self.state().owners.get(account).cloned())
    }

    async fn token_balance(&self, token: &str, owner: &str) -> Result<String, Unavailable> {
        let state = self.state();
        if state.down {
            return Err(unavailable());
        }
        let key = (token.to_string(), owner.to_string());
        Ok(state.balances.get(&key).copied().unwrap_or(0).to_string())
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
            return Err(Refusal::new(codes::WRONG_CHAIN, "the fake chain takes Starknet calls"));
        };
        let nonce_key = {
            let mut state = self.state();
            if state.sequential_nonces {
                let spent = state.spent.iter().filter(|(a, _)| a == account).count();
                format!("0x{:x}", spent + 1)
            } else {
                state.next_nonce_key += 1;
                format!("0x{:x}", state.next_nonce_key)
            }
        };
        let execute_before = now + window_seconds;
        let payload = json!({
            "chain": self.id.as_str(), "account": account, "nonceKey": nonce_key,
            "executeAfter": now.saturating_sub(1), "executeBefore": execute_before,
            "caller": caller, "calls": calls,
        });
        let hash = digest(&payload.to_string());
        let max_cost = self.state().commitment;
        Ok(Signable { nonce_key, payload, hash, execute_before, max_cost })
    }

    fn views(&self, account: &str, calls: &Calls) -> Result<Vec<CallView>, Refusal> {
        let Calls::Starknet(calls) = calls else {
            return Err(Refusal::new(codes::WRONG_CHAIN, "the fake chain takes Starknet calls"));
        };
        Ok(calls.iter().map(|c| view(account, c)).collect())
    }

    fn inspect(&self, account: &str, payload: &Value) -> Result<Inspected, Refusal> {
        let malformed = || Refusal::new(codes::INVALID_TYPED_DATA, "not a fake-chain payload");
        if payload["chain"].as_str() != Some(self.id.as_str()) {
            return Err(Refusal::new(codes::WRONG_CHAIN, "payload is for another chain"));
        }
        if payload["account"].as_str() != Some(account) {
            return Err(Refusal::new(codes::INVALID_SIGNATURE, "payload is for another account"));
        }
        let calls = calls_of(payload).ok_or_else(malformed)?;
        let text = |key: &str| payload[key].as_str().map(str::to_string).ok_or_else(malformed);
        let int = |key: &str| payload[key].as_u64().ok_or_else(malformed);
        let caller = text("caller")?;
        Ok(Inspected {
            nonce_key: text("nonceKey")?,
            hash: digest(&payload.to_string()),
            execute_after: int("executeAfter")?,
            execute_before: int("executeBefore")?,
            caller: (caller != "ANY_CALLER").then_some(caller),
            words: calldata_words(&calls),
            calls: calls.iter().map(|c| view(account, c)).collect(),
        })
    }

    /// A proof is `[key, digest]` with the digest of [`FakeChain::proof_digest`].
    fn verify_proof(&self, claim: &ProofClaim<'_>, signature: &[String]) -> Result<(), Refusal> {
        match signature {
            [key, digest] if key == claim.key && *digest == Self::proof_digest(claim) => Ok(()),
            [_, _] => Err(Refusal::new(codes::INVALID_PROOF, "the proof does not verify")),
            _ => Err(Refusal::new(codes::INVALID_SIGNATURE, "a fake proof is [key, digest]")),
        }
    }

    fn verify(
        &self,
        inspected: &Inspected,
        owner_key: &str,
        signature: &[String],
    ) -> Result<Signer, Refusal> {
        let refuse = || Refusal::new(codes::INVALID_SIGNATURE, "signature does not verify");
        match signature {
            [key, hash] if *hash == inspected.hash && key == owner_key => Ok(Signer::Owner),
            [key, hash, until] if *hash == inspected.hash => Ok(Signer::Session {
                key: key.clone(),
                valid_until: until.parse().map_err(|_| refuse())?,
            }),
            _ => Err(refuse()),
        }
    }
}

#[async_trait]
impl SessionCodec for FakeChain {
    fn session_calls(&self, account: &str, changes: &[AccountChange]) -> Result<Calls, Refusal> {
        let felt = |text: &str| {
            latchkey_core::parse_felt(text)
                .map_err(|e| Refusal::new(codes::INVALID_FELT, e.to_string()))
        };
        let to = felt(account)?;
        let mut calls = Vec::with_capacity(changes.len());
        for change in changes {
            let call = match change {
                AccountChange::RegisterSession(grant) => {
                    let rules = &grant.rules;
                    let mut data = vec![
                        felt(&grant.session_key)?,
                        rules.valid_after.into(),
                        rules.valid_until.into(),
                        rules.max_calls.into(),
                        (rules.permissions.len() as u64).into(),
                    ];
                    for p in &rules.permissions {
                        data.push(p.target.as_deref().map_or(Ok(Felt::ZERO), felt)?);
                        data.push(felt(&p.selector)?);
                    }
                    Call::new(to, "register_session", data)
                }
                AccountChange::RevokeSession(key) => {
                    Call::new(to, "revoke_session_key", vec![felt(key)?])
                }
                AccountChange::RevokeAllSessions => Call::new(to, "revoke_all_sessions", vec![]),
                AccountChange::SetOwner(Some(key)) => {
                    Call::new(to, "set_public_key", vec![felt(key)?])
                }
                AccountChange::SetSpendingCap(cap) => {
                    let mut data = vec![felt(&cap.session_key)?, felt(&cap.token)?];
                    data.extend(cap.max_per_call.to_felts());
                    data.extend(cap.max_per_window.to_felts());
                    data.push(cap.window_seconds.into());
                    Call::new(to, "set_spending_policy", data)
                }
                _ => return Err(Refusal::new(codes::INVALID_REQUEST, "no call makes this change")),
            };
            calls.push(call);
        }
        Ok(Calls::Starknet(calls))
    }

    async fn session(&self, account: &str, key: &str) -> Result<SessionRecord, Unavailable> {
        let state = self.state();
        if state.down {
            return Err(unavailable());
        }
        Ok(state.sessions.get(&(account.to_string(), key.to_string())).cloned().unwrap_or(
            SessionRecord {
                registered: false,
                revoked: false,
                rules: SessionRules {
                    valid_after: 0,
                    valid_until: 0,
                    max_calls: 0,
                    permissions: vec![],
                },
                calls_used: 0,
            },
        ))
    }

    async fn spending_cap(
        &self,
        account: &str,
        key: &str,
        token: &str,
    ) -> Result<SpendingPolicy, Unavailable> {
        let id = (account.to_string(), key.to_string(), token.to_string());
        if let Some(cap) = self.state().caps.get(&id) {
            return Ok(*cap);
        }
        let zero = latchkey_core::U256::ZERO;
        Ok(SpendingPolicy {
            max_per_call: zero,
            max_per_window: zero,
            window_seconds: 0,
            spent_in_window: zero,
            window_start: 0,
        })
    }
}

#[async_trait]
impl Relay for FakeChain {
    fn relayer_accounts(&self) -> Vec<String> {
        self.relayers.clone()
    }

    async fn relayer_nonce(&self, relayer: &str) -> Result<u64, Unavailable> {
        let state = self.state();
        if state.down {
            return Err(unavailable());
        }
        Ok(state.relayer_nonces.get(relayer).copied().unwrap_or(0))
    }

    async fn relayer_funds(&self, relayer: &str) -> Result<u128, Unavailable> {
        let state = self.state();
        if state.down {
            return Err(unavailable());
        }
        Ok(state.relayer_funds.get(relayer).copied().unwrap_or(0))
    }

    async fn simulate(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
    ) -> Result<Quote, SimulationError> {
        let mut state = self.state();
        if state.down {
            return Err(SimulationError::Unavailable(unavailable()));
        }
        if let Some(refusal) = state.simulations.pop_front() {
            return Err(SimulationError::Refused(refusal));
        }
        if state.relayer_nonces.get(relayer).copied().unwrap_or(0) != nonce {
            return Err(SimulationError::Nonce);
        }
        if let Job::Execute { account, payload, .. } = job {
            let key = payload["nonceKey"].as_str().unwrap_or_default();
            if state.spent.contains(&(account.clone(), key.to_string())) {
                return Err(SimulationError::Refused(Refusal::new(
                    codes::DUPLICATE_EXECUTION,
                    "duplicated nonce",
                )));
            }
        }
        Ok(Quote {
            max_fee: state.max_fee,
            unit: "WEI",
            limits: json!({ "maxFee": state.max_fee.to_string() }),
        })
    }

    async fn sign(
        &self,
        relayer: &str,
        nonce: u64,
        job: &Job,
        quote: &Quote,
    ) -> Result<SignedTx, Unavailable> {
        if self.state().down {
            return Err(unavailable());
        }
        let body = match job {
            Job::Execute { account, payload, signature } => {
                json!({"execute": {"account": account, "payload": payload, "signature": signature}})
            }
            Job::Deploy { owner_public_key } => json!({"deploy": owner_public_key}),
        };
        let raw = json!({"relayer": relayer, "nonce": nonce, "job": body, "limits": quote.limits})
            .to_string();
        Ok(SignedTx { hash: digest(&raw), raw })
    }

    async fn send(&self, raw: &str) -> Result<(), SendError> {
        let parsed: Value =
            serde_json::from_str(raw).map_err(|e| SendError::Rejected(e.to_string()))?;
        let hash = digest(&raw.to_string());
        let mut state = self.state();
        if state.down {
            return Err(SendError::Unknown("the fake chain is down".into()));
        }
        let script = state.sends.pop_front();
        if script == Some(SendScript::UnknownAndLost) {
            return Err(SendError::Unknown("connection reset".into()));
        }
        if let Some(SendScript::Rejected(reason)) = script {
            return Err(SendError::Rejected(reason));
        }
        if let Some(SendScript::Unfunded(reason)) = script {
            return Err(SendError::Unfunded(reason));
        }
        if let Some(known) = state.txs.get(&hash) {
            let landed = known.landed.is_some();
            state.broadcasts += 1;
            return match script {
                Some(SendScript::UnknownButAccepted) => {
                    Err(SendError::Unknown("connection reset".into()))
                }
                // A node refuses a mined transaction's nonce, and knows a pending one.
                _ if landed => Err(SendError::Nonce("nonce too low".into())),
                _ => Ok(()),
            };
        }
        let relayer = parsed["relayer"].as_str().unwrap_or_default().to_string();
        let nonce = parsed["nonce"].as_u64().unwrap_or(u64::MAX);
        let current = state.relayer_nonces.get(&relayer).copied().unwrap_or(0);
        if script == Some(SendScript::Nonce) || nonce != current {
            return Err(SendError::Nonce(format!("expected nonce {current}, got {nonce}")));
        }
        let job = match (&parsed["job"]["execute"], &parsed["job"]["deploy"]) {
            (Value::Object(exec), _) => Job::Execute {
                account: exec["account"].as_str().unwrap_or_default().to_string(),
                payload: exec["payload"].clone(),
                signature: serde_json::from_value(exec["signature"].clone()).unwrap_or_default(),
            },
            (_, Value::String(owner)) => Job::Deploy { owner_public_key: owner.clone() },
            _ => return Err(SendError::Rejected("unknown job".into())),
        };
        state.relayer_nonces.insert(relayer.clone(), current + 1);
        let fee = state.fee;
        if let Some(funds) = state.relayer_funds.get_mut(&relayer) {
            *funds = funds.saturating_sub(fee);
        }
        state.txs.insert(hash.clone(), Tx { job, landed: None });
        state.broadcasts += 1;
        if state.auto_mine {
            land(&mut state, &hash);
        }
        if script == Some(SendScript::UnknownButAccepted) {
            return Err(SendError::Unknown("connection reset".into()));
        }
        Ok(())
    }

    async fn receipt(&self, tx_hash: &str) -> Result<Option<Outcome>, Unavailable> {
        let mut state = self.state();
        if state.down {
            return Err(unavailable());
        }
        if state.hidden_receipts > 0 {
            state.hidden_receipts -= 1;
            return Ok(None);
        }
        Ok(state.txs.get(tx_hash).and_then(|tx| tx.landed.clone()))
    }

    async fn head(&self) -> Result<u64, Unavailable> {
        if self.state().down {
            return Err(unavailable());
        }
        let reorg = self.state().reorg_at_head.take();
        if let Some((snapshot, blocks)) = reorg {
            self.reorg_to(snapshot);
            self.mine_empty(blocks);
        }
        Ok(self.state().head)
    }

    async fn is_spent(&self, account: &str, nonce_key: &str) -> Result<bool, Unavailable> {
        let state = self.state();
        if state.down {
            return Err(unavailable());
        }
        Ok(state.spent.contains(&(account.to_string(), nonce_key.to_string())))
    }
}
