//! The XML layer: turns quick-xml's events into three steps (an element starts, some text, an
//! element ends) and refuses everything a statutory XML file has no use for and an attacker does.
//!
//! What is refused, as a document-level error, before anything reaches a mapping:
//! - a `<!DOCTYPE`, whatever it holds: no DTD means no entity declarations, so neither external
//!   entities (XXE) nor entity expansion (billion laughs) can happen;
//! - any entity reference other than the five predefined ones and character references, in text
//!   or in attribute values (without a DTD nothing else could be defined anyway);
//! - nesting deeper than `max_depth`, text or markup longer than `max_text_bytes` (checked by the
//!   [`Tap`] before it is buffered), an encoding declaration other than UTF-8, anything after the
//!   root element, and a file that ends inside an element (a truncated upload).
//!
//! The cursor also knows each element's path for messages (`CTFpupilData.Pupil[17].UPN`): the
//! root is left out, and elements the caller names as repeating carry their position among
//! same-named siblings, counted from 0.

use std::io::BufRead;

use quick_xml::XmlVersion;
use quick_xml::events::Event;

use crate::XmlLimits;
use crate::error::{XmlError, from_xml};
use crate::tap::Tap;

/// The longest element name a path repeats; longer names are cut.
const MAX_NAME_IN_PATH: usize = 64;

/// What the cursor read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// An element started; its name is [`Cursor::name`].
    Start,
    /// Text (from a text node, a CDATA section or a resolved reference) in the current element. One element's text may arrive in several steps.
    Text,
    /// An element ended; its name is [`Cursor::name`].
    End,
    /// The document ended, well-formed.
    Eof,
}

/// What [`Cursor::read_element`] reports to: a small state machine over one element's contents.
pub trait Visit {
    /// What an element is, as far as the visitor cares.
    type Kind: Copy;
    /// The kind of an element named `name` inside one of kind `parent`.
    fn child(parent: Self::Kind, name: &str) -> Self::Kind;
    /// Whether the text of an element of this kind is wanted.
    fn collects(kind: Self::Kind) -> bool;
    /// An element of this kind started; `index` is its position among same-named siblings, for
    /// elements that repeat.
    fn open(&mut self, kind: Self::Kind, index: Option<usize>);
    /// An element whose kind collects text ended, with this (trimmed) text.
    fn leaf(&mut self, kind: Self::Kind, text: &str);
}

struct Frame {
    name: String,
    /// Position among same-named siblings, for the elements the cursor was told repeat.
    index: Option<usize>,
    /// Bytes of the current run of text in this element: text, CDATA and references up to the
    /// next child element. Whitespace between children starts a new run each time.
    text_bytes: usize,
    /// How many children of each repeated name this element has had so far.
    counts: Vec<(&'static str, usize)>,
}

/// Reads one XML document from any [`BufRead`], in memory bounded by its [`XmlLimits`].
pub struct Cursor<R> {
    xml: quick_xml::Reader<Tap<R>>,
    buf: Vec<u8>,
    limits: XmlLimits,
    /// Element names whose paths carry their position among same-named siblings.
    repeated: &'static [&'static str],
    frames: Vec<Frame>,
    /// The name of the element that last started or ended.
    name: String,
    text: String,
    root_seen: bool,
    /// The index of the record being copied, for its size error.
    recording: Option<usize>,
    /// Restart the recording at each event until an element starts, so that the record begins
    /// exactly with that element's start tag (not with comments or whitespace before it).
    rearm_recording: bool,
}

