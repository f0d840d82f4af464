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

use crate::problem::is_name_shaped;
use crate::rfc4180;

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
        parse_extract(&raw.body, ctx)
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

fn is_blank(record: &[String]) -> bool {
    record.iter().all(|f| f.trim().is_empty())
}

/// Reads a whole extract: every row becomes one submission, or every problem is reported.
pub(crate) fn parse_extract(
    body: &[u8],
    ctx: &NormaliseContext,
) -> Result<Vec<EventSubmission>, Rejection> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Rejection::one(
            "body",
            format!(
                "must be UTF-8 text, found a byte that is not at offset {}",
                e.valid_up_to()
            ),
        )
    })?;
    // Spreadsheet programs start a "CSV UTF-8" file with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = rfc4180::parse(text).map_err(|e| {
        let record = match e.record() {
            0 => "header".to_owned(),
            n => format!("row {n}"),
        };
        Rejection::one(record, e.to_string())
    })?;

    if records.iter().all(|r| is_blank(r)) {
        return Err(Rejection::one(
            "body",
            "is empty: expected a header line and at least one data row",
        ));
    }
    if is_blank(&records[0]) {
        return Err(Rejection::one(
            "header",
            "the first line must be the header naming the columns, found a blank line",
        ));
    }
    let rows = &records[1..];
    if rows.iter().all(|r| is_blank(r)) {
        return Err(Rejection::one("body", "has a header line but no data rows"));
    }

    let mut problems = Vec::new();
    let header = read_header(&records[0], rows, &mut problems)?;
    let mut submissions = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if is_blank(row) {
            continue;
        }
        if let Some(submission) = read_row(i + 1, row, &header, ctx, &mut problems) {
            submissions.push(submission);
        }
    }
    if problems.is_empty() {
        Ok(submissions)
    } else {
        Err(Rejection { problems })
    }
}

