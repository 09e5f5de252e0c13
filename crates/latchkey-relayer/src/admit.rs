//! Admission: preparing payloads, and checking a signed one (signature, session policy,
//! spending caps, sponsorship, simulation, budget) before anything is signed or paid.

use std::time::{Duration, Instant};

use latchkey_chain::{
    is_revocation, CallView, Calls, ChainBackend, Inspected, Job, Quote, Refusal, SessionRecord,
    Signer, Signing, SimulationError, Spend, SpendingPolicy,
};
use latchkey_core::codes;
use latchkey_store::{
    constraints, now_unix, NewRequest, QuotaCharge, RequestStatus, RequestUpdate, Reservation,
    ReserveOptions, StoreError,
};
use serde_json::Value;

use crate::sponsorship::registered_keys;
use crate::{
    unavailable, Prepared, Purpose, RelayError, Relayer, SessionGuard, SponsorshipPolicy,
    Submitted, WalletRef,
};

/// Seconds until the next UTC day, when daily quotas renew.
pub(crate) fn until_next_day() -> u64 {
    let now = now_unix().max(0) as u64;
    86_400 - now % 86_400
}

/// The daily quotas a reservation on `chain` (fee unit `unit`) is charged to. A wallet is
/// on one chain; an end user's usage is counted per chain (keyed by the user id alone on
/// Starknet, as it always was, and `user@chain` elsewhere), so amounts in different units
/// never add up.
fn quota_charges(
    policy: &SponsorshipPolicy,
    wallet: &WalletRef,
    chain: &str,
    unit: &str,
) -> Vec<QuotaCharge> {
    let day = now_unix().div_euclid(86_400);
    let limits = policy.limits(unit);
    let mut quotas = Vec::new();
    if let Some(limit) = limits.daily_gas_per_wallet {
        quotas.push(QuotaCharge { scope: "wallet".into(), key: wallet.id.clone(), day, limit });
    }
    if let (Some(limit), Some(user)) = (limits.daily_gas_per_user, &wallet.external_user_id) {
        let key = if unit == "FRI" { user.clone() } else { format!("{user}@{chain}") };
        quotas.push(QuotaCharge { scope: "user".into(), key, day, limit });
    }
    quotas
}

/// Why a reservation for request `request_id` was refused, or `None` when it was
/// recorded.
pub(crate) fn reservation_refusal(
    reservation: Reservation,
    request_id: &str,
) -> Option<RelayError> {
    match reservation {
        Reservation::Recorded => None,
        Reservation::BudgetExhausted => Some(RelayError::SponsorshipExhausted),
        Reservation::QuotaExhausted(scope) => {
            Some(RelayError::QuotaExhausted { scope, retry_after: until_next_day() })
        }
        Reservation::StatusChanged => Some(RelayError::AlreadySubmitted {
            request_id: Some(request_id.to_string()),
            tx_hash: None,
        }),
    }
}

/// How a fee for `wallet` is reserved: revocations get through whatever the budget and
/// are charged to no quota; everything else to the policy's daily quotas.
fn reserve_options(
    revocation: bool,
    policy: &SponsorshipPolicy,
    wallet: &WalletRef,
    chain: &dyn ChainBackend,
) -> ReserveOptions {
    let quotas = if revocation {
        Vec::new()
    } else {
        quota_charges(policy, wallet, chain.id().as_str(), chain.fee_unit())
    };
    ReserveOptions { bypass_budget: revocation, quotas }
}

/// The calls of a request as stored: what the policy engine saw.
pub(crate) fn calls_json(calls: &[CallView]) -> String {
    let views: Vec<Value> = calls
        .iter()
        .map(|c| serde_json::json!({ "target": c.target, "selector": c.selector }))
        .collect();
    Value::Array(views).to_string()
}

impl Relayer {
    fn check_limits(&self, calls: usize, words: usize) -> Result<(), RelayError> {
        let config = &self.inner.config;
        if calls == 0 {
            return Err(RelayError::InvalidRequest("no calls".into()));
        }
        if calls > config.max_calls {
            return Err(RelayError::TooLarge(format!(
                "{calls} calls; at most {}",
                config.max_calls
            )));
        }
        if words > config.max_calldata_felts {
            return Err(RelayError::TooLarge(format!(
                "{words} calldata felts; at most {}",
                config.max_calldata_felts
            )));
        }
        Ok(())
    }

