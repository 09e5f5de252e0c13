//! Outside-execution requests.

use latchkey_store::{constraints, NewRequest, RequestStatus, RequestUpdate, StoreError};

use crate::support::{new_request, new_wallet, org, CHAIN};

both_backends!(requests_round_trip, |db| {
    let store = db.store();
    let org = org(&store).await;
    let wallet = store.insert_wallet(&new_wallet(&org.id, 1)).await.unwrap();
    let input = new_request(&org.id, Some(&wallet.id), "0x1");
    let request = store.insert_request(&input).await.unwrap();
    assert_eq!(request.org_id, org.id);
    assert_eq!(request.wallet_id.as_deref(), Some(wallet.id.as_str()));
    assert_eq!(request.account, input.account);
    assert_eq!(request.oe_nonce, "0x1");
    assert_eq!(request.typed_data_json, input.typed_data_json);
    assert_eq!(request.calls_json, input.calls_json);
    assert_eq!(request.execute_before, input.execute_before);
    assert_eq!(request.purpose, "execute");
    assert_eq!(request.status, RequestStatus::Prepared);
    assert_eq!(request.tx_hash, None);
    assert_eq!((request.submitted_at, request.finalized_at), (None, None));

    assert_eq!(store.request(&request.id).await.unwrap(), Some(request.clone()));
    assert_eq!(store.request("missing").await.unwrap(), None);
    assert_eq!(store.request_by_oe(CHAIN, "0xacc", "0x1").await.unwrap(), Some(request.clone()));
    assert_eq!(store.request_by_oe(CHAIN, "0xacc", "0x2").await.unwrap(), None);
    assert_eq!(store.request_by_oe(CHAIN, "0xother", "0x1").await.unwrap(), None);
    if let Some(hash) = request.payload_hash.as_deref() {
        let found = store.request_by_payload_hash(CHAIN, "0xacc", hash).await.unwrap();
        assert_eq!(found.map(|r| r.id), Some(request.id.clone()));
        assert_eq!(store.request_by_payload_hash(CHAIN, "0xother", hash).await.unwrap(), None);
    }
    assert_eq!(store.request_by_payload_hash(CHAIN, "0xacc", "0xnone").await.unwrap(), None);

    // Recorded with every optional field set.
    let recorded = RequestUpdate {
        status: Some(RequestStatus::Recorded),
        kind: Some("session".into()),
        session_public_key: Some("0x5e55".into()),
        signature_json: Some(r#"["0x1","0x2"]"#.into()),
        tx_hash: Some("0xt1".into()),
        relayer_address: Some("0xrelayer".into()),
        relayer_nonce: Some("0x7".into()),
        signed_tx_json: Some("{}".into()),
        fee: Some("12345".into()),
        error_code: Some("none".into()),
        error_message: Some("nothing".into()),
        idempotency_key: Some("idem-1".into()),
        previous_tx_hashes_json: Some(r#"["0xt0"]"#.into()),
        oe_nonce: Some("0xoe-renamed".into()),
        handler: Some("instance-a".into()),
    };
    assert!(store
        .update_request(&request.id, &[RequestStatus::Prepared], &recorded)
        .await
        .unwrap());
    let r = store.request(&request.id).await.unwrap().unwrap();
    assert_eq!(r.status, RequestStatus::Recorded);
    assert_eq!(r.kind.as_deref(), Some("session"));
    assert_eq!(r.session_public_key.as_deref(), Some("0x5e55"));
    assert_eq!(r.signature_json.as_deref(), Some(r#"["0x1","0x2"]"#));
    assert_eq!(r.tx_hash.as_deref(), Some("0xt1"));
    assert_eq!(r.relayer_address.as_deref(), Some("0xrelayer"));
    assert_eq!(r.relayer_nonce.as_deref(), Some("0x7"));
    assert_eq!(r.signed_tx_json.as_deref(), Some("{}"));
    assert_eq!(r.fee.as_deref(), Some("12345"));
    assert_eq!(r.error_code.as_deref(), Some("none"));
    assert_eq!(r.error_message.as_deref(), Some("nothing"));
    assert_eq!(r.idempotency_key.as_deref(), Some("idem-1"));
    assert_eq!(r.oe_nonce, "0xoe-renamed");
    assert_eq!(r.handler.as_deref(), Some("instance-a"));
    assert_eq!((r.submitted_at, r.finalized_at), (None, None));
    assert_eq!(store.request_by_tx_hash("0xt1").await.unwrap(), Some(r.clone()));
    assert_eq!(store.request_by_tx_hash("0xnone").await.unwrap(), None);

    // A transition from the wrong status does nothing.
    let submitted = RequestUpdate { status: Some(RequestStatus::Submitted), ..Default::default() };
    assert!(!store
        .update_request(&request.id, &[RequestStatus::Prepared], &submitted)
        .await
        .unwrap());
    assert!(!store.update_request(&request.id, &[], &submitted).await.unwrap());
    assert!(!store
        .update_request("missing", &[RequestStatus::Recorded], &submitted)
        .await
        .unwrap());
    assert_eq!(store.request(&request.id).await.unwrap().unwrap(), r);

    // None fields are left alone; entering Submitted stamps submitted_at.
    assert!(store
        .update_request(&request.id, &[RequestStatus::Recorded], &submitted)
        .await
        .unwrap());
    let s = store.request(&request.id).await.unwrap().unwrap();
    assert_eq!(s.status, RequestStatus::Submitted);
    assert_eq!(s.tx_hash.as_deref(), Some("0xt1"));
    assert!(s.submitted_at.is_some());
    assert_eq!(s.finalized_at, None);
    assert!(s.updated_at >= r.updated_at);

    // Entering a final status stamps finalized_at.
    let done = RequestUpdate {
        status: Some(RequestStatus::Succeeded),
        fee: Some("999".into()),
        ..Default::default()
    };
    assert!(store.update_request(&request.id, &[RequestStatus::Submitted], &done).await.unwrap());
    let f = store.request(&request.id).await.unwrap().unwrap();
    assert_eq!(f.status, RequestStatus::Succeeded);
    assert!(f.status.is_final());
    assert_eq!(f.fee.as_deref(), Some("999"));
    assert_eq!(f.submitted_at, s.submitted_at);
    assert!(f.finalized_at.is_some());

    // A reorg sends it back: no longer final.
    let back = RequestUpdate { status: Some(RequestStatus::Submitted), ..Default::default() };
    assert!(store.update_request(&request.id, &[RequestStatus::Succeeded], &back).await.unwrap());
    let b = store.request(&request.id).await.unwrap().unwrap();
    assert_eq!(b.status, RequestStatus::Submitted);
    assert_eq!(b.finalized_at, None);
    assert!(b.submitted_at.is_some());

    // A request without a wallet (a foreign account).
    let foreign = store.insert_request(&new_request(&org.id, None, "0x2")).await.unwrap();
    assert_eq!(foreign.wallet_id, None);
});

both_backends!(same_outside_execution_is_recorded_once, |db| {
    let store = db.store();
    let org = org(&store).await;
    let first = store.insert_request(&new_request(&org.id, None, "0x42")).await.unwrap();
    // Same account and nonce: refused, even with different typed data or signature.
    let mut again = new_request(&org.id, None, "0x42");
    again.typed_data_json = r#"{"other":true}"#.into();
    assert_eq!(
        store.insert_request(&again).await,
        Err(StoreError::Conflict { constraint: constraints::REQUEST_ACCOUNT_OE_NONCE.into() })
    );
    // Same nonce on another account is a different outside execution.
    let mut other_account = new_request(&org.id, None, "0x42");
    other_account.account = "0xbeef".into();
    store.insert_request(&other_account).await.unwrap();
    assert_eq!(store.request_by_oe(CHAIN, "0xacc", "0x42").await.unwrap().unwrap().id, first.id);
    // Unknown organisation or wallet: refused by the foreign keys.
    assert_eq!(
        store.insert_request(&new_request("missing", None, "0x43")).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.insert_request(&new_request(&org.id, Some("missing"), "0x44")).await,
        Err(StoreError::NotFound)
    );
});

both_backends!(requests_with_status_is_oldest_first_and_per_chain, |db| {
    let store = db.store();
    let org = org(&store).await;
    // Another chain's request is another relayer's work: never listed here.
    let elsewhere =
        NewRequest { chain: "eip155:31337".into(), ..new_request(&org.id, None, "0x99") };
    let elsewhere = store.insert_request(&elsewhere).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..6 {
        let r = store.insert_request(&new_request(&org.id, None, &format!("0x{n}"))).await.unwrap();
        ids.push(r.id);
    }
    let to = |status| RequestUpdate { status: Some(status), ..Default::default() };
    // 1, 3, 4 recorded; 5 submitted; 0 and 2 stay prepared.
    for i in [4, 1, 3] {
        assert!(store
            .update_request(&ids[i], &[RequestStatus::Prepared], &to(RequestStatus::Recorded))
            .await
            .unwrap());
    }
    assert!(store
        .update_request(&ids[5], &[RequestStatus::Prepared], &to(RequestStatus::Submitted))
        .await
        .unwrap());
    let listed = |statuses: Vec<RequestStatus>, limit| {
        let store = store.clone();
        async move {
            store
                .requests_with_status(CHAIN, &statuses, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(vec![RequestStatus::Recorded], 10).await,
        [ids[1].clone(), ids[3].clone(), ids[4].clone()]
    );
    assert_eq!(listed(vec![RequestStatus::Recorded], 2).await, [ids[1].clone(), ids[3].clone()]);
    assert_eq!(
        listed(vec![RequestStatus::Submitted, RequestStatus::Recorded], 10).await,
        [ids[1].clone(), ids[3].clone(), ids[4].clone(), ids[5].clone()]
    );
    assert_eq!(listed(vec![RequestStatus::Prepared], 10).await, [ids[0].clone(), ids[2].clone()]);
    assert!(listed(vec![RequestStatus::Expired], 10).await.is_empty());
    assert!(listed(vec![], 10).await.is_empty());
    let there = store.requests_with_status("eip155:31337", &[RequestStatus::Prepared], 10);
    assert_eq!(there.await.unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>(), [elsewhere.id]);
});

both_backends!(request_listing_and_counts, |db| {
    let store = db.store();
    let org = org(&store).await;
    let other = store.create_organization("other").await.unwrap();
    let wallet = store.insert_wallet(&new_wallet(&org.id, 1)).await.unwrap();
    let mut all = Vec::new();
    let mut of_wallet = Vec::new();
    for n in 0..5 {
        let wallet_id = (n % 2 == 0).then_some(wallet.id.as_str());
        let r = store
            .insert_request(&new_request(&org.id, wallet_id, &format!("0x{n}")))
            .await
            .unwrap();
        if wallet_id.is_some() {
            of_wallet.push(r.id.clone());
        }
        all.push(r.id);
    }
    store.insert_request(&new_request(&other.id, None, "0x99")).await.unwrap();
    all.reverse();
    of_wallet.reverse();
    let ids = |v: Vec<latchkey_store::Request>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_requests(&org.id, None, 10, 0).await.unwrap()), all);
    assert_eq!(ids(store.list_requests(&org.id, None, 2, 1).await.unwrap()), all[1..3]);
    assert_eq!(
        ids(store.list_requests(&org.id, Some(&wallet.id), 10, 0).await.unwrap()),
        of_wallet
    );
    assert_eq!(
        ids(store.list_requests(&org.id, Some(&wallet.id), 1, 2).await.unwrap()),
        of_wallet[2..]
    );
    assert!(store.list_requests(&org.id, Some("missing"), 10, 0).await.unwrap().is_empty());

    let to = |status| RequestUpdate { status: Some(status), ..Default::default() };
    store
        .update_request(&all[0], &[RequestStatus::Prepared], &to(RequestStatus::Rejected))
        .await
        .unwrap();
    store
        .update_request(&all[1], &[RequestStatus::Prepared], &to(RequestStatus::Recorded))
        .await
        .unwrap();
    store
        .update_request(&all[2], &[RequestStatus::Prepared], &to(RequestStatus::Recorded))
        .await
        .unwrap();
    assert_eq!(
        store.count_requests_by_status(&org.id).await.unwrap(),
        vec![
            (RequestStatus::Prepared, 2),
            (RequestStatus::Recorded, 2),
            (RequestStatus::Rejected, 1)
        ]
    );
    assert_eq!(
        store.count_requests_by_status(&other.id).await.unwrap(),
        vec![(RequestStatus::Prepared, 1)]
    );
    assert!(store.count_requests_by_status("missing").await.unwrap().is_empty());
    // Across organisations, per chain, unfinished statuses only (`/metrics`).
    assert_eq!(
        store.count_unfinished_requests(CHAIN).await.unwrap(),
        vec![(RequestStatus::Prepared, 3), (RequestStatus::Recorded, 2)]
    );
    assert!(store.count_unfinished_requests("eip155:1").await.unwrap().is_empty());
});

both_backends!(transitions_move_only_from_the_expected_statuses, |db| {
    let store = db.store();
    let org = org(&store).await;
    let request = store.insert_request(&new_request(&org.id, None, "0x7")).await.unwrap();
    let update = RequestUpdate {
        status: Some(RequestStatus::Submitting),
        tx_hash: Some("0xt7".into()),
        ..RequestUpdate::default()
    };
    assert!(store.update_request(&request.id, &[RequestStatus::Prepared], &update).await.unwrap());
    // From a status it is not in: nothing moves.
    let moved = store
        .transition_request(&request.id, &[RequestStatus::Recorded], RequestStatus::Submitted)
        .await
        .unwrap();
    assert!(!moved);
    assert_eq!(
        store.request(&request.id).await.unwrap().unwrap().status,
        RequestStatus::Submitting
    );
    // From one of the expected ones: the status moves (with its bookkeeping), nothing else.
    let moved = store
        .transition_request(
            &request.id,
            &[RequestStatus::Recorded, RequestStatus::Submitting],
            RequestStatus::Submitted,
        )
        .await
        .unwrap();
    assert!(moved);
    let after = store.request(&request.id).await.unwrap().unwrap();
    assert_eq!(after.status, RequestStatus::Submitted);
    assert_eq!(after.tx_hash.as_deref(), Some("0xt7"));
    assert!(after.submitted_at.is_some());
    assert!(!store
        .transition_request("missing", &[RequestStatus::Submitted], RequestStatus::Succeeded)
        .await
        .unwrap());
    assert!(!store.transition_request(&request.id, &[], RequestStatus::Succeeded).await.unwrap());
});

both_backends!(every_status_is_stored_and_a_reorg_leaves_final_for_in_flight, |db| {
    let store = db.store();
    let org = org(&store).await;
    let request = store.insert_request(&new_request(&org.id, None, "0x8")).await.unwrap();
    // The schema takes every status there is, each after the one before.
    let mut from = RequestStatus::Prepared;
    for &status in RequestStatus::ALL.iter().skip(1) {
        assert!(
            store.transition_request(&request.id, &[from], status).await.unwrap(),
            "{from} -> {status}"
        );
        from = status;
    }
    // Final, then undone (a reorg took its block): it is in flight again, not finalized.
    let id = &request.id;
    store.transition_request(id, &[from], RequestStatus::Succeeded).await.unwrap();
    assert!(store.request(id).await.unwrap().unwrap().finalized_at.is_some());
    store
        .transition_request(id, &[RequestStatus::Succeeded], RequestStatus::Accepted)
        .await
        .unwrap();
    let after = store.request(id).await.unwrap().unwrap();
    assert_eq!((after.status, after.finalized_at), (RequestStatus::Accepted, None));
});
