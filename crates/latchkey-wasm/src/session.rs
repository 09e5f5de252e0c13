//! The Starknet session path as one small module (`latchkey_session`, feature `session`):
//! what a page that runs a session needs and nothing else.
//!
//! ```text
//! const unlock = new SessionUnlock(pin, entropy);        // the PIN stays here
//! POST /api/wallets/{address}/pin/evaluate { blindedElement: base64url(unlock.blindedElement) }
//! const key = unlock.openEvaluated(publicKey, encryptedPrivateKey, validUntil, account,
//!                                  evaluatedElement, keyId);      // lk2
//! key.signProof(chainId, 'pin-unlock', challenge, key.publicKey)  // POST …/pin/confirm
//! key.signExecution(chainId, caller, nonce, after, before, calls, now, messageHash)
//! ```
//!
//! The execution is given as its SNIP-9 v2 fields (felts as canonical `0x` hex; the
//! TypeScript entry reads them from the server's typed data) and hashed here with the
//! fixed SNIP-9 v2 types, so the key can sign nothing but an outside execution of its own
//! account. No JSON parser and no big-integer library are linked: this module is what the
//! session path downloads.

use latchkey_core::keystore::{hardened, EncryptKey, KeyFormat as StoredFormat};
use latchkey_core::{
    is_js_hex, is_live_at, parse_felt, selector, sign_proof, to_hex, Call, Felt, KeyBinding,
    KeyKind, OutsideExecution, ProofPurpose, SessionError, SigningKey,
};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::args::{felt_arg, integer_arg};
use crate::error::{to_js, ErrorCode, WasmError, WasmResult};
use crate::pin::PinBlind;
use crate::signature::{session_signature_hex, sign_session_hash};

/// Most calls one execution may hold.
const MAX_CALLS: usize = 256;
/// Most calldata felts of one call.
const MAX_CALLDATA: usize = 10_000;

/// The OPRF key an encrypted session key needs the server's evaluation under (`lk2`), or
/// `undefined` when the PIN alone opens it (`lk1`). `INVALID_ENCRYPTED_KEY` for anything
/// else: an owner key's envelope, or a Chipi ciphertext (which the full SDK opens).
#[wasm_bindgen(js_name = sessionKeyOprfKey)]
pub fn session_key_oprf_key(encrypted_private_key: &str) -> Result<Option<String>, JsValue> {
    to_js(inspect(encrypted_private_key).map(|info| info.oprf_key))
}

/// The header of a session key's `lk2`/`lk1` envelope.
fn inspect(text: &str) -> WasmResult<hardened::EnvelopeInfo> {
    let invalid = |reason: String| WasmError::new(ErrorCode::InvalidEncryptedKey, reason);
    match StoredFormat::detect(text) {
        Some(StoredFormat::Hardened) => {
            let info = hardened::inspect(text)
                .map_err(|e| invalid(format!("Invalid encrypted session key: {e}.")))?;
            if info.kind != KeyKind::Session {
                return Err(invalid(format!(
                    "The encrypted key holds a {} key, not a session key.",
                    info.kind
                )));
            }
            Ok(info)
        }
        Some(StoredFormat::Chipi) => Err(invalid(
            "A Chipi ciphertext: the session module opens lk2 and lk1 envelopes; open it with \
             the full SDK (unlockSessionKey)."
                .to_string(),
        )),
        None => Err(invalid("Not an encrypted key (lk2 or lk1).".to_string())),
    }
}

/// A PIN on its way to opening a session key: holds the PIN and its OPRF blind in
/// WebAssembly memory (zeroed by `free()`), and shows JavaScript only the blinded element.
#[wasm_bindgen]
pub struct SessionUnlock {
    blind: PinBlind,
}

impl std::fmt::Debug for SessionUnlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUnlock").finish_non_exhaustive()
    }
}

/// The stored record of a session, parsed.
struct Record {
    binding: KeyBinding,
    public_key: String,
    valid_until: u64,
}

