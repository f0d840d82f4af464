//! The reader's hard limits: the only configuration the CTF adapter has so far.
//!
//! Why limits at all: a CTF arrives from outside (a school's MIS, the DfE's School to School
//! service, an upload) and is read while it streams. Without limits one hostile or broken file
//! could hold the reader in unbounded memory (a gigabyte of text in one element, one "pupil" the
//! size of the file) or in unbounded recursion. Every limit is checked as the bytes arrive, before
//! they are buffered, so memory stays bounded by the limits whatever the input.
//!
//! The size of the whole file is the caller's to bound (for example with `Read::take` or the
//! HTTP body limit), because only the caller knows where the file comes from.

use serde::Deserialize;

/// Hard limits on one CTF, checked while it streams. Exceeding one is a file-level error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CtfLimits {
    /// How deeply elements may nest, counting the root `CTfile` as 1. Real CTFs nest about 8
    /// deep; the mapping reads elements 7 deep (`CTfile/CTFpupilData/Pupil/SENhistory/SENneeds/
    /// SENneed/SENtype`), so the limit must be at least 7.
    pub max_depth: usize,
    /// The longest text or markup, in bytes: a run of text in one element (up to its next child
    /// element, references resolved), a mapped element's whole text, or one tag, comment or
    /// processing instruction as written.
    pub max_text_bytes: usize,
    /// How many `Pupil` elements one file may hold.
    pub max_pupils: usize,
    /// The largest one `Pupil` element may be, in bytes as written. Each pupil's raw XML is kept
    /// in memory until it is handed over, so this bounds the reader's memory.
    pub max_pupil_bytes: usize,
}

impl CtfLimits {
    /// The XML layer's share of the limits: a pupil is the record it copies.
    pub(crate) fn xml(&self) -> throughline_safe_xml::XmlLimits {
        throughline_safe_xml::XmlLimits {
            max_depth: self.max_depth,
            max_text_bytes: self.max_text_bytes,
            max_record_bytes: self.max_pupil_bytes,
        }
    }
}

/// The deepest element the mapping reads, counting the root as 1.
pub(crate) const DEEPEST_MAPPED_ELEMENT: usize = 7;

impl Default for CtfLimits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_text_bytes: 64 * 1024,
            max_pupils: 200_000,
            max_pupil_bytes: 4 * 1024 * 1024,
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
        "max_pupil_bytes must be at least max_text_bytes ({text}), found {pupil}: a pupil holds at least one text"
    )]
    PupilSmallerThanText { pupil: usize, text: usize },
}

impl CtfLimits {
    /// Checks that the limits can work together.
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.max_depth < DEEPEST_MAPPED_ELEMENT {
            return Err(LimitsError::DepthTooSmall(self.max_depth));
        }
        for (name, value) in [
            ("max_text_bytes", self.max_text_bytes),
            ("max_pupils", self.max_pupils),
            ("max_pupil_bytes", self.max_pupil_bytes),
        ] {
            if value == 0 {
                return Err(LimitsError::Zero(name));
            }
        }
        if self.max_pupil_bytes < self.max_text_bytes {
            return Err(LimitsError::PupilSmallerThanText {
                pupil: self.max_pupil_bytes,
                text: self.max_text_bytes,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(CtfLimits::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_limits_that_cannot_work() {
        let shallow = CtfLimits {
            max_depth: 6,
            ..CtfLimits::default()
        };
        assert_eq!(shallow.validate(), Err(LimitsError::DepthTooSmall(6)));
        let no_pupils = CtfLimits {
            max_pupils: 0,
            ..CtfLimits::default()
        };
        assert_eq!(no_pupils.validate(), Err(LimitsError::Zero("max_pupils")));
        let small_pupil = CtfLimits {
            max_pupil_bytes: 10,
            max_text_bytes: 100,
            ..CtfLimits::default()
        };
        assert!(small_pupil.validate().is_err());
    }

    #[test]
    fn reads_from_toml_with_defaults_and_refuses_unknown_keys() {
        let limits: CtfLimits = toml::from_str("max_pupils = 10").unwrap();
        assert_eq!(limits.max_pupils, 10);
        assert_eq!(limits.max_depth, CtfLimits::default().max_depth);
        assert!(toml::from_str::<CtfLimits>("max_pupil = 10").is_err());
    }
}
