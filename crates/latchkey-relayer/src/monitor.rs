//! Monitoring: following every transaction to its end, re-broadcasting what the node
//! lost, re-sending what a crash or a nonce race left recorded, expiring what was never
//! submitted, and keeping the relayer-account leases.
//!
//! A transaction is final once the chain is [`crate::RelayerConfig::finality_depth`]
//! blocks past the one it is in (or the chain itself calls it final). Until then it is
//! `pre_confirmed` or `accepted`: its fee is not settled and its effects (a session
//! registered or revoked) are not mirrored, and each pass looks its receipt up again. When
//! a reorg takes it out of the chain, it goes back to `submitted` and the same signed
//! transaction is sent again; if it can no longer run, it ends with the reason.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use latchkey_chain::{is_revocation, Inclusion, Job, SendError, SimulationError};
use latchkey_core::codes;
use latchkey_store::{now_unix, Request, RequestStatus, RequestUpdate, Reservation};
use serde_json::Value;

use crate::metrics::Action;
use crate::{unavailable, Purpose, RelayError, Relayer};

/// How long a receipt gets to show up once a transaction's nonce is seen used: this many
/// lookups, this far apart.
const LANDING_CHECKS: u32 = 20;
const LANDING_PAUSE: Duration = Duration::from_millis(50);

/// In-flight transactions the monitor follows at once.
const FOLLOWERS: usize = 8;

/// The statuses of a request whose transaction was sent and is not final.
pub(crate) const IN_FLIGHT: [RequestStatus; 4] = [
    RequestStatus::Submitting,
    RequestStatus::Submitted,
    RequestStatus::PreConfirmed,
    RequestStatus::Accepted,
];

impl Relayer {
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

        let in_flight =
            inner.store.requests_with_status(inner.chain.id().as_str(), &IN_FLIGHT, 200).await?;
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
        let chain = inner.chain.id().as_str();
        let recorded =
            inner.store.requests_with_status(chain, &[RequestStatus::Recorded], 50).await?;
        let mut alive = HashMap::new();
        for request in recorded.into_iter().filter(|r| !busy.contains(&r.id)) {
            self.resubmit(&request, chain_now, &mut alive).await?;
        }