impl Record {
    fn parse(public_key: &str, valid_until: f64, account: &str) -> WasmResult<Self> {
        let account = felt_arg("account", account)?;
        let key = felt_arg("publicKey", public_key)?;
        Ok(Self {
            binding: KeyBinding { kind: KeyKind::Session, account, public_key: key },
            public_key: public_key.to_string(),
            valid_until: integer_arg("validUntil", valid_until)?,
        })
    }

    fn open(self, encrypted_private_key: &str, secret: &EncryptKey) -> WasmResult<SessionKey> {
        inspect(encrypted_private_key)?;
        let key = hardened::open(encrypted_private_key, secret, &self.binding)
            .map_err(|cause| WasmError::open_failed(KeyKind::Session, cause))?;
        Ok(SessionKey {
            key,
            account: self.binding.account,
            public_key: self.public_key,
            valid_until: self.valid_until,
        })
    }
}

#[wasm_bindgen]
impl SessionUnlock {
    /// Blinds `pin` (as typed) with 32+ bytes of `entropy` from `crypto.getRandomValues`.
    /// `INVALID_INPUT` for an empty or over-long PIN.
    #[wasm_bindgen(constructor)]
    pub fn new(pin: String, entropy: &[u8]) -> Result<SessionUnlock, JsValue> {
        to_js(PinBlind::new(Zeroizing::new(pin), entropy).map(|blind| SessionUnlock { blind }))
    }

    /// The 32-byte blinded element for `POST /api/wallets/{address}/pin/evaluate`.
    #[wasm_bindgen(getter, js_name = blindedElement)]
    pub fn blinded_element(&self) -> Vec<u8> {
        self.blind.element().to_vec()
    }

    /// Opens an `lk2` session key with the server's evaluation of this PIN under `keyId`.
    /// `SESSION_DECRYPTION_FAILED` for a wrong PIN or a key of another session or
    /// account, `INVALID_OPRF_ELEMENT` for an answer that is not a ristretto255 point.
    #[wasm_bindgen(js_name = openEvaluated)]
    pub fn open_evaluated(
        &self,
        public_key: &str,
        encrypted_private_key: &str,
        valid_until: f64,
        account: &str,
        evaluated: &[u8],
        key_id: &str,
    ) -> Result<SessionKey, JsValue> {
        to_js(Record::parse(public_key, valid_until, account).and_then(|record| {
            let secret = self.blind.unblind(evaluated, key_id)?;
            record.open(encrypted_private_key, &secret)
        }))
    }

    /// Opens a session key the PIN alone opens (`lk1`); an `lk2` one is `OPRF_REQUIRED`.
    pub fn open(
        &self,
        public_key: &str,
        encrypted_private_key: &str,
        valid_until: f64,
        account: &str,
    ) -> Result<SessionKey, JsValue> {
        to_js(Record::parse(public_key, valid_until, account).and_then(|record| {
            record.open(encrypted_private_key, &EncryptKey::passphrase(self.blind.pin()))
        }))
    }
}

/// A session key opened into WebAssembly memory: JavaScript sees its public parts; the
/// private key is zeroed by `free()` (or when the object is collected).
#[wasm_bindgen]
pub struct SessionKey {
    key: SigningKey,
    account: Felt,
    public_key: String,
    valid_until: u64,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKey")
            .field("public_key", &self.public_key)
            .field("account", &to_hex(&self.account))
            .field("valid_until", &self.valid_until)
            .finish_non_exhaustive()
    }
}

/// The execution to sign, parsed from its JavaScript arguments.
pub(crate) struct ExecutionArgs<'a> {
    pub(crate) chain_id: &'a str,
    pub(crate) caller: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) execute_after: &'a str,
    pub(crate) execute_before: &'a str,
    /// Per call: `to`, `selector` (hex or an entrypoint name), the calldata length, then
    /// the calldata.
    pub(crate) calls: &'a [String],
}

fn typed(field: &str, reason: impl std::fmt::Display) -> WasmError {
    WasmError::new(
        ErrorCode::InvalidTypedData,
        format!("Invalid outside execution {field}: {reason}."),
    )
}

