//! The streaming reader: the header when it is created, then one child per iteration.
//!
//! Why an iterator and not a [`Normaliser`](throughline_contracts::adapter::Normaliser): a
//! normaliser turns one input into all of its events or one rejection, so one bad child would
//! quarantine a whole local authority's census. A census's unit of quarantine is the child, and
//! holding every child's events until the end would undo the streaming. The reader hands each
//! child over as it is read (its events, or its problems together with its raw XML for
//! quarantine) and keeps only a running [`FileReport`].
//!
//! A [`CinError`] is file-level: the header is unusable, the XML is malformed or hostile, or a
//! limit is exceeded. Mid-file, it means the rest of the file cannot be read; children already
//! handed over were read correctly, and it is the caller's choice whether to commit them or to
//! quarantine the file as a whole. After an error the iterator ends.

use std::fmt;
use std::io::BufRead;

use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::event::{EventSubmission, FieldProblem};
use throughline_safe_xml::{Cursor, Step};

use crate::child::{ChildFields, read_child};
use crate::config::CinLimits;
use crate::error::CinError;
use crate::header::{CinHeader, read_header, validate};
use crate::mapping::map_child;

/// Elements that repeat in a census, whose paths carry their position
/// (`Children.Child[12].CINdetails[1].Assessments[0]`).
const REPEATED: &[&str] = &[
    "Child",
    "CINdetails",
    "Assessments",
    "CINPlanDates",
    "Section47",
    "ChildProtectionPlans",
    "Disability",
    "AssessmentFactors",
    "Reviews",
    "CPPreviewDate",
];

/// What became of one child. `raw` is the `<Child>` element exactly as written in the file, so a
/// rejected child can be quarantined alone.
///
/// `Debug` shows the index, sizes and event kinds, never the raw bytes or any event's subject.
#[derive(Clone, PartialEq)]
pub enum ChildOutcome {
    /// The child mapped cleanly. `submissions` may be empty (a child with no `CINdetails`).
    Accepted {
        /// Position in `Children`, from 0.
        index: usize,
        raw: Vec<u8>,
        submissions: Vec<EventSubmission>,
    },
    /// The child could not be mapped: every problem found, named by element path.
    Rejected {
        index: usize,
        raw: Vec<u8>,
        problems: Vec<FieldProblem>,
    },
}

impl ChildOutcome {
    /// Position in `Children`, from 0.
    pub fn index(&self) -> usize {
        match self {
            ChildOutcome::Accepted { index, .. } | ChildOutcome::Rejected { index, .. } => *index,
        }
    }

    /// The `<Child>` element as written.
    pub fn raw(&self) -> &[u8] {
        match self {
            ChildOutcome::Accepted { raw, .. } | ChildOutcome::Rejected { raw, .. } => raw,
        }
    }
}

