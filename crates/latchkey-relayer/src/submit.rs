//! Submission: sign from a relayer account, record the hash, broadcast; and account
//! deployments, which are recorded before they are signed like every other request.

use latchkey_chain::{Job, Quote, SendError};
use latchkey_core::codes;
use latchkey_store::{
    NewRequest, Request, RequestStatus, RequestUpdate, Reservation, ReserveOptions,
};

use crate::admit::reservation_refusal;
use crate::pool::SlotGuard;
use crate::{unavailable, Deployment, Purpose, RelayError, Relayer};

impl Relayer {
    /// Signs, records the hash, broadcasts. Retries with a fresh nonce on nonce errors.
    /// Every hash a request signs stays on record (a lookup by any of them finds it, and
    /// the monitor checks them all for a receipt). A re-estimated fee may grow only as far
    /// as the organisation's budget covers the difference (R2-15). A nonce error on the
    /// last attempt leaves the request `recorded`, for the monitor to send (R2-16).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn submit(
        &self,
        slot: &mut SlotGuard,
        request: &Request,
        job: &Job,
        mut quote: Quote,
        mut nonce: u64,
        mut reserved: u128,
    ) -> Result<String, RelayError> {
        let inner = &self.inner;
        let chain = inner.chain.as_ref();
        let (request_id, budget) = (request.id.as_str(), request.budget());
        let mut earlier: Vec<String> = match inner.store.request(request_id).await? {
            Some(request) => request.tx_hashes(),
            None => Vec::new(),
        };
        for attempt in 1..=inner.config.submit_attempts {
            let signed =
                chain.sign(&slot.address, nonce, job, &quote).await.map_err(unavailable)?;
            let written = inner
                .store
                .update_request(
                    request_id,
                    &[RequestStatus::Recorded],
                    &RequestUpdate {
                        status: Some(RequestStatus::Submitting),
                        tx_hash: Some(signed.hash.clone()),
                        relayer_address: Some(slot.address.clone()),
                        relayer_nonce: Some(nonce.to_string()),
                        signed_tx_json: Some(signed.raw.clone()),
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
            earlier.push(signed.hash.clone());
            match chain.send(&signed.raw).await {
                Ok(()) => {
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
                Err(SendError::Rejected(reason))
                    if latchkey_chain::is_underpriced_reason(&reason)
                        && attempt < inner.config.submit_attempts =>
                {
                    // Fees rose between the estimate and the send (F5): priced again at
                    // the same nonce (a refused transaction does not use it), within the
                    // organisation's budget.
                    tracing::info!(relayer = %slot.address, %reason, "fee limits below the current price; pricing again");
                    self.back_to_recorded(request_id).await?;
                    match self.reprice(slot, request_id, job, nonce, budget, reserved).await? {
                        Repriced::Priced(fresh, now_reserved) => {
                            quote = fresh;
                            reserved = now_reserved;
                        }
                        // No quote at the new price: the refusal stands (next attempt).
                        Repriced::NoQuote => {}
                        Repriced::OverBudget => {
                            let why = "the fee rose beyond what the organisation's budget covers";
                            self.reject_recorded(request_id, codes::SPONSORSHIP_EXHAUSTED, why)
                                .await?;
                            return Err(RelayError::SponsorshipExhausted);
                        }
                    }
                }
                Err(SendError::Nonce(error)) => {
                    tracing::info!(relayer = %slot.address, %error, "nonce refused; re-reading it");
                    slot.forget_nonce();
                    self.back_to_recorded(request_id).await?;
                    if attempt == inner.config.submit_attempts {
                        // Accepted and recorded: the monitor signs it again with a fresh
                        // nonce; its request id and every hash so far find it.
                        tracing::warn!(request = %request_id, "relayer nonce kept changing; left to the monitor");
                        return Ok(signed.hash);
                    }
                    nonce = slot.nonce(chain).await?;
                    if let Repriced::Priced(fresh, now_reserved) =
                        self.reprice(slot, request_id, job, nonce, budget, reserved).await?
                    {
                        quote = fresh;
                        reserved = now_reserved;
                    }
                }
                Err(SendError::Unfunded(reason)) => {
                    // This account cannot pay: passed over from now on. The request goes
                    // back to `recorded`; the monitor sends it from another account, or,
                    // when it is bound to this one, ends it so it can be prepared again.
                    inner.pool.mark_unfunded(&slot.address);
                    slot.forget_nonce();
                    self.back_to_recorded(request_id).await?;
                    if job_is_bound(job, chain) {
                        let why =
                            format!("the relayer account it is bound to cannot pay: {reason}");
                        self.reject_recorded(request_id, codes::RELAYER_UNFUNDED, &why).await?;
                        return Err(RelayError::Unfunded(format!(
                            "the relayer account it is bound to cannot pay ({reason}); prepare it again"
                        )));
                    }
                    tracing::warn!(request = %request_id, %reason, "left to the monitor, for another relayer account");
                    return Ok(signed.hash);
                }
                Err(SendError::Rejected(reason)) => {
                    slot.forget_nonce();
                    let request = inner.store.request(request_id).await?.ok_or_else(|| {
                        RelayError::Unavailable("a request vanished while sending".into())
                    })?;
                    self.settle(
                        &request,
                        &[RequestStatus::Submitting],
                        &RequestUpdate {
                            status: Some(RequestStatus::Rejected),
                            error_code: Some(codes::TRANSACTION_REJECTED.into()),
                            error_message: Some(reason.clone()),
                            fee: Some("0".into()),
                            ..RequestUpdate::default()
                        },
                        reserved,
                        0,
                    )
                    .await?;
                    return Err(RelayError::Rejected(reason));
                }
                Err(SendError::Unknown(error)) => {
                    // The node may or may not have the transaction: the monitor finds out
                    // by hash and re-broadcasts the same transaction if needed.
                    tracing::warn!(%error, tx = %signed.hash, "broadcast outcome unknown");
                    slot.forget_nonce();
                    return Ok(signed.hash);
                }
            }
        }
        Err(RelayError::Unavailable("relayer nonce kept changing".into()))
    }

    /// Puts a request whose send was refused back to `recorded` (its transaction did
    /// not go out).
    async fn back_to_recorded(&self, request_id: &str) -> Result<(), RelayError> {
        self.inner
            .store
            .transition_request(request_id, &[RequestStatus::Submitting], RequestStatus::Recorded)
            .await?;
        Ok(())
    }

    /// Ends a `recorded` request as rejected with `code`, releasing its reservation.
    async fn reject_recorded(
        &self,
        request_id: &str,
        code: &str,
        message: &str,
    ) -> Result<(), RelayError> {
        let request =
            self.inner.store.request(request_id).await?.ok_or_else(|| {
                RelayError::Unavailable("a request vanished while sending".into())
            })?;
        self.finish_unsent(
            &request,
            &[RequestStatus::Recorded],
            RequestStatus::Rejected,
            code,
            message,
        )
        .await?;
        Ok(())
    }

    /// A fresh quote for `job` from `slot` at `nonce`, with the request's reservation
    /// grown to cover it if needed.
    async fn reprice(
        &self,
        slot: &SlotGuard,
        request_id: &str,
        job: &Job,
        nonce: u64,
        budget: latchkey_store::BudgetKey<'_>,
        reserved: u128,
    ) -> Result<Repriced, RelayError> {
        let inner = &self.inner;
        let Ok(fresh) = inner.chain.simulate(&slot.address, nonce, job).await else {
            return Ok(Repriced::NoQuote);
        };
        let needed = fresh.max_fee;
        if needed <= reserved {
            return Ok(Repriced::Priced(fresh, reserved));
        }
        let grown = inner
            .store
            .adjust_reservation(
                request_id,
                &[RequestStatus::Recorded],
                budget,
                reserved,
                needed,
                false,
            )
            .await?;
        Ok(if grown == Reservation::Recorded {
            Repriced::Priced(fresh, needed)
        } else {
            Repriced::OverBudget
        })
    }

    /// Deploys the account of `owner_public_key` at its counterfactual address from a
    /// relayer account, charged to `org_id`. Does nothing when it exists. The deployment
    /// is a request like any other: recorded with its fee reserved before it is signed,
    /// followed to its end by the monitor, reconciled after a crash.
    pub async fn deploy_account(
        &self,
        org_id: &str,
        owner_public_key: &str,
    ) -> Result<Deployment, RelayError> {
        let inner = &self.inner;
        let chain = &inner.chain;
        let address = chain
            .account_address(owner_public_key)
            .map_err(|r| RelayError::from_refusal(r, None))?;
        if chain.is_deployed(&address).await.map_err(unavailable)? {
            return Ok(Deployment { address, transaction_hash: None });
        }
        let now = self.chain_now_recent().await?;
        let owner = owner_public_key.to_string();
        let request = inner
            .store
            .insert_request(&NewRequest {
                org_id: org_id.to_string(),
                wallet_id: None,
                chain: chain.id().to_string(),
                account: address.clone(),
                oe_nonce: format!("deploy-{}", deploy_nonce()),
                typed_data_json: serde_json::json!({ "deploy": { "ownerPublicKey": owner } })
                    .to_string(),
                calls_json: "[]".into(),
                execute_before: (now + inner.config.window_seconds) as i64,
                purpose: Purpose::Deploy(owner.clone()).encode(),
                fee_unit: chain.fee_unit().to_string(),
                payload_hash: None,
            })
            .await?;
        let guard = self.mark_in_progress(&request.id)?;
        let job = Job::Deploy { owner_public_key: owner };
        let quote = match self.simulate(org_id, &job, None).await? {
            Ok(quote) => quote,
            Err(refusal) => {
                let error = RelayError::from_refusal(refusal, Some(&request.id));
                return Err(self.refuse_unsent(&request, error).await);
            }
        };
        let reserved = quote.max_fee;
        let options = ReserveOptions { bypass_budget: false, quotas: Vec::new() };
        let recorded = inner
            .store
            .update_request_reserving(
                &request.id,
                &[RequestStatus::Prepared],
                &RequestUpdate {
                    status: Some(RequestStatus::Recorded),
                    kind: Some("deploy".into()),
                    fee: Some(reserved.to_string()),
                    handler: Some(inner.config.lease_owner.clone()),
                    ..RequestUpdate::default()
                },
                request.budget(),
                reserved,
                &options,
            )
            .await?;
        if let Some(error) = reservation_refusal(recorded, &request.id) {
            return Err(self.refuse_unsent(&request, error).await);
        }
        let mut slot = inner.pool.acquire(None).await?;
        let nonce = slot.nonce(chain.as_ref()).await?;
        let submitted = self.submit(&mut slot, &request, &job, quote, nonce, reserved).await;
        drop(slot);
        drop(guard);
        submitted?;
        let done = self.wait_final(&request.id, inner.config.deploy_timeout).await?;
        match done.status {
            RequestStatus::Succeeded => Ok(Deployment { address, transaction_hash: done.tx_hash }),
            _ if chain.is_deployed(&address).await.map_err(unavailable)? => {
                // Deployed meanwhile by another request for the same owner.
                Ok(Deployment { address, transaction_hash: None })
            }
            status => Err(RelayError::Rejected(
                done.error_message
                    .unwrap_or_else(|| format!("the deployment ended {}", status.as_str())),
            )),
        }
    }

    /// Ends a `prepared` request refused before anything was signed (`rejected`, with the
    /// refusal's code) and returns the refusal, or the store's error if it could not.
    async fn refuse_unsent(&self, request: &Request, error: RelayError) -> RelayError {
        let (code, message) = (error.code(), error.to_string());
        let from = [RequestStatus::Prepared];
        match self.finish_unsent(request, &from, RequestStatus::Rejected, code, &message).await {
            Ok(_) => error,
            Err(store) => store,
        }
    }

    /// Moves a request that never got a transaction from one of `from` to `status`, and
    /// releases its reservation.
    pub(crate) async fn finish_unsent(
        &self,
        request: &Request,
        from: &[RequestStatus],
        status: RequestStatus,
        code: &str,
        message: &str,
    ) -> Result<bool, RelayError> {
        let reserved: u128 = request.fee.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        let update = RequestUpdate {
            status: Some(status),
            error_code: Some(code.to_string()),
            error_message: Some(message.to_string()),
            fee: Some("0".into()),
            ..RequestUpdate::default()
        };
        self.settle(request, from, &update, reserved, 0).await
    }

    /// Finishes `request` from one of `from` with `update`, settling `fee` of its
    /// `reserved` fee against its budget (a compare-and-set: false when another call or
    /// process moved it on first), and counts it when this call finished it.
    pub(crate) async fn settle(
        &self,
        request: &Request,
        from: &[RequestStatus],
        update: &RequestUpdate,
        reserved: u128,
        fee: u128,
    ) -> Result<bool, RelayError> {
        let done = self
            .inner
            .store
            .update_request_settling(&request.id, from, update, request.budget(), reserved, fee)
            .await?;
        if let (true, Some(status)) = (done, update.status) {
            self.inner.config.metrics.finished(
                &request.chain,
                &request.purpose,
                status,
                fee,
                &request.fee_unit,
            );
        }
        Ok(done)
    }

    /// Waits until a request reaches a final status (or `timeout` passes) and returns it.
    pub async fn wait_final(
        &self,
        request_id: &str,
        timeout: std::time::Duration,
    ) -> Result<Request, RelayError> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Sent transactions are looked up here too, every few milliseconds, rather than
        // only at the monitor's next pass: a waiting client learns its outcome as soon as
        // the chain has it (a local node mines in milliseconds; after the first tenth of
        // a second the pause doubles). Finishing is a compare-and-set, so the monitor and
        // this loop never both settle it.
        let started = tokio::time::Instant::now();
        let mut pause = WAIT_FIRST_PAUSE;
        loop {
            let request = self.inner.store.request(request_id).await?.ok_or_else(|| {
                RelayError::InvalidRequest(format!("unknown request {request_id}"))
            })?;
            if request.status.is_final() || tokio::time::Instant::now() >= deadline {
                return Ok(request);
            }
            let sent = crate::monitor::IN_FLIGHT[1..].contains(&request.status);
            if let (true, Some(hash)) = (sent, &request.tx_hash) {
                let landed = self.inner.chain.receipt(hash).await.map_err(unavailable)?;
                if landed.is_some() {
                    self.follow(&request).await?;
                    let followed = self.inner.store.request(request_id).await?;
                    if let Some(done) = followed.filter(|r| r.status.is_final()) {
                        return Ok(done);
                    }
                }
            }
            tokio::time::sleep(pause).await;
            if started.elapsed() >= WAIT_EAGER_FOR {
                pause = (pause * 2).min(self.inner.config.poll_interval);
            }
        }
    }
}

/// A quote made again before a send.
enum Repriced {
    /// The new quote, and the request's reservation that covers it.
    Priced(Quote, u128),
    /// The simulation gave none (the old quote stands).
    NoQuote,
    /// The organisation's budget cannot cover it.
    OverBudget,
}

/// Whether `job` may be sent by one relayer account only (its payload names its caller).
fn job_is_bound(job: &Job, chain: &dyn latchkey_chain::ChainBackend) -> bool {
    match job {
        Job::Execute { account, payload, .. } => {
            chain.inspect(account, payload).is_ok_and(|inspected| inspected.caller.is_some())
        }
        Job::Deploy { .. } => false,
    }
}

/// How often [`Relayer::wait_final`] looks at a sent transaction at first, and for how
/// long before its pause doubles.
const WAIT_FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);
const WAIT_EAGER_FOR: std::time::Duration = std::time::Duration::from_millis(100);

/// A nonce key for a deployment request: unique per process and call.
fn deploy_nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}-{:x}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}