fn felt_field(field: &str, text: &str) -> WasmResult<Felt> {
    parse_felt(text).map_err(|e| typed(field, e))
}

fn u64_field(field: &str, text: &str) -> WasmResult<u64> {
    let felt = felt_field(field, text)?;
    u64::try_from(felt).map_err(|_| typed(field, "not a 64-bit timestamp"))
}

impl ExecutionArgs<'_> {
    /// The chain id and the outside execution.
    pub(crate) fn parse(&self) -> WasmResult<(Felt, OutsideExecution)> {
        let chain_id = felt_field("chainId", self.chain_id)?;
        let mut calls = Vec::new();
        let mut rest = self.calls;
        while !rest.is_empty() {
            if calls.len() == MAX_CALLS {
                return Err(typed("Calls", format!("more than {MAX_CALLS} calls")));
            }
            let [to, sel, count, tail @ ..] = rest else {
                return Err(typed("Calls", "a call needs To, Selector and its calldata length"));
            };
            let selector =
                if is_js_hex(sel) { felt_field("Selector", sel.trim())? } else { selector(sel) };
            let count = usize::try_from(u64_field("Calldata", count)?)
                .ok()
                .filter(|n| *n <= MAX_CALLDATA && *n <= tail.len())
                .ok_or_else(|| typed("Calldata", "its length does not match"))?;
            let calldata = tail[..count]
                .iter()
                .map(|c| felt_field("Calldata", c))
                .collect::<WasmResult<_>>()?;
            calls.push(Call { to: felt_field("To", to)?, selector, calldata });
            rest = &tail[count..];
        }
        let execution = OutsideExecution {
            caller: felt_field("Caller", self.caller)?,
            nonce: felt_field("Nonce", self.nonce)?,
            execute_after: u64_field("Execute After", self.execute_after)?,
            execute_before: u64_field("Execute Before", self.execute_before)?,
            calls,
        };
        Ok((chain_id, execution))
    }
}

impl SessionKey {
    pub(crate) fn sign(
        &self,
        args: &ExecutionArgs<'_>,
        now: u64,
        expected_hash: Option<&str>,
    ) -> WasmResult<Vec<String>> {
        if !is_live_at(0, self.valid_until, now) {
            return Err(SessionError::Expired { valid_until: self.valid_until }.into());
        }
        let (chain_id, execution) = args.parse()?;
        let hash = execution.message_hash(&chain_id, &self.account);
        if let Some(expected) = expected_hash {
            if parse_felt(expected).ok() != Some(hash) {
                return Err(WasmError::new(
                    ErrorCode::UnexpectedTypedData,
                    "The server's message hash does not match its typed data.",
                ));
            }
        }
        let signature = sign_session_hash(&self.key, &hash, self.valid_until)?;
        Ok(session_signature_hex(&signature, &self.public_key))
    }

    pub(crate) fn prove(
        &self,
        chain_id: &str,
        purpose: &str,
        challenge: &str,
        payload_hash: &str,
    ) -> WasmResult<Vec<String>> {
        let purpose = ProofPurpose::parse(purpose).ok_or_else(|| {
            WasmError::invalid_input(format!("unknown proof purpose {purpose:?}"))
        })?;
        let signature = sign_proof(
            &self.key,
            &felt_arg("chainId", chain_id)?,
            &self.account,
            purpose,
            &felt_arg("challenge", challenge)?,
            &felt_arg("payloadHash", payload_hash)?,
        )
        .map_err(|e| WasmError::from(SessionError::SigningFailed(e)))?;
        Ok(vec![to_hex(&signature.r), to_hex(&signature.s)])
    }
}

