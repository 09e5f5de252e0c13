//! Idempotency keys.

use latchkey_store::{IdempotencyClaim, StoreError};

use crate::support::org;

const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;

both_backends!(idempotency_semantics, |db| {
    let store = db.store();
    let org = org(&store).await;
    let other = store.create_organization("other", 0).await.unwrap();
    let claim = |org_id: String, key: &'static str, hash: &'static str, now: i64| {
        let store = store.clone();
        async move { store.claim_idempotency(&org_id, key, hash, now, DAY).await.unwrap() }
    };

    assert_eq!(claim(org.id.clone(), "k1", "h1", T0).await, IdempotencyClaim::Claimed);
    // While the first request runs: same body is in flight, another body is a mismatch.
    assert_eq!(claim(org.id.clone(), "k1", "h1", T0 + 1).await, IdempotencyClaim::InFlight);
    assert_eq!(claim(org.id.clone(), "k1", "h2", T0 + 1).await, IdempotencyClaim::Mismatch);
    // Keys are per organisation.
    assert_eq!(claim(other.id.clone(), "k1", "h2", T0).await, IdempotencyClaim::Claimed);

    store.complete_idempotency(&org.id, "k1", 202, r#"{"ok":true}"#).await.unwrap();
    let completed = IdempotencyClaim::Completed { status: 202, body: r#"{"ok":true}"#.into() };
    assert_eq!(claim(org.id.clone(), "k1", "h1", T0 + 2).await, completed);
    assert_eq!(claim(org.id.clone(), "k1", "h2", T0 + 2).await, IdempotencyClaim::Mismatch);
    // The first stored response is final: a second completion does not replace it, and a
    // release does not delete it.
    store.complete_idempotency(&org.id, "k1", 500, "late").await.unwrap();
    store.release_idempotency(&org.id, "k1").await.unwrap();
    assert_eq!(claim(org.id.clone(), "k1", "h1", T0 + 3).await, completed);

    // After the TTL the key is free again, even for another body.
    assert_eq!(claim(org.id.clone(), "k1", "h3", T0 + DAY).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(org.id.clone(), "k1", "h3", T0 + DAY + 1).await, IdempotencyClaim::InFlight);

    // Releasing an in-flight claim frees the key at once.
    assert_eq!(claim(org.id.clone(), "k2", "h1", T0).await, IdempotencyClaim::Claimed);
    store.release_idempotency(&org.id, "k2").await.unwrap();
    assert_eq!(claim(org.id.clone(), "k2", "h2", T0 + 1).await, IdempotencyClaim::Claimed);

    // A completed 500 is replayed like any other response.
    assert_eq!(claim(org.id.clone(), "k3", "h1", T0).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(&org.id, "k3", 500, "").await.unwrap();
    assert_eq!(
        claim(org.id.clone(), "k3", "h1", T0).await,
        IdempotencyClaim::Completed { status: 500, body: String::new() }
    );

    assert_eq!(
        store.complete_idempotency(&org.id, "missing", 200, "").await,
        Err(StoreError::NotFound)
    );
    store.release_idempotency(&org.id, "missing").await.unwrap();

    // Purging removes only expired keys.
    assert_eq!(store.purge_expired_idempotency(T0 + DAY).await.unwrap(), 2);
    assert_eq!(claim(org.id.clone(), "k3", "h9", T0 + 5).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(org.id.clone(), "k1", "h1", T0 + DAY + 2).await, IdempotencyClaim::Mismatch);
});

both_backends!(concurrent_claims_have_one_winner, |db| {
    let store = db.store();
    let other_process = crate::support::second_store(db).await;
    let org = org(&store).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { store.clone() } else { other_process.clone() };
        let org_id = org.id.clone();
        tasks.push(tokio::spawn(async move {
            store.claim_idempotency(&org_id, "same-key", "same-hash", T0, DAY).await.unwrap()
        }));
    }
    let mut claimed = 0;
    let mut in_flight = 0;
    for task in tasks {
        match task.await.unwrap() {
            IdempotencyClaim::Claimed => claimed += 1,
            IdempotencyClaim::InFlight => in_flight += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((claimed, in_flight), (1, 49));

    store.complete_idempotency(&org.id, "same-key", 201, "created").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { store.clone() } else { other_process.clone() };
        let org_id = org.id.clone();
        tasks.push(tokio::spawn(async move {
            store.claim_idempotency(&org_id, "same-key", "same-hash", T0 + 1, DAY).await.unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(
            task.await.unwrap(),
            IdempotencyClaim::Completed { status: 201, body: "created".into() }
        );
    }
});

both_backends!(concurrent_claims_of_an_expired_key_have_one_winner, |db| {
    let store = db.store();
    let org = org(&store).await;
    assert_eq!(
        store.claim_idempotency(&org.id, "old", "h", T0, 10).await.unwrap(),
        IdempotencyClaim::Claimed
    );
    let mut tasks = Vec::new();
    for i in 0..30 {
        let store = store.clone();
        let org_id = org.id.clone();
        // Different bodies racing for an expired key: exactly one takes it over, the rest
        // see it unexpired and owned by someone else's body (or the same body in flight).
        tasks.push(tokio::spawn(async move {
            let hash = format!("h{}", i % 3);
            store.claim_idempotency(&org_id, "old", &hash, T0 + 100, DAY).await.unwrap()
        }));
    }
    let mut claimed = 0;
    for task in tasks {
        match task.await.unwrap() {
            IdempotencyClaim::Claimed => claimed += 1,
            IdempotencyClaim::InFlight | IdempotencyClaim::Mismatch => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(claimed, 1);
});
