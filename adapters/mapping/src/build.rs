//! [`Mapping::build`]: checks a mapping's configuration against the contracts and compiles it.
//!
//! Everything that can be known before the first record arrives is checked here, so a mistake
//! stops the hub at start-up with the key that holds it: an unknown kind, a payload field the
//! contract does not have, a required field not mapped, a pointer or a date format that cannot
//! work, a constant or a mapped code the contract would refuse. Constants, mapped codes and
//! templates are tried against the contract's own types (deserialised alone into the payload,
//! where only the tried field can fail other than by being "missing").

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use throughline_contracts::AgencyId;
use throughline_contracts::kind::EventKind;

use crate::FORMAT_PREFIX;
use crate::coerce::{self, Formats};
use crate::config::{self, FieldRule, InputFormat, KindConfig, MappingConfig};
use crate::contract::{self, Payload, Shape};
use crate::error::{MappingConfigError, Problems, segment};
use crate::records::{Field, check_pointer};
use crate::rule::{Condition, KindSwitch, KindTarget, Rule, Template, Test, ValueMap};

/// A checked, compiled mapping: a [`Normaliser`](throughline_contracts::adapter::Normaliser)
/// for the format `mapping:<id>`.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub(crate) format: String,
    pub(crate) input: InputFormat,
    pub(crate) records: Option<String>,
    pub(crate) formats: Formats,
    pub(crate) subject: Subject,
    pub(crate) kind: KindSwitch,
    pub(crate) events: BTreeMap<EventKind, EventMapping>,
    /// CSV: every column the mapping reads, checked against each extract's header.
    pub(crate) columns: Vec<Field>,
}

/// The subject's rules, in the contract's terms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subject {
    pub upn: Option<Rule>,
    pub nhs_number: Option<Rule>,
    pub local_id: Option<Rule>,
    pub given_name: Option<Rule>,
    pub family_name: Option<Rule>,
    pub date_of_birth: Option<Rule>,
    pub sex: Option<Rule>,
    pub postcode: Option<Rule>,
}

/// The shape `sex` takes: the contract's `Sex` codes.
pub(crate) fn sex_shape() -> Shape {
    Shape::Choice(
        ["female", "male", "other", "not_known"]
            .map(str::to_owned)
            .to_vec(),
    )
}

/// One kind's mapping.
#[derive(Debug, Clone)]
pub(crate) struct EventMapping {
    pub occurred_at: Option<Rule>,
    pub only_if: Option<Condition>,
    pub payload: Vec<PayloadField>,
}

#[derive(Debug, Clone)]
pub(crate) struct PayloadField {
    pub name: String,
    pub rule: Rule,
    pub shape: Shape,
    pub required: bool,
    /// `events."<kind>".payload.<name>`, for problems with a constant.
    pub key: String,
}

