//! What each event kind's payload needs, read from the contracts' own JSON Schema.
//!
//! Why the schema and not a table here: the contracts derive `JsonSchema`, so every kind added to
//! the contracts (with its fields, which are required, and their types) is mappable the day it is
//! added, and a mapping can never drift from the payload it fills. The schema tells, per field,
//! whether it is required and what shape of value it takes, which is how a mapping knows to read
//! `01/09/2026` as a date or `"12"` as a number without being told.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use throughline_contracts::kind::{EventBody, EventKind};
use throughline_contracts::redact::redact_values;

/// The shape of value a field takes, as far as reading a system's text is concerned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Date,
    DateTime,
    Integer,
    Number,
    Boolean,
    Text,
    /// One of a fixed list of codes, e.g. `routine`, `urgent`, `emergency`.
    Choice(Vec<String>),
    /// Anything else (an object such as a destination): passed to the contract as it is.
    Other,
}

/// One kind's payload: its fields and which of them are required.
#[derive(Debug, Clone, Default)]
pub(crate) struct Payload {
    pub fields: BTreeMap<String, Shape>,
    pub required: BTreeSet<String>,
}

impl Payload {
    /// The payload for `kind`, or `None` for a kind whose payload is not an object of fields.
    pub(crate) fn of(kind: EventKind) -> Option<&'static Payload> {
        static PAYLOADS: OnceLock<HashMap<String, Payload>> = OnceLock::new();
        PAYLOADS.get_or_init(read_payloads).get(kind.as_str())
    }
}

/// Reads every kind's payload from the schema of [`EventBody`]: a `oneOf` of
/// `{"kind": {"const": name}, "payload": {"$ref": ...}}`.
fn read_payloads() -> HashMap<String, Payload> {
    let schema =
        serde_json::to_value(schemars::schema_for!(EventBody)).expect("a schema is always JSON");
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = HashMap::new();
    for variant in schema
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let properties = &variant["properties"];
        let Some(kind) = properties["kind"]["const"].as_str() else {
            continue;
        };
        let payload = resolve(&properties["payload"], &defs);
        let fields = payload["properties"]
            .as_object()
            .map(|p| {
                p.iter()
                    .map(|(name, s)| (name.clone(), shape(s, &defs)))
                    .collect()
            })
            .unwrap_or_default();
        let required = payload["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        out.insert(kind.to_owned(), Payload { fields, required });
    }
    out
}

/// The schema a `$ref` points at (or the schema itself).
fn resolve<'s>(schema: &'s Value, defs: &'s Map<String, Value>) -> &'s Value {
    match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => defs.get(name).unwrap_or(schema),
        None => schema,
    }
}

fn shape(schema: &Value, defs: &Map<String, Value>) -> Shape {
    let schema = resolve(schema, defs);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return choice(values.iter());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let real: Vec<&Value> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [one] = real.as_slice() {
                return shape(one, defs);
            }
            // A code list whose codes carry descriptions is a oneOf of consts.
            if real
                .iter()
                .all(|b| b.get("const").is_some_and(Value::is_string))
            {
                return choice(real.iter().map(|b| &b["const"]));
            }
            return Shape::Other;
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    match (
        types.as_slice(),
        schema.get("format").and_then(Value::as_str),
    ) {
        (["string"], Some("date")) => Shape::Date,
        (["string"], Some("date-time")) => Shape::DateTime,
        (["string"], _) => Shape::Text,
        (["integer"], _) => Shape::Integer,
        (["number"], _) => Shape::Number,
        (["boolean"], _) => Shape::Boolean,
        _ => Shape::Other,
    }
}

fn choice<'v>(values: impl Iterator<Item = &'v Value>) -> Shape {
    Shape::Choice(
        values
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}

/// Tries `value` as payload field `name` of `kind`, alone: the contract reports every other
/// required field as missing, which is expected; anything wrong with `name` itself is not.
pub(crate) fn probe(kind: EventKind, name: &str, value: &Value) -> Result<(), String> {
    let body = json!({"kind": kind.as_str(), "payload": {name: value}});
    match serde_path_to_error::deserialize::<_, EventBody>(body) {
        Ok(_) => Ok(()),
        Err(e) => {
            let path = e.path().to_string();
            let own = format!("payload.{name}");
            if path == own || path.starts_with(&format!("{own}.")) {
                let message = e.inner().to_string();
                Err(format!(
                    "is not what `{kind}` takes here: {}",
                    redact_values(message.lines().next().unwrap_or_default())
                ))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(kind: &str) -> &'static Payload {
        Payload::of(kind.parse().unwrap()).unwrap()
    }

    #[test]
    fn every_kind_has_a_payload_with_fields() {
        for kind in EventKind::ALL {
            let p = Payload::of(*kind).unwrap_or_else(|| panic!("{kind} has no payload"));
            assert!(!p.fields.is_empty(), "{kind}");
            assert!(
                p.required.iter().all(|r| p.fields.contains_key(r)),
                "{kind}"
            );
        }
    }

    #[test]
    fn shapes_come_from_the_contract_types() {
        let left = payload("school.left");
        assert_eq!(left.fields["left_on"], Shape::Date);
        assert_eq!(left.fields["school_urn"], Shape::Text);
        assert_eq!(left.fields["destination"], Shape::Other);
        assert_eq!(
            left.required,
            ["destination", "left_on", "school_urn"]
                .map(String::from)
                .into()
        );

        let suspension = payload("exclusion.suspension");
        assert_eq!(suspension.fields["school_days"], Shape::Integer);
        assert_eq!(suspension.fields["reason_code"], Shape::Text);
        assert!(!suspension.required.contains("reason_code"));

        let referral = payload("referral.made");
        assert_eq!(
            referral.fields["urgency"],
            Shape::Choice(vec!["routine".into(), "urgent".into(), "emergency".into()])
        );
        assert_eq!(referral.fields["respond_by"], Shape::Date);
        assert_eq!(referral.fields["to_agency"], Shape::Text);
        assert!(!referral.required.contains("urgency"));

        let sen = payload("sen_support.started");
        assert!(
            matches!(&sen.fields["primary_need"], Shape::Choice(c) if c.contains(&"ASD".to_owned()))
        );

        let encounter = payload("nhs.admission");
        assert_eq!(encounter.fields["at"], Shape::DateTime);
        assert_eq!(encounter.fields["safeguarding_concern"], Shape::Boolean);
    }
}
