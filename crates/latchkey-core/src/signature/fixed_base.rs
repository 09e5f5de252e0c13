//! Stark ECDSA signing with a precomputed fixed-base table for the generator `G`.
//!
//! Only the `x` coordinate of `k · G` is needed, and `x(-P) = x(P)`, so an even `k` is
//! replaced by the odd `n - k`. An odd `k < n < 2^252` is the sum of 63 signed odd
//! digits: `k = Σ d_i · 16^i` with `d_i = 2·b_i - 15` for the four-bit chunks
//! `b_i = (k >> (4i + 1)) & 15` (`i < 62`, so `d_i ∈ {±1, ±3, …, ±15}`) and
//! `d_62 = 2·(k >> 249) + 1 ≤ 9`. The table holds, for every window `i`, the affine
//! points `1, 3, …, 15 · 16^i · G` (8 × 63 points, 31.5 KiB); signing adds, per window,
//! the entry for `|d_i|`, negated when `d_i < 0`. Every entry of a window is read
//! (constant-time selection), no digit is zero, and the number of additions is fixed:
//! 63 mixed additions instead of ~250 doublings and ~125 additions.
//!
//! The rest mirrors `starknet_rust_crypto::sign` exactly (same checks, same errors, same
//! `r` and `s`), with the arithmetic modulo `n` in [`super::scalar`].

use std::sync::OnceLock;

use starknet_rust_crypto::SignError;
use starknet_types_core::curve::{AffinePoint, ProjectivePoint};
use zeroize::Zeroizing;

use super::scalar::{self, Limbs};
use crate::felt::Felt;

/// `2^251`: messages, `r` and `s` must lie below it (as in `crypto-cpp`).
const ELEMENT_UPPER_BOUND: Felt =
    Felt::from_hex_unchecked("0x0800000000000000000000000000000000000000000000000000000000000000");

/// Signed four-bit digits covering `k < 2^252`.
const WINDOWS: usize = 63;
/// Entries per window: the odd multiples `1·B, 3·B, …, 15·B` of its base `B = 16^i · G`.
const ENTRIES: usize = 8;

/// An affine point as the raw (Montgomery-form) limbs of its `x` and `y` felts.
type RawPoint = [[u64; 4]; 2];

/// The generator table.
pub(super) struct Table {
    windows: Box<[[RawPoint; ENTRIES]]>,
}

/// The table, built on first use; `None` only if a normalisation failed, which cannot
/// happen for the STARK curve (no entry is the point at infinity).
pub(super) fn table() -> Option<&'static Table> {
    static TABLE: OnceLock<Option<Table>> = OnceLock::new();
    TABLE.get_or_init(build_table).as_ref()
}

fn build_table() -> Option<Table> {
    let generator = AffinePoint::generator();
    let mut base = ProjectivePoint::from_affine_unchecked(generator.x(), generator.y());
    let mut points: Vec<ProjectivePoint> = Vec::with_capacity(WINDOWS * ENTRIES);
    for _ in 0..WINDOWS {
        let twice = base.double();
        let mut multiple = base.clone();
        points.push(multiple.clone());
        for _ in 1..ENTRIES {
            multiple += &twice;
            points.push(multiple.clone());
        }
        // 15·B + B = 16·B is the next window's base.
        base = &multiple + &base;
    }

    let affine = normalize(&points)?;
    let windows: Box<[[RawPoint; ENTRIES]]> = affine
        .chunks_exact(ENTRIES)
        .map(|chunk| {
            let mut window = [[[0u64; 4]; 2]; ENTRIES];
            window.copy_from_slice(chunk);
            window
        })
        .collect();
    Some(Table { windows })
}

/// Affine coordinates of projective points with one field inversion (Montgomery's
/// trick); `None` if a point is at infinity.
fn normalize(points: &[ProjectivePoint]) -> Option<Vec<RawPoint>> {
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Felt::ONE;
    for point in points {
        prefix.push(acc);
        acc *= point.z();
    }
    let mut inverse = acc.inverse()?;
    let mut out = vec![[[0u64; 4]; 2]; points.len()];
    for (i, point) in points.iter().enumerate().rev() {
        // inverse == 1 / (z_0 ⋯ z_i); prefix[i] == z_0 ⋯ z_{i-1}.
        let z_inv = inverse * prefix[i];
        inverse *= point.z();
        out[i] = [(point.x() * z_inv).to_raw(), (point.y() * z_inv).to_raw()];
    }
    Some(out)
}

