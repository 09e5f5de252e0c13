//! The unpacked ERC-4337 v0.8 user operation, its packing and its EIP-712 hash.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::abi::PackedUserOperation;
use crate::EvmContractsError;

/// The EIP-712 type of a packed userOp, exactly as EntryPoint v0.8's `UserOperationLib`
/// spells it.
pub const PACKED_USEROP_TYPE: &str = "PackedUserOperation(address sender,uint256 nonce,bytes initCode,bytes callData,bytes32 accountGasLimits,uint256 preVerificationGas,bytes32 gasFees,bytes paymasterAndData)";

/// `keccak256(PACKED_USEROP_TYPE)` (= `EntryPoint.getPackedUserOpTypeHash()`).
pub const PACKED_USEROP_TYPEHASH: B256 =
    alloy_primitives::b256!("29a0bca4af4be3421398da00295e58e6d7de38cb492214754cb6a47507dd6f8e");

/// The EntryPoint's EIP-712 domain name.
pub const DOMAIN_NAME: &str = "ERC4337";
/// The EntryPoint's EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";

const EIP712_DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

/// The EntryPoint's EIP-712 domain separator (`EntryPoint.getDomainSeparatorV4()`).
pub fn domain_separator(entry_point: Address, chain_id: u64) -> B256 {
    keccak256(
        (
            keccak256(EIP712_DOMAIN_TYPE),
            keccak256(DOMAIN_NAME),
            keccak256(DOMAIN_VERSION),
            U256::from(chain_id),
            entry_point,
        )
            .abi_encode(),
    )
}

/// An ERC-4337 v0.8 user operation, unpacked (the fields of the ERC-4337 JSON-RPC API;
/// serde uses its camelCase names and hex quantities).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOperation {
    /// The account.
    pub sender: Address,
    /// `key (192 bits) << 64 | sequence (64 bits)`.
    pub nonce: U256,
    /// The factory deploying the account (first userOp only).
    #[serde(default)]
    pub factory: Option<Address>,
    /// The factory's calldata.
    #[serde(default)]
    pub factory_data: Bytes,
    /// What the EntryPoint calls on the account.
    pub call_data: Bytes,
    /// Gas of the execution phase.
    #[serde(with = "crate::quantity")]
    pub call_gas_limit: u128,
    /// Gas of the validation (and deployment) phase.
    #[serde(with = "crate::quantity")]
    pub verification_gas_limit: u128,
    /// Gas paid to the bundler for the overhead.
    pub pre_verification_gas: U256,
    /// EIP-1559 maximum fee per gas.
    #[serde(with = "crate::quantity")]
    pub max_fee_per_gas: u128,
    /// EIP-1559 maximum priority fee per gas.
    #[serde(with = "crate::quantity")]
    pub max_priority_fee_per_gas: u128,
    /// The paymaster, if one sponsors the userOp.
    #[serde(default)]
    pub paymaster: Option<Address>,
    /// Gas of the paymaster's validation.
    #[serde(default, with = "crate::quantity")]
    pub paymaster_verification_gas_limit: u128,
    /// Gas of the paymaster's `postOp`.
    #[serde(default, with = "crate::quantity")]
    pub paymaster_post_op_gas_limit: u128,
    /// The paymaster's own data (for LatchkeyPaymaster: window and signature).
    #[serde(default)]
    pub paymaster_data: Bytes,
    /// The account's signature.
    #[serde(default)]
    pub signature: Bytes,
}

/// `high << 128 | low` as 32 bytes.
fn pack_u128s(high: u128, low: u128) -> B256 {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&high.to_be_bytes());
    out[16..].copy_from_slice(&low.to_be_bytes());
    B256::from(out)
}

fn unpack_u128s(packed: &B256) -> (u128, u128) {
    let mut high = [0u8; 16];
    let mut low = [0u8; 16];
    high.copy_from_slice(&packed[..16]);
    low.copy_from_slice(&packed[16..]);
    (u128::from_be_bytes(high), u128::from_be_bytes(low))
}

fn u128_at(bytes: &[u8], at: usize) -> u128 {
    let mut word = [0u8; 16];
    word.copy_from_slice(&bytes[at..at + 16]);
    u128::from_be_bytes(word)
}

impl UserOperation {
    /// `initCode` = `factory ‖ factoryData`, empty without a factory.
    pub fn init_code(&self) -> Bytes {
        match self.factory {
            Some(factory) => [factory.as_slice(), &self.factory_data].concat().into(),
            None => Bytes::new(),
        }
    }

    /// `accountGasLimits` = `verificationGasLimit (128) ‖ callGasLimit (128)`.
    pub fn account_gas_limits(&self) -> B256 {
        pack_u128s(self.verification_gas_limit, self.call_gas_limit)
    }

