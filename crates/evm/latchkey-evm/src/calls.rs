//! EVM calls in the port's batch shape ([`Calls::Evm`]), their policy views, and the
//! account's session calls (both ways).

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolValue};
use latchkey_chain::{
    AccountChange, CallView, Calls, Permission, Refusal, SessionGrant, SessionRules, Spend,
    SpendingCap,
};
use latchkey_core::codes;
use latchkey_evm_contracts::abi::{self, AllowedMethod, LatchkeyAccount};

use crate::text::{address_text, from_core_u256, parse_address, selector_text, to_core_u256};

/// One EVM call: what `executeBatch` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmCall {
    /// The contract (or EOA) called.
    pub to: Address,
    /// Wei sent with it.
    pub value: U256,
    /// Its calldata (selector and ABI-encoded arguments).
    pub data: Bytes,
}

impl EvmCall {
    /// A call without value.
    pub fn new(to: Address, data: impl Into<Bytes>) -> Self {
        Self { to, value: U256::ZERO, data: data.into() }
    }

    /// The first 4 bytes of `data`, `0x00000000` when shorter (as the account reads it).
    pub fn selector(&self) -> [u8; 4] {
        let mut out = [0u8; 4];
        if self.data.len() >= 4 {
            out.copy_from_slice(&self.data[..4]);
        }
        out
    }

    pub(crate) fn to_abi(&self) -> abi::Call {
        abi::Call { target: self.to, value: self.value, data: self.data.clone() }
    }

    pub(crate) fn from_abi(call: &abi::Call) -> Self {
        Self { to: call.target, value: call.value, data: call.data.clone() }
    }
}

/// EVM calls in the port's batch shape.
pub fn encode_calls(calls: &[EvmCall]) -> Result<Calls, Refusal> {
    Ok(Calls::Evm(
        calls
            .iter()
            .map(|call| latchkey_chain::EvmCall {
                to: address_text(call.to),
                value: to_core_u256(call.value),
                data: call.data.to_vec(),
            })
            .collect(),
    ))
}

/// The EVM calls of a batch; another family's batch is refused.
pub fn decode_calls(calls: &Calls) -> Result<Vec<EvmCall>, Refusal> {
    let Calls::Evm(calls) = calls else {
        return Err(Refusal::new(codes::WRONG_CHAIN, "these calls are of another chain family"));
    };
    calls
        .iter()
        .map(|call| {
            Ok(EvmCall {
                to: parse_address(&call.to)?,
                value: from_core_u256(call.value),
                data: call.data.clone().into(),
            })
        })
        .collect()
}

const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];
const APPROVE: [u8; 4] = [0x09, 0x5e, 0xa7, 0xb3];
const INCREASE_ALLOWANCE: [u8; 4] = [0x39, 0x50, 0x93, 0x51];

/// The amount a tracked token call moves, as the account reads it (`_trackedAmount`).
fn spend_of(call: &EvmCall) -> Spend {
    let offset = match call.selector() {
        TRANSFER | APPROVE | INCREASE_ALLOWANCE => 36,
        TRANSFER_FROM => 68,
        _ => return Spend::None,
    };
    match call.data.get(offset..offset + 32) {
        Some(word) => Spend::Amount(to_core_u256(U256::from_be_slice(word))),
        None => Spend::Malformed,
    }
}

/// The policy view of one call made by `account`.
pub fn view(account: Address, call: &EvmCall) -> CallView {
    let change = (call.to == account).then(|| decode_change(&call.data));
    CallView {
        target: address_text(call.to),
        selector: selector_text(call.selector()),
        spend: spend_of(call),
        change,
    }
}

/// The change a call to the account itself makes.
pub fn decode_change(data: &[u8]) -> AccountChange {
    use LatchkeyAccount as A;
    let selector: [u8; 4] = match data.get(..4).and_then(|s| s.try_into().ok()) {
        Some(selector) => selector,
        None => return AccountChange::Other,
    };
    match selector {
        A::registerSessionCall::SELECTOR => match A::registerSessionCall::abi_decode(data) {
            Ok(call) => AccountChange::RegisterSession(SessionGrant {
                session_key: address_text(call.key),
                rules: SessionRules {
                    valid_after: call.validAfter.to::<u64>(),
                    valid_until: call.validUntil.to::<u64>(),
                    max_calls: call.maxCalls,
                    permissions: call
                        .allowedMethods
                        .iter()
                        .map(|m| Permission {
                            target: (m.target != Address::ZERO).then(|| address_text(m.target)),
                            selector: selector_text(m.selector.0),
                        })
                        .collect(),
                },
            }),
            Err(e) => AccountChange::MalformedRegistration(format!("registerSession: {e}")),
        },
        A::setSpendingCapCall::SELECTOR => match A::setSpendingCapCall::abi_decode(data) {
            Ok(call) => AccountChange::SetSpendingCap(SpendingCap {
                session_key: address_text(call.key),
                token: address_text(call.token),
                max_per_call: latchkey_core::U256::from_u128(call.maxPerCall),
                max_per_window: latchkey_core::U256::from_u128(call.maxPerWindow),
                window_seconds: call.windowSeconds,
            }),
            Err(_) => AccountChange::Other,
        },
        A::revokeSessionCall::SELECTOR => A::revokeSessionCall::abi_decode(data)
            .map_or(AccountChange::Other, |c| AccountChange::RevokeSession(address_text(c.key))),
        A::revokeAllSessionsCall::SELECTOR => AccountChange::RevokeAllSessions,
        A::setOwnerCall::SELECTOR => AccountChange::SetOwner(
            A::setOwnerCall::abi_decode(data).ok().map(|c| address_text(c.newOwner)),
        ),
        _ => AccountChange::Other,
    }
}

