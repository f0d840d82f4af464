//! Imports: whole files an agency hands over outside any live feed, run through the pipeline.
//!
//! Two kinds of file, three ways in (see `docs/adapters/import.md`):
//! - **A file of many children**: a school's Common Transfer File ([`ctf`], `docs/adapters/
//!   ctf.md`) or a local authority's Children in Need census ([`cin`], `docs/adapters/
//!   cin-census.md`). Each record (a pupil, a child) is its own input, through
//!   [`import_records`].
//! - **An extract in the source's own format** (a social care CSV extract, a configured
//!   mapping's CSV or JSON array): each row is its own input, through [`import_records`] too
//!   ([`extract`]).
//! - **One input in the source's own format** (canonical JSON, FHIR): the whole file is one
//!   input, as if posted to `POST /v1/ingest/{source}` ([`single`]).
//!
//! Each arrives by the command line (`throughline import ctf|cin|file`), by HTTP upload, or
//! through a source's [`drop_folder`]; all of them call the functions here.
//!
//! Why each record is its own input and not the file: the pipeline keeps an input whole, so one
//! unreadable pupil would hold back a whole school's transfer, and one bad child a county's
//! census. Each record's events are committed in their own all-or-nothing unit, or the record is
//! kept in quarantine alone.
//!
//! Why importing the same file again is harmless: each record's input carries the message id
//! `<kind>:<file SHA-256>:<record index>` (an extract's row, `<format>:<file SHA-256>:<row
//! number>`; a single input, `file:<file SHA-256>`), and the commit
//! step answers a message id it has already committed as a duplicate without committing
//! anything. A corrected file is a different file: its records are new inputs, and their events
//! are committed (and sent) again.

use std::fmt;
use std::io::{self, Read};

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use serde::ser::SerializeMap;
use sha2::{Digest, Sha256};
use throughline_adapter_cin_census::CinError;
use throughline_adapter_ctf::CtfError;
use throughline_adapter_http_ingest::ExtractError;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_contracts::event::FieldProblem;
use throughline_safe_xml::RecordOutcome;
use uuid::Uuid;

use crate::pipeline::{Pipeline, step};

pub mod cin;
pub mod ctf;
pub mod drop_folder;
pub mod extract;
pub mod single;

pub use cin::{CIN_CHILD_FORMAT, import_cin};
pub use ctf::{CTF_PUPIL_FORMAT, import_ctf};
pub use extract::{import_extract, reads_rows};
pub use single::{InputReport, import_input};

/// The format an accepted record's events are committed in: the canonical envelope, as an array.
const RECORD_EVENTS_FORMAT: &str = "canonical-json";

/// A file's SHA-256: names the file in each of its records' message ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest([u8; 32]);

impl FileDigest {
    /// Reads `input` to its end. The caller then reads the same bytes again to import them, so
    /// the file must not change in between.
    pub fn read(mut input: impl Read) -> io::Result<Self> {
        let mut hasher = Sha256::new();
        io::copy(&mut input, &mut hasher)?;
        Ok(Self(hasher.finalize().into()))
    }

    /// The digest of bytes already in memory (an uploaded file).
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// A digest worked out as the bytes arrived (an upload, spooled to disk).
    pub fn from_sha256(sha256: [u8; 32]) -> Self {
        Self(sha256)
    }
}

impl fmt::Display for FileDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A kind of file of many records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A Common Transfer File: its records are pupils.
    Ctf,
    /// A Children in Need census: its records are children.
    CinCensus,
    /// An extract in the source's own format: its records are rows.
    Extract,
}

