//! Latchkey's hardened key envelopes: `lk2` for PINs and passphrases (bound to the
//! wallet's OPRF key, [`super::oprf`]), `lk1` for passkey PRF outputs and for PIN
//! envelopes made before `lk2` (read, and re-wrapped to `lk2` on the next unlock).
//!
//! # Format
//!
//! One line of ASCII text, eight fields separated by `$` (ABNF, RFC 5234):
//!
//! ```text
//! envelope   = version "$" kind "$" kdf-id "$" kdf-params "$" share "$" salt "$" nonce "$" payload
//!            / "lk2" "$" kind "$" "argon2id" "$" kdf-params "$" oprf-key "$" salt "$" nonce "$" payload
//! version    = "lk1"
//! oprf-key   = share-id                             ; lk2: the OPRF key the output is under
//! kind       = role [curve]
//! role       = "session" / "owner"
//! curve      = "-secp256k1"                         ; absent: the Stark curve
//! kdf-id     = "argon2id" / "hkdf-prf"
//! kdf-params = "m=" dec "," "t=" dec "," "p=" dec   ; with argon2id: memory in KiB, passes, lanes
//!            / "-"                                  ; with hkdf-prf: no parameters
//! share      = "-"                                  ; no server share
//!            / share-id                             ; the KEK mixes in this server share
//! share-id   = (ALPHA / DIGIT) *63(ALPHA / DIGIT / "." / "_" / "-")
//! salt       = 22b64url                             ; 16 random bytes
//! nonce      = 32b64url                             ; 24 random bytes (XChaCha20 nonce)
//! payload    = 64b64url                             ; 32-byte ciphertext ‖ 16-byte Poly1305 tag
//! dec        = "0" / (%x31-39 *9DIGIT)              ; canonical decimal, fits in 32 bits
//! b64url     = ALPHA / DIGIT / "-" / "_"            ; RFC 4648 §5 alphabet, no padding
//! ```
//!
//! Example: `lk1$session$argon2id$m=131072,t=3,p=4$-$<salt>$<nonce>$<payload>`.
//! Parsing is strict: a string that does not re-serialise to itself is rejected, so every
//! key has exactly one encoding.
//!
//! # Construction
//!
//! ```text
//! kdf = argon2id:  K  = Argon2id v19(password = PIN/passphrase UTF-8, salt, m, t, p, 32 bytes)
//!                  KEK = HKDF-SHA256(salt = none, ikm = K ‖ share?, info = "latchkey/lk1/kek/argon2id")
//! kdf = hkdf-prf:  KEK = HKDF-SHA256(salt = salt, ikm = PRF ‖ share?, info = "latchkey/lk1/kek/hkdf-prf")
//! lk2:             K  = Argon2id v19(PIN UTF-8, salt, m, t, p, 32 bytes)
//!                  y  = OPRF(wallet's key named by oprf-key, PIN)         ; 64 bytes, super::oprf
//!                  KEK = HKDF-SHA256(salt = none, ikm = K ‖ y, info = "latchkey/lk2/kek/argon2id-oprf")
//! header  = the envelope text before the last "$" (version … nonce)
//! AAD     = "latchkey/lkN/aad" 0x00 ‖ header ‖ 0x00 ‖ account (32 bytes BE) ‖ public key (32 bytes BE)
//!           ; on secp256k1 both are 20-byte EVM addresses, left-padded to 32 bytes
//! payload = XChaCha20-Poly1305(KEK, nonce, AAD, private key scalar, 32 bytes BE)
//! ```
//!
//! `share?` is the 32-byte server share named in the header, when there is one; without it
//! the IKM is just `K` (or the PRF output), so adding a share later is a re-wrap, not a
//! format change.
//!
//! The associated data authenticates the version, the KDF and its parameters, the share
//! id, the key kind, and the account and public key the caller expects: a modified header
//! (K7: downgraded parameters) or an envelope moved to another account or key (K5) fails
//! the tag check. Opening also enforces parameter bounds before any work (floor
//! m = 19 MiB, t = 2, p = 1; ceiling m = 1 GiB, t = 10, p = 16, m·t = 4 GiB), checks the key
//! kind, and compares the decrypted key's public key with the expected one.
//!
//! # Parameters
//!
//! [`CURRENT_PARAMS`] is m = 131072 KiB (128 MiB), t = 3, p = 4. Measured with
//! `cargo bench -p latchkey-core --bench unlock` (release build, this 2-core machine, with
//! other builds running): one unlock takes 237–286 ms (median of 7, over three runs), and
//! the peak resident memory rises by 128 MiB. RFC 9106's second setting (64 MiB, t = 3)
//! measured 104–118 ms, under the 150 ms target, so the memory was doubled rather than
//! the pass count raised. The `argon2` crate computes lanes one after another, so p does
//! not change the time here. Callers on weak devices (WASM on low-end phones) may seal
//! with [`seal_with_params`] down to [`FLOOR_PARAMS`]; every envelope records its own
//! parameters, and [`open_and_upgrade`] raises old ones on the next unlock (K8).
//!
//! Even so, a 6-digit PIN in an `lk1` envelope falls to an offline attacker in days on one
//! core (hours on a GPU). An `lk2` envelope cannot be attacked offline at all: each guess
//! needs `y`, which only the server holding the OPRF key file can compute, and the server
//! counts and limits evaluations (threats K1–K4). Argon2id stays in front so that a
//! leaked OPRF key file together with the database gives no more than `lk1` did. `K`
//! does not depend on `y`, so a client computes it while the OPRF round trip is under
//! way.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use hkdf::HkdfExtract;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{
    check_public_key, felt_bytes, is_valid_share_id, Curve, EncryptKey, KeyBinding, KeystoreError,
    Sealable, KEY_MATERIAL_BYTES,
};
use crate::secret::KeyKind;
use crate::signature::SigningKey;

/// The format version without OPRF.
pub const VERSION: &str = "lk1";

/// Every `lk1` envelope starts with this.
pub const PREFIX: &str = "lk1$";

/// The format version of PIN envelopes bound to the wallet's OPRF key.
pub const VERSION_2: &str = "lk2";

/// Every `lk2` envelope starts with this.
pub const PREFIX_V2: &str = "lk2$";

/// Argon2id parameters for new envelopes.
pub const CURRENT_PARAMS: Argon2Params = Argon2Params { m_kib: 131_072, t: 3, p: 4 };

/// The weakest parameters accepted when opening (OWASP's minimum for Argon2id).
pub const FLOOR_PARAMS: Argon2Params = Argon2Params { m_kib: 19_456, t: 2, p: 1 };

/// Most memory accepted when opening: 1 GiB.
pub const MAX_M_KIB: u32 = 1 << 20;
/// Most passes accepted when opening.
pub const MAX_T: u32 = 10;
/// Most lanes accepted when opening.
pub const MAX_P: u32 = 16;
/// Most total work accepted when opening: `m · t` in KiB (4 GiB of block passes).
pub const MAX_M_TIMES_T: u64 = 4 << 20;

