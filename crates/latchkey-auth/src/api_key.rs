//! API keys: generation, format checks, storage hashes and display prefixes.
//!
//! A key is `<kind>_<env>_<random>`: kind `pk` (public, sent as `x-api-key`) or `sk`
//! (secret, sent as `Authorization: Bearer sk_…` by server-side SDK users), an
//! environment, and a random part of ASCII letters and digits. The environments are the
//! two SDKs' own: `dev` and `prod` for Chipi's, whose SDK accepts a public key only if it
//! matches `^pk_(dev|prod)_[a-zA-Z0-9]{32,}$`, and `test` and `live` for Openfort's, whose
//! SDK refuses a secret key that does not start with `sk_test_` or `sk_live_` (and a
//! publishable key without `pk_test_`/`pk_live_`). The same rule, `{32,}` random
//! characters, applies to every kind and environment here.
//!
//! Keys are high-entropy, so they are stored as a plain SHA-256 (or an HMAC-SHA-256 with a
//! server-side pepper) rather than with a slow password hash.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::distributions::{Alphanumeric, Distribution};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{AuthError, Result};

/// Length of the random part of a generated public key (62^40 ≈ 2^238).
pub const PUBLIC_KEY_RANDOM_LEN: usize = 40;
/// Length of the random part of a generated secret key (62^48 ≈ 2^285).
pub const SECRET_KEY_RANDOM_LEN: usize = 48;
/// Shortest random part the format accepts (the Chipi SDK's `{32,}`).
pub const MIN_KEY_RANDOM_LEN: usize = 32;
/// Number of random characters [`display_prefix`] reveals.
pub const DISPLAY_RANDOM_CHARS: usize = 4;

/// The environment a key belongs to: the `dev`/`prod` (Chipi) or `test`/`live` (Openfort)
/// segment of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyEnvironment {
    /// `pk_dev_…` / `sk_dev_…`.
    Dev,
    /// `pk_prod_…` / `sk_prod_…`.
    Prod,
    /// `pk_test_…` / `sk_test_…`: the Openfort SDK's test keys.
    Test,
    /// `pk_live_…` / `sk_live_…`: the Openfort SDK's live keys.
    Live,
}

impl KeyEnvironment {
    /// Every environment.
    pub const ALL: [Self; 4] = [Self::Dev, Self::Prod, Self::Test, Self::Live];

    /// The segment as it appears in a key: `"dev"`, `"prod"`, `"test"` or `"live"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Prod => "prod",
            Self::Test => "test",
            Self::Live => "live",
        }
    }

    /// The environment named `text` (its segment).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|env| env.as_str() == text)
    }

    /// The environment of a key or of its display prefix (`pk_live_ab…`), if it has one.
    pub fn of_key(key: &str) -> Option<Self> {
        split_key(key).map(|parts| parts.env)
    }
}

impl fmt::Display for KeyEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Public or secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Public,
    Secret,
}

impl KeyKind {
    const fn tag(self) -> &'static str {
        match self {
            Self::Public => "pk",
            Self::Secret => "sk",
        }
    }
}

/// The parts of a key with a recognised `<kind>_<env>_` prefix. `random` is everything
/// after the prefix, not yet checked.
struct KeyParts<'a> {
    kind: KeyKind,
    env: KeyEnvironment,
    prefix_len: usize,
    random: &'a str,
}

fn split_key(key: &str) -> Option<KeyParts<'_>> {
    let (kind, rest) = if let Some(rest) = key.strip_prefix("pk_") {
        (KeyKind::Public, rest)
    } else if let Some(rest) = key.strip_prefix("sk_") {
        (KeyKind::Secret, rest)
    } else {
        return None;
    };
    let (env, random) = KeyEnvironment::ALL.into_iter().find_map(|env| {
        rest.strip_prefix(env.as_str())
            .and_then(|r| r.strip_prefix('_'))
            .map(|random| (env, random))
    })?;
    Some(KeyParts { kind, env, prefix_len: key.len() - random.len(), random })
}

