//! EVM wallets and sessions on the command line: `wallet create --chain eip155:…`, and
//! `session create|register|exec|revoke|revoke-all` on EVM key files.
//!
//! The key files are the same as on Starknet, with `chain` set and secp256k1 keys sealed
//! as `owner-secp256k1` / `session-secp256k1` envelopes (`lk2` through the server). The
//! API prepares a userOp; before signing, the CLI reads it back, recomputes its hash
//! (ERC-4337 v0.8) and checks that it is for this wallet and chain and makes exactly the
//! calls (or the account change) asked for. Owners sign EIP-191 over the hash (kind 1),
//! session keys likewise (kind 3).
//!
//! Calls are `--call TO:SIGNATURE[:ARG,ARG…]` (a Solidity signature such as
//! `makeMove(uint256)`, arguments of static types: `uintN`, `address`, `bool`,
//! `bytes32`), or `--call TO:0xCALLDATA`; allowed methods are `--allow TO:SIGNATURE`
//! (`0x0` for any contract).

use anyhow::{bail, Context};
use latchkey_core::keystore::{self, KeyBinding};
use latchkey_core::{AccountChange, KeyKind, Permission, SessionGrant};
use latchkey_evm::calls::{calls_of_call_data, decode_change};
use latchkey_evm::{address_text, parse_address, EvmCall, Payload};
use latchkey_evm_contracts::primitives::{keccak256, Bytes};
use latchkey_evm_contracts::{
    account_address, address_felt, Address, EvmSigningKey, SignatureKind, U256,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::flow::{follow_execution, Transaction};
use super::{Ctx, NamedKey};
use crate::client::{decode, segment, Client, ServerUnavailable};
use crate::keyfile::{
    self, ensure_absent, new_pin, now_unix, unlock, Challenge, KeyFile, PinCheck, SessionTerms,
};
use crate::pin::PinServer;

/// The served EVM chain a wallet is created on, from `GET /api/config`.
#[derive(Debug, Clone)]
pub(super) struct EvmChain {
    /// CAIP-2 id (`eip155:31337`).
    pub(super) id: String,
    factory: Address,
    implementation: Address,
}

impl EvmChain {
    /// The served chain `requested` (a CAIP-2 id, or `evm` for the one EVM chain served),
    /// or `None` when it is a Starknet chain.
    pub(super) async fn find(client: &Client, requested: &str) -> anyhow::Result<Option<Self>> {
        let config = client.get("/api/config").await?;
        let chains = config.get("chains").and_then(Value::as_array).cloned().unwrap_or_default();
        let chain = chains.iter().find(|c| {
            let id = c.get("id").and_then(Value::as_str).unwrap_or_default();
            let family = c.get("family").and_then(Value::as_str).unwrap_or_default();
            id == requested || family == requested
        });
        let Some(chain) = chain else {
            let served: Vec<&str> =
                chains.iter().filter_map(|c| c.get("id").and_then(Value::as_str)).collect();
            bail!("--chain {requested}: the server serves {}", served.join(", "));
        };
        if chain.get("family").and_then(Value::as_str) != Some("evm") {
            return Ok(None);
        }
        let text = |value: Option<&Value>, what: &str| -> anyhow::Result<Address> {
            let text = value.and_then(Value::as_str).with_context(|| format!("no {what}"))?;
            parse_address(text).map_err(|r| anyhow::anyhow!("{what}: {}", r.message))
        };
        let id = chain.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        if id.strip_prefix("eip155:").is_none_or(|n| n.parse::<u64>().is_err()) {
            bail!("the server's EVM chain id {id:?} is not eip155:N");
        }
        Ok(Some(Self {
            id,
            factory: text(chain.pointer("/contracts/factory"), "the chain's factory")?,
            implementation: text(chain.get("accountClass"), "the chain's account class")?,
        }))
    }
}

/// A new EVM owner key file at `path`, its key, the `pin-unlock` challenge of its PIN
/// evaluation, and the body of `POST /api/wallets` proving the key for `challenge`.
pub(super) async fn new_owner(
    path: &std::path::Path,
    chain: &EvmChain,
    challenge: &Challenge,
    pins: PinServer<'_>,
) -> anyhow::Result<(KeyFile, EvmSigningKey, Option<Challenge>, Value)> {
    ensure_absent(path)?;
    let key = EvmSigningKey::generate(&mut rand::rngs::OsRng);
    let account = account_address(chain.factory, chain.implementation, key.address(), U256::ZERO);
    let account_text = address_text(account);
    let (pin, unlock_challenge) =
        new_pin("PIN for the new owner key: ", &account_text, PinCheck::Server(pins)).await?;
    let binding = KeyBinding {
        kind: KeyKind::Owner,
        account: address_felt(account),
        public_key: key.address_felt(),
    };
    let sealed = keystore::seal(&key, &pin, &binding, &mut rand::rngs::OsRng)?;
    drop(pin);
    let file = KeyFile {
        version: 1,
        kind: KeyKind::Owner.as_str().to_string(),
        account: account_text,
        public_key: address_text(key.address()),
        chain: Some(chain.id.clone()),
        encrypted_private_key: sealed,
        valid_until: None,
        policy: None,
    };
    file.create(path)?;
    eprintln!("owner key sealed in {} (wallet {})", path.display(), file.account);
    let body = keyfile::wallet_body(&file, &key, challenge)?;
    Ok((file, key, unlock_challenge, body))
}

/// A method an EVM session may call: a contract (`0x0`: any) and a Solidity signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EvmMethod {
    /// The contract (EIP-55 text), or `0x0` for any contract.
    pub(crate) contract: String,
    /// The Solidity signature, `name(type,…)`.
    pub(crate) entrypoint: String,
}

