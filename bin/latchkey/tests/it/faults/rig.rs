//! The rig the fault tests run on: both chains' nodes started by the test (the Starknet
//! devnet keeping a journal, anvil a state file), a [`FaultProxy`] in front of each, and
//! `latchkey serve` using the nodes through the proxies, as it would any external node.
//! Owner-signed game moves go through the API; the invariants are read from the chains
//! themselves and from the database.

use std::time::Duration;

use alloy_sol_types::SolCall;
use latchkey_core::{parse_felt, to_hex, Felt, SigningKey, TypedData};
use latchkey_evm_anvil::{Anvil, AnvilConfig};
use latchkey_evm_contracts::abi::Game;
use latchkey_evm_contracts::{
    account_address, address_of, eip191_digest, proof_hash, sign_digest, Address, SignatureKind,
    UserOpSignature, B256, U256,
};
use latchkey_starknet_devnet::{Devnet, DevnetConfig};
use latchkey_store::{RequestStatus, Store};
use latchkey_testkit::FaultProxy;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{serve_with_env, Api, Served, TempDir};

/// A chain family under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Starknet,
    Evm,
}

impl Family {
    /// The JSON-RPC method that sends a transaction.
    pub(crate) fn send_method(self) -> &'static str {
        match self {
            Self::Starknet => "starknet_addInvokeTransaction",
            Self::Evm => "eth_sendRawTransaction",
        }
    }

    /// The JSON-RPC method that reads a receipt.
    pub(crate) fn receipt_method(self) -> &'static str {
        match self {
            Self::Starknet => "starknet_getTransactionReceipt",
            Self::Evm => "eth_getTransactionReceipt",
        }
    }

    /// The method that estimates (simulates) before a send.
    pub(crate) fn estimate_method(self) -> &'static str {
        match self {
            Self::Starknet => "starknet_estimateFee",
            Self::Evm => "eth_call",
        }
    }
}

/// A wallet of the test, with its owner key and, once registered, a session key.
pub(crate) struct Wallet {
    pub(crate) family: Family,
    pub(crate) address: String,
    owner: Owner,
    session: Option<(Owner, String, u64)>,
}

/// A private key of either curve.
enum Owner {
    Stark(SigningKey),
    Evm(B256),
}

impl Owner {
    fn fresh(family: Family) -> Self {
        match family {
            Family::Starknet => {
                Self::Stark(SigningKey::from_felt(Felt::from(rand::random::<u64>() | 1)).unwrap())
            }
            Family::Evm => loop {
                let key = B256::from(rand::random::<[u8; 32]>());
                if address_of(&key).is_ok() {
                    break Self::Evm(key);
                }
            },
        }
    }

    /// The public key (Starknet) or address (EVM) the API names it by.
    fn public(&self) -> String {
        match self {
            Self::Stark(key) => to_hex(&key.public_key()),
            Self::Evm(key) => address_of(key).unwrap().to_checksum(None),
        }
    }
}

/// Both nodes, their proxies, and the server.
pub(crate) struct Rig {
    pub(crate) data: TempDir,
    pub(crate) devnet: Option<Devnet>,
    pub(crate) anvil: Option<Anvil>,
    pub(crate) starknet_proxy: FaultProxy,
    pub(crate) evm_proxy: FaultProxy,
    pub(crate) server: Option<Served>,
    pub(crate) api: Api,
    /// The game contracts: Starknet's, and the EVM one.
    pub(crate) game: Felt,
    pub(crate) evm_game: String,
    relayers: String,
    factory: Address,
    implementation: Address,
    entry_point: String,
    paymaster: String,
    args: Vec<String>,
    reorgs: bool,
    database_url: Option<String>,
}

const EVM_CHAIN: &str = "eip155:31337";

/// The calls a session of the rig may make.
const SESSION_MAX_CALLS: u64 = 1_000_000;

fn devnet_config(data: &TempDir, reorgs: bool) -> DevnetConfig {
    DevnetConfig {
        state: Some(data.0.join("node-starknet.jsonl")),
        reorgs,
        ..DevnetConfig::default()
    }
}

fn anvil_config(data: &TempDir) -> AnvilConfig {
    AnvilConfig { state: Some(data.0.join("node-anvil.json")), ..AnvilConfig::default() }
}

impl Rig {
    /// Starts the nodes, their proxies and `latchkey serve` (with `extra` arguments).
    pub(crate) async fn start(name: &str, extra: &[&str]) -> Self {
        Self::start_with(name, extra, false).await
    }

