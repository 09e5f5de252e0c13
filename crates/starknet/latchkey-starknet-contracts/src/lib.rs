//! latchkey's compiled Cairo contracts (the Sierra and CASM JSON committed under
//! `contracts/build/`), their class hashes, typed builders for the calls that change a
//! session, and parsers for the account's views.

use std::sync::OnceLock;

use latchkey_core::{
    felt_to_u32, felt_to_u64, selector, AllowedMethod, Call, Felt, SessionPolicy, SpendingPolicy,
    U256,
};
use starknet_rust_core::types::contract::{CompiledClass, SierraClass};
use starknet_rust_core::types::FlattenedSierraClass;

/// Errors reading an artifact or a view result.
#[derive(Debug, thiserror::Error)]
pub enum ContractsError {
    /// An artifact's JSON does not parse.
    #[error("artifact {name}: {message}")]
    Artifact {
        /// The contract name.
        name: &'static str,
        /// What failed.
        message: String,
    },
    /// A view returned data that is not the expected layout.
    #[error("unexpected result of {view}: {message}")]
    BadResult {
        /// The view.
        view: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Calldata that is not the layout its entrypoint takes.
    #[error("malformed {0}")]
    Malformed(String),
}

impl From<latchkey_core::FeltError> for ContractsError {
    fn from(error: latchkey_core::FeltError) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// One compiled contract.
#[derive(Debug)]
pub struct Artifact {
    /// The contract's module name.
    pub name: &'static str,
    sierra: &'static str,
    casm: &'static str,
    hashes: OnceLock<Result<(Felt, Felt), String>>,
}

impl Artifact {
    const fn new(name: &'static str, sierra: &'static str, casm: &'static str) -> Self {
        Self { name, sierra, casm, hashes: OnceLock::new() }
    }

    /// The Sierra contract class JSON.
    pub fn sierra_json(&self) -> &'static str {
        self.sierra
    }

    /// The CASM compiled class JSON.
    pub fn casm_json(&self) -> &'static str {
        self.casm
    }

    fn error(&self, message: impl std::fmt::Display) -> ContractsError {
        ContractsError::Artifact { name: self.name, message: message.to_string() }
    }

    /// The flattened Sierra class, as a declare transaction carries it.
    pub fn flattened_class(&self) -> Result<FlattenedSierraClass, ContractsError> {
        let class: SierraClass = serde_json::from_str(self.sierra).map_err(|e| self.error(e))?;
        class.flatten().map_err(|e| self.error(e))
    }

    fn hashes(&self) -> Result<(Felt, Felt), ContractsError> {
        self.hashes
            .get_or_init(|| {
                let class_hash = self.flattened_class().map_err(|e| e.to_string())?.class_hash();
                let casm: CompiledClass =
                    serde_json::from_str(self.casm).map_err(|e| e.to_string())?;
                let compiled = casm.class_hash().map_err(|e| e.to_string())?;
                Ok((class_hash, compiled))
            })
            .clone()
            .map_err(|e| self.error(e))
    }

    /// The class hash (Poseidon over the Sierra class).
    pub fn class_hash(&self) -> Result<Felt, ContractsError> {
        Ok(self.hashes()?.0)
    }

    /// The compiled class hash a declare must state (Blake2s over the CASM, Starknet
    /// 0.14.1 and later).
    pub fn compiled_class_hash(&self) -> Result<Felt, ContractsError> {
        Ok(self.hashes()?.1)
    }
}

macro_rules! artifact {
    ($name:literal) => {
        Artifact::new(
            $name,
            include_str!(concat!("../../../../contracts/build/", $name, ".contract_class.json")),
            include_str!(concat!(
                "../../../../contracts/build/",
                $name,
                ".compiled_contract_class.json"
            )),
        )
    };
}

/// The latchkey session-key account.
pub static ACCOUNT: Artifact = artifact!("LatchkeyAccount");
/// The demo game.
pub static GAME: Artifact = artifact!("Game");
/// A call forwarder used by the test suite.
pub static CALL_FORWARDER: Artifact = artifact!("CallForwarder");

