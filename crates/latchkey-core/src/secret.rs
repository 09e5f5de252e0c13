//! The leaf of key handling: what a key is for ([`KeyKind`]), secret text that is zeroed
//! and never printed ([`SecretString`]), and a private key's text form
//! ([`private_key_text`]). Key generation (`keys`) and key sealing (`keystore`) both build
//! on this module, and it on neither.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::signature::SigningKey;

/// Secret text (a private key's hex, a passphrase): zeroed on drop, and `Debug` shows only
/// `SecretString(<redacted>)`. There is no `Display`; read it with [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps text.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The text. Keep the borrow short and do not copy it into unzeroized buffers.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

/// What a private key is for. It decides the key's text form inside Chipi ciphertexts
/// and is bound into latchkey envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// A session key: zero-padded to 64 hex digits.
    Session,
    /// The account owner key: minimal hex.
    Owner,
}

impl KeyKind {
    /// `"session"` or `"owner"`, as written in envelopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Owner => "owner",
        }
    }

    /// Parses [`KeyKind::as_str`]'s output.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "session" => Some(Self::Session),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The private key as the SDK writes it for `kind`: `0x` + 64 zero-padded hex digits for a
/// session key, minimal hex for an owner key. Lowercase, in a zeroizing, redacting buffer.
pub fn private_key_text(key: &SigningKey, kind: KeyKind) -> SecretString {
    let padded = key.secret_hex();
    match kind {
        KeyKind::Session => SecretString(padded),
        KeyKind::Owner => {
            let digits = padded[2..].trim_start_matches('0');
            // A valid key is never zero, so `digits` is never empty.
            SecretString::new(format!("0x{digits}"))
        }
    }
}

#[cfg(test)]
mod tests {
    /// Key sealing builds on this leaf, not on key generation: `keys` → `keystore` →
    /// `secret` stays one-way (test modules aside).
    #[test]
    fn the_keystore_does_not_depend_on_key_generation() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/keystore");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let shipped = text.split("#[cfg(test)]").next().unwrap_or_default();
            assert!(!shipped.contains("crate::keys"), "{}", entry.path().display());
            checked += 1;
        }
        assert!(checked >= 5);
    }
}
