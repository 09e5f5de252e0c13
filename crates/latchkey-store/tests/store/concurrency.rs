//! Races: many writers, gas reservations, request compare-and-set (D3 and friends).

use latchkey_store::{
    IdempotencyClaim, RequestStatus, RequestUpdate, Reservation, ReserveOptions, StoreError,
};

use crate::support::{
    budget, budget_key, new_request, new_wallet, org, org_with_budget, second_store, CHAIN,
};

const GFRI: u128 = 1_000_000_000;

// D3: 64 concurrent writers, split over two store handles on the same database (two
// processes on one SQLite file), doing single statements and multi-statement
// transactions. None may fail — in particular not with SQLITE_BUSY.
both_backends!(many_concurrent_writers_all_succeed, |db| {
    let store = db.store();
    let other_process = second_store(db).await;
    let org = org_with_budget(&store, "o", 1_000_000 * GFRI).await;
    let mut tasks = Vec::new();
    for writer in 0..64u32 {
        let store = if writer % 2 == 0 { store.clone() } else { other_process.clone() };
        let org_id = org.id.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..5u32 {
                let n = writer * 100 + round;
                let wallet = store.insert_wallet(&new_wallet(&org_id, n)).await?;
                let key = format!("key-{n}");
                let scope = latchkey_store::IdempotencyScope {
                    org_id: &org_id,
                    principal: "organization",
                    key: &key,
                };
                let claim = store.claim_idempotency(scope, "h", "a", 1, 60, 60).await?;
                assert_eq!(claim, IdempotencyClaim::Claimed);
                let request = store
                    .insert_request(&new_request(&org_id, Some(&wallet.id), &format!("0x{n:x}")))
                    .await?;
                let recorded =
                    RequestUpdate { status: Some(RequestStatus::Recorded), ..Default::default() };
                assert!(
                    store
                        .update_request(&request.id, &[RequestStatus::Prepared], &recorded)
                        .await?
                );
                assert!(store.reserve_gas(budget_key(&org_id), GFRI).await?);
                store.complete_idempotency(scope, 200, "{}").await?;
            }
            Ok::<_, latchkey_store::StoreError>(())
        }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "{} writers failed: {failures:?}", failures.len());
    assert_eq!(budget(&store, &org.id).await.reserved, 320 * GFRI);
    assert_eq!(store.list_wallets(&org.id, 1000, 0).await.unwrap().len(), 320);
    assert_eq!(
        store.requests_with_status(CHAIN, &[RequestStatus::Recorded], 1000).await.unwrap().len(),
        320
    );
});

// 50 concurrent reservations against a budget that fits 10 of them.
both_backends!(concurrent_reservations_never_exceed_the_budget, |db| {
    let store = db.store();
    let other_process = second_store(db).await;
    let org = org_with_budget(&store, "o", 10 * GFRI).await;
    // One unit already spent: room for 9 reservations of one unit.
    assert!(store.reserve_gas(budget_key(&org.id), GFRI).await.unwrap());
    store.settle_gas(budget_key(&org.id), GFRI, GFRI).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { store.clone() } else { other_process.clone() };
        let org_id = org.id.clone();
        tasks.push(tokio::spawn(async move {
            store.reserve_gas(budget_key(&org_id), GFRI).await.unwrap()
        }));
    }
    let mut granted = 0;
    for task in tasks {
        granted += usize::from(task.await.unwrap());
    }
    assert_eq!(granted, 9);
    let org = budget(&store, &org.id).await;
    assert_eq!(org.reserved, 9 * GFRI);
    assert!(org.spent + org.reserved <= org.budget);
});