impl FileKind {
    /// One record, as messages name it: `pupil 17`, `child 17`.
    pub fn record(self) -> &'static str {
        match self {
            FileKind::Ctf => "pupil",
            FileKind::CinCensus => "child",
            FileKind::Extract => "row",
        }
    }

    /// `30 pupil(s)`, `30 child(ren)`.
    pub fn count(self, n: usize) -> String {
        match self {
            FileKind::Ctf => format!("{n} pupil(s)"),
            FileKind::CinCensus => format!("{n} child(ren)"),
            FileKind::Extract => format!("{n} row(s)"),
        }
    }

    /// The report's key for the number of records read.
    fn records_key(self) -> &'static str {
        match self {
            FileKind::Ctf => "pupils",
            FileKind::CinCensus => "children",
            FileKind::Extract => "rows",
        }
    }

    /// The first part of the API's problem types for this kind (`ctf-refused`, `cin-refused`).
    pub fn slug(self) -> &'static str {
        match self {
            FileKind::Ctf => "ctf",
            FileKind::CinCensus => "cin",
            FileKind::Extract => "extract",
        }
    }

    /// The kind's name in titles and logs.
    pub fn title(self) -> &'static str {
        match self {
            FileKind::Ctf => "CTF",
            FileKind::CinCensus => "CIN census",
            FileKind::Extract => "Extract",
        }
    }
}

/// What a file says about itself, as its header gives it. Never child data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFacts {
    Ctf {
        /// `CTFversion` as written in the header, e.g. `25.0`.
        ctf_version: String,
    },
    CinCensus {
        /// `CollectionDetails/Year`.
        collection_year: u16,
        /// `CollectionDetails/ReferenceDate`.
        reference_date: NaiveDate,
        /// `Source/LEA`: the returning local authority's number.
        lea: String,
    },
    Extract {
        /// The source's format the rows are read in: `social-care-csv`, `mapping:<id>`.
        format: String,
        /// How a row's raw bytes are written (`text/csv`, `application/json`). Not reported.
        media_type: &'static str,
    },
}

impl FileFacts {
    pub fn kind(&self) -> FileKind {
        match self {
            FileFacts::Ctf { .. } => FileKind::Ctf,
            FileFacts::CinCensus { .. } => FileKind::CinCensus,
            FileFacts::Extract { .. } => FileKind::Extract,
        }
    }

    /// The first part of each record's message id: `ctf`, `cin`, or an extract's format.
    fn message_prefix(&self) -> &str {
        match self {
            FileFacts::Ctf { .. } => "ctf",
            FileFacts::CinCensus { .. } => "cin",
            FileFacts::Extract { format, .. } => format,
        }
    }

    /// The format a rejected record's raw bytes are quarantined under. A pupil or a child alone
    /// cannot be read again; an extract's row is kept with its header line in the source's
    /// format, so a replay reads it like any input of that source.
    fn quarantine_format(&self) -> &str {
        match self {
            FileFacts::Ctf { .. } => CTF_PUPIL_FORMAT,
            FileFacts::CinCensus { .. } => CIN_CHILD_FORMAT,
            FileFacts::Extract { format, .. } => format,
        }
    }

    /// How a record's raw bytes are written.
    fn media_type(&self) -> &'static str {
        match self {
            FileFacts::Ctf { .. } | FileFacts::CinCensus { .. } => "application/xml",
            FileFacts::Extract { media_type, .. } => media_type,
        }
    }
}

/// What an import did, record by record. Counts and field paths only: never a child's data.
///
/// As JSON, the file's facts come first (`ctf_version`; or `collection_year`,
/// `reference_date`, `lea`; or an extract's `format`), and the number of records read is named
/// for the kind: `pupils`, `children` or `rows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub file: FileFacts,
    /// The file's SHA-256, in hex: part of every record's message id.
    pub file_sha256: String,
    /// Records read, whatever became of them.
    pub records: usize,
    /// Records whose events this import committed.
    pub committed: usize,
    /// Records an earlier import of the same file already committed: nothing new was committed.
    pub duplicates: usize,
    /// Records read cleanly with nothing to report (a partial CTF, a child with no episode).
    pub without_events: usize,
    /// Records kept in quarantine, in file order.
    pub quarantined: Vec<QuarantinedRecord>,
    /// Events this import committed (duplicates not counted).
    pub events: usize,
    /// Of those events, the ones committed as history: they restated the child's past (long
    /// before the file's reference date, or a fact the hub already held), so they opened no
    /// handoff and notified nobody (`docs/handoffs.md`, "History is not news").
    pub history: usize,
    /// What the operator should know about the file as a whole though it was read (a CTF one
    /// version newer than its school year knows, for example). Never child data. Serialized only
    /// when there is one.
    pub warnings: Vec<String>,
}

