//! Arithmetic modulo the STARK curve order `n`, on four little-endian 64-bit limbs, in
//! Montgomery form (`R = 2^256`). The control flow and memory accesses depend only on
//! public constants, never on the operands.

/// A 256-bit integer as little-endian 64-bit limbs.
pub(super) type Limbs = [u64; 4];

/// The curve order `n` (little-endian limbs).
pub(super) const N: Limbs =
    [0x1e66_a241_adc6_4d2f, 0xb781_126d_cae7_b232, 0xffff_ffff_ffff_ffff, 0x0800_0000_0000_0010];

/// `-n^-1 mod 2^64`, for the Montgomery reduction.
const N_PRIME: u64 = neg_inverse_mod_2_64(N[0]);

/// `2^512 mod n`: multiplying by it in Montgomery form converts into Montgomery form.
const R2: Limbs = pow2_mod_n(512);

/// `2^256 mod n`: one, in Montgomery form.
const R1: Limbs = pow2_mod_n(256);

/// `n - 2`, the exponent that inverts by Fermat's little theorem.
const N_MINUS_2: Limbs = [N[0] - 2, N[1], N[2], N[3]];

const fn neg_inverse_mod_2_64(odd: u64) -> u64 {
    // Newton's iteration doubles the number of correct low bits each round: 1 -> 64.
    let mut inv: u64 = 1;
    let mut round = 0;
    while round < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inv)));
        round += 1;
    }
    inv.wrapping_neg()
}

/// `2^e mod n` by repeated modular doubling (compile time only).
const fn pow2_mod_n(e: u32) -> Limbs {
    let mut acc: Limbs = [1, 0, 0, 0];
    let mut i = 0;
    while i < e {
        acc = add_mod(&acc, &acc);
        i += 1;
    }
    acc
}

/// `a - b` and the final borrow (0 or 1).
pub(super) const fn sub_with_borrow(a: &Limbs, b: &Limbs) -> (Limbs, u64) {
    let mut out = [0u64; 4];
    let mut borrow = 0u64;
    let mut i = 0;
    while i < 4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow);
        out[i] = d2;
        borrow = (b1 | b2) as u64;
        i += 1;
    }
    (out, borrow)
}

/// `if mask == !0 { a } else { b }`, for `mask` in `{0, !0}`.
pub(super) const fn select(mask: u64, a: &Limbs, b: &Limbs) -> Limbs {
    [
        (a[0] & mask) | (b[0] & !mask),
        (a[1] & mask) | (b[1] & !mask),
        (a[2] & mask) | (b[2] & !mask),
        (a[3] & mask) | (b[3] & !mask),
    ]
}

/// `value mod n` for `value < 2n`.
pub(super) const fn reduce_once(value: &Limbs) -> Limbs {
    let (diff, borrow) = sub_with_borrow(value, &N);
    // borrow == 1: value < n, keep it.
    select(0u64.wrapping_sub(borrow), value, &diff)
}

/// `(a + b) mod n` for `a, b < n`. As `n < 2^252`, the sum never overflows 256 bits.
pub(super) const fn add_mod(a: &Limbs, b: &Limbs) -> Limbs {
    let mut sum = [0u64; 4];
    let mut carry = 0u64;
    let mut i = 0;
    while i < 4 {
        let wide = a[i] as u128 + b[i] as u128 + carry as u128;
        sum[i] = wide as u64;
        carry = (wide >> 64) as u64;
        i += 1;
    }
    reduce_once(&sum)
}

