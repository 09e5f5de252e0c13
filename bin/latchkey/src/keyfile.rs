//! Local key files and client-side signing: `latchkey key new|show` and `latchkey sign`,
//! and the key files behind `latchkey wallet create` and `latchkey session create`.
//!
//! The server never holds a usable user key, so whatever talks to it (curl, a script, the
//! CLI's own commands) needs the client half somewhere: a key file holds one owner or
//! session key sealed in the hardened `lk1` envelope (bound to its account and public
//! key), and `latchkey sign` turns a prepared execution from the API into the body of
//! `POST /api/wallets/{address}/execute`. A session key file also keeps the policy the
//! session is to be registered with, so registering it later needs nothing else. The PIN
//! comes from `LATCHKEY_PIN` or a prompt without echo, never from an argument.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use latchkey_chain::ChainClient;
use latchkey_contracts::ACCOUNT;
use latchkey_core::keystore::{self, EncryptKey, KeyBinding};
use latchkey_core::{
    create_session_key, generate_owner_key, parse_felt, payload_hash, prove_possession,
    public_key_hex, sign_owner, sign_proof, sign_session_execution, to_hex, Felt, KeyKind,
    OutsideExecution, ProofPurpose, SessionError, SessionErrorCode, SessionKeyData, SessionPolicy,
    SigningKey, TypedData,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cli::spec::MethodSpec;

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
    /// For session keys: what the session is to be registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<SessionTerms>,
}

/// The registration terms of a session key, kept in its key file (public data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SessionTerms {
    /// Unix time the session starts (0: at registration).
    #[serde(default)]
    pub(crate) valid_after: u64,
    /// Transactions the session may make.
    pub(crate) max_calls: u32,
    /// Every method of every contract (never the wallet itself).
    #[serde(default)]
    pub(crate) allow_all: bool,
    /// What the session may call.
    #[serde(default)]
    pub(crate) allowed_methods: Vec<MethodSpec>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("public_key", &self.public_key)
            .field("encrypted_private_key", &"<sealed>")
            .field("valid_until", &self.valid_until)
            .field("policy", &self.policy)
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

    /// The registration terms of a session key file.
    pub(crate) fn terms(&self) -> anyhow::Result<&SessionTerms> {
        if self.kind() != KeyKind::Session {
            bail!("this is an {} key file, not a session key file", self.kind);
        }
        self.policy.as_ref().context(
            "this session key file holds no registration policy (it was made by an older \
             latchkey); make a new one with `latchkey session create`",
        )
    }

    /// The body of `POST /api/wallets/{address}/sessions` for this session key.
    pub(crate) fn registration_body(&self) -> anyhow::Result<Value> {
        let terms = self.terms()?;
        let mut body = json!({
            "sessionPublicKey": self.public_key,
            "validUntil": self.valid_until.context("session key file without validUntil")?,
            "maxCalls": terms.max_calls,
            "allowedMethods": terms.allowed_methods,
        });
        if terms.valid_after != 0 {
            body["validAfter"] = json!(terms.valid_after);
        }
        if terms.allow_all {
            body["allowAll"] = json!(true);
        }
        Ok(body)
    }

    /// The policy the account stores when this session key is registered.
    pub(crate) fn registration_policy(&self) -> anyhow::Result<SessionPolicy> {
        let terms = self.terms()?;
        Ok(SessionPolicy {
            session_key: self.public_key_felt()?,
            valid_after: terms.valid_after,
            valid_until: self.valid_until.context("session key file without validUntil")?,
            max_calls: terms.max_calls,
            allowed_methods: terms.allowed_methods.iter().map(MethodSpec::allowed_method).collect(),
        })
    }

    /// Unlocks this key and signs a proof of its possession for `challenge` (see
    /// [`latchkey_core::proof_hash`]); returns the wire `proof` object.
    pub(crate) fn prove(
        &self,
        pin: &EncryptKey,
        challenge: &Challenge,
        purpose: ProofPurpose,
        payload: &Felt,
    ) -> anyhow::Result<Value> {
        let binding = KeyBinding {
            kind: self.kind(),
            account: self.account_felt()?,
            public_key: self.public_key_felt()?,
        };
        let signature = prove_possession(
            &self.encrypted_private_key,
            pin,
            &binding,
            &challenge.chain_id,
            purpose,
            &challenge.challenge,
            payload,
        )
        .map_err(explain_wrong_pin)?;
        Ok(challenge.proof(&signature))
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
                )
                .map_err(explain_wrong_pin)?;
                Ok(vec![to_hex(&signature.r), to_hex(&signature.s)])
            }
            KeyKind::Session => {
                let session = SessionKeyData {
                    public_key: self.public_key.clone(),
                    encrypted_private_key: self.encrypted_private_key.clone(),
                    valid_until: self.valid_until.context("session key file without validUntil")?,
                };
                let signature = sign_session_execution(&session, pin, typed_data, &account, now)
                    .map_err(explain_wrong_pin)?;
                Ok(signature.to_hex_strings())
            }
        }
    }
}