impl ImportReport {
    fn new(file: FileFacts, digest: FileDigest) -> Self {
        Self {
            file,
            file_sha256: digest.to_string(),
            records: 0,
            committed: 0,
            duplicates: 0,
            without_events: 0,
            quarantined: Vec::new(),
            events: 0,
            history: 0,
            warnings: Vec::new(),
        }
    }

    pub fn kind(&self) -> FileKind {
        self.file.kind()
    }
}

impl Serialize for ImportReport {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match &self.file {
            FileFacts::Ctf { ctf_version } => map.serialize_entry("ctf_version", ctf_version)?,
            FileFacts::CinCensus {
                collection_year,
                reference_date,
                lea,
            } => {
                map.serialize_entry("collection_year", collection_year)?;
                map.serialize_entry("reference_date", reference_date)?;
                map.serialize_entry("lea", lea)?;
            }
            FileFacts::Extract { format, .. } => map.serialize_entry("format", format)?,
        }
        map.serialize_entry("file_sha256", &self.file_sha256)?;
        map.serialize_entry(self.kind().records_key(), &self.records)?;
        map.serialize_entry("committed", &self.committed)?;
        map.serialize_entry("duplicates", &self.duplicates)?;
        map.serialize_entry("without_events", &self.without_events)?;
        map.serialize_entry("quarantined", &self.quarantined)?;
        map.serialize_entry("events", &self.events)?;
        map.serialize_entry("history", &self.history)?;
        if !self.warnings.is_empty() {
            map.serialize_entry("warnings", &self.warnings)?;
        }
        map.end()
    }
}

/// The schema of the JSON above, written beside it because the two must change together (the
/// API's OpenAPI document uses it; `api::openapi`'s tests serialize both kinds of report and
/// check them against it).
impl schemars::JsonSchema for ImportReport {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ImportReport".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let record = generator.subschema_for::<QuarantinedRecord>();
        let count = serde_json::json!({"type": "integer", "minimum": 0});
        schemars::json_schema!({
            "description": "What a file import did, record by record. A CTF's report has `ctf_version` and `pupils`; a CIN census's has `collection_year`, `reference_date`, `lea` and `children`; an extract's has `format` and `rows`.",
            "type": "object",
            "properties": {
                "ctf_version": {"type": "string"},
                "collection_year": {"type": "integer", "minimum": 0, "maximum": 65535},
                "reference_date": {"type": "string", "format": "date"},
                "lea": {"type": "string"},
                "format": {"type": "string"},
                "file_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "pupils": count,
                "children": count,
                "rows": count,
                "committed": count,
                "duplicates": count,
                "without_events": count,
                "quarantined": {"type": "array", "items": record},
                "events": count,
                "history": count,
                "warnings": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["file_sha256", "committed", "duplicates", "without_events", "quarantined", "events", "history"],
            "oneOf": [
                {"required": ["ctf_version", "pupils"]},
                {"required": ["collection_year", "reference_date", "lea", "children"]},
                {"required": ["format", "rows"]},
            ],
            "additionalProperties": false,
        })
    }
}

/// One record kept in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct QuarantinedRecord {
    /// Position in the file (`CTFpupilData`, `Children`, a JSON array), from 0; for a CSV
    /// extract, the row number (from 1 after the header, blank rows counted).
    pub index: usize,
    pub quarantine_id: Uuid,
    /// `normalise` for a record the file's reader could not map (format `ctf-pupil`,
    /// `cin-child`, or an extract's own format, which can be replayed); a later step for events
    /// the pipeline refused (format `canonical-json`, which can be replayed).
    pub step: String,
    /// Each problem, named by its element path (`CTFpupilData.Pupil[17].DOB`,
    /// `Children.Child[12].CINdetails[1].CINreferralDate`), row and column (`row 7, column
    /// "NHS Number"`, `row 7.nhs_number`) or JSON path.
    pub problems: Vec<FieldProblem>,
}

