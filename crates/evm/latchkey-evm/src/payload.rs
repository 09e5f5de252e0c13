//! The payload a user signs: the userOp in the ERC-4337 JSON-RPC shape, with the chain
//! and EntryPoint its hash is bound to.
//!
//! ```json
//! { "chainId": 31337,
//!   "entryPoint": "0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108",
//!   "userOperation": { "sender": "0x…", "nonce": "0x…", "factory": null,
//!                      "factoryData": "0x", "callData": "0x…", "callGasLimit": "0x…",
//!                      "verificationGasLimit": "0x…", "preVerificationGas": "0x…",
//!                      "maxFeePerGas": "0x…", "maxPriorityFeePerGas": "0x…",
//!                      "paymaster": "0x…", "paymasterVerificationGasLimit": "0x…",
//!                      "paymasterPostOpGasLimit": "0x0", "paymasterData": "0x…",
//!                      "signature": "0x" } }
//! ```
//!
//! The digest signed is the v0.8 `userOpHash` (EIP-712 over the EntryPoint's domain),
//! exactly what viem's `getUserOperationHash({ chainId, entryPointAddress,
//! entryPointVersion: "0.8", userOperation })` returns for the same object.

use alloy_primitives::{Address, B256};
use latchkey_chain::Refusal;
use latchkey_core::codes;
use latchkey_evm_contracts::UserOperation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Payload {
    /// The chain the hash is for.
    pub chain_id: u64,
    /// The EntryPoint the hash is for.
    pub entry_point: Address,
    /// The userOp (its `signature` is not part of the hash, and is ignored: the
    /// signature travels beside the payload).
    pub user_operation: UserOperation,
}

impl Payload {
    /// As JSON.
    pub fn to_json(&self) -> Result<Value, Refusal> {
        serde_json::to_value(self)
            .map_err(|e| Refusal::new(codes::INVALID_TYPED_DATA, e.to_string()))
    }

    /// From JSON, refusing anything that is not exactly this shape.
    pub fn from_json(value: &Value) -> Result<Self, Refusal> {
        Self::deserialize(value).map_err(|e| {
            Refusal::new(
                codes::INVALID_TYPED_DATA,
                format!("not an ERC-4337 v0.8 userOp payload: {e}"),
            )
        })
    }

    /// The userOp hash.
    pub fn hash(&self) -> B256 {
        self.user_operation.hash(self.entry_point, self.chain_id)
    }
}
