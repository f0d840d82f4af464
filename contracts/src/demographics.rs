//! Demographic evidence about a child: names, date of birth, sex, postcode.
//!
//! Kept apart from identifiers on purpose: identifiers link records deterministically, while
//! demographics are only *evidence*. Similar demographics never merge two children; they raise a
//! possible match for a person to review. `Debug` is redacted so a stray `{:?}` cannot leak them.

use std::fmt;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Sex as recorded by the sending system (DfE and NHS code sets both reduce to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    NotKnown,
}

/// What the sending system believes about the child, apart from identifiers.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Demographics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
}

impl Demographics {
    /// True when no evidence at all was supplied.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// A normalised key for spotting possible matches: family name, date of birth and postcode
    /// district, case- and space-insensitive. `None` when too little evidence to compare.
    pub fn match_key(&self) -> Option<String> {
        let family = self.family_name.as_deref()?.trim().to_ascii_uppercase();
        let dob = self.date_of_birth?;
        if family.is_empty() {
            return None;
        }
        let district = self
            .postcode
            .as_deref()
            .map(|p| {
                let p: String = p
                    .split_whitespace()
                    .collect::<String>()
                    .to_ascii_uppercase();
                // The outward code is all but the last three characters of a UK postcode.
                p.get(..p.len().saturating_sub(3)).unwrap_or("").to_owned()
            })
            .unwrap_or_default();
        Some(format!("{family}|{dob}|{district}"))
    }
}

impl fmt::Debug for Demographics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Demographics(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_evidence() {
        let d = Demographics {
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            date_of_birth: NaiveDate::from_ymd_opt(2015, 12, 10),
            sex: Some(Sex::Female),
            postcode: Some("LS1 4AP".into()),
        };
        let s = format!("{d:?}");
        assert!(!s.contains("Ada") && !s.contains("Lovelace") && !s.contains("2015"));
    }

    #[test]
    fn match_key_ignores_case_and_inward_code() {
        let a = Demographics {
            family_name: Some("Smith".into()),
            date_of_birth: NaiveDate::from_ymd_opt(2014, 1, 2),
            postcode: Some("ls1 4ap".into()),
            ..Default::default()
        };
        let b = Demographics {
            family_name: Some(" SMITH".into()),
            date_of_birth: NaiveDate::from_ymd_opt(2014, 1, 2),
            postcode: Some("LS14BB".into()),
            ..Default::default()
        };
        assert_eq!(a.match_key(), b.match_key());
        assert!(Demographics::default().match_key().is_none());
    }
}
