//! A file of records: the shape the statutory returns share. A root element holds one header and
//! one list of records, and each record is read and handed over alone, with its bytes as written
//! (`CTfile` / `Header` / `CTFpupilData` / `Pupil`; `Message` / `Header` / `Children` / `Child`).
//!
//! Why here: the walk is the same for every such file. Find the header before the list; refuse
//! a second header, a second list or a record outside the list rather than skip it (skipping
//! would lose children silently); count records against the limit; copy each record for
//! quarantine; check the rest of the document once the list ends. Only the names, the header's
//! and a record's contents, and the wording of errors differ, and those stay with each adapter.

use std::io::BufRead;

use crate::{Cursor, Step, XmlError, XmlLimits};

/// The element names of a file of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileShape {
    /// The root element, e.g. `CTfile`.
    pub root: &'static str,
    /// The header, a child of the root that must come before the list.
    pub header: &'static str,
    /// The one child of the root that holds the records, e.g. `CTFpupilData`.
    pub list: &'static str,
    /// A record, a child of the list, e.g. `Pupil`.
    pub record: &'static str,
    /// Elements that repeat, whose paths carry their position (`CTFpupilData.Pupil[17]`): the
    /// record, and whatever repeats inside it.
    pub repeated: &'static [&'static str],
}

/// Why a file is refused for its shape rather than its XML. Each adapter words these in its own
/// error, naming its own elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeError {
    /// The root element is not [`FileShape::root`].
    WrongRoot,
    /// The root holds more than one header.
    SecondHeader,
    /// There is no header before the list (or, without a list, in the whole root).
    NoHeader,
    /// The root holds more than one list.
    SecondList,
    /// A record is a child of the root, outside the list.
    RecordOutsideList,
    /// The list holds more records than the adapter's limit.
    TooManyRecords { limit: usize },
}

/// One record as read: its position in the list (from 0), its element exactly as written, and
/// what the adapter read of it.
#[derive(Debug)]
pub struct Record<T> {
    pub index: usize,
    pub raw: Vec<u8>,
    pub fields: T,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside the list, between records.
    Records,
    /// After the list (or without one): checking the rest of the document.
    Trailer,
    /// The document has ended, or an error ended the reading.
    Done,
}

/// Reads a file of records from any [`BufRead`], one record at a time, in memory bounded by its
/// [`XmlLimits`].
pub struct RecordStream<R> {
    cursor: Cursor<R>,
    shape: FileShape,
    max_records: usize,
    state: State,
    /// Records read so far: the next record's index.
    read: usize,
}

impl<R: BufRead> RecordStream<R> {
    /// Reads everything up to the first record: the root, checked against `shape`, and the
    /// header, which `read_header` reads from its start tag (see [`Cursor::read_element`]).
    /// Returns the stream and what `read_header` made of the header, for the adapter to check.
    /// The list may hold at most `max_records` records.
    pub fn open<H, E>(
        input: R,
        limits: XmlLimits,
        max_records: usize,
        shape: FileShape,
        mut read_header: impl FnMut(&mut Cursor<R>) -> Result<H, E>,
    ) -> Result<(Self, H), E>
    where
        E: From<XmlError> + From<ShapeError>,
    {
        let mut cursor = Cursor::new(input, limits, shape.repeated);

        match cursor.step()? {
            Step::Start if cursor.name() == shape.root => {}
            Step::Start => return Err(ShapeError::WrongRoot.into()),
            _ => unreachable!("the first content step is the root element or an error"),
        }

        let mut header = None;
        let state = loop {
            match cursor.step()? {
                Step::Start if cursor.depth() == 2 && cursor.name() == shape.header => {
                    if header.is_some() {
                        return Err(ShapeError::SecondHeader.into());
                    }
                    header = Some(read_header(&mut cursor)?);
                }
                Step::Start if cursor.depth() == 2 && cursor.name() == shape.list => {
                    break State::Records;
                }
                Step::Start => {
                    shape.check_outside_list(cursor.name())?;
                    cursor.skip_element()?;
                }
                // The root ended without a list: a file of no records.
                Step::End => break State::Trailer,
                Step::Text | Step::Eof => {}
            }
        };
        let header = header.ok_or(ShapeError::NoHeader)?;
        let stream = Self {
            cursor,
            shape,
            max_records,
            state,
            read: 0,
        };
        Ok((stream, header))
    }

    /// Reads the next record with `read_fields`, which reads it from its start tag; `None` once
    /// the document has ended, well-formed. An error is file-level: the rest of the file cannot
    /// be read, and every later call returns `None`.
    pub fn next_record<T, E>(
        &mut self,
        read_fields: impl FnOnce(&mut Cursor<R>) -> Result<T, E>,
    ) -> Result<Option<Record<T>>, E>
    where
        E: From<XmlError> + From<ShapeError>,
    {
        let next = self.read_next(read_fields);
        if next.is_err() {
            self.state = State::Done;
        }
        next
    }

    fn read_next<T, E>(
        &mut self,
        read_fields: impl FnOnce(&mut Cursor<R>) -> Result<T, E>,
    ) -> Result<Option<Record<T>>, E>
    where
        E: From<XmlError> + From<ShapeError>,
    {
        let cursor = &mut self.cursor;
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Records => {
                    let index = self.read;
                    cursor.record_next_element(index);
                    match cursor.step()? {
                        Step::Start
                            if cursor.depth() == 3 && cursor.name() == self.shape.record =>
                        {
                            if index >= self.max_records {
                                return Err(ShapeError::TooManyRecords {
                                    limit: self.max_records,
                                }
                                .into());
                            }
                            let fields = read_fields(cursor)?;
                            let raw = cursor.take_recording();
                            self.read += 1;
                            return Ok(Some(Record { index, raw, fields }));
                        }
                        Step::Start => {
                            cursor.take_recording();
                            cursor.skip_element()?;
                        }
                        Step::End => {
                            cursor.take_recording();
                            self.state = State::Trailer;
                        }
                        Step::Text | Step::Eof => {}
                    }
                }
                State::Trailer => match cursor.step()? {
                    Step::Start if cursor.depth() == 2 => {
                        self.shape.check_outside_list(cursor.name())?;
                        cursor.skip_element()?;
                    }
                    Step::Start => cursor.skip_element()?,
                    Step::Eof => self.state = State::Done,
                    Step::End | Step::Text => {}
                },
            }
        }
    }
}

impl FileShape {
    /// Refuses, rather than passes over, a child of the root that would hold records outside
    /// the one list: skipping it would lose them silently.
    fn check_outside_list(&self, name: &str) -> Result<(), ShapeError> {
        if name == self.list {
            Err(ShapeError::SecondList)
        } else if name == self.record {
            Err(ShapeError::RecordOutsideList)
        } else {
            Ok(())
        }
    }
}
