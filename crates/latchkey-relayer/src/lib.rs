//! latchkey's relayer and paymaster, for any chain behind the port (`latchkey-chain`).
//!
//! For every gasless execution it:
//! 1. **prepares** a payload for an account and its calls (a random single-use nonce key,
//!    a short window, and as the only submitter the relayer account that will send it, so
//!    that an execution that reverts can never be replayed by anyone else) and records it
//!    as `prepared` (`admit.rs`);
//! 2. on submission **checks** that the payload is the one it issued for this wallet (or
//!    is otherwise well-formed for this account and chain), verifies the owner or session
//!    signature off-chain, evaluates the session policy and spending caps off-chain
//!    against the account's on-chain state, applies the organisation's sponsorship policy
//!    (sponsored methods, fee ceiling, daily quotas per wallet and end user, cool-down
//!    after repeated reverts), simulates — before taking a relayer account, under a
//!    timeout and a per-organisation concurrency cap — and reserves the quoted fee in the
//!    organisation's budget: a refusal costs nothing. Revocations and owner rotations
//!    always get through, whatever the budget;
//! 3. **records** the request durably (`recorded`) before anything is signed, then signs
//!    the relayer transaction, records its hash (`submitting`) and only then broadcasts
//!    it (`submitted`) (`submit.rs`);
//! 4. **follows** every transaction to a final state (`succeeded`, `reverted`,
//!    `rejected`, `expired`), settles the actual fee against the budget, and on restart
//!    reconciles every request that was in flight: a `recorded` request is submitted, a
//!    `submitting` one is looked up by its hash and re-broadcast (the very same signed
//!    transaction) if the node never saw it (`monitor.rs`); what a request changed on the
//!    account is mirrored into the store (`mirror.rs`).
//!
//! Account deployments take the same path: a `deploy` request is recorded before its
//! transaction is signed, so a crash never loses one or its fee reservation.
//!
//! A payload can run at most once: the store keeps one request per (chain, account,
//! nonce key), and the account contract refuses a spent nonce. Nonces of the relayer accounts
//! are cached per account and re-read from the chain on a nonce error, with a bounded
//! number of retries, so a stale nonce never jams the pool.

mod admit;
mod config;
mod error;
mod metrics;
mod mirror;
mod monitor;
mod pool;
mod purpose;
mod sponsorship;
mod submit;
mod tenants;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, Instant};

use latchkey_chain::{ChainBackend, SessionRecord, Signable, Unavailable};
use latchkey_store::{now_unix, Store};
use tokio::task::JoinHandle;

pub use config::RelayerConfig;
pub use error::RelayError;
pub use metrics::RelayerMetrics;
use pool::Pool;
pub use purpose::Purpose;
pub use sponsorship::{
    registered_keys, SessionGuard, SponsorshipPolicy, MAX_COOLDOWN_SECONDS, MAX_SPONSORED_METHODS,
};

/// The wallet an execution is for.
#[derive(Debug, Clone)]
pub struct WalletRef {
    /// Store id.
    pub id: String,
    /// Owning organisation.
    pub org_id: String,
    /// Account address, in the chain's canonical form.
    pub address: String,
    /// Owner public key, in the chain's canonical form.
    pub owner_public_key: String,
    /// The wallet's end user (external user id), for the per-user quota.
    pub external_user_id: Option<String>,
    /// Unix seconds until which the wallet's sponsored executions are refused.
    pub cooldown_until: Option<i64>,
}

/// A payload issued for signing.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The request record.
    pub request_id: String,
    /// What the signer signs.
    pub signable: Signable,
}

/// An accepted submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The request record.
    pub request_id: String,
    /// The relayer transaction.
    pub transaction_hash: String,
}

/// A deployed user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// Its address.
    pub address: String,
    /// The deploying transaction, `None` when the account already existed.
    pub transaction_hash: Option<String>,
}

