//! A call forwarder for the test suite: it calls any contract on request, and can store
//! a call to replay later. Tests use it to call an account's `__execute__` or
//! `__validate__` from another contract, to run `__execute__` as a `meta_tx_v0` meta
//! transaction, and to re-enter `execute_from_outside_v2` from inside an outside execution.

use starknet::ContractAddress;

#[starknet::interface]
pub trait ICallForwarder<TState> {
    fn forward(
        ref self: TState, to: ContractAddress, selector: felt252, calldata: Array<felt252>,
    ) -> Span<felt252>;
    fn store_call(ref self: TState, to: ContractAddress, selector: felt252, calldata: Array<felt252>);
    fn replay(ref self: TState) -> Span<felt252>;
    fn forward_meta_tx_v0(
        ref self: TState,
        to: ContractAddress,
        selector: felt252,
        calldata: Array<felt252>,
        signature: Array<felt252>,
    ) -> Span<felt252>;
}

#[starknet::contract]
pub mod CallForwarder {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::syscalls::{call_contract_syscall, meta_tx_v0_syscall};
    use starknet::{ContractAddress, SyscallResultTrait};
    use super::ICallForwarder;

    #[storage]
    struct Storage {
        to: ContractAddress,
        selector: felt252,
        calldata_len: u32,
        calldata: Map<u32, felt252>,
    }

    #[abi(embed_v0)]
    impl CallForwarderImpl of ICallForwarder<ContractState> {
        fn forward(
            ref self: ContractState, to: ContractAddress, selector: felt252, calldata: Array<felt252>,
        ) -> Span<felt252> {
            call_contract_syscall(to, selector, calldata.span()).unwrap_syscall()
        }

        fn store_call(
            ref self: ContractState, to: ContractAddress, selector: felt252, calldata: Array<felt252>,
        ) {
            self.to.write(to);
            self.selector.write(selector);
            let mut index: u32 = 0;
            for item in calldata {
                self.calldata.write(index, item);
                index += 1;
            }
            self.calldata_len.write(index);
        }

        fn replay(ref self: ContractState) -> Span<felt252> {
            let mut calldata: Array<felt252> = array![];
            for index in 0..self.calldata_len.read() {
                calldata.append(self.calldata.read(index));
            }
            call_contract_syscall(self.to.read(), self.selector.read(), calldata.span())
                .unwrap_syscall()
        }

        fn forward_meta_tx_v0(
            ref self: ContractState,
            to: ContractAddress,
            selector: felt252,
            calldata: Array<felt252>,
            signature: Array<felt252>,
        ) -> Span<felt252> {
            meta_tx_v0_syscall(to, selector, calldata.span(), signature.span()).unwrap_syscall()
        }
    }
}
