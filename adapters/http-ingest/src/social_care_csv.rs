//! `social-care-csv`: a CSV extract from a children's social care case system (Liquidlogic,
//! Mosaic), as `POST /v1/ingest/{source}` accepts it.
//!
//! Why this shape: case systems can all run a scheduled report to CSV, while few can call an
//! API. The extract has one row per event, with the system's own child id (always present), the
//! NHS number and UPN where recorded, a CIN census / SSDA903 style event and date, and optional
//! demographic evidence. Columns are matched by header name (case-insensitive, any order), so a
//! report can be built in whatever order the system offers; an unknown column is an error rather
//! than silently dropped, because it usually means a misspelt known one.
//!
//! Rows are numbered from 1 after the header, counting blank rows (which are skipped), so
//! `row N` is spreadsheet row N + 1. Every problem in every row is reported.
//!
//! Read two ways, row by row in both: as one input posted to `POST /v1/ingest/{source}`
//! ([`Normaliser`]: every row's event, or every row's problems), or as a file of many rows
//! ([`ExtractReader`]: `throughline import file`, a drop folder, `POST /v1/ingest/{source}/file`),
//! where each row is committed or quarantined alone.

use std::io::BufRead;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use throughline_contracts::adapter::{NormaliseContext, Normaliser, RawInput, Rejection};
use throughline_contracts::demographics::Demographics;
use throughline_contracts::event::{
    EventSource, EventSubmission, FieldProblem, SCHEMA_VERSION, Subject, SubjectIdentifiers,
};
use throughline_contracts::identifiers::{LocalId, NhsNumber, Upn};
use throughline_contracts::kind::{
    ChildProtectionPlanStarted, DatedReason, EventBody, LookedAfter, SocialCareAssessment,
    SocialCareReferral,
};

use crate::extract::{CsvExtract, CsvRow, ExtractError, ExtractReader, Row, Rows, normalise_whole};
use crate::problem::is_name_shaped;

/// Normaliser for social-care CSV extracts.
#[derive(Debug, Clone, Copy, Default)]
pub struct SocialCareCsv;

impl SocialCareCsv {
    /// The format's configured name.
    pub const FORMAT: &'static str = "social-care-csv";
}

impl Normaliser for SocialCareCsv {
    fn format(&self) -> &'static str {
        Self::FORMAT
    }

    fn normalise(
        &self,
        raw: &RawInput,
        ctx: &NormaliseContext,
    ) -> Result<Vec<EventSubmission>, Rejection> {
        normalise_whole(self, &raw.body, ctx, raw.received_at)
    }
}

impl ExtractReader for SocialCareCsv {
    fn media_type(&self) -> &'static str {
        "text/csv"
    }

    fn rows<'a>(
        &'a self,
        input: Box<dyn BufRead + Send + 'a>,
        ctx: NormaliseContext,
        _received_at: DateTime<Utc>,
    ) -> Result<Rows<'a>, ExtractError> {
        let mut extract = CsvExtract::open(input)?;
        let header = read_header(&extract.names)?;
        Ok(Box::new(std::iter::from_fn(move || {
            Some(extract.next_row()?.map(|row| read_row(row, &header, &ctx)))
        })))
    }
}

/// The columns an extract may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    LaChildId,
    NhsNumber,
    Upn,
    Event,
    Date,
    Code,
    GivenName,
    FamilyName,
    DateOfBirth,
    Postcode,
    OccurredAt,
}

impl Column {
    const ALL: [Column; 11] = [
        Column::LaChildId,
        Column::NhsNumber,
        Column::Upn,
        Column::Event,
        Column::Date,
        Column::Code,
        Column::GivenName,
        Column::FamilyName,
        Column::DateOfBirth,
        Column::Postcode,
        Column::OccurredAt,
    ];

    fn name(self) -> &'static str {
        match self {
            Column::LaChildId => "la_child_id",
            Column::NhsNumber => "nhs_number",
            Column::Upn => "upn",
            Column::Event => "event",
            Column::Date => "date",
            Column::Code => "code",
            Column::GivenName => "given_name",
            Column::FamilyName => "family_name",
            Column::DateOfBirth => "date_of_birth",
            Column::Postcode => "postcode",
            Column::OccurredAt => "occurred_at",
        }
    }

    fn required(self) -> bool {
        matches!(self, Column::LaChildId | Column::Event | Column::Date)
    }

    fn from_name(name: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// Position in [`Column::ALL`].
    fn slot(self) -> usize {
        self as usize
    }
}

/// The values the `event` column may hold, in the order the error message lists them.
const EVENTS: &[&str] = &[
    "referral",
    "assessment",
    "cin_plan",
    "cp_plan_start",
    "cp_plan_end",
    "lac_start",
    "lac_end",
    "case_closed",
];

