//! The NHS number: the 10-digit identifier the NHS in England issues to every registered person.
//!
//! It is the strongest identifier the hub sees for a child, so it is checked with the Modulus 11
//! algorithm from the NHS Data Dictionary: a mistyped digit or a swap of two neighbouring digits
//! is always caught, instead of silently linking one child's record to another child.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::{IdentifierError, deserialize_identifier_string};

/// A valid NHS number, held as its 10 digits.
///
/// Deliberately no `Display`: write [`NhsNumber::as_str`] or [`NhsNumber::formatted`] where the
/// value really must leave the process. `Debug` prints `NhsNumber(***)`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NhsNumber(String);

impl NhsNumber {
    /// Parses an NHS number, ignoring spaces and hyphens anywhere (people write `943 476 5919`
    /// and `943-476-5919`); any other character is an error.
    pub fn parse(s: &str) -> Result<Self, IdentifierError> {
        let mut digits = [0u8; 10];
        let mut count = 0usize;
        for (i, c) in s.chars().enumerate() {
            match c {
                ' ' | '-' => {}
                '0'..='9' => {
                    if count < digits.len() {
                        digits[count] = c as u8 - b'0';
                    }
                    count += 1;
                }
                _ => return Err(IdentifierError::NhsCharacters { position: i + 1 }),
            }
        }
        if count != digits.len() {
            return Err(IdentifierError::NhsLength { found: count });
        }
        let first9: [u8; 9] = std::array::from_fn(|i| digits[i]);
        match check_digit(&first9) {
            None => Err(IdentifierError::NhsCheckValueTen),
            Some(check) if check != digits[9] => Err(IdentifierError::NhsCheckDigit),
            Some(_) => Ok(Self(digits.iter().map(|d| char::from(b'0' + d)).collect())),
        }
    }

    /// The 10 digits, without separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 3-3-4 form used on NHS letters and screens, e.g. `943 476 5919`.
    pub fn formatted(&self) -> String {
        let s = &self.0;
        format!("{} {} {}", &s[..3], &s[3..6], &s[6..])
    }

    /// The Modulus 11 check digit for the first nine digits (each 0–9), or `None` when the check
    /// value is 10, which means no valid NHS number starts with these nine digits. Also `None`
    /// if an element is not a digit (above 9).
    ///
    /// Public so that generators of test data compute it the same way the parser does.
    pub fn check_digit(first9: &[u8; 9]) -> Option<u8> {
        check_digit(first9)
    }
}

/// Modulus 11: weights 10 down to 2 on digits 1 to 9; check = 11 − (sum mod 11); 11 means 0,
/// 10 means the prefix is unusable.
fn check_digit(first9: &[u8; 9]) -> Option<u8> {
    if first9.iter().any(|&d| d > 9) {
        return None;
    }
    let sum: u32 = first9
        .iter()
        .zip((2..=10u32).rev())
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        // Fits in u8: the value is between 1 and 9 here.
        check => Some(check as u8),
    }
}

impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NhsNumber(***)")
    }
}

impl<'de> Deserialize<'de> for NhsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = deserialize_identifier_string(d, "NHS number")?;
        NhsNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for NhsNumber {
    fn schema_name() -> Cow<'static, str> {
        "NhsNumber".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[ -]*(?:[0-9][ -]*){10}$",
            "description": "NHS number: 10 digits whose last digit is the Modulus 11 check digit of \
                the first nine. Spaces and hyphens are tolerated anywhere on input (e.g. \
                `943 476 5919`); it is always written back as the 10 digits alone."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_known_valid_numbers() {
        for s in ["9434765919", "9000000009", "9912003888", "9876543210"] {
            let n = NhsNumber::parse(s).unwrap_or_else(|e| panic!("rejected a valid number: {e}"));
            assert_eq!(n.as_str(), s);
        }
    }

    #[test]
    fn rejects_known_invalid_numbers() {
        for s in ["9876544321", "4123456879", "9912003814"] {
            let err = NhsNumber::parse(s).expect_err("accepted an invalid number");
            assert!(
                matches!(
                    err,
                    IdentifierError::NhsCheckDigit | IdentifierError::NhsCheckValueTen
                ),
                "unexpected error {err:?}"
            );
        }
    }

    #[test]
    fn check_value_ten_has_its_own_error() {
        // 10+18+24+28+30+30+28+24+18 = 210; 210 mod 11 = 1; 11 − 1 = 10.
        assert_eq!(check_digit(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), None);
        assert_eq!(
            NhsNumber::parse("1234567890"),
            Err(IdentifierError::NhsCheckValueTen)
        );
    }

    #[test]
    fn tolerates_spaces_and_hyphens_only() {
        let n = NhsNumber::parse(" 943 476-5919 ").unwrap();
        assert_eq!(n.as_str(), "9434765919");
        assert_eq!(n.formatted(), "943 476 5919");
        assert_eq!(
            NhsNumber::parse("943.476.5919"),
            Err(IdentifierError::NhsCharacters { position: 4 })
        );
        assert_eq!(
            NhsNumber::parse("\t9434765919"),
            Err(IdentifierError::NhsCharacters { position: 1 })
        );
    }

    #[test]
    fn reports_digit_count() {
        assert_eq!(
            NhsNumber::parse("943476591"),
            Err(IdentifierError::NhsLength { found: 9 })
        );
        assert_eq!(
            NhsNumber::parse("94347659190"),
            Err(IdentifierError::NhsLength { found: 11 })
        );
        assert_eq!(
            NhsNumber::parse(""),
            Err(IdentifierError::NhsLength { found: 0 })
        );
        assert_eq!(
            NhsNumber::parse("943476591").unwrap_err().to_string(),
            "NHS number must have 10 digits, found 9"
        );
    }

    #[test]
    fn check_digit_matches_vectors() {
        assert_eq!(
            NhsNumber::check_digit(&[9, 4, 3, 4, 7, 6, 5, 9, 1]),
            Some(9)
        );
        assert_eq!(
            NhsNumber::check_digit(&[9, 0, 0, 0, 0, 0, 0, 0, 0]),
            Some(9)
        );
        assert_eq!(
            NhsNumber::check_digit(&[9, 8, 7, 6, 5, 4, 3, 2, 1]),
            Some(0)
        );
    }

    #[test]
    fn debug_is_redacted_and_serde_round_trips() {
        let n = NhsNumber::parse("943 476 5919").unwrap();
        assert_eq!(format!("{n:?}"), "NhsNumber(***)");
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"9434765919\"");
        assert_eq!(
            serde_json::from_str::<NhsNumber>("\"943 476 5919\"").unwrap(),
            n
        );
        let err = serde_json::from_str::<NhsNumber>("\"9876544321\"").unwrap_err();
        assert!(!err.to_string().contains("9876544321"));
    }

    #[test]
    fn schema_mentions_modulus_11_and_separators() {
        let schema = schemars::schema_for!(NhsNumber);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(text.contains("Modulus 11"));
        assert!(text.contains("Spaces and hyphens"));
    }
}