fn u128_of(value: &latchkey_core::U256, what: &str) -> Result<u128, Refusal> {
    if value.high != 0 {
        return Err(Refusal::new(
            codes::INVALID_SPENDING_POLICY,
            format!("{what} is above 2^128 (the account stores caps as uint128)"),
        ));
    }
    Ok(value.low)
}

pub(crate) fn selector_of_text(text: &str) -> Result<[u8; 4], Refusal> {
    let bad = || {
        Refusal::new(
            codes::INVALID_INPUT,
            format!("{text:?} is not a 4-byte selector (0x + 8 hex)"),
        )
    };
    let digits = text.strip_prefix("0x").ok_or_else(bad)?;
    if digits.len() != 8 {
        return Err(bad());
    }
    let value = u32::from_str_radix(digits, 16).map_err(|_| bad())?;
    Ok(value.to_be_bytes())
}

/// The calls on `account` (to itself) that make `changes`, in order.
pub fn change_calls(account: Address, changes: &[AccountChange]) -> Result<Vec<EvmCall>, Refusal> {
    use latchkey_evm_contracts as lk;
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let data = match change {
            AccountChange::RegisterSession(grant) => {
                let rules = &grant.rules;
                let methods = rules
                    .permissions
                    .iter()
                    .map(|p| {
                        Ok(AllowedMethod {
                            target: match &p.target {
                                Some(t) => parse_address(t)?,
                                None => Address::ZERO,
                            },
                            selector: selector_of_text(&p.selector)?.into(),
                        })
                    })
                    .collect::<Result<Vec<_>, Refusal>>()?;
                let max = 0xffff_ffff_ffff;
                if rules.valid_after > max || rules.valid_until > max {
                    return Err(Refusal::new(
                        codes::INVALID_SESSION_WINDOW,
                        "session times must fit in 48 bits",
                    ));
                }
                lk::register_session(
                    parse_address(&grant.session_key)?,
                    rules.valid_after,
                    rules.valid_until,
                    rules.max_calls,
                    methods,
                )
            }
            AccountChange::SetSpendingCap(cap) => lk::set_spending_cap(
                parse_address(&cap.session_key)?,
                parse_address(&cap.token)?,
                u128_of(&cap.max_per_call, "maxPerCall")?,
                u128_of(&cap.max_per_window, "maxPerWindow")?,
                cap.window_seconds,
            ),
            AccountChange::RevokeSession(key) => lk::revoke_session(parse_address(key)?),
            AccountChange::RevokeAllSessions => lk::revoke_all_sessions(),
            AccountChange::SetOwner(Some(owner)) => lk::set_owner(parse_address(owner)?),
            _ => return Err(Refusal::new(codes::INVALID_REQUEST, "no call makes this change")),
        };
        out.push(EvmCall::new(account, data));
    }
    Ok(out)
}

