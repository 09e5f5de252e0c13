//! Local key files and client-side signing: `latchkey key new|show` and `latchkey sign`.
//!
//! The server never holds a usable user key, so whatever talks to it (curl, a script, the
//! CLI's own commands) needs the client half somewhere: a key file holds one owner or
//! session key sealed in the hardened `lk1` envelope (bound to its account and public
//! key), and `latchkey sign` turns a prepared execution from the API into the body of
//! `POST /api/wallets/{address}/execute`. The PIN comes from `LATCHKEY_PIN` or a prompt
//! without echo, never from an argument.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use latchkey_chain::ChainClient;
use latchkey_contracts::ACCOUNT;
use latchkey_core::keystore::{self, EncryptKey, KeyBinding};
use latchkey_core::{
    create_session_key, generate_owner_key, parse_felt, public_key_hex, sign_owner,
    sign_session_execution, to_hex, Felt, KeyKind, OutsideExecution, SessionKeyData, TypedData,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Environment variable a script can put the PIN in.
pub(crate) const PIN_ENV: &str = "LATCHKEY_PIN";

/// A key file: one sealed key and what it signs for.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct KeyFile {
    /// Format version.
    pub(crate) version: u32,
    /// `owner` or `session`.
    pub(crate) kind: String,
    /// The wallet the key signs for.
    pub(crate) account: String,
    /// The key's public key.
    pub(crate) public_key: String,
    /// The sealed private key (`lk1$…`, or a Chipi ciphertext).
    pub(crate) encrypted_private_key: String,
    /// For session keys: the expiry its signatures claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) valid_until: Option<u64>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("public_key", &self.public_key)
            .field("encrypted_private_key", &"<sealed>")
            .field("valid_until", &self.valid_until)
            .finish()
    }
}

impl KeyFile {
    pub(crate) fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read key file {}", path.display()))?;
        let file: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a latchkey key file", path.display()))?;
        if file.version != 1 {
            bail!("{}: unsupported key file version {}", path.display(), file.version);
        }
        if KeyKind::parse(&file.kind).is_none() {
            bail!("{}: unknown key kind {:?}", path.display(), file.kind);
        }
        keystore::KeyFormat::validate(&file.encrypted_private_key)
            .with_context(|| format!("{}: the sealed key is not valid", path.display()))?;
        Ok(file)
    }

    /// Writes a new file, readable by its owner only; never overwrites one.
    pub(crate) fn create(&self, path: &Path) -> anyhow::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow::anyhow!("{} exists already; it is never overwritten", path.display())
            }
            _ => anyhow::Error::new(e).context(format!("cannot create {}", path.display())),
        })?;
        let text = serde_json::to_string_pretty(self)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        Ok(())
    }

    pub(crate) fn kind(&self) -> KeyKind {
        KeyKind::parse(&self.kind).unwrap_or(KeyKind::Session)
    }

    pub(crate) fn account_felt(&self) -> anyhow::Result<Felt> {
        parse_felt(&self.account).context("the key file's account is not a felt")
    }

    pub(crate) fn public_key_felt(&self) -> anyhow::Result<Felt> {
        parse_felt(&self.public_key).context("the key file's public key is not a felt")
    }

    /// Signs `typed_data` with this key; returns the wire signature (hex strings).
    pub(crate) fn sign(
        &self,
        typed_data: &TypedData,
        pin: &EncryptKey,
        now: u64,
    ) -> anyhow::Result<Vec<String>> {
        let account = self.account_felt()?;
        match self.kind() {
            KeyKind::Owner => {
                let signature = sign_owner(
                    &self.encrypted_private_key,
                    pin,
                    &self.public_key_felt()?,
                    typed_data,
                    &account,
                )?;
                Ok(vec![to_hex(&signature.r), to_hex(&signature.s)])
            }
            KeyKind::Session => {
                let session = SessionKeyData {
                    public_key: self.public_key.clone(),
                    encrypted_private_key: self.encrypted_private_key.clone(),
                    valid_until: self.valid_until.context("session key file without validUntil")?,
                };
                let signature = sign_session_execution(&session, pin, typed_data, &account, now)?;
                Ok(signature.to_hex_strings())
            }
        }
    }
}