const SALT_BYTES: usize = 16;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
const PAYLOAD_BYTES: usize = 32 + TAG_BYTES;
/// Longest envelope text accepted; real ones are under 200 characters.
const MAX_ENVELOPE_CHARS: usize = 512;

const AAD_LABEL: &[u8] = b"latchkey/lk1/aad";
const AAD_LABEL_V2: &[u8] = b"latchkey/lk2/aad";
const INFO_ARGON2ID: &[u8] = b"latchkey/lk1/kek/argon2id";
const INFO_ARGON2ID_OPRF: &[u8] = b"latchkey/lk2/kek/argon2id-oprf";
pub(crate) const INFO_HKDF_PRF: &[u8] = b"latchkey/lk1/kek/hkdf-prf";

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Argon2Params {
    /// Checks the opening bounds: at least [`FLOOR_PARAMS`] in every component, at most
    /// [`MAX_M_KIB`], [`MAX_T`], [`MAX_P`] and [`MAX_M_TIMES_T`].
    pub fn check_bounds(&self) -> Result<(), KeystoreError> {
        let Self { m_kib, t, p } = *self;
        if m_kib < FLOOR_PARAMS.m_kib || t < FLOOR_PARAMS.t || p < FLOOR_PARAMS.p {
            return Err(KeystoreError::KdfParamsTooWeak { m_kib, t, p });
        }
        if m_kib > MAX_M_KIB
            || t > MAX_T
            || p > MAX_P
            || u64::from(m_kib) * u64::from(t) > MAX_M_TIMES_T
        {
            return Err(KeystoreError::KdfParamsTooLarge { m_kib, t, p });
        }
        Ok(())
    }

    /// Whether these parameters cost less than [`CURRENT_PARAMS`] (less memory or fewer
    /// passes), so a key sealed with them should be re-wrapped (K8).
    pub fn is_below_current(&self) -> bool {
        self.m_kib < CURRENT_PARAMS.m_kib || self.t < CURRENT_PARAMS.t
    }
}

/// How the key-encryption key is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kdf {
    /// Argon2id of a PIN or passphrase, then HKDF.
    Argon2id(Argon2Params),
    /// HKDF of a WebAuthn PRF output.
    HkdfPrf,
}

impl Kdf {
    fn id(&self) -> &'static str {
        match self {
            Self::Argon2id(_) => "argon2id",
            Self::HkdfPrf => "hkdf-prf",
        }
    }

    fn params_text(&self) -> String {
        match self {
            Self::Argon2id(p) => format!("m={},t={},p={}", p.m_kib, p.t, p.p),
            Self::HkdfPrf => "-".to_string(),
        }
    }
}

/// The public part of an envelope's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeInfo {
    /// Session or owner key.
    pub kind: KeyKind,
    /// The curve the key is on.
    pub curve: Curve,
    /// The key derivation and its parameters.
    pub kdf: Kdf,
    /// `lk1`: the server share the key-encryption key mixes in, if any.
    pub share_id: Option<String>,
    /// `lk2`: the OPRF key whose output the key-encryption key mixes in.
    pub oprf_key: Option<String>,
}

impl EnvelopeInfo {
    /// Whether the envelope should be re-wrapped with [`CURRENT_PARAMS`] (K8).
    pub fn needs_upgrade(&self) -> bool {
        match self.kdf {
            Kdf::Argon2id(params) => params.is_below_current(),
            Kdf::HkdfPrf => false,
        }
    }

    /// `"lk2"` for an envelope bound to an OPRF key, `"lk1"` otherwise.
    pub fn version(&self) -> &'static str {
        if self.oprf_key.is_some() {
            VERSION_2
        } else {
            VERSION
        }
    }

    /// Whether this is a PIN envelope without OPRF binding: `lk1` with Argon2id, which a
    /// stolen copy lets anyone attack offline, re-wrapped to `lk2` on the next unlock.
    pub fn is_offline_guessable(&self) -> bool {
        self.oprf_key.is_none() && matches!(self.kdf, Kdf::Argon2id(_))
    }
}

struct Envelope {
    info: EnvelopeInfo,
    salt: [u8; SALT_BYTES],
    nonce: [u8; NONCE_BYTES],
    payload: [u8; PAYLOAD_BYTES],
    header: String,
}

fn header_text(info: &EnvelopeInfo, salt: &[u8; SALT_BYTES], nonce: &[u8; NONCE_BYTES]) -> String {
    format!(
        "{}${}{}${}${}${}${}${}",
        info.version(),
        info.kind.as_str(),
        info.curve.kind_suffix(),
        info.kdf.id(),
        info.kdf.params_text(),
        info.oprf_key.as_deref().or(info.share_id.as_deref()).unwrap_or("-"),
        URL_SAFE_NO_PAD.encode(salt),
        URL_SAFE_NO_PAD.encode(nonce),
    )
}

fn decode_fixed<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], KeystoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| KeystoreError::Malformed(what))?;
    bytes.try_into().map_err(|_| KeystoreError::Malformed(what))
}

fn parse_dec(text: &str, prefix: &str) -> Result<u32, KeystoreError> {
    let digits = text.strip_prefix(prefix).ok_or(KeystoreError::Malformed("bad KDF parameters"))?;
    let canonical = !digits.is_empty()
        && digits.len() <= 10
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return Err(KeystoreError::Malformed("bad KDF parameters"));
    }
    digits.parse().map_err(|_| KeystoreError::Malformed("bad KDF parameters"))
}

fn parse_kdf(id: &str, params: &str) -> Result<Kdf, KeystoreError> {
    match id {
        "argon2id" => {
            let parts: Vec<&str> = params.split(',').collect();
            let [m, t, p] = parts.as_slice() else {
                return Err(KeystoreError::Malformed("bad KDF parameters"));
            };
            Ok(Kdf::Argon2id(Argon2Params {
                m_kib: parse_dec(m, "m=")?,
                t: parse_dec(t, "t=")?,
                p: parse_dec(p, "p=")?,
            }))
        }
        "hkdf-prf" if params == "-" => Ok(Kdf::HkdfPrf),
        "hkdf-prf" => Err(KeystoreError::Malformed("bad KDF parameters")),
        _ => Err(KeystoreError::Malformed("unknown KDF")),
    }
}

/// Whether `text` looks like a later envelope version (`lk2$…`).
pub(crate) fn looks_like_future_version(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("lk") else { return false };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    !digits.is_empty() && rest[digits.len()..].starts_with('$')
}

