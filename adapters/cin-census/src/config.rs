//! The reader's hard limits: the only configuration the CIN census adapter has.
//!
//! Why limits at all: a census file arrives from outside (a case management system's export, an
//! upload, a drop folder) and is read while it streams. Without limits one hostile or broken
//! file could hold the reader in unbounded memory (a gigabyte of text in one element, one
//! "child" the size of the file) or in unbounded recursion. Every limit is checked as the bytes
//! arrive, before they are buffered (see `throughline-safe-xml`).
//!
//! The size of the whole file is the caller's to bound (for example with `Read::take` or the
//! HTTP body limit), because only the caller knows where the file comes from.

use serde::Deserialize;
use throughline_safe_xml::XmlLimits;

/// Hard limits on one census file, checked while it streams. Exceeding one is a file-level
/// error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CinLimits {
    /// How deeply elements may nest, counting the root `Message` as 1. The mapping reads elements
    /// 6 deep (`Message/Children/Child/CINdetails/Assessments/AssessmentActualStartDate`), so the
    /// limit must be at least 6.
    pub max_depth: usize,
    /// The longest text or markup, in bytes: a run of text in one element (references
    /// resolved), a mapped element's whole text, or one tag, comment or processing instruction
    /// as written.
    pub max_text_bytes: usize,
    /// How many `Child` elements one file may hold.
    pub max_children: usize,
    /// The largest one `Child` element may be, in bytes as written. Each child's raw XML is kept
    /// in memory until it is handed over, so this bounds the reader's memory.
    pub max_child_bytes: usize,
}

/// The deepest element the mapping reads, counting the root as 1.
pub(crate) const DEEPEST_MAPPED_ELEMENT: usize = 6;

impl Default for CinLimits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_text_bytes: 64 * 1024,
            max_children: 500_000,
            max_child_bytes: 4 * 1024 * 1024,
        }
    }
}

/// A limit that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    #[error(
        "max_depth must be at least {DEEPEST_MAPPED_ELEMENT} (the deepest element the mapping reads), found {0}"
    )]
    DepthTooSmall(usize),
    #[error("{0} must be at least 1, found 0")]
    Zero(&'static str),
    #[error(
        "max_child_bytes must be at least max_text_bytes ({text}), found {child}: a child holds at least one text"
    )]
    ChildSmallerThanText { child: usize, text: usize },
}

impl CinLimits {
    /// Checks that the limits can work together.
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.max_depth < DEEPEST_MAPPED_ELEMENT {
            return Err(LimitsError::DepthTooSmall(self.max_depth));
        }
        for (name, value) in [
            ("max_text_bytes", self.max_text_bytes),
            ("max_children", self.max_children),
            ("max_child_bytes", self.max_child_bytes),
        ] {
            if value == 0 {
                return Err(LimitsError::Zero(name));
            }
        }
        if self.max_child_bytes < self.max_text_bytes {
            return Err(LimitsError::ChildSmallerThanText {
                child: self.max_child_bytes,
                text: self.max_text_bytes,
            });
        }
        Ok(())
    }

    /// The XML layer's share of the limits: a child is the record it copies.
    pub(crate) fn xml(&self) -> XmlLimits {
        XmlLimits {
            max_depth: self.max_depth,
            max_text_bytes: self.max_text_bytes,
            max_record_bytes: self.max_child_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(CinLimits::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_limits_that_cannot_work() {
        let shallow = CinLimits {
            max_depth: 5,
            ..CinLimits::default()
        };
        assert_eq!(shallow.validate(), Err(LimitsError::DepthTooSmall(5)));
        let no_children = CinLimits {
            max_children: 0,
            ..CinLimits::default()
        };
        assert_eq!(
            no_children.validate(),
            Err(LimitsError::Zero("max_children"))
        );
        let small_child = CinLimits {
            max_child_bytes: 10,
            max_text_bytes: 100,
            ..CinLimits::default()
        };
        assert!(small_child.validate().is_err());
    }

    #[test]
    fn reads_from_toml_with_defaults_and_refuses_unknown_keys() {
        let limits: CinLimits = toml::from_str("max_children = 10").unwrap();
        assert_eq!(limits.max_children, 10);
        assert_eq!(limits.max_depth, CinLimits::default().max_depth);
        assert!(toml::from_str::<CinLimits>("max_child = 10").is_err());
    }
}
