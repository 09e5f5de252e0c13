//! Interfaces, shared types and SRC-5 interface ids of the latchkey account.

use starknet::account::Call;
use starknet::{ClassHash, ContractAddress};

/// SRC-5 id of SRC-5 itself.
pub const ISRC5_ID: felt252 = 0x3f918d17e5ee77373b56385708f855659a07f75997f365cf87748628532a055;
/// SRC-5 id of the SRC-6 account interface.
pub const ISRC6_ID: felt252 = 0x2ceccef7f994940b3962a6c67e0ba4fcd37df7d131417c604f91e03caecc1cd;
/// SRC-5 id of SNIP-9 v2 (`execute_from_outside_v2`).
pub const ISRC9_V2_ID: felt252 = 0x1d1144bb2138366ff28d8e9ab57456b1d332ac42196230c3a602003c89872;
/// SRC-5 id of the Chipi-compatible session key manager: the XOR of the selectors of
/// `add_or_update_session_key`, `revoke_session_key` and `get_session_data`.
pub const ISESSION_KEY_MANAGER_ID: felt252 =
    0x037ab4f01106526662a612eaa2926df2aa314c4144b964f183805880bbcfa55d;
/// SRC-5 id of latchkey's session extensions: the XOR of the selectors of
/// `register_session`, `revoke_all_sessions` and `get_session`.
pub const ILATCHKEY_SESSIONS_ID: felt252 =
    0x4b64e160281ff35ee7c081fd17722e26e6a102db0beb486c328753c37446ca;

/// A SNIP-9 v2 outside execution.
#[derive(Drop, Copy, Serde, Debug)]
pub struct OutsideExecution {
    pub caller: ContractAddress,
    pub nonce: felt252,
    pub execute_after: u64,
    pub execute_before: u64,
    pub calls: Span<Call>,
}

/// One allowed method of a session: `contract` zero matches any contract.
#[derive(Drop, Copy, Serde, Debug, PartialEq, starknet::Store)]
pub struct AllowedMethod {
    pub contract: ContractAddress,
    pub selector: felt252,
}

/// What `get_session_data` returns, serialised as
/// `[is_active, valid_until, remaining_calls, n, selectors...]`: the layout the Chipi SDK
/// parses.
#[derive(Drop, Serde, Debug, PartialEq)]
pub struct SessionStatus {
    pub is_active: bool,
    pub valid_until: u64,
    pub remaining_calls: u32,
    pub allowed_entrypoints: Array<felt252>,
}

/// The full view of a session.
#[derive(Drop, Serde, Debug, PartialEq)]
pub struct SessionView {
    pub registered: bool,
    pub revoked: bool,
    pub is_active: bool,
    pub valid_after: u64,
    pub valid_until: u64,
    pub max_calls: u32,
    pub calls_used: u32,
    pub allow_all: bool,
    pub allowed_methods: Array<AllowedMethod>,
}

/// A spending cap of one session on one token; serialised as
/// `[mpc.lo, mpc.hi, mpw.lo, mpw.hi, window, spent.lo, spent.hi, window_start]`.
#[derive(Drop, Copy, Serde, Debug, PartialEq, starknet::Store)]
pub struct SpendingPolicy {
    pub max_per_call: u256,
    pub max_per_window: u256,
    pub window_seconds: u64,
    pub spent_in_window: u256,
    pub window_start: u64,
}

#[starknet::interface]
pub trait IAccount<TState> {
    fn __validate__(ref self: TState, calls: Array<Call>) -> felt252;
    fn __execute__(ref self: TState, calls: Array<Call>) -> Array<Span<felt252>>;
    fn is_valid_signature(self: @TState, hash: felt252, signature: Array<felt252>) -> felt252;
    fn isValidSignature(self: @TState, hash: felt252, signature: Array<felt252>) -> felt252;
    fn __validate_declare__(self: @TState, class_hash: felt252) -> felt252;
    fn __validate_deploy__(
        self: @TState, class_hash: felt252, contract_address_salt: felt252, public_key: felt252,
    ) -> felt252;
    fn get_public_key(self: @TState) -> felt252;
    fn getPublicKey(self: @TState) -> felt252;
    fn set_public_key(ref self: TState, new_public_key: felt252);
    fn setPublicKey(ref self: TState, newPublicKey: felt252);
    fn upgrade(ref self: TState, new_class_hash: ClassHash);
}

#[starknet::interface]
pub trait ISRC5<TState> {
    fn supports_interface(self: @TState, interface_id: felt252) -> bool;
}

#[starknet::interface]
pub trait IOutsideExecutionV2<TState> {
    fn execute_from_outside_v2(
        ref self: TState, outside_execution: OutsideExecution, signature: Span<felt252>,
    ) -> Array<Span<felt252>>;
    fn is_valid_outside_execution_nonce(self: @TState, nonce: felt252) -> bool;
    fn get_outside_execution_message_hash_rev_1(
        self: @TState, outside_execution: OutsideExecution,
    ) -> felt252;
}

/// The Chipi-compatible session entrypoints (calldata as `@chipi-stack/backend` builds it).
#[starknet::interface]
pub trait ISessionKeyManager<TState> {
    fn add_or_update_session_key(
        ref self: TState,
        session_key: felt252,
        valid_until: u64,
        max_calls: u32,
        allowed_entrypoints: Array<felt252>,
    );
    fn revoke_session_key(ref self: TState, session_key: felt252);
    fn get_session_data(self: @TState, session_key: felt252) -> SessionStatus;
}

#[starknet::interface]
pub trait ISessionSpendingPolicy<TState> {
    fn set_spending_policy(
        ref self: TState,
        session_key: felt252,
        token: ContractAddress,
        max_per_call: u256,
        max_per_window: u256,
        window_seconds: u64,
    );
    fn get_spending_policy(
        self: @TState, session_key: felt252, token: ContractAddress,
    ) -> SpendingPolicy;
    fn remove_spending_policy(ref self: TState, session_key: felt252, token: ContractAddress);
}

/// latchkey's session extensions.
#[starknet::interface]
pub trait ILatchkeySessions<TState> {
    fn register_session(
        ref self: TState,
        session_key: felt252,
        valid_after: u64,
        valid_until: u64,
        max_calls: u32,
        allowed_methods: Array<AllowedMethod>,
    );
    fn revoke_all_sessions(ref self: TState);
    fn get_session(self: @TState, session_key: felt252) -> SessionView;
}