/// Every artifact.
pub fn all_artifacts() -> [&'static Artifact; 3] {
    [&ACCOUNT, &GAME, &CALL_FORWARDER]
}

/// The build manifest written next to the artifacts.
pub const MANIFEST_JSON: &str = include_str!("../../../../contracts/build/manifest.json");

/// SRC-5 interface ids the account reports.
pub mod interface_ids {
    use latchkey_core::Felt;

    /// SRC-5 itself.
    pub const SRC5: Felt = Felt::from_hex_unchecked(
        "0x3f918d17e5ee77373b56385708f855659a07f75997f365cf87748628532a055",
    );
    /// SRC-6 accounts.
    pub const SRC6: Felt = Felt::from_hex_unchecked(
        "0x2ceccef7f994940b3962a6c67e0ba4fcd37df7d131417c604f91e03caecc1cd",
    );
    /// SNIP-9 v2 outside execution.
    pub const SRC9_V2: Felt =
        Felt::from_hex_unchecked("0x1d1144bb2138366ff28d8e9ab57456b1d332ac42196230c3a602003c89872");
    /// The Chipi-compatible session key manager.
    pub const SESSION_KEY_MANAGER: Felt = Felt::from_hex_unchecked(
        "0x37ab4f01106526662a612eaa2926df2aa314c4144b964f183805880bbcfa55d",
    );
    /// latchkey's session extensions.
    pub const LATCHKEY_SESSIONS: Felt = Felt::from_hex_unchecked(
        "0x4b64e160281ff35ee7c081fd17722e26e6a102db0beb486c328753c37446ca",
    );
}

/// Builders for calls to the account itself (owner-signed: the account only accepts them
/// from itself).
pub mod account_calls {
    use super::*;

    /// Chipi's `add_or_update_session_key(key, valid_until, max_calls, entrypoints)`, with
    /// the calldata `@chipi-stack/backend` builds.
    pub fn add_or_update_session_key(
        account: Felt,
        session_key: Felt,
        valid_until: u64,
        max_calls: u32,
        entrypoints: &[Felt],
    ) -> Call {
        let mut calldata = vec![
            session_key,
            Felt::from(valid_until),
            Felt::from(max_calls),
            Felt::from(entrypoints.len() as u64),
        ];
        calldata.extend_from_slice(entrypoints);
        Call::new(account, "add_or_update_session_key", calldata)
    }

    /// latchkey's `register_session` with `valid_after` and (contract, selector) pairs.
    pub fn register_session(account: Felt, policy: &SessionPolicy) -> Call {
        let mut calldata = vec![
            policy.session_key,
            Felt::from(policy.valid_after),
            Felt::from(policy.valid_until),
            Felt::from(policy.max_calls),
            Felt::from(policy.allowed_methods.len() as u64),
        ];
        for method in &policy.allowed_methods {
            calldata.push(method.contract);
            calldata.push(method.selector);
        }
        Call::new(account, "register_session", calldata)
    }

    /// The session a call to `account` registers, if it is a `register_session` or an
    /// `add_or_update_session_key` call to it: `Some(Err(_))` when its calldata is
    /// malformed (the contract would refuse it), `None` for any other call. The Chipi form
    /// allows each selector on any contract.
    pub fn decode_registration(
        account: Felt,
        call: &Call,
    ) -> Option<Result<SessionPolicy, ContractsError>> {
        if call.to != account {
            return None;
        }
        let data = &call.calldata;
        let malformed = || ContractsError::Malformed("session registration calldata".into());
        let word = |i: usize| data.get(i).copied().ok_or_else(malformed);
        let decode = |chipi: bool| -> Result<SessionPolicy, ContractsError> {
            let session_key = word(0)?;
            let (valid_after, rest) = if chipi { (0, 1) } else { (felt_to_u64(&word(1)?)?, 2) };
            let valid_until = felt_to_u64(&word(rest)?)?;
            let max_calls = felt_to_u32(&word(rest + 1)?)?;
            let n = felt_to_u32(&word(rest + 2)?)? as usize;
            let start = rest + 3;
            let width = if chipi { 1 } else { 2 };
            let end = n
                .checked_mul(width)
                .and_then(|len| len.checked_add(start))
                .ok_or_else(malformed)?;
            let items = data.get(start..end).ok_or_else(malformed)?;
            if end != data.len() {
                return Err(malformed());
            }
            let allowed_methods = if chipi {
                items.iter().map(|s| AllowedMethod { contract: Felt::ZERO, selector: *s }).collect()
            } else {
                items
                    .chunks_exact(2)
                    .map(|pair| AllowedMethod { contract: pair[0], selector: pair[1] })
                    .collect()
            };
            Ok(SessionPolicy { session_key, valid_after, valid_until, max_calls, allowed_methods })
        };
        if call.selector == selector("register_session") {
            Some(decode(false))
        } else if call.selector == selector("add_or_update_session_key") {
            Some(decode(true))
        } else {
            None
        }
    }

