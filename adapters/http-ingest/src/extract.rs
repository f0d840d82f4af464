//! A file of many records in a source's own format (a social care case system's CSV extract, a
//! system's JSON array), read record by record: each row is handed over alone, with its bytes as
//! an input of its own, so the hub commits or quarantines each one alone (`docs/adapters/
//! import.md`).
//!
//! Why: a nightly extract of a few thousand rows always holds a typo somewhere. Read as one
//! input, one bad NHS number would hold back every child protection plan in the file until an
//! operator stepped in. Read row by row, the bad row waits in quarantine and the rest go on.
//!
//! Why a row's raw bytes carry the header line: a CSV row alone cannot be read (its columns are
//! named only in the header), so a quarantined row is kept as a two-line extract of the same
//! format, which a replay reads with the same normaliser.

use std::io::BufRead;

use chrono::{DateTime, Utc};
use throughline_contracts::adapter::{NormaliseContext, Rejection};
use throughline_contracts::event::{EventSubmission, FieldProblem};

use crate::rfc4180::{self, CsvError, RawRecord};

/// The longest row (as written) an extract may hold: far more than any case system's row, so a
/// row over it is a quote left open, swallowing the rest of the file.
pub const MAX_ROW_BYTES: usize = 1024 * 1024;

/// One record of an extract, read alone.
#[derive(Clone, PartialEq)]
pub struct Row {
    /// CSV: the row's number, from 1 after the header, blank rows counted (row N is spreadsheet
    /// line N + 1). JSON: the record's position in the array, from 0.
    pub number: usize,
    /// The row as an input of its own in the same format: the header line and the row (CSV), or
    /// the record (JSON).
    pub raw: Vec<u8>,
    /// Its events (none when the row yields none), or every problem with it, each naming the
    /// row and column (or JSON pointer), never the value.
    pub mapped: Result<Vec<EventSubmission>, Vec<FieldProblem>>,
}

impl std::fmt::Debug for Row {
    /// Never prints the bytes or the events' subjects: they are child data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Row")
            .field("number", &self.number)
            .field("raw_bytes", &self.raw.len())
            .field("events", &self.mapped.as_ref().map(Vec::len))
            .finish()
    }
}

