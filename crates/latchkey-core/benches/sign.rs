//! Stark ECDSA signing: `SigningKey::sign` (RFC 6979 nonce + the precomputed generator
//! table) against `starknet_rust_crypto::sign` on the same nonce, and the first call,
//! which builds the table.
//!
//! Run with `cargo bench -p latchkey-core --bench sign`. One thread; the numbers are for
//! this machine only.

use std::hint::black_box;
use std::time::{Duration, Instant};

use latchkey_core::{Felt, SigningKey};
use starknet_rust_crypto::{rfc6979_generate_k, sign};

fn per_call<T>(runs: u32, mut f: impl FnMut(u32) -> T) -> Duration {
    let start = Instant::now();
    for i in 0..runs {
        black_box(f(i));
    }
    start.elapsed() / runs
}

fn main() {
    let secret = Felt::from_hex_unchecked(
        "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcd",
    );
    let key = SigningKey::from_felt(secret).unwrap_or_else(|_| unreachable!());
    let hash = |i: u32| {
        Felt::from_hex_unchecked("0x3234567890abcdef1234567890abcdef1234567890abcdef1234567890")
            + Felt::from(i)
    };

    let start = Instant::now();
    black_box(key.sign(&hash(0)).ok());
    let first = start.elapsed();

    let runs = 3_000;
    let ours = per_call(runs, |i| key.sign(&hash(i)).ok());
    let reference = per_call(runs, |i| {
        let h = hash(i);
        sign(&secret, &h, &rfc6979_generate_k(&h, &secret, None)).ok()
    });
    let steady = ours.as_secs_f64();
    println!("SigningKey::sign (fixed-base table): {:>8.1} µs", steady * 1e6);
    println!("starknet_rust_crypto::sign + nonce:  {:>8.1} µs", reference.as_secs_f64() * 1e6);
    println!("speed-up:                            {:>8.2}×", reference.as_secs_f64() / steady);
    println!(
        "first call (builds the table):       {:>8.1} µs (≈ {:.1} µs to build)",
        first.as_secs_f64() * 1e6,
        (first.as_secs_f64() - steady) * 1e6
    );
}
