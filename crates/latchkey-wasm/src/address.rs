//! Starknet contract addresses without Pedersen lookup tables.
//!
//! `latchkey_core::contract_address` hashes with the table-driven Pedersen of
//! `starknet-types-core`, whose ~1,900 precomputed points are about 180 KiB of data:
//! more than the rest of the Starknet signer module. An address is computed once per
//! wallet, so here the hash is evaluated from its definition instead,
//! `H(a, b) = x(P0 + a_low·P1 + a_high·P2 + b_low·P3 + b_high·P4)` (`a_low` the low 248
//! bits, `a_high` the top 4), with five constant points and plain scalar
//! multiplications: a few milliseconds per address and no table in the module. The
//! native tests check it against `latchkey_core::contract_address`.

use latchkey_core::Felt;
use starknet_types_core::curve::ProjectivePoint;

/// The Pedersen hash's shift point `P0` and its four generators `P1`–`P4` (affine).
const POINTS: [(&str, &str); 5] = [
    (
        "0x049ee3eba8c1600700ee1b87eb599f16716b0b1022947733551fde4050ca6804",
        "0x03ca0cfe4b3bc6ddf346d49d06ea0ed34e621062c0e056c1d0405d266e10268a",
    ),
    (
        "0x0234287dcbaffe7f969c748655fca9e58fa8120b6d56eb0c1080d17957ebe47b",
        "0x03b056f100f96fb21e889527d41f4e39940135dd7a6c94cc6ed0268ee89e5615",
    ),
    (
        "0x04fa56f376c83db33f9dab2656558f3399099ec1de5e3018b7a6932dba8aa378",
        "0x03fa0984c931c9e38113e0c0e47e4401562761f92a7a23b45168f4e80ff5b54d",
    ),
    (
        "0x04ba4cc166be8dec764910f75b45f74b40c690c74709e90f3aa372f0bd2d6997",
        "0x0040301cf5c1751f4b971e46c4ede85fcac5c59a5ce5ae7c48151f27b24b219c",
    ),
    (
        "0x054302dcb0e6cc1c6e44cca8f61a63bb2ca65048d53fb325d36ff12c49a58202",
        "0x01b77b3e37d13504b348046268d8ae25ce98ad783c25561a879dcc77e99c2426",
    ),
];

fn point(index: usize) -> ProjectivePoint {
    let (x, y) = POINTS[index];
    ProjectivePoint::from_affine_unchecked(Felt::from_hex_unchecked(x), Felt::from_hex_unchecked(y))
}

/// `value` split into its low 248 bits and its top 4 bits.
fn split(value: &Felt) -> (Felt, Felt) {
    let mut bytes = value.to_bytes_be();
    let high = Felt::from(bytes[0]);
    bytes[0] = 0;
    (Felt::from_bytes_be(&bytes), high)
}

/// Starknet's Pedersen hash of `a` and `b`.
pub(crate) fn pedersen(a: &Felt, b: &Felt) -> Felt {
    let mut acc = point(0);
    for (value, low_base, high_base) in [(a, 1, 2), (b, 3, 4)] {
        let (low, high) = split(value);
        acc += &(&point(low_base) * low);
        acc += &(&point(high_base) * high);
    }
    // The sum is never the point at infinity for these generators (its discrete log
    // would be known); zero stands in for that impossible case.
    acc.to_affine().map_or(Felt::ZERO, |p| p.x())
}

/// Starknet's contract address of `class_hash` deployed with `salt`, `calldata` and
/// `deployer` (the same value as `latchkey_core::contract_address`).
pub(crate) fn contract_address(
    salt: &Felt,
    class_hash: &Felt,
    calldata: &[Felt],
    deployer: &Felt,
) -> Felt {
    let mut calldata_hash = Felt::ZERO;
    for item in calldata {
        calldata_hash = pedersen(&calldata_hash, item);
    }
    calldata_hash = pedersen(&calldata_hash, &Felt::from(calldata.len() as u64));
    let prefix = Felt::from_bytes_be_slice(b"STARKNET_CONTRACT_ADDRESS");
    let mut acc = Felt::ZERO;
    for item in [prefix, *deployer, *salt, *class_hash, calldata_hash] {
        acc = pedersen(&acc, &item);
    }
    acc = pedersen(&acc, &Felt::from(5u8));
    // Addresses live below 2^251 - 256; a felt is below twice that, so one subtraction
    // reduces it.
    let bound = Felt::from_hex_unchecked(
        "0x7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff00",
    );
    if acc >= bound {
        acc - bound
    } else {
        acc
    }
}

#[cfg(test)]
mod tests {
    use starknet_types_core::hash::{Pedersen, StarkHash};

    use super::*;

    #[test]
    fn matches_the_table_driven_hash_and_address() {
        let values = [
            Felt::ZERO,
            Felt::ONE,
            Felt::from(0x0fu8),
            Felt::MAX,
            Felt::from_hex_unchecked(
                "0x03d937c035c878245caf64531a5756109c53068da139362728feb561405371cb",
            ),
            Felt::from_hex_unchecked(
                "0x0208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31a",
            ),
        ];
        for a in &values {
            for b in &values {
                assert_eq!(pedersen(a, b), Pedersen::hash(a, b), "{a:#x} {b:#x}");
            }
        }
        for owner in &values[1..] {
            let class_hash = values[4];
            assert_eq!(
                contract_address(owner, &class_hash, &[*owner], &Felt::ZERO),
                latchkey_core::contract_address(owner, &class_hash, &[*owner], &Felt::ZERO)
            );
        }
        let salt = Felt::from(7u8);
        let calldata = [Felt::ONE, Felt::MAX, values[5]];
        assert_eq!(
            contract_address(&salt, &values[5], &calldata, &values[4]),
            latchkey_core::contract_address(&salt, &values[5], &calldata, &values[4])
        );
    }
}