    /// The same, the Starknet node keeping every block's state when `reorgs` (so
    /// `devnet_abortBlocks` works).
    pub(crate) async fn start_with(name: &str, extra: &[&str], reorgs: bool) -> Self {
        let data = TempDir::new(name);
        let devnet = Devnet::start_with(devnet_config(&data, reorgs)).await.unwrap();
        let anvil = Anvil::start(anvil_config(&data)).await.unwrap();
        let starknet_proxy = FaultProxy::start(socket(devnet.url().as_str())).await.unwrap();
        let evm_proxy = FaultProxy::start(socket(anvil.url())).await.unwrap();
        let relayers: Vec<String> = devnet
            .relayers()
            .iter()
            .map(|r| format!("{}:{}", to_hex(&r.address), r.key.secret_hex().as_str()))
            .collect();
        let mut args: Vec<String> = vec![
            "--rpc-url".into(),
            starknet_proxy.url("/rpc"),
            "--evm-rpc-url".into(),
            evm_proxy.url("/"),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let game = devnet.game().unwrap();
        let mut rig = Self {
            data,
            devnet: Some(devnet),
            anvil: Some(anvil),
            starknet_proxy,
            evm_proxy,
            server: None,
            api: Api {
                url: String::new(),
                public: String::new(),
                secret: String::new(),
                http: reqwest::Client::new(),
            },
            game,
            evm_game: String::new(),
            relayers: relayers.join(","),
            factory: Address::ZERO,
            implementation: Address::ZERO,
            entry_point: String::new(),
            paymaster: String::new(),
            database_url: extra
                .iter()
                .position(|a| *a == "--database-url")
                .and_then(|i| extra.get(i + 1))
                .map(|url| url.to_string()),
            args,
            reorgs,
        };
        let server = rig.serve();
        rig.api = Api::of(&server);
        rig.server = Some(server);
        let (_, config) = rig.api.call(Method::GET, "/api/config", None).await.unwrap();
        let chain =
            config["chains"].as_array().unwrap().iter().find(|c| c["id"] == EVM_CHAIN).unwrap();
        rig.factory = chain["contracts"]["factory"].as_str().unwrap().parse().unwrap();
        rig.implementation = chain["accountClass"].as_str().unwrap().parse().unwrap();
        rig.evm_game = chain["contracts"]["game"].as_str().unwrap().to_string();
        rig.entry_point = chain["contracts"]["entryPoint"].as_str().unwrap().to_string();
        rig.paymaster = chain["contracts"]["paymaster"].as_str().unwrap().to_string();
        rig
    }

    fn serve(&self) -> Served {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        serve_with_env(&self.data.0, &args, &[("LATCHKEY_RELAYERS", self.relayers.as_str())])
    }

    /// Another `latchkey serve` on the same database, nodes and relayer accounts, with a
    /// data directory of its own that shares the first one's EVM paymaster key and
    /// deployment and its OPRF keys (an operator gives every instance the same ones).
    pub(crate) fn second_instance(&self, name: &str) -> (TempDir, Served) {
        let data = TempDir::new(name);
        for file in ["evm-paymaster-key", "evm-deployment.json", "oprf-keys"] {
            std::fs::copy(self.data.0.join(file), data.0.join(file)).unwrap();
        }
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let served =
            serve_with_env(&data.0, &args, &[("LATCHKEY_RELAYERS", self.relayers.as_str())]);
        (data, served)
    }

    /// `kill -9` the server, without starting it again.
    pub(crate) fn kill_server(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
    }

    /// `kill -9` the server, then start it again on the same database and nodes.
    pub(crate) fn restart_server(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
        let server = self.serve();
        self.api = self.api.at(server.get("API"));
        self.server = Some(server);
    }

    /// Stops the Starknet node, and starts it again from its journal behind the same
    /// proxy address.
    pub(crate) async fn restart_starknet_node(&mut self, down_for: Duration) {
        drop(self.devnet.take());
        tokio::time::sleep(down_for).await;
        let devnet = Devnet::start_with(devnet_config(&self.data, self.reorgs)).await.unwrap();
        self.starknet_proxy.retarget(socket(devnet.url().as_str()));
        self.devnet = Some(devnet);
    }

    /// A reorg on the Starknet node without keeping every block's state: the node is
    /// stopped, its last `blocks` blocks are taken out of its journal (with what was
    /// pending then), and it starts again from there behind the same proxy address.
    #[allow(dead_code)] // the soak's; the tests abort blocks on a devnet that keeps them
    pub(crate) async fn rewind_starknet_node(&mut self, blocks: u64) {
        drop(self.devnet.take());
        let journal = self.data.0.join("node-starknet.jsonl");
        latchkey_starknet_devnet::journal::rewind(&journal, blocks).unwrap();
        let devnet = Devnet::start_with(devnet_config(&self.data, self.reorgs)).await.unwrap();
        self.starknet_proxy.retarget(socket(devnet.url().as_str()));
        self.devnet = Some(devnet);
    }

    /// Stops anvil (it writes its state), and starts it again from its state file behind
    /// the same proxy address. The node is unreachable first: anvil writes its state file
    /// while it goes on serving, and a block made during the write can leave a state whose
    /// accounts have a transaction's effects but whose blocks lack its receipt (seen in the
    /// soak); a node that goes dark, then stops, writes a consistent one.
    pub(crate) async fn restart_evm_node(&mut self, down_for: Duration) {
        self.evm_proxy.set_down(true);
        // What was forwarded before is answered first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(anvil) = self.anvil.take() {
            anvil.shutdown().await;
        }
        tokio::time::sleep(down_for).await;
        let anvil = Anvil::start(anvil_config(&self.data)).await.unwrap();
        self.evm_proxy.retarget(socket(anvil.url()));
        self.evm_proxy.set_down(false);
        self.anvil = Some(anvil);
    }

