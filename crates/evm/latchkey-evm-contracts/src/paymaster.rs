//! `LatchkeyPaymaster`'s `paymasterAndData` (129 bytes) and the hash its signer signs.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolValue;

use crate::signature::RawSignature;
use crate::{EvmContractsError, UserOperation};

/// Length of LatchkeyPaymaster's `paymasterAndData`.
pub const PAYMASTER_AND_DATA_LENGTH: usize = 129;
/// Where `paymasterData` starts in `paymasterAndData` (after address and two gas limits).
pub const PAYMASTER_DATA_OFFSET: usize = 52;

/// uint48 as 6 big-endian bytes (the value is truncated to 48 bits, as Solidity's `uint48`).
fn u48_bytes(value: u64) -> [u8; 6] {
    let bytes = value.to_be_bytes();
    let mut out = [0u8; 6];
    out.copy_from_slice(&bytes[2..]);
    out
}

fn u48_at(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[2..].copy_from_slice(&bytes[..6]);
    u64::from_be_bytes(word)
}

/// `LatchkeyPaymaster.getHash(userOp, validUntil, validAfter)` on `chain_id` for the
/// paymaster at `paymaster`: the signer signs it raw (no EIP-191 prefix). It covers the
/// paymaster's two gas limits from `user_op` but not `paymasterData` (which carries the
/// signature).
pub fn paymaster_hash(
    user_op: &UserOperation,
    paymaster: Address,
    chain_id: u64,
    valid_until: u64,
    valid_after: u64,
) -> B256 {
    keccak256(
        (
            user_op.sender,
            user_op.nonce,
            keccak256(user_op.init_code()),
            keccak256(&user_op.call_data),
            user_op.account_gas_limits(),
            user_op.paymaster_verification_gas_limit,
            user_op.paymaster_post_op_gas_limit,
            user_op.pre_verification_gas,
            user_op.gas_fees(),
            U256::from(chain_id),
            paymaster,
            // uint48 is ABI-encoded as one word, like a uint256 of the same value.
            U256::from(valid_until & 0xffff_ffff_ffff),
            U256::from(valid_after & 0xffff_ffff_ffff),
        )
            .abi_encode(),
    )
}

/// The 129-byte `paymasterAndData`: `paymaster ‖ verificationGasLimit (16) ‖
/// postOpGasLimit (16) ‖ validUntil (6) ‖ validAfter (6) ‖ r ‖ s ‖ v`.
pub fn paymaster_and_data(
    paymaster: Address,
    verification_gas_limit: u128,
    post_op_gas_limit: u128,
    valid_until: u64,
    valid_after: u64,
    signature: &RawSignature,
) -> Bytes {
    [
        paymaster.as_slice(),
        &verification_gas_limit.to_be_bytes(),
        &post_op_gas_limit.to_be_bytes(),
        &PaymasterData { valid_until, valid_after, signature: *signature }.to_bytes(),
    ]
    .concat()
    .into()
}

/// LatchkeyPaymaster's `paymasterData` (the part after the two gas limits): 77 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymasterData {
    /// uint48; 0 = no end.
    pub valid_until: u64,
    /// uint48.
    pub valid_after: u64,
    /// The signer's signature over [`paymaster_hash`].
    pub signature: RawSignature,
}

impl PaymasterData {
    /// `validUntil (6) ‖ validAfter (6) ‖ r ‖ s ‖ v`, what goes in
    /// [`UserOperation::paymaster_data`].
    pub fn to_bytes(&self) -> [u8; 77] {
        let mut out = [0u8; 77];
        out[..6].copy_from_slice(&u48_bytes(self.valid_until));
        out[6..12].copy_from_slice(&u48_bytes(self.valid_after));
        out[12..].copy_from_slice(&self.signature.to_bytes());
        out
    }

    /// Parses `paymasterData` (77 bytes). Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EvmContractsError> {
        if bytes.len() != PAYMASTER_AND_DATA_LENGTH - PAYMASTER_DATA_OFFSET {
            return Err(EvmContractsError::MalformedPaymasterData("paymasterData is not 77 bytes"));
        }
        let signature = RawSignature::from_bytes(&bytes[12..])
            .map_err(|_| EvmContractsError::MalformedPaymasterData("bad signature"))?;
        Ok(Self { valid_until: u48_at(&bytes[..6]), valid_after: u48_at(&bytes[6..12]), signature })
    }

    /// Parses a whole `paymasterAndData` (129 bytes): the paymaster, its two gas limits and
    /// this data.
    pub fn from_paymaster_and_data(
        bytes: &[u8],
    ) -> Result<(Address, u128, u128, Self), EvmContractsError> {
        if bytes.len() != PAYMASTER_AND_DATA_LENGTH {
            return Err(EvmContractsError::MalformedPaymasterData("not 129 bytes"));
        }
        let mut vgl = [0u8; 16];
        let mut pogl = [0u8; 16];
        vgl.copy_from_slice(&bytes[20..36]);
        pogl.copy_from_slice(&bytes[36..52]);
        Ok((
            Address::from_slice(&bytes[..20]),
            u128::from_be_bytes(vgl),
            u128::from_be_bytes(pogl),
            Self::from_bytes(&bytes[PAYMASTER_DATA_OFFSET..])?,
        ))
    }
}
