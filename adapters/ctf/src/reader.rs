//! The streaming reader: the header when it is created, then one pupil per iteration.
//!
//! Why an iterator and not a [`Normaliser`](throughline_contracts::adapter::Normaliser): a
//! normaliser turns one input into all of its events or one rejection, so one bad pupil would
//! quarantine a 50,000-pupil file. A CTF's unit of quarantine is the pupil, and holding every
//! pupil's events until the end would undo the streaming. The reader hands each pupil over as it
//! is read (its events, or its problems together with its raw XML for quarantine) and keeps only
//! a running [`FileReport`].
//!
//! A [`CtfError`] is file-level: the header is unusable, the XML is malformed or hostile, or a
//! limit is exceeded. Mid-file, it means the rest of the file cannot be read; pupils already
//! handed over were read correctly, and it is the caller's choice whether to commit them or to
//! quarantine the file as a whole. After an error the iterator ends.

use std::fmt;
use std::io::BufRead;

use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::event::{EventSubmission, FieldProblem};

use throughline_safe_xml::{Cursor, Step};

use crate::config::CtfLimits;
use crate::error::CtfError;
use crate::header::{CtfHeader, CtfVersion, read_header, validate};
use crate::mapping::map_pupil;
use crate::pupil::read_pupil;

/// Elements that repeat in a CTF, whose paths carry their position (`CTFpupilData.Pupil[17]`).
const REPEATED: &[&str] = &["Pupil", "SEN", "SENneed", "School"];

/// What became of one pupil. `raw` is the `<Pupil>` element exactly as written in the file, so a
/// rejected pupil can be quarantined alone and replayed once fixed.
///
/// `Debug` shows the index, sizes and event kinds, never the raw bytes or any event's subject.
#[derive(Clone, PartialEq)]
pub enum PupilOutcome {
    /// The pupil mapped cleanly. `submissions` may be empty (a pupil with nothing to report).
    Accepted {
        /// Position in `CTFpupilData`, from 0.
        index: usize,
        raw: Vec<u8>,
        submissions: Vec<EventSubmission>,
    },
    /// The pupil could not be mapped: every problem found, named by element path.
    Rejected {
        index: usize,
        raw: Vec<u8>,
        problems: Vec<FieldProblem>,
    },
}

impl PupilOutcome {
    /// Position in `CTFpupilData`, from 0.
    pub fn index(&self) -> usize {
        match self {
            PupilOutcome::Accepted { index, .. } | PupilOutcome::Rejected { index, .. } => *index,
        }
    }

    /// The `<Pupil>` element as written.
    pub fn raw(&self) -> &[u8] {
        match self {
            PupilOutcome::Accepted { raw, .. } | PupilOutcome::Rejected { raw, .. } => raw,
        }
    }
}

impl fmt::Debug for PupilOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PupilOutcome::Accepted {
                index,
                raw,
                submissions,
            } => {
                let kinds: Vec<&str> = submissions.iter().map(|s| s.body.kind().as_str()).collect();
                f.debug_struct("Accepted")
                    .field("index", index)
                    .field("raw_bytes", &raw.len())
                    .field("kinds", &kinds)
                    .finish()
            }
            PupilOutcome::Rejected {
                index,
                raw,
                problems,
            } => f
                .debug_struct("Rejected")
                .field("index", index)
                .field("raw_bytes", &raw.len())
                .field("problems", problems)
                .finish(),
        }
    }
}

/// A summary of the pupils read so far (the whole file, once the iterator has ended cleanly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub ctf_version: CtfVersion,
    /// Pupils read, accepted or rejected.
    pub pupils: usize,
    /// Submissions made from accepted pupils.
    pub events: usize,
    /// Each rejected pupil's index and problems.
    pub rejected: Vec<(usize, Vec<FieldProblem>)>,
}

