//! Organisations, gas budgets and API keys.

use latchkey_store::{constraints, ApiKeyKind, Backend, BudgetKey, StoreError};
use sha2::{Digest, Sha256};

use crate::support::{budget, budget_key, org, org_with_budget, raw_texts, CHAIN};

const GFRI: u128 = 1_000_000_000;

both_backends!(organizations_round_trip, |db| {
    let store = db.store();
    assert_eq!(store.first_organization().await.unwrap(), None);
    let first = org_with_budget(&store, "first", 5 * GFRI + 7).await;
    let second = store.create_organization("second").await.unwrap();
    assert_eq!(first.name, "first");
    assert_eq!(store.organization(&first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.organization(&second.id).await.unwrap(), Some(second.clone()));
    assert_eq!(store.organization("missing").await.unwrap(), None);
    // Both were created within the same second: insertion order decides.
    assert_eq!(store.first_organization().await.unwrap(), Some(first.clone()));
    store.health().await.unwrap();
});

both_backends!(budgets_are_per_organisation_chain_and_unit, |db| {
    let store = db.store();
    let first = org_with_budget(&store, "first", 5 * GFRI + 7).await;
    let second = store.create_organization("second").await.unwrap();
    // Budgets are kept in whole 10^9 of the unit, rounded down.
    let kept = budget(&store, &first.id).await;
    assert_eq!((kept.budget, kept.spent, kept.reserved), (5 * GFRI, 0, 0));
    assert_eq!((kept.chain.as_str(), kept.unit.as_str()), (CHAIN, "FRI"));
    // None set: zero, and nothing can be reserved from it.
    assert_eq!(budget(&store, &second.id).await.budget, 0);
    assert!(!store.reserve_gas(budget_key(&second.id), 1).await.unwrap());

    store.set_gas_budget(budget_key(&second.id), 42 * GFRI).await.unwrap();
    assert_eq!(budget(&store, &second.id).await.budget, 42 * GFRI);
    assert_eq!(store.set_gas_budget(budget_key("missing"), 1).await, Err(StoreError::NotFound));
    // A budget beyond the column saturates instead of failing.
    store.set_gas_budget(budget_key(&second.id), u128::MAX).await.unwrap();
    assert_eq!(budget(&store, &second.id).await.budget, i64::MAX as u128 * GFRI);

    // Another chain, or another unit, is another budget: spending on one leaves the others.
    let evm = BudgetKey { org_id: &first.id, chain: "eip155:31337", unit: "WEI" };
    store.set_gas_budget(evm, 3 * GFRI).await.unwrap();
    assert!(store.reserve_gas(evm, 3 * GFRI).await.unwrap());
    assert!(!store.reserve_gas(evm, 1).await.unwrap());
    assert!(store.reserve_gas(budget_key(&first.id), 5 * GFRI).await.unwrap());
    store.settle_gas(evm, 3 * GFRI, GFRI).await.unwrap();
    let on_evm = store.gas_budget(evm).await.unwrap();
    assert_eq!((on_evm.budget, on_evm.spent, on_evm.reserved), (3 * GFRI, GFRI, 0));
    assert_eq!(on_evm.remaining(), 2 * GFRI);
    let all = store.gas_budgets(&first.id).await.unwrap();
    let names: Vec<_> = all.iter().map(|b| (b.chain.as_str(), b.unit.as_str())).collect();
    assert_eq!(names, [("eip155:31337", "WEI"), (CHAIN, "FRI")]);
    assert_eq!(all[1].reserved, 5 * GFRI);
    // Setting a budget keeps what was spent and reserved under it.
    store.set_gas_budget(evm, 10 * GFRI).await.unwrap();
    assert_eq!(store.gas_budget(evm).await.unwrap().spent, GFRI);
    // Every organisation's, with its id (`/metrics`).
    let everyone = store.all_gas_budgets().await.unwrap();
    let mut expected = vec![
        (first.id.clone(), store.gas_budget(evm).await.unwrap()),
        (first.id.clone(), budget(&store, &first.id).await),
        (second.id.clone(), budget(&store, &second.id).await),
    ];
    expected.sort_by(|a, b| (&a.0, &a.1.chain).cmp(&(&b.0, &b.1.chain)));
    assert_eq!(everyone, expected);
});

both_backends!(gas_reservations_and_settlement, |db| {
    let store = db.store();
    let org = org_with_budget(&store, "o", 10 * GFRI).await;
    // 1 FRI reserves a whole unit (rounded up).
    assert!(store.reserve_gas(budget_key(&org.id), 1).await.unwrap());
    assert!(store.reserve_gas(budget_key(&org.id), 4 * GFRI).await.unwrap());
    let now = budget(&store, &org.id).await;
    assert_eq!(now.reserved, 5 * GFRI);
    // 5 reserved of 10: 6 does not fit, 5 does.
    assert!(!store.reserve_gas(budget_key(&org.id), 6 * GFRI).await.unwrap());
    assert!(!store.reserve_gas(budget_key(&org.id), u128::MAX).await.unwrap());
    assert!(store.reserve_gas(budget_key(&org.id), 5 * GFRI).await.unwrap());
    assert!(!store.reserve_gas(budget_key(&org.id), 1).await.unwrap());

    // Settle 4 reserved with an actual fee of 2.5 (charged as 3).
    store.settle_gas(budget_key(&org.id), 4 * GFRI, 2 * GFRI + GFRI / 2).await.unwrap();
    let now = budget(&store, &org.id).await;
    assert_eq!(now.reserved, 6 * GFRI);
    assert_eq!(now.spent, 3 * GFRI);
    // 3 spent + 6 reserved of 10: one unit left.
    assert!(store.reserve_gas(budget_key(&org.id), GFRI).await.unwrap());
    assert!(!store.reserve_gas(budget_key(&org.id), 1).await.unwrap());
    // Releasing more than is reserved stops at zero.
    store.settle_gas(budget_key(&org.id), 100 * GFRI, 0).await.unwrap();
    let now = budget(&store, &org.id).await;
    assert_eq!((now.reserved, now.spent), (0, 3 * GFRI));

    assert_eq!(store.reserve_gas(budget_key("missing"), 1).await, Err(StoreError::NotFound));
    assert_eq!(
        store.reserve_gas(budget_key("missing"), u128::MAX).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.settle_gas(budget_key("missing"), 1, 1).await, Err(StoreError::NotFound));
});

both_backends!(api_keys_round_trip, |db| {
    let store = db.store();
    let org = org(&store).await;
    let public =
        store.insert_api_key(&org.id, ApiKeyKind::Public, "hash-pk", "pk_live_ab").await.unwrap();
    let secret =
        store.insert_api_key(&org.id, ApiKeyKind::Secret, "hash-sk", "sk_live_cd").await.unwrap();
    assert_eq!(public.kind, ApiKeyKind::Public);
    assert_eq!(public.prefix, "pk_live_ab");
    assert_eq!(public.org_id, org.id);
    assert_eq!(public.revoked_at, None);
    assert_eq!(store.find_api_key("hash-pk").await.unwrap(), Some(public.clone()));
    assert_eq!(store.find_api_key("hash-sk").await.unwrap(), Some(secret.clone()));
    assert_eq!(store.find_api_key("hash-other").await.unwrap(), None);

    let dup = store.insert_api_key(&org.id, ApiKeyKind::Secret, "hash-sk", "sk_x").await;
    assert_eq!(dup, Err(StoreError::Conflict { constraint: constraints::API_KEY_HASH.into() }));
    assert_eq!(
        store.insert_api_key("missing-org", ApiKeyKind::Public, "h", "p").await,
        Err(StoreError::NotFound)
    );

    store.revoke_api_key(&secret.id).await.unwrap();
    assert_eq!(store.find_api_key("hash-sk").await.unwrap(), None);
    // Revoking again keeps the key revoked; unknown ids are NotFound.
    store.revoke_api_key(&secret.id).await.unwrap();
    assert_eq!(store.revoke_api_key("missing").await, Err(StoreError::NotFound));
    let all = store.api_keys(&org.id).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|k| k.id == secret.id && k.revoked_at.is_some()));
    assert!(all.iter().any(|k| k.id == public.id && k.revoked_at.is_none()));
});

