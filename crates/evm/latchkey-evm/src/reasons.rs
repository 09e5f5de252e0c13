//! Why an EVM simulation or execution failed, as stable codes: the EntryPoint's `AAxx`
//! reasons (`FailedOp`, `FailedOpWithRevert`) and the account's own errors.

use alloy_sol_types::{Revert, SolError, SolInterface};
use latchkey_chain::Refusal;
use latchkey_core::codes;
use latchkey_evm_contracts::abi::{EntryPoint, LatchkeyAccount};

/// The refusal of an EntryPoint `AAxx` reason.
///
/// | reason | code |
/// |---|---|
/// | AA10 sender already constructed, AA13/AA14/AA15 initCode | `INVALID_DEPLOYMENT_DATA` |
/// | AA20 account not deployed | `WALLET_NOT_FOUND` |
/// | AA22 expired or not due | `SESSION_EXPIRED` (refined by the caller) |
/// | AA23 reverted, AA24 signature error | `INVALID_SIGNATURE` (refined by the caller) |
/// | AA25 invalid account nonce | `DUPLICATE_EXECUTION` |
/// | AA31 paymaster deposit too low | `SPONSORSHIP_EXHAUSTED` |
/// | AA32 paymaster expired or not due | `TYPED_DATA_EXPIRED` |
/// | AA33 reverted, AA34 signature error | `INVALID_SIGNATURE` |
/// | anything else (gas limits, prefund, AA9x…) | `SIMULATION_FAILED` |
pub fn refusal_of_aa(reason: &str) -> Refusal {
    let code = match reason.get(..4).unwrap_or_default() {
        "AA10" | "AA13" | "AA14" | "AA15" => codes::INVALID_DEPLOYMENT_DATA,
        "AA20" => codes::WALLET_NOT_FOUND,
        "AA22" => codes::SESSION_EXPIRED,
        "AA23" | "AA24" | "AA33" | "AA34" => codes::INVALID_SIGNATURE,
        "AA25" => codes::DUPLICATE_EXECUTION,
        "AA31" => codes::SPONSORSHIP_EXHAUSTED,
        "AA32" => codes::TYPED_DATA_EXPIRED,
        _ => codes::SIMULATION_FAILED,
    };
    Refusal::new(code, format!("the EntryPoint refused the userOp: {}", short(reason)))
}

fn short(text: &str) -> String {
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The EntryPoint reason carried by revert data, if it is `FailedOp` or
/// `FailedOpWithRevert` (with the inner revert explained).
pub fn entry_point_reason(data: &[u8]) -> Option<String> {
    match EntryPoint::EntryPointErrors::abi_decode(data).ok()? {
        EntryPoint::EntryPointErrors::FailedOp(e) => Some(e.reason),
        EntryPoint::EntryPointErrors::FailedOpWithRevert(e) => {
            Some(format!("{} ({})", e.reason, execution_refusal(&e.inner).message))
        }
        EntryPoint::EntryPointErrors::SignatureValidationFailed(_) => {
            Some("AA24 signature error (aggregator)".into())
        }
        EntryPoint::EntryPointErrors::PostOpReverted(_) => Some("postOp reverted".into()),
    }
}

/// The refusal of a call's revert data: the account's errors get precise codes, a
/// Solidity `Error(string)` is quoted, anything else is `SIMULATION_FAILED`.
pub fn execution_refusal(data: &[u8]) -> Refusal {
    use LatchkeyAccount::LatchkeyAccountErrors as E;
    if let Ok(error) = E::abi_decode(data) {
        let code = match &error {
            E::PerCallCapExceeded(_)
            | E::WindowCapExceeded(_)
            | E::NativeValueNotAllowed(_)
            | E::MalformedTokenCall(_) => codes::SPENDING_LIMIT_EXCEEDED,
            E::KeyWasRevoked(_) => codes::SESSION_KEY_REVOKED,
            E::EmptyWindow(_) | E::AlreadyExpired(_) => codes::INVALID_SESSION_WINDOW,
            E::TooManyMethods(_) => codes::TOO_MANY_METHODS,
            E::InvalidSpendingCap(_) | E::NoSpendingCap(_) => codes::INVALID_SPENDING_POLICY,
            E::UnknownOrRevokedSession(_) => codes::SESSION_NOT_FOUND,
            E::ForbiddenTarget(_) => codes::SESSION_ENTRYPOINT_NOT_ALLOWED,
            _ => codes::SIMULATION_FAILED,
        };
        return Refusal::new(code, format!("the account refused: {error:?}"));
    }
    if let Ok(revert) = Revert::abi_decode(data) {
        return Refusal::new(
            codes::SIMULATION_FAILED,
            format!("the call reverted: {}", short(&revert.reason)),
        );
    }
    let hex: String = data.iter().take(68).map(|b| format!("{b:02x}")).collect();
    Refusal::new(codes::SIMULATION_FAILED, format!("the call reverted (data 0x{hex})"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use alloy_primitives::{Address, Bytes, U256};

    #[test]
    fn aa_reasons_map_to_stable_codes() {
        let cases = [
            ("AA10 sender already constructed", "INVALID_DEPLOYMENT_DATA"),
            ("AA13 initCode failed or OOG", "INVALID_DEPLOYMENT_DATA"),
            ("AA20 account not deployed", "WALLET_NOT_FOUND"),
            ("AA21 didn't pay prefund", "SIMULATION_FAILED"),
            ("AA22 expired or not due", "SESSION_EXPIRED"),
            ("AA24 signature error", "INVALID_SIGNATURE"),
            ("AA25 invalid account nonce", "DUPLICATE_EXECUTION"),
            ("AA31 paymaster deposit too low", "SPONSORSHIP_EXHAUSTED"),
            ("AA32 paymaster expired or not due", "TYPED_DATA_EXPIRED"),
            ("AA34 signature error", "INVALID_SIGNATURE"),
            ("AA95 out of gas", "SIMULATION_FAILED"),
            ("", "SIMULATION_FAILED"),
        ];
        for (reason, code) in cases {
            assert_eq!(refusal_of_aa(reason).code, code, "{reason}");
        }
        assert!(refusal_of_aa(&"x".repeat(5000)).message.len() < 400);
    }

    #[test]
    fn revert_data_decodes() {
        let failed = EntryPoint::FailedOp {
            opIndex: U256::ZERO,
            reason: "AA25 invalid account nonce".into(),
        };
        assert_eq!(entry_point_reason(&failed.abi_encode()).unwrap(), "AA25 invalid account nonce");
        let inner: Bytes =
            LatchkeyAccount::PerCallCapExceeded { token: Address::ZERO, amount: U256::from(9u8) }
                .abi_encode()
                .into();
        assert_eq!(execution_refusal(&inner).code, "SPENDING_LIMIT_EXCEEDED");
        let with = EntryPoint::FailedOpWithRevert {
            opIndex: U256::ZERO,
            reason: "AA23 reverted".into(),
            inner,
        };
        assert!(entry_point_reason(&with.abi_encode())
            .unwrap()
            .starts_with("AA23 reverted (the account refused"));
        let revert = Revert { reason: "Game: nothing to claim".into() }.abi_encode();
        assert_eq!(execution_refusal(&revert).message, "the call reverted: Game: nothing to claim");
        assert_eq!(execution_refusal(&[1, 2]).code, "SIMULATION_FAILED");
        assert_eq!(entry_point_reason(&[1, 2, 3, 4]), None);
    }
}