    /// Builds and records a payload for `wallet` to execute `calls`, to be signed as
    /// `signing` says. Its submitter is the relayer account that will send it. Session registrations among `calls` follow the
    /// guardrails of every route, except for [`Purpose::RegisterSession`], whose caller
    /// (the native sessions route) checked them with the explicit allow-all choice.
    pub async fn prepare(
        &self,
        wallet: &WalletRef,
        calls: Calls,
        purpose: Purpose,
        signing: &Signing,
    ) -> Result<Prepared, RelayError> {
        let chain = &self.inner.chain;
        self.check_limits(calls.len(), calls.words())?;
        let views =
            chain.views(&wallet.address, &calls).map_err(|r| RelayError::from_refusal(r, None))?;
        let now = self.chain_now_recent().await?;
        if !matches!(purpose, Purpose::RegisterSession(_)) {
            self.check_registrations(&wallet.address, &views, now, false).await?;
        }
        let caller = self.inner.pool.next_address()?;
        let signable = chain
            .prepare(
                &wallet.address,
                calls,
                signing,
                &caller,
                now,
                self.inner.config.window_seconds,
            )
            .await
            .map_err(|r| RelayError::from_refusal(r, None))?;
        let new_request = NewRequest {
            org_id: wallet.org_id.clone(),
            wallet_id: Some(wallet.id.clone()),
            chain: chain.id().to_string(),
            account: wallet.address.clone(),
            oe_nonce: signable.nonce_key.clone(),
            typed_data_json: signable.payload.to_string(),
            calls_json: calls_json(&views),
            execute_before: signable.execute_before as i64,
            purpose: purpose.encode(),
            fee_unit: chain.fee_unit().to_string(),
            payload_hash: Some(signable.hash.clone()),
        };
        let request = match self.inner.store.insert_request(&new_request).await {
            Err(StoreError::Conflict { constraint })
                if constraint == constraints::REQUEST_ACCOUNT_OE_NONCE =>
            {
                self.supersede(wallet, new_request, &views, signable.max_cost).await?
            }
            inserted => {
                let request = inserted?;
                if let Some(max_cost) = signable.max_cost {
                    self.reserve_commitment(wallet, &request, &views, max_cost).await?;
                }
                request
            }
        };
        Ok(Prepared { request_id: request.id, signable })
    }