/// The body for an `event` value (case-insensitive), or `None` if it is not one of [`EVENTS`].
fn body_for(event: &str, on: NaiveDate, code: Option<String>) -> Option<EventBody> {
    let dated = |reason| DatedReason { on, reason };
    let looked_after = |code| LookedAfter { on, code };
    Some(match event.to_ascii_lowercase().as_str() {
        "referral" => EventBody::SocialCareReferral(SocialCareReferral {
            referral_on: on,
            source_code: code,
            primary_need_code: None,
        }),
        "assessment" => EventBody::SocialCareAssessment(SocialCareAssessment {
            started_on: on,
            authorised_on: None,
        }),
        "cin_plan" => EventBody::SocialCareChildInNeedPlan(dated(code)),
        "cp_plan_start" => {
            EventBody::SocialCareChildProtectionPlanStarted(ChildProtectionPlanStarted {
                on,
                category: code,
            })
        }
        "cp_plan_end" => EventBody::SocialCareChildProtectionPlanEnded(dated(code)),
        "lac_start" => EventBody::SocialCareLookedAfterStarted(looked_after(code)),
        "lac_end" => EventBody::SocialCareLookedAfterEnded(looked_after(code)),
        "case_closed" => EventBody::SocialCareCaseClosed(dated(code)),
        _ => return None,
    })
}

/// Where each known column is in the extract.
struct Header {
    positions: [Option<usize>; Column::ALL.len()],
    width: usize,
    /// Columns with no name (a trailing comma in the header): tolerated while blank.
    unnamed: Vec<usize>,
}

impl Header {
    fn has(&self, column: Column) -> bool {
        self.positions[column.slot()].is_some()
    }

    /// The trimmed cell, or `None` when the column is absent or the cell blank.
    fn cell<'r>(&self, row: &'r [String], column: Column) -> Option<&'r str> {
        let value = row.get(self.positions[column.slot()]?)?.trim();
        (!value.is_empty()).then_some(value)
    }
}

/// Reads a whole extract as one input: every row's submission, or every problem.
#[cfg(test)]
fn parse_extract(body: &[u8], ctx: &NormaliseContext) -> Result<Vec<EventSubmission>, Rejection> {
    normalise_whole(&SocialCareCsv, body, ctx, Utc::now())
}

/// Matches the header's names to columns, naming each unknown, repeated or missing required
/// column. Fails at once if no name is known: the header line is then most likely missing and
/// the "names" are a row of child data, which must not be repeated.
fn read_header(names: &[String]) -> Result<Header, Rejection> {
    let mut problems = Vec::new();
    let mut header = Header {
        positions: [None; Column::ALL.len()],
        width: names.len(),
        unnamed: Vec::new(),
    };
    if !names.iter().any(|n| Column::from_name(n.trim()).is_some()) {
        let expected: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
        return Err(Rejection::one(
            "header",
            format!(
                "names none of the columns {}: is the header line missing?",
                expected.join(", ")
            ),
        ));
    }
    for (position, name) in names.iter().enumerate() {
        let name = name.trim();
        let number = position + 1;
        match Column::from_name(name) {
            Some(column) if header.has(column) => problems.push(FieldProblem::new(
                format!("column {}", column.name()),
                "appears more than once in the header",
            )),
            Some(column) => header.positions[column.slot()] = Some(position),
            // A trailing comma in the header is common; tolerate the unnamed column while it is
            // empty (each row says so if it is not).
            None if name.is_empty() => header.unnamed.push(position),
            // Spaces are allowed here though not in JSON keys: a report's column may well be
            // called `Child ID`, and a header with a known name in it is a real header.
            None if is_name_shaped(&name.replace(' ', "_")) => {
                problems.push(FieldProblem::new(
                    format!("column {name}"),
                    "unknown column",
                ));
            }
            None => problems.push(FieldProblem::new(
                format!("column {number}"),
                "unknown column (its name does not look like a column name, so it is not shown)",
            )),
        }
    }
    for column in Column::ALL {
        if column.required() && !header.has(column) {
            problems.push(FieldProblem::new(
                format!("column {}", column.name()),
                "is required but missing from the header",
            ));
        }
    }
    if problems.is_empty() {
        Ok(header)
    } else {
        Err(Rejection { problems })
    }
}

