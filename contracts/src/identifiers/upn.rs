//! The Unique Pupil Number (UPN): the 13-character identifier English state schools give every
//! pupil, kept for the pupil's whole school career.
//!
//! Layout, as set out in DfE's UPN guidance:
//! - character 1: check letter;
//! - characters 2 to 4: the DfE number of the issuing local authority;
//! - characters 5 to 12: digits (school number, year of issue, serial);
//! - character 13: a digit, or for a temporary UPN a letter.
//!
//! Letters are drawn from a 23-letter table without I, O and S, which are too easily read as 1,
//! 0 and 5. The check letter is weighted modulo 23, so any single mistyped character after the
//! check letter is caught.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::la_codes::is_recognised_la_code;
use super::{IdentifierError, deserialize_identifier_string};

/// The letters a UPN may use; a letter's index here is its value in the check-letter sum.
const TABLE: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

const LEN: usize = 13;

/// A valid UPN, held in upper case without separators.
///
/// Deliberately no `Display`: write [`Upn::as_str`] where the value really must leave the
/// process. `Debug` prints `Upn(***)`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Upn(String);

impl Upn {
    /// Parses a UPN: spaces and hyphens are removed and letters upper-cased, then the length,
    /// each character, the LA number and the check letter are checked, in that order.
    pub fn parse(s: &str) -> Result<Self, IdentifierError> {
        let chars: Vec<char> = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if chars.len() != LEN {
            return Err(IdentifierError::UpnLength { found: chars.len() });
        }
        for (i, &c) in chars.iter().enumerate() {
            let position = i + 1;
            let (ok, expected) = match position {
                1 => (is_table_letter(c), "a letter other than I, O and S"),
                13 => (
                    c.is_ascii_digit() || is_table_letter(c),
                    "a digit or a letter other than I, O and S",
                ),
                _ => (c.is_ascii_digit(), "a digit"),
            };
            if !ok {
                return Err(IdentifierError::UpnCharacter {
                    position,
                    expected,
                    found: describe(c),
                });
            }
        }
        // All 13 characters are ASCII now.
        let upn: String = chars.into_iter().collect();
        if !is_recognised_la_code(la_code_of(&upn)) {
            return Err(IdentifierError::UpnUnknownLaCode);
        }
        if check_letter(&upn[1..]) != upn.chars().next() {
            return Err(IdentifierError::UpnCheckLetter);
        }
        Ok(Self(upn))
    }

    /// The 13 characters, upper case, without separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a temporary UPN (its last character is a letter). A school issues one
    /// while the pupil's permanent UPN is being traced; it is replaced later, so matching on it
    /// needs care.
    pub fn is_temporary(&self) -> bool {
        self.0.as_bytes()[LEN - 1].is_ascii_alphabetic()
    }

    /// The DfE number of the local authority that issued the UPN (characters 2 to 4).
    pub fn la_code(&self) -> u16 {
        la_code_of(&self.0)
    }

    /// The check letter for characters 2 to 13 (`tail12`: eleven digits then a digit or a table
    /// letter, upper case), or `None` if `tail12` is not of that form.
    ///
    /// Public so that generators of test data compute it the same way the parser does.
    pub fn check_letter(tail12: &str) -> Option<char> {
        check_letter(tail12)
    }
}

fn is_table_letter(c: char) -> bool {
    c.is_ascii() && TABLE.contains(&(c as u8))
}

/// What kind of character was found, for error messages that must not contain the character.
fn describe(c: char) -> &'static str {
    if c.is_ascii_digit() {
        "a digit"
    } else if matches!(c, 'I' | 'O' | 'S') {
        "a letter not used in UPNs"
    } else if c.is_ascii_alphabetic() {
        "a letter"
    } else {
        "another character"
    }
}

/// Characters 2 to 4 as a number; the caller has checked they are ASCII digits.
fn la_code_of(upn: &str) -> u16 {
    upn.as_bytes()[1..4]
        .iter()
        .fold(0, |n, &b| n * 10 + u16::from(b - b'0'))
}

/// Sum of value × weight over characters 2 to 13 (weights 2 to 13), modulo 23, as a table
/// letter. A digit's value is the digit; a letter's (only allowed last) is its table index.
fn check_letter(tail12: &str) -> Option<char> {
    let bytes = tail12.as_bytes();
    if bytes.len() != LEN - 1 {
        return None;
    }
    let mut sum = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        let value = if b.is_ascii_digit() {
            usize::from(b - b'0')
        } else if i == LEN - 2 {
            TABLE.iter().position(|&t| t == b)?
        } else {
            return None;
        };
        sum += value * (i + 2);
    }
    Some(char::from(TABLE[sum % TABLE.len()]))
}

