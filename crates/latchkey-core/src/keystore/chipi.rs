//! The Chipi SDK's key encryption, bit-exact: CryptoJS `AES.encrypt(text, passphrase)`,
//! which is OpenSSL's `enc -aes-256-cbc -md md5` format.
//!
//! ```text
//! D1 = MD5(pw ‖ salt), Di = MD5(D(i-1) ‖ pw ‖ salt)      EVP_BytesToKey, 1 iteration
//! key = (D1 ‖ D2)[0..32], iv = D3[0..16]
//! ct  = AES-256-CBC(key, iv, PKCS#7(utf8(text)))
//! out = base64("Salted__" ‖ salt[8] ‖ ct)                standard alphabet, `=` padding
//! ```
//!
//! `pw` is the UTF-8 of the passphrase: the PIN as typed, or in passkey mode the lowercase
//! hex of the PRF output. The plaintext is the key's hex text with `0x` (zero-padded for
//! session keys, minimal for owner keys).
//!
//! A wrong passphrase yields garbage that is rejected at the padding, UTF-8 or hex stage;
//! the about 1 in 256 that pass the padding check are caught by the hex check and, when the
//! public key is known, by comparing public keys. A wrong PIN is therefore always an error.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::{Digest, Md5};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{check_public_key, EncryptKey, KeystoreError};
use crate::felt::{parse_felt, Felt};
use crate::secret::{private_key_text, KeyKind, SecretString};
use crate::signature::SigningKey;

/// Every Chipi ciphertext starts with this: the base64 of `Salted__`.
pub const PREFIX: &str = "U2FsdGVkX1";

const MAGIC: &[u8; 8] = b"Salted__";
const BLOCK: usize = 16;
/// Longest accepted ciphertext text. Real ones are 128 characters.
const MAX_CIPHERTEXT_CHARS: usize = 4096;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// OpenSSL `EVP_BytesToKey(MD5, 1 iteration)`: a 32-byte AES key and a 16-byte IV.
fn evp_bytes_to_key(password: &[u8], salt: &[u8; 8]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 16]>) {
    let mut derived = Zeroizing::new([0u8; 48]);
    let mut previous: Option<Zeroizing<[u8; 16]>> = None;
    for chunk in derived.chunks_mut(16) {
        let mut md5 = Md5::new();
        if let Some(block) = &previous {
            md5.update(block.as_ref());
        }
        md5.update(password);
        md5.update(salt);
        let block = Zeroizing::new(<[u8; 16]>::from(md5.finalize()));
        chunk.copy_from_slice(block.as_ref());
        previous = Some(block);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    let mut iv = Zeroizing::new([0u8; 16]);
    key.copy_from_slice(&derived[..32]);
    iv.copy_from_slice(&derived[32..]);
    (key, iv)
}

/// `CryptoES.AES.encrypt(plaintext, passphrase, {salt})`: deterministic, for tests and
/// vectors. Use [`encrypt`] otherwise.
pub fn encrypt_with_salt(
    plaintext: &str,
    passphrase: &str,
    salt: [u8; 8],
) -> Result<String, KeystoreError> {
    // The SDK: "Private key and password are required".
    if passphrase.is_empty() {
        return Err(KeystoreError::EmptyKey);
    }
    if plaintext.is_empty() {
        return Err(KeystoreError::EmptyPlaintext);
    }
    let (key, iv) = evp_bytes_to_key(passphrase.as_bytes(), &salt);
    let padded_len = (plaintext.len() / BLOCK + 1) * BLOCK;
    let mut buffer = Zeroizing::new(vec![0u8; padded_len]);
    buffer[..plaintext.len()].copy_from_slice(plaintext.as_bytes());
    let ciphertext = Encryptor::new(key.as_ref().into(), iv.as_ref().into())
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, plaintext.len())
        .map_err(|_| KeystoreError::Malformed("padding buffer"))?;
    let mut raw = Vec::with_capacity(16 + ciphertext.len());
    raw.extend_from_slice(MAGIC);
    raw.extend_from_slice(&salt);
    raw.extend_from_slice(ciphertext);
    Ok(STANDARD.encode(raw))
}

