//! JWT/JWKS threats J1–J7 (security design §3.1) and the cache rules.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_auth::{AuthError, JwtVerifier, VerifiedUser};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::support::*;

/// The signature segment of a token.
fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap()
}

#[tokio::test]
async fn valid_tokens_of_each_key_type_are_accepted() {
    let ec = es256_key("ec-1", 1);
    let rsa = rs256_key("rsa-1");
    let ed = eddsa_key("ed-1", 2);
    let server = JwksServer::start(&[&ec.jwk, &rsa.jwk, &ed.jwk]).await;
    let clock = ManualClock::new();
    let mut config = server.config();
    config.algorithms = vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
    let verifier = server.verifier_with(config, &clock);
    let claims = claims(clock.now());
    let expected = VerifiedUser {
        subject: "user-42".into(),
        issuer: ISSUER.into(),
        expires_at: clock.now() + 600,
    };
    for key in [&ec, &rsa, &ed] {
        assert_eq!(verifier.verify(&sign(key, &claims)).await, Ok(expected.clone()), "{}", key.kid);
    }
    assert_eq!(server.hits(), 1);

    // The default algorithm list does not include EdDSA.
    let defaults = server.verifier(&clock);
    let refused = defaults.verify(&sign(&ed, &claims)).await;
    assert_eq!(refused, Err(AuthError::InvalidToken { reason: "algorithm not allowed" }));
}

#[tokio::test]
async fn j1_alg_none_is_rejected() {
    let ec = es256_key("ec-1", 11);
    let server = JwksServer::start(&[&ec.jwk]).await;
    let clock = ManualClock::new();
    let verifier = server.verifier(&clock);
    let claims = claims(clock.now());
    let valid = sign(&ec, &claims);
    assert_eq!(outcome(&verifier.verify(&valid).await), "OK");

    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": "ec-1" });
        for signature in ["", signature_of(&valid), "AAAA"] {
            let token = raw_token(&header, &claims, signature);
            let result = verifier.verify(&token).await;
            assert_eq!(outcome(&result), "INVALID_TOKEN", "alg {alg}, signature {signature:?}");
        }
    }
    // Missing or non-string alg, and a token without a signature segment at all.
    for header in [json!({ "kid": "ec-1" }), json!({ "alg": null, "kid": "ec-1" })] {
        let token = raw_token(&header, &claims, signature_of(&valid));
        assert_eq!(outcome(&verifier.verify(&token).await), "INVALID_TOKEN");
    }
    let two_parts = valid.rsplit_once('.').unwrap().0;
    assert_eq!(outcome(&verifier.verify(two_parts).await), "INVALID_TOKEN");
    // None of this needed another key fetch.
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn j2_hs256_with_public_key_bytes_is_rejected() {
    let ec = es256_key("ec-1", 21);
    let rsa = rs256_key("rsa-1");
    let hmac_secret = b"a symmetric key someone published in the JWKS";
    let oct = json!({ "kty": "oct", "kid": "oct-1", "k": b64(hmac_secret) });
    let server = JwksServer::start(&[&ec.jwk, &rsa.jwk, &oct]).await;
    let clock = ManualClock::new();
    let claims = claims(clock.now());

    // A verifier that accepts every asymmetric algorithm still refuses HMAC tokens.
    let mut config = server.config();
    config.algorithms = vec![
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
    ];
    for verifier in [server.verifier(&clock), server.verifier_with(config, &clock)] {
        assert_eq!(outcome(&verifier.verify(&sign(&ec, &claims)).await), "OK");
        assert_eq!(outcome(&verifier.verify(&sign(&rsa, &claims)).await), "OK");
        for key in [&ec, &rsa] {
            for (i, secret) in key.public_encodings.iter().enumerate() {
                for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                    let mut header = Header::new(alg);
                    header.kid = Some(key.kid.clone());
                    let token = sign_with(&header, &claims, &EncodingKey::from_secret(secret));
                    let result = verifier.verify(&token).await;
                    assert_eq!(
                        outcome(&result),
                        "INVALID_TOKEN",
                        "{} encoding {i} {alg:?}",
                        key.kid
                    );
                }
            }
        }
        // The symmetric key in the JWKS is never usable either.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("oct-1".into());
        let token = sign_with(&header, &claims, &EncodingKey::from_secret(hmac_secret));
        assert_eq!(outcome(&verifier.verify(&token).await), "INVALID_TOKEN");
    }
    // One fetch per verifier, for the valid tokens; HMAC tokens cause none.
    assert_eq!(server.hits(), 2);

    // HMAC algorithms are refused when the verifier is built.
    for algs in [vec![Algorithm::HS256], vec![Algorithm::ES256, Algorithm::HS256]] {
        let mut config = server.config();
        config.algorithms = algs;
        let built = JwtVerifier::with_clock(config, clock.clone());
        assert_eq!(built.err().map(|e| e.code()), Some("AUTH_CONFIG_INVALID"));
    }
}