    pub(crate) fn proxy(&self, family: Family) -> &FaultProxy {
        match family {
            Family::Starknet => &self.starknet_proxy,
            Family::Evm => &self.evm_proxy,
        }
    }

    /// A JSON-RPC call straight to a node (not through its proxy): its result, or the
    /// error it answered.
    pub(crate) async fn try_node(
        &self,
        family: Family,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        let url = match family {
            Family::Starknet => self.devnet.as_ref().unwrap().url().to_string(),
            Family::Evm => self.anvil.as_ref().unwrap().url().to_string(),
        };
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let answer: Value =
            self.api.http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
        match answer.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(answer["result"].clone()),
        }
    }

    /// A reorg on the EVM node: its last `blocks` blocks taken back (`anvil_rollback`)
    /// while it is unreachable. anvil's rollback is not atomic with its mining: a block
    /// made during the rollback keeps its receipts while the state is set back under it
    /// (seen in the soak: a userOp with a receipt in a canonical block, and its account's
    /// nonce not moved), which no chain shows. Dark, the node makes no block meanwhile.
    #[allow(dead_code)] // the soak's
    pub(crate) async fn rollback_evm_node(&self, blocks: u64) {
        self.evm_proxy.set_down(true);
        // What was forwarded before is answered first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.node(Family::Evm, "anvil_rollback", json!([blocks])).await;
        self.evm_proxy.set_down(false);
    }

    /// The EVM node's latest block number, read straight from it.
    #[allow(dead_code)] // the soak's
    pub(crate) async fn evm_head(&self) -> u64 {
        let head = self.node(Family::Evm, "eth_blockNumber", json!([])).await;
        u64::from_str_radix(head.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16).unwrap()
    }

    /// A JSON-RPC call straight to a node (not through its proxy).
    pub(crate) async fn node(&self, family: Family, method: &str, params: Value) -> Value {
        self.try_node(family, method, params)
            .await
            .unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// Creates a wallet on `family` with a fresh owner key.
    pub(crate) async fn wallet(&self, family: Family) -> Wallet {
        let owner = Owner::fresh(family);
        let address = match &owner {
            Owner::Stark(key) => self.starknet_wallet(key).await,
            Owner::Evm(key) => self.evm_wallet(key).await,
        };
        Wallet { family, address, owner, session: None }
    }

    /// Registers a session key on `wallet` for game moves (a day, many calls), signed by
    /// the owner, and waits until it is final.
    pub(crate) async fn register_session(&self, wallet: &mut Wallet) {
        let key = Owner::fresh(wallet.family);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let valid_until = now + 86_000;
        let (contract, entrypoint) = match wallet.family {
            Family::Starknet => (to_hex(&self.game), "make_move"),
            Family::Evm => (self.evm_game.clone(), "makeMove(uint256)"),
        };
        let body = json!({"sessionPublicKey": key.public(), "validUntil": valid_until,
            "maxCalls": SESSION_MAX_CALLS, "allowedMethods": [{"contract": contract, "entrypoint": entrypoint}]});
        let path = format!("/api/wallets/{}/sessions", wallet.address);
        let (status, prepared) = self.api.call(Method::POST, &path, Some(&body)).await.unwrap();
        assert_eq!(status, 201, "{prepared}");
        let id = prepared["requestId"].as_str().unwrap().to_string();
        let body = self.sign(wallet, &wallet.owner, None, &prepared);
        let (status, answer) = self.execute(wallet, &body, None).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(self.settle(&id).await["status"], "succeeded");
        let public = key.public();
        wallet.session = Some((key, public, valid_until));
    }

    /// The body executing `prepared`, signed by `key` (as the session when `session`
    /// gives its expiry).
    fn sign(&self, wallet: &Wallet, key: &Owner, session: Option<u64>, prepared: &Value) -> Value {
        match key {
            Owner::Stark(key) => {
                let typed: TypedData =
                    serde_json::from_value(prepared["typedData"].clone()).unwrap();
                let hash = typed.message_hash(&parse_felt(&wallet.address).unwrap()).unwrap();
                let signature = match session {
                    Some(valid_until) => {
                        latchkey_core::SessionSignature::sign(key, &hash, valid_until)
                            .unwrap()
                            .to_hex_strings()
                    }
                    None => {
                        let sig = key.sign(&hash).unwrap();
                        vec![to_hex(&sig.r), to_hex(&sig.s)]
                    }
                };
                json!({"typedData": prepared["typedData"], "signature": signature})
            }
            Owner::Evm(key) => {
                let hash: B256 = prepared["userOpHash"].as_str().unwrap().parse().unwrap();
                let kind = match session {
                    Some(_) => SignatureKind::SessionEip191,
                    None => SignatureKind::OwnerEip191,
                };
                let signature = UserOpSignature::sign(kind, key, hash).unwrap();
                json!({"payload": prepared["payload"], "signature": [signature.encode().to_string()]})
            }
        }
    }

    async fn challenge(&self) -> Value {
        let body = json!({"purpose": "create-wallet"});
        let (status, challenge) =
            self.api.call(Method::POST, "/api/challenges", Some(&body)).await.unwrap();
        assert_eq!(status, 201, "{challenge}");
        challenge
    }

    async fn starknet_wallet(&self, owner: &SigningKey) -> String {
        let challenge = self.challenge().await;
        let class = latchkey_starknet_contracts::ACCOUNT.class_hash().unwrap();
        let expected = latchkey_starknet::ChainClient::account_address(class, owner.public_key());
        let binding = latchkey_core::KeyBinding {
            kind: latchkey_core::KeyKind::Owner,
            account: expected,
            public_key: owner.public_key(),
        };
        let prf = latchkey_core::EncryptKey::prf(&[9; 32]).unwrap();
        let blob =
            latchkey_core::keystore::passkey::seal(owner, &prf, &binding, &mut rand::rngs::OsRng)
                .unwrap();
        let proof = latchkey_core::sign_proof(
            owner,
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
            self.api.call(Method::POST, "/api/wallets", Some(&body)).await.unwrap();
        assert_eq!(status, 201, "{wallet}");
        wallet["address"].as_str().unwrap().to_string()
    }

    async fn evm_wallet(&self, key: &B256) -> String {
        let owner = address_of(key).unwrap();
        let account = account_address(self.factory, self.implementation, owner, U256::ZERO);
        let challenge = self.challenge().await;
        let challenge = challenge["challenge"].as_str().unwrap();
        let payload = to_hex(&latchkey_core::payload_hash(b""));
        let hash = proof_hash(31337, account, "create-wallet", word(challenge), word(&payload));
        let proof = sign_digest(key, eip191_digest(hash)).unwrap().to_bytes();
        let body = json!({"chain": EVM_CHAIN, "ownerPublicKey": owner.to_checksum(None),
            "proof": {"challenge": challenge, "signature": [format!("0x{}", hex(&proof))]}});
        let (status, wallet) =
            self.api.call(Method::POST, "/api/wallets", Some(&body)).await.unwrap();
        assert_eq!(status, 201, "{wallet}");
        account.to_checksum(None)
    }

    /// Prepares game move `mv` on `wallet` and signs it as the owner: the request id and
    /// the body to execute.
    pub(crate) async fn owner_move(&self, wallet: &Wallet, mv: u64) -> (String, Value) {
        self.signed_move(wallet, mv, false).await
    }

    /// Prepares game move `mv` on `wallet` and signs it with its session key (the owner's
    /// when it has none).
    pub(crate) async fn session_move(&self, wallet: &Wallet, mv: u64) -> (String, Value) {
        self.signed_move(wallet, mv, wallet.session.is_some()).await
    }

    async fn signed_move(&self, wallet: &Wallet, mv: u64, by_session: bool) -> (String, Value) {
        self.try_move(wallet, mv, by_session)
            .await
            .unwrap_or_else(|(status, answer)| panic!("prepare answered {status}: {answer}"))
    }

    /// Prepares and signs game move `mv` (with the session key when `by_session` and the
    /// wallet has one); the API's refusal when it does not prepare it.
    pub(crate) async fn try_move(
        &self,
        wallet: &Wallet,
        mv: u64,
        by_session: bool,
    ) -> Result<(String, Value), (u16, Value)> {
        let call = match wallet.family {
            Family::Starknet => json!({"to": to_hex(&self.game), "entrypoint": "make_move",
                "calldata": [mv.to_string()]}),
            Family::Evm => {
                let data = Game::makeMoveCall { r#move: U256::from(mv) }.abi_encode();
                json!({"to": self.evm_game, "data": format!("0x{}", hex(&data))})
            }
        };
        let mut body = json!({"calls": [call]});
        let session = wallet.session.as_ref().filter(|_| by_session);
        if let (Family::Evm, Some((_, public, _))) = (wallet.family, session) {
            body["sessionKey"] = json!(public);
        }
        let path = format!("/api/wallets/{}/prepare", wallet.address);
        let (status, prepared) =
            self.api.call(Method::POST, &path, Some(&body)).await.map_err(|_| (0, Value::Null))?;
        if status != 200 {
            return Err((status, prepared));
        }
        let id = prepared["requestId"].as_str().unwrap().to_string();
        let body = match session {
            Some((key, _, valid_until)) => self.sign(wallet, key, Some(*valid_until), &prepared),
            None => self.sign(wallet, &wallet.owner, None, &prepared),
        };
        Ok((id, body))
    }

    /// Submits a signed execution; the HTTP status (0 when no answer came) and body.
    pub(crate) async fn execute(
        &self,
        wallet: &Wallet,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        match self.execute_request(wallet, body, idempotency_key).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    /// The request submitting a signed execution, to send later.
    pub(crate) fn execute_request(
        &self,
        wallet: &Wallet,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        self.execute_request_at(&self.api.url, wallet, body, idempotency_key)
    }

    /// The same, to the instance at `url`.
    pub(crate) fn execute_request_at(
        &self,
        url: &str,
        wallet: &Wallet,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .api
            .http
            .post(format!("{url}/api/wallets/{}/execute", wallet.address))
            .header("x-api-key", &self.api.public)
            .header("authorization", format!("Bearer {}", self.api.secret))
            .timeout(Duration::from_secs(60))
            .json(body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        request
    }

    /// Waits until request `id` is final (or `prepared`: never accepted); its status.
    pub(crate) async fn settle(&self, id: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..1200 {
            if let Ok((200, body)) =
                self.api.call(Method::GET, &format!("/api/transactions/{id}"), None).await
            {
                let status = body["status"].as_str().unwrap_or_default();
                if ["succeeded", "reverted", "rejected", "expired", "prepared"].contains(&status) {
                    return body;
                }
                last = body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("request {id} never settled: {last}");
    }

    /// The game's move count of `wallet`, read from its chain.
    pub(crate) async fn moves_on_chain(&self, wallet: &Wallet) -> u64 {
        match wallet.family {
            Family::Starknet => {
                let devnet = self.devnet.as_ref().unwrap();
                let player = parse_felt(&wallet.address).unwrap();
                let state =
                    devnet.client().call(self.game, "get_player", vec![player]).await.unwrap();
                u64::try_from(state[0]).unwrap()
            }
            Family::Evm => {
                let data =
                    Game::getPlayerCall { player: wallet.address.parse().unwrap() }.abi_encode();
                let call = json!({"to": self.evm_game, "data": format!("0x{}", hex(&data))});
                let answer = self.node(Family::Evm, "eth_call", json!([call, "latest"])).await;
                let bytes = from_hex(answer.as_str().unwrap());
                u64::from(Game::getPlayerCall::abi_decode_returns(&bytes).unwrap().moves)
            }
        }
    }

    /// Sets the Starknet node's gas prices back to `config`'s (a `devnet_getConfig`
    /// answer read before a spike).
    #[allow(dead_code)] // the soak's
    pub(crate) async fn restore_gas_prices(&self, config: &Value) {
        let price = |field: &str| config[field].as_u64().unwrap_or(1_000_000_000);
        let prices = json!({"gas_price_fri": price("gas_price_fri"),
            "data_gas_price_fri": price("data_gas_price_fri"),
            "l2_gas_price_fri": price("l2_gas_price_fri"), "generate_block": true});
        self.node(Family::Starknet, "devnet_setGasPrice", prices).await;
    }

    /// Moves `amount` FRI of STRK from Starknet relayer account `from` to `to`, straight
    /// through the node; the fee it paid.
    #[allow(dead_code)] // the soak's
    pub(crate) async fn move_strk(&self, from: usize, to: usize, amount: u128) -> u128 {
        let devnet = self.devnet.as_ref().unwrap();
        let (payer, payee) = (&devnet.relayers()[from], &devnet.relayers()[to]);
        let account =
            latchkey_starknet::KeyAccount::owner(devnet.client(), payer.address, payer.key.clone());
        let transfer = latchkey_starknet_contracts::erc20_calls::transfer(
            devnet.strk(),
            payee.address,
            latchkey_core::U256::from_u128(amount),
        );
        let outcome = retry(|| async {
            let calls = [transfer.clone()];
            let hash = account.send(&calls, latchkey_starknet::FeeMode::Estimate).await?;
            devnet.client().wait_for_transaction(hash).await
        })
        .await;
        u128::try_from(outcome.fee).unwrap()
    }

    /// Raises the node's fees tenfold for the next blocks (F5).
    pub(crate) async fn fee_spike(&self, family: Family) {
        match family {
            Family::Starknet => {
                let config = self.node(family, "devnet_getConfig", json!({})).await;
                let times_ten = |field: &str| {
                    config[field].as_u64().unwrap_or(1_000_000_000).saturating_mul(10)
                };
                let prices = json!({"gas_price_fri": times_ten("gas_price_fri"),
                    "data_gas_price_fri": times_ten("data_gas_price_fri"),
                    "l2_gas_price_fri": times_ten("l2_gas_price_fri"), "generate_block": true});
                self.node(family, "devnet_setGasPrice", prices).await;
            }
            Family::Evm => {
                let block =
                    self.node(family, "eth_getBlockByNumber", json!(["latest", false])).await;
                let base: U256 = block["baseFeePerGas"].as_str().unwrap().parse().unwrap();
                let base = u128::try_from(base).unwrap();
                let spiked = format!("{:#x}", base.saturating_mul(10).max(10_000_000_000));
                self.node(family, "anvil_setNextBlockBaseFeePerGas", json!([spiked])).await;
                self.node(family, "evm_mine", json!([])).await;
            }
        }
    }

    /// Calls used of `wallet`'s session, as its account contract counts them.
    pub(crate) async fn session_calls_used(&self, wallet: &Wallet) -> u64 {
        let Some((_, public, _)) = &wallet.session else { return 0 };
        match wallet.family {
            Family::Starknet => {
                let devnet = self.devnet.as_ref().unwrap();
                let account = parse_felt(&wallet.address).unwrap();
                let data = devnet
                    .client()
                    .get_session_data(account, parse_felt(public).unwrap())
                    .await
                    .unwrap();
                SESSION_MAX_CALLS - u64::from(data.remaining_calls)
            }
            Family::Evm => {
                let data = latchkey_evm_contracts::abi::LatchkeyAccount::getSessionCall {
                    key: public.parse().unwrap(),
                }
                .abi_encode();
                let call = json!({"to": wallet.address, "data": format!("0x{}", hex(&data))});
                let answer = self.node(Family::Evm, "eth_call", json!([call, "latest"])).await;
                let bytes = from_hex(answer.as_str().unwrap());
                let view =
                    latchkey_evm_contracts::abi::LatchkeyAccount::getSessionCall::abi_decode_returns(
                        &bytes,
                    )
                    .unwrap();
                view.callsUsed
            }
        }
    }

    /// The STRK the relayer accounts hold together, in FRI.
    pub(crate) async fn relayer_strk(&self) -> u128 {
        let devnet = self.devnet.as_ref().unwrap();
        let mut total = 0u128;
        for relayer in devnet.relayers() {
            let balance =
                devnet.client().erc20_balance(devnet.strk(), relayer.address).await.unwrap();
            total += balance.low;
        }
        total
    }

    /// The paymaster's deposit at the EntryPoint, in wei: what sponsored userOps draw on.
    pub(crate) async fn paymaster_deposit(&self) -> u128 {
        let data = latchkey_evm_contracts::abi::EntryPoint::balanceOfCall {
            account: self.paymaster.parse().unwrap(),
        }
        .abi_encode();
        let call = json!({"to": self.entry_point, "data": format!("0x{}", hex(&data))});
        let answer = self.node(Family::Evm, "eth_call", json!([call, "latest"])).await;
        let deposit: U256 = answer.as_str().unwrap().parse().unwrap();
        u128::try_from(deposit).unwrap()
    }

    /// The fees of `family`'s final transactions, as the database settled them.
    pub(crate) async fn settled_fees(&self, family: Family) -> u128 {
        let store = self.store().await;
        let done = store
            .requests_with_status(
                chain_of(family),
                &[RequestStatus::Succeeded, RequestStatus::Reverted],
                1_000_000,
            )
            .await
            .unwrap();
        done.iter().filter_map(|r| r.fee.as_deref()?.parse::<u128>().ok()).sum()
    }

    /// The relayer accounts latchkey uses on `family`.
    fn relayer_addresses(&self, family: Family) -> Vec<String> {
        match family {
            Family::Starknet => self
                .devnet
                .as_ref()
                .unwrap()
                .relayers()
                .iter()
                .map(|r| to_hex(&r.address))
                .collect(),
            Family::Evm => latchkey_evm_anvil::relayer_keys()
                .iter()
                .map(|key| address_of(key).unwrap().to_checksum(None))
                .collect(),
        }
    }

    /// Every relayer account of `family` sends a transaction of its own, straight to the
    /// node: the nonces latchkey knows are used by someone else (F10). Returns the fees
    /// those transactions paid from the relayer accounts (Starknet; on EVM the paymaster's
    /// deposit, which the reconciliation follows, pays nothing for them).
    pub(crate) async fn use_relayers_elsewhere(&self, family: Family) -> u128 {
        let mut fees = 0u128;
        match family {
            Family::Starknet => {
                let devnet = self.devnet.as_ref().unwrap();
                let sink = devnet.relayers()[0].address;
                for relayer in devnet.relayers() {
                    let account = latchkey_starknet::KeyAccount::owner(
                        devnet.client(),
                        relayer.address,
                        relayer.key.clone(),
                    );
                    let transfer = latchkey_starknet_contracts::erc20_calls::transfer(
                        devnet.strk(),
                        sink,
                        latchkey_core::U256::from_u128(1),
                    );
                    // latchkey uses the account at the same time: a nonce it took first
                    // means trying again.
                    let outcome = retry(|| async {
                        let calls = [transfer.clone()];
                        let hash =
                            account.send(&calls, latchkey_starknet::FeeMode::Estimate).await?;
                        devnet.client().wait_for_transaction(hash).await
                    })
                    .await;
                    fees += u128::try_from(outcome.fee).unwrap();
                }
            }
            Family::Evm => {
                for relayer in self.relayer_addresses(family) {
                    let tx = json!({"from": relayer, "to": relayer, "value": "0x1"});
                    // latchkey may hold the next nonce in the pool at that moment: the
                    // node refuses a replacement, and the sender tries again.
                    for _ in 0..20 {
                        if self.try_node(family, "eth_sendTransaction", json!([tx])).await.is_ok() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
        fees
    }

    /// Leaves relayer account `index` of `family` without enough to pay for a
    /// transaction (F8); returns its address and the fee the drain paid (Starknet: the
    /// STRK goes to another relayer account).
    pub(crate) async fn drain_relayer(&self, family: Family, index: usize) -> (String, u128) {
        let mut fee = 0;
        let address = self.relayer_addresses(family)[index].clone();
        match family {
            Family::Starknet => {
                let devnet = self.devnet.as_ref().unwrap();
                let relayer = &devnet.relayers()[index];
                let account = latchkey_starknet::KeyAccount::owner(
                    devnet.client(),
                    relayer.address,
                    relayer.key.clone(),
                );
                let sink = devnet.relayers()[(index + 1) % devnet.relayers().len()].address;
                let transfer = |amount: u128| {
                    latchkey_starknet_contracts::erc20_calls::transfer(
                        devnet.strk(),
                        sink,
                        latchkey_core::U256::from_u128(amount),
                    )
                };
                // Everything but the transfer's own maximum fee goes elsewhere.
                let outcome = retry(|| async {
                    let nonce = devnet.client().nonce(relayer.address).await?;
                    let (bounds, _) = account.estimate_bounds(&[transfer(1)], nonce).await?;
                    let max_cost = u128::from(bounds.l1_gas) * bounds.l1_gas_price
                        + u128::from(bounds.l2_gas) * bounds.l2_gas_price
                        + u128::from(bounds.l1_data_gas) * bounds.l1_data_gas_price;
                    let balance =
                        devnet.client().erc20_balance(devnet.strk(), relayer.address).await?.low;
                    let calls = [transfer(balance - max_cost)];
                    let signed = account.sign_invoke(&calls, nonce, bounds).await?;
                    let hash = account.submit(&signed).await?;
                    devnet.client().wait_for_transaction(hash).await
                })
                .await;
                fee = u128::try_from(outcome.fee).unwrap();
            }
            Family::Evm => {
                self.node(family, "anvil_setBalance", json!([address, "0x0"])).await;
            }
        }
        (address, fee)
    }

    /// The database, opened beside the running server.
    pub(crate) async fn store(&self) -> Store {
        let sqlite = format!("sqlite://{}", self.data.0.join("latchkey.db").display());
        Store::connect(self.database_url.as_deref().unwrap_or(&sqlite)).await.unwrap()
    }

    /// The invariants after quiesce, for `wallet` and the requests `accepted` (answered
    /// 2xx) among `ids`: every accepted request is final (N1), the moves on chain are
    /// exactly the succeeded requests (N2), and the node holds no transaction of ours
    /// that is stuck (N3).
    pub(crate) async fn check_invariants(
        &self,
        wallet: &Wallet,
        ids: &[String],
        accepted: &[String],
    ) -> u64 {
        let mut succeeded = 0;
        let mut ended: std::collections::BTreeMap<String, usize> = Default::default();
        for id in ids {
            let done = self.settle(id).await;
            let status = done["status"].as_str().unwrap();
            let code = done["errorCode"].as_str().map(|c| format!(" {c}")).unwrap_or_default();
            if let Some(message) = done["errorMessage"].as_str() {
                eprintln!("{id}: {status}{code}: {message}");
            }
            *ended.entry(format!("{status}{code}")).or_default() += 1;
            if accepted.contains(id) {
                assert_ne!(status, "prepared", "N1: accepted request {id} was lost: {done}");
            }
            if status == "succeeded" {
                succeeded += 1;
            }
        }
        eprintln!("{:?}: {} accepted; ended {ended:?}", wallet.family, accepted.len());
        assert_eq!(
            self.moves_on_chain(wallet).await,
            succeeded,
            "N2: the moves on chain are exactly the succeeded requests"
        );
        if wallet.family == Family::Evm {
            let pool = self.node(Family::Evm, "txpool_status", json!([])).await;
            let count = |field: &str| {
                let text = pool[field].as_str().unwrap_or("0x0");
                u64::from_str_radix(text.trim_start_matches("0x"), 16).unwrap_or(0)
            };
            assert_eq!(
                (count("pending"), count("queued")),
                (0, 0),
                "N3: stuck in the pool: {pool}"
            );
        }
        // Nothing is left in flight in the database either.
        let store = self.store().await;
        let chain = chain_of(wallet.family);
        let in_flight = store
            .requests_with_status(
                chain,
                &[
                    RequestStatus::Recorded,
                    RequestStatus::Submitting,
                    RequestStatus::Submitted,
                    RequestStatus::PreConfirmed,
                    RequestStatus::Accepted,
                ],
                10,
            )
            .await
            .unwrap();
        assert!(in_flight.is_empty(), "N1: still in flight: {in_flight:?}");
        succeeded
    }
}

/// Runs `attempt` until it succeeds (ten times at most): a transaction of a relayer
/// account sent beside latchkey, which may take the nonce first.
async fn retry<T, F, Fut>(attempt: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, latchkey_starknet::ChainError>>,
{
    let mut last = None;
    for _ in 0..10 {
        match attempt().await {
            Ok(value) => return value,
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a transaction beside latchkey kept failing: {last:?}")
}

/// The CAIP-2 id of `family`'s chain.
pub(crate) fn chain_of(family: Family) -> &'static str {
    match family {
        Family::Starknet => "starknet:SN_SEPOLIA",
        Family::Evm => EVM_CHAIN,
    }
}

/// `host:port` of a node URL.
fn socket(url: &str) -> std::net::SocketAddr {
    let url = url::Url::parse(url).unwrap();
    let port = url.port_or_known_default().unwrap();
    format!("{}:{port}", url.host_str().unwrap()).parse().unwrap()
}

pub(crate) fn word(text: &str) -> B256 {
    B256::from(text.parse::<U256>().unwrap().to_be_bytes::<32>())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn from_hex(text: &str) -> Vec<u8> {
    let digits = text.trim_start_matches("0x");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}
