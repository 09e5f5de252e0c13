//! latchkey's relayer and paymaster.
//!
//! For every gasless execution it:
//! 1. **prepares** SNIP-9 v2 typed data for an account and its calls (random nonce, a
//!    short window, and as caller the relayer account that will submit it, so that an
//!    execution that reverts can never be replayed by anyone else) and records it as
//!    `prepared`;
//! 2. on submission **checks** that the typed data is the one it issued for this wallet
//!    (or is otherwise well-formed for this account and chain), verifies the owner or
//!    session signature off-chain, evaluates the session policy and spending caps
//!    off-chain against the account's on-chain state, applies the organisation's
//!    sponsorship policy (sponsored methods, fee ceiling, daily quotas per wallet and end
//!    user, cool-down after repeated reverts), simulates through a fee estimate — before
//!    taking a relayer account, under a timeout and a per-organisation concurrency cap —
//!    and reserves the fee in the organisation's gas budget: a refusal costs no gas.
//!    Revocations and owner rotations always get through, whatever the budget;
//! 3. **records** the request durably (`recorded`) before anything is signed, then signs
//!    the relayer transaction locally, records its hash (`submitting`) and only then
//!    broadcasts it (`submitted`);
//! 4. **follows** every transaction to a final state (`succeeded`, `reverted`,
//!    `rejected`, `expired`), settles the actual fee against the budget, and on restart
//!    reconciles every request that was in flight: a `recorded` request is submitted, a
//!    `submitting` one is looked up by its hash and re-broadcast (the very same signed
//!    transaction) if the node never saw it.
//!
//! An outside execution can run at most once: the store keeps one request per
//! (account, nonce), and the account contract refuses a spent nonce. Nonces of the
//! relayer accounts are cached per account and re-read from the chain on a nonce error,
//! with a bounded number of retries, so a stale nonce never jams the pool.

mod error;
mod pool;
mod sponsorship;
mod tenants;

use latchkey_core::codes;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};

use latchkey_core::{
    felt_from_json, to_hex, tracked_amount, verify_signature, Call, Felt, OutsideExecution,
    SessionPolicy, SessionSignature, Signature, SigningKey, TypedData, ANY_CALLER,
};
use latchkey_starknet::{
    outside_execution_call, ChainClient, ChainError, FeeBounds, Receipt, SignedInvoke,
};
use latchkey_starknet_contracts::SessionView;
use latchkey_store::{
    now_unix, NewRequest, QuotaCharge, Request, RequestStatus, RequestUpdate, Reservation,
    ReserveOptions, SessionState, Store,
};
use tokio::task::JoinHandle;

pub use error::RelayError;
use pool::{Pool, SlotGuard};
pub use sponsorship::{
    is_revocation, registered_keys, rotated_owner, SessionGuard, SponsorshipPolicy,
    MAX_COOLDOWN_SECONDS, MAX_SPONSORED_METHODS,
};

/// Relayer settings.
#[derive(Debug, Clone)]
pub struct RelayerConfig {
    /// Validity of the typed data the relayer issues, in seconds.
    pub window_seconds: u64,
    /// Longest window accepted for outside executions the relayer did not issue.
    pub max_window_seconds: u64,
    /// A submission must leave at least this much of its window.
    pub min_remaining_seconds: u64,
    /// Most calls in one execution.
    pub max_calls: usize,
    /// Most calldata felts over all calls of one execution.
    pub max_calldata_felts: usize,
    /// How often in-flight transactions are polled.
    pub poll_interval: Duration,
    /// Sign-and-broadcast attempts on nonce errors.
    pub submit_attempts: u32,
    /// Name of this relayer instance for relayer-account leases. Keep it stable across
    /// restarts of one instance (so a restart reclaims its leases at once) and distinct
    /// between instances sharing a database.
    pub lease_owner: String,
    /// Lease length; renewed when a third of it has passed.
    pub lease_seconds: i64,
    /// How long an on-chain session record read for the off-chain policy check is reused.
    /// The check is a fast refusal, not the authority: the simulation runs against the
    /// chain's current state and its revert reason is reported with the same codes, so a
    /// record that changed meanwhile (revoked, used up) is still refused correctly.
    pub session_cache: Duration,
    /// Longest a simulation may take before the request is refused.
    pub simulation_timeout: Duration,
    /// Simulations one organisation may run at once; more wait (up to the timeout), so a
    /// tenant's slow, failing simulations cannot hold up another tenant's.
    pub max_simulations_per_org: usize,
    /// Longest session a registration may ask for (the guardrail of every route).
    pub max_session_seconds: u64,
    /// How long a submission bound to a relayer account of another instance waits for
    /// that instance to sign it.
    pub handover_wait: Duration,
}

impl Default for RelayerConfig {
    fn default() -> Self {
        Self {
            window_seconds: 600,
            max_window_seconds: 3600,
            min_remaining_seconds: 10,
            max_calls: 32,
            max_calldata_felts: 4096,
            poll_interval: Duration::from_millis(100),
            submit_attempts: 3,
            lease_owner: format!("latchkey-{}", std::process::id()),
            lease_seconds: 60,
            session_cache: Duration::from_secs(1),
            simulation_timeout: Duration::from_secs(15),
            max_simulations_per_org: 4,
            max_session_seconds: 86_400,
            handover_wait: Duration::from_secs(10),
        }
    }
}

/// The wallet an execution is for.
#[derive(Debug, Clone)]
pub struct WalletRef {
    /// Store id.
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// Account address.
    pub address: Felt,
    /// Owner public key.
    pub owner_public_key: Felt,
    /// The wallet's end user (external user id), for the per-user quota.
    pub external_user_id: Option<String>,
    /// Unix seconds until which the wallet's sponsored executions are refused.
    pub cooldown_until: Option<i64>,
}

/// What a prepared request is for, so the relayer can mirror its effect when it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// An ordinary execution.
    User,
    /// Registers (or updates) a session.
    RegisterSession(Felt),
    /// Revokes one session.
    RevokeSession(Felt),
    /// Revokes every session.
    RevokeAllSessions,
}

impl Purpose {
    fn encode(&self) -> String {
        match self {
            Self::User => "user".into(),
            Self::RegisterSession(key) => format!("register_session:{}", to_hex(key)),
            Self::RevokeSession(key) => format!("revoke_session:{}", to_hex(key)),
            Self::RevokeAllSessions => "revoke_all_sessions".into(),
        }
    }

    fn decode(text: &str) -> Self {
        let key = |rest: &str| latchkey_core::parse_felt(rest).ok();
        match text.split_once(':') {
            Some(("register_session", rest)) => key(rest).map_or(Self::User, Self::RegisterSession),
            Some(("revoke_session", rest)) => key(rest).map_or(Self::User, Self::RevokeSession),
            _ if text == "revoke_all_sessions" => Self::RevokeAllSessions,
            _ => Self::User,
        }
    }
}

/// Typed data issued for signing.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The request record.
    pub request_id: String,
    /// What the signer signs.
    pub typed_data: TypedData,
    /// The same, as a struct.
    pub outside_execution: OutsideExecution,
}

/// An accepted submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The request record.
    pub request_id: String,
    /// The relayer transaction.
    pub transaction_hash: Felt,
}

/// A deployed user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Its address.
    pub address: Felt,
    /// The deploying transaction, `None` when the account already existed.
    pub transaction_hash: Option<Felt>,
}