impl EvmMethod {
    /// Parses `--allow CONTRACT:SIGNATURE`.
    pub(crate) fn parse(spec: &str) -> anyhow::Result<Self> {
        let (contract, signature) = spec
            .split_once(':')
            .with_context(|| format!("--allow {spec:?}: expected CONTRACT:SIGNATURE"))?;
        let contract = match contract {
            "0x0" | "0" => Address::ZERO,
            text => parse_address(text)
                .map_err(|r| anyhow::anyhow!("--allow {spec:?}: bad contract: {}", r.message))?,
        };
        check_signature(signature).with_context(|| format!("--allow {spec:?}"))?;
        let contract =
            if contract == Address::ZERO { "0x0".to_string() } else { address_text(contract) };
        Ok(Self { contract, entrypoint: signature.to_string() })
    }

    pub(super) fn permission(&self) -> anyhow::Result<Permission> {
        let target = match self.contract.as_str() {
            "0x0" => None,
            text => Some(address_text(
                parse_address(text).map_err(|r| anyhow::anyhow!("{}", r.message))?,
            )),
        };
        Ok(Permission { target, selector: selector_text(&self.entrypoint) })
    }
}

/// A Solidity signature's selector as the API writes it (`0x` and 8 hex digits).
pub(crate) fn selector_text(signature: &str) -> String {
    format!("0x{}", hex::encode(&keccak256(signature.as_bytes())[..4]))
}

/// `name(type,type…)`: a name of letters, digits, `_` and `$`, and a type list.
fn check_signature(signature: &str) -> anyhow::Result<()> {
    let valid = signature.len() <= 256
        && signature.ends_with(')')
        && signature.split_once('(').is_some_and(|(name, args)| {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && args[..args.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, ',' | '[' | ']' | '(' | ')'))
        });
    if !valid {
        bail!("bad method {signature:?}: a Solidity signature such as transfer(address,uint256)");
    }
    Ok(())
}

/// What a new EVM session key is for.
pub(super) struct NewSession<'a> {
    pub(super) chain: String,
    pub(super) account: Address,
    pub(super) seconds: u64,
    pub(super) valid_after: u64,
    pub(super) max_calls: u32,
    pub(super) allow: &'a [String],
    pub(super) allow_all: bool,
}

/// Writes a new EVM session key file: a secp256k1 key sealed under a PIN (through the
/// server), with the terms it is to be registered with.
pub(super) async fn new_session_file(
    path: &std::path::Path,
    request: &NewSession<'_>,
    pins: PinServer<'_>,
) -> anyhow::Result<KeyFile> {
    ensure_absent(path)?;
    let methods = request
        .allow
        .iter()
        .map(|spec| EvmMethod::parse(spec))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let account_text = address_text(request.account);
    if methods.iter().any(|m| m.contract == account_text) {
        bail!("a session can never call its own wallet");
    }
    let now = now_unix();
    let valid_until = now.saturating_add(request.seconds);
    let (pin, _) =
        new_pin("PIN for the new session key: ", &account_text, PinCheck::Server(pins)).await?;
    let key = EvmSigningKey::generate(&mut rand::rngs::OsRng);
    let binding = KeyBinding {
        kind: KeyKind::Session,
        account: address_felt(request.account),
        public_key: key.address_felt(),
    };
    let sealed = keystore::seal(&key, &pin, &binding, &mut rand::rngs::OsRng)?;
    drop(pin);
    let file = KeyFile {
        version: 1,
        kind: KeyKind::Session.as_str().to_string(),
        account: account_text,
        public_key: address_text(key.address()),
        chain: Some(request.chain.clone()),
        encrypted_private_key: sealed,
        valid_until: Some(valid_until),
        policy: Some(SessionTerms {
            valid_after: request.valid_after,
            max_calls: request.max_calls,
            allow_all: request.allow_all,
            allowed_methods: Vec::new(),
            evm_methods: methods,
        }),
    };
    file.create(path)?;
    eprintln!("session key sealed in {} (valid until {valid_until})", path.display());
    Ok(file)
}

