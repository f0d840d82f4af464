//! File-level errors: the whole CTF is refused (or, mid-stream, the rest of it is).
//!
//! A problem with one pupil is not an error here: it is a
//! [`PupilOutcome::Rejected`](crate::PupilOutcome::Rejected) with its
//! [`FieldProblem`]s, and the file carries on.
//!
//! Why messages look the way they do: a CTF is full of child data, and these messages end up in
//! logs, quarantine records and operators' screens. Every message names *where* (an element path
//! such as `CTFpupilData.Pupil[17].SENhistory`, or a byte offset) and *why*, and never repeats a
//! value from the file. Header values are not child data (version, school numbers), but even those
//! are only repeated when they have the expected shape.

use std::io;

use throughline_contracts::event::FieldProblem;
use throughline_safe_xml::{ShapeError, XmlError, describe_problems};

use crate::config::LimitsError;

/// Why a CTF could not be read (any further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtfError {
    /// The limits passed to [`CtfReader::new`](crate::CtfReader::new) cannot work.
    #[error("invalid CTF limits: {0}")]
    Limits(#[from] LimitsError),

    /// Reading the underlying input failed.
    #[error("reading the CTF failed: {0}")]
    Io(#[source] io::Error),

    /// The bytes are not well-formed XML (or are XML this reader refuses to guess about).
    #[error("malformed XML at byte {offset} in {path}: {reason}")]
    Malformed {
        path: String,
        offset: u64,
        reason: &'static str,
    },

    /// The XML declaration names an encoding other than UTF-8.
    #[error(
        "the XML declaration names an encoding other than UTF-8: CTF files are UTF-8, and this reader does not transcode"
    )]
    Encoding,

    /// A document type declaration: refused whatever it holds.
    #[error(
        "a DOCTYPE declaration at byte {offset} is refused: a CTF never needs one, and it is how entity attacks (external entities, entity expansion) are carried"
    )]
    DoctypeRefused { offset: u64 },

    /// An entity reference other than the five predefined ones or a character reference.
    #[error(
        "an entity reference at byte {offset} in {path} is refused: only &lt; &gt; &amp; &apos; &quot; and character references (&#NN; &#xNN;) are allowed"
    )]
    EntityRefused { path: String, offset: u64 },

    /// The document is XML but not a CTF (wrong root element, no header...).
    #[error("not a Common Transfer File: {reason}")]
    NotCtf { reason: &'static str },

    /// The header's `CTFversion` is not one a file dated in its school year may carry: this
    /// year's, last year's, or one newer (see [`VersionWindow`](crate::VersionWindow)).
    #[error(
        "CTF version {found} is not supported for a file dated in school year {school_year}: this reader accepts CTF major versions {current} and {previous} (this school year's and last year's), and reads {newer} with a warning",
        previous = .current - 1,
        newer = .current + 1
    )]
    UnsupportedVersion {
        /// The version as written.
        found: String,
        /// The school year the file's `DateTime` falls in, e.g. `2026/27`.
        school_year: String,
        /// That school year's major version: CTF NN is valid from September 20NN.
        current: i32,
    },

    /// The header is missing something the mapping needs, or holds something it cannot read.
    #[error("the CTF header is invalid: {}", describe_problems(problems))]
    Header { problems: Vec<FieldProblem> },

    /// Elements nest deeper than [`CtfLimits::max_depth`](crate::CtfLimits::max_depth).
    #[error("{path} is nested deeper than the limit of {limit} elements")]
    TooDeep { path: String, limit: usize },

    /// A text or a piece of markup is longer than
    /// [`CtfLimits::max_text_bytes`](crate::CtfLimits::max_text_bytes).
    #[error("{path} holds text or markup longer than the limit of {limit} bytes")]
    TooLong { path: String, limit: usize },

    /// More pupils than [`CtfLimits::max_pupils`](crate::CtfLimits::max_pupils).
    #[error("the file holds more than the limit of {limit} pupils")]
    TooManyPupils { limit: usize },

    /// One pupil is larger than [`CtfLimits::max_pupil_bytes`](crate::CtfLimits::max_pupil_bytes).
    #[error("CTFpupilData.Pupil[{index}] is larger than the limit of {limit} bytes")]
    PupilTooLarge { index: usize, limit: usize },
}

/// The XML layer's errors, as the CTF reader has always reported them: the same variants and
/// messages, with "record" read as "pupil" and an empty document as "not a CTF".
impl From<XmlError> for CtfError {
    fn from(e: XmlError) -> Self {
        match e {
            XmlError::Io(e) => CtfError::Io(e),
            XmlError::Malformed {
                path,
                offset,
                reason,
            } => CtfError::Malformed {
                path,
                offset,
                reason,
            },
            XmlError::Encoding => CtfError::Encoding,
            XmlError::DoctypeRefused { offset } => CtfError::DoctypeRefused { offset },
            XmlError::EntityRefused { path, offset } => CtfError::EntityRefused { path, offset },
            XmlError::TooDeep { path, limit } => CtfError::TooDeep { path, limit },
            XmlError::TooLong { path, limit } => CtfError::TooLong { path, limit },
            XmlError::RecordTooLarge { index, limit } => CtfError::PupilTooLarge { index, limit },
            XmlError::NoElement => CtfError::NotCtf {
                reason: "the file holds no XML element",
            },
            // `XmlError` is non-exhaustive: a new kind of refusal is still a refusal.
            _ => CtfError::NotCtf {
                reason: "the file could not be read as XML",
            },
        }
    }
}

/// The record stream's refusals in CTF terms: the records are pupils in `CTFpupilData`.
impl From<ShapeError> for CtfError {
    fn from(e: ShapeError) -> Self {
        let reason = match e {
            ShapeError::WrongRoot => "the root element is not CTfile",
            ShapeError::SecondHeader => "the file has more than one Header",
            ShapeError::NoHeader => "there is no Header before the pupil data",
            ShapeError::SecondList => "the file has more than one CTFpupilData",
            ShapeError::RecordOutsideList => "a Pupil element is outside CTFpupilData",
            ShapeError::TooManyRecords { limit } => return CtfError::TooManyPupils { limit },
        };
        CtfError::NotCtf { reason }
    }
}