    /// `gasFees` = `maxPriorityFeePerGas (128) ‖ maxFeePerGas (128)`.
    pub fn gas_fees(&self) -> B256 {
        pack_u128s(self.max_priority_fee_per_gas, self.max_fee_per_gas)
    }

    /// `paymasterAndData` = `paymaster ‖ verificationGasLimit (16) ‖ postOpGasLimit (16) ‖
    /// paymasterData`, empty without a paymaster.
    pub fn paymaster_and_data(&self) -> Bytes {
        match self.paymaster {
            Some(paymaster) => [
                paymaster.as_slice(),
                &self.paymaster_verification_gas_limit.to_be_bytes(),
                &self.paymaster_post_op_gas_limit.to_be_bytes(),
                &self.paymaster_data,
            ]
            .concat()
            .into(),
            None => Bytes::new(),
        }
    }

    /// The packed form the EntryPoint takes.
    pub fn pack(&self) -> PackedUserOperation {
        PackedUserOperation {
            sender: self.sender,
            nonce: self.nonce,
            initCode: self.init_code(),
            callData: self.call_data.clone(),
            accountGasLimits: self.account_gas_limits(),
            preVerificationGas: self.pre_verification_gas,
            gasFees: self.gas_fees(),
            paymasterAndData: self.paymaster_and_data(),
            signature: self.signature.clone(),
        }
    }

    /// Unpacks a packed userOp (a non-empty `initCode` must hold at least a factory
    /// address, a non-empty `paymasterAndData` at least the paymaster and its two gas
    /// limits).
    pub fn from_packed(packed: &PackedUserOperation) -> Result<Self, EvmContractsError> {
        let (factory, factory_data) = match packed.initCode.len() {
            0 => (None, Bytes::new()),
            n if n < 20 => {
                return Err(EvmContractsError::MalformedPackedUserOp(
                    "initCode shorter than 20 bytes",
                ))
            }
            _ => (
                Some(Address::from_slice(&packed.initCode[..20])),
                Bytes::copy_from_slice(&packed.initCode[20..]),
            ),
        };
        let pm = &packed.paymasterAndData;
        let (paymaster, pm_vgl, pm_pogl, paymaster_data) = match pm.len() {
            0 => (None, 0, 0, Bytes::new()),
            n if n < 52 => {
                return Err(EvmContractsError::MalformedPackedUserOp(
                    "paymasterAndData shorter than 52 bytes",
                ))
            }
            _ => (
                Some(Address::from_slice(&pm[..20])),
                u128_at(pm, 20),
                u128_at(pm, 36),
                Bytes::copy_from_slice(&pm[52..]),
            ),
        };
        let (verification_gas_limit, call_gas_limit) = unpack_u128s(&packed.accountGasLimits);
        let (max_priority_fee_per_gas, max_fee_per_gas) = unpack_u128s(&packed.gasFees);
        Ok(Self {
            sender: packed.sender,
            nonce: packed.nonce,
            factory,
            factory_data,
            call_data: packed.callData.clone(),
            call_gas_limit,
            verification_gas_limit,
            pre_verification_gas: packed.preVerificationGas,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            paymaster,
            paymaster_verification_gas_limit: pm_vgl,
            paymaster_post_op_gas_limit: pm_pogl,
            paymaster_data,
            signature: packed.signature.clone(),
        })
    }

    /// The EIP-712 struct hash of the packed userOp (the signature is not part of it).
    pub fn struct_hash(&self) -> B256 {
        keccak256(
            (
                PACKED_USEROP_TYPEHASH,
                self.sender,
                self.nonce,
                keccak256(self.init_code()),
                keccak256(&self.call_data),
                self.account_gas_limits(),
                self.pre_verification_gas,
                self.gas_fees(),
                keccak256(self.paymaster_and_data()),
            )
                .abi_encode(),
        )
    }

    /// The v0.8 userOp hash, `EntryPoint.getUserOpHash(pack())`:
    /// `keccak256(0x1901 ‖ domainSeparator(ERC4337, 1, chainId, entryPoint) ‖ structHash)`.
    ///
    /// EIP-7702 userOps (an `initCode` starting with the `0x7702` marker), whose hash the
    /// EntryPoint computes from the sender's on-chain delegate, are not covered.
    pub fn hash(&self, entry_point: Address, chain_id: u64) -> B256 {
        let mut preimage = [0u8; 66];
        preimage[..2].copy_from_slice(&[0x19, 0x01]);
        preimage[2..34].copy_from_slice(domain_separator(entry_point, chain_id).as_slice());
        preimage[34..].copy_from_slice(self.struct_hash().as_slice());
        keccak256(preimage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typehash_is_the_keccak_of_the_type() {
        assert_eq!(keccak256(PACKED_USEROP_TYPE), PACKED_USEROP_TYPEHASH);
    }
}
