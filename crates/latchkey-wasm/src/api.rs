//! The exports: secrets, in-memory signers and free functions. Each is a thin wrapper
//! over [`crate::keys`]; every error is thrown as a `LatchkeyError` with `code` and
//! `numericCode` (see [`crate::ErrorCode`]).

use latchkey_core::keystore::hardened;
#[cfg(feature = "sealing")]
use latchkey_core::keystore::hardened::{Argon2Params, CURRENT_PARAMS, FLOOR_PARAMS};
use latchkey_core::keystore::{self};
#[cfg(feature = "sealing")]
use latchkey_core::keystore::{EncryptKey, ServerShare};
use latchkey_core::{
    check_pin_strength, public_key_hex, selector, short_string, to_hex, Felt, KeyBinding, KeyKind,
    SessionKeyData, SigningKey,
};
#[cfg(feature = "signing")]
use latchkey_core::{verify_signature, OutsideExecution, Signature};
#[cfg(feature = "signing")]
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::entropy::rng_from_entropy;
use crate::error::{to_js, ErrorCode, WasmError, WasmResult};
use crate::format::KeyFormat;
#[cfg(any(feature = "signing", feature = "sealing"))]
use crate::js::json_text;
use crate::js::{to_js_object, JsSessionKeyData};
#[cfg(feature = "signing")]
use crate::js::{JsOutsideExecution, JsOwnerSignature, JsTypedData};
#[cfg(feature = "sealing")]
use crate::keys::Format;
use crate::keys::{self, felt_arg, integer_arg};
#[cfg(feature = "signing")]
use crate::keys::{OwnerSignatureView, ProofInputs};
#[cfg(feature = "signing")]
use crate::signature::session_signature_hex;

/// The format to seal in with `secret`. Without a format asked for: `lk2` when the secret
/// carries the server's OPRF output, else `lk1`. `lk2` needs that output, `lk1` refuses it
/// (it would be dropped), and so does the Chipi format, which cannot use it.
#[cfg(feature = "sealing")]
pub(crate) fn format_for(format: Option<KeyFormat>, secret: &EncryptKey) -> WasmResult<Format> {
    let oprf = secret.oprf().is_some();
    match format {
        None => Ok(Format::Hardened),
        Some(KeyFormat::Lk1) if oprf => Err(WasmError::invalid_input(
            "this secret carries the server's OPRF evaluation, which seals lk2, not lk1",
        )),
        Some(KeyFormat::Lk1) => Ok(Format::Hardened),
        Some(KeyFormat::Lk2) if oprf => Ok(Format::Hardened),
        Some(KeyFormat::Lk2) if secret.is_prf() => {
            Err(WasmError::invalid_input("lk2 seals a PIN or passphrase, not a PRF output"))
        }
        Some(KeyFormat::Lk2) => Err(WasmError::new(
            ErrorCode::OprfRequired,
            "Sealing as lk2 needs the server's evaluation of the PIN (PinBlind.finalize).",
        )),
        Some(KeyFormat::Chipi) if oprf => Err(WasmError::invalid_input(
            "the Chipi format cannot use the server's OPRF evaluation",
        )),
        Some(KeyFormat::Chipi) => Ok(Format::Chipi),
        Some(_) => Err(WasmError::invalid_input("format must be \"lk1\", \"lk2\" or \"chipi\"")),
    }
}

/// What unlocks a key: a PIN or passphrase, or a WebAuthn PRF output, optionally with a
/// server-held share or with the server's OPRF evaluation of the PIN
/// (`PinBlind.finalize`). Zeroed in WebAssembly memory by `free()`; it never prints.
#[cfg(feature = "sealing")]
#[wasm_bindgen]
pub struct Secret {
    pub(crate) inner: EncryptKey,
}

#[cfg(feature = "sealing")]
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret").field("inner", &self.inner).finish()
    }
}

#[cfg(feature = "sealing")]
#[wasm_bindgen]
impl Secret {
    /// A PIN or passphrase, used exactly as typed (UTF-8, no normalisation).
    pub fn passphrase(text: String) -> Secret {
        Secret { inner: EncryptKey::passphrase(text) }
    }

    /// A WebAuthn PRF output: exactly 32 bytes.
    pub fn prf(output: &[u8]) -> Result<Secret, JsValue> {
        to_js(
            EncryptKey::prf(output).map(|inner| Secret { inner }).map_err(WasmError::invalid_input),
        )
    }

    /// Adds a server-held share (id: 1–64 characters of `[A-Za-z0-9._-]`; 32 bytes):
    /// `lk1` envelopes sealed with it need it again to open. Consumes this secret.
    #[wasm_bindgen(js_name = withServerShare)]
    pub fn with_server_share(self, id: &str, share: &[u8]) -> Result<Secret, JsValue> {
        to_js(
            ServerShare::new(id, share)
                .map(|share| Secret { inner: self.inner.with_server_share(share) })
                .map_err(WasmError::invalid_input),
        )
    }

    /// Whether this is a PRF output.
    #[wasm_bindgen(getter, js_name = isPrf)]
    pub fn is_prf(&self) -> bool {
        self.inner.is_prf()
    }

    /// The OPRF key whose evaluation this PIN carries (it then seals and opens `lk2`
    /// envelopes under that key), or `undefined`. The id is public; the output is not
    /// readable from JavaScript.
    #[wasm_bindgen(getter, js_name = oprfKeyId)]
    pub fn oprf_key_id(&self) -> Option<String> {
        self.inner.oprf().map(|output| output.key_id().to_string())
    }
}

/// Argon2id cost parameters for new `lk1` envelopes. The default (and
/// [`KdfParams::current`]) is m = 128 MiB, t = 3, p = 4; nothing below
/// [`KdfParams::floor`] (m = 19 MiB, t = 2, p = 1) is accepted.
#[cfg(feature = "sealing")]
#[wasm_bindgen]
#[derive(Debug, Clone, Copy)]
pub struct KdfParams {
    pub(crate) params: Argon2Params,
}

#[cfg(feature = "sealing")]
#[wasm_bindgen]
impl KdfParams {
    /// Parameters within the accepted bounds (`INVALID_INPUT` otherwise).
    #[wasm_bindgen(constructor)]
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<KdfParams, JsValue> {
        let params = Argon2Params { m_kib: memory_kib, t: iterations, p: parallelism };
        to_js(
            params.check_bounds().map(|()| KdfParams { params }).map_err(WasmError::invalid_input),
        )
    }

