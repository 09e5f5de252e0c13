//! Calldata builders for the account and the factory, and the session nonce.

use alloy_primitives::{address, Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolValue};

use crate::abi::{AllowedMethod, Call, LatchkeyAccount, LatchkeyAccountFactory};

/// The account's token address for native ETH in spending caps.
pub const NATIVE_TOKEN: Address = address!("EeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE");

/// `executeUserOp(PackedUserOperation,bytes32)`'s selector: a userOp whose `callData`
/// starts with it makes the EntryPoint call `executeUserOp`.
pub const EXECUTE_USER_OP_SELECTOR: [u8; 4] = LatchkeyAccount::executeUserOpCall::SELECTOR;

/// `execute(target, value, data)`.
pub fn execute(target: Address, value: U256, data: Bytes) -> Bytes {
    LatchkeyAccount::executeCall { target, value, data }.abi_encode().into()
}

/// `executeBatch(calls)`.
pub fn execute_batch(calls: Vec<Call>) -> Bytes {
    LatchkeyAccount::executeBatchCall { calls }.abi_encode().into()
}

/// `0x8dd7712f ‖ abi.encode(Call[] calls)`: the userOp `callData` that runs `calls`
/// through `executeUserOp` (required for a session with spending caps).
pub fn execute_user_op(calls: Vec<Call>) -> Bytes {
    [&EXECUTE_USER_OP_SELECTOR[..], &(calls,).abi_encode_params()].concat().into()
}

/// `registerSession(key, validAfter, validUntil, maxCalls, allowedMethods)`.
pub fn register_session(
    key: Address,
    valid_after: u64,
    valid_until: u64,
    max_calls: u32,
    allowed_methods: Vec<AllowedMethod>,
) -> Bytes {
    use alloy_primitives::aliases::U48;
    LatchkeyAccount::registerSessionCall {
        key,
        validAfter: U48::from(valid_after & 0xffff_ffff_ffff),
        validUntil: U48::from(valid_until & 0xffff_ffff_ffff),
        maxCalls: max_calls,
        allowedMethods: allowed_methods,
    }
    .abi_encode()
    .into()
}

/// `setSpendingCap(key, token, maxPerCall, maxPerWindow, windowSeconds)`.
pub fn set_spending_cap(
    key: Address,
    token: Address,
    max_per_call: u128,
    max_per_window: u128,
    window_seconds: u64,
) -> Bytes {
    LatchkeyAccount::setSpendingCapCall {
        key,
        token,
        maxPerCall: max_per_call,
        maxPerWindow: max_per_window,
        windowSeconds: window_seconds,
    }
    .abi_encode()
    .into()
}

/// `revokeSession(key)`.
pub fn revoke_session(key: Address) -> Bytes {
    LatchkeyAccount::revokeSessionCall { key }.abi_encode().into()
}

/// `revokeAllSessions()`.
pub fn revoke_all_sessions() -> Bytes {
    LatchkeyAccount::revokeAllSessionsCall {}.abi_encode().into()
}

/// `setOwner(newOwner)` (revokes every session).
pub fn set_owner(new_owner: Address) -> Bytes {
    LatchkeyAccount::setOwnerCall { newOwner: new_owner }.abi_encode().into()
}

/// The factory data of a first userOp: `createAccount(owner, salt)`.
pub fn create_account_data(owner: Address, salt: U256) -> Bytes {
    LatchkeyAccountFactory::createAccountCall { owner, salt }.abi_encode().into()
}

/// A session's EntryPoint nonce key: `uint192(key) << 32 | registration`
/// (= `LatchkeyAccount.sessionNonceKey(key)` for the current registration).
pub fn session_nonce_key(key: Address, registration: u32) -> U256 {
    (U256::from_be_slice(key.as_slice()) << 32) | U256::from(registration)
}

/// A userOp nonce: `key (192 bits) << 64 | sequence`; `key` is truncated to 192 bits as
/// the EntryPoint reads it.
pub fn nonce(key: U256, sequence: u64) -> U256 {
    let key192 = key & ((U256::from(1u8) << 192) - U256::from(1u8));
    (key192 << 64) | U256::from(sequence)
}

/// The (key, sequence) of a nonce.
pub fn split_nonce(nonce: U256) -> (U256, u64) {
    (nonce >> 64, nonce.as_limbs()[0])
}