impl Mapping {
    /// Checks `config` and compiles it, or names every problem by its key.
    pub fn build(config: MappingConfig) -> Result<Mapping, MappingConfigError> {
        let mut b = Builder {
            input: config.input,
            formats: Formats::default(),
            problems: Problems::new(&config.id),
            columns: Vec::new(),
        };
        if let Err(e) = AgencyId::parse(&config.id) {
            b.problems.push("id", e.to_string());
        }
        match (config.input, &config.records) {
            (InputFormat::Csv, Some(_)) => b.problems.push(
                "records",
                "is only for input = \"json\": every row of a CSV extract is a record",
            ),
            (InputFormat::Json, Some(pointer)) if pointer.is_empty() => b.problems.push(
                "records",
                "must point into the body, e.g. /events (leave it out when the body is the record or the array)",
            ),
            (InputFormat::Json, Some(pointer)) => {
                if let Err(reason) = check_pointer(pointer) {
                    b.problems.push("records", reason);
                }
            }
            _ => {}
        }
        b.formats(&config);
        let subject = b.subject(&config.subject);
        let kind = b.kind_switch("kind", &config.kind);
        let mut produced = Vec::new();
        produced_kinds("kind", &config.kind, &mut produced);
        let mut events = BTreeMap::new();
        for (name, event) in &config.events {
            let key = format!("events.{}", segment(name));
            let kind = match name.parse::<EventKind>() {
                Ok(k) if k.is_hub_notice() => {
                    b.problems.push(
                        &key,
                        "this kind is reserved for notices the hub itself sends",
                    );
                    continue;
                }
                Ok(k) => k,
                Err(e) => {
                    b.problems.push(&key, e.to_string());
                    continue;
                }
            };
            if !produced.iter().any(|(n, _)| n == name) {
                b.problems.push(
                    &key,
                    "no kind.values entry produces this kind: map a type value to it, or remove it",
                );
            } else if let Some(m) = b.event(&key, kind, event) {
                events.insert(kind, m);
            }
        }
        for (name, at) in &produced {
            if name.parse::<EventKind>().is_ok() && !config.events.contains_key(name) {
                b.problems.push(
                    at,
                    format!(
                        "maps to `{name}`, which has no [mappings.events.{}] table for its payload",
                        segment(name)
                    ),
                );
            }
        }
        if !b.problems.is_empty() {
            return Err(b.problems.into_error());
        }
        let mut columns = Vec::new();
        for c in b.columns {
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
        Ok(Mapping {
            format: format!("{FORMAT_PREFIX}{}", config.id),
            input: config.input,
            records: config.records,
            formats: b.formats,
            subject: subject.expect("no problems means the subject was built"),
            kind: kind.expect("no problems means the kind switch was built"),
            events,
            columns,
        })
    }

    /// `mapping:<id>`.
    pub fn format_name(&self) -> &str {
        &self.format
    }
}

/// Every kind name the configured switch (and the switches below it) maps a value to, with the
/// key that maps it.
fn produced_kinds(key: &str, k: &KindConfig, out: &mut Vec<(String, String)>) {
    for (value, target) in &k.values {
        let at = format!("{key}.values.{}", segment(value));
        match target {
            config::KindTarget::Kind(name) => out.push((name.clone(), at)),
            config::KindTarget::Switch(next) => produced_kinds(&at, next, out),
        }
    }
}

struct Builder {
    input: InputFormat,
    formats: Formats,
    problems: Problems,
    columns: Vec<Field>,
}

impl Builder {
    fn formats(&mut self, config: &MappingConfig) {
        if let Some(dates) = &config.date_formats {
            if dates.is_empty() {
                self.problems.push(
                    "date_formats",
                    "must list at least one format, e.g. \"%Y-%m-%d\"",
                );
            }
            for (i, f) in dates.iter().enumerate() {
                if let Err(reason) = coerce::check_date_format(f) {
                    self.problems.push(&format!("date_formats[{i}]"), reason);
                }
            }
            self.formats.dates = dates.clone();
        }
        if let Some(datetimes) = &config.datetime_formats {
            for (i, f) in datetimes.iter().enumerate() {
                if let Err(reason) = coerce::check_datetime_format(f) {
                    self.problems
                        .push(&format!("datetime_formats[{i}]"), reason);
                }
            }
            self.formats.datetimes = datetimes.clone();
        }
    }

    fn field(&mut self, key: &str, text: &str) -> Option<Field> {
        match Field::parse(self.input, text) {
            Ok(f) => {
                if matches!(f, Field::Column { .. }) {
                    self.columns.push(f.clone());
                }
                Some(f)
            }
            Err(reason) => {
                self.problems.push(key, reason);
                None
            }
        }
    }

    /// Compiles a rule whose values take `shape`; `check` tries a value from the configuration
    /// (a constant, a mapped code, a template) against the contract.
    fn rule(
        &mut self,
        key: &str,
        rule: &FieldRule,
        shape: &Shape,
        check: &dyn Fn(&Value) -> Result<(), String>,
    ) -> Option<Rule> {
        let before = self.problems_len();
        match (rule.field.as_deref(), &rule.value) {
            (Some(_), Some(_)) => {
                self.problems.push(
                    key,
                    "has both field and value: a value comes from one or the other",
                );
                return None;
            }
            (None, None) => {
                self.problems.push(
                    key,
                    "needs a field (where the value comes from) or a value (a constant)",
                );
                return None;
            }
            (None, Some(value)) => {
                if rule.map.is_some() || rule.when_present.is_some() || rule.when_absent.is_some() {
                    self.problems.push(
                        key,
                        "a constant value takes no map, when_present or when_absent",
                    );
                    return None;
                }
                let at = format!("{key}.value");
                return self.literal(&at, value, shape, check).map(Rule::Constant);
            }
            (Some(_), None) => {}
        }
        if rule.map.is_some() && rule.when_present.is_some() {
            self.problems.push(
                key,
                "has both map and when_present: write each code's value in map (`$` is the code as sent)",
            );
            return None;
        }
        // `upn = "/pupil/upn"` is reported at `subject.upn`, `{ field = ... }` at its `.field`.
        let shorthand = *rule == FieldRule::field(rule.field.clone().unwrap_or_default());
        let field_key = if shorthand {
            key.to_owned()
        } else {
            format!("{key}.field")
        };
        let field = self.field(&field_key, rule.field.as_deref().unwrap_or_default());
        let map = rule.map.as_ref().map(|entries| {
            if entries.is_empty() {
                self.problems
                    .push(&format!("{key}.map"), "must list at least one code");
            }
            let mut seen = HashSet::new();
            let mut compiled = Vec::new();
            for (code, value) in entries {
                let at = format!("{key}.map.{}", segment(code));
                if !seen.insert(code.trim().to_lowercase()) {
                    self.problems
                        .push(&at, "is listed twice (codes match ignoring case)");
                }
                if let Some(t) = self.template(&at, value, true, shape, check) {
                    compiled.push((code.clone(), t));
                }
            }
            ValueMap::new(compiled)
        });
        let when_present = rule
            .when_present
            .as_ref()
            .and_then(|v| self.template(&format!("{key}.when_present"), v, true, shape, check));
        let when_absent = rule
            .when_absent
            .as_ref()
            .and_then(|v| self.template(&format!("{key}.when_absent"), v, false, shape, check));
        if self.problems_len() > before {
            return None;
        }
        Some(Rule::Field {
            field: field?,
            map,
            when_present,
            when_absent,
        })
    }

