//! Compiled rules: where one value comes from (a field, a code list, a template, a constant),
//! which contract kind a record is, and whether a record is wanted at all (`only_if`).
//!
//! Everything taken from the configuration (constants, the values of a `map`, templates) was
//! checked against the contract when the mapping was built; only what a record holds is read
//! and checked per record.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use throughline_contracts::event::FieldProblem;
use throughline_contracts::kind::EventKind;

use crate::coerce::{self, Formats};
use crate::config::InputFormat;
use crate::contract::Shape;
use crate::records::{Field, Record};

/// Where one value comes from.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    Constant(Value),
    Field {
        field: Field,
        map: Option<ValueMap>,
        when_present: Option<Template>,
        when_absent: Option<Template>,
    },
}

/// What a rule read from a record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Read {
    Absent,
    /// From the record, still to be read as the target shape.
    Raw(Value),
    /// Built from the configuration (a constant, a mapped code, a template): in the contract's
    /// shape already.
    Ready(Value),
}

impl Rule {
    /// The field the rule reads, if any.
    pub(crate) fn field(&self) -> Option<&Field> {
        match self {
            Rule::Constant(_) => None,
            Rule::Field { field, .. } => Some(field),
        }
    }

    /// Reads the rule's value from `record`. `key` names a constant's problems (it has no
    /// source field).
    pub(crate) fn read(&self, record: &Record<'_>, key: &str) -> Result<Read, FieldProblem> {
        let (field, map, when_present, when_absent) = match self {
            Rule::Constant(v) => return Ok(Read::Ready(v.clone())),
            Rule::Field {
                field,
                map,
                when_present,
                when_absent,
            } => (field, map, when_present, when_absent),
        };
        let problem = |reason: String| FieldProblem::new(self.name(record, key), reason);
        let Some(found) = record.get(field) else {
            return match when_absent {
                Some(template) => template.fill(record, None),
                None => Ok(Read::Absent),
            };
        };
        let template = match (map, when_present) {
            (Some(map), _) => map.get(&found).map_err(problem)?,
            (None, Some(template)) => template,
            (None, None) => return Ok(Read::Raw(found)),
        };
        let this = Value::String(coerce::text(&found).map_err(problem)?);
        template.fill(record, Some(&this))
    }

    /// Reads the rule's value as `shape`: `None` when absent.
    pub(crate) fn value(
        &self,
        record: &Record<'_>,
        key: &str,
        shape: &Shape,
        formats: &Formats,
    ) -> Result<Option<Value>, FieldProblem> {
        match self.read(record, key)? {
            Read::Absent => Ok(None),
            Read::Ready(v) => Ok(Some(v)),
            Read::Raw(v) => coerce::coerce(&v, shape, formats)
                .map(Some)
                .map_err(|reason| FieldProblem::new(self.name(record, key), reason)),
        }
    }

    /// Where a problem with this rule's value is reported.
    pub(crate) fn name(&self, record: &Record<'_>, config_key: &str) -> String {
        match self.field() {
            Some(f) => record.name(f),
            None => config_key.to_owned(),
        }
    }
}

/// A value written in the configuration that may take values from the record: the string `"$"`
/// is the rule's own field as sent, a string `"$(/pointer)"` (or `"$(Column)"`) another field's.
/// (Not `${...}`: the hub's configuration reads that as an environment variable.)
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    Literal(Value),
    This,
    Field(Field),
    Array(Vec<Template>),
    Object(Vec<(String, Template)>),
}

