//! Custody proofs on EVM: the holder of a key proves possession for one action (create a
//! wallet, replace its stored key, …) by signing, with `personal_sign` over 32 bytes
//! (viem's `signMessage({ message: { raw } })`), the hash of
//! `abi.encode(keccak256("latchkey.proof"), chainId, account, keccak256(purpose),
//! challenge, payload)`: bound to the chain, the account, the action, a single-use
//! challenge the server issued and the payload being stored.

use alloy_primitives::{keccak256, Address, B256, U256};

use crate::signature::{eip191_digest, RawSignature};
use crate::EvmContractsError;

/// The domain tag of a proof.
pub const PROOF_TAG: &str = "latchkey.proof";

/// The 32 bytes a key holder signs (with the EIP-191 prefix) to prove possession.
pub fn proof_hash(
    chain_id: u64,
    account: Address,
    purpose: &str,
    challenge: B256,
    payload: B256,
) -> B256 {
    let mut encoded = Vec::with_capacity(6 * 32);
    encoded.extend_from_slice(keccak256(PROOF_TAG.as_bytes()).as_slice());
    encoded.extend_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
    encoded.extend_from_slice(B256::left_padding_from(account.as_slice()).as_slice());
    encoded.extend_from_slice(keccak256(purpose.as_bytes()).as_slice());
    encoded.extend_from_slice(challenge.as_slice());
    encoded.extend_from_slice(payload.as_slice());
    keccak256(&encoded)
}

/// The address whose `personal_sign` of `hash` is `signature` (65 bytes `r ‖ s ‖ v`,
/// low `s`).
pub fn recover_proof(signature: &[u8], hash: B256) -> Result<Address, EvmContractsError> {
    RawSignature::from_bytes(signature)?.recover(eip191_digest(hash))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::signature::{address_of, sign_digest};

    #[test]
    fn a_proof_recovers_to_its_signer_only_for_its_own_inputs() {
        let key = B256::repeat_byte(7);
        let signer = address_of(&key).unwrap();
        let account = Address::repeat_byte(0xac);
        let (challenge, payload) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let hash = proof_hash(31337, account, "create-wallet", challenge, payload);
        let signature = sign_digest(&key, eip191_digest(hash)).unwrap().to_bytes();
        assert_eq!(recover_proof(&signature, hash).unwrap(), signer);
        for other in [
            proof_hash(1, account, "create-wallet", challenge, payload),
            proof_hash(31337, Address::repeat_byte(0xad), "create-wallet", challenge, payload),
            proof_hash(31337, account, "replace-key", challenge, payload),
            proof_hash(31337, account, "create-wallet", payload, payload),
            proof_hash(31337, account, "create-wallet", challenge, challenge),
        ] {
            assert_ne!(other, hash);
            assert_ne!(recover_proof(&signature, other).ok(), Some(signer));
        }
        // Without the prefix, or truncated, it is not a proof.
        let bare = sign_digest(&key, hash).unwrap().to_bytes();
        assert_ne!(recover_proof(&bare, hash).ok(), Some(signer));
        assert!(recover_proof(&signature[..64], hash).is_err());
    }
}
