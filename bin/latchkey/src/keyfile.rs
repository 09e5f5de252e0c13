//! Local key files and client-side signing: `latchkey key new|show` and `latchkey sign`,
//! and the key files behind `latchkey wallet create` and `latchkey session create`.
//!
//! The server never holds a usable user key, so whatever talks to it (curl, a script, the
//! CLI's own commands) needs the client half somewhere: a key file holds one owner or
//! session key sealed in the hardened envelope (bound to its account and public key), and
//! `latchkey sign` turns a prepared execution from the API into the body of
//! `POST /api/wallets/{address}/execute`. A session key file also keeps the policy the
//! session is to be registered with, so registering it later needs nothing else. The PIN
//! comes from `LATCHKEY_PIN` or a prompt without echo, never from an argument.
//!
//! New key files are `lk2`: their PIN only opens them together with the server's OPRF
//! evaluation ([`crate::pin`]), so a copied key file gives no offline PIN guessing. `lk1`
//! files (made with `--offline`, or by older versions) still open with the PIN alone, and
//! are re-sealed as `lk2` the first time they are unlocked through the server.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use latchkey_core::keystore::{self, hardened, EncryptKey, KeyBinding, KeystoreError};
use latchkey_core::{
    create_session_key, generate_owner_key, is_live_at, parse_felt, payload_hash, public_key_hex,
    sign_proof, to_hex, Felt, KeyKind, OutsideExecution, ProofPurpose, SessionError, SessionPolicy,
    SessionSignature, SigningKey, TypedData,
};
use latchkey_evm_contracts::EvmSigningKey;
use latchkey_starknet::ChainClient;
use latchkey_starknet_contracts::ACCOUNT;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::cli::evm::EvmMethod;
use crate::cli::spec::MethodSpec;
use crate::client::{PUBLIC_KEY_ENV, SECRET_KEY_ENV, URL_ENV};
use crate::pin::{Evaluation, PinServer};

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
    /// The key's public key (on EVM, its address).
    pub(crate) public_key: String,
    /// The wallet's chain (CAIP-2); absent: the server's Starknet chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) chain: Option<String>,
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
    /// What the session may call (Starknet).
    #[serde(default)]
    pub(crate) allowed_methods: Vec<MethodSpec>,
    /// What the session may call (EVM: contracts and Solidity signatures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) evm_methods: Vec<EvmMethod>,
}

impl SessionTerms {
    /// The allowed methods as the API takes them, in the key's family.
    pub(crate) fn allowed_methods_json(&self, evm: bool) -> Value {
        if evm {
            json!(self.evm_methods)
        } else {
            json!(self.allowed_methods)
        }
    }
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("kind", &self.kind)
            .field("account", &self.account)
            .field("public_key", &self.public_key)
            .field("chain", &self.chain)
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

    /// A session key file's expiry, refusing (before anything is signed) a session key
    /// that has expired at `now`.
    pub(crate) fn live_until(&self, now: u64) -> anyhow::Result<u64> {
        let valid_until = self.valid_until.context("session key file without validUntil")?;
        if !is_live_at(0, valid_until, now) {
            return Err(SessionError::Expired { valid_until }.into());
        }
        Ok(valid_until)
    }

    /// Whether the key is for an EVM wallet (its chain is `eip155:…`).
    pub(crate) fn is_evm(&self) -> bool {
        self.chain.as_deref().is_some_and(|chain| chain.starts_with("eip155:"))
    }

    /// The EVM chain id of an EVM key file.
    pub(crate) fn evm_chain_id(&self) -> anyhow::Result<u64> {
        self.chain
            .as_deref()
            .and_then(|chain| chain.strip_prefix("eip155:"))
            .and_then(|id| id.parse().ok())
            .context("the key file is not for an EVM chain (eip155:ID)")
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
            "allowedMethods": terms.allowed_methods_json(self.is_evm()),
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

    /// What the envelope is bound to: this file's kind, account and public key.
    pub(crate) fn binding(&self) -> anyhow::Result<KeyBinding> {
        Ok(KeyBinding {
            kind: self.kind(),
            account: self.account_felt()?,
            public_key: self.public_key_felt()?,
        })
    }

    /// The server's OPRF key an `lk2` envelope depends on; `None` for other formats.
    pub(crate) fn oprf_key(&self) -> Option<String> {
        self.hardened_info().and_then(|info| info.oprf_key)
    }

    /// Whether this is an `lk1` PIN envelope, whose PIN could be tested offline: it is
    /// re-sealed as `lk2` the next time it is unlocked through the server.
    pub(crate) fn is_offline_guessable(&self) -> bool {
        self.hardened_info().is_some_and(|info| info.is_offline_guessable())
    }

    /// `lk2`, `lk1` or `chipi`: what opens the key (the PIN with the server's evaluation,
    /// the PIN alone, the Chipi passphrase).
    pub(crate) fn envelope(&self) -> Option<&'static str> {
        match keystore::KeyFormat::detect(&self.encrypted_private_key)? {
            keystore::KeyFormat::Chipi => Some("chipi"),
            keystore::KeyFormat::Hardened => self.hardened_info().map(|info| info.version()),
        }
    }