    /// `revoke_session_key(key)`.
    pub fn revoke_session_key(account: Felt, session_key: Felt) -> Call {
        Call::new(account, "revoke_session_key", vec![session_key])
    }

    /// `revoke_all_sessions()`.
    pub fn revoke_all_sessions(account: Felt) -> Call {
        Call::new(account, "revoke_all_sessions", vec![])
    }

    /// `set_spending_policy(key, token, max_per_call, max_per_window, window_seconds)`.
    pub fn set_spending_policy(
        account: Felt,
        session_key: Felt,
        token: Felt,
        max_per_call: U256,
        max_per_window: U256,
        window_seconds: u64,
    ) -> Call {
        let mut calldata = vec![session_key, token];
        calldata.extend(max_per_call.to_felts());
        calldata.extend(max_per_window.to_felts());
        calldata.push(Felt::from(window_seconds));
        Call::new(account, "set_spending_policy", calldata)
    }

    /// `remove_spending_policy(key, token)`.
    pub fn remove_spending_policy(account: Felt, session_key: Felt, token: Felt) -> Call {
        Call::new(account, "remove_spending_policy", vec![session_key, token])
    }

    /// `set_public_key(new_key)`: rotates the owner and revokes every session.
    pub fn set_public_key(account: Felt, new_public_key: Felt) -> Call {
        Call::new(account, "set_public_key", vec![new_public_key])
    }
}

/// Builders for ERC-20 calls.
pub mod erc20_calls {
    use super::*;

    /// `transfer(recipient, amount)`.
    pub fn transfer(token: Felt, recipient: Felt, amount: U256) -> Call {
        let [low, high] = amount.to_felts();
        Call::new(token, "transfer", vec![recipient, low, high])
    }

    /// `approve(spender, amount)`.
    pub fn approve(token: Felt, spender: Felt, amount: U256) -> Call {
        let [low, high] = amount.to_felts();
        Call::new(token, "approve", vec![spender, low, high])
    }
}

/// Builders for the demo game.
pub mod game_calls {
    use super::*;

    /// `make_move(move)`.
    pub fn make_move(game: Felt, mv: u64) -> Call {
        Call::new(game, "make_move", vec![Felt::from(mv)])
    }

    /// `claim_reward()`.
    pub fn claim_reward(game: Felt) -> Call {
        Call::new(game, "claim_reward", vec![])
    }
}

/// `get_session_data` as the Chipi SDK reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionData {
    /// Registered, not revoked, inside its window, with calls left.
    pub is_active: bool,
    /// Stored expiry.
    pub valid_until: u64,
    /// Calls left.
    pub remaining_calls: u32,
    /// Allowed selectors (contracts are not part of this view).
    pub allowed_entrypoints: Vec<Felt>,
}

fn bad(view: &'static str, message: impl Into<String>) -> ContractsError {
    ContractsError::BadResult { view, message: message.into() }
}

fn take<'a>(view: &'static str, data: &'a [Felt], n: usize) -> Result<&'a [Felt], ContractsError> {
    data.get(..n)
        .ok_or_else(|| bad(view, format!("expected at least {n} felts, got {}", data.len())))
}

fn as_bool(view: &'static str, value: &Felt) -> Result<bool, ContractsError> {
    match value {
        v if *v == Felt::ZERO => Ok(false),
        v if *v == Felt::ONE => Ok(true),
        other => Err(bad(view, format!("{other:#x} is not a bool"))),
    }
}