/// A failed decryption, said the way a person at a terminal needs it.
fn explain_wrong_pin(err: SessionError) -> anyhow::Error {
    match err.kind() {
        SessionErrorCode::SessionDecryptionFailed | SessionErrorCode::OwnerKeyDecryptionFailed => {
            anyhow::anyhow!("wrong PIN, or the key file was altered ({})", err.kind().as_str())
        }
        _ => err.into(),
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

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A challenge from `POST /api/challenges`, to sign as a proof of key possession.
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    pub(crate) challenge: Felt,
    pub(crate) chain_id: Felt,
}

impl Challenge {
    /// Reads the answer of `POST /api/challenges` (`{challenge, chainId, …}`).
    pub(crate) fn from_answer(value: &Value) -> anyhow::Result<Self> {
        if let Some(code) = value.get("code").and_then(Value::as_str) {
            let message = value.get("message").and_then(Value::as_str).unwrap_or_default();
            bail!("the API refused the challenge: {code}: {message}");
        }
        let field = |name: &str| -> anyhow::Result<Felt> {
            let text = value
                .get(name)
                .and_then(Value::as_str)
                .with_context(|| format!("the challenge has no {name}"))?;
            parse_felt(text).with_context(|| format!("the challenge's {name} is not a felt"))
        };
        Ok(Self { challenge: field("challenge")?, chain_id: field("chainId")? })
    }

    /// The wire `proof` object for `signature`.
    pub(crate) fn proof(&self, signature: &latchkey_core::Signature) -> Value {
        json!({
            "challenge": to_hex(&self.challenge),
            "signature": [to_hex(&signature.r), to_hex(&signature.s)],
        })
    }
}

/// The body of `POST /api/wallets` for a new owner key file: its public key, the sealed
/// key and the owner's proof of possession for `challenge` (purpose `create-wallet`,
/// payload = `sn_keccak` of the sealed key).
pub(crate) fn wallet_body(
    file: &KeyFile,
    key: &SigningKey,
    challenge: &Challenge,
) -> anyhow::Result<Value> {
    let signature = sign_proof(
        key,
        &challenge.chain_id,
        &file.account_felt()?,
        ProofPurpose::CreateWallet,
        &challenge.challenge,
        &payload_hash(file.encrypted_private_key.as_bytes()),
    )?;
    Ok(json!({
        "ownerPublicKey": file.public_key,
        "encryptedPrivateKey": file.encrypted_private_key,
        "proof": challenge.proof(&signature),
    }))
}

/// `latchkey key new owner FILE`: a new owner key sealed under a PIN. With a challenge
/// on standard input (the answer of `POST /api/challenges` for `create-wallet`), prints
/// the body of `POST /api/wallets` with the owner's proof of possession; without one,
/// just the public key and the sealed key.
pub(crate) fn new_owner(path: &Path) -> anyhow::Result<()> {
    let challenge = if std::io::stdin().is_terminal() {
        None
    } else {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input).context("cannot read standard input")?;
        let input = input.trim();
        if input.is_empty() {
            None
        } else {
            let value: Value = serde_json::from_str(input).context(
                "standard input is not JSON (pipe in the answer of POST /api/challenges)",
            )?;
            Some(Challenge::from_answer(&value)?)
        }
    };
    let (file, key) = create_owner_file(path)?;
    match challenge {
        Some(challenge) => print_json(&wallet_body(&file, &key, &challenge)?),
        None => print_json(&json!({
            "ownerPublicKey": file.public_key,
            "encryptedPrivateKey": file.encrypted_private_key,
        })),
    }
}

