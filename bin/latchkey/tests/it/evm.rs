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

fn word(text: &str) -> B256 {
    B256::from(text.parse::<U256>().unwrap().to_be_bytes::<32>())
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
    let digits = text.trim_start_matches("0x");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

fn make_move(game: &str, mv: u64) -> Value {
    let data = Game::makeMoveCall { r#move: U256::from(mv) }.abi_encode();
    json!({"to": game, "data": format!("0x{}", hex(&data))})
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
    let (status, config) = api.call(Method::GET, "/api/config", None).await.unwrap();
    assert_eq!(status, 200);
    let chain = config["chains"].as_array().unwrap().iter().find(|c| c["id"] == CHAIN).unwrap();
    assert_eq!((chain["family"].as_str(), chain["feeUnit"].as_str()), (Some("evm"), Some("WEI")));
    let contracts = &chain["contracts"];
    assert_eq!(contracts["entryPoint"], "0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108");
    let game = contracts["game"].as_str().unwrap().to_string();
    assert_eq!(chain["demoGame"], game.as_str());
    let factory: Address = contracts["factory"].as_str().unwrap().parse().unwrap();
    let implementation: Address = chain["accountClass"].as_str().unwrap().parse().unwrap();

    // The owner proves possession of its key for the counterfactual address, and the
    // server deploys the account from its relayer, paying the gas.
    let owner_key = fresh_key();
    let owner = address_of(&owner_key).unwrap();
    let account = account_address(factory, implementation, owner, U256::ZERO);
    let (_, challenge) = api
        .call(Method::POST, "/api/challenges", Some(&json!({"purpose": "create-wallet"})))
        .await
        .unwrap();
    let challenge = challenge["challenge"].as_str().unwrap().to_string();
    // An external owner: the key never reaches the server, the payload is the empty blob.
    let payload = latchkey_core::payload_hash(b"");
    let hash = proof_hash(
        31337,
        account,
        "create-wallet",
        word(&challenge),
        word(&latchkey_core::to_hex(&payload)),
    );
    let proof = sign_digest(&owner_key, eip191_digest(hash)).unwrap().to_bytes();
    let create = |proof: String| {
        json!({"chain": CHAIN, "ownerPublicKey": text(owner),
            "proof": {"challenge": challenge, "signature": [proof]}})
    };
    // A proof by another key is refused, and spends nothing.
    let stranger = sign_digest(&fresh_key(), eip191_digest(hash)).unwrap().to_bytes();
    let (status, refused) = api
        .call(Method::POST, "/api/wallets", Some(&create(format!("0x{}", hex(&stranger)))))
        .await
        .unwrap();
    assert_eq!((status, refused["code"].as_str()), (403, Some("INVALID_PROOF")), "{refused}");
    let (status, wallet) = api
        .call(Method::POST, "/api/wallets", Some(&create(format!("0x{}", hex(&proof)))))
        .await
        .unwrap();
    assert_eq!(status, 201, "{wallet}");
    assert_eq!(wallet["address"], text(account).as_str());
    assert_eq!((wallet["chain"].as_str(), wallet["deployed"].as_bool()), (Some(CHAIN), Some(true)));
    assert_eq!(wallet["externalOwner"], true);
    assert!(wallet.get("encryptedPrivateKey").is_none(), "{wallet}");
    let address = text(account);
    // No key is stored for an external owner, and none can be read.
    let (status, refused) = api
        .call(Method::GET, &format!("/api/wallets/{address}/encrypted-key"), None)
        .await
        .unwrap();
    assert_eq!((status, refused["code"].as_str()), (404, Some("KEY_NOT_STORED")), "{refused}");

    // The owner registers a session that may only make moves, three times.
    let session_key = fresh_key();
    let session = text(address_of(&session_key).unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let registration = json!({"sessionPublicKey": session, "validUntil": now + 3_600, "maxCalls": 3,
        "allowedMethods": [{"contract": game, "entrypoint": "makeMove(uint256)"}]});
    let (status, prepared) = api
        .call(Method::POST, &format!("/api/wallets/{address}/sessions"), Some(&registration))
        .await
        .unwrap();
    assert_eq!(status, 201, "{prepared}");
    assert!(prepared.get("typedData").is_none(), "{prepared}");
    let (status, done) =
        execute(&api, &address, &prepared, sign(&prepared, SignatureKind::OwnerEip191, &owner_key))
            .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");

    // Moves signed by the session key alone, gasless.
    for mv in [7u64, 8] {
        let body = json!({"calls": [make_move(&game, mv)], "sessionKey": session});
        let (status, prepared) = api
            .call(Method::POST, &format!("/api/wallets/{address}/prepare"), Some(&body))
            .await
            .unwrap();
        assert_eq!(status, 200, "{prepared}");
        let signature = sign(&prepared, SignatureKind::SessionEip191, &session_key);
        let (status, done) = execute(&api, &address, &prepared, signature).await;
        assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    }
    assert_eq!(moves(&rpc, &game, &address).await, 2);
    let (status, standing) = api
        .call(Method::GET, &format!("/api/wallets/{address}/sessions/{session}"), None)
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
    let body = json!({"calls": [{"to": game, "data": format!("0x{}", hex(&claim))}], "sessionKey": session});
    let (status, prepared) = api
        .call(Method::POST, &format!("/api/wallets/{address}/prepare"), Some(&body))
        .await
        .unwrap();
    assert_eq!(status, 200, "{prepared}");
    let signature = sign(&prepared, SignatureKind::SessionEip191, &session_key);
    let (status, refused) = execute(&api, &address, &prepared, signature).await;
    assert_eq!(status, 403, "{refused}");
    // Starknet-shaped input on an EVM wallet is a clear 400.
    let body = json!({"calls": [{"to": game, "entrypoint": "make_move", "calldata": ["1"]}]});
    let (status, refused) = api
        .call(Method::POST, &format!("/api/wallets/{address}/prepare"), Some(&body))
        .await
        .unwrap();
    assert_eq!((status, refused["code"].as_str()), (400, Some("INVALID_REQUEST")), "{refused}");

    // The owner revokes it; the session can no longer prepare.
    let (status, prepared) = api
        .call(Method::POST, &format!("/api/wallets/{address}/sessions/{session}/revoke"), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{prepared}");
    let (status, done) =
        execute(&api, &address, &prepared, sign(&prepared, SignatureKind::OwnerEip191, &owner_key))
            .await;
    assert_eq!((status, done["status"].as_str()), (200, Some("succeeded")), "{done}");
    let (_, standing) = api
        .call(Method::GET, &format!("/api/wallets/{address}/sessions/{session}"), None)
        .await
        .unwrap();
    assert_eq!(standing["state"], "revoked");
    let body = json!({"calls": [make_move(&game, 9)], "sessionKey": session});
    let (status, refused) = api
        .call(Method::POST, &format!("/api/wallets/{address}/prepare"), Some(&body))
        .await
        .unwrap();
    assert!(status == 403 || status == 409, "{status} {refused}");
    assert_eq!(moves(&rpc, &game, &address).await, 2);

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
