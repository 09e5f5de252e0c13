//! The session policy model and its evaluation, mirroring the account contract's rules so
//! a relayer can reject a session execution before paying gas.
//!
//! Rules (the contract enforces the same on both the SNIP-9 and the direct-invoke path):
//! - a session is live at `now` iff `valid_after <= now <= valid_until` (inclusive ends);
//! - the signature's `valid_until` may not exceed the stored one, and the effective expiry
//!   is the smaller of the two;
//! - `calls_used < max_calls`; one transaction consumes one call, whatever its batch size;
//! - no call may target the account itself, whatever the allowlist says;
//! - every call must match an allowed `(contract, selector)`, where contract `0` matches
//!   any contract; an empty allowlist allows every non-self call;
//! - spending caps count `transfer`, `transfer_from`/`transferFrom`, `approve` and
//!   `increase_allowance`/`increaseAllowance` amounts per token.

use serde::{Deserialize, Serialize};

use crate::call::Call;
use crate::felt::{selector, serde_hex, to_hex, Felt, U256};
use crate::grant::{CallView, Permission, SessionRules, Spend};

/// One allowed method: a contract (or `0` for any contract) and an entrypoint selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AllowedMethod {
    /// The contract, or `0` for any contract.
    #[serde(with = "serde_hex")]
    pub contract: Felt,
    /// The entrypoint selector.
    #[serde(with = "serde_hex")]
    pub selector: Felt,
}

impl AllowedMethod {
    /// `entrypoint` on `contract`.
    pub fn new(contract: Felt, entrypoint: &str) -> Self {
        Self { contract, selector: selector(entrypoint) }
    }

    /// `entrypoint` on any contract (the Chipi selector-only form).
    pub fn any_contract(entrypoint: &str) -> Self {
        Self::new(Felt::ZERO, entrypoint)
    }

    /// The chain-neutral permission (contract `0` becomes "any contract").
    pub fn permission(&self) -> Permission {
        Permission {
            target: (self.contract != Felt::ZERO).then(|| to_hex(&self.contract)),
            selector: to_hex(&self.selector),
        }
    }
}

/// A session as registered on chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicy {
    /// The session public key.
    #[serde(with = "serde_hex")]
    pub session_key: Felt,
    /// First second the session may be used.
    pub valid_after: u64,
    /// Last second the session may be used.
    pub valid_until: u64,
    /// Transactions the session may make.
    pub max_calls: u32,
    /// Allowed methods; empty allows every call that does not target the account.
    pub allowed_methods: Vec<AllowedMethod>,
}

/// Why a session may not execute some calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// `now < valid_after`.
    #[error("session is not valid before {valid_after} (now {now})")]
    NotYetValid {
        /// The session start.
        valid_after: u64,
        /// The time checked.
        now: u64,
    },
    /// `now > min(valid_until, signature valid_until)`.
    #[error("session expired at {valid_until} (now {now})")]
    Expired {
        /// The effective expiry.
        valid_until: u64,
        /// The time checked.
        now: u64,
    },
    /// The signature claims a later expiry than the registered one.
    #[error("signature valid_until {signed} exceeds the registered {registered}")]
    SignatureOutlivesSession {
        /// What the signature claims.
        signed: u64,
        /// What is registered.
        registered: u64,
    },
    /// The session has used all its calls.
    #[error("session has used all {max_calls} calls")]
    MaxCallsExceeded {
        /// The limit.
        max_calls: u32,
    },
    /// A call targets the account itself.
    #[error("call {index} targets the account itself")]
    SelfCall {
        /// Index of the call in the batch.
        index: usize,
    },
    /// A call is not in the allowlist.
    #[error("call {index} ({contract}, {selector}) is not allowed by the session")]
    MethodNotAllowed {
        /// Index of the call in the batch.
        index: usize,
        /// Its contract, as hex.
        contract: String,
        /// Its selector, as hex.
        selector: String,
    },
    /// The batch is empty.
    #[error("no calls")]
    NoCalls,
}

/// Whether a session window contains `now` (both ends inclusive). The contract uses the
/// same convention; see threat C13.
pub fn is_live_at(valid_after: u64, valid_until: u64, now: u64) -> bool {
    valid_after <= now && now <= valid_until
}

impl SessionPolicy {
    /// The chain-neutral rules of this policy.
    pub fn rules(&self) -> SessionRules {
        SessionRules {
            valid_after: self.valid_after,
            valid_until: self.valid_until,
            max_calls: self.max_calls,
            permissions: self.allowed_methods.iter().map(AllowedMethod::permission).collect(),
        }
    }

    /// Checks a session execution against this policy at time `now`, with `calls_used`
    /// calls already consumed and the signature's claimed `signed_valid_until`
    /// ([`SessionRules::check`]).
    pub fn check(
        &self,
        account: &Felt,
        calls: &[Call],
        now: u64,
        calls_used: u32,
        signed_valid_until: u64,
    ) -> Result<(), PolicyViolation> {
        self.rules().check(&to_hex(account), &views(calls), now, calls_used, signed_valid_until)
    }