both_backends!(api_keys_table_holds_no_plaintext_key, |db| {
    let store = db.store();
    let org = org(&store).await;
    let plaintext = format!("sk_live_{}", uuid::Uuid::new_v4().simple());
    let hash: String =
        Sha256::digest(plaintext.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    store.insert_api_key(&org.id, ApiKeyKind::Secret, &hash, &plaintext[..12]).await.unwrap();
    assert!(store.find_api_key(&hash).await.unwrap().is_some());

    // Every column of every row, as text.
    let rows = match db.backend() {
        Backend::Postgres => raw_texts(db, "SELECT row_to_json(k)::text FROM api_keys k").await,
        Backend::Sqlite => {
            raw_texts(
                db,
                "SELECT json_object('id', id, 'org_id', org_id, 'kind', kind, 'key_hash', \
                 key_hash, 'prefix', prefix, 'created_at', created_at, 'revoked_at', revoked_at) \
                 FROM api_keys",
            )
            .await
        }
    };
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains(&hash), "{}", rows[0]);
    assert!(!rows[0].contains(&plaintext), "plaintext key stored: {}", rows[0]);
    if db.backend() == Backend::Sqlite {
        // Nor anywhere in the database files.
        let path = db.url().trim_start_matches("sqlite://").to_owned();
        for file in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let needle = plaintext.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plaintext key found in {file}"
            );
        }
    }
});

