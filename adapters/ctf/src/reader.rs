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
//!
//! The walk through the file (header, then the pupils of the one `CTFpupilData`) is
//! [`RecordStream`], shared with the other record files; this module names the CTF's elements
//! and keeps the CTF's report.

use std::io::BufRead;

use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::event::FieldProblem;
use throughline_safe_xml::{FileShape, Record, RecordOutcome, RecordStream};

use crate::config::CtfLimits;
use crate::error::CtfError;
use crate::header::{CtfHeader, read_header, validate};
use crate::mapping::map_pupil;
use crate::pupil::{PupilFields, read_pupil};
use crate::version::{CtfVersion, VersionStatus, VersionWindow};

/// A CTF's elements. Those that repeat carry their position in paths
/// (`CTFpupilData.Pupil[17]`).
const SHAPE: FileShape = FileShape {
    root: "CTfile",
    header: "Header",
    list: "CTFpupilData",
    record: "Pupil",
    repeated: &["Pupil", "SEN", "SENneed", "School"],
};

/// What became of one pupil. `raw` is the `<Pupil>` element exactly as written in the file, so a
/// rejected pupil can be quarantined alone and replayed once fixed; `index` is its position in
/// `CTFpupilData`, from 0.
///
/// `Debug` shows the index, sizes and event kinds, never the raw bytes or any event's subject.
pub type PupilOutcome = RecordOutcome;

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
    /// What the operator should know about the file as a whole, though it was read: a version
    /// one newer than the file's school year knows. Never child data.
    pub warnings: Vec<String>,
}

impl FileReport {
    /// Pupils accepted.
    pub fn accepted(&self) -> usize {
        self.pupils - self.rejected.len()
    }
}

/// Reads a CTF from any [`BufRead`], one pupil at a time, in memory bounded by its
/// [`CtfLimits`].
pub struct CtfReader<R> {
    pupils: RecordStream<R>,
    header: CtfHeader,
    ctx: NormaliseContext,
    report: FileReport,
}

impl<R: BufRead> CtfReader<R> {
    /// Reads and validates everything up to the first pupil: the root element and the header.
    /// `ctx` names the source every submission will carry.
    pub fn new(input: R, limits: CtfLimits, ctx: NormaliseContext) -> Result<Self, CtfError> {
        limits.validate()?;
        let (pupils, raw_header) =
            RecordStream::open(input, limits.xml(), limits.max_pupils, SHAPE, read_header)?;
        let header = validate(raw_header)?;
        Ok(Self {
            pupils,
            report: FileReport {
                ctf_version: header.version,
                pupils: 0,
                events: 0,
                rejected: Vec::new(),
                warnings: warnings(&header),
            },
            header,
            ctx,
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

    fn outcome(&mut self, pupil: Record<PupilFields>) -> PupilOutcome {
        let Record { index, raw, fields } = pupil;
        let mapped = map_pupil(index, fields, &self.header, &self.ctx);
        self.report.pupils += 1;
        match &mapped {
            Ok(submissions) => self.report.events += submissions.len(),
            Err(problems) => self.report.rejected.push((index, problems.clone())),
        }
        RecordOutcome::new(index, raw, mapped)
    }
}

impl<R: BufRead> Iterator for CtfReader<R> {
    type Item = Result<PupilOutcome, CtfError>;

    fn next(&mut self) -> Option<Self::Item> {
        let pupil = self.pupils.next_record(read_pupil).transpose()?;
        Some(pupil.map(|pupil| self.outcome(pupil)))
    }
}

impl<R: BufRead> std::iter::FusedIterator for CtfReader<R> {}

/// The file-level warnings the header gives.
fn warnings(header: &CtfHeader) -> Vec<String> {
    match header.version_status {
        VersionStatus::Newer => {
            let window = VersionWindow::for_date(header.created.date());
            vec![format!(
                "CTF version {} is newer than CTF {}, the version of school year {window} the file is dated in: it was read as CTF {}, whose elements the mapping knows. Check the mapping against the new specification",
                header.version,
                window.current(),
                window.current()
            )]
        }
        VersionStatus::Current | VersionStatus::Previous => Vec::new(),
    }
}