/// Why an extract cannot be read (any further). Names where and why, never a child's data.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The file as a whole is unusable (no header line, unknown or missing columns, not JSON):
    /// every problem, as the same body posted as one input would be told.
    #[error("{}", describe(.0))]
    Refused(Vec<FieldProblem>),
    #[error(transparent)]
    Csv(#[from] rfc4180::ReadError),
    #[error("the file could not be read: {0}")]
    Io(#[from] std::io::Error),
}

impl From<Rejection> for ExtractError {
    fn from(r: Rejection) -> Self {
        ExtractError::Refused(r.problems)
    }
}

fn describe(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An extract's rows, in file order. An error ends them.
pub type Rows<'a> = Box<dyn Iterator<Item = Result<Row, ExtractError>> + Send + 'a>;

/// A format that can read a file of many records row by row.
pub trait ExtractReader: Send + Sync {
    /// The media type of a row's raw bytes: `text/csv` or `application/json`.
    fn media_type(&self) -> &'static str;

    /// Reads the file's start (a CSV header line) and hands over its rows one at a time.
    /// `received_at` stands in for the arrival of each row, as for one input. A file refused
    /// before any row is [`ExtractError::Refused`].
    fn rows<'a>(
        &'a self,
        input: Box<dyn BufRead + Send + 'a>,
        ctx: NormaliseContext,
        received_at: DateTime<Utc>,
    ) -> Result<Rows<'a>, ExtractError>;
}

/// A CSV extract's header line, read, and its rows still to come.
pub struct CsvExtract<R> {
    records: rfc4180::Reader<R>,
    header_raw: Vec<u8>,
    /// The header's names as written (untrimmed).
    pub names: Vec<String>,
}

/// One non-blank data row: its number, its raw bytes (the header line, CRLF, the row, CRLF), and
/// its cells, or why they cannot be read (named `row N`).
pub struct CsvRow {
    pub number: usize,
    pub raw: Vec<u8>,
    pub cells: Result<Vec<String>, FieldProblem>,
}

impl<R: BufRead> CsvExtract<R> {
    /// Reads the header line. Refused when the input is empty, or its first line is blank or not
    /// CSV: there is then no header naming the columns.
    pub fn open(input: R) -> Result<Self, ExtractError> {
        let mut records = rfc4180::Reader::new(input, MAX_ROW_BYTES);
        let Some(first) = records.next().transpose()? else {
            return Err(refused(
                "body",
                "is empty: expected a header line and at least one data row",
            ));
        };
        let names = match first.fields {
            Err(e) => return Err(refused("header", &e.to_string())),
            Ok(names) if is_blank(&names) => {
                // A blank file, or a header after a blank line: look for any content.
                for record in records.by_ref() {
                    if !record?.fields.is_ok_and(|f| is_blank(&f)) {
                        return Err(refused(
                            "header",
                            "the first line must be the header naming the columns, found a blank line",
                        ));
                    }
                }
                return Err(refused(
                    "body",
                    "is empty: expected a header line and at least one data row",
                ));
            }
            Ok(names) => names,
        };
        Ok(Self {
            records,
            header_raw: first.raw,
            names,
        })
    }

    /// The next data row that is not blank; `None` at the end of the file.
    pub fn next_row(&mut self) -> Option<Result<CsvRow, ExtractError>> {
        loop {
            let RawRecord {
                number,
                raw,
                fields,
            } = match self.records.next()? {
                Ok(record) => record,
                Err(e) => return Some(Err(e.into())),
            };
            let cells = match fields {
                Ok(cells) if is_blank(&cells) => continue,
                Ok(cells) => Ok(cells),
                Err(e) => Err(row_problem(number, &e)),
            };
            let mut whole = Vec::with_capacity(self.header_raw.len() + raw.len() + 4);
            whole.extend_from_slice(&self.header_raw);
            whole.extend_from_slice(b"\r\n");
            whole.extend_from_slice(&raw);
            whole.extend_from_slice(b"\r\n");
            return Some(Ok(CsvRow {
                number,
                raw: whole,
                cells,
            }));
        }
    }
}

impl CsvRow {
    /// The row, rejected for `problem` alone.
    pub fn rejected(self, problem: FieldProblem) -> Row {
        Row {
            number: self.number,
            raw: self.raw,
            mapped: Err(vec![problem]),
        }
    }
}

/// A record's CSV error, named by its row.
fn row_problem(number: usize, e: &CsvError) -> FieldProblem {
    let reason = match e {
        CsvError::UnterminatedQuote { .. } => {
            "a quoted field is not closed before the end of the body".to_owned()
        }
        other => other.to_string(),
    };
    FieldProblem::new(format!("row {number}"), reason)
}

fn refused(field: &str, reason: &str) -> ExtractError {
    ExtractError::Refused(vec![FieldProblem::new(field, reason)])
}

/// Whether every field is blank.
pub fn is_blank(record: &[String]) -> bool {
    record.iter().all(|f| f.trim().is_empty())
}

/// Reads a whole body as one input with `reader`: every row's events in file order, or every
/// problem in every row. What a format's [`Normaliser`](throughline_contracts::adapter::
/// Normaliser) does with a body posted as one input, so both ways read rows the same.
pub fn normalise_whole(
    reader: &dyn ExtractReader,
    body: &[u8],
    ctx: &NormaliseContext,
    received_at: DateTime<Utc>,
) -> Result<Vec<EventSubmission>, Rejection> {
    let refuse = |e: ExtractError| match e {
        ExtractError::Refused(problems) => Rejection { problems },
        other => Rejection::one("body", other.to_string()),
    };
    let rows = reader
        .rows(Box::new(body), ctx.clone(), received_at)
        .map_err(refuse)?;
    let mut submissions = Vec::new();
    let mut problems = Vec::new();
    let mut any = false;
    for row in rows {
        any = true;
        match row.map_err(refuse)?.mapped {
            Ok(s) => submissions.extend(s),
            Err(p) => problems.extend(p),
        }
    }
    if !any {
        return Err(Rejection::one(
            "body",
            "has a header line but no data rows: expected at least one record",
        ));
    }
    if problems.is_empty() {
        Ok(submissions)
    } else {
        Err(Rejection { problems })
    }
}
