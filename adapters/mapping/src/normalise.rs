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
use crate::records::{Extract, Record, csv_records, json_records};
use crate::rule::Rule;

/// How far ahead of its arrival an event may say it happened (clocks differ); the hub's validate
/// step allows the same.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

impl Normaliser for Mapping {
    fn format(&self) -> &str {
        &self.format
    }

    fn normalise(
        &self,
        raw: &RawInput,
        ctx: &NormaliseContext,
    ) -> Result<Vec<EventSubmission>, Rejection> {
        let mut submissions = Vec::new();
        let mut problems = Vec::new();
        match self.input {
            InputFormat::Json => {
                for (at, value) in &json_records(&raw.body, self.records.as_deref())? {
                    let record = Record::Json {
                        at: at.clone(),
                        value,
                    };
                    if !value.is_object() {
                        problems.push(FieldProblem::new(
                            record.whole(),
                            format!(
                                "must be a record (a JSON object), found {}",
                                describe(value)
                            ),
                        ));
                        continue;
                    }
                    submissions.extend(self.record(&record, raw, ctx, &mut problems));
                }
            }
            InputFormat::Csv => {
                let Extract { header, rows } = csv_records(&raw.body, &self.columns)?;
                for (row, cells) in &rows {
                    let record = Record::Csv {
                        row: *row,
                        cells,
                        header: &header,
                    };
                    if let Err(reason) = header.check_width(cells) {
                        problems.push(FieldProblem::new(record.whole(), reason));
                        continue;
                    }
                    submissions.extend(self.record(&record, raw, ctx, &mut problems));
                }
            }
        }
        if problems.is_empty() {
            Ok(submissions)
        } else {
            Err(Rejection { problems })
        }
    }
}

impl Mapping {
    /// One record's submission; `None` when it yields no event or has problems (added).
    fn record(
        &self,
        record: &Record<'_>,
        raw: &RawInput,
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
        let occurred_at = built
            .as_ref()
            .and_then(|(_, payload)| self.occurred_at(event, payload, record, raw, problems));
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
        raw: &RawInput,
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
                        Some(at) if at > raw.received_at + CLOCK_SKEW => {
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
        Some(earliest.map_or(raw.received_at, |t| t.min(raw.received_at)))
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
