//! Connecting, migrations and D6 (refusing an unknown schema).

use latchkey_store::{Backend, Store, StoreError};

use crate::support::{org, raw_execute};

both_backends!(reopening_keeps_data_and_schema, |db| {
    let store = db.store();
    let org = org(&store).await;
    assert_eq!(store.schema_version().await.unwrap(), 10);
    // A second connect finds the schema current and applies nothing twice.
    let again = Store::connect(db.url()).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 10);
    assert_eq!(again.organization(&org.id).await.unwrap(), Some(org));
    assert_eq!(again.backend(), db.backend());
    again.health().await.unwrap();
    again.close().await;
    assert!(again.health().await.is_err());
    store.health().await.unwrap();
});

both_backends!(a_newer_schema_is_refused, |db| {
    let store = db.store();
    org(&store).await;
    // What a future latchkey would leave behind after migrating.
    let sql = match db.backend() {
        Backend::Sqlite => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99999, 'from the future', 1, x'00', 0)"
        }
        Backend::Postgres => {
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99999, 'from the future', TRUE, '\\x00'::bytea, 0)"
        }
    };
    assert_eq!(raw_execute(db, sql).await.unwrap(), 1);
    let err = Store::connect(db.url()).await.unwrap_err();
    assert_eq!(err, StoreError::UnknownSchema { found: 99999, known: 10 });
    assert!(err.to_string().contains("newer than this build"), "{err}");
});

both_backends!(debug_output_hides_credentials, |db| {
    let store = db.store();
    let shown = format!("{store:?}");
    match db.backend() {
        Backend::Sqlite => assert!(shown.contains("Sqlite") && shown.contains("sqlite://")),
        Backend::Postgres => {
            // The test servers trust local connections, so any password is accepted.
            let mut url = url::Url::parse(db.url()).unwrap();
            url.set_password(Some("hunter2-secret")).unwrap();
            let with_password = Store::connect(url.as_str()).await.unwrap();
            let shown = format!("{with_password:?}");
            assert!(shown.contains("Postgres"), "{shown}");
            assert!(!shown.contains("hunter2-secret"), "{shown}");
        }
    }
});

#[tokio::test]
async fn unsupported_urls_are_refused() {
    for url in
        ["mysql://localhost/db", "", "sqlite://", "sqlite::memory:", "sqlite://x.db?mode=memory"]
    {
        match Store::connect(url).await {
            Err(StoreError::InvalidUrl(_)) => {}
            other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
        }
    }
    match Store::connect("postgres://[bad").await {
        Err(StoreError::InvalidUrl(msg)) => assert!(!msg.is_empty()),
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_creates_missing_directories() {
    let dir = std::env::temp_dir().join(format!("latchkey-store-dirs-{}", uuid::Uuid::new_v4()));
    let path = dir.join("a/b/c/latchkey.db");
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.is_file());
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