// 20 workers race to move one Recorded request to Submitting; exactly one wins, and the
// row carries the winner's relayer.
both_backends!(request_compare_and_set_has_one_winner, |db| {
    let store = db.store();
    let other_process = second_store(db).await;
    let org = org(&store).await;
    let wallet = store.insert_wallet(&new_wallet(&org.id, 1)).await.unwrap();
    let request =
        store.insert_request(&new_request(&org.id, Some(&wallet.id), "0x1")).await.unwrap();
    let recorded = RequestUpdate { status: Some(RequestStatus::Recorded), ..Default::default() };
    assert!(store
        .update_request(&request.id, &[RequestStatus::Prepared], &recorded)
        .await
        .unwrap());

    let mut tasks = Vec::new();
    for worker in 0..20 {
        let store = if worker % 2 == 0 { store.clone() } else { other_process.clone() };
        let id = request.id.clone();
        tasks.push(tokio::spawn(async move {
            let update = RequestUpdate {
                status: Some(RequestStatus::Submitting),
                relayer_address: Some(format!("0xrelayer{worker}")),
                ..Default::default()
            };
            let won = store.update_request(&id, &[RequestStatus::Recorded], &update).await.unwrap();
            (worker, won)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (worker, won) = task.await.unwrap();
        if won {
            winners.push(worker);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let row = store.request(&request.id).await.unwrap().unwrap();
    assert_eq!(row.status, RequestStatus::Submitting);
    assert_eq!(row.relayer_address, Some(format!("0xrelayer{}", winners[0])));
});

fn to(status: RequestStatus) -> RequestUpdate {
    RequestUpdate { status: Some(status), ..RequestUpdate::default() }
}

// Recording with a reservation and finishing with a settlement are each all-or-nothing:
// a refused reservation writes nothing, a lost compare-and-set reserves nothing, and a
// request is settled exactly once however many finishers race.
both_backends!(reservation_and_settlement_go_with_the_request, |db| {
    let store = db.store();
    let org = org_with_budget(&store, "o", 3 * GFRI).await;
    let first = store.insert_request(&new_request(&org.id, None, "0x1")).await.unwrap();
    let second = store.insert_request(&new_request(&org.id, None, "0x2")).await.unwrap();
    let prepared = [RequestStatus::Prepared];
    let recorded = to(RequestStatus::Recorded);

    // Too large for the budget: neither reserved nor recorded.
    let outcome = store
        .update_request_reserving(
            &first.id,
            &prepared,
            &recorded,
            budget_key(&org.id),
            4 * GFRI,
            &ReserveOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Reservation::BudgetExhausted);
    assert_eq!(store.request(&first.id).await.unwrap().unwrap().status, RequestStatus::Prepared);
    assert_eq!(budget(&store, &org.id).await.reserved, 0);

    let outcome = store
        .update_request_reserving(
            &first.id,
            &prepared,
            &recorded,
            budget_key(&org.id),
            2 * GFRI,
            &ReserveOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Reservation::Recorded);
    assert_eq!(store.request(&first.id).await.unwrap().unwrap().status, RequestStatus::Recorded);
    assert_eq!(budget(&store, &org.id).await.reserved, 2 * GFRI);

    // The same request again: its status moved on, so the reservation is rolled back.
    let outcome = store
        .update_request_reserving(
            &first.id,
            &prepared,
            &recorded,
            budget_key(&org.id),
            GFRI,
            &ReserveOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Reservation::StatusChanged);
    assert_eq!(budget(&store, &org.id).await.reserved, 2 * GFRI);

    // Unknown organisation.
    assert!(matches!(
        store
            .update_request_reserving(
                &second.id,
                &prepared,
                &recorded,
                budget_key("missing"),
                GFRI,
                &ReserveOptions::default()
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.request(&second.id).await.unwrap().unwrap().status, RequestStatus::Prepared);

    // Ten finishers race; one settles.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        let (id, org_id) = (first.id.clone(), org.id.clone());
        tasks.push(tokio::spawn(async move {
            store
                .update_request_settling(
                    &id,
                    &[RequestStatus::Recorded],
                    &to(RequestStatus::Succeeded),
                    budget_key(&org_id),
                    2 * GFRI,
                    GFRI,
                )
                .await
                .unwrap()
        }));
    }
    let mut settled = 0;
    for task in tasks {
        settled += usize::from(task.await.unwrap());
    }
    assert_eq!(settled, 1);
    let org = budget(&store, &org.id).await;
    assert_eq!((org.reserved, org.spent), (0, GFRI));
    assert_eq!(store.request(&first.id).await.unwrap().unwrap().status, RequestStatus::Succeeded);
});
