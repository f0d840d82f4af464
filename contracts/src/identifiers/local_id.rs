//! Identifiers local to one agency's system: a case-management id, a GP practice's patient
//! number, a school MIS pupil id.
//!
//! Most records the hub receives carry no NHS number or UPN, only the sending system's own id.
//! Such an id means nothing outside that system (two systems may both have a child "12345"), so
//! it is always kept together with the agency and system that issued it, and compared as a whole.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::{IdentifierError, deserialize_identifier_string};
use crate::agency::AgencyId;

const MAX_VALUE_LEN: usize = 64;

/// An identifier issued by one system of one agency.
///
/// The value is child data: `Debug` shows the agency and system but prints the value as `***`,
/// and there is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LocalId {
    agency: AgencyId,
    system: String,
    value: String,
}

impl LocalId {
    /// Builds a local id.
    ///
    /// - `system` follows the same rules as an agency id: 1 to 64 of lowercase letters, digits,
    ///   `-`, `_` and `.` (e.g. `mosaic`, `systmone`).
    /// - `value` is trimmed, then must be 1 to 64 printable ASCII characters with no whitespace.
    ///   Hyphens and other punctuation are kept as they are: unlike NHS numbers, local ids have
    ///   no canonical form, so `AB-12` and `AB12` may be different children.
    pub fn new(agency: AgencyId, system: &str, value: &str) -> Result<Self, IdentifierError> {
        // A system id is configuration of the same kind as an agency id; reuse its validation
        // so the two can never drift apart.
        AgencyId::parse(system).map_err(IdentifierError::LocalSystem)?;
        let value = check_value(value)?;
        Ok(Self {
            agency,
            system: system.to_owned(),
            value: value.to_owned(),
        })
    }

    pub fn agency(&self) -> &AgencyId {
        &self.agency
    }

    pub fn system(&self) -> &str {
        &self.system
    }

    /// The identifier itself. Child data: do not log it.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// `"{agency}/{system}"`: the namespace within which [`LocalId::value`] is unique.
    pub fn scope(&self) -> String {
        format!("{}/{}", self.agency, self.system)
    }
}

fn check_value(raw: &str) -> Result<&str, IdentifierError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(IdentifierError::LocalValueEmpty);
    }
    let len = value.chars().count();
    if len > MAX_VALUE_LEN {
        return Err(IdentifierError::LocalValueTooLong { found: len });
    }
    if value.chars().any(char::is_whitespace) {
        return Err(IdentifierError::LocalValueWhitespace);
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(IdentifierError::LocalValueCharacters);
    }
    Ok(value)
}

impl fmt::Debug for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalId")
            .field("agency", &self.agency)
            .field("system", &self.system)
            .field("value", &format_args!("***"))
            .finish()
    }
}

/// The wire form, checked by [`LocalId::new`] before it becomes a `LocalId`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    agency: AgencyId,
    system: String,
    #[serde(deserialize_with = "deserialize_value")]
    value: String,
}

fn deserialize_value<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    deserialize_identifier_string(d, "local id value")
}

impl<'de> Deserialize<'de> for LocalId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(d)?;
        LocalId::new(wire.agency, &wire.system, &wire.value).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for LocalId {
    fn schema_name() -> Cow<'static, str> {
        "LocalId".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "An identifier issued by one system of one agency; unique only within \
                that agency and system.",
            "properties": {
                "agency": generator.subschema_for::<AgencyId>(),
                "system": {
                    "type": "string",
                    "pattern": "^[a-z0-9._-]{1,64}$",
                    "description": "Configured id of the issuing system within the agency, e.g. \
                        `mosaic`."
                },
                "value": {
                    "type": "string",
                    "pattern": "^\\s*[!-~]{1,64}\\s*$",
                    "description": "The identifier: 1 to 64 printable ASCII characters without \
                        whitespace; surrounding whitespace is trimmed."
                }
            },
            "required": ["agency", "system", "value"],
            "additionalProperties": false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agency::AgencyIdError;

    fn agency() -> AgencyId {
        AgencyId::parse("camhs-north").unwrap()
    }

    #[test]
    fn builds_trims_and_scopes() {
        let id = LocalId::new(agency(), "rio", "  AB-1234 ").unwrap();
        assert_eq!(id.value(), "AB-1234");
        assert_eq!(id.system(), "rio");
        assert_eq!(id.agency().as_str(), "camhs-north");
        assert_eq!(id.scope(), "camhs-north/rio");
    }

    #[test]
    fn rejects_bad_systems() {
        assert_eq!(
            LocalId::new(agency(), "RiO", "1"),
            Err(IdentifierError::LocalSystem(AgencyIdError::Characters))
        );
        assert_eq!(
            LocalId::new(agency(), "", "1"),
            Err(IdentifierError::LocalSystem(AgencyIdError::Empty))
        );
        assert_eq!(
            LocalId::new(agency(), "", "1").unwrap_err().to_string(),
            "local id system must not be empty"
        );
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(
            LocalId::new(agency(), "rio", " \t "),
            Err(IdentifierError::LocalValueEmpty)
        );
        assert_eq!(
            LocalId::new(agency(), "rio", &"7".repeat(65)),
            Err(IdentifierError::LocalValueTooLong { found: 65 })
        );
        assert!(LocalId::new(agency(), "rio", &"7".repeat(64)).is_ok());
        assert_eq!(
            LocalId::new(agency(), "rio", "AB 1234"),
            Err(IdentifierError::LocalValueWhitespace)
        );
        assert_eq!(
            LocalId::new(agency(), "rio", "AB\u{a0}1234"),
            Err(IdentifierError::LocalValueWhitespace)
        );
        assert_eq!(
            LocalId::new(agency(), "rio", "AB£1234"),
            Err(IdentifierError::LocalValueCharacters)
        );
    }

    #[test]
    fn debug_redacts_only_the_value() {
        let id = LocalId::new(agency(), "rio", "XY98765").unwrap();
        let debug = format!("{id:?}");
        assert_eq!(
            debug,
            "LocalId { agency: AgencyId(camhs-north), system: \"rio\", value: *** }"
        );
        assert!(!debug.contains("XY98765"));
    }

    #[test]
    fn serde_goes_through_the_constructor() {
        let id = LocalId::new(agency(), "rio", "XY98765").unwrap();
        let json = serde_json::to_value(&id).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"agency": "camhs-north", "system": "rio", "value": "XY98765"})
        );
        assert_eq!(serde_json::from_value::<LocalId>(json).unwrap(), id);

        let err = serde_json::from_str::<LocalId>(
            r#"{"agency": "camhs-north", "system": "rio", "value": "XY 98765"}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("98765"), "{err}");

        let err = serde_json::from_str::<LocalId>(
            r#"{"agency": "camhs-north", "system": "rio", "value": 9876543}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("9876543"), "{err}");

        assert!(
            serde_json::from_str::<LocalId>(
                r#"{"agency": "camhs-north", "system": "rio", "value": "1", "extra": 1}"#,
            )
            .is_err()
        );
    }
}
