//! The session lifecycle as `useChipiSession` presents it (`none`, `created`, `active`,
//! `expired`, `revoked`), derived from the locally stored [`SessionKeyData`] and the
//! account's `get_session_data` answer.
//!
//! The hook's derivation (chipi-wire.md §7) is:
//!
//! ```text
//! no local session                    → none
//! status known: !isActive             → revoked
//!               validUntil < now      → expired
//!               remainingCalls <= 0   → expired
//!               otherwise             → active
//! no status:    local validUntil < now → expired, otherwise created
//! ```
//!
//! Against latchkey's account, `get_session_data` returns
//! `[is_active, valid_until, remaining_calls, n, selectors…]` where `is_active` already
//! means "registered, not revoked, `valid_after <= now <= valid_until`, calls left". So an
//! inactive answer is not always a revocation; this module tells the cases apart:
//!
//! - an all-zero answer (`valid_until == 0`) is a key the account does not know: the
//!   session is `created` (or `expired` if its local expiry has passed);
//! - inactive with no calls left, or past its expiry, is `expired`;
//! - inactive inside its window with calls left is `revoked` (a session registered
//!   through `register_session` with a future `valid_after` looks the same: the
//!   Chipi layout does not carry `valid_after`);
//! - active is `active`, unless the answer is stale and `now` has passed the expiry.
//!
//! Expiry uses the inclusive convention of [`crate::is_live_at`]: a session is valid at
//! `now` iff `now <= valid_until`. The expiry that counts is the earlier of the local
//! `validUntil` (which the session signature carries) and the registered one, because the
//! account caps the signature's value by the stored one.

use serde::{Deserialize, Serialize};

use crate::call::Call;
use crate::felt::{felt_to_u32, felt_to_u64, to_hex, Felt};
use crate::keys::SessionKeyData;
use crate::policy::is_live_at;
use crate::session_client::SessionError;

/// The five session states of `useChipiSession`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// No local session key.
    None,
    /// A local key that the account does not know yet (or its status is unknown).
    Created,
    /// Registered and usable now.
    Active,
    /// Past its expiry, or out of calls.
    Expired,
    /// Registered, inside its window, but switched off by the owner.
    Revoked,
}

impl SessionState {
    /// The hook's string: `"none"`, `"created"`, `"active"`, `"expired"` or `"revoked"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Created => "created",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// The account's answer to `get_session_data(session_key)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnChainSession {
    /// Registered, not revoked, inside its window, with calls left (at the queried block).
    pub is_active: bool,
    /// The registered expiry; `0` when the key is unknown.
    pub valid_until: u64,
    /// Calls left.
    pub remaining_calls: u32,
    /// Allowed selectors; empty allows every non-self call.
    #[serde(with = "crate::felt::serde_hex::vec")]
    pub allowed_entrypoints: Vec<Felt>,
}

impl OnChainSession {
    /// Parses `[is_active, valid_until, remaining_calls, n, selectors…]`, strictly:
    /// `is_active` must be 0 or 1, the integers must fit, and exactly `n` selectors follow.
    pub fn from_felts(felts: &[Felt]) -> Result<Self, SessionError> {
        let invalid = |reason: &str| SessionError::InvalidResponse { reason: reason.to_string() };
        let [is_active, valid_until, remaining_calls, n, rest @ ..] = felts else {
            return Err(invalid("get_session_data returned fewer than 4 felts"));
        };
        let is_active = match *is_active {
            v if v == Felt::ZERO => false,
            v if v == Felt::ONE => true,
            _ => return Err(invalid("is_active is not a boolean")),
        };
        let valid_until =
            felt_to_u64(valid_until).map_err(|_| invalid("valid_until is not a u64"))?;
        let remaining_calls =
            felt_to_u32(remaining_calls).map_err(|_| invalid("remaining_calls is not a u32"))?;
        let n = felt_to_u32(n).map_err(|_| invalid("selector count is not a u32"))?;
        if usize::try_from(n).ok() != Some(rest.len()) {
            return Err(invalid("selector count does not match the answer's length"));
        }
        Ok(Self { is_active, valid_until, remaining_calls, allowed_entrypoints: rest.to_vec() })
    }

    /// Whether the account knows the key at all (an unknown key reads as all zeros).
    pub fn is_registered(&self) -> bool {
        self.is_active || self.valid_until != 0
    }

    /// Checks calls against the selector allowlist (`SESSION_ENTRYPOINT_NOT_ALLOWED` for
    /// the first selector not on it; an empty list allows every selector). The account
    /// applies more rules (no self-calls, per-contract entries): see
    /// [`crate::SessionPolicy::check_calls`].
    pub fn check_entrypoints(&self, calls: &[Call]) -> Result<(), SessionError> {
        if self.allowed_entrypoints.is_empty() {
            return Ok(());
        }
        match calls.iter().find(|call| !self.allowed_entrypoints.contains(&call.selector)) {
            Some(call) => {
                Err(SessionError::EntrypointNotAllowed { selector: to_hex(&call.selector) })
            }
            None => Ok(()),
        }
    }
}

