// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// One call of a batch.
struct Call {
    address target;
    uint256 value;
    bytes data;
}

/// An allowlist entry: `target == address(0)` allows the selector on any contract.
struct AllowedMethod {
    address target;
    bytes4 selector;
}

/// Everything the account stores about a session key, for off-chain readers.
struct SessionView {
    bool registered;
    /// Registered once, then revoked one by one, by `revokeAllSessions` or by an owner
    /// rotation.
    bool revoked;
    /// Registered, not revoked, inside its time window at the current block and with
    /// calls left.
    bool active;
    uint48 validAfter;
    uint48 validUntil;
    uint32 maxCalls;
    /// UserOps validated so far: the sequence of the session's EntryPoint nonce key,
    /// minus the 1 the registration started it at.
    uint64 callsUsed;
    /// The registration number (0 when never registered).
    uint32 registration;
    /// The EntryPoint nonce key every userOp of this registration must use
    /// (`key << 32 | registration`).
    uint192 nonceKey;
    /// The allowlist is empty: any (target, selector) except the forbidden targets.
    bool allowAll;
    bool hasSpendingCaps;
    AllowedMethod[] allowedMethods;
}

/// A spending cap of one session key on one token (`NATIVE_TOKEN` for ETH value).
struct SpendingCapView {
    uint128 maxPerCall;
    uint128 maxPerWindow;
    uint64 windowSeconds;
    uint128 spentInWindow;
    uint64 windowStart;
}

/// Session management of a latchkey account. Every state-changing function is owner-only:
/// it runs when the account calls itself (an owner-signed userOp), when the EntryPoint
/// calls it for an owner-signed userOp, or when the owner calls it directly.
interface ILatchkeySessions {
    event SessionRegistered(
        address indexed key, uint32 registration, uint48 validAfter, uint48 validUntil, uint32 maxCalls, uint256 allowedMethods
    );
    event SessionRevoked(address indexed key, uint32 registration);
    event AllSessionsRevoked(uint32 revokedThrough);
    event OwnerChanged(address indexed previousOwner, address indexed newOwner);
    event SpendingCapSet(
        address indexed key, address indexed token, uint128 maxPerCall, uint128 maxPerWindow, uint64 windowSeconds
    );
    event SpendingCapRemoved(address indexed key, address indexed token);

    function registerSession(
        address key,
        uint48 validAfter,
        uint48 validUntil,
        uint32 maxCalls,
        AllowedMethod[] calldata allowedMethods
    ) external;

    function setSpendingCap(
        address key,
        address token,
        uint128 maxPerCall,
        uint128 maxPerWindow,
        uint64 windowSeconds
    ) external;

    function removeSpendingCap(address key, address token) external;

    function revokeSession(address key) external;

    function revokeAllSessions() external;

    function setOwner(address newOwner) external;

    function owner() external view returns (address);

    function getSession(address key) external view returns (SessionView memory);

    function sessionNonceKey(address key) external view returns (uint192);

    function getSpendingCap(address key, address token) external view returns (SpendingCapView memory);
}