/// All-ones when `a == b`, else zero, without a branch.
fn eq_mask(a: u64, b: u64) -> u64 {
    let diff = a ^ b;
    ((diff | diff.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// `if mask == !0 { a } else { b }`, for `mask` in `{0, !0}`.
fn select_limbs(mask: u64, a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    [
        (a[0] & mask) | (b[0] & !mask),
        (a[1] & mask) | (b[1] & !mask),
        (a[2] & mask) | (b[2] & !mask),
        (a[3] & mask) | (b[3] & !mask),
    ]
}

/// `±window[index]` (negated when `negate == !0`), reading every entry.
fn select(window: &[RawPoint; ENTRIES], index: u64, negate: u64) -> AffinePoint {
    let mut out = [[0u64; 4]; 2];
    for (j, entry) in (0u64..).zip(window) {
        let mask = eq_mask(j, index);
        for (out_coord, coord) in out.iter_mut().zip(entry) {
            for (o, limb) in out_coord.iter_mut().zip(coord) {
                *o |= limb & mask;
            }
        }
    }
    let y = Felt::from_raw(out[1]);
    // No table entry has y = 0 (that would be a point of order 2), so -y is p - y.
    let y = Felt::from_raw(select_limbs(negate, &(-y).to_raw(), &out[1]));
    AffinePoint::new_unchecked(Felt::from_raw(out[0]), y)
}

/// The affine `x` of `k · G` for `0 < k < n` (zero for the point at infinity, as
/// `AffinePoint::x` gives).
fn mul_generator_x(table: &Table, k: &Limbs) -> Felt {
    // x(k·G) = x((n - k)·G): make the scalar odd.
    let negated = Zeroizing::new(scalar::sub_with_borrow(&scalar::N, k).0);
    let k = Zeroizing::new(scalar::select(0u64.wrapping_sub(k[0] & 1), k, &negated));

    let mut acc = ProjectivePoint::identity();
    for (i, window) in table.windows.iter().enumerate() {
        // b_i = (k >> (4i + 1)) & 15, across a limb boundary when 4i + 1 > 60.
        let shift = 4 * i + 1;
        let (limb, bit) = (shift / 64, shift % 64);
        let mut chunk = k[limb] >> bit;
        if bit > 60 && limb < 3 {
            chunk |= k[limb + 1] << (64 - bit);
        }
        let chunk = chunk & 0xf;
        let (index, negate) = if i + 1 < WINDOWS {
            // d = 2·b - 15: negative when b < 8; |d| = 2·index + 1.
            let negate = (chunk >> 3).wrapping_sub(1);
            ((chunk & 7) ^ (negate & 7), negate)
        } else {
            // d = 2·b + 1 with b = k >> 249 ≤ 4, positive.
            (chunk, 0)
        };
        acc += &select(window, index, negate);
    }
    match acc.z().inverse() {
        Some(z_inv) => acc.x() * z_inv,
        None => Felt::ZERO,
    }
}

fn to_limbs(value: &Felt) -> Limbs {
    value.to_le_digits()
}

fn from_limbs(limbs: &Limbs) -> Felt {
    let mut bytes = [0u8; 32];
    for (chunk, limb) in bytes.chunks_exact_mut(8).rev().zip(limbs) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    Felt::from_bytes_be(&bytes)
}

/// `starknet_rust_crypto::sign(private_key, message, k)`'s `(r, s)`, computed with the
/// table.
pub(super) fn sign(
    table: &Table,
    private_key: &Felt,
    message: &Felt,
    k: &Felt,
) -> Result<(Felt, Felt), SignError> {
    if message >= &ELEMENT_UPPER_BOUND {
        return Err(SignError::InvalidMessageHash);
    }
    // Felts lie below p < 2n, so one conditional subtraction reduces them modulo n.
    // k ≡ 0 (mod n) makes k · G the point at infinity, whose x (0) is rejected below.
    let k = Zeroizing::new(scalar::reduce_once(&to_limbs(k)));
    if scalar::is_zero(&k) {
        return Err(SignError::InvalidK);
    }

    let r = mul_generator_x(table, &k);
    if r == Felt::ZERO || r >= ELEMENT_UPPER_BOUND {
        return Err(SignError::InvalidK);
    }

    // s = (m + r · d) / k mod n; r, m < 2^251 < n.
    let d = Zeroizing::new(scalar::reduce_once(&to_limbs(private_key)));
    let r_d = scalar::mont_mul(&scalar::to_mont(&to_limbs(&r)), &d);
    let sum = scalar::add_mod(&r_d, &to_limbs(message));
    let k_inv = Zeroizing::new(scalar::mont_invert(&scalar::to_mont(&k)));
    let s = from_limbs(&scalar::mont_mul(&sum, &k_inv));

    if s == Felt::ZERO || s >= ELEMENT_UPPER_BOUND {
        return Err(SignError::InvalidK);
    }
    Ok((r, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_two_to_the_251() {
        assert_eq!(ELEMENT_UPPER_BOUND, Felt::TWO.pow(251u32));
    }

    #[test]
    fn limb_round_trip() {
        let value = Felt::from_hex_unchecked(
            "0x0712345678abcdef0011223344556677889900aabbccddeeff0123456789abcd",
        );
        assert_eq!(from_limbs(&to_limbs(&value)), value);
    }

    #[test]
    fn table_multiplication_matches_double_and_add() {
        let table = table().expect("table");
        let g = AffinePoint::generator();
        let n = Felt::from_hex_unchecked(
            "0x0800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2f",
        );
        let mut samples = vec![
            Felt::ONE,
            Felt::TWO,
            Felt::from(15u8),
            Felt::from(16u8),
            Felt::from(17u8),
            n - Felt::ONE,
            n - Felt::TWO,
            Felt::TWO.pow(251u32),
            Felt::TWO.pow(251u32) - Felt::ONE,
            // Digits at the sign boundary (chunks 7 and 8), odd and even.
            Felt::from_hex_unchecked(
                "0x0777777777777777777777777777777777777777777777777777777777777777",
            ),
            Felt::from_hex_unchecked(
                "0x0711111111111111111111111111111111111111111111111111111111111110",
            ),
            Felt::from_hex_unchecked(
                "0x07ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            ),
        ];
        let mut x = Felt::from_hex_unchecked("0x1234567890abcdef");
        for _ in 0..64 {
            x = x * x + Felt::from(7u8);
            samples.push(Felt::from_bytes_be(&{
                let mut b = x.to_bytes_be();
                b[0] &= 0x07;
                b
            }));
        }
        for k in samples {
            let limbs = scalar::reduce_once(&to_limbs(&k));
            assert_eq!(mul_generator_x(table, &limbs), (&g * k).x(), "k = {k:#x}");
        }
    }
}
