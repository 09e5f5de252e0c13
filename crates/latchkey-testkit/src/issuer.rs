//! A token issuer for tests of crates that accept end-user JWTs: one ES256 key, its JWKS
//! served on 127.0.0.1 over HTTP, and tokens for any subject.

use std::net::SocketAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};
use url::Url;

use latchkey_auth::{JwtConfig, JwtVerifier};

/// Issuer name in the tokens.
pub const ISSUER: &str = "https://issuer.test";
/// Audience in the tokens.
pub const AUDIENCE: &str = "latchkey-test";
const KID: &str = "test-es256";

/// A running test issuer; the JWKS server stops when it is dropped.
pub struct TestIssuer {
    address: SocketAddr,
    key: EncodingKey,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestIssuer {
    /// Generates a key and serves its JWKS at `http://127.0.0.1:<port>/jwks`.
    pub async fn start() -> std::io::Result<Self> {
        let signing = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let point = signing.verifying_key().to_encoded_point(false);
        let coordinate = |c: Option<&p256::FieldBytes>| {
            URL_SAFE_NO_PAD.encode(c.map(|b| b.as_slice()).unwrap_or_default())
        };
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KID,
            "x": coordinate(point.x()), "y": coordinate(point.y()),
        }]});
        let der = signing.to_pkcs8_der().map_err(|e| std::io::Error::other(e.to_string()))?;
        let key = EncodingKey::from_ec_der(der.as_bytes());
        let app = axum::Router::new()
            .route("/jwks", axum::routing::get(move || async move { axum::Json(jwks) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, key, server })
    }

    /// Where the JWKS is served.
    pub fn jwks_url(&self) -> Url {
        // A literal loopback URL always parses.
        Url::parse(&format!("http://{}/jwks", self.address)).unwrap_or_else(|_| unreachable!())
    }

    /// A verifier configured for this issuer.
    pub fn verifier(&self) -> latchkey_auth::Result<JwtVerifier> {
        JwtVerifier::new(JwtConfig::new(self.jwks_url(), ISSUER, [AUDIENCE]))
    }

    /// A token for `subject`, valid for an hour.
    pub fn token(&self, subject: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.token_with(
            json!({"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600}),
        )
    }

    /// A token with arbitrary claims, signed by the issuer's key.
    pub fn token_with(&self, claims: Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.into());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap_or_default()
    }
}
