//! EVM keys (secp256k1) held in WebAssembly memory: an owner or session key of an EVM
//! smart account, generated here, sealed in latchkey's envelopes (`lk2$owner-secp256k1$…`
//! with a PIN the server evaluated, `lk1` without), unlocked from them, and used to sign
//! userOp hashes and custody proofs. JavaScript sees addresses and signatures only.
//!
//! ```text
//! const owner = generateEvmSigner('owner', entropy);      // its address is known at once
//! // the wallet address follows from owner.address (CREATE2, computed by the caller)
//! const secret = blindPin(pin, entropy).finalize(evaluatedElement, keyId);
//! owner.seal(walletAddress, secret, entropy);             // lk2$owner-secp256k1$…
//! owner.signUserOpHash(1, userOpHash);                    // 66 bytes kind ‖ r ‖ s ‖ v
//! owner.signMessageHash(proofHash);                        // 65 bytes r ‖ s ‖ v (personal_sign)
//! const again = unlockEvmKey(envelope, 'owner', walletAddress, owner.address, secret);
//! ```
//!
//! An envelope binds the kind, the wallet address and the key's own address (both as
//! felts, [`address_felt`]), so a key opens only for the wallet it was sealed for.

use std::str::FromStr;

use latchkey_core::keystore::hardened::{self, Argon2Params, CURRENT_PARAMS};
use latchkey_core::keystore::{self, passkey, EncryptKey, KeyBinding, KeystoreError};
use latchkey_core::KeyKind;
use latchkey_evm_contracts::primitives::hex;
use latchkey_evm_contracts::{address_felt, Address, EvmSigningKey, SignatureKind, B256};
use rand_core::CryptoRngCore;
use wasm_bindgen::prelude::*;

use crate::api::{format_for, KdfParams, Secret};
use crate::entropy::rng_from_entropy;
use crate::error::{to_js, ErrorCode, WasmError, WasmResult};
use crate::format::KeyFormat;
use crate::keys::Format;

/// A key kind by its wire spelling (`owner` or `session`).
pub(crate) fn kind_arg(text: &str) -> WasmResult<KeyKind> {
    match text {
        "owner" => Ok(KeyKind::Owner),
        "session" => Ok(KeyKind::Session),
        _ => Err(WasmError::invalid_input("kind must be \"owner\" or \"session\"")),
    }
}

/// An EVM address argument: `0x` and 40 hex digits, any case (the checksum is not
/// required).
pub(crate) fn address_arg(field: &str, text: &str) -> WasmResult<Address> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
    match digits {
        Some(d) if d.len() == 40 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Address::from_str(d)
                .map_err(|_| WasmError::invalid_input(format!("{field} is not an EVM address")))
        }
        _ => Err(WasmError::invalid_input(format!(
            "{field} must be an EVM address: 0x and 40 hex digits"
        ))),
    }
}

/// A 32-byte hash argument: `0x` and 64 hex digits.
pub(crate) fn hash_arg(field: &str, text: &str) -> WasmResult<B256> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
    match digits {
        Some(d) if d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) => B256::from_str(d)
            .map_err(|_| WasmError::invalid_input(format!("{field} is not a 32-byte hash"))),
        _ => Err(WasmError::invalid_input(format!("{field} must be 0x and 64 hex digits"))),
    }
}

/// What an envelope of an EVM key binds: the kind, the wallet and the key's address.
pub(crate) fn evm_binding(kind: KeyKind, account: Address, key: Address) -> KeyBinding {
    KeyBinding { kind, account: address_felt(account), public_key: address_felt(key) }
}

