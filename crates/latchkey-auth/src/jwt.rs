//! End-user JWT verification against an issuer's JWKS, following RFC 8725.
//!
//! The checks, in order, for each token:
//!
//! 1. size: a token over [`MAX_TOKEN_BYTES`] is refused before it is parsed;
//! 2. header: exactly three dot-separated parts; `alg` must be one of the configured
//!    asymmetric algorithms (`none` and `HS*` never are); `crit` is refused; `kid` is
//!    required and at most [`MAX_KID_BYTES`] long. `jku`, `x5u`, `jwk` and `x5c` are
//!    ignored: keys come only from the configured JWKS URL;
//! 3. key: the `kid` is looked up in the cached JWKS (see [`JwtVerifier`] for the caching
//!    rules) and the header `alg` must be one the key's `kty`/`crv`/`alg` allows;
//! 4. signature, then claims: `iss` equal to the configured issuer, `aud` (string or array)
//!    containing a configured audience, `sub` a non-empty string, `exp` required, `nbf`
//!    honoured when present, both with the configured leeway.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::{Host, Url};

use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, Result};
use crate::jwks::{fetch_jwks, KeyMap, VerifyKey};

pub use crate::jwks::MAX_KID_BYTES;

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Largest allowed [`JwtConfig::leeway_secs`].
pub const MAX_LEEWAY_SECS: u64 = 60;
/// Shortest allowed [`JwtConfig::min_refresh_interval`].
pub const MIN_REFRESH_INTERVAL_FLOOR: Duration = Duration::from_secs(1);

/// Algorithms a verifier may be configured with: the asymmetric ones jsonwebtoken supports.
const ASYMMETRIC_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How end-user tokens are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// Where the issuer publishes its signing keys. Must be `https`, or `http` to a
    /// loopback address.
    pub jwks_url: Url,
    /// The exact `iss` tokens must carry.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one.
    pub audiences: Vec<String>,
    /// Accepted signature algorithms; default `[RS256, ES256]`. `HS*` are refused.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed on `exp` and `nbf`, at most [`MAX_LEEWAY_SECS`]; default 30.
    pub leeway_secs: u64,
    /// Least time between two JWKS fetches, whatever triggers them; default 60 s.
    pub min_refresh_interval: Duration,
    /// How long a fetched JWKS is used before it must be fetched again; default 10 min.
    pub cache_ttl: Duration,
    /// Time limit for one JWKS request, body included; default 5 s.
    pub http_timeout: Duration,
}

