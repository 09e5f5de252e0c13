// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccount} from "@account-abstraction/contracts/interfaces/IAccount.sol";
import {IAccountExecute} from "@account-abstraction/contracts/interfaces/IAccountExecute.sol";
import {IEntryPoint} from "@account-abstraction/contracts/interfaces/IEntryPoint.sol";
import {PackedUserOperation} from "@account-abstraction/contracts/interfaces/PackedUserOperation.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {
    AllowedMethod, Call, ILatchkeySessions, SessionView, SpendingCapView
} from "./ILatchkeySessions.sol";

/// @title LatchkeyAccount
/// @notice An ERC-4337 (EntryPoint v0.8) smart account with one secp256k1 owner and
/// on-chain session keys: a time window, a call counter, a (target, selector) allowlist
/// and per-token spending caps. Deployed as a minimal proxy (EIP-1167) by
/// `LatchkeyAccountFactory`, which initialises it with its owner.
///
/// ## userOp signature: exactly 66 bytes, `kind (1) || r (32) || s (32) || v (1)`
///
/// | kind   | signer  | signed digest                                               |
/// |--------|---------|-------------------------------------------------------------|
/// | `0x00` | owner   | `userOpHash` (raw; what an EIP-712 wallet signs)            |
/// | `0x01` | owner   | EIP-191 `personal_sign` over the 32 bytes of `userOpHash`   |
/// | `0x02` | session | `userOpHash` (raw)                                          |
/// | `0x03` | session | EIP-191 `personal_sign` over the 32 bytes of `userOpHash`   |
///
/// The session key is the address recovered from the signature. `v` is 27 or 28 and `s`
/// is in the lower half of the curve order; any other length, kind or encoding makes
/// `validateUserOp` return `SIG_VALIDATION_FAILED` (never revert). The v0.8 `userOpHash`
/// is EIP-712 over the EntryPoint's domain (chain id and EntryPoint address), so no
/// signature replays on another chain or EntryPoint.
///
/// ## Owner userOps
/// `callData` is `execute(target, value, data)`, `executeBatch(Call[])`, any owner-only
/// function of this account (called by the EntryPoint), or `executeUserOp` as below. Any
/// nonce key. Without a paymaster the account pays its prefund.
///
/// ## Session userOps
/// - the session is registered and not revoked (one by one, by `revokeAllSessions` or by
///   an owner rotation);
/// - the userOp's nonce key is the session's own, `key << 32 | registration`
///   (`sessionNonceKey`): the EntryPoint's nonce sequence for that key is the call
///   counter. Registration starts it at 1, so a session has `maxCalls` userOps with
///   sequences 1..maxCalls. Every validated userOp uses one call, whatever its number of
///   calls and whether its execution then succeeds; a new registration of the key gets a
///   new nonce key, so a fresh counter;
/// - `paymasterAndData` names `sessionPaymaster` (the latchkey paymaster fixed at
///   deployment): a session never makes the account pay for gas;
/// - no call targets this account, the EntryPoint, the factory or the paymaster, and
///   every call's (target, selector) is allowed (target 0 = any contract; an empty
///   allowlist allows any method); data shorter than 4 bytes has selector `0x00000000`;
/// - `callData` is `execute(...)` or `executeBatch(...)` with no ETH value when the key
///   has no spending cap; otherwise (and always allowed) it is
///   `IAccountExecute.executeUserOp.selector || abi.encode(Call[])`, and the EntryPoint
///   calls `executeUserOp(userOp, userOpHash)`, which applies the caps and runs the calls,
///   all or none;
/// - validity is `validAfter <= block.timestamp <= validUntil`, enforced by the
///   EntryPoint through `validationData` (validation reads no clock, as ERC-7562 asks);
/// - at execution, spending caps bound each call's ETH value (token `NATIVE_TOKEN`; a
///   call with value needs a native cap) and the amounts of ERC-20 `transfer`,
///   `transferFrom`, `approve` and `increaseAllowance` on tokens with a cap. A refused cap
///   reverts the whole execution.
///
/// Which session validated an `executeUserOp` userOp is kept in transient storage under
/// its `userOpHash` between validation and execution, and cleared when read. Validation
/// of a userOp sees the state left by earlier executions only: a cap or revocation set by
/// another userOp of the same bundle applies from the next bundle on. The account never
/// runs `DELEGATECALL` (the EIP-1167 proxy in front of it delegates to this code only).
/// `isValidSignature` (ERC-1271) accepts owner signatures only.
contract LatchkeyAccount is IAccount, IAccountExecute, IERC1271, IERC165, IERC721Receiver, ILatchkeySessions {
    /// Signature kinds (the first byte of `userOp.signature`).
    uint8 internal constant KIND_OWNER_RAW = 0;
    uint8 internal constant KIND_OWNER_EIP191 = 1;
    uint8 internal constant KIND_SESSION_RAW = 2;
    uint8 internal constant KIND_SESSION_EIP191 = 3;
    uint256 internal constant SIGNATURE_LENGTH = 66;

    uint256 internal constant SIG_VALIDATION_SUCCESS = 0;
    uint256 internal constant SIG_VALIDATION_FAILED = 1;

    /// The token address under which ETH value is capped.
    address public constant NATIVE_TOKEN = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    /// Most allowlist entries per session.
    uint256 public constant MAX_ALLOWED_METHODS = 128;

    uint8 internal constant FLAG_ALLOW_ALL = 1;
    uint8 internal constant FLAG_REVOKED = 2;
    uint8 internal constant FLAG_HAS_CAPS = 4;

    bytes4 internal constant ERC1271_MAGIC = 0x1626ba7e;
    bytes4 internal constant ERC1271_INVALID = 0xffffffff;

    bytes4 internal constant SELECTOR_TRANSFER = 0xa9059cbb; // transfer(address,uint256)
    bytes4 internal constant SELECTOR_APPROVE = 0x095ea7b3; // approve(address,uint256)
    bytes4 internal constant SELECTOR_INCREASE_ALLOWANCE = 0x39509351; // increaseAllowance(address,uint256)
    bytes4 internal constant SELECTOR_TRANSFER_FROM = 0x23b872dd; // transferFrom(address,address,uint256)

    IEntryPoint public immutable entryPoint;
    /// The factory that deployed this implementation; the only caller of `initialize`.
    address public immutable factory;
    /// The only paymaster a session userOp may use.
    address public immutable sessionPaymaster;

    /// Slot 0: the owner, how many registrations were ever made, and the watermark at or
    /// below which every registration is revoked.
    struct Root {
        address owner;
        uint32 registrations;
        uint32 revokedThrough;
    }

    /// One slot per session key.
    struct SessionRecord {
        uint48 validAfter;
        uint48 validUntil;
        uint32 maxCalls;
        uint32 registration;
        uint8 flags;
    }

    /// Two slots per (session key, token).
    struct Cap {
        uint128 maxPerCall;
        uint128 maxPerWindow;
        uint128 spentInWindow;
        uint64 windowStart;
        uint64 windowSeconds;
    }

    Root private _root;
    mapping(address key => SessionRecord) private _sessions;
    /// keccak256(registration, target, selector) => allowed.
    mapping(bytes32 methodKey => bool) private _allowed;
    mapping(uint32 registration => AllowedMethod[]) private _methods;
    mapping(address key => mapping(address token => Cap)) private _caps;
    mapping(address key => uint256) private _capCount;

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

    constructor(IEntryPoint entryPoint_, address sessionPaymaster_) {
        if (address(entryPoint_) == address(0) || sessionPaymaster_ == address(0)) revert ZeroAddress();
        entryPoint = entryPoint_;
        factory = msg.sender;
        sessionPaymaster = sessionPaymaster_;
    }

    /// Sets the owner of a fresh proxy; only the factory may call it, once. The
    /// implementation itself never gets an owner.
    function initialize(address owner_) external {
        if (msg.sender != factory) revert Unauthorized();
        if (_root.owner != address(0)) revert AlreadyInitialized();
        if (owner_ == address(0)) revert ZeroAddress();
        _root.owner = owner_;
        emit OwnerChanged(address(0), owner_);
    }

    receive() external payable {}

    // ---------------------------------------------------------------------------------
    // ERC-4337
    // ---------------------------------------------------------------------------------

    /// @inheritdoc IAccount
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        returns (uint256 validationData)
    {
        if (msg.sender != address(entryPoint)) revert NotFromEntryPoint();
        bytes calldata signature = userOp.signature;
        if (signature.length != SIGNATURE_LENGTH) return SIG_VALIDATION_FAILED;
        uint256 kind;
        assembly ("memory-safe") {
            kind := byte(0, calldataload(signature.offset))
        }
        if (kind > KIND_SESSION_EIP191) return SIG_VALIDATION_FAILED;
        bytes32 digest = kind & 1 == 0 ? userOpHash : MessageHashUtils.toEthSignedMessageHash(userOpHash);
        address signer = _recover(digest, signature, 1);
        if (signer == address(0)) return SIG_VALIDATION_FAILED;
        if (kind < KIND_SESSION_RAW) {
            if (signer != _root.owner) return SIG_VALIDATION_FAILED;
            if (missingAccountFunds != 0) {
                // The EntryPoint checks the deposit itself; a failed transfer fails there.
                (bool sent,) = payable(msg.sender).call{value: missingAccountFunds}("");
                (sent);
            }
            return SIG_VALIDATION_SUCCESS;
        }
        return _validateSession(userOp, userOpHash, signer);
    }

    /// @notice Runs a validated userOp whose `callData` is
    /// `executeUserOp.selector || abi.encode(Call[])`, all calls or none. For a
    /// session-signed userOp the session's spending caps are applied first.
    function executeUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external {
        if (msg.sender != address(entryPoint)) revert NotFromEntryPoint();
        Call[] memory calls = abi.decode(userOp.callData[4:], (Call[]));
        address key;
        assembly ("memory-safe") {
            key := tload(userOpHash)
        }
        if (key != address(0)) {
            assembly ("memory-safe") {
                tstore(userOpHash, 0)
            }
            _applySpending(key, calls);
        }
        uint256 length = calls.length;
        for (uint256 i = 0; i < length; ++i) {
            Call memory c = calls[i];
            _call(c.target, c.value, c.data);
        }
    }

    /// One call, by the EntryPoint (for a validated userOp) or the owner directly.
    function execute(address target, uint256 value, bytes calldata data) external {
        _requireEntryPointOrOwner();
        _call(target, value, data);
    }

    /// Several calls, all or none, by the EntryPoint (for a validated userOp) or the owner
    /// directly.
    function executeBatch(Call[] calldata calls) external {
        _requireEntryPointOrOwner();
        uint256 length = calls.length;
        for (uint256 i = 0; i < length; ++i) {
            Call calldata c = calls[i];
            _call(c.target, c.value, c.data);
        }
    }

    // ---------------------------------------------------------------------------------
    // ERC-1271, ERC-165, token callbacks
    // ---------------------------------------------------------------------------------

    /// Owner signatures only: 65 bytes `r || s || v` over `hash`, or 66 bytes with a
    /// leading kind `0x00` (over `hash`) or `0x01` (EIP-191 over the 32 bytes of `hash`).
    /// Session signatures are never valid here.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        address signer;
        if (signature.length == 65) {
            signer = _recover(hash, signature, 0);
        } else if (signature.length == SIGNATURE_LENGTH) {
            uint8 kind = uint8(signature[0]);
            if (kind == KIND_OWNER_RAW) {
                signer = _recover(hash, signature, 1);
            } else if (kind == KIND_OWNER_EIP191) {
                signer = _recover(MessageHashUtils.toEthSignedMessageHash(hash), signature, 1);
            }
        }
        if (signer != address(0) && signer == _root.owner) return ERC1271_MAGIC;
        return ERC1271_INVALID;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IAccount).interfaceId
            || interfaceId == type(IAccountExecute).interfaceId || interfaceId == type(IERC1271).interfaceId
            || interfaceId == type(IERC721Receiver).interfaceId || interfaceId == type(ILatchkeySessions).interfaceId;
    }

    /// @inheritdoc IERC721Receiver
    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return IERC721Receiver.onERC721Received.selector;
    }

    // ---------------------------------------------------------------------------------
    // Session management (owner only)
    // ---------------------------------------------------------------------------------

    /// @notice Registers `key`, or replaces a current registration of it (fresh counter and
    /// allowlist). A key that was ever revoked can never be registered again.
    function registerSession(
        address key,
        uint48 validAfter,
        uint48 validUntil,
        uint32 maxCalls,
        AllowedMethod[] calldata allowedMethods
    ) external {
        _requireOwnerAuth();
        if (key == address(0)) revert ZeroAddress();
        if (validUntil <= validAfter) revert EmptyWindow();
        if (validUntil < block.timestamp) revert AlreadyExpired();
        if (maxCalls == 0) revert ZeroMaxCalls();
        uint256 count = allowedMethods.length;
        if (count > MAX_ALLOWED_METHODS) revert TooManyMethods();
        Root memory root = _root;
        SessionRecord memory previous = _sessions[key];
        if (previous.registration != 0 && !_isCurrent(previous, root.revokedThrough)) revert KeyWasRevoked();

        uint32 registration = root.registrations + 1;
        _root.registrations = registration;
        AllowedMethod[] storage methods = _methods[registration];
        for (uint256 i = 0; i < count; ++i) {
            AllowedMethod calldata m = allowedMethods[i];
            _allowed[_methodKey(registration, m.target, m.selector)] = true;
            methods.push(m);
        }
        uint8 flags = (count == 0 ? FLAG_ALLOW_ALL : 0) | (_capCount[key] != 0 ? FLAG_HAS_CAPS : 0);
        _sessions[key] = SessionRecord({
            validAfter: validAfter,
            validUntil: validUntil,
            maxCalls: maxCalls,
            registration: registration,
            flags: flags
        });
        // Start the session's nonce key at sequence 1: every use then updates a non-zero
        // EntryPoint slot, and the registration pays for creating it.
        entryPoint.incrementNonce(uint192(_sessionNonceKey(key, registration)));
        emit SessionRegistered(key, registration, validAfter, validUntil, maxCalls, count);
    }

    /// @notice Sets the spending cap of `key` on `token`. The cap applies to the key's current and future registrations; setting it again
    /// starts a fresh window.
    function setSpendingCap(address key, address token, uint128 maxPerCall, uint128 maxPerWindow, uint64 windowSeconds)
        external
    {
        _requireOwnerAuth();
        if (windowSeconds == 0 || maxPerCall == 0 || maxPerCall > maxPerWindow) revert InvalidSpendingCap();
        Cap storage cap = _caps[key][token];
        if (cap.windowSeconds == 0) _setCapCount(key, _capCount[key] + 1);
        cap.maxPerCall = maxPerCall;
        cap.maxPerWindow = maxPerWindow;
        cap.spentInWindow = 0;
        cap.windowStart = 0;
        cap.windowSeconds = windowSeconds;
        emit SpendingCapSet(key, token, maxPerCall, maxPerWindow, windowSeconds);
    }

    /// @inheritdoc ILatchkeySessions
    function removeSpendingCap(address key, address token) external {
        _requireOwnerAuth();
        if (_caps[key][token].windowSeconds == 0) revert NoSpendingCap();
        delete _caps[key][token];
        _setCapCount(key, _capCount[key] - 1);
        emit SpendingCapRemoved(key, token);
    }

    /// @inheritdoc ILatchkeySessions
    function revokeSession(address key) external {
        _requireOwnerAuth();
        SessionRecord storage record = _sessions[key];
        if (!_isCurrent(record, _root.revokedThrough)) revert UnknownOrRevokedSession();
        record.flags |= FLAG_REVOKED;
        emit SessionRevoked(key, record.registration);
    }

    /// @inheritdoc ILatchkeySessions
    function revokeAllSessions() external {
        _requireOwnerAuth();
        _revokeAll();
    }

    /// @notice Rotates the owner. A new owner inherits no session: every registration so far is revoked.
    function setOwner(address newOwner) external {
        _requireOwnerAuth();
        if (newOwner == address(0)) revert ZeroAddress();
        address previous = _root.owner;
        _root.owner = newOwner;
        _revokeAll();
        emit OwnerChanged(previous, newOwner);
    }

    // ---------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------

    /// @inheritdoc ILatchkeySessions
    function owner() external view returns (address) {
        return _root.owner;
    }

    /// How many registrations were ever made, and the revocation watermark.
    function registrationCounters() external view returns (uint32 registrations, uint32 revokedThrough) {
        Root memory root = _root;
        return (root.registrations, root.revokedThrough);
    }

    /// @inheritdoc ILatchkeySessions
    function getSession(address key) external view returns (SessionView memory view_) {
        SessionRecord memory record = _sessions[key];
        bool registered = record.registration != 0;
        bool current = _isCurrent(record, _root.revokedThrough);
        view_.registered = registered;
        view_.revoked = registered && !current;
        uint192 nonceKey = uint192(_sessionNonceKey(key, record.registration));
        uint64 sequence = registered ? uint64(entryPoint.getNonce(address(this), nonceKey)) : 0;
        uint64 callsUsed = sequence == 0 ? 0 : sequence - 1;
        view_.active = current && record.validAfter <= block.timestamp && block.timestamp <= record.validUntil
            && callsUsed < record.maxCalls;
        view_.validAfter = record.validAfter;
        view_.validUntil = record.validUntil;
        view_.maxCalls = record.maxCalls;
        view_.callsUsed = callsUsed;
        view_.registration = record.registration;
        view_.nonceKey = nonceKey;
        view_.allowAll = record.flags & FLAG_ALLOW_ALL != 0;
        view_.hasSpendingCaps = _capCount[key] != 0;
        if (registered) view_.allowedMethods = _methods[record.registration];
    }

    /// @inheritdoc ILatchkeySessions
    function sessionNonceKey(address key) external view returns (uint192) {
        return uint192(_sessionNonceKey(key, _sessions[key].registration));
    }

    /// @inheritdoc ILatchkeySessions
    function getSpendingCap(address key, address token) external view returns (SpendingCapView memory) {
        Cap memory cap = _caps[key][token];
        return SpendingCapView({
            maxPerCall: cap.maxPerCall,
            maxPerWindow: cap.maxPerWindow,
            windowSeconds: cap.windowSeconds,
            spentInWindow: cap.spentInWindow,
            windowStart: cap.windowStart
        });
    }

    // ---------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------

    /// Every session rule that needs no clock. Returns SIG_VALIDATION_FAILED on any
    /// refusal; writes nothing but, for an `executeUserOp` userOp, the transient note of
    /// which key validated it.
    function _validateSession(PackedUserOperation calldata userOp, bytes32 userOpHash, address key)
        internal
        returns (uint256)
    {
        SessionRecord memory record = _sessions[key];
        if (!_isCurrent(record, _root.revokedThrough)) return SIG_VALIDATION_FAILED;
        // The call counter is the sequence of the session's own EntryPoint nonce key,
        // which the EntryPoint checks and increments for every validated userOp; it was
        // started at 1 by the registration, so `calls used = sequence - 1`.
        uint256 nonce = userOp.nonce;
        if (nonce >> 64 != _sessionNonceKey(key, record.registration)) return SIG_VALIDATION_FAILED;
        uint64 sequence = uint64(nonce);
        if (sequence == 0 || sequence > record.maxCalls) return SIG_VALIDATION_FAILED;
        // Only the EntryPoint calls here, with a canonically encoded userOp: read the two
        // dynamic fields through their head offsets (callData is field 3,
        // paymasterAndData field 7).
        bytes calldata callData;
        address paymaster;
        assembly ("memory-safe") {
            let pmd := add(userOp, calldataload(add(userOp, 0xe0)))
            if gt(calldataload(pmd), 19) { paymaster := shr(96, calldataload(add(pmd, 0x20))) }
            let cd := add(userOp, calldataload(add(userOp, 0x60)))
            callData.length := calldataload(cd)
            callData.offset := add(cd, 0x20)
        }
        if (paymaster != sessionPaymaster) return SIG_VALIDATION_FAILED;
        if (callData.length < 4) return SIG_VALIDATION_FAILED;
        bytes4 selector;
        assembly ("memory-safe") {
            selector := and(calldataload(callData.offset), shl(224, 0xffffffff))
        }
        bool capped = record.flags & FLAG_HAS_CAPS != 0;
        if (selector == this.execute.selector && !capped) {
            (bool ok, address target, uint256 value, bytes4 callSelector) = _parseExecute(callData);
            if (!ok || value != 0 || !_isAllowed(record, target, callSelector)) return SIG_VALIDATION_FAILED;
        } else if (
            selector == IAccountExecute.executeUserOp.selector || (selector == this.executeBatch.selector && !capped)
        ) {
            Call[] memory calls = abi.decode(callData[4:], (Call[]));
            uint256 length = calls.length;
            if (length == 0) return SIG_VALIDATION_FAILED;
            for (uint256 i = 0; i < length; ++i) {
                Call memory c = calls[i];
                if (c.value != 0 && !capped) return SIG_VALIDATION_FAILED;
                if (!_isAllowed(record, c.target, _selectorOf(c.data))) return SIG_VALIDATION_FAILED;
            }
            if (selector == IAccountExecute.executeUserOp.selector) {
                assembly ("memory-safe") {
                    tstore(userOpHash, key)
                }
            }
        } else {
            return SIG_VALIDATION_FAILED;
        }
        // The EntryPoint accepts `validAfter < block.timestamp <= validUntil`; the session
        // window includes its first second.
        uint256 validAfter = record.validAfter == 0 ? 0 : record.validAfter - 1;
        return (uint256(record.validUntil) << 160) | (validAfter << 208);
    }

    /// Whether a session may call `selector` on `target`.
    function _isAllowed(SessionRecord memory record, address target, bytes4 selector) internal view returns (bool) {
        if (
            target == address(this) || target == address(entryPoint) || target == factory
                || target == sessionPaymaster
        ) return false;
        if (record.flags & FLAG_ALLOW_ALL != 0) return true;
        return _allowed[_methodKey(record.registration, target, selector)]
            || _allowed[_methodKey(record.registration, address(0), selector)];
    }

    /// Reads (target, value, selector of data) from `execute(address,uint256,bytes)`
    /// calldata at the positions the ABI decoder of `execute` reads them; `ok` is false
    /// when they are out of bounds or the target is not an address.
    function _parseExecute(bytes calldata callData)
        internal
        pure
        returns (bool ok, address target, uint256 value, bytes4 selector)
    {
        assembly ("memory-safe") {
            let base := callData.offset
            let length := callData.length
            if gt(length, 99) {
                let rawTarget := calldataload(add(base, 4))
                let offset := calldataload(add(base, 68))
                // The data's length word lies at 4 + offset and must fit.
                if and(iszero(shr(160, rawTarget)), and(lt(offset, length), iszero(gt(add(offset, 36), length)))) {
                    let start := add(4, offset)
                    let dataLength := calldataload(add(base, start))
                    if iszero(gt(dataLength, sub(length, add(start, 32)))) {
                        ok := 1
                        target := rawTarget
                        value := calldataload(add(base, 36))
                        if gt(dataLength, 3) {
                            selector := and(calldataload(add(base, add(start, 32))), shl(224, 0xffffffff))
                        }
                    }
                }
            }
        }
    }

    function _applySpending(address key, Call[] memory calls) internal {
        bool hasCaps = _sessions[key].flags & FLAG_HAS_CAPS != 0;
        uint256 length = calls.length;
        for (uint256 i = 0; i < length; ++i) {
            Call memory c = calls[i];
            if (c.value != 0) {
                Cap storage native = _caps[key][NATIVE_TOKEN];
                if (native.windowSeconds == 0) revert NativeValueNotAllowed();
                _spend(native, NATIVE_TOKEN, c.value);
            }
            if (hasCaps) {
                (bool tracked, uint256 amount) = _trackedAmount(c.data);
                if (tracked) {
                    Cap storage cap = _caps[key][c.target];
                    if (cap.windowSeconds != 0) _spend(cap, c.target, amount);
                }
            }
        }
    }

    /// Fixed windows: a window starts at the first spend after the previous one ended
    /// (or when the clock went backwards) and lasts `windowSeconds`.
    function _spend(Cap storage cap, address token, uint256 amount) internal {
        Cap memory c = cap;
        if (amount > c.maxPerCall) revert PerCallCapExceeded(token, amount);
        uint64 now_ = uint64(block.timestamp);
        uint256 spent = c.spentInWindow;
        uint64 windowStart = c.windowStart;
        if (now_ < windowStart || now_ - windowStart >= c.windowSeconds) {
            windowStart = now_;
            spent = 0;
        }
        uint256 total = spent + amount;
        if (total > c.maxPerWindow) revert WindowCapExceeded(token, total);
        // total <= maxPerWindow < 2^128
        cap.spentInWindow = uint128(total);
        cap.windowStart = windowStart;
    }

    /// The amount a token call moves, for the four tracked selectors.
    function _trackedAmount(bytes memory data) internal pure returns (bool tracked, uint256 amount) {
        bytes4 selector = _selectorOf(data);
        uint256 offset;
        if (selector == SELECTOR_TRANSFER || selector == SELECTOR_APPROVE || selector == SELECTOR_INCREASE_ALLOWANCE) {
            offset = 36;
        } else if (selector == SELECTOR_TRANSFER_FROM) {
            offset = 68;
        } else {
            return (false, 0);
        }
        if (data.length < offset + 32) revert MalformedTokenCall();
        assembly ("memory-safe") {
            amount := mload(add(add(data, 32), offset))
        }
        return (true, amount);
    }

    function _call(address target, uint256 value, bytes memory data) internal {
        (bool success, bytes memory result) = target.call{value: value}(data);
        if (!success) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// Recovers the signer of `digest` from the 65 bytes `r || s || v` that start `skip`
    /// bytes into `signature` (the caller checked the length); address(0) for any invalid
    /// signature, high-s ones included.
    function _recover(bytes32 digest, bytes calldata signature, uint256 skip) internal pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            let rsv := add(signature.offset, skip)
            r := calldataload(rsv)
            s := calldataload(add(rsv, 32))
            v := byte(0, calldataload(add(rsv, 64)))
        }
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, v, r, s);
        return error == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    function _isCurrent(SessionRecord memory record, uint32 revokedThrough) internal pure returns (bool) {
        return record.registration > revokedThrough && record.flags & FLAG_REVOKED == 0;
    }

    function _selectorOf(bytes memory data) internal pure returns (bytes4 selector) {
        if (data.length >= 4) {
            assembly ("memory-safe") {
                selector := mload(add(data, 32))
            }
        }
    }

    function _sessionNonceKey(address key, uint32 registration) internal pure returns (uint256) {
        return (uint256(uint160(key)) << 32) | registration;
    }

    function _methodKey(uint32 registration, address target, bytes4 selector) internal pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, or(shl(160, registration), target))
            mstore(0x20, selector)
            key := keccak256(0x00, 0x40)
        }
    }

    function _setCapCount(address key, uint256 count) internal {
        _capCount[key] = count;
        SessionRecord storage record = _sessions[key];
        if (record.registration != 0) {
            record.flags = count != 0 ? record.flags | FLAG_HAS_CAPS : record.flags & ~FLAG_HAS_CAPS;
        }
    }

    function _revokeAll() internal {
        uint32 through = _root.registrations;
        _root.revokedThrough = through;
        emit AllSessionsRevoked(through);
    }

    function _requireEntryPointOrOwner() internal view {
        if (msg.sender != address(entryPoint) && msg.sender != _root.owner) revert Unauthorized();
    }

    /// Owner-only functions: the account itself (an owner userOp calling
    /// `execute(this, ...)`), the EntryPoint (an owner userOp calling the function
    /// directly; session userOps only ever reach `executeUserOp`) or the owner.
    function _requireOwnerAuth() internal view {
        if (msg.sender != address(this) && msg.sender != address(entryPoint) && msg.sender != _root.owner) {
            revert Unauthorized();
        }
    }
}
