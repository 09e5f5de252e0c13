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
    use proptest::prelude::*;

    use super::*;
    use crate::api_key::is_valid_secret_key;
    use crate::api_key::tests::any_key_text;

    fn any_header() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            any_key_text(),
            ("[ ]{0,2}(Bearer|bearer|BEARER|Basic|)[ ]{0,3}", any_key_text())
                .prop_map(|(scheme, credential)| format!("{scheme}{credential}")),
            "[ ]?Bearer[ ]{1,2}[A-Za-z0-9_.é -]{0,40}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn bearer_from_header_never_panics_and_classifies_the_credential(header in any_header()) {
            match bearer_from_header(Some(&header)) {
                Ok(BearerCredential::SecretKey(key)) => {
                    prop_assert!(is_valid_secret_key(key.expose()));
                    prop_assert!(header.trim_end().ends_with(key.expose()));
                }
                Ok(BearerCredential::Jwt(token)) => {
                    prop_assert!(!token.is_empty() && !token.starts_with("sk_"));
                    prop_assert!(header.trim_end().ends_with(token));
                    let scheme = header.trim_start().get(..6).unwrap_or_default();
                    prop_assert!(scheme.eq_ignore_ascii_case("bearer"));
                }
                Err(err) => prop_assert_eq!(err.http_status(), 401),
            }
        }

        #[test]
        fn public_key_from_header_returns_only_valid_keys(header in any_header()) {
            match public_key_from_header(Some(&header)) {
                Ok(key) => {
                    prop_assert!(is_valid_public_key(key));
                    prop_assert_eq!(key, header.trim());
                }
                Err(AuthError::MissingApiKey) => prop_assert!(header.trim().is_empty()),
                Err(err) => prop_assert_eq!(err, AuthError::InvalidApiKey),
            }
        }
    }

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
