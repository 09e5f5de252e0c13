//! The latchkey account: an SRC-6 account with one owner key, SNIP-9 v2 outside
//! execution, on-chain session keys with call counters, (contract, selector) allowlists
//! and spending caps.
//!
//! A session key never pays a fee: sessions execute only through SNIP-9 outside
//! execution, where the relayer that submits the transaction pays for it. On the
//! direct-invoke path `__validate__` accepts the owner's signature alone, so no session
//! signature can choose a tip, fee bounds, paymaster data or DA modes that the account
//! would pay for, and no session transaction can validate and then revert at the
//! account's cost.
//!
//! Rules every session execution obeys (`execute_from_outside_v2`):
//! - the signature is `[session_key, r, s, valid_until]`; any other length but 2 (owner)
//!   is invalid;
//! - the session is registered and not revoked, and `valid_until` in the signature does
//!   not exceed the stored one;
//! - `valid_after <= now <= min(signature valid_until, stored valid_until)`, with the
//!   exact block time;
//! - `calls_used < max_calls`; each execution consumes one call, counted after the
//!   signature check;
//! - every call targets an allowed (contract, selector), contract zero meaning any
//!   contract, an empty allowlist meaning any method; no call ever targets the account
//!   itself;
//! - spending caps bound tracked token amounts; the batch is atomic.
//! The session signs the SNIP-9 v2 message hash. `is_valid_signature` accepts owner
//! signatures only. Only the protocol (caller 0) may call `__validate__`,
//! `__validate_declare__`, `__validate_deploy__` and `__execute__`, and `__execute__`
//! refuses version-0 transactions (including `meta_tx_v0` calls). A key whose
//! registration was revoked cannot be registered again, so nothing signed for a revoked
//! registration can ever become valid.

