//! The relayer accounts: one signing slot each, with a cached nonce. A slot is held for
//! the whole sign-and-broadcast of one transaction, so nonces are handed out in order
//! per account and concurrency grows with the number of accounts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use latchkey_chain::ChainBackend;
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::RelayError;

/// One relayer account.
#[derive(Debug)]
struct Slot {
    address: String,
    state: Arc<Mutex<SlotState>>,
    /// The nonce the slot would use next as last known, readable without taking the slot
    /// (fee estimates run before a slot is taken).
    hint: Arc<StdMutex<Option<u64>>>,
    /// Until when the account is passed over: the node said it cannot pay.
    unfunded_until: StdMutex<Option<Instant>>,
    /// Until when this instance may use the account: its lease as last renewed, less a
    /// margin, so that it stops before another instance could take the lease over (only
    /// held accounts are used). `None`: not held.
    lease_until: StdMutex<Option<Instant>>,
}

impl Slot {
    fn is_held(&self, now: Instant) -> bool {
        self.lease_until.lock().ok().and_then(|until| *until).is_some_and(|until| until > now)
    }

    fn is_unfunded(&self, now: Instant) -> bool {
        self.unfunded_until.lock().ok().and_then(|until| *until).is_some_and(|until| until > now)
    }
}

/// How long an account the node said cannot pay is passed over before it is tried again
/// (it may have been funded meanwhile).
pub(crate) const UNFUNDED_PAUSE: Duration = Duration::from_secs(30);

/// What a slot remembers between transactions.
#[derive(Debug, Default)]
pub(crate) struct SlotState {
    /// The next nonce to use; `None` means "ask the chain".
    nonce: Option<u64>,
}

/// Exclusive use of one slot.
#[derive(Debug)]
pub(crate) struct SlotGuard {
    pub(crate) address: String,
    state: OwnedMutexGuard<SlotState>,
    hint: Arc<StdMutex<Option<u64>>>,
    _permit: OwnedSemaphorePermit,
}

async fn chain_nonce(chain: &dyn ChainBackend, address: &str) -> Result<u64, RelayError> {
    chain
        .relayer_nonce(address)
        .await
        .map_err(|e| RelayError::Unavailable(format!("relayer nonce: {e}")))
}

impl SlotGuard {
    /// The nonce to use next, fetched from the chain when unknown.
    pub(crate) async fn nonce(&mut self, chain: &dyn ChainBackend) -> Result<u64, RelayError> {
        match self.state.nonce {
            Some(nonce) => Ok(nonce),
            None => {
                let nonce = chain_nonce(chain, &self.address).await?;
                self.set(Some(nonce));
                Ok(nonce)
            }
        }
    }

    fn set(&mut self, nonce: Option<u64>) {
        self.state.nonce = nonce;
        if let Ok(mut hint) = self.hint.lock() {
            *hint = nonce;
        }
    }

    /// The transaction with `used` was accepted: the next one uses `used + 1`.
    pub(crate) fn advance(&mut self, used: u64) {
        self.set(Some(used.saturating_add(1)));
    }

    /// The node disagreed about the nonce (or the outcome is unknown): re-read it.
    pub(crate) fn forget_nonce(&mut self) {
        self.set(None);
    }
}

/// The pool of relayer accounts: every account this instance may sign for, of which it
/// uses those whose lease it holds.
#[derive(Debug)]
pub(crate) struct Pool {
    slots: Vec<Slot>,
    permits: Arc<Semaphore>,
    /// Round-robin position for binding prepared executions to relayer accounts.
    next: AtomicUsize,
}

impl Pool {
    pub(crate) fn new(addresses: Vec<String>) -> Self {
        let slots: Vec<Slot> = addresses
            .into_iter()
            .map(|address| Slot {
                address,
                state: Arc::new(Mutex::new(SlotState::default())),
                hint: Arc::new(StdMutex::new(None)),
                unfunded_until: StdMutex::new(None),
                lease_until: StdMutex::new(None),
            })
            .collect();
        let permits = Arc::new(Semaphore::new(slots.len()));
        Self { slots, permits, next: AtomicUsize::new(0) }
    }

    /// Uses `address` until `until` (its lease was won or renewed), or stops using it
    /// (`None`: the lease was lost or given back). A slot held again after a lapse forgets
    /// its nonce: another instance may have used the account meanwhile.
    pub(crate) fn hold(&self, address: &str, until: Option<Instant>) {
        if let Some(slot) = self.slots.iter().find(|s| s.address == address) {
            if until.is_some() && !slot.is_held(Instant::now()) {
                if let Ok(mut state) = slot.state.try_lock() {
                    state.nonce = None;
                }
                if let Ok(mut hint) = slot.hint.lock() {
                    *hint = None;
                }
            }
            if let Ok(mut lease) = slot.lease_until.lock() {
                *lease = until;
            }
        }
    }