/// The relayer. Cheap to clone; its background monitor stops with the last clone.
#[derive(Debug, Clone)]
pub struct Relayer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    chain: ChainClient,
    store: Store,
    pool: Pool,
    config: RelayerConfig,
    /// Requests a live `execute` call is handling; the monitor leaves them alone.
    in_progress: StdMutex<HashSet<String>>,
    /// Session records read from the chain, by (account, session key).
    sessions: StdMutex<HashMap<(Felt, Felt), (Instant, SessionView)>>,
    /// The chain's clock as last read, and when it was read.
    clock: StdMutex<Option<(Instant, u64)>>,
    /// When the relayer-account leases were last renewed.
    leases_renewed: StdMutex<Option<Instant>>,
    /// Simulation slots per organisation.
    simulations: tenants::TenantSlots,
    /// Sponsorship policies read from the store, by organisation.
    policies: StdMutex<HashMap<String, (Instant, SponsorshipPolicy)>>,
    monitor: StdMutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut monitor) = self.monitor.lock() {
            if let Some(handle) = monitor.take() {
                handle.abort();
            }
        }
    }
}

/// Marks a request as handled by a live call until dropped.
struct InProgress<'a> {
    set: &'a StdMutex<HashSet<String>>,
    id: String,
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.id);
        }
    }
}

fn hex(felt: &Felt) -> String {
    to_hex(felt)
}

fn unavailable(error: ChainError) -> RelayError {
    RelayError::Unavailable(error.to_string())
}

/// In-flight transactions the monitor follows at once.
const FOLLOWERS: usize = 8;

/// Seconds until the next UTC day, when daily quotas renew.
fn until_next_day() -> u64 {
    let now = now_unix().max(0) as u64;
    86_400 - now % 86_400
}

/// The daily quotas of `policy` a reservation for `wallet` is charged to.
fn quota_charges(policy: &SponsorshipPolicy, wallet: &WalletRef) -> Vec<QuotaCharge> {
    let day = now_unix().div_euclid(86_400);
    let mut quotas = Vec::new();
    if let Some(limit) = policy.daily_gas_per_wallet_fri {
        quotas.push(QuotaCharge {
            scope: "wallet".into(),
            key: wallet.id.clone(),
            day,
            limit_fri: limit,
        });
    }
    if let (Some(limit), Some(user)) = (policy.daily_gas_per_user_fri, &wallet.external_user_id) {
        quotas.push(QuotaCharge { scope: "user".into(), key: user.clone(), day, limit_fri: limit });
    }
    quotas
}

use latchkey_starknet::max_fee;

impl Relayer {
    /// Starts the relayer: leases its accounts and starts the monitor, whose first pass
    /// reconciles whatever an earlier process left in flight.
    pub async fn start(
        chain: ChainClient,
        store: Store,
        accounts: Vec<(Felt, SigningKey)>,
        config: RelayerConfig,
    ) -> Result<Self, RelayError> {
        // Accounts leased by another live process are left to it. If every account is
        // leased elsewhere (say, by a process that was killed and whose leases have not
        // expired yet), wait for the leases to run out rather than fail.
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(config.lease_seconds.max(0) as u64 + 5);
        let leased = loop {
            let mut leased = Vec::new();
            for (address, key) in &accounts {
                let owner = &config.lease_owner;
                if store
                    .lease_relayer(&hex(address), owner, now_unix(), config.lease_seconds)
                    .await?
                {
                    leased.push((*address, key.clone()));
                }
            }
            if !leased.is_empty() {
                if leased.len() < accounts.len() {
                    tracing::warn!(
                        in_use = leased.len(),
                        total = accounts.len(),
                        "some relayer accounts are leased by another process"
                    );
                }
                break leased;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RelayError::Unavailable(
                    "every relayer account is leased by another process".into(),
                ));
            }
            tracing::warn!("every relayer account is leased by another process; waiting for the leases to expire");
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let simulations = tenants::TenantSlots::new(config.max_simulations_per_org);
        let inner = Arc::new(Inner {
            pool: Pool::new(&chain, leased),
            chain,
            store,
            config,
            in_progress: StdMutex::new(HashSet::new()),
            sessions: StdMutex::new(HashMap::new()),
            clock: StdMutex::new(None),
            leases_renewed: StdMutex::new(Some(Instant::now())),
            simulations,
            policies: StdMutex::new(HashMap::new()),
            monitor: StdMutex::new(None),
        });
        let relayer = Self { inner };
        relayer.reconcile().await;
        let handle = tokio::spawn(monitor(Arc::downgrade(&relayer.inner)));
        if let Ok(mut slot) = relayer.inner.monitor.lock() {
            *slot = Some(handle);
        }
        Ok(relayer)
    }

    /// The chain this relayer serves.
    pub fn chain(&self) -> &ChainClient {
        &self.inner.chain
    }

    /// The store it records to.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Addresses of the relayer accounts in use.
    pub fn relayer_addresses(&self) -> Vec<Felt> {
        self.inner.pool.addresses()
    }

    fn check_limits(&self, calls: &[Call]) -> Result<(), RelayError> {
        let config = &self.inner.config;
        if calls.is_empty() {
            return Err(RelayError::InvalidRequest("no calls".into()));
        }
        if calls.len() > config.max_calls {
            return Err(RelayError::TooLarge(format!(
                "{} calls; at most {}",
                calls.len(),
                config.max_calls
            )));
        }
        let felts: usize = calls.iter().map(|c| c.calldata.len() + 3).sum();
        if felts > config.max_calldata_felts {
            return Err(RelayError::TooLarge(format!(
                "{felts} calldata felts; at most {}",
                config.max_calldata_felts
            )));
        }
        Ok(())
    }

    /// The chain's clock, read from the chain.
    async fn chain_now(&self) -> Result<u64, RelayError> {
        let now = self.inner.chain.block_timestamp().await.map_err(unavailable)?;
        if let Ok(mut clock) = self.inner.clock.lock() {
            *clock = Some((Instant::now(), now));
        }
        Ok(now)
    }

    /// The chain's clock, extrapolated from a reading less than a second old when there
    /// is one (the monitor reads it at every pass), so requests do not queue behind
    /// transactions at the node just to read the time. Windows built from it are minutes
    /// wide; every check made with it is repeated by the simulation against the chain's
    /// own clock.
    async fn chain_now_recent(&self) -> Result<u64, RelayError> {
        let recent = self.inner.clock.lock().ok().and_then(|clock| *clock);
        match recent {
            Some((read, now)) if read.elapsed() < Duration::from_secs(1) => {
                Ok(now + read.elapsed().as_secs())
            }
            _ => self.chain_now().await,
        }
    }