#[starknet::contract(account)]
pub mod LatchkeyAccount {
    use core::ecdsa::check_ecdsa_signature;
    use core::num::traits::Zero;
    use starknet::account::Call;
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePathEntry,
        StoragePointerReadAccess, StoragePointerWriteAccess,
    };
    use starknet::syscalls::{call_contract_syscall, replace_class_syscall};
    use starknet::{
        ClassHash, ContractAddress, SyscallResultTrait, VALIDATED, get_block_timestamp,
        get_caller_address, get_contract_address, get_execution_info, get_tx_info,
    };
    use crate::interfaces::{
        AllowedMethod, IAccount, ILATCHKEY_SESSIONS_ID, ILatchkeySessions, IOutsideExecutionV2,
        ISESSION_KEY_MANAGER_ID, ISRC5, ISRC5_ID, ISRC6_ID, ISRC9_V2_ID, ISessionKeyManager,
        ISessionSpendingPolicy, OutsideExecution, SessionStatus, SessionView, SpendingPolicy,
    };
    use crate::outside_execution::{ANY_CALLER, message_hash};
    use crate::session::{SessionRecord, is_live_at, method_key};
    use crate::spending;

    /// Most methods one session may allow.
    const MAX_ALLOWED_METHODS: u32 = 128;
    /// Transaction versions at or above this offset are fee-estimation queries.
    const QUERY_OFFSET: u256 = 0x100000000000000000000000000000000;

    #[storage]
    struct Storage {
        owner_public_key: felt252,
        sessions: Map<felt252, SessionRecord>,
        registration_counter: u32,
        /// Sessions whose registration is at or below this value are revoked.
        revoked_through: u32,
        /// method_key(registration, contract, selector) -> allowed.
        allowed: Map<felt252, bool>,
        /// (registration, index) -> method, for views.
        methods: Map<(u32, u32), AllowedMethod>,
        method_count: Map<u32, u32>,
        spending_policies: Map<(felt252, ContractAddress), SpendingPolicy>,
        /// Number of tokens with a spending cap, per session key.
        spending_cap_count: Map<felt252, u32>,
        outside_nonces: Map<felt252, bool>,
        entered: bool,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        SessionRegistered: SessionRegistered,
        SessionRevoked: SessionRevoked,
        AllSessionsRevoked: AllSessionsRevoked,
        OwnerChanged: OwnerChanged,
        SpendingPolicySet: SpendingPolicySet,
        SpendingPolicyRemoved: SpendingPolicyRemoved,
        Upgraded: Upgraded,
    }

    #[derive(Drop, starknet::Event)]
    pub struct SessionRegistered {
        #[key]
        pub session_key: felt252,
        pub valid_after: u64,
        pub valid_until: u64,
        pub max_calls: u32,
        pub allowed_methods: u32,
    }

    #[derive(Drop, starknet::Event)]
    pub struct SessionRevoked {
        #[key]
        pub session_key: felt252,
    }

    #[derive(Drop, starknet::Event)]
    pub struct AllSessionsRevoked {
        pub revoked_through: u32,
    }

    #[derive(Drop, starknet::Event)]
    pub struct OwnerChanged {
        pub new_public_key: felt252,
    }

    #[derive(Drop, starknet::Event)]
    pub struct SpendingPolicySet {
        #[key]
        pub session_key: felt252,
        #[key]
        pub token: ContractAddress,
        pub max_per_call: u256,
        pub max_per_window: u256,
        pub window_seconds: u64,
    }

    #[derive(Drop, starknet::Event)]
    pub struct SpendingPolicyRemoved {
        #[key]
        pub session_key: felt252,
        #[key]
        pub token: ContractAddress,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Upgraded {
        pub class_hash: ClassHash,
    }

    #[constructor]
    fn constructor(ref self: ContractState, public_key: felt252) {
        assert(public_key != 0, 'Account: zero public key');
        self.owner_public_key.write(public_key);
    }

    #[abi(embed_v0)]
    impl AccountImpl of IAccount<ContractState> {
        fn __validate__(ref self: ContractState, calls: Array<Call>) -> felt252 {
            assert_only_protocol();
            self.validate_owner_transaction()
        }

        fn __execute__(ref self: ContractState, calls: Array<Call>) -> Array<Span<felt252>> {
            let info = get_execution_info().unbox();
            assert(info.caller_address.is_zero(), 'Account: invalid caller');
            let tx = info.tx_info.unbox();
            assert(is_valid_tx_version(tx.version), 'Account: invalid tx version');
            execute_calls(calls.span())
        }

        fn is_valid_signature(
            self: @ContractState, hash: felt252, signature: Array<felt252>,
        ) -> felt252 {
            if self.is_owner_signature(hash, signature.span()) {
                VALIDATED
            } else {
                0
            }
        }

        fn isValidSignature(
            self: @ContractState, hash: felt252, signature: Array<felt252>,
        ) -> felt252 {
            self.is_valid_signature(hash, signature)
        }

        fn __validate_declare__(self: @ContractState, class_hash: felt252) -> felt252 {
            assert_only_protocol();
            self.validate_owner_transaction()
        }

        fn __validate_deploy__(
            self: @ContractState,
            class_hash: felt252,
            contract_address_salt: felt252,
            public_key: felt252,
        ) -> felt252 {
            assert_only_protocol();
            self.validate_owner_transaction()
        }

        fn get_public_key(self: @ContractState) -> felt252 {
            self.owner_public_key.read()
        }

        fn getPublicKey(self: @ContractState) -> felt252 {
            self.owner_public_key.read()
        }

        fn set_public_key(ref self: ContractState, new_public_key: felt252) {
            self.rotate_owner(new_public_key);
        }

        fn setPublicKey(ref self: ContractState, newPublicKey: felt252) {
            self.rotate_owner(newPublicKey);
        }

        fn upgrade(ref self: ContractState, new_class_hash: ClassHash) {
            assert_only_self();
            assert(!new_class_hash.is_zero(), 'Account: zero class hash');
            replace_class_syscall(new_class_hash).unwrap_syscall();
            self.emit(Upgraded { class_hash: new_class_hash });
        }
    }

    #[abi(embed_v0)]
    impl SRC5Impl of ISRC5<ContractState> {
        fn supports_interface(self: @ContractState, interface_id: felt252) -> bool {
            interface_id == ISRC5_ID
                || interface_id == ISRC6_ID
                || interface_id == ISRC9_V2_ID
                || interface_id == ISESSION_KEY_MANAGER_ID
                || interface_id == ILATCHKEY_SESSIONS_ID
        }
    }

    #[abi(embed_v0)]
    impl OutsideExecutionV2Impl of IOutsideExecutionV2<ContractState> {
        fn execute_from_outside_v2(
            ref self: ContractState, outside_execution: OutsideExecution, signature: Span<felt252>,
        ) -> Array<Span<felt252>> {
            let info = get_execution_info().unbox();
            let caller: felt252 = outside_execution.caller.into();
            if caller != ANY_CALLER {
                assert(info.caller_address == outside_execution.caller, 'SRC9: invalid caller');
            }
            let now = info.block_info.unbox().block_timestamp;
            assert(outside_execution.execute_after < now, 'SRC9: now <= execute_after');
            assert(now < outside_execution.execute_before, 'SRC9: now >= execute_before');
            let nonce = outside_execution.nonce;
            assert(!self.outside_nonces.read(nonce), 'SRC9: duplicated nonce');
            self.outside_nonces.write(nonce, true);
            assert(!self.entered.read(), 'ReentrancyGuard: reentrant call');
            self.entered.write(true);

            let account = info.contract_address;
            let hash = message_hash(@outside_execution, info.tx_info.unbox().chain_id, account);
            let calls = outside_execution.calls;
            let length = signature.len();
            if length == 2 {
                assert(self.is_owner_signature(hash, signature), 'SRC9: invalid signature');
            } else if length == 4 {
                let session_key = *signature.at(0);
                let record =
                    match self.check_session(session_key, *signature.at(3), calls, account, now) {
                    Result::Ok(record) => record,
                    Result::Err(error) => core::panic_with_felt252(error),
                };
                assert(
                    check_ecdsa_signature(hash, session_key, *signature.at(1), *signature.at(2)),
                    'SRC9: invalid signature',
                );
                self.consume_call(session_key, record);
                if record.has_spending_caps {
                    self.apply_spending(session_key, calls, now);
                }
            } else {
                core::panic_with_felt252('SRC9: invalid signature');
            }
            let results = execute_calls(calls);
            self.entered.write(false);
            results
        }

        fn is_valid_outside_execution_nonce(self: @ContractState, nonce: felt252) -> bool {
            !self.outside_nonces.read(nonce)
        }

        fn get_outside_execution_message_hash_rev_1(
            self: @ContractState, outside_execution: OutsideExecution,
        ) -> felt252 {
            message_hash(@outside_execution, get_tx_info().unbox().chain_id, get_contract_address())
        }
    }

    #[abi(embed_v0)]
    impl SessionKeyManagerImpl of ISessionKeyManager<ContractState> {
        fn add_or_update_session_key(
            ref self: ContractState,
            session_key: felt252,
            valid_until: u64,
            max_calls: u32,
            allowed_entrypoints: Array<felt252>,
        ) {
            let mut methods: Array<AllowedMethod> = array![];
            for selector in allowed_entrypoints {
                methods.append(AllowedMethod { contract: Zero::zero(), selector });
            }
            self.register(session_key, 0, valid_until, max_calls, methods.span());
        }

        fn revoke_session_key(ref self: ContractState, session_key: felt252) {
            assert_only_self();
            let mut record = self.sessions.read(session_key);
            assert(self.is_current(@record), 'Session: unknown or revoked');
            record.revoked = true;
            self.sessions.write(session_key, record);
            self.emit(SessionRevoked { session_key });
        }

        fn get_session_data(self: @ContractState, session_key: felt252) -> SessionStatus {
            let record = self.sessions.read(session_key);
            let mut selectors: Array<felt252> = array![];
            if record.registration != 0 {
                let count = self.method_count.read(record.registration);
                for index in 0..count {
                    selectors.append(self.methods.read((record.registration, index)).selector);
                }
            }
            SessionStatus {
                is_active: self.is_active(@record, get_block_timestamp()),
                valid_until: record.valid_until,
                remaining_calls: remaining_calls(@record),
                allowed_entrypoints: selectors,
            }
        }
    }

    #[abi(embed_v0)]
    impl SpendingPolicyImpl of ISessionSpendingPolicy<ContractState> {
        fn set_spending_policy(
            ref self: ContractState,
            session_key: felt252,
            token: ContractAddress,
            max_per_call: u256,
            max_per_window: u256,
            window_seconds: u64,
        ) {
            assert_only_self();
            assert(window_seconds != 0, 'Spending: zero window');
            assert(max_per_window != 0, 'Spending: zero window cap');
            assert(max_per_call != 0, 'Spending: zero call cap');
            assert(max_per_call <= max_per_window, 'Spending: call cap > window');
            let existing = self.spending_policies.entry((session_key, token)).window_seconds.read();
            if !spending::is_set(existing) {
                self.set_spending_cap_count(session_key, self.spending_cap_count.read(session_key) + 1);
            }
            self
                .spending_policies
                .write(
                    (session_key, token),
                    SpendingPolicy {
                        max_per_call,
                        max_per_window,
                        window_seconds,
                        spent_in_window: 0,
                        window_start: 0,
                    },
                );
            self
                .emit(
                    SpendingPolicySet {
                        session_key, token, max_per_call, max_per_window, window_seconds,
                    },
                );
        }

        fn get_spending_policy(
            self: @ContractState, session_key: felt252, token: ContractAddress,
        ) -> SpendingPolicy {
            self.spending_policies.read((session_key, token))
        }

        fn remove_spending_policy(
            ref self: ContractState, session_key: felt252, token: ContractAddress,
        ) {
            assert_only_self();
            let entry = self.spending_policies.entry((session_key, token));
            assert(spending::is_set(entry.window_seconds.read()), 'Spending: no policy');
            entry
                .write(
                    SpendingPolicy {
                        max_per_call: 0,
                        max_per_window: 0,
                        window_seconds: 0,
                        spent_in_window: 0,
                        window_start: 0,
                    },
                );
            self.set_spending_cap_count(session_key, self.spending_cap_count.read(session_key) - 1);
            self.emit(SpendingPolicyRemoved { session_key, token });
        }
    }

    #[abi(embed_v0)]
    impl LatchkeySessionsImpl of ILatchkeySessions<ContractState> {
        fn register_session(
            ref self: ContractState,
            session_key: felt252,
            valid_after: u64,
            valid_until: u64,
            max_calls: u32,
            allowed_methods: Array<AllowedMethod>,
        ) {
            self.register(session_key, valid_after, valid_until, max_calls, allowed_methods.span());
        }

        fn revoke_all_sessions(ref self: ContractState) {
            assert_only_self();
            self.revoke_all();
        }

        fn get_session(self: @ContractState, session_key: felt252) -> SessionView {
            let record = self.sessions.read(session_key);
            let mut methods: Array<AllowedMethod> = array![];
            if record.registration != 0 {
                let count = self.method_count.read(record.registration);
                for index in 0..count {
                    methods.append(self.methods.read((record.registration, index)));
                }
            }
            SessionView {
                registered: record.registration != 0,
                revoked: record.registration != 0 && !self.is_current(@record),
                is_active: self.is_active(@record, get_block_timestamp()),
                valid_after: record.valid_after,
                valid_until: record.valid_until,
                max_calls: record.max_calls,
                calls_used: record.calls_used,
                allow_all: record.allow_all,
                allowed_methods: methods,
            }
        }
    }

    #[generate_trait]
    impl InternalImpl of InternalTrait {
        /// The owner's `[r, s]` over the transaction hash: `VALIDATED`, or 0 for any other
        /// signature (a session's included), never a panic.
        fn validate_owner_transaction(self: @ContractState) -> felt252 {
            let tx = get_tx_info().unbox();
            if self.is_owner_signature(tx.transaction_hash, tx.signature) {
                VALIDATED
            } else {
                0
            }
        }

        fn is_owner_signature(
            self: @ContractState, hash: felt252, signature: Span<felt252>,
        ) -> bool {
            if signature.len() != 2 {
                return false;
            }
            check_ecdsa_signature(
                hash, self.owner_public_key.read(), *signature.at(0), *signature.at(1),
            )
        }

        /// Every session rule but the signature itself, at the exact block time `now`.
        fn check_session(
            self: @ContractState,
            session_key: felt252,
            signed_valid_until: felt252,
            calls: Span<Call>,
            account: ContractAddress,
            now: u64,
        ) -> Result<SessionRecord, felt252> {
            let signed_until: u64 = match signed_valid_until.try_into() {
                Option::Some(until) => until,
                Option::None => { return Result::Err('Session: bad valid_until'); },
            };
            let record = self.sessions.read(session_key);
            if record.registration == 0 {
                return Result::Err('Session: not registered');
            }
            if !self.is_current(@record) {
                return Result::Err('Session: revoked');
            }
            if signed_until > record.valid_until {
                return Result::Err('Session: valid_until exceeded');
            }
            if now < record.valid_after {
                return Result::Err('Session: not yet valid');
            }
            if now > min_u64(signed_until, record.valid_until) {
                return Result::Err('Session: expired');
            }
            if record.calls_used >= record.max_calls {
                return Result::Err('Session: max calls reached');
            }
            if calls.len() == 0 {
                return Result::Err('Session: no calls');
            }
            for call in calls {
                let to = *call.to;
                if to == account {
                    return Result::Err('Session: self call');
                }
                if !record.allow_all {
                    let selector = *call.selector;
                    let allowed = self.allowed.read(method_key(record.registration, to, selector))
                        || self.allowed.read(method_key(record.registration, Zero::zero(), selector));
                    if !allowed {
                        return Result::Err('Session: method not allowed');
                    }
                }
            }
            Result::Ok(record)
        }

        /// Records how many tokens have a cap for `session_key`, and mirrors "any?" into
        /// the session record so executions without caps skip the policy reads.
        fn set_spending_cap_count(ref self: ContractState, session_key: felt252, count: u32) {
            self.spending_cap_count.write(session_key, count);
            let mut record = self.sessions.read(session_key);
            if record.registration != 0 {
                record.has_spending_caps = count != 0;
                self.sessions.write(session_key, record);
            }
        }

        fn consume_call(ref self: ContractState, session_key: felt252, record: SessionRecord) {
            let mut record = record;
            record.calls_used += 1;
            self.sessions.write(session_key, record);
        }

        fn apply_spending(
            ref self: ContractState, session_key: felt252, calls: Span<Call>, now: u64,
        ) {
            for call in calls {
                if let Option::Some(index) = spending::amount_index(*call.selector) {
                    let entry = self.spending_policies.entry((session_key, *call.to));
                    if spending::is_set(entry.window_seconds.read()) {
                        let mut policy = entry.read();
                        spending::apply(ref policy, spending::call_amount(call, index), now);
                        entry.write(policy);
                    }
                }
            }
        }

        fn register(
            ref self: ContractState,
            session_key: felt252,
            valid_after: u64,
            valid_until: u64,
            max_calls: u32,
            methods: Span<AllowedMethod>,
        ) {
            assert_only_self();
            assert(session_key != 0, 'Session: zero key');
            assert(valid_until > valid_after, 'Session: empty window');
            assert(valid_until >= get_block_timestamp(), 'Session: already expired');
            assert(max_calls != 0, 'Session: zero max_calls');
            assert(methods.len() <= MAX_ALLOWED_METHODS, 'Session: too many methods');
            // Signatures carry no registration number: a revoked registration stays dead,
            // so that nothing signed under it can come back to life.
            let previous = self.sessions.read(session_key);
            assert(
                previous.registration == 0 || self.is_current(@previous),
                'Session: key was revoked',
            );

            let registration = self.registration_counter.read() + 1;
            self.registration_counter.write(registration);
            let mut index: u32 = 0;
            for method in methods {
                self.allowed.write(method_key(registration, *method.contract, *method.selector), true);
                self.methods.write((registration, index), *method);
                index += 1;
            }
            self.method_count.write(registration, index);
            self
                .sessions
                .write(
                    session_key,
                    SessionRecord {
                        valid_after,
                        valid_until,
                        max_calls,
                        calls_used: 0,
                        registration,
                        allow_all: methods.len() == 0,
                        revoked: false,
                        has_spending_caps: self.spending_cap_count.read(session_key) != 0,
                    },
                );
            self
                .emit(
                    SessionRegistered {
                        session_key,
                        valid_after,
                        valid_until,
                        max_calls,
                        allowed_methods: methods.len(),
                    },
                );
        }

        /// Registered, not revoked one by one, and not revoked by `revoke_all_sessions`
        /// or an owner rotation.
        fn is_current(self: @ContractState, record: @SessionRecord) -> bool {
            *record.registration != 0
                && !*record.revoked
                && *record.registration > self.revoked_through.read()
        }

        fn is_active(self: @ContractState, record: @SessionRecord, now: u64) -> bool {
            self.is_current(record)
                && is_live_at(*record.valid_after, *record.valid_until, now)
                && *record.calls_used < *record.max_calls
        }

        fn revoke_all(ref self: ContractState) {
            let through = self.registration_counter.read();
            self.revoked_through.write(through);
            self.emit(AllSessionsRevoked { revoked_through: through });
        }

        fn rotate_owner(ref self: ContractState, new_public_key: felt252) {
            assert_only_self();
            assert(new_public_key != 0, 'Account: zero public key');
            self.owner_public_key.write(new_public_key);
            // A new owner inherits no session the old key authorised.
            self.revoke_all();
            self.emit(OwnerChanged { new_public_key });
        }
    }

    /// The account's protocol entrypoints run only as the transaction's own phases, never
    /// when another contract calls them.
    fn assert_only_protocol() {
        assert(get_caller_address().is_zero(), 'Account: invalid caller');
    }

    fn assert_only_self() {
        assert(get_caller_address() == get_contract_address(), 'Account: unauthorized');
    }

    fn execute_calls(calls: Span<Call>) -> Array<Span<felt252>> {
        let mut results: Array<Span<felt252>> = array![];
        for call in calls {
            results.append(call_contract_syscall(*call.to, *call.selector, *call.calldata).unwrap_syscall());
        }
        results
    }

    fn is_valid_tx_version(version: felt252) -> bool {
        let version: u256 = version.into();
        if version >= QUERY_OFFSET {
            version - QUERY_OFFSET >= 1
        } else {
            version >= 1
        }
    }

    fn min_u64(a: u64, b: u64) -> u64 {
        if a < b {
            a
        } else {
            b
        }
    }

    fn remaining_calls(record: @SessionRecord) -> u32 {
        if *record.calls_used >= *record.max_calls {
            0
        } else {
            *record.max_calls - *record.calls_used
        }
    }
}
