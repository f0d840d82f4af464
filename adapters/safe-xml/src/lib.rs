//! Safe streaming XML for the file adapters (Common Transfer File, CIN census): a thin layer over
//! quick-xml that refuses what no statutory return needs and what attacks rely on, and enforces
//! hard size limits while the bytes arrive; and, on top of it, the reader of a file of records
//! that those returns share.
//!
//! Why one crate: every XML file the hub reads comes from outside (an MIS, a case system, an
//! upload), and the same defences apply to each — no DTD, no entities beyond the predefined five,
//! bounded nesting, bounded text, a bounded copy of the record being read. Each adapter keeps its
//! own error type and messages and converts [`XmlError`] and [`ShapeError`] into it; the
//! defences and the walk through the file live here once, and each adapter keeps only what is
//! its format's: the element names, the header, a record's contents and their mapping.
//!
//! - [`Cursor`]: start / text / end steps, element paths for messages, a byte-exact copy of one
//!   record (a pupil, a child) for quarantine, and [`Cursor::read_element`] over a [`Visit`]
//!   state machine so only the mapped texts are ever copied.
//! - [`XmlLimits`]: the limits the cursor enforces.
//! - [`XmlError`]: why the document cannot be read (any further).
//! - [`RecordStream`]: a root, a header, then one list of records handed over one at a time
//!   ([`Record`]), refusing a file of the wrong [`FileShape`] ([`ShapeError`]).
//! - [`RecordOutcome`], [`RecordProblems`], [`submissions`] (and [`restating_submissions`]): what became of a record, and what
//!   every record mapping shares.
//! - [`xs`]: the XML Schema dates the files use.
//! - `fixture` (feature `fixtures`) and `testing` (feature `testing`): what the adapters'
//!   generators and tests share.
#![forbid(unsafe_code)]

mod cursor;
mod error;
#[cfg(feature = "fixtures")]
pub mod fixture;
mod outcome;
mod problems;
mod records;
mod tap;
#[cfg(feature = "testing")]
pub mod testing;
pub mod xs;

pub use cursor::{Cursor, Step, Visit};
pub use error::XmlError;
pub use outcome::{RecordOutcome, restating_submissions, submissions};
pub use problems::{RecordProblems, describe_problems};
pub use records::{FileShape, Record, RecordStream, ShapeError};

/// Hard limits on one document, checked while it streams. Each adapter builds these from its
/// own configured limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// How deeply elements may nest, counting the root as 1.
    pub max_depth: usize,
    /// The longest text or markup, in bytes: one run of text in one element (references
    /// resolved), a collected element's whole text, or one tag, comment or processing
    /// instruction as written. Checked before the bytes are buffered.
    pub max_text_bytes: usize,
    /// The largest record [`Cursor::record_next_element`] may copy, in bytes as written.
    pub max_record_bytes: usize,
}
