//! The relayer's state machine against the in-memory chain: every status a request can
//! take and every way out of it, nonce errors, broadcasts whose outcome is unknown,
//! restarts, and the budget's reservations and settlements. No node, no waiting on blocks.

use std::sync::Arc;
use std::time::Duration;

use latchkey_chain::fake::{FakeChain, SendScript};
use latchkey_chain::{
    AccountChange, Call, Calls, Chain as _, ChainBackend, Permission, Refusal, SessionGrant,
    SessionRules, Signing, SpendingCap,
};
use latchkey_core::{codes, selector, to_hex, Felt, U256};
use latchkey_store::{
    BudgetKey, NewRequest, NewSession, NewWallet, Request, RequestStatus, Store, StoredGrant,
};
use latchkey_testkit::TestDatabase;

use crate::{Purpose, RelayError, Relayer, RelayerConfig, WalletRef};

const OWNER: &str = "0x0a11ce";
/// What the fake chain quotes and charges per transaction, in FRI: 5 and 3 stored units.
const MAX_FEE: u128 = 5_000_000_000;
const FEE: u128 = 3_000_000_000;

struct Bench {
    fake: Arc<FakeChain>,
    chain: Arc<dyn ChainBackend>,
    store: Store,
    relayer: Relayer,
    org: String,
    wallet: WalletRef,
    _db: TestDatabase,
}

fn config() -> RelayerConfig {
    // The monitor's own passes are far apart: each test runs the passes it needs.
    RelayerConfig {
        poll_interval: Duration::from_secs(3600),
        lease_owner: "relayer-tests".into(),
        deploy_timeout: Duration::from_secs(5),
        ..RelayerConfig::default()
    }
}

async fn bench_with(relayers: usize, budget: u128) -> Bench {
    bench_configured(relayers, budget, config()).await
}

/// A bench whose monitor runs on its own, for calls that wait for it (deployments).
async fn bench_monitored() -> Bench {
    let config = RelayerConfig { poll_interval: Duration::from_millis(5), ..config() };
    bench_configured(2, 1_000 * MAX_FEE, config).await
}

async fn bench_configured(relayers: usize, budget: u128, config: RelayerConfig) -> Bench {
    let db = TestDatabase::sqlite().await;
    let store = db.store();
    let fake = Arc::new(FakeChain::new(relayers));
    fake.set_fees(MAX_FEE, FEE);
    let chain: Arc<dyn ChainBackend> = fake.clone();
    let org = store.create_organization("tests").await.unwrap().id;
    let key = BudgetKey { org_id: &org, chain: chain.id().as_str(), unit: chain.fee_unit() };
    store.set_gas_budget(key, budget).await.unwrap();
    let address = fake.deploy(OWNER);
    let stored = store
        .insert_wallet(&NewWallet {
            org_id: org.clone(),
            external_user_id: Some("user-1".into()),
            address: address.clone(),
            owner_public_key: OWNER.into(),
            encrypted_private_key: "lk2.sealed".into(),
            encrypted_private_key_backup: None,
            wallet_type: "READY".into(),
            chain: "eip155:1337".into(),
            class_hash: "0x1".into(),
            auth_method: None,
            credential_id: None,
            prf_supported: None,
            device_type: None,
        })
        .await
        .unwrap();
    let relayer = Relayer::start(chain.clone(), store.clone(), config).await.unwrap();
    let wallet = WalletRef {
        id: stored.id,
        org_id: org.clone(),
        address,
        owner_public_key: OWNER.into(),
        external_user_id: Some("user-1".into()),
        cooldown_until: None,
    };
    Bench { fake, chain, store, relayer, org, wallet, _db: db }
}

async fn bench() -> Bench {
    bench_with(2, 1_000 * MAX_FEE).await
}

fn game_call() -> Call {
    Call::new(Felt::from(0x6a3eu32), "make_move", vec![Felt::ONE])
}

impl Bench {
    /// Prepares `calls` and signs them as the owner: the request id and its submission.
    async fn owner_signed(&self, calls: Vec<Call>) -> (String, serde_json::Value, Vec<String>) {
        self.signed(Calls::Starknet(calls), Purpose::User).await
    }

    async fn signed(
        &self,
        calls: Calls,
        purpose: Purpose,
    ) -> (String, serde_json::Value, Vec<String>) {
        let prepared =
            self.relayer.prepare(&self.wallet, calls, purpose, &Signing::Owner).await.unwrap();
        let signature = FakeChain::sign_owner(OWNER, &prepared.signable.hash);
        (prepared.request_id, prepared.signable.payload, signature)
    }

    async fn execute(
        &self,
        payload: &serde_json::Value,
        signature: &[String],
    ) -> Result<crate::Submitted, RelayError> {
        self.relayer.execute(&self.wallet, payload, signature, None).await
    }

    /// An owner-signed execution left `recorded` (its fee reserved): the node refused the
    /// relayer nonce at every attempt.
    async fn left_recorded(&self) -> (String, serde_json::Value, Vec<String>) {
        let (id, payload, signature) = self.owner_signed(vec![game_call()]).await;
        for _ in 0..config().submit_attempts {
            self.fake.script_send(SendScript::Nonce);
        }
        self.execute(&payload, &signature).await.unwrap();
        assert_eq!(self.status(&id).await, RequestStatus::Recorded);
        (id, payload, signature)
    }

    async fn request(&self, id: &str) -> Request {
        self.store.request(id).await.unwrap().unwrap()
    }

    async fn status(&self, id: &str) -> RequestStatus {
        self.request(id).await.status
    }