/// Seals an EVM key: Argon2id (with the server's OPRF output: `lk2`) for a PIN or
/// passphrase, HKDF for a passkey PRF output. The Chipi format holds Stark keys only.
pub(crate) fn seal_evm(
    key: &EvmSigningKey,
    binding: &KeyBinding,
    secret: &EncryptKey,
    format: Format,
    params: Option<Argon2Params>,
    rng: &mut impl CryptoRngCore,
) -> WasmResult<String> {
    if format == Format::Chipi {
        return Err(WasmError::invalid_input(
            "an EVM key is sealed as lk2 or lk1; the Chipi format holds Stark keys only",
        ));
    }
    if secret.is_empty() {
        return Err(WasmError::create_failed(binding.kind, KeystoreError::EmptyKey));
    }
    let sealed = if secret.is_prf() {
        passkey::seal(key, secret, binding, rng)
    } else {
        hardened::seal_with_params(key, secret, binding, params.unwrap_or(CURRENT_PARAMS), rng)
    };
    sealed.map_err(|cause| WasmError::create_failed(binding.kind, cause))
}

/// Opens an EVM key's envelope, checked against the binding (kind, wallet, address).
pub(crate) fn open_evm(
    stored: &str,
    binding: &KeyBinding,
    secret: &EncryptKey,
) -> WasmResult<EvmSigningKey> {
    keystore::open_as::<EvmSigningKey>(stored, secret, binding)
        .map_err(|cause| WasmError::open_failed(binding.kind, cause))
}

/// `0x` and lowercase hex.
fn hex_text(bytes: &[u8]) -> String {
    hex::encode_prefixed(bytes)
}

/// An EVM key unlocked (or generated) in WebAssembly memory: an owner or session key of
/// an EVM smart account. JavaScript sees its address and signatures; the private key is
/// zeroed when `free()` is called (or the object is collected).
#[wasm_bindgen]
pub struct EvmSigner {
    key: EvmSigningKey,
    kind: KeyKind,
    account: Option<Address>,
    encrypted_private_key: Option<String>,
}

impl std::fmt::Debug for EvmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmSigner")
            .field("kind", &self.kind)
            .field("address", &self.key.address())
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl EvmSigner {
    /// A new random key of `kind`, not sealed and not bound to a wallet yet.
    pub(crate) fn generate(kind: KeyKind, rng: &mut impl CryptoRngCore) -> Self {
        Self { key: EvmSigningKey::generate(rng), kind, account: None, encrypted_private_key: None }
    }

    /// Opens `stored` as the key of `kind` at `address` for the wallet `account`.
    pub(crate) fn open(
        stored: &str,
        kind: KeyKind,
        account: Address,
        address: Address,
        secret: &EncryptKey,
    ) -> WasmResult<Self> {
        let key = open_evm(stored, &evm_binding(kind, account, address), secret)?;
        Ok(Self { key, kind, account: Some(account), encrypted_private_key: Some(stored.into()) })
    }

    /// Seals the key for the wallet `account` (which must be the one it is already bound
    /// to, if any) and remembers the envelope.
    pub(crate) fn seal_for(
        &mut self,
        account: Address,
        secret: &EncryptKey,
        format: Format,
        params: Option<Argon2Params>,
        rng: &mut impl CryptoRngCore,
    ) -> WasmResult<String> {
        if self.account.is_some_and(|bound| bound != account) {
            return Err(WasmError::invalid_input(
                "this key is bound to another wallet; it is sealed for that wallet only",
            ));
        }
        let binding = evm_binding(self.kind, account, self.key.address());
        let sealed = seal_evm(&self.key, &binding, secret, format, params, rng)?;
        self.account = Some(account);
        self.encrypted_private_key = Some(sealed.clone());
        Ok(sealed)
    }

    /// A userOp signature of the kind byte `kind` over `hash`: `kind ‖ r ‖ s ‖ v`. An
    /// owner key signs owner kinds (0, 1) only and a session key session kinds (2, 3).
    pub(crate) fn user_op_signature(&self, kind: u8, hash: B256) -> WasmResult<[u8; 66]> {
        let kind = SignatureKind::from_byte(kind).ok_or_else(|| {
            WasmError::invalid_input("a userOp signature kind is 0, 1 (owner), 2 or 3 (session)")
        })?;
        if kind.is_session() != (self.kind == KeyKind::Session) {
            return Err(WasmError::invalid_input(format!(
                "a {} key does not sign userOps of kind {}",
                self.kind,
                kind.byte()
            )));
        }
        self.key.sign_user_op(kind, hash).map(|signature| signature.to_bytes()).map_err(|_| {
            WasmError::new(ErrorCode::SigningFailed, "Signing the userOp hash failed.")
        })
    }

    /// `personal_sign` (EIP-191) over the 32 bytes of `hash`: `r ‖ s ‖ v`.
    pub(crate) fn message_signature(&self, hash: B256) -> WasmResult<[u8; 65]> {
        self.key.sign_message_hash(hash).map(|signature| signature.to_bytes()).map_err(|_| {
            WasmError::new(ErrorCode::SigningFailed, "Signing the message hash failed.")
        })
    }
}