impl Template {
    /// Reads a configured value; `this_allowed` is false where there is no value of the rule's
    /// own field (`when_absent`).
    pub(crate) fn parse(
        value: &Value,
        input: InputFormat,
        this_allowed: bool,
    ) -> Result<Template, String> {
        Ok(match value {
            Value::String(s) if s == "$" => {
                if !this_allowed {
                    return Err("uses `$`, the field's value, where the field has none".to_owned());
                }
                Template::This
            }
            Value::String(s) if s.starts_with("$(") && s.ends_with(')') => Template::Field(
                Field::parse(input, &s[2..s.len() - 1])
                    .map_err(|reason| format!("refers to a field wrongly: it {reason}"))?,
            ),
            Value::Array(items) => Template::Array(
                items
                    .iter()
                    .map(|i| Template::parse(i, input, this_allowed))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Template::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Template::parse(v, input, this_allowed)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => Template::Literal(other.clone()),
        })
    }

    /// The fields it refers to.
    pub(crate) fn fields(&self) -> Vec<&Field> {
        match self {
            Template::Field(f) => vec![f],
            Template::Array(items) => items.iter().flat_map(Template::fields).collect(),
            Template::Object(entries) => entries.iter().flat_map(|(_, t)| t.fields()).collect(),
            Template::Literal(_) | Template::This => Vec::new(),
        }
    }

    /// The value with every placeholder filled from `fill`.
    fn build(
        &self,
        fill: &mut dyn FnMut(Option<&Field>) -> Result<Value, FieldProblem>,
    ) -> Result<Value, FieldProblem> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::This => fill(None)?,
            Template::Field(f) => fill(Some(f))?,
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.build(fill))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.build(fill)?)))
                    .collect::<Result<_, FieldProblem>>()?,
            ),
        })
    }

    /// Fills the template from `record`. A template that is only a placeholder gives the field
    /// as sent (still to be read as the target shape); any other is in the contract's shape.
    fn fill(&self, record: &Record<'_>, this: Option<&Value>) -> Result<Read, FieldProblem> {
        let value = self.build(&mut |field| match field {
            None => Ok(this.cloned().unwrap_or(Value::Null)),
            Some(f) => {
                let problem = |reason: String| FieldProblem::new(record.name(f), reason);
                let found = record.get(f).ok_or_else(|| {
                    problem("is required: the mapping builds a value with it".to_owned())
                })?;
                // Placed in text, as `$` is: a URN sent as a number is still a URN.
                coerce::text(&found).map(Value::String).map_err(problem)
            }
        })?;
        Ok(match self {
            Template::This | Template::Field(_) => Read::Raw(value),
            _ => Read::Ready(value),
        })
    }

    /// The template filled with `sample` everywhere, to try against the contract.
    pub(crate) fn sample(&self, sample: &Value) -> Value {
        self.build(&mut |_| Ok(sample.clone()))
            .expect("filling with a sample cannot fail")
    }

    /// Whether it takes nothing from the record.
    pub(crate) fn is_literal(&self) -> bool {
        match self {
            Template::Literal(_) => true,
            Template::This | Template::Field(_) => false,
            Template::Array(items) => items.iter().all(Template::is_literal),
            Template::Object(entries) => entries.iter().all(|(_, t)| t.is_literal()),
        }
    }
}

/// A system's codes and what each stands for; codes match ignoring case.
#[derive(Debug, Clone)]
pub(crate) struct ValueMap {
    entries: HashMap<String, Template>,
    /// As configured, for problems.
    codes: Vec<String>,
}

impl ValueMap {
    pub(crate) fn new(entries: impl IntoIterator<Item = (String, Template)>) -> Self {
        let mut map = Self {
            entries: HashMap::new(),
            codes: Vec::new(),
        };
        for (code, value) in entries {
            map.entries.insert(code.trim().to_lowercase(), value);
            map.codes.push(code);
        }
        map
    }

    fn get(&self, found: &Value) -> Result<&Template, String> {
        let code = coerce::text(found)?;
        self.entries
            .get(&code.trim().to_lowercase())
            .ok_or_else(|| {
                format!(
                    "is not one of the codes mapped for it ({})",
                    self.codes.join(", ")
                )
            })
    }
}

/// Which contract kind a record is: a switch on one field, perhaps switching again on another.
#[derive(Debug, Clone)]
pub(crate) struct KindSwitch {
    pub field: Field,
    pub values: HashMap<String, KindTarget>,
    pub ignore: HashSet<String>,
    /// The mapped and ignored values as configured, for problems.
    pub shown: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum KindTarget {
    Kind(EventKind),
    Switch(Box<KindSwitch>),
}

impl KindSwitch {
    /// The record's kind, or `None` when its type is ignored.
    pub(crate) fn resolve(&self, record: &Record<'_>) -> Result<Option<EventKind>, FieldProblem> {
        let problem = |reason: String| FieldProblem::new(record.name(&self.field), reason);
        let found = record
            .get(&self.field)
            .ok_or_else(|| problem("is required: it names the record's event type".to_owned()))?;
        let value = coerce::text(&found).map_err(problem)?;
        let key = value.trim().to_lowercase();
        if self.ignore.contains(&key) {
            return Ok(None);
        }
        match self.values.get(&key) {
            Some(KindTarget::Kind(kind)) => Ok(Some(*kind)),
            Some(KindTarget::Switch(next)) => next.resolve(record),
            None => Err(problem(format!(
                "is not mapped to an event kind: expected one of {}",
                self.shown.join(", ")
            ))),
        }
    }
}

/// `only_if`: the tests one field must pass for the record to yield its event.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub field: Field,
    pub tests: Vec<Test>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Below(f64),
    Above(f64),
    /// Lowercased.
    OneOf(Vec<String>),
    Present(bool),
}

