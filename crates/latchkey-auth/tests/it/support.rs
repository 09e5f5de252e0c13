//! Test fixtures: a JWKS server on 127.0.0.1 that counts requests, generated signing keys,
//! token builders and a manual clock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_auth::{Clock, JwtConfig, JwtVerifier};
use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng};
use serde_json::{json, Value};
use url::Url;

pub(crate) const ISSUER: &str = "https://auth.example.test";
pub(crate) const AUDIENCE: &str = "latchkey-api";
/// Unix time the manual clock starts at (2026-01-01T00:00:00Z).
pub(crate) const T0: u64 = 1_767_225_600;
pub(crate) const REFRESH: Duration = Duration::from_secs(60);
pub(crate) const TTL: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------------------------------
// Clock

/// A clock that moves only when told to.
#[derive(Debug)]
pub(crate) struct ManualClock {
    unix: AtomicU64,
    monotonic_ms: AtomicU64,
}

impl ManualClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self { unix: AtomicU64::new(T0), monotonic_ms: AtomicU64::new(0) })
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.unix.fetch_add(by.as_secs(), Ordering::SeqCst);
        self.monotonic_ms.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }

    pub(crate) fn now(&self) -> u64 {
        self.unix.load(Ordering::SeqCst)
    }
}

impl Clock for ManualClock {
    fn unix_seconds(&self) -> u64 {
        self.unix.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_millis(self.monotonic_ms.load(Ordering::SeqCst))
    }
}

// ---------------------------------------------------------------------------------------
// JWKS server

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Serve the current JWKS.
    Serve,
    /// Answer 500.
    Fail,
    /// Hold the request far longer than any verifier timeout used in the tests.
    Hang,
}

#[derive(Clone)]
struct ServerState {
    jwks: Arc<Mutex<Value>>,
    mode: Arc<Mutex<Mode>>,
    hits: Arc<AtomicUsize>,
    uris: Arc<Mutex<Vec<String>>>,
}

/// An HTTP server that answers every path with the configured JWKS and counts requests.
pub(crate) struct JwksServer {
    state: ServerState,
    pub(crate) base: Url,
}

async fn serve_jwks(State(state): State<ServerState>, uri: Uri) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    state.uris.lock().unwrap().push(uri.to_string());
    let mode = *state.mode.lock().unwrap();
    match mode {
        Mode::Serve => Json(state.jwks.lock().unwrap().clone()).into_response(),
        Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(300)).await;
            Json(state.jwks.lock().unwrap().clone()).into_response()
        }
    }
}

impl JwksServer {
    pub(crate) async fn start(keys: &[&Value]) -> Self {
        let state = ServerState {
            jwks: Arc::new(Mutex::new(jwks(keys))),
            mode: Arc::new(Mutex::new(Mode::Serve)),
            hits: Arc::new(AtomicUsize::new(0)),
            uris: Arc::new(Mutex::new(Vec::new())),
        };
        let router = Router::new().fallback(serve_jwks).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let base = Url::parse(&format!("http://{addr}/")).unwrap();
        Self { state, base }
    }

    pub(crate) fn jwks_url(&self) -> Url {
        self.base.join("jwks").unwrap()
    }

    pub(crate) fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    pub(crate) fn uris(&self) -> Vec<String> {
        self.state.uris.lock().unwrap().clone()
    }

    pub(crate) fn set_keys(&self, keys: &[&Value]) {
        *self.state.jwks.lock().unwrap() = jwks(keys);
    }

    pub(crate) fn set_raw(&self, doc: Value) {
        *self.state.jwks.lock().unwrap() = doc;
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// A configuration for this server with the design defaults and an ES256/RS256 list.
    pub(crate) fn config(&self) -> JwtConfig {
        let mut config = JwtConfig::new(self.jwks_url(), ISSUER, [AUDIENCE]);
        config.min_refresh_interval = REFRESH;
        config.cache_ttl = TTL;
        config
    }

    pub(crate) fn verifier(&self, clock: &Arc<ManualClock>) -> JwtVerifier {
        self.verifier_with(self.config(), clock)
    }

    pub(crate) fn verifier_with(&self, config: JwtConfig, clock: &Arc<ManualClock>) -> JwtVerifier {
        JwtVerifier::with_clock(config, clock.clone()).unwrap()
    }
}

pub(crate) fn jwks(keys: &[&Value]) -> Value {
    json!({ "keys": keys })
}

// ---------------------------------------------------------------------------------------
// Keys

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key with its public JWK.
pub(crate) struct TestKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    /// The public key as a JWK (with `kid`, without `alg`).
    pub(crate) jwk: Value,
    /// Byte encodings of the public key an attacker could use as an HMAC secret.
    pub(crate) public_encodings: Vec<Vec<u8>>,
}