    /// Records a new payload whose nonce an earlier prepared payload already has (an EVM
    /// nonce is the next sequence of its key, the same until one is spent). One that was
    /// submitted, or is final, is a `409 DUPLICATE_EXECUTION`: its outcome comes first.
    /// One never submitted through latchkey is superseded, but the sponsor is covered at
    /// every step, since it may still be submitted elsewhere and only one of the two can
    /// land: the new payload is recorded under a provisional nonce and reserves at least
    /// what the old one did (a refusal there leaves the old one as it was); only then is
    /// the old one finished, its reservation released, and the nonce handed over.
    async fn supersede(
        &self,
        wallet: &WalletRef,
        new_request: NewRequest,
        views: &[CallView],
        max_cost: Option<u128>,
    ) -> Result<latchkey_store::Request, RelayError> {
        let store = &self.inner.store;
        let nonce = new_request.oe_nonce.clone();
        let existing = store
            .request_by_oe(&new_request.chain, &new_request.account, &nonce)
            .await?
            .ok_or_else(|| RelayError::Unavailable("a request vanished while preparing".into()))?;
        let in_flight = || RelayError::AlreadySubmitted {
            request_id: Some(existing.id.clone()),
            tx_hash: existing.tx_hash.clone(),
        };
        if existing.status != RequestStatus::Prepared {
            return Err(in_flight());
        }
        let old_reserved: u128 = existing.fee.as_deref().and_then(|f| f.parse().ok()).unwrap_or(0);
        let provisional = format!("{nonce}/provisional/{}", existing.id);
        let request =
            store.insert_request(&NewRequest { oe_nonce: provisional, ..new_request }).await?;
        if let Some(max_cost) = max_cost {
            self.reserve_commitment(wallet, &request, views, max_cost.max(old_reserved)).await?;
        }
        let superseded = RequestUpdate {
            status: Some(RequestStatus::Expired),
            error_code: Some(codes::TYPED_DATA_EXPIRED.to_string()),
            error_message: Some(
                "superseded by a newer payload for the same nonce before it was submitted".into(),
            ),
            fee: Some("0".into()),
            // The nonce goes to the new payload; this record keeps it, marked.
            oe_nonce: Some(format!("{nonce}/superseded/{}", existing.id)),
            ..RequestUpdate::default()
        };
        let finished = self
            .settle(&existing, &[RequestStatus::Prepared], &superseded, old_reserved, 0)
            .await?;
        if !finished {
            // Submitted in the meantime: the new payload gives its reservation back.
            self.finish_unsent(
                &store.request(&request.id).await?.unwrap_or(request),
                &[RequestStatus::Prepared],
                RequestStatus::Expired,
                codes::DUPLICATE_EXECUTION,
                "its nonce's earlier payload was submitted first",
            )
            .await?;
            return Err(in_flight());
        }
        let handed = RequestUpdate { oe_nonce: Some(nonce), ..RequestUpdate::default() };
        match store.update_request(&request.id, &[RequestStatus::Prepared], &handed).await {
            Ok(_) => Ok(store.request(&request.id).await?.unwrap_or(request)),
            // Another payload took the nonce meanwhile: this one gives its reservation back.
            Err(StoreError::Conflict { .. }) => {
                self.finish_unsent(
                    &store.request(&request.id).await?.unwrap_or(request),
                    &[RequestStatus::Prepared],
                    RequestStatus::Expired,
                    codes::DUPLICATE_EXECUTION,
                    "another payload took its nonce first",
                )
                .await?;
                Err(RelayError::AlreadySubmitted { request_id: None, tx_hash: None })
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Reserves a prepared payload's sponsorship at once when the payload already commits
    /// the sponsor (anyone may submit a userOp that carries our paymaster's signature,
    /// through any bundler): the policy's fee limit and quotas apply now, and the
    /// reservation is released when the window lapses unused, or charged in full when the
    /// payload was spent by someone else (the monitor). A refusal leaves the request
    /// expired, with nothing reserved.
    async fn reserve_commitment(
        &self,
        wallet: &WalletRef,
        request: &latchkey_store::Request,
        views: &[CallView],
        max_cost: u128,
    ) -> Result<(), RelayError> {
        let revocation = is_revocation(views);
        let policy = self.policy(&wallet.org_id).await?;
        let chain = self.inner.chain.as_ref();
        let checked =
            if revocation { Ok(()) } else { policy.check_fee(max_cost, chain.fee_unit()) };
        let options = reserve_options(revocation, &policy, wallet, chain);
        let refusal = match checked {
            Err(refusal) => Some(refusal),
            Ok(()) => {
                let update =
                    RequestUpdate { fee: Some(max_cost.to_string()), ..RequestUpdate::default() };
                let recorded = self
                    .inner
                    .store
                    .update_request_reserving(
                        &request.id,
                        &[RequestStatus::Prepared],
                        &update,
                        request.budget(),
                        max_cost,
                        &options,
                    )
                    .await?;
                reservation_refusal(recorded, &request.id)
            }
        };
        match refusal {
            None => Ok(()),
            Some(refusal) => {
                let update = RequestUpdate {
                    status: Some(RequestStatus::Expired),
                    error_code: Some(refusal.code().to_string()),
                    error_message: Some("its sponsorship could not be reserved".into()),
                    ..RequestUpdate::default()
                };
                self.inner
                    .store
                    .update_request(&request.id, &[RequestStatus::Prepared], &update)
                    .await?;
                Err(refusal)
            }
        }
    }

    /// Verifies the signature over an inspected payload with the wallet's owner key; when
    /// an owner signature fails, with the key the account has on chain (the owner may have
    /// rotated it through another route), which the store then follows (R2-08).
    async fn verify(
        &self,
        wallet: &WalletRef,
        inspected: &Inspected,
        signature: &[String],
    ) -> Result<Signer, RelayError> {
        let chain = &self.inner.chain;
        let refused = match chain.verify(inspected, &wallet.owner_public_key, signature) {
            Ok(signer) => return Ok(signer),
            Err(refusal) if refusal.code == codes::INVALID_SIGNATURE => refusal,
            Err(refusal) => return Err(RelayError::from_refusal(refusal, None)),
        };
        let on_chain = chain.owner_key(&wallet.address).await.ok().flatten();
        match on_chain {
            Some(key) if key != wallet.owner_public_key => {
                let signer = chain
                    .verify(inspected, &key, signature)
                    .map_err(|r| RelayError::from_refusal(r, None))?;
                self.inner.store.set_owner_public_key(&wallet.id, &key).await?;
                Ok(signer)
            }
            _ => Err(RelayError::from_refusal(refused, None)),
        }
    }

    /// Checks, records and submits a signed payload for `wallet`.
    pub async fn execute(
        &self,
        wallet: &WalletRef,
        payload: &Value,
        signature: &[String],
        idempotency_key: Option<&str>,
    ) -> Result<Submitted, RelayError> {
        let inner = &self.inner;
        let chain = &inner.chain;
        let inspected = chain
            .inspect(&wallet.address, payload)
            .map_err(|r| RelayError::from_refusal(r, None))?;
        self.check_limits(inspected.calls.len(), inspected.words)?;
        let account = wallet.address.as_str();
        let now = self.chain_now_recent().await?;

        // The request record: issued by us for this very wallet, or none yet. A record of
        // another wallet or organisation is a conflict that names nothing of theirs (R2-03).
        let issued = match inner
            .store
            .request_by_oe(chain.id().as_str(), account, &inspected.nonce_key)
            .await?
        {
            Some(existing)
                if existing.org_id != wallet.org_id
                    || existing.wallet_id.as_deref() != Some(wallet.id.as_str()) =>
            {
                return Err(RelayError::Conflict)
            }
            Some(existing) if existing.status == RequestStatus::Prepared => {
                let issued_hash = match &existing.payload_hash {
                    Some(hash) => hash.clone(),
                    // Issued before requests kept their digest: read the payload again.
                    None => {
                        let issued: Value = serde_json::from_str(&existing.typed_data_json)
                            .map_err(|_| RelayError::TypedDataMismatch)?;
                        chain
                            .inspect(account, &issued)
                            .map_err(|_| RelayError::TypedDataMismatch)?
                            .hash
                    }
                };
                if issued_hash != inspected.hash {
                    return Err(RelayError::TypedDataMismatch);
                }
                Some(existing)
            }
            Some(existing) => {
                return Err(RelayError::AlreadySubmitted {
                    request_id: Some(existing.id),
                    tx_hash: existing.tx_hash,
                })
            }
            None => {
                // A payload we issued whose nonce went to a newer one (superseded) is not
                // foreign: it never runs. (Between its supersession and the hand-over,
                // its nonce has no record at all.)
                if inner
                    .store
                    .request_by_payload_hash(chain.id().as_str(), account, &inspected.hash)
                    .await?
                    .is_some()
                {
                    return Err(RelayError::TypedDataMismatch);
                }
                if inspected.execute_before.saturating_sub(now) > inner.config.max_window_seconds {
                    return Err(RelayError::BadWindow(format!(
                        "execution window longer than {} s",
                        inner.config.max_window_seconds
                    )));
                }
                None
            }
        };

        if inspected.execute_after >= now {
            return Err(RelayError::BadWindow(format!(
                "execution window opens after {}",
                inspected.execute_after
            )));
        }
        if inspected.execute_before <= now + inner.config.min_remaining_seconds {
            return Err(RelayError::BadWindow("execution window has closed".into()));
        }
        let required_relayer = match &inspected.caller {
            None => None,
            Some(caller)
                if inner.pool.holds(caller)
                    || inner.store.is_relayer(chain.id().as_str(), caller).await? =>
            {
                Some(caller.clone())
            }
            Some(caller) => return Err(RelayError::CallerNotAllowed(caller.clone())),
        };

        // Signature, off-chain.
        let session = match self.verify(wallet, &inspected, signature).await? {
            Signer::Owner => None,
            Signer::Session { key, valid_until } => Some((key, valid_until)),
        };
        let calls = &inspected.calls;

        // Policy, off-chain, against the account's on-chain state. A spent nonce is
        // caught by the simulation below.
        if let Some((key, valid_until)) = &session {
            if let Err(refusal) = self.check_session(account, key, *valid_until, calls, now).await {
                return Err(self.note_refusal(issued.as_ref(), refusal).await);
            }
        }
        if issued.is_none() {
            // Foreign payloads pass the registration guardrails here; ours passed them
            // when they were prepared.
            self.check_registrations(account, calls, now, false).await?;
        }

        // Sponsorship: revocations always get through; everything else follows the
        // organisation's policy.
        let revocation = is_revocation(calls);
        let policy = self.policy(&wallet.org_id).await?;
        if !revocation {
            if let Some(until) = wallet.cooldown_until {
                let now_wall = now_unix();
                if until > now_wall {
                    return Err(RelayError::CoolingDown { retry_after: (until - now_wall) as u64 });
                }
            }
            if let Err(refusal) = policy.check_calls(account, calls) {
                return Err(self.note_refusal(issued.as_ref(), refusal).await);
            }
        }

        // Only now, with everything verified, is a record of a foreign payload written
        // (R2-14): refused submissions leave nothing behind.
        let request = match issued {
            Some(request) => request,
            None => {
                let inserted = inner
                    .store
                    .insert_request(&NewRequest {
                        org_id: wallet.org_id.clone(),
                        wallet_id: Some(wallet.id.clone()),
                        chain: chain.id().to_string(),
                        account: account.to_string(),
                        oe_nonce: inspected.nonce_key.clone(),
                        typed_data_json: payload.to_string(),
                        calls_json: calls_json(calls),
                        execute_before: inspected.execute_before as i64,
                        purpose: Purpose::User.encode(),
                        fee_unit: chain.fee_unit().to_string(),
                        payload_hash: Some(inspected.hash.clone()),
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

        // Simulate before any relayer account is taken, under a timeout and the
        // organisation's concurrency cap.
        let job = Job::Execute {
            account: account.to_string(),
            payload: payload.clone(),
            signature: signature.to_vec(),
        };
        let quote = match self.simulate(&wallet.org_id, &job, required_relayer.as_deref()).await? {
            Ok(quote) => quote,
            Err(refusal) => {
                if let Some((key, _)) = &session {
                    self.forget_session(account, Some(key));
                }
                return Err(RelayError::from_refusal(refusal, Some(&request.id)));
            }
        };
        let reserved = quote.max_fee;
        if !revocation {
            policy.check_fee(reserved, self.inner.chain.fee_unit())?;
        }
        let update = RequestUpdate {
            status: Some(RequestStatus::Recorded),
            kind: Some(if session.is_some() { "session" } else { "owner" }.to_string()),
            session_public_key: session.as_ref().map(|(key, _)| key.clone()),
            signature_json: Some(serde_json::Value::from(signature.to_vec()).to_string()),
            idempotency_key: idempotency_key.map(str::to_string),
            fee: Some(reserved.to_string()),
            // The monitors of other instances leave it to this one while it lives.
            handler: Some(inner.config.lease_owner.clone()),
            ..RequestUpdate::default()
        };
        let committed: Option<u128> = request.fee.as_deref().and_then(|f| f.parse().ok());
        let recorded = match committed {
            // Reserved when it was prepared: move the reservation to the quote, then record.
            Some(committed) => {
                let adjusted = inner
                    .store
                    .adjust_reservation(
                        &request.id,
                        &[RequestStatus::Prepared],
                        request.budget(),
                        committed,
                        reserved,
                        revocation,
                    )
                    .await?;
                if adjusted == Reservation::Recorded
                    && !inner
                        .store
                        .update_request(&request.id, &[RequestStatus::Prepared], &update)
                        .await?
                {
                    Reservation::StatusChanged
                } else {
                    adjusted
                }
            }
            None => {
                let options =
                    reserve_options(revocation, &policy, wallet, self.inner.chain.as_ref());
                inner
                    .store
                    .update_request_reserving(
                        &request.id,
                        &[RequestStatus::Prepared],
                        &update,
                        request.budget(),
                        reserved,
                        &options,
                    )
                    .await?
            }
        };
        if let Some(refusal) = reservation_refusal(recorded, &request.id) {
            return Err(refusal);
        }

        // Bound to a relayer account another instance holds: that instance's monitor
        // signs and sends it; wait for its hash.
        if let Some(relayer) = &required_relayer {
            if !inner.pool.holds(relayer) {
                drop(_guard);
                let hash = self.wait_for_hash(&request.id).await?;
                return Ok(Submitted { request_id: request.id, transaction_hash: hash });
            }
        }
        let mut slot = inner.pool.acquire(required_relayer.as_deref()).await?;
        let nonce = slot.nonce(inner.chain.as_ref()).await?;
        let hash = self.submit(&mut slot, &request, &job, quote, nonce, reserved).await?;
        Ok(Submitted { request_id: request.id, transaction_hash: hash })
    }

    /// The registration guardrails (C30, R2-11, R2-19) for every session `calls`
    /// register on `account`: an explicit allow-all, a bounded duration, never the
    /// account itself, and never a key whose registration was revoked.
    pub async fn check_registrations(
        &self,
        account: &str,
        calls: &[CallView],
        now: u64,
        allow_all_explicit: bool,
    ) -> Result<(), RelayError> {
        let guard = SessionGuard {
            max_session_seconds: self.inner.config.max_session_seconds,
            allow_all_explicit,
        };
        guard.check(account, calls, now)?;
        for key in registered_keys(calls) {
            self.check_not_revoked(account, &key).await?;
        }
        Ok(())
    }

    /// Refuses to register `key` again on `account` once a registration of it was revoked:
    /// the account refuses it too, and nothing signed for the old registration may come
    /// back to life (R2-19).
    pub async fn check_not_revoked(&self, account: &str, key: &str) -> Result<(), RelayError> {
        let view = self.inner.chain.session(account, key).await.map_err(unavailable)?;
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

    /// Simulates `job` from a relayer account without holding it, under the simulation
    /// timeout and the organisation's concurrency cap: the quote, or the chain's refusal.
    pub(crate) async fn simulate(
        &self,
        org_id: &str,
        job: &Job,
        required: Option<&str>,
    ) -> Result<Result<Quote, Refusal>, RelayError> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now() + inner.config.simulation_timeout;
        let _permit = inner.simulations.acquire(org_id, deadline).await?;
        // A stale nonce hint (another transaction of the relayer landed meanwhile, or
        // someone else's) is re-read from the chain for the same account; under load it
        // can go stale again, so a few times. An account that cannot pay is passed over
        // for another.
        let mut again: Option<String> = None;
        let attempts =
            inner.config.submit_attempts.max(3) as usize + 3 * inner.pool.addresses().len();
        for attempt in 0..attempts {
            let preferred = required.or(again.as_deref());
            let (address, nonce) =
                inner.pool.estimating_account(preferred, inner.chain.as_ref()).await?;
            let estimate = inner.chain.simulate(&address, nonce, job);
            match tokio::time::timeout_at(deadline, estimate).await {
                Err(_) => return Err(RelayError::SimulationTimeout),
                Ok(Ok(quote)) => return Ok(Ok(quote)),
                Ok(Err(SimulationError::Nonce)) => {
                    // Read again for the same account; stale twice in a row (it is busy
                    // sending), the next account.
                    inner.pool.forget_nonce_hint(&address);
                    again = if again.as_deref() == Some(address.as_str()) {
                        None
                    } else {
                        Some(address)
                    };
                    // The account is busy sending: a moment for its nonce to settle.
                    let pause = Duration::from_millis(5 * (attempt as u64 + 1));
                    tokio::time::sleep(pause.min(Duration::from_millis(50))).await;
                }
                Ok(Err(SimulationError::Unfunded(_))) if required.is_none() => {
                    inner.pool.mark_unfunded(&address);
                    again = None;
                }
                Ok(Err(SimulationError::Unfunded(why))) => {
                    inner.pool.mark_unfunded(&address);
                    return Err(RelayError::Unfunded(format!(
                        "the relayer account this execution is bound to cannot pay ({why}); prepare it again"
                    )));
                }
                Ok(Err(SimulationError::Refused(refusal))) => return Ok(Err(refusal)),
                Ok(Err(SimulationError::Unavailable(e))) => return Err(unavailable(e)),
            }
        }
        Err(RelayError::Unavailable("relayer nonce kept changing during the estimate".into()))
    }

    /// Waits until another instance signs request `id` (it holds the relayer account
    /// the request is bound to), and returns the transaction hash.
    async fn wait_for_hash(&self, id: &str) -> Result<String, RelayError> {
        let deadline = tokio::time::Instant::now() + self.inner.config.handover_wait;
        loop {
            let request = self.inner.store.request(id).await?;
            if let Some(hash) = request.as_ref().and_then(|r| r.tx_hash.clone()) {
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
    async fn session_view(&self, account: &str, key: &str) -> Result<SessionRecord, RelayError> {
        let ttl = self.inner.config.session_cache;
        let id = (account.to_string(), key.to_string());
        if let Ok(cache) = self.inner.sessions.lock() {
            if let Some((read, view)) = cache.get(&id) {
                if read.elapsed() < ttl {
                    return Ok(view.clone());
                }
            }
        }
        let view = self.inner.chain.session(account, key).await.map_err(unavailable)?;
        if let Ok(mut cache) = self.inner.sessions.lock() {
            cache.retain(|_, (read, _)| read.elapsed() < ttl);
            cache.insert(id, (Instant::now(), view.clone()));
        }
        Ok(view)
    }

    /// Drops cached session records of `account`: one key, or all of them.
    pub(crate) fn forget_session(&self, account: &str, key: Option<&str>) {
        if let Ok(mut cache) = self.inner.sessions.lock() {
            cache.retain(|(a, k), _| a != account || key.is_some_and(|key| key != k));
        }
    }

    /// Writes why a signed payload was refused onto its issued record, which stays
    /// `prepared` (the refusal may pass, and the payload be sent again); returns the
    /// refusal. The record is the transactions view's answer to why nothing was sent.
    async fn note_refusal(
        &self,
        issued: Option<&latchkey_store::Request>,
        refusal: RelayError,
    ) -> RelayError {
        if let Some(request) = issued {
            let update = RequestUpdate {
                error_code: Some(refusal.code().to_string()),
                error_message: Some(refusal.to_string()),
                ..RequestUpdate::default()
            };
            let noted =
                self.inner.store.update_request(&request.id, &[RequestStatus::Prepared], &update);
            if let Err(error) = noted.await {
                tracing::warn!(%error, request = %request.id, "recording a refusal");
            }
        }
        refusal
    }

    async fn check_session(
        &self,
        account: &str,
        key: &str,
        signed_valid_until: u64,
        calls: &[CallView],
        now: u64,
    ) -> Result<(), RelayError> {
        let view = self.session_view(account, key).await?;
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
        view.rules
            .check(account, calls, now, view.calls_used, signed_valid_until)
            .map_err(RelayError::from_policy)?;

        // Spending caps, applied call by call as the contract will.
        let mut caps: Vec<(&str, SpendingPolicy)> = Vec::new();
        for call in calls {
            let amount = match call.spend {
                Spend::None => continue,
                Spend::Amount(amount) => amount,
                Spend::Malformed => {
                    return Err(RelayError::SpendingLimit(
                        "token call without a valid u256 amount".into(),
                    ))
                }
            };
            let index = match caps.iter().position(|(token, _)| *token == call.target) {
                Some(index) => index,
                None => {
                    let cap = self
                        .inner
                        .chain
                        .spending_cap(account, key, &call.target)
                        .await
                        .map_err(unavailable)?;
                    caps.push((&call.target, cap));
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
}
