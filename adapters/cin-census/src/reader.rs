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
//!
//! The walk through the file (header, then the children of the one `Children`) is
//! [`RecordStream`], shared with the other record files; this module names the census's
//! elements and keeps the census's report.

use std::io::BufRead;

use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::event::FieldProblem;
use throughline_safe_xml::{FileShape, Record, RecordOutcome, RecordStream};

use crate::child::{ChildFields, read_child};
use crate::config::CinLimits;
use crate::error::CinError;
use crate::header::{CinHeader, read_header, validate};
use crate::mapping::map_child;

/// A census's elements. Those that repeat carry their position in paths
/// (`Children.Child[12].CINdetails[1].Assessments[0]`).
const SHAPE: FileShape = FileShape {
    root: "Message",
    header: "Header",
    list: "Children",
    record: "Child",
    repeated: &[
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
    ],
};

/// What became of one child. `raw` is the `<Child>` element exactly as written in the file, so a
/// rejected child can be quarantined alone; `index` is its position in `Children`, from 0.
///
/// `Debug` shows the index, sizes and event kinds, never the raw bytes or any event's subject.
pub type ChildOutcome = RecordOutcome;

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

/// Reads a CIN census from any [`BufRead`], one child at a time, in memory bounded by its
/// [`CinLimits`].
pub struct CinReader<R> {
    children: RecordStream<R>,
    header: CinHeader,
    ctx: NormaliseContext,
    report: FileReport,
}

impl<R: BufRead> CinReader<R> {
    /// Reads and validates everything up to the first child: the root element and the header.
    /// `ctx` names the source every submission will carry; its agency and system scope each
    /// child's `LAchildID`.
    pub fn new(input: R, limits: CinLimits, ctx: NormaliseContext) -> Result<Self, CinError> {
        limits.validate()?;
        let (children, raw_header) =
            RecordStream::open(input, limits.xml(), limits.max_children, SHAPE, read_header)?;
        let header = validate(raw_header)?;
        Ok(Self {
            children,
            report: FileReport {
                children: 0,
                events: 0,
                rejected: Vec::new(),
            },
            header,
            ctx,
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

    fn outcome(&mut self, child: Record<ChildFields>) -> ChildOutcome {
        let Record { index, raw, fields } = child;
        let mapped = map_child(index, fields, &self.header, &self.ctx);
        self.report.children += 1;
        match &mapped {
            Ok(submissions) => self.report.events += submissions.len(),
            Err(problems) => self.report.rejected.push((index, problems.clone())),
        }
        RecordOutcome::new(index, raw, mapped)
    }
}

impl<R: BufRead> Iterator for CinReader<R> {
    type Item = Result<ChildOutcome, CinError>;

    fn next(&mut self) -> Option<Self::Item> {
        let child = self.children.next_record(read_child).transpose()?;
        Some(child.map(|child| self.outcome(child)))
    }
}

impl<R: BufRead> std::iter::FusedIterator for CinReader<R> {}