/// What the owner is asked to sign for a registration: the grant of the key file.
pub(super) fn registration_grant(file: &KeyFile) -> anyhow::Result<SessionGrant> {
    let terms = file.terms()?;
    Ok(SessionGrant {
        session_key: file.public_key.clone(),
        rules: latchkey_core::SessionRules {
            valid_after: terms.valid_after,
            valid_until: file.valid_until.context("session key file without validUntil")?,
            max_calls: terms.max_calls,
            permissions: terms
                .evm_methods
                .iter()
                .map(EvmMethod::permission)
                .collect::<anyhow::Result<Vec<_>>>()?,
        },
    })
}

/// One call of an EVM execution, from `--call`.
pub(super) fn parse_call(spec: &str) -> anyhow::Result<(EvmCall, String)> {
    let mut parts = spec.splitn(3, ':');
    let (Some(to), Some(method)) = (parts.next(), parts.next()) else {
        bail!("--call {spec:?}: expected CONTRACT:SIGNATURE[:ARGS] or CONTRACT:0xCALLDATA");
    };
    let to = parse_address(to)
        .map_err(|r| anyhow::anyhow!("--call {spec:?}: bad contract: {}", r.message))?;
    if let Some(hex_data) = method.strip_prefix("0x") {
        if parts.next().is_some() {
            bail!("--call {spec:?}: raw calldata takes no arguments");
        }
        let data = hex::decode(hex_data)
            .map_err(|_| anyhow::anyhow!("--call {spec:?}: the calldata is not hex"))?;
        return Ok((EvmCall::new(to, data), format!("call on {}", address_text(to))));
    }
    check_signature(method).with_context(|| format!("--call {spec:?}"))?;
    let types: Vec<&str> = match &method[method.find('(').unwrap_or(0) + 1..method.len() - 1] {
        "" => Vec::new(),
        list => list.split(',').collect(),
    };
    let args: Vec<&str> = match parts.next() {
        None | Some("") => Vec::new(),
        Some(list) => list.split(',').collect(),
    };
    if args.len() != types.len() {
        bail!("--call {spec:?}: {} argument(s) for {} parameter(s)", args.len(), types.len());
    }
    let mut data = keccak256(method.as_bytes())[..4].to_vec();
    for (i, (kind, arg)) in types.iter().zip(&args).enumerate() {
        let word = encode_word(kind, arg)
            .with_context(|| format!("--call {spec:?}: argument {}", i + 1))?;
        data.extend_from_slice(&word);
    }
    let name = method.split('(').next().unwrap_or_default().to_string();
    Ok((EvmCall::new(to, data), name))
}

/// One static ABI argument as its 32-byte word.
fn encode_word(kind: &str, arg: &str) -> anyhow::Result<[u8; 32]> {
    let arg = arg.trim();
    match kind {
        "address" => {
            let address = parse_address(arg).map_err(|r| anyhow::anyhow!("{}", r.message))?;
            let mut word = [0u8; 32];
            word[12..].copy_from_slice(address.as_slice());
            Ok(word)
        }
        "bool" => match arg {
            "true" | "1" => Ok(U256::from(1).to_be_bytes()),
            "false" | "0" => Ok([0u8; 32]),
            _ => bail!("{arg:?} is not a bool (true or false)"),
        },
        "bytes32" => {
            let bytes = arg
                .strip_prefix("0x")
                .and_then(|h| hex::decode(h).ok())
                .filter(|b| b.len() == 32)
                .with_context(|| format!("{arg:?} is not 32 bytes of 0x-hex"))?;
            let mut word = [0u8; 32];
            word.copy_from_slice(&bytes);
            Ok(word)
        }
        uint if uint.starts_with("uint") => {
            let bits: usize = match &uint[4..] {
                "" => 256,
                n => n
                    .parse()
                    .ok()
                    .filter(|b| b % 8 == 0 && (8..=256).contains(b))
                    .with_context(|| format!("{kind} is not a Solidity type"))?,
            };
            let value: U256 =
                arg.parse().map_err(|_| anyhow::anyhow!("{arg:?} is not a number"))?;
            if bits < 256 && value >> bits != U256::ZERO {
                bail!("{arg} does not fit in {kind}");
            }
            Ok(value.to_be_bytes())
        }
        other => bail!(
            "{other} arguments are not encoded here (uintN, address, bool, bytes32 are); \
             pass the whole calldata as CONTRACT:0xCALLDATA"
        ),
    }
}