    /// (spent, reserved) of the organisation's budget on the chain.
    async fn budget(&self) -> (u128, u128) {
        let chain = self.chain.id().as_str();
        let key = BudgetKey { org_id: &self.org, chain, unit: self.chain.fee_unit() };
        let budget = self.store.gas_budget(key).await.unwrap();
        (budget.spent, budget.reserved)
    }
}

#[tokio::test]
async fn an_owner_execution_goes_prepared_recorded_submitted_succeeded_and_pays_the_actual_fee() {
    let b = bench().await;
    b.fake.set_auto_mine(false);
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    assert_eq!(b.status(&id).await, RequestStatus::Prepared);
    assert_eq!(b.budget().await, (0, 0));

    let submitted = b.execute(&payload, &signature).await.unwrap();
    assert_eq!(submitted.request_id, id);
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Submitted);
    assert_eq!(request.tx_hash.as_deref(), Some(submitted.transaction_hash.as_str()));
    assert_eq!(request.kind.as_deref(), Some("owner"));
    assert_eq!(b.budget().await, (0, MAX_FEE), "the quoted fee is reserved while in flight");

    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Submitted, "no receipt yet: still in flight");
    b.fake.mine();
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Succeeded);
    assert_eq!(request.fee.as_deref(), Some(FEE.to_string().as_str()));
    assert_eq!(b.budget().await, (FEE, 0), "the actual fee is charged, the reservation released");
    assert_eq!(b.fake.landed(), (1, 0));
}

#[tokio::test]
async fn a_transaction_that_reverts_on_chain_is_reverted_with_its_fee_charged() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.revert_on_chain(payload["nonceKey"].as_str().unwrap());
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Reverted);
    assert_eq!(request.error_code.as_deref(), Some(codes::EXECUTION_REVERTED));
    assert_eq!(b.budget().await, (FEE, 0));
}

#[tokio::test]
async fn a_transaction_the_node_rejects_is_rejected_and_costs_nothing() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.script_send(SendScript::Rejected("insufficient balance".into()));
    let error = b.execute(&payload, &signature).await.unwrap_err();
    assert_eq!(error.code(), codes::TRANSACTION_REJECTED);
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Rejected);
    assert_eq!(request.error_code.as_deref(), Some(codes::TRANSACTION_REJECTED));
    assert_eq!(b.budget().await, (0, 0));
    assert_eq!(b.fake.landed(), (0, 0));
}

#[tokio::test]
async fn a_refused_simulation_records_nothing_and_reserves_nothing() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.refuse_simulation(Refusal::new(codes::SIMULATION_FAILED, "Game: nothing to claim"));
    let error = b.execute(&payload, &signature).await.unwrap_err();
    assert_eq!(error.code(), codes::SIMULATION_FAILED);
    assert_eq!(b.status(&id).await, RequestStatus::Prepared, "it may be submitted again");
    assert_eq!(b.budget().await, (0, 0));
    // Submitted again, it goes through.
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
}

#[tokio::test]
async fn an_exhausted_budget_refuses_before_anything_is_signed() {
    let b = bench_with(1, MAX_FEE - 1).await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    let error = b.execute(&payload, &signature).await.unwrap_err();
    assert_eq!(error.code(), codes::SPONSORSHIP_EXHAUSTED);
    assert_eq!(b.status(&id).await, RequestStatus::Prepared);
    assert_eq!(b.budget().await, (0, 0));
    assert_eq!(b.fake.broadcasts(), 0);
}

#[tokio::test]
async fn a_bad_signature_or_another_payload_is_refused_off_chain() {
    let b = bench().await;
    let (id, payload, _) = b.owner_signed(vec![game_call()]).await;
    let wrong = FakeChain::sign_owner("0xbad", "0x1");
    assert_eq!(b.execute(&payload, &wrong).await.unwrap_err().code(), codes::INVALID_SIGNATURE);
    let mut altered = payload.clone();
    altered["executeBefore"] = (payload["executeBefore"].as_u64().unwrap() + 1).into();
    let signature =
        FakeChain::sign_owner(OWNER, &b.chain.inspect(&b.wallet.address, &altered).unwrap().hash);
    assert_eq!(
        b.execute(&altered, &signature).await.unwrap_err().code(),
        codes::TYPED_DATA_MISMATCH
    );
    assert_eq!(b.status(&id).await, RequestStatus::Prepared);
    assert_eq!(b.fake.broadcasts(), 0);
}

#[tokio::test]
async fn a_payload_issued_before_digests_were_kept_is_matched_by_reading_it() {
    let b = bench().await;
    // What a server before schema 5 recorded: the issued payload, no digest.
    let now = b.fake.now().await.unwrap();
    let calls = Calls::Starknet(vec![game_call()]);
    let caller = b.chain.relayer_accounts()[0].clone();
    let signable = b
        .chain
        .prepare(&b.wallet.address, calls, &Signing::Owner, &caller, now, 300)
        .await
        .unwrap();
    let request = b
        .store
        .insert_request(&NewRequest {
            org_id: b.org.clone(),
            wallet_id: Some(b.wallet.id.clone()),
            chain: b.chain.id().to_string(),
            account: b.wallet.address.clone(),
            oe_nonce: signable.nonce_key.clone(),
            typed_data_json: signable.payload.to_string(),
            calls_json: "[]".into(),
            execute_before: signable.execute_before as i64,
            purpose: Purpose::User.encode(),
            fee_unit: b.chain.fee_unit().into(),
            payload_hash: None,
        })
        .await
        .unwrap();
    let mut altered = signable.payload.clone();
    altered["executeBefore"] = (signable.execute_before + 1).into();
    let altered_hash = b.chain.inspect(&b.wallet.address, &altered).unwrap().hash;
    let refused = b.execute(&altered, &FakeChain::sign_owner(OWNER, &altered_hash)).await;
    assert_eq!(refused.unwrap_err().code(), codes::TYPED_DATA_MISMATCH);
    let signature = FakeChain::sign_owner(OWNER, &signable.hash);
    b.execute(&signable.payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&request.id).await, RequestStatus::Succeeded);
}