fn is_valid_random_part(random: &str) -> bool {
    random.len() >= MIN_KEY_RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_valid_key_of(key: &str, kind: KeyKind) -> bool {
    split_key(key).is_some_and(|p| p.kind == kind && is_valid_random_part(p.random))
}

/// Whether `key` matches `^pk_(dev|prod|test|live)_[a-zA-Z0-9]{32,}$` (the Chipi SDK's
/// `^pk_(dev|prod)_…` and the Openfort SDK's `pk_(test|live)_` prefixes).
pub fn is_valid_public_key(key: &str) -> bool {
    is_valid_key_of(key, KeyKind::Public)
}

/// Whether `key` matches `^sk_(dev|prod|test|live)_[a-zA-Z0-9]{32,}$`.
pub fn is_valid_secret_key(key: &str) -> bool {
    is_valid_key_of(key, KeyKind::Secret)
}

/// A secret API key (`sk_…`). The key is zeroed on drop, and `Debug`/`Display` show only
/// its [`display_prefix`]; [`SecretKey::expose`] gives the full text.
#[derive(Clone)]
pub struct SecretKey {
    key: Zeroizing<String>,
    env: KeyEnvironment,
}

impl SecretKey {
    /// Takes ownership of `key` if it has the secret-key format. On error the string is
    /// zeroed before it is dropped.
    pub fn parse(mut key: String) -> Result<Self> {
        let env = split_key(&key)
            .filter(|p| p.kind == KeyKind::Secret && is_valid_random_part(p.random))
            .map(|p| p.env);
        match env {
            Some(env) => Ok(Self { key: Zeroizing::new(key), env }),
            None => {
                key.zeroize();
                Err(AuthError::InvalidApiKey)
            }
        }
    }

    /// The full key. Call it only where the key itself is needed (showing it once to its
    /// owner); hash it with [`SecretKey::hash`] for storage and lookup.
    pub fn expose(&self) -> &str {
        self.key.as_str()
    }

    /// The key's environment.
    pub fn environment(&self) -> KeyEnvironment {
        self.env
    }

    /// [`hash_api_key`] of this key.
    pub fn hash(&self, pepper: Option<&[u8]>) -> String {
        hash_api_key(&self.key, pepper)
    }

    /// [`display_prefix`] of this key.
    pub fn display_prefix(&self) -> String {
        display_prefix(&self.key)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretKey").field(&self.display_prefix()).finish()
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_prefix())
    }
}

/// A freshly generated key pair. The secret key is shown to its owner once and only its
/// hash is stored.
#[derive(Debug, Clone)]
pub struct ApiKeyPair {
    /// `pk_<env>_` followed by 40 random letters and digits.
    pub public_key: String,
    /// `sk_<env>_` followed by 48 random letters and digits.
    pub secret_key: SecretKey,
}

fn random_key(
    kind: KeyKind,
    env: KeyEnvironment,
    random_len: usize,
    rng: &mut (impl CryptoRng + RngCore),
) -> Zeroizing<String> {
    let prefix_len = kind.tag().len() + env.as_str().len() + 2;
    // Reserve the full length up front so the buffer never reallocates (a reallocation
    // would leave an unzeroed copy behind).
    let mut key = Zeroizing::new(String::with_capacity(prefix_len + random_len));
    key.push_str(kind.tag());
    key.push('_');
    key.push_str(env.as_str());
    key.push('_');
    // `Alphanumeric` samples uniformly from [A-Za-z0-9] by rejection.
    for byte in Alphanumeric.sample_iter(&mut *rng).take(random_len) {
        key.push(char::from(byte));
    }
    key
}