    /// Every account this instance may sign for, held or not.
    pub(crate) fn configured(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.address.clone()).collect()
    }

    /// Whether the account's slot is free right now (no transaction being signed or
    /// sent from it).
    pub(crate) fn is_idle(&self, address: &str) -> bool {
        self.slot(address).is_some_and(|slot| slot.state.try_lock().is_ok())
    }

    /// The relayer account the next prepared execution is bound to (round robin).
    pub(crate) fn next_address(&self) -> Result<String, RelayError> {
        let now = Instant::now();
        if !self.slots.iter().any(|s| s.is_held(now)) {
            return Err(RelayError::Unavailable("this instance holds no relayer account".into()));
        }
        for _ in 0..self.slots.len() {
            let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
            let slot = &self.slots[index];
            if slot.is_held(now) && !slot.is_unfunded(now) {
                return Ok(slot.address.clone());
            }
        }
        Err(RelayError::Unfunded(
            "the node refuses every relayer account's fees; the operator must fund them".into(),
        ))
    }

    /// Passes `address` over for a while: the node said it cannot pay.
    pub(crate) fn mark_unfunded(&self, address: &str) {
        if let Some(slot) = self.slot(address) {
            tracing::error!(relayer = %address, "the relayer account cannot pay for transactions; fund it (passed over meanwhile)");
            if let Ok(mut until) = slot.unfunded_until.lock() {
                *until = Some(Instant::now() + UNFUNDED_PAUSE);
            }
        }
    }

    /// The slot of a held account.
    fn slot(&self, address: &str) -> Option<&Slot> {
        let now = Instant::now();
        self.slots.iter().find(|s| s.address == address && s.is_held(now))
    }

    /// The held slots.
    fn held(&self) -> impl Iterator<Item = &Slot> {
        let now = Instant::now();
        self.slots.iter().filter(move |s| s.is_held(now))
    }

    /// Whether this pool holds `address`.
    pub(crate) fn holds(&self, address: &str) -> bool {
        self.slot(address).is_some()
    }

    /// An account to estimate a transaction from, without taking its slot: the slot of
    /// `preferred` when this pool holds it, another otherwise, with the nonce it would use
    /// next (read from the chain when unknown).
    pub(crate) async fn estimating_account(
        &self,
        preferred: Option<&str>,
        chain: &dyn ChainBackend,
    ) -> Result<(String, u64), RelayError> {
        // An estimate needs no lease: a payload bound to an account another instance
        // holds is estimated from that account all the same.
        let slot = match preferred.and_then(|a| self.slots.iter().find(|s| s.address == a)) {
            Some(slot) => slot,
            None => {
                let address = self.next_address()?;
                self.slot(&address)
                    .ok_or_else(|| RelayError::Unavailable("no relayer account".into()))?
            }
        };
        let hint = slot.hint.lock().ok().and_then(|hint| *hint);
        let nonce = match hint {
            Some(nonce) => nonce,
            None => {
                let nonce = chain_nonce(chain, &slot.address).await?;
                if let Ok(mut hint) = slot.hint.lock() {
                    hint.get_or_insert(nonce);
                }
                nonce
            }
        };
        Ok((slot.address.clone(), nonce))
    }

    /// Forgets the nonce hint of `address` (an estimate found it stale).
    pub(crate) fn forget_nonce_hint(&self, address: &str) {
        if let Some(slot) = self.slot(address) {
            if let Ok(mut hint) = slot.hint.lock() {
                *hint = None;
            }
        }
    }

    /// The accounts this instance leased, held now or lapsed since its last renewal.
    pub(crate) fn leased(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter(|s| s.lease_until.lock().ok().is_some_and(|until| until.is_some()))
            .map(|s| s.address.clone())
            .collect()
    }

    /// The held accounts.
    pub(crate) fn addresses(&self) -> Vec<String> {
        self.held().map(|s| s.address.clone()).collect()
    }

    fn guard(
        slot: &Slot,
        state: OwnedMutexGuard<SlotState>,
        permit: OwnedSemaphorePermit,
    ) -> SlotGuard {
        SlotGuard { address: slot.address.clone(), state, hint: slot.hint.clone(), _permit: permit }
    }

    /// Takes a free slot (waiting for one), or the slot of `required` when the payload
    /// names a specific relayer account as the one to submit it.
    pub(crate) async fn acquire(&self, required: Option<&str>) -> Result<SlotGuard, RelayError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RelayError::Unavailable("relayer pool closed".into()))?;
        if let Some(address) = required {
            let slot =
                self.slot(address).ok_or_else(|| RelayError::CallerNotAllowed(address.into()))?;
            let state = slot.state.clone().lock_owned().await;
            return Ok(Self::guard(slot, state, permit));
        }
        // A permit guarantees a slot that no other permit holder has; a caller waiting
        // for a specific slot may briefly hold one, so fall back to waiting on the first.
        // Accounts that cannot pay are passed over while another is free.
        let now = Instant::now();
        for slot in self.held().filter(|slot| !slot.is_unfunded(now)) {
            if let Ok(state) = slot.state.clone().try_lock_owned() {
                return Ok(Self::guard(slot, state, permit));
            }
        }
        for slot in self.held() {
            if let Ok(state) = slot.state.clone().try_lock_owned() {
                return Ok(Self::guard(slot, state, permit));
            }
        }
        let slot = self.held().next().ok_or_else(|| {
            RelayError::Unavailable("this instance holds no relayer account".into())
        })?;
        let state = slot.state.clone().lock_owned().await;
        Ok(Self::guard(slot, state, permit))
    }
}
