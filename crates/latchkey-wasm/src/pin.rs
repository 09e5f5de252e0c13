//! PINs checked by the server: the client half of `lk2` envelopes
//! (`latchkey_core::keystore::oprf`, RFC 9497 ristretto255-SHA512).
//!
//! ```text
//! const blind = blindPin(pin, entropy);             // the PIN and the blind stay here
//! POST /api/wallets/{address}/pin/evaluate  { blindedElement: base64url(blind.blindedElement) }
//! const secret = blind.finalize(evaluatedElement, keyId);   // a Secret: PIN + OPRF output
//! unlockOwnerKey(envelope, ownerPublicKey, address, secret) // or any seal/unlock export
//! ```
//!
//! The blinding scalar, the PIN and the OPRF output never cross to JavaScript; only the
//! 32-byte blinded element does (it reveals nothing about the PIN), and [`envelope_info`]
//! says which envelopes need the evaluation.

#[cfg(feature = "common")]
use latchkey_core::keystore::hardened::{self, Kdf};
#[cfg(any(feature = "sealing", feature = "session"))]
use latchkey_core::keystore::oprf::{self, ELEMENT_BYTES};
#[cfg(any(feature = "sealing", feature = "session"))]
use latchkey_core::keystore::{KeystoreError, MAX_SECRET_BYTES};
#[cfg(any(feature = "sealing", feature = "session"))]
use latchkey_core::EncryptKey;
#[cfg(feature = "common")]
use serde::Serialize;
#[cfg(any(feature = "common", feature = "sealing"))]
use wasm_bindgen::prelude::*;
#[cfg(any(feature = "sealing", feature = "session"))]
use zeroize::Zeroizing;

#[cfg(feature = "common")]
use crate::api::validate;
#[cfg(feature = "sealing")]
use crate::api::Secret;
#[cfg(any(feature = "sealing", feature = "session"))]
use crate::entropy::rng_from_entropy;
#[cfg(any(feature = "sealing", feature = "common"))]
use crate::error::to_js;
#[cfg(feature = "common")]
use crate::error::ErrorCode;
use crate::error::{WasmError, WasmResult};
#[cfg(feature = "common")]
use crate::format::KeyFormat;
#[cfg(feature = "common")]
use crate::js::{to_js_object, JsEnvelopeInfo};

/// A PIN blinded for the server's evaluation: holds the PIN and the blinding scalar in
/// WebAssembly memory (zeroed by `free()` or by `finalize`), and shows JavaScript only
/// the blinded element. One blind serves one evaluation.
#[cfg(any(feature = "sealing", feature = "session"))]
#[cfg_attr(feature = "sealing", wasm_bindgen)]
#[cfg_attr(not(feature = "sealing"), allow(unreachable_pub))]
pub struct PinBlind {
    pin: Zeroizing<String>,
    state: oprf::PinBlind,
    element: [u8; ELEMENT_BYTES],
}

#[cfg(any(feature = "sealing", feature = "session"))]
impl std::fmt::Debug for PinBlind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinBlind").finish_non_exhaustive()
    }
}

#[cfg(any(feature = "sealing", feature = "session"))]
impl PinBlind {
    /// Blinds `pin` with randomness from `entropy`.
    pub(crate) fn new(pin: Zeroizing<String>, entropy: &[u8]) -> WasmResult<Self> {
        if pin.is_empty() {
            return Err(WasmError::invalid_input("the PIN is empty"));
        }
        if pin.len() > MAX_SECRET_BYTES {
            return Err(WasmError::invalid_input(format!(
                "a PIN or passphrase has at most {MAX_SECRET_BYTES} bytes"
            )));
        }
        let mut rng = rng_from_entropy(entropy)?;
        let (state, element) = oprf::blind_pin(&pin, &mut rng).map_err(WasmError::invalid_input)?;
        Ok(Self { pin, state, element })
    }