#[wasm_bindgen]
impl EvmSigner {
    /// The key's address (EIP-55 checksummed).
    #[wasm_bindgen(getter)]
    pub fn address(&self) -> String {
        self.key.address().to_checksum(None)
    }

    /// `owner` or `session`.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        self.kind.as_str().to_string()
    }

    /// The wallet the key is bound to (checksummed), once sealed or unlocked for one.
    #[wasm_bindgen(getter)]
    pub fn account(&self) -> Option<String> {
        self.account.map(|a| a.to_checksum(None))
    }

    /// The envelope this key was sealed into or unlocked from, if any.
    #[wasm_bindgen(getter, js_name = encryptedPrivateKey)]
    pub fn encrypted_private_key(&self) -> Option<String> {
        self.encrypted_private_key.clone()
    }

    /// Seals the key for the wallet `account`: `lk2` when `secret` carries the server's
    /// evaluation of the PIN (`PinBlind.finalize`), `lk1` for a PIN alone (only with
    /// `format: "lk1"`) or a passkey PRF output. Remembers and returns the envelope.
    /// `WEAK_PIN` for a PIN that fails the strength rules.
    pub fn seal(
        &mut self,
        account: &str,
        secret: &Secret,
        entropy: &[u8],
        format: Option<KeyFormat>,
        kdf: Option<KdfParams>,
    ) -> Result<String, JsValue> {
        to_js((|| {
            let account = address_arg("account", account)?;
            let format = format_for(format, &secret.inner)?;
            let mut rng = rng_from_entropy(entropy)?;
            self.seal_for(account, &secret.inner, format, kdf.map(|k| k.params), &mut rng)
        })())
    }

    /// Signs a userOp hash (`0x` + 64 hex digits) with the account's signature layout:
    /// `0x` + 66 bytes `kind ‖ r ‖ s ‖ v`. Kind 1 (owner) and 3 (session) sign EIP-191
    /// over the hash, 0 and 2 the hash itself.
    #[wasm_bindgen(js_name = signUserOpHash)]
    pub fn sign_user_op_hash(&self, kind: u8, hash: &str) -> Result<String, JsValue> {
        to_js(
            hash_arg("hash", hash)
                .and_then(|hash| self.user_op_signature(kind, hash))
                .map(|bytes| hex_text(&bytes)),
        )
    }

    /// `personal_sign` over the 32 bytes of `hash` (viem's `signMessage({ message: { raw } })`):
    /// `0x` + 65 bytes `r ‖ s ‖ v`. Custody proofs are signed so.
    #[wasm_bindgen(js_name = signMessageHash)]
    pub fn sign_message_hash(&self, hash: &str) -> Result<String, JsValue> {
        to_js(
            hash_arg("hash", hash)
                .and_then(|hash| self.message_signature(hash))
                .map(|bytes| hex_text(&bytes)),
        )
    }
}

