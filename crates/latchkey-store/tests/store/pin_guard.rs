//! The PIN attempt counter (K2–K4): durable, shared by processes, locking with a doubling
//! back-off, reset by a proved unlock or by the organisation (recorded).

use latchkey_store::{PinAttempt, PinEventKind, PinPolicy, Store};

use crate::support::{org, second_store};

const ADDRESS: &str = "0xabc";

async fn count(store: &Store, org_id: &str, at: i64) -> PinAttempt {
    store.count_pin_attempt(org_id, ADDRESS, at, &PinPolicy::default()).await.unwrap()
}

both_backends!(k3_attempts_lock_after_ten_and_the_lock_doubles, |db| {
    let store = db.store();
    let org = org(&store).await;
    for n in 1..=9 {
        let attempt = count(&store, &org.id, 1_000).await;
        assert_eq!(
            attempt,
            PinAttempt::Counted { failures: n, remaining: 10 - n, locked_until: None }
        );
    }
    // The tenth is answered and starts a 60 s lock; the next waits for it.
    let tenth = count(&store, &org.id, 1_000).await;
    assert_eq!(
        tenth,
        PinAttempt::Counted { failures: 10, remaining: 0, locked_until: Some(1_060) }
    );
    assert_eq!(count(&store, &org.id, 1_059).await, PinAttempt::Locked { until: 1_060 });
    let eleventh = count(&store, &org.id, 1_060).await;
    assert_eq!(
        eleventh,
        PinAttempt::Counted { failures: 11, remaining: 0, locked_until: Some(1_180) }
    );
    assert_eq!(count(&store, &org.id, 1_179).await, PinAttempt::Locked { until: 1_180 });
    // Refusals are not counted.
    let guard = store.pin_guard(&org.id, ADDRESS).await.unwrap();
    assert_eq!((guard.failures, guard.evaluations, guard.locked_until), (11, 11, 1_180));
    let events = store.pin_events(&org.id, ADDRESS).await.unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.kind == PinEventKind::Locked));
    // Another address, and the same address in another organisation, are apart.
    assert_eq!(store.pin_guard(&org.id, "0xabd").await.unwrap().failures, 0);
    let other = store.create_organization("other").await.unwrap();
    assert_eq!(store.pin_guard(&other.id, ADDRESS).await.unwrap().failures, 0);
});

both_backends!(k3_a_proved_unlock_resets_and_an_org_reset_is_recorded, |db| {
    let store = db.store();
    let org = org(&store).await;
    for _ in 0..3 {
        count(&store, &org.id, 1_000).await;
    }
    let before =
        store.reset_pin_guard(&org.id, ADDRESS, PinEventKind::Proved, "user:u1").await.unwrap();
    assert_eq!(before.failures, 3);
    assert_eq!(store.pin_guard(&org.id, ADDRESS).await.unwrap().failures, 0);
    // A proof that lifts nothing is not an event; one that lifts a lock is.
    assert!(store.pin_events(&org.id, ADDRESS).await.unwrap().is_empty());
    for _ in 0..10 {
        count(&store, &org.id, 2_000).await;
    }
    assert!(matches!(count(&store, &org.id, 2_001).await, PinAttempt::Locked { .. }));
    store.reset_pin_guard(&org.id, ADDRESS, PinEventKind::Proved, "user:u1").await.unwrap();
    assert!(matches!(count(&store, &org.id, 2_001).await, PinAttempt::Counted { failures: 1, .. }));
    store.reset_pin_guard(&org.id, ADDRESS, PinEventKind::Reset, "org").await.unwrap();
    let events = store.pin_events(&org.id, ADDRESS).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.principal.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (PinEventKind::Locked, "oprf"),
            (PinEventKind::Proved, "user:u1"),
            (PinEventKind::Reset, "org"),
        ]
    );
    assert_eq!(events[1].failures_before, 10);
    assert_eq!(events[2].failures_before, 1);
});

// K2: the counter is in the database: a reconnect (a restarted server) and a second
// process counting at the same time neither lose nor double an attempt.
both_backends!(k2_attempts_survive_reconnects_and_are_shared_by_processes, |db| {
    let store = db.store();
    let org = org(&store).await;
    let other = second_store(db).await;
    let policy = PinPolicy { max_failures: 1_000, ..PinPolicy::default() };
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = if n % 2 == 0 { store.clone() } else { other.clone() };
        let org_id = org.id.clone();
        tasks.push(tokio::spawn(async move {
            store.count_pin_attempt(&org_id, ADDRESS, 5_000, &policy).await
        }));
    }
    let mut seen = Vec::new();
    for task in tasks {
        match task.await.unwrap().unwrap() {
            PinAttempt::Counted { failures, .. } => seen.push(failures),
            locked => panic!("unexpected {locked:?}"),
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=40).collect::<Vec<_>>(), "every attempt counted exactly once");
    store.close().await;
    let reopened = Store::connect(db.url()).await.unwrap();
    let guard = reopened.pin_guard(&org.id, ADDRESS).await.unwrap();
    assert_eq!((guard.failures, guard.evaluations), (40, 40));
});