/// `CryptoES.AES.encrypt(plaintext, passphrase).toString()` with a fresh 8-byte salt.
pub fn encrypt(
    plaintext: &str,
    passphrase: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    let mut salt = [0u8; 8];
    rng.fill_bytes(&mut salt);
    encrypt_with_salt(plaintext, passphrase, salt)
}

/// `CryptoES.AES.decrypt(ciphertext, passphrase).toString(Utf8)`, strict: a wrong
/// passphrase gives [`KeystoreError::WrongKey`] (never garbage), as does an empty result.
pub fn decrypt(ciphertext: &str, passphrase: &str) -> Result<SecretString, KeystoreError> {
    if passphrase.is_empty() {
        return Err(KeystoreError::EmptyKey);
    }
    let plaintext = decrypt_bytes(ciphertext, passphrase)?;
    if plaintext.is_empty() {
        return Err(KeystoreError::WrongKey);
    }
    let text = std::str::from_utf8(&plaintext).map_err(|_| KeystoreError::WrongKey)?;
    Ok(SecretString::new(text.to_string()))
}

/// Splits a ciphertext into its salt and AES blocks, checking the format without any
/// key: base64, the `Salted__` header, an 8-byte salt and whole AES blocks.
fn parse(ciphertext: &str) -> Result<([u8; 8], Vec<u8>), KeystoreError> {
    if ciphertext.len() > MAX_CIPHERTEXT_CHARS {
        return Err(KeystoreError::Malformed("ciphertext too long"));
    }
    let raw = STANDARD
        .decode(ciphertext.trim())
        .map_err(|_| KeystoreError::Malformed("not standard base64"))?;
    let Some(body) = raw.strip_prefix(MAGIC) else {
        return Err(KeystoreError::Malformed("missing the Salted__ header"));
    };
    let (salt, ct) = body.split_at(body.len().min(8));
    let salt: [u8; 8] = salt.try_into().map_err(|_| KeystoreError::Malformed("truncated salt"))?;
    if ct.is_empty() || ct.len() % BLOCK != 0 {
        return Err(KeystoreError::Malformed("ciphertext is not whole AES blocks"));
    }
    Ok((salt, ct.to_vec()))
}

/// Checks that `ciphertext` is well-formed in this format (without decrypting it).
pub fn inspect(ciphertext: &str) -> Result<(), KeystoreError> {
    parse(ciphertext).map(|_| ())
}

/// Decrypts and unpads; the bytes are not yet checked to be text.
fn decrypt_bytes(ciphertext: &str, passphrase: &str) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let (salt, ct) = parse(ciphertext)?;
    let mut buffer = Zeroizing::new(ct);
    let (key, iv) = evp_bytes_to_key(passphrase.as_bytes(), &salt);
    let len = Decryptor::new(key.as_ref().into(), iv.as_ref().into())
        .decrypt_padded_mut::<Pkcs7>(&mut buffer)
        .map_err(|_| KeystoreError::WrongKey)?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}

/// Encrypts a private key as the SDK does: its hex text (zero-padded for a session key,
/// minimal for an owner key) under the Chipi passphrase of `key`.
pub fn seal_key(
    private_key: &SigningKey,
    kind: KeyKind,
    key: &EncryptKey,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    if key.server_share().is_some() {
        return Err(KeystoreError::ServerShareUnsupported);
    }
    if key.is_empty() {
        return Err(KeystoreError::EmptyKey);
    }
    // The same weak-PIN rules as the hardened format (K9): this format is the weaker one.
    key.check_strength()?;
    encrypt(private_key_text(private_key, kind).expose(), &key.chipi_passphrase(), rng)
}

