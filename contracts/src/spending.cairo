//! Spending caps: per session and token, a cap per call and a cap per fixed window.
//! Amounts of `transfer`, `transfer_from`/`transferFrom`, `approve` and
//! `increase_allowance`/`increaseAllowance` count against them.
//!
//! The window is fixed, not rolling: it starts at the first spend after the previous
//! window ended and lasts `window_seconds`. Up to twice `max_per_window` can therefore
//! move within a short time across the end of one window and the start of the next.

use starknet::account::Call;
use crate::interfaces::SpendingPolicy;

/// Where the `u256` amount starts in a tracked call's calldata, if the call is tracked.
pub fn amount_index(selector: felt252) -> Option<u32> {
    if selector == selector!("transfer")
        || selector == selector!("approve")
        || selector == selector!("increase_allowance")
        || selector == selector!("increaseAllowance") {
        Option::Some(1)
    } else if selector == selector!("transfer_from") || selector == selector!("transferFrom") {
        Option::Some(2)
    } else {
        Option::None
    }
}

/// The amount a tracked call moves; panics on malformed calldata.
pub fn call_amount(call: @Call, index: u32) -> u256 {
    let calldata = *call.calldata;
    assert(calldata.len() >= index + 2, 'Spending: bad calldata');
    let low: Option<u128> = (*calldata.at(index)).try_into();
    let high: Option<u128> = (*calldata.at(index + 1)).try_into();
    match (low, high) {
        (Option::Some(low), Option::Some(high)) => u256 { low, high },
        _ => core::panic_with_felt252('Spending: bad amount'),
    }
}

/// Applies one amount at `now`: starts a new window when the current one has elapsed,
/// enforces both caps
/// and records the spend. Panics when a cap would be exceeded.
pub fn apply(ref policy: SpendingPolicy, amount: u256, now: u64) {
    assert(amount <= policy.max_per_call, 'Spending: per-call cap');
    // A clock that went backwards (possible on a test chain) also starts a new window.
    let window_over = if now < policy.window_start {
        true
    } else {
        now - policy.window_start >= policy.window_seconds
    };
    if window_over {
        policy.window_start = now;
        policy.spent_in_window = 0;
    }
    let total = policy.spent_in_window + amount;
    assert(total <= policy.max_per_window, 'Spending: window cap');
    policy.spent_in_window = total;
}

/// A policy is set when its window is non-zero.
pub fn is_set(window_seconds: u64) -> bool {
    window_seconds != 0
}