    /// The current default parameters.
    pub fn current() -> KdfParams {
        KdfParams { params: CURRENT_PARAMS }
    }

    /// The cheapest accepted parameters (for tests and constrained devices).
    pub fn floor() -> KdfParams {
        KdfParams { params: FLOOR_PARAMS }
    }

    /// Memory in KiB.
    #[wasm_bindgen(getter, js_name = memoryKib)]
    pub fn memory_kib(&self) -> u32 {
        self.params.m_kib
    }

    /// Passes over memory.
    #[wasm_bindgen(getter)]
    pub fn iterations(&self) -> u32 {
        self.params.t
    }

    /// Lanes.
    #[wasm_bindgen(getter)]
    pub fn parallelism(&self) -> u32 {
        self.params.p
    }
}

#[cfg(feature = "signing")]
fn parse_typed_data(value: &JsTypedData) -> WasmResult<latchkey_core::TypedData> {
    keys::typed_data_from_json(&json_text(value)?)
}

#[cfg(feature = "sealing")]
fn seal_again(
    key: &SigningKey,
    binding: &KeyBinding,
    secret: &Secret,
    entropy: &[u8],
    format: Option<KeyFormat>,
    kdf: Option<KdfParams>,
) -> WasmResult<String> {
    let format = format_for(format, &secret.inner)?;
    let mut rng = rng_from_entropy(entropy)?;
    keys::seal(key, binding, &secret.inner, format, kdf.map(|k| k.params), &mut rng)
        .map_err(WasmError::reseal_failed)
}

/// `key` (of `kind`, for `account`) sealed under a one-time transfer key: what both
/// signers' `sealForTransfer` return.
fn seal_held_for_transfer(
    key: &SigningKey,
    kind: KeyKind,
    account: Felt,
    transfer_key: &[u8],
    entropy: &[u8],
) -> Result<String, JsValue> {
    let binding = KeyBinding { kind, account, public_key: key.public_key() };
    to_js(
        rng_from_entropy(entropy)
            .and_then(|mut rng| keys::seal_for_transfer(key, &binding, transfer_key, &mut rng)),
    )
}

/// Parses the public key a transfer names.
fn transfer_binding(kind: KeyKind, account: &str, public_key: &str) -> WasmResult<KeyBinding> {
    Ok(KeyBinding {
        kind,
        account: felt_arg("account", account)?,
        public_key: felt_arg("publicKey", public_key)?,
    })
}

/// The encrypted key a transfer says the sending side holds: well-formed, of this kind.
fn transferred_envelope(kind: KeyKind, text: Option<String>) -> WasmResult<Option<String>> {
    let Some(text) = text else { return Ok(None) };
    validate(&text)?;
    if keystore::KeyFormat::detect(&text) == Some(keystore::KeyFormat::Hardened) {
        let found = hardened::inspect(&text).map_err(WasmError::invalid_input)?.kind;
        if found != kind {
            return Err(WasmError::invalid_input(format!(
                "the encrypted key holds a {found} key, not a {kind} key"
            )));
        }
    }
    Ok(Some(text))
}

/// Signs a proof of possession with `key` for `account`: `[r, s]` (hex).
#[cfg(feature = "signing")]
fn prove(
    key: &SigningKey,
    chain_id: &str,
    account: Felt,
    purpose: &str,
    challenge: &str,
    payload_hash: &str,
) -> WasmResult<Vec<String>> {
    let inputs = ProofInputs::parse(chain_id, account, purpose, challenge, payload_hash)?;
    let sig = keys::sign_possession(key, &inputs)?;
    Ok(vec![to_hex(&sig.r), to_hex(&sig.s)])
}

/// A session key unlocked into WebAssembly memory. JavaScript sees only its public
/// parts; the private key is zeroed when `free()` is called (or the object is collected).
#[wasm_bindgen]
pub struct SessionSigner {
    key: SigningKey,
    account: Felt,
    public_key: String,
    valid_until: u64,
    encrypted_private_key: Option<String>,
}

impl std::fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSigner")
            .field("public_key", &self.public_key)
            .field("account", &to_hex(&self.account))
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

impl SessionSigner {
    fn record(&self) -> WasmResult<SessionKeyData> {
        let encrypted = self.encrypted_private_key.clone().ok_or_else(|| {
            WasmError::invalid_input("this key was imported and is not sealed yet; call seal()")
        })?;
        Ok(SessionKeyData {
            public_key: self.public_key.clone(),
            encrypted_private_key: encrypted,
            valid_until: self.valid_until,
        })
    }

    #[cfg(feature = "signing")]
    fn sign_json(&self, json: &str, now: f64) -> WasmResult<Vec<String>> {
        let typed_data = keys::typed_data_from_json(json)?;
        let now = integer_arg("now", now)?;
        let signature =
            keys::sign_session(&self.key, self.valid_until, &typed_data, &self.account, now)?;
        Ok(session_signature_hex(&signature, &self.public_key))
    }
}

#[wasm_bindgen]
impl SessionSigner {
    /// The session public key (as in the session record).
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> String {
        self.public_key.clone()
    }

    /// The wallet the session signs for.
    #[wasm_bindgen(getter)]
    pub fn account(&self) -> String {
        to_hex(&self.account)
    }

    /// Unix seconds after which signing fails with `SESSION_EXPIRED`.
    #[wasm_bindgen(getter, js_name = validUntil)]
    pub fn valid_until(&self) -> f64 {
        self.valid_until as f64
    }

    /// The encrypted private key this signer was created or unlocked from, if any.
    #[wasm_bindgen(getter, js_name = encryptedPrivateKey)]
    pub fn encrypted_private_key(&self) -> Option<String> {
        self.encrypted_private_key.clone()
    }

    /// The session record to store (`INVALID_INPUT` if the key was imported and not
    /// sealed).
    #[wasm_bindgen(js_name = sessionKeyData)]
    pub fn session_key_data(&self) -> Result<JsSessionKeyData, JsValue> {
        to_js(self.record().and_then(|record| to_js_object(&record)))
    }
}

#[cfg(feature = "signing")]
#[wasm_bindgen]
impl SessionSigner {
    /// Signs a session execution: `[sessionPublicKey, r, s, validUntil]` (hex) over the
    /// SNIP-12 hash of `typedData` for this wallet; `SESSION_EXPIRED` after `validUntil`.
    #[wasm_bindgen(js_name = signTypedData)]
    pub fn sign_typed_data(
        &self,
        typed_data: &JsTypedData,
        now: f64,
    ) -> Result<Vec<String>, JsValue> {
        to_js(json_text(typed_data).and_then(|json| self.sign_json(&json, now)))
    }

