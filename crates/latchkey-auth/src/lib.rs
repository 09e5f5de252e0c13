//! Authentication for the latchkey API, wire-compatible with the Chipi SDK: `pk_`/`sk_`
//! API keys (generation, format checks, storage hashes) and verification of end-user JWTs
//! against an issuer's JWKS with pinned algorithms, required claims and a rate-limited,
//! never-fail-open key cache.
//!
//! The SDK sends `x-api-key: pk_…` on every request ([`public_key_from_header`]) and
//! `Authorization: Bearer <sk_… | JWT>` when acting for a caller
//! ([`bearer_from_header`]). Secret keys are looked up by [`hash_api_key`]; JWTs go to
//! [`JwtVerifier::verify`]. Every failure is an [`AuthError`] with a stable
//! [`code`](AuthError::code) for the HTTP layer.
//!
//! Issuing keys: show the secret once, store only its hash.
//!
//! ```
//! use latchkey_auth::{api_key_matches, generate_api_keys, is_valid_public_key, KeyEnvironment};
//!
//! let pair = generate_api_keys(KeyEnvironment::Prod, &mut rand::rngs::OsRng);
//! assert!(is_valid_public_key(&pair.public_key));
//! let stored = pair.secret_key.hash(Some(b"server pepper"));
//! assert!(api_key_matches(pair.secret_key.expose(), Some(b"server pepper"), &stored));
//! assert!(!format!("{:?}", pair.secret_key).contains(pair.secret_key.expose()));
//! ```
//!
//! Verifying an end user's token:
//!
//! ```no_run
//! use latchkey_auth::{bearer_from_header, BearerCredential, JwtConfig, JwtVerifier};
//!
//! # async fn handle(authorization: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
//! let jwks = "https://issuer.example/.well-known/jwks.json".parse()?;
//! let verifier = JwtVerifier::new(JwtConfig::new(jwks, "https://issuer.example", ["my-api"]))?;
//! if let BearerCredential::Jwt(token) = bearer_from_header(authorization)? {
//!     let user = verifier.verify(token).await?;
//!     println!("request from {}", user.subject);
//! }
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod api_key;
mod clock;
mod credentials;
mod error;
mod jwks;
mod jwt;
mod operator;

pub use api_key::{
    api_key_matches, display_prefix, generate_api_keys, hash_api_key, is_valid_public_key,
    is_valid_secret_key, ApiKeyPair, KeyEnvironment, SecretKey, DISPLAY_RANDOM_CHARS,
    MIN_KEY_RANDOM_LEN, PUBLIC_KEY_RANDOM_LEN, SECRET_KEY_RANDOM_LEN,
};
pub use clock::{Clock, SystemClock};
pub use credentials::{bearer_from_header, public_key_from_header, BearerCredential};
pub use error::{codes, AuthError, Result};
/// The signature algorithm type used in [`JwtConfig::algorithms`].
pub use jsonwebtoken::Algorithm;
pub use jwt::{
    JwtConfig, JwtVerifier, VerifiedUser, MAX_KID_BYTES, MAX_LEEWAY_SECS, MAX_TOKEN_BYTES,
    MIN_REFRESH_INTERVAL_FLOOR,
};
pub use operator::{
    is_operator_token, operator_token_prefix, OperatorToken, OPERATOR_TOKEN_PREFIX,
};