/// Reads the PIN from `LATCHKEY_PIN` or, on a terminal, from a prompt without echo
/// (twice when `confirm`).
pub(crate) fn read_pin(prompt: &str, confirm: bool) -> anyhow::Result<EncryptKey> {
    if let Ok(pin) = std::env::var(PIN_ENV) {
        return Ok(EncryptKey::passphrase(pin));
    }
    if !std::io::stdin().is_terminal() && !Path::new("/dev/tty").exists() {
        bail!("no PIN: set {PIN_ENV} or run on a terminal");
    }
    let pin = rpassword::prompt_password(prompt).context("cannot read the PIN")?;
    if confirm {
        let again =
            rpassword::prompt_password("Repeat the PIN: ").context("cannot read the PIN")?;
        if again != pin {
            bail!("the PINs differ");
        }
    }
    Ok(EncryptKey::passphrase(pin))
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `latchkey key new owner FILE`: a new owner key sealed under a PIN; prints the body
/// of `POST /api/wallets`.
pub(crate) fn new_owner(path: &Path) -> anyhow::Result<()> {
    ensure_absent(path)?;
    let pin = read_pin("PIN for the new owner key: ", true)?;
    if let Err(reason) = check_pin_strength_of(&pin) {
        bail!("weak PIN: {reason}");
    }
    let key = generate_owner_key(&mut rand::rngs::OsRng);
    let class_hash = ACCOUNT.class_hash()?;
    let account = ChainClient::account_address(class_hash, key.public_key());
    let binding = KeyBinding { kind: KeyKind::Owner, account, public_key: key.public_key() };
    let sealed = keystore::seal(&key, &pin, &binding, &mut rand::rngs::OsRng)?;
    let file = KeyFile {
        version: 1,
        kind: KeyKind::Owner.as_str().to_string(),
        account: to_hex(&account),
        public_key: public_key_hex(&key),
        encrypted_private_key: sealed,
        valid_until: None,
    };
    file.create(path)?;
    eprintln!("owner key sealed in {} (wallet {})", path.display(), file.account);
    print_json(&json!({
        "ownerPublicKey": file.public_key,
        "encryptedPrivateKey": file.encrypted_private_key,
    }))
}

fn check_pin_strength_of(pin: &EncryptKey) -> Result<(), String> {
    pin.check_strength().map_err(|e| e.to_string())
}

/// What `latchkey key new session` registers.
pub(crate) struct SessionRequest<'a> {
    pub(crate) account: &'a str,
    pub(crate) valid_for_seconds: u64,
    pub(crate) max_calls: u32,
    pub(crate) allow: &'a [String],
    pub(crate) allow_all: bool,
}

/// `latchkey key new session FILE --account …`: a new session key sealed under a PIN;
/// prints the body of `POST /api/wallets/{address}/sessions`.
pub(crate) fn new_session(path: &Path, request: &SessionRequest<'_>) -> anyhow::Result<()> {
    ensure_absent(path)?;
    let account = parse_felt(request.account).context("--account is not a felt")?;
    if request.allow.is_empty() && !request.allow_all {
        bail!("name what the session may call (--allow CONTRACT:ENTRYPOINT, repeatable) or pass --allow-all");
    }
    let methods =
        request.allow.iter().map(|spec| parse_method(spec)).collect::<anyhow::Result<Vec<_>>>()?;
    let pin = read_pin("PIN for the new session key: ", true)?;
    let now = now_unix();
    let data =
        create_session_key(&pin, &account, request.valid_for_seconds, now, &mut rand::rngs::OsRng)?;
    let file = KeyFile {
        version: 1,
        kind: KeyKind::Session.as_str().to_string(),
        account: to_hex(&account),
        public_key: data.public_key.clone(),
        encrypted_private_key: data.encrypted_private_key.clone(),
        valid_until: Some(data.valid_until),
    };
    file.create(path)?;
    eprintln!("session key sealed in {} (valid until {})", path.display(), data.valid_until);
    let mut body = json!({
        "sessionPublicKey": data.public_key,
        "validUntil": data.valid_until,
        "maxCalls": request.max_calls,
        "allowedMethods": methods,
    });
    if request.allow_all {
        body["allowAll"] = json!(true);
    }
    print_json(&body)
}