    /// [`SessionSigner::sign_typed_data`] for typed data given as JSON text.
    #[wasm_bindgen(js_name = signTypedDataJson)]
    pub fn sign_typed_data_json(&self, json: &str, now: f64) -> Result<Vec<String>, JsValue> {
        to_js(self.sign_json(json, now))
    }

    /// Signs a proof of possession of this session key (see [`proof_hash`]): `[r, s]`
    /// (hex) over `proofHash(chainId, account, purpose, challenge, payloadHash)`. The
    /// account is this signer's wallet unless `account` is given: a session stored on the
    /// server without a wallet address is proved for `"0x0"`. `INVALID_INPUT` for an
    /// unknown purpose or a malformed felt.
    #[wasm_bindgen(js_name = signProof)]
    pub fn sign_proof(
        &self,
        chain_id: &str,
        purpose: &str,
        challenge: &str,
        payload_hash: &str,
        account: Option<String>,
    ) -> Result<Vec<String>, JsValue> {
        to_js((|| {
            let account = match account.as_deref() {
                Some(text) => felt_arg("account", text)?,
                None => self.account,
            };
            prove(&self.key, chain_id, account, purpose, challenge, payload_hash)
        })())
    }
}

#[cfg(feature = "sealing")]
#[wasm_bindgen]
impl SessionSigner {
    /// Encrypts the key again (a new PIN, or the `lk1` format for a Chipi key) and
    /// remembers the result; returns the encrypted key.
    pub fn seal(
        &mut self,
        secret: &Secret,
        entropy: &[u8],
        format: Option<KeyFormat>,
        kdf: Option<KdfParams>,
    ) -> Result<String, JsValue> {
        let binding = KeyBinding {
            kind: KeyKind::Session,
            account: self.account,
            public_key: self.key.public_key(),
        };
        let sealed = to_js(seal_again(&self.key, &binding, secret, entropy, format, kdf))?;
        self.encrypted_private_key = Some(sealed.clone());
        Ok(sealed)
    }
}

#[wasm_bindgen]
impl SessionSigner {
    /// This key sealed under `transferKey` (32 random bytes, used once), to be held by
    /// another WebAssembly instance of this module (a worker and its page) through
    /// [`SessionSigner::from_transfer`]; no Argon2id, and no plaintext in JavaScript.
    #[wasm_bindgen(js_name = sealForTransfer)]
    pub fn seal_for_transfer(
        &self,
        transfer_key: &[u8],
        entropy: &[u8],
    ) -> Result<String, JsValue> {
        seal_held_for_transfer(&self.key, KeyKind::Session, self.account, transfer_key, entropy)
    }

    /// The signer [`SessionSigner::seal_for_transfer`] sent, checked against `publicKey`
    /// and `account`. `encryptedPrivateKey` is the stored form the sending side holds for
    /// this key (what `sessionKeyData()` returns), if any.
    #[wasm_bindgen(js_name = fromTransfer)]
    pub fn from_transfer(
        sealed: &str,
        transfer_key: &[u8],
        account: &str,
        public_key: &str,
        valid_until: f64,
        encrypted_private_key: Option<String>,
    ) -> Result<SessionSigner, JsValue> {
        to_js((|| {
            let binding = transfer_binding(KeyKind::Session, account, public_key)?;
            let key = keys::open_transfer(sealed, &binding, transfer_key)?;
            Ok(SessionSigner {
                key,
                account: binding.account,
                public_key: public_key.to_string(),
                valid_until: integer_arg("validUntil", valid_until)?,
                encrypted_private_key: transferred_envelope(
                    KeyKind::Session,
                    encrypted_private_key,
                )?,
            })
        })())
    }

    /// The private key in plaintext (`0x` + 64 hex digits). Only for exporting a key to
    /// another wallet: the string cannot be wiped from JavaScript memory.
    #[wasm_bindgen(js_name = exportPrivateKeyPlaintext)]
    pub fn export_private_key_plaintext(&self) -> String {
        self.key.secret_hex().to_string()
    }
}

#[cfg(feature = "signing")]
#[wasm_bindgen]
impl SessionSigner {
    /// A signer from a plaintext private key (`0x` hex), for importing a key that exists
    /// outside any encrypted store. Seal it before storing anything.
    #[wasm_bindgen(js_name = fromPlaintext)]
    pub fn from_plaintext(
        private_key: &str,
        account: &str,
        valid_until: f64,
    ) -> Result<SessionSigner, JsValue> {
        to_js((|| {
            let key = keys::key_from_plaintext(private_key)?;
            Ok(SessionSigner {
                public_key: public_key_hex(&key),
                account: felt_arg("account", account)?,
                valid_until: integer_arg("validUntil", valid_until)?,
                key,
                encrypted_private_key: None,
            })
        })())
    }
}

/// An owner key unlocked into WebAssembly memory; zeroed by `free()`.
#[wasm_bindgen]
pub struct OwnerSigner {
    key: SigningKey,
    account: Felt,
    encrypted_private_key: Option<String>,
}

impl std::fmt::Debug for OwnerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerSigner")
            .field("public_key", &to_hex(&self.key.public_key()))
            .field("account", &to_hex(&self.account))
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "signing")]
impl OwnerSigner {
    fn sign_json(&self, json: &str) -> WasmResult<OwnerSignatureView> {
        let typed_data = keys::typed_data_from_json(json)?;
        keys::sign_owner(&self.key, &typed_data, &self.account).map(OwnerSignatureView::from)
    }
}

#[wasm_bindgen]
impl OwnerSigner {
    /// The owner public key.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> String {
        public_key_hex(&self.key)
    }

    /// The wallet (account address) this key owns.
    #[wasm_bindgen(getter)]
    pub fn account(&self) -> String {
        to_hex(&self.account)
    }

    /// The encrypted private key this signer was created or unlocked from, if any.
    #[wasm_bindgen(getter, js_name = encryptedPrivateKey)]
    pub fn encrypted_private_key(&self) -> Option<String> {
        self.encrypted_private_key.clone()
    }
}

#[cfg(feature = "signing")]
#[wasm_bindgen]
impl OwnerSigner {
    /// Signs typed data (an execution prepared by the API) as the owner.
    #[wasm_bindgen(js_name = signTypedData)]
    pub fn sign_typed_data(&self, typed_data: &JsTypedData) -> Result<JsOwnerSignature, JsValue> {
        to_js(
            json_text(typed_data)
                .and_then(|json| self.sign_json(&json))
                .and_then(|view| to_js_object(&view)),
        )
    }