impl Condition {
    /// Whether the record passes. A comparison with an absent value is a problem: the record
    /// cannot be judged, and quietly dropping it could lose a concern.
    pub(crate) fn holds(&self, record: &Record<'_>) -> Result<bool, FieldProblem> {
        let found = record.get(&self.field);
        let problem = |reason: String| FieldProblem::new(record.name(&self.field), reason);
        let mut holds = true;
        for test in &self.tests {
            holds &= match (test, &found) {
                (Test::Present(want), found) => found.is_some() == *want,
                (_, None) => {
                    return Err(problem(
                        "is required: it decides whether the record yields an event".to_owned(),
                    ));
                }
                (Test::Below(limit), Some(v)) => coerce::number(v).map_err(problem)? < *limit,
                (Test::Above(limit), Some(v)) => coerce::number(v).map_err(problem)? > *limit,
                (Test::OneOf(values), Some(v)) => {
                    let text = coerce::text(v).map_err(problem)?.to_lowercase();
                    values.contains(&text)
                }
            };
        }
        Ok(holds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ptr(p: &str) -> Field {
        Field::Pointer(p.into())
    }

    fn record(v: &Value) -> Record<'_> {
        Record::Json {
            at: String::new(),
            value: v,
        }
    }

    fn template(v: Value, this_allowed: bool) -> Template {
        Template::parse(&v, InputFormat::Json, this_allowed).unwrap()
    }

    #[test]
    fn a_field_with_templates() {
        let rule = Rule::Field {
            field: ptr("/dest/urn"),
            map: None,
            when_present: Some(template(json!({"type": "school", "school_urn": "$"}), true)),
            when_absent: Some(template(json!({"type": "unknown"}), false)),
        };
        let v = json!({"dest": {"urn": 100001}});
        assert_eq!(
            rule.read(&record(&v), "k").unwrap(),
            Read::Ready(json!({"type": "school", "school_urn": "100001"}))
        );
        let v = json!({"dest": null});
        assert_eq!(
            rule.read(&record(&v), "k").unwrap(),
            Read::Ready(json!({"type": "unknown"}))
        );
    }

    #[test]
    fn a_map_whose_values_take_other_fields() {
        let rule = Rule::Field {
            field: ptr("/dest/type"),
            map: Some(ValueMap::new([
                (
                    "SCHOOL".to_owned(),
                    template(
                        json!({"type": "school", "school_urn": "$(/dest/urn)"}),
                        true,
                    ),
                ),
                (
                    "EHE".to_owned(),
                    template(json!({"type": "elective_home_education"}), true),
                ),
                ("F".to_owned(), template(json!("female"), true)),
            ])),
            when_present: None,
            when_absent: None,
        };
        let read = |v: Value| rule.read(&record(&v), "k");
        assert_eq!(
            read(json!({"dest": {"type": "school", "urn": "100002"}})).unwrap(),
            Read::Ready(json!({"type": "school", "school_urn": "100002"}))
        );
        assert_eq!(
            read(json!({"dest": {"type": "ehe"}})).unwrap(),
            Read::Ready(json!({"type": "elective_home_education"}))
        );
        assert_eq!(
            read(json!({"dest": {"type": "F"}})).unwrap(),
            Read::Ready(json!("female"))
        );
        // The field the template takes is missing: the problem names it.
        assert_eq!(
            read(json!({"dest": {"type": "SCHOOL"}})).unwrap_err(),
            FieldProblem::new(
                "/dest/urn",
                "is required: the mapping builds a value with it"
            )
        );
        let err = read(json!({"dest": {"type": "Ada"}})).unwrap_err();
        assert_eq!(err.field, "/dest/type");
        assert_eq!(
            err.reason,
            "is not one of the codes mapped for it (SCHOOL, EHE, F)"
        );
        assert_eq!(read(json!({})).unwrap(), Read::Absent);
    }

    #[test]
    fn templates_are_parsed() {
        assert_eq!(template(json!("$"), true), Template::This);
        assert_eq!(
            template(json!("$(/a/b)"), true),
            Template::Field(ptr("/a/b"))
        );
        assert!(template(json!({"a": ["x", 1]}), false).is_literal());
        assert!(!template(json!({"a": ["$"]}), true).is_literal());
        assert!(Template::parse(&json!({"a": "$"}), InputFormat::Json, false).is_err());
        assert!(Template::parse(&json!("$(a)"), InputFormat::Json, true).is_err());
        let csv = Template::parse(&json!("$(Destination URN)"), InputFormat::Csv, true).unwrap();
        assert_eq!(csv.fields().len(), 1);
        assert_eq!(
            template(json!({"t": "$", "u": "$(/x)"}), true).sample(&json!("0")),
            json!({"t": "0", "u": "0"})
        );
    }

    #[test]
    fn kinds_switch_and_ignore() {
        let exclusion = KindSwitch {
            field: ptr("/category"),
            values: [(
                "fixed".to_owned(),
                KindTarget::Kind(EventKind::ExclusionSuspension),
            )]
            .into(),
            ignore: HashSet::new(),
            shown: vec!["FIXED".into()],
        };
        let switch = KindSwitch {
            field: ptr("/type"),
            values: [
                (
                    "pupiljoined".to_owned(),
                    KindTarget::Kind(EventKind::SchoolJoined),
                ),
                (
                    "exclusion".to_owned(),
                    KindTarget::Switch(Box::new(exclusion)),
                ),
            ]
            .into(),
            ignore: ["pupilupdated".to_owned()].into(),
            shown: vec![
                "PupilJoined".into(),
                "Exclusion".into(),
                "PupilUpdated".into(),
            ],
        };
        let kind = |v: Value| switch.resolve(&record(&v));
        assert_eq!(
            kind(json!({"type": "PupilJoined"})).unwrap(),
            Some(EventKind::SchoolJoined)
        );
        assert_eq!(kind(json!({"type": "PupilUpdated"})).unwrap(), None);
        assert_eq!(
            kind(json!({"type": "Exclusion", "category": "fixed"})).unwrap(),
            Some(EventKind::ExclusionSuspension)
        );
        let p = kind(json!({"type": "Exclusion", "category": "Ada"})).unwrap_err();
        assert_eq!(p.field, "/category");
        assert_eq!(
            p.reason,
            "is not mapped to an event kind: expected one of FIXED"
        );
        let p = kind(json!({"type": "PupilLeft"})).unwrap_err();
        assert!(p.reason.starts_with("is not mapped to an event kind"));
        assert!(!p.reason.contains("PupilLeft"));
        assert_eq!(kind(json!({})).unwrap_err().field, "/type");
    }

    #[test]
    fn conditions() {
        let below = Condition {
            field: ptr("/pct"),
            tests: vec![Test::Below(90.0)],
        };
        let holds = |c: &Condition, v: Value| c.holds(&record(&v));
        assert!(holds(&below, json!({"pct": 85.5})).unwrap());
        assert!(holds(&below, json!({"pct": "85.5%"})).unwrap());
        assert!(!holds(&below, json!({"pct": 90})).unwrap());
        assert_eq!(holds(&below, json!({})).unwrap_err().field, "/pct");
        assert_eq!(
            holds(&below, json!({"pct": "n/a"})).unwrap_err().reason,
            "must be a number"
        );
        let present = Condition {
            field: ptr("/x"),
            tests: vec![Test::Present(false)],
        };
        assert!(holds(&present, json!({})).unwrap());
        assert!(!holds(&present, json!({"x": 1})).unwrap());
        let one_of = Condition {
            field: ptr("/s"),
            tests: vec![Test::OneOf(vec!["open".into()]), Test::Above(0.0)],
        };
        assert!(
            holds(&one_of, json!({"s": "OPEN"})).is_err(),
            "not a number"
        );
    }
}