impl TestKey {
    /// The public JWK with `alg` set.
    pub(crate) fn jwk_with_alg(&self, alg: &str) -> Value {
        let mut jwk = self.jwk.clone();
        jwk["alg"] = json!(alg);
        jwk
    }
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub(crate) fn es256_key(kid: &str, seed: u64) -> TestKey {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let signing = p256::ecdsa::SigningKey::random(&mut rng(seed));
    let verifying = signing.verifying_key();
    let point = verifying.to_encoded_point(false);
    let jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "use": "sig",
        "x": b64(point.x().unwrap()),
        "y": b64(point.y().unwrap()),
    });
    let der = signing.to_pkcs8_der().unwrap();
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        public_encodings: vec![
            verifying.to_public_key_der().unwrap().as_bytes().to_vec(),
            verifying.to_public_key_pem(LineEnding::LF).unwrap().into_bytes(),
            point.as_bytes().to_vec(),
            serde_json::to_vec(&jwk).unwrap(),
        ],
        jwk,
    }
}

pub(crate) fn eddsa_key(kid: &str, seed: u64) -> TestKey {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let mut secret = [0u8; 32];
    rng(seed).fill_bytes(&mut secret);
    let signing = ed25519_dalek::SigningKey::from_bytes(&secret);
    let public = signing.verifying_key().to_bytes();
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(&public) });
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(signing.to_pkcs8_der().unwrap().as_bytes()),
        public_encodings: vec![public.to_vec()],
        jwk,
    }
}

struct RsaMaterial {
    pkcs1_der: Vec<u8>,
    public_pkcs1_der: Vec<u8>,
    public_pem: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// One 2048-bit RSA key per test binary: generation is slow without optimisation.
fn rsa_material() -> &'static RsaMaterial {
    static RSA: OnceLock<RsaMaterial> = OnceLock::new();
    RSA.get_or_init(|| {
        use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::new(&mut rng(2048), 2048).unwrap();
        let public = rsa::RsaPublicKey::from(&private);
        RsaMaterial {
            pkcs1_der: private.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            public_pkcs1_der: public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
            public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
            n: public.n().to_bytes_be(),
            e: public.e().to_bytes_be(),
        }
    })
}

/// The shared RSA key under `kid`, signing with RS256.
pub(crate) fn rs256_key(kid: &str) -> TestKey {
    let m = rsa_material();
    let jwk = json!({ "kty": "RSA", "kid": kid, "use": "sig", "n": b64(&m.n), "e": b64(&m.e) });
    TestKey {
        kid: kid.to_owned(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(&m.pkcs1_der),
        public_encodings: vec![
            m.public_pkcs1_der.clone(),
            m.public_pem.clone().into_bytes(),
            m.n.clone(),
            serde_json::to_vec(&jwk).unwrap(),
        ],
        jwk,
    }
}

// ---------------------------------------------------------------------------------------
// Tokens

/// Claims valid at `now` for the test issuer and audience.
pub(crate) fn claims(now: u64) -> Value {
    json!({
        "sub": "user-42",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    })
}

/// A header for `key` with its kid.
pub(crate) fn header(key: &TestKey) -> Header {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    header
}

pub(crate) fn sign_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// A token signed by `key` with its own kid and algorithm.
pub(crate) fn sign(key: &TestKey, claims: &Value) -> String {
    sign_with(&header(key), claims, &key.encoding)
}

/// A token with an arbitrary header JSON, an arbitrary claims JSON and the given
/// signature segment, assembled by hand.
pub(crate) fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap()),
        signature
    )
}

/// The code of a verification result: `"OK"` or the error code.
pub(crate) fn outcome<T>(result: &Result<T, latchkey_auth::AuthError>) -> &'static str {
    match result {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}
