//! Agencies and the systems they run, named by short configured ids.
//!
//! An agency id is configuration, not child data, so it may appear in logs, metrics labels and
//! error messages. It is validated once so every later use can trust it.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Why an agency or system id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgencyIdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 64 characters, found {0}")]
    TooLong(usize),
    #[error("may contain only lowercase letters, digits, '-', '_' and '.'")]
    Characters,
}

fn check_slug(s: &str) -> Result<(), AgencyIdError> {
    if s.is_empty() {
        return Err(AgencyIdError::Empty);
    }
    if s.len() > 64 {
        return Err(AgencyIdError::TooLong(s.len()));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(AgencyIdError::Characters);
    }
    Ok(())
}

/// The configured id of an agency (a school, a CAMHS team, a local authority's SEND team...).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgencyId(String);

impl AgencyId {
    /// Parses and validates an agency id: a lowercase slug such as `camhs-north`.
    pub fn parse(s: &str) -> Result<Self, AgencyIdError> {
        check_slug(s)?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgencyId({})", self.0)
    }
}

impl<'de> Deserialize<'de> for AgencyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AgencyId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for AgencyId {
    fn schema_name() -> Cow<'static, str> {
        "AgencyId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9._-]{1,64}$",
            "description": "Configured id of an agency, e.g. `camhs-north`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_and_rejects_others() {
        assert!(AgencyId::parse("camhs-north").is_ok());
        assert_eq!(AgencyId::parse(""), Err(AgencyIdError::Empty));
        assert_eq!(AgencyId::parse("CAMHS"), Err(AgencyIdError::Characters));
        assert_eq!(
            AgencyId::parse(&"a".repeat(65)),
            Err(AgencyIdError::TooLong(65))
        );
    }
}