    /// Checks only the calls: no self-call, each allowed.
    pub fn check_calls(&self, account: &Felt, calls: &[Call]) -> Result<(), PolicyViolation> {
        self.rules().check_calls(&to_hex(account), &views(calls))
    }
}

/// The policy engine's view of Starknet calls (targets and selectors only).
fn views(calls: &[Call]) -> Vec<CallView> {
    calls
        .iter()
        .map(|c| CallView {
            target: to_hex(&c.to),
            selector: to_hex(&c.selector),
            spend: Spend::None,
            change: None,
        })
        .collect()
}

/// A per-(session, token) spending cap, as the contract stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendingPolicy {
    /// Largest amount one call may move.
    pub max_per_call: U256,
    /// Largest total per window.
    pub max_per_window: U256,
    /// Window length in seconds.
    pub window_seconds: u64,
    /// Spent in the current window.
    pub spent_in_window: U256,
    /// Start of the current window.
    pub window_start: u64,
}

/// Why a spending cap refuses an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpendingViolation {
    /// One call moves more than `max_per_call`.
    #[error("amount {amount} exceeds the per-call cap {cap}")]
    PerCall {
        /// The amount.
        amount: U256,
        /// The cap.
        cap: U256,
    },
    /// The window total would exceed `max_per_window`.
    #[error("window total {total} would exceed the cap {cap}")]
    PerWindow {
        /// What the total would become.
        total: String,
        /// The cap.
        cap: U256,
    },
    /// A tracked call whose calldata is too short or whose amount is not a `u256`.
    #[error("call {index} has malformed token calldata")]
    MalformedCalldata {
        /// Index of the call in the batch.
        index: usize,
    },
}

/// Selectors whose amounts count against spending caps, with the calldata index of the
/// `u256` amount's low limb.
pub fn tracked_amount_index(call_selector: &Felt) -> Option<usize> {
    const TWO_ARG: [&str; 4] = ["transfer", "approve", "increase_allowance", "increaseAllowance"];
    const THREE_ARG: [&str; 2] = ["transfer_from", "transferFrom"];
    if TWO_ARG.iter().any(|name| selector(name) == *call_selector) {
        Some(1)
    } else if THREE_ARG.iter().any(|name| selector(name) == *call_selector) {
        Some(2)
    } else {
        None
    }
}

/// A tracked token call whose amount is missing or not a `u256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("token call has no valid u256 amount")]
pub struct MalformedAmount;

/// The amount a tracked call moves, `Ok(None)` for untracked calls.
pub fn tracked_amount(call: &Call) -> Result<Option<U256>, MalformedAmount> {
    let Some(index) = tracked_amount_index(&call.selector) else { return Ok(None) };
    let (Some(low), Some(high)) = (call.calldata.get(index), call.calldata.get(index + 1)) else {
        return Err(MalformedAmount);
    };
    U256::from_felts(low, high).map(Some).map_err(|_| MalformedAmount)
}