impl<R: BufRead> Cursor<R> {
    /// A cursor at the start of `input`. Elements named in `repeated` (a pupil, a child, a
    /// plan...) carry their position among same-named siblings in paths and in
    /// [`Cursor::index`].
    pub fn new(input: R, limits: XmlLimits, repeated: &'static [&'static str]) -> Self {
        let mut xml = quick_xml::Reader::from_reader(Tap::new(
            input,
            limits.max_text_bytes,
            limits.max_record_bytes,
        ));
        let config = xml.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.allow_unmatched_ends = false;
        config.allow_dangling_amp = false;
        Self {
            xml,
            buf: Vec::new(),
            limits,
            repeated,
            frames: Vec::new(),
            name: String::new(),
            text: String::new(),
            root_seen: false,
            recording: None,
            rearm_recording: false,
        }
    }

    /// The name of the element that last started or ended (its local name, without prefix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many elements are open, the root counting as 1.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// The position among its same-named siblings of the innermost open element, if it is one
    /// that repeats.
    pub fn index(&self) -> Option<usize> {
        self.frames.last().and_then(|f| f.index)
    }

    /// Starts keeping a copy of the bytes of the next element to start, from its start tag on.
    /// `index` names the record in [`XmlError::RecordTooLarge`] if it outgrows the limit.
    pub fn record_next_element(&mut self, index: usize) {
        self.recording = Some(index);
        self.rearm_recording = true;
    }

    /// Stops keeping a copy and returns it.
    pub fn take_recording(&mut self) -> Vec<u8> {
        self.recording = None;
        self.rearm_recording = false;
        self.xml.get_mut().take_record()
    }

    /// Reads to the end of the element that just started (the one [`Step::Start`] reported).
    pub fn skip_element(&mut self) -> Result<(), XmlError> {
        let depth = self.depth();
        loop {
            match self.step()? {
                Step::End if self.depth() < depth => return Ok(()),
                Step::Eof => unreachable!("the cursor reports a truncated file as an error"),
                _ => {}
            }
        }
    }

    /// Reads the element that just started (the one [`Step::Start`] reported) into `visitor`:
    /// each element inside it is classified by [`Visit::child`], the visitor hears of it as it
    /// starts, and receives the trimmed text of each element whose kind [`Visit::collects`] text
    /// as it ends. Text of other elements is never kept.
    pub fn read_element<V: Visit>(
        &mut self,
        top: V::Kind,
        visitor: &mut V,
    ) -> Result<(), XmlError> {
        let mut kinds = vec![top];
        let mut text = String::new();
        loop {
            match self.step()? {
                Step::Start => {
                    let parent = *kinds.last().expect("the top element is open");
                    let kind = V::child(parent, &self.name);
                    kinds.push(kind);
                    // Only a collecting element starts a new text; an element inside one (which
                    // never collects) leaves the text around it to add up.
                    if V::collects(kind) {
                        text.clear();
                    }
                    visitor.open(kind, self.index());
                }
                Step::Text => {
                    if let Some(&kind) = kinds.last()
                        && V::collects(kind)
                    {
                        text.push_str(&self.text);
                        // Runs of text between child elements are each within the limit; what
                        // is kept of them together must be too.
                        if text.len() > self.limits.max_text_bytes {
                            return Err(XmlError::TooLong {
                                path: path_of(&self.frames),
                                limit: self.limits.max_text_bytes,
                            });
                        }
                    }
                }
                Step::End => {
                    let kind = kinds.pop().expect("ends match starts");
                    if kinds.is_empty() {
                        return Ok(());
                    }
                    if V::collects(kind) {
                        visitor.leaf(kind, text.trim_matches(is_xml_space));
                        text.clear();
                    }
                }
                Step::Eof => unreachable!("the cursor reports a truncated file as an error"),
            }
        }
    }

    /// Reads the next step. Anything not part of the content (the XML declaration, comments,
    /// processing instructions, whitespace outside the root) is passed over.
    pub fn step(&mut self) -> Result<Step, XmlError> {
        loop {
            self.buf.clear();
            self.xml.get_mut().start_event();
            if self.rearm_recording {
                self.xml.get_mut().record_from_here();
            }
            let offset = self.xml.buffer_position();
            let event = self.xml.read_event_into(&mut self.buf);

            // Limits first: an over-budget read surfaces as an I/O error from the tap.
            let tap = self.xml.get_ref();
            let over_budget = match &event {
                Err(quick_xml::Error::Io(e)) => Tap::<R>::is_over_budget(e),
                _ => false,
            };
            if over_budget || tap.event_over_budget() {
                return Err(XmlError::TooLong {
                    path: path_of(&self.frames),
                    limit: self.limits.max_text_bytes,
                });
            }
            if tap.record_overflowed() {
                return Err(XmlError::RecordTooLarge {
                    index: self.recording.unwrap_or_default(),
                    limit: self.limits.max_record_bytes,
                });
            }
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    let at = self.xml.error_position();
                    return Err(from_xml(e, path_of(&self.frames), at));
                }
            };

            match event {
                Event::Decl(decl) => match decl.encoding() {
                    None => {}
                    Some(Ok(encoding)) if encoding.eq_ignore_ascii_case("utf-8") => {}
                    Some(Ok(_)) => return Err(XmlError::Encoding),
                    Some(Err(_)) => {
                        return Err(malformed(
                            &self.frames,
                            offset,
                            "the XML declaration is not valid",
                        ));
                    }
                },
                Event::DocType(_) => return Err(XmlError::DoctypeRefused { offset }),
                Event::PI(_) | Event::Comment(_) => {}
                Event::Start(start) => {
                    if self.root_seen && self.frames.is_empty() {
                        return Err(malformed(
                            &self.frames,
                            offset,
                            "there is an element after the root element",
                        ));
                    }
                    for attr in start.attributes().with_checks(true) {
                        let attr =
                            attr.map_err(|e| from_xml(e.into(), path_of(&self.frames), offset))?;
                        attr.normalized_value(XmlVersion::Implicit1_0)
                            .map_err(|e| from_xml(e, path_of(&self.frames), offset))?;
                    }
                    self.name.clear();
                    self.name.push_str(start.local_name().as_ref());
                    let index = self.frames.last_mut().and_then(|parent| {
                        // A child ends the parent's current run of text.
                        parent.text_bytes = 0;
                        let repeated = self.repeated.iter().find(|r| **r == self.name)?;
                        Some(
                            match parent.counts.iter_mut().find(|(n, _)| n == repeated) {
                                Some((_, count)) => {
                                    *count += 1;
                                    *count - 1
                                }
                                None => {
                                    parent.counts.push((repeated, 1));
                                    0
                                }
                            },
                        )
                    });
                    self.frames.push(Frame {
                        name: self.name.clone(),
                        index,
                        text_bytes: 0,
                        counts: Vec::new(),
                    });
                    self.root_seen = true;
                    self.rearm_recording = false;
                    if self.frames.len() > self.limits.max_depth {
                        return Err(XmlError::TooDeep {
                            path: path_of(&self.frames),
                            limit: self.limits.max_depth,
                        });
                    }
                    return Ok(Step::Start);
                }
                Event::End(_) => {
                    let frame = self
                        .frames
                        .pop()
                        .expect("quick-xml reports unmatched end tags itself");
                    self.name = frame.name;
                    if let Some(parent) = self.frames.last_mut() {
                        parent.text_bytes = 0;
                    }
                    return Ok(Step::End);
                }
                Event::Empty(_) => unreachable!("empty elements are expanded"),
                Event::Text(text) => {
                    let content = text.xml10_content();
                    if self.frames.is_empty() {
                        if content.bytes().all(|b| b.is_ascii_whitespace()) {
                            continue;
                        }
                        return Err(malformed(
                            &self.frames,
                            offset,
                            "there is text outside the root element",
                        ));
                    }
                    self.text.clear();
                    self.text.push_str(&content);
                    return self.add_text();
                }
                Event::CData(cdata) => {
                    if self.frames.is_empty() {
                        return Err(malformed(
                            &self.frames,
                            offset,
                            "there is a CDATA section outside the root element",
                        ));
                    }
                    let content = cdata.xml10_content();
                    self.text.clear();
                    self.text.push_str(&content);
                    return self.add_text();
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => match predefined(&reference) {
                            Some(c) => c,
                            None => {
                                return Err(XmlError::EntityRefused {
                                    path: path_of(&self.frames),
                                    offset,
                                });
                            }
                        },
                        Err(_) => {
                            return Err(malformed(
                                &self.frames,
                                offset,
                                "a character reference names no valid character",
                            ));
                        }
                    };
                    if self.frames.is_empty() {
                        return Err(malformed(
                            &self.frames,
                            offset,
                            "there is a reference outside the root element",
                        ));
                    }
                    self.text.clear();
                    self.text.push(resolved);
                    return self.add_text();
                }
                Event::Eof => {
                    if !self.frames.is_empty() {
                        return Err(malformed(
                            &self.frames,
                            offset,
                            "the file ends before this element is closed (is it truncated?)",
                        ));
                    }
                    if !self.root_seen {
                        return Err(XmlError::NoElement);
                    }
                    return Ok(Step::Eof);
                }
            }
        }
    }

    /// Counts the text just read against the limit for one run of text.
    fn add_text(&mut self) -> Result<Step, XmlError> {
        let frame = self.frames.last_mut().expect("text is inside an element");
        frame.text_bytes = frame.text_bytes.saturating_add(self.text.len());
        if frame.text_bytes > self.limits.max_text_bytes {
            return Err(XmlError::TooLong {
                path: path_of(&self.frames),
                limit: self.limits.max_text_bytes,
            });
        }
        Ok(Step::Text)
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn malformed(frames: &[Frame], offset: u64, reason: &'static str) -> XmlError {
    XmlError::Malformed {
        path: path_of(frames),
        offset,
        reason,
    }
}

/// `CTFpupilData.Pupil[17].UPN`: the open elements below the root, names cut to a safe length
/// and to characters that XML names and our paths share.
fn path_of(frames: &[Frame]) -> String {
    if frames.len() <= 1 {
        return match frames.first() {
            Some(root) => safe_name(&root.name),
            None => "(document)".to_owned(),
        };
    }
    let mut path = String::new();
    for frame in &frames[1..] {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&safe_name(&frame.name));
        if let Some(i) = frame.index {
            path.push_str(&format!("[{i}]"));
        }
    }
    path
}

fn safe_name(name: &str) -> String {
    name.chars()
        .take(MAX_NAME_IN_PATH)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
