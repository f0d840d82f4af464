//! [`Mapping`] as a [`Normaliser`]: every record of an input becomes one event submission, or
//! nothing (its type is ignored, or it fails its kind's `only_if`), or problems.
//!
//! Every problem in every record is reported, each named by the SOURCE field it is about (the
//! record's JSON pointer, or `row 7, column "Referral Date"`) with a reason that says what was
//! expected and never repeats the value. The payload is built as JSON and deserialised into the
//! contract's own typed payload, so the contracts have the last word on what is valid; their
//! errors are named back to the source field that filled the payload field.
//!
//! An input whose every record was ignored or filtered yields no events and is not an error: a
//! school's attendance feed sends every pupil, and only those below the threshold are news. An
//! input with no records at all is a rejection.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use std::io::BufRead;

use throughline_adapter_http_ingest::extract::{CsvExtract, CsvRow, normalise_whole};
use throughline_adapter_http_ingest::{ExtractError, ExtractReader, Row, Rows};
use throughline_contracts::adapter::{NormaliseContext, Normaliser, RawInput, Rejection};
use throughline_contracts::demographics::{Demographics, Sex};
use throughline_contracts::event::{
    EventSource, EventSubmission, FieldProblem, SCHEMA_VERSION, Subject, SubjectIdentifiers,
};
use throughline_contracts::identifiers::{IdentifierError, LocalId, NhsNumber, Upn};
use throughline_contracts::kind::{EventBody, EventKind};
use throughline_contracts::redact::redact_values;

use crate::build::{EventMapping, Mapping, sex_shape};
use crate::coerce::{self, describe};
use crate::config::InputFormat;
use crate::contract::Shape;
use crate::records::{Header, Record, csv_header, json_records};
use crate::rule::Rule;

/// How far ahead of its arrival an event may say it happened (clocks differ); the hub's validate
/// step allows the same.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

impl Normaliser for Mapping {
    fn format(&self) -> &str {
        &self.format
    }

    /// One input: every record's event, or every problem in every record.
    fn normalise(
        &self,
        raw: &RawInput,
        ctx: &NormaliseContext,
    ) -> Result<Vec<EventSubmission>, Rejection> {
        normalise_whole(self, &raw.body, ctx, raw.received_at)
    }
}

/// A file of many records (`throughline import file`, a drop folder, `POST /v1/ingest/{source}/
/// file`): each record read alone, so each is committed or quarantined alone.
impl ExtractReader for Mapping {
    fn media_type(&self) -> &'static str {
        match self.input {
            InputFormat::Json => "application/json",
            InputFormat::Csv => "text/csv",
        }
    }

    fn rows<'a>(
        &'a self,
        mut input: Box<dyn BufRead + Send + 'a>,
        ctx: NormaliseContext,
        received_at: DateTime<Utc>,
    ) -> Result<Rows<'a>, ExtractError> {
        match self.input {
            InputFormat::Csv => {
                let mut extract = CsvExtract::open(input)?;
                let header = csv_header(&extract.names, &self.columns)?;
                Ok(Box::new(std::iter::from_fn(move || {
                    Some(
                        extract
                            .next_row()?
                            .map(|row| self.csv_row(row, &header, &ctx, received_at)),
                    )
                })))
            }
            InputFormat::Json => {
                // JSON has no record boundaries a line reader could find: the file is read
                // whole (it is bounded by the file's own limit), then record by record.
                let mut body = Vec::new();
                input.read_to_end(&mut body)?;
                let records = json_records(&body, self.records.as_deref())?;
                drop(body);
                Ok(Box::new(records.into_iter().enumerate().map(
                    move |(number, (at, value))| {
                        Ok(self.json_row(number, &at, value, &ctx, received_at))
                    },
                )))
            }
        }
    }
}

impl Mapping {
    /// One CSV row alone.
    fn csv_row(
        &self,
        row: CsvRow,
        header: &Header,
        ctx: &NormaliseContext,
        received_at: DateTime<Utc>,
    ) -> Row {
        let cells = match &row.cells {
            Ok(cells) => cells,
            Err(problem) => {
                let problem = problem.clone();
                return row.rejected(problem);
            }
        };
        let record = Record::Csv {
            row: row.number,
            cells,
            header,
        };
        let mut problems = Vec::new();
        let submission = match header.check_width(cells) {
            Err(reason) => {
                problems.push(FieldProblem::new(record.whole(), reason));
                None
            }
            Ok(()) => self.record(&record, received_at, ctx, &mut problems),
        };
        Row {
            number: row.number,
            raw: row.raw,
            mapped: if problems.is_empty() {
                Ok(submission.into_iter().collect())
            } else {
                Err(problems)
            },
        }
    }