/// A new random EVM key of `kind` (`owner` or `session`), held here and not sealed yet:
/// its address is known at once, so the wallet address (and the server's evaluation of
/// the PIN for it) can be had before [`EvmSigner::seal`]. `entropy`: 32+ bytes from
/// `crypto.getRandomValues`.
#[wasm_bindgen(js_name = generateEvmSigner)]
pub fn generate_evm_signer(kind: &str, entropy: &[u8]) -> Result<EvmSigner, JsValue> {
    to_js((|| {
        let kind = kind_arg(kind)?;
        let mut rng = rng_from_entropy(entropy)?;
        Ok(EvmSigner::generate(kind, &mut rng))
    })())
}

/// Unlocks an EVM key's envelope (`lk2$owner-secp256k1$…`, `lk1$session-secp256k1$…`):
/// the key of `kind` whose address is `address`, for the wallet `account`. An `lk2`
/// envelope needs `secret` from `PinBlind.finalize` (`OPRF_REQUIRED` otherwise); a wrong
/// PIN, another wallet or another key is `OWNER_KEY_DECRYPTION_FAILED` /
/// `SESSION_DECRYPTION_FAILED`.
#[wasm_bindgen(js_name = unlockEvmKey)]
pub fn unlock_evm_key(
    encrypted_private_key: &str,
    kind: &str,
    account: &str,
    address: &str,
    secret: &Secret,
) -> Result<EvmSigner, JsValue> {
    to_js((|| {
        let kind = kind_arg(kind)?;
        let account = address_arg("account", account)?;
        let address = address_arg("address", address)?;
        EvmSigner::open(encrypted_private_key, kind, account, address, &secret.inner)
    })())
}

#[cfg(test)]
#[cfg(all(feature = "signing", feature = "evm"))]
mod tests {
    use latchkey_core::keystore::hardened::FLOOR_PARAMS;
    use latchkey_core::keystore::oprf::WalletOprfKey;
    use latchkey_evm_contracts::{eip191_digest, RawSignature, UserOpSignature};
    use serde_json::Value;
    use zeroize::Zeroizing;

    use super::*;
    use crate::keys::tests::entropy;
    use crate::pin::PinBlind;

    fn vector() -> Value {
        let all: Value =
            serde_json::from_str(include_str!("../../../test-vectors/oprf-lk2.json")).unwrap();
        all["lk2Secp256k1"].clone()
    }

