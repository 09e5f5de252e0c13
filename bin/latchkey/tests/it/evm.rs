//! The EVM chain through `latchkey serve` and the native API: a wallet created
//! counterfactually and deployed gaslessly, a session registered by one owner signature,
//! game moves signed by the session key alone, its status and counter, refusals, and
//! revocation: on the embedded anvil, with latchkey's bundler and paymaster.

use alloy_sol_types::SolCall;
use latchkey_evm_contracts::abi::Game;
use latchkey_evm_contracts::{
    account_address, address_of, eip191_digest, proof_hash, sign_digest, Address, SignatureKind,
    UserOpSignature, B256, U256,
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::faults::rig::{from_hex, hex, word};
use crate::support::{serve, Api, TempDir};

const CHAIN: &str = "eip155:31337";

/// A fresh secp256k1 private key.
fn fresh_key() -> B256 {
    loop {
        let key = B256::from(rand::random::<[u8; 32]>());
        if address_of(&key).is_ok() {
            return key;
        }
    }
}

fn text(address: Address) -> String {
    address.to_checksum(None)
}

/// The owner's or session's signature of a prepared userOp.
fn sign(prepared: &Value, kind: SignatureKind, key: &B256) -> Value {
    let hash: B256 = prepared["userOpHash"].as_str().unwrap().parse().unwrap();
    json!([UserOpSignature::sign(kind, key, hash).unwrap().encode().to_string()])
}

async fn execute(api: &Api, wallet: &str, prepared: &Value, signature: Value) -> (u16, Value) {
    let body = json!({"payload": prepared["payload"], "signature": signature});
    let path = format!("/api/wallets/{wallet}/execute?wait=true");
    api.call(Method::POST, &path, Some(&body)).await.unwrap()
}

/// `Game.getPlayer(player).moves`, read from the node.
async fn moves(rpc: &str, game: &str, player: &str) -> u32 {
    let data = Game::getPlayerCall { player: player.parse().unwrap() }.abi_encode();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
        "params": [{"to": game, "data": format!("0x{}", hex(&data))}, "latest"]});
    let answer: Value =
        reqwest::Client::new().post(rpc).json(&body).send().await.unwrap().json().await.unwrap();
    let bytes = from_hex(answer["result"].as_str().unwrap());
    Game::getPlayerCall::abi_decode_returns(&bytes).unwrap().moves
}

