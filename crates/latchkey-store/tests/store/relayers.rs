//! Relayer leases and nonces; end-user session blobs.

use crate::support::{org, CHAIN};

const T0: i64 = 1_800_000_000;

both_backends!(relayer_leases, |db| {
    let store = db.store();
    assert!(store.lease_relayer(CHAIN, "0xr1", "a", T0, 60).await.unwrap());
    assert!(!store.lease_relayer(CHAIN, "0xr1", "b", T0 + 1, 60).await.unwrap());
    // The holder renews.
    assert!(store.lease_relayer(CHAIN, "0xr1", "a", T0 + 30, 60).await.unwrap());
    // Still held at T0+89 (renewed until T0+90), free from T0+90.
    assert!(!store.lease_relayer(CHAIN, "0xr1", "b", T0 + 89, 60).await.unwrap());
    assert!(store.lease_relayer(CHAIN, "0xr1", "b", T0 + 90, 60).await.unwrap());
    // Only the holder can release.
    store.release_relayer(CHAIN, "0xr1", "a").await.unwrap();
    assert!(!store.lease_relayer(CHAIN, "0xr1", "a", T0 + 91, 60).await.unwrap());
    store.release_relayer(CHAIN, "0xr1", "b").await.unwrap();
    assert!(store.lease_relayer(CHAIN, "0xr1", "a", T0 + 92, 60).await.unwrap());
    // Leases are per relayer.
    assert!(store.lease_relayer(CHAIN, "0xr2", "b", T0 + 92, 60).await.unwrap());
});

both_backends!(an_instance_is_alive_while_it_holds_an_unexpired_lease, |db| {
    let store = db.store();
    assert!(!store.instance_alive("a", T0).await.unwrap(), "never leased anything");
    assert!(store.lease_relayer(CHAIN, "0xr1", "a", T0, 60).await.unwrap());
    assert!(store.lease_relayer("eip155:1", "0xe1", "a", T0 + 30, 60).await.unwrap());
    assert!(store.instance_alive("a", T0 + 59).await.unwrap());
    // One lease lapsed, the other (on another chain) still runs.
    assert!(store.instance_alive("a", T0 + 60).await.unwrap());
    assert!(!store.instance_alive("a", T0 + 90).await.unwrap(), "every lease lapsed");
    assert!(!store.instance_alive("b", T0).await.unwrap());
    // Released leases say nothing of a live instance.
    assert!(store.lease_relayer(CHAIN, "0xr2", "c", T0, 60).await.unwrap());
    store.release_relayer(CHAIN, "0xr2", "c").await.unwrap();
    assert!(!store.instance_alive("c", T0).await.unwrap());
});

both_backends!(relayer_nonces, |db| {
    let store = db.store();
    assert_eq!(store.relayer_nonce(CHAIN, "0xr1").await.unwrap(), None);
    // A leased relayer without a recorded nonce.
    assert!(store.lease_relayer(CHAIN, "0xr1", "a", T0, 60).await.unwrap());
    assert_eq!(store.relayer_nonce(CHAIN, "0xr1").await.unwrap(), None);
    store.record_relayer_nonce(CHAIN, "0xr1", "0x5").await.unwrap();
    assert_eq!(store.relayer_nonce(CHAIN, "0xr1").await.unwrap().as_deref(), Some("0x5"));
    store.record_relayer_nonce(CHAIN, "0xr1", "0x6").await.unwrap();
    assert_eq!(store.relayer_nonce(CHAIN, "0xr1").await.unwrap().as_deref(), Some("0x6"));
    // Recording a nonce does not disturb the lease.
    assert!(!store.lease_relayer(CHAIN, "0xr1", "b", T0 + 1, 60).await.unwrap());
    // A nonce for a relayer never leased.
    store.record_relayer_nonce(CHAIN, "0xr9", "0x0").await.unwrap();
    assert_eq!(store.relayer_nonce(CHAIN, "0xr9").await.unwrap().as_deref(), Some("0x0"));
    assert!(store.lease_relayer(CHAIN, "0xr9", "b", T0, 60).await.unwrap());
    assert_eq!(store.relayer_nonce(CHAIN, "0xr9").await.unwrap().as_deref(), Some("0x0"));
});

both_backends!(concurrent_leases_have_one_winner, |db| {
    let store = db.store();
    let other_process = crate::support::second_store(db).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { store.clone() } else { other_process.clone() };
        tasks.push(tokio::spawn(async move {
            store.lease_relayer(CHAIN, "0xr1", &format!("owner-{i}"), T0, 60).await.unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1);
});

both_backends!(user_sessions_round_trip, |db| {
    let store = db.store();
    let org = org(&store).await;
    assert_eq!(store.user_session(&org.id, "sub-1").await.unwrap(), None);
    store.put_user_session(&org.id, "sub-1", Some("0xw1".into()), "blob-1").await.unwrap();
    let first = store.user_session(&org.id, "sub-1").await.unwrap().unwrap();
    assert_eq!(first.blob, "blob-1");
    assert_eq!(first.wallet_address.as_deref(), Some("0xw1"));
    assert!(first.updated_at > 0);
    store.put_user_session(&org.id, "sub-1", None, "blob-2").await.unwrap();
    let second = store.user_session(&org.id, "sub-1").await.unwrap().unwrap();
    assert_eq!((second.blob.as_str(), second.wallet_address), ("blob-2", None));
    // Per organisation and subject.
    assert_eq!(store.user_session(&org.id, "sub-2").await.unwrap(), None);
    assert!(store.delete_user_session(&org.id, "sub-1").await.unwrap());
    assert!(!store.delete_user_session(&org.id, "sub-1").await.unwrap());
    assert_eq!(store.user_session(&org.id, "sub-1").await.unwrap(), None);
    assert_eq!(
        store.put_user_session("missing", "s", None, "b").await,
        Err(latchkey_store::StoreError::NotFound)
    );
});