impl SpendingPolicy {
    /// Applies one amount at time `now`: rolls the window if it has elapsed, enforces both
    /// caps, and records the spend.
    pub fn apply(&mut self, amount: U256, now: u64) -> Result<(), SpendingViolation> {
        if amount > self.max_per_call {
            return Err(SpendingViolation::PerCall { amount, cap: self.max_per_call });
        }
        // As on chain: an elapsed window, or a clock that went backwards, starts a new one.
        if now < self.window_start || now - self.window_start >= self.window_seconds {
            self.window_start = now;
            self.spent_in_window = U256::ZERO;
        }
        let total = self.spent_in_window.checked_add(amount);
        match total {
            Some(total) if total <= self.max_per_window => {
                self.spent_in_window = total;
                Ok(())
            }
            _ => Err(SpendingViolation::PerWindow {
                total: (self.spent_in_window.to_biguint() + amount.to_biguint()).to_string(),
                cap: self.max_per_window,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: Felt = Felt::from_hex_unchecked("0xacc");
    const TOKEN_A: Felt = Felt::from_hex_unchecked("0xa");
    const TOKEN_B: Felt = Felt::from_hex_unchecked("0xb");

    fn policy(methods: Vec<AllowedMethod>) -> SessionPolicy {
        SessionPolicy {
            session_key: Felt::ONE,
            valid_after: 100,
            valid_until: 200,
            max_calls: 3,
            allowed_methods: methods,
        }
    }

    fn transfer(token: Felt) -> Call {
        Call::new(token, "transfer", vec![Felt::TWO, Felt::from(5u8), Felt::ZERO])
    }

    #[test]
    fn c13_boundaries_are_inclusive() {
        // (valid_after, valid_until, now, live)
        let table = [
            (100, 200, 99, false),
            (100, 200, 100, true),
            (100, 200, 101, true),
            (100, 200, 199, true),
            (100, 200, 200, true),
            (100, 200, 201, false),
            (0, 0, 0, true),
        ];
        for (after, until, now, live) in table {
            assert_eq!(is_live_at(after, until, now), live, "{after} {until} {now}");
        }
        let p = policy(vec![]);
        assert!(p.check(&ACCOUNT, &[transfer(TOKEN_A)], 200, 0, 200).is_ok());
        assert_eq!(
            p.check(&ACCOUNT, &[transfer(TOKEN_A)], 201, 0, 200),
            Err(PolicyViolation::Expired { valid_until: 200, now: 201 })
        );
        assert!(matches!(
            p.check(&ACCOUNT, &[transfer(TOKEN_A)], 99, 0, 200),
            Err(PolicyViolation::NotYetValid { .. })
        ));
    }

    #[test]
    fn c12_signature_expiry_is_capped_by_storage() {
        let p = policy(vec![]);
        assert!(matches!(
            p.check(&ACCOUNT, &[transfer(TOKEN_A)], 150, 0, 201),
            Err(PolicyViolation::SignatureOutlivesSession { signed: 201, registered: 200 })
        ));
        // A smaller signed expiry shortens the session.
        assert!(matches!(
            p.check(&ACCOUNT, &[transfer(TOKEN_A)], 150, 0, 149),
            Err(PolicyViolation::Expired { valid_until: 149, .. })
        ));
    }

    #[test]
    fn c07_allowlist_is_per_contract() {
        let p = policy(vec![AllowedMethod::new(TOKEN_A, "transfer")]);
        assert!(p.check_calls(&ACCOUNT, &[transfer(TOKEN_A)]).is_ok());
        assert!(matches!(
            p.check_calls(&ACCOUNT, &[transfer(TOKEN_B)]),
            Err(PolicyViolation::MethodNotAllowed { index: 0, .. })
        ));
        let any = policy(vec![AllowedMethod::any_contract("transfer")]);
        assert!(any.check_calls(&ACCOUNT, &[transfer(TOKEN_B)]).is_ok());
    }

    #[test]
    fn c08_every_call_of_a_batch_is_checked() {
        let p = policy(vec![AllowedMethod::new(TOKEN_A, "transfer")]);
        let mut batch = vec![transfer(TOKEN_A); 50];
        batch.push(transfer(TOKEN_B));
        assert!(matches!(
            p.check_calls(&ACCOUNT, &batch),
            Err(PolicyViolation::MethodNotAllowed { index: 50, .. })
        ));
    }

    #[test]
    fn c05_self_calls_are_refused_whatever_the_allowlist() {
        let p = policy(vec![AllowedMethod::new(ACCOUNT, "set_public_key")]);
        let call = Call::new(ACCOUNT, "set_public_key", vec![Felt::ONE]);
        assert_eq!(
            p.check_calls(&ACCOUNT, std::slice::from_ref(&call)),
            Err(PolicyViolation::SelfCall { index: 0 })
        );
        assert_eq!(
            policy(vec![]).check_calls(&ACCOUNT, &[call]),
            Err(PolicyViolation::SelfCall { index: 0 })
        );
    }

    #[test]
    fn c14_max_calls() {
        let p = policy(vec![]);
        assert!(p.check(&ACCOUNT, &[transfer(TOKEN_A)], 150, 2, 200).is_ok());
        assert_eq!(
            p.check(&ACCOUNT, &[transfer(TOKEN_A)], 150, 3, 200),
            Err(PolicyViolation::MaxCallsExceeded { max_calls: 3 })
        );
    }

    #[test]
    fn c10_spending_counts_all_tracked_selectors() {
        for (name, index) in [
            ("transfer", 1),
            ("approve", 1),
            ("increase_allowance", 1),
            ("increaseAllowance", 1),
            ("transfer_from", 2),
            ("transferFrom", 2),
        ] {
            assert_eq!(tracked_amount_index(&selector(name)), Some(index), "{name}");
        }
        assert_eq!(tracked_amount_index(&selector("make_move")), None);
        let approve = Call::new(
            TOKEN_A,
            "approve",
            vec![Felt::TWO, Felt::from(u128::MAX), Felt::from(u128::MAX)],
        );
        assert_eq!(tracked_amount(&approve), Ok(Some(U256::MAX)));
        let short = Call::new(TOKEN_A, "transfer", vec![Felt::TWO]);
        assert_eq!(tracked_amount(&short), Err(MalformedAmount));
    }

    #[test]
    fn spending_window_rolls_and_caps() {
        let mut sp = SpendingPolicy {
            max_per_call: U256::from_u128(10),
            max_per_window: U256::from_u128(25),
            window_seconds: 100,
            spent_in_window: U256::ZERO,
            window_start: 0,
        };
        assert!(matches!(
            sp.apply(U256::from_u128(11), 1000),
            Err(SpendingViolation::PerCall { .. })
        ));
        sp.apply(U256::from_u128(10), 1000).unwrap();
        assert_eq!(sp.window_start, 1000);
        sp.apply(U256::from_u128(10), 1050).unwrap();
        assert!(matches!(
            sp.apply(U256::from_u128(10), 1099),
            Err(SpendingViolation::PerWindow { .. })
        ));
        sp.apply(U256::from_u128(10), 1100).unwrap();
        assert_eq!(sp.spent_in_window, U256::from_u128(10));
    }
}