    /// Signs a proof of possession of this owner key for its wallet (see
    /// [`proof_hash`]): `[r, s]` (hex) over `proofHash(chainId, account, purpose,
    /// challenge, payloadHash)` with `account` = this signer's wallet. `INVALID_INPUT` for
    /// an unknown purpose or a malformed felt.
    #[wasm_bindgen(js_name = signProof)]
    pub fn sign_proof(
        &self,
        chain_id: &str,
        purpose: &str,
        challenge: &str,
        payload_hash: &str,
    ) -> Result<Vec<String>, JsValue> {
        to_js(prove(&self.key, chain_id, self.account, purpose, challenge, payload_hash))
    }
}

#[cfg(feature = "sealing")]
#[wasm_bindgen]
impl OwnerSigner {
    /// Encrypts the key again and remembers the result; returns the encrypted key.
    pub fn seal(
        &mut self,
        secret: &Secret,
        entropy: &[u8],
        format: Option<KeyFormat>,
        kdf: Option<KdfParams>,
    ) -> Result<String, JsValue> {
        let binding = KeyBinding {
            kind: KeyKind::Owner,
            account: self.account,
            public_key: self.key.public_key(),
        };
        let sealed = to_js(seal_again(&self.key, &binding, secret, entropy, format, kdf))?;
        self.encrypted_private_key = Some(sealed.clone());
        Ok(sealed)
    }
}

#[wasm_bindgen]
impl OwnerSigner {
    /// This key sealed under `transferKey` (32 random bytes, used once), to be held by
    /// another WebAssembly instance of this module through [`OwnerSigner::from_transfer`].
    #[wasm_bindgen(js_name = sealForTransfer)]
    pub fn seal_for_transfer(
        &self,
        transfer_key: &[u8],
        entropy: &[u8],
    ) -> Result<String, JsValue> {
        seal_held_for_transfer(&self.key, KeyKind::Owner, self.account, transfer_key, entropy)
    }

    /// The signer [`OwnerSigner::seal_for_transfer`] sent, checked against `publicKey`
    /// and `account`. `encryptedPrivateKey` is the stored form the sending side holds for
    /// this key, if any.
    #[wasm_bindgen(js_name = fromTransfer)]
    pub fn from_transfer(
        sealed: &str,
        transfer_key: &[u8],
        account: &str,
        public_key: &str,
        encrypted_private_key: Option<String>,
    ) -> Result<OwnerSigner, JsValue> {
        to_js((|| {
            let binding = transfer_binding(KeyKind::Owner, account, public_key)?;
            Ok(OwnerSigner {
                key: keys::open_transfer(sealed, &binding, transfer_key)?,
                account: binding.account,
                encrypted_private_key: transferred_envelope(KeyKind::Owner, encrypted_private_key)?,
            })
        })())
    }

    /// The private key in plaintext (`0x` + 64 hex digits). Only for exporting a key to
    /// another wallet: the string cannot be wiped from JavaScript memory.
    #[wasm_bindgen(js_name = exportPrivateKeyPlaintext)]
    pub fn export_private_key_plaintext(&self) -> String {
        self.key.secret_hex().to_string()
    }
}

#[cfg(feature = "signing")]
#[wasm_bindgen]
impl OwnerSigner {
    /// A signer from a plaintext private key, for importing a key that exists outside
    /// any encrypted store. Seal it before storing anything.
    #[wasm_bindgen(js_name = fromPlaintext)]
    pub fn from_plaintext(private_key: &str, account: &str) -> Result<OwnerSigner, JsValue> {
        to_js((|| {
            Ok(OwnerSigner {
                key: keys::key_from_plaintext(private_key)?,
                account: felt_arg("account", account)?,
                encrypted_private_key: None,
            })
        })())
    }
}

/// Creates a session key for `account`, valid until `now + durationSeconds`, sealed with
/// `secret` (`lk2` when it carries the server's OPRF evaluation, else `lk1`; or the
/// `format` asked for), and keeps it unlocked. `entropy`: 32+ random bytes.
#[cfg(feature = "sealing")]
#[wasm_bindgen(js_name = createSessionSigner)]
pub fn create_session_signer(
    secret: &Secret,
    account: &str,
    duration_seconds: f64,
    now: f64,
    entropy: &[u8],
    format: Option<KeyFormat>,
    kdf: Option<KdfParams>,
) -> Result<SessionSigner, JsValue> {
    to_js((|| {
        let account = felt_arg("account", account)?;
        let duration = integer_arg("durationSeconds", duration_seconds)?;
        let now = integer_arg("now", now)?;
        let format = format_for(format, &secret.inner)?;
        let mut rng = rng_from_entropy(entropy)?;
        let (data, key) = keys::new_session_key(
            &secret.inner,
            account,
            duration,
            now,
            format,
            kdf.map(|k| k.params),
            &mut rng,
        )?;
        Ok(SessionSigner {
            key,
            account,
            public_key: data.public_key,
            valid_until: data.valid_until,
            encrypted_private_key: Some(data.encrypted_private_key),
        })
    })())
}

/// Unlocks a stored session (`SessionKeyData`) for `account`: decrypts its key (either
/// format), checks it against the record's public key, and keeps it in memory.
#[cfg(feature = "sealing")]
#[wasm_bindgen(js_name = unlockSessionKey)]
pub fn unlock_session_key(
    session: &JsSessionKeyData,
    account: &str,
    secret: &Secret,
) -> Result<SessionSigner, JsValue> {
    to_js((|| {
        let text = json_text(session)?;
        let data: SessionKeyData = serde_json::from_str(&text)
            .map_err(|e| WasmError::invalid_input(format!("session: {e}")))?;
        let account = felt_arg("account", account)?;
        let public_key = felt_arg("session.publicKey", &data.public_key)?;
        let key = keys::open(
            &data.encrypted_private_key,
            KeyKind::Session,
            account,
            public_key,
            &secret.inner,
        )?;
        Ok(SessionSigner {
            key,
            account,
            public_key: data.public_key,
            valid_until: data.valid_until,
            encrypted_private_key: Some(data.encrypted_private_key),
        })
    })())
}