    /// The PIN with the server's evaluation mixed in: what seals and opens `lk2`
    /// envelopes under `key_id`.
    pub(crate) fn unblind(&self, evaluated: &[u8], key_id: &str) -> WasmResult<EncryptKey> {
        if evaluated.len() != ELEMENT_BYTES {
            return Err(WasmError::invalid_oprf_element());
        }
        let output = self.state.finalize(&self.pin, evaluated, key_id).map_err(|e| match e {
            KeystoreError::InvalidOprfElement => WasmError::invalid_oprf_element(),
            other => WasmError::invalid_input(other),
        })?;
        Ok(EncryptKey::passphrase(self.pin.as_str()).with_oprf(output))
    }

    /// The blinded element the server evaluates.
    #[cfg(feature = "session")]
    pub(crate) fn element(&self) -> &[u8; ELEMENT_BYTES] {
        &self.element
    }

    /// The PIN, for envelopes it opens alone (`lk1`, the Chipi format).
    #[cfg(feature = "session")]
    pub(crate) fn pin(&self) -> &str {
        &self.pin
    }
}

#[cfg(feature = "sealing")]
#[wasm_bindgen]
impl PinBlind {
    /// The 32-byte blinded element to send as `blindedElement` (base64url): random for
    /// every blind, so it says nothing about the PIN.
    #[wasm_bindgen(getter, js_name = blindedElement)]
    pub fn blinded_element(&self) -> Vec<u8> {
        self.element.to_vec()
    }

    /// Unblinds the server's `evaluatedElement` (32 bytes) into the `Secret` that seals
    /// and opens `lk2` envelopes under `keyId` (the server's answer says which key it
    /// used). Consumes this blind. `INVALID_OPRF_ELEMENT` for an answer that is not a
    /// ristretto255 point, `INVALID_INPUT` for a malformed key id. A wrong PIN is not an
    /// error here: it gives a secret that opens nothing.
    pub fn finalize(self, evaluated: &[u8], key_id: &str) -> Result<Secret, JsValue> {
        to_js(self.unblind(evaluated, key_id).map(|inner| Secret { inner }))
    }
}

/// Blinds a PIN or passphrase (as typed, UTF-8) for `POST /api/wallets/{address}/pin/evaluate`.
/// `entropy`: 32+ bytes from `crypto.getRandomValues`. `INVALID_INPUT` for an empty or
/// over-long PIN.
#[cfg(feature = "sealing")]
#[wasm_bindgen(js_name = blindPin)]
pub fn blind_pin(pin: String, entropy: &[u8]) -> Result<PinBlind, JsValue> {
    to_js(PinBlind::new(Zeroizing::new(pin), entropy))
}

/// What an encrypted key's text says about it, without any secret.
#[cfg(feature = "common")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnvelopeView {
    /// `lk1`, `lk2` or `chipi`.
    format: &'static str,
    /// `owner` or `session`; the Chipi format does not say.
    kind: Option<&'static str>,
    /// `argon2id`, `hkdf-prf` (passkey) or `evp-md5` (Chipi).
    kdf: &'static str,
    /// `lk2`: the server's OPRF key the PIN is evaluated under.
    oprf_key_id: Option<String>,
    /// `lk1`: the server share mixed in, if any.
    server_share: Option<String>,
    /// Whether a copy of the text lets anyone test PINs offline: an `lk1` PIN envelope
    /// or a Chipi ciphertext.
    offline_guessable: bool,
    /// Whether it should be sealed again with the current parameters.
    needs_upgrade: bool,
}

#[cfg(feature = "common")]
pub(crate) fn envelope(text: &str) -> WasmResult<EnvelopeView> {
    let format = validate(text)?;
    if format == KeyFormat::Chipi {
        return Ok(EnvelopeView {
            format: "chipi",
            kind: None,
            kdf: "evp-md5",
            oprf_key_id: None,
            server_share: None,
            offline_guessable: true,
            needs_upgrade: true,
        });
    }
    let info = hardened::inspect(text).map_err(|e| {
        WasmError::new(ErrorCode::InvalidEncryptedKey, format!("Not an encrypted key: {e}."))
    })?;
    Ok(EnvelopeView {
        format: info.version(),
        kind: Some(info.kind.as_str()),
        kdf: match info.kdf {
            Kdf::Argon2id(_) => "argon2id",
            Kdf::HkdfPrf => "hkdf-prf",
        },
        offline_guessable: info.is_offline_guessable(),
        needs_upgrade: info.needs_upgrade(),
        oprf_key_id: info.oprf_key,
        server_share: info.share_id,
    })
}