    fn text<'a>(v: &'a Value, field: &str) -> &'a str {
        v[field].as_str().unwrap()
    }

    fn wallet_key(v: &Value, account: Address) -> WalletOprfKey {
        let master: [u8; 32] = hex::decode(text(v, "master")).unwrap().try_into().unwrap();
        WalletOprfKey::derive(&master, text(v, "keyId"), &address_felt(account)).unwrap()
    }

    /// Blinds here, evaluates as the server does, unblinds here.
    fn round_trip(pin: &str, key: &WalletOprfKey, seed: u8) -> EncryptKey {
        let blind = PinBlind::new(Zeroizing::new(pin.to_string()), &entropy(seed)).unwrap();
        let answer = key.evaluate(&blind.blinded_element()).unwrap();
        blind.unblind(&answer, key.key_id()).unwrap()
    }

    #[test]
    fn the_secp256k1_lk2_vector_opens_through_a_blinded_round_trip() {
        let v = vector();
        let account = address_arg("account", text(&v, "account")).unwrap();
        let address = address_arg("address", text(&v, "address")).unwrap();
        let key = wallet_key(&v, account);
        let secret = round_trip(text(&v, "pin"), &key, 1);
        assert_eq!(
            secret.oprf().unwrap().bytes().to_vec(),
            hex::decode(text(&v, "oprfOutput")).unwrap()
        );
        let envelope = text(&v, "envelope");
        let signer = EvmSigner::open(envelope, KeyKind::Owner, account, address, &secret).unwrap();
        assert_eq!(signer.address(), text(&v, "address"));
        let expected: [u8; 32] = hex::decode(text(&v, "privateKey")).unwrap().try_into().unwrap();
        assert_eq!(
            EvmSigningKey::from_bytes(&expected).unwrap().address(),
            signer.key.address(),
            "the vector's private key"
        );
        // A wrong PIN, the PIN alone, another wallet, another kind: refused.
        let wrong = round_trip("482914", &key, 2);
        let err = EvmSigner::open(envelope, KeyKind::Owner, account, address, &wrong).unwrap_err();
        assert_eq!(err.code, ErrorCode::OwnerKeyDecryptionFailed);
        let alone = EncryptKey::passphrase(text(&v, "pin"));
        let err = EvmSigner::open(envelope, KeyKind::Owner, account, address, &alone).unwrap_err();
        assert_eq!(err.code, ErrorCode::OprfRequired);
        let elsewhere = Address::repeat_byte(0x11);
        let moved = round_trip(text(&v, "pin"), &wallet_key(&v, elsewhere), 3);
        let err =
            EvmSigner::open(envelope, KeyKind::Owner, elsewhere, address, &moved).unwrap_err();
        assert_eq!(err.code, ErrorCode::OwnerKeyDecryptionFailed);
        let err =
            EvmSigner::open(envelope, KeyKind::Session, account, address, &secret).unwrap_err();
        assert_eq!(err.code, ErrorCode::SessionDecryptionFailed);
        // A Stark unlock of the same envelope is refused (another curve).
        let err = crate::keys::open(
            envelope,
            KeyKind::Owner,
            address_felt(account),
            address_felt(address),
            &secret,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::OwnerKeyDecryptionFailed);
    }

    #[test]
    fn generated_keys_seal_as_lk2_and_open_again_for_their_wallet_only() {
        let v = vector();
        let account = Address::repeat_byte(0xac);
        let oprf = wallet_key(&v, account);
        let mut rng = rng_from_entropy(&entropy(4)).unwrap();
        for kind in [KeyKind::Owner, KeyKind::Session] {
            let mut signer = EvmSigner::generate(kind, &mut rng);
            assert!(signer.account.is_none() && signer.encrypted_private_key.is_none());
            let secret = round_trip("739154", &oprf, 5);
            let sealed = signer
                .seal_for(account, &secret, Format::Hardened, Some(FLOOR_PARAMS), &mut rng)
                .unwrap();
            let prefix = format!("lk2${}-secp256k1$argon2id$m=19456,t=2,p=1$v1$", kind.as_str());
            assert!(sealed.starts_with(&prefix), "{sealed}");
            assert_eq!(signer.encrypted_private_key.as_deref(), Some(sealed.as_str()));
            // Another evaluation of the same PIN opens it.
            let again = round_trip("739154", &oprf, 6);
            let opened =
                EvmSigner::open(&sealed, kind, account, signer.key.address(), &again).unwrap();
            assert_eq!(opened.address(), signer.address());
            // Bound to this wallet: sealing it for another is refused.
            let other = Address::repeat_byte(0xad);
            let err = signer
                .seal_for(other, &again, Format::Hardened, Some(FLOOR_PARAMS), &mut rng)
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            // The Chipi format holds Stark keys only; weak PINs are refused.
            let pin = EncryptKey::passphrase("482913");
            let err = signer.seal_for(account, &pin, Format::Chipi, None, &mut rng).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            let weak = EncryptKey::passphrase("123456");
            let err =
                signer.seal_for(account, &weak, Format::Hardened, None, &mut rng).unwrap_err();
            assert_eq!(err.code, ErrorCode::WeakPin);
        }
    }

    #[test]
    fn signatures_recover_to_the_key_and_kinds_follow_the_key() {
        let mut rng = rng_from_entropy(&entropy(7)).unwrap();
        let owner = EvmSigner::generate(KeyKind::Owner, &mut rng);
        let session = EvmSigner::generate(KeyKind::Session, &mut rng);
        let hash = B256::repeat_byte(0x42);
        for (signer, kinds, refused) in [(&owner, [0u8, 1], [2u8, 3]), (&session, [2, 3], [0, 1])] {
            for kind in kinds {
                let bytes = signer.user_op_signature(kind, hash).unwrap();
                assert_eq!(bytes[0], kind);
                let decoded = UserOpSignature::decode(&bytes).unwrap();
                assert_eq!(decoded.recover(hash).unwrap(), signer.key.address());
            }
            for kind in refused.into_iter().chain([4, 255]) {
                let err = signer.user_op_signature(kind, hash).unwrap_err();
                assert_eq!(err.code, ErrorCode::InvalidInput, "{kind}");
            }
        }
        let message = owner.message_signature(hash).unwrap();
        let raw = RawSignature::from_bytes(&message).unwrap();
        assert_eq!(raw.recover(eip191_digest(hash)).unwrap(), owner.key.address());
        // Through the exported form: 0x and hex of the right lengths.
        let hash_hex = hex_text(hash.as_slice());
        let user_op = hex_text(&owner.user_op_signature(1, hash).unwrap());
        assert_eq!(user_op.len(), 2 + 132);
        assert_eq!(hex_text(&owner.message_signature(hash).unwrap()).len(), 2 + 130);
        assert!(hash_arg("hash", &hash_hex).is_ok());
    }

    #[test]
    fn arguments_are_checked() {
        assert!(address_arg("a", "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23").is_ok());
        assert!(address_arg("a", "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23").is_ok());
        for bad in ["", "0x", "2c7536e3605d9c16a7a3d7b1898e529396a65c23", "0x2c75", "0xzz"] {
            assert_eq!(address_arg("a", bad).unwrap_err().code, ErrorCode::InvalidInput, "{bad}");
        }
        for bad in ["", "0x12", &format!("0x{}", "g".repeat(64)), &"a".repeat(66)] {
            assert_eq!(hash_arg("h", bad).unwrap_err().code, ErrorCode::InvalidInput, "{bad}");
        }
        assert_eq!(kind_arg("Owner").unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(kind_arg("session").unwrap(), KeyKind::Session);
    }

    #[test]
    fn k11_signers_and_errors_show_no_key_material() {
        let v = vector();
        let account = address_arg("account", text(&v, "account")).unwrap();
        let address = address_arg("address", text(&v, "address")).unwrap();
        let secret = round_trip(text(&v, "pin"), &wallet_key(&v, account), 8);
        let signer =
            EvmSigner::open(text(&v, "envelope"), KeyKind::Owner, account, address, &secret)
                .unwrap();
        let private = text(&v, "privateKey").trim_start_matches("0x").to_lowercase();
        let shown = format!("{signer:?}").to_lowercase();
        assert!(shown.contains(&text(&v, "address")[2..].to_lowercase()), "{shown}");
        assert!(!shown.contains(&private[..16]), "{shown}");
        let wrong = round_trip("482914", &wallet_key(&v, account), 9);
        let errors = [
            EvmSigner::open(text(&v, "envelope"), KeyKind::Owner, account, address, &wrong)
                .unwrap_err(),
            EvmSigner::open(text(&v, "envelope"), KeyKind::Session, account, address, &secret)
                .unwrap_err(),
            signer.user_op_signature(3, B256::ZERO).unwrap_err(),
            hash_arg("hash", &format!("0x{private}00")).unwrap_err(),
            address_arg("address", &format!("0x{private}")).unwrap_err(),
        ];
        for err in errors {
            for shown in [err.to_string(), format!("{err:?}")] {
                let shown = shown.to_lowercase();
                assert!(!shown.contains(&private[..16]), "{shown}");
                assert!(!shown.contains(text(&v, "pin")), "{shown}");
            }
        }
    }
}