#[wasm_bindgen]
impl SessionKey {
    /// The session public key, as the session record stores it.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> String {
        self.public_key.clone()
    }

    /// The wallet the key signs for (minimal `0x` hex).
    #[wasm_bindgen(getter)]
    pub fn account(&self) -> String {
        to_hex(&self.account)
    }

    /// Unix seconds after which the key signs nothing.
    #[wasm_bindgen(getter, js_name = validUntil)]
    pub fn valid_until(&self) -> f64 {
        // Parsed from a JavaScript safe integer: exact.
        self.valid_until as f64
    }

    /// Signs a SNIP-9 v2 outside execution of this wallet on `chainId`:
    /// `[sessionPublicKey, r, s, validUntil]` (hex). Felts are `0x` hex or decimal; `calls`
    /// is flat (per call `to`, `selector` — hex, or an entrypoint name —, the calldata
    /// length, the calldata). With `messageHash` (the server's), a document that hashes
    /// otherwise is `UNEXPECTED_TYPED_DATA`; after `validUntil`, `SESSION_EXPIRED`.
    #[wasm_bindgen(js_name = signExecution)]
    #[allow(clippy::too_many_arguments)]
    pub fn sign_execution(
        &self,
        chain_id: &str,
        caller: &str,
        nonce: &str,
        execute_after: &str,
        execute_before: &str,
        calls: Vec<String>,
        now: f64,
        message_hash: Option<String>,
    ) -> Result<Vec<String>, JsValue> {
        let args =
            ExecutionArgs { chain_id, caller, nonce, execute_after, execute_before, calls: &calls };
        to_js(
            integer_arg("now", now).and_then(|now| self.sign(&args, now, message_hash.as_deref())),
        )
    }

    /// Signs a proof of possession of this key for its wallet: `[r, s]` (hex) over
    /// `proofHash(chainId, account, purpose, challenge, payloadHash)`.
    #[wasm_bindgen(js_name = signProof)]
    pub fn sign_proof(
        &self,
        chain_id: &str,
        purpose: &str,
        challenge: &str,
        payload_hash: &str,
    ) -> Result<Vec<String>, JsValue> {
        to_js(self.prove(chain_id, purpose, challenge, payload_hash))
    }
}

/// The selector of an entrypoint name (`sn_keccak`), minimal `0x` hex: what a page
/// compares the server's calls with.
#[wasm_bindgen(js_name = entrypointSelector)]
pub fn entrypoint_selector(name: &str) -> String {
    to_hex(&selector(name))
}

#[cfg(test)]
#[cfg(all(feature = "signing", feature = "sealing"))]
mod tests {
    use latchkey_core::keystore::hardened::{self, FLOOR_PARAMS};
    use latchkey_core::keystore::oprf::WalletOprfKey;
    use latchkey_core::{generate_session_key, public_key_hex, ANY_CALLER};
    use proptest::prelude::*;

    use super::*;
    use crate::keys::tests::entropy;
    use crate::keys::{self, sign_session};

    const PIN: &str = "482913";
    const ACCOUNT: Felt = Felt::from_hex_unchecked("0x3f1a2b4c5d6e7f8091a2b3c4d5e6f70");
    const CHAIN: Felt = Felt::from_hex_unchecked("0x534e5f5345504f4c4941");
    const NOW: u64 = 1_800_000_000;
    const VALID_UNTIL: u64 = 1_900_000_000;

    fn session_key(key: SigningKey) -> SessionKey {
        SessionKey {
            public_key: public_key_hex(&key),
            key,
            account: ACCOUNT,
            valid_until: VALID_UNTIL,
        }
    }

    fn execution() -> OutsideExecution {
        OutsideExecution {
            caller: ANY_CALLER,
            nonce: Felt::from(77u8),
            execute_after: NOW - 10,
            execute_before: NOW + 600,
            calls: vec![
                Call {
                    to: Felt::from(0x5a1e_u32),
                    selector: selector("make_move"),
                    calldata: vec![Felt::from(7u8)],
                },
                Call { to: Felt::from(0x10_u8), selector: selector("transfer"), calldata: vec![] },
            ],
        }
    }

