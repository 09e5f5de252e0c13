// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IEntryPoint} from "@account-abstraction/contracts/interfaces/IEntryPoint.sol";
import {IPaymaster} from "@account-abstraction/contracts/interfaces/IPaymaster.sol";
import {PackedUserOperation} from "@account-abstraction/contracts/interfaces/PackedUserOperation.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title LatchkeyPaymaster
/// @notice A verifying paymaster (EntryPoint v0.8): it pays for a userOp that carries a
/// signature of its signer, inside the validity window the signer chose.
///
/// `paymasterAndData` is exactly 129 bytes:
///
/// | bytes    | field                                  |
/// |----------|----------------------------------------|
/// | 0..20    | paymaster address                      |
/// | 20..36   | paymasterVerificationGasLimit (uint128)|
/// | 36..52   | paymasterPostOpGasLimit (uint128)      |
/// | 52..58   | validUntil (uint48, 0 = no end)        |
/// | 58..64   | validAfter (uint48)                    |
/// | 64..129  | signature `r || s || v` (65 bytes)     |
///
/// The signer signs `getHash(userOp, validUntil, validAfter)` raw (no EIP-191 prefix):
/// keccak256 of the ABI encoding of sender, nonce, keccak256(initCode),
/// keccak256(callData), accountGasLimits, paymasterVerificationGasLimit,
/// paymasterPostOpGasLimit, preVerificationGas, gasFees, chain id, this paymaster's address,
/// validUntil and validAfter. The window goes back to the EntryPoint in `validationData`;
/// a wrong signer, a malformed signature or a wrong length fails validation (AA34) without
/// reverting. It never needs `postOp`.
contract LatchkeyPaymaster is IPaymaster {
    uint256 internal constant PAYMASTER_DATA_OFFSET = 52;
    uint256 internal constant PAYMASTER_AND_DATA_LENGTH = 129;
    uint256 internal constant SIG_VALIDATION_FAILED = 1;

    IEntryPoint public immutable entryPoint;
    address public owner;
    address public signer;

    event SignerChanged(address indexed previousSigner, address indexed newSigner);
    event OwnerChanged(address indexed previousOwner, address indexed newOwner);

    error NotFromEntryPoint();
    error Unauthorized();
    error ZeroAddress();
    error PostOpNotExpected();

    constructor(IEntryPoint entryPoint_, address owner_, address signer_) {
        if (address(entryPoint_) == address(0) || owner_ == address(0) || signer_ == address(0)) revert ZeroAddress();
        entryPoint = entryPoint_;
        owner = owner_;
        signer = signer_;
        emit OwnerChanged(address(0), owner_);
        emit SignerChanged(address(0), signer_);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert Unauthorized();
        _;
    }

    /// @inheritdoc IPaymaster
    function validatePaymasterUserOp(PackedUserOperation calldata userOp, bytes32, uint256)
        external
        view
        returns (bytes memory context, uint256 validationData)
    {
        if (msg.sender != address(entryPoint)) revert NotFromEntryPoint();
        bytes calldata data = userOp.paymasterAndData;
        if (data.length != PAYMASTER_AND_DATA_LENGTH) return ("", SIG_VALIDATION_FAILED);
        uint48 validUntil = uint48(bytes6(data[52:58]));
        uint48 validAfter = uint48(bytes6(data[58:64]));
        bytes32 hash = getHash(userOp, validUntil, validAfter);
        (address recovered, ECDSA.RecoverError error,) =
            ECDSA.tryRecover(hash, uint8(data[128]), bytes32(data[64:96]), bytes32(data[96:128]));
        uint256 failed = error == ECDSA.RecoverError.NoError && recovered == signer ? 0 : 1;
        return ("", failed | (uint256(validUntil) << 160) | (uint256(validAfter) << 208));
    }

    /// The hash the signer signs for `userOp` (whose `paymasterAndData` holds at least the
    /// 52-byte static part) and the window [validAfter, validUntil].
    function getHash(PackedUserOperation calldata userOp, uint48 validUntil, uint48 validAfter)
        public
        view
        returns (bytes32)
    {
        bytes calldata data = userOp.paymasterAndData;
        return keccak256(
            abi.encode(
                userOp.sender,
                userOp.nonce,
                keccak256(userOp.initCode),
                keccak256(userOp.callData),
                userOp.accountGasLimits,
                uint128(bytes16(data[20:36])),
                uint128(bytes16(data[36:52])),
                userOp.preVerificationGas,
                userOp.gasFees,
                block.chainid,
                address(this),
                validUntil,
                validAfter
            )
        );
    }

    /// @inheritdoc IPaymaster
    function postOp(PostOpMode, bytes calldata, uint256, uint256) external pure {
        revert PostOpNotExpected();
    }

    // ---------------------------------------------------------------------------------
    // Owner: signer, ownership, EntryPoint deposit and stake
    // ---------------------------------------------------------------------------------

    function setSigner(address newSigner) external onlyOwner {
        if (newSigner == address(0)) revert ZeroAddress();
        emit SignerChanged(signer, newSigner);
        signer = newSigner;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnerChanged(owner, newOwner);
        owner = newOwner;
    }

    /// Adds to this paymaster's EntryPoint deposit (anyone may fund it).
    function deposit() external payable {
        entryPoint.depositTo{value: msg.value}(address(this));
    }

    function withdrawTo(address payable to, uint256 amount) external onlyOwner {
        entryPoint.withdrawTo(to, amount);
    }

    function addStake(uint32 unstakeDelaySec) external payable onlyOwner {
        entryPoint.addStake{value: msg.value}(unstakeDelaySec);
    }

    function unlockStake() external onlyOwner {
        entryPoint.unlockStake();
    }

    function withdrawStake(address payable to) external onlyOwner {
        entryPoint.withdrawStake(to);
    }

    function getDeposit() external view returns (uint256) {
        return entryPoint.balanceOf(address(this));
    }
}