#[tokio::test]
async fn j3_kid_confusion_and_injection_are_rejected() {
    let ec = es256_key("ec-1", 31);
    let rsa = rs256_key("rsa-1");
    // The RSA key is published for RS256 only.
    let rsa_jwk = rsa.jwk_with_alg("RS256");
    let server = JwksServer::start(&[&ec.jwk, &rsa_jwk]).await;
    let clock = ManualClock::new();
    let mut config = server.config();
    config.algorithms = vec![Algorithm::RS256, Algorithm::PS256, Algorithm::ES256];
    let verifier = server.verifier_with(config, &clock);
    let claims = claims(clock.now());
    assert_eq!(outcome(&verifier.verify(&sign(&ec, &claims)).await), "OK");
    assert_eq!(outcome(&verifier.verify(&sign(&rsa, &claims)).await), "OK");
    assert_eq!(server.hits(), 1);

    // A kid pointing at a key of another type.
    let mut rs_with_ec_kid = header(&rsa);
    rs_with_ec_kid.kid = Some("ec-1".into());
    let mut es_with_rsa_kid = header(&ec);
    es_with_rsa_kid.kid = Some("rsa-1".into());
    // The right key, but an algorithm its JWK entry does not allow.
    let mut ps_with_rsa_kid = header(&rsa);
    ps_with_rsa_kid.alg = Algorithm::PS256;
    for (name, header, key) in [
        ("RS256 token, EC kid", &rs_with_ec_kid, &rsa.encoding),
        ("ES256 token, RSA kid", &es_with_rsa_kid, &ec.encoding),
        ("PS256 with an RS256-only key", &ps_with_rsa_kid, &rsa.encoding),
    ] {
        let result = verifier.verify(&sign_with(header, &claims, key)).await;
        assert_eq!(outcome(&result), "INVALID_TOKEN", "{name}");
    }

    // Injection attempts, each signed by the real EC key so only the kid is wrong.
    let long_kid = "k".repeat(1024);
    let huge_kid = "k".repeat(10 * 1024);
    let kids = [
        "../../x",
        "../../../../etc/passwd",
        "/dev/null",
        "' OR 1=1 --",
        "ec-1' OR '1'='1",
        "\" OR \"\"=\"",
        "%2e%2e%2fx",
        "?kid=ec-1",
        "ec-1/../ec-1",
        "ec-1\u{0}",
        " ec-1",
        "EC-1",
        long_kid.as_str(),
        huge_kid.as_str(),
    ];
    for kid in kids {
        let mut header = header(&ec);
        header.kid = Some(kid.to_owned());
        let token = sign_with(&header, &claims, &ec.encoding);
        let result = verifier.verify(&token).await;
        assert_eq!(outcome(&result), "INVALID_TOKEN", "kid {:?}", &kid[..kid.len().min(20)]);
    }
    assert_eq!(
        verifier
            .verify(&sign_with(
                &{
                    let mut h = header(&ec);
                    h.kid = Some(long_kid.clone());
                    h
                },
                &claims,
                &ec.encoding
            ))
            .await,
        Err(AuthError::InvalidToken { reason: "invalid kid" })
    );
    assert_eq!(
        verifier
            .verify(&sign_with(
                &{
                    let mut h = header(&ec);
                    h.kid = Some(huge_kid.clone());
                    h
                },
                &claims,
                &ec.encoding
            ))
            .await,
        Err(AuthError::InvalidToken { reason: "token too large" })
    );
    // A kid that is not a string, and no kid at all.
    for header in [json!({ "alg": "ES256", "kid": 5 }), json!({ "alg": "ES256" })] {
        let token = raw_token(&header, &claims, "c2ln");
        assert_eq!(outcome(&verifier.verify(&token).await), "INVALID_TOKEN");
    }

    // No extra fetches within the interval, and the kid never reaches the key server.
    assert_eq!(server.hits(), 1);
    clock.advance(REFRESH);
    let mut header = header(&ec);
    header.kid = Some("../../x".into());
    let token = sign_with(&header, &crate::support::claims(clock.now()), &ec.encoding);
    assert_eq!(outcome(&verifier.verify(&token).await), "INVALID_TOKEN");
    assert_eq!(server.hits(), 2);
    assert_eq!(server.uris(), vec!["/jwks".to_owned(), "/jwks".to_owned()]);
}

