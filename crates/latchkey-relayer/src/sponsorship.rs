//! What an organisation pays for: its sponsorship policy, the revocations that always get
//! through, and the guardrails every session registration passes on every route.

use latchkey_chain::{AccountChange, CallView};
use latchkey_core::codes;
use latchkey_core::{parse_felt, AllowedMethod, Felt};
use serde::{Deserialize, Serialize};

use crate::RelayError;

/// An organisation's sponsorship policy. Amounts are decimal strings in a chain's fee
/// unit: the `…_fri` limits apply on Starknet (FRI), the `…_wei` ones on EVM chains (wei),
/// so a limit meant in STRK never bounds ETH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SponsorshipPolicy {
    /// The methods the organisation pays for on contracts other than the wallet itself
    /// (contract `0x0` = any contract). Empty: every method. Calls to the wallet itself
    /// (registering and revoking sessions, rotating the owner) are always sponsored.
    #[serde(default)]
    pub allowed_methods: Vec<AllowedMethod>,
    /// The largest fee one transaction may reserve.
    #[serde(default, with = "amount", skip_serializing_if = "Option::is_none")]
    pub max_fee_per_tx_fri: Option<u128>,
    /// The most sponsored gas one wallet may use per UTC day.
    #[serde(default, with = "amount", skip_serializing_if = "Option::is_none")]
    pub daily_gas_per_wallet_fri: Option<u128>,
    /// The most sponsored gas one end user (a wallet's external user id) may use per UTC day.
    #[serde(default, with = "amount", skip_serializing_if = "Option::is_none")]
    pub daily_gas_per_user_fri: Option<u128>,
    /// On EVM chains: the largest fee one userOp may reserve, in wei.
    #[serde(default, with = "amount", skip_serializing_if = "Option::is_none")]
    pub max_fee_per_tx_wei: Option<u128>,
    /// On EVM chains: the most sponsored gas one wallet may use per UTC day, in wei.
    #[serde(default, with = "amount", skip_serializing_if = "Option::is_none")]
    pub daily_gas_per_wallet_wei: Option<u128>,
    /// On EVM chains: the most sponsored gas one end user may use per UTC day on each
    /// chain, in wei.
    #[serde(default, with = "amount", skip_serializing_if = "Option::is_none")]
    pub daily_gas_per_user_wei: Option<u128>,
    /// Consecutive reverted transactions of one wallet that start its cool-down (`0`: never).
    #[serde(default = "default_cooldown_after")]
    pub revert_cooldown_after: u32,
    /// How long a cool-down lasts, in seconds.
    #[serde(default = "default_cooldown_seconds")]
    pub revert_cooldown_seconds: u64,
}

fn default_cooldown_after() -> u32 {
    3
}

fn default_cooldown_seconds() -> u64 {
    600
}

impl Default for SponsorshipPolicy {
    fn default() -> Self {
        Self {
            allowed_methods: Vec::new(),
            max_fee_per_tx_fri: None,
            daily_gas_per_wallet_fri: None,
            daily_gas_per_user_fri: None,
            max_fee_per_tx_wei: None,
            daily_gas_per_wallet_wei: None,
            daily_gas_per_user_wei: None,
            revert_cooldown_after: default_cooldown_after(),
            revert_cooldown_seconds: default_cooldown_seconds(),
        }
    }
}

/// Most entries a policy's allowlist may have.
pub const MAX_SPONSORED_METHODS: usize = 256;
/// Longest cool-down a policy may set (a week).
pub const MAX_COOLDOWN_SECONDS: u64 = 7 * 86_400;