fn make_move(game: &str, mv: u64) -> Value {
    let data = Game::makeMoveCall { r#move: U256::from(mv) }.abi_encode();
    json!({"to": game, "data": format!("0x{}", hex(&data))})
}

/// The EVM chain of a server's `/api/config`: its factory, account implementation and
/// demo game.
async fn evm_chain(api: &Api) -> (Value, Address, Address, String) {
    let (status, config) = api.call(Method::GET, "/api/config", None).await.unwrap();
    assert_eq!(status, 200);
    let chain = config["chains"].as_array().unwrap().iter().find(|c| c["id"] == CHAIN).unwrap();
    let contracts = &chain["contracts"];
    let factory = contracts["factory"].as_str().unwrap().parse().unwrap();
    let implementation = chain["accountClass"].as_str().unwrap().parse().unwrap();
    let game = contracts["game"].as_str().unwrap().to_string();
    (chain.clone(), factory, implementation, game)
}

/// Registers a session of `max_calls` moves on `address`, signed by the owner; returns
/// its key and address.
async fn register(
    api: &Api,
    address: &str,
    owner_key: &B256,
    game: &str,
    max_calls: u32,
) -> (B256, String) {
    let session_key = fresh_key();
    let session = text(address_of(&session_key).unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let registration = json!({"sessionPublicKey": session, "validUntil": now + 3_600, "maxCalls": max_calls,
        "allowedMethods": [{"contract": game, "entrypoint": "makeMove(uint256)"}]});
    let (status, prepared) = api
        .call(Method::POST, &format!("/api/wallets/{address}/sessions"), Some(&registration))
        .await
        .unwrap();
    assert_eq!(status, 201, "{prepared}");
    assert!(prepared.get("typedData").is_none(), "{prepared}");
    let (status, done) =
        execute(api, address, &prepared, sign(&prepared, SignatureKind::OwnerEip191, owner_key))
            .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    (session_key, session)
}

/// `calls` signed by the session alone: the final answer.
async fn session_calls(
    api: &Api,
    address: &str,
    session: &(B256, String),
    calls: Vec<Value>,
) -> (u16, Value) {
    let body = json!({"calls": calls, "sessionKey": session.1});
    let (status, prepared) = api
        .call(Method::POST, &format!("/api/wallets/{address}/prepare"), Some(&body))
        .await
        .unwrap();
    if status != 200 {
        return (status, prepared);
    }
    let signature = sign(&prepared, SignatureKind::SessionEip191, &session.0);
    execute(api, address, &prepared, signature).await
}

/// The body creating the wallet of the external `owner`, with a proof of possession
/// signed by `signer` over a fresh challenge.
async fn creation(
    api: &Api,
    factory: Address,
    implementation: Address,
    owner: Address,
    signer: &B256,
) -> Value {
    let account = account_address(factory, implementation, owner, U256::ZERO);
    let (_, challenge) = api
        .call(Method::POST, "/api/challenges", Some(&json!({"purpose": "create-wallet"})))
        .await
        .unwrap();
    let challenge = challenge["challenge"].as_str().unwrap();
    let payload = latchkey_core::to_hex(&latchkey_core::payload_hash(b""));
    let hash = proof_hash(31337, account, "create-wallet", word(challenge), word(&payload));
    let proof = sign_digest(signer, eip191_digest(hash)).unwrap().to_bytes();
    json!({"chain": CHAIN, "ownerPublicKey": text(owner),
        "proof": {"challenge": challenge, "signature": [format!("0x{}", hex(&proof))]}})
}

/// Creates the wallet of a fresh external owner, proving possession; returns the owner
/// key and the wallet's address.
async fn create_wallet(api: &Api, factory: Address, implementation: Address) -> (B256, String) {
    let owner_key = fresh_key();
    let owner = address_of(&owner_key).unwrap();
    let body = creation(api, factory, implementation, owner, &owner_key).await;
    let (status, wallet) = api.call(Method::POST, "/api/wallets", Some(&body)).await.unwrap();
    assert_eq!(status, 201, "{wallet}");
    let account = account_address(factory, implementation, owner, U256::ZERO);
    (owner_key, text(account))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_evm_wallet_runs_gasless_session_moves_through_the_api_until_revoked() {
    if !latchkey_node::available_for("run the EVM chain of latchkey serve") {
        return;
    }
    let dir = TempDir::new("evm");
    let server = serve(&dir.0, &[]);
    let api = Api::of(&server);
    let rpc = server.get("EVM RPC").to_string();

    // The chain is announced, with the contracts a client needs.
    let (chain, factory, implementation, game) = evm_chain(&api).await;
    assert_eq!((chain["family"].as_str(), chain["feeUnit"].as_str()), (Some("evm"), Some("WEI")));
    assert_eq!(chain["contracts"]["entryPoint"], "0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108");
    assert_eq!(chain["demoGame"], game.as_str());

    // A proof of possession signed by another key than the owner's is refused, and
    // spends nothing; the owner's creates the wallet, which the server deploys from its
    // relayer, paying the gas.
    let owner = address_of(&fresh_key()).unwrap();
    let body = creation(&api, factory, implementation, owner, &fresh_key()).await;
    let (status, refused) = api.call(Method::POST, "/api/wallets", Some(&body)).await.unwrap();
    assert_eq!((status, refused["code"].as_str()), (403, Some("INVALID_PROOF")), "{refused}");
    let (owner_key, address) = create_wallet(&api, factory, implementation).await;
    let (status, wallet) =
        api.call(Method::GET, &format!("/api/wallets/{address}"), None).await.unwrap();
    assert_eq!(status, 200, "{wallet}");
    assert_eq!(wallet["address"], address.as_str());
    assert_eq!((wallet["chain"].as_str(), wallet["deployed"].as_bool()), (Some(CHAIN), Some(true)));
    assert_eq!(wallet["externalOwner"], true);
    assert!(wallet.get("encryptedPrivateKey").is_none(), "{wallet}");
    // No key is stored for an external owner, and none can be read.
    let (status, refused) = api
        .call(Method::GET, &format!("/api/wallets/{address}/encrypted-key"), None)
        .await
        .unwrap();
    assert_eq!((status, refused["code"].as_str()), (404, Some("KEY_NOT_STORED")), "{refused}");

    // The owner registers a session that may only make moves, three times.
    let session = register(&api, &address, &owner_key, &game, 3).await;

    // Moves signed by the session key alone, gasless: one, then an atomic batch of two.
    for calls in [vec![make_move(&game, 7)], vec![make_move(&game, 8), make_move(&game, 9)]] {
        let (status, done) = session_calls(&api, &address, &session, calls).await;
        assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    }
    assert_eq!(moves(&rpc, &game, &address).await, 3);
    let (status, standing) = api
        .call(Method::GET, &format!("/api/wallets/{address}/sessions/{}", session.1), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{standing}");
    assert_eq!(standing["state"], "active");
    assert_eq!(
        (standing["callsUsed"].as_u64(), standing["remainingCalls"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(standing["allowedMethods"][0]["contract"], game.as_str());

    // A method outside the allowlist is refused before anything is sent.
    let claim = Game::claimRewardCall {}.abi_encode();
    let claim = json!({"to": game, "data": format!("0x{}", hex(&claim))});
    let (status, refused) = session_calls(&api, &address, &session, vec![claim]).await;
    assert_eq!(status, 403, "{refused}");
    // The refused userOp held the session's next nonce unsent: the next one supersedes it.
    let (status, done) = session_calls(&api, &address, &session, vec![make_move(&game, 4)]).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    // Starknet-shaped input on an EVM wallet is a clear 400.
    let body = json!({"calls": [{"to": game, "entrypoint": "make_move", "calldata": ["1"]}]});
    let (status, refused) = api
        .call(Method::POST, &format!("/api/wallets/{address}/prepare"), Some(&body))
        .await
        .unwrap();
    assert_eq!((status, refused["code"].as_str()), (400, Some("INVALID_REQUEST")), "{refused}");

    // The owner revokes it; the session can no longer prepare.
    let (status, prepared) = api
        .call(Method::POST, &format!("/api/wallets/{address}/sessions/{}/revoke", session.1), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{prepared}");
    let (status, done) =
        execute(&api, &address, &prepared, sign(&prepared, SignatureKind::OwnerEip191, &owner_key))
            .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    let (_, standing) = api
        .call(Method::GET, &format!("/api/wallets/{address}/sessions/{}", session.1), None)
        .await
        .unwrap();
    assert_eq!(standing["state"], "revoked");
    let (status, refused) =
        session_calls(&api, &address, &session, vec![make_move(&game, 10)]).await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("SESSION_REVOKED")), "{refused}");
    assert_eq!(moves(&rpc, &game, &address).await, 4);

    // The sponsorship is accounted in wei on the EVM chain's own budget.
    let (_, sponsorship) = api.call(Method::GET, "/api/sponsorship", None).await.unwrap();
    let budget = sponsorship["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["chain"] == CHAIN)
        .unwrap_or_else(|| panic!("{sponsorship}"));
    assert_eq!(budget["unit"], "WEI");
    assert_ne!(budget["spent"], "0", "{budget}");
}

async fn put_policy(api: &Api, body: Value) {
    let (status, stored) =
        api.call(Method::PUT, "/api/sponsorship/policy", Some(&body)).await.unwrap();
    assert_eq!(status, 200, "{stored}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sponsorship_limits_apply_in_each_chains_own_fee_unit() {
    if !latchkey_node::available_for("run the EVM chain of latchkey serve") {
        return;
    }
    let dir = TempDir::new("evm-policy");
    let server = serve(&dir.0, &[]);
    let api = Api::of(&server);
    let (_, factory, implementation, game) = evm_chain(&api).await;
    let (owner_key, address) = create_wallet(&api, factory, implementation).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let registration = |key: &str| {
        json!({"sessionPublicKey": key, "validUntil": now + 3_600, "maxCalls": 5,
            "allowedMethods": [{"contract": game, "entrypoint": "makeMove(uint256)"}]})
    };

    // A per-transaction limit in FRI does not bound wei: the EVM userOp is prepared.
    put_policy(&api, json!({"maxFeePerTxFri": "1"})).await;
    let session = text(address_of(&fresh_key()).unwrap());
    let path = format!("/api/wallets/{address}/sessions");
    let (status, prepared) =
        api.call(Method::POST, &path, Some(&registration(&session))).await.unwrap();
    assert_eq!(status, 201, "{prepared}");

    // The wei limit does: refused when the paymaster would sign, nothing reserved.
    put_policy(&api, json!({"maxFeePerTxWei": "1"})).await;
    let other = text(address_of(&fresh_key()).unwrap());
    let (status, refused) =
        api.call(Method::POST, &path, Some(&registration(&other))).await.unwrap();
    assert_eq!((status, refused["code"].as_str()), (403, Some("MAX_FEE_EXCEEDED")), "{refused}");
    assert!(refused["message"].as_str().unwrap_or_default().contains("WEI"), "{refused}");
    let (_, stored) = api.call(Method::GET, "/api/sponsorship/policy", None).await.unwrap();
    assert_eq!(stored["maxFeePerTxWei"], "1", "{stored}");

    // Without it, the first registration's payload still runs.
    put_policy(&api, json!({})).await;
    let (status, done) =
        execute(&api, &address, &prepared, sign(&prepared, SignatureKind::OwnerEip191, &owner_key))
            .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_node_serve_runs_starknet_alone_and_says_how_to_add_evm() {
    let dir = TempDir::new("no-node");
    // No Node.js on this PATH (and no anvil binary named): the EVM chain cannot start.
    let server = crate::support::serve_with_env(&dir.0, &[], &[("PATH", "/nonexistent")]);
    assert!(server.get("EVM").starts_with("off:"), "{:?}", server.banner);
    let api = Api::of(&server);
    let (status, config) = api.call(Method::GET, "/api/config", None).await.unwrap();
    assert_eq!(status, 200);
    let chains: Vec<&str> =
        config["chains"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(chains, ["starknet:SN_SEPOLIA"], "{config}");
    // Naming the EVM chain is a clear refusal.
    let body = json!({"chain": CHAIN, "ownerPublicKey": "0x0000000000000000000000000000000000000001",
        "proof": {"challenge": "0x1", "signature": ["0x00"]}});
    let (status, refused) = api.call(Method::POST, "/api/wallets", Some(&body)).await.unwrap();
    assert_eq!((status, refused["code"].as_str()), (400, Some("UNKNOWN_CHAIN")), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_server_finds_evm_wallets_and_sessions_where_they_were() {
    if !latchkey_node::available_for("run the EVM chain of latchkey serve") {
        return;
    }
    let dir = TempDir::new("evm-restart");
    let server = serve(&dir.0, &[]);
    let api = Api::of(&server);
    let (_, factory, implementation, game) = evm_chain(&api).await;
    let (owner_key, address) = create_wallet(&api, factory, implementation).await;
    let session = register(&api, &address, &owner_key, &game, 5).await;
    let (status, done) = session_calls(&api, &address, &session, vec![make_move(&game, 1)]).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    // anvil writes its state every 2 s and when it stops; the server is killed outright.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    drop(server);

    let server = serve(&dir.0, &[]);
    let api = api.at(server.get("API"));
    // The same contracts (the deployment and the paymaster key are kept), the same wallet
    // and session, its counter where it was; and the session goes on.
    let (_, same_factory, _, same_game) = evm_chain(&api).await;
    assert_eq!((same_factory, same_game.as_str()), (factory, game.as_str()));
    let path = format!("/api/wallets/{address}/sessions/{}", session.1);
    let (status, standing) = api.call(Method::GET, &path, None).await.unwrap();
    assert_eq!(status, 200, "{standing}");
    assert_eq!(
        (standing["state"].as_str(), standing["callsUsed"].as_u64()),
        (Some("active"), Some(1))
    );
    let (status, done) = session_calls(&api, &address, &session, vec![make_move(&game, 2)]).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
}

/// A JSON-RPC call to the EVM node; its result.
async fn node(rpc: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer: Value =
        reqwest::Client::new().post(rpc).json(&body).send().await.unwrap().json().await.unwrap();
    assert!(answer.get("error").is_none(), "{method}: {answer}");
    answer["result"].clone()
}

/// Mines a block every few milliseconds until dropped (a live chain's blocks).
struct Mining(tokio::task::JoinHandle<()>);

impl Mining {
    fn start(rpc: &str) -> Self {
        let rpc = rpc.to_string();
        Self(tokio::spawn(async move {
            loop {
                node(&rpc, "evm_mine", json!([])).await;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }))
    }
}

impl Drop for Mining {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Polls transaction `id` until `wanted(status)`; its last answer.
async fn transaction_until(api: &Api, id: &str, wanted: impl Fn(&str) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        let (status, body) =
            api.call(Method::GET, &format!("/api/transactions/{id}"), None).await.unwrap();
        assert_eq!(status, 200, "{body}");
        if body["status"].as_str().is_some_and(&wanted) {
            return body;
        }
        last = body;
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("transaction {id} stayed {last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn n6_evm_a_revocation_whose_block_is_reverted_is_not_revoked_until_included_again() {
    if !latchkey_node::available_for("run the EVM chain of latchkey serve") {
        return;
    }
    let dir = TempDir::new("evm-reorg");
    let server = serve(&dir.0, &["--evm-finality-blocks", "2"]);
    let api = Api::of(&server);
    let rpc = server.get("EVM RPC").to_string();
    let (_, factory, implementation, game) = evm_chain(&api).await;
    // Setting up waits for finality at every step: blocks keep coming meanwhile.
    let (owner_key, address, session) = {
        let _mining = Mining::start(&rpc);
        let (owner_key, address) = create_wallet(&api, factory, implementation).await;
        let session = register(&api, &address, &owner_key, &game, 5).await;
        (owner_key, address, session)
    };
    let session_path = format!("/api/wallets/{address}/sessions/{}", session.1);
    let state = || async {
        let (status, view) = api.call(Method::GET, &session_path, None).await.unwrap();
        assert_eq!(status, 200, "{view}");
        view["state"].as_str().unwrap().to_string()
    };
    assert_eq!(state().await, "active");

    // The revocation is mined: accepted, not final.
    let snapshot = node(&rpc, "evm_snapshot", json!([])).await;
    let (status, prepared) =
        api.call(Method::POST, &format!("{session_path}/revoke"), None).await.unwrap();
    assert_eq!(status, 200, "{prepared}");
    let body = json!({"payload": prepared["payload"],
        "signature": sign(&prepared, SignatureKind::OwnerEip191, &owner_key)});
    let (status, submitted) = api
        .call(Method::POST, &format!("/api/wallets/{address}/execute"), Some(&body))
        .await
        .unwrap();
    assert_eq!(status, 202, "{submitted}");
    let id = submitted["requestId"].as_str().unwrap();
    let accepted = transaction_until(&api, id, |s| s == "accepted").await;
    let hash = accepted["transactionHash"].as_str().unwrap().to_string();
    assert_eq!(state().await, "revoked", "the chain has it");

    // A reorg takes its block away; the node holds what is sent next without mining it.
    node(&rpc, "evm_setAutomine", json!([false])).await;
    assert_eq!(node(&rpc, "evm_revert", json!([snapshot])).await, true);
    assert!(node(&rpc, "eth_getTransactionReceipt", json!([hash])).await.is_null());
    assert_eq!(state().await, "active", "revoked while the revocation is off the chain");
    // The monitor finds it gone and sends the identical transaction again.
    let resent = transaction_until(&api, id, |s| s == "submitted").await;
    assert_eq!(resent["transactionHash"], hash.as_str());
    for _ in 0..200 {
        if !node(&rpc, "eth_getTransactionByHash", json!([hash])).await.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(!node(&rpc, "eth_getTransactionByHash", json!([hash])).await.is_null(), "not resent");
    assert_eq!(state().await, "active", "sent again, not yet included");

    // Included again: revoked; two blocks later, final.
    node(&rpc, "evm_setAutomine", json!([true])).await;
    node(&rpc, "evm_mine", json!([])).await;
    let again = transaction_until(&api, id, |s| s != "submitted").await;
    assert_eq!(
        (again["status"].as_str(), again["transactionHash"].as_str()),
        (Some("accepted"), Some(hash.as_str()))
    );
    assert_eq!(state().await, "revoked");
    node(&rpc, "evm_mine", json!([])).await;
    node(&rpc, "evm_mine", json!([])).await;
    let done = transaction_until(&api, id, |s| s != "accepted").await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["fee"].as_str().is_some_and(|fee| fee != "0"), "{done}");
}