/// Writes a new owner key file at `path` (never overwritten), sealed under a PIN asked
/// twice; the wallet address follows from the key. Returns the file and the key, for the
/// proof of possession a wallet creation needs.
pub(crate) fn create_owner_file(path: &Path) -> anyhow::Result<(KeyFile, SigningKey)> {
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
        policy: None,
    };
    file.create(path)?;
    eprintln!("owner key sealed in {} (wallet {})", path.display(), file.account);
    Ok((file, key))
}

fn check_pin_strength_of(pin: &EncryptKey) -> Result<(), String> {
    pin.check_strength().map_err(|e| e.to_string())
}

/// How long a new session key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// This many seconds from now.
    For(u64),
    /// Until this Unix time (inclusive).
    Until(u64),
}

/// What a new session key is for: its wallet and registration terms.
#[derive(Debug)]
pub(crate) struct SessionRequest<'a> {
    pub(crate) account: &'a str,
    pub(crate) lifetime: Lifetime,
    pub(crate) valid_after: u64,
    pub(crate) max_calls: u32,
    pub(crate) allow: &'a [String],
    pub(crate) allow_all: bool,
}

impl SessionRequest<'_> {
    /// Checks the request against `now`; returns the account, the methods and the
    /// key's lifetime in seconds.
    fn check(&self, now: u64) -> anyhow::Result<(Felt, Vec<MethodSpec>, u64)> {
        let account = parse_felt(self.account).map_err(|e| {
            anyhow::anyhow!("the wallet address {:?} is not a felt: {e}", self.account)
        })?;
        if self.allow.is_empty() && !self.allow_all {
            bail!("name what the session may call (--allow CONTRACT:ENTRYPOINT, repeatable) or pass --allow-all");
        }
        if !self.allow.is_empty() && self.allow_all {
            bail!("--allow and --allow-all exclude each other");
        }
        let methods = self
            .allow
            .iter()
            .map(|spec| MethodSpec::parse(spec))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if methods.iter().any(|m| m.contract == account) {
            bail!("a session can never call its own wallet");
        }
        if self.max_calls == 0 {
            bail!("--max-calls must be at least 1");
        }
        let seconds = match self.lifetime {
            Lifetime::For(seconds) => seconds,
            Lifetime::Until(until) => until.saturating_sub(now),
        };
        if seconds == 0 {
            bail!("the session would have expired already (--valid-until is not in the future)");
        }
        if now.saturating_add(seconds) <= self.valid_after {
            bail!("the session would end before it starts (--valid-after is past its expiry)");
        }
        Ok((account, methods, seconds))
    }
}

/// `latchkey key new session FILE --account …`: a new session key sealed under a PIN;
/// prints the body of `POST /api/wallets/{address}/sessions`.
pub(crate) fn new_session(path: &Path, request: &SessionRequest<'_>) -> anyhow::Result<()> {
    let file = create_session_file(path, request)?;
    print_json(&file.registration_body()?)
}