/// What a prepared userOp must do: these calls, or this change of the account.
pub(super) enum Expected {
    Calls(Vec<EvmCall>),
    Change(AccountChange),
}

/// The prepared userOp, as `prepare`, `sessions`, `revoke` and `revoke-all` answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Prepared {
    payload: Value,
    user_op_hash: String,
}

/// Reads a prepared userOp back and checks it: for `wallet` on the key file's chain,
/// its hash is the one the server gave, and it does exactly `expected`. Returns the
/// payload and its hash.
fn check_prepared(
    prepared: &Value,
    chain_id: u64,
    wallet: Address,
    expected: &Expected,
) -> anyhow::Result<(Value, latchkey_evm_contracts::B256)> {
    let prepared: Prepared = decode(prepared, "prepared userOp")?;
    let refuse = |what: String| -> anyhow::Error {
        ServerUnavailable::new(format!("the server prepared {what}; nothing was signed")).into()
    };
    let payload = Payload::from_json(&prepared.payload)
        .map_err(|r| refuse(format!("something that is not a userOp ({})", r.message)))?;
    let hash = payload.hash();
    if format!("{hash}") != prepared.user_op_hash.to_ascii_lowercase() {
        return Err(refuse("a userOp whose hash is not the one it gave".into()));
    }
    if payload.chain_id != chain_id {
        return Err(refuse(format!("a userOp for chain {}", payload.chain_id)));
    }
    let op = &payload.user_operation;
    if op.sender != wallet {
        return Err(refuse(format!("a userOp of another account ({})", address_text(op.sender))));
    }
    let calls = calls_of_call_data(wallet, &op.call_data)
        .map_err(|r| refuse(format!("a userOp whose calls do not decode ({})", r.message)))?;
    let matches = match expected {
        Expected::Calls(asked) => &calls == asked,
        Expected::Change(AccountChange::RegisterSession(asked)) => match calls.as_slice() {
            [call] if call.to == wallet => match decode_change(&call.data) {
                AccountChange::RegisterSession(grant) => {
                    let mut asked = asked.clone();
                    // "At registration": the server writes the start it chose.
                    if asked.rules.valid_after == 0 {
                        asked.rules.valid_after = grant.rules.valid_after;
                    }
                    grant == asked
                }
                _ => false,
            },
            _ => false,
        },
        Expected::Change(change) => match calls.as_slice() {
            [call] if call.to == wallet => &decode_change(&call.data) == change,
            _ => false,
        },
    };
    if !matches {
        return Err(refuse(format!("{} call(s) other than the ones asked for", calls.len())));
    }
    Ok((prepared.payload, hash))
}

/// Checks, signs (with the key file at `key`, after its PIN) and submits a prepared
/// userOp for `wallet`, then follows it to a final state.
pub(super) async fn sign_and_execute(
    ctx: &Ctx,
    client: &Client,
    prepared: &Value,
    key: &NamedKey,
    expected: &Expected,
    task: String,
) -> anyhow::Result<(Value, Transaction)> {
    let wallet = wallet_of(key)?;
    let chain_id = key.file.evm_chain_id()?;
    let kind = match key.file.kind() {
        KeyKind::Owner => SignatureKind::OwnerEip191,
        KeyKind::Session => {
            let valid_until =
                key.file.valid_until.context("session key file without validUntil")?;
            if !latchkey_core::is_live_at(0, valid_until, now_unix()) {
                return Err(latchkey_core::SessionError::Expired { valid_until }.into());
            }
            SignatureKind::SessionEip191
        }
    };
    // Checked before the PIN is asked for.
    check_prepared(prepared, chain_id, wallet, expected)?;
    let mut file = key.file.clone();
    let unlocked: EvmSigningKey =
        unlock(&key.path, &mut file, PinCheck::Server(PinServer::new(client))).await?;
    let signer = Signer { wallet, chain_id, key: &unlocked, kind };
    sign_with_and_execute(ctx, client, prepared, &signer, expected, task).await
}

