//! Validated identifiers for a child: the NHS number, the Unique Pupil Number and identifiers
//! local to one agency's system.
//!
//! Why a module of its own: identifiers are how the hub links records about the same child across
//! agencies, so a malformed one silently splits or merges children. Each type here is validated
//! once, at the edge, by its constructor; serde deserialisation goes through the same
//! constructor, so no unvalidated value can reach the rest of the hub.
//!
//! Why the types look unusual: a child's identifier is special-category personal data. None of
//! these types implements `Display`, their `Debug` output is redacted, and no error message
//! (including serde errors raised here) contains the value or any fragment of it. Reading the
//! value is always an explicit call such as [`NhsNumber::as_str`], which is easy to spot in review.

mod la_codes;
mod local_id;
mod nhs_number;
mod upn;

pub use la_codes::{RULE_1530_LA_CODES, in_rule_1530, is_recognised_la_code, set_extra_la_codes};
pub use local_id::LocalId;
pub use nhs_number::NhsNumber;
pub use upn::Upn;

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

use crate::agency::AgencyIdError;

/// Why an identifier was rejected.
///
/// Messages say what was expected and what kind of thing was found, never the value itself:
/// they end up in logs, dead-letter records and HTTP responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// A character other than a digit, space or hyphen (position counted in the raw input, from 1).
    #[error(
        "NHS number may contain only digits, spaces and hyphens, found another character at position {position}"
    )]
    NhsCharacters { position: usize },
    #[error("NHS number must have 10 digits, found {found}")]
    NhsLength { found: usize },
    /// The Modulus 11 check value of the first nine digits is 10: no NHS number is issued so.
    #[error("NHS number is invalid: the Modulus 11 check value of its first nine digits is 10")]
    NhsCheckValueTen,
    #[error("NHS number fails the Modulus 11 check: its last digit does not match the first nine")]
    NhsCheckDigit,

    #[error("UPN must have 13 characters once spaces and hyphens are removed, found {found}")]
    UpnLength { found: usize },
    /// Position counted in the UPN once spaces and hyphens are removed, from 1.
    #[error("UPN character {position} must be {expected}, found {found}")]
    UpnCharacter {
        position: usize,
        expected: &'static str,
        found: &'static str,
    },
    #[error(
        "UPN characters 2 to 4 must be a recognised DfE local authority number, found another number"
    )]
    UpnUnknownLaCode,
    #[error("UPN check letter (character 1) does not match characters 2 to 13")]
    UpnCheckLetter,

    #[error("local id system {0}")]
    LocalSystem(AgencyIdError),
    #[error("local id value must not be empty or only whitespace")]
    LocalValueEmpty,
    #[error("local id value must be at most 64 characters after trimming, found {found}")]
    LocalValueTooLong { found: usize },
    #[error("local id value must not contain whitespace, found some inside it")]
    LocalValueWhitespace,
    #[error("local id value may contain only printable ASCII characters, found another character")]
    LocalValueCharacters,

    /// Raised while deserialising: the JSON value was not a string. Serde's own message would
    /// quote the number, which may be the identifier itself.
    #[error("{what} must be a string, found {found}")]
    NotAString {
        what: &'static str,
        found: &'static str,
    },
}

/// Deserialises a string that holds an identifier, without ever echoing the input.
///
/// Serde's "invalid type" errors quote the offending value (`integer 9434765919`), so a producer
/// that sent an NHS number as a JSON number would leak it into our logs. serde_json raises that
/// error itself when asked for a string, so this asks for "any" value and lets the visitor report
/// only the kind of value found. That needs a self-describing format (JSON, TOML, YAML,
/// `serde_json::Value`), which is what the contracts travel in.
pub(crate) fn deserialize_identifier_string<'de, D: Deserializer<'de>>(
    d: D,
    what: &'static str,
) -> Result<String, D::Error> {
    d.deserialize_any(IdentifierStringVisitor { what })
}

struct IdentifierStringVisitor {
    what: &'static str,
}

impl IdentifierStringVisitor {
    fn not_a_string<E: de::Error>(&self, found: &'static str) -> E {
        E::custom(IdentifierError::NotAString {
            what: self.what,
            found,
        })
    }
}

impl<'de> Visitor<'de> for IdentifierStringVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a string", self.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(self.not_a_string("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
        Err(self.not_a_string("a number"))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<String, E> {
        Err(self.not_a_string("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
        Err(self.not_a_string("a number"))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<String, E> {
        Err(self.not_a_string("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(self.not_a_string("a number"))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<String, E> {
        Err(self.not_a_string("bytes"))
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(self.not_a_string("null"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.not_a_string("null"))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.not_a_string("an array"))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.not_a_string("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_string_json_is_rejected_without_echoing_the_value() {
        let err = serde_json::from_str::<NhsNumber>("9434765919").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("NHS number must be a string, found a number"),
            "{msg}"
        );
        assert!(!msg.contains("9434765919"), "{msg}");

        let err = serde_json::from_str::<NhsNumber>("[9434765919]").unwrap_err();
        assert!(!err.to_string().contains("9434765919"));
    }
}
