//! A database written by the release before rows named their chain (schema 3) is migrated
//! to the current schema with every row kept, then adopted by the chain the server runs;
//! afterwards a user may have one account per chain, budgets are per chain and unit, and
//! every session's grant has one shape.

use latchkey_core::Permission;
use latchkey_store::{constraints, Backend, BudgetKey, Store, StoreError, StoredGrant};
use latchkey_testkit::TestDatabase;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Connection as _, Executor as _, PgConnection, SqlSafeStr as _, SqliteConnection};

use crate::support::{new_wallet, CHAIN};

const GFRI: u128 = 1_000_000_000;

/// The schema of the previous release, exactly as it shipped.
const SQLITE_V3: [(i64, &str, &str); 3] = [
    (1, "initial", include_str!("../../migrations/sqlite/0001_initial.sql")),
    (2, "security", include_str!("../../migrations/sqlite/0002_security.sql")),
    (3, "pin guard", include_str!("../../migrations/sqlite/0003_pin_guard.sql")),
];
const POSTGRES_V3: [(i64, &str, &str); 3] = [
    (1, "initial", include_str!("../../migrations/postgres/0001_initial.sql")),
    (2, "security", include_str!("../../migrations/postgres/0002_security.sql")),
    (3, "pin guard", include_str!("../../migrations/postgres/0003_pin_guard.sql")),
];

/// What that release wrote: an organisation with its budget, a wallet on its one chain
/// (`STARKNET`), a final request with its fee in FRI, a leased relayer account with its
/// nonce, and sessions in both stored shapes (the native API's `{methods, spendingTokens}`
/// and the bare method list mirrored from Chipi calls), contract `0x0` meaning any.
const ROWS: &str = "\
    INSERT INTO organizations (id, name, gas_budget_gfri, gas_spent_gfri, gas_reserved_gfri, \
        created_at) VALUES ('o1', 'acme', 5, 2, 1, 1); \
    INSERT INTO wallets (id, org_id, external_user_id, address, owner_public_key, \
        encrypted_private_key, wallet_type, chain, class_hash, created_at, updated_at) \
        VALUES ('w1', 'o1', 'user-1', '0xa1', '0xb1', 'lk2.sealed', 'READY', 'STARKNET', \
        '0x1234', 1, 1); \
    INSERT INTO requests (id, org_id, wallet_id, account, oe_nonce, typed_data_json, \
        calls_json, execute_before, purpose, status, tx_hash, fee_fri, created_at, updated_at) \
        VALUES ('r1', 'o1', 'w1', '0xa1', '0x1', '{}', '[]', 99, 'user', 'succeeded', \
        '0xdead', '123000000000', 1, 2); \
    INSERT INTO relayers (address, lease_owner, lease_expires_at, nonce, updated_at) \
        VALUES ('0xe1', 'instance-a', 100, '7', 1); \
    INSERT INTO sessions (id, wallet_id, session_public_key, valid_after, valid_until, \
        max_calls, allowed_methods_json, allow_all, state, created_at, updated_at) VALUES \
        ('s1', 'w1', '0x51', 0, 9, 3, \
         '{\"methods\":[{\"contract\":\"0x0\",\"selector\":\"0xab\"},\
{\"contract\":\"0x12\",\"selector\":\"0xcd\"}],\"spendingTokens\":[\"0x77\"]}', \
         FALSE, 'active', 1, 1), \
        ('s2', 'w1', '0x52', 0, 9, 3, '[{\"contract\":\"0x13\",\"selector\":\"0xef\"}]', \
         FALSE, 'active', 1, 1), \
        ('s3', 'w1', '0x53', 0, 9, 3, '{\"methods\":[]}', TRUE, 'pending', 1, 1);";

fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                let kind = MigrationType::Simple;
                Migration::new(version, description.into(), kind, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

/// Empties the test database and writes the previous release's schema and rows into it.
async fn write_previous_release(db: &TestDatabase) {
    match db.backend() {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(db.url()).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            conn.execute("PRAGMA foreign_keys = OFF").await.unwrap();
            for table in tables {
                let drop = format!("DROP TABLE \"{table}\"");
                conn.execute(sqlx::AssertSqlSafe(drop)).await.unwrap();
            }
            conn.execute("PRAGMA foreign_keys = ON").await.unwrap();
            migrator(&SQLITE_V3).run(&mut conn).await.unwrap();
            conn.execute(ROWS).await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(db.url()).await.unwrap();
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public").await.unwrap();
            migrator(&POSTGRES_V3).run(&mut conn).await.unwrap();
            conn.execute(ROWS).await.unwrap();
        }
    }
}

