//! The chain-neutral session model: what a session may do (its grant) and the calls it
//! wants to make (call views), with the one policy engine both chain families share.
//!
//! Addresses, selectors and keys are text in the family's canonical form (a chain backend
//! produces both sides, so equal values compare equal). Amounts are 256-bit integers on
//! every family.

use serde::{Deserialize, Serialize};

use crate::felt::U256;
use crate::policy::PolicyViolation;

/// What one call of a batch does, as far as session policies and sponsorship care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    /// The contract called.
    pub target: String,
    /// The method selector (a Cairo selector, or a 4-byte EVM selector).
    pub selector: String,
    /// The token amount the call moves, when it is a tracked token call.
    pub spend: Spend,
    /// What the call changes on the account itself, when it calls the account.
    pub change: Option<AccountChange>,
}

/// The token amount a call moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Not a tracked token call.
    None,
    /// A tracked token call moving this amount of its target token.
    Amount(U256),
    /// A tracked token call whose amount does not decode; the contract refuses it.
    Malformed,
}

/// One method a session may call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// The contract, or `None` for any contract.
    pub target: Option<String>,
    /// The method selector.
    pub selector: String,
}

/// The limits of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRules {
    /// First second the session may be used.
    pub valid_after: u64,
    /// Last second the session may be used.
    pub valid_until: u64,
    /// Transactions the session may make.
    pub max_calls: u32,
    /// Allowed methods; empty allows every call that does not target the account.
    pub permissions: Vec<Permission>,
}

/// A session key and its limits: what a registration asks the account to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionGrant {
    /// The session public key.
    pub session_key: String,
    /// Its limits.
    #[serde(flatten)]
    pub rules: SessionRules,
}

/// A spending cap a session gets on one token: what a cap registration asks the account
/// to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendingCap {
    /// The session public key.
    pub session_key: String,
    /// The token contract.
    pub token: String,
    /// Largest amount one call may move.
    pub max_per_call: U256,
    /// Largest total per window.
    pub max_per_window: U256,
    /// Window length in seconds.
    pub window_seconds: u64,
}

/// A change a call makes to the account itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Registers (or updates) a session.
    RegisterSession(SessionGrant),
    /// A session registration whose arguments do not decode; the account refuses it.
    MalformedRegistration(String),
    /// Sets a session's spending cap on one token.
    SetSpendingCap(SpendingCap),
    /// Revokes one session.
    RevokeSession(String),
    /// Revokes every session.
    RevokeAllSessions,
    /// Rotates the owner key (`None` when the call names no key).
    SetOwner(Option<String>),
    /// Any other call to the account (cap removals, upgrades, …).
    Other,
}

impl AccountChange {
    /// Whether this is an emergency action that must get through whatever the budget:
    /// revoking a session, revoking every session, rotating the owner.
    pub fn is_emergency(&self) -> bool {
        matches!(self, Self::RevokeSession(_) | Self::RevokeAllSessions | Self::SetOwner(_))
    }
}

/// Whether every call of a batch is an emergency action on the account itself. Such a
/// batch always gets through: no budget, quota, cool-down or sponsorship policy may keep
/// an owner from killing a leaked key. (Sessions can never call the account, so only the
/// owner can send one.)
pub fn is_revocation(calls: &[CallView]) -> bool {
    !calls.is_empty()
        && calls.iter().all(|c| c.change.as_ref().is_some_and(AccountChange::is_emergency))
}

/// The new owner key a batch rotates the account to, if it does (the last rotation wins).
pub fn rotated_owner(calls: &[CallView]) -> Option<String> {
    calls
        .iter()
        .filter_map(|c| match &c.change {
            Some(AccountChange::SetOwner(key)) => key.clone(),
            _ => None,
        })
        .next_back()
}

impl Permission {
    fn matches(&self, call: &CallView) -> bool {
        self.selector == call.selector && self.target.as_ref().is_none_or(|t| *t == call.target)
    }
}

impl SessionRules {
    /// Checks a session execution against these rules at time `now`, with `calls_used`
    /// calls already consumed and the signature's claimed `signed_valid_until`. The rules
    /// are the account contract's:
    /// - a session is live at `now` iff `valid_after <= now <= valid_until` (inclusive);
    /// - the signature's `valid_until` may not exceed the stored one, and the effective
    ///   expiry is the smaller of the two;
    /// - `calls_used < max_calls`; one transaction consumes one call, whatever its size;
    /// - no call may target the account itself, whatever the allowlist says;
    /// - every call must match an allowed method; an empty allowlist allows every
    ///   non-self call.
    pub fn check(
        &self,
        account: &str,
        calls: &[CallView],
        now: u64,
        calls_used: u32,
        signed_valid_until: u64,
    ) -> Result<(), PolicyViolation> {
        if signed_valid_until > self.valid_until {
            return Err(PolicyViolation::SignatureOutlivesSession {
                signed: signed_valid_until,
                registered: self.valid_until,
            });
        }
        if now < self.valid_after {
            return Err(PolicyViolation::NotYetValid { valid_after: self.valid_after, now });
        }
        let until = signed_valid_until.min(self.valid_until);
        if now > until {
            return Err(PolicyViolation::Expired { valid_until: until, now });
        }
        if calls_used >= self.max_calls {
            return Err(PolicyViolation::MaxCallsExceeded { max_calls: self.max_calls });
        }
        self.check_calls(account, calls)
    }