impl JwtConfig {
    /// A configuration with the default algorithms, leeway and cache timings.
    pub fn new(
        jwks_url: Url,
        issuer: impl Into<String>,
        audiences: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            jwks_url,
            issuer: issuer.into(),
            audiences: audiences.into_iter().map(Into::into).collect(),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256],
            leeway_secs: 30,
            min_refresh_interval: Duration::from_secs(60),
            cache_ttl: Duration::from_secs(600),
            http_timeout: Duration::from_secs(5),
        }
    }

    fn check(&self) -> Result<()> {
        let fail = |why: &str| Err(AuthError::Config(why.to_owned()));
        match (self.jwks_url.scheme(), self.jwks_url.host()) {
            ("https", Some(_)) => {}
            ("http", Some(host)) if is_loopback(&host) => {}
            _ => return fail("jwks_url must be https (or http to a loopback address)"),
        }
        if self.issuer.is_empty() {
            return fail("issuer must not be empty");
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return fail("audiences must be a non-empty list of non-empty strings");
        }
        if self.algorithms.is_empty() {
            return fail("algorithms must not be empty");
        }
        if let Some(alg) = self.algorithms.iter().find(|a| !ASYMMETRIC_ALGORITHMS.contains(a)) {
            return Err(AuthError::Config(format!(
                "algorithm {alg:?} is not allowed: only asymmetric signatures are accepted"
            )));
        }
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return fail("leeway_secs must be at most 60");
        }
        if self.min_refresh_interval < MIN_REFRESH_INTERVAL_FLOOR {
            return fail("min_refresh_interval must be at least 1 s");
        }
        if self.cache_ttl < self.min_refresh_interval {
            return fail("cache_ttl must be at least min_refresh_interval");
        }
        if self.http_timeout.is_zero() {
            return fail("http_timeout must be positive");
        }
        Ok(())
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The identity a valid token establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser {
    /// The token's `sub`: the user's id at the issuer.
    pub subject: String,
    /// The token's `iss`.
    pub issuer: String,
    /// The token's `exp`, in seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Verifies end-user JWTs. Cloning is cheap and clones share one JWKS cache.
///
/// JWKS caching rules:
///
/// * The JWKS is fetched on first use and then served from memory for
///   [`JwtConfig::cache_ttl`] after each successful fetch.
/// * At most one fetch is started per [`JwtConfig::min_refresh_interval`], counting failed
///   attempts, whatever triggered it; concurrent callers wait for the fetch in progress
///   instead of starting their own.
/// * A token whose `kid` is not in a fresh cache triggers a refresh if the interval allows,
///   otherwise it is refused. A key absent from the newest JWKS is refused.
/// * If a fetch fails or times out, the keys already cached keep working until their TTL
///   ends; unknown kids are refused with [`AuthError::InvalidToken`]. Once the TTL has
///   passed without a successful fetch, every token is refused with
///   [`AuthError::JwksUnavailable`]: the verifier never fails open.
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    config: JwtConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    validation: Validation,
    cache: RwLock<CacheState>,
    /// Held while a JWKS fetch is in flight, so fetches never run concurrently.
    fetch_lock: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct CacheState {
    keys: Option<CachedKeys>,
    /// Monotonic time the last fetch started, successful or not.
    last_attempt: Option<Duration>,
}

struct CachedKeys {
    keys: Arc<KeyMap>,
    fetched_at: Duration,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

/// What a look-up in the cache found.
enum Lookup {
    Found(Arc<VerifyKey>),
    /// The cache is fresh but has no such kid.
    Unknown,
    /// Nothing is cached, or the cache is past its TTL.
    Stale,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<u64>,
    nbf: Option<u64>,
}

impl JwtVerifier {
    /// Checks `config` and builds a verifier using the system clock. No request is made
    /// until the first token is verified (or [`JwtVerifier::prefetch`] is called).
    pub fn new(config: JwtConfig) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock::new()))
    }

    /// As [`JwtVerifier::new`], reading time from `clock`.
    pub fn with_clock(config: JwtConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        config.check()?;
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AuthError::Config(format!("cannot build the HTTP client: {e}")))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&config.audiences);
        validation.validate_aud = true;
        validation.leeway = config.leeway_secs;
        // Time claims are checked against `clock` in `check_claims`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                http,
                clock,
                validation,
                cache: RwLock::new(CacheState::default()),
                fetch_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &JwtConfig {
        &self.inner.config
    }

    /// Fetches the JWKS now if nothing fresh is cached (subject to the refresh interval)
    /// and returns how many usable keys are cached. Useful to warm the cache at start-up.
    pub async fn prefetch(&self) -> Result<usize> {
        if let Some(keys) = self.fresh_keys() {
            return Ok(keys.len());
        }
        let _fetching = self.inner.fetch_lock.lock().await;
        if let Some(keys) = self.fresh_keys() {
            return Ok(keys.len());
        }
        if !self.try_start_attempt() {
            return Err(AuthError::JwksUnavailable);
        }
        match self.refresh().await {
            Some(keys) => Ok(keys.len()),
            None => Err(AuthError::JwksUnavailable),
        }
    }

    /// Verifies `token` (the bare JWT, without `Bearer `) and returns who it identifies.
    pub async fn verify(&self, token: &str) -> Result<VerifiedUser> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::invalid_token("token too large"));
        }
        let (alg, kid) = self.check_header(token)?;
        let key = self.key_for(&kid).await?;
        if !key.algorithms.contains(&alg) {
            return Err(AuthError::invalid_token("algorithm not allowed for this key"));
        }
        let mut validation = self.inner.validation.clone();
        validation.algorithms = vec![alg];
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|e| map_decode_error(e.kind()))?;
        self.check_claims(data.claims)
    }

    /// Parses the header and returns its algorithm and key id.
    fn check_header(&self, token: &str) -> Result<(Algorithm, String)> {
        let mut parts = token.split('.');
        let (Some(header), Some(_payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::invalid_token("malformed token"));
        };
        if signature.is_empty() {
            return Err(AuthError::invalid_token("unsigned token"));
        }
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
            .ok_or(AuthError::invalid_token("malformed header"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(AuthError::invalid_token("missing alg"))?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(AuthError::invalid_token("unsigned token"));
        }
        let alg: Algorithm =
            alg.parse().map_err(|_| AuthError::invalid_token("unsupported algorithm"))?;
        if !self.inner.config.algorithms.contains(&alg) {
            return Err(AuthError::invalid_token("algorithm not allowed"));
        }
        if header.contains_key("crit") {
            return Err(AuthError::invalid_token("unsupported critical header"));
        }
        let kid = match header.get("kid") {
            None => return Err(AuthError::invalid_token("missing kid")),
            Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => {
                kid.clone()
            }
            Some(_) => return Err(AuthError::invalid_token("invalid kid")),
        };
        Ok((alg, kid))
    }

    fn check_claims(&self, claims: Claims) -> Result<VerifiedUser> {
        let config = &self.inner.config;
        let (Some(sub), Some(iss), Some(aud), Some(exp)) =
            (claims.sub, claims.iss, claims.aud, claims.exp)
        else {
            return Err(AuthError::invalid_token("missing required claim"));
        };
        if iss != config.issuer {
            return Err(AuthError::invalid_token("wrong issuer"));
        }
        let ours = |a: &String| config.audiences.contains(a);
        let audience_ok = match &aud {
            Audience::One(a) => ours(a),
            Audience::Many(list) => list.iter().any(ours),
        };
        if !audience_ok {
            return Err(AuthError::invalid_token("wrong audience"));
        }
        if sub.is_empty() {
            return Err(AuthError::invalid_token("empty subject"));
        }
        let now = self.inner.clock.unix_seconds();
        let leeway = config.leeway_secs;
        if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(AuthError::invalid_token("token not yet valid"));
        }
        if exp.saturating_add(leeway) < now {
            return Err(AuthError::TokenExpired);
        }
        Ok(VerifiedUser { subject: sub, issuer: iss, expires_at: exp })
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, CacheState> {
        self.inner.cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, CacheState> {
        self.inner.cache.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh_keys(&self) -> Option<Arc<KeyMap>> {
        let now = self.inner.clock.monotonic();
        let state = self.read_cache();
        state
            .keys
            .as_ref()
            .filter(|c| now.saturating_sub(c.fetched_at) < self.inner.config.cache_ttl)
            .map(|c| Arc::clone(&c.keys))
    }

    fn lookup(&self, kid: &str) -> Lookup {
        match self.fresh_keys() {
            None => Lookup::Stale,
            Some(keys) => keys.get(kid).map_or(Lookup::Unknown, |k| Lookup::Found(Arc::clone(k))),
        }
    }

    /// Records a fetch attempt if the refresh interval allows one now.
    fn try_start_attempt(&self) -> bool {
        let now = self.inner.clock.monotonic();
        let mut state = self.write_cache();
        let allowed = state
            .last_attempt
            .is_none_or(|last| now.saturating_sub(last) >= self.inner.config.min_refresh_interval);
        if allowed {
            state.last_attempt = Some(now);
        }
        allowed
    }

    /// Fetches the JWKS and replaces the cache on success. The caller holds `fetch_lock`
    /// and has recorded the attempt.
    async fn refresh(&self) -> Option<Arc<KeyMap>> {
        let config = &self.inner.config;
        match fetch_jwks(&self.inner.http, &config.jwks_url, &config.algorithms).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let fetched_at = self.inner.clock.monotonic();
                tracing::debug!(url = %config.jwks_url, keys = keys.len(), "JWKS refreshed");
                if keys.is_empty() {
                    tracing::warn!(url = %config.jwks_url, "JWKS has no usable keys");
                }
                self.write_cache().keys = Some(CachedKeys { keys: Arc::clone(&keys), fetched_at });
                Some(keys)
            }
            Err(error) => {
                tracing::warn!(url = %config.jwks_url, %error, "JWKS fetch failed");
                None
            }
        }
    }

    async fn key_for(&self, kid: &str) -> Result<Arc<VerifyKey>> {
        if let Lookup::Found(key) = self.lookup(kid) {
            return Ok(key);
        }
        let _fetching = self.inner.fetch_lock.lock().await;
        // Another caller may have refreshed while this one waited.
        let seen = self.lookup(kid);
        let stale = match seen {
            Lookup::Found(key) => return Ok(key),
            Lookup::Unknown => false,
            Lookup::Stale => true,
        };
        if !self.try_start_attempt() {
            return Err(if stale {
                AuthError::JwksUnavailable
            } else {
                AuthError::invalid_token("unknown kid")
            });
        }
        if self.refresh().await.is_none() && stale {
            return Err(AuthError::JwksUnavailable);
        }
        match self.lookup(kid) {
            Lookup::Found(key) => Ok(key),
            Lookup::Unknown => Err(AuthError::invalid_token("unknown kid")),
            Lookup::Stale => Err(AuthError::JwksUnavailable),
        }
    }
}

