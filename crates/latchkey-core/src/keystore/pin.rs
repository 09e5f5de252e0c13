//! Weak-PIN rules, applied when a PIN or passphrase is chosen (threat K9), never when an
//! existing key is unlocked.
//!
//! Digits-only secrets (PINs) must:
//! - have at least [`MIN_PIN_DIGITS`] (6) digits;
//! - not be one digit repeated (`000000`, `111111`);
//! - not be an ascending or descending run, wrapping `9 → 0` (`123456`, `987654`,
//!   `890123`);
//! - not repeat a shorter block (`121212`, `123123`, `12341234`);
//! - not be on a short list of very common PINs (`112233`, `159753`, `147258`, …);
//! - not read as a date, the usual birthday patterns: `DDMMYY`, `MMDDYY`, `YYMMDD` for 6
//!   digits and `DDMMYYYY`, `MMDDYYYY`, `YYYYMMDD` with years 1900–2099 for 8 digits.
//!
//! Any other secret is a passphrase and must have at least [`MIN_PASSPHRASE_CHARS`] (8)
//! characters, not be one character repeated, and not be on a short list of very common
//! passwords (compared case-insensitively). Secrets longer than [`MAX_SECRET_BYTES`] bytes
//! are refused.
//!
//! A 6-digit PIN that passes still has under 20 bits of entropy: these rules only remove
//! the guesses an attacker tries first. Against an offline attacker only a server-held
//! share (or a passkey) helps; see [`super::hardened`].

/// Fewest digits in a digits-only PIN.
pub const MIN_PIN_DIGITS: usize = 6;

/// Fewest characters (Unicode scalar values) in a passphrase that is not all digits.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Longest accepted secret, in UTF-8 bytes.
pub const MAX_SECRET_BYTES: usize = 1024;

/// Very common numeric PINs not already caught by the repeat, run and pattern rules.
const COMMON_PINS: &[&str] = &[
    "112233", "159753", "147258", "258369", "147852", "963852", "741852", "852456", "159357",
    "753951", "357159", "951753", "123321", "654456", "102030", "520520", "520131", "123654",
    "111222", "222333", "100200", "200000", "100000", "112358", "147369", "789456", "456123",
    "123789", "135790", "246810", "135791", "314159", "271828", "121314", "131415", "999888",
    "777888", "11223344", "11112222", "13579246", "24681357",
];

/// Very common passwords of 8 or more characters (lowercase).
const COMMON_PASSPHRASES: &[&str] = &[
    "password",
    "password1",
    "password123",
    "passw0rd",
    "qwertyui",
    "qwerty123",
    "qwertyuiop",
    "iloveyou",
    "abcdefgh",
    "abc12345",
    "abcd1234",
    "letmein1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "trustno1",
    "changeme",
    "1q2w3e4r",
    "asdfghjk",
    "zxcvbnm1",
    "starknet",
    "admin123",
    "master12",
];

/// Why a new PIN or passphrase is refused. Carries no part of the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPinReason {
    /// Empty.
    #[error("the PIN is empty")]
    Empty,
    /// A digits-only PIN with fewer than 6 digits.
    #[error("a PIN needs at least {min} digits")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// One digit or character repeated.
    #[error("the PIN repeats one character")]
    Repeated,
    /// An ascending or descending run of digits.
    #[error("the PIN is a run of consecutive digits")]
    Sequential,
    /// A shorter block repeated (`121212`).
    #[error("the PIN repeats a shorter pattern")]
    Pattern,
    /// A date (birthday pattern).
    #[error("the PIN looks like a date")]
    DateLike,
    /// On the list of very common PINs or passwords.
    #[error("the PIN or passphrase is too common")]
    Common,
    /// A passphrase (not all digits) with fewer than 8 characters.
    #[error("a passphrase needs at least {min} characters")]
    PassphraseTooShort {
        /// The minimum.
        min: usize,
    },
    /// Longer than 1024 bytes.
    #[error("the passphrase is longer than {max} bytes")]
    TooLong {
        /// The maximum.
        max: usize,
    },
}

/// Checks a new PIN or passphrase against the rules in the module documentation.
pub fn check_pin_strength(secret: &str) -> Result<(), WeakPinReason> {
    if secret.is_empty() {
        return Err(WeakPinReason::Empty);
    }
    if secret.len() > MAX_SECRET_BYTES {
        return Err(WeakPinReason::TooLong { max: MAX_SECRET_BYTES });
    }
    if secret.bytes().all(|b| b.is_ascii_digit()) {
        check_numeric(secret.as_bytes())
    } else {
        check_passphrase(secret)
    }
}

fn check_numeric(digits: &[u8]) -> Result<(), WeakPinReason> {
    if digits.len() < MIN_PIN_DIGITS {
        return Err(WeakPinReason::TooShort { min: MIN_PIN_DIGITS });
    }
    if digits.iter().all(|d| *d == digits[0]) {
        return Err(WeakPinReason::Repeated);
    }
    let steps_by = |step: u8| digits.windows(2).all(|w| (w[0] - b'0' + step) % 10 == w[1] - b'0');
    if steps_by(1) || steps_by(9) {
        return Err(WeakPinReason::Sequential);
    }
    let len = digits.len();
    let periodic = (2..len)
        .any(|p| len.is_multiple_of(p) && digits.chunks(p).all(|chunk| chunk == &digits[..p]));
    if periodic {
        return Err(WeakPinReason::Pattern);
    }
    if COMMON_PINS.iter().any(|common| common.as_bytes() == digits) {
        return Err(WeakPinReason::Common);
    }
    if looks_like_date(digits) {
        return Err(WeakPinReason::DateLike);
    }
    Ok(())
}

