//! The EVM family behind latchkey's chain port: ERC-4337 v0.8 userOps for
//! `LatchkeyAccount`, sponsored by `LatchkeyPaymaster` (signed by latchkey) and bundled
//! (`EntryPoint.handleOps`) from the relayer's own EOAs.
//!
//! [`EvmBackend`] implements [`latchkey_chain::ChainBackend`]:
//!
//! - **identity**: `eip155:<chainId>`, fees in `WEI`, the clock is the latest block's
//!   timestamp; addresses are EIP-55 checksummed (lowercase and uppercase are accepted on
//!   input, a wrong checksum is refused with `INVALID_INPUT`); an owner "public key" is the
//!   owner's address, its account the factory's counterfactual address for (owner, salt 0);
//! - **payloads** ([`payload`]): the userOp in the ERC-4337 JSON-RPC shape with `chainId`
//!   and `entryPoint`; the digest is the v0.8 `userOpHash`; the nonce key of the port is the
//!   whole 256-bit nonce; the window is the paymaster's (`validUntil`, signed at prepare);
//! - **signatures** ([`signature`]): the account's 66 bytes `kind ‖ r ‖ s ‖ v`, as one
//!   hex string or as six felt-sized words; a session signature's `valid_until` is the
//!   sponsorship's last second (the userOp hash commits to it);
//! - **who signs** (the port's `Signing`): an owner userOp has a fresh random 192-bit
//!   nonce key; a session userOp the session's nonce key `key << 32 | registration` and
//!   its next sequence, read from the account at prepare;
//! - **calls** ([`calls`]): EVM calls travel as the port's `Calls::Evm` (see
//!   [`calls::encode_calls`]); session changes are calls of the account on itself;
//! - **relay**: `handleOps([op], relayer)` simulated with `eth_estimateGas` (and the
//!   execution with an `eth_call` from the EntryPoint), signed as an EIP-1559 transaction
//!   by the relayer EOA, sent raw; receipts decode `UserOperationEvent`.
//!
//! Deployments: [`latchkey_chain::Job::Deploy`] is `factory.createAccount(owner, 0)` sent
//! by the relayer EOA itself (no signature of the owner is needed); a userOp prepared for
//! an account known to be undeployed carries the factory fields instead (counterfactual
//! deployment by the first userOp).

mod backend;
pub mod calls;
pub mod payload;
pub mod reasons;
pub mod signature;
mod text;

pub use backend::{
    EvmBackend, EvmConfig, EvmContracts, CALL_GAS_BASE, CALL_GAS_PER_CALL, DEPLOY_VERIFICATION_GAS,
    PAYMASTER_VERIFICATION_GAS, PRE_VERIFICATION_GAS, PRIORITY_FEE, VERIFICATION_GAS,
};
pub use calls::{decode_calls, encode_calls, EvmCall};
pub use payload::Payload;
pub use signature::{signature_bytes, signature_hex, signature_words};
pub use text::{address_text, parse_address};
