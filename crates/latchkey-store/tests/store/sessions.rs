//! Session keys.

use latchkey_store::{SessionState, StoreError, StoredGrant};

use crate::support::{new_session, new_wallet, org};

both_backends!(sessions_round_trip, |db| {
    let store = db.store();
    let org = org(&store).await;
    let wallet = store.insert_wallet(&new_wallet(&org.id, 1)).await.unwrap();
    let other_wallet = store.insert_wallet(&new_wallet(&org.id, 2)).await.unwrap();

    let mut input = new_session(&wallet.id, "0x5e55");
    input.registration_request_id = Some("req-1".into());
    let session = store.upsert_session(&input).await.unwrap();
    assert_eq!(session.wallet_id, wallet.id);
    assert_eq!(session.session_public_key, "0x5e55");
    assert_eq!((session.valid_after, session.valid_until, session.max_calls), (100, 200, 10));
    assert_eq!(session.grant, input.grant);
    assert!(!session.allow_all);
    assert_eq!(session.registration_request_id.as_deref(), Some("req-1"));
    assert_eq!(session.state, SessionState::Pending);
    assert_eq!(session.revoked_at, None);
    assert_eq!(store.session(&wallet.id, "0x5e55").await.unwrap(), Some(session.clone()));
    assert_eq!(store.session(&other_wallet.id, "0x5e55").await.unwrap(), None);

    store.set_session_state(&wallet.id, "0x5e55", SessionState::Active).await.unwrap();
    assert_eq!(
        store.session(&wallet.id, "0x5e55").await.unwrap().unwrap().state,
        SessionState::Active
    );

    // Re-registering the same key replaces the policy and goes back to Pending, same row.
    let mut changed = new_session(&wallet.id, "0x5e55");
    changed.valid_until = 999;
    changed.max_calls = 3;
    changed.allow_all = true;
    changed.grant = StoredGrant::default();
    let updated = store.upsert_session(&changed).await.unwrap();
    assert_eq!(updated.id, session.id);
    assert_eq!(updated.created_at, session.created_at);
    assert_eq!((updated.valid_until, updated.max_calls, updated.allow_all), (999, 3, true));
    assert_eq!(updated.grant, StoredGrant::default());
    assert_eq!(updated.registration_request_id, None);
    assert_eq!(updated.state, SessionState::Pending);
    assert_eq!(store.sessions_for_wallet(&wallet.id).await.unwrap(), vec![updated.clone()]);

    // The same key on another wallet is a separate session.
    store.upsert_session(&new_session(&other_wallet.id, "0x5e55")).await.unwrap();
    let second = store.upsert_session(&new_session(&wallet.id, "0x5e56")).await.unwrap();
    let third = store.upsert_session(&new_session(&wallet.id, "0x5e57")).await.unwrap();
    let listed: Vec<_> =
        store.sessions_for_wallet(&wallet.id).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, [session.id.clone(), second.id.clone(), third.id.clone()]);

    store.set_session_state(&wallet.id, "0x5e56", SessionState::Failed).await.unwrap();
    store.set_session_state(&wallet.id, "0x5e57", SessionState::Revoked).await.unwrap();
    let revoked = store.session(&wallet.id, "0x5e57").await.unwrap().unwrap();
    assert_eq!(revoked.state, SessionState::Revoked);
    let revoked_at = revoked.revoked_at.unwrap();
    store.set_session_state(&wallet.id, "0x5e57", SessionState::Revoked).await.unwrap();
    assert_eq!(
        store.session(&wallet.id, "0x5e57").await.unwrap().unwrap().revoked_at,
        Some(revoked_at)
    );

    assert_eq!(
        store.set_session_state(&wallet.id, "0xmissing", SessionState::Active).await,
        Err(StoreError::NotFound)
    );

    // revoke-all touches the two not yet revoked sessions of this wallet only.
    assert_eq!(store.revoke_all_sessions(&wallet.id).await.unwrap(), 2);
    for s in store.sessions_for_wallet(&wallet.id).await.unwrap() {
        assert_eq!(s.state, SessionState::Revoked);
        assert!(s.revoked_at.is_some());
    }
    assert_eq!(store.revoke_all_sessions(&wallet.id).await.unwrap(), 0);
    assert_eq!(
        store.session(&other_wallet.id, "0x5e55").await.unwrap().unwrap().state,
        SessionState::Pending
    );

    // Re-registering a revoked key makes it pending again.
    let again = store.upsert_session(&new_session(&wallet.id, "0x5e57")).await.unwrap();
    assert_eq!(again.state, SessionState::Pending);
    assert_eq!(again.revoked_at, None);

    // A session for a missing wallet is refused.
    assert_eq!(
        store.upsert_session(&new_session("missing", "0x1")).await,
        Err(StoreError::NotFound)
    );
});