#[tokio::test]
async fn one_stale_nonce_is_read_again_and_the_execution_goes_through() {
    let b = bench_with(1, 1_000 * MAX_FEE).await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    // The node refuses the relayer nonce once (another transaction took it).
    b.fake.script_send(SendScript::Nonce);
    b.execute(&payload, &signature).await.unwrap();
    let request = b.request(&id).await;
    assert_eq!(request.tx_hashes().len(), 2, "both signed hashes stay on record");
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(b.fake.landed(), (1, 0));
}

#[tokio::test]
async fn nonce_errors_on_every_attempt_leave_it_recorded_for_the_monitor_to_send() {
    let b = bench_with(1, 1_000 * MAX_FEE).await;
    let (id, _, _) = b.left_recorded().await;
    assert_eq!(b.budget().await, (0, MAX_FEE), "the reservation is kept");
    b.relayer.reconcile().await; // signs and sends it again
    b.relayer.reconcile().await; // finds its receipt
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(b.budget().await, (FEE, 0));
    assert_eq!(b.fake.landed(), (1, 0));
}

#[tokio::test]
async fn a_broadcast_whose_answer_was_lost_is_found_by_its_hash_and_never_sent_twice() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.script_send(SendScript::UnknownButAccepted);
    let submitted = b.execute(&payload, &signature).await.unwrap();
    assert_eq!(b.status(&id).await, RequestStatus::Submitting);
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Succeeded);
    assert_eq!(request.tx_hash, Some(submitted.transaction_hash));
    assert_eq!(b.fake.broadcasts(), 1);
    assert_eq!(b.fake.landed(), (1, 0));
}

#[tokio::test]
async fn a_broadcast_the_node_never_saw_is_sent_again_byte_for_byte() {
    let b = bench().await;
    b.fake.set_auto_mine(false);
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.script_send(SendScript::UnknownAndLost);
    let submitted = b.execute(&payload, &signature).await.unwrap();
    assert_eq!(b.status(&id).await, RequestStatus::Submitting);
    assert_eq!(b.fake.broadcasts(), 0);
    b.relayer.reconcile().await; // no receipt, so the same signed transaction again
    assert_eq!(b.status(&id).await, RequestStatus::Submitted);
    assert_eq!(b.fake.broadcasts(), 1);
    b.fake.mine();
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Succeeded);
    assert_eq!(request.tx_hash, Some(submitted.transaction_hash), "the same hash landed");
    assert_eq!(b.fake.landed(), (1, 0));
}

#[tokio::test]
async fn a_prepared_payload_never_submitted_expires_when_its_window_closes() {
    let b = bench().await;
    let (id, _, _) = b.owner_signed(vec![game_call()]).await;
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Prepared);
    b.fake.advance(config().window_seconds + 1);
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Expired);
    assert_eq!(request.error_code.as_deref(), Some(codes::TYPED_DATA_EXPIRED));
    assert_eq!(b.budget().await, (0, 0));
}

/// A payload that commits the sponsor when it is prepared (an EVM paymaster signature),
/// for 7 stored units: more than the quote, so every step shows which amount is held.
const COMMITTED: u128 = 7_000_000_000;

#[tokio::test]
async fn a_sponsorship_committed_at_prepare_is_reserved_then_released_when_unused() {
    let b = bench().await;
    b.fake.commit_at_prepare(Some(COMMITTED));
    let (id, _, _) = b.owner_signed(vec![game_call()]).await;
    assert_eq!(b.budget().await, (0, COMMITTED), "reserved as soon as the paymaster signs");
    assert_eq!(b.request(&id).await.fee.as_deref(), Some(COMMITTED.to_string().as_str()));
    b.fake.advance(config().window_seconds + 1);
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Expired);
    assert_eq!(request.error_code.as_deref(), Some(codes::TYPED_DATA_EXPIRED));
    assert_eq!(b.budget().await, (0, 0), "released when the window lapsed unused");
}

#[tokio::test]
async fn a_committed_payload_someone_else_submitted_is_charged_in_full() {
    let b = bench().await;
    b.fake.commit_at_prepare(Some(COMMITTED));
    let prepared = b
        .relayer
        .prepare(&b.wallet, Calls::Starknet(vec![game_call()]), Purpose::User, &Signing::Owner)
        .await
        .unwrap();
    // Another bundler sends the signed payload: latchkey never sees the transaction.
    b.fake.spend_elsewhere(&b.wallet.address, &prepared.signable.nonce_key);
    b.relayer.reconcile().await;
    assert_eq!(b.budget().await, (0, COMMITTED), "still open while its window is");
    b.fake.advance(config().window_seconds + 1);
    b.relayer.reconcile().await;
    let request = b.request(&prepared.request_id).await;
    assert_eq!(request.status, RequestStatus::Expired);
    assert_eq!(request.error_code.as_deref(), Some(codes::SUBMITTED_ELSEWHERE));
    assert_eq!(b.budget().await, (COMMITTED, 0), "the sponsor paid: charged at the maximum");
}

