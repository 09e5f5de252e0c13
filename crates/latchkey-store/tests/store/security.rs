//! Challenges for proofs of possession, daily gas quotas, and organisation settings.

use latchkey_store::{
    Challenge, QuotaCharge, RequestStatus, RequestUpdate, Reservation, ReserveOptions,
};

use crate::support::{budget, budget_key, new_request, new_wallet, org, org_with_budget};

const GFRI: u128 = 1_000_000_000;

both_backends!(challenges_are_used_once_by_whom_they_were_issued_to, |db| {
    let store = db.store();
    let org = org(&store).await;
    let other = store.create_organization("other").await.unwrap();
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    let challenge = Challenge {
        challenge: "0xc1".into(),
        org_id: org.id.clone(),
        purpose: "replace-key".into(),
        principal: "user:alice".into(),
        created_at: t,
        expires_at: t + 300,
    };
    store.insert_challenge(&challenge).await.unwrap();
    assert!(store.insert_challenge(&challenge).await.unwrap_err().is_conflict());
    // Another organisation, principal or purpose, or an expired one: not usable.
    for (org_id, principal, purpose, at) in [
        (other.id.as_str(), "user:alice", "replace-key", t + 100),
        (org.id.as_str(), "user:bob", "replace-key", t + 100),
        (org.id.as_str(), "organization", "replace-key", t + 100),
        (org.id.as_str(), "user:alice", "create-wallet", t + 100),
        (org.id.as_str(), "user:alice", "replace-key", t + 300),
    ] {
        assert!(!store.consume_challenge("0xc1", org_id, principal, purpose, at).await.unwrap());
    }
    assert!(store
        .consume_challenge("0xc1", &org.id, "user:alice", "replace-key", t + 100)
        .await
        .unwrap());
    assert!(!store
        .consume_challenge("0xc1", &org.id, "user:alice", "replace-key", t + 101)
        .await
        .unwrap());
    assert!(!store
        .consume_challenge("0xnone", &org.id, "user:alice", "replace-key", t + 101)
        .await
        .unwrap());
});

both_backends!(r2_15_daily_quotas_and_grown_reservations_stay_within_the_budget, |db| {
    let store = db.store();
    let org = org_with_budget(&store, "quota", 1_000 * GFRI).await;
    let wallet = store.insert_wallet(&new_wallet(&org.id, 1)).await.unwrap();
    let quota = |limit: u128| QuotaCharge {
        scope: "wallet".into(),
        key: wallet.id.clone(),
        day: 20_000,
        limit,
    };
    let recorded = RequestUpdate { status: Some(RequestStatus::Recorded), ..Default::default() };
    let prepared = [RequestStatus::Prepared];
    let options = ReserveOptions { bypass_budget: false, quotas: vec![quota(10 * GFRI)] };
    let first = store.insert_request(&new_request(&org.id, Some(&wallet.id), "0x1")).await.unwrap();
    let second =
        store.insert_request(&new_request(&org.id, Some(&wallet.id), "0x2")).await.unwrap();
    assert_eq!(
        store
            .update_request_reserving(
                &first.id,
                &prepared,
                &recorded,
                budget_key(&org.id),
                6 * GFRI,
                &options
            )
            .await
            .unwrap(),
        Reservation::Recorded
    );
    // 6 + 6 > 10: refused, and nothing of it written (neither the org nor the request).
    assert_eq!(
        store
            .update_request_reserving(
                &second.id,
                &prepared,
                &recorded,
                budget_key(&org.id),
                6 * GFRI,
                &options
            )
            .await
            .unwrap(),
        Reservation::QuotaExhausted("wallet")
    );
    assert_eq!(store.request(&second.id).await.unwrap().unwrap().status, RequestStatus::Prepared);
    assert_eq!(budget(&store, &org.id).await.reserved, 6 * GFRI);
    // Settling the first (actual fee 2) frees 4 of the quota: 2 + 6 <= 10.
    let done = RequestUpdate { status: Some(RequestStatus::Succeeded), ..Default::default() };
    assert!(store
        .update_request_settling(
            &first.id,
            &[RequestStatus::Recorded],
            &done,
            budget_key(&org.id),
            6 * GFRI,
            2 * GFRI
        )
        .await
        .unwrap());
    assert_eq!(
        store
            .update_request_reserving(
                &second.id,
                &prepared,
                &recorded,
                budget_key(&org.id),
                6 * GFRI,
                &options
            )
            .await
            .unwrap(),
        Reservation::Recorded
    );
    // Growing a reservation within the budget moves it; beyond the budget, not; and a
    // request another process moved on is reported as such, not as a budget refusal.
    assert_eq!(
        store
            .adjust_reservation(
                &second.id,
                &[RequestStatus::Recorded],
                budget_key(&org.id),
                6 * GFRI,
                8 * GFRI,
                false
            )
            .await
            .unwrap(),
        Reservation::Recorded
    );
    assert_eq!(
        store
            .adjust_reservation(
                &second.id,
                &[RequestStatus::Recorded],
                budget_key(&org.id),
                8 * GFRI,
                10_000 * GFRI,
                false
            )
            .await
            .unwrap(),
        Reservation::BudgetExhausted
    );
    assert_eq!(
        store
            .adjust_reservation(
                &second.id,
                &[RequestStatus::Submitting],
                budget_key(&org.id),
                8 * GFRI,
                9 * GFRI,
                false
            )
            .await
            .unwrap(),
        Reservation::StatusChanged
    );
    let reloaded = budget(&store, &org.id).await;
    assert_eq!((reloaded.reserved, reloaded.spent), (8 * GFRI, 2 * GFRI));
    assert_eq!(
        store.request(&second.id).await.unwrap().unwrap().fee.as_deref(),
        Some("8000000000")
    );
    // Bypassing the budget (revocations) reserves even with nothing left.
    store.set_gas_budget(budget_key(&org.id), 0).await.unwrap();
    let third = store.insert_request(&new_request(&org.id, Some(&wallet.id), "0x3")).await.unwrap();
    let revoke = ReserveOptions { bypass_budget: true, quotas: vec![] };
    assert_eq!(
        store
            .update_request_reserving(
                &third.id,
                &prepared,
                &recorded,
                budget_key(&org.id),
                GFRI,
                &ReserveOptions::default()
            )
            .await
            .unwrap(),
        Reservation::BudgetExhausted
    );
    assert_eq!(
        store
            .update_request_reserving(
                &third.id,
                &prepared,
                &recorded,
                budget_key(&org.id),
                GFRI,
                &revoke
            )
            .await
            .unwrap(),
        Reservation::Recorded
    );
});