    /// A value written in the configuration, read as `shape` and tried against the contract.
    fn literal(
        &mut self,
        at: &str,
        value: &Value,
        shape: &Shape,
        check: &dyn Fn(&Value) -> Result<(), String>,
    ) -> Option<Value> {
        let value = match value {
            // Tables and arrays are written in the contract's own shape.
            Value::Object(_) | Value::Array(_) if *shape == Shape::Other => value.clone(),
            _ => match coerce::coerce(value, shape, &self.formats) {
                Ok(v) => v,
                Err(reason) => {
                    self.problems.push(at, reason);
                    return None;
                }
            },
        };
        match check(&value) {
            Ok(()) => Some(value),
            Err(reason) => {
                self.problems.push(at, reason);
                None
            }
        }
    }

    /// A template (`map` value, `when_present`, `when_absent`). Literal ones are read and
    /// tried like a constant; the rest are tried filled with a sample, unless the whole value is
    /// one placeholder (then it is the record's text, read as `shape` per record).
    fn template(
        &mut self,
        at: &str,
        value: &Value,
        this_allowed: bool,
        shape: &Shape,
        check: &dyn Fn(&Value) -> Result<(), String>,
    ) -> Option<Template> {
        let template = match Template::parse(value, self.input, this_allowed) {
            Ok(t) => t,
            Err(reason) => {
                self.problems.push(at, reason);
                return None;
            }
        };
        for f in template.fields() {
            if matches!(f, Field::Column { .. }) {
                self.columns.push(f.clone());
            }
        }
        if template.is_literal() {
            return self.literal(at, value, shape, check).map(Template::Literal);
        }
        if matches!(template, Template::This | Template::Field(_)) {
            return Some(template);
        }
        match check(&template.sample(&Value::String("0".to_owned()))) {
            Ok(()) => Some(template),
            Err(reason) => {
                self.problems.push(at, reason);
                None
            }
        }
    }

    fn problems_len(&self) -> usize {
        self.problems.len()
    }

    fn subject(&mut self, s: &config::SubjectConfig) -> Option<Subject> {
        let before = self.problems_len();
        let none = |_: &Value| Ok(());
        let check_sex =
            |v: &Value| coerce::coerce(v, &sex_shape(), &Formats::default()).map(|_| ());
        let one =
            |b: &mut Self, name: &str, rule: &Option<FieldRule>, shape: Shape, identifier: bool| {
                let rule = rule.as_ref()?;
                let key = format!("subject.{name}");
                if identifier && rule.field.is_none() {
                    b.problems.push(
                        &key,
                        "an identifier must come from a field of the record, not a constant",
                    );
                    return None;
                }
                let check: &dyn Fn(&Value) -> Result<(), String> =
                    if name == "sex" { &check_sex } else { &none };
                b.rule(&key, rule, &shape, check)
            };
        let subject = Subject {
            upn: one(self, "upn", &s.upn, Shape::Text, true),
            nhs_number: one(self, "nhs_number", &s.nhs_number, Shape::Text, true),
            local_id: one(self, "local_id", &s.local_id, Shape::Text, true),
            given_name: one(self, "given_name", &s.given_name, Shape::Text, false),
            family_name: one(self, "family_name", &s.family_name, Shape::Text, false),
            date_of_birth: one(self, "date_of_birth", &s.date_of_birth, Shape::Date, false),
            sex: one(self, "sex", &s.sex, sex_shape(), false),
            postcode: one(self, "postcode", &s.postcode, Shape::Text, false),
        };
        if s.upn.is_none() && s.nhs_number.is_none() && s.local_id.is_none() {
            self.problems.push(
                "subject",
                "must map at least one identifier: upn, nhs_number or local_id",
            );
        }
        (self.problems_len() == before).then_some(subject)
    }