#[tokio::test]
async fn a_committed_payload_executed_here_holds_one_reservation_and_pays_the_actual_fee() {
    let b = bench().await;
    b.fake.commit_at_prepare(Some(COMMITTED));
    b.fake.set_auto_mine(false);
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.execute(&payload, &signature).await.unwrap();
    assert_eq!(b.budget().await, (0, MAX_FEE), "moved to the quote, never reserved twice");
    b.fake.mine();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(b.budget().await, (FEE, 0));
}

#[tokio::test]
async fn a_payload_prepared_again_for_the_same_nonce_supersedes_the_unsent_one() {
    let b = bench().await;
    b.fake.commit_at_prepare(Some(COMMITTED));
    b.fake.sequential_nonces();
    let (first, first_payload, first_signature) = b.owner_signed(vec![game_call()]).await;
    let (second, payload, signature) = b.owner_signed(vec![game_call()]).await;
    assert_ne!(first, second);
    let old = b.request(&first).await;
    assert_eq!(old.status, RequestStatus::Expired);
    assert!(old.error_message.unwrap_or_default().contains("superseded"));
    assert_eq!(b.budget().await, (0, COMMITTED), "one reservation, not two");
    // The superseded payload is not executed; the new one is.
    assert!(b.execute(&first_payload, &first_signature).await.is_err());
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&second).await, RequestStatus::Succeeded);
}

#[tokio::test]
async fn a_superseded_payload_never_runs_even_while_its_nonce_has_no_record() {
    let b = bench().await;
    b.fake.sequential_nonces();
    let (first, payload, signature) = b.owner_signed(vec![game_call()]).await;
    // The moment inside a supersession when the old record has let go of the nonce and
    // the new one does not hold it yet.
    let nonce = b.request(&first).await.oe_nonce;
    let superseded = latchkey_store::RequestUpdate {
        status: Some(RequestStatus::Expired),
        oe_nonce: Some(format!("{nonce}/superseded/{first}")),
        ..Default::default()
    };
    assert!(b.store.update_request(&first, &[RequestStatus::Prepared], &superseded).await.unwrap());
    assert!(matches!(b.execute(&payload, &signature).await, Err(RelayError::TypedDataMismatch)));
    assert_eq!(b.fake.broadcasts(), 0);
    assert!(b
        .store
        .request_by_oe(b.chain.id().as_str(), &b.wallet.address, &nonce)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_new_payload_refused_its_reservation_leaves_the_unsent_one_reserved_and_usable() {
    // The budget covers one commitment, not two: the new payload cannot reserve while the
    // old one still holds its own (the old one may still land elsewhere).
    let b = bench_with(2, COMMITTED + COMMITTED / 2).await;
    b.fake.commit_at_prepare(Some(COMMITTED));
    b.fake.sequential_nonces();
    let (first, payload, signature) = b.owner_signed(vec![game_call()]).await;
    let error = b
        .relayer
        .prepare(&b.wallet, Calls::Starknet(vec![game_call()]), Purpose::User, &Signing::Owner)
        .await
        .unwrap_err();
    assert_eq!(error.code(), codes::SPONSORSHIP_EXHAUSTED, "{error}");
    assert_eq!(b.status(&first).await, RequestStatus::Prepared, "the old one is untouched");
    assert_eq!(b.budget().await, (0, COMMITTED), "still reserved for it, and only for it");
    b.fake.set_auto_mine(false);
    b.execute(&payload, &signature).await.unwrap();
    assert_eq!(b.status(&first).await, RequestStatus::Submitted);
}

#[tokio::test]
async fn a_payload_for_a_nonce_in_flight_is_refused_as_a_duplicate() {
    let b = bench().await;
    b.fake.sequential_nonces();
    b.fake.set_auto_mine(false);
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.execute(&payload, &signature).await.unwrap();
    let error = b
        .relayer
        .prepare(&b.wallet, Calls::Starknet(vec![game_call()]), Purpose::User, &Signing::Owner)
        .await
        .unwrap_err();
    assert_eq!(error.code(), codes::DUPLICATE_EXECUTION, "{error}");
    assert_eq!(b.status(&id).await, RequestStatus::Submitted, "the one in flight is untouched");
    b.fake.mine();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    // Once it is spent, the next payload has the next nonce.
    b.owner_signed(vec![game_call()]).await;
}

#[tokio::test]
async fn a_commitment_beyond_the_budget_is_refused_at_prepare_and_holds_nothing() {
    let b = bench_with(2, COMMITTED - 1_000_000_000).await;
    b.fake.commit_at_prepare(Some(COMMITTED));
    let error = b
        .relayer
        .prepare(&b.wallet, Calls::Starknet(vec![game_call()]), Purpose::User, &Signing::Owner)
        .await
        .unwrap_err();
    assert_eq!(error.code(), codes::SPONSORSHIP_EXHAUSTED);
    assert_eq!(b.budget().await, (0, 0));
}

#[tokio::test]
async fn a_recorded_request_whose_window_closed_expires_and_releases_its_reservation() {
    let b = bench_with(1, 1_000 * MAX_FEE).await;
    let (id, _, _) = b.left_recorded().await;
    b.fake.advance(config().window_seconds);
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Expired);
    assert_eq!(request.error_code.as_deref(), Some(codes::EXPIRED));
    assert_eq!(b.budget().await, (0, 0));
}

#[tokio::test]
async fn a_recorded_request_with_a_transaction_signed_earlier_expires_only_once_its_window_closed_on_chain(
) {
    let b = bench_with(1, 1_000 * MAX_FEE).await;
    let (id, _, _) = b.left_recorded().await;
    assert!(!b.request(&id).await.tx_hashes().is_empty());
    // Too late to send anew, but what was signed earlier could still run: it waits.
    b.fake.advance(config().window_seconds - config().min_remaining_seconds);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Recorded);
    assert_eq!(b.fake.broadcasts(), 0, "nothing sent this close to the end");
    b.fake.advance(config().min_remaining_seconds + 1);
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Expired);
    assert_eq!(request.error_code.as_deref(), Some(codes::EXPIRED));
    assert_eq!(b.budget().await, (0, 0));
}