fn parse(text: &str) -> Result<Envelope, KeystoreError> {
    if text.len() > MAX_ENVELOPE_CHARS {
        return Err(KeystoreError::Malformed("envelope too long"));
    }
    let fields: Vec<&str> = text.split('$').collect();
    let v2 = match fields.first() {
        Some(&VERSION) => false,
        Some(&VERSION_2) => true,
        _ if looks_like_future_version(text) => return Err(KeystoreError::UnsupportedVersion),
        _ => return Err(KeystoreError::UnknownFormat),
    };
    let [_, kind, kdf_id, kdf_params, share, salt, nonce, payload] = fields.as_slice() else {
        return Err(KeystoreError::Malformed("an envelope has 8 fields"));
    };
    let (role, curve) = match kind.strip_suffix(Curve::Secp256k1.kind_suffix()) {
        Some(role) => (role, Curve::Secp256k1),
        None => (*kind, Curve::Stark),
    };
    let kind = KeyKind::parse(role).ok_or(KeystoreError::Malformed("unknown key kind"))?;
    let kdf = parse_kdf(kdf_id, kdf_params)?;
    let named = match *share {
        "-" => None,
        id if is_valid_share_id(id) => Some(id.to_string()),
        _ => return Err(KeystoreError::Malformed("bad share id")),
    };
    let (share_id, oprf_key) = if v2 {
        // lk2 is Argon2id with an OPRF key, always.
        if !matches!(kdf, Kdf::Argon2id(_)) || named.is_none() {
            return Err(KeystoreError::Malformed("an lk2 envelope is argon2id with an OPRF key"));
        }
        (None, named)
    } else {
        (named, None)
    };
    let salt = decode_fixed::<SALT_BYTES>(salt, "bad salt")?;
    let nonce = decode_fixed::<NONCE_BYTES>(nonce, "bad nonce")?;
    let payload = decode_fixed::<PAYLOAD_BYTES>(payload, "bad payload")?;
    let info = EnvelopeInfo { kind, curve, kdf, share_id, oprf_key };
    let header = header_text(&info, &salt, &nonce);
    // One encoding per key: anything that does not re-serialise to itself is refused.
    if format!("{header}${}", URL_SAFE_NO_PAD.encode(payload)) != text {
        return Err(KeystoreError::Malformed("non-canonical encoding"));
    }
    Ok(Envelope { info, salt, nonce, payload, header })
}

/// Reads an envelope's header without decrypting.
pub fn inspect(text: &str) -> Result<EnvelopeInfo, KeystoreError> {
    Ok(parse(text)?.info)
}

fn aad(header: &str, binding: &KeyBinding) -> Vec<u8> {
    let label = if header.starts_with(PREFIX_V2) { AAD_LABEL_V2 } else { AAD_LABEL };
    let mut aad = Vec::with_capacity(label.len() + header.len() + 2 + 64);
    aad.extend_from_slice(label);
    aad.push(0);
    aad.extend_from_slice(header.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&felt_bytes(&binding.account));
    aad.extend_from_slice(&felt_bytes(&binding.public_key));
    aad
}

/// HKDF-SHA256 to a 32-byte key-encryption key, mixing in the server share if given.
pub(crate) fn hkdf_kek(
    salt: Option<&[u8]>,
    ikm: &[u8; KEY_MATERIAL_BYTES],
    share: Option<&[u8]>,
    info: &[u8],
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let mut extract = HkdfExtract::<Sha256>::new(salt);
    extract.input_ikm(ikm);
    if let Some(share) = share {
        extract.input_ikm(share);
    }
    let (_, hkdf) = extract.finalize();
    let mut kek = Zeroizing::new([0u8; 32]);
    hkdf.expand(info, kek.as_mut()).map_err(|_| KeystoreError::Kdf)?;
    Ok(kek)
}

/// What Argon2id's output is mixed with: nothing, an `lk1` server share, or an `lk2`
/// OPRF output.
enum Mix<'a> {
    Share(Option<&'a [u8; KEY_MATERIAL_BYTES]>),
    Oprf(&'a [u8; super::oprf::OUTPUT_BYTES]),
}

fn argon2_kek(
    passphrase: &[u8],
    salt: &[u8; SALT_BYTES],
    params: &Argon2Params,
    mix: Mix<'_>,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let argon_params =
        Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(|_| KeystoreError::Kdf)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut pin_key = Zeroizing::new([0u8; KEY_MATERIAL_BYTES]);
    argon.hash_password_into(passphrase, salt, pin_key.as_mut()).map_err(|_| KeystoreError::Kdf)?;
    match mix {
        Mix::Share(share) => hkdf_kek(None, &pin_key, share.map(|s| &s[..]), INFO_ARGON2ID),
        Mix::Oprf(output) => hkdf_kek(None, &pin_key, Some(&output[..]), INFO_ARGON2ID_OPRF),
    }
}

/// The OPRF output an `lk2` envelope names: required, and under the same key.
fn resolve_oprf<'a>(
    key_id: &str,
    key: &'a EncryptKey,
) -> Result<&'a [u8; super::oprf::OUTPUT_BYTES], KeystoreError> {
    match key.oprf() {
        None => Err(KeystoreError::OprfRequired { key_id: key_id.to_string() }),
        Some(output) if output.key_id() != key_id => Err(KeystoreError::OprfKeyMismatch {
            expected: key_id.to_string(),
            found: output.key_id().to_string(),
        }),
        Some(output) => Ok(output.bytes()),
    }
}

/// The share to mix in: required when the header names one, ignored otherwise.
fn resolve_share<'a>(
    share_id: Option<&str>,
    key: &'a EncryptKey,
) -> Result<Option<&'a [u8; KEY_MATERIAL_BYTES]>, KeystoreError> {
    let Some(id) = share_id else { return Ok(None) };
    match key.server_share() {
        None => Err(KeystoreError::ServerShareRequired { id: id.to_string() }),
        Some(share) if share.id() != id => Err(KeystoreError::ServerShareMismatch {
            expected: id.to_string(),
            found: share.id().to_string(),
        }),
        Some(share) => Ok(Some(share.secret())),
    }
}