/// The calls a userOp's `callData` makes: `execute`, `executeBatch`, the
/// `executeUserOp` form, nothing (empty: a deployment-only userOp), or a direct call of
/// one of the account's own functions (an owner userOp), seen as a call to the account.
pub fn calls_of_call_data(account: Address, call_data: &[u8]) -> Result<Vec<EvmCall>, Refusal> {
    use LatchkeyAccount as A;
    if call_data.is_empty() {
        return Ok(Vec::new());
    }
    let bad = |e: alloy_sol_types::Error| {
        Refusal::new(codes::INVALID_TYPED_DATA, format!("userOp callData does not decode: {e}"))
    };
    let selector: Option<[u8; 4]> = call_data.get(..4).and_then(|s| s.try_into().ok());
    match selector {
        Some(A::executeBatchCall::SELECTOR) => {
            let call = A::executeBatchCall::abi_decode(call_data).map_err(bad)?;
            Ok(call.calls.iter().map(EvmCall::from_abi).collect())
        }
        Some(A::executeCall::SELECTOR) => {
            let call = A::executeCall::abi_decode(call_data).map_err(bad)?;
            Ok(vec![EvmCall { to: call.target, value: call.value, data: call.data }])
        }
        Some(latchkey_evm_contracts::EXECUTE_USER_OP_SELECTOR) => {
            let calls = <Vec<abi::Call>>::abi_decode_params(&call_data[4..]).map_err(bad)?;
            Ok(calls.iter().map(EvmCall::from_abi).collect())
        }
        _ => Ok(vec![EvmCall::new(account, Bytes::copy_from_slice(call_data))]),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use alloy_primitives::address;
    use latchkey_chain::Call;
    use latchkey_core::Felt;

    const ACCOUNT: Address = address!("00000000000000000000000000000000000acc01");
    const TOKEN: Address = address!("00000000000000000000000000000000000070c0");

    #[test]
    fn calls_round_trip_through_the_port_shape() {
        let calls = vec![
            EvmCall::new(TOKEN, Bytes::new()),
            EvmCall { to: ACCOUNT, value: U256::from(7u8), data: vec![1, 2, 3].into() },
            EvmCall::new(TOKEN, (0..=200u8).collect::<Vec<u8>>()),
            EvmCall::new(Address::repeat_byte(0xff), vec![0xff; 62]),
        ];
        let encoded = encode_calls(&calls).unwrap();
        assert_eq!(decode_calls(&encoded).unwrap(), calls);
        assert_eq!(encoded.words(), 3 + (3 + 1) + (3 + 7) + (3 + 2));
        // Another family's batch, or an address that is not one, is refused.
        let starknet = Calls::Starknet(vec![Call::new(Felt::ONE, "transfer", vec![])]);
        assert_eq!(decode_calls(&starknet).unwrap_err().code, codes::WRONG_CHAIN);
        let Calls::Evm(mut raw) = encoded else { panic!("an EVM batch") };
        raw[0].to = "0x12".into();
        assert!(decode_calls(&Calls::Evm(raw)).is_err());
    }

    #[test]
    fn token_calls_carry_their_amounts() {
        let transfer = latchkey_evm_contracts::abi::DemoToken::transferCall {
            to: ACCOUNT,
            value: U256::from(5u8),
        }
        .abi_encode();
        let seen = view(ACCOUNT, &EvmCall::new(TOKEN, transfer.clone()));
        assert_eq!(seen.spend, Spend::Amount(latchkey_core::U256::from_u128(5)));
        assert_eq!(seen.selector, "0xa9059cbb");
        assert_eq!(seen.change, None);
        let short = EvmCall::new(TOKEN, transfer[..40].to_vec());
        assert_eq!(view(ACCOUNT, &short).spend, Spend::Malformed);
    }

    #[test]
    fn account_changes_are_the_inverse_of_session_calls() {
        let grant = SessionGrant {
            session_key: address_text(Address::repeat_byte(0x5e)),
            rules: SessionRules {
                valid_after: 10,
                valid_until: 99,
                max_calls: 4,
                permissions: vec![
                    Permission { target: Some(address_text(TOKEN)), selector: "0xa9059cbb".into() },
                    Permission { target: None, selector: "0x12345678".into() },
                ],
            },
        };
        for change in [
            AccountChange::RegisterSession(grant),
            AccountChange::RevokeSession(address_text(Address::repeat_byte(0x5e))),
            AccountChange::RevokeAllSessions,
            AccountChange::SetOwner(Some(address_text(Address::repeat_byte(0x77)))),
            AccountChange::SetSpendingCap(SpendingCap {
                session_key: address_text(Address::repeat_byte(0x5e)),
                token: address_text(TOKEN),
                max_per_call: latchkey_core::U256::from_u128(5),
                max_per_window: latchkey_core::U256::from_u128(1 << 100),
                window_seconds: 3600,
            }),
        ] {
            let calls = change_calls(ACCOUNT, std::slice::from_ref(&change)).unwrap();
            assert_eq!(view(ACCOUNT, &calls[0]).change, Some(change));
        }
        let batch =
            latchkey_evm_contracts::execute_batch(vec![EvmCall::new(TOKEN, vec![1]).to_abi()]);
        assert_eq!(
            calls_of_call_data(ACCOUNT, &batch).unwrap(),
            vec![EvmCall::new(TOKEN, vec![1])]
        );
        let form =
            latchkey_evm_contracts::execute_user_op(vec![EvmCall::new(TOKEN, vec![2]).to_abi()]);
        assert_eq!(calls_of_call_data(ACCOUNT, &form).unwrap(), vec![EvmCall::new(TOKEN, vec![2])]);
    }
}
