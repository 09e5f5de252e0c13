//! An in-process server per test: its own embedded chain, its own fresh database (SQLite
//! or PostgreSQL), a development organisation, the relayer and the router on an
//! ephemeral port, driven over real HTTP.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use latchkey_api::{ApiConfig, AppState, ChainSlot};
use latchkey_auth::{generate_api_keys, hash_api_key, KeyEnvironment};
use latchkey_chain::ChainBackend;
use latchkey_core::{
    parse_felt, payload_hash, sign_proof, to_hex, Felt, ProofPurpose, SessionSignature, SigningKey,
    TypedData,
};
use latchkey_relayer::{Relayer, RelayerConfig};
use latchkey_starknet::StarknetBackend;
use latchkey_starknet_contracts::ACCOUNT;
use latchkey_starknet_devnet::{Devnet, DevnetConfig};
use latchkey_store::{ApiKeyKind, BudgetKey, Store};
use latchkey_testkit::TestDatabase;
use serde_json::{json, Value};

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

pub(crate) fn fresh_key() -> SigningKey {
    let n = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    SigningKey::from_felt(Felt::from(0xa91_0000_0000u64 + n * 104_729)).expect("valid key")
}

/// `key` sealed as the native routes store keys: an `lk1` envelope under a passkey PRF
/// output (`prf`, 32 bytes of it), bound to `kind` and `account`. No Argon2id, so tests
/// that make many wallets stay fast.
pub(crate) fn sealed(
    key: &SigningKey,
    kind: latchkey_core::KeyKind,
    account: Felt,
    prf: u8,
) -> String {
    let binding = latchkey_core::KeyBinding { kind, account, public_key: key.public_key() };
    let secret = latchkey_core::EncryptKey::prf(&[prf; 32]).expect("prf secret");
    latchkey_core::keystore::passkey::seal(key, &secret, &binding, &mut rand::rngs::OsRng)
        .expect("seal")
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// An organisation's credentials.
#[derive(Debug, Clone)]
pub(crate) struct OrgKeys {
    pub(crate) org_id: String,
    pub(crate) public: String,
    pub(crate) secret: String,
}

pub(crate) struct App {
    pub(crate) devnet: Devnet,
    pub(crate) store: Store,
    /// The chain's CAIP-2 id.
    pub(crate) chain: String,
    pub(crate) url: String,
    pub(crate) org: OrgKeys,
    pub(crate) http: reqwest::Client,
    _database: TestDatabase,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A new organisation with a budget of `budget_fri` on `chain`, and its keys.
pub(crate) async fn create_org(store: &Store, chain: &str, budget_fri: u128) -> OrgKeys {
    let org = store.create_organization("test").await.expect("org");
    let key = BudgetKey { org_id: &org.id, chain, unit: "FRI" };
    store.set_gas_budget(key, budget_fri).await.expect("budget");
    let keys = generate_api_keys(KeyEnvironment::Dev, &mut rand::rngs::OsRng);
    let secret = keys.secret_key.expose().to_string();
    store
        .insert_api_key(&org.id, ApiKeyKind::Public, &hash_api_key(&keys.public_key, None), "pk")
        .await
        .expect("public key");
    store
        .insert_api_key(&org.id, ApiKeyKind::Secret, &hash_api_key(&secret, None), "sk")
        .await
        .expect("secret key");
    OrgKeys { org_id: org.id, public: keys.public_key, secret }
}

impl App {
    /// `None` when PostgreSQL is not available on this machine (the store's test
    /// helper prints why, and fails instead when CI requires PostgreSQL).
    pub(crate) async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, ApiConfig::default()).await
    }

    /// A server whose organisation accepts end-user tokens from a test issuer.
    pub(crate) async fn with_issuer(
        backend: Backend,
    ) -> Option<(Self, latchkey_testkit::TestIssuer)> {
        let issuer = latchkey_testkit::TestIssuer::start().await.expect("issuer");
        let config = ApiConfig { allow_loopback_issuers: true, ..ApiConfig::default() };
        let app = Self::start_with(backend, config).await?;
        app.set_issuer(&app.org, &issuer, latchkey_testkit::AUDIENCE).await;
        Some((app, issuer))
    }

    /// Makes `issuer` (with `audience`) the end-user token issuer of `org`.
    pub(crate) async fn set_issuer(
        &self,
        org: &OrgKeys,
        issuer: &latchkey_testkit::TestIssuer,
        audience: &str,
    ) -> (u16, Value) {
        let body = json!({
            "jwksUrl": issuer.jwks_url().to_string(),
            "issuer": latchkey_testkit::ISSUER,
            "audience": audience,
        });
        send(self.req_as(org, reqwest::Method::PUT, "/api/organization/token-issuer").json(&body))
            .await
    }

    pub(crate) async fn start_with(backend: Backend, config: ApiConfig) -> Option<Self> {
        let relayer =
            RelayerConfig { poll_interval: Duration::from_millis(20), ..RelayerConfig::default() };
        let (app, _) = Self::start_on(backend, config, DevnetConfig::default(), relayer).await?;
        Some(app)
    }

    /// A server on a chain started with `devnet`, its relayer configured as `relayer`;
    /// returns the relayer too, for tests that run its passes themselves.
    pub(crate) async fn start_on(
        backend: Backend,
        config: ApiConfig,
        devnet: DevnetConfig,
        relayer: RelayerConfig,
    ) -> Option<(Self, Relayer)> {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite().await,
            Backend::Postgres => TestDatabase::postgres().await?,
        };
        let store = database.store();
        let devnet = Devnet::start_with(devnet).await.expect("devnet");
        let keys = devnet.relayers().iter().map(|r| (r.address, r.key.clone())).collect();
        let class_hash = ACCOUNT.class_hash().unwrap();
        let backend: Arc<dyn ChainBackend> = Arc::new(
            StarknetBackend::new(devnet.client().clone(), class_hash, keys).expect("backend"),
        );
        let relayer =
            Relayer::start(backend.clone(), store.clone(), relayer).await.expect("relayer");
        let driver = relayer.clone();
        let chain = backend.id().to_string();
        let org = create_org(&store, &chain, 10u128.pow(21)).await;
        let tokens = latchkey_starknet::FEE_TOKENS
            .into_iter()
            .map(|(symbol, address)| latchkey_api::KnownToken {
                symbol: symbol.into(),
                address: to_hex(&address),
                decimals: 18,
            })
            .collect();
        let primary = ChainSlot::new(backend, relayer, latchkey_core::to_hex(&class_hash))
            .with_node_url(devnet.url().as_str())
            .with_tokens(tokens);
        let state = AppState::new(store.clone(), primary, vec![], config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = latchkey_api::router(state)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let app = Self {
            chain,
            devnet,
            store,
            url,
            org,
            http: reqwest::Client::new(),
            _database: database,
            server,
        };
        Some((app, driver))
    }

    /// The organisation's budget on the chain, in FRI.
    pub(crate) fn budget_key<'a>(&'a self, org_id: &'a str) -> BudgetKey<'a> {
        BudgetKey { org_id, chain: &self.chain, unit: "FRI" }
    }

    /// The test database's URL.
    pub(crate) fn database_url(&self) -> &str {
        self._database.url()
    }

    pub(crate) fn game(&self) -> Felt {
        self.devnet.game().expect("game")
    }

    /// A request with the organisation's keys.
    pub(crate) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.req_as(&self.org, method, path)
    }

    pub(crate) fn req_as(
        &self,
        org: &OrgKeys,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.url, path))
            .header("x-api-key", &org.public)
            .header("authorization", format!("Bearer {}", org.secret))
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.req(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// A fresh challenge for `purpose`, issued to `request`'s credentials.
    pub(crate) async fn challenge(&self, request: reqwest::RequestBuilder, purpose: &str) -> Felt {
        let (status, body) = send(request.json(&json!({ "purpose": purpose }))).await;
        assert_eq!(status, 201, "{body}");
        parse_felt(body["challenge"].as_str().unwrap()).unwrap()
    }

    /// A proof of possession of `key` for `purpose` on `account` over `payload`, with a
    /// challenge issued to the organisation's secret key.
    pub(crate) async fn proof(
        &self,
        key: &SigningKey,
        purpose: ProofPurpose,
        account: Felt,
        payload: Felt,
    ) -> Value {
        self.proof_as(&self.org, key, purpose, account, payload).await
    }

    /// [`App::proof`] with a challenge issued to `org`'s secret key.
    pub(crate) async fn proof_as(
        &self,
        org: &OrgKeys,
        key: &SigningKey,
        purpose: ProofPurpose,
        account: Felt,
        payload: Felt,
    ) -> Value {
        let request = self.req_as(org, reqwest::Method::POST, "/api/challenges");
        let challenge = self.challenge(request, purpose.as_str()).await;
        self.sign_challenge(key, purpose, account, payload, challenge)
    }

    /// Signs `challenge` as a proof (see [`App::proof`]).
    pub(crate) fn sign_challenge(
        &self,
        key: &SigningKey,
        purpose: ProofPurpose,
        account: Felt,
        payload: Felt,
        challenge: Felt,
    ) -> Value {
        let chain = self.devnet.chain_id();
        let sig = sign_proof(key, &chain, &account, purpose, &challenge, &payload).unwrap();
        json!({ "challenge": to_hex(&challenge), "signature": [to_hex(&sig.r), to_hex(&sig.s)] })
    }

    /// The body of `POST /api/wallets` for `owner`, with its proof of possession.
    pub(crate) async fn wallet_body(&self, owner: &SigningKey, external_user_id: &str) -> Value {
        self.wallet_body_as(&self.org, owner, external_user_id).await
    }

    /// [`App::wallet_body`] for a wallet of `org`.
    pub(crate) async fn wallet_body_as(
        &self,
        org: &OrgKeys,
        owner: &SigningKey,
        external_user_id: &str,
    ) -> Value {
        let address = latchkey_starknet::ChainClient::account_address(
            ACCOUNT.class_hash().unwrap(),
            owner.public_key(),
        );
        let blob = sealed(owner, latchkey_core::KeyKind::Owner, address, 7);
        let proof = self
            .proof_as(
                org,
                owner,
                ProofPurpose::CreateWallet,
                address,
                payload_hash(blob.as_bytes()),
            )
            .await;
        json!({
            "ownerPublicKey": to_hex(&owner.public_key()),
            "encryptedPrivateKey": blob,
            "externalUserId": external_user_id,
            "proof": proof,
        })
    }

    /// Creates (and deploys) a wallet for `owner`.
    pub(crate) async fn create_wallet(&self, owner: &SigningKey, external_user_id: &str) -> Felt {
        let body = self.wallet_body(owner, external_user_id).await;
        let (status, body) = self.call(reqwest::Method::POST, "/api/wallets", Some(body)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["deployed"], true);
        parse_felt(body["address"].as_str().unwrap()).unwrap()
    }

    /// Prepares, signs (owner) and executes calls; waits for the final status.
    pub(crate) async fn owner_execute(
        &self,
        wallet: Felt,
        owner: &SigningKey,
        prepared: Value,
    ) -> Value {
        let typed: TypedData = serde_json::from_value(prepared["typedData"].clone()).unwrap();
        let hash = typed.message_hash(&wallet).unwrap();
        assert_eq!(
            to_hex(&hash),
            prepared["messageHash"].as_str().unwrap(),
            "server and client hash agree"
        );
        let sig = owner.sign(&hash).unwrap();
        self.execute(wallet, &prepared["typedData"], vec![to_hex(&sig.r), to_hex(&sig.s)]).await
    }

    /// Submits a signed execution and waits for its final status.
    pub(crate) async fn execute(
        &self,
        wallet: Felt,
        typed_data: &Value,
        signature: Vec<String>,
    ) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/wallets/{}/execute", to_hex(&wallet)),
                Some(json!({ "typedData": typed_data, "signature": signature })),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        self.wait_final(body["requestId"].as_str().unwrap()).await
    }

    pub(crate) async fn wait_final(&self, request_id: &str) -> Value {
        for _ in 0..500 {
            let (status, body) = self
                .call(reqwest::Method::GET, &format!("/api/transactions/{request_id}"), None)
                .await;
            assert_eq!(status, 200, "{body}");
            let s = body["status"].as_str().unwrap();
            if ["succeeded", "reverted", "rejected", "expired"].contains(&s) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("request {request_id} never reached a final status");
    }

    pub(crate) async fn prepare(&self, wallet: Felt, calls: Value) -> Value {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/wallets/{}/prepare", to_hex(&wallet)),
                Some(json!({ "calls": calls })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Signs prepared typed data with a session key: `[key, r, s, valid_until]`.
    pub(crate) fn session_sign(
        &self,
        wallet: Felt,
        session: &SigningKey,
        valid_until: u64,
        prepared: &Value,
    ) -> Vec<String> {
        let typed: TypedData = serde_json::from_value(prepared["typedData"].clone()).unwrap();
        let hash = typed.message_hash(&wallet).unwrap();
        SessionSignature::sign(session, &hash, valid_until).unwrap().to_hex_strings()
    }

    pub(crate) async fn now(&self) -> u64 {
        self.devnet.client().block_timestamp().await.unwrap()
    }
}

pub(crate) async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("HTTP");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Runs a test body on both backends (PostgreSQL when available).
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::App::start($crate::support::Backend::Sqlite)
                    .await
                    .expect("sqlite");
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) =
                    $crate::support::App::start($crate::support::Backend::Postgres).await
                {
                    ($body)(app).await;
                }
            }
        }
    };
}
