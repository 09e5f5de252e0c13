//! Wallets.

use latchkey_store::{constraints, KeyEventKind, NewKeyEvent, StoreError};

use crate::support::{new_wallet, org, CHAIN};

both_backends!(wallets_round_trip, |db| {
    let store = db.store();
    let org = org(&store).await;
    let mut full = new_wallet(&org.id, 1);
    full.encrypted_private_key_backup = Some("backup-1".into());
    full.credential_id = Some("cred".into());
    full.prf_supported = Some(true);
    full.device_type = Some("iphone".into());
    full.auth_method = Some("passkey".into());
    let wallet = store.insert_wallet(&full).await.unwrap();
    assert_eq!(wallet.org_id, full.org_id);
    assert_eq!(wallet.external_user_id, full.external_user_id);
    assert_eq!(wallet.address, full.address);
    assert_eq!(wallet.owner_public_key, full.owner_public_key);
    assert_eq!(wallet.encrypted_private_key, full.encrypted_private_key);
    assert_eq!(wallet.encrypted_private_key_backup, full.encrypted_private_key_backup);
    assert_eq!(wallet.wallet_type, full.wallet_type);
    assert_eq!(wallet.chain, full.chain);
    assert_eq!(wallet.class_hash, full.class_hash);
    assert_eq!(wallet.auth_method, full.auth_method);
    assert_eq!(wallet.credential_id, full.credential_id);
    assert_eq!(wallet.prf_supported, Some(true));
    assert_eq!(wallet.device_type, full.device_type);
    assert!(!wallet.deployed);
    assert_eq!(wallet.deploy_tx_hash, None);
    assert_eq!(wallet.created_at, wallet.updated_at);
    assert_eq!(uuid::Uuid::parse_str(&wallet.id).unwrap().get_version_num(), 4);

    // Minimal wallet: every optional field empty, prf explicitly false.
    let mut minimal = new_wallet(&org.id, 2);
    minimal.external_user_id = None;
    minimal.auth_method = None;
    minimal.prf_supported = Some(false);
    let minimal = store.insert_wallet(&minimal).await.unwrap();
    assert_eq!(minimal.external_user_id, None);
    assert_eq!(minimal.prf_supported, Some(false));

    assert_eq!(store.wallet(&wallet.id).await.unwrap(), Some(wallet.clone()));
    assert_eq!(store.wallet("missing").await.unwrap(), None);
    assert_eq!(
        store.wallet_by_address(&org.id, CHAIN, &full.address).await.unwrap(),
        Some(wallet.clone())
    );
    assert_eq!(store.wallet_by_address("other-org", CHAIN, &full.address).await.unwrap(), None);
    assert_eq!(
        store.wallet_by_external_user(&org.id, CHAIN, "user-1").await.unwrap(),
        Some(wallet.clone())
    );
    assert_eq!(store.wallet_by_external_user(&org.id, CHAIN, "user-2").await.unwrap(), None);

    store.set_wallet_deployed(&wallet.id, "0xdeadbeef").await.unwrap();
    let deployed = store.wallet(&wallet.id).await.unwrap().unwrap();
    assert!(deployed.deployed);
    assert_eq!(deployed.deploy_tx_hash.as_deref(), Some("0xdeadbeef"));
    assert_eq!(store.set_wallet_deployed("missing", "0x1").await, Err(StoreError::NotFound));

    let event = |kind| NewKeyEvent {
        kind,
        principal: "user:user-1".into(),
        route: "test".into(),
        proof: "owner-signature".into(),
    };
    let original = store.wallet(&wallet.id).await.unwrap().unwrap();
    let rekeyed = store
        .replace_wallet_keys(&wallet.id, "enc-new", None, &event(KeyEventKind::Replaced))
        .await
        .unwrap();
    assert_eq!(rekeyed.encrypted_private_key, "enc-new");
    assert_eq!(rekeyed.encrypted_private_key_backup, None);
    assert!(rekeyed.deployed);
    assert_eq!(store.wallet(&wallet.id).await.unwrap(), Some(rekeyed.clone()));
    let rekeyed = store
        .replace_wallet_keys(&wallet.id, "enc-3", Some("backup-3"), &event(KeyEventKind::Replaced))
        .await
        .unwrap();
    assert_eq!(rekeyed.encrypted_private_key_backup.as_deref(), Some("backup-3"));
    // Every replacement kept what it replaced, oldest first: nothing is lost.
    store.record_key_event(&wallet.id, &event(KeyEventKind::Read)).await.unwrap();
    let events = store.key_events(&wallet.id).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [KeyEventKind::Replaced, KeyEventKind::Replaced, KeyEventKind::Read]);
    assert_eq!(events[0].previous_key.as_deref(), Some(original.encrypted_private_key.as_str()));
    assert_eq!(events[0].previous_backup, original.encrypted_private_key_backup);
    assert_eq!(events[1].previous_key.as_deref(), Some("enc-new"));
    assert_eq!(events[2].previous_key, None);
    assert_eq!(
        store.replace_wallet_keys("missing", "x", None, &event(KeyEventKind::Replaced)).await,
        Err(StoreError::NotFound)
    );
    store.set_owner_public_key(&wallet.id, "0xabc").await.unwrap();
    assert_eq!(store.wallet(&wallet.id).await.unwrap().unwrap().owner_public_key, "0xabc");
});

both_backends!(wallet_uniqueness, |db| {
    let store = db.store();
    let org = org(&store).await;
    let other_org = store.create_organization("other").await.unwrap();
    store.insert_wallet(&new_wallet(&org.id, 1)).await.unwrap();

    let mut same_address = new_wallet(&org.id, 2);
    same_address.address = new_wallet(&org.id, 1).address;
    assert_eq!(
        store.insert_wallet(&same_address).await,
        Err(StoreError::Conflict { constraint: constraints::WALLET_ORG_ADDRESS.into() })
    );
    let mut same_user = new_wallet(&org.id, 3);
    same_user.external_user_id = Some("user-1".into());
    let err = store.insert_wallet(&same_user).await.unwrap_err();
    assert!(err.is_conflict_on(constraints::WALLET_ORG_EXTERNAL_USER), "{err:?}");

    // The same address and user id are fine in another organisation.
    store.insert_wallet(&new_wallet(&other_org.id, 1)).await.unwrap();
    // Several wallets without an external user id may coexist.
    for n in 10..13 {
        let mut anonymous = new_wallet(&org.id, n);
        anonymous.external_user_id = None;
        store.insert_wallet(&anonymous).await.unwrap();
    }
    // A wallet for a missing organisation is refused by the foreign key.
    assert_eq!(store.insert_wallet(&new_wallet("missing", 99)).await, Err(StoreError::NotFound));
});

both_backends!(wallet_listing_pages_in_creation_order, |db| {
    let store = db.store();
    let org = org(&store).await;
    let other = store.create_organization("other").await.unwrap();
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(store.insert_wallet(&new_wallet(&org.id, n)).await.unwrap().id);
    }
    store.insert_wallet(&new_wallet(&other.id, 100)).await.unwrap();
    let page = |limit, offset| {
        let store = store.clone();
        let org_id = org.id.clone();
        async move {
            store
                .list_wallets(&org_id, limit, offset)
                .await
                .unwrap()
                .into_iter()
                .map(|w| w.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(3, 0).await, ids[0..3]);
    assert_eq!(page(3, 3).await, ids[3..6]);
    assert_eq!(page(3, 6).await, ids[6..7]);
    assert!(page(3, 7).await.is_empty());
    assert_eq!(page(100, 0).await, ids);
    assert!(page(0, 0).await.is_empty());
});
