//! D5: every unique constraint exists and holds, also against writes that bypass the API.

use latchkey_store::{constraints, ApiKeyKind, IdempotencyClaim, IdempotencyScope, StoreError};

use crate::support::{new_request, new_session, new_wallet, org, raw_count, raw_execute, CHAIN};

both_backends!(every_unique_constraint_is_enforced, |db| {
    let store = db.store();
    let org = org(&store).await;
    let conflict = |name: &str| Err(StoreError::Conflict { constraint: name.to_owned() });

    // api_keys (key_hash)
    store.insert_api_key(&org.id, ApiKeyKind::Secret, "h", "sk").await.unwrap();
    assert_eq!(
        store.insert_api_key(&org.id, ApiKeyKind::Public, "h", "pk").await.map(|_| ()),
        conflict(constraints::API_KEY_HASH)
    );

    // wallets (org_id, address) and (org_id, external_user_id)
    let wallet = store.insert_wallet(&new_wallet(&org.id, 1)).await.unwrap();
    let mut w = new_wallet(&org.id, 2);
    w.address = wallet.address.clone();
    assert_eq!(
        store.insert_wallet(&w).await.map(|_| ()),
        conflict(constraints::WALLET_ORG_ADDRESS)
    );
    let mut w = new_wallet(&org.id, 3);
    w.external_user_id = wallet.external_user_id.clone();
    assert_eq!(
        store.insert_wallet(&w).await.map(|_| ()),
        conflict(constraints::WALLET_ORG_EXTERNAL_USER)
    );

    // sessions (wallet_id, session_public_key): the API upserts, so there is one row...
    let first = store.upsert_session(&new_session(&wallet.id, "0x5")).await.unwrap();
    let second = store.upsert_session(&new_session(&wallet.id, "0x5")).await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(raw_count(db, "SELECT COUNT(*) FROM sessions").await, 1);
    // ...and a raw duplicate insert is refused by the database itself.
    let dup = raw_execute(
        db,
        "INSERT INTO sessions (id, wallet_id, session_public_key, valid_after, valid_until, \
         max_calls, grant_json, allow_all, state, created_at, updated_at) \
         SELECT 'dup', wallet_id, session_public_key, 0, 0, 0, grant_json, allow_all, 'pending', \
         0, 0 \
         FROM sessions",
    )
    .await;
    assert_eq!(
        StoreError::from(dup.unwrap_err()),
        StoreError::Conflict { constraint: constraints::SESSION_WALLET_KEY.into() }
    );

    // requests (account, oe_nonce)
    store.insert_request(&new_request(&org.id, None, "0x9")).await.unwrap();
    assert_eq!(
        store.insert_request(&new_request(&org.id, Some(&wallet.id), "0x9")).await.map(|_| ()),
        conflict(constraints::REQUEST_ACCOUNT_OE_NONCE)
    );

    // idempotency_keys (org_id, principal, idempotency_key): one row however often it is
    // claimed...
    let scope = IdempotencyScope { org_id: &org.id, principal: "organization", key: "k" };
    for _ in 0..3 {
        let _ = store.claim_idempotency(scope, "h", "a", 1, 60, 60).await.unwrap();
    }
    assert_eq!(
        store.claim_idempotency(scope, "h", "a", 2, 60, 60).await.unwrap(),
        IdempotencyClaim::InFlight
    );
    assert_eq!(raw_count(db, "SELECT COUNT(*) FROM idempotency_keys").await, 1);
    // ...and a raw duplicate is refused.
    let dup = raw_execute(
        db,
        "INSERT INTO idempotency_keys (org_id, principal, idempotency_key, request_hash, state, \
         created_at, expires_at) SELECT org_id, principal, idempotency_key, 'other', 'in_flight', \
         0, 0 FROM idempotency_keys",
    )
    .await;
    assert_eq!(
        StoreError::from(dup.unwrap_err()),
        StoreError::Conflict { constraint: constraints::IDEMPOTENCY_ORG_KEY.into() }
    );

    // relayers (address): one row per relayer.
    store.record_relayer_nonce(CHAIN, "0xr", "0x1").await.unwrap();
    store.record_relayer_nonce(CHAIN, "0xr", "0x2").await.unwrap();
    assert!(store.lease_relayer(CHAIN, "0xr", "me", 1, 60).await.unwrap());
    assert_eq!(raw_count(db, "SELECT COUNT(*) FROM relayers").await, 1);
});