fn check_passphrase(secret: &str) -> Result<(), WeakPinReason> {
    let mut chars = secret.chars();
    let count = secret.chars().count();
    if count < MIN_PASSPHRASE_CHARS {
        return Err(WeakPinReason::PassphraseTooShort { min: MIN_PASSPHRASE_CHARS });
    }
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            return Err(WeakPinReason::Repeated);
        }
    }
    let lower = secret.to_lowercase();
    let common = COMMON_PASSPHRASES.iter().any(|p| *p == lower);
    // `lower` holds the secret too; clear it before returning.
    drop(zeroize::Zeroizing::new(lower));
    if common {
        return Err(WeakPinReason::Common);
    }
    Ok(())
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
}

fn is_day_of_month(day: u32, month: u32) -> bool {
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn looks_like_date(d: &[u8]) -> bool {
    match d.len() {
        6 => {
            let (a, b, c) = (number(&d[0..2]), number(&d[2..4]), number(&d[4..6]));
            // DDMMYY, MMDDYY, YYMMDD (any two-digit year).
            is_day_of_month(a, b) || is_day_of_month(b, a) || is_day_of_month(c, b)
        }
        8 => {
            let year_ok = |y: u32| (1900..=2099).contains(&y);
            let (a, b) = (number(&d[0..2]), number(&d[2..4]));
            let tail_year = number(&d[4..8]);
            let head_year = number(&d[0..4]);
            let (m, dd) = (number(&d[4..6]), number(&d[6..8]));
            (year_ok(tail_year) && (is_day_of_month(a, b) || is_day_of_month(b, a)))
                || (year_ok(head_year) && is_day_of_month(dd, m))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::felt::tests::any_text;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn pin_checks_never_panic_or_echo_the_secret(
            secret in prop_oneof![any_text(), "[0-9]{0,12}", "([a-z]{1,2}){4,8}"],
        ) {
            match check_pin_strength(&secret) {
                Ok(()) => {
                    let digits = secret.bytes().all(|b| b.is_ascii_digit());
                    let long_enough = if digits {
                        secret.len() >= MIN_PIN_DIGITS
                    } else {
                        secret.chars().count() >= MIN_PASSPHRASE_CHARS
                    };
                    prop_assert!(long_enough);
                    prop_assert!(secret.len() <= MAX_SECRET_BYTES);
                }
                Err(reason) => {
                    let shown = format!("{reason} {reason:?}");
                    prop_assert!(secret.len() < 4 || !shown.contains(&secret), "{}", shown);
                }
            }
        }
    }

    #[test]
    fn k09_weak_pins_rejected() {
        let cases: &[(&str, WeakPinReason)] = &[
            ("", WeakPinReason::Empty),
            ("1234", WeakPinReason::TooShort { min: 6 }),
            ("48291", WeakPinReason::TooShort { min: 6 }),
            ("000000", WeakPinReason::Repeated),
            ("111111", WeakPinReason::Repeated),
            ("99999999", WeakPinReason::Repeated),
            ("123456", WeakPinReason::Sequential),
            ("987654", WeakPinReason::Sequential),
            ("890123", WeakPinReason::Sequential),
            ("210987", WeakPinReason::Sequential),
            ("12345678", WeakPinReason::Sequential),
            ("123123", WeakPinReason::Pattern),
            ("121212", WeakPinReason::Pattern),
            ("12341234", WeakPinReason::Pattern),
            ("112233", WeakPinReason::Common),
            ("159753", WeakPinReason::Common),
            ("147258", WeakPinReason::Common),
            // Birthdays: 25 Dec 1990 as DDMMYY, 07/04/76 as MMDDYY, 1985-03-17 as YYYYMMDD.
            ("251290", WeakPinReason::DateLike),
            ("070476", WeakPinReason::DateLike),
            ("19850317", WeakPinReason::DateLike),
            ("17031985", WeakPinReason::DateLike),
            ("abc123", WeakPinReason::PassphraseTooShort { min: 8 }),
            ("pässwö", WeakPinReason::PassphraseTooShort { min: 8 }),
            ("aaaaaaaaaa", WeakPinReason::Repeated),
            ("Password", WeakPinReason::Common),
            ("QWERTY123", WeakPinReason::Common),
        ];
        for (pin, reason) in cases {
            assert_eq!(check_pin_strength(pin), Err(*reason), "{pin:?}");
        }
        assert_eq!(
            check_pin_strength(&"x1".repeat(600)),
            Err(WeakPinReason::TooLong { max: MAX_SECRET_BYTES })
        );
    }

    #[test]
    fn reasonable_pins_and_passphrases_accepted() {
        for pin in ["482913", "739154", "5830271", "60417395", "pässwörd🔑", "correct horse"] {
            assert_eq!(check_pin_strength(pin), Ok(()), "{pin:?}");
        }
        // Hex text (a PRF output as a Chipi passphrase) is a passphrase.
        assert_eq!(check_pin_strength(&hex::encode([7u8, 1, 200, 45, 9, 81, 33, 12])), Ok(()));
    }

    #[test]
    fn reasons_never_echo_the_pin() {
        for pin in ["251290", "159753", "123123"] {
            let err = check_pin_strength(pin).unwrap_err();
            assert!(!err.to_string().contains(pin));
            assert!(!format!("{err:?}").contains(pin));
        }
    }
}