    fn hardened_info(&self) -> Option<hardened::EnvelopeInfo> {
        match keystore::KeyFormat::detect(&self.encrypted_private_key) {
            Some(keystore::KeyFormat::Hardened) => {
                hardened::inspect(&self.encrypted_private_key).ok()
            }
            _ => None,
        }
    }

    /// Opens the sealed key with `pin` (which carries the server's evaluation for `lk2`);
    /// also returns the envelope re-sealed when it should be upgraded (weak parameters, or
    /// `lk1` opened with an evaluation at hand).
    fn open<K: FileKey>(&self, pin: &EncryptKey) -> Result<(K, Option<String>), KeystoreError> {
        let binding = self.binding().map_err(|_| KeystoreError::Malformed("bad key file"))?;
        match keystore::KeyFormat::detect(&self.encrypted_private_key) {
            Some(keystore::KeyFormat::Hardened) => hardened::open_and_upgrade_as(
                &self.encrypted_private_key,
                pin,
                &binding,
                &mut rand::rngs::OsRng,
            ),
            _ => {
                keystore::open_as(&self.encrypted_private_key, pin, &binding).map(|key| (key, None))
            }
        }
    }

    /// Signs a proof of possession of `key` (this file's, unlocked) for `challenge`;
    /// returns the wire `proof` object.
    pub(crate) fn prove_with<K: FileKey>(
        &self,
        key: &K,
        challenge: &Challenge,
        purpose: ProofPurpose,
        payload: &Felt,
    ) -> anyhow::Result<Value> {
        key.proof(self, challenge, purpose, payload)
    }

    /// Signs `typed_data` with `key` (this file's, unlocked); returns the wire signature
    /// (hex strings). A session key refuses to sign after its expiry.
    pub(crate) fn sign_with(
        &self,
        key: &SigningKey,
        typed_data: &TypedData,
        now: u64,
    ) -> anyhow::Result<Vec<String>> {
        let hash = typed_data
            .message_hash(&self.account_felt()?)
            .map_err(SessionError::InvalidTypedData)?;
        match self.kind() {
            KeyKind::Owner => {
                let signature = key.sign(&hash)?;
                Ok(vec![to_hex(&signature.r), to_hex(&signature.s)])
            }
            KeyKind::Session => {
                let valid_until = self.live_until(now)?;
                Ok(SessionSignature::sign(key, &hash, valid_until)?.to_hex_strings())
            }
        }
    }

