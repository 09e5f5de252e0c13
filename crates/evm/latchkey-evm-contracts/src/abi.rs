//! ABI bindings (alloy `sol!`) of what latchkey calls or decodes: the EntryPoint v0.8,
//! our account, factory and paymaster, and the demo contracts. Hand-written from the
//! Solidity sources; `tests/abi.rs` checks every selector and event topic against the
//! committed JSON artifacts under `contracts/evm/build/`.
#![allow(missing_docs)]

use alloy_sol_types::sol;

sol! {
    /// ERC-4337 v0.8 `PackedUserOperation`, as the EntryPoint and the account see it.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct PackedUserOperation {
        address sender;
        uint256 nonce;
        bytes initCode;
        bytes callData;
        bytes32 accountGasLimits;
        uint256 preVerificationGas;
        bytes32 gasFees;
        bytes paymasterAndData;
        bytes signature;
    }

    /// One call of `executeBatch` / `executeUserOp`.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Call {
        address target;
        uint256 value;
        bytes data;
    }

    /// One (target, selector) entry of a session's allowlist; target 0 = any contract.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct AllowedMethod {
        address target;
        bytes4 selector;
    }

    /// `LatchkeyAccount.getSession(key)`.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct SessionView {
        bool registered;
        bool revoked;
        bool active;
        uint48 validAfter;
        uint48 validUntil;
        uint32 maxCalls;
        uint64 callsUsed;
        uint32 registration;
        uint192 nonceKey;
        bool allowAll;
        bool hasSpendingCaps;
        AllowedMethod[] allowedMethods;
    }

    /// `LatchkeyAccount.getSpendingCap(key, token)`.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct SpendingCapView {
        uint128 maxPerCall;
        uint128 maxPerWindow;
        uint64 windowSeconds;
        uint128 spentInWindow;
        uint64 windowStart;
    }

    /// `Game.getPlayer(player)`.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct PlayerState {
        uint32 moves;
        uint32 unclaimedMoves;
        uint32 rewards;
        uint256 lastMove;
    }

    /// The ERC-4337 EntryPoint v0.8 (`@account-abstraction/contracts` 0.8.0).
    #[derive(Debug, PartialEq, Eq)]
    interface EntryPoint {
        event UserOperationEvent(
            bytes32 indexed userOpHash,
            address indexed sender,
            address indexed paymaster,
            uint256 nonce,
            bool success,
            uint256 actualGasCost,
            uint256 actualGasUsed
        );
        event UserOperationRevertReason(
            bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason
        );
        event PostOpRevertReason(
            bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason
        );
        event UserOperationPrefundTooLow(bytes32 indexed userOpHash, address indexed sender, uint256 nonce);
        event AccountDeployed(bytes32 indexed userOpHash, address indexed sender, address factory, address paymaster);
        event BeforeExecution();
        event Deposited(address indexed account, uint256 totalDeposit);

        error FailedOp(uint256 opIndex, string reason);
        error FailedOpWithRevert(uint256 opIndex, string reason, bytes inner);
        error SignatureValidationFailed(address aggregator);
        error PostOpReverted(bytes returnData);

        function handleOps(PackedUserOperation[] calldata ops, address payable beneficiary) external;
        function getUserOpHash(PackedUserOperation calldata userOp) external view returns (bytes32);
        function getNonce(address sender, uint192 key) external view returns (uint256 nonce);
        function incrementNonce(uint192 key) external;
        function balanceOf(address account) external view returns (uint256);
        function depositTo(address account) external payable;
        function senderCreator() external view returns (address);
        function getPackedUserOpTypeHash() external pure returns (bytes32);
        function getDomainSeparatorV4() external view returns (bytes32);
    }

    /// The EntryPoint's `SenderCreator`.
    #[derive(Debug, PartialEq, Eq)]
    interface SenderCreator {
        function entryPoint() external view returns (address);
    }

    /// latchkey's ERC-4337 account (`contracts/evm/src/LatchkeyAccount.sol`).
    #[derive(Debug, PartialEq, Eq)]
    interface LatchkeyAccount {
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

        error NotFromEntryPoint();
        error Unauthorized();
        error AlreadyInitialized();
        error ZeroAddress();
        error ForbiddenTarget(address target);
        error EmptyWindow();
        error AlreadyExpired();
        error ZeroMaxCalls();
        error TooManyMethods();
        error KeyWasRevoked();
        error UnknownOrRevokedSession();
        error InvalidSpendingCap();
        error NoSpendingCap();
        error NativeValueNotAllowed();
        error MalformedTokenCall();
        error PerCallCapExceeded(address token, uint256 amount);
        error WindowCapExceeded(address token, uint256 total);

        function execute(address target, uint256 value, bytes calldata data) external;
        function executeBatch(Call[] calldata calls) external;
        function executeUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external;
        function registerSession(
            address key, uint48 validAfter, uint48 validUntil, uint32 maxCalls, AllowedMethod[] calldata allowedMethods
        ) external;
        function setSpendingCap(
            address key, address token, uint128 maxPerCall, uint128 maxPerWindow, uint64 windowSeconds
        ) external;
        function removeSpendingCap(address key, address token) external;
        function revokeSession(address key) external;
        function revokeAllSessions() external;
        function setOwner(address newOwner) external;
        function owner() external view returns (address);
        function getSession(address key) external view returns (SessionView memory);
        function sessionNonceKey(address key) external view returns (uint192);
        function getSpendingCap(address key, address token) external view returns (SpendingCapView memory);
        function registrationCounters() external view returns (uint32 registrations, uint32 revokedThrough);
        function entryPoint() external view returns (address);
        function factory() external view returns (address);
        function sessionPaymaster() external view returns (address);
        function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4);
        function supportsInterface(bytes4 interfaceId) external pure returns (bool);
    }

    /// The CREATE2 factory of EIP-1167 account proxies.
    #[derive(Debug, PartialEq, Eq)]
    interface LatchkeyAccountFactory {
        event AccountCreated(address indexed account, address indexed owner, uint256 salt);

        function createAccount(address owner, uint256 salt) external returns (address account);
        function getAddress(address owner, uint256 salt) external view returns (address);
        function accountImplementation() external view returns (address);
    }

    /// latchkey's verifying paymaster.
    #[derive(Debug, PartialEq, Eq)]
    interface LatchkeyPaymaster {
        function getHash(PackedUserOperation calldata userOp, uint48 validUntil, uint48 validAfter)
            external view returns (bytes32);
        function deposit() external payable;
        function getDeposit() external view returns (uint256);
        function signer() external view returns (address);
        function owner() external view returns (address);
        function entryPoint() external view returns (address);
        function setSigner(address newSigner) external;
    }

    /// Demo: the game of the walkthrough.
    #[derive(Debug, PartialEq, Eq)]
    interface Game {
        event Moved(address indexed player, uint256 move, uint32 moves);
        event RewardClaimed(address indexed player, uint32 rewards);

        function makeMove(uint256 move) external;
        function claimReward() external returns (uint32 rewards);
        function getPlayer(address player) external view returns (PlayerState memory);
        function totalMoves() external view returns (uint64);
    }

    /// Demo: an ERC-20 anyone can mint (for spending caps).
    #[derive(Debug, PartialEq, Eq)]
    interface DemoToken {
        event Transfer(address indexed from, address indexed to, uint256 value);

        function mint(address to, uint256 amount) external;
        function transfer(address to, uint256 value) external returns (bool);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
        function approve(address spender, uint256 value) external returns (bool);
        function increaseAllowance(address spender, uint256 addedValue) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
    }

    /// Demo: an NFT with `mint(address)` (Openfort's example flow).
    #[derive(Debug, PartialEq, Eq)]
    interface DemoNft {
        function mint(address to) external returns (uint256 tokenId);
        function ownerOf(uint256 tokenId) external view returns (address);
        function balanceOf(address owner) external view returns (uint256);
        function totalMinted() external view returns (uint256);
    }
}
