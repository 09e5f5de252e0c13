//! Durability on SQLite: a writer process is killed with SIGKILL at arbitrary points while
//! it writes; every write it acknowledged must be there when the file is reopened.
//!
//! The test re-runs its own test binary as the writer (selected by an environment
//! variable), so the kill hits a real process with open connections mid-transaction.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};

use latchkey_store::{IdempotencyClaim, RequestStatus, RequestUpdate, Store};
use sqlx::{Connection as _, SqliteConnection};

use crate::support::new_request;

/// Set in the writer process: the database URL.
const CHILD_URL: &str = "LATCHKEY_STORE_DURABILITY_URL";
/// Set in the writer process: the organisation to write under.
const CHILD_ORG: &str = "LATCHKEY_STORE_DURABILITY_ORG";
/// How many kill-and-reopen rounds the parent runs.
const ROUNDS: usize = 6;

/// The writer: records requests as fast as it can, printing `ACK <id> <key>` after each
/// fully committed unit of work, until it is killed (or gives up after 60 s).
async fn writer(url: &str, org_id: &str) {
    let store = Store::connect(url).await.unwrap();
    let started = std::time::Instant::now();
    let mut stdout = std::io::stdout();
    while started.elapsed().as_secs() < 60 {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let key = format!("key-{tag}");
        // A multi-statement transaction, a single insert, an update and a completion.
        let scope =
            latchkey_store::IdempotencyScope { org_id, principal: "organization", key: &key };
        let claim = store.claim_idempotency(scope, "h", "a", 1, 3600, 3600).await.unwrap();
        assert_eq!(claim, IdempotencyClaim::Claimed);
        let request =
            store.insert_request(&new_request(org_id, None, &format!("0x{tag}"))).await.unwrap();
        let update = RequestUpdate {
            status: Some(RequestStatus::Recorded),
            signature_json: Some(format!("[\"{tag}\"]")),
            ..Default::default()
        };
        assert!(store
            .update_request(&request.id, &[RequestStatus::Prepared], &update)
            .await
            .unwrap());
        store.complete_idempotency(scope, 202, &request.id).await.unwrap();
        writeln!(stdout, "ACK {} {key}", request.id).unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn sqlite_acknowledged_writes_survive_sigkill() {
    if let (Ok(url), Ok(org_id)) = (std::env::var(CHILD_URL), std::env::var(CHILD_ORG)) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(writer(&url, &org_id));
        return;
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("latchkey-store-kill-{}", uuid::Uuid::new_v4()));
    let path = dir.join("latchkey.db");
    let url = format!("sqlite://{}", path.display());
    let org_id = runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        let org = store.create_organization("durable").await.unwrap();
        store.close().await;
        org.id
    });

    let mut acknowledged: Vec<(String, String)> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["sqlite_acknowledged_writes_survive_sigkill", "--nocapture", "--test-threads=1"])
            .env(CHILD_URL, &url)
            .env(CHILD_ORG, &org_id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill after a varying number of acknowledgements, while the writer is busy.
        let kill_after = 5 + round * 13;
        let mut seen = 0;
        for line in lines.by_ref() {
            if let Some(ack) = line.unwrap().strip_prefix("ACK ") {
                let (id, key) = ack.split_once(' ').unwrap();
                acknowledged.push((id.to_owned(), key.to_owned()));
                seen += 1;
                if seen == kill_after {
                    child.kill().unwrap();
                    break;
                }
            }
        }
        // Acknowledgements already in the pipe when the writer died count too.
        for line in lines {
            if let Some(ack) = line.unwrap().strip_prefix("ACK ") {
                let (id, key) = ack.split_once(' ').unwrap();
                acknowledged.push((id.to_owned(), key.to_owned()));
            }
        }
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: the writer was supposed to be killed");
    }
    assert!(acknowledged.len() >= (0..ROUNDS).map(|r| 5 + r * 13).sum::<usize>());

    runtime.block_on(async {
        let mut raw = SqliteConnection::connect(&url).await.unwrap();
        let integrity: String =
            sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut raw).await.unwrap();
        assert_eq!(integrity, "ok");
        raw.close().await.unwrap();

        let store = Store::connect(&url).await.unwrap();
        for (id, key) in &acknowledged {
            let request = store.request(id).await.unwrap();
            let request = request.unwrap_or_else(|| panic!("acknowledged request {id} lost"));
            assert_eq!(request.status, RequestStatus::Recorded);
            assert!(request.signature_json.is_some());
            assert_eq!(
                store
                    .claim_idempotency(
                        latchkey_store::IdempotencyScope {
                            org_id: &org_id,
                            principal: "organization",
                            key,
                        },
                        "h",
                        "b",
                        2,
                        3600,
                        3600,
                    )
                    .await
                    .unwrap(),
                IdempotencyClaim::Completed { status: 202, body: id.clone() }
            );
        }
        store.close().await;
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
