//! Fetching a JWK set and turning it into verification keys, each pinned to the
//! algorithms its key type allows.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use url::Url;

/// Largest JWKS response body accepted.
pub(crate) const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Most keys a JWKS may list.
pub(crate) const MAX_JWKS_KEYS: usize = 100;
/// Longest `kid` accepted, in a token header or in the JWKS.
pub const MAX_KID_BYTES: usize = 256;
/// Smallest and largest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 4096;

const RSA_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// A key from the JWKS together with the only algorithms it may verify.
pub(crate) struct VerifyKey {
    pub(crate) decoding: DecodingKey,
    pub(crate) algorithms: Vec<Algorithm>,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey").field("algorithms", &self.algorithms).finish_non_exhaustive()
    }
}

/// The usable keys of one JWKS document, by `kid`.
pub(crate) type KeyMap = HashMap<String, Arc<VerifyKey>>;

/// Why a JWKS fetch failed. Logged, never sent to clients.
#[derive(Debug)]
pub(crate) enum FetchError {
    Http(reqwest::Error),
    Status(u16),
    TooLarge,
    Malformed(&'static str),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(e) => write!(f, "request failed: {e}"),
            Self::Status(s) => write!(f, "HTTP status {s}"),
            Self::TooLarge => write!(f, "response larger than {MAX_JWKS_BYTES} bytes"),
            Self::Malformed(why) => write!(f, "malformed JWKS: {why}"),
        }
    }
}

/// Fetches `url` and parses it. Redirects are not followed (the client is built that way)
/// and the body is read up to [`MAX_JWKS_BYTES`].
pub(crate) async fn fetch_jwks(
    client: &reqwest::Client,
    url: &Url,
    configured: &[Algorithm],
) -> Result<KeyMap, FetchError> {
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(FetchError::Http)?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    if response.content_length().is_some_and(|len| len > MAX_JWKS_BYTES as u64) {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(FetchError::Http)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    parse_jwks(&body, configured)
}

/// Parses a JWKS document into the keys usable with `configured` algorithms.
///
/// A key is skipped (not an error) when it has no usable `kid`, is not meant for
/// signatures (`use`/`key_ops`), is symmetric (`oct`) or of an unknown type, carries
/// private material, has bad parameters, or allows none of the configured algorithms.
/// A `kid` that appears more than once is dropped entirely.
pub(crate) fn parse_jwks(body: &[u8], configured: &[Algorithm]) -> Result<KeyMap, FetchError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| FetchError::Malformed("not JSON"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(FetchError::Malformed("no \"keys\" array"))?;
    if keys.len() > MAX_JWKS_KEYS {
        return Err(FetchError::Malformed("too many keys"));
    }
    let mut map = KeyMap::new();
    let mut duplicated = HashSet::new();
    for entry in keys {
        let Some(jwk) = entry.as_object() else { continue };
        let Some(kid) = jwk.get("kid").and_then(Value::as_str) else { continue };
        if kid.is_empty() || kid.len() > MAX_KID_BYTES {
            continue;
        }
        if map.contains_key(kid) || duplicated.contains(kid) {
            map.remove(kid);
            duplicated.insert(kid.to_owned());
            continue;
        }
        match parse_jwk(jwk, configured) {
            Ok(key) => {
                map.insert(kid.to_owned(), Arc::new(key));
            }
            Err(why) => tracing::debug!(kid, why, "skipping JWKS key"),
        }
    }
    if !duplicated.is_empty() {
        tracing::warn!(count = duplicated.len(), "JWKS lists duplicate key ids; ignoring them");
    }
    Ok(map)
}

fn b64(jwk: &Map<String, Value>, field: &str) -> Result<Vec<u8>, &'static str> {
    let text = jwk.get(field).and_then(Value::as_str).ok_or("missing key parameter")?;
    URL_SAFE_NO_PAD.decode(text).map_err(|_| "key parameter is not base64url")
}