/// The detailed outcome behind a [`SessionState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assessment {
    NoLocal,
    NotRegistered,
    Active,
    ExpiredAt(u64),
    OutOfCalls,
    Revoked,
}

fn assess(
    local: Option<&SessionKeyData>,
    on_chain: Option<&OnChainSession>,
    now: u64,
) -> Assessment {
    let Some(local) = local else { return Assessment::NoLocal };
    let status = on_chain.filter(|status| status.is_registered());
    let Some(status) = status else {
        return if is_live_at(0, local.valid_until, now) {
            Assessment::NotRegistered
        } else {
            Assessment::ExpiredAt(local.valid_until)
        };
    };
    let expiry = local.valid_until.min(status.valid_until);
    if !is_live_at(0, expiry, now) {
        return Assessment::ExpiredAt(expiry);
    }
    if status.remaining_calls == 0 {
        return Assessment::OutOfCalls;
    }
    if status.is_active {
        Assessment::Active
    } else {
        Assessment::Revoked
    }
}

/// Derives the session state at unix time `now`, as described in the module docs.
pub fn session_state(
    local: Option<&SessionKeyData>,
    on_chain: Option<&OnChainSession>,
    now: u64,
) -> SessionState {
    match assess(local, on_chain, now) {
        Assessment::NoLocal => SessionState::None,
        Assessment::NotRegistered => SessionState::Created,
        Assessment::Active => SessionState::Active,
        Assessment::ExpiredAt(_) | Assessment::OutOfCalls => SessionState::Expired,
        Assessment::Revoked => SessionState::Revoked,
    }
}