impl SessionData {
    /// Parses `[is_active, valid_until, remaining_calls, n, selectors…]`.
    pub fn from_felts(data: &[Felt]) -> Result<Self, ContractsError> {
        const VIEW: &str = "get_session_data";
        let head = take(VIEW, data, 4)?;
        let n = felt_to_u32(&head[3]).map_err(|e| bad(VIEW, e.to_string()))? as usize;
        if data.len() != 4 + n {
            return Err(bad(VIEW, format!("length {} for {n} entrypoints", data.len())));
        }
        Ok(Self {
            is_active: as_bool(VIEW, &head[0])?,
            valid_until: felt_to_u64(&head[1]).map_err(|e| bad(VIEW, e.to_string()))?,
            remaining_calls: felt_to_u32(&head[2]).map_err(|e| bad(VIEW, e.to_string()))?,
            allowed_entrypoints: data[4..].to_vec(),
        })
    }
}

/// The account's full session view (`get_session`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Ever registered.
    pub registered: bool,
    /// Revoked, individually or by revoke-all / owner rotation.
    pub revoked: bool,
    /// Usable now.
    pub is_active: bool,
    /// First valid second.
    pub valid_after: u64,
    /// Last valid second.
    pub valid_until: u64,
    /// Call limit.
    pub max_calls: u32,
    /// Calls consumed.
    pub calls_used: u32,
    /// No allowlist: every non-self call is allowed.
    pub allow_all: bool,
    /// The allowlist.
    pub allowed_methods: Vec<AllowedMethod>,
}

impl SessionView {
    /// Parses the Cairo serialisation of `SessionView`.
    pub fn from_felts(data: &[Felt]) -> Result<Self, ContractsError> {
        const VIEW: &str = "get_session";
        let head = take(VIEW, data, 9)?;
        let n = felt_to_u32(&head[8]).map_err(|e| bad(VIEW, e.to_string()))? as usize;
        if data.len() != 9 + 2 * n {
            return Err(bad(VIEW, format!("length {} for {n} methods", data.len())));
        }
        let u64_at = |i: usize| felt_to_u64(&head[i]).map_err(|e| bad(VIEW, e.to_string()));
        let u32_at = |i: usize| felt_to_u32(&head[i]).map_err(|e| bad(VIEW, e.to_string()));
        Ok(Self {
            registered: as_bool(VIEW, &head[0])?,
            revoked: as_bool(VIEW, &head[1])?,
            is_active: as_bool(VIEW, &head[2])?,
            valid_after: u64_at(3)?,
            valid_until: u64_at(4)?,
            max_calls: u32_at(5)?,
            calls_used: u32_at(6)?,
            allow_all: as_bool(VIEW, &head[7])?,
            allowed_methods: data[9..]
                .chunks(2)
                .map(|pair| AllowedMethod { contract: pair[0], selector: pair[1] })
                .collect(),
        })
    }
}

/// Parses `get_spending_policy`'s
/// `[mpc.lo, mpc.hi, mpw.lo, mpw.hi, window, spent.lo, spent.hi, window_start]`.
pub fn parse_spending_policy(data: &[Felt]) -> Result<SpendingPolicy, ContractsError> {
    const VIEW: &str = "get_spending_policy";
    if data.len() != 8 {
        return Err(bad(VIEW, format!("expected 8 felts, got {}", data.len())));
    }
    let u256_at =
        |i: usize| U256::from_felts(&data[i], &data[i + 1]).map_err(|e| bad(VIEW, e.to_string()));
    let u64_at = |i: usize| felt_to_u64(&data[i]).map_err(|e| bad(VIEW, e.to_string()));
    Ok(SpendingPolicy {
        max_per_call: u256_at(0)?,
        max_per_window: u256_at(2)?,
        window_seconds: u64_at(4)?,
        spent_in_window: u256_at(5)?,
        window_start: u64_at(7)?,
    })
}