/// A key held in memory, signing for `wallet` on `chain_id` as `kind`.
pub(super) struct Signer<'a> {
    pub(super) wallet: Address,
    pub(super) chain_id: u64,
    pub(super) key: &'a EvmSigningKey,
    pub(super) kind: SignatureKind,
}

/// Checks a prepared userOp, signs it with a key held in memory, submits it and follows
/// it to a final state.
pub(super) async fn sign_with_and_execute(
    ctx: &Ctx,
    client: &Client,
    prepared: &Value,
    signer: &Signer<'_>,
    expected: &Expected,
    task: String,
) -> anyhow::Result<(Value, Transaction)> {
    let (payload, hash) = check_prepared(prepared, signer.chain_id, signer.wallet, expected)?;
    let signature = signer.key.sign_user_op(signer.kind, hash)?;
    let body = json!({
        "payload": payload,
        "signature": [format!("0x{}", hex::encode(signature.to_bytes()))],
    });
    let path = format!("/api/wallets/{}/execute", segment(&address_text(signer.wallet)));
    follow_execution(ctx, client, &path, &body, task).await
}

/// The body of `POST /api/wallets/{address}/prepare` for session calls.
pub(super) fn prepare_body(calls: &[EvmCall], session_key: &str) -> Value {
    json!({
        "calls": calls
            .iter()
            .map(|c| json!({"to": address_text(c.to), "data": Bytes::from(c.data.to_vec()), "value": format!("{:#x}", c.value)}))
            .collect::<Vec<_>>(),
        "sessionKey": session_key,
    })
}

/// The wallet of an address written as an EVM address (`0x` and 40 hex digits), by
/// asking the server which chain it is on; `None` for anything else.
pub(super) async fn wallet_chain(client: &Client, address: &str) -> anyhow::Result<Option<String>> {
    if !is_evm_address(address) {
        return Ok(None);
    }
    let wallet = client.get(&format!("/api/wallets/{}", segment(address))).await?;
    Ok(wallet
        .get("chain")
        .and_then(Value::as_str)
        .filter(|c| c.starts_with("eip155:"))
        .map(str::to_string))
}