/// Why a file's reader stopped: the file's own error, which names where and why and never a
/// child's data.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Ctf(#[from] CtfError),
    #[error(transparent)]
    CinCensus(#[from] CinError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
}

impl ReadError {
    pub fn kind(&self) -> FileKind {
        match self {
            ReadError::Ctf(_) => FileKind::Ctf,
            ReadError::CinCensus(_) => FileKind::CinCensus,
            ReadError::Extract(_) => FileKind::Extract,
        }
    }
}

/// Why an import stopped. Records handled before it stay committed or quarantined; where the
/// error carries a report, it says which.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no source with id `{0}` is configured")]
    UnknownSource(String),

    /// The source's format reads one input, not a file of rows.
    #[error("source `{source_id}`'s format `{format}` does not read files row by row")]
    NotAnExtract { source_id: String, format: String },

    /// The file's events would be the sending school's, under another agency's name.
    #[error(
        "source `{source_id}` speaks for agency `{agency}`, which does not list the file's source school (URN {urn}) in its school_urns: a CTF's events are the sending school's"
    )]
    NotTheSendingSchool {
        source_id: String,
        agency: String,
        urn: String,
    },

    /// The header or the start of the file is unusable: nothing was imported.
    #[error("the file was refused before any {} was read", .0.kind().record())]
    Refused(#[source] ReadError),

    /// The rest of the file cannot be read (malformed, truncated, hostile, over a limit).
    #[error(
        "the file could not be read past its first {}, which stay committed or quarantined as reported",
        .report.kind().count(.report.records)
    )]
    Stopped {
        report: Box<ImportReport>,
        #[source]
        source: ReadError,
    },

    /// The store could not take a record: importing the file again carries on where this
    /// stopped, as the records already committed are duplicates.
    #[error(
        "{} {index} could not be committed ({reason}); the records before it stay committed, and importing the file again skips them",
        .report.kind().record()
    )]
    Unavailable {
        index: usize,
        reason: String,
        report: Box<ImportReport>,
    },

    /// The store could not take a single input: nothing was committed, and importing the file
    /// again is safe.
    #[error("the input could not be committed ({reason}); importing the file again is safe")]
    InputUnavailable { reason: String },

    /// A record's events could not be written as JSON (a bug, not a problem with the file).
    #[error("record {index}'s events could not be encoded as canonical JSON")]
    Encode {
        index: usize,
        #[source]
        source: serde_json::Error,
    },
}

impl ImportError {
    /// What was done before the import stopped, when records had been read.
    pub fn partial_report(&self) -> Option<&ImportReport> {
        match self {
            ImportError::Stopped { report, .. } | ImportError::Unavailable { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }

    /// Whether the store, not the file, stopped the import: the same file imported again
    /// carries on.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            ImportError::Unavailable { .. } | ImportError::InputUnavailable { .. }
        )
    }

    /// The message and each of its causes, joined by `: `, as an operator or a school reads it.
    /// Like every message here, it names where and why, never a child's data.
    pub fn full_message(&self) -> String {
        let mut message = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            message.push_str(": ");
            message.push_str(&e.to_string());
            cause = e.source();
        }
        message
    }
}

/// Records committed per transaction.
const GROUP: usize = 64;