impl FileReport {
    /// Pupils accepted.
    pub fn accepted(&self) -> usize {
        self.pupils - self.rejected.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside `CTFpupilData`, between pupils.
    Pupils,
    /// After `CTFpupilData` (or without one): checking the rest of the document.
    Trailer,
    /// The iterator has ended.
    Done,
}

/// Reads a CTF from any [`BufRead`], one pupil at a time, in memory bounded by its
/// [`CtfLimits`].
pub struct CtfReader<R> {
    cursor: Cursor<R>,
    header: CtfHeader,
    limits: CtfLimits,
    ctx: NormaliseContext,
    state: State,
    report: FileReport,
}

impl<R: BufRead> CtfReader<R> {
    /// Reads and validates everything up to the first pupil: the root element and the header.
    /// `ctx` names the source every submission will carry.
    pub fn new(input: R, limits: CtfLimits, ctx: NormaliseContext) -> Result<Self, CtfError> {
        limits.validate()?;
        let mut cursor = Cursor::new(input, limits.xml(), REPEATED);

        match cursor.step()? {
            Step::Start if cursor.name() == "CTfile" => {}
            Step::Start => {
                return Err(CtfError::NotCtf {
                    reason: "the root element is not CTfile",
                });
            }
            _ => unreachable!("the first content step is the root element or an error"),
        }

        let mut raw_header = None;
        let state = loop {
            match cursor.step()? {
                Step::Start if cursor.depth() == 2 && cursor.name() == "Header" => {
                    if raw_header.is_some() {
                        return Err(CtfError::NotCtf {
                            reason: "the file has more than one Header",
                        });
                    }
                    raw_header = Some(read_header(&mut cursor)?);
                }
                Step::Start if cursor.depth() == 2 && cursor.name() == "CTFpupilData" => {
                    break State::Pupils;
                }
                Step::Start => {
                    check_outside_pupil_data(cursor.name())?;
                    cursor.skip_element()?;
                }
                // The root ended without pupil data: a file of no pupils.
                Step::End => break State::Trailer,
                Step::Text | Step::Eof => {}
            }
        };
        let Some(raw_header) = raw_header else {
            return Err(CtfError::NotCtf {
                reason: "there is no Header before the pupil data",
            });
        };
        let header = validate(raw_header)?;
        Ok(Self {
            cursor,
            report: FileReport {
                ctf_version: header.version,
                pupils: 0,
                events: 0,
                rejected: Vec::new(),
            },
            header,
            limits,
            ctx,
            state,
        })
    }

    pub fn header(&self) -> &CtfHeader {
        &self.header
    }

    /// The pupils read so far.
    pub fn report(&self) -> &FileReport {
        &self.report
    }

    /// The report, once the caller is done with the reader.
    pub fn into_report(self) -> FileReport {
        self.report
    }

    fn read_next(&mut self) -> Result<Option<PupilOutcome>, CtfError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Pupils => {
                    let index = self.report.pupils;
                    self.cursor.record_next_element(index);
                    match self.cursor.step()? {
                        Step::Start
                            if self.cursor.depth() == 3 && self.cursor.name() == "Pupil" =>
                        {
                            if index >= self.limits.max_pupils {
                                return Err(CtfError::TooManyPupils {
                                    limit: self.limits.max_pupils,
                                });
                            }
                            let fields = read_pupil(&mut self.cursor)?;
                            let raw = self.cursor.take_recording();
                            return Ok(Some(self.outcome(index, raw, fields)));
                        }
                        Step::Start => {
                            self.cursor.take_recording();
                            self.cursor.skip_element()?;
                        }
                        Step::End => {
                            self.cursor.take_recording();
                            self.state = State::Trailer;
                        }
                        Step::Text | Step::Eof => {}
                    }
                }
                State::Trailer => match self.cursor.step()? {
                    Step::Start if self.cursor.depth() == 2 => {
                        check_outside_pupil_data(self.cursor.name())?;
                        self.cursor.skip_element()?;
                    }
                    Step::Start => self.cursor.skip_element()?,
                    Step::Eof => self.state = State::Done,
                    Step::End | Step::Text => {}
                },
            }
        }
    }

    fn outcome(
        &mut self,
        index: usize,
        raw: Vec<u8>,
        fields: crate::pupil::PupilFields,
    ) -> PupilOutcome {
        self.report.pupils += 1;
        match map_pupil(index, fields, &self.header, &self.ctx) {
            Ok(submissions) => {
                self.report.events += submissions.len();
                PupilOutcome::Accepted {
                    index,
                    raw,
                    submissions,
                }
            }
            Err(problems) => {
                self.report.rejected.push((index, problems.clone()));
                PupilOutcome::Rejected {
                    index,
                    raw,
                    problems,
                }
            }
        }
    }
}

/// Refuses, rather than passes over, what would hold pupils outside the one `CTFpupilData`:
/// skipping it would lose them silently.
fn check_outside_pupil_data(name: &str) -> Result<(), CtfError> {
    match name {
        "CTFpupilData" => Err(CtfError::NotCtf {
            reason: "the file has more than one CTFpupilData",
        }),
        "Pupil" => Err(CtfError::NotCtf {
            reason: "a Pupil element is outside CTFpupilData",
        }),
        _ => Ok(()),
    }
}

impl<R: BufRead> Iterator for CtfReader<R> {
    type Item = Result<PupilOutcome, CtfError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read_next() {
            Ok(Some(outcome)) => Some(Ok(outcome)),
            Ok(None) => None,
            Err(e) => {
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }
}

impl<R: BufRead> std::iter::FusedIterator for CtfReader<R> {}
