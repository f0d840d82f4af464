//! Safe streaming XML for the file adapters (Common Transfer File, CIN census): a thin layer over
//! quick-xml that refuses what no statutory return needs and what attacks rely on, and enforces
//! hard size limits while the bytes arrive.
//!
//! Why one crate: every XML file the hub reads comes from outside (an MIS, a case system, an
//! upload), and the same defences apply to each — no DTD, no entities beyond the predefined five,
//! bounded nesting, bounded text, a bounded copy of the record being read. Each adapter keeps its
//! own error type and messages and converts [`XmlError`] into it; the defences live here once.
//!
//! - [`Cursor`]: start / text / end steps, element paths for messages, a byte-exact copy of one
//!   record (a pupil, a child) for quarantine, and [`Cursor::read_element`] over a [`Visit`]
//!   state machine so only the mapped texts are ever copied.
//! - [`XmlLimits`]: the limits the cursor enforces.
//! - [`XmlError`]: why the document cannot be read (any further).
#![forbid(unsafe_code)]

mod cursor;
mod error;
mod tap;

pub use cursor::{Cursor, Step, Visit};
pub use error::XmlError;

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