    /// Builds and records typed data for `wallet` to execute `calls`. Its caller is the
    /// relayer account that will submit it. Session registrations among `calls` follow
    /// the guardrails of every route, except for [`Purpose::RegisterSession`], whose
    /// caller (the native sessions route) checked them with the explicit allow-all choice.
    pub async fn prepare(
        &self,
        wallet: &WalletRef,
        calls: Vec<Call>,
        purpose: Purpose,
    ) -> Result<Prepared, RelayError> {
        self.check_limits(&calls)?;
        let now = self.chain_now_recent().await?;
        if !matches!(purpose, Purpose::RegisterSession(_)) {
            self.check_registrations(wallet.address, &calls, now, false).await?;
        }
        let mut outside_execution =
            latchkey_starknet::new_outside_execution(calls, now, self.inner.config.window_seconds);
        outside_execution.caller = self.inner.pool.next_address()?;
        let typed_data = outside_execution.to_typed_data(&self.inner.chain.chain_id());
        let request = self
            .inner
            .store
            .insert_request(&NewRequest {
                org_id: wallet.org_id.clone(),
                wallet_id: Some(wallet.id.clone()),
                account: hex(&wallet.address),
                oe_nonce: hex(&outside_execution.nonce),
                typed_data_json: serde_json::to_string(&typed_data)
                    .map_err(|e| RelayError::InvalidRequest(e.to_string()))?,
                calls_json: serde_json::to_string(&outside_execution.calls)
                    .map_err(|e| RelayError::InvalidRequest(e.to_string()))?,
                execute_before: outside_execution.execute_before as i64,
                purpose: purpose.encode(),
            })
            .await?;
        Ok(Prepared { request_id: request.id, typed_data, outside_execution })
    }

