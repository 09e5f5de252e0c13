//! Idempotency keys.

use latchkey_store::{IdempotencyClaim, IdempotencyScope, StoreError};

use crate::support::org;

const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;
/// In-flight claims older than this are taken over (their request died).
const STALE: i64 = 300;
const ORG: &str = "organization";

fn scope<'a>(org_id: &'a str, key: &'a str) -> IdempotencyScope<'a> {
    IdempotencyScope { org_id, principal: ORG, key }
}

both_backends!(idempotency_semantics, |db| {
    let store = db.store();
    let org = org(&store).await;
    let other = store.create_organization("other").await.unwrap();
    let claim = |org_id: String, key: &'static str, hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store.claim_idempotency(scope(&org_id, key), hash, "a", now, DAY, STALE).await.unwrap()
        }
    };

    assert_eq!(claim(org.id.clone(), "k1", "h1", T0).await, IdempotencyClaim::Claimed);
    // While the first request runs: same body is in flight, another body is a mismatch.
    assert_eq!(claim(org.id.clone(), "k1", "h1", T0 + 1).await, IdempotencyClaim::InFlight);
    assert_eq!(claim(org.id.clone(), "k1", "h2", T0 + 1).await, IdempotencyClaim::Mismatch);
    // Keys are per organisation.
    assert_eq!(claim(other.id.clone(), "k1", "h2", T0).await, IdempotencyClaim::Claimed);

    store.complete_idempotency(scope(&org.id, "k1"), 202, r#"{"ok":true}"#).await.unwrap();
    let completed = IdempotencyClaim::Completed { status: 202, body: r#"{"ok":true}"#.into() };
    assert_eq!(claim(org.id.clone(), "k1", "h1", T0 + 2).await, completed);
    assert_eq!(claim(org.id.clone(), "k1", "h2", T0 + 2).await, IdempotencyClaim::Mismatch);
    // The first stored response is final: a second completion does not replace it, and a
    // release does not delete it.
    store.complete_idempotency(scope(&org.id, "k1"), 500, "late").await.unwrap();
    store.release_idempotency(scope(&org.id, "k1")).await.unwrap();
    assert_eq!(claim(org.id.clone(), "k1", "h1", T0 + 3).await, completed);

    // After the TTL the key is free again, even for another body.
    assert_eq!(claim(org.id.clone(), "k1", "h3", T0 + DAY).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(org.id.clone(), "k1", "h3", T0 + DAY + 1).await, IdempotencyClaim::InFlight);

    // Releasing an in-flight claim frees the key at once.
    assert_eq!(claim(org.id.clone(), "k2", "h1", T0).await, IdempotencyClaim::Claimed);
    store.release_idempotency(scope(&org.id, "k2")).await.unwrap();
    assert_eq!(claim(org.id.clone(), "k2", "h2", T0 + 1).await, IdempotencyClaim::Claimed);

    // A completed 500 is replayed like any other response.
    assert_eq!(claim(org.id.clone(), "k3", "h1", T0).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(scope(&org.id, "k3"), 500, "").await.unwrap();
    assert_eq!(
        claim(org.id.clone(), "k3", "h1", T0).await,
        IdempotencyClaim::Completed { status: 500, body: String::new() }
    );

    assert_eq!(
        store.complete_idempotency(scope(&org.id, "missing"), 200, "").await,
        Err(StoreError::NotFound)
    );
    store.release_idempotency(scope(&org.id, "missing")).await.unwrap();

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
            store
                .claim_idempotency(scope(&org_id, "same-key"), "same-hash", "a", T0, DAY, STALE)
                .await
                .unwrap()
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

    store.complete_idempotency(scope(&org.id, "same-key"), 201, "created").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { store.clone() } else { other_process.clone() };
        let org_id = org.id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim_idempotency(scope(&org_id, "same-key"), "same-hash", "a", T0 + 1, DAY, STALE)
                .await
                .unwrap()
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
        store.claim_idempotency(scope(&org.id, "old"), "h", "a", T0, 10, STALE).await.unwrap(),
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
            store
                .claim_idempotency(scope(&org_id, "old"), &hash, "a", T0 + 100, DAY, DAY)
                .await
                .unwrap()
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

both_backends!(r2_12_keys_are_scoped_per_principal_and_survive_a_crash, |db| {
    // R2-12 / I3: an end user's key never answers another principal's request, and a
    // claim whose process died does not block retries for the whole TTL.
    let store = db.store();
    let org = org(&store).await;
    let alice = IdempotencyScope { org_id: &org.id, principal: "user:alice", key: "k" };
    let bob = IdempotencyScope { org_id: &org.id, principal: "user:bob", key: "k" };
    let claimed = |s, owner, now| {
        let store = store.clone();
        async move { store.claim_idempotency(s, "h", owner, now, DAY, STALE).await.unwrap() }
    };
    assert_eq!(claimed(alice, "a", T0).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(alice, 200, "alice's answer").await.unwrap();
    // Bob's identical key and body is his own request, not a replay of Alice's answer.
    assert_eq!(claimed(bob, "a", T0 + 1).await, IdempotencyClaim::Claimed);
    assert_eq!(claimed(scope(&org.id, "k"), "a", T0 + 1).await, IdempotencyClaim::Claimed);

    // Instance "a" claims and crashes; "b" sees it in flight until it is stale.
    let carol = IdempotencyScope { org_id: &org.id, principal: "user:carol", key: "k" };
    assert_eq!(claimed(carol, "a", T0).await, IdempotencyClaim::Claimed);
    assert_eq!(claimed(carol, "b", T0 + 10).await, IdempotencyClaim::InFlight);
    assert_eq!(claimed(carol, "b", T0 + STALE).await, IdempotencyClaim::Claimed);
    // A restarted instance releases what it left in flight at once.
    let dave = IdempotencyScope { org_id: &org.id, principal: "user:dave", key: "k" };
    assert_eq!(claimed(dave, "c", T0).await, IdempotencyClaim::Claimed);
    assert_eq!(store.release_in_flight_idempotency("c").await.unwrap(), 1);
    assert_eq!(claimed(dave, "b", T0 + 1).await, IdempotencyClaim::Claimed);
    // A completed answer is never released by a restart.
    store.complete_idempotency(dave, 201, "done").await.unwrap();
    assert_eq!(store.release_in_flight_idempotency("b").await.unwrap(), 1, "carol's, not dave's");
    assert_eq!(
        claimed(dave, "c", T0 + 2).await,
        IdempotencyClaim::Completed { status: 201, body: "done".into() }
    );
});