fn map_decode_error(kind: &ErrorKind) -> AuthError {
    AuthError::invalid_token(match kind {
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "algorithm not allowed",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::MissingRequiredClaim(_) => "missing required claim",
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => "malformed claims",
        ErrorKind::ExpiredSignature => return AuthError::TokenExpired,
        ErrorKind::ImmatureSignature => "token not yet valid",
        _ => "malformed token",
    })
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use jsonwebtoken::{EncodingKey, Header};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::jwks::parse_jwks;

    const ISSUER: &str = "https://issuer.example";
    const AUDIENCE: &str = "latchkey";
    const KID: &str = "k1";
    /// 2026-01-01T00:00:00Z.
    const NOW: u64 = 1_767_225_600;

    /// A clock that never moves, so the cached keys stay fresh and no refresh is due.
    #[derive(Debug)]
    struct FrozenClock;

    impl Clock for FrozenClock {
        fn unix_seconds(&self) -> u64 {
            NOW
        }

        fn monotonic(&self) -> Duration {
            Duration::from_secs(1_000)
        }
    }

    /// A verifier whose cache holds one ES256 key under [`KID`] and which may not fetch
    /// (a fetch was just attempted), the key that signs for it, and a runtime to drive it.
    struct Fixture {
        verifier: JwtVerifier,
        signing: EncodingKey,
        runtime: tokio::runtime::Runtime,
    }

    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            use p256::pkcs8::EncodePrivateKey;
            let key = p256::ecdsa::SigningKey::from_slice(&[0x5a; 32]).unwrap();
            let point = key.verifying_key().to_encoded_point(false);
            let jwk = json!({
                "kty": "EC",
                "crv": "P-256",
                "kid": KID,
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            });
            let body = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap();
            let keys = parse_jwks(&body, &[Algorithm::ES256]).unwrap();
            // Port 9 (discard) on loopback: a fetch, were one made, would fail at once.
            let url = Url::parse("http://127.0.0.1:9/jwks").unwrap();
            let verifier = JwtVerifier::with_clock(
                JwtConfig::new(url, ISSUER, [AUDIENCE]),
                Arc::new(FrozenClock),
            )
            .unwrap();
            {
                let mut state = verifier.write_cache();
                let now = FrozenClock.monotonic();
                state.keys = Some(CachedKeys { keys: Arc::new(keys), fetched_at: now });
                state.last_attempt = Some(now);
            }
            let signing = EncodingKey::from_ec_der(key.to_pkcs8_der().unwrap().as_bytes());
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            Fixture { verifier, signing, runtime }
        })
    }

    fn verify(token: &str) -> Result<VerifiedUser> {
        let fixture = fixture();
        fixture.runtime.block_on(fixture.verifier.verify(token))
    }

    fn claims(subject: &Value) -> Value {
        json!({ "sub": subject, "iss": ISSUER, "aud": AUDIENCE, "exp": NOW + 600 })
    }

    fn sign(claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(&header, claims, &fixture().signing).unwrap()
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn small_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            prop::sample::select(vec![KID, ISSUER, AUDIENCE, "ES256", "none"])
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::vec(("[a-z]{1,4}", inner), 0..3)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// Header segments: mostly the right `alg` and `kid`, also wrong ones, odd extra
    /// fields, duplicate keys and arbitrary JSON, bytes or text.
    fn header_segment() -> impl Strategy<Value = String> {
        let alg = prop_oneof![
            3 => Just("ES256"),
            1 => prop::sample::select(vec!["RS256", "EdDSA", "HS256", "none", "NONE", "es256", ""]),
        ];
        let kid = prop_oneof![
            3 => Just(Value::from(KID)),
            1 => small_json(),
            1 => "x{250,260}".prop_map(Value::from),
        ];
        prop_oneof![
            6 => (alg, kid, prop::option::of(small_json())).prop_map(|(alg, kid, extra)| {
                let mut header = json!({ "alg": alg, "kid": kid });
                if let (Some(Value::Object(extra)), Some(map)) = (extra, header.as_object_mut()) {
                    map.extend(extra);
                }
                b64(serde_json::to_vec(&header).unwrap())
            }),
            1 => prop::sample::select(vec![
                r#"{"alg":"ES256","kid":"k1","kid":"k2"}"#,
                r#"{"alg":"ES256","alg":"none","kid":"k1"}"#,
                r#"{"alg":"ES256","kid":"k1","crit":["exp"]}"#,
                r#"{"alg":"ES256","kid":"k1","jwk":"x"}"#,
                r#"{"alg":"ES256","kid":"k1"} "#,
                r#"[{"alg":"ES256","kid":"k1"}]"#,
            ])
            .prop_map(b64),
            1 => small_json().prop_map(|v| b64(serde_json::to_vec(&v).unwrap())),
            1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(b64),
            1 => any::<String>(),
        ]
    }

    /// Payload segments: mostly claims with one field replaced by arbitrary JSON, also
    /// other JSON, bytes and text.
    fn payload_segment() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (prop::sample::select(vec!["sub", "iss", "aud", "exp", "nbf"]), small_json())
                .prop_map(|(field, value)| {
                    let mut claims = claims(&Value::from("user-1"));
                    claims[field] = value;
                    b64(serde_json::to_vec(&claims).unwrap())
                }),
            1 => small_json().prop_map(|v| b64(serde_json::to_vec(&v).unwrap())),
            1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(b64),
            1 => any::<String>(),
        ]
    }

    /// Tokens that cannot carry a valid signature: arbitrary text, and three segments
    /// built from the strategies above with a random signature.
    fn any_token() -> impl Strategy<Value = String> {
        let signature = prop_oneof![
            3 => prop::collection::vec(any::<u8>(), 64).prop_map(b64),
            1 => prop::collection::vec(any::<u8>(), 0..80).prop_map(b64),
            1 => any::<String>(),
        ];
        prop_oneof![
            1 => any::<String>(),
            1 => "[A-Za-z0-9_.=+/-]{0,200}",
            6 => (header_segment(), payload_segment(), signature)
                .prop_map(|(header, payload, signature)| format!("{header}.{payload}.{signature}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn check_header_never_panics_and_returns_a_configured_alg_and_kid(token in any_token()) {
            if let Ok((alg, kid)) = fixture().verifier.check_header(&token) {
                prop_assert!(fixture().verifier.config().algorithms.contains(&alg));
                prop_assert!(!kid.is_empty() && kid.len() <= MAX_KID_BYTES);
            }
        }

        #[test]
        fn verify_refuses_arbitrary_tokens(token in any_token()) {
            let result = verify(&token);
            prop_assert!(result.is_err(), "{:?}", result);
            let err = result.unwrap_err();
            prop_assert!(err.http_status() == 401, "{}", err);
            prop_assert!(token.len() < 12 || !err.to_string().contains(&token));
        }

        #[test]
        fn verify_refuses_any_single_character_change_to_a_valid_token(
            index in any::<prop::sample::Index>(),
            replacement in prop::sample::select(
                vec!['A', 'B', 'a', 'z', '0', '9', '-', '_', '.', '=', 'é'],
            ),
            insert in any::<bool>(),
        ) {
            let token = sign(&claims(&Value::from("user-1")));
            let mut chars: Vec<char> = token.chars().collect();
            let at = index.index(chars.len());
            if insert {
                chars.insert(at, replacement);
            } else {
                chars[at] = replacement;
            }
            let changed: String = chars.into_iter().collect();
            prop_assume!(changed != token);
            prop_assert!(verify(&changed).is_err());
        }

        #[test]
        fn signed_tokens_with_bad_claims_are_refused(
            field in prop::sample::select(vec!["sub", "iss", "aud", "exp", "nbf"]),
            value in prop_oneof![
                small_json(),
                (NOW - 100..NOW + 100).prop_map(Value::from),
                Just(json!([AUDIENCE, 5])),
                Just(json!(["other", AUDIENCE])),
            ],
        ) {
            let mut claims = claims(&Value::from("user-1"));
            claims[field] = value.clone();
            let result = verify(&sign(&claims));
            let leeway = 30;
            // The checks that keep a token out, whatever else it holds.
            let passes = match field {
                "sub" => value.as_str().is_some_and(|s| !s.is_empty()),
                "iss" => value == ISSUER,
                "aud" => {
                    value == AUDIENCE
                        || value.as_array().is_some_and(|l| l.contains(&Value::from(AUDIENCE)))
                }
                "exp" => value.as_u64().is_some_and(|exp| exp.saturating_add(leeway) >= NOW),
                _ => value.as_u64().is_none_or(|nbf| nbf <= NOW + leeway),
            };
            if !passes {
                prop_assert!(result.is_err(), "{} = {}: {:?}", field, value, result);
            }
            if let Ok(user) = result {
                prop_assert!(!user.subject.is_empty());
                prop_assert_eq!(user.issuer, ISSUER);
                prop_assert!(user.expires_at.saturating_add(leeway) >= NOW);
            }
        }

        #[test]
        fn valid_tokens_round_trip_any_subject(subject in any::<String>()) {
            let result = verify(&sign(&claims(&Value::from(subject.as_str()))));
            if subject.is_empty() {
                prop_assert_eq!(result, Err(AuthError::invalid_token("empty subject")));
            } else {
                let user = result.unwrap();
                prop_assert_eq!(user.subject, subject);
                prop_assert_eq!(user.issuer, ISSUER);
                prop_assert_eq!(user.expires_at, NOW + 600);
            }
        }
    }

    #[test]
    fn oversized_and_unknown_kid_tokens_are_refused_without_a_fetch() {
        let huge = format!("{}.{}.{}", "a".repeat(MAX_TOKEN_BYTES), "b", "c");
        assert_eq!(verify(&huge), Err(AuthError::invalid_token("token too large")));
        let header = b64(br#"{"alg":"ES256","kid":"not-in-the-jwks"}"#);
        let token = format!("{header}.{}.{}", b64(b"{}"), b64([1u8; 64]));
        assert_eq!(verify(&token), Err(AuthError::invalid_token("unknown kid")));
        // The fixture's token itself is accepted.
        assert!(verify(&sign(&claims(&Value::from("user-1")))).is_ok());
    }

    fn config() -> JwtConfig {
        let url = Url::parse("https://issuer.example/.well-known/jwks.json").unwrap();
        JwtConfig::new(url, "https://issuer.example", ["latchkey"])
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = config();
        assert_eq!(c.algorithms, vec![Algorithm::RS256, Algorithm::ES256]);
        assert_eq!(c.leeway_secs, 30);
        assert_eq!(c.min_refresh_interval, Duration::from_secs(60));
        assert_eq!(c.cache_ttl, Duration::from_secs(600));
        assert_eq!(c.http_timeout, Duration::from_secs(5));
        assert!(JwtVerifier::new(c).is_ok());
    }

    #[test]
    fn unsafe_configurations_are_refused() {
        type Mutation = fn(&mut JwtConfig);
        let cases: [(&str, Mutation); 13] = [
            ("HS256", |c| c.algorithms = vec![Algorithm::HS256]),
            ("HS384 mixed", |c| c.algorithms.push(Algorithm::HS384)),
            ("HS512", |c| c.algorithms = vec![Algorithm::HS512]),
            ("no algorithms", |c| c.algorithms.clear()),
            ("leeway", |c| c.leeway_secs = 61),
            ("no audience", |c| c.audiences.clear()),
            ("empty audience", |c| c.audiences.push(String::new())),
            ("empty issuer", |c| c.issuer.clear()),
            ("refresh 0", |c| c.min_refresh_interval = Duration::ZERO),
            ("ttl < refresh", |c| c.cache_ttl = Duration::from_secs(59)),
            ("timeout 0", |c| c.http_timeout = Duration::ZERO),
            ("plain http", |c| c.jwks_url = Url::parse("http://issuer.example/jwks").unwrap()),
            ("file url", |c| c.jwks_url = Url::parse("file:///etc/jwks").unwrap()),
        ];
        for (name, mutate) in cases {
            let mut c = config();
            mutate(&mut c);
            let err = JwtVerifier::new(c).err();
            assert_eq!(err.as_ref().map(AuthError::code), Some("AUTH_CONFIG_INVALID"), "{name}");
        }
        for ok in ["http://127.0.0.1:1/jwks", "http://localhost/jwks", "http://[::1]:9/jwks"] {
            let mut c = config();
            c.jwks_url = Url::parse(ok).unwrap();
            assert!(JwtVerifier::new(c).is_ok(), "{ok}");
        }
        let mut c = config();
        c.leeway_secs = 60;
        c.algorithms = ASYMMETRIC_ALGORITHMS.to_vec();
        assert!(JwtVerifier::new(c).is_ok());
    }

    #[test]
    fn decode_errors_never_fail_open() {
        assert_eq!(map_decode_error(&ErrorKind::ExpiredSignature), AuthError::TokenExpired);
        for kind in [
            ErrorKind::InvalidSignature,
            ErrorKind::InvalidToken,
            ErrorKind::InvalidAlgorithm,
            ErrorKind::InvalidAudience,
            ErrorKind::MissingRequiredClaim("aud".into()),
        ] {
            assert_eq!(map_decode_error(&kind).code(), "INVALID_TOKEN");
        }
    }
}