/// Creates an owner key (the Chipi SDK's way), sealed with `secret` (`lk2` when it
/// carries the server's OPRF evaluation, else `lk1`; or the `format` asked for) for the
/// account it will own under `classHash`, and keeps it unlocked.
#[cfg(feature = "sealing")]
#[wasm_bindgen(js_name = createOwnerSigner)]
pub fn create_owner_signer(
    secret: &Secret,
    class_hash: &str,
    entropy: &[u8],
    format: Option<KeyFormat>,
    kdf: Option<KdfParams>,
) -> Result<OwnerSigner, JsValue> {
    to_js((|| {
        let class_hash = felt_arg("classHash", class_hash)?;
        let format = format_for(format, &secret.inner)?;
        let mut rng = rng_from_entropy(entropy)?;
        let owner = keys::new_owner_key(
            &secret.inner,
            &class_hash,
            format,
            kdf.map(|k| k.params),
            &mut rng,
        )?;
        Ok(OwnerSigner {
            key: owner.key,
            account: owner.account,
            encrypted_private_key: Some(owner.encrypted_private_key),
        })
    })())
}

/// Creates an owner key (the Chipi SDK's way) for the account it will own under
/// `classHash`, unlocked and not sealed yet: the account (`signer.account`) is what the
/// server's PIN evaluation is asked for, then `signer.seal(secret, …)` seals it as `lk2`.
#[cfg(feature = "signing")]
#[wasm_bindgen(js_name = generateOwnerSigner)]
pub fn generate_owner_signer(class_hash: &str, entropy: &[u8]) -> Result<OwnerSigner, JsValue> {
    to_js((|| {
        let class_hash = felt_arg("classHash", class_hash)?;
        let mut rng = rng_from_entropy(entropy)?;
        let (key, account) = keys::generate_owner(&class_hash, &mut rng);
        Ok(OwnerSigner { key, account, encrypted_private_key: None })
    })())
}

/// Unlocks an encrypted owner key of `account`, checking it against `ownerPublicKey`.
#[cfg(feature = "sealing")]
#[wasm_bindgen(js_name = unlockOwnerKey)]
pub fn unlock_owner_key(
    encrypted_private_key: &str,
    owner_public_key: &str,
    account: &str,
    secret: &Secret,
) -> Result<OwnerSigner, JsValue> {
    to_js((|| {
        let account = felt_arg("account", account)?;
        let public_key = felt_arg("ownerPublicKey", owner_public_key)?;
        let key =
            keys::open(encrypted_private_key, KeyKind::Owner, account, public_key, &secret.inner)?;
        Ok(OwnerSigner {
            key,
            account,
            encrypted_private_key: Some(encrypted_private_key.to_string()),
        })
    })())
}

/// The SNIP-12 revision 1 message hash of `typedData` for `account`.
#[cfg(feature = "signing")]
#[wasm_bindgen(js_name = messageHash)]
pub fn message_hash(typed_data: &JsTypedData, account: &str) -> Result<String, JsValue> {
    to_js((|| {
        let account = felt_arg("account", account)?;
        keys::message_hash(&parse_typed_data(typed_data)?, &account).map(|h| to_hex(&h))
    })())
}

/// The address of latchkey's account of `classHash` owned by `ownerPublicKey`.
#[cfg(feature = "signing")]
#[wasm_bindgen(js_name = accountAddress)]
pub fn account_address(class_hash: &str, owner_public_key: &str) -> Result<String, JsValue> {
    to_js((|| {
        let class_hash = felt_arg("classHash", class_hash)?;
        let owner = felt_arg("ownerPublicKey", owner_public_key)?;
        Ok(to_hex(&keys::account_address(&class_hash, &owner)))
    })())
}

/// The hash a key holder signs to prove possession of a key:
/// `poseidon('latchkey.proof.v1', chainId, account, purpose, challenge, payloadHash)`.
/// `purpose` is `create-wallet`, `replace-key`, `restore-key`, `store-session` or `pin-unlock`; the
/// felts are `0x` hex or decimal (the chain id as the server's challenge gives it, e.g.
/// `shortString('SN_SEPOLIA')`). `INVALID_INPUT` otherwise.
#[cfg(feature = "signing")]
#[wasm_bindgen(js_name = proofHash)]
pub fn proof_hash(
    chain_id: &str,
    account: &str,
    purpose: &str,
    challenge: &str,
    payload_hash: &str,
) -> Result<String, JsValue> {
    to_js((|| {
        let account = felt_arg("account", account)?;
        let inputs = ProofInputs::parse(chain_id, account, purpose, challenge, payload_hash)?;
        Ok(to_hex(&inputs.hash()))
    })())
}

/// `sn_keccak` of the UTF-8 bytes of `text`: the payload part of a proof (for instance of
/// an encrypted key being stored).
#[wasm_bindgen(js_name = payloadHash)]
pub fn payload_hash(text: &str) -> String {
    to_hex(&keys::proof_payload_hash(text))
}

/// `sn_keccak(name)`: the selector of an entrypoint.
#[wasm_bindgen(js_name = selectorFromName)]
pub fn selector_from_name(name: &str) -> String {
    to_hex(&selector(name))
}

/// A felt (`0x` hex or decimal) in minimal lowercase hex (`INVALID_INPUT` if not a felt).
#[wasm_bindgen(js_name = normalizeFelt)]
pub fn normalize_felt(value: &str) -> Result<String, JsValue> {
    to_js(felt_arg("value", value).map(|f| to_hex(&f)))
}

#[cfg(feature = "signing")]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutsideExecutionView {
    caller: String,
    nonce: String,
    execute_after: u64,
    execute_before: u64,
    chain_id: String,
    calls: Vec<latchkey_core::Call>,
}

#[cfg(feature = "signing")]
fn decode(typed: &latchkey_core::TypedData) -> WasmResult<OutsideExecutionView> {
    let (oe, chain) = OutsideExecution::from_typed_data(typed).map_err(|e| {
        WasmError::new(ErrorCode::InvalidTypedData, format!("Invalid typed data: {e}."))
    })?;
    Ok(OutsideExecutionView {
        caller: to_hex(&oe.caller),
        nonce: to_hex(&oe.nonce),
        execute_after: oe.execute_after,
        execute_before: oe.execute_before,
        chain_id: latchkey_core::decode_short_string(&chain).unwrap_or_else(|| to_hex(&chain)),
        calls: oe.calls,
    })
}