/// Writes a new session key file at `path` (never overwritten), sealed under a PIN asked
/// twice, with the terms it is to be registered with. Nothing is sent anywhere.
pub(crate) fn create_session_file(
    path: &Path,
    request: &SessionRequest<'_>,
) -> anyhow::Result<KeyFile> {
    ensure_absent(path)?;
    let now = now_unix();
    let (account, methods, seconds) = request.check(now)?;
    let pin = read_pin("PIN for the new session key: ", true)?;
    let data = create_session_key(&pin, &account, seconds, now, &mut rand::rngs::OsRng)?;
    let file = KeyFile {
        version: 1,
        kind: KeyKind::Session.as_str().to_string(),
        account: to_hex(&account),
        public_key: data.public_key.clone(),
        encrypted_private_key: data.encrypted_private_key.clone(),
        valid_until: Some(data.valid_until),
        policy: Some(SessionTerms {
            valid_after: request.valid_after,
            max_calls: request.max_calls,
            allow_all: request.allow_all,
            allowed_methods: methods,
        }),
    };
    file.create(path)?;
    eprintln!("session key sealed in {} (valid until {})", path.display(), data.valid_until);
    Ok(file)
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

    fn request<'a>(allow: &'a [String], lifetime: Lifetime) -> SessionRequest<'a> {
        SessionRequest {
            account: "0x123",
            lifetime,
            valid_after: 0,
            max_calls: 10,
            allow,
            allow_all: false,
        }
    }

    #[test]
    fn session_requests_are_checked_before_any_prompt() {
        let allow = vec!["0x12:make_move".to_string()];
        let now = 1_000_000;
        let (account, methods, seconds) = request(&allow, Lifetime::For(60)).check(now).unwrap();
        assert_eq!(account, Felt::from(0x123u32));
        assert_eq!(methods[0].entrypoint, "make_move");
        assert_eq!(seconds, 60);
        assert_eq!(request(&allow, Lifetime::Until(now + 90)).check(now).unwrap().2, 90);
        assert!(request(&allow, Lifetime::Until(now)).check(now).is_err());
        assert!(request(&[], Lifetime::For(60)).check(now).is_err());
        let both = SessionRequest { allow_all: true, ..request(&allow, Lifetime::For(60)) };
        assert!(both.check(now).is_err());
        let no_calls = SessionRequest { max_calls: 0, ..request(&allow, Lifetime::For(60)) };
        assert!(no_calls.check(now).is_err());
        let late = SessionRequest { valid_after: now + 60, ..request(&allow, Lifetime::For(60)) };
        assert!(late.check(now).is_err());
        let own = vec!["0x123:transfer".to_string()];
        assert!(request(&own, Lifetime::For(60)).check(now).is_err());
        let bad = vec!["0x12".to_string()];
        assert!(request(&bad, Lifetime::For(60)).check(now).is_err());
    }

    #[test]
    fn a_session_key_file_carries_its_registration() {
        let file = KeyFile {
            version: 1,
            kind: "session".into(),
            account: "0x1".into(),
            public_key: "0x2".into(),
            encrypted_private_key: "lk1$x".into(),
            valid_until: Some(2_000_000_000),
            policy: Some(SessionTerms {
                valid_after: 0,
                max_calls: 5,
                allow_all: false,
                allowed_methods: vec![MethodSpec::parse("0x12:make_move").unwrap()],
            }),
        };
        assert_eq!(
            file.registration_body().unwrap(),
            json!({
                "sessionPublicKey": "0x2",
                "validUntil": 2_000_000_000u64,
                "maxCalls": 5,
                "allowedMethods": [{"contract": "0x12", "entrypoint": "make_move"}],
            })
        );
        let policy = file.registration_policy().unwrap();
        assert_eq!(policy.allowed_methods[0].selector, latchkey_core::selector("make_move"));
        // The file round-trips, and a file without terms still reads.
        let text = serde_json::to_string(&file).unwrap();
        let back: KeyFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.policy, file.policy);
        let bare = KeyFile { policy: None, ..file };
        assert!(bare.registration_body().is_err());
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
            policy: None,
        };
        assert!(!format!("{file:?}").contains("secret-material"));
    }
}
