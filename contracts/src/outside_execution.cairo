//! SNIP-12 revision 1 hash of a SNIP-9 v2 outside execution (u128 timestamps). This is
//! the one hash the account accepts on the outside-execution path.

use core::poseidon::poseidon_hash_span;
use starknet::ContractAddress;
use starknet::account::Call;
use crate::interfaces::OutsideExecution;

/// `"StarknetDomain"("name":"shortstring","version":"shortstring","chainId":"shortstring","revision":"shortstring")`
pub const STARKNET_DOMAIN_TYPE_HASH: felt252 = selector!(
    "\"StarknetDomain\"(\"name\":\"shortstring\",\"version\":\"shortstring\",\"chainId\":\"shortstring\",\"revision\":\"shortstring\")",
);

/// `"Call"("To":"ContractAddress","Selector":"selector","Calldata":"felt*")`
pub const CALL_TYPE_HASH: felt252 = selector!(
    "\"Call\"(\"To\":\"ContractAddress\",\"Selector\":\"selector\",\"Calldata\":\"felt*\")",
);

/// The SNIP-9 v2 type string, timestamps typed `u128`.
pub const OUTSIDE_EXECUTION_TYPE_HASH: felt252 = selector!(
    "\"OutsideExecution\"(\"Caller\":\"ContractAddress\",\"Nonce\":\"felt\",\"Execute After\":\"u128\",\"Execute Before\":\"u128\",\"Calls\":\"Call*\")\"Call\"(\"To\":\"ContractAddress\",\"Selector\":\"selector\",\"Calldata\":\"felt*\")",
);

/// `'ANY_CALLER'`: lets any contract relay the execution.
pub const ANY_CALLER: felt252 = 'ANY_CALLER';

fn hash_call(call: @Call) -> felt252 {
    let to: felt252 = (*call.to).into();
    poseidon_hash_span(
        array![CALL_TYPE_HASH, to, *call.selector, poseidon_hash_span(*call.calldata)].span(),
    )
}

/// The struct hash of an outside execution.
pub fn struct_hash(outside_execution: @OutsideExecution) -> felt252 {
    let mut call_hashes: Array<felt252> = array![];
    for call in *outside_execution.calls {
        call_hashes.append(hash_call(call));
    }
    let caller: felt252 = (*outside_execution.caller).into();
    let after: felt252 = (*outside_execution.execute_after).into();
    let before: felt252 = (*outside_execution.execute_before).into();
    poseidon_hash_span(
        array![
            OUTSIDE_EXECUTION_TYPE_HASH, caller, *outside_execution.nonce, after, before,
            poseidon_hash_span(call_hashes.span()),
        ]
            .span(),
    )
}

/// The domain hash: name `Account.execute_from_outside`, version 2, revision 1.
pub fn domain_hash(chain_id: felt252) -> felt252 {
    poseidon_hash_span(
        array![STARKNET_DOMAIN_TYPE_HASH, 'Account.execute_from_outside', 2, chain_id, 1].span(),
    )
}

/// The message hash an owner or session key signs for `account` on `chain_id`.
pub fn message_hash(
    outside_execution: @OutsideExecution, chain_id: felt252, account: ContractAddress,
) -> felt252 {
    let account: felt252 = account.into();
    poseidon_hash_span(
        array!['StarkNet Message', domain_hash(chain_id), account, struct_hash(outside_execution)]
            .span(),
    )
}