impl SponsorshipPolicy {
    /// Parses a stored or submitted policy document and checks its bounds.
    pub fn parse(json: &str) -> Result<Self, RelayError> {
        let policy: Self = serde_json::from_str(json)
            .map_err(|e| RelayError::InvalidRequest(format!("invalid sponsorship policy: {e}")))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The stored document's policy, or the defaults when there is none (or it does not
    /// parse, which the API never lets happen).
    pub fn from_stored(json: Option<&str>) -> Self {
        json.and_then(|json| Self::parse(json).ok()).unwrap_or_default()
    }

    /// Checks the policy's bounds.
    pub fn validate(&self) -> Result<(), RelayError> {
        if self.allowed_methods.len() > MAX_SPONSORED_METHODS {
            return Err(RelayError::InvalidRequest(format!(
                "at most {MAX_SPONSORED_METHODS} sponsored methods"
            )));
        }
        if self.revert_cooldown_seconds > MAX_COOLDOWN_SECONDS {
            return Err(RelayError::InvalidRequest(format!(
                "revertCooldownSeconds is at most {MAX_COOLDOWN_SECONDS}"
            )));
        }
        let amounts = [
            self.max_fee_per_tx_fri,
            self.daily_gas_per_wallet_fri,
            self.daily_gas_per_user_fri,
            self.max_fee_per_tx_wei,
            self.daily_gas_per_wallet_wei,
            self.daily_gas_per_user_wei,
        ];
        if amounts.contains(&Some(0)) {
            return Err(RelayError::InvalidRequest(
                "a sponsorship limit must be positive (leave it out for no limit)".into(),
            ));
        }
        Ok(())
    }

    /// Refuses calls the organisation does not pay for.
    pub fn check_calls(&self, account: &str, calls: &[CallView]) -> Result<(), RelayError> {
        if self.allowed_methods.is_empty() {
            return Ok(());
        }
        for (i, call) in calls.iter().enumerate() {
            if call.target == account {
                continue;
            }
            // Compared as numbers: each family writes addresses and selectors its own way
            // (an EVM address in EIP-55 case, a selector with its leading zeros).
            let (target, selector) =
                (parse_felt(&call.target).ok(), parse_felt(&call.selector).ok());
            let sponsored = self.allowed_methods.iter().any(|m| {
                Some(m.selector) == selector
                    && (m.contract == Felt::ZERO || Some(m.contract) == target)
            });
            if !sponsored {
                return Err(RelayError::NotSponsored(format!(
                    "calls[{i}] ({} on {}) is not in the organisation's sponsorship policy",
                    call.selector, call.target
                )));
            }
        }
        Ok(())
    }

    /// The limits that apply on a chain whose fee unit is `unit` (`FRI` or `WEI`).
    pub fn limits(&self, unit: &str) -> FeeLimits {
        if unit == "WEI" {
            FeeLimits {
                max_fee_per_tx: self.max_fee_per_tx_wei,
                daily_gas_per_wallet: self.daily_gas_per_wallet_wei,
                daily_gas_per_user: self.daily_gas_per_user_wei,
            }
        } else {
            FeeLimits {
                max_fee_per_tx: self.max_fee_per_tx_fri,
                daily_gas_per_wallet: self.daily_gas_per_wallet_fri,
                daily_gas_per_user: self.daily_gas_per_user_fri,
            }
        }
    }

    /// Refuses a fee reservation above the per-transaction limit of the chain's `unit`.
    pub fn check_fee(&self, max_fee: u128, unit: &str) -> Result<(), RelayError> {
        match self.limits(unit).max_fee_per_tx {
            Some(limit) if max_fee > limit => Err(RelayError::FeeAboveLimit(format!(
                "this transaction may cost up to {max_fee} {unit}; the organisation sponsors at most {limit} {unit} per transaction"
            ))),
            _ => Ok(()),
        }
    }
}

/// A policy's limits in one chain's fee unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeeLimits {
    /// The largest fee one transaction may reserve.
    pub max_fee_per_tx: Option<u128>,
    /// The most sponsored gas one wallet may use per UTC day.
    pub daily_gas_per_wallet: Option<u128>,
    /// The most sponsored gas one end user may use per UTC day.
    pub daily_gas_per_user: Option<u128>,
}

/// Serde for optional FRI amounts as decimal strings (they exceed JSON's safe integers).
mod amount {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            if t.is_empty() || t.len() > 39 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(serde::de::Error::custom(
                    "an amount is a decimal string in the chain's fee unit",
                ));
            }
            t.parse::<u128>().map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// The rules a session registration follows on every route (C30, R2-11): an explicit
/// choice for allow-all, a bounded duration, never the wallet itself.
#[derive(Debug, Clone, Copy)]
pub struct SessionGuard {
    /// Longest session, in seconds (`valid_until - max(now, valid_after)`).
    pub max_session_seconds: u64,
    /// Whether the caller asked for allow-all explicitly (the native sessions route's
    /// `allowAll: true`); everywhere else an empty allowlist is refused.
    pub allow_all_explicit: bool,
}

