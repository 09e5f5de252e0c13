//! `kill -9` during a burst of executions, then a restart on the same database and chain:
//! every accepted request reaches a final state, exactly once (N1, N2).

use std::time::Duration;

use latchkey_core::{parse_felt, to_hex, Felt, SigningKey, TypedData};
use latchkey_starknet_devnet::Devnet;
use serde_json::json;

use crate::support::{serve_with_env, Api, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_burst_every_accepted_request_finishes_exactly_once() {
    // The chain outlives the server, as any real node does.
    let devnet = Devnet::start().await.unwrap();
    let relayers: Vec<String> = devnet
        .relayers()
        .iter()
        .map(|r| format!("{}:{}", to_hex(&r.address), r.key.secret_hex().as_str()))
        .collect();
    let relayers = relayers.join(",");
    let data = TempDir::new("crash");
    let database = format!("sqlite://{}/latchkey.db", data.0.display());
    let rpc = devnet.url().to_string();
    let args = ["--rpc-url", rpc.as_str(), "--database-url", database.as_str()];
    let env = [("LATCHKEY_RELAYERS", relayers.as_str())];

    let mut server = serve_with_env(&data.0, &args, &env);
    let mut api = Api::of(&server);

    // A wallet, then rounds of owner-signed game moves, each burst cut by a SIGKILL at a
    // different moment and followed by a restart on the same database and chain.
    let owner = SigningKey::from_felt(Felt::from(0xc0ffee_u64)).unwrap();

    let (status, challenge) = api
        .call(reqwest::Method::POST, "/api/challenges", Some(&json!({"purpose": "create-wallet"})))
        .await
        .unwrap();
    assert_eq!(status, 201, "{challenge}");
    let class = latchkey_starknet_contracts::ACCOUNT.class_hash().unwrap();
    let expected = latchkey_starknet::ChainClient::account_address(class, owner.public_key());
    // Sealed under a passkey PRF output: an envelope the native routes store.
    let binding = latchkey_core::KeyBinding {
        kind: latchkey_core::KeyKind::Owner,
        account: expected,
        public_key: owner.public_key(),
    };
    let prf = latchkey_core::EncryptKey::prf(&[9; 32]).unwrap();
    let blob =
        latchkey_core::keystore::passkey::seal(&owner, &prf, &binding, &mut rand::rngs::OsRng)
            .unwrap();
    let proof = latchkey_core::sign_proof(
        &owner,
        &parse_felt(challenge["chainId"].as_str().unwrap()).unwrap(),
        &expected,
        latchkey_core::ProofPurpose::CreateWallet,
        &parse_felt(challenge["challenge"].as_str().unwrap()).unwrap(),
        &latchkey_core::payload_hash(blob.as_bytes()),
    )
    .unwrap();
    let body = json!({"ownerPublicKey": to_hex(&owner.public_key()), "encryptedPrivateKey": blob,
        "proof": {"challenge": challenge["challenge"], "signature": [to_hex(&proof.r), to_hex(&proof.s)]}});
    let (status, wallet) =
        api.call(reqwest::Method::POST, "/api/wallets", Some(&body)).await.unwrap();
    assert_eq!(status, 201, "{wallet}");
    let address = parse_felt(wallet["address"].as_str().unwrap()).unwrap();
    let game = to_hex(&devnet.game().unwrap());
    let mut succeeded = 0u64;
    let mut accepted_total = 0usize;
    for (round, kill_after_ms) in [40u64, 120, 300].into_iter().enumerate() {
        let mut bodies = Vec::new();
        for i in 1..=16u32 {
            let mv = round as u32 * 100 + i;
            let (status, prepared) = api
                .call(
                    reqwest::Method::POST,
                    &format!("/api/wallets/{}/prepare", to_hex(&address)),
                    Some(&json!({"calls": [{"to": game, "entrypoint": "make_move", "calldata": [mv.to_string()]}]})),
                )
                .await
                .unwrap();
            assert_eq!(status, 200, "{prepared}");
            let typed: TypedData = serde_json::from_value(prepared["typedData"].clone()).unwrap();
            let sig = owner.sign(&typed.message_hash(&address).unwrap()).unwrap();
            bodies.push((
                prepared["requestId"].as_str().unwrap().to_string(),
                json!({"typedData": prepared["typedData"], "signature": [to_hex(&sig.r), to_hex(&sig.s)]}),
            ));
        }

        let execute = format!("{}/api/wallets/{}/execute", api.url, to_hex(&address));
        let mut tasks = Vec::new();
        for (id, body) in bodies.clone() {
            let request = api
                .http
                .post(&execute)
                .header("x-api-key", &api.public)
                .header("authorization", format!("Bearer {}", api.secret))
                .json(&body);
            tasks.push(tokio::spawn(async move {
                (id, request.send().await.map(|r| r.status().as_u16()))
            }));
        }
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let mut accepted = Vec::new();
        for task in tasks {
            let (id, result) = task.await.unwrap();
            if let Ok(202) = result {
                accepted.push(id);
            }
        }
        accepted_total += accepted.len();

        drop(server);
        server = serve_with_env(&data.0, &args, &env);
        api.url = server.get("API").to_string();

        // Every request ends final or was never accepted (still `prepared`).
        for (id, _) in &bodies {
            let mut status = String::new();
            for _ in 0..600 {
                let (code, tx) = api
                    .call(reqwest::Method::GET, &format!("/api/transactions/{id}"), None)
                    .await
                    .unwrap();
                assert_eq!(code, 200, "{tx}");
                status = tx["status"].as_str().unwrap().to_string();
                if ["succeeded", "reverted", "rejected", "expired", "prepared"]
                    .contains(&status.as_str())
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if accepted.contains(id) {
                assert_eq!(
                    status, "succeeded",
                    "round {round}: accepted request {id} ended {status}"
                );
            }
            assert!(
                !["recorded", "submitting", "submitted"].contains(&status.as_str()),
                "round {round}: request {id} stuck in {status}"
            );
            if status == "succeeded" {
                succeeded += 1;
            }
        }
        // Nothing ran twice.
        let moves = devnet
            .client()
            .call(devnet.game().unwrap(), "get_player", vec![address])
            .await
            .unwrap()[0];
        assert_eq!(
            moves,
            Felt::from(succeeded),
            "round {round}: moves on chain equal succeeded requests"
        );
        eprintln!("round {round} (kill after {kill_after_ms} ms): {} accepted before the kill, {succeeded} succeeded so far", accepted.len());
    }
    assert!(accepted_total > 0, "some requests were accepted before a kill");
    drop(server);
}
