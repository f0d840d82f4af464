//! File-level errors: the whole census file is refused (or, mid-stream, the rest of it is).
//!
//! A problem with one child is not an error here: it is a
//! [`ChildOutcome::Rejected`](crate::ChildOutcome::Rejected) with its [`FieldProblem`]s, and the
//! file carries on.
//!
//! Why messages look the way they do: a census file is full of child data, and these messages
//! end up in logs, quarantine records and operators' screens. Every message names *where* (an
//! element path such as `Children.Child[17].CINdetails[0]`, or a byte offset) and *why*, and never
//! repeats a value from the file.

use std::io;

use throughline_contracts::event::FieldProblem;
use throughline_safe_xml::{ShapeError, XmlError, describe_problems};

use crate::config::LimitsError;

/// Why a census file could not be read (any further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CinError {
    /// The limits passed to [`CinReader::new`](crate::CinReader::new) cannot work.
    #[error("invalid CIN census limits: {0}")]
    Limits(#[from] LimitsError),

    /// Reading the underlying input failed.
    #[error("reading the CIN census failed: {0}")]
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
        "the XML declaration names an encoding other than UTF-8: this reader reads CIN census files as UTF-8 and does not transcode"
    )]
    Encoding,

    /// A document type declaration: refused whatever it holds.
    #[error(
        "a DOCTYPE declaration at byte {offset} is refused: a CIN census never needs one, and it is how entity attacks (external entities, entity expansion) are carried"
    )]
    DoctypeRefused { offset: u64 },

    /// An entity reference other than the five predefined ones or a character reference.
    #[error(
        "an entity reference at byte {offset} in {path} is refused: only &lt; &gt; &amp; &apos; &quot; and character references (&#NN; &#xNN;) are allowed"
    )]
    EntityRefused { path: String, offset: u64 },

    /// The document is XML but not a CIN census (wrong root element, no header...).
    #[error("not a CIN census: {reason}")]
    NotCinCensus { reason: &'static str },

    /// The header is missing something the mapping needs, or holds something it cannot read.
    #[error("the CIN census header is invalid: {}", describe_problems(problems))]
    Header { problems: Vec<FieldProblem> },

    /// Elements nest deeper than [`CinLimits::max_depth`](crate::CinLimits::max_depth).
    #[error("{path} is nested deeper than the limit of {limit} elements")]
    TooDeep { path: String, limit: usize },

    /// A text or a piece of markup is longer than
    /// [`CinLimits::max_text_bytes`](crate::CinLimits::max_text_bytes).
    #[error("{path} holds text or markup longer than the limit of {limit} bytes")]
    TooLong { path: String, limit: usize },

    /// More children than [`CinLimits::max_children`](crate::CinLimits::max_children).
    #[error("the file holds more than the limit of {limit} children")]
    TooManyChildren { limit: usize },

    /// One child is larger than
    /// [`CinLimits::max_child_bytes`](crate::CinLimits::max_child_bytes).
    #[error("Children.Child[{index}] is larger than the limit of {limit} bytes")]
    ChildTooLarge { index: usize, limit: usize },
}

/// The XML layer's errors in this reader's terms: a record is a child, and an empty document is
/// not a census.
impl From<XmlError> for CinError {
    fn from(e: XmlError) -> Self {
        match e {
            XmlError::Io(e) => CinError::Io(e),
            XmlError::Malformed {
                path,
                offset,
                reason,
            } => CinError::Malformed {
                path,
                offset,
                reason,
            },
            XmlError::Encoding => CinError::Encoding,
            XmlError::DoctypeRefused { offset } => CinError::DoctypeRefused { offset },
            XmlError::EntityRefused { path, offset } => CinError::EntityRefused { path, offset },
            XmlError::TooDeep { path, limit } => CinError::TooDeep { path, limit },
            XmlError::TooLong { path, limit } => CinError::TooLong { path, limit },
            XmlError::RecordTooLarge { index, limit } => CinError::ChildTooLarge { index, limit },
            XmlError::NoElement => CinError::NotCinCensus {
                reason: "the file holds no XML element",
            },
            // `XmlError` is non-exhaustive: a new kind of refusal is still a refusal.
            _ => CinError::NotCinCensus {
                reason: "the file could not be read as XML",
            },
        }
    }
}

/// The record stream's refusals in census terms: the records are children in `Children`.
impl From<ShapeError> for CinError {
    fn from(e: ShapeError) -> Self {
        let reason = match e {
            ShapeError::WrongRoot => "the root element is not Message",
            ShapeError::SecondHeader => "the file has more than one Header",
            ShapeError::NoHeader => "there is no Header before the children",
            ShapeError::SecondList => "the file has more than one Children",
            ShapeError::RecordOutsideList => "a Child element is outside Children",
            ShapeError::TooManyRecords { limit } => return CinError::TooManyChildren { limit },
        };
        CinError::NotCinCensus { reason }
    }
}