#[tokio::test]
async fn j4_header_supplied_keys_are_ignored() {
    let ec = es256_key("ec-1", 41);
    let evil = es256_key("evil-1", 42);
    let server = JwksServer::start(&[&ec.jwk]).await;
    let attacker = JwksServer::start(&[&evil.jwk]).await;
    let clock = ManualClock::new();
    let verifier = server.verifier(&clock);
    let claims = claims(clock.now());
    let attacker_jwks = attacker.base.join("jwks").unwrap().to_string();
    let attacker_cert = attacker.base.join("cert.pem").unwrap().to_string();
    let evil_jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(evil.jwk.clone()).unwrap();

    let mut cases: Vec<(&str, Header)> = Vec::new();
    for kid in ["evil-1", "ec-1"] {
        let mut h = header(&evil);
        h.kid = Some(kid.into());
        h.jku = Some(attacker_jwks.clone());
        cases.push(("jku", h.clone()));
        h.jku = None;
        h.x5u = Some(attacker_cert.clone());
        cases.push(("x5u", h.clone()));
        h.x5u = None;
        h.jwk = Some(evil_jwk.clone());
        cases.push(("embedded jwk", h.clone()));
        h.jwk = None;
        h.x5c = Some(vec![b64(b"not a certificate but the attacker's own")]);
        cases.push(("x5c", h));
    }
    for (name, header) in &cases {
        let token = sign_with(header, &claims, &evil.encoding);
        let result = verifier.verify(&token).await;
        assert_eq!(outcome(&result), "INVALID_TOKEN", "{name} with kid {:?}", header.kid);
    }

    // The same headers on a token signed by the real key change nothing: they are ignored.
    let mut legit = header(&ec);
    legit.jku = Some(attacker_jwks.clone());
    legit.x5u = Some(attacker_cert.clone());
    legit.jwk = Some(evil_jwk);
    assert_eq!(outcome(&verifier.verify(&sign_with(&legit, &claims, &ec.encoding)).await), "OK");

    assert_eq!(attacker.hits(), 0, "a header-supplied URL was fetched");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn j5_claims_are_enforced() {
    let ec = es256_key("ec-1", 51);
    let other = es256_key("ec-1", 52);
    let server = JwksServer::start(&[&ec.jwk]).await;
    let clock = ManualClock::new();
    let verifier = server.verifier(&clock);
    let now = clock.now();
    let leeway = server.config().leeway_secs;
    assert_eq!(leeway, 30);

    let with = |field: &str, value: Value| {
        let mut c = claims(now);
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = claims(now);
        c.as_object_mut().unwrap().remove(field);
        c
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("valid", claims(now), "OK"),
        ("wrong iss", with("iss", json!("https://evil.example.test")), "INVALID_TOKEN"),
        ("iss with trailing slash", with("iss", json!(format!("{ISSUER}/"))), "INVALID_TOKEN"),
        ("iss as an array", with("iss", json!([ISSUER])), "INVALID_TOKEN"),
        ("wrong aud", with("aud", json!("another-api")), "INVALID_TOKEN"),
        ("aud array without ours", with("aud", json!(["a", "b"])), "INVALID_TOKEN"),
        ("empty aud array", with("aud", json!([])), "INVALID_TOKEN"),
        ("aud array with ours", with("aud", json!(["another-api", AUDIENCE])), "OK"),
        ("exp past", with("exp", json!(now - 3600)), "TOKEN_EXPIRED"),
        ("exp just past the leeway", with("exp", json!(now - leeway - 1)), "TOKEN_EXPIRED"),
        ("exp within the leeway", with("exp", json!(now - leeway)), "OK"),
        ("nbf future", with("nbf", json!(now + 3600)), "INVALID_TOKEN"),
        ("nbf just past the leeway", with("nbf", json!(now + leeway + 1)), "INVALID_TOKEN"),
        ("nbf within the leeway", with("nbf", json!(now + leeway)), "OK"),
        ("nbf past", with("nbf", json!(now - 10)), "OK"),
        ("missing exp", without("exp"), "INVALID_TOKEN"),
        ("missing iss", without("iss"), "INVALID_TOKEN"),
        ("missing aud", without("aud"), "INVALID_TOKEN"),
        ("missing sub", without("sub"), "INVALID_TOKEN"),
        ("empty sub", with("sub", json!("")), "INVALID_TOKEN"),
        ("numeric sub", with("sub", json!(42)), "INVALID_TOKEN"),
        ("exp as a string", with("exp", json!((now + 600).to_string())), "INVALID_TOKEN"),
        ("null exp", with("exp", Value::Null), "INVALID_TOKEN"),
    ];
    for (name, claims, expected) in &cases {
        let result = verifier.verify(&sign(&ec, claims)).await;
        assert_eq!(outcome(&result), *expected, "{name}");
    }

    let accepted = verifier.verify(&sign(&ec, &claims(now))).await.unwrap();
    assert_eq!(accepted.subject, "user-42");
    assert_eq!(accepted.issuer, ISSUER);
    assert_eq!(accepted.expires_at, now + 600);

    // The signature is checked before the time claims: a forged expired token is invalid,
    // not "expired".
    let forged = sign(&other, &with("exp", json!(now - 3600)));
    assert_eq!(outcome(&verifier.verify(&forged).await), "INVALID_TOKEN");

    // The same token stops being accepted once the clock passes exp + leeway.
    let token = sign(&ec, &claims(now));
    clock.advance(Duration::from_secs(600 + leeway));
    assert_eq!(outcome(&verifier.verify(&token).await), "OK");
    clock.advance(Duration::from_secs(1));
    assert_eq!(outcome(&verifier.verify(&token).await), "TOKEN_EXPIRED");
}

#[tokio::test]
async fn j6_rotation_and_outage() {
    let a = es256_key("key-a", 61);
    let b = es256_key("key-b", 62);
    let c = es256_key("key-c", 63);
    let server = JwksServer::start(&[&a.jwk]).await;
    let clock = ManualClock::new();
    let mut config = server.config();
    // Short enough for the hanging-endpoint case below to end quickly.
    config.http_timeout = Duration::from_millis(300);
    let verifier = server.verifier_with(config, &clock);
    let verify = |key: &TestKey| {
        let token = sign(key, &claims(clock.now()));
        let verifier = verifier.clone();
        async move { outcome(&verifier.verify(&token).await) }
    };

    assert_eq!(verify(&a).await, "OK");
    assert_eq!(server.hits(), 1);

    // Rotation: key-a removed, key-b added.
    server.set_keys(&[&b.jwk]);
    // Within the refresh interval the new kid is not fetched yet.
    assert_eq!(verify(&b).await, "INVALID_TOKEN");
    assert_eq!(server.hits(), 1);
    // After the interval, one refresh brings it in.
    clock.advance(REFRESH);
    assert_eq!(verify(&b).await, "OK");
    assert_eq!(server.hits(), 2);
    // The removed kid is refused, without another fetch within the interval...
    assert_eq!(verify(&a).await, "INVALID_TOKEN");
    assert_eq!(server.hits(), 2);
    // ...and after the next refresh too.
    clock.advance(REFRESH);
    assert_eq!(verify(&a).await, "INVALID_TOKEN");
    assert_eq!(server.hits(), 3);

    // Outage (HTTP 500): the cached key keeps working; an unknown kid is refused.
    server.set_mode(Mode::Fail);
    assert_eq!(verify(&b).await, "OK");
    assert_eq!(server.hits(), 3);
    clock.advance(REFRESH);
    assert_eq!(verify(&c).await, "INVALID_TOKEN");
    assert_eq!(server.hits(), 4);
    assert_eq!(verify(&b).await, "OK");
    assert_eq!(server.hits(), 4);

    // Outage (endpoint hangs past the HTTP timeout): same.
    server.set_mode(Mode::Hang);
    clock.advance(REFRESH);
    assert_eq!(verify(&c).await, "INVALID_TOKEN");
    assert_eq!(server.hits(), 5);
    assert_eq!(verify(&b).await, "OK");

    // Past the TTL of the last good fetch with the endpoint still down: never fail open.
    server.set_mode(Mode::Fail);
    clock.advance(TTL);
    assert_eq!(verify(&b).await, "JWKS_UNAVAILABLE");
    assert_eq!(server.hits(), 6);
    assert_eq!(verify(&b).await, "JWKS_UNAVAILABLE");
    assert_eq!(verify(&c).await, "JWKS_UNAVAILABLE");
    assert_eq!(server.hits(), 6);

    // Recovery, with key-c published alongside key-b.
    server.set_keys(&[&b.jwk, &c.jwk]);
    server.set_mode(Mode::Serve);
    clock.advance(REFRESH);
    assert_eq!(verify(&b).await, "OK");
    assert_eq!(verify(&c).await, "OK");
    assert_eq!(verify(&a).await, "INVALID_TOKEN");
    assert_eq!(server.hits(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j7_refetch_storm_is_bounded() {
    let a = es256_key("key-a", 71);
    let server = JwksServer::start(&[&a.jwk]).await;
    let clock = ManualClock::new();
    let verifier = server.verifier(&clock);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut storm = |n: usize| {
        let claims = claims(clock.now());
        (0..n)
            .map(|_| {
                let kid = format!("{:032x}", rng.gen::<u128>());
                raw_token(&json!({ "alg": "ES256", "kid": kid }), &claims, "c2lnbmF0dXJl")
            })
            .collect::<Vec<_>>()
    };

    // 1,000 concurrent tokens with random kids, starting from an empty cache.
    let mut tasks = JoinSet::new();
    for token in storm(1000) {
        let verifier = verifier.clone();
        tasks.spawn(async move { outcome(&verifier.verify(&token).await) });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(outcomes.len(), 1000);
    assert!(outcomes.iter().all(|o| *o == "INVALID_TOKEN"), "{outcomes:?}");
    assert_eq!(server.hits(), 1);
    // Legitimate tokens are unaffected.
    assert_eq!(outcome(&verifier.verify(&sign(&a, &claims(clock.now()))).await), "OK");
    assert_eq!(server.hits(), 1);

    // In the next interval, another 1,000 cost one more fetch.
    clock.advance(REFRESH);
    for token in storm(1000) {
        assert_eq!(outcome(&verifier.verify(&token).await), "INVALID_TOKEN");
    }
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn unreachable_jwks_at_first_use_is_unavailable_not_open() {
    let a = es256_key("key-a", 81);
    let server = JwksServer::start(&[&a.jwk]).await;
    server.set_mode(Mode::Fail);
    let clock = ManualClock::new();
    let verifier = server.verifier(&clock);
    let token = sign(&a, &claims(clock.now()));
    let result = verifier.verify(&token).await;
    assert_eq!(result, Err(AuthError::JwksUnavailable));
    assert!(result.unwrap_err().is_retryable());
    assert_eq!(verifier.prefetch().await, Err(AuthError::JwksUnavailable));
    assert_eq!(server.hits(), 1);

    server.set_mode(Mode::Serve);
    clock.advance(REFRESH);
    assert_eq!(verifier.prefetch().await, Ok(1));
    assert_eq!(outcome(&verifier.verify(&token).await), "OK");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn unusable_jwks_responses_are_failed_fetches() {
    let a = es256_key("key-a", 91);
    let server = JwksServer::start(&[&a.jwk]).await;
    let clock = ManualClock::new();
    let verifier = server.verifier(&clock);
    let token = || sign(&a, &claims(clock.now()));

    // Larger than the body limit.
    let padding: Vec<Value> =
        (0..90).map(|i| json!({ "kid": format!("pad-{i}"), "x": "A".repeat(4000) })).collect();
    server.set_raw(json!({ "keys": padding }));
    assert_eq!(outcome(&verifier.verify(&token()).await), "JWKS_UNAVAILABLE");
    // Not a JWK set.
    clock.advance(REFRESH);
    server.set_raw(json!({ "not_keys": [] }));
    assert_eq!(outcome(&verifier.verify(&token()).await), "JWKS_UNAVAILABLE");
    // A set whose only key is symmetric: fetched fine, but the kid stays unknown.
    clock.advance(REFRESH);
    server.set_raw(json!({ "keys": [{ "kty": "oct", "kid": "key-a", "k": b64(b"k") }] }));
    assert_eq!(outcome(&verifier.verify(&token()).await), "INVALID_TOKEN");
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn error_messages_never_contain_the_token() {
    let a = es256_key("key-a", 101);
    let forger = es256_key("key-a", 102);
    let server = JwksServer::start(&[&a.jwk]).await;
    let clock = ManualClock::new();
    let verifier = server.verifier(&clock);
    let now = clock.now();
    let mut expired = claims(now);
    expired["exp"] = json!(now - 3600);
    let tokens = [
        sign(&forger, &claims(now)),
        sign(&a, &expired),
        raw_token(&json!({ "alg": "none", "kid": "key-a" }), &claims(now), ""),
        format!("{}.extra", sign(&a, &claims(now))),
        "x".repeat(9000),
    ];
    for token in &tokens {
        let err = verifier.verify(token).await.unwrap_err();
        for shown in [err.to_string(), format!("{err:?}")] {
            for part in token.split('.').filter(|p| p.len() >= 8) {
                assert!(!shown.contains(part), "{shown}");
            }
        }
    }
}
