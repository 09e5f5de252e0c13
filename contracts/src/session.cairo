//! The stored form of a session: one felt per session, so the hot path reads and writes a
//! single storage slot.

use core::poseidon::poseidon_hash_span;
use core::traits::DivRem;
use starknet::ContractAddress;
use starknet::storage_access::StorePacking;

/// A registered session.
///
/// `registration` is a per-account counter value assigned at registration (never 0 for a
/// registered session). It keys the session's allowlist, so re-registering a key starts
/// from an empty allowlist, and it lets `revoke_all_sessions` revoke every session at
/// once: a session is revoked when its registration is at or below the account's
/// revocation watermark.
#[derive(Drop, Copy, Debug, PartialEq)]
pub struct SessionRecord {
    pub valid_after: u64,
    pub valid_until: u64,
    pub max_calls: u32,
    pub calls_used: u32,
    pub registration: u32,
    pub allow_all: bool,
    pub revoked: bool,
    /// Some token has a spending cap for this session key (saves a read per token call
    /// when none has).
    pub has_spending_caps: bool,
}

const TWO_POW_32: u128 = 0x100000000;
const TWO_POW_64: u128 = 0x10000000000000000;
const TWO_POW_96: u128 = 0x1000000000000000000000000;

/// Layout: low 128 bits = `valid_after | valid_until << 64`; high 128 bits =
/// `max_calls | calls_used << 32 | registration << 64 | flags << 96` with flag bit 0 =
/// allow_all, bit 1 = revoked and bit 2 = has_spending_caps. Below 2^227, so always a
/// felt.
pub impl SessionRecordPacking of StorePacking<SessionRecord, felt252> {
    fn pack(value: SessionRecord) -> felt252 {
        let after: u128 = value.valid_after.into();
        let until: u128 = value.valid_until.into();
        let max_calls: u128 = value.max_calls.into();
        let used: u128 = value.calls_used.into();
        let registration: u128 = value.registration.into();
        let mut flags: u128 = 0;
        if value.allow_all {
            flags += 1;
        }
        if value.revoked {
            flags += 2;
        }
        if value.has_spending_caps {
            flags += 4;
        }
        let low = after + until * TWO_POW_64;
        let high = max_calls + used * TWO_POW_32 + registration * TWO_POW_64 + flags * TWO_POW_96;
        let packed = u256 { low, high };
        // high < 2^99, so the value is far below the field prime.
        packed.try_into().unwrap()
    }

    fn unpack(value: felt252) -> SessionRecord {
        let packed: u256 = value.into();
        let (until, after) = DivRem::div_rem(packed.low, TWO_POW_64.try_into().unwrap());
        let (rest, max_calls) = DivRem::div_rem(packed.high, TWO_POW_32.try_into().unwrap());
        let (rest, used) = DivRem::div_rem(rest, TWO_POW_32.try_into().unwrap());
        let (flags, registration) = DivRem::div_rem(rest, TWO_POW_32.try_into().unwrap());
        SessionRecord {
            valid_after: after.try_into().unwrap(),
            valid_until: until.try_into().unwrap(),
            max_calls: max_calls.try_into().unwrap(),
            calls_used: used.try_into().unwrap(),
            registration: registration.try_into().unwrap(),
            allow_all: (flags & 1) == 1,
            revoked: (flags & 2) == 2,
            has_spending_caps: (flags & 4) == 4,
        }
    }
}

/// The storage key of an allowlist entry: one Poseidon hash instead of a Pedersen chain
/// over a tuple.
pub fn method_key(registration: u32, contract: ContractAddress, selector: felt252) -> felt252 {
    let contract: felt252 = contract.into();
    poseidon_hash_span(array![registration.into(), contract, selector].span())
}

/// Whether `now` lies in `[valid_after, valid_until]` (both ends inclusive; latchkey's
/// off-chain checks use the same convention).
pub fn is_live_at(valid_after: u64, valid_until: u64, now: u64) -> bool {
    valid_after <= now && now <= valid_until
}