impl fmt::Debug for ChildOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildOutcome::Accepted {
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
            ChildOutcome::Rejected {
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

/// A summary of the children read so far (the whole file, once the iterator has ended cleanly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Children read, accepted or rejected.
    pub children: usize,
    /// Submissions made from accepted children.
    pub events: usize,
    /// Each rejected child's index and problems.
    pub rejected: Vec<(usize, Vec<FieldProblem>)>,
}

impl FileReport {
    /// Children accepted.
    pub fn accepted(&self) -> usize {
        self.children - self.rejected.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside `Children`, between children.
    Children,
    /// After `Children` (or without one): checking the rest of the document.
    Trailer,
    /// The iterator has ended.
    Done,
}

/// Reads a CIN census from any [`BufRead`], one child at a time, in memory bounded by its
/// [`CinLimits`].
pub struct CinReader<R> {
    cursor: Cursor<R>,
    header: CinHeader,
    limits: CinLimits,
    ctx: NormaliseContext,
    state: State,
    report: FileReport,
}

impl<R: BufRead> CinReader<R> {
    /// Reads and validates everything up to the first child: the root element and the header.
    /// `ctx` names the source every submission will carry; its agency and system scope each
    /// child's `LAchildID`.
    pub fn new(input: R, limits: CinLimits, ctx: NormaliseContext) -> Result<Self, CinError> {
        limits.validate()?;
        let mut cursor = Cursor::new(input, limits.xml(), REPEATED);

        match cursor.step()? {
            Step::Start if cursor.name() == "Message" => {}
            Step::Start => {
                return Err(CinError::NotCinCensus {
                    reason: "the root element is not Message",
                });
            }
            _ => unreachable!("the first content step is the root element or an error"),
        }

        let mut raw_header = None;
        let state = loop {
            match cursor.step()? {
                Step::Start if cursor.depth() == 2 && cursor.name() == "Header" => {
                    if raw_header.is_some() {
                        return Err(CinError::NotCinCensus {
                            reason: "the file has more than one Header",
                        });
                    }
                    raw_header = Some(read_header(&mut cursor)?);
                }
                Step::Start if cursor.depth() == 2 && cursor.name() == "Children" => {
                    break State::Children;
                }
                Step::Start => {
                    check_outside_children(cursor.name())?;
                    cursor.skip_element()?;
                }
                // The root ended without children: a file of no children.
                Step::End => break State::Trailer,
                Step::Text | Step::Eof => {}
            }
        };
        let Some(raw_header) = raw_header else {
            return Err(CinError::NotCinCensus {
                reason: "there is no Header before the children",
            });
        };
        let header = validate(raw_header)?;
        Ok(Self {
            cursor,
            report: FileReport {
                children: 0,
                events: 0,
                rejected: Vec::new(),
            },
            header,
            limits,
            ctx,
            state,
        })
    }

    pub fn header(&self) -> &CinHeader {
        &self.header
    }

    /// The children read so far.
    pub fn report(&self) -> &FileReport {
        &self.report
    }

    /// The report, once the caller is done with the reader.
    pub fn into_report(self) -> FileReport {
        self.report
    }

    fn read_next(&mut self) -> Result<Option<ChildOutcome>, CinError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Children => {
                    let index = self.report.children;
                    self.cursor.record_next_element(index);
                    match self.cursor.step()? {
                        Step::Start
                            if self.cursor.depth() == 3 && self.cursor.name() == "Child" =>
                        {
                            if index >= self.limits.max_children {
                                return Err(CinError::TooManyChildren {
                                    limit: self.limits.max_children,
                                });
                            }
                            let fields = read_child(&mut self.cursor)?;
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
                        check_outside_children(self.cursor.name())?;
                        self.cursor.skip_element()?;
                    }
                    Step::Start => self.cursor.skip_element()?,
                    Step::Eof => self.state = State::Done,
                    Step::End | Step::Text => {}
                },
            }
        }
    }

    fn outcome(&mut self, index: usize, raw: Vec<u8>, fields: ChildFields) -> ChildOutcome {
        self.report.children += 1;
        match map_child(index, fields, &self.header, &self.ctx) {
            Ok(submissions) => {
                self.report.events += submissions.len();
                ChildOutcome::Accepted {
                    index,
                    raw,
                    submissions,
                }
            }
            Err(problems) => {
                self.report.rejected.push((index, problems.clone()));
                ChildOutcome::Rejected {
                    index,
                    raw,
                    problems,
                }
            }
        }
    }
}

/// Refuses, rather than passes over, what would hold children outside the one `Children`:
/// skipping it would lose them silently.
fn check_outside_children(name: &str) -> Result<(), CinError> {
    match name {
        "Children" => Err(CinError::NotCinCensus {
            reason: "the file has more than one Children",
        }),
        "Child" => Err(CinError::NotCinCensus {
            reason: "a Child element is outside Children",
        }),
        _ => Ok(()),
    }
}

impl<R: BufRead> Iterator for CinReader<R> {
    type Item = Result<ChildOutcome, CinError>;

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

impl<R: BufRead> std::iter::FusedIterator for CinReader<R> {}