    /// One record of a JSON array alone; its raw bytes are the record where the mapping looks
    /// for records (`records`), so a replay reads it the same way.
    fn json_row(
        &self,
        number: usize,
        at: &str,
        value: Value,
        ctx: &NormaliseContext,
        received_at: DateTime<Utc>,
    ) -> Row {
        let record = Record::Json {
            at: at.to_owned(),
            value: &value,
        };
        let mut problems = Vec::new();
        let submission = if value.is_object() {
            self.record(&record, received_at, ctx, &mut problems)
        } else {
            problems.push(FieldProblem::new(
                record.whole(),
                format!(
                    "must be a record (a JSON object), found {}",
                    describe(&value)
                ),
            ));
            None
        };
        let mapped = if problems.is_empty() {
            Ok(submission.into_iter().collect())
        } else {
            Err(problems)
        };
        let alone = match &self.records {
            Some(pointer) => at_pointer(pointer, Value::Array(vec![value])),
            None => value,
        };
        Row {
            number,
            // Serialising a `Value` cannot fail: its keys are strings.
            raw: serde_json::to_vec(&alone).unwrap_or_default(),
            mapped,
        }
    }
}

/// `value` placed at `pointer` (RFC 6901) in objects built around it: `/events` and `[r]` make
/// `{"events": [r]}`.
fn at_pointer(pointer: &str, value: Value) -> Value {
    let tokens: Vec<&str> = pointer.split('/').skip(1).collect();
    tokens.into_iter().rev().fold(value, |inner, token| {
        let key = token.replace("~1", "/").replace("~0", "~");
        Value::Object(Map::from_iter([(key, inner)]))
    })
}

impl Mapping {
    /// One record's submission; `None` when it yields no event or has problems (added).
    fn record(
        &self,
        record: &Record<'_>,
        received_at: DateTime<Utc>,
        ctx: &NormaliseContext,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<EventSubmission> {
        let kind = match self.kind.resolve(record) {
            Ok(Some(kind)) => kind,
            Ok(None) => return None,
            Err(p) => {
                problems.push(p);
                return None;
            }
        };
        let event = self
            .events
            .get(&kind)
            .expect("building checked that every mapped kind has its events table");
        if let Some(only_if) = &event.only_if {
            match only_if.holds(record) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(p) => {
                    problems.push(p);
                    return None;
                }
            }
        }
        let before = problems.len();
        let subject = self.subject(record, ctx, problems);
        let built = self.payload(kind, event, record, problems);
        let occurred_at = built.as_ref().and_then(|(_, payload)| {
            self.occurred_at(event, payload, record, received_at, problems)
        });
        if problems.len() > before {
            return None;
        }
        let (body, _) = built?;
        Some(EventSubmission {
            schema_version: SCHEMA_VERSION,
            id: None,
            occurred_at: occurred_at?,
            as_at: None,
            source: EventSource {
                agency: ctx.agency.clone(),
                system: ctx.system.clone(),
                adapter: ctx.adapter.clone(),
            },
            subject,
            body,
            correlation_id: None,
            causation_id: None,
        })
    }

    /// Reads a rule as `shape`, adding a problem (named by its source field) when it cannot.
    fn read(
        &self,
        rule: Option<&Rule>,
        key: &str,
        shape: &Shape,
        record: &Record<'_>,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<Value> {
        let rule = rule?;
        rule.value(record, key, shape, &self.formats)
            .map_err(|p| problems.push(p))
            .ok()
            .flatten()
    }

    /// An identifier through its contract constructor, whose errors never hold the value.
    fn identifier<T>(
        &self,
        rule: Option<&Rule>,
        key: &str,
        record: &Record<'_>,
        problems: &mut Vec<FieldProblem>,
        make: impl FnOnce(&str) -> Result<T, IdentifierError>,
    ) -> Option<T> {
        let text = self.read(rule, key, &Shape::Text, record, problems)?;
        let rule = rule?;
        make(text.as_str().unwrap_or_default())
            .map_err(|e| problems.push(FieldProblem::new(rule.name(record, key), e.to_string())))
            .ok()
    }

