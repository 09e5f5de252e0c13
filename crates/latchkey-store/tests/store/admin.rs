//! The operator's changes (issue 17): organisations, API keys with rotation overlaps, gas
//! budgets, operator tokens, each written with its audit record; the audit log is
//! append-only.

use latchkey_store::{ApiKey, ApiKeyKind, AuditEntry, NewApiKey, StoreError};

use crate::support::{budget_key, raw_execute, CHAIN};

fn entry(action: &str) -> AuditEntry<'_> {
    AuditEntry { actor: "operator:lkop_test", action, target: "", before: None, after: None }
}

fn key<'a>(kind: ApiKeyKind, hash: &'a str) -> NewApiKey<'a> {
    NewApiKey { kind, key_hash: hash, prefix: "pk_dev_test" }
}

/// A rotation's replacement: the new key's hash, whatever the key it replaces.
fn replacement(hash: &str) -> impl FnOnce(&ApiKey) -> (String, String) + '_ {
    move |_| (hash.to_string(), "sk_dev_test".to_string())
}

both_backends!(organisations_are_created_renamed_suspended_and_audited, |db| {
    let store = db.store();
    let acme =
        store.create_organization_audited("acme", &entry("organization.create")).await.unwrap();
    let other =
        store.create_organization_audited("other", &entry("organization.create")).await.unwrap();
    assert_eq!(acme.suspended_at, None);
    let listed = store.list_organizations(10, 0).await.unwrap();
    assert_eq!(listed.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["acme", "other"]);
    assert_eq!(store.list_organizations(1, 1).await.unwrap(), vec![other.clone()]);

    let renamed = store
        .update_organization(
            &acme.id,
            Some("Acme Games"),
            Some(true),
            &entry("organization.update"),
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Acme Games");
    let suspended_at = renamed.suspended_at.expect("suspended");
    // Suspending again keeps the first time; reinstating clears it.
    let again = store
        .update_organization(&acme.id, None, Some(true), &entry("organization.update"))
        .await
        .unwrap();
    assert_eq!(again.suspended_at, Some(suspended_at));
    let back = store
        .update_organization(&acme.id, None, Some(false), &entry("organization.update"))
        .await
        .unwrap();
    assert_eq!((back.name.as_str(), back.suspended_at), ("Acme Games", None));
    assert_eq!(
        store.update_organization("missing", Some("x"), None, &entry("organization.update")).await,
        Err(StoreError::NotFound)
    );

    let log = store.audit_records(0, None, 100).await.unwrap();
    let actions: Vec<_> = log.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "organization.create",
            "organization.create",
            "organization.update",
            "organization.update",
            "organization.update"
        ]
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(log.iter().all(|r| r.actor == "operator:lkop_test"));
    let target = format!("organization:{}", acme.id);
    let about_acme = store.audit_records(0, Some(&target), 100).await.unwrap();
    assert_eq!(about_acme.len(), 4);
    assert_eq!(about_acme[1].before_json.as_deref(), Some(r#"{"name":"acme","suspendedAt":null}"#));
    assert_eq!(
        about_acme[1].after_json.as_deref(),
        Some(format!(r#"{{"name":"Acme Games","suspendedAt":{suspended_at}}}"#).as_str())
    );
    // Paging by position.
    assert_eq!(store.audit_records(log[2].seq, None, 100).await.unwrap(), log[3..]);
});

both_backends!(api_keys_are_issued_rotated_with_an_overlap_and_revoked, |db| {
    let store = db.store();
    let org =
        store.create_organization_audited("acme", &entry("organization.create")).await.unwrap();
    let issued = store
        .issue_api_keys(
            &org.id,
            &[key(ApiKeyKind::Public, "hash-pk-1"), key(ApiKeyKind::Secret, "hash-sk-1")],
            &entry("api_key.issue"),
        )
        .await
        .unwrap();
    assert_eq!(issued.len(), 2);
    assert!(store.find_api_key("hash-sk-1").await.unwrap().is_some());
    assert_eq!(
        store
            .issue_api_keys(
                "missing",
                &[key(ApiKeyKind::Public, "hash-x")],
                &entry("api_key.issue")
            )
            .await,
        Err(StoreError::NotFound)
    );

    // Rotation: the old key works until its overlap ends, the new one at once.
    let secret = &issued[1];
    let until = latchkey_store::now_unix() + 3600;
    let (old, new) = store
        .rotate_api_key(
            &org.id,
            &secret.id,
            replacement("hash-sk-2"),
            until,
            &entry("api_key.rotate"),
        )
        .await
        .unwrap();
    assert_eq!(old.expires_at, Some(until));
    assert_eq!(new.kind, ApiKeyKind::Secret);
    assert!(store.find_api_key("hash-sk-1").await.unwrap().is_some());
    assert!(store.find_api_key("hash-sk-2").await.unwrap().is_some());
    // Rotating it again with no overlap ends it now: it no longer works.
    let now = latchkey_store::now_unix();
    store
        .rotate_api_key(
            &org.id,
            &secret.id,
            replacement("hash-sk-3"),
            now,
            &entry("api_key.rotate"),
        )
        .await
        .unwrap();
    assert!(store.find_api_key("hash-sk-1").await.unwrap().is_none());
    // A key that no longer works, of another organisation, or of another kind cannot be rotated.
    let refused = store
        .rotate_api_key(
            &org.id,
            &secret.id,
            replacement("hash-sk-4"),
            now,
            &entry("api_key.rotate"),
        )
        .await;
    assert_eq!(refused, Err(StoreError::NotFound));
    let other =
        store.create_organization_audited("other", &entry("organization.create")).await.unwrap();
    let refused = store
        .rotate_api_key(&other.id, &new.id, replacement("hash-sk-5"), now, &entry("api_key.rotate"))
        .await;
    assert_eq!(refused, Err(StoreError::NotFound));
    // A refused rotation writes nothing: the new hash is not there.
    assert!(store.find_api_key("hash-sk-4").await.unwrap().is_none());
    assert!(store.find_api_key("hash-sk-5").await.unwrap().is_none());

    let revoked =
        store.revoke_api_key_audited(&org.id, &new.id, &entry("api_key.revoke")).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(store.find_api_key("hash-sk-2").await.unwrap().is_none());
    // Revoking again changes and records nothing.
    store.revoke_api_key_audited(&org.id, &new.id, &entry("api_key.revoke")).await.unwrap();
    assert_eq!(
        store.revoke_api_key_audited(&other.id, &issued[0].id, &entry("api_key.revoke")).await,
        Err(StoreError::NotFound)
    );
    let actions: Vec<_> =
        store.audit_records(0, None, 100).await.unwrap().into_iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            "organization.create",
            "api_key.issue",
            "api_key.rotate",
            "api_key.rotate",
            "organization.create",
            "api_key.revoke"
        ]
    );
});

both_backends!(gas_budgets_are_set_and_topped_up_with_audit, |db| {
    let store = db.store();
    let org =
        store.create_organization_audited("acme", &entry("organization.create")).await.unwrap();
    let giga = 1_000_000_000u128;
    let set = store
        .change_gas_budget(budget_key(&org.id), 5 * giga, false, &entry("gas_budget.set"))
        .await
        .unwrap();
    assert_eq!(set.budget, 5 * giga);
    let topped = store
        .change_gas_budget(budget_key(&org.id), 2 * giga, true, &entry("gas_budget.top_up"))
        .await
        .unwrap();
    assert_eq!(topped.budget, 7 * giga);
    assert_eq!(
        store
            .change_gas_budget(budget_key("missing"), giga, true, &entry("gas_budget.top_up"))
            .await,
        Err(StoreError::NotFound)
    );
    let log = store.audit_records(0, None, 100).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.action, "gas_budget.top_up");
    assert_eq!(
        last.before_json.as_deref(),
        Some(format!(r#"{{"chain":"{CHAIN}","unit":"FRI","budget":"{}"}}"#, 5 * giga).as_str())
    );
});

both_backends!(operator_tokens_rotate_with_an_overlap, |db| {
    let store = db.store();
    assert!(!store.has_operator_token().await.unwrap());
    let first = store
        .add_operator_token("op-hash-1", "lkop_aaaa", None, &entry("operator_token.create"))
        .await
        .unwrap();
    assert!(store.has_operator_token().await.unwrap());
    assert_eq!(store.find_operator_token("op-hash-1").await.unwrap(), Some(first));
    let until = latchkey_store::now_unix() + 600;
    store
        .add_operator_token("op-hash-2", "lkop_bbbb", Some(until), &entry("operator_token.rotate"))
        .await
        .unwrap();
    assert_eq!(
        store.find_operator_token("op-hash-1").await.unwrap().unwrap().expires_at,
        Some(until)
    );
    assert!(store.find_operator_token("op-hash-2").await.unwrap().is_some());
    let now = latchkey_store::now_unix();
    store
        .add_operator_token("op-hash-3", "lkop_cccc", Some(now), &entry("operator_token.rotate"))
        .await
        .unwrap();
    assert!(store.find_operator_token("op-hash-1").await.unwrap().is_none());
    assert!(store.find_operator_token("op-hash-2").await.unwrap().is_none());
    assert!(store.find_operator_token("op-hash-3").await.unwrap().is_some());
    assert!(store.find_operator_token("unknown").await.unwrap().is_none());
});

both_backends!(the_audit_log_is_append_only, |db| {
    let store = db.store();
    store.create_organization_audited("acme", &entry("organization.create")).await.unwrap();
    assert!(raw_execute(db, "UPDATE audit_log SET actor = 'someone else'").await.is_err());
    assert!(raw_execute(db, "DELETE FROM audit_log").await.is_err());
    let log = store.audit_records(0, None, 10).await.unwrap();
    assert_eq!((log.len(), log[0].actor.as_str()), (1, "operator:lkop_test"));
});

both_backends!(an_organisations_settings_changed_by_the_operator_are_audited, |db| {
    let store = db.store();
    let org =
        store.create_organization_audited("acme", &entry("organization.create")).await.unwrap();
    let other =
        store.create_organization_audited("other", &entry("organization.create")).await.unwrap();
    let target = format!("organization:{}", org.id);
    let origins = ["https://a.example".to_string(), "https://b.example".to_string()];
    store.set_allowed_origins(&org.id, &origins[..1], None).await.unwrap();
    store
        .set_allowed_origins(&org.id, &origins, Some(&entry("allowed_origins.set")))
        .await
        .unwrap();
    let token = latchkey_store::OrgToken {
        chain: CHAIN.into(),
        symbol: "USDC".into(),
        address: "0x1".into(),
        decimals: 6,
    };
    store
        .set_org_tokens(&org.id, std::slice::from_ref(&token), Some(&entry("tokens.set")))
        .await
        .unwrap();
    let issuer = r#"{"issuer":"https://auth.example","audience":"acme"}"#;
    store
        .set_token_issuer(
            &org.id,
            Some((issuer, "https://auth.example\nacme")),
            Some(&entry("token_issuer.set")),
        )
        .await
        .unwrap();
    store
        .set_sponsorship_policy(&org.id, Some(r#"{"allowedMethods":[]}"#), Some(&entry("p.set")))
        .await
        .unwrap();
    let log = store.audit_records(0, Some(&target), 100).await.unwrap();
    let changes: Vec<_> = log
        .iter()
        .skip(1)
        .map(|r| (r.action.as_str(), r.before_json.as_deref(), r.after_json.as_deref()))
        .collect();
    assert_eq!(
        changes,
        [
            (
                "allowed_origins.set",
                Some(r#"{"allowedOrigins":["https://a.example"]}"#),
                Some(r#"{"allowedOrigins":["https://a.example","https://b.example"]}"#)
            ),
            (
                "tokens.set",
                Some(r#"{"tokens":[]}"#),
                Some(
                    format!(
                        r#"{{"tokens":[{{"chain":"{CHAIN}","symbol":"USDC","address":"0x1","decimals":6}}]}}"#
                    )
                    .as_str()
                )
            ),
            (
                "token_issuer.set",
                Some(r#"{"tokenIssuer":null}"#),
                Some(r#"{"tokenIssuer":{"issuer":"https://auth.example","audience":"acme"}}"#)
            ),
            (
                "p.set",
                Some(r#"{"sponsorshipPolicy":null}"#),
                Some(r#"{"sponsorshipPolicy":{"allowedMethods":[]}}"#)
            ),
        ]
    );
    // A refused change (the issuer of another organisation, an organisation that does
    // not exist) writes neither the change nor a record.
    let before = store.audit_records(0, None, 100).await.unwrap();
    let conflict = store
        .set_token_issuer(
            &other.id,
            Some((issuer, "https://auth.example\nacme")),
            Some(&entry("token_issuer.set")),
        )
        .await
        .unwrap_err();
    assert!(matches!(conflict, StoreError::Conflict { .. }), "{conflict:?}");
    assert_eq!(
        store.set_allowed_origins("missing", &origins, Some(&entry("allowed_origins.set"))).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.set_sponsorship_policy("missing", None, Some(&entry("p.set"))).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.audit_records(0, None, 100).await.unwrap(), before);
    assert_eq!(store.organization(&other.id).await.unwrap().unwrap().token_issuer_json, None);
});

both_backends!(a_budget_alerts_below_its_threshold_and_the_change_is_audited, |db| {
    let store = db.store();
    let org =
        store.create_organization_audited("acme", &entry("organization.create")).await.unwrap();
    let giga = 1_000_000_000u128;
    // A threshold on a chain with no budget yet: the budget is empty, so it alerts.
    let set = store
        .set_gas_alert_threshold(budget_key(&org.id), Some(2 * giga), &entry("threshold"))
        .await
        .unwrap();
    assert_eq!((set.alert_threshold, set.budget, set.alerting()), (Some(2 * giga), 0, true));
    let funded = store
        .change_gas_budget(budget_key(&org.id), 5 * giga, false, &entry("gas_budget.set"))
        .await
        .unwrap();
    assert_eq!((funded.alert_threshold, funded.alerting()), (Some(2 * giga), false));
    store.reserve_gas(budget_key(&org.id), 3 * giga + 1).await.unwrap();
    assert!(store.gas_budget(budget_key(&org.id)).await.unwrap().alerting());
    let cleared = store
        .set_gas_alert_threshold(budget_key(&org.id), None, &entry("threshold"))
        .await
        .unwrap();
    assert_eq!((cleared.alert_threshold, cleared.alerting()), (None, false));
    assert_eq!(cleared.budget, 5 * giga, "the budget is kept");
    assert_eq!(
        store.set_gas_alert_threshold(budget_key("missing"), Some(giga), &entry("threshold")).await,
        Err(StoreError::NotFound)
    );
    let log = store.audit_records(0, None, 100).await.unwrap();
    let last = log.last().unwrap();
    assert_eq!(last.action, "threshold");
    assert_eq!(
        last.before_json.as_deref(),
        Some(
            format!(r#"{{"chain":"{CHAIN}","unit":"FRI","alertThreshold":"{}"}}"#, 2 * giga)
                .as_str()
        )
    );
    assert_eq!(
        last.after_json.as_deref(),
        Some(format!(r#"{{"chain":"{CHAIN}","unit":"FRI","alertThreshold":null}}"#).as_str())
    );
    let all = store.all_gas_budgets().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].1.alert_threshold, None);
});

both_backends!(a_key_is_found_with_its_organisations_suspension_in_one_read, |db| {
    let store = db.store();
    let org =
        store.create_organization_audited("acme", &entry("organization.create")).await.unwrap();
    store
        .issue_api_keys(&org.id, &[key(ApiKeyKind::Public, "hash-pk-1")], &entry("api_key.issue"))
        .await
        .unwrap();
    let (found, suspended) =
        store.find_api_key_and_suspension("hash-pk-1").await.unwrap().expect("the key");
    assert_eq!((found.org_id.as_str(), suspended), (org.id.as_str(), None));
    let org = store
        .update_organization(&org.id, None, Some(true), &entry("organization.suspend"))
        .await
        .unwrap();
    let (_, suspended) = store.find_api_key_and_suspension("hash-pk-1").await.unwrap().unwrap();
    assert_eq!(suspended, org.suspended_at);
    assert!(suspended.is_some());
    assert_eq!(store.find_api_key_and_suspension("hash-other").await.unwrap(), None);
});