    /// `execution` as the flat arguments the TypeScript entry passes.
    fn flat(execution: &OutsideExecution, names: bool) -> Vec<String> {
        let mut out = Vec::new();
        for (i, call) in execution.calls.iter().enumerate() {
            out.push(to_hex(&call.to));
            out.push(match (names, i) {
                (true, 0) => "make_move".to_string(),
                _ => to_hex(&call.selector),
            });
            out.push(to_hex(&Felt::from(call.calldata.len())));
            out.extend(call.calldata.iter().map(to_hex));
        }
        out
    }

    fn sign_flat(
        key: &SessionKey,
        execution: &OutsideExecution,
        calls: &[String],
    ) -> WasmResult<Vec<String>> {
        let chain = to_hex(&CHAIN);
        let caller = to_hex(&execution.caller);
        let nonce = to_hex(&execution.nonce);
        let after = execution.execute_after.to_string();
        let before = execution.execute_before.to_string();
        let args = ExecutionArgs {
            chain_id: &chain,
            caller: &caller,
            nonce: &nonce,
            execute_after: &after,
            execute_before: &before,
            calls,
        };
        key.sign(&args, NOW, None)
    }

    #[test]
    fn signs_exactly_what_the_typed_data_signer_signs() {
        let key = generate_session_key(&mut crate::entropy::rng_from_entropy(&entropy(3)).unwrap());
        let light = session_key(key.clone());
        let execution = execution();
        let typed = execution.to_typed_data(&CHAIN);
        let full = sign_session(&key, VALID_UNTIL, &typed, &ACCOUNT, NOW).unwrap();
        let mut expected = full.to_hex_strings();
        expected[0].clone_from(&light.public_key);
        for names in [false, true] {
            assert_eq!(sign_flat(&light, &execution, &flat(&execution, names)).unwrap(), expected);
        }
        // With the server's hash: the same signature; with another, nothing is signed.
        let hash = to_hex(&execution.message_hash(&CHAIN, &ACCOUNT));
        let chain = to_hex(&CHAIN);
        let calls = flat(&execution, false);
        let args = ExecutionArgs {
            chain_id: &chain,
            caller: "0x414e595f43414c4c4552",
            nonce: "77",
            execute_after: &(NOW - 10).to_string(),
            execute_before: &(NOW + 600).to_string(),
            calls: &calls,
        };
        assert_eq!(light.sign(&args, NOW, Some(&hash)).unwrap(), expected);
        let err = light.sign(&args, NOW, Some("0x1")).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnexpectedTypedData);
        let err = light.sign(&args, VALID_UNTIL + 1, None).unwrap_err();
        assert_eq!(err.code, ErrorCode::SessionExpired);
    }

    #[test]
    fn malformed_calls_are_invalid_typed_data() {
        let light = session_key(SigningKey::from_hex("0x1234").unwrap());
        let execution = execution();
        let good = flat(&execution, false);
        let cases: Vec<Vec<String>> = vec![
            good[..2].to_vec(),
            // A calldata length longer than what follows.
            vec!["0x1".into(), "0x2".into(), "0x5".into(), "0x1".into()],
            vec!["0x1".into(), "0x2".into(), "0xffffffffffffffffff".into()],
            vec!["zz".into(), "0x2".into(), "0x0".into()],
            vec!["0x1".into(), "0x2".into(), "0x1".into(), format!("{:#x}", u128::MAX).repeat(3)],
        ];
        for calls in cases {
            let err = sign_flat(&light, &execution, &calls).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidTypedData, "{calls:?}");
        }
        let too_many: Vec<String> =
            (0..=MAX_CALLS).flat_map(|_| ["0x1".to_string(), "0x2".into(), "0x0".into()]).collect();
        let err = sign_flat(&light, &execution, &too_many).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidTypedData);
    }

    #[test]
    fn opens_lk2_and_lk1_session_envelopes_only() {
        let mut rng = crate::entropy::rng_from_entropy(&entropy(9)).unwrap();
        let key = generate_session_key(&mut rng);
        let binding =
            KeyBinding { kind: KeyKind::Session, account: ACCOUNT, public_key: key.public_key() };
        let oprf = WalletOprfKey::derive(&[7u8; 32], "v1", &ACCOUNT).unwrap();
        let secret = EncryptKey::passphrase(PIN).with_oprf(oprf.evaluate_unblinded(PIN).unwrap());
        let lk2 =
            hardened::seal_with_params(&key, &secret, &binding, FLOOR_PARAMS, &mut rng).unwrap();
        let lk1 = hardened::seal_with_params(
            &key,
            &EncryptKey::passphrase(PIN),
            &binding,
            FLOOR_PARAMS,
            &mut rng,
        )
        .unwrap();
        assert_eq!(inspect(&lk2).unwrap().oprf_key.as_deref(), Some("v1"));
        assert_eq!(inspect(&lk1).unwrap().oprf_key, None);

        let account = to_hex(&ACCOUNT);
        let public_key = public_key_hex(&key);
        let unlock = SessionUnlock {
            blind: PinBlind::new(Zeroizing::new(PIN.to_string()), &entropy(1)).unwrap(),
        };
        let evaluated = oprf.evaluate(unlock.blind.element()).unwrap();
        let record = || Record::parse(&public_key, VALID_UNTIL as f64, &account).unwrap();
        let opened = record().open(&lk2, &unlock.blind.unblind(&evaluated, "v1").unwrap()).unwrap();
        assert_eq!(opened.key.public_key(), key.public_key());
        let opened = record().open(&lk1, &EncryptKey::passphrase(unlock.blind.pin())).unwrap();
        assert_eq!(opened.key.public_key(), key.public_key());
        // lk2 without the evaluation, a wrong PIN, another account.
        let err = record().open(&lk2, &EncryptKey::passphrase(PIN)).unwrap_err();
        assert_eq!(err.code, ErrorCode::OprfRequired);
        let err = record().open(&lk1, &EncryptKey::passphrase("999999")).unwrap_err();
        assert_eq!(err.code, ErrorCode::SessionDecryptionFailed);
        let other = Record::parse(&public_key, VALID_UNTIL as f64, "0x99").unwrap();
        assert_eq!(
            other.open(&lk1, &EncryptKey::passphrase(PIN)).unwrap_err().code,
            ErrorCode::SessionDecryptionFailed
        );

        // An owner envelope, a Chipi ciphertext, anything else.
        let owner = keys::new_owner_key(
            &EncryptKey::passphrase(PIN),
            &Felt::ONE,
            keys::Format::Hardened,
            Some(FLOOR_PARAMS),
            &mut rng,
        )
        .unwrap();
        let chipi = keys::seal(
            &key,
            &binding,
            &EncryptKey::passphrase(PIN),
            keys::Format::Chipi,
            None,
            &mut rng,
        )
        .unwrap();
        for text in [owner.encrypted_private_key.as_str(), chipi.as_str(), "lk2$nope", "", "hello"]
        {
            assert_eq!(inspect(text).unwrap_err().code, ErrorCode::InvalidEncryptedKey, "{text}");
            let err = record().open(text, &EncryptKey::passphrase(PIN)).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidEncryptedKey, "{text}");
            assert!(!err.message.contains(PIN));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn no_argument_makes_signing_panic(
            chain in ".{0,90}",
            nonce in "(0x)?[0-9a-fA-F]{0,70}",
            after in "[0-9]{0,25}",
            calls in prop::collection::vec("(0x)?[0-9a-z_ ]{0,70}", 0..12),
            now in 0u64..4_000_000_000,
        ) {
            let light = session_key(SigningKey::from_hex("0x1234").unwrap());
            let args = ExecutionArgs {
                chain_id: &chain,
                caller: "0x0",
                nonce: &nonce,
                execute_after: &after,
                execute_before: "0xffffffff",
                calls: &calls,
            };
            if let Err(err) = light.sign(&args, now, Some(&nonce)) {
                prop_assert!(matches!(
                    err.code,
                    ErrorCode::InvalidTypedData | ErrorCode::SessionExpired | ErrorCode::UnexpectedTypedData
                ));
            }
            let _ = light.prove(&chain, &nonce, &after, &nonce);
            let _ = inspect(&chain);
        }
    }
}