        let prepared =
            inner.store.requests_with_status(chain, &[RequestStatus::Prepared], 200).await?;
        for request in
            prepared.into_iter().filter(|r| r.execute_before < chain_now && !busy.contains(&r.id))
        {
            if self.spent_elsewhere(&request).await? {
                continue;
            }
            let expired = self
                .finish_unsent(
                    &request,
                    &[RequestStatus::Prepared],
                    RequestStatus::Expired,
                    codes::TYPED_DATA_EXPIRED,
                    "never submitted before its window closed",
                )
                .await?;
            if expired {
                inner.config.metrics.action(chain, Action::expire);
            }
        }
        Ok(())
    }

    /// Whether another live instance handles `request` (a call of its own recorded it and
    /// is sending it): left to that instance, or two instances would send it at once.
    /// Its requests are taken over once it is gone (its relayer leases lapsed). `alive`
    /// remembers the instances looked up in this pass.
    async fn handled_elsewhere(
        &self,
        request: &Request,
        alive: &mut HashMap<String, bool>,
    ) -> Result<bool, RelayError> {
        let me = self.inner.config.lease_owner.as_str();
        let Some(handler) = request.handler.as_deref().filter(|h| *h != me) else {
            return Ok(false);
        };
        if let Some(known) = alive.get(handler) {
            return Ok(*known);
        }
        let live = self.inner.store.instance_alive(handler, now_unix()).await?;
        alive.insert(handler.to_string(), live);
        Ok(live)
    }

    /// A prepared payload that committed the sponsor (its reservation is its fee) and
    /// whose nonce someone else's transaction spent: the sponsor paid for it, so its
    /// reservation is charged in full, and it is finished as expired with
    /// `SUBMITTED_ELSEWHERE`. Called once its window has closed, when no one can submit it
    /// any more.
    async fn spent_elsewhere(&self, request: &Request) -> Result<bool, RelayError> {
        let inner = &self.inner;
        let committed: u128 = request.fee.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        if committed == 0
            || !inner
                .chain
                .is_spent(&request.account, &request.oe_nonce)
                .await
                .map_err(unavailable)?
        {
            return Ok(false);
        }
        tracing::warn!(request = %request.id, "a sponsored payload was executed by someone else's transaction");
        let charged = self
            .settle(
                request,
                &[RequestStatus::Prepared],
                &RequestUpdate {
                    status: Some(RequestStatus::Expired),
                    error_code: Some(codes::SUBMITTED_ELSEWHERE.to_string()),
                    error_message: Some(
                        "a transaction latchkey did not send executed it; its sponsorship is charged at its maximum"
                            .into(),
                    ),
                    ..RequestUpdate::default()
                },
                committed,
                committed,
            )
            .await?;
        if charged {
            inner.config.metrics.action(inner.chain.id().as_str(), Action::spent_elsewhere);
        }
        Ok(true)
    }

    /// Renews the relayer-account leases once a third of their length has passed. The
    /// lease keeper calls it on its own schedule, so that a slow reconciliation pass never
    /// lets a lease lapse; a pass calls it too, and whichever comes second finds it done.
    pub(crate) async fn renew_leases(&self) -> Result<(), RelayError> {
        let inner = &self.inner;
        let Ok(_pass) = inner.lease_pass.try_lock() else { return Ok(()) };
        let every = Duration::from_secs((inner.config.lease_seconds.max(0) / 3) as u64);
        let due = inner
            .leases_renewed
            .lock()
            .map(|last| last.is_none_or(|at| at.elapsed() >= every))
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let (store, chain, me) =
            (&inner.store, inner.chain.id().as_str(), inner.config.lease_owner.as_str());
        let ttl = inner.config.lease_seconds;
        // Used only while the lease surely runs: it was written after `started`, so it
        // lasts until at least `started + ttl`; this instance stops a quarter earlier.
        let started = Instant::now();
        let until = Some(started + inner.config.lease_use());
        // Renew what is leased (held, or lapsed here since the last renewal); a lease lost
        // meanwhile (this process stalled past it, and another instance took the account)
        // means the account is no longer used here.
        let leased = inner.pool.leased();
        for address in &leased {
            if store.lease_relayer(chain, address, me, now_unix(), ttl).await? {
                inner.pool.hold(address, until);
            } else {
                tracing::warn!(relayer = %address, "lost the relayer account's lease; no longer using it");
                inner.pool.hold(address, None);
            }
        }
        // Take over the accounts of an instance whose leases expired (it stopped), to
        // finish what it left in flight; take free accounts up to this instance's share.
        let configured = inner.pool.configured();
        let share = inner.config.share(configured.len());
        for address in configured.iter().filter(|a| !leased.contains(a)) {
            let now = now_unix();
            let (abandoned, free) = match store.relayer_lease(chain, address).await? {
                None | Some((None, _)) => (false, true),
                Some((Some(owner), expires)) => {
                    (owner != me && expires.is_none_or(|at| at <= now), false)
                }
            };
            let wanted = abandoned || (free && inner.pool.addresses().len() < share);
            if wanted && store.lease_relayer(chain, address, me, now, ttl).await? {
                if abandoned {
                    tracing::warn!(relayer = %address, "took over a relayer account whose instance stopped");
                }
                inner.pool.hold(address, until);
            }
        }
        // Give back idle accounts beyond the share, for an instance that (re)starts.
        let mut held = inner.pool.addresses();
        while held.len() > share {
            let Some(address) = held.pop() else { break };
            if inner.pool.is_idle(&address)
                && store.in_flight_on_relayer(chain, &address).await? == 0
            {
                inner.pool.hold(&address, None);
                store.release_relayer(chain, &address, me).await?;
            }
        }
        if let Ok(mut last) = inner.leases_renewed.lock() {
            *last = Some(started);
        }
        Ok(())
    }

    /// Looks a sent transaction up: finalises it once final, marks how far it is while
    /// it is not, and re-broadcasts it if the node does not know it (or no longer does:
    /// a reorg).
    pub(crate) async fn follow(&self, request: &Request) -> Result<(), RelayError> {
        let inner = &self.inner;
        let chain = inner.chain.as_ref();
        let Some(hash) = request.tx_hash.clone() else { return Ok(()) };
        let reserved: u128 = request.fee.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        let mut receipt = chain.receipt(&hash).await.map_err(unavailable)?;
        let mut landed = None;
        if receipt.is_none() {
            // A hash signed earlier for this request may be the one that landed.
            for earlier in request.tx_hashes().iter().rev().skip(1) {
                if let Some(found) = chain.receipt(earlier).await.map_err(unavailable)? {
                    receipt = Some(found);
                    landed = Some(earlier.clone());
                    break;
                }
            }
        }
        let Some(outcome) = receipt else {
            if matches!(request.status, RequestStatus::PreConfirmed | RequestStatus::Accepted) {
                // It was executed, and is gone: a reorg.
                tracing::warn!(request = %request.id, tx = %hash, "a reorg took the transaction out of the chain; sending it again");
                let back = inner
                    .store
                    .transition_request(
                        &request.id,
                        &[RequestStatus::PreConfirmed, RequestStatus::Accepted],
                        RequestStatus::Submitted,
                    )
                    .await?;
                if !back {
                    return Ok(());
                }
                inner.config.metrics.action(chain.id().as_str(), Action::reorg);
                let request = Request { status: RequestStatus::Submitted, ..request.clone() };
                return self.rebroadcast(&request).await;
            }
            return self.rebroadcast(request).await;
        };
        let depth = inner.config.finality_depth;
        let head = match outcome.inclusion {
            Inclusion::Block(_) if depth > 0 => chain.head().await.map_err(unavailable)?,
            _ => 0,
        };
        // The receipt was read before the head: a reorg in between may have taken its
        // block out while new blocks made the head deep. Final only if a receipt read
        // after the head is as deep (a reorg shallower than the finality depth cannot
        // undo a block that deep at the time the head was read).
        let outcome = match outcome.inclusion {
            Inclusion::Block(_) if depth > 0 && outcome.inclusion.is_final(head, depth) => {
                let landed_hash = landed.as_deref().unwrap_or(&hash);
                match chain.receipt(landed_hash).await.map_err(unavailable)? {
                    Some(again) if again.inclusion.is_final(head, depth) => again,
                    // Gone or shallower since: the next pass looks again.
                    _ => return Ok(()),
                }
            }
            _ => outcome,
        };
        if !outcome.inclusion.is_final(head, depth) {
            let status = match outcome.inclusion {
                Inclusion::PreConfirmed => RequestStatus::PreConfirmed,
                Inclusion::Block(_) | Inclusion::Final => RequestStatus::Accepted,
            };
            if status != request.status || landed.is_some() {
                let update = RequestUpdate {
                    status: Some(status),
                    tx_hash: landed,
                    ..RequestUpdate::default()
                };
                inner.store.update_request(&request.id, &IN_FLIGHT, &update).await?;
            }
            return Ok(());
        }
        let from = IN_FLIGHT;
        let fee = outcome.fee;
        let reverted = outcome.reverted.is_some();
        // The mirror first (it is idempotent), so that whoever sees the request finished
        // also sees what it changed.
        if reverted {
            self.mirror_failure(request).await?;
        } else {
            self.mirror_success(request).await?;
        }
        let update = match outcome.reverted {
            None => RequestUpdate {
                status: Some(RequestStatus::Succeeded),
                fee: Some(fee.to_string()),
                tx_hash: landed,
                ..RequestUpdate::default()
            },
            Some(reason) => RequestUpdate {
                status: Some(RequestStatus::Reverted),
                error_code: Some(codes::EXECUTION_REVERTED.into()),
                error_message: Some(reason),
                fee: Some(fee.to_string()),
                tx_hash: landed,
                ..RequestUpdate::default()
            },
        };
        let done = self.settle(request, &from, &update, reserved, fee).await?;
        if done {
            self.record_outcome(request, reverted).await?;
        }
        Ok(())
    }

    /// The first of `hashes` with a receipt, looked up for up to a second (a node may
    /// serve a transaction's state before its receipt).
    async fn landed(&self, hashes: &[String]) -> Result<Option<String>, RelayError> {
        if hashes.is_empty() {
            return Ok(None);
        }
        let chain = self.inner.chain.as_ref();
        for _ in 0..LANDING_CHECKS {
            for hash in hashes {
                if chain.receipt(hash).await.map_err(unavailable)?.is_some() {
                    return Ok(Some(hash.clone()));
                }
            }
            tokio::time::sleep(LANDING_PAUSE).await;
        }
        Ok(None)
    }

    /// Sends the recorded signed transaction again (same hash, so it can execute at most
    /// once). If its nonce was taken meanwhile, the request goes back to `recorded` to be
    /// signed again, unless the payload already ran or its window closed.
    async fn rebroadcast(&self, request: &Request) -> Result<(), RelayError> {
        let inner = &self.inner;
        let chain = inner.chain.as_ref();
        let (Some(raw), Some(relayer), Some(hash)) =
            (&request.signed_tx_json, &request.relayer_address, &request.tx_hash)
        else {
            return Ok(());
        };
        if !inner.pool.holds(relayer) {
            // Signed by an account this process does not hold: its owner follows it.
            return Ok(());
        }
        let mut slot = inner.pool.acquire(Some(relayer)).await?;
        match chain.send(raw).await {
            Ok(()) => {
                slot.forget_nonce();
                inner.config.metrics.action(chain.id().as_str(), Action::rebroadcast);
                inner
                    .store
                    .transition_request(
                        &request.id,
                        &[RequestStatus::Submitting, RequestStatus::Submitted],
                        RequestStatus::Submitted,
                    )
                    .await?;
            }
            Err(SendError::Nonce(_)) => {
                slot.forget_nonce();
                drop(slot);
                // The nonce is used: most often by this very transaction, whose receipt a
                // node may serve a moment after its state (anvil does). Let it show up
                // before deciding.
                if self.landed(std::slice::from_ref(hash)).await?.is_some() {
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
            Err(SendError::Rejected(reason)) if reason.contains("does not parse") => {
                drop(slot);
                self.finish_without_tx(request, codes::CORRUPT_RECORD, &reason).await?;
            }
            Err(SendError::Rejected(reason))
                if request.execute_before <= self.chain_now().await? as i64 =>
            {
                // The node lost it (or a reorg took it out) and its window has closed
                // since: it can never run.
                drop(slot);
                let message = format!(
                    "the transaction left the chain (a reorg, or a node that lost it) and its window closed before it could run again: {reason}"
                );
                self.finish_without_tx(request, codes::EXPIRED, &message).await?;
            }
            Err(error) => {
                tracing::warn!(%error, request = %request.id, "re-broadcast failed; will retry");
            }
        }
        Ok(())
    }

    /// The job of a stored request, or why it cannot be read back.
    fn job_of(&self, request: &Request) -> Result<(Job, Option<String>, bool), &'static str> {
        if let Purpose::Deploy(owner) = Purpose::decode(&request.purpose) {
            return Ok((Job::Deploy { owner_public_key: owner }, None, false));
        }
        let payload: Value = serde_json::from_str(&request.typed_data_json)
            .map_err(|_| "typed data does not parse")?;
        let inspected = self
            .inner
            .chain
            .inspect(&request.account, &payload)
            .map_err(|_| "typed data is not an executable payload of this chain")?;
        let signature: Vec<String> = request
            .signature_json
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .ok_or("signature does not parse")?;
        let revocation = is_revocation(&inspected.calls);
        let job = Job::Execute { account: request.account.clone(), payload, signature };
        Ok((job, inspected.caller, revocation))
    }

    /// Submits a `recorded` request again (after a crash, or after its relayer nonce was
    /// taken), or expires it once its window has closed. `alive` remembers which other
    /// instances were found alive in this pass.
    async fn resubmit(
        &self,
        request: &Request,
        chain_now: i64,
        alive: &mut HashMap<String, bool>,
    ) -> Result<(), RelayError> {
        let inner = &self.inner;
        let chain = inner.chain.as_ref();
        let reserved: u128 = request.fee.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        let Some(_guard) = self.mark_in_progress(&request.id).ok() else { return Ok(()) };
        let (job, required, revocation) = match self.job_of(request) {
            Ok(read) => read,
            Err(why) => return self.finish_without_tx(request, codes::CORRUPT_RECORD, why).await,
        };
        match required.as_deref() {
            // Bound to a relayer account another instance holds: that instance sends it.
            Some(relayer) if !inner.pool.holds(relayer) => return Ok(()),
            Some(_) => {}
            // A call of another live instance is sending it.
            None if self.handled_elsewhere(request, alive).await? => return Ok(()),
            None => {}
        }
        // A transaction signed for it earlier may have landed after all: follow that one.
        // When the payload's nonce is spent, one of them most likely did, so its receipt
        // gets a moment to show up before the request is called a duplicate.
        let spent = match &job {
            Job::Execute { account, .. } => {
                chain.is_spent(account, &request.oe_nonce).await.map_err(unavailable)?
            }
            Job::Deploy { .. } => false,
        };
        let hashes = request.tx_hashes();
        let signed_before = !hashes.is_empty();
        let earlier = if spent {
            self.landed(&hashes).await?
        } else {
            let mut found = None;
            for hash in hashes {
                if chain.receipt(&hash).await.map_err(unavailable)?.is_some() {
                    found = Some(hash);
                    break;
                }
            }
            found
        };
        if let Some(earlier) = earlier {
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
        if spent {
            return self
                .finish_without_tx(
                    request,
                    codes::DUPLICATE_EXECUTION,
                    "nonce already used on chain",
                )
                .await;
        }
        if request.execute_before <= chain_now + inner.config.min_remaining_seconds as i64 {
            // Too late to send it anew. A transaction signed for it earlier (whose send
            // had no answer) may still be pending, and can run until the window closes on
            // chain: it is expired only once it has.
            if signed_before && request.execute_before > chain_now {
                return Ok(());
            }
            return self
                .finish_without_tx(
                    request,
                    codes::EXPIRED,
                    "execution window closed before submission",
                )
                .await;
        }
        let mut slot = inner.pool.acquire(required.as_deref()).await?;
        let nonce = slot.nonce(chain).await?;
        let quote = match chain.simulate(&slot.address, nonce, &job).await {
            Ok(quote) => quote,
            Err(SimulationError::Nonce) => {
                // Read again at the next pass.
                slot.forget_nonce();
                return Ok(());
            }
            Err(SimulationError::Refused(refusal)) => {
                drop(slot);
                return self
                    .finish_without_tx(request, codes::SIMULATION_FAILED, &refusal.message)
                    .await;
            }
            Err(SimulationError::Unfunded(reason)) => {
                inner.pool.mark_unfunded(&slot.address);
                drop(slot);
                if required.is_some() {
                    return self
                        .finish_without_tx(
                            request,
                            codes::RELAYER_UNFUNDED,
                            &format!("the relayer account it is bound to cannot pay: {reason}"),
                        )
                        .await;
                }
                // Another account sends it at the next pass.
                return Ok(());
            }
            Err(SimulationError::Unavailable(e)) => return Err(unavailable(e)),
        };
        let needed = quote.max_fee;
        if needed > reserved {
            match inner
                .store
                .adjust_reservation(
                    &request.id,
                    &[RequestStatus::Recorded],
                    request.budget(),
                    reserved,
                    needed,
                    revocation,
                )
                .await?
            {
                Reservation::Recorded => {}
                // Another process (or this one's monitor) moved the request on since it
                // was read: that one carries it, and the budget is not at fault.
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
        let reserved = reserved.max(needed);
        inner.config.metrics.action(inner.chain.id().as_str(), Action::resubmit);
        match self.submit(&mut slot, request, &job, quote, nonce, reserved).await {
            Ok(_)
            | Err(RelayError::Rejected(_))
            | Err(RelayError::AlreadySubmitted { .. })
            | Err(RelayError::Unfunded(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Finishes a request without a transaction, only from the status it was read in: a
    /// request another process moved on since is that process's to finish, with the
    /// reservation it holds now.
    async fn finish_without_tx(
        &self,
        request: &Request,
        code: &str,
        message: &str,
    ) -> Result<(), RelayError> {
        let status =
            if code == codes::EXPIRED { RequestStatus::Expired } else { RequestStatus::Rejected };
        if self.finish_unsent(request, &[request.status], status, code, message).await? {
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
}