impl SessionGuard {
    /// Checks every session registration in `calls` against the rules at time `now`.
    pub fn check(&self, account: &str, calls: &[CallView], now: u64) -> Result<(), RelayError> {
        let refuse =
            |code: &'static str, message: String| Err(RelayError::SessionGuard { code, message });
        for call in calls {
            let grant = match &call.change {
                Some(AccountChange::RegisterSession(grant)) => grant,
                Some(AccountChange::MalformedRegistration(reason)) => {
                    return Err(RelayError::InvalidRequest(reason.clone()))
                }
                _ => continue,
            };
            let rules = &grant.rules;
            if grant.session_key.trim_start_matches("0x").trim_start_matches('0').is_empty() {
                return refuse(codes::INVALID_FELT, "a session key must not be zero".into());
            }
            if rules.permissions.is_empty() && !self.allow_all_explicit {
                return refuse(
                    codes::ALLOWLIST_REQUIRED,
                    "a session registration needs a non-empty allowlist; allow-all must be asked for explicitly (allowAll: true on /api/wallets/{address}/sessions)".into(),
                );
            }
            if rules.permissions.iter().any(|p| p.target.as_deref() == Some(account)) {
                return refuse(
                    codes::SELF_CALL_NOT_ALLOWED,
                    "a session can never call its own wallet".into(),
                );
            }
            let start = rules.valid_after.max(now);
            if rules.valid_until <= start {
                return refuse(
                    codes::INVALID_SESSION_WINDOW,
                    "validUntil must be after validAfter and now".into(),
                );
            }
            if rules.valid_until - start > self.max_session_seconds {
                return refuse(
                    codes::SESSION_TOO_LONG,
                    format!("sessions may last at most {} seconds", self.max_session_seconds),
                );
            }
            if rules.max_calls == 0 {
                return refuse(codes::INVALID_REQUEST, "maxCalls must be at least 1".into());
            }
        }
        Ok(())
    }
}