/// The algorithms a key type allows (RFC 7518 §3, RFC 8037).
fn algorithms_for_type(
    jwk: &Map<String, Value>,
) -> Result<(&'static [Algorithm], usize), &'static str> {
    let kty = jwk.get("kty").and_then(Value::as_str).ok_or("missing kty")?;
    let crv = jwk.get("crv").and_then(Value::as_str);
    match (kty, crv) {
        ("RSA", _) => Ok((RSA_ALGORITHMS, 0)),
        ("EC", Some("P-256")) => Ok((&[Algorithm::ES256], 32)),
        ("EC", Some("P-384")) => Ok((&[Algorithm::ES384], 48)),
        ("OKP", Some("Ed25519")) => Ok((&[Algorithm::EdDSA], 32)),
        ("oct", _) => Err("symmetric key"),
        _ => Err("unsupported key type or curve"),
    }
}

fn parse_jwk(
    jwk: &Map<String, Value>,
    configured: &[Algorithm],
) -> Result<VerifyKey, &'static str> {
    if let Some(usage) = jwk.get("use") {
        if usage.as_str() != Some("sig") {
            return Err("key is not for signatures");
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verify = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op == "verify"));
        if !verify {
            return Err("key_ops does not include verify");
        }
    }
    if jwk.contains_key("d") {
        return Err("private key material published");
    }
    let (type_algorithms, coordinate_len) = algorithms_for_type(jwk)?;
    let mut algorithms: Vec<Algorithm> = match jwk.get("alg") {
        None => type_algorithms.to_vec(),
        Some(alg) => {
            let alg: Algorithm = alg.as_str().and_then(|a| a.parse().ok()).ok_or("unknown alg")?;
            if !type_algorithms.contains(&alg) {
                return Err("alg does not match the key type");
            }
            vec![alg]
        }
    };
    algorithms.retain(|alg| configured.contains(alg));
    if algorithms.is_empty() {
        return Err("no configured algorithm fits this key");
    }
    let decoding = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => {
            let n = b64(jwk, "n")?;
            let e = b64(jwk, "e")?;
            let n = strip_leading_zeros(&n);
            let e = strip_leading_zeros(&e);
            let bits = bit_length(n);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err("RSA modulus size out of range");
            }
            if e.is_empty() || e.len() > 8 || e.last().is_some_and(|b| b & 1 == 0) {
                return Err("bad RSA exponent");
            }
            DecodingKey::from_rsa_raw_components(n, e)
        }
        Some("EC") => {
            let x = b64(jwk, "x")?;
            let y = b64(jwk, "y")?;
            if x.len() != coordinate_len || y.len() != coordinate_len {
                return Err("bad EC coordinate length");
            }
            let mut point = Vec::with_capacity(1 + 2 * coordinate_len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            // jsonwebtoken reads an EC verification key as an uncompressed SEC1 point.
            DecodingKey::from_ec_der(&point)
        }
        Some("OKP") => {
            let x = b64(jwk, "x")?;
            if x.len() != coordinate_len {
                return Err("bad Ed25519 key length");
            }
            // jsonwebtoken reads an Ed25519 verification key as the raw 32 bytes.
            DecodingKey::from_ed_der(&x)
        }
        _ => return Err("unsupported key type"),
    };
    Ok(VerifyKey { decoding, algorithms })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_length(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(&top) => (be.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// JWKS entries with random key material of the right shape for each key type, and
    /// with a random type, curve, `alg`, `use` and `kid`.
    fn any_jwk() -> impl Strategy<Value = Value> {
        let bytes = |len: std::ops::Range<usize>| prop::collection::vec(any::<u8>(), len);
        let material = prop_oneof![
            (bytes(256..300), bytes(1..9)).prop_map(|(mut n, mut e)| {
                n[0] |= 0x80;
                if let Some(last) = e.last_mut() {
                    *last |= 1;
                }
                json!({ "kty": "RSA", "n": enc(&n), "e": enc(&e) })
            }),
            (bytes(32..33), bytes(32..33)).prop_map(
                |(x, y)| json!({ "kty": "EC", "crv": "P-256", "x": enc(&x), "y": enc(&y) })
            ),
            (bytes(48..49), bytes(48..49)).prop_map(
                |(x, y)| json!({ "kty": "EC", "crv": "P-384", "x": enc(&x), "y": enc(&y) })
            ),
            bytes(32..33).prop_map(|x| json!({ "kty": "OKP", "crv": "Ed25519", "x": enc(&x) })),
        ];
        let field = prop_oneof![
            Just(None),
            Just(Some(("alg", json!("RS256")))),
            Just(Some(("alg", json!("ES256")))),
            Just(Some(("alg", json!("HS256")))),
            Just(Some(("use", json!("sig")))),
            Just(Some(("use", json!("enc")))),
            Just(Some(("key_ops", json!(["verify"])))),
            Just(Some(("kty", json!("oct")))),
            Just(Some(("crv", json!("P-521")))),
            Just(Some(("kid", json!(5)))),
            Just(Some(("kid", json!("")))),
            Just(Some(("n", json!("!!")))),
            Just(Some(("x", json!("AAAA")))),
        ];
        (material, field).prop_map(|(mut jwk, field)| {
            jwk["kid"] = json!("k");
            if let Some((name, value)) = field {
                jwk[name] = value;
            }
            jwk
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_jwks_never_panics_on_arbitrary_bytes(
            body in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..200),
                any::<String>().prop_map(String::into_bytes),
                any::<String>().prop_map(|s| format!(r#"{{"keys":[{s}]}}"#).into_bytes()),
            ],
        ) {
            if let Ok(map) = parse_jwks(&body, ALL) {
                prop_assert!(map.len() <= MAX_JWKS_KEYS);
            }
        }

        #[test]
        fn jwks_keys_are_usable_only_for_configured_algorithms(
            keys in prop::collection::vec(any_jwk(), 0..3),
            configured in prop::sample::subsequence(ALL.to_vec(), 1..=ALL.len()),
        ) {
            let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
            let map = parse_jwks(&body, &configured).unwrap();
            for (kid, key) in &map {
                prop_assert!(!kid.is_empty() && kid.len() <= MAX_KID_BYTES);
                prop_assert!(!key.algorithms.is_empty());
                prop_assert!(key.algorithms.iter().all(|alg| configured.contains(alg)));
            }
        }

        #[test]
        fn keys_of_random_material_never_verify_random_signatures(
            jwk in any_jwk(),
            seed in prop::collection::vec(any::<u8>(), 600),
            fit in any::<bool>(),
            len in 0usize..600,
        ) {
            // Mostly a signature of the length the key type uses, so verification runs.
            let fitting = match jwk["kty"].as_str() {
                Some("RSA") => jwk["n"].as_str().map_or(0, |n| n.len() * 3 / 4),
                Some("EC") if jwk["crv"] == "P-384" => 96,
                _ => 64,
            };
            let signature = &seed[..if fit { fitting.min(600) } else { len }];
            let body = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap();
            for key in parse_jwks(&body, ALL).unwrap().values() {
                for alg in &key.algorithms {
                    let header = json!({ "alg": alg, "kid": "k" });
                    let header = enc(&serde_json::to_vec(&header).unwrap());
                    let token = format!("{header}.{}.{}", enc(b"{}"), enc(signature));
                    let validation = jsonwebtoken::Validation::new(*alg);
                    let decoded = jsonwebtoken::decode::<Value>(&token, &key.decoding, &validation);
                    prop_assert!(decoded.is_err());
                }
            }
        }
    }

    const ALL: &[Algorithm] =
        &[Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA];

    fn enc(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa(kid: &str, bits: usize) -> Value {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0x80;
        json!({"kty": "RSA", "kid": kid, "n": enc(&n), "e": "AQAB"})
    }

    fn ec(kid: &str) -> Value {
        json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": enc(&[1; 32]), "y": enc(&[2; 32])})
    }

    fn parse(keys: Value, configured: &[Algorithm]) -> KeyMap {
        let body = serde_json::to_vec(&json!({ "keys": keys })).unwrap_or_default();
        parse_jwks(&body, configured).unwrap_or_default()
    }

    #[test]
    fn keys_are_pinned_to_their_type_and_alg() {
        let mut pinned = rsa("rsa-pinned", 2048);
        pinned["alg"] = json!("PS256");
        let map = parse(
            json!([
                rsa("rsa", 2048),
                pinned,
                ec("ec"),
                {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": enc(&[3; 32])},
            ]),
            ALL,
        );
        assert_eq!(map["rsa"].algorithms, vec![Algorithm::RS256, Algorithm::PS256]);
        assert_eq!(map["rsa-pinned"].algorithms, vec![Algorithm::PS256]);
        assert_eq!(map["ec"].algorithms, vec![Algorithm::ES256]);
        assert_eq!(map["ed"].algorithms, vec![Algorithm::EdDSA]);
        let only_es = parse(json!([rsa("rsa", 2048), ec("ec")]), &[Algorithm::ES256]);
        assert_eq!(only_es.keys().collect::<Vec<_>>(), vec!["ec"]);
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let mut enc_use = ec("enc-use");
        enc_use["use"] = json!("enc");
        let mut sign_ops = ec("sign-ops");
        sign_ops["key_ops"] = json!(["sign"]);
        let mut private = ec("private");
        private["d"] = json!(enc(&[4; 32]));
        let mut wrong_alg = ec("wrong-alg");
        wrong_alg["alg"] = json!("RS256");
        let mut hs_alg = rsa("hs-alg", 2048);
        hs_alg["alg"] = json!("HS256");
        let mut verify_ops = ec("verify-ops");
        verify_ops["key_ops"] = json!(["verify"]);
        verify_ops["use"] = json!("sig");
        let map = parse(
            json!([
                {"kty": "oct", "kid": "hmac", "k": enc(b"secret")},
                rsa("small", 1024),
                rsa("huge", 8192),
                {"kty": "RSA", "kid": "even-e", "n": rsa("x", 2048)["n"], "e": enc(&[1, 0])},
                {"kty": "EC", "crv": "P-256", "kid": "short", "x": enc(&[1; 31]), "y": enc(&[2; 32])},
                {"kty": "EC", "crv": "P-521", "kid": "p521", "x": enc(&[1; 66]), "y": enc(&[2; 66])},
                {"kty": "OKP", "crv": "Ed25519", "kid": "ed-short", "x": enc(&[3; 16])},
                {"kty": "EC", "crv": "P-256", "x": enc(&[1; 32]), "y": enc(&[2; 32])},
                {"kty": "EC", "crv": "P-256", "kid": "x".repeat(300), "x": enc(&[1; 32]), "y": enc(&[2; 32])},
                enc_use, sign_ops, private, wrong_alg, hs_alg, verify_ops,
                ec("dup"), ec("dup"), ec("dup"),
                "not an object",
            ]),
            ALL,
        );
        assert_eq!(map.keys().collect::<Vec<_>>(), vec!["verify-ops"]);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for body in [&b"not json"[..], b"{}", b"{\"keys\": {}}", b"[]"] {
            assert!(matches!(parse_jwks(body, ALL), Err(FetchError::Malformed(_))));
        }
        let many: Vec<Value> = (0..=MAX_JWKS_KEYS).map(|i| ec(&format!("k{i}"))).collect();
        let body = serde_json::to_vec(&json!({ "keys": many })).unwrap_or_default();
        assert!(matches!(parse_jwks(&body, ALL), Err(FetchError::Malformed("too many keys"))));
        assert!(matches!(parse_jwks(b"{\"keys\": []}", ALL), Ok(map) if map.is_empty()));
    }

    #[test]
    fn rsa_bit_length() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(strip_leading_zeros(&[0, 0, 0x7f])), 7);
    }
}