/// Reads a SNIP-9 v2 outside execution back from typed data (to check what is about to
/// be signed); `INVALID_TYPED_DATA` if it is not exactly one.
#[cfg(feature = "signing")]
#[wasm_bindgen(js_name = decodeOutsideExecution)]
pub fn decode_outside_execution(typed: &JsTypedData) -> Result<JsOutsideExecution, JsValue> {
    to_js(parse_typed_data(typed).and_then(|td| decode(&td)).and_then(|view| to_js_object(&view)))
}

/// The JavaScript name of a recognised format (`lk2` by the `lk2$` prefix).
fn format_name(format: keystore::KeyFormat, text: &str) -> KeyFormat {
    match format {
        keystore::KeyFormat::Chipi => KeyFormat::Chipi,
        keystore::KeyFormat::Hardened if text.starts_with(hardened::PREFIX_V2) => KeyFormat::Lk2,
        keystore::KeyFormat::Hardened => KeyFormat::Lk1,
    }
}

/// The format of an encrypted key by its prefix, or `undefined`.
#[wasm_bindgen(js_name = encryptedKeyFormat)]
pub fn encrypted_key_format(text: &str) -> Option<KeyFormat> {
    keystore::KeyFormat::detect(text).map(|format| format_name(format, text))
}

pub(crate) fn validate(text: &str) -> WasmResult<KeyFormat> {
    match keystore::KeyFormat::validate(text) {
        Ok(format) => Ok(format_name(format, text)),
        Err(e) => Err(WasmError::new(
            ErrorCode::InvalidEncryptedKey,
            format!("Not an encrypted key in a known format: {e}."),
        )),
    }
}

/// Checks that `text` is a well-formed encrypted key (without any secret) and returns its
/// format; `INVALID_ENCRYPTED_KEY` otherwise (a plaintext key, for instance).
#[wasm_bindgen(js_name = validateEncryptedKey)]
pub fn validate_encrypted_key(text: &str) -> Result<KeyFormat, JsValue> {
    to_js(validate(text))
}

/// Whether an encrypted key should be sealed again: a Chipi key, or an `lk1`/`lk2`
/// envelope with Argon2id parameters below the current ones.
#[wasm_bindgen(js_name = needsUpgrade)]
pub fn needs_upgrade(text: &str) -> Result<bool, JsValue> {
    to_js(keystore::needs_upgrade(text).map_err(|e| {
        WasmError::new(ErrorCode::InvalidEncryptedKey, format!("Not an encrypted key: {e}."))
    }))
}

/// Why a new PIN or passphrase is too weak to seal a key with (`lk1`, `lk2` or Chipi),
/// or `undefined` if it is acceptable.
#[wasm_bindgen(js_name = pinWeakness)]
pub fn pin_weakness(pin: &str) -> Option<String> {
    check_pin_strength(pin).err().map(|reason| reason.to_string())
}

/// Verifies a Stark ECDSA signature (`r`, `s`) of `messageHash` by `publicKey`; malformed
/// input is simply invalid.
#[cfg(feature = "signing")]
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify(public_key: &str, message_hash: &str, r: &str, s: &str) -> bool {
    let parse = |t: &str| latchkey_core::parse_felt(t).ok();
    match (parse(public_key), parse(message_hash), parse(r), parse(s)) {
        (Some(key), Some(hash), Some(r), Some(s)) => {
            verify_signature(&key, &hash, &Signature { r, s })
        }
        _ => false,
    }
}

/// A short string (≤ 31 ASCII characters, e.g. a chain id) as a felt in hex.
#[wasm_bindgen(js_name = shortString)]
pub fn short_string_felt(text: &str) -> Result<String, JsValue> {
    to_js(short_string(text).map(|f| to_hex(&f)).map_err(WasmError::invalid_input))
}

/// This crate's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[cfg(test)]
#[cfg(all(feature = "signing", feature = "sealing"))]
mod tests {
    use super::*;
    use crate::keys::tests::{capture, entropy};

    #[test]
    fn k11_secrets_and_signers_never_print_key_material() {
        let pin = "90210-correct-horse";
        let secret = Secret::passphrase(pin.to_string());
        let debug = format!("{secret:?}");
        assert!(!debug.contains(pin), "{debug}");
        let prf = Secret { inner: EncryptKey::prf(&[0xab; 32]).unwrap() };
        assert!(!format!("{prf:?}").to_lowercase().contains("abab"));

        let c = capture();
        let plaintext = c["keys"]["SESSION_PK"].as_str().unwrap();
        let signer = SessionSigner {
            key: keys::key_from_plaintext(plaintext).unwrap(),
            account: Felt::ONE,
            public_key: c["keys"]["sessionPub"].as_str().unwrap().to_string(),
            valid_until: 5,
            encrypted_private_key: None,
        };
        let debug = format!("{signer:?}");
        assert!(!debug.contains(&plaintext[4..20]), "{debug}");
        assert!(debug.contains(c["keys"]["sessionPub"].as_str().unwrap()));
        let owner = OwnerSigner {
            key: keys::key_from_plaintext(c["keys"]["OWNER_PK"].as_str().unwrap()).unwrap(),
            account: Felt::ONE,
            encrypted_private_key: None,
        };
        assert!(!format!("{owner:?}").contains("1234567890abcdef"));
    }

    #[test]
    fn session_signer_signs_the_captured_vector_with_the_stored_public_key() {
        let c = capture();
        let v = &c["signingVector"];
        let signer = SessionSigner {
            key: keys::key_from_plaintext(c["keys"]["SESSION_PK"].as_str().unwrap()).unwrap(),
            account: latchkey_core::parse_felt(v["walletAddr"].as_str().unwrap()).unwrap(),
            public_key: c["keys"]["sessionPub"].as_str().unwrap().to_string(),
            valid_until: 1_893_456_000,
            encrypted_private_key: None,
        };
        let sig = signer.sign_json(&v["typedData"].to_string(), 1_800_000_000.0).unwrap();
        let expected: Vec<&str> =
            v["sessionSignature"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        assert_eq!(sig, expected);
        assert_eq!(signer.record().unwrap_err().code, ErrorCode::InvalidInput);
        let err = signer.sign_json(&v["typedData"].to_string(), 1_893_456_001.0).unwrap_err();
        assert_eq!(err.code, ErrorCode::SessionExpired);
        let err = signer.sign_json("{\"types\": 1}", 1.0).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidTypedData);
    }

