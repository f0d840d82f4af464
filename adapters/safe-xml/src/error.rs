//! Why a document could not be read (any further).
//!
//! Messages name *where* (an element path such as `Children.Child[17].UPN`, or a byte offset) and
//! *why*, and never repeat text from the document: these files are full of child data, and the
//! messages end up in logs, quarantine records and operators' screens. Each adapter converts
//! these into its own error type, keeping the same distinctions.

use std::io;

/// Why the document could not be read (any further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// Reading the underlying input failed.
    #[error("reading the file failed: {0}")]
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
        "the XML declaration names an encoding other than UTF-8, which this reader does not transcode"
    )]
    Encoding,

    /// A document type declaration: refused whatever it holds.
    #[error(
        "a DOCTYPE declaration at byte {offset} is refused: the file never needs one, and it is how entity attacks (external entities, entity expansion) are carried"
    )]
    DoctypeRefused { offset: u64 },

    /// An entity reference other than the five predefined ones or a character reference.
    #[error(
        "an entity reference at byte {offset} in {path} is refused: only &lt; &gt; &amp; &apos; &quot; and character references (&#NN; &#xNN;) are allowed"
    )]
    EntityRefused { path: String, offset: u64 },

    /// Elements nest deeper than [`XmlLimits::max_depth`](crate::XmlLimits::max_depth).
    #[error("{path} is nested deeper than the limit of {limit} elements")]
    TooDeep { path: String, limit: usize },

    /// A text or a piece of markup is longer than
    /// [`XmlLimits::max_text_bytes`](crate::XmlLimits::max_text_bytes).
    #[error("{path} holds text or markup longer than the limit of {limit} bytes")]
    TooLong { path: String, limit: usize },

    /// The record being copied is larger than
    /// [`XmlLimits::max_record_bytes`](crate::XmlLimits::max_record_bytes). `index` is the one
    /// given to [`Cursor::record_next_element`](crate::Cursor::record_next_element).
    #[error("record {index} is larger than the limit of {limit} bytes")]
    RecordTooLarge { index: usize, limit: usize },

    /// The input holds no element at all (an empty file, or only a declaration and comments).
    #[error("the file holds no XML element")]
    NoElement,
}

/// Maps quick-xml's error to ours. quick-xml's own messages can quote names and entity text from
/// the input, so each kind gets a fixed reason instead.
pub(crate) fn from_xml(err: quick_xml::Error, path: String, offset: u64) -> XmlError {
    use quick_xml::Error as X;
    use quick_xml::errors::IllFormedError as I;
    use quick_xml::escape::EscapeError as E;

    let reason = match err {
        X::Io(e) => return XmlError::Io(io::Error::new(e.kind(), e.to_string())),
        X::Escape(E::UnrecognizedEntity(..)) => return XmlError::EntityRefused { path, offset },
        X::Escape(E::InvalidCharRef(_)) => "a character reference names no valid character",
        X::Escape(_) => "an entity or character reference is not well-formed",
        X::Syntax(_) => "markup is not closed (a tag, comment, CDATA section or declaration)",
        X::IllFormed(I::MismatchedEndTag { .. }) => "an end tag does not match the open element",
        X::IllFormed(I::UnmatchedEndTag(_)) => "an end tag has no matching start tag",
        X::IllFormed(I::MissingDeclVersion(_) | I::UnknownVersion) => {
            "the XML declaration is not valid"
        }
        X::IllFormed(I::UnclosedReference) => "an & is not followed by a reference ending in ;",
        X::IllFormed(_) => "the document is not well-formed",
        X::InvalidAttr(_) => "an attribute is not well-formed",
        X::Encoding(_) => "the bytes are not valid UTF-8",
        _ => "the document is not well-formed",
    };
    XmlError::Malformed {
        path,
        offset,
        reason,
    }
}