/// Montgomery product `a · b · 2^-256 mod n`, for `a, b < n` (the result is `< n`).
pub(super) fn mont_mul(a: &Limbs, b: &Limbs) -> Limbs {
    // t holds up to five limbs; with n < 2^252 the fifth never exceeds 1 bit.
    let mut t = [0u64; 5];
    for &bi in b {
        // t += a · b_i
        let mut carry = 0u64;
        for j in 0..4 {
            let wide = u128::from(t[j]) + u128::from(a[j]) * u128::from(bi) + u128::from(carry);
            t[j] = wide as u64;
            carry = (wide >> 64) as u64;
        }
        let top = u128::from(t[4]) + u128::from(carry);
        t[4] = top as u64;
        let overflow = (top >> 64) as u64;

        // t = (t + m · n) / 2^64, with m chosen to clear the low limb.
        let m = t[0].wrapping_mul(N_PRIME);
        let wide = u128::from(t[0]) + u128::from(m) * u128::from(N[0]);
        let mut carry = (wide >> 64) as u64;
        for j in 1..4 {
            let wide = u128::from(t[j]) + u128::from(m) * u128::from(N[j]) + u128::from(carry);
            t[j - 1] = wide as u64;
            carry = (wide >> 64) as u64;
        }
        let top = u128::from(t[4]) + u128::from(carry);
        t[3] = top as u64;
        t[4] = overflow + (top >> 64) as u64;
    }
    // t < 2n < 2^253, so t[4] == 0 and one conditional subtraction suffices.
    debug_assert_eq!(t[4], 0);
    reduce_once(&[t[0], t[1], t[2], t[3]])
}

/// `a` (`< n`) into Montgomery form.
pub(super) fn to_mont(a: &Limbs) -> Limbs {
    mont_mul(a, &R2)
}

/// `a` out of Montgomery form.
#[cfg(test)]
pub(super) fn from_mont(a: &Limbs) -> Limbs {
    mont_mul(a, &[1, 0, 0, 0])
}

/// The inverse of `a` (Montgomery form, nonzero mod `n`), in Montgomery form:
/// `a^(n-2)`, with a fixed 4-bit window over the public exponent. Zero maps to zero.
pub(super) fn mont_invert(a: &Limbs) -> Limbs {
    let mut powers = [R1; 16];
    for i in 1..16 {
        powers[i] = mont_mul(&powers[i - 1], a);
    }
    let mut acc = R1;
    for window in (0..64).rev() {
        for _ in 0..4 {
            acc = mont_mul(&acc, &acc);
        }
        let digit = (N_MINUS_2[window / 16] >> ((window % 16) * 4)) & 0xf;
        acc = mont_mul(&acc, &powers[digit as usize]);
    }
    acc
}

/// True when all limbs are zero.
pub(super) fn is_zero(a: &Limbs) -> bool {
    (a[0] | a[1] | a[2] | a[3]) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    fn big(a: &Limbs) -> BigUint {
        BigUint::from_slice(&[
            a[0] as u32,
            (a[0] >> 32) as u32,
            a[1] as u32,
            (a[1] >> 32) as u32,
            a[2] as u32,
            (a[2] >> 32) as u32,
            a[3] as u32,
            (a[3] >> 32) as u32,
        ])
    }

    fn limbs(value: &BigUint) -> Limbs {
        let digits = value.to_u64_digits();
        let mut out = [0u64; 4];
        out[..digits.len()].copy_from_slice(&digits);
        out
    }

    #[test]
    fn constants() {
        let n = big(&N);
        assert_eq!(
            n,
            BigUint::parse_bytes(
                b"800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2f",
                16
            )
            .unwrap()
        );
        assert_eq!(N[0].wrapping_mul(N_PRIME), u64::MAX);
        assert_eq!(big(&R1), (BigUint::from(1u8) << 256) % &n);
        assert_eq!(big(&R2), (BigUint::from(1u8) << 512) % &n);
    }

    #[test]
    fn multiply_and_invert_match_bigint() {
        let n = big(&N);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut samples = vec![
            BigUint::from(1u8),
            BigUint::from(2u8),
            &n - 1u8,
            &n - 2u8,
            (BigUint::from(1u8) << 251) - 1u8,
        ];
        for _ in 0..300 {
            let raw = [next(), next(), next(), next() & 0x0fff_ffff_ffff_ffff];
            samples.push(big(&raw) % &n);
        }
        for pair in samples.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let (am, bm) = (to_mont(&limbs(a)), to_mont(&limbs(b)));
            assert_eq!(big(&from_mont(&mont_mul(&am, &bm))), (a * b) % &n);
            assert_eq!(big(&add_mod(&limbs(a), &limbs(b))), (a + b) % &n);
            if *a != BigUint::from(0u8) {
                let inv = big(&from_mont(&mont_invert(&am)));
                assert_eq!((inv * a) % &n, BigUint::from(1u8));
            }
        }
        assert!(is_zero(&from_mont(&mont_invert(&[0; 4]))));
    }
}