/// Runs a file's records through the pipeline for `source_id`, in file order, and reports what
/// became of each. `report` holds the file's facts and digest; `progress` is called with the
/// number of records read after each one.
///
/// An accepted record's events (as a canonical JSON array) are committed by
/// [`Pipeline::process_batch`] (several records per transaction, each all-or-nothing); a rejected
/// one is kept in quarantine alone (the kind's format, step `normalise`). A reader error stops
/// the import: the records before it stay committed or quarantined, and the error's report says
/// which.
pub(crate) async fn import_records<E: Into<ReadError>>(
    pipeline: &Pipeline,
    source_id: &str,
    mut report: ImportReport,
    records: impl Iterator<Item = Result<RecordOutcome, E>>,
    mut progress: impl FnMut(usize),
) -> Result<ImportReport, ImportError> {
    let kind = report.kind();
    let digest = report.file_sha256.clone();
    let prefix = report.file.message_prefix().to_owned();
    let quarantine_format = report.file.quarantine_format().to_owned();
    let media_type = report.file.media_type();
    // Accepted records are committed in groups (one transaction and one fsync per group, each
    // record still all-or-nothing on its own: see `Pipeline::process_batch`).
    let mut group: Vec<(usize, RawInput)> = Vec::with_capacity(GROUP);
    for item in records {
        let record = match item {
            Ok(record) => record,
            Err(source) => {
                commit_group(pipeline, &mut group, &mut report).await?;
                return Err(ImportError::Stopped {
                    report: Box::new(report),
                    source: source.into(),
                });
            }
        };
        report.records += 1;
        match record {
            RecordOutcome::Accepted { submissions, .. } if submissions.is_empty() => {
                report.without_events += 1;
            }
            RecordOutcome::Accepted {
                index, submissions, ..
            } => {
                let body = serde_json::to_vec(&submissions)
                    .map_err(|source| ImportError::Encode { index, source })?;
                let message_id = format!("{prefix}:{digest}:{index}");
                group.push((
                    index,
                    raw_input(source_id, "application/json", body, message_id),
                ));
                if group.len() == GROUP {
                    commit_group(pipeline, &mut group, &mut report).await?;
                }
            }
            RecordOutcome::Rejected {
                index,
                raw,
                problems,
            } => {
                // Committed records before it first, so the report stays in file order.
                commit_group(pipeline, &mut group, &mut report).await?;
                let message_id = format!("{prefix}:{digest}:{index}");
                let raw = raw_input(source_id, media_type, raw, message_id);
                let outcome = pipeline
                    .quarantine_input(&raw, &quarantine_format, step::NORMALISE, problems)
                    .await;
                tally(&mut report, index, outcome).map_err(|reason| ImportError::Unavailable {
                    index,
                    reason,
                    report: Box::new(report.clone()),
                })?;
            }
        }
        progress(report.records);
    }
    commit_group(pipeline, &mut group, &mut report).await?;

    tracing::info!(
        source_id,
        file = kind.title(),
        file_sha256 = %report.file_sha256,
        records = report.records,
        committed = report.committed,
        duplicates = report.duplicates,
        quarantined = report.quarantined.len(),
        "file imported"
    );
    Ok(report)
}

/// Commits the records held in `group` together and tallies each one's outcome.
async fn commit_group(
    pipeline: &Pipeline,
    group: &mut Vec<(usize, RawInput)>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    if group.is_empty() {
        return Ok(());
    }
    let raws: Vec<RawInput> = group.iter().map(|(_, raw)| raw.clone()).collect();
    let outcomes = pipeline.process_batch(&raws, RECORD_EVENTS_FORMAT).await;
    let first = group.first().map_or(0, |(index, _)| *index);
    count_history(pipeline, &outcomes, report)
        .await
        .map_err(|e| ImportError::Unavailable {
            index: first,
            reason: e.to_string(),
            report: Box::new(report.clone()),
        })?;
    for ((index, _), outcome) in group.drain(..).zip(outcomes) {
        tally(report, index, outcome).map_err(|reason| ImportError::Unavailable {
            index,
            reason,
            report: Box::new(report.clone()),
        })?;
    }
    Ok(())
}

fn raw_input(source_id: &str, content_type: &str, body: Vec<u8>, message_id: String) -> RawInput {
    RawInput {
        source_id: source_id.to_owned(),
        content_type: Some(content_type.to_owned()),
        body: body.into(),
        received_at: Utc::now(),
        message_id: Some(message_id),
    }
}