both_backends!(allowed_origins_are_per_organisation_and_replaced_whole, |db| {
    let store = db.store();
    let first = org(&store).await;
    let second = store.create_organization("second").await.unwrap();
    assert!(store.allowed_origins(&first.id).await.unwrap().is_empty(), "none by default");
    let app = "https://app.example".to_string();
    let local = "http://localhost:3000".to_string();
    store
        .set_allowed_origins(&first.id, &[local.clone(), app.clone(), app.clone()], None)
        .await
        .unwrap();
    assert_eq!(store.allowed_origins(&first.id).await.unwrap(), [local.clone(), app.clone()]);
    assert!(store.origin_allowed(&app, Some(&first.id)).await.unwrap());
    assert!(!store.origin_allowed(&app, Some(&second.id)).await.unwrap(), "not the other's");
    assert!(store.origin_allowed(&app, None).await.unwrap());
    assert!(!store.origin_allowed("https://evil.example", None).await.unwrap());
    // A new list replaces the old one whole.
    store.set_allowed_origins(&first.id, std::slice::from_ref(&local), None).await.unwrap();
    assert!(!store.origin_allowed(&app, None).await.unwrap());
    assert_eq!(store.allowed_origins(&first.id).await.unwrap(), [local]);
    store.set_allowed_origins(&first.id, &[], None).await.unwrap();
    assert!(store.allowed_origins(&first.id).await.unwrap().is_empty());
    // An unknown organisation changes nothing.
    let refused = store.set_allowed_origins("missing", std::slice::from_ref(&app), None).await;
    assert_eq!(refused.unwrap_err(), StoreError::NotFound);
    assert!(!store.origin_allowed(&app, None).await.unwrap());
});

both_backends!(organisation_tokens_are_named_by_chain_and_symbol, |db| {
    let store = db.store();
    let first = org(&store).await;
    let second = store.create_organization("second").await.unwrap();
    let usdc = |address: &str| latchkey_store::OrgToken {
        chain: CHAIN.into(),
        symbol: "USDC".into(),
        address: address.into(),
        decimals: 6,
    };
    assert!(store.org_tokens(&first.id).await.unwrap().is_empty());
    store.set_org_tokens(&first.id, &[usdc("0x1"), usdc("0x2")], None).await.unwrap();
    assert_eq!(store.org_tokens(&first.id).await.unwrap(), [usdc("0x2")], "the later one wins");
    assert_eq!(store.org_token(&first.id, CHAIN, "USDC").await.unwrap(), Some(usdc("0x2")));
    assert_eq!(store.org_token(&second.id, CHAIN, "USDC").await.unwrap(), None);
    assert_eq!(store.org_token(&first.id, "eip155:1", "USDC").await.unwrap(), None);
    store.set_org_tokens(&first.id, &[], None).await.unwrap();
    assert_eq!(store.org_token(&first.id, CHAIN, "USDC").await.unwrap(), None);
    let refused = store.set_org_tokens("missing", &[usdc("0x1")], None).await;
    assert_eq!(refused.unwrap_err(), StoreError::NotFound);
});