    /// Replaces the file at `path` with this one, atomically: written beside it (readable
    /// by its owner only), synced, then renamed over it.
    fn replace(&self, path: &Path) -> anyhow::Result<()> {
        let mut name = path.file_name().context("a key file path names a file")?.to_os_string();
        name.push(".new");
        let staged = path.with_file_name(name);
        let _ = std::fs::remove_file(&staged);
        self.create(&staged)?;
        std::fs::rename(&staged, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }
}

/// A key a key file holds, in its family's proof scheme.
pub(crate) trait FileKey: keystore::Sealable {
    /// The wire `proof` object: this key's signature over a proof of possession for
    /// `file`'s wallet, `challenge`, `purpose` and `payload`.
    fn proof(
        &self,
        file: &KeyFile,
        challenge: &Challenge,
        purpose: ProofPurpose,
        payload: &Felt,
    ) -> anyhow::Result<Value>;
}

impl FileKey for SigningKey {
    fn proof(
        &self,
        file: &KeyFile,
        challenge: &Challenge,
        purpose: ProofPurpose,
        payload: &Felt,
    ) -> anyhow::Result<Value> {
        challenge.stark_proof(self, &file.account_felt()?, purpose, payload)
    }
}

impl FileKey for EvmSigningKey {
    /// `personal_sign` over the EVM proof hash (chain id, account, purpose, challenge,
    /// payload), the chain being the key file's.
    fn proof(
        &self,
        file: &KeyFile,
        challenge: &Challenge,
        purpose: ProofPurpose,
        payload: &Felt,
    ) -> anyhow::Result<Value> {
        let account = latchkey_evm::parse_address(&file.account)
            .map_err(|r| anyhow::anyhow!("the key file's account: {}", r.message))?;
        let hash = latchkey_evm_contracts::proof_hash(
            file.evm_chain_id()?,
            account,
            purpose.as_str(),
            latchkey_evm_contracts::B256::from(challenge.challenge.to_bytes_be()),
            latchkey_evm_contracts::B256::from(payload.to_bytes_be()),
        );
        let signature = self.sign_message_hash(hash)?;
        Ok(json!({
            "challenge": to_hex(&challenge.challenge),
            "signature": [format!("0x{}", hex::encode(signature.to_bytes()))],
        }))
    }
}

/// Where a PIN is checked: by the server that holds the wallet's OPRF key, or (for `lk1`
/// and Chipi-format key files only) on this machine.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PinCheck<'a> {
    /// Through the server: `lk2` envelopes open, and `lk1` ones are re-sealed as `lk2`.
    Server(PinServer<'a>),
    /// No server: only envelopes whose PIN alone opens them.
    Offline,
}

/// Asks for the PIN of the key file at `path` and opens its key. Through the server, the
/// PIN is evaluated first (one counted attempt), an `lk1` envelope is re-sealed as `lk2`
/// and written back to the file, and the unlock is proved to the server, which resets the
/// wallet's attempt counter.
pub(crate) async fn unlock<K: FileKey>(
    path: &Path,
    file: &mut KeyFile,
    check: PinCheck<'_>,
) -> anyhow::Result<K> {
    let (key, challenge) = unlock_unproved(path, file, check).await?;
    if let (PinCheck::Server(server), Some(challenge)) = (check, challenge) {
        prove_unlock(server, file, &key, &challenge).await;
    }
    Ok(key)
}

/// [`unlock`] without proving it: also returns the `pin-unlock` challenge to prove it with
/// [`prove_unlock`] (when the PIN went through the server), for a wallet not stored yet.
pub(crate) async fn unlock_unproved<K: FileKey>(
    path: &Path,
    file: &mut KeyFile,
    check: PinCheck<'_>,
) -> anyhow::Result<(K, Option<Challenge>)> {
    let pin = read_pin(&format!("PIN for {}: ", path.display()), false)?;
    let oprf_key = file.oprf_key();
    let (pin, evaluation) = match check {
        PinCheck::Server(server) if oprf_key.is_some() || file.is_offline_guessable() => {
            let evaluation = server.evaluate(&file.account, pin, oprf_key.as_deref()).await?;
            let Evaluation { pin, challenge, attempts_remaining } = evaluation;
            (pin, Some((challenge, attempts_remaining)))
        }
        PinCheck::Offline if oprf_key.is_some() => bail!(
            "the PIN of {} is checked by the server that sealed it: set {URL_ENV}, \
             {PUBLIC_KEY_ENV} and {SECRET_KEY_ENV}",
            path.display()
        ),
        _ => (pin, None),
    };
    let (key, upgraded) = file
        .open(&pin)
        .map_err(|cause| wrong_pin(path, &cause, evaluation.as_ref().map(|(_, left)| *left)))?;
    drop(pin);
    if let Some(upgraded) = upgraded {
        let was = if file.is_offline_guessable() { "lk1" } else { "weaker parameters" };
        file.encrypted_private_key = upgraded;
        file.replace(path)?;
        eprintln!(
            "{}: re-sealed ({was} → current lk2), its PIN is checked by the server",
            path.display()
        );
    }
    Ok((key, evaluation.map(|(challenge, _)| challenge)))
}

/// Proves an unlock to the server, which resets the wallet's attempt counter; a failure
/// is only a warning (the key did open).
pub(crate) async fn prove_unlock<K: FileKey>(
    server: PinServer<'_>,
    file: &KeyFile,
    key: &K,
    challenge: &Challenge,
) {
    let session_key = (file.kind() == KeyKind::Session).then_some(file.public_key.as_str());
    let confirmed = match key.proof(file, challenge, ProofPurpose::PinUnlock, &key.public_id()) {
        Ok(proof) => server.confirm(&file.account, proof, session_key).await,
        Err(error) => Err(error),
    };
    if let Err(error) = confirmed {
        eprintln!(
            "warning: the unlock was not confirmed to the server (its PIN attempt counter is \
             not reset): {error:#}"
        );
    }
}

/// A key that did not open, said the way a person at a terminal needs it.
fn wrong_pin(path: &Path, cause: &KeystoreError, attempts_remaining: Option<i64>) -> anyhow::Error {
    match cause {
        KeystoreError::WrongKey | KeystoreError::PublicKeyMismatch => match attempts_remaining {
            Some(left) => anyhow::anyhow!(
                "wrong PIN for {} ({left} attempt(s) left before its PIN unlock locks)",
                path.display()
            ),
            None => anyhow::anyhow!("wrong PIN, or the key file {} was altered", path.display()),
        },
        other => anyhow::anyhow!("cannot open {}: {other}", path.display()),
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

/// Now, as unix seconds (the server crates' clock; a clock before 1970 reads as 0).
pub(crate) fn now_unix() -> u64 {
    u64::try_from(latchkey_store::now_unix()).unwrap_or_default()
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

    /// The wire `proof` object of a Stark key's proof of possession for `account`.
    pub(crate) fn stark_proof(
        &self,
        key: &SigningKey,
        account: &Felt,
        purpose: ProofPurpose,
        payload: &Felt,
    ) -> anyhow::Result<Value> {
        let signature =
            sign_proof(key, &self.chain_id, account, purpose, &self.challenge, payload)?;
        Ok(self.proof(&signature))
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
pub(crate) fn wallet_body<K: FileKey>(
    file: &KeyFile,
    key: &K,
    challenge: &Challenge,
) -> anyhow::Result<Value> {
    let payload = payload_hash(file.encrypted_private_key.as_bytes());
    let mut body = json!({
        "ownerPublicKey": file.public_key,
        "encryptedPrivateKey": file.encrypted_private_key,
        "proof": file.prove_with(key, challenge, ProofPurpose::CreateWallet, &payload)?,
    });
    if let Some(chain) = &file.chain {
        body["chain"] = json!(chain);
    }
    Ok(body)
}

/// `latchkey key new owner FILE`: a new owner key sealed under a PIN. With a challenge
/// on standard input (the answer of `POST /api/challenges` for `create-wallet`), prints
/// the body of `POST /api/wallets` with the owner's proof of possession; without one,
/// just the public key and the sealed key.
pub(crate) async fn new_owner(path: &Path, check: PinCheck<'_>) -> anyhow::Result<()> {
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
    let created = create_owner_file(path, check).await?;
    match challenge {
        Some(challenge) => print_json(&wallet_body(&created.file, &created.key, &challenge)?),
        None => print_json(&json!({
            "ownerPublicKey": created.file.public_key,
            "encryptedPrivateKey": created.file.encrypted_private_key,
        })),
    }
}

/// A new owner key file, its key, and (when its PIN went through the server) the
/// `pin-unlock` challenge that proves it once the wallet is stored.
pub(crate) struct NewOwner {
    pub(crate) file: KeyFile,
    pub(crate) key: SigningKey,
    pub(crate) unlock_challenge: Option<Challenge>,
}

/// Writes a new owner key file at `path` (never overwritten), sealed under a PIN asked
/// twice; the wallet address follows from the key.
pub(crate) async fn create_owner_file(
    path: &Path,
    check: PinCheck<'_>,
) -> anyhow::Result<NewOwner> {
    ensure_absent(path)?;
    let key = generate_owner_key(&mut rand::rngs::OsRng);
    let class_hash = ACCOUNT.class_hash()?;
    let account = ChainClient::account_address(class_hash, key.public_key());
    let (pin, unlock_challenge) =
        new_pin("PIN for the new owner key: ", &to_hex(&account), check).await?;
    let binding = KeyBinding { kind: KeyKind::Owner, account, public_key: key.public_key() };
    let sealed = keystore::seal(&key, &pin, &binding, &mut rand::rngs::OsRng)?;
    drop(pin);
    let file = KeyFile {
        version: 1,
        kind: KeyKind::Owner.as_str().to_string(),
        account: to_hex(&account),
        public_key: public_key_hex(&key),
        chain: None,
        encrypted_private_key: sealed,
        valid_until: None,
        policy: None,
    };
    file.create(path)?;
    eprintln!("owner key sealed in {} (wallet {})", path.display(), file.account);
    Ok(NewOwner { file, key, unlock_challenge })
}

/// Asks twice for the PIN of a new key of the wallet at `account` and checks its
/// strength; through the server, has it evaluated (one counted attempt) so that the key
/// is sealed as `lk2`, and returns the evaluation's `pin-unlock` challenge too. Offline
/// the key will be sealed as `lk1`, whose PIN can be tested offline.
pub(crate) async fn new_pin(
    prompt: &str,
    account: &str,
    check: PinCheck<'_>,
) -> anyhow::Result<(EncryptKey, Option<Challenge>)> {
    let pin = read_pin(prompt, true)?;
    if let Err(reason) = check_pin_strength_of(&pin) {
        bail!("weak PIN: {reason}");
    }
    match check {
        PinCheck::Server(server) => {
            let evaluation = server.evaluate(account, pin, None).await?;
            Ok((evaluation.pin, Some(evaluation.challenge)))
        }
        PinCheck::Offline => {
            eprintln!(
                "warning: sealed offline (lk1): anyone with this file can test PINs against it \
                 offline; unlock it once through the server to re-seal it as lk2"
            );
            Ok((pin, None))
        }
    }
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
        let seconds = self.check_terms(now)?;
        let methods = self
            .allow
            .iter()
            .map(|spec| MethodSpec::parse(spec))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if methods.iter().any(|m| m.contract == account) {
            bail!("a session can never call its own wallet");
        }
        Ok((account, methods, seconds))
    }

    /// Checks what every family shares (something allowed, calls, a lifetime after the
    /// start); returns the key's lifetime in seconds.
    pub(crate) fn check_terms(&self, now: u64) -> anyhow::Result<u64> {
        if self.allow.is_empty() && !self.allow_all {
            bail!("name what the session may call (--allow CONTRACT:ENTRYPOINT, repeatable) or pass --allow-all");
        }
        if !self.allow.is_empty() && self.allow_all {
            bail!("--allow and --allow-all exclude each other");
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
        Ok(seconds)
    }
}

/// `latchkey key new session FILE --account …`: a new session key sealed under a PIN;
/// prints the body of `POST /api/wallets/{address}/sessions`.
pub(crate) async fn new_session(
    path: &Path,
    request: &SessionRequest<'_>,
    check: PinCheck<'_>,
) -> anyhow::Result<()> {
    let file = create_session_file(path, request, check).await?;
    print_json(&file.registration_body()?)
}

/// Writes a new session key file at `path` (never overwritten), sealed under a PIN asked
/// twice, with the terms it is to be registered with. Nothing but the PIN evaluation is
/// sent anywhere.
pub(crate) async fn create_session_file(
    path: &Path,
    request: &SessionRequest<'_>,
    check: PinCheck<'_>,
) -> anyhow::Result<KeyFile> {
    ensure_absent(path)?;
    let now = now_unix();
    let (account, methods, seconds) = request.check(now)?;
    let (pin, _) = new_pin("PIN for the new session key: ", &to_hex(&account), check).await?;
    let data = create_session_key(&pin, &account, seconds, now, &mut rand::rngs::OsRng)?;
    drop(pin);
    let file = KeyFile {
        version: 1,
        kind: KeyKind::Session.as_str().to_string(),
        account: to_hex(&account),
        public_key: data.public_key.clone(),
        chain: None,
        encrypted_private_key: data.encrypted_private_key.clone(),
        valid_until: Some(data.valid_until),
        policy: Some(SessionTerms {
            valid_after: request.valid_after,
            max_calls: request.max_calls,
            allow_all: request.allow_all,
            allowed_methods: methods,
            evm_methods: Vec::new(),
        }),
    };
    file.create(path)?;
    eprintln!("session key sealed in {} (valid until {})", path.display(), data.valid_until);
    Ok(file)
}

pub(crate) fn ensure_absent(path: &Path) -> anyhow::Result<()> {
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
        "envelope": file.envelope(),
    });
    match field {
        None => print_json(&public),
        Some(name) => match public.get(name) {
            Some(Value::String(text)) => {
                println!("{text}");
                Ok(())
            }
            Some(Value::Null) | None => {
                bail!(
                    "no field {name:?}; fields: kind, account, publicKey, validUntil, format, \
                     envelope"
                )
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
pub(crate) async fn sign(path: &Path, check: PinCheck<'_>) -> anyhow::Result<()> {
    let mut file = KeyFile::read(path)?;
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
    let key = unlock(path, &mut file, check).await?;
    let signature = file.sign_with(&key, &typed_data, now_unix())?;
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
            chain: None,
            encrypted_private_key: "lk1$x".into(),
            valid_until: Some(2_000_000_000),
            policy: Some(SessionTerms {
                valid_after: 0,
                max_calls: 5,
                allow_all: false,
                allowed_methods: vec![MethodSpec::parse("0x12:make_move").unwrap()],
                evm_methods: vec![],
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
            chain: None,
            encrypted_private_key: "lk1$secret-material".into(),
            valid_until: None,
            policy: None,
        };
        assert!(!format!("{file:?}").contains("secret-material"));
    }
}