both_backends!(a_database_of_the_previous_release_is_migrated_and_adopted, |db| {
    write_previous_release(db).await;
    let store = Store::connect(db.url()).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 10);

    // Every row is there, under the legacy chain name, the fee with its unit.
    let wallet = store.wallet("w1").await.unwrap().unwrap();
    assert_eq!(
        (wallet.chain.as_str(), wallet.address.as_str(), wallet.external_user_id.as_deref()),
        ("STARKNET", "0xa1", Some("user-1"))
    );
    let request = store.request("r1").await.unwrap().unwrap();
    assert_eq!(
        (request.chain.as_str(), request.fee.as_deref(), request.fee_unit.as_str()),
        ("STARKNET", Some("123000000000"), "FRI")
    );
    assert_eq!(request.tx_hash.as_deref(), Some("0xdead"));
    assert_eq!(request.payload_hash, None, "that release kept no digest");
    assert_eq!(store.relayer_nonce("STARKNET", "0xe1").await.unwrap().as_deref(), Some("7"));
    assert_eq!(store.organization("o1").await.unwrap().unwrap().name, "acme");
    let legacy = BudgetKey { org_id: "o1", chain: "STARKNET", unit: "FRI" };
    let kept = store.gas_budget(legacy).await.unwrap();
    assert_eq!((kept.budget, kept.spent, kept.reserved), (5 * GFRI, 2 * GFRI, GFRI));

    // Every session's grant, whichever shape it was stored in, reads back in the one shape.
    let grant = |key: &str| {
        let store = store.clone();
        let key = key.to_string();
        async move { store.session("w1", &key).await.unwrap().unwrap().grant }
    };
    let any = |selector: &str| Permission { target: None, selector: selector.into() };
    let on = |target: &str, selector: &str| Permission {
        target: Some(target.into()),
        selector: selector.into(),
    };
    assert_eq!(
        grant("0x51").await,
        StoredGrant {
            permissions: vec![any("0xab"), on("0x12", "0xcd")],
            spending_tokens: vec!["0x77".into()],
        }
    );
    assert_eq!(
        grant("0x52").await,
        StoredGrant { permissions: vec![on("0x13", "0xef")], spending_tokens: vec![] }
    );
    assert_eq!(grant("0x53").await, StoredGrant::default());
    assert!(store.session("w1", "0x53").await.unwrap().unwrap().allow_all);

    // The server adopts them for the chain it runs, once.
    assert_eq!(store.adopt_legacy_chain(CHAIN).await.unwrap(), 4);
    assert_eq!(store.adopt_legacy_chain(CHAIN).await.unwrap(), 0);
    let found = store.wallet_by_address("o1", CHAIN, "0xa1").await.unwrap().unwrap();
    assert_eq!(found.id, "w1");
    assert_eq!(store.request_by_oe(CHAIN, "0xa1", "0x1").await.unwrap().unwrap().id, "r1");
    assert!(store.is_relayer(CHAIN, "0xe1").await.unwrap());
    let adopted = BudgetKey { chain: CHAIN, ..legacy };
    assert_eq!(store.gas_budget(adopted).await.unwrap().budget, 5 * GFRI);
    assert_eq!(store.gas_budget(legacy).await.unwrap().budget, 0);
    assert!(!store.lease_relayer(CHAIN, "0xe1", "instance-b", 50, 60).await.unwrap());
    assert!(store.lease_relayer(CHAIN, "0xe1", "instance-a", 50, 60).await.unwrap());

    // One account per user per chain: the same user gets an account on another chain, not
    // a second one on this chain.
    let mut elsewhere = new_wallet("o1", 1);
    elsewhere.address = "0xa1".into();
    elsewhere.chain = "eip155:31337".into();
    store.insert_wallet(&elsewhere).await.unwrap();
    let mut again = new_wallet("o1", 1);
    again.address = "0xa2".into();
    match store.insert_wallet(&again).await {
        Err(StoreError::Conflict { constraint }) => {
            assert_eq!(constraint, constraints::WALLET_ORG_EXTERNAL_USER)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store
            .wallet_by_external_user("o1", "eip155:31337", "user-1")
            .await
            .unwrap()
            .unwrap()
            .address,
        "0xa1"
    );
});