/// The session keys a batch registers.
pub fn registered_keys(calls: &[CallView]) -> Vec<String> {
    calls
        .iter()
        .filter_map(|c| match &c.change {
            Some(AccountChange::RegisterSession(grant)) => Some(grant.session_key.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use latchkey_chain::{Permission, SessionGrant, SessionRules, Spend};

    use super::*;

    const ACCOUNT: &str = "0xacc";
    const GAME: &str = "0x6a3e";

    #[test]
    fn each_fee_unit_has_its_own_limits() {
        let policy = SponsorshipPolicy::parse(
            r#"{"maxFeePerTxFri":"1000","dailyGasPerWalletFri":"5000","maxFeePerTxWei":"7","dailyGasPerUserWei":"70"}"#,
        )
        .unwrap();
        assert_eq!(
            policy.limits("FRI"),
            FeeLimits {
                max_fee_per_tx: Some(1000),
                daily_gas_per_wallet: Some(5000),
                daily_gas_per_user: None
            }
        );
        assert_eq!(
            policy.limits("WEI"),
            FeeLimits {
                max_fee_per_tx: Some(7),
                daily_gas_per_wallet: None,
                daily_gas_per_user: Some(70)
            }
        );
        let refused = policy.check_fee(8, "WEI").unwrap_err();
        assert!(refused.to_string().contains("up to 8 WEI"), "{refused}");
        assert!(refused.to_string().contains("at most 7 WEI"), "{refused}");
    }

    fn call(target: &str, selector: &str) -> CallView {
        CallView {
            target: target.into(),
            selector: selector.into(),
            spend: Spend::None,
            change: None,
        }
    }

    fn registration(permissions: Vec<Permission>, valid_until: u64) -> CallView {
        let grant = SessionGrant {
            session_key: "0x7".into(),
            rules: SessionRules { valid_after: 0, valid_until, max_calls: 10, permissions },
        };
        CallView { change: Some(AccountChange::RegisterSession(grant)), ..call(ACCOUNT, "0x99") }
    }

    fn on(target: &str) -> Vec<Permission> {
        vec![Permission { target: Some(target.into()), selector: "0x1".into() }]
    }

    #[test]
    fn c30_session_guard_applies_to_every_registration_in_a_batch() {
        let guard = SessionGuard { max_session_seconds: 3600, allow_all_explicit: false };
        let now = 1_000_000;
        let ok = registration(on(GAME), now + 600);
        assert!(guard.check(ACCOUNT, std::slice::from_ref(&ok), now).is_ok());
        let code = |calls: &[CallView], guard: SessionGuard| match guard.check(ACCOUNT, calls, now)
        {
            Err(RelayError::SessionGuard { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        let empty = registration(vec![], now + 600);
        assert_eq!(code(&[ok.clone(), empty.clone()], guard), "ALLOWLIST_REQUIRED");
        let explicit = SessionGuard { allow_all_explicit: true, ..guard };
        assert!(explicit.check(ACCOUNT, std::slice::from_ref(&empty), now).is_ok());
        assert_eq!(
            code(&[registration(on(GAME), now + 10 * 365 * 86_400)], guard),
            "SESSION_TOO_LONG"
        );
        assert_eq!(code(&[registration(on(ACCOUNT), now + 60)], guard), "SELF_CALL_NOT_ALLOWED");
        assert_eq!(code(&[registration(on(GAME), now)], guard), "INVALID_SESSION_WINDOW");
        let malformed = CallView {
            change: Some(AccountChange::MalformedRegistration("bad".into())),
            ..call(ACCOUNT, "0x99")
        };
        assert_eq!(guard.check(ACCOUNT, &[malformed], now).unwrap_err().code(), "INVALID_REQUEST");
        // Calls that change nothing on the account are not registrations.
        assert!(guard.check(ACCOUNT, &[call(GAME, "0x99")], now).is_ok());
        assert_eq!(registered_keys(&[ok, call(GAME, "0x1"), empty]), vec!["0x7", "0x7"]);
    }

    #[test]
    fn policies_parse_check_calls_and_fees() {
        let policy = SponsorshipPolicy::parse(
            r#"{"allowedMethods":[{"contract":"0x6a3e","selector":"0x1"}],"maxFeePerTxFri":"1000"}"#,
        )
        .unwrap();
        assert_eq!(policy.max_fee_per_tx_fri, Some(1000));
        assert_eq!(policy.revert_cooldown_after, 3);
        let allowed = call(GAME, "0x1");
        let other = call(GAME, "0x2");
        let own = call(ACCOUNT, "0x2");
        assert!(policy.check_calls(ACCOUNT, &[allowed.clone(), own]).is_ok());
        assert_eq!(
            policy.check_calls(ACCOUNT, &[allowed, other]).unwrap_err().code(),
            "NOT_SPONSORED"
        );
        assert!(policy.check_fee(1000, "FRI").is_ok());
        assert_eq!(policy.check_fee(1001, "FRI").unwrap_err().code(), "MAX_FEE_EXCEEDED");
        // EVM calls name their target in EIP-55 case and their selector with its leading
        // zeros; the policy matches them as numbers.
        let evm = SponsorshipPolicy::parse(
            r#"{"allowedMethods":[{"contract":"0x5fbdb2315678afecb367f032d93f642f64180aa3","selector":"0xa1b2c3d"}]}"#,
        )
        .unwrap();
        let game = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let wallet = "0x7a16fF8270133F063aAb6C9977183D9e72835428";
        assert!(evm.check_calls(wallet, &[call(game, "0x0a1b2c3d")]).is_ok());
        assert!(evm.check_calls(wallet, &[call(game, "0x0a1b2c3e")]).is_err());
        // A FRI limit never bounds wei: each chain's unit has its own limits.
        assert!(policy.check_fee(10u128.pow(20), "WEI").is_ok());
        for bad in [
            r#"{"maxFeePerTxFri":"0"}"#,
            r#"{"dailyGasPerUserWei":"0"}"#,
            r#"{"maxFeePerTxFri":"-1"}"#,
            r#"{"maxFeePerTxFri":1000}"#,
            r#"{"surprise":true}"#,
            r#"{"revertCooldownSeconds":99999999}"#,
        ] {
            assert!(SponsorshipPolicy::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(SponsorshipPolicy::from_stored(None), SponsorshipPolicy::default());
        let round = serde_json::to_string(&policy).unwrap();
        assert_eq!(SponsorshipPolicy::parse(&round).unwrap(), policy);
    }
}