/// The relayer of one chain. Cheap to clone; its background monitor stops with the last
/// clone.
#[derive(Debug, Clone)]
pub struct Relayer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    chain: Arc<dyn ChainBackend>,
    store: Store,
    pool: Pool,
    config: RelayerConfig,
    /// Requests a live call is handling; the monitor leaves them alone.
    in_progress: StdMutex<HashSet<String>>,
    /// Session records read from the chain, by (account, session key).
    sessions: StdMutex<HashMap<(String, String), (Instant, SessionRecord)>>,
    /// The chain's clock as last read, and when it was read.
    clock: StdMutex<Option<(Instant, u64)>>,
    /// When the relayer-account leases were last renewed.
    leases_renewed: StdMutex<Option<Instant>>,
    /// Held by the one lease renewal running.
    lease_pass: tokio::sync::Mutex<()>,
    /// Simulation slots per organisation.
    simulations: tenants::TenantSlots,
    /// Sponsorship policies read from the store, by organisation.
    policies: StdMutex<HashMap<String, (Instant, SponsorshipPolicy)>>,
    /// The monitor and the lease keeper.
    tasks: StdMutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for handle in tasks.drain(..) {
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

fn unavailable(error: Unavailable) -> RelayError {
    RelayError::Unavailable(error.0)
}

impl Relayer {
    /// Starts the relayer of `chain`: leases the chain's relayer accounts and starts the
    /// monitor, whose first pass reconciles whatever an earlier process left in flight.
    pub async fn start(
        chain: Arc<dyn ChainBackend>,
        store: Store,
        config: RelayerConfig,
    ) -> Result<Self, RelayError> {
        let accounts = chain.relayer_accounts();
        // Accounts leased by another live process are left to it. If every account is
        // leased elsewhere (say, by a process that was killed and whose leases have not
        // expired yet), wait for the leases to run out rather than fail.
        let deadline = tokio::time::Instant::now()
            + Duration::from_secs(config.lease_seconds.max(0) as u64 + 5);
        // With several instances, each takes its share; the monitor takes over the
        // accounts of an instance that stopped, and gives back what it holds beyond it.
        let share = config.share(accounts.len());
        let (leased, started) = loop {
            let started = Instant::now();
            let mut leased = Vec::new();
            for address in &accounts {
                if leased.len() >= share {
                    break;
                }
                let owner = &config.lease_owner;
                let chain_id = chain.id().as_str();
                if store
                    .lease_relayer(chain_id, address, owner, now_unix(), config.lease_seconds)
                    .await?
                {
                    leased.push(address.clone());
                }
            }
            if !leased.is_empty() {
                if leased.len() < share {
                    tracing::warn!(
                        in_use = leased.len(),
                        total = accounts.len(),
                        "some relayer accounts are leased by another process"
                    );
                }
                break (leased, started);
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
        let pool = Pool::new(accounts);
        for address in &leased {
            pool.hold(address, Some(started + config.lease_use()));
        }
        let inner = Arc::new(Inner {
            pool,
            chain,
            store,
            config,
            in_progress: StdMutex::new(HashSet::new()),
            sessions: StdMutex::new(HashMap::new()),
            clock: StdMutex::new(None),
            leases_renewed: StdMutex::new(Some(started)),
            lease_pass: tokio::sync::Mutex::new(()),
            simulations,
            policies: StdMutex::new(HashMap::new()),
            tasks: StdMutex::new(Vec::new()),
        });
        let relayer = Self { inner };
        relayer.reconcile().await;
        let interval = relayer.inner.config.poll_interval;
        let monitor = tokio::spawn(run_monitor(Arc::downgrade(&relayer.inner), interval));
        let keeper = tokio::spawn(keep_leases(Arc::downgrade(&relayer.inner)));
        if let Ok(mut tasks) = relayer.inner.tasks.lock() {
            tasks.extend([monitor, keeper]);
        }
        Ok(relayer)
    }

    /// Its counters (shared with every relayer started with the same
    /// [`RelayerConfig::metrics`]).
    pub fn metrics(&self) -> &RelayerMetrics {
        &self.inner.config.metrics
    }

    /// Addresses of the relayer accounts in use.
    pub fn relayer_addresses(&self) -> Vec<String> {
        self.inner.pool.addresses()
    }

    /// The chain's clock, read from the chain.
    async fn chain_now(&self) -> Result<u64, RelayError> {
        let now = self.inner.chain.now().await.map_err(unavailable)?;
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
}

/// The monitor: a reconciliation pass every `interval` (the start ran the first one),
/// until the last handle on the relayer is dropped.
async fn run_monitor(relayer: Weak<Inner>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        match relayer.upgrade() {
            Some(inner) => Relayer { inner }.reconcile().await,
            None => return,
        }
    }
}

/// The lease keeper: renews the relayer-account leases on time, whatever a
/// reconciliation pass is waiting for, until the last handle on the relayer is dropped.
async fn keep_leases(relayer: Weak<Inner>) {
    loop {
        tokio::time::sleep(LEASE_TICK).await;
        match relayer.upgrade() {
            Some(inner) => {
                if let Err(error) = (Relayer { inner }).renew_leases().await {
                    tracing::warn!(%error, "renewing the relayer leases failed; retrying");
                }
            }
            None => return,
        }
    }
}

/// How often the lease keeper looks whether the leases are due for renewal.
const LEASE_TICK: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests;
