//! Property tests: parsing signatures and paymaster data never panics on arbitrary bytes;
//! what is produced parses back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_evm_contracts::abi::PackedUserOperation;
use latchkey_evm_contracts::{
    paymaster_and_data, Address, PaymasterData, RawSignature, SignatureKind, UserOpSignature,
    UserOperation, B256,
};
use proptest::prelude::*;

proptest! {
    #[test]
    fn decoding_a_user_op_signature_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(signature) = UserOpSignature::decode(&bytes) {
            prop_assert_eq!(&signature.to_bytes()[..], &bytes[..]);
            let _ = signature.recover(B256::repeat_byte(1));
        }
    }

    #[test]
    fn a_66_byte_signature_with_any_content_never_panics(
        kind in any::<u8>(), rs in proptest::collection::vec(any::<u8>(), 64), v in any::<u8>(), hash in any::<[u8; 32]>()
    ) {
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&rs);
        bytes.push(v);
        if let Ok(signature) = UserOpSignature::decode(&bytes) {
            let _ = signature.recover(B256::from(hash));
        }
        let _ = RawSignature::from_bytes(&bytes[1..]);
        let _ = PaymasterData::from_paymaster_and_data(&bytes);
    }

    #[test]
    fn signing_then_decoding_round_trips(key in any::<[u8; 32]>(), hash in any::<[u8; 32]>(), kind in 0u8..4) {
        let key = B256::from(key);
        let kind = SignatureKind::from_byte(kind).unwrap();
        if let Ok(signed) = UserOpSignature::sign(kind, &key, B256::from(hash)) {
            let decoded = UserOpSignature::decode(&signed.to_bytes()).unwrap();
            prop_assert_eq!(decoded, signed);
            prop_assert_eq!(
                decoded.recover(B256::from(hash)).unwrap(),
                latchkey_evm_contracts::address_of(&key).unwrap()
            );
        }
    }

    #[test]
    fn paymaster_data_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok((paymaster, vgl, pogl, data)) = PaymasterData::from_paymaster_and_data(&bytes) {
            let again = paymaster_and_data(paymaster, vgl, pogl, data.valid_until, data.valid_after, &data.signature);
            prop_assert_eq!(&again[..], &bytes[..]);
        }
        let _ = PaymasterData::from_bytes(&bytes);
    }

    #[test]
    fn unpacking_arbitrary_packed_fields_never_panics(
        init_code in proptest::collection::vec(any::<u8>(), 0..64),
        pm in proptest::collection::vec(any::<u8>(), 0..160),
        limits in any::<[u8; 32]>(),
        fees in any::<[u8; 32]>(),
    ) {
        let packed = PackedUserOperation {
            sender: Address::repeat_byte(3),
            initCode: init_code.into(),
            accountGasLimits: B256::from(limits),
            gasFees: B256::from(fees),
            paymasterAndData: pm.into(),
            ..Default::default()
        };
        if let Ok(op) = UserOperation::from_packed(&packed) {
            prop_assert_eq!(op.pack(), packed);
        }
    }
}
