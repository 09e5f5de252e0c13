//! Fixtures and raw database access shared by the tests.

use latchkey_core::Permission;
use latchkey_store::{
    Backend, BudgetKey, GasBudget, NewRequest, NewSession, NewWallet, Organization, Store,
    StoredGrant,
};
use latchkey_testkit::TestDatabase;
use sqlx::{Connection as _, PgConnection, SqliteConnection};

/// The chain the fixtures are written for.
pub(crate) const CHAIN: &str = "starknet:SN_SEPOLIA";

/// Defines `mod $name { sqlite(), postgres() }`, each running `$body` with `$db` bound to a
/// fresh `&TestDatabase` of that backend.
macro_rules! both_backends {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: &latchkey_testkit::TestDatabase) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = latchkey_testkit::TestDatabase::sqlite().await;
                run(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(db) = latchkey_testkit::TestDatabase::postgres().await else {
                    return;
                };
                run(&db).await;
            }
        }
    };
}

pub(crate) async fn org(store: &Store) -> Organization {
    org_with_budget(store, "acme", 1_000_000_000_000).await
}

/// The organisation's budget on [`CHAIN`], in FRI (the unit of the fixtures' requests).
pub(crate) fn budget_key(org_id: &str) -> BudgetKey<'_> {
    BudgetKey { org_id, chain: CHAIN, unit: "FRI" }
}

/// A new organisation with `budget` FRI on [`CHAIN`].
pub(crate) async fn org_with_budget(store: &Store, name: &str, budget: u128) -> Organization {
    let org = store.create_organization(name).await.unwrap();
    store.set_gas_budget(budget_key(&org.id), budget).await.unwrap();
    org
}

/// Its budget on [`CHAIN`] as stored now.
pub(crate) async fn budget(store: &Store, org_id: &str) -> GasBudget {
    store.gas_budget(budget_key(org_id)).await.unwrap()
}

pub(crate) fn new_wallet(org_id: &str, n: u32) -> NewWallet {
    NewWallet {
        org_id: org_id.to_owned(),
        external_user_id: Some(format!("user-{n}")),
        address: format!("0x{:x}", 0xa000 + n),
        owner_public_key: format!("0x{:x}", 0xb000 + n),
        encrypted_private_key: format!("enc-{n}"),
        encrypted_private_key_backup: None,
        wallet_type: "ready".into(),
        chain: CHAIN.into(),
        class_hash: "0x1234".into(),
        auth_method: Some("pin".into()),
        credential_id: None,
        prf_supported: None,
        device_type: None,
    }
}

pub(crate) fn new_session(wallet_id: &str, key: &str) -> NewSession {
    NewSession {
        wallet_id: wallet_id.to_owned(),
        session_public_key: key.to_owned(),
        valid_after: 100,
        valid_until: 200,
        max_calls: 10,
        grant: StoredGrant {
            permissions: vec![Permission { target: Some("0x1".into()), selector: "0x2".into() }],
            spending_tokens: vec!["0x3".into()],
        },
        allow_all: false,
        registration_request_id: None,
    }
}

pub(crate) fn new_request(org_id: &str, wallet_id: Option<&str>, nonce: &str) -> NewRequest {
    NewRequest {
        org_id: org_id.to_owned(),
        wallet_id: wallet_id.map(str::to_owned),
        chain: CHAIN.into(),
        account: "0xacc".into(),
        oe_nonce: nonce.to_owned(),
        typed_data_json: r#"{"domain":{}}"#.into(),
        calls_json: "[]".into(),
        execute_before: 1_900_000_000,
        purpose: "execute".into(),
        fee_unit: "FRI".into(),
        payload_hash: Some(format!("0xd{nonce}")),
    }
}

/// A second handle on the same database, as another process would have.
pub(crate) async fn second_store(db: &TestDatabase) -> Store {
    Store::connect(db.url()).await.unwrap()
}

/// Runs `sql` on a raw connection (bypassing the store), returning the rows affected.
pub(crate) async fn raw_execute(db: &TestDatabase, sql: &'static str) -> Result<u64, sqlx::Error> {
    match db.backend() {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(db.url()).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(db.url()).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        }
    }
}

/// The single text column of every row `sql` returns, on a raw connection.
pub(crate) async fn raw_texts(db: &TestDatabase, sql: &'static str) -> Vec<String> {
    match db.backend() {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
    }
}

/// `SELECT COUNT(*)` on a raw connection.
pub(crate) async fn raw_count(db: &TestDatabase, sql: &'static str) -> i64 {
    match db.backend() {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
        Backend::Postgres => {
            let mut conn = PgConnection::connect(db.url()).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
    }
}
