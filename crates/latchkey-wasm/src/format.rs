//! The JavaScript name of a key storage format.
// wasm-bindgen adds an undocumented `__Invalid` variant and a helper to string enums.
#![allow(missing_docs)]

use wasm_bindgen::prelude::*;

/// The storage format of an encrypted private key.
#[wasm_bindgen]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// latchkey's hardened `lk1$…` envelope (the default).
    Lk1 = "lk1",
    /// The Chipi SDK's CryptoJS format (`U2FsdGVkX1…`), readable by `@chipi-stack/backend`.
    Chipi = "chipi",
}