    fn subject(
        &self,
        record: &Record<'_>,
        ctx: &NormaliseContext,
        problems: &mut Vec<FieldProblem>,
    ) -> Subject {
        let s = &self.subject;
        let before = problems.len();
        let identifiers = SubjectIdentifiers {
            nhs_number: self.identifier(
                s.nhs_number.as_ref(),
                "subject.nhs_number",
                record,
                problems,
                NhsNumber::parse,
            ),
            upn: self.identifier(s.upn.as_ref(), "subject.upn", record, problems, Upn::parse),
            former_upns: Vec::new(),
            local_ids: self
                .identifier(
                    s.local_id.as_ref(),
                    "subject.local_id",
                    record,
                    problems,
                    |v| LocalId::new(ctx.agency.clone(), &ctx.system, v),
                )
                .into_iter()
                .collect(),
        };
        if identifiers.is_empty() && problems.len() == before {
            let mapped: Vec<String> = [&s.nhs_number, &s.upn, &s.local_id]
                .into_iter()
                .flatten()
                .filter_map(|r| r.field().map(|f| record.name(f)))
                .collect();
            problems.push(FieldProblem::new(
                record.whole(),
                format!(
                    "has none of the mapped identifiers ({}): at least one is required",
                    mapped.join(", ")
                ),
            ));
        }

        let text = |rule: Option<&Rule>, key: &str, problems: &mut Vec<FieldProblem>| {
            self.read(rule, key, &Shape::Text, record, problems)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let given_name = text(s.given_name.as_ref(), "subject.given_name", problems);
        let family_name = text(s.family_name.as_ref(), "subject.family_name", problems);
        let postcode = text(s.postcode.as_ref(), "subject.postcode", problems);
        let date_of_birth = self
            .read(
                s.date_of_birth.as_ref(),
                "subject.date_of_birth",
                &Shape::Date,
                record,
                problems,
            )
            .and_then(|v| v.as_str().and_then(|d| d.parse::<NaiveDate>().ok()));
        let sex = self
            .read(
                s.sex.as_ref(),
                "subject.sex",
                &sex_shape(),
                record,
                problems,
            )
            .and_then(|v| serde_json::from_value::<Sex>(v).ok());
        Subject {
            identifiers,
            demographics: Demographics {
                given_name,
                family_name,
                date_of_birth,
                sex,
                postcode,
            },
        }
    }

    /// Builds the payload as JSON and reads it as the contract's typed payload. Returns the
    /// body and the JSON it was read from.
    fn payload(
        &self,
        kind: EventKind,
        event: &EventMapping,
        record: &Record<'_>,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<(EventBody, Map<String, Value>)> {
        let before = problems.len();
        let mut payload = Map::new();
        let mut sources: HashMap<&str, String> = HashMap::new();
        for f in &event.payload {
            let name = f.rule.name(record, &f.key);
            match f.rule.value(record, &f.key, &f.shape, &self.formats) {
                Ok(Some(v)) => {
                    payload.insert(f.name.clone(), v);
                }
                Ok(None) if f.required => problems.push(FieldProblem::new(
                    name.clone(),
                    format!("is required for `{kind}` but is absent or blank"),
                )),
                Ok(None) => {}
                Err(p) => problems.push(p),
            }
            sources.insert(f.name.as_str(), name);
        }
        if problems.len() > before {
            return None;
        }
        let body = json!({"kind": kind.as_str(), "payload": Value::Object(payload.clone())});
        match serde_path_to_error::deserialize::<_, EventBody>(body) {
            Ok(body) => Some((body, payload)),
            Err(e) => {
                problems.push(contract_problem(kind, &e, &sources));
                None
            }
        }
    }

    /// When the event happened: the mapped field, or the earliest required date of the
    /// payload at 00:00 in London, or the input's arrival, whichever is earlier.
    fn occurred_at(
        &self,
        event: &EventMapping,
        payload: &Map<String, Value>,
        record: &Record<'_>,
        received_at: DateTime<Utc>,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<DateTime<Utc>> {
        if let Some(rule) = &event.occurred_at {
            let key = "occurred_at";
            match rule.value(record, key, &Shape::DateTime, &self.formats) {
                Err(p) => {
                    problems.push(p);
                    return None;
                }
                Ok(Some(at)) => {
                    // A date and time is RFC 3339 once read (constants and templates included).
                    let at = at
                        .as_str()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                        .map(|t| t.with_timezone(&Utc));
                    let problem = |reason| FieldProblem::new(rule.name(record, key), reason);
                    return match at {
                        None => {
                            problems.push(problem("must be a date and time"));
                            None
                        }
                        Some(at) if at > received_at + CLOCK_SKEW => {
                            problems.push(problem("must not be in the future"));
                            None
                        }
                        at => at,
                    };
                }
                // Absent in this record: the default below.
                Ok(None) => {}
            }
        }
        let earliest = event
            .payload
            .iter()
            .filter(|f| f.required && matches!(f.shape, Shape::Date | Shape::DateTime))
            .filter_map(|f| payload.get(&f.name)?.as_str().map(|t| (t, &f.shape)))
            .filter_map(|(t, shape)| match shape {
                Shape::Date => t.parse::<NaiveDate>().ok().map(coerce::london_midnight),
                _ => DateTime::parse_from_rfc3339(t)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
            })
            .min();
        Some(earliest.map_or(received_at, |t| t.min(received_at)))
    }
}

/// The contract's refusal of a built payload, named by the source field that filled the field
/// it is about.
fn contract_problem(
    kind: EventKind,
    e: &serde_path_to_error::Error<serde_json::Error>,
    sources: &HashMap<&str, String>,
) -> FieldProblem {
    let message = e.inner().to_string();
    let message = message.lines().next().unwrap_or_default();
    let path = e.path().to_string();
    let field = path
        .strip_prefix("payload.")
        .map(|rest| rest.split(['.', '[']).next().unwrap_or(rest))
        .or_else(|| {
            message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
        });
    let named = field.and_then(|f| sources.get(f).cloned());
    let at = named.unwrap_or_else(|| match field {
        Some(f) => format!("payload.{f}"),
        None => "payload".to_owned(),
    });
    FieldProblem::new(
        at,
        format!("is not what `{kind}` takes: {}", redact_values(message)),
    )
}

#[cfg(test)]
mod tests;
