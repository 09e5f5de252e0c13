//! The relayer's settings.

use std::time::Duration;

use crate::RelayerMetrics;

/// Relayer settings.
#[derive(Debug, Clone)]
pub struct RelayerConfig {
    /// Validity of the payloads the relayer issues, in seconds.
    pub window_seconds: u64,
    /// Longest window accepted for payloads the relayer did not issue.
    pub max_window_seconds: u64,
    /// A submission must leave at least this much of its window.
    pub min_remaining_seconds: u64,
    /// Most calls in one execution.
    pub max_calls: usize,
    /// Most calldata words over all calls of one execution.
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
    /// Instances sharing the relayer accounts (through one database): each leases its
    /// share of them, takes over the accounts of one whose leases expired (it stopped)
    /// to finish what it left in flight, and gives back idle accounts beyond its share.
    pub instances: usize,
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
    /// How long an account deployment may take to land.
    pub deploy_timeout: Duration,
    /// Blocks the chain must be past a transaction's block before it is final (fee
    /// settled, effects mirrored). 0 trusts the node's acceptance; a chain that rules
    /// finality itself (Starknet's acceptance on L1) is final sooner.
    pub finality_depth: u64,
    /// Where it counts what it does (`/metrics`); the relayers of one server share one.
    pub metrics: RelayerMetrics,
}

impl RelayerConfig {
    /// How long after a lease is written this instance uses the account: three quarters
    /// of the lease, so it has stopped before another instance may take the lease over.
    pub fn lease_use(&self) -> Duration {
        Duration::from_millis(self.lease_seconds.max(0) as u64 * 750)
    }

    /// The relayer accounts one instance leases of `total`.
    pub fn share(&self, total: usize) -> usize {
        total.div_ceil(self.instances.max(1))
    }
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
            instances: 1,
            session_cache: Duration::from_secs(1),
            simulation_timeout: Duration::from_secs(15),
            max_simulations_per_org: 4,
            max_session_seconds: 86_400,
            handover_wait: Duration::from_secs(10),
            deploy_timeout: Duration::from_secs(120),
            finality_depth: 0,
            metrics: RelayerMetrics::default(),
        }
    }
}
