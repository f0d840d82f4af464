//! Why a mapping's configuration was refused: every problem, each naming its key.

use std::fmt;

/// One thing wrong with a mapping's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The full key, e.g. `mappings[arbor-pupil-events].events."school.left".payload.left_on`.
    pub key: String,
    /// What was expected (configuration is not child data, but reasons still avoid repeating
    /// values that could be, such as a constant's text).
    pub reason: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Every problem found in one mapping's configuration, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct MappingConfigError {
    problems: Vec<ConfigProblem>,
}

impl MappingConfigError {
    pub(crate) fn new(problems: Vec<ConfigProblem>) -> Self {
        Self { problems }
    }

    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }
}

/// Collects problems under one mapping's key prefix.
pub(crate) struct Problems {
    prefix: String,
    list: Vec<ConfigProblem>,
}

impl Problems {
    pub(crate) fn new(id: &str) -> Self {
        Self {
            prefix: format!("mappings[{id}]"),
            list: Vec::new(),
        }
    }

    /// Adds a problem at `key` (relative to the mapping, e.g. `subject.upn`; empty for the
    /// mapping itself).
    pub(crate) fn push(&mut self, key: &str, reason: impl Into<String>) {
        let key = if key.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}.{key}", self.prefix)
        };
        self.list.push(ConfigProblem {
            key,
            reason: reason.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many so far: a step compares it before and after to know whether it added any.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn into_error(self) -> MappingConfigError {
        MappingConfigError::new(self.list)
    }
}

/// A TOML key segment: bare when it can be (`left_on`), quoted otherwise (`"school.left"`).
pub(crate) fn segment(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quoted_only_when_toml_needs_it() {
        assert_eq!(segment("left_on"), "left_on");
        assert_eq!(segment("school.left"), "\"school.left\"");
        assert_eq!(segment("Pupil Left"), "\"Pupil Left\"");
        let mut p = Problems::new("arbor");
        p.push("events.\"school.left\".payload.left_on", "is not mapped");
        p.push("", "whole");
        let e = p.into_error();
        assert_eq!(
            e.to_string(),
            "mappings[arbor].events.\"school.left\".payload.left_on: is not mapped\nmappings[arbor]: whole"
        );
    }
}