#[tokio::test]
async fn a_restart_sends_what_was_recorded_and_follows_what_was_in_flight() {
    let b = bench_with(1, 1_000 * MAX_FEE).await;
    b.fake.set_auto_mine(false);
    // One request submitted whose receipt the old process never saw, one recorded (its
    // fee reserved) that the old process never got to send.
    let (in_flight, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.execute(&payload, &signature).await.unwrap();
    let (recorded, _, _) = b.left_recorded().await;
    assert_eq!(b.status(&in_flight).await, RequestStatus::Submitted);
    assert_eq!(b.budget().await, (0, 2 * MAX_FEE));

    // The process goes away; a new one starts on the same database and chain, and its
    // start is the reconciliation.
    let Bench { fake, chain, store, relayer, org, _db, .. } = b;
    drop(relayer);
    let restarted = Relayer::start(chain, store.clone(), config()).await.unwrap();
    let status = |id: &str| {
        let (store, id) = (store.clone(), id.to_string());
        async move { store.request(&id).await.unwrap().unwrap().status }
    };
    assert_eq!(status(&in_flight).await, RequestStatus::Submitted, "still pending on chain");
    assert_eq!(status(&recorded).await, RequestStatus::Submitted, "sent at start");
    fake.mine();
    restarted.reconcile().await;
    assert_eq!(status(&in_flight).await, RequestStatus::Succeeded);
    assert_eq!(status(&recorded).await, RequestStatus::Succeeded);
    assert_eq!(fake.landed(), (2, 0));
    let key = BudgetKey { org_id: &org, chain: fake.id().as_str(), unit: fake.fee_unit() };
    let budget = store.gas_budget(key).await.unwrap();
    assert_eq!((budget.spent, budget.reserved), (2 * FEE, 0));
}

#[tokio::test]
async fn a_recorded_request_a_live_instance_handles_is_left_to_it_and_taken_over_once_it_stops() {
    // Two instances share the database and the two relayer accounts, one each.
    let shared = RelayerConfig { instances: 2, lease_seconds: 1, ..config() };
    let b = bench_configured(2, 1_000 * MAX_FEE, shared.clone()).await;
    let (id, _, _) = b.left_recorded().await;
    assert_eq!(b.request(&id).await.handler.as_deref(), Some("relayer-tests"));
    let other = RelayerConfig { lease_owner: "other".into(), ..shared };
    let second = Relayer::start(b.chain.clone(), b.store.clone(), other).await.unwrap();
    second.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Recorded, "left to the live instance");

    // The first instance stops; once its leases lapse, the second sends what it left.
    let Bench { relayer, store, fake, _db, .. } = b;
    drop(relayer);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    second.reconcile().await;
    let request = store.request(&id).await.unwrap().unwrap();
    assert_ne!(request.status, RequestStatus::Recorded, "taken over");
    second.reconcile().await;
    assert_eq!(store.request(&id).await.unwrap().unwrap().status, RequestStatus::Succeeded);
    assert_eq!(fake.landed(), (1, 0));
}

#[tokio::test]
async fn a_lease_not_renewed_in_time_stops_the_accounts_use_before_another_may_take_it() {
    let config = RelayerConfig { lease_seconds: 2, ..config() };
    let b = bench_configured(1, 1_000 * MAX_FEE, config.clone()).await;
    let address = b.relayer.relayer_addresses()[0].clone();
    assert!(b.relayer.inner.pool.holds(&address));
    // Renewed on time by the lease keeper, whatever the monitor does.
    tokio::time::sleep(config.lease_use() + Duration::from_millis(600)).await;
    assert!(b.relayer.inner.pool.holds(&address), "renewed by the keeper");
    // A process that stalls (here: its keeper stopped) stops using the account within
    // three quarters of the lease, while the lease itself still runs.
    if let Ok(mut tasks) = b.relayer.inner.tasks.lock() {
        tasks.drain(..).for_each(|task| task.abort());
    }
    tokio::time::sleep(config.lease_use() + Duration::from_millis(100)).await;
    assert!(!b.relayer.inner.pool.holds(&address), "no longer used");
    let lease = b.store.relayer_lease(b.chain.id().as_str(), &address).await.unwrap();
    assert_eq!(lease.and_then(|(owner, _)| owner).as_deref(), Some("relayer-tests"));
    assert!(matches!(b.relayer.inner.pool.acquire(None).await, Err(RelayError::Unavailable(_))));
}

#[tokio::test]
async fn a_receipt_that_lags_the_chains_state_is_waited_for_not_taken_for_a_duplicate() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.execute(&payload, &signature).await.unwrap();
    // The transaction landed, but the node answers "no receipt" a few more times, and
    // refuses the re-broadcast's nonce (it is used: by this very transaction).
    b.fake.hide_receipts(4);
    b.relayer.reconcile().await;
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Succeeded, "{:?}", request.error_code);
    assert_eq!(b.budget().await, (FEE, 0));
}