    fn kind_switch(&mut self, key: &str, k: &KindConfig) -> Option<KindSwitch> {
        let before = self.problems_len();
        let field = self.field(&format!("{key}.field"), &k.field);
        let mut values = HashMap::new();
        let mut shown = Vec::new();
        if k.values.is_empty() {
            self.problems.push(
                &format!("{key}.values"),
                "must map at least one type value to a kind",
            );
        }
        for (value, target) in &k.values {
            let at = format!("{key}.values.{}", segment(value));
            shown.push(value.clone());
            let target = match target {
                config::KindTarget::Kind(name) => match name.parse::<EventKind>() {
                    Ok(kind) if kind.is_hub_notice() => {
                        self.problems.push(
                            &at,
                            "this kind is reserved for notices the hub itself sends",
                        );
                        None
                    }
                    Ok(kind) => Some(KindTarget::Kind(kind)),
                    Err(e) => {
                        self.problems.push(&at, e.to_string());
                        None
                    }
                },
                config::KindTarget::Switch(next) => self
                    .kind_switch(&at, next)
                    .map(|s| KindTarget::Switch(Box::new(s))),
            };
            let normalised = value.trim().to_lowercase();
            if let Some(target) = target
                && values.insert(normalised, target).is_some()
            {
                self.problems
                    .push(&at, "is listed twice (type values match ignoring case)");
            }
        }
        let mut ignore = HashSet::new();
        for (i, value) in k.ignore.iter().enumerate() {
            let normalised = value.trim().to_lowercase();
            if values.contains_key(&normalised) {
                self.problems.push(
                    &format!("{key}.ignore[{i}]"),
                    "is also mapped in values: a type value is either mapped or ignored",
                );
            }
            ignore.insert(normalised);
            shown.push(value.clone());
        }
        if self.problems_len() > before {
            return None;
        }
        Some(KindSwitch {
            field: field?,
            values,
            ignore,
            shown,
        })
    }

    fn event(
        &mut self,
        key: &str,
        kind: EventKind,
        e: &config::EventConfig,
    ) -> Option<EventMapping> {
        let before = self.problems_len();
        let Some(contract) = Payload::of(kind) else {
            self.problems
                .push(key, "this kind's payload cannot be mapped field by field");
            return None;
        };
        let none = |_: &Value| Ok(());
        let occurred_at = e
            .occurred_at
            .as_ref()
            .and_then(|r| self.rule(&format!("{key}.occurred_at"), r, &Shape::DateTime, &none));
        let only_if = e
            .only_if
            .as_ref()
            .and_then(|c| self.condition(&format!("{key}.only_if"), c));
        let mut payload = Vec::new();
        for (name, rule) in &e.payload {
            let at = format!("{key}.payload.{}", segment(name));
            let Some(shape) = contract.fields.get(name) else {
                let mut known: Vec<&str> = contract.fields.keys().map(String::as_str).collect();
                known.sort_unstable();
                self.problems.push(
                    &at,
                    format!(
                        "`{kind}` has no payload field `{name}`: its fields are {}",
                        known.join(", ")
                    ),
                );
                continue;
            };
            let check = |v: &Value| contract::probe(kind, name, v);
            if let Some(rule) = self.rule(&at, rule, shape, &check) {
                payload.push(PayloadField {
                    name: name.clone(),
                    rule,
                    shape: shape.clone(),
                    required: contract.required.contains(name),
                    key: at,
                });
            }
        }
        for required in &contract.required {
            if !e.payload.contains_key(required) {
                self.problems.push(
                    &format!("{key}.payload.{}", segment(required)),
                    format!("is required by `{kind}` but not mapped"),
                );
            }
        }
        if self.problems_len() > before {
            return None;
        }
        Some(EventMapping {
            occurred_at,
            only_if,
            payload,
        })
    }

    fn condition(&mut self, key: &str, c: &config::Condition) -> Option<Condition> {
        let field = self.field(&format!("{key}.field"), &c.field);
        let mut tests = Vec::new();
        if let Some(limit) = c.below {
            tests.push(Test::Below(limit));
        }
        if let Some(limit) = c.above {
            tests.push(Test::Above(limit));
        }
        if let Some(value) = &c.equals {
            tests.push(Test::OneOf(vec![value.trim().to_lowercase()]));
        }
        if let Some(values) = &c.one_of {
            if values.is_empty() {
                self.problems
                    .push(&format!("{key}.one_of"), "must list at least one value");
            }
            tests.push(Test::OneOf(
                values.iter().map(|v| v.trim().to_lowercase()).collect(),
            ));
        }
        if let Some(present) = c.present {
            tests.push(Test::Present(present));
        }
        if tests.is_empty() {
            self.problems.push(
                key,
                "needs a test besides field: below, above, equals, one_of or present",
            );
            return None;
        }
        Some(Condition {
            field: field?,
            tests,
        })
    }
}

#[cfg(test)]
mod tests;