both_backends!(organisations_keep_their_issuer_and_policy, |db| {
    let store = db.store();
    let a = org(&store).await;
    let b = store.create_organization("b").await.unwrap();
    store.set_token_issuer(&a.id, Some(("{\"issuer\":\"x\"}", "x\naud")), None).await.unwrap();
    let conflict = store.set_token_issuer(&b.id, Some(("{}", "x\naud")), None).await.unwrap_err();
    assert!(conflict.is_conflict_on(latchkey_store::constraints::ORG_TOKEN_ISSUER), "{conflict}");
    store.set_token_issuer(&b.id, Some(("{}", "x\nother")), None).await.unwrap();
    store.set_sponsorship_policy(&a.id, Some("{}"), None).await.unwrap();
    let a2 = store.organization(&a.id).await.unwrap().unwrap();
    assert_eq!(a2.token_issuer_json.as_deref(), Some("{\"issuer\":\"x\"}"));
    assert_eq!(a2.sponsorship_policy_json.as_deref(), Some("{}"));
    store.set_token_issuer(&a.id, None, None).await.unwrap();
    // Freed, the pair may be taken by another organisation.
    store.set_token_issuer(&b.id, Some(("{}", "x\naud")), None).await.unwrap();
    let wallet = store.insert_wallet(&new_wallet(&a.id, 9)).await.unwrap();
    store.record_wallet_outcome(&wallet.id, true, 2, 60, 1_000).await.unwrap();
    assert_eq!(store.wallet(&wallet.id).await.unwrap().unwrap().cooldown_until, None);
    store.record_wallet_outcome(&wallet.id, true, 2, 60, 1_000).await.unwrap();
    let cooled = store.wallet(&wallet.id).await.unwrap().unwrap();
    assert_eq!((cooled.revert_streak, cooled.cooldown_until), (2, Some(1_060)));
    store.record_wallet_outcome(&wallet.id, false, 2, 60, 1_100).await.unwrap();
    assert_eq!(store.wallet(&wallet.id).await.unwrap().unwrap().revert_streak, 0);
});