#[tokio::test]
async fn a_recorded_request_whose_nonce_was_spent_meanwhile_is_rejected_as_a_duplicate() {
    let b = bench_with(1, 1_000 * MAX_FEE).await;
    let (id, payload, signature) = b.left_recorded().await;
    // The very same payload ran meanwhile in another transaction (another nonce, so
    // another hash than any the relayer signed).
    let relayer = b.chain.relayer_accounts()[0].clone();
    b.fake.bump_relayer_nonce(&relayer);
    let nonce = b.chain.relayer_nonce(&relayer).await.unwrap();
    let job = latchkey_chain::Job::Execute {
        account: b.wallet.address.clone(),
        payload: payload.clone(),
        signature: signature.clone(),
    };
    let quote = b.chain.simulate(&relayer, nonce, &job).await.unwrap();
    let signed = b.chain.sign(&relayer, nonce, &job, &quote).await.unwrap();
    b.chain.send(&signed.raw).await.unwrap();
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Rejected);
    assert_eq!(request.error_code.as_deref(), Some(codes::DUPLICATE_EXECUTION));
    assert_eq!(b.budget().await, (0, 0));
    assert_eq!(b.fake.landed(), (1, 0), "it ran once");
}

#[tokio::test]
async fn a_fee_that_rises_beyond_the_budget_before_a_resend_ends_the_request() {
    let b = bench_with(1, 2 * MAX_FEE).await;
    let (id, _, _) = b.left_recorded().await;
    assert_eq!(b.budget().await, (0, MAX_FEE));
    b.fake.set_fees(10 * MAX_FEE, FEE);
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Rejected);
    assert_eq!(request.error_code.as_deref(), Some(codes::SPONSORSHIP_EXHAUSTED));
    assert_eq!(b.budget().await, (0, 0));
    assert_eq!(b.fake.broadcasts(), 0);
}

#[tokio::test]
async fn a_payload_runs_at_most_once() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    let first = b.execute(&payload, &signature).await.unwrap();
    match b.execute(&payload, &signature).await.unwrap_err() {
        RelayError::AlreadySubmitted { request_id, tx_hash } => {
            assert_eq!(request_id.as_deref(), Some(id.as_str()));
            assert_eq!(tx_hash, Some(first.transaction_hash));
        }
        other => panic!("{other:?}"),
    }
    b.relayer.reconcile().await;
    assert_eq!(b.fake.landed(), (1, 0));
}

#[tokio::test]
async fn a_deployment_is_recorded_before_it_is_signed_and_followed_to_its_end() {
    let b = bench_monitored().await;
    let deployment = b.relayer.deploy_account(&b.org, "0x0b0b").await.unwrap();
    assert!(b.chain.is_deployed(&deployment.address).await.unwrap());
    let hash = deployment.transaction_hash.expect("a deploying transaction");
    let requests = b
        .store
        .requests_with_status(b.chain.id().as_str(), &[RequestStatus::Succeeded], 10)
        .await
        .unwrap();
    let request = requests.iter().find(|r| r.tx_hash.as_deref() == Some(&hash)).unwrap();
    assert_eq!(request.kind.as_deref(), Some("deploy"));
    assert_eq!(Purpose::decode(&request.purpose), Purpose::Deploy("0x0b0b".into()));
    assert_eq!(b.budget().await, (FEE, 0), "its fee is charged to the organisation");
    // Deployed already: nothing is sent.
    let again = b.relayer.deploy_account(&b.org, "0x0b0b").await.unwrap();
    assert_eq!((again.address, again.transaction_hash), (deployment.address, None));
    assert_eq!(b.fake.landed(), (1, 0));
}

#[tokio::test]
async fn a_deployment_the_node_rejects_is_rejected_and_costs_nothing() {
    let b = bench_monitored().await;
    b.fake.script_send(SendScript::Rejected("class not declared".into()));
    let error = b.relayer.deploy_account(&b.org, "0x0b0b").await.unwrap_err();
    assert_eq!(error.code(), codes::TRANSACTION_REJECTED);
    let rejected = b
        .store
        .requests_with_status(b.chain.id().as_str(), &[RequestStatus::Rejected], 10)
        .await
        .unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].kind.as_deref(), Some("deploy"));
    assert_eq!(b.budget().await, (0, 0));
}

fn grant(key: &str, permissions: Vec<Permission>) -> SessionGrant {
    SessionGrant {
        session_key: key.into(),
        rules: SessionRules { valid_after: 0, valid_until: 1_003_600, max_calls: 5, permissions },
    }
}

/// The session `key` as the API records it before its registration runs.
async fn record_session(b: &Bench, key: &str) {
    b.store
        .upsert_session(&NewSession {
            wallet_id: b.wallet.id.clone(),
            session_public_key: key.into(),
            valid_after: 0,
            valid_until: 1_003_600,
            max_calls: 5,
            grant: StoredGrant::default(),
            allow_all: false,
            registration_request_id: None,
        })
        .await
        .unwrap();
}

async fn register(b: &Bench, changes: &[AccountChange], key: &str) -> String {
    record_session(b, key).await;
    let calls = b.chain.session_calls(&b.wallet.address, changes).unwrap();
    let (id, payload, signature) = b.signed(calls, Purpose::RegisterSession(key.into())).await;
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    id
}

async fn session_execute(b: &Bench, key: &str, calls: Vec<Call>) -> Result<String, RelayError> {
    let prepared = b
        .relayer
        .prepare(&b.wallet, Calls::Starknet(calls), Purpose::User, &Signing::Owner)
        .await
        .unwrap();
    let signature = FakeChain::sign_session(key, &prepared.signable.hash, 1_003_600);
    b.execute(&prepared.signable.payload, &signature).await?;
    Ok(prepared.request_id)
}