/// `Ok` when the session is [`SessionState::Active`]; otherwise the SDK error for why not:
/// `SESSION_NOT_REGISTERED` (no local key, or unknown to the account), `SESSION_EXPIRED`,
/// `SESSION_MAX_CALLS_EXCEEDED` or `SESSION_REVOKED`.
pub fn ensure_active(
    local: Option<&SessionKeyData>,
    on_chain: Option<&OnChainSession>,
    now: u64,
) -> Result<(), SessionError> {
    match assess(local, on_chain, now) {
        Assessment::Active => Ok(()),
        Assessment::NoLocal | Assessment::NotRegistered => Err(SessionError::NotRegistered),
        Assessment::ExpiredAt(valid_until) => Err(SessionError::Expired { valid_until }),
        Assessment::OutOfCalls => Err(SessionError::MaxCallsExceeded),
        Assessment::Revoked => Err(SessionError::Revoked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000;

    fn local(valid_until: u64) -> SessionKeyData {
        SessionKeyData {
            public_key: "0x4032".into(),
            encrypted_private_key: "lk1$…".into(),
            valid_until,
        }
    }

    fn chain(is_active: bool, valid_until: u64, remaining_calls: u32) -> OnChainSession {
        OnChainSession { is_active, valid_until, remaining_calls, allowed_entrypoints: vec![] }
    }

    #[test]
    fn state_table() {
        use SessionState as S;
        let unknown = chain(false, 0, 0);
        #[rustfmt::skip]
        type Case = (&'static str, Option<SessionKeyData>, Option<OnChainSession>, u64, SessionState);
        let cases: &[Case] = &[
            ("no local key", None, None, T, S::None),
            ("no local key, chain active", None, Some(chain(true, T, 5)), T - 5, S::None),
            ("no status yet", Some(local(T)), None, T - 1, S::Created),
            ("no status, now == valid_until", Some(local(T)), None, T, S::Created),
            ("no status, now == valid_until + 1", Some(local(T)), None, T + 1, S::Expired),
            ("unknown to the account", Some(local(T)), Some(unknown.clone()), T - 1, S::Created),
            ("unknown to the account, expired", Some(local(T)), Some(unknown), T + 1, S::Expired),
            ("active", Some(local(T)), Some(chain(true, T, 5)), T - 1, S::Active),
            ("active, now == valid_until", Some(local(T)), Some(chain(true, T, 5)), T, S::Active),
            (
                "stale active, now == valid_until+1",
                Some(local(T)),
                Some(chain(true, T, 5)),
                T + 1,
                S::Expired,
            ),
            ("inactive past expiry", Some(local(T)), Some(chain(false, T, 5)), T + 1, S::Expired),
            (
                "inactive, no calls left",
                Some(local(T)),
                Some(chain(false, T, 0)),
                T - 1,
                S::Expired,
            ),
            (
                "stale active, no calls left",
                Some(local(T)),
                Some(chain(true, T, 0)),
                T - 1,
                S::Expired,
            ),
            (
                "inactive inside window: revoked",
                Some(local(T)),
                Some(chain(false, T, 5)),
                T - 1,
                S::Revoked,
            ),
            ("revoked at the last second", Some(local(T)), Some(chain(false, T, 1)), T, S::Revoked),
            (
                "registered expiry earlier",
                Some(local(T)),
                Some(chain(true, T - 10, 5)),
                T - 9,
                S::Expired,
            ),
            (
                "registered expiry earlier, edge",
                Some(local(T)),
                Some(chain(true, T - 10, 5)),
                T - 10,
                S::Active,
            ),
            (
                "local expiry earlier",
                Some(local(T - 10)),
                Some(chain(true, T, 5)),
                T - 9,
                S::Expired,
            ),
        ];
        for (name, local, chain, now, expected) in cases {
            assert_eq!(session_state(local.as_ref(), chain.as_ref(), *now), *expected, "{name}");
        }
    }

    #[test]
    fn ensure_active_maps_to_sdk_errors() {
        let l = local(T);
        let cases = [
            (None, None, "SESSION_NOT_REGISTERED"),
            (Some(&l), None, "SESSION_NOT_REGISTERED"),
            (Some(&l), Some(chain(false, T, 5)), "SESSION_REVOKED"),
            (Some(&l), Some(chain(false, T, 0)), "SESSION_MAX_CALLS_EXCEEDED"),
            (Some(&l), Some(chain(true, T - 2, 5)), "SESSION_EXPIRED"),
        ];
        for (local, chain, code) in cases {
            let err = ensure_active(local, chain.as_ref(), T - 1).unwrap_err();
            assert_eq!(err.code(), code);
        }
        assert_eq!(
            ensure_active(Some(&l), Some(&chain(true, T - 2, 5)), T - 1).unwrap_err(),
            SessionError::Expired { valid_until: T - 2 }
        );
        assert!(ensure_active(Some(&l), Some(&chain(true, T, 5)), T).is_ok());
    }

    #[test]
    fn parses_the_contract_layout_strictly() {
        let f = |v: u64| Felt::from(v);
        let status =
            OnChainSession::from_felts(&[f(1), f(1_893_456_000), f(1000), f(2), f(7), f(8)])
                .unwrap();
        assert!(status.is_active);
        assert_eq!(status.valid_until, 1_893_456_000);
        assert_eq!(status.remaining_calls, 1000);
        assert_eq!(status.allowed_entrypoints, vec![f(7), f(8)]);
        let unknown = OnChainSession::from_felts(&[f(0), f(0), f(0), f(0)]).unwrap();
        assert!(!unknown.is_registered());

        for bad in [
            vec![f(1), f(2), f(3)],
            vec![f(2), f(0), f(0), f(0)],
            vec![f(1), Felt::from(u128::from(u64::MAX) + 1), f(0), f(0)],
            vec![f(1), f(0), f(u64::from(u32::MAX) + 1), f(0)],
            vec![f(1), f(0), f(0), f(2), f(9)],
            vec![f(1), f(0), f(0), f(0), f(9)],
        ] {
            let err = OnChainSession::from_felts(&bad).unwrap_err();
            assert_eq!(err.code(), "SESSION_INVALID_RESPONSE", "{bad:?}");
        }
    }

    #[test]
    fn entrypoint_allowlist() {
        let transfer = Call::new(Felt::from(5u8), "transfer", vec![]);
        let approve = Call::new(Felt::from(5u8), "approve", vec![]);
        let open = chain(true, T, 5);
        assert!(open.check_entrypoints(&[transfer.clone(), approve.clone()]).is_ok());
        let only_transfer = OnChainSession {
            allowed_entrypoints: vec![crate::felt::selector("transfer")],
            ..chain(true, T, 5)
        };
        assert!(only_transfer.check_entrypoints(std::slice::from_ref(&transfer)).is_ok());
        let err = only_transfer.check_entrypoints(&[transfer, approve]).unwrap_err();
        assert_eq!(err.code(), "SESSION_ENTRYPOINT_NOT_ALLOWED");
        assert_eq!(
            err,
            SessionError::EntrypointNotAllowed {
                selector: "0x219209e083275171774dab1df80982e9df2096516f06319c5c6d71ae0a8480c"
                    .into()
            }
        );
    }

    #[test]
    fn state_strings_match_the_hook() {
        let all = [
            SessionState::None,
            SessionState::Created,
            SessionState::Active,
            SessionState::Expired,
            SessionState::Revoked,
        ];
        let names: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["none", "created", "active", "expired", "revoked"]);
        assert_eq!(serde_json::to_string(&SessionState::Revoked).unwrap(), "\"revoked\"");
    }
}
