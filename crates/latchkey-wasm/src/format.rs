//! The JavaScript name of a key storage format.
// wasm-bindgen adds an undocumented `__Invalid` variant and a helper to string enums.
#![allow(missing_docs)]

use wasm_bindgen::prelude::*;

/// The storage format of an encrypted private key.
#[wasm_bindgen]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// latchkey's hardened `lk1$…` envelope without the server's OPRF: a passkey PRF
    /// output, or a PIN whose envelope can be attacked offline.
    Lk1 = "lk1",
    /// latchkey's `lk2$…` envelope: a PIN mixed with the server's OPRF evaluation (the
    /// default for PINs sealed with a `Secret` from `PinBlind.finalize`).
    Lk2 = "lk2",
    /// The Chipi SDK's CryptoJS format (`U2FsdGVkX1…`), readable by `@chipi-stack/backend`.
    Chipi = "chipi",
}