/// Generates a public/secret key pair for `env` from a cryptographic RNG.
pub fn generate_api_keys(env: KeyEnvironment, rng: &mut (impl CryptoRng + RngCore)) -> ApiKeyPair {
    let public_key = random_key(KeyKind::Public, env, PUBLIC_KEY_RANDOM_LEN, rng).to_string();
    let secret_key =
        SecretKey { key: random_key(KeyKind::Secret, env, SECRET_KEY_RANDOM_LEN, rng), env };
    ApiKeyPair { public_key, secret_key }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The storage hash of an API key, as 64 lowercase hex digits: SHA-256 of the key, or
/// HMAC-SHA-256 keyed with `pepper` when one is given.
pub fn hash_api_key(key: &str, pepper: Option<&[u8]>) -> String {
    match pepper {
        None => to_hex(&Sha256::digest(key.as_bytes())),
        Some(pepper) => match <Hmac<Sha256> as Mac>::new_from_slice(pepper) {
            Ok(mut mac) => {
                mac.update(key.as_bytes());
                to_hex(&mac.finalize().into_bytes())
            }
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        },
    }
}

/// Whether `key` hashes (see [`hash_api_key`]) to `stored_hash`, compared in constant time.
pub fn api_key_matches(key: &str, pepper: Option<&[u8]>, stored_hash: &str) -> bool {
    let computed = hash_api_key(key, pepper);
    computed.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// A short form of a key that is safe to show in dashboards and logs: the typed prefix and
/// at most four characters of the random part, e.g. `sk_dev_Ab3d…`. A string that is not a
/// well-formed key shows no characters of its own beyond a recognised prefix.
pub fn display_prefix(key: &str) -> String {
    match split_key(key) {
        Some(parts) if is_valid_random_part(parts.random) => {
            let shown: String = parts.random.chars().take(DISPLAY_RANDOM_CHARS).collect();
            format!("{}{}…", &key[..parts.prefix_len], shown)
        }
        Some(parts) => format!("{}…", &key[..parts.prefix_len]),
        None => "…".to_owned(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    /// Strings near the key format: right and wrong kinds and environments, random parts
    /// of every length around the minimum, non-ASCII letters, and arbitrary text.
    pub(crate) fn any_key_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "(pk|sk|PK|pk_|sk_)_(dev|prod|test|live|liv|stage|)_[a-zA-Z0-9]{28,40}",
            "(pk|sk)_(dev|prod|test|live)_[a-zA-Z0-9éａ€_ -]{0,40}",
            "(pk|sk)_(dev|prod|test|live)_[a-zA-Z0-9]{30,34}[\n é]?",
            "(pk|sk)_(dé|prod|tést)?_?é{0,3}",
        ]
    }

    /// `^<kind>_(dev|prod|test|live)_[a-zA-Z0-9]{32,}$`, written independently of `split_key`.
    fn matches_format(key: &str, kind: &str) -> bool {
        let mut parts = key.splitn(3, '_');
        let (Some(k), Some(env), Some(random)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        k == kind
            && ["dev", "prod", "test", "live"].contains(&env)
            && random.chars().count() >= 32
            && random.chars().all(|c| c.is_ascii_alphanumeric())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn key_format_checks_match_the_sdk_regex(key in any_key_text()) {
            prop_assert_eq!(is_valid_public_key(&key), matches_format(&key, "pk"));
            prop_assert_eq!(is_valid_secret_key(&key), matches_format(&key, "sk"));
        }

        #[test]
        fn secret_key_parse_agrees_with_the_format_check(key in any_key_text()) {
            match SecretKey::parse(key.clone()) {
                Ok(parsed) => {
                    prop_assert!(is_valid_secret_key(&key));
                    prop_assert_eq!(parsed.expose(), key.as_str());
                    let segment = key.split('_').nth(1).unwrap();
                    prop_assert_eq!(Some(parsed.environment()), KeyEnvironment::parse(segment));
                    prop_assert_eq!(KeyEnvironment::of_key(&key), Some(parsed.environment()));
                }
                Err(err) => {
                    prop_assert!(!is_valid_secret_key(&key));
                    prop_assert_eq!(err, AuthError::InvalidApiKey);
                }
            }
        }

        #[test]
        fn display_prefix_never_panics_and_reveals_at_most_four_random_characters(
            key in any_key_text(),
        ) {
            let shown = display_prefix(&key);
            let body = shown.strip_suffix('…').unwrap();
            prop_assert!(key.starts_with(body), "{:?} from {:?}", shown, key);
            let valid = is_valid_public_key(&key) || is_valid_secret_key(&key);
            let prefix_len = [
                "pk_dev_", "pk_prod_", "pk_test_", "pk_live_", "sk_dev_", "sk_prod_", "sk_test_",
                "sk_live_",
            ]
                .iter()
                .find(|p| key.starts_with(**p))
                .map_or(0, |p| p.len());
            let revealed = body.len() - prefix_len.min(body.len());
            if valid {
                prop_assert_eq!(revealed, DISPLAY_RANDOM_CHARS);
            } else {
                prop_assert_eq!(revealed, 0);
                prop_assert_eq!(body.len(), prefix_len);
            }
        }

        #[test]
        fn generated_keys_always_pass_the_format_checks(
            seed in any::<u64>(),
            env in prop::sample::select(KeyEnvironment::ALL.to_vec()),
        ) {
            let pair = generate_api_keys(env, &mut StdRng::seed_from_u64(seed));
            prop_assert!(is_valid_public_key(&pair.public_key));
            prop_assert!(is_valid_secret_key(pair.secret_key.expose()));
            let parsed = SecretKey::parse(pair.secret_key.expose().to_owned()).unwrap();
            prop_assert_eq!(parsed.environment(), env);
            let shown = display_prefix(pair.secret_key.expose());
            prop_assert_eq!(shown, pair.secret_key.display_prefix());
        }

        #[test]
        fn key_hashes_are_hex_and_match_only_themselves(
            key in any_key_text(),
            other in any_key_text(),
            pepper in prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
        ) {
            let pepper = pepper.as_deref();
            let hash = hash_api_key(&key, pepper);
            prop_assert_eq!(hash.len(), 64);
            prop_assert!(hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
            prop_assert!(api_key_matches(&key, pepper, &hash));
            prop_assert_eq!(api_key_matches(&other, pepper, &hash), other == key);
        }
    }

    fn rng() -> StdRng {
        StdRng::seed_from_u64(0x1a7c_4e11)
    }

    #[test]
    fn public_key_format_matches_the_sdk_regex() {
        let random32 = "a".repeat(32);
        for ok in [
            format!("pk_dev_{random32}"),
            format!("pk_prod_{random32}"),
            format!("pk_prod_{}", "Zz09".repeat(20)),
            // The Openfort SDK's publishable keys.
            format!("pk_test_{random32}"),
            format!("pk_live_{random32}"),
        ] {
            assert!(is_valid_public_key(&ok), "{ok}");
        }
        for bad in [
            "pk_test_abc".to_owned(),
            format!("pk_stage_{random32}"),
            format!("pk_testing_{random32}"),
            format!("pk_dev_{}", "a".repeat(31)),
            format!("sk_dev_{random32}"),
            format!("PK_dev_{random32}"),
            format!("pk_dev__{random32}"),
            format!("pk_dev_{random32}-"),
            format!("pk_dev_{random32}\n"),
            format!(" pk_dev_{random32}"),
            format!("pk_dev_{}é", "a".repeat(32)),
            format!("pk_dev_{}", "ａ".repeat(32)),
            String::new(),
            "pk_dev_".to_owned(),
        ] {
            assert!(!is_valid_public_key(&bad), "{bad:?}");
        }
    }

    #[test]
    fn secret_key_format_mirrors_the_public_one() {
        let random32 = "B".repeat(32);
        assert!(is_valid_secret_key(&format!("sk_dev_{random32}")));
        assert!(is_valid_secret_key(&format!("sk_prod_{random32}")));
        assert!(!is_valid_secret_key(&format!("pk_prod_{random32}")));
        assert!(!is_valid_secret_key("sk_prod_secret"));
        assert!(is_valid_secret_key(&format!("sk_live_{random32}")));
        assert!(is_valid_secret_key(&format!("sk_test_{random32}")));
        assert!(!is_valid_secret_key(&format!("sk_livex_{random32}")));
        assert!(!is_valid_secret_key(&format!("sk_prod_{}", "B".repeat(31))));
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let mut rng = rng();
        for env in KeyEnvironment::ALL {
            let pair = generate_api_keys(env, &mut rng);
            let pk_prefix = format!("pk_{env}_");
            let sk_prefix = format!("sk_{env}_");
            assert!(pair.public_key.starts_with(&pk_prefix));
            assert_eq!(pair.public_key.len(), pk_prefix.len() + PUBLIC_KEY_RANDOM_LEN);
            assert!(pair.secret_key.expose().starts_with(&sk_prefix));
            assert_eq!(pair.secret_key.expose().len(), sk_prefix.len() + SECRET_KEY_RANDOM_LEN);
            assert!(is_valid_public_key(&pair.public_key));
            assert!(is_valid_secret_key(pair.secret_key.expose()));
            assert_eq!(pair.secret_key.environment(), env);
        }
    }

    #[test]
    fn generated_keys_have_at_least_238_bits_of_entropy() {
        // Each random character is uniform over 62 symbols.
        let bits_per_char = 62f64.log2();
        assert!(PUBLIC_KEY_RANDOM_LEN as f64 * bits_per_char >= 238.0);
        assert!(SECRET_KEY_RANDOM_LEN as f64 * bits_per_char >= 238.0);
    }

    #[test]
    fn generated_keys_are_unique_and_use_the_whole_alphabet() {
        let mut rng = rng();
        let mut seen = HashSet::new();
        let mut alphabet = HashSet::new();
        for _ in 0..1000 {
            let pair = generate_api_keys(KeyEnvironment::Prod, &mut rng);
            alphabet.extend(pair.public_key["pk_prod_".len()..].chars());
            assert!(seen.insert(pair.public_key.clone()));
            assert!(seen.insert(pair.secret_key.expose().to_owned()));
        }
        assert_eq!(seen.len(), 2000);
        // 40,000 uniform draws over 62 symbols hit every symbol.
        assert_eq!(alphabet.len(), 62);
    }

    #[test]
    fn hash_is_stable_hex_sha256() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            hash_api_key("abc", None),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let key = format!("sk_dev_{}", "k".repeat(48));
        assert_eq!(hash_api_key(&key, None), hash_api_key(&key, None));
        assert_eq!(hash_api_key(&key, None).len(), 64);
    }

    #[test]
    fn hmac_matches_rfc4231_and_pepper_changes_the_hash() {
        // RFC 4231, test case 2.
        assert_eq!(
            hash_api_key("what do ya want for nothing?", Some(b"Jefe")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let key = format!("sk_prod_{}", "x".repeat(48));
        let plain = hash_api_key(&key, None);
        let a = hash_api_key(&key, Some(b"pepper-a"));
        let b = hash_api_key(&key, Some(b"pepper-b"));
        assert_ne!(plain, a);
        assert_ne!(a, b);
        assert_eq!(a, hash_api_key(&key, Some(b"pepper-a")));
    }

    #[test]
    fn stored_hash_comparison() {
        let key = format!("sk_prod_{}", "y".repeat(48));
        let stored = hash_api_key(&key, Some(b"p"));
        assert!(api_key_matches(&key, Some(b"p"), &stored));
        assert!(!api_key_matches(&key, Some(b"q"), &stored));
        assert!(!api_key_matches(&key, None, &stored));
        assert!(!api_key_matches(&format!("{key}z"), Some(b"p"), &stored));
        assert!(!api_key_matches(&key, Some(b"p"), &stored[..63]));
    }

    #[test]
    fn display_prefix_reveals_at_most_four_random_chars() {
        let mut rng = rng();
        let pair = generate_api_keys(KeyEnvironment::Dev, &mut rng);
        for key in [pair.public_key.as_str(), pair.secret_key.expose()] {
            let shown = display_prefix(key);
            let kind_env = &key[..7];
            assert_eq!(shown, format!("{}{}…", kind_env, &key[7..11]));
            let revealed = shown.trim_start_matches(kind_env).trim_end_matches('…');
            assert!(revealed.chars().count() <= DISPLAY_RANDOM_CHARS);
        }
        assert_eq!(display_prefix("sk_prod_ABCDEFGHabcdefgh0123456789ABCDEFGH"), "sk_prod_ABCD…");
        // Malformed keys reveal nothing of their own.
        assert_eq!(display_prefix("sk_prod_short"), "sk_prod_…");
        assert_eq!(display_prefix("hunter2hunter2hunter2hunter2hunter2"), "…");
        assert_eq!(display_prefix(""), "…");
    }

    #[test]
    fn secret_key_is_absent_from_debug_and_display() {
        let mut rng = rng();
        let pair = generate_api_keys(KeyEnvironment::Prod, &mut rng);
        let secret = pair.secret_key.expose().to_owned();
        let random_tail = &secret["sk_prod_".len() + DISPLAY_RANDOM_CHARS..];
        for shown in [
            format!("{:?}", pair.secret_key),
            format!("{:#?}", pair.secret_key),
            format!("{}", pair.secret_key),
            format!("{pair:?}"),
        ] {
            assert!(!shown.contains(&secret), "{shown}");
            assert!(!shown.contains(random_tail), "{shown}");
            assert!(!shown.contains(&random_tail[..8]), "{shown}");
        }
        assert!(format!("{:?}", pair.secret_key).contains("sk_prod_"));
    }

    #[test]
    fn secret_key_parse_checks_the_format() {
        let good = format!("sk_dev_{}", "Q".repeat(40));
        let parsed = SecretKey::parse(good.clone());
        assert!(matches!(&parsed, Ok(k) if k.expose() == good));
        assert_eq!(parsed.map(|k| k.environment()), Ok(KeyEnvironment::Dev));
        let prod = SecretKey::parse(format!("sk_prod_{}", "Q".repeat(40)));
        assert_eq!(prod.map(|k| k.environment()), Ok(KeyEnvironment::Prod));
        assert_eq!(SecretKey::parse("sk_prod_secret".into()).err(), Some(AuthError::InvalidApiKey));
        assert_eq!(
            SecretKey::parse(format!("pk_dev_{}", "Q".repeat(40))).err(),
            Some(AuthError::InvalidApiKey)
        );
    }
}
