//! Randomness from the caller. WebAssembly has no OS RNG of its own, and latchkey-core
//! never reaches for one: every function that needs randomness takes a buffer of at least
//! [`MIN_ENTROPY_BYTES`] bytes from `crypto.getRandomValues`, which seeds a ChaCha20 CSPRNG
//! for that one call.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{ErrorCode, WasmError, WasmResult};

/// Least entropy accepted per call, in bytes.
pub const MIN_ENTROPY_BYTES: usize = 32;

/// Most entropy accepted per call, in bytes (more adds nothing).
const MAX_ENTROPY_BYTES: usize = 4096;

const SEED_LABEL: &[u8] = b"latchkey-wasm/entropy/v1";

/// A CSPRNG seeded with `SHA-256(label ‖ entropy)`. Rejects short buffers and buffers that
/// are all one byte value (an unfilled `Uint8Array` is all zeros).
pub(crate) fn rng_from_entropy(entropy: &[u8]) -> WasmResult<ChaCha20Rng> {
    if entropy.len() < MIN_ENTROPY_BYTES || entropy.len() > MAX_ENTROPY_BYTES {
        return Err(WasmError::new(
            ErrorCode::InsufficientEntropy,
            format!(
                "Pass {MIN_ENTROPY_BYTES} to {MAX_ENTROPY_BYTES} bytes from crypto.getRandomValues; got {}.",
                entropy.len()
            ),
        ));
    }
    if entropy.iter().all(|b| *b == entropy[0]) {
        return Err(WasmError::new(
            ErrorCode::InsufficientEntropy,
            "The entropy buffer is constant; fill it with crypto.getRandomValues.",
        ));
    }
    let mut hasher = Sha256::new();
    hasher.update(SEED_LABEL);
    hasher.update(entropy);
    let seed = Zeroizing::new(<[u8; 32]>::from(hasher.finalize()));
    Ok(ChaCha20Rng::from_seed(*seed))
}

#[cfg(test)]
mod tests {
    use rand_core::RngCore;

    use super::*;

    fn sample(byte: u8) -> Vec<u8> {
        (0..32u8).map(|i| i.wrapping_mul(7).wrapping_add(byte)).collect()
    }

    #[test]
    fn short_long_and_constant_buffers_are_refused() {
        for bad in [vec![], vec![1u8; 31], vec![0u8; 32], vec![0xffu8; 64], vec![3u8; 5000]] {
            let err = rng_from_entropy(&bad).err().map(|e| e.code);
            assert_eq!(err, Some(ErrorCode::InsufficientEntropy), "{} bytes", bad.len());
        }
        assert!(rng_from_entropy(&sample(0)).is_ok());
    }

    #[test]
    fn the_stream_depends_on_every_input_byte() {
        let mut a = rng_from_entropy(&sample(0)).unwrap();
        let mut b = rng_from_entropy(&sample(0)).unwrap();
        assert_eq!(a.next_u64(), b.next_u64(), "deterministic for one input");
        let mut changed = sample(0);
        changed[31] ^= 1;
        let mut c = rng_from_entropy(&changed).unwrap();
        let mut a = rng_from_entropy(&sample(0)).unwrap();
        assert_ne!(a.next_u64(), c.next_u64());
    }
}
