//! What the relayer counts for `/metrics`: requests finished, by chain, kind and outcome;
//! the fees it paid; and what its reconciliation did.
//!
//! The counters are per process (Prometheus adds up the instances). One
//! [`RelayerMetrics`] is shared by the relayers of one server (pass the same one in each
//! [`RelayerConfig`](crate::RelayerConfig)) and registered once, with
//! [`RelayerMetrics::register`].

use std::sync::atomic::AtomicU64;

use latchkey_store::RequestStatus;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::Purpose;

/// What a sponsored transaction was for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values as Prometheus users write them
pub(crate) enum Kind {
    /// An execution (a session's or the owner's).
    execution,
    /// A session registration (or update).
    session_registration,
    /// One session's revocation.
    session_revocation,
    /// Every session's revocation.
    revoke_all,
    /// An account deployment.
    deployment,
}

impl Kind {
    /// The kind of a stored request's purpose.
    pub(crate) fn of(purpose: &Purpose) -> Self {
        match purpose {
            Purpose::User => Self::execution,
            Purpose::RegisterSession(_) => Self::session_registration,
            Purpose::RevokeSession(_) => Self::session_revocation,
            Purpose::RevokeAllSessions => Self::revoke_all,
            Purpose::Deploy(_) => Self::deployment,
        }
    }
}

/// What a reconciliation pass did to a request in flight.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub(crate) enum Action {
    /// Sent its signed transaction again (the node did not know it).
    rebroadcast,
    /// Found its transaction taken out of the chain by a reorg, and sends it again.
    reorg,
    /// Signed and sent a recorded request (again, or for the first time after a restart).
    resubmit,
    /// Finished an unsent payload whose window closed.
    expire,
    /// Charged a payload that a transaction of someone else executed.
    spent_elsewhere,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FinishedLabels {
    chain: String,
    kind: Kind,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeeLabels {
    chain: String,
    unit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    chain: String,
    action: Action,
}

/// The relayer's counters. Clones share them.
#[derive(Clone, Debug, Default)]
pub struct RelayerMetrics {
    finished: Family<FinishedLabels, Counter>,
    fees: Family<FeeLabels, Counter<f64, AtomicU64>>,
    actions: Family<ActionLabels, Counter>,
}

impl RelayerMetrics {
    /// Adds the counters to `registry` (once per registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "latchkey_requests_finished",
            "Sponsored transactions finished by this process, by chain, kind and final status (succeeded, reverted, rejected, expired)",
            self.finished.clone(),
        );
        registry.register(
            "latchkey_sponsored_fees",
            "Fees paid for sponsored transactions, in the chain's fee unit (FRI, WEI)",
            self.fees.clone(),
        );
        registry.register(
            "latchkey_reconciliation_actions",
            "What reconciliation did to requests in flight: re-broadcasts, reorgs, resubmissions, expiries, payloads spent elsewhere",
            self.actions.clone(),
        );
    }

    /// Counts a request that reached `status`, charged `fee` (`unit`).
    pub(crate) fn finished(
        &self,
        chain: &str,
        purpose: &str,
        status: RequestStatus,
        fee: u128,
        unit: &str,
    ) {
        let kind = Kind::of(&Purpose::decode(purpose));
        self.finished
            .get_or_create(&FinishedLabels {
                chain: chain.to_string(),
                kind,
                outcome: status.as_str().to_string(),
            })
            .inc();
        if fee > 0 {
            self.fees
                .get_or_create(&FeeLabels { chain: chain.to_string(), unit: unit.to_string() })
                .inc_by(fee as f64);
        }
    }

    /// Counts one reconciliation action.
    pub(crate) fn action(&self, chain: &str, action: Action) {
        self.actions.get_or_create(&ActionLabels { chain: chain.to_string(), action }).inc();
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn counts_are_encoded_with_their_labels() {
        let metrics = RelayerMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let purpose = Purpose::User.encode();
        metrics.finished("eip155:31337", &purpose, RequestStatus::Succeeded, 1_500, "WEI");
        metrics.finished("eip155:31337", &purpose, RequestStatus::Succeeded, 500, "WEI");
        metrics.finished("eip155:31337", &purpose, RequestStatus::Expired, 0, "WEI");
        metrics.action("eip155:31337", Action::rebroadcast);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains(
            "latchkey_requests_finished_total{chain=\"eip155:31337\",kind=\"execution\",outcome=\"succeeded\"} 2\n"
        ), "{text}");
        assert!(text.contains(
            "latchkey_requests_finished_total{chain=\"eip155:31337\",kind=\"execution\",outcome=\"expired\"} 1\n"
        ), "{text}");
        assert!(
            text.contains(
                "latchkey_sponsored_fees_total{chain=\"eip155:31337\",unit=\"WEI\"} 2000.0\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "latchkey_reconciliation_actions_total{chain=\"eip155:31337\",action=\"rebroadcast\"} 1\n"
        ), "{text}");
    }
}