impl fmt::Debug for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Upn(***)")
    }
}

impl<'de> Deserialize<'de> for Upn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = deserialize_identifier_string(d, "UPN")?;
        Upn::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Upn {
    fn schema_name() -> Cow<'static, str> {
        "Upn".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[ -]*(?:[A-Za-z0-9][ -]*){13}$",
            "description": "Unique Pupil Number: a check letter, a recognised 3-digit DfE local \
                authority number, 8 digits, then a digit (permanent UPN) or a letter (temporary \
                UPN); letters never include I, O or S. The check letter is computed modulo 23. \
                Spaces, hyphens and lower case are tolerated on input; it is always written back \
                as 13 upper-case characters."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_known_valid_upns() {
        for (s, temporary, la) in [
            ("B801200005001", false, 801),
            ("G80120000101A", true, 801),
            ("X00180001701A", true, 1),
            ("H801200001001", false, 801),
            ("P207000016049", false, 207),
        ] {
            let upn = Upn::parse(s).unwrap_or_else(|e| panic!("rejected a valid UPN: {e}"));
            assert_eq!(upn.as_str(), s);
            assert_eq!(upn.is_temporary(), temporary);
            assert_eq!(upn.la_code(), la);
        }
    }

    #[test]
    fn rejects_a_wrong_check_letter() {
        assert_eq!(
            Upn::parse("Q207000016049"),
            Err(IdentifierError::UpnCheckLetter)
        );
    }

    #[test]
    fn rejects_an_unknown_la_code_without_naming_it() {
        assert_eq!(Upn::check_letter("900400001001"), Some('R'));
        let err = Upn::parse("R900400001001").unwrap_err();
        assert_eq!(err, IdentifierError::UpnUnknownLaCode);
        assert!(!err.to_string().contains("900"), "{err}");
    }

    #[test]
    fn tolerates_separators_and_lower_case() {
        let upn = Upn::parse("g801-2000-0101 a").unwrap();
        assert_eq!(upn.as_str(), "G80120000101A");
    }

    #[test]
    fn names_the_position_not_the_character() {
        let err = Upn::parse("B8012000O5001").unwrap_err();
        assert_eq!(
            err,
            IdentifierError::UpnCharacter {
                position: 9,
                expected: "a digit",
                found: "a letter not used in UPNs",
            }
        );
        assert_eq!(
            err.to_string(),
            "UPN character 9 must be a digit, found a letter not used in UPNs"
        );
        assert!(matches!(
            Upn::parse("1801200005001"),
            Err(IdentifierError::UpnCharacter { position: 1, .. })
        ));
        assert!(matches!(
            Upn::parse("B80120000500I"),
            Err(IdentifierError::UpnCharacter { position: 13, .. })
        ));
        assert!(matches!(
            Upn::parse("B80120000500é"),
            Err(IdentifierError::UpnCharacter {
                position: 13,
                found: "another character",
                ..
            })
        ));
    }

    #[test]
    fn reports_length() {
        assert_eq!(
            Upn::parse("B80120000500"),
            Err(IdentifierError::UpnLength { found: 12 })
        );
        assert_eq!(Upn::parse(""), Err(IdentifierError::UpnLength { found: 0 }));
    }

    #[test]
    fn check_letter_rejects_malformed_tails() {
        assert_eq!(Upn::check_letter("80120000500"), None);
        assert_eq!(Upn::check_letter("8012000050A1"), None);
        assert_eq!(Upn::check_letter("80120000101I"), None);
        assert_eq!(Upn::check_letter("80120000101A"), Some('G'));
    }

    #[test]
    fn debug_is_redacted_and_serde_round_trips() {
        let upn = Upn::parse("P207000016049").unwrap();
        assert_eq!(format!("{upn:?}"), "Upn(***)");
        assert_eq!(serde_json::to_string(&upn).unwrap(), "\"P207000016049\"");
        assert_eq!(
            serde_json::from_str::<Upn>("\"p207 0000 16049\"").unwrap(),
            upn
        );
        let err = serde_json::from_str::<Upn>("\"Q207000016049\"").unwrap_err();
        assert!(!err.to_string().contains("207000016049"));
    }
}
