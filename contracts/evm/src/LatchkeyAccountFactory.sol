// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IEntryPoint} from "@account-abstraction/contracts/interfaces/IEntryPoint.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {LatchkeyAccount} from "./LatchkeyAccount.sol";

/// @title LatchkeyAccountFactory
/// @notice Deploys `LatchkeyAccount` minimal proxies (EIP-1167) with CREATE2. The address
/// depends on the owner and a salt only, so it is known before deployment and nobody can
/// deploy it for another owner. `createAccount` is what a first userOp puts in its
/// `factory` / `factoryData` fields (the EntryPoint calls it through its SenderCreator);
/// anyone may call it, and it returns the existing account when already deployed.
contract LatchkeyAccountFactory {
    /// The account implementation every proxy runs; it has no owner and cannot be
    /// initialised.
    LatchkeyAccount public immutable accountImplementation;

    event AccountCreated(address indexed account, address indexed owner, uint256 salt);

    constructor(IEntryPoint entryPoint, address sessionPaymaster) {
        accountImplementation = new LatchkeyAccount(entryPoint, sessionPaymaster);
    }

    /// Deploys the account of (`owner`, `salt`) unless it exists; returns its address.
    function createAccount(address owner, uint256 salt) external returns (LatchkeyAccount account) {
        bytes32 create2Salt = _create2Salt(owner, salt);
        address predicted = Clones.predictDeterministicAddress(address(accountImplementation), create2Salt);
        if (predicted.code.length != 0) return LatchkeyAccount(payable(predicted));
        address deployed = Clones.cloneDeterministic(address(accountImplementation), create2Salt);
        LatchkeyAccount(payable(deployed)).initialize(owner);
        emit AccountCreated(deployed, owner, salt);
        return LatchkeyAccount(payable(deployed));
    }

    /// The counterfactual address of the account of (`owner`, `salt`).
    function getAddress(address owner, uint256 salt) external view returns (address) {
        return Clones.predictDeterministicAddress(address(accountImplementation), _create2Salt(owner, salt));
    }

    function _create2Salt(address owner, uint256 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(owner, salt));
    }
}