/// Whether `text` is written as an EVM address: `0x` and 40 hex digits.
pub(super) fn is_evm_address(text: &str) -> bool {
    text.len() == 42 && text.starts_with("0x") && text[2..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A key file's wallet as an EVM address.
pub(super) fn wallet_of(key: &NamedKey) -> anyhow::Result<Address> {
    parse_address(&key.file.account)
        .map_err(|r| anyhow::anyhow!("{}: account: {}", key.path.display(), r.message))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const GAME: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    #[test]
    fn calls_encode_static_arguments() {
        let (call, name) = parse_call(&format!("{GAME}:makeMove(uint256):7")).unwrap();
        assert_eq!(name, "makeMove");
        assert_eq!(&call.data[..4], &keccak256(b"makeMove(uint256)")[..4]);
        assert_eq!(call.data.len(), 36);
        assert_eq!(call.data[35], 7);
        let (call, _) =
            parse_call(&format!("{GAME}:transfer(address,uint128):{GAME},1000")).unwrap();
        assert_eq!(call.data.len(), 68);
        assert_eq!(&call.data[16..36], parse_address(GAME).unwrap().as_slice());
        let (raw, _) = parse_call(&format!("{GAME}:0xdeadbeef")).unwrap();
        assert_eq!(raw.data.as_ref(), &[0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn bad_calls_say_what_is_wrong() {
        for (spec, said) in [
            (format!("{GAME}:makeMove(uint256)"), "0 argument(s) for 1"),
            (format!("{GAME}:makeMove(uint8):256"), "does not fit in uint8"),
            (format!("{GAME}:makeMove(string):x"), "string arguments are not encoded"),
            (format!("{GAME}:make Move()"), "bad method"),
            ("0x12:makeMove()".to_string(), "bad contract"),
            (format!("{GAME}:0xzz"), "not hex"),
            (format!("{GAME}:f(bool):maybe"), "not a bool"),
        ] {
            let error = format!("{:#}", parse_call(&spec).unwrap_err());
            assert!(error.contains(said), "{spec}: {error}");
        }
    }

    const WALLET: &str = "0x7a16fF8270133F063aAb6C9977183D9e72835428";

    fn file() -> KeyFile {
        KeyFile {
            version: 1,
            kind: "session".into(),
            account: WALLET.into(),
            public_key: "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23".into(),
            chain: Some("eip155:31337".into()),
            encrypted_private_key: "lk2$…".into(),
            valid_until: Some(2_000_000_000),
            policy: None,
        }
    }

    /// A prepared userOp of `sender` on `chain` whose callData is `call_data`, with the
    /// hash the server gives (`hash`, or the right one).
    fn prepared(sender: &str, chain: u64, call_data: &Bytes, hash: Option<&str>) -> Value {
        let payload = json!({
            "chainId": chain,
            "entryPoint": latchkey_evm_contracts::ENTRY_POINT_V08,
            "userOperation": {
                "sender": sender, "nonce": "0x5", "factory": null, "factoryData": "0x",
                "callData": call_data, "callGasLimit": "0x1", "verificationGasLimit": "0x1",
                "preVerificationGas": "0x1", "maxFeePerGas": "0x1", "maxPriorityFeePerGas": "0x1",
                "paymaster": null, "paymasterVerificationGasLimit": "0x0",
                "paymasterPostOpGasLimit": "0x0", "paymasterData": "0x", "signature": "0x",
            },
        });
        let right = Payload::from_json(&payload).unwrap().hash();
        json!({"payload": payload, "userOpHash": hash.map_or(format!("{right}"), str::to_string)})
    }

    #[test]
    fn only_the_userop_asked_for_is_signed() {
        let wallet = parse_address(WALLET).unwrap();
        let (asked, _) = parse_call(&format!("{GAME}:makeMove(uint256):7")).unwrap();
        let (other, _) = parse_call(&format!("{GAME}:makeMove(uint256):8")).unwrap();
        let data = |call: &EvmCall| {
            latchkey_evm_contracts::execute_user_op(vec![latchkey_evm_contracts::abi::Call {
                target: call.to,
                value: call.value,
                data: call.data.clone(),
            }])
        };
        let expected = Expected::Calls(vec![asked.clone()]);
        let good = prepared(WALLET, 31337, &data(&asked), None);
        let (_, hash) = check_prepared(&good, 31337, wallet, &expected).unwrap();
        assert_eq!(format!("{hash}"), good["userOpHash"].as_str().unwrap());

        let zero = format!("0x{}", "0".repeat(64));
        for (prepared, said) in [
            (prepared(WALLET, 31337, &data(&other), None), "other than the ones asked for"),
            (prepared(WALLET, 31337, &data(&asked), Some(&zero)), "hash is not the one"),
            (prepared(WALLET, 1, &data(&asked), None), "for chain 1"),
            (prepared(GAME, 31337, &data(&asked), None), "another account"),
            (json!({"payload": {"chainId": 1}, "userOpHash": zero}), "not a userOp"),
        ] {
            let error = check_prepared(&prepared, 31337, wallet, &expected).unwrap_err();
            assert!(error.is::<ServerUnavailable>(), "{error}");
            assert!(error.to_string().contains(said), "{said}: {error}");
        }
        // An owner change: exactly the revocation asked for.
        let session = parse_address(&file().public_key).unwrap();
        let revoke = latchkey_evm_contracts::revoke_session(session);
        let change = Expected::Change(AccountChange::RevokeSession(address_text(session)));
        assert!(
            check_prepared(&prepared(WALLET, 31337, &revoke, None), 31337, wallet, &change).is_ok()
        );
        let all = latchkey_evm_contracts::revoke_all_sessions();
        assert!(
            check_prepared(&prepared(WALLET, 31337, &all, None), 31337, wallet, &change).is_err()
        );
    }

    #[test]
    fn allowed_methods_name_a_contract_or_any() {
        let method = EvmMethod::parse(&format!("{GAME}:makeMove(uint256)")).unwrap();
        let permission = method.permission().unwrap();
        assert_eq!(permission.target.as_deref(), Some(GAME));
        assert_eq!(permission.selector, selector_text("makeMove(uint256)"));
        let any = EvmMethod::parse("0x0:transfer(address,uint256)").unwrap();
        assert_eq!(any.permission().unwrap().target, None);
        assert_eq!(selector_text("transfer(address,uint256)"), "0xa9059cbb");
        assert!(EvmMethod::parse("0x0:transfer").is_err());
    }
}