    #[test]
    fn reseal_turns_a_chipi_key_into_lk1() {
        let c = capture();
        let pin = Secret::passphrase("1234".to_string());
        let public_key =
            latchkey_core::parse_felt(c["keys"]["ownerPub"].as_str().unwrap()).unwrap();
        let account = Felt::from(77u8);
        let stored = c["aesDeterministic"]["ciphertextB64"].as_str().unwrap();
        let key = keys::open(stored, KeyKind::Owner, account, public_key, &pin.inner).unwrap();
        let binding = KeyBinding { kind: KeyKind::Owner, account, public_key };
        // The weak Chipi PIN is refused for lk1; a strong one is accepted.
        let err =
            seal_again(&key, &binding, &pin, &entropy(9), Some(KeyFormat::Lk1), None).unwrap_err();
        assert_eq!(err.code, ErrorCode::WeakPin);
        let strong = Secret::passphrase("a much better passphrase".to_string());
        let sealed = seal_again(
            &key,
            &binding,
            &strong,
            &entropy(9),
            Some(KeyFormat::Lk1),
            Some(KdfParams::floor()),
        )
        .unwrap();
        assert_eq!(validate(&sealed).unwrap(), KeyFormat::Lk1);
        assert!(
            latchkey_core::keystore::needs_upgrade(&sealed).unwrap(),
            "floor parameters are below the current ones"
        );
        let reopened =
            keys::open(&sealed, KeyKind::Owner, account, public_key, &strong.inner).unwrap();
        assert_eq!(reopened.public_key(), public_key);
        assert_eq!(
            seal_again(&key, &binding, &strong, &[0u8; 32], None, None).unwrap_err().code,
            ErrorCode::InsufficientEntropy
        );
    }