/// `CONTRACT:ENTRYPOINT` → `{"contract", "entrypoint"}`.
fn parse_method(spec: &str) -> anyhow::Result<Value> {
    let (contract, entrypoint) = spec
        .split_once(':')
        .with_context(|| format!("--allow {spec:?}: expected CONTRACT:ENTRYPOINT"))?;
    let contract =
        parse_felt(contract).with_context(|| format!("--allow {spec:?}: bad contract"))?;
    if entrypoint.is_empty() || !entrypoint.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("--allow {spec:?}: bad entrypoint name");
    }
    Ok(json!({"contract": to_hex(&contract), "entrypoint": entrypoint}))
}

fn ensure_absent(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!("{} exists already; it is never overwritten", path.display());
    }
    Ok(())
}

/// `latchkey key show FILE [FIELD]`: the public parts of a key file.
pub(crate) fn show(path: &Path, field: Option<&str>) -> anyhow::Result<()> {
    let file = KeyFile::read(path)?;
    let public = json!({
        "kind": file.kind,
        "account": file.account,
        "publicKey": file.public_key,
        "validUntil": file.valid_until,
        "format": keystore::KeyFormat::detect(&file.encrypted_private_key).map(|f| f.as_str()),
    });
    match field {
        None => print_json(&public),
        Some(name) => match public.get(name) {
            Some(Value::String(text)) => {
                println!("{text}");
                Ok(())
            }
            Some(Value::Null) | None => {
                bail!("no field {name:?}; fields: kind, account, publicKey, validUntil, format")
            }
            Some(other) => {
                println!("{other}");
                Ok(())
            }
        },
    }
}

/// `latchkey sign FILE`: reads a prepared execution (the API's response, or bare typed
/// data) on standard input and prints `{"typedData", "signature"}` for `…/execute`.
/// What is signed is shown on standard error first.
pub(crate) fn sign(path: &Path) -> anyhow::Result<()> {
    let file = KeyFile::read(path)?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).context("cannot read standard input")?;
    let value: Value = serde_json::from_str(input.trim())
        .context("standard input is not JSON (pipe in the response of a prepare call)")?;
    if let Some(code) = value.get("code").and_then(Value::as_str) {
        let message = value.get("message").and_then(Value::as_str).unwrap_or_default();
        bail!("the API refused the request: {code}: {message}");
    }
    let typed_value = value.get("typedData").cloned().unwrap_or(value);
    let typed_data: TypedData =
        serde_json::from_value(typed_value.clone()).context("not SNIP-12 typed data")?;
    let (outside_execution, _chain) = OutsideExecution::from_typed_data(&typed_data)
        .context("the typed data is not a SNIP-9 outside execution")?;
    describe(&file, &outside_execution);
    let pin = read_pin(&format!("PIN for {}: ", path.display()), false)?;
    let signature = file.sign(&typed_data, &pin, now_unix())?;
    print_json(&json!({"typedData": typed_value, "signature": signature}))
}

fn describe(file: &KeyFile, outside_execution: &OutsideExecution) {
    eprintln!(
        "signing as the {} key of {}: {} call(s), valid until {}",
        file.kind,
        file.account,
        outside_execution.calls.len(),
        outside_execution.execute_before
    );
    for call in &outside_execution.calls {
        eprintln!(
            "  {} selector {} ({} calldata felts)",
            to_hex(&call.to),
            to_hex(&call.selector),
            call.calldata.len()
        );
    }
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_and_refuse_garbage() {
        assert_eq!(
            parse_method("0x12:make_move").unwrap(),
            json!({"contract": "0x12", "entrypoint": "make_move"})
        );
        assert!(parse_method("0x12").is_err());
        assert!(parse_method("zz:make_move").is_err());
        assert!(parse_method("0x12:").is_err());
    }

    #[test]
    fn key_file_debug_hides_the_sealed_key() {
        let file = KeyFile {
            version: 1,
            kind: "owner".into(),
            account: "0x1".into(),
            public_key: "0x2".into(),
            encrypted_private_key: "lk1$secret-material".into(),
            valid_until: None,
        };
        assert!(!format!("{file:?}").contains("secret-material"));
    }
}