/// Matches the header's names to columns, adding a problem for each unknown, repeated or
/// missing required column. Fails at once if no name is known: the header line is then most
/// likely missing and the "names" are a row of child data, which must not be repeated.
fn read_header(
    names: &[String],
    rows: &[Vec<String>],
    problems: &mut Vec<FieldProblem>,
) -> Result<Header, Rejection> {
    let mut header = Header {
        positions: [None; Column::ALL.len()],
        width: names.len(),
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
            // empty in every row.
            None if name.is_empty() => {
                if rows
                    .iter()
                    .any(|r| r.get(position).is_some_and(|v| !v.trim().is_empty()))
                {
                    problems.push(FieldProblem::new(
                        format!("column {number}"),
                        "has no name in the header but holds values",
                    ));
                }
            }
            None if is_name_shaped(name) => {
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
    Ok(header)
}

/// Reads data row `number` (from 1), adding a problem for each bad cell.
fn read_row(
    number: usize,
    row: &[String],
    header: &Header,
    ctx: &NormaliseContext,
    problems: &mut Vec<FieldProblem>,
) -> Option<EventSubmission> {
    if row.len() != header.width {
        problems.push(FieldProblem::new(
            format!("row {number}"),
            format!("has {} fields, the header has {}", row.len(), header.width),
        ));
        return None;
    }
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
        source: EventSource {
            agency: ctx.agency.clone(),
            system: ctx.system.clone(),
            adapter: ctx.adapter.clone(),
        },
        subject: Subject {
            identifiers: SubjectIdentifiers {
                nhs_number,
                upn,
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
mod tests {
    use super::*;
    use throughline_contracts::AgencyId;
    use throughline_contracts::kind::EventKind;

    fn ctx() -> NormaliseContext {
        NormaliseContext {
            source_id: "oakfield-cs".into(),
            agency: AgencyId::parse("oakfield-childrens-services").unwrap(),
            system: "liquidlogic".into(),
            adapter: "http-ingest".into(),
        }
    }

    fn ok(text: &str) -> Vec<EventSubmission> {
        parse_extract(text.as_bytes(), &ctx()).unwrap_or_else(|r| panic!("{:?}", r.problems))
    }

    fn problems(text: &str) -> Vec<FieldProblem> {
        parse_extract(text.as_bytes(), &ctx())
            .expect_err("expected a rejection")
            .problems
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn maps_every_event_with_its_code() {
        let subs = ok("la_child_id,event,date,code\n\
             C1,referral,2026-01-05,1B\n\
             C1,assessment,2026-01-06,\n\
             C1,cin_plan,2026-01-07,N1\n\
             C1,cp_plan_start,2026-01-08,NEG\n\
             C1,cp_plan_end,2026-01-09,RC1\n\
             C1,lac_start,2026-01-10,C2\n\
             C1,lac_end,2026-01-11,E11\n\
             C1,CASE_CLOSED,2026-01-12,RC8\n");
        let bodies: Vec<EventBody> = subs.into_iter().map(|s| s.body).collect();
        assert_eq!(
            bodies,
            vec![
                EventBody::SocialCareReferral(SocialCareReferral {
                    referral_on: date(2026, 1, 5),
                    source_code: Some("1B".into()),
                    primary_need_code: None,
                }),
                EventBody::SocialCareAssessment(SocialCareAssessment {
                    started_on: date(2026, 1, 6),
                    authorised_on: None,
                }),
                EventBody::SocialCareChildInNeedPlan(DatedReason {
                    on: date(2026, 1, 7),
                    reason: Some("N1".into()),
                }),
                EventBody::SocialCareChildProtectionPlanStarted(ChildProtectionPlanStarted {
                    on: date(2026, 1, 8),
                    category: Some("NEG".into()),
                }),
                EventBody::SocialCareChildProtectionPlanEnded(DatedReason {
                    on: date(2026, 1, 9),
                    reason: Some("RC1".into()),
                }),
                EventBody::SocialCareLookedAfterStarted(LookedAfter {
                    on: date(2026, 1, 10),
                    code: Some("C2".into()),
                }),
                EventBody::SocialCareLookedAfterEnded(LookedAfter {
                    on: date(2026, 1, 11),
                    code: Some("E11".into()),
                }),
                EventBody::SocialCareCaseClosed(DatedReason {
                    on: date(2026, 1, 12),
                    reason: Some("RC8".into()),
                }),
            ]
        );
    }

    #[test]
    fn fills_the_envelope_from_the_context_and_row() {
        let subs = ok(
            "EVENT,Date,LA_Child_ID,occurred_at,given_name,date_of_birth,postcode\r\n\
             referral,02/03/2026, C1 ,,Ada,10/12/2015,LS1 4AP\r\n\
             assessment,2026-03-04,C1,2026-03-04T10:15:00+01:00,,,\r\n",
        );
        let first = &subs[0];
        assert_eq!(first.schema_version, 1);
        assert_eq!(first.id, None);
        assert_eq!(first.source.agency.as_str(), "oakfield-childrens-services");
        assert_eq!(first.source.system, "liquidlogic");
        assert_eq!(first.source.adapter, "http-ingest");
        assert_eq!(
            first.occurred_at,
            date(2026, 3, 2).and_time(NaiveTime::MIN).and_utc()
        );
        let local = &first.subject.identifiers.local_ids[0];
        assert_eq!(local.value(), "C1");
        assert_eq!(local.scope(), "oakfield-childrens-services/liquidlogic");
        let demographics = &first.subject.demographics;
        assert_eq!(demographics.given_name.as_deref(), Some("Ada"));
        assert_eq!(demographics.date_of_birth, Some(date(2015, 12, 10)));
        assert_eq!(demographics.postcode.as_deref(), Some("LS1 4AP"));
        assert_eq!(demographics.family_name, None);

        assert_eq!(subs[1].body.kind(), EventKind::SocialCareAssessment);
        assert_eq!(
            subs[1].occurred_at.to_rfc3339(),
            "2026-03-04T09:15:00+00:00"
        );
        assert!(subs[1].subject.demographics.is_empty());
    }

    #[test]
    fn skips_blank_rows_but_counts_them() {
        let p =
            problems("la_child_id,event,date\nC1,referral,2026-01-05\n,,\n\nC2,referral,soon\n");
        assert_eq!(
            p,
            vec![FieldProblem::new(
                "row 4.date",
                "must be a date as YYYY-MM-DD or DD/MM/YYYY"
            )]
        );
    }

    #[test]
    fn reports_every_bad_cell() {
        let p = problems(
            "la_child_id,event,date,nhs_number,date_of_birth,occurred_at\n\
             ,visit,,123,2015-13-01,yesterday\n\
             C2,referral,2026-01-05\n",
        );
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "row 1.la_child_id",
                "row 1.nhs_number",
                "row 1.event",
                "row 1.date",
                "row 1.date_of_birth",
                "row 1.occurred_at",
                "row 2",
            ]
        );
        assert_eq!(p[0].reason, "is required");
        assert_eq!(p[2].reason, format!("must be one of {}", EVENTS.join(", ")));
        assert_eq!(p[6].reason, "has 3 fields, the header has 6");
    }

    #[test]
    fn header_problems() {
        let p = problems("la_child_id,event,event,colour,9434765919\nC1,referral,referral,red,x\n");
        assert_eq!(
            p,
            vec![
                FieldProblem::new("column event", "appears more than once in the header"),
                FieldProblem::new("column colour", "unknown column"),
                FieldProblem::new(
                    "column 5",
                    "unknown column (its name does not look like a column name, so it is not shown)"
                ),
                FieldProblem::new("column date", "is required but missing from the header"),
            ]
        );
    }

    #[test]
    fn a_missing_header_line_is_not_echoed() {
        let p = problems("C1,referral,2026-01-05,9434765919,Ada\nC2,referral,2026-01-05,,\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "header");
        assert!(!p[0].reason.contains("Ada") && !p[0].reason.contains("9434765919"));
    }

    #[test]
    fn tolerates_an_empty_unnamed_trailing_column_and_a_bom() {
        let subs = ok("\u{feff}la_child_id,event,date,\nC1,referral,2026-01-05,\n");
        assert_eq!(subs.len(), 1);
        let p = problems("la_child_id,event,date,\nC1,referral,2026-01-05,x\n");
        assert_eq!(
            p,
            vec![FieldProblem::new(
                "column 4",
                "has no name in the header but holds values"
            )]
        );
    }

    #[test]
    fn empty_and_header_only_bodies() {
        for body in ["", "\n\n", " , \n"] {
            assert_eq!(problems(body).len(), 1, "{body:?}");
            assert_eq!(problems(body)[0].field, "body");
        }
        assert_eq!(
            problems("la_child_id,event,date\r\n"),
            vec![FieldProblem::new(
                "body",
                "has a header line but no data rows"
            )]
        );
        assert_eq!(
            problems("\nla_child_id,event,date\nC1,referral,2026-01-05")[0].field,
            "header"
        );
    }

    #[test]
    fn bad_bytes_and_bad_quoting_are_one_problem() {
        let p = parse_extract(b"la_child_id,event,date\nC1,referral,\xff\n", &ctx())
            .unwrap_err()
            .problems;
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "body");
        assert_eq!(
            problems("la_child_id,event,date\nC1,referral,\"2026-01-05\n"),
            vec![FieldProblem::new(
                "row 1",
                "a quoted field is not closed before the end of the body"
            )]
        );
    }
}