#[tokio::test]
async fn c07_a_session_runs_its_allowed_methods_only_and_not_after_revocation() {
    let b = bench().await;
    let game = Permission {
        target: Some(to_hex(&Felt::from(0x6a3eu32))),
        selector: to_hex(&selector("make_move")),
    };
    let registration = AccountChange::RegisterSession(grant("0x5e55", vec![game.clone()]));
    register(&b, &[registration], "0x5e55").await;
    let session = b.store.session(&b.wallet.id, "0x5e55").await.unwrap().unwrap();
    assert_eq!(session.state, latchkey_store::SessionState::Active, "mirrored on success");

    let id = session_execute(&b, "0x5e55", vec![game_call()]).await.unwrap();
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(
        (request.status, request.kind.as_deref()),
        (RequestStatus::Succeeded, Some("session"))
    );

    // The same selector on another contract is not allowed (the allowlist is per contract).
    let elsewhere = Call::new(Felt::from(0x7777u32), "make_move", vec![Felt::ONE]);
    let error = session_execute(&b, "0x5e55", vec![elsewhere]).await.unwrap_err();
    assert_eq!(error.code(), codes::SESSION_ENTRYPOINT_NOT_ALLOWED);

    // Revoked: refused, and the key cannot be registered again.
    let calls = b
        .chain
        .session_calls(&b.wallet.address, &[AccountChange::RevokeSession("0x5e55".into())])
        .unwrap();
    let (id, payload, signature) = b.signed(calls, Purpose::RevokeSession("0x5e55".into())).await;
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    let error = session_execute(&b, "0x5e55", vec![game_call()]).await.unwrap_err();
    assert_eq!(error.code(), codes::SESSION_REVOKED);
    let again = b
        .chain
        .session_calls(
            &b.wallet.address,
            &[AccountChange::RegisterSession(grant("0x5e55", vec![game.clone()]))],
        )
        .unwrap();
    let error =
        b.relayer.prepare(&b.wallet, again, Purpose::User, &Signing::Owner).await.unwrap_err();
    assert_eq!(error.code(), codes::SESSION_KEY_REVOKED);
}

#[tokio::test]
async fn spending_caps_are_applied_off_chain_per_call_and_per_window() {
    let b = bench().await;
    let token = Felt::from(0x70u32);
    let transfer =
        Permission { target: Some(to_hex(&token)), selector: to_hex(&selector("transfer")) };
    let cap = SpendingCap {
        session_key: "0x5e55".into(),
        token: to_hex(&token),
        max_per_call: U256::from_u128(5),
        max_per_window: U256::from_u128(8),
        window_seconds: 3600,
    };
    let changes = [
        AccountChange::RegisterSession(grant("0x5e55", vec![transfer])),
        AccountChange::SetSpendingCap(cap),
    ];
    register(&b, &changes, "0x5e55").await;
    let pay = |amount: u32| {
        Call::new(token, "transfer", vec![Felt::from(0xbeefu32), amount.into(), Felt::ZERO])
    };
    let error = session_execute(&b, "0x5e55", vec![pay(7)]).await.unwrap_err();
    assert_eq!(error.code(), codes::SPENDING_LIMIT_EXCEEDED);
    // The calls of one batch count together against the window.
    let error = session_execute(&b, "0x5e55", vec![pay(5), pay(5)]).await.unwrap_err();
    assert_eq!(error.code(), codes::SPENDING_LIMIT_EXCEEDED);
    let id = session_execute(&b, "0x5e55", vec![pay(5)]).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(b.budget().await.1, 0);
}

#[tokio::test]
async fn revocations_get_through_an_exhausted_budget() {
    let b = bench_with(1, 0).await;
    let calls =
        b.chain.session_calls(&b.wallet.address, &[AccountChange::RevokeAllSessions]).unwrap();
    let (id, payload, signature) = b.signed(calls, Purpose::RevokeAllSessions).await;
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    // An ordinary execution is refused.
    let (_, payload, signature) = b.owner_signed(vec![game_call()]).await;
    assert_eq!(
        b.execute(&payload, &signature).await.unwrap_err().code(),
        codes::SPONSORSHIP_EXHAUSTED
    );
}

#[tokio::test]
async fn an_unreachable_chain_is_unavailable_and_changes_nothing() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.set_down(true);
    assert_eq!(
        b.execute(&payload, &signature).await.unwrap_err().code(),
        codes::UPSTREAM_UNAVAILABLE
    );
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Prepared);
    assert_eq!(b.budget().await, (0, 0));
}

/// A bench whose chain is final two blocks past a transaction's block.
async fn bench_final_at_depth_two() -> Bench {
    bench_configured(2, 1_000 * MAX_FEE, RelayerConfig { finality_depth: 2, ..config() }).await
}

#[tokio::test]
async fn an_included_transaction_is_accepted_and_settles_only_at_the_finality_depth() {
    let b = bench_final_at_depth_two().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Accepted, "in a block, not final");
    assert_eq!(b.budget().await, (0, MAX_FEE), "the fee is not settled before finality");
    b.fake.mine_empty(1);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Accepted, "one block past it is not enough");
    b.fake.mine_empty(1);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(b.budget().await, (FEE, 0));
}