    /// Checks only the calls: no self-call, each allowed.
    pub fn check_calls(&self, account: &str, calls: &[CallView]) -> Result<(), PolicyViolation> {
        if calls.is_empty() {
            return Err(PolicyViolation::NoCalls);
        }
        for (index, call) in calls.iter().enumerate() {
            if call.target == account {
                return Err(PolicyViolation::SelfCall { index });
            }
            let allowed =
                self.permissions.is_empty() || self.permissions.iter().any(|p| p.matches(call));
            if !allowed {
                return Err(PolicyViolation::MethodNotAllowed {
                    index,
                    contract: call.target.clone(),
                    selector: call.selector.clone(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(target: &str, selector: &str) -> CallView {
        CallView {
            target: target.into(),
            selector: selector.into(),
            spend: Spend::None,
            change: None,
        }
    }

    fn rules(permissions: Vec<Permission>) -> SessionRules {
        SessionRules { valid_after: 10, valid_until: 100, max_calls: 3, permissions }
    }

    #[test]
    fn c07_allowlist_is_per_contract() {
        let game = Permission { target: Some("0xa".into()), selector: "0x1".into() };
        let rules = rules(vec![game]);
        assert!(rules.check_calls("0xacc", &[call("0xa", "0x1")]).is_ok());
        assert!(matches!(
            rules.check_calls("0xacc", &[call("0xb", "0x1")]),
            Err(PolicyViolation::MethodNotAllowed { index: 0, .. })
        ));
        let any = SessionRules {
            permissions: vec![Permission { target: None, selector: "0x1".into() }],
            ..rules
        };
        assert!(any.check_calls("0xacc", &[call("0xb", "0x1")]).is_ok());
        assert!(any.check_calls("0xacc", &[call("0xb", "0x2")]).is_err());
    }

    #[test]
    fn a_session_never_calls_its_account_and_windows_are_inclusive() {
        let open = rules(Vec::new());
        assert_eq!(
            open.check_calls("0xacc", &[call("0xa", "0x1"), call("0xacc", "0x1")]),
            Err(PolicyViolation::SelfCall { index: 1 })
        );
        let batch = [call("0xa", "0x1")];
        assert!(open.check("0xacc", &batch, 10, 0, 100).is_ok());
        assert!(open.check("0xacc", &batch, 100, 2, 100).is_ok());
        assert!(matches!(
            open.check("0xacc", &batch, 9, 0, 100),
            Err(PolicyViolation::NotYetValid { .. })
        ));
        assert!(matches!(
            open.check("0xacc", &batch, 51, 0, 50),
            Err(PolicyViolation::Expired { valid_until: 50, .. })
        ));
        assert!(matches!(
            open.check("0xacc", &batch, 20, 0, 101),
            Err(PolicyViolation::SignatureOutlivesSession { .. })
        ));
        assert!(matches!(
            open.check("0xacc", &batch, 20, 3, 100),
            Err(PolicyViolation::MaxCallsExceeded { max_calls: 3 })
        ));
        assert_eq!(open.check_calls("0xacc", &[]), Err(PolicyViolation::NoCalls));
    }

    #[test]
    fn only_batches_of_emergency_actions_are_revocations() {
        let on_account = |change| CallView { change: Some(change), ..call("0xacc", "0x9") };
        let revoke = on_account(AccountChange::RevokeSession("0x5".into()));
        let rotate = on_account(AccountChange::SetOwner(Some("0x7".into())));
        assert!(is_revocation(&[revoke.clone(), rotate.clone()]));
        assert!(!is_revocation(&[revoke.clone(), call("0xa", "0x1")]));
        assert!(!is_revocation(&[on_account(AccountChange::Other)]));
        assert!(!is_revocation(&[]));
        assert_eq!(rotated_owner(&[revoke, rotate]), Some("0x7".into()));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        const ACCOUNT: &str = "0xacc";

        /// Target 4 is the account itself; selectors and other targets come from a small
        /// alphabet so that matches and near-misses both occur.
        fn target(index: u8) -> String {
            if index == 4 {
                ACCOUNT.to_string()
            } else {
                format!("0x{index:x}")
            }
        }

        fn allowed_by_spec(permissions: &[Permission], call: &CallView) -> bool {
            permissions.is_empty()
                || permissions.iter().any(|p| {
                    p.selector == call.selector
                        && p.target.as_ref().is_none_or(|t| *t == call.target)
                })
        }

        proptest! {
            /// P1: a session batch is accepted exactly when no call targets the account and
            /// every call is a (contract, selector) the grant allows, a contract-less entry
            /// allowing its selector on any other contract.
            #[test]
            fn p1_a_batch_is_accepted_exactly_when_every_call_is_allowed(
                grants in prop::collection::vec((prop::option::of(0u8..4), 0u8..3), 0..4),
                calls in prop::collection::vec((0u8..5, 0u8..3), 1..5),
            ) {
                let permissions: Vec<Permission> = grants
                    .iter()
                    .map(|(t, s)| Permission { target: t.map(target), selector: format!("0x5{s}") })
                    .collect();
                let rules = SessionRules {
                    valid_after: 0,
                    valid_until: 100,
                    max_calls: 10,
                    permissions: permissions.clone(),
                };
                let views: Vec<CallView> = calls
                    .iter()
                    .map(|(t, s)| call(&target(*t), &format!("0x5{s}")))
                    .collect();
                let expected = views
                    .iter()
                    .all(|c| c.target != ACCOUNT && allowed_by_spec(&permissions, c));
                prop_assert_eq!(rules.check(ACCOUNT, &views, 50, 0, 100).is_ok(), expected);
            }
        }
    }
}
