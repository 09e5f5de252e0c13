//! Arguments from JavaScript: felts and integers, with messages that name the argument.

use latchkey_core::{parse_felt, Felt};

use crate::error::{WasmError, WasmResult};

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A felt argument: `0x` hex or decimal, canonical.
pub(crate) fn felt_arg(field: &str, text: &str) -> WasmResult<Felt> {
    parse_felt(text).map_err(|e| WasmError::invalid_input(format!("{field}: {e}")))
}

/// A non-negative integer argument given as a JavaScript number (unix seconds, counts).
pub(crate) fn integer_arg(field: &str, value: f64) -> WasmResult<u64> {
    if !value.is_finite() || value < 0.0 || value.fract() != 0.0 || value > MAX_SAFE_INTEGER {
        return Err(WasmError::invalid_input(format!(
            "{field} must be a non-negative integer number"
        )));
    }
    // Checked above: an integer in [0, 2^53).
    Ok(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn integers_from_javascript_numbers() {
        assert_eq!(integer_arg("t", 0.0).unwrap(), 0);
        assert_eq!(integer_arg("t", 1_893_456_000.0).unwrap(), 1_893_456_000);
        assert_eq!(integer_arg("t", MAX_SAFE_INTEGER).unwrap(), (1u64 << 53) - 1);
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, MAX_SAFE_INTEGER + 2.0] {
            assert_eq!(integer_arg("t", bad).unwrap_err().code, ErrorCode::InvalidInput, "{bad}");
        }
    }
}