/// Decrypts a Chipi ciphertext to a key: the text must be `0x` + 1–64 lowercase hex
/// digits, the value a valid private key, and, when `expected_public_key` is given, its
/// public key must match. A server share on `key` is ignored (the format has none).
pub fn open_key(
    ciphertext: &str,
    key: &EncryptKey,
    expected_public_key: Option<&Felt>,
) -> Result<SigningKey, KeystoreError> {
    if key.is_empty() {
        return Err(KeystoreError::EmptyKey);
    }
    let text = decrypt(ciphertext, &key.chipi_passphrase())?;
    let text = text.expose();
    let digits = text.strip_prefix("0x").ok_or(KeystoreError::WrongKey)?;
    let well_formed = (1..=64).contains(&digits.len())
        && digits.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !well_formed {
        return Err(KeystoreError::WrongKey);
    }
    let scalar = parse_felt(text).map_err(|_| KeystoreError::InvalidPrivateKey)?;
    let private_key =
        SigningKey::from_felt(scalar).map_err(|_| KeystoreError::InvalidPrivateKey)?;
    check_public_key(&private_key, expected_public_key)?;
    Ok(private_key)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::Value;

    use super::*;

    #[test]
    fn k09_the_chipi_format_refuses_weak_pins_too() {
        let key = SigningKey::from_felt(crate::Felt::from(0x1234u64)).unwrap();
        let mut rng = rand::rngs::OsRng;
        for weak in ["123456", "000000", "1111", "19900101"] {
            let err = seal_key(&key, KeyKind::Owner, &EncryptKey::passphrase(weak), &mut rng);
            assert!(matches!(err, Err(KeystoreError::WeakPin(_))), "{weak}: {err:?}");
        }
        assert!(seal_key(&key, KeyKind::Owner, &EncryptKey::passphrase("482915"), &mut rng).is_ok());
    }
    use crate::felt::tests::any_text;

    /// Well-formed ciphertexts of random content: the header, a salt and 1–4 blocks.
    fn random_ciphertext() -> impl Strategy<Value = String> {
        (any::<[u8; 8]>(), prop::collection::vec(any::<[u8; BLOCK]>(), 1..5)).prop_map(
            |(salt, blocks)| {
                let mut raw = MAGIC.to_vec();
                raw.extend_from_slice(&salt);
                blocks.iter().for_each(|block| raw.extend_from_slice(block));
                STANDARD.encode(raw)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn inspect_never_panics_on_any_text(text in any_text()) {
            let prefixed = format!("{PREFIX}{text}");
            for candidate in [&text, &prefixed] {
                if inspect(candidate).is_ok() {
                    let raw = STANDARD.decode(candidate.trim()).unwrap();
                    prop_assert!(raw.starts_with(MAGIC));
                }
            }
        }

        #[test]
        fn inspect_accepts_exactly_a_salt_and_whole_blocks(
            body in prop::collection::vec(any::<u8>(), 0..80),
            magic in prop_oneof![Just(MAGIC.to_vec()), prop::collection::vec(any::<u8>(), 0..9)],
        ) {
            let mut raw = magic;
            raw.extend_from_slice(&body);
            let expected = raw
                .strip_prefix(MAGIC)
                .is_some_and(|rest| rest.len() > 8 && (rest.len() - 8) % BLOCK == 0);
            prop_assert_eq!(inspect(&STANDARD.encode(&raw)).is_ok(), expected);
        }

        #[test]
        fn decrypting_random_ciphertexts_never_panics_or_yields_a_key(
            ciphertext in random_ciphertext(),
            pin in any_text(),
        ) {
            match decrypt(&ciphertext, &pin) {
                Ok(text) => prop_assert!(!text.is_empty()),
                Err(err) => {
                    prop_assert!(matches!(err, KeystoreError::WrongKey | KeystoreError::EmptyKey));
                }
            }
            // Random plaintext is never `0x` + hex digits of the expected key.
            let key = EncryptKey::passphrase(pin.as_str());
            prop_assert!(open_key(&ciphertext, &key, None).is_err());
        }

        #[test]
        fn encryption_round_trips_any_text(
            plaintext in any_text(),
            pin in any_text(),
            salt in any::<[u8; 8]>(),
        ) {
            match encrypt_with_salt(&plaintext, &pin, salt) {
                Ok(ciphertext) => {
                    prop_assert!(ciphertext.starts_with(PREFIX));
                    let decrypted = decrypt(&ciphertext, &pin).unwrap();
                    prop_assert_eq!(decrypted.expose(), plaintext.as_str());
                }
                Err(err) => prop_assert!(pin.is_empty() || plaintext.is_empty(), "{}", err),
            }
        }
    }

    fn capture() -> Value {
        serde_json::from_str(include_str!("../../../../test-vectors/chipi-sdk-14.4.0-capture.json"))
            .unwrap()
    }

    fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
        path.iter().fold(v, |v, k| &v[*k]).as_str().unwrap()
    }

    #[test]
    fn evp_bytes_to_key_matches_the_vector() {
        let (key, iv) = evp_bytes_to_key(b"1234", &[1, 2, 3, 4, 5, 6, 7, 8]);
        let c = capture();
        assert_eq!(hex::encode(*key), s(&c, &["aesIndependent", "derivedKeyHex"]));
        assert_eq!(hex::encode(*iv), s(&c, &["aesIndependent", "derivedIvHex"]));
    }

    #[test]
    fn fixed_salt_encryption_is_bit_exact() {
        let c = capture();
        let v = &c["aesDeterministic"];
        let salt: [u8; 8] = hex::decode(s(v, &["saltHex"])).unwrap().try_into().unwrap();
        let out = encrypt_with_salt(s(v, &["plaintext"]), s(v, &["password"]), salt).unwrap();
        assert_eq!(out, s(v, &["ciphertextB64"]));
        assert_eq!(out, s(&c, &["aesIndependent", "independentEncryptFixedSalt"]));
        assert_eq!(STANDARD.decode(&out).unwrap().len(), 96);
        assert_eq!(decrypt(&out, "1234").unwrap().expose(), s(v, &["sdkDecrypt"]));
    }

    #[test]
    fn sdk_random_salt_ciphertexts_decrypt() {
        let c = capture();
        let independent = &c["aesIndependent"];
        assert_eq!(
            decrypt(s(independent, &["sdkRandomSaltCiphertext"]), "1234").unwrap().expose(),
            s(independent, &["independentDecryptOfSdk"])
        );
        // chipi-wire.md §4: the SDK's own random-salt output for the same key.
        let doc = "U2FsdGVkX19lTZHaUHuiakJU+2Izj/vQAuVD4oPIUryWvyLanE2i2QC3vJUnzA9aEebrVxFlftTYJrb5n1+ei6GWK6CGVILZ+SKAbaM/p0k9vuqR7rAJ598ueofIOZyz";
        assert_eq!(decrypt(doc, "1234").unwrap().expose(), s(&c, &["keys", "OWNER_PK"]));
    }

    #[test]
    fn captured_session_key_opens_and_matches_its_public_key() {
        let c = capture();
        let session = &c["createSessionKey"]["result"];
        let ct = s(session, &["encryptedPrivateKey"]);
        let text = decrypt(ct, "1234").unwrap();
        assert_eq!(text.len(), 66);
        assert!(text.expose().starts_with("0x00"));
        let public = parse_felt(s(session, &["publicKey"])).unwrap();
        let key = open_key(ct, &EncryptKey::passphrase("1234"), Some(&public)).unwrap();
        assert_eq!(key.public_key(), public);
        assert_eq!(private_key_text(&key, KeyKind::Session).expose(), text.expose());
    }

    #[test]
    fn captured_owner_key_opens_and_matches_the_deployment_key() {
        let c = capture();
        let wallet = &c["createWallet"]["requests"][1]["body"];
        let ct = s(wallet, &["encryptedPrivateKey"]);
        let text = decrypt(ct, "1234").unwrap();
        assert_eq!(text.len(), 65, "owner keys are minimal hex");
        let public =
            parse_felt(s(&c["createWallet"]["requests"][0]["body"], &["starkKeyPubAX"])).unwrap();
        let key = open_key(ct, &EncryptKey::passphrase("1234"), Some(&public)).unwrap();
        assert_eq!(private_key_text(&key, KeyKind::Owner).expose(), text.expose());
    }

    #[test]
    fn unicode_password_vector() {
        let c = capture();
        let ct = s(&c, &["aesUnicode", "ct"]);
        let out = encrypt_with_salt("0xabc", "pässwörd🔑", [1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(out, ct);
        assert_eq!(decrypt(ct, "pässwörd🔑").unwrap().expose(), s(&c, &["aesUnicode", "indep"]));
        assert_eq!(decrypt(ct, "passwörd🔑").err(), Some(KeystoreError::WrongKey));
    }

    #[test]
    fn wrong_password_is_always_an_error() {
        // The SDK throws ("Malformed UTF-8 data" / "Decryption resulted in empty string");
        // we return WrongKey, and never a key.
        let c = capture();
        let ct = s(&c, &["aesDeterministic", "ciphertextB64"]);
        let owner = parse_felt(s(&c, &["keys", "ownerPub"])).unwrap();
        let mut padding_passed = 0;
        for guess in 0..3000u32 {
            let pin = format!("{guess:04}");
            if pin == "1234" {
                continue;
            }
            if decrypt_bytes(ct, &pin).is_ok() {
                padding_passed += 1;
            }
            let key = EncryptKey::passphrase(pin.as_str());
            assert!(open_key(ct, &key, Some(&owner)).is_err(), "{pin}");
            assert!(open_key(ct, &key, None).is_err(), "{pin}");
        }
        // About 1 in 256 wrong PINs get past the padding check; the later checks hold.
        assert!(padding_passed > 0, "no wrong PIN exercised the post-padding checks");
    }

    #[test]
    fn public_key_mismatch_is_reported() {
        let c = capture();
        let ct = s(&c, &["aesDeterministic", "ciphertextB64"]);
        let session_pub = parse_felt(s(&c, &["keys", "sessionPub"])).unwrap();
        assert_eq!(
            open_key(ct, &EncryptKey::passphrase("1234"), Some(&session_pub)).err(),
            Some(KeystoreError::PublicKeyMismatch)
        );
    }

    #[test]
    fn round_trip_both_kinds_and_passkey_convention() {
        let mut rng = StdRng::seed_from_u64(9);
        let key = crate::keys::generate_session_key(&mut rng);
        let pin = EncryptKey::passphrase("482915");
        let ct = seal_key(&key, KeyKind::Session, &pin, &mut rng).unwrap();
        assert!(ct.starts_with(PREFIX));
        assert_eq!(ct.len(), 128);
        let opened = open_key(&ct, &pin, Some(&key.public_key())).unwrap();
        assert_eq!(opened.public_key(), key.public_key());

        let owner = crate::keys::generate_owner_key(&mut rng);
        let prf = [0x3cu8; 32];
        let passkey = EncryptKey::prf(&prf).unwrap();
        let ct = seal_key(&owner, KeyKind::Owner, &passkey, &mut rng).unwrap();
        // Passkey mode: the passphrase is the PRF output's lowercase hex.
        let text = decrypt(&ct, &hex::encode(prf)).unwrap();
        assert_eq!(text.expose(), private_key_text(&owner, KeyKind::Owner).expose());
        assert!(open_key(&ct, &passkey, Some(&owner.public_key())).is_ok());
        assert!(decrypt(&ct, &hex::encode(prf).to_uppercase()).is_err());
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        let pin = EncryptKey::passphrase("1234");
        for bad in [
            "",
            "U2FsdGVkX1",
            "U2FsdGVkX18BAgMEBQYHCA==",
            "not base64 at all!",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "U2FsdGVkX18BAgMEBQYHCCupzcS+n3amJ0u9t3uJ/+91f4FWd6lP7ALq2UiM",
        ] {
            assert!(matches!(open_key(bad, &pin, None), Err(KeystoreError::Malformed(_))), "{bad}");
        }
        assert!(matches!(
            open_key(&"A".repeat(5000), &pin, None),
            Err(KeystoreError::Malformed(_))
        ));
        assert_eq!(
            open_key("U2Fs", &EncryptKey::passphrase(""), None).err(),
            Some(KeystoreError::EmptyKey)
        );
        assert_eq!(encrypt_with_salt("0x1", "", [0; 8]).err(), Some(KeystoreError::EmptyKey));
        assert_eq!(encrypt_with_salt("", "pw", [0; 8]).err(), Some(KeystoreError::EmptyPlaintext));
    }

    #[test]
    fn a_server_share_cannot_be_used_with_the_chipi_format() {
        let mut rng = StdRng::seed_from_u64(2);
        let key = crate::keys::generate_session_key(&mut rng);
        let share = super::super::ServerShare::new("s1", &[9; 32]).unwrap();
        let pin = EncryptKey::passphrase("1234").with_server_share(share);
        assert_eq!(
            seal_key(&key, KeyKind::Session, &pin, &mut rng).err(),
            Some(KeystoreError::ServerShareUnsupported)
        );
    }
}