/// Builds an envelope around a derived key: draws the nonce, forms header and AAD, and
/// encrypts. Kept apart from the KDF so nonce uniqueness can be tested on many seals.
fn assemble<K: Sealable>(
    kek: &[u8; 32],
    info: &EnvelopeInfo,
    salt: &[u8; SALT_BYTES],
    binding: &KeyBinding,
    private_key: &K,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    let mut nonce = [0u8; NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    let header = header_text(info, salt, &nonce);
    let aad = aad(&header, binding);
    let mut buffer = private_key.to_scalar();
    let tag = XChaCha20Poly1305::new(Key::from_slice(kek))
        .encrypt_in_place_detached(XNonce::from_slice(&nonce), &aad, buffer.as_mut())
        .map_err(|_| KeystoreError::Cipher)?;
    let mut payload = [0u8; PAYLOAD_BYTES];
    payload[..32].copy_from_slice(buffer.as_ref());
    payload[32..].copy_from_slice(&tag);
    Ok(format!("{header}${}", URL_SAFE_NO_PAD.encode(payload)))
}

/// Decrypts an envelope's payload with a derived key.
fn disassemble<K: Sealable>(
    kek: &[u8; 32],
    envelope: &Envelope,
    binding: &KeyBinding,
) -> Result<K, KeystoreError> {
    let aad = aad(&envelope.header, binding);
    let mut buffer = Zeroizing::new([0u8; 32]);
    buffer.copy_from_slice(&envelope.payload[..32]);
    let tag = Tag::from_slice(&envelope.payload[32..]);
    XChaCha20Poly1305::new(Key::from_slice(kek))
        .decrypt_in_place_detached(XNonce::from_slice(&envelope.nonce), &aad, buffer.as_mut(), tag)
        .map_err(|_| KeystoreError::WrongKey)?;
    let private_key = K::from_scalar(&buffer)?;
    check_public_key(&private_key, Some(&binding.public_key))?;
    Ok(private_key)
}

fn check_binding<K: Sealable>(private_key: &K, binding: &KeyBinding) -> Result<(), KeystoreError> {
    // Never seal a key under a binding that names another public key.
    check_public_key(private_key, Some(&binding.public_key))
}

/// Seals with explicit Argon2id parameters, without the strength check.
fn seal_argon2<K: Sealable>(
    private_key: &K,
    key: &EncryptKey,
    binding: &KeyBinding,
    params: Argon2Params,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    let passphrase = key
        .passphrase_bytes()
        .ok_or(KeystoreError::KeyTypeMismatch { expected: "a PIN or passphrase" })?;
    if passphrase.is_empty() {
        return Err(KeystoreError::EmptyKey);
    }
    params.check_bounds()?;
    check_binding(private_key, binding)?;
    let mut salt = [0u8; SALT_BYTES];
    rng.fill_bytes(&mut salt);
    let share = key.server_share();
    let (kek, info) = match key.oprf() {
        Some(_) if share.is_some() => {
            return Err(KeystoreError::InvalidServerShare("an lk2 envelope takes no server share"))
        }
        Some(output) => (
            argon2_kek(passphrase, &salt, &params, Mix::Oprf(output.bytes()))?,
            EnvelopeInfo {
                kind: binding.kind,
                curve: K::CURVE,
                kdf: Kdf::Argon2id(params),
                share_id: None,
                oprf_key: Some(output.key_id().to_string()),
            },
        ),
        None => (
            argon2_kek(passphrase, &salt, &params, Mix::Share(share.map(|s| s.secret())))?,
            EnvelopeInfo {
                kind: binding.kind,
                curve: K::CURVE,
                kdf: Kdf::Argon2id(params),
                share_id: share.map(|s| s.id().to_string()),
                oprf_key: None,
            },
        ),
    };
    assemble(&kek, &info, &salt, binding, private_key, rng)
}

/// Seals a private key under a PIN or passphrase with [`CURRENT_PARAMS`]. The PIN must
/// pass the weak-PIN rules (K9). A server share on `key` is mixed in and named.
pub fn seal<K: Sealable>(
    private_key: &K,
    key: &EncryptKey,
    binding: &KeyBinding,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    seal_with_params(private_key, key, binding, CURRENT_PARAMS, rng)
}

/// [`seal`] with explicit Argon2id parameters, which must lie within the opening bounds.
pub fn seal_with_params<K: Sealable>(
    private_key: &K,
    key: &EncryptKey,
    binding: &KeyBinding,
    params: Argon2Params,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    if key.is_empty() {
        return Err(KeystoreError::EmptyKey);
    }
    key.check_strength()?;
    seal_argon2(private_key, key, binding, params, rng)
}

/// Seals with an HKDF-derived key (passkey PRF output); used by [`super::passkey`].
pub(crate) fn seal_prf<K: Sealable>(
    private_key: &K,
    key: &EncryptKey,
    binding: &KeyBinding,
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeystoreError> {
    let prf = key
        .prf_bytes()
        .ok_or(KeystoreError::KeyTypeMismatch { expected: "a passkey PRF output" })?;
    check_binding(private_key, binding)?;
    let mut salt = [0u8; SALT_BYTES];
    rng.fill_bytes(&mut salt);
    let share = key.server_share();
    let kek = hkdf_kek(Some(&salt), prf, share.map(|s| &s.secret()[..]), INFO_HKDF_PRF)?;
    let info = EnvelopeInfo {
        kind: binding.kind,
        curve: K::CURVE,
        kdf: Kdf::HkdfPrf,
        share_id: share.map(|s| s.id().to_string()),
        oprf_key: None,
    };
    assemble(&kek, &info, &salt, binding, private_key, rng)
}

/// Opens an envelope: checks the kind, the parameter bounds (K7), the key type and the
/// server share, derives the key, decrypts with the binding as associated data (K5), and
/// compares public keys.
pub fn open(
    text: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
) -> Result<SigningKey, KeystoreError> {
    open_as(text, key, binding)
}

/// [`open`] for a key on any curve; the envelope must name `K`'s curve.
pub fn open_as<K: Sealable>(
    text: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
) -> Result<K, KeystoreError> {
    let envelope = parse_for::<K>(text, binding)?;
    let kek = match envelope.info.kdf {
        Kdf::Argon2id(params) => {
            params.check_bounds()?;
            let passphrase = key
                .passphrase_bytes()
                .ok_or(KeystoreError::KeyTypeMismatch { expected: "a PIN or passphrase" })?;
            if passphrase.is_empty() {
                return Err(KeystoreError::EmptyKey);
            }
            let mix = match envelope.info.oprf_key.as_deref() {
                Some(key_id) => Mix::Oprf(resolve_oprf(key_id, key)?),
                None => Mix::Share(resolve_share(envelope.info.share_id.as_deref(), key)?),
            };
            argon2_kek(passphrase, &envelope.salt, &params, mix)?
        }
        Kdf::HkdfPrf => prf_kek(&envelope, key)?,
    };
    disassemble(&kek, &envelope, binding)
}

/// [`open_as`] for PRF envelopes (`hkdf-prf`) only: an Argon2id envelope is refused
/// (`KeyTypeMismatch`) before any KDF work. A caller that never opens PIN envelopes
/// (a signer receiving a key moved under a one-time key) links no Argon2id through it.
pub fn open_prf_as<K: Sealable>(
    text: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
) -> Result<K, KeystoreError> {
    let envelope = parse_for::<K>(text, binding)?;
    match envelope.info.kdf {
        Kdf::HkdfPrf => {
            let kek = prf_kek(&envelope, key)?;
            disassemble(&kek, &envelope, binding)
        }
        Kdf::Argon2id(_) => Err(KeystoreError::KeyTypeMismatch { expected: "a PIN or passphrase" }),
    }
}

/// Parses an envelope and checks that it holds a key of the binding's kind on `K`'s curve.
fn parse_for<K: Sealable>(text: &str, binding: &KeyBinding) -> Result<Envelope, KeystoreError> {
    let envelope = parse(text)?;
    if envelope.info.kind != binding.kind {
        return Err(KeystoreError::KindMismatch {
            expected: binding.kind,
            found: envelope.info.kind,
        });
    }
    if envelope.info.curve != K::CURVE {
        return Err(KeystoreError::CurveMismatch {
            expected: K::CURVE,
            found: envelope.info.curve,
        });
    }
    Ok(envelope)
}

/// The key-encryption key of a PRF envelope.
fn prf_kek(envelope: &Envelope, key: &EncryptKey) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let prf = key
        .prf_bytes()
        .ok_or(KeystoreError::KeyTypeMismatch { expected: "a passkey PRF output" })?;
    let share = resolve_share(envelope.info.share_id.as_deref(), key)?;
    hkdf_kek(Some(&envelope.salt), prf, share.map(|s| &s[..]), INFO_HKDF_PRF)
}

/// Opens an envelope and, when its parameters are below [`CURRENT_PARAMS`] or it is an
/// `lk1` PIN envelope and `key` carries an OPRF output, also returns it re-wrapped with
/// the current parameters under the same secret, as `lk2` when it can be (K8: upgrade on
/// unlock). The strength rules are not re-applied: the secret is not being chosen.
pub fn open_and_upgrade(
    text: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
    rng: &mut impl CryptoRngCore,
) -> Result<(SigningKey, Option<String>), KeystoreError> {
    open_and_upgrade_as(text, key, binding, rng)
}

/// [`open_and_upgrade`] for a key on any curve.
pub fn open_and_upgrade_as<K: Sealable>(
    text: &str,
    key: &EncryptKey,
    binding: &KeyBinding,
    rng: &mut impl CryptoRngCore,
) -> Result<(K, Option<String>), KeystoreError> {
    let private_key = open_as(text, key, binding)?;
    let info = inspect(text)?;
    let to_lk2 = info.is_offline_guessable() && key.oprf().is_some();
    if !info.needs_upgrade() && !to_lk2 {
        return Ok((private_key, None));
    }
    let upgraded = seal_argon2(&private_key, key, binding, CURRENT_PARAMS, rng)?;
    Ok((private_key, Some(upgraded)))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;

    use rand::rngs::{OsRng, StdRng};
    use rand::SeedableRng;

    use proptest::prelude::*;

    use super::*;
    use crate::felt::tests::any_text;
    use crate::felt::Felt;
    use crate::keys::generate_session_key;
    use crate::keystore::{KeyFormat, ServerShare};

    /// Cheapest parameters the floor allows, to keep debug-build tests quick.
    pub(crate) const TEST_PARAMS: Argon2Params = FLOOR_PARAMS;

    fn binding_for(key: &SigningKey) -> KeyBinding {
        KeyBinding {
            kind: KeyKind::Session,
            account: Felt::from(0xacc0u32),
            public_key: key.public_key(),
        }
    }

    fn sealed(pin: &str) -> (SigningKey, KeyBinding, String) {
        let mut rng = StdRng::seed_from_u64(11);
        let key = generate_session_key(&mut rng);
        let binding = binding_for(&key);
        let text =
            seal_with_params(&key, &EncryptKey::passphrase(pin), &binding, TEST_PARAMS, &mut rng)
                .unwrap();
        (key, binding, text)
    }

    /// Replaces one `$` field of an envelope.
    fn with_field(text: &str, index: usize, value: &str) -> String {
        let mut fields: Vec<&str> = text.split('$').collect();
        fields[index] = value;
        fields.join("$")
    }

    fn any_params() -> impl Strategy<Value = Argon2Params> {
        prop_oneof![
            (any::<u32>(), any::<u32>(), any::<u32>()),
            (FLOOR_PARAMS.m_kib..=MAX_M_KIB, FLOOR_PARAMS.t..=MAX_T, FLOOR_PARAMS.p..=MAX_P),
        ]
        .prop_map(|(m_kib, t, p)| Argon2Params { m_kib, t, p })
    }

    /// Headers of every shape the grammar allows.
    fn any_info() -> impl Strategy<Value = EnvelopeInfo> {
        (
            prop_oneof![Just(KeyKind::Session), Just(KeyKind::Owner)],
            prop_oneof![Just(Curve::Stark), Just(Curve::Secp256k1)],
            prop_oneof![any_params().prop_map(Kdf::Argon2id), Just(Kdf::HkdfPrf)],
            prop::option::of("[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
            any::<bool>(),
        )
            .prop_map(|(kind, curve, kdf, named, v2)| match (v2, kdf, named) {
                // lk2: Argon2id with an OPRF key, always.
                (true, Kdf::Argon2id(params), Some(key_id)) => EnvelopeInfo {
                    kind,
                    curve,
                    kdf: Kdf::Argon2id(params),
                    share_id: None,
                    oprf_key: Some(key_id),
                },
                (_, kdf, share_id) => EnvelopeInfo { kind, curve, kdf, share_id, oprf_key: None },
            })
    }

    /// Canonical envelopes with random salt, nonce and payload.
    fn any_envelope() -> impl Strategy<Value = (EnvelopeInfo, String)> {
        (
            any_info(),
            any::<[u8; SALT_BYTES]>(),
            any::<[u8; NONCE_BYTES]>(),
            prop::collection::vec(any::<u8>(), PAYLOAD_BYTES),
        )
            .prop_map(|(info, salt, nonce, payload)| {
                let text = format!(
                    "{}${}",
                    header_text(&info, &salt, &nonce),
                    URL_SAFE_NO_PAD.encode(payload)
                );
                (info, text)
            })
    }

    /// An envelope with one character replaced, inserted or removed.
    fn mutated_envelope() -> impl Strategy<Value = String> {
        (
            any_envelope(),
            any::<prop::sample::Index>(),
            0u8..3,
            prop::sample::select(vec!['$', '=', ',', '-', '_', 'A', 'a', '0', '9', 'é', ' ']),
        )
            .prop_map(|((_, text), index, op, c)| {
                let mut chars: Vec<char> = text.chars().collect();
                let at = index.index(chars.len());
                match op {
                    0 => chars[at] = c,
                    1 => chars.insert(at, c),
                    _ => {
                        chars.remove(at);
                    }
                }
                chars.into_iter().collect()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn the_parser_reads_back_every_canonical_envelope((info, text) in any_envelope()) {
            prop_assert_eq!(inspect(&text), Ok(info));
            prop_assert_eq!(KeyFormat::validate(&text), Ok(KeyFormat::Hardened));
        }

        #[test]
        fn the_parser_accepts_only_canonical_text(
            text in prop_oneof![
                mutated_envelope(),
                any_text().prop_map(|t| format!("{PREFIX}{t}")),
            ],
        ) {
            // Whatever parses re-serialises to exactly the input: one encoding per key.
            if let Ok(envelope) = parse(&text) {
                let again = format!(
                    "{}${}",
                    header_text(&envelope.info, &envelope.salt, &envelope.nonce),
                    URL_SAFE_NO_PAD.encode(envelope.payload)
                );
                prop_assert_eq!(again, text);
            }
        }

        #[test]
        fn opening_forged_envelopes_fails_before_any_argon2_work(
            (info, text) in any_envelope(),
            pin in "[0-9]{6,10}",
        ) {
            let binding = KeyBinding { kind: info.kind, account: Felt::ONE, public_key: Felt::TWO };
            // A PRF key never runs Argon2: PIN envelopes refuse it (after the bounds
            // check) and PRF envelopes cost one HKDF and fail the tag.
            let prf = EncryptKey::prf(&[9; 32]).unwrap().with_server_share(
                ServerShare::new(info.share_id.as_deref().unwrap_or("s"), &[1; 32]).unwrap(),
            );
            let result = open(&text, &prf, &binding);
            match info.kdf {
                // A key on another curve stops at the curve check.
                _ if info.curve != Curve::Stark => prop_assert_eq!(
                    result.err(),
                    Some(KeystoreError::CurveMismatch { expected: Curve::Stark, found: info.curve })
                ),
                Kdf::HkdfPrf => prop_assert_eq!(result.err(), Some(KeystoreError::WrongKey)),
                Kdf::Argon2id(params) => prop_assert_eq!(
                    result.err(),
                    Some(params.check_bounds().err().unwrap_or(KeystoreError::KeyTypeMismatch {
                        expected: "a PIN or passphrase"
                    }))
                ),
            }
            // A PIN with the wrong key kind stops at the kind check.
            let other = match info.kind {
                KeyKind::Session => KeyKind::Owner,
                KeyKind::Owner => KeyKind::Session,
            };
            let wrong_kind = KeyBinding { kind: other, ..binding };
            prop_assert_eq!(
                open(&text, &EncryptKey::passphrase(pin), &wrong_kind).err(),
                Some(KeystoreError::KindMismatch { expected: other, found: info.kind })
            );
        }
    }

    #[test]
    fn round_trip_and_grammar() {
        let (key, binding, text) = sealed("482913");
        let fields: Vec<&str> = text.split('$').collect();
        assert_eq!(fields.len(), 8);
        assert_eq!(&fields[..5], &["lk1", "session", "argon2id", "m=19456,t=2,p=1", "-"]);
        assert_eq!((fields[5].len(), fields[6].len(), fields[7].len()), (22, 32, 64));
        let opened = open(&text, &EncryptKey::passphrase("482913"), &binding).unwrap();
        assert_eq!(opened.public_key(), key.public_key());
        let info = inspect(&text).unwrap();
        assert_eq!(info.kind, KeyKind::Session);
        assert_eq!(info.kdf, Kdf::Argon2id(TEST_PARAMS));
        assert_eq!(info.share_id, None);
        assert!(info.needs_upgrade());
    }

    #[test]
    fn wrong_pin_fails() {
        let (_, binding, text) = sealed("482913");
        assert_eq!(
            open(&text, &EncryptKey::passphrase("482914"), &binding).err(),
            Some(KeystoreError::WrongKey)
        );
        assert_eq!(
            open(&text, &EncryptKey::passphrase(""), &binding).err(),
            Some(KeystoreError::EmptyKey)
        );
        assert_eq!(
            open(&text, &EncryptKey::prf(&[1; 32]).unwrap(), &binding).err(),
            Some(KeystoreError::KeyTypeMismatch { expected: "a PIN or passphrase" })
        );
    }

    #[test]
    fn k05_swapped_ciphertext_fails() {
        let mut rng = StdRng::seed_from_u64(5);
        let pin = EncryptKey::passphrase("482913");
        let (_, binding_a, text_a) = sealed("482913");
        // Same PIN, another key on another account: each envelope only opens for its own.
        let key_b = generate_session_key(&mut rng);
        let binding_b = KeyBinding {
            kind: KeyKind::Session,
            account: Felt::from(0xbeefu32),
            public_key: key_b.public_key(),
        };
        let text_b = seal_with_params(&key_b, &pin, &binding_b, TEST_PARAMS, &mut rng).unwrap();
        assert_eq!(open(&text_a, &pin, &binding_b).err(), Some(KeystoreError::WrongKey));
        assert_eq!(open(&text_b, &pin, &binding_a).err(), Some(KeystoreError::WrongKey));
        // Right key, wrong account.
        let moved = KeyBinding { account: Felt::from(0xbeefu32), ..binding_a };
        assert_eq!(open(&text_a, &pin, &moved).err(), Some(KeystoreError::WrongKey));
        // Right account, wrong public key.
        let other_pub = KeyBinding { public_key: binding_b.public_key, ..binding_a };
        assert_eq!(open(&text_a, &pin, &other_pub).err(), Some(KeystoreError::WrongKey));
        // Payload of B spliced into A's header.
        let spliced = with_field(&text_a, 7, text_b.rsplit('$').next().unwrap());
        assert_eq!(open(&spliced, &pin, &binding_a).err(), Some(KeystoreError::WrongKey));
        // Session envelope presented as an owner key.
        let as_owner = KeyBinding { kind: KeyKind::Owner, ..binding_a };
        assert_eq!(
            open(&text_a, &pin, &as_owner).err(),
            Some(KeystoreError::KindMismatch { expected: KeyKind::Owner, found: KeyKind::Session })
        );
        let relabelled = with_field(&text_a, 1, "owner");
        assert_eq!(open(&relabelled, &pin, &as_owner).err(), Some(KeystoreError::WrongKey));
    }

    #[test]
    fn k05_restored_old_ciphertext_after_pin_change_needs_the_old_pin() {
        let mut rng = StdRng::seed_from_u64(6);
        let (key, binding, old) = sealed("482913");
        let new = seal_with_params(
            &key,
            &EncryptKey::passphrase("739154"),
            &binding,
            TEST_PARAMS,
            &mut rng,
        )
        .unwrap();
        assert!(open(&new, &EncryptKey::passphrase("739154"), &binding).is_ok());
        assert_eq!(
            open(&old, &EncryptKey::passphrase("739154"), &binding).err(),
            Some(KeystoreError::WrongKey)
        );
    }

    #[test]
    fn k06_nonces_are_unique_over_100k_seals() {
        let mut rng = OsRng;
        let key = generate_session_key(&mut rng);
        let binding = binding_for(&key);
        let kek = [7u8; 32];
        let info = EnvelopeInfo {
            kind: KeyKind::Session,
            curve: Curve::Stark,
            kdf: Kdf::Argon2id(CURRENT_PARAMS),
            share_id: None,
            oprf_key: None,
        };
        let salt = [1u8; SALT_BYTES];
        let mut nonces = HashSet::with_capacity(100_000);
        let mut payloads = HashSet::with_capacity(100_000);
        for _ in 0..100_000 {
            let text = assemble(&kek, &info, &salt, &binding, &key, &mut rng).unwrap();
            let envelope = parse(&text).unwrap();
            assert!(nonces.insert(envelope.nonce), "nonce reused");
            assert!(payloads.insert(envelope.payload), "ciphertext repeated");
        }
        // The last one still decrypts.
        assert_eq!(nonces.len(), 100_000);
    }

    #[test]
    fn k07_downgraded_params_rejected() {
        let (_, binding, text) = sealed("482913");
        let pin = EncryptKey::passphrase("482913");
        // Below the floor: refused before any KDF work.
        for (params, m, t, p) in [
            ("m=8,t=2,p=1", 8, 2, 1),
            ("m=19455,t=2,p=1", 19_455, 2, 1),
            ("m=19456,t=1,p=1", 19_456, 1, 1),
            ("m=19456,t=2,p=0", 19_456, 2, 0),
        ] {
            let tampered = with_field(&text, 3, params);
            assert_eq!(
                open(&tampered, &pin, &binding).err(),
                Some(KeystoreError::KdfParamsTooWeak { m_kib: m, t, p }),
                "{params}"
            );
        }
        // Absurdly large: refused too (DoS).
        for params in
            ["m=1048577,t=2,p=1", "m=19456,t=11,p=1", "m=19456,t=2,p=17", "m=1048576,t=5,p=1"]
        {
            let tampered = with_field(&text, 3, params);
            assert!(
                matches!(
                    open(&tampered, &pin, &binding),
                    Err(KeystoreError::KdfParamsTooLarge { .. })
                ),
                "{params}"
            );
        }
        // Within bounds but not what was sealed: the AEAD tag fails.
        let tampered = with_field(&text, 3, "m=19456,t=3,p=1");
        assert_eq!(open(&tampered, &pin, &binding).err(), Some(KeystoreError::WrongKey));
        // The KDF id is authenticated as well.
        let tampered = with_field(&with_field(&text, 2, "hkdf-prf"), 3, "-");
        let prf = EncryptKey::prf(&[0u8; 32]).unwrap();
        assert_eq!(open(&tampered, &prf, &binding).err(), Some(KeystoreError::WrongKey));
    }

    #[test]
    fn k07_sealing_outside_the_bounds_is_refused() {
        let mut rng = StdRng::seed_from_u64(8);
        let key = generate_session_key(&mut rng);
        let binding = binding_for(&key);
        let pin = EncryptKey::passphrase("482913");
        let weak = Argon2Params { m_kib: 4096, t: 1, p: 1 };
        assert!(matches!(
            seal_with_params(&key, &pin, &binding, weak, &mut rng),
            Err(KeystoreError::KdfParamsTooWeak { .. })
        ));
        let huge = Argon2Params { m_kib: 2 << 20, t: 3, p: 1 };
        assert!(matches!(
            seal_with_params(&key, &pin, &binding, huge, &mut rng),
            Err(KeystoreError::KdfParamsTooLarge { .. })
        ));
        assert!(FLOOR_PARAMS.check_bounds().is_ok());
        assert!(CURRENT_PARAMS.check_bounds().is_ok());
        assert!(!CURRENT_PARAMS.is_below_current());
    }

    #[test]
    fn k08_weaker_params_upgrade_on_unlock() {
        let mut rng = StdRng::seed_from_u64(12);
        let (key, binding, old) = sealed("482913");
        let pin = EncryptKey::passphrase("482913");
        let (opened, upgraded) = open_and_upgrade(&old, &pin, &binding, &mut rng).unwrap();
        assert_eq!(opened.public_key(), key.public_key());
        let upgraded = upgraded.unwrap();
        let info = inspect(&upgraded).unwrap();
        assert_eq!(info.kdf, Kdf::Argon2id(CURRENT_PARAMS));
        assert!(!info.needs_upgrade());
        let (again, none) = open_and_upgrade(&upgraded, &pin, &binding, &mut rng).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(none.is_none());
    }

    #[test]
    fn server_share_is_required_and_named() {
        let mut rng = StdRng::seed_from_u64(13);
        let key = generate_session_key(&mut rng);
        let binding = binding_for(&key);
        let share = || ServerShare::new("kms-1", &[0x42; 32]).unwrap();
        let with_share = EncryptKey::passphrase("482913").with_server_share(share());
        let text = seal_with_params(&key, &with_share, &binding, TEST_PARAMS, &mut rng).unwrap();
        assert_eq!(text.split('$').nth(4), Some("kms-1"));
        assert_eq!(inspect(&text).unwrap().share_id.as_deref(), Some("kms-1"));
        assert!(open(&text, &with_share, &binding).is_ok());
        assert_eq!(
            open(&text, &EncryptKey::passphrase("482913"), &binding).err(),
            Some(KeystoreError::ServerShareRequired { id: "kms-1".into() })
        );
        let other_id = EncryptKey::passphrase("482913")
            .with_server_share(ServerShare::new("kms-2", &[0x42; 32]).unwrap());
        assert!(matches!(
            open(&text, &other_id, &binding),
            Err(KeystoreError::ServerShareMismatch { .. })
        ));
        let wrong_secret = EncryptKey::passphrase("482913")
            .with_server_share(ServerShare::new("kms-1", &[0x43; 32]).unwrap());
        assert_eq!(open(&text, &wrong_secret, &binding).err(), Some(KeystoreError::WrongKey));
        // Removing the share from the header does not help: the header is authenticated
        // and the KEK differs.
        let stripped = with_field(&text, 4, "-");
        assert_eq!(
            open(&stripped, &EncryptKey::passphrase("482913"), &binding).err(),
            Some(KeystoreError::WrongKey)
        );
    }

    fn oprf_output(key_id: &str, pin: &str) -> crate::keystore::oprf::OprfOutput {
        crate::keystore::oprf::WalletOprfKey::derive(&[9; 32], key_id, &Felt::from(0xacc0u32))
            .unwrap()
            .evaluate_unblinded(pin)
            .unwrap()
    }

    #[test]
    fn lk2_needs_the_oprf_output_under_its_key() {
        let mut rng = StdRng::seed_from_u64(17);
        let key = generate_session_key(&mut rng);
        let binding = binding_for(&key);
        let pin = || EncryptKey::passphrase("482913").with_oprf(oprf_output("v1", "482913"));
        let text = seal_with_params(&key, &pin(), &binding, TEST_PARAMS, &mut rng).unwrap();
        assert!(text.starts_with("lk2$session$argon2id$m=19456,t=2,p=1$v1$"), "{text}");
        let info = inspect(&text).unwrap();
        assert_eq!((info.version(), info.oprf_key.as_deref()), ("lk2", Some("v1")));
        assert!(!info.is_offline_guessable());
        assert_eq!(open(&text, &pin(), &binding).unwrap().public_key(), key.public_key());
        // The PIN alone, the PIN with another key's output, a wrong PIN's output: no key.
        assert_eq!(
            open(&text, &EncryptKey::passphrase("482913"), &binding).err(),
            Some(KeystoreError::OprfRequired { key_id: "v1".into() })
        );
        let other_key = EncryptKey::passphrase("482913").with_oprf(oprf_output("v2", "482913"));
        assert!(matches!(
            open(&text, &other_key, &binding),
            Err(KeystoreError::OprfKeyMismatch { .. })
        ));
        let wrong = EncryptKey::passphrase("482913").with_oprf(oprf_output("v1", "482914"));
        assert_eq!(open(&text, &wrong, &binding).err(), Some(KeystoreError::WrongKey));
        // Relabelling it lk1 (the OPRF key as a share id) changes the AAD and the KEK.
        let relabelled = with_field(&text, 0, "lk1");
        assert!(open(&relabelled, &pin(), &binding).is_err());
        // An lk2 header without an OPRF key, or with a PRF KDF, is malformed.
        assert!(matches!(inspect(&with_field(&text, 4, "-")), Err(KeystoreError::Malformed(_))));
        let prf = with_field(&with_field(&text, 2, "hkdf-prf"), 3, "-");
        assert!(matches!(inspect(&prf), Err(KeystoreError::Malformed(_))));
    }

    #[test]
    fn lk1_pin_envelopes_upgrade_to_lk2_on_unlock_with_an_oprf_output() {
        let mut rng = StdRng::seed_from_u64(19);
        let key = generate_session_key(&mut rng);
        let binding = binding_for(&key);
        let lk1 = seal(&key, &EncryptKey::passphrase("482913"), &binding, &mut rng).unwrap();
        assert!(inspect(&lk1).unwrap().is_offline_guessable());
        // Without an OPRF output it stays as it is.
        let (_, none) =
            open_and_upgrade(&lk1, &EncryptKey::passphrase("482913"), &binding, &mut rng).unwrap();
        assert_eq!(none, None);
        let pin = EncryptKey::passphrase("482913").with_oprf(oprf_output("v1", "482913"));
        let (opened, upgraded) = open_and_upgrade(&lk1, &pin, &binding, &mut rng).unwrap();
        assert_eq!(opened.public_key(), key.public_key());
        let lk2 = upgraded.unwrap();
        assert_eq!(inspect(&lk2).unwrap().oprf_key.as_deref(), Some("v1"));
        assert_eq!(inspect(&lk2).unwrap().kdf, Kdf::Argon2id(CURRENT_PARAMS));
        assert_eq!(open(&lk2, &pin, &binding).unwrap().public_key(), key.public_key());
        let (_, again) = open_and_upgrade(&lk2, &pin, &binding, &mut rng).unwrap();
        assert_eq!(again, None);
        // A server share and an OPRF output together are refused.
        let both = EncryptKey::passphrase("482913")
            .with_oprf(oprf_output("v1", "482913"))
            .with_server_share(ServerShare::new("kms-1", &[1; 32]).unwrap());
        assert!(seal_with_params(&key, &both, &binding, TEST_PARAMS, &mut rng).is_err());
    }

    #[test]
    fn malformed_envelopes_are_typed_errors() {
        let (_, binding, text) = sealed("482913");
        let pin = EncryptKey::passphrase("482913");
        let cases = [
            with_field(&text, 1, "wallet"),
            with_field(&text, 2, "scrypt"),
            with_field(&text, 3, "m=019456,t=2,p=1"),
            with_field(&text, 3, "t=2,m=19456,p=1"),
            with_field(&text, 3, "m=19456,t=2"),
            with_field(&text, 3, "m=99999999999,t=2,p=1"),
            with_field(&text, 4, "-bad"),
            with_field(&text, 5, "short"),
            with_field(&text, 6, "AAAA"),
            with_field(&text, 7, &"A".repeat(63)),
            format!("{text}$extra"),
            format!("{text}="),
            text.replacen("$", "$$", 1),
            "lk1$".to_string(),
            "x".repeat(600),
        ];
        for bad in &cases {
            let result = open(bad, &pin, &binding);
            assert!(
                matches!(result, Err(KeystoreError::Malformed(_) | KeystoreError::UnknownFormat)),
                "{bad}: {result:?}"
            );
        }
        // Non-canonical base64 (trailing bits set) is refused.
        let salt = text.split('$').nth(5).unwrap();
        let mut chars: Vec<char> = salt.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'B' { 'C' } else { 'B' };
        let noncanonical = with_field(&text, 5, &chars.into_iter().collect::<String>());
        assert!(open(&noncanonical, &pin, &binding).is_err());
        assert_eq!(open("lk9$a", &pin, &binding).err(), Some(KeystoreError::UnsupportedVersion));
    }

    #[test]
    fn k11_errors_never_contain_the_pin_or_key() {
        let (key, binding, text) = sealed("482913");
        let secret = key.secret_hex();
        let errors = [
            open(&text, &EncryptKey::passphrase("482914"), &binding).unwrap_err(),
            open(&with_field(&text, 3, "m=8,t=2,p=1"), &EncryptKey::passphrase("482913"), &binding)
                .unwrap_err(),
            seal(&key, &EncryptKey::passphrase("123456"), &binding, &mut OsRng).unwrap_err(),
        ];
        for err in errors {
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("48291"), "{shown}");
                assert!(!shown.contains("123456"), "{shown}");
                assert!(!shown.contains(&secret[4..20]), "{shown}");
            }
        }
    }

    #[test]
    fn sealing_checks_pin_strength_and_binding() {
        let mut rng = StdRng::seed_from_u64(14);
        let key = generate_session_key(&mut rng);
        let binding = binding_for(&key);
        assert_eq!(
            seal(&key, &EncryptKey::passphrase("123456"), &binding, &mut rng).err(),
            Some(KeystoreError::WeakPin(crate::keystore::WeakPinReason::Sequential))
        );
        assert_eq!(
            seal(&key, &EncryptKey::passphrase(""), &binding, &mut rng).err(),
            Some(KeystoreError::EmptyKey)
        );
        let wrong = KeyBinding { public_key: Felt::from(5u8), ..binding };
        assert_eq!(
            seal_with_params(
                &key,
                &EncryptKey::passphrase("482913"),
                &wrong,
                TEST_PARAMS,
                &mut rng
            )
            .err(),
            Some(KeystoreError::PublicKeyMismatch)
        );
    }
}