/// Selectors of the account's admin entrypoints (threats C1–C4 test that a session can
/// reach none of them, whatever its allowlist).
pub fn admin_selectors() -> Vec<(&'static str, Felt)> {
    [
        "upgrade",
        "add_or_update_session_key",
        "revoke_session_key",
        "register_session",
        "revoke_all_sessions",
        "set_spending_policy",
        "remove_spending_policy",
        "set_public_key",
        "setPublicKey",
        "__execute__",
        "execute_from_outside_v2",
    ]
    .into_iter()
    .map(|name| (name, selector(name)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_hash_and_match_the_manifest() {
        let manifest: serde_json::Value = serde_json::from_str(MANIFEST_JSON).unwrap();
        for artifact in all_artifacts() {
            let entry = &manifest["contracts"][artifact.name];
            let compiled = artifact.compiled_class_hash().unwrap();
            assert_eq!(
                format!("{compiled:#x}"),
                entry["compiled_class_hash_blake2s"].as_str().unwrap(),
                "{}: the Rust Blake2s CASM hash must equal the compiler's",
                artifact.name
            );
            assert_ne!(artifact.class_hash().unwrap(), Felt::ZERO);
            assert_eq!(entry["sierra_version"], "1.7.0");
        }
    }

    #[test]
    fn c33_interface_ids_are_the_selector_xors() {
        let xor = |names: &[&str]| {
            names.iter().fold(Felt::ZERO, |acc, n| {
                let a = acc.to_biguint() ^ selector(n).to_biguint();
                Felt::from(a)
            })
        };
        assert_eq!(
            interface_ids::SESSION_KEY_MANAGER,
            xor(&["add_or_update_session_key", "revoke_session_key", "get_session_data"])
        );
        assert_eq!(
            interface_ids::LATCHKEY_SESSIONS,
            xor(&["register_session", "revoke_all_sessions", "get_session"])
        );
    }

    #[test]
    fn chipi_calldata_matches_the_capture() {
        // addSessionKeyWithEntrypoints in the captured SDK run.
        let account = Felt::from_hex_unchecked(
            "0x64bcb10d7ec411c1e158a6b597b48153335fff3f79b12bc104deed7b3a01d8d",
        );
        let key = Felt::from_hex_unchecked(
            "0x403209500b30dde13626d26ed203f1b3887bde18fb09f22e0846c54b977e695",
        );
        let call = account_calls::add_or_update_session_key(
            account,
            key,
            0x70dbd880,
            5,
            &[selector("transfer"), selector("approve")],
        );
        let hex: Vec<String> = call.calldata.iter().map(|f| format!("{f:#x}")).collect();
        assert_eq!(
            hex,
            [
                "0x403209500b30dde13626d26ed203f1b3887bde18fb09f22e0846c54b977e695",
                "0x70dbd880",
                "0x5",
                "0x2",
                "0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e",
                "0x219209e083275171774dab1df80982e9df2096516f06319c5c6d71ae0a8480c"
            ]
        );
        let policy = account_calls::set_spending_policy(
            account,
            key,
            Felt::from_hex_unchecked(
                "0x033068F6539f8e6e6b131e6B2B814e6c34A5224bC66947c47DaB9dFeE93b35fb",
            ),
            U256::from_u128(0xf4240),
            U256 { low: 5, high: 4 },
            0x15180,
        );
        let hex: Vec<String> = policy.calldata.iter().map(|f| format!("{f:#x}")).collect();
        assert_eq!(&hex[2..], ["0xf4240", "0x0", "0x5", "0x4", "0x15180"]);
    }

    #[test]
    fn view_parsers_check_lengths() {
        let data = [Felt::ONE, Felt::from(100u8), Felt::from(3u8), Felt::ONE, selector("transfer")];
        let parsed = SessionData::from_felts(&data).unwrap();
        assert!(parsed.is_active);
        assert_eq!(parsed.remaining_calls, 3);
        assert!(SessionData::from_felts(&data[..4]).is_err());
        assert!(SessionData::from_felts(&[Felt::TWO, Felt::ONE, Felt::ONE, Felt::ZERO]).is_err());
        assert!(parse_spending_policy(&[Felt::ZERO; 7]).is_err());
    }
}