#[tokio::test]
async fn n6_a_revocation_undone_by_a_reorg_is_not_mirrored_until_it_is_final_again() {
    let b = bench_final_at_depth_two().await;
    let game = Permission {
        target: Some(to_hex(&Felt::from(0x6a3eu32))),
        selector: to_hex(&selector("make_move")),
    };
    let registration = AccountChange::RegisterSession(grant("0x5e55", vec![game]));
    record_session(&b, "0x5e55").await;
    let calls = b.chain.session_calls(&b.wallet.address, &[registration]).unwrap();
    let (id, payload, signature) = b.signed(calls, Purpose::RegisterSession("0x5e55".into())).await;
    b.execute(&payload, &signature).await.unwrap();
    b.fake.mine_empty(2);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    let state = |b: &Bench| {
        let store = b.store.clone();
        let wallet = b.wallet.id.clone();
        async move { store.session(&wallet, "0x5e55").await.unwrap().unwrap().state }
    };
    assert_eq!(state(&b).await, latchkey_store::SessionState::Active);

    // The revocation lands in a block that a reorg then takes away.
    let before = b.fake.snapshot();
    let calls = b
        .chain
        .session_calls(&b.wallet.address, &[AccountChange::RevokeSession("0x5e55".into())])
        .unwrap();
    let (id, payload, signature) = b.signed(calls, Purpose::RevokeSession("0x5e55".into())).await;
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    let hash = b.request(&id).await.tx_hash.unwrap();
    assert_eq!(b.status(&id).await, RequestStatus::Accepted);
    assert_eq!(state(&b).await, latchkey_store::SessionState::Active, "not revoked before final");
    let broadcasts = b.fake.broadcasts();
    b.fake.reorg_to(before);
    b.fake.mine_empty(3); // the new branch is longer, without the revocation

    // The monitor finds it gone, sends the identical transaction again, and it is
    // included again; only at the finality depth is it revoked.
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.tx_hash.as_deref(), Some(hash.as_str()), "the same signed transaction");
    assert_eq!(b.fake.broadcasts(), broadcasts + 1);
    assert_eq!(state(&b).await, latchkey_store::SessionState::Active);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Accepted);
    b.fake.mine_empty(2);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(state(&b).await, latchkey_store::SessionState::Revoked);
    assert_eq!(b.budget().await.1, 0, "nothing left reserved");
}

#[tokio::test]
async fn n6_a_reorg_between_a_receipt_and_the_head_read_after_it_settles_nothing() {
    let b = bench_final_at_depth_two().await;
    let before = b.fake.snapshot();
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.execute(&payload, &signature).await.unwrap();
    let landed_in = b.fake.head_block();
    // The receipt says block 1; before the head is read, a reorg takes that block out
    // and three other blocks make the head deep enough past it.
    b.fake.reorg_at_next_head(before, 3);
    b.relayer.reconcile().await;
    assert_ne!(b.status(&id).await, RequestStatus::Succeeded, "its block is gone");
    assert_eq!(b.fake.landed(), (0, 0), "the chain has nothing of it");
    assert_eq!(b.budget().await, (0, MAX_FEE), "nothing settled");
    // The next pass finds it gone, sends the same transaction again, and it settles
    // once final.
    b.relayer.reconcile().await;
    assert!(b.fake.head_block() > landed_in);
    b.fake.mine_empty(2);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(b.fake.landed(), (1, 0), "it ran once");
    assert_eq!(b.budget().await, (FEE, 0));
}

#[tokio::test]
async fn n6_a_transaction_a_reorg_took_out_after_its_window_closed_ends_expired_with_the_reason() {
    let b = bench_final_at_depth_two().await;
    let before = b.fake.snapshot();
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.execute(&payload, &signature).await.unwrap();
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Accepted);
    b.fake.reorg_to(before);
    b.fake.advance(3_600); // past the payload's window
    b.fake.script_send(SendScript::Rejected("invalid transaction: window closed".into()));
    b.relayer.reconcile().await;
    let request = b.request(&id).await;
    assert_eq!(request.status, RequestStatus::Expired, "{request:?}");
    assert!(request.error_message.as_deref().unwrap_or_default().contains("left the chain"));
    assert_eq!(b.budget().await, (0, 0), "its reservation is released; it never ran");
}

#[tokio::test]
async fn f5_a_send_refused_as_underpriced_is_priced_again_and_runs_once() {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.script_send(SendScript::Rejected("max fee per gas less than block base fee".into()));
    let submitted = b.execute(&payload, &signature).await.unwrap();
    assert_eq!(submitted.request_id, id);
    b.relayer.reconcile().await;
    assert_eq!(b.status(&id).await, RequestStatus::Succeeded);
    assert_eq!(b.fake.landed(), (1, 0));
    assert_eq!(b.budget().await, (FEE, 0));
}

#[tokio::test]
async fn f8_a_payload_bound_to_an_account_that_cannot_pay_fails_cleanly_and_the_next_goes_elsewhere(
) {
    let b = bench().await;
    let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
    b.fake.script_send(SendScript::Unfunded("Insufficient funds for gas * price + value".into()));
    let error = b.execute(&payload, &signature).await.unwrap_err();
    assert_eq!(error.code(), codes::RELAYER_UNFUNDED);
    let request = b.request(&id).await;
    assert_eq!(
        (request.status, request.error_code.as_deref()),
        (RequestStatus::Rejected, Some(codes::RELAYER_UNFUNDED))
    );
    assert_eq!(b.budget().await, (0, 0), "nothing spent, nothing held");
    let unfunded = request.relayer_address.expect("signed by the account that cannot pay");
    // Prepared again, it is bound to another account, which pays.
    for _ in 0..3 {
        let (id, payload, signature) = b.owner_signed(vec![game_call()]).await;
        b.execute(&payload, &signature).await.unwrap();
        b.relayer.reconcile().await;
        let request = b.request(&id).await;
        assert_eq!(request.status, RequestStatus::Succeeded);
        assert_ne!(request.relayer_address.as_deref(), Some(unfunded.as_str()));
    }
    assert_eq!(b.fake.landed(), (3, 0));
}