    #[test]
    fn decodes_outside_executions_and_refuses_other_documents() {
        let c = capture();
        let td = keys::typed_data_from_json(&c["signingVector"]["typedData"].to_string()).unwrap();
        let view = decode(&td).unwrap();
        assert_eq!(view.chain_id, "SN_MAIN");
        assert_eq!(view.caller, "0x414e595f43414c4c4552");
        assert_eq!(view.execute_before, 0x69b1_d1c0);
        assert_eq!(view.calls.len(), 1);
        assert_eq!(view.calls[0].selector, selector("transfer"));
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["calls"][0]["calldata"][1], "0xf4240");
        let mut other = td;
        other.primary_type = "Other".into();
        assert_eq!(decode(&other).err().map(|e| e.code), Some(ErrorCode::InvalidTypedData));
    }

    #[test]
    fn encrypted_key_validation() {
        let c = capture();
        let chipi = c["aesDeterministic"]["ciphertextB64"].as_str().unwrap();
        assert_eq!(validate(chipi).unwrap(), KeyFormat::Chipi);
        assert_eq!(encrypted_key_format(chipi), Some(KeyFormat::Chipi));
        let plaintext = c["keys"]["OWNER_PK"].as_str().unwrap();
        assert_eq!(encrypted_key_format(plaintext), None);
        let err = validate(plaintext).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidEncryptedKey);
        assert!(!err.message.contains(&plaintext[2..12]));
        assert_eq!(pin_weakness("482913"), None);
        assert!(pin_weakness("123456").is_some());
    }

    #[test]
    fn signers_prove_possession_for_their_account() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../test-vectors/proof-v1.json")).unwrap();
        let chain = to_hex(&short_string(v["chainId"].as_str().unwrap()).unwrap());
        let private = v["privateKey"].as_str().unwrap();
        let public = v["publicKey"].as_str().unwrap();
        let text = |c: &serde_json::Value, f: &str| c[f].as_str().unwrap().to_string();
        let expected =
            |c: &serde_json::Value| vec![text(&c["signature"], "r"), text(&c["signature"], "s")];
        for case in v["cases"].as_array().unwrap() {
            let account = latchkey_core::parse_felt(&text(case, "account")).unwrap();
            let payload = payload_hash(&text(case, "payload"));
            let hash = keys::ProofInputs::parse(
                &chain,
                account,
                &text(case, "purpose"),
                &text(case, "challenge"),
                &payload,
            )
            .unwrap()
            .hash();
            assert_eq!(to_hex(&hash), text(case, "proofHash"));
            let owner = OwnerSigner {
                key: keys::key_from_plaintext(private).unwrap(),
                account,
                encrypted_private_key: None,
            };
            let sig = prove(
                &owner.key,
                &chain,
                owner.account,
                &text(case, "purpose"),
                &text(case, "challenge"),
                &payload,
            )
            .unwrap();
            assert_eq!(sig, expected(case));
            assert!(verify(public, &to_hex(&hash), &sig[0], &sig[1]));
            // A session signer of another wallet proves for the account it is given.
            let session = SessionSigner {
                key: keys::key_from_plaintext(private).unwrap(),
                account: Felt::from(0x5eu8),
                public_key: public.to_string(),
                valid_until: 1,
                encrypted_private_key: None,
            };
            let sig = prove(
                &session.key,
                &chain,
                account,
                &text(case, "purpose"),
                &text(case, "challenge"),
                &payload,
            )
            .unwrap();
            assert_eq!(sig, expected(case));
        }
        let key = keys::key_from_plaintext(private).unwrap();
        let err = prove(&key, &chain, Felt::ONE, "anything", "0x1", "0x1").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(!err.message.contains(&private[2..12]));
    }

    fn oprf_secret(pin: &str) -> Secret {
        let key = latchkey_core::keystore::oprf::WalletOprfKey::derive(&[9; 32], "v1", &Felt::ONE)
            .unwrap();
        Secret::passphrase(pin.to_string()).with_output(key.evaluate_unblinded(pin).unwrap())
    }

    impl Secret {
        fn with_output(self, output: latchkey_core::keystore::oprf::OprfOutput) -> Secret {
            Secret { inner: self.inner.with_oprf(output) }
        }
    }

    #[test]
    fn the_format_follows_the_secret_unless_asked_for() {
        let pin = Secret::passphrase("482913".into());
        let evaluated = oprf_secret("482913");
        let prf = Secret { inner: EncryptKey::prf(&[5; 32]).unwrap() };
        let ok = |f: Option<KeyFormat>, s: &Secret| format_for(f, &s.inner).map_err(|e| e.code);
        assert_eq!(ok(None, &pin), Ok(Format::Hardened));
        assert_eq!(ok(None, &evaluated), Ok(Format::Hardened));
        assert_eq!(ok(Some(KeyFormat::Lk1), &pin), Ok(Format::Hardened));
        assert_eq!(ok(Some(KeyFormat::Lk1), &evaluated), Err(ErrorCode::InvalidInput));
        assert_eq!(ok(Some(KeyFormat::Lk2), &evaluated), Ok(Format::Hardened));
        assert_eq!(ok(Some(KeyFormat::Lk2), &pin), Err(ErrorCode::OprfRequired));
        assert_eq!(ok(Some(KeyFormat::Lk2), &prf), Err(ErrorCode::InvalidInput));
        assert_eq!(ok(Some(KeyFormat::Chipi), &pin), Ok(Format::Chipi));
        assert_eq!(ok(Some(KeyFormat::Chipi), &evaluated), Err(ErrorCode::InvalidInput));
        assert_eq!(evaluated.oprf_key_id().as_deref(), Some("v1"));
        assert_eq!(pin.oprf_key_id(), None);

        // Sealed with the evaluation: lk2, reported as such.
        let c = capture();
        let key = keys::key_from_plaintext(c["keys"]["OWNER_PK"].as_str().unwrap()).unwrap();
        let binding =
            KeyBinding { kind: KeyKind::Owner, account: Felt::ONE, public_key: key.public_key() };
        let sealed =
            seal_again(&key, &binding, &evaluated, &entropy(20), None, Some(KdfParams::floor()))
                .unwrap();
        assert!(sealed.starts_with("lk2$owner$"), "{sealed}");
        assert_eq!(validate(&sealed).unwrap(), KeyFormat::Lk2);
        assert_eq!(encrypted_key_format(&sealed), Some(KeyFormat::Lk2));
        let err = keys::open(&sealed, KeyKind::Owner, Felt::ONE, key.public_key(), &pin.inner)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::OprfRequired);
        let opened =
            keys::open(&sealed, KeyKind::Owner, Felt::ONE, key.public_key(), &evaluated.inner)
                .unwrap();
        assert_eq!(opened.public_key(), key.public_key());
    }

    #[test]
    fn keys_move_between_instances_sealed_under_a_one_time_key() {
        let c = capture();
        let plaintext = c["keys"]["SESSION_PK"].as_str().unwrap();
        let public = c["keys"]["sessionPub"].as_str().unwrap();
        let session = SessionSigner {
            key: keys::key_from_plaintext(plaintext).unwrap(),
            account: Felt::from(0x77u8),
            public_key: public.to_string(),
            valid_until: 1_900_000_000,
            encrypted_private_key: None,
        };
        let transfer_key = [0x3cu8; 32];
        let binding = KeyBinding {
            kind: KeyKind::Session,
            account: session.account,
            public_key: session.key.public_key(),
        };
        let mut rng = rng_from_entropy(&entropy(21)).unwrap();
        let sealed =
            keys::seal_for_transfer(&session.key, &binding, &transfer_key, &mut rng).unwrap();
        assert!(sealed.starts_with("lk1$session$hkdf-prf$"), "{sealed}");
        assert!(!sealed.contains(&plaintext[4..20]));
        let back = keys::open_transfer(&sealed, &binding, &transfer_key).unwrap();
        assert_eq!(back.public_key(), session.key.public_key());
        // Another transfer key, another account or another kind: refused.
        let err = keys::open_transfer(&sealed, &binding, &[0x3d; 32]).unwrap_err();
        assert_eq!(err.code, ErrorCode::SessionDecryptionFailed);
        let moved = KeyBinding { account: Felt::from(0x78u8), ..binding };
        assert!(keys::open_transfer(&sealed, &moved, &transfer_key).is_err());
        let owner = KeyBinding { kind: KeyKind::Owner, ..binding };
        assert!(keys::open_transfer(&sealed, &owner, &transfer_key).is_err());
        for bad in [&[1u8; 31][..], &[1u8; 33][..], &[][..]] {
            let err = keys::open_transfer(&sealed, &binding, bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
        }
        // An Argon2id envelope is not a transfer: refused before any KDF work.
        let lk1 = seal_again(
            &session.key,
            &binding,
            &Secret::passphrase("482913".into()),
            &entropy(22),
            None,
            Some(KdfParams::floor()),
        )
        .unwrap();
        assert!(keys::open_transfer(&lk1, &binding, &transfer_key).is_err());
        // The envelope a transfer names must be an encrypted key of the same kind.
        assert_eq!(
            transferred_envelope(KeyKind::Session, Some(lk1.clone())).unwrap(),
            Some(lk1.clone())
        );
        assert_eq!(transferred_envelope(KeyKind::Session, None).unwrap(), None);
        let err = transferred_envelope(KeyKind::Owner, Some(lk1)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        let err = transferred_envelope(KeyKind::Session, Some(plaintext.to_string())).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidEncryptedKey);
        assert!(!err.message.contains(&plaintext[4..20]));
    }

    #[test]
    fn owner_keys_can_be_made_before_they_are_sealed() {
        let c = capture();
        let class_hash =
            latchkey_core::parse_felt(c["address"]["classHash"].as_str().unwrap()).unwrap();
        let mut rng = rng_from_entropy(&entropy(23)).unwrap();
        let (key, account) = keys::generate_owner(&class_hash, &mut rng);
        assert_eq!(account, keys::account_address(&class_hash, &key.public_key()));
        let mut owner = OwnerSigner { key, account, encrypted_private_key: None };
        let binding =
            KeyBinding { kind: KeyKind::Owner, account, public_key: owner.key.public_key() };
        let sealed = seal_again(
            &owner.key,
            &binding,
            &oprf_secret("739154"),
            &entropy(24),
            Some(KeyFormat::Lk2),
            Some(KdfParams::floor()),
        )
        .unwrap();
        owner.encrypted_private_key = Some(sealed.clone());
        assert!(sealed.starts_with("lk2$owner$"));
        let opened = keys::open(
            &sealed,
            KeyKind::Owner,
            account,
            owner.key.public_key(),
            &oprf_secret("739154").inner,
        )
        .unwrap();
        assert_eq!(opened.public_key(), owner.key.public_key());
        assert!(!format!("{owner:?}").contains(&opened.secret_hex()[4..20]));
    }

    #[test]
    fn signature_verification_helper() {
        let c = capture();
        let v = &c["signingVector"];
        let sig = v["sessionSignature"].as_array().unwrap();
        let text = |x: &serde_json::Value| x.as_str().unwrap().to_string();
        assert!(verify(&text(&sig[0]), &text(&v["msgHash"]), &text(&sig[1]), &text(&sig[2])));
        assert!(!verify(&text(&sig[0]), "0x1", &text(&sig[1]), &text(&sig[2])));
        assert!(!verify("zz", "0x1", "0x1", "0x1"));
    }
}
