//! The relayer accounts: one signing slot each, with a cached nonce. A slot is held for
//! the whole sign-and-broadcast of one transaction, so nonces are handed out in order
//! per account and concurrency grows with the number of accounts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};

use latchkey_core::{Felt, SigningKey};
use latchkey_starknet::{ChainClient, KeyAccount};
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::RelayError;

/// One relayer account.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) address: Felt,
    pub(crate) account: KeyAccount,
    state: Arc<Mutex<SlotState>>,
    /// The nonce the slot would use next as last known, readable without taking the slot
    /// (fee estimates run before a slot is taken).
    hint: Arc<StdMutex<Option<Felt>>>,
}

/// What a slot remembers between transactions.
#[derive(Debug, Default)]
pub(crate) struct SlotState {
    /// The next nonce to use; `None` means "ask the chain".
    nonce: Option<Felt>,
}

/// Exclusive use of one slot.
#[derive(Debug)]
pub(crate) struct SlotGuard {
    pub(crate) address: Felt,
    pub(crate) account: KeyAccount,
    state: OwnedMutexGuard<SlotState>,
    hint: Arc<StdMutex<Option<Felt>>>,
    _permit: OwnedSemaphorePermit,
}

impl SlotGuard {
    /// The nonce to use next, fetched from the chain when unknown.
    pub(crate) async fn nonce(&mut self, chain: &ChainClient) -> Result<Felt, RelayError> {
        match self.state.nonce {
            Some(nonce) => Ok(nonce),
            None => {
                let nonce = chain
                    .nonce(self.address)
                    .await
                    .map_err(|e| RelayError::Unavailable(format!("relayer nonce: {e}")))?;
                self.set(Some(nonce));
                Ok(nonce)
            }
        }
    }

    fn set(&mut self, nonce: Option<Felt>) {
        self.state.nonce = nonce;
        if let Ok(mut hint) = self.hint.lock() {
            *hint = nonce;
        }
    }

    /// The transaction with `used` was accepted: the next one uses `used + 1`.
    pub(crate) fn advance(&mut self, used: Felt) {
        self.set(Some(used + Felt::ONE));
    }

    /// The node disagreed about the nonce (or the outcome is unknown): re-read it.
    pub(crate) fn forget_nonce(&mut self) {
        self.set(None);
    }
}

/// The pool of relayer accounts.
#[derive(Debug)]
pub(crate) struct Pool {
    slots: Vec<Slot>,
    permits: Arc<Semaphore>,
    /// Round-robin position for binding prepared executions to relayer accounts.
    next: AtomicUsize,
}

impl Pool {
    pub(crate) fn new(chain: &ChainClient, accounts: Vec<(Felt, SigningKey)>) -> Self {
        let slots: Vec<Slot> = accounts
            .into_iter()
            .map(|(address, key)| Slot {
                address,
                account: KeyAccount::owner(chain, address, key),
                state: Arc::new(Mutex::new(SlotState::default())),
                hint: Arc::new(StdMutex::new(None)),
            })
            .collect();
        let permits = Arc::new(Semaphore::new(slots.len()));
        Self { slots, permits, next: AtomicUsize::new(0) }
    }

    /// The relayer account the next prepared execution is bound to (round robin).
    pub(crate) fn next_address(&self) -> Result<Felt, RelayError> {
        if self.slots.is_empty() {
            return Err(RelayError::Unavailable("no relayer account".into()));
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        Ok(self.slots[index].address)
    }

    /// An account to estimate a transaction from, without taking its slot: the slot of
    /// `preferred` when this pool holds it, another otherwise, with the nonce it would use
    /// next (read from the chain when unknown).
    pub(crate) async fn estimating_account(
        &self,
        preferred: Option<Felt>,
        chain: &ChainClient,
    ) -> Result<(Felt, KeyAccount, Felt), RelayError> {
        let slot = match preferred.and_then(|a| self.slots.iter().find(|s| s.address == a)) {
            Some(slot) => slot,
            None => {
                let address = self.next_address()?;
                self.slots
                    .iter()
                    .find(|s| s.address == address)
                    .ok_or_else(|| RelayError::Unavailable("no relayer account".into()))?
            }
        };
        let hint = slot.hint.lock().ok().and_then(|hint| *hint);
        let nonce = match hint {
            Some(nonce) => nonce,
            None => {
                let nonce = chain
                    .nonce(slot.address)
                    .await
                    .map_err(|e| RelayError::Unavailable(format!("relayer nonce: {e}")))?;
                if let Ok(mut hint) = slot.hint.lock() {
                    hint.get_or_insert(nonce);
                }
                nonce
            }
        };
        Ok((slot.address, slot.account.clone(), nonce))
    }

    /// Forgets the nonce hint of `address` (an estimate found it stale).
    pub(crate) fn forget_nonce_hint(&self, address: Felt) {
        if let Some(slot) = self.slots.iter().find(|s| s.address == address) {
            if let Ok(mut hint) = slot.hint.lock() {
                *hint = None;
            }
        }
    }

    pub(crate) fn addresses(&self) -> Vec<Felt> {
        self.slots.iter().map(|s| s.address).collect()
    }

    /// Takes a free slot (waiting for one), or the slot of `required` when the outside
    /// execution names a specific relayer as its caller.
    pub(crate) async fn acquire(&self, required: Option<Felt>) -> Result<SlotGuard, RelayError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| RelayError::Unavailable("relayer pool closed".into()))?;
        if let Some(address) = required {
            let slot = self
                .slots
                .iter()
                .find(|s| s.address == address)
                .ok_or_else(|| RelayError::CallerNotAllowed(format!("{address:#x}")))?;
            let state = slot.state.clone().lock_owned().await;
            return Ok(SlotGuard {
                address,
                account: slot.account.clone(),
                state,
                hint: slot.hint.clone(),
                _permit: permit,
            });
        }
        // A permit guarantees a slot that no other permit holder has; a caller waiting
        // for a specific slot may briefly hold one, so fall back to waiting on the first.
        for slot in &self.slots {
            if let Ok(state) = slot.state.clone().try_lock_owned() {
                return Ok(SlotGuard {
                    address: slot.address,
                    account: slot.account.clone(),
                    state,
                    hint: slot.hint.clone(),
                    _permit: permit,
                });
            }
        }
        let slot = self
            .slots
            .first()
            .ok_or_else(|| RelayError::Unavailable("no relayer account".into()))?;
        let state = slot.state.clone().lock_owned().await;
        Ok(SlotGuard {
            address: slot.address,
            account: slot.account.clone(),
            state,
            hint: slot.hint.clone(),
            _permit: permit,
        })
    }

    /// The slot for a relayer address, to re-broadcast a transaction it signed.
    pub(crate) async fn acquire_address(&self, address: Felt) -> Result<SlotGuard, RelayError> {
        self.acquire(Some(address)).await
    }
}