    /// Checks, records and submits a signed outside execution for `wallet`.
    /// `signature` is the owner's `[r, s]` or a session's `[key, r, s, valid_until]`.
    pub async fn execute(
        &self,
        wallet: &WalletRef,
        typed_data: &TypedData,
        signature: &[Felt],
        idempotency_key: Option<&str>,
    ) -> Result<Submitted, RelayError> {
        let inner = &self.inner;
        let (oe, chain_id) = OutsideExecution::from_typed_data(typed_data)
            .map_err(|e| RelayError::InvalidRequest(e.to_string()))?;
        if chain_id != inner.chain.chain_id() {
            return Err(RelayError::WrongChain {
                expected: latchkey_core::decode_short_string(&inner.chain.chain_id())
                    .unwrap_or_default(),
                got: latchkey_core::decode_short_string(&chain_id)
                    .unwrap_or_else(|| hex(&chain_id)),
            });
        }
        self.check_limits(&oe.calls)?;
        let account = wallet.address;
        let now = self.chain_now_recent().await?;

        // The request record: issued by us for this very wallet, or none yet. A record of
        // another wallet or organisation is a conflict that names nothing of theirs (R2-03).
        let issued = match inner.store.request_by_oe(&hex(&account), &hex(&oe.nonce)).await? {
            Some(existing)
                if existing.org_id != wallet.org_id
                    || existing.wallet_id.as_deref() != Some(wallet.id.as_str()) =>
            {
                return Err(RelayError::Conflict)
            }
            Some(existing) if existing.status == RequestStatus::Prepared => {
                let issued: TypedData = serde_json::from_str(&existing.typed_data_json)
                    .map_err(|_| RelayError::TypedDataMismatch)?;
                let (issued, _) = OutsideExecution::from_typed_data(&issued)
                    .map_err(|_| RelayError::TypedDataMismatch)?;
                if issued != oe {
                    return Err(RelayError::TypedDataMismatch);
                }
                Some(existing)
            }
            Some(existing) => {
                return Err(RelayError::AlreadySubmitted {
                    request_id: Some(existing.id),
                    tx_hash: existing
                        .tx_hash
                        .as_deref()
                        .and_then(|h| latchkey_core::parse_felt(h).ok()),
                })
            }
            None => {
                if oe.execute_before.saturating_sub(now) > inner.config.max_window_seconds {
                    return Err(RelayError::BadWindow(format!(
                        "execution window longer than {} s",
                        inner.config.max_window_seconds
                    )));
                }
                None
            }
        };

        if oe.execute_after >= now {
            return Err(RelayError::BadWindow(format!(
                "execution window opens after {}",
                oe.execute_after
            )));
        }
        if oe.execute_before <= now + inner.config.min_remaining_seconds {
            return Err(RelayError::BadWindow("execution window has closed".into()));
        }
        let required_relayer = if oe.caller == ANY_CALLER {
            None
        } else if inner.pool.addresses().contains(&oe.caller)
            || inner.store.is_relayer(&hex(&oe.caller)).await?
        {
            Some(oe.caller)
        } else {
            return Err(RelayError::CallerNotAllowed(hex(&oe.caller)));
        };

        // Signature, off-chain.
        let hash = oe.message_hash(&chain_id, &account);
        let session = match signature {
            [r, s] => {
                self.verify_owner(wallet, &hash, &Signature { r: *r, s: *s }).await?;
                None
            }
            [_, _, _, _] => {
                let session =
                    SessionSignature::from_felts(signature).ok_or(RelayError::InvalidSignature)?;
                if !session.verify(&hash) {
                    return Err(RelayError::InvalidSignature);
                }
                Some(session)
            }
            _ => return Err(RelayError::InvalidSignature),
        };

        // Policy, off-chain, against the account's on-chain state. A spent nonce is
        // caught by the simulation below ('SRC9: duplicated nonce').
        if let Some(session) = &session {
            self.check_session(account, session, &oe.calls, now).await?;
        }
        if issued.is_none() {
            // Foreign typed data passes the registration guardrails here; ours passed
            // them when it was prepared.
            self.check_registrations(account, &oe.calls, now, false).await?;
        }

        // Sponsorship: revocations always get through; everything else follows the
        // organisation's policy.
        let revocation = is_revocation(account, &oe.calls);
        let policy = self.policy(&wallet.org_id).await?;
        if !revocation {
            if let Some(until) = wallet.cooldown_until {
                let now_wall = now_unix();
                if until > now_wall {
                    return Err(RelayError::CoolingDown { retry_after: (until - now_wall) as u64 });
                }
            }
            policy.check_calls(account, &oe.calls)?;
        }

        // Only now, with everything verified, is a record of foreign typed data written
        // (R2-14): refused submissions leave nothing behind.
        let request = match issued {
            Some(request) => request,
            None => {
                let inserted = inner
                    .store
                    .insert_request(&NewRequest {
                        org_id: wallet.org_id.clone(),
                        wallet_id: Some(wallet.id.clone()),
                        account: hex(&account),
                        oe_nonce: hex(&oe.nonce),
                        typed_data_json: serde_json::to_string(typed_data)
                            .map_err(|e| RelayError::InvalidRequest(e.to_string()))?,
                        calls_json: serde_json::to_string(&oe.calls)
                            .map_err(|e| RelayError::InvalidRequest(e.to_string()))?,
                        execute_before: oe.execute_before as i64,
                        purpose: Purpose::User.encode(),
                    })
                    .await;
                match inserted {
                    Ok(request) => request,
                    Err(latchkey_store::StoreError::Conflict { .. }) => {
                        return Err(RelayError::AlreadySubmitted {
                            request_id: None,
                            tx_hash: None,
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let _guard = self.mark_in_progress(&request.id)?;

        // Simulate (fee estimate) before any relayer account is taken, under a timeout and
        // the organisation's concurrency cap.
        let call = outside_execution_call(account, &oe, signature);
        let bounds = match self.simulate(&wallet.org_id, &call, required_relayer).await {
            Ok(bounds) => bounds,
            Err(RelayError::SimulationFailed(reason)) => {
                if let Some(session) = &session {
                    self.forget_session(account, Some(session.session_key));
                }
                return Err(RelayError::from_simulation(reason, &request.id));
            }
            Err(e) => return Err(e),
        };
        let reserved = max_fee(&bounds);
        if !revocation {
            policy.check_fee(reserved)?;
        }
        let options = ReserveOptions {
            bypass_budget: revocation,
            quotas: if revocation { Vec::new() } else { quota_charges(&policy, wallet) },
        };
        let recorded = inner
            .store
            .update_request_reserving(
                &request.id,
                &[RequestStatus::Prepared],
                &RequestUpdate {
                    status: Some(RequestStatus::Recorded),
                    kind: Some(if session.is_some() { "session" } else { "owner" }.to_string()),
                    session_public_key: session.as_ref().map(|s| hex(&s.session_key)),
                    signature_json: Some(felts_json(signature)),
                    idempotency_key: idempotency_key.map(str::to_string),
                    fee_fri: Some(reserved.to_string()),
                    ..RequestUpdate::default()
                },
                &wallet.org_id,
                reserved,
                &options,
            )
            .await?;
        match recorded {
            Reservation::Recorded => {}
            Reservation::BudgetExhausted => return Err(RelayError::SponsorshipExhausted),
            Reservation::QuotaExhausted(scope) => {
                return Err(RelayError::QuotaExhausted { scope, retry_after: until_next_day() })
            }
            Reservation::StatusChanged => {
                return Err(RelayError::AlreadySubmitted {
                    request_id: Some(request.id),
                    tx_hash: None,
                })
            }
        }

        // Bound to a relayer account another instance holds: that instance's monitor
        // signs and sends it; wait for its hash.
        if let Some(relayer) = required_relayer {
            if !inner.pool.addresses().contains(&relayer) {
                drop(_guard);
                let hash = self.wait_for_hash(&request.id).await?;
                return Ok(Submitted { request_id: request.id, transaction_hash: hash });
            }
        }
        let mut slot = inner.pool.acquire(required_relayer).await?;
        let nonce = slot.nonce(&inner.chain).await?;
        let hash = self
            .submit(&mut slot, &request.id, &wallet.org_id, call, bounds, nonce, reserved)
            .await?;
        Ok(Submitted { request_id: request.id, transaction_hash: hash })
    }

    /// Checks an owner signature against the wallet's owner key; when that fails, against
    /// the key the account has on chain (the owner may have rotated it through another
    /// route), which the store then follows (R2-08).
    async fn verify_owner(
        &self,
        wallet: &WalletRef,
        hash: &Felt,
        signature: &Signature,
    ) -> Result<(), RelayError> {
        if verify_signature(&wallet.owner_public_key, hash, signature) {
            return Ok(());
        }
        let on_chain = self
            .inner
            .chain
            .call(wallet.address, "get_public_key", vec![])
            .await
            .ok()
            .and_then(|key| key.first().copied());
        match on_chain {
            Some(key)
                if key != wallet.owner_public_key && verify_signature(&key, hash, signature) =>
            {
                self.inner.store.set_owner_public_key(&wallet.id, &hex(&key)).await?;
                Ok(())
            }
            _ => Err(RelayError::InvalidSignature),
        }
    }

    /// The registration guardrails (C30, R2-11, R2-19) for every session `calls` register
    /// on `account`: an explicit allow-all, a bounded duration, never the account itself,
    /// and never a key whose registration was revoked.
    pub async fn check_registrations(
        &self,
        account: Felt,
        calls: &[Call],
        now: u64,
        allow_all_explicit: bool,
    ) -> Result<(), RelayError> {
        let guard = SessionGuard {
            max_session_seconds: self.inner.config.max_session_seconds,
            allow_all_explicit,
        };
        guard.check(account, calls, now)?;
        for key in registered_keys(account, calls) {
            self.check_not_revoked(account, key).await?;
        }
        Ok(())
    }

    /// Refuses to register `key` again on `account` once a registration of it was revoked:
    /// the account refuses it too ('Session: key was revoked'), and nothing signed for the
    /// old registration may come back to life (R2-19).
    pub async fn check_not_revoked(&self, account: Felt, key: Felt) -> Result<(), RelayError> {
        let view = self.inner.chain.get_session(account, key).await.map_err(unavailable)?;
        if view.registered && view.revoked {
            return Err(RelayError::SessionGuard {
                code: codes::SESSION_KEY_REVOKED,
                message: "this session key was revoked; register a new key".into(),
            });
        }
        Ok(())
    }

    /// The organisation's sponsorship policy, read from the store at most once a second.
    pub async fn policy(&self, org_id: &str) -> Result<SponsorshipPolicy, RelayError> {
        const TTL: Duration = Duration::from_secs(1);
        if let Ok(cache) = self.inner.policies.lock() {
            if let Some((read, policy)) = cache.get(org_id) {
                if read.elapsed() < TTL {
                    return Ok(policy.clone());
                }
            }
        }
        let org = self.inner.store.organization(org_id).await?;
        let policy = SponsorshipPolicy::from_stored(
            org.as_ref().and_then(|o| o.sponsorship_policy_json.as_deref()),
        );
        if let Ok(mut cache) = self.inner.policies.lock() {
            cache.insert(org_id.to_string(), (Instant::now(), policy.clone()));
        }
        Ok(policy)
    }

    /// Drops the cached policy of `org_id` (it was just changed).
    pub fn forget_policy(&self, org_id: &str) {
        if let Ok(mut cache) = self.inner.policies.lock() {
            cache.remove(org_id);
        }
    }

    /// Estimates `call` from a relayer account without holding it, under the
    /// simulation timeout and the organisation's concurrency cap.
    async fn simulate(
        &self,
        org_id: &str,
        call: &Call,
        required: Option<Felt>,
    ) -> Result<FeeBounds, RelayError> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now() + inner.config.simulation_timeout;
        let _permit = inner.simulations.acquire(org_id, deadline).await?;
        // A stale nonce hint (another transaction of the account landed meanwhile) is
        // re-read from the chain once.
        for attempt in 0..2 {
            let (address, account, nonce) =
                inner.pool.estimating_account(required, &inner.chain).await?;
            let estimate = account.estimate_bounds_unvalidated(std::slice::from_ref(call), nonce);
            match tokio::time::timeout_at(deadline, estimate).await {
                Err(_) => return Err(RelayError::SimulationTimeout),
                Ok(Ok((bounds, _))) => return Ok(bounds),
                Ok(Err(ChainError::Rejected { reason })) => {
                    if attempt == 0 && latchkey_starknet::is_nonce_reason(&reason) {
                        inner.pool.forget_nonce_hint(address);
                        continue;
                    }
                    return Err(RelayError::SimulationFailed(reason));
                }
                Ok(Err(e)) => return Err(unavailable(e)),
            }
        }
        Err(RelayError::Unavailable("relayer nonce kept changing during the estimate".into()))
    }

    /// Waits until another instance signs request `id` (it holds the relayer account
    /// the request is bound to), and returns the transaction hash.
    async fn wait_for_hash(&self, id: &str) -> Result<Felt, RelayError> {
        let deadline = tokio::time::Instant::now() + self.inner.config.handover_wait;
        loop {
            let request = self.inner.store.request(id).await?;
            if let Some(hash) = request
                .as_ref()
                .and_then(|r| r.tx_hash.as_deref())
                .and_then(|h| latchkey_core::parse_felt(h).ok())
            {
                return Ok(hash);
            }
            if request.is_some_and(|r| r.status.is_final())
                || tokio::time::Instant::now() >= deadline
            {
                return Err(RelayError::Unavailable(
                    "the relayer account this execution is bound to did not sign it in time; it stays recorded and is sent when that relayer runs".into(),
                ));
            }
            tokio::time::sleep(self.inner.config.poll_interval).await;
        }
    }

    /// The on-chain session record, reused for `session_cache`.
    async fn session_view(&self, account: Felt, key: Felt) -> Result<SessionView, RelayError> {
        let ttl = self.inner.config.session_cache;
        if let Ok(cache) = self.inner.sessions.lock() {
            if let Some((read, view)) = cache.get(&(account, key)) {
                if read.elapsed() < ttl {
                    return Ok(view.clone());
                }
            }
        }
        let view = self.inner.chain.get_session(account, key).await.map_err(unavailable)?;
        if let Ok(mut cache) = self.inner.sessions.lock() {
            cache.retain(|_, (read, _)| read.elapsed() < ttl);
            cache.insert((account, key), (Instant::now(), view.clone()));
        }
        Ok(view)
    }

    /// Drops cached session records of `account`: one key, or all of them.
    fn forget_session(&self, account: Felt, key: Option<Felt>) {
        if let Ok(mut cache) = self.inner.sessions.lock() {
            cache.retain(|(a, k), _| *a != account || key.is_some_and(|key| key != *k));
        }
    }

    fn mark_in_progress(&self, id: &str) -> Result<InProgress<'_>, RelayError> {
        let set = &self.inner.in_progress;
        let mut guard =
            set.lock().map_err(|_| RelayError::Unavailable("relayer state poisoned".into()))?;
        if !guard.insert(id.to_string()) {
            return Err(RelayError::AlreadySubmitted {
                request_id: Some(id.to_string()),
                tx_hash: None,
            });
        }
        Ok(InProgress { set, id: id.to_string() })
    }

    async fn check_session(
        &self,
        account: Felt,
        session: &SessionSignature,
        calls: &[Call],
        now: u64,
    ) -> Result<(), RelayError> {
        let chain = &self.inner.chain;
        let view = self.session_view(account, session.session_key).await?;
        if !view.registered {
            return Err(RelayError::Session {
                code: codes::SESSION_NOT_REGISTERED,
                message: "session key is not registered on this account".into(),
            });
        }
        if view.revoked {
            return Err(RelayError::Session {
                code: codes::SESSION_REVOKED,
                message: "session was revoked".into(),
            });
        }
        let policy = SessionPolicy {
            session_key: session.session_key,
            valid_after: view.valid_after,
            valid_until: view.valid_until,
            max_calls: view.max_calls,
            allowed_methods: view.allowed_methods,
        };
        policy
            .check(&account, calls, now, view.calls_used, session.valid_until)
            .map_err(RelayError::from_policy)?;

        // Spending caps, applied call by call as the contract will.
        let mut caps: Vec<(Felt, latchkey_core::SpendingPolicy)> = Vec::new();
        for call in calls {
            let amount = tracked_amount(call).map_err(|_| {
                RelayError::SpendingLimit("token call without a valid u256 amount".into())
            })?;
            let Some(amount) = amount else { continue };
            let index = match caps.iter().position(|(token, _)| *token == call.to) {
                Some(index) => index,
                None => {
                    let cap = chain
                        .get_spending_policy(account, session.session_key, call.to)
                        .await
                        .map_err(unavailable)?;
                    caps.push((call.to, cap));
                    caps.len() - 1
                }
            };
            let cap = &mut caps[index].1;
            if cap.window_seconds != 0 {
                cap.apply(amount, now).map_err(|e| RelayError::SpendingLimit(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Signs, records the hash, broadcasts. Retries with a fresh nonce on nonce errors.
    /// Every hash a request signs stays on record (a lookup by any of them finds it, and
    /// the monitor checks them all for a receipt). Re-estimated fee bounds may grow only
    /// as far as the organisation's budget covers the difference (R2-15). A nonce error on
    /// the last attempt leaves the request `recorded`, for the monitor to send (R2-16).
    #[allow(clippy::too_many_arguments)]
    async fn submit(
        &self,
        slot: &mut SlotGuard,
        request_id: &str,
        org_id: &str,
        call: Call,
        mut bounds: FeeBounds,
        mut nonce: Felt,
        mut reserved: u128,
    ) -> Result<Felt, RelayError> {
        let inner = &self.inner;
        let calls = [call];
        let mut earlier: Vec<String> = match inner.store.request(request_id).await? {
            Some(request) => request.tx_hashes(),
            None => Vec::new(),
        };
        for attempt in 1..=inner.config.submit_attempts {
            let signed =
                slot.account.sign_invoke(&calls, nonce, bounds).await.map_err(unavailable)?;
            let signed_json = serde_json::to_string(&signed)
                .map_err(|e| RelayError::Unavailable(e.to_string()))?;
            let written = inner
                .store
                .update_request(
                    request_id,
                    &[RequestStatus::Recorded],
                    &RequestUpdate {
                        status: Some(RequestStatus::Submitting),
                        tx_hash: Some(hex(&signed.hash)),
                        relayer_address: Some(hex(&slot.address)),
                        relayer_nonce: Some(hex(&nonce)),
                        signed_tx_json: Some(signed_json),
                        previous_tx_hashes_json: (!earlier.is_empty())
                            .then(|| serde_json::Value::from(earlier.clone()).to_string()),
                        ..RequestUpdate::default()
                    },
                )
                .await?;
            if !written {
                return Err(RelayError::AlreadySubmitted {
                    request_id: Some(request_id.to_string()),
                    tx_hash: None,
                });
            }
            earlier.push(hex(&signed.hash));
            match slot.account.submit(&signed).await {
                Ok(_) => {
                    slot.advance(nonce);
                    inner
                        .store
                        .transition_request(
                            request_id,
                            &[RequestStatus::Submitting],
                            RequestStatus::Submitted,
                        )
                        .await?;
                    return Ok(signed.hash);
                }
                Err(error) if error.is_nonce_error() => {
                    tracing::info!(relayer = %hex(&slot.address), %error, "nonce refused; re-reading it");
                    slot.forget_nonce();
                    inner
                        .store
                        .transition_request(
                            request_id,
                            &[RequestStatus::Submitting],
                            RequestStatus::Recorded,
                        )
                        .await?;
                    if attempt == inner.config.submit_attempts {
                        // Accepted and recorded: the monitor signs it again with a fresh
                        // nonce; its request id and every hash so far find it.
                        tracing::warn!(request = %request_id, "relayer nonce kept changing; left to the monitor");
                        return Ok(signed.hash);
                    }
                    nonce = slot.nonce(&inner.chain).await?;
                    if let Ok((fresh, _)) =
                        slot.account.estimate_bounds_unvalidated(&calls, nonce).await
                    {
                        let needed = max_fee(&fresh);
                        if needed <= reserved
                            || inner
                                .store
                                .adjust_reservation(
                                    request_id,
                                    &[RequestStatus::Recorded],
                                    org_id,
                                    reserved,
                                    needed,
                                    false,
                                )
                                .await?
                                == Reservation::Recorded
                        {
                            bounds = fresh;
                            reserved = reserved.max(needed);
                        }
                    }
                }
                Err(ChainError::Rejected { reason }) => {
                    slot.forget_nonce();
                    inner
                        .store
                        .update_request_settling(
                            request_id,
                            &[RequestStatus::Submitting],
                            &RequestUpdate {
                                status: Some(RequestStatus::Rejected),
                                error_code: Some(codes::TRANSACTION_REJECTED.into()),
                                error_message: Some(reason.clone()),
                                fee_fri: Some("0".into()),
                                ..RequestUpdate::default()
                            },
                            org_id,
                            reserved,
                            0,
                        )
                        .await?;
                    return Err(RelayError::Rejected(reason));
                }
                Err(error) => {
                    // The node may or may not have the transaction: the monitor finds out
                    // by hash and re-broadcasts the same transaction if needed.
                    tracing::warn!(%error, tx = %hex(&signed.hash), "broadcast outcome unknown");
                    slot.forget_nonce();
                    return Ok(signed.hash);
                }
            }
        }
        Err(RelayError::Unavailable("relayer nonce kept changing".into()))
    }

    /// Deploys a user account (salt = owner key, constructor `[owner key]`, deployer 0)
    /// from a relayer account, charged to `org_id`. Does nothing when it exists.
    pub async fn deploy_account(
        &self,
        org_id: &str,
        class_hash: Felt,
        owner_public_key: Felt,
    ) -> Result<Deployment, RelayError> {
        let inner = &self.inner;
        let address = ChainClient::account_address(class_hash, owner_public_key);
        if inner.chain.class_hash_at(address).await.map_err(unavailable)?.is_some() {
            return Ok(Deployment { address, transaction_hash: None });
        }
        let call =
            latchkey_starknet::udc_deploy_call(class_hash, owner_public_key, &[owner_public_key]);
        let mut slot = inner.pool.acquire(None).await?;
        let mut nonce = slot.nonce(&inner.chain).await?;
        for attempt in 1..=inner.config.submit_attempts {
            let (bounds, _) = match slot
                .account
                .estimate_bounds_unvalidated(std::slice::from_ref(&call), nonce)
                .await
            {
                Ok(estimated) => estimated,
                Err(ChainError::Rejected { reason }) => {
                    return Err(RelayError::SimulationFailed(reason))
                }
                Err(e) => return Err(unavailable(e)),
            };
            let reserved = max_fee(&bounds);
            if !inner.store.reserve_gas(org_id, reserved).await? {
                return Err(RelayError::SponsorshipExhausted);
            }
            let signed = slot
                .account
                .sign_invoke(std::slice::from_ref(&call), nonce, bounds)
                .await
                .map_err(unavailable)?;
            match slot.account.submit(&signed).await {
                Ok(hash) => {
                    slot.advance(nonce);
                    drop(slot);
                    let outcome = inner.chain.wait_for_transaction(hash).await;
                    let fee = match &outcome {
                        Ok(o) => u128::try_from(o.fee).unwrap_or(reserved),
                        Err(_) => reserved,
                    };
                    inner.store.settle_gas(org_id, reserved, fee).await?;
                    outcome.map_err(|e| RelayError::Rejected(e.to_string()))?;
                    return Ok(Deployment { address, transaction_hash: Some(hash) });
                }
                Err(error) if error.is_nonce_error() && attempt < inner.config.submit_attempts => {
                    inner.store.settle_gas(org_id, reserved, 0).await?;
                    slot.forget_nonce();
                    nonce = slot.nonce(&inner.chain).await?;
                }
                Err(error) => {
                    inner.store.settle_gas(org_id, reserved, 0).await?;
                    slot.forget_nonce();
                    return Err(RelayError::Rejected(error.to_string()));
                }
            }
        }
        Err(RelayError::Unavailable("relayer nonce kept changing".into()))
    }

    /// Waits until a request reaches a final status (or `timeout` passes) and returns it.
    pub async fn wait_final(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Result<Request, RelayError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let request = self.inner.store.request(request_id).await?.ok_or_else(|| {
                RelayError::InvalidRequest(format!("unknown request {request_id}"))
            })?;
            if request.status.is_final() || tokio::time::Instant::now() >= deadline {
                return Ok(request);
            }
            tokio::time::sleep(self.inner.config.poll_interval).await;
        }
    }

    /// One pass over everything in flight: receipts, re-broadcasts, resubmissions,
    /// expiries, lease renewal. The monitor runs it continuously; it is also the restart
    /// reconciliation.
    pub async fn reconcile(&self) {
        if let Err(error) = self.reconcile_once().await {
            tracing::warn!(%error, "reconciliation pass failed; retrying at the next poll");
        }
    }

    async fn reconcile_once(&self) -> Result<(), RelayError> {
        let inner = &self.inner;
        self.renew_leases().await?;
        let busy: HashSet<String> = inner.in_progress.lock().map(|s| s.clone()).unwrap_or_default();

        let in_flight = inner
            .store
            .requests_with_status(&[RequestStatus::Submitting, RequestStatus::Submitted], 200)
            .await?;
        // Followed concurrently, so receipts waiting at a busy node do not hold up the
        // rest and the monitor keeps pace with the submissions.
        let mut following = tokio::task::JoinSet::new();
        let mut failure = None;
        for request in in_flight.into_iter().filter(|r| !busy.contains(&r.id)) {
            if following.len() >= FOLLOWERS {
                if let Some(Ok(Err(error))) = following.join_next().await {
                    failure.get_or_insert(error);
                }
            }
            let relayer = self.clone();
            following.spawn(async move { relayer.follow(&request).await });
        }
        while let Some(done) = following.join_next().await {
            if let Ok(Err(error)) = done {
                failure.get_or_insert(error);
            }
        }
        if let Some(error) = failure {
            return Err(error);
        }

        let chain_now = self.chain_now().await? as i64;
        let recorded = inner.store.requests_with_status(&[RequestStatus::Recorded], 50).await?;
        for request in recorded.into_iter().filter(|r| !busy.contains(&r.id)) {
            self.resubmit(&request, chain_now).await?;
        }

        let prepared = inner.store.requests_with_status(&[RequestStatus::Prepared], 200).await?;
        for request in
            prepared.into_iter().filter(|r| r.execute_before < chain_now && !busy.contains(&r.id))
        {
            inner
                .store
                .update_request(
                    &request.id,
                    &[RequestStatus::Prepared],
                    &RequestUpdate {
                        status: Some(RequestStatus::Expired),
                        error_code: Some(codes::TYPED_DATA_EXPIRED.into()),
                        error_message: Some("never submitted before its window closed".into()),
                        ..RequestUpdate::default()
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// Renews the relayer-account leases once a third of their length has passed.
    async fn renew_leases(&self) -> Result<(), RelayError> {
        let inner = &self.inner;
        let every = Duration::from_secs((inner.config.lease_seconds.max(0) / 3) as u64);
        let due = inner
            .leases_renewed
            .lock()
            .map(|last| last.is_none_or(|at| at.elapsed() >= every))
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let now_wall = now_unix();
        for address in inner.pool.addresses() {
            inner
                .store
                .lease_relayer(
                    &hex(&address),
                    &inner.config.lease_owner,
                    now_wall,
                    inner.config.lease_seconds,
                )
                .await?;
        }
        if let Ok(mut last) = inner.leases_renewed.lock() {
            *last = Some(Instant::now());
        }
        Ok(())
    }

    /// Looks a submitted transaction up; finalises it, or re-broadcasts it if the node
    /// does not know it.
    async fn follow(&self, request: &Request) -> Result<(), RelayError> {
        let inner = &self.inner;
        let Some(hash) = request.tx_hash.as_deref().and_then(|h| latchkey_core::parse_felt(h).ok())
        else {
            return Ok(());
        };
        let reserved: u128 = request.fee_fri.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        let from = [RequestStatus::Submitting, RequestStatus::Submitted];
        let mut receipt = inner.chain.receipt(hash).await.map_err(unavailable)?;
        let mut landed = None;
        if receipt.is_none() {
            // A hash signed earlier for this request may be the one that landed.
            for earlier in request.tx_hashes().iter().rev().skip(1) {
                let Ok(earlier) = latchkey_core::parse_felt(earlier) else { continue };
                if let Some(found) = inner.chain.receipt(earlier).await.map_err(unavailable)? {
                    receipt = Some(found);
                    landed = Some(hex(&earlier));
                    break;
                }
            }
        }
        match receipt {
            Some(Receipt::Succeeded(outcome)) => {
                let fee = u128::try_from(outcome.fee).unwrap_or(reserved);
                // The mirror first (it is idempotent), so that whoever sees the request
                // succeeded also sees what it changed.
                self.mirror_success(request).await?;
                let done = inner
                    .store
                    .update_request_settling(
                        &request.id,
                        &from,
                        &RequestUpdate {
                            status: Some(RequestStatus::Succeeded),
                            fee_fri: Some(fee.to_string()),
                            tx_hash: landed.clone(),
                            ..RequestUpdate::default()
                        },
                        &request.org_id,
                        reserved,
                        fee,
                    )
                    .await?;
                if done {
                    self.record_outcome(request, false).await?;
                }
            }
            Some(Receipt::Reverted { outcome, reason }) => {
                let fee = u128::try_from(outcome.fee).unwrap_or(reserved);
                self.mirror_failure(request).await?;
                let done = inner
                    .store
                    .update_request_settling(
                        &request.id,
                        &from,
                        &RequestUpdate {
                            status: Some(RequestStatus::Reverted),
                            error_code: Some(codes::EXECUTION_REVERTED.into()),
                            error_message: Some(reason),
                            fee_fri: Some(fee.to_string()),
                            tx_hash: landed,
                            ..RequestUpdate::default()
                        },
                        &request.org_id,
                        reserved,
                        fee,
                    )
                    .await?;
                if done {
                    self.record_outcome(request, true).await?;
                }
            }
            None => self.rebroadcast(request).await?,
        }
        Ok(())
    }

    /// Sends the recorded signed transaction again (same hash, so it can execute at most
    /// once). If its nonce was taken meanwhile, the request goes back to `recorded` to be
    /// signed again, unless the outside execution already ran or its window closed.
    async fn rebroadcast(&self, request: &Request) -> Result<(), RelayError> {
        let inner = &self.inner;
        let (Some(signed_json), Some(relayer)) =
            (&request.signed_tx_json, &request.relayer_address)
        else {
            return Ok(());
        };
        let Ok(signed) = serde_json::from_str::<SignedInvoke>(signed_json) else {
            return self
                .finish_without_tx(
                    request,
                    codes::CORRUPT_RECORD,
                    "recorded transaction does not parse",
                )
                .await;
        };
        let Ok(relayer) = latchkey_core::parse_felt(relayer) else { return Ok(()) };
        let mut slot = match inner.pool.acquire_address(relayer).await {
            Ok(slot) => slot,
            // Signed by an account this process does not hold: its owner follows it.
            Err(_) => return Ok(()),
        };
        match slot.account.submit(&signed).await {
            Ok(_) => {
                slot.forget_nonce();
                inner
                    .store
                    .transition_request(
                        &request.id,
                        &[RequestStatus::Submitting, RequestStatus::Submitted],
                        RequestStatus::Submitted,
                    )
                    .await?;
            }
            Err(error) if error.is_nonce_error() => {
                slot.forget_nonce();
                drop(slot);
                // Let a pending transaction land before deciding.
                if inner.chain.receipt(signed.hash).await.map_err(unavailable)?.is_some() {
                    return Ok(());
                }
                inner
                    .store
                    .transition_request(
                        &request.id,
                        &[RequestStatus::Submitting, RequestStatus::Submitted],
                        RequestStatus::Recorded,
                    )
                    .await?;
            }
            Err(error) => {
                tracing::warn!(%error, request = %request.id, "re-broadcast failed; will retry");
            }
        }
        Ok(())
    }

    /// Submits a `recorded` request again (after a crash, or after its relayer nonce was
    /// taken), or expires it if its window has closed.
    async fn resubmit(&self, request: &Request, chain_now: i64) -> Result<(), RelayError> {
        let inner = &self.inner;
        let reserved: u128 = request.fee_fri.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        if request.execute_before <= chain_now + inner.config.min_remaining_seconds as i64 {
            return self
                .finish_without_tx(
                    request,
                    codes::EXPIRED,
                    "execution window closed before submission",
                )
                .await;
        }
        let Some(_guard) = self.mark_in_progress(&request.id).ok() else { return Ok(()) };
        let typed: TypedData = match serde_json::from_str(&request.typed_data_json) {
            Ok(typed) => typed,
            Err(_) => {
                return self
                    .finish_without_tx(request, codes::CORRUPT_RECORD, "typed data does not parse")
                    .await
            }
        };
        let Ok((oe, _)) = OutsideExecution::from_typed_data(&typed) else {
            return self
                .finish_without_tx(
                    request,
                    codes::CORRUPT_RECORD,
                    "typed data is not an outside execution",
                )
                .await;
        };
        let signature = match request.signature_json.as_deref().map(parse_felts) {
            Some(Ok(signature)) => signature,
            _ => {
                return self
                    .finish_without_tx(request, codes::CORRUPT_RECORD, "signature does not parse")
                    .await
            }
        };
        let Ok(account) = latchkey_core::parse_felt(&request.account) else {
            return self
                .finish_without_tx(request, codes::CORRUPT_RECORD, "account does not parse")
                .await;
        };
        let required = (oe.caller != ANY_CALLER).then_some(oe.caller);
        if required.is_some_and(|relayer| !inner.pool.addresses().contains(&relayer)) {
            // Bound to a relayer account another instance holds: that instance sends it.
            return Ok(());
        }
        // A transaction signed for it earlier may have landed after all: follow that one.
        for earlier in request.tx_hashes() {
            let Ok(hash) = latchkey_core::parse_felt(&earlier) else { continue };
            if inner.chain.receipt(hash).await.map_err(unavailable)?.is_some() {
                inner
                    .store
                    .update_request(
                        &request.id,
                        &[RequestStatus::Recorded],
                        &RequestUpdate {
                            status: Some(RequestStatus::Submitted),
                            tx_hash: Some(earlier),
                            ..RequestUpdate::default()
                        },
                    )
                    .await?;
                return Ok(());
            }
        }
        if !inner
            .chain
            .is_valid_outside_execution_nonce(account, oe.nonce)
            .await
            .map_err(unavailable)?
        {
            return self
                .finish_without_tx(
                    request,
                    codes::DUPLICATE_EXECUTION,
                    "nonce already used on chain",
                )
                .await;
        }
        let mut slot = inner.pool.acquire(required).await?;
        let nonce = slot.nonce(&inner.chain).await?;
        let call = outside_execution_call(account, &oe, &signature);
        let mut reserved = reserved;
        let bounds = match slot
            .account
            .estimate_bounds_unvalidated(std::slice::from_ref(&call), nonce)
            .await
        {
            Ok((bounds, _)) => {
                let needed = max_fee(&bounds);
                let revocation = serde_json::from_str::<Vec<Call>>(&request.calls_json)
                    .is_ok_and(|calls| is_revocation(account, &calls));
                if needed > reserved {
                    match inner
                        .store
                        .adjust_reservation(
                            &request.id,
                            &[RequestStatus::Recorded],
                            &request.org_id,
                            reserved,
                            needed,
                            revocation,
                        )
                        .await?
                    {
                        Reservation::Recorded => {}
                        // Another process (or this one's monitor) moved the request on
                        // since it was read: that one carries it, and the budget is not at
                        // fault.
                        Reservation::StatusChanged => return Ok(()),
                        Reservation::BudgetExhausted | Reservation::QuotaExhausted(_) => {
                            drop(slot);
                            return self
                                .finish_without_tx(
                                    request,
                                    codes::SPONSORSHIP_EXHAUSTED,
                                    "the fee rose beyond what the organisation's budget covers",
                                )
                                .await;
                        }
                    }
                }
                reserved = reserved.max(needed);
                bounds
            }
            Err(ChainError::Rejected { reason }) => {
                drop(slot);
                return self.finish_without_tx(request, codes::SIMULATION_FAILED, &reason).await;
            }
            Err(e) => return Err(unavailable(e)),
        };
        match self
            .submit(&mut slot, &request.id, &request.org_id, call, bounds, nonce, reserved)
            .await
        {
            Ok(_) | Err(RelayError::Rejected(_)) | Err(RelayError::AlreadySubmitted { .. }) => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn finish_without_tx(
        &self,
        request: &Request,
        code: &str,
        message: &str,
    ) -> Result<(), RelayError> {
        let inner = &self.inner;
        let status =
            if code == codes::EXPIRED { RequestStatus::Expired } else { RequestStatus::Rejected };
        let reserved: u128 = request.fee_fri.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        // Only from the status it was read in: a request another process moved on since
        // is that process's to finish, with the reservation it holds now.
        let done = inner
            .store
            .update_request_settling(
                &request.id,
                &[request.status],
                &RequestUpdate {
                    status: Some(status),
                    error_code: Some(code.to_string()),
                    error_message: Some(message.to_string()),
                    fee_fri: Some("0".into()),
                    ..RequestUpdate::default()
                },
                &request.org_id,
                reserved,
                0,
            )
            .await?;
        if done {
            self.mirror_failure(request).await?;
        }
        Ok(())
    }

    /// Counts a sponsored transaction's outcome towards its wallet's revert streak, which
    /// starts a cool-down once the organisation's threshold is reached.
    async fn record_outcome(&self, request: &Request, reverted: bool) -> Result<(), RelayError> {
        let Some(wallet_id) = &request.wallet_id else { return Ok(()) };
        let policy = self.policy(&request.org_id).await?;
        if policy.revert_cooldown_after == 0 {
            return Ok(());
        }
        self.inner
            .store
            .record_wallet_outcome(
                wallet_id,
                reverted,
                i64::from(policy.revert_cooldown_after),
                policy.revert_cooldown_seconds as i64,
                now_unix(),
            )
            .await?;
        Ok(())
    }

    async fn mirror_success(&self, request: &Request) -> Result<(), RelayError> {
        let store = &self.inner.store;
        let Some(wallet_id) = &request.wallet_id else { return Ok(()) };
        // An owner rotation: the store follows the chain at once, so the new owner signs
        // gaslessly from the next request on and the old one is refused (R2-08).
        if let (Ok(account), Ok(calls)) = (
            latchkey_core::parse_felt(&request.account),
            serde_json::from_str::<Vec<Call>>(&request.calls_json),
        ) {
            if let Some(owner) = rotated_owner(account, &calls) {
                store.set_owner_public_key(wallet_id, &hex(&owner)).await?;
                store.revoke_all_sessions(wallet_id).await?;
                self.forget_session(account, None);
            }
        }
        let purpose = Purpose::decode(&request.purpose);
        if let Ok(account) = latchkey_core::parse_felt(&request.account) {
            match &purpose {
                Purpose::RegisterSession(key) | Purpose::RevokeSession(key) => {
                    self.forget_session(account, Some(*key))
                }
                Purpose::RevokeAllSessions => self.forget_session(account, None),
                Purpose::User => {}
            }
        }
        let revoked = match purpose {
            Purpose::RegisterSession(key) => {
                store.set_session_state(wallet_id, &hex(&key), SessionState::Active).await?;
                return Ok(());
            }
            Purpose::RevokeSession(key) => {
                store.set_session_state(wallet_id, &hex(&key), SessionState::Revoked).await?;
                Some(key)
            }
            Purpose::RevokeAllSessions => {
                store.revoke_all_sessions(wallet_id).await?;
                None
            }
            Purpose::User => return Ok(()),
        };
        // A revoked session's encrypted key, stored for its end user, goes too.
        let Some(wallet) = store.wallet(wallet_id).await? else { return Ok(()) };
        let Some(subject) = &wallet.external_user_id else { return Ok(()) };
        if let Some(stored) = store.user_session(&wallet.org_id, subject).await? {
            let stored_key = serde_json::from_str::<serde_json::Value>(&stored.blob)
                .ok()
                .and_then(|v| v.get("publicKey").and_then(|k| k.as_str()).map(str::to_string))
                .and_then(|k| latchkey_core::parse_felt(&k).ok());
            if revoked.is_none() || stored_key == revoked {
                store.delete_user_session(&wallet.org_id, subject).await?;
            }
        }
        Ok(())
    }

    async fn mirror_failure(&self, request: &Request) -> Result<(), RelayError> {
        if let (Some(wallet_id), Purpose::RegisterSession(key)) =
            (&request.wallet_id, Purpose::decode(&request.purpose))
        {
            self.inner.store.set_session_state(wallet_id, &hex(&key), SessionState::Failed).await?;
        }
        Ok(())
    }
}

async fn monitor(relayer: Weak<Inner>) {
    loop {
        let interval = match relayer.upgrade() {
            Some(inner) => {
                let interval = inner.config.poll_interval;
                Relayer { inner }.reconcile().await;
                interval
            }
            None => return,
        };
        tokio::time::sleep(interval).await;
    }
}

fn felts_json(felts: &[Felt]) -> String {
    serde_json::Value::Array(felts.iter().map(|f| serde_json::Value::String(hex(f))).collect())
        .to_string()
}

fn parse_felts(json: &str) -> Result<Vec<Felt>, ()> {
    let values: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|_| ())?;
    values.iter().map(|v| felt_from_json(v).map_err(|_| ())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip() {
        for purpose in [
            Purpose::User,
            Purpose::RegisterSession(Felt::from(7u8)),
            Purpose::RevokeSession(Felt::from(9u8)),
            Purpose::RevokeAllSessions,
        ] {
            assert_eq!(Purpose::decode(&purpose.encode()), purpose);
        }
        assert_eq!(Purpose::decode("register_session:nonsense"), Purpose::User);
    }

    #[test]
    fn signature_json_round_trips() {
        let felts = vec![Felt::ONE, Felt::MAX];
        assert_eq!(parse_felts(&felts_json(&felts)), Ok(felts));
        assert!(parse_felts("[\"0xzz\"]").is_err());
    }
}