/// Adds to the report how many of the events just committed (not duplicates) were history.
async fn count_history(
    pipeline: &Pipeline,
    outcomes: &[InputOutcome],
    report: &mut ImportReport,
) -> Result<(), crate::store::StoreError> {
    let fresh: Vec<uuid::Uuid> = outcomes
        .iter()
        .filter_map(|o| match o {
            InputOutcome::Committed {
                event_ids,
                duplicate: false,
            } => Some(event_ids.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let mut conn = pipeline.store().acquire().await?;
    report.history += crate::store::events::count_history(&mut conn, &fresh).await?;
    Ok(())
}

/// Adds one record's outcome to the report, or says why the store could not take it.
fn tally(report: &mut ImportReport, index: usize, outcome: InputOutcome) -> Result<(), String> {
    match outcome {
        InputOutcome::Committed {
            duplicate: true, ..
        } => report.duplicates += 1,
        InputOutcome::Committed { event_ids, .. } => {
            report.committed += 1;
            report.events += event_ids.len();
        }
        InputOutcome::Quarantined {
            quarantine_id,
            step,
            problems,
        } => report.quarantined.push(QuarantinedRecord {
            index,
            quarantine_id,
            step,
            problems,
        }),
        InputOutcome::Unavailable { reason } => return Err(reason),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(file: FileFacts) -> ImportReport {
        ImportReport {
            records: 3,
            ..ImportReport::new(file, FileDigest::of(b""))
        }
    }

    #[test]
    fn a_file_digest_is_the_sha256_of_its_bytes_in_hex() {
        let digest = FileDigest::read(&b"abc"[..]).unwrap();
        assert_eq!(
            digest.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_digest_of_bytes_in_memory_is_the_digest_of_the_same_bytes_read() {
        let bytes = b"<CTfile/>";
        assert_eq!(FileDigest::of(bytes), FileDigest::read(&bytes[..]).unwrap());
    }

    #[test]
    fn a_full_message_names_the_cause() {
        let e = ImportError::Refused(CtfError::DoctypeRefused { offset: 0 }.into());
        let message = e.full_message();
        assert!(message.starts_with("the file was refused before any pupil was read: "));
        assert!(message.contains("DOCTYPE"), "{message}");
        let e = ImportError::Refused(CinError::DoctypeRefused { offset: 0 }.into());
        assert!(
            e.full_message()
                .starts_with("the file was refused before any child was read: ")
        );
    }

    #[test]
    fn a_report_names_its_records_and_facts_for_its_kind() {
        let ctf = serde_json::to_value(report(FileFacts::Ctf {
            ctf_version: "25.0".into(),
        }))
        .unwrap();
        assert_eq!(ctf["ctf_version"], "25.0");
        assert_eq!(ctf["pupils"], 3);
        assert!(ctf.get("children").is_none());
        let cin = serde_json::to_value(report(FileFacts::CinCensus {
            collection_year: 2025,
            reference_date: "2025-03-31".parse().unwrap(),
            lea: "999".into(),
        }))
        .unwrap();
        assert_eq!(cin["children"], 3);
        assert_eq!(cin["reference_date"], "2025-03-31");
        assert_eq!(cin["collection_year"], 2025);
        assert_eq!(cin["lea"], "999");
        assert_eq!(cin["quarantined"], serde_json::json!([]));
        let stopped = ImportError::Stopped {
            report: Box::new(report(FileFacts::CinCensus {
                collection_year: 2025,
                reference_date: "2025-03-31".parse().unwrap(),
                lea: "999".into(),
            })),
            source: CinError::TooManyChildren { limit: 3 }.into(),
        };
        assert!(
            stopped
                .to_string()
                .contains("could not be read past its first 3 child(ren)"),
            "{stopped}"
        );
    }

    #[test]
    fn a_store_failure_stops_the_tally_and_other_outcomes_are_counted() {
        let mut report = report(FileFacts::Ctf {
            ctf_version: "25.0".into(),
        });
        let committed = InputOutcome::Committed {
            event_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
            duplicate: false,
        };
        let duplicate = InputOutcome::Committed {
            event_ids: vec![Uuid::now_v7()],
            duplicate: true,
        };
        tally(&mut report, 0, committed).unwrap();
        tally(&mut report, 1, duplicate).unwrap();
        let unavailable = InputOutcome::Unavailable {
            reason: "down".into(),
        };
        assert_eq!(tally(&mut report, 2, unavailable), Err("down".into()));
        assert_eq!((report.committed, report.duplicates), (1, 1));
        assert_eq!(
            report.events, 2,
            "a duplicate's events are not counted again"
        );
    }
}