/// What an encrypted key's text says about it (no secret needed): its format, the OPRF
/// key an `lk2` envelope is evaluated under (`oprfKeyId`, or `null`), and whether a copy
/// lets anyone test PINs offline (`offlineGuessable`: `lk1` PIN envelopes and Chipi
/// ciphertexts). `INVALID_ENCRYPTED_KEY` for anything else.
#[cfg(feature = "common")]
#[wasm_bindgen(js_name = envelopeInfo)]
pub fn envelope_info(text: &str) -> Result<JsEnvelopeInfo, JsValue> {
    to_js(envelope(text).and_then(|view| to_js_object(&view)))
}

#[cfg(test)]
#[cfg(all(feature = "signing", feature = "sealing"))]
mod tests {
    use latchkey_core::keystore::hardened::FLOOR_PARAMS;
    use latchkey_core::keystore::oprf::{OprfOutput, WalletOprfKey};
    use latchkey_core::{parse_felt, public_key_hex, Felt, KeyKind};
    use serde_json::Value;

    use super::*;
    use crate::keys::tests::{capture, entropy};
    use crate::keys::{self, Format};

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../../test-vectors/oprf-lk2.json")).unwrap()
    }

    fn hex_bytes(text: &str) -> Vec<u8> {
        assert!(text.len().is_multiple_of(2), "{text}");
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn felt(v: &Value) -> Felt {
        parse_felt(v.as_str().unwrap()).unwrap()
    }

    /// The lk2 vector's wallet key, as the server derives it from its master key.
    fn wallet_key(v: &Value) -> WalletOprfKey {
        let master: [u8; 32] = hex_bytes(v["master"].as_str().unwrap()).try_into().unwrap();
        WalletOprfKey::derive(&master, v["keyId"].as_str().unwrap(), &felt(&v["account"])).unwrap()
    }

    /// Blinds here, evaluates as the server does, unblinds here.
    fn round_trip(pin: &str, key: &WalletOprfKey, seed: u8) -> EncryptKey {
        let blind = PinBlind::new(Zeroizing::new(pin.to_string()), &entropy(seed)).unwrap();
        let answer = key.evaluate(&blind.blinded_element()).unwrap();
        blind.unblind(&answer, key.key_id()).unwrap()
    }

    #[test]
    fn the_lk2_vector_opens_through_a_blinded_round_trip() {
        let v = &vectors()["lk2"];
        let key = wallet_key(v);
        let pin = v["pin"].as_str().unwrap();
        let secret = round_trip(pin, &key, 1);
        // The output of the round trip is the vector's, under the vector's key id.
        let output = secret.oprf().unwrap();
        assert_eq!(output.key_id(), "v1");
        assert_eq!(output.bytes().to_vec(), hex_bytes(v["oprfOutput"].as_str().unwrap()));
        // It opens the envelope; the PIN alone is OPRF_REQUIRED.
        let envelope = v["envelope"].as_str().unwrap();
        let account = felt(&v["account"]);
        let public_key = felt(&v["publicKey"]);
        let opened = keys::open(envelope, KeyKind::Owner, account, public_key, &secret).unwrap();
        assert_eq!(public_key_hex(&opened), v["publicKey"].as_str().unwrap());
        assert_eq!(parse_felt(&opened.secret_hex()).unwrap(), felt(&v["privateKey"]));
        let err =
            keys::open(envelope, KeyKind::Owner, account, public_key, &EncryptKey::passphrase(pin))
                .unwrap_err();
        assert_eq!(err.code, ErrorCode::OprfRequired);
        // A wrong PIN through the same server gives an output that opens nothing.
        let wrong = round_trip("482914", &key, 2);
        let err = keys::open(envelope, KeyKind::Owner, account, public_key, &wrong).unwrap_err();
        assert_eq!(err.code, ErrorCode::OwnerKeyDecryptionFailed);
        // And so does the right PIN evaluated for another wallet.
        let master: [u8; 32] = hex_bytes(v["master"].as_str().unwrap()).try_into().unwrap();
        let elsewhere = WalletOprfKey::derive(&master, "v1", &(account + Felt::ONE)).unwrap();
        let moved = round_trip(pin, &elsewhere, 3);
        let err = keys::open(envelope, KeyKind::Owner, account, public_key, &moved).unwrap_err();
        assert_eq!(err.code, ErrorCode::OwnerKeyDecryptionFailed);
    }

    #[test]
    fn blinding_is_random_and_the_output_is_not() {
        let v = &vectors()["lk2"];
        let key = wallet_key(v);
        let a = PinBlind::new(Zeroizing::new("482913".into()), &entropy(4)).unwrap();
        let b = PinBlind::new(Zeroizing::new("482913".into()), &entropy(5)).unwrap();
        assert_ne!(a.blinded_element(), b.blinded_element());
        assert_eq!(a.blinded_element().len(), ELEMENT_BYTES);
        let direct = key.evaluate_unblinded("482913").unwrap();
        for blind in [a, b] {
            let answer = key.evaluate(&blind.blinded_element()).unwrap();
            let secret = blind.unblind(&answer, "v1").unwrap();
            assert_eq!(secret.oprf().unwrap().bytes(), direct.bytes());
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let blind = PinBlind::new(Zeroizing::new("482913".into()), &entropy(6)).unwrap();
        for bad in [vec![], vec![1u8; 31], vec![1u8; 33], vec![0u8; 32], vec![0xffu8; 32]] {
            let err = blind.unblind(&bad, "v1").unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidOprfElement, "{bad:?}");
        }
        let key = wallet_key(&vectors()["lk2"]);
        let answer = key.evaluate(&blind.blinded_element()).unwrap();
        for bad_id in ["", "-v1", "v1$", &"x".repeat(65)] {
            assert_eq!(blind.unblind(&answer, bad_id).unwrap_err().code, ErrorCode::InvalidInput);
        }
        let long = "7".repeat(MAX_SECRET_BYTES + 1);
        for pin in [String::new(), long] {
            let err = PinBlind::new(Zeroizing::new(pin), &entropy(7)).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
        }
        let err = PinBlind::new(Zeroizing::new("482913".into()), &[0u8; 32]).unwrap_err();
        assert_eq!(err.code, ErrorCode::InsufficientEntropy);
    }

    #[test]
    fn k11_blinds_secrets_and_errors_show_no_pin_or_output() {
        let v = &vectors()["lk2"];
        let key = wallet_key(v);
        let pin = "90210-correct-horse";
        let blind = PinBlind::new(Zeroizing::new(pin.into()), &entropy(8)).unwrap();
        assert_eq!(format!("{blind:?}"), "PinBlind { .. }");
        let answer = key.evaluate(&blind.blinded_element()).unwrap();
        let secret = Secret { inner: blind.unblind(&answer, "v1").unwrap() };
        let output = secret.inner.oprf().unwrap().bytes().to_vec();
        let hex: String = output.iter().map(|b| format!("{b:02x}")).collect();
        let shown = format!("{secret:?}");
        assert!(!shown.contains(pin), "{shown}");
        assert!(!shown.contains(&hex[..16]), "{shown}");
        assert!(!shown.contains(&format!("{}, {}", output[0], output[1])), "{shown}");
        assert_eq!(secret.oprf_key_id().as_deref(), Some("v1"));
        let errors = [
            blind.unblind(&[0u8; 32], "v1").unwrap_err(),
            PinBlind::new(Zeroizing::new(pin.repeat(60)), &entropy(9)).unwrap_err(),
            keys::open(
                v["envelope"].as_str().unwrap(),
                KeyKind::Owner,
                felt(&v["account"]),
                felt(&v["publicKey"]),
                &EncryptKey::passphrase(pin),
            )
            .unwrap_err(),
        ];
        for err in errors {
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains(pin) && !text.contains(&hex[..16]), "{text}");
            }
        }
    }

    #[test]
    fn sealing_with_an_evaluation_makes_lk2_and_needs_it_to_open() {
        let key = wallet_key(&vectors()["lk2"]);
        let account = felt(&vectors()["lk2"]["account"]);
        let secret = round_trip("739154", &key, 10);
        let mut rng = rng_from_entropy(&entropy(11)).unwrap();
        let (data, session) = keys::new_session_key(
            &secret,
            account,
            600,
            1000,
            Format::Hardened,
            Some(FLOOR_PARAMS),
            &mut rng,
        )
        .unwrap();
        let text = &data.encrypted_private_key;
        assert!(text.starts_with("lk2$session$argon2id$m=19456,t=2,p=1$v1$"), "{text}");
        let view = envelope(text).unwrap();
        assert_eq!(view.format, "lk2");
        assert_eq!(view.oprf_key_id.as_deref(), Some("v1"));
        assert!(!view.offline_guessable);
        // Another evaluation of the same PIN (a fresh blind) opens it.
        let again = round_trip("739154", &key, 12);
        let opened =
            keys::open(text, KeyKind::Session, account, session.public_key(), &again).unwrap();
        assert_eq!(opened.public_key(), session.public_key());
        let recorded = OprfOutput::new("v2", again.oprf().unwrap().bytes()).unwrap();
        let other_id = EncryptKey::passphrase("739154").with_oprf(recorded);
        let err = keys::open(text, KeyKind::Session, account, session.public_key(), &other_id)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::OprfRequired);
    }

    #[test]
    fn envelope_info_reads_every_format() {
        let c = capture();
        let chipi = envelope(c["aesDeterministic"]["ciphertextB64"].as_str().unwrap()).unwrap();
        assert_eq!((chipi.format, chipi.kind, chipi.kdf), ("chipi", None, "evp-md5"));
        assert!(chipi.offline_guessable && chipi.oprf_key_id.is_none());

        let mut rng = rng_from_entropy(&entropy(13)).unwrap();
        let pin = EncryptKey::passphrase("482913");
        let owner =
            keys::new_owner_key(&pin, &Felt::ONE, Format::Hardened, Some(FLOOR_PARAMS), &mut rng)
                .unwrap();
        let lk1 = envelope(&owner.encrypted_private_key).unwrap();
        assert_eq!(
            lk1,
            EnvelopeView {
                format: "lk1",
                kind: Some("owner"),
                kdf: "argon2id",
                oprf_key_id: None,
                server_share: None,
                offline_guessable: true,
                needs_upgrade: true,
            }
        );
        let prf = EncryptKey::prf(&[3; 32]).unwrap();
        let passkey =
            keys::new_owner_key(&prf, &Felt::ONE, Format::Hardened, None, &mut rng).unwrap();
        let view = envelope(&passkey.encrypted_private_key).unwrap();
        assert_eq!((view.format, view.kdf, view.offline_guessable), ("lk1", "hkdf-prf", false));

        let lk2 = envelope(vectors()["lk2"]["envelope"].as_str().unwrap()).unwrap();
        assert_eq!(
            (lk2.format, lk2.kind, lk2.oprf_key_id.as_deref()),
            ("lk2", Some("owner"), Some("v1"))
        );
        assert!(!lk2.offline_guessable);
        assert!(lk2.needs_upgrade, "floor parameters");

        let plaintext = c["keys"]["OWNER_PK"].as_str().unwrap();
        for bad in [plaintext, "lk2$owner$x", "", "lk9$a"] {
            let err = envelope(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidEncryptedKey, "{bad}");
            assert!(bad.len() < 12 || !err.message.contains(&bad[2..12]));
        }
    }
}