/// Reads one data row alone: its event, or a problem for each bad cell.
fn read_row(row: CsvRow, header: &Header, ctx: &NormaliseContext) -> Row {
    let number = row.number;
    let cells = match &row.cells {
        Ok(cells) => cells,
        Err(problem) => {
            let problem = problem.clone();
            return row.rejected(problem);
        }
    };
    if cells.len() != header.width {
        let problem = FieldProblem::new(
            format!("row {number}"),
            format!(
                "has {} fields, the header has {}",
                cells.len(),
                header.width
            ),
        );
        return row.rejected(problem);
    }
    let mut problems = Vec::new();
    for &position in &header.unnamed {
        if cells.get(position).is_some_and(|v| !v.trim().is_empty()) {
            problems.push(FieldProblem::new(
                format!("row {number}.column {}", position + 1),
                "has no name in the header but holds a value",
            ));
        }
    }
    let submission = read_cells(number, cells, header, ctx, &mut problems);
    Row {
        number,
        mapped: match submission {
            Some(s) if problems.is_empty() => Ok(vec![s]),
            _ if problems.is_empty() => Err(vec![FieldProblem::new(
                format!("row {number}"),
                "could not be read as an event",
            )]),
            _ => Err(problems),
        },
        raw: row.raw,
    }
}

/// Reads data row `number` (from 1), adding a problem for each bad cell.
fn read_cells(
    number: usize,
    row: &[String],
    header: &Header,
    ctx: &NormaliseContext,
    problems: &mut Vec<FieldProblem>,
) -> Option<EventSubmission> {
    let before = problems.len();
    let mut cell = Cells {
        number,
        row,
        header,
        problems,
    };

    let local_id = cell.required(Column::LaChildId, |v| {
        LocalId::new(ctx.agency.clone(), &ctx.system, v).map_err(|e| e.to_string())
    });
    let nhs_number = cell.optional(Column::NhsNumber, |v| {
        NhsNumber::parse(v).map_err(|e| e.to_string())
    });
    let upn = cell.optional(Column::Upn, |v| Upn::parse(v).map_err(|e| e.to_string()));
    let event = cell.required(Column::Event, |v| {
        if EVENTS.iter().any(|e| e.eq_ignore_ascii_case(v)) {
            Ok(v.to_owned())
        } else {
            Err(format!("must be one of {}", EVENTS.join(", ")))
        }
    });
    let date = cell.required(Column::Date, parse_date);
    let code = cell.optional(Column::Code, |v| Ok(v.to_owned()));
    let demographics = Demographics {
        given_name: cell.optional(Column::GivenName, |v| Ok(v.to_owned())),
        family_name: cell.optional(Column::FamilyName, |v| Ok(v.to_owned())),
        date_of_birth: cell.optional(Column::DateOfBirth, parse_date),
        sex: None,
        postcode: cell.optional(Column::Postcode, |v| Ok(v.to_owned())),
    };
    let occurred_at = cell.optional(Column::OccurredAt, |v| {
        DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| "must be an RFC 3339 date and time, e.g. 2026-03-02T09:30:00Z".to_owned())
    });

    if problems.len() > before {
        return None;
    }
    let (local_id, event, date) = (local_id?, event?, date?);
    Some(EventSubmission {
        schema_version: SCHEMA_VERSION,
        id: None,
        occurred_at: occurred_at.unwrap_or_else(|| date.and_time(NaiveTime::MIN).and_utc()),
        as_at: None,
        source: EventSource {
            agency: ctx.agency.clone(),
            system: ctx.system.clone(),
            adapter: ctx.adapter.clone(),
        },
        subject: Subject {
            identifiers: SubjectIdentifiers {
                nhs_number,
                upn,
                former_upns: Vec::new(),
                local_ids: vec![local_id],
            },
            demographics,
        },
        body: body_for(&event, date, code)?,
        correlation_id: None,
        causation_id: None,
    })
}

/// One row's cells, with somewhere to put each cell's problem.
struct Cells<'a> {
    number: usize,
    row: &'a [String],
    header: &'a Header,
    problems: &'a mut Vec<FieldProblem>,
}

impl Cells<'_> {
    /// The parsed cell, or `None` (with a problem) when it is blank or does not parse. A column
    /// missing from the header is reported once, for the header, not again for each row.
    fn required<T>(
        &mut self,
        column: Column,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        if self.header.has(column) && self.header.cell(self.row, column).is_none() {
            self.push(column, "is required".to_owned());
            return None;
        }
        self.optional(column, parse)
    }

    /// The parsed cell, or `None` when it is blank or (with a problem) does not parse.
    fn optional<T>(
        &mut self,
        column: Column,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.header.cell(self.row, column)?;
        parse(value)
            .map_err(|reason| self.push(column, reason))
            .ok()
    }

    fn push(&mut self, column: Column, reason: String) {
        self.problems.push(FieldProblem::new(
            format!("row {}.{}", self.number, column.name()),
            reason,
        ));
    }
}

/// `YYYY-MM-DD` or `DD/MM/YYYY` (how UK case systems and spreadsheets write dates).
fn parse_date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%d/%m/%Y"))
        .map_err(|_| "must be a date as YYYY-MM-DD or DD/MM/YYYY".to_owned())
}

#[cfg(test)]
mod tests;
