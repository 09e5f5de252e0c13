//! Per-organisation concurrency caps: each organisation has its own slots, so one tenant's
//! slow or failing simulations can take only its own and never hold up another tenant's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::RelayError;

/// `cap` concurrent slots per organisation, created on first use.
#[derive(Debug)]
pub(crate) struct TenantSlots {
    cap: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl TenantSlots {
    pub(crate) fn new(cap: usize) -> Self {
        Self { cap: cap.max(1), slots: Mutex::new(HashMap::new()) }
    }

    /// A slot of `org_id`, waiting for one until `deadline`: `SimulationBusy` when none
    /// frees in time.
    pub(crate) async fn acquire(
        &self,
        org_id: &str,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, RelayError> {
        let semaphore = {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| RelayError::Unavailable("relayer state poisoned".into()))?;
            slots
                .entry(org_id.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.cap)))
                .clone()
        };
        match tokio::time::timeout_at(deadline, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(RelayError::Unavailable("simulation slots closed".into())),
            Err(_) => Err(RelayError::SimulationBusy),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_tenant_at_its_cap_does_not_hold_up_another() {
        let slots = TenantSlots::new(2);
        let soon = || Instant::now() + Duration::from_millis(50);
        let a1 = slots.acquire("org-a", soon()).await.unwrap();
        let _a2 = slots.acquire("org-a", soon()).await.unwrap();
        // Org A is at its cap: a third waits, then is refused as busy ...
        let refused = slots.acquire("org-a", soon()).await.map(drop).unwrap_err();
        assert_eq!(refused.code(), "TOO_MANY_SIMULATIONS");
        // ... while org B still gets both of its own slots at once.
        let _b1 = slots.acquire("org-b", soon()).await.unwrap();
        let _b2 = slots.acquire("org-b", soon()).await.unwrap();
        // A slot org A frees is org A's again.
        drop(a1);
        let _a3 = slots.acquire("org-a", soon()).await.unwrap();
    }

    #[tokio::test]
    async fn a_cap_of_zero_is_one_slot() {
        let slots = TenantSlots::new(0);
        let soon = || Instant::now() + Duration::from_millis(10);
        let _only = slots.acquire("org", soon()).await.unwrap();
        assert!(slots.acquire("org", soon()).await.is_err());
    }
}
