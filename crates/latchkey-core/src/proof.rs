//! Proofs of key possession: before the server replaces what it stores for a key (a
//! wallet's encrypted owner key, an end user's stored session) or creates a wallet for a
//! key, the key holder signs a server-issued challenge with the key.
//!
//! The signed hash is `poseidon(PROOF_TAG, chain_id, account, purpose, challenge,
//! payload)`. It begins with a tag of its own, so it can never equal a SNIP-12 message
//! hash or a transaction hash: a proof can never be replayed as an authorisation of
//! anything on chain, and nothing signed for the chain can serve as a proof. The purpose
//! (a short string) separates proofs from one another; the challenge is single-use and
//! bound by the server to one organisation and principal; the payload binds what is being
//! stored (`payload_hash` of it).

use starknet_rust_crypto::poseidon_hash_many;

use crate::{short_string, starknet_keccak, verify_signature, Felt, Signature, SigningKey};

/// The first element of every proof hash (`'latchkey.proof.v1'`).
pub const PROOF_TAG: &str = "latchkey.proof.v1";

/// What a proof authorises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofPurpose {
    /// Creating a wallet for the owner key.
    CreateWallet,
    /// Replacing a wallet's stored encrypted owner key (and backup).
    ReplaceKey,
    /// Restoring an earlier version of a wallet's stored key blobs.
    RestoreKey,
    /// Storing an end user's encrypted session key on the server.
    StoreSession,
    /// Telling the server a PIN unlock through its OPRF succeeded (the unlocked key
    /// signs), which resets the wallet's attempt counter.
    PinUnlock,
}

impl ProofPurpose {
    /// Every purpose.
    pub const ALL: [Self; 5] = [
        Self::CreateWallet,
        Self::ReplaceKey,
        Self::RestoreKey,
        Self::StoreSession,
        Self::PinUnlock,
    ];

    /// The wire and hash spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreateWallet => "create-wallet",
            Self::ReplaceKey => "replace-key",
            Self::RestoreKey => "restore-key",
            Self::StoreSession => "store-session",
            Self::PinUnlock => "pin-unlock",
        }
    }

    /// The purpose spelled `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// The payload part of a proof: `sn_keccak` of what is being stored.
pub fn payload_hash(payload: &[u8]) -> Felt {
    starknet_keccak(payload)
}

/// The hash a key holder signs to prove possession for `purpose`.
pub fn proof_hash(
    chain_id: &Felt,
    account: &Felt,
    purpose: ProofPurpose,
    challenge: &Felt,
    payload: &Felt,
) -> Felt {
    // Both are short ASCII strings of at most 31 characters.
    let tag = short_string(PROOF_TAG).unwrap_or_default();
    let purpose = short_string(purpose.as_str()).unwrap_or_default();
    poseidon_hash_many(&[tag, *chain_id, *account, purpose, *challenge, *payload])
}

/// Signs a proof with `key`.
pub fn sign_proof(
    key: &SigningKey,
    chain_id: &Felt,
    account: &Felt,
    purpose: ProofPurpose,
    challenge: &Felt,
    payload: &Felt,
) -> Result<Signature, crate::SignatureError> {
    key.sign(&proof_hash(chain_id, account, purpose, challenge, payload))
}

/// Whether `signature` is `public_key`'s proof for these inputs.
pub fn verify_proof(
    public_key: &Felt,
    chain_id: &Felt,
    account: &Felt,
    purpose: ProofPurpose,
    challenge: &Felt,
    payload: &Felt,
    signature: &Signature,
) -> bool {
    verify_signature(
        public_key,
        &proof_hash(chain_id, account, purpose, challenge, payload),
        signature,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_felt(Felt::from(0x1234_5678u64)).unwrap()
    }

    #[test]
    fn proofs_verify_only_for_their_own_inputs() {
        let chain = short_string("SN_SEPOLIA").unwrap();
        let account = Felt::from(0xaccu64);
        let challenge = Felt::from(0xc0ffeeu64);
        let payload = payload_hash(b"lk1$owner$...");
        let sig =
            sign_proof(&key(), &chain, &account, ProofPurpose::ReplaceKey, &challenge, &payload)
                .unwrap();
        let public = key().public_key();
        assert!(verify_proof(
            &public,
            &chain,
            &account,
            ProofPurpose::ReplaceKey,
            &challenge,
            &payload,
            &sig
        ));
        let other = Felt::from(9u8);
        for (chain, account, purpose, challenge, payload) in [
            (other, account, ProofPurpose::ReplaceKey, challenge, payload),
            (chain, other, ProofPurpose::ReplaceKey, challenge, payload),
            (chain, account, ProofPurpose::RestoreKey, challenge, payload),
            (chain, account, ProofPurpose::ReplaceKey, other, payload),
            (chain, account, ProofPurpose::ReplaceKey, challenge, other),
        ] {
            assert!(!verify_proof(&public, &chain, &account, purpose, &challenge, &payload, &sig));
        }
        assert!(!verify_proof(
            &other,
            &chain,
            &account,
            ProofPurpose::ReplaceKey,
            &challenge,
            &payload,
            &sig
        ));
    }

    #[test]
    fn purposes_round_trip_and_fit_a_short_string() {
        for purpose in ProofPurpose::ALL {
            assert_eq!(ProofPurpose::parse(purpose.as_str()), Some(purpose));
            assert!(short_string(purpose.as_str()).is_ok());
        }
        assert!(short_string(PROOF_TAG).is_ok());
        assert_eq!(ProofPurpose::parse("anything else"), None);
    }
}
