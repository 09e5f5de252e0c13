//! TypeScript declarations of the structured values that cross the boundary, and the
//! conversions between them and Rust values (through JSON, which keeps every number and
//! string exactly as serde writes it).

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::{ErrorCode, WasmError, WasmResult};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One member of a SNIP-12 type. */
export interface TypedDataMember { name: string; type: string; contains?: string }

/** A SNIP-12 revision 1 typed-data document (as the API's `prepare` returns it). */
export interface TypedData {
  types: Record<string, TypedDataMember[]>;
  primaryType: string;
  domain: { [key: string]: JsonValue };
  message: { [key: string]: JsonValue };
}

/** The Chipi SDK's `SessionKeyData`: what is stored for a session (never a plaintext key). */
export interface SessionKeyData {
  /** Session public key, `0x` + minimal lowercase hex. */
  publicKey: string;
  /** The session private key, encrypted (`lk2$…`, `lk1$…` or `U2FsdGVkX1…`). */
  encryptedPrivateKey: string;
  /** Unix seconds; the session's signatures are refused after it. */
  validUntil: number;
}

/** An owner signature: hex for the native API's `[r, s]`, decimal for the Chipi dialect's `{r, s}`. */
export interface OwnerSignature { r: string; s: string; rDecimal: string; sDecimal: string }

/** One call of an outside execution, normalised (minimal lowercase hex). */
export interface NormalizedCall { to: string; selector: string; calldata: string[] }

/** What an encrypted key's text says about it, without any secret (`envelopeInfo`). */
export interface EnvelopeInfo {
  format: 'lk1' | 'lk2' | 'chipi';
  /** `owner` or `session`; the Chipi format does not say. */
  kind: 'owner' | 'session' | null;
  /** `argon2id` (a PIN or passphrase), `hkdf-prf` (a passkey) or `evp-md5` (Chipi). */
  kdf: 'argon2id' | 'hkdf-prf' | 'evp-md5';
  /** lk2: the server's OPRF key its PIN is evaluated under. */
  oprfKeyId: string | null;
  /** lk1: the server share mixed in, if any. */
  serverShare: string | null;
  /** Whether a copy lets anyone test PINs offline: an lk1 PIN envelope or a Chipi ciphertext. */
  offlineGuessable: boolean;
  /** Whether it should be sealed again with the current parameters. */
  needsUpgrade: boolean;
}

/** A SNIP-9 v2 outside execution read back from typed data. */
export interface OutsideExecutionView {
  caller: string;
  nonce: string;
  executeAfter: number;
  executeBefore: number;
  /** The domain's chain id as a short string (`SN_SEPOLIA`, …). */
  chainId: string;
  calls: NormalizedCall[];
}
"#;

#[wasm_bindgen]
extern "C" {
    /// SNIP-12 typed data from JavaScript.
    #[wasm_bindgen(typescript_type = "TypedData")]
    pub type JsTypedData;

    /// `SessionKeyData` as a JavaScript object.
    #[wasm_bindgen(typescript_type = "SessionKeyData")]
    pub type JsSessionKeyData;

    /// An owner signature as a JavaScript object.
    #[wasm_bindgen(typescript_type = "OwnerSignature")]
    pub type JsOwnerSignature;

    /// A decoded outside execution as a JavaScript object.
    #[wasm_bindgen(typescript_type = "OutsideExecutionView")]
    pub type JsOutsideExecution;

    /// An envelope's public header as a JavaScript object.
    #[wasm_bindgen(typescript_type = "EnvelopeInfo")]
    pub type JsEnvelopeInfo;
}

/// The JSON text of a JavaScript value (`INVALID_TYPED_DATA` when it has none, e.g. a
/// `BigInt` inside).
#[cfg(any(feature = "signing", feature = "sealing"))]
pub(crate) fn json_text(value: &JsValue) -> WasmResult<String> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| WasmError::new(ErrorCode::InvalidTypedData, "Invalid typed data: not JSON."))
}

/// A JavaScript object with the JSON form of `value`.
pub(crate) fn to_js_object<T: Serialize, U: JsCast>(value: &T) -> WasmResult<U> {
    let text = serde_json::to_string(value)
        .map_err(|e| WasmError::new(ErrorCode::InvalidInput, format!("serialisation: {e}")))?;
    js_sys::JSON::parse(&text)
        .map(JsCast::unchecked_into)
        .map_err(|_| WasmError::new(ErrorCode::InvalidInput, "serialisation failed"))
}
