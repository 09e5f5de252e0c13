//! Reading the credentials the Chipi SDK sends: `x-api-key: pk_…` on every request, and
//! `Authorization: Bearer <sk_… | end-user JWT>` on authenticated ones.

use crate::api_key::{is_valid_public_key, SecretKey};
use crate::error::{AuthError, Result};

/// What an `Authorization: Bearer …` header carries.
#[derive(Debug)]
pub enum BearerCredential<'a> {
    /// A server-side caller's secret API key (`sk_…`), format-checked but not yet looked up.
    SecretKey(SecretKey),
    /// Anything else: an end-user JWT, to be checked by
    /// [`JwtVerifier::verify`](crate::JwtVerifier::verify).
    Jwt(&'a str),
}

/// Checks the `x-api-key` header value: absent or blank gives
/// [`AuthError::MissingApiKey`], a value that is not a public key gives
/// [`AuthError::InvalidApiKey`]. Returns the key for lookup.
pub fn public_key_from_header(value: Option<&str>) -> Result<&str> {
    let key = value.map(str::trim).filter(|v| !v.is_empty()).ok_or(AuthError::MissingApiKey)?;
    if is_valid_public_key(key) {
        Ok(key)
    } else {
        Err(AuthError::InvalidApiKey)
    }
}

/// Splits an `Authorization` header value into a secret key or a JWT.
///
/// The scheme must be `Bearer` (any case, RFC 9110). A credential starting with `sk_`
/// must have the secret-key format, otherwise [`AuthError::InvalidApiKey`]; a missing
/// header or credential gives [`AuthError::InvalidToken`].
pub fn bearer_from_header(value: Option<&str>) -> Result<BearerCredential<'_>> {
    let value = value.ok_or(AuthError::invalid_token("missing bearer token"))?;
    let (scheme, credential) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::invalid_token("malformed authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::invalid_token("authorization scheme is not Bearer"));
    }
    let credential = credential.trim_start_matches(' ');
    if credential.is_empty() {
        return Err(AuthError::invalid_token("missing bearer token"));
    }
    if credential.starts_with("sk_") {
        SecretKey::parse(credential.to_owned()).map(BearerCredential::SecretKey)
    } else {
        Ok(BearerCredential::Jwt(credential))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_api_key_header() {
        let pk = format!("pk_prod_{}", "a".repeat(32));
        assert_eq!(public_key_from_header(Some(&pk)), Ok(pk.as_str()));
        assert_eq!(public_key_from_header(None), Err(AuthError::MissingApiKey));
        assert_eq!(public_key_from_header(Some("  ")), Err(AuthError::MissingApiKey));
        assert_eq!(public_key_from_header(Some("pk_test_abc")), Err(AuthError::InvalidApiKey));
        let sk = format!("sk_prod_{}", "a".repeat(32));
        assert_eq!(public_key_from_header(Some(&sk)), Err(AuthError::InvalidApiKey));
    }

    #[test]
    fn bearer_header() {
        let sk = format!("sk_prod_{}", "s".repeat(48));
        let header = format!("Bearer {sk}");
        match bearer_from_header(Some(&header)) {
            Ok(BearerCredential::SecretKey(key)) => assert_eq!(key.expose(), sk),
            other => panic!("expected a secret key, got {other:?}"),
        }
        match bearer_from_header(Some("bearer aaa.bbb.ccc")) {
            Ok(BearerCredential::Jwt(jwt)) => assert_eq!(jwt, "aaa.bbb.ccc"),
            other => panic!("expected a JWT, got {other:?}"),
        }
        // The SDK's own example secret is not a well-formed key.
        assert_eq!(
            bearer_from_header(Some("Bearer sk_prod_secret")).err(),
            Some(AuthError::InvalidApiKey)
        );
        for bad in [None, Some(""), Some("Bearer"), Some("Bearer "), Some("Basic abc")] {
            let err = bearer_from_header(bad).err();
            assert_eq!(err.map(|e| e.code()), Some("INVALID_TOKEN"), "{bad:?}");
        }
    }
}
