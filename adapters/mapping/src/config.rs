//! The configuration of one mapping, as written in the hub's TOML under `[[mappings]]`. Every
//! field's doc comment is its reference documentation (`docs/adapters/mapping.md`).
//!
//! Nothing here is checked beyond its shape: [`Mapping::build`](crate::Mapping::build) checks
//! it against the contracts and names every problem by its key.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One `[[mappings]]` table: how one system's records become canonical events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// The mapping's id; a source reads it with `format = "mapping:<id>"`. Lowercase letters,
    /// digits, `-`, `_` and `.`.
    pub id: String,
    /// `json` (one record, an array of records, or an array at `records`) or `csv` (a header
    /// line naming the columns, then one record per row).
    pub input: InputFormat,
    /// JSON only: a JSON pointer to the array of records, e.g. `/events`. Without it the body is
    /// one record, or an array of records.
    #[serde(default)]
    pub records: Option<String>,
    /// How the system writes dates, as chrono formats tried in order, e.g.
    /// `["%d/%m/%Y", "%Y-%m-%d"]`. Default: `["%Y-%m-%d"]`.
    #[serde(default)]
    pub date_formats: Option<Vec<String>>,
    /// How the system writes a date and time without an offset (read as London time), tried
    /// after RFC 3339, e.g. `["%d/%m/%Y %H:%M"]`. Default: `["%Y-%m-%dT%H:%M:%S%.f",
    /// "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]`.
    #[serde(default)]
    pub datetime_formats: Option<Vec<String>>,
    /// Where the child's identifiers and demographic evidence are in a record.
    pub subject: SubjectConfig,
    /// Which field names the record's event type, and which contract kind each type is.
    pub kind: KindConfig,
    /// Per contract kind (`[mappings.events."school.left"]`): where its payload comes from.
    #[serde(default)]
    pub events: BTreeMap<String, EventConfig>,
}

/// What the body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    Json,
    Csv,
}

/// `[mappings.subject]`: JSON pointers (json) or column names (csv). At least one identifier.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectConfig {
    /// The Unique Pupil Number.
    #[serde(default)]
    pub upn: Option<FieldRule>,
    /// The NHS number.
    #[serde(default)]
    pub nhs_number: Option<FieldRule>,
    /// The system's own id for the child (MIS pupil id, LA child id): a local id scoped by the
    /// source's agency and `system`.
    #[serde(default)]
    pub local_id: Option<FieldRule>,
    #[serde(default)]
    pub given_name: Option<FieldRule>,
    #[serde(default)]
    pub family_name: Option<FieldRule>,
    /// A date, read with `date_formats`.
    #[serde(default)]
    pub date_of_birth: Option<FieldRule>,
    /// `female`, `male`, `other` or `not_known`; map the system's codes with `map`.
    #[serde(default)]
    pub sex: Option<FieldRule>,
    #[serde(default)]
    pub postcode: Option<FieldRule>,
}

/// `[mappings.kind]`: which field names the event type, and what each type becomes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindConfig {
    /// The field naming the system's event type.
    pub field: String,
    /// Per type value (matched case-insensitively): a contract kind, e.g.
    /// `PupilLeft = "school.left"`, or a further switch on another field, e.g.
    /// `Exclusion = { field = "/category", values = { FIXED = "exclusion.suspension" } }`.
    #[serde(default)]
    pub values: BTreeMap<String, KindTarget>,
    /// Type values that yield no event (any other unmapped value is a rejection).
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// What one type value becomes.
#[derive(Debug, Clone)]
pub enum KindTarget {
    /// A contract kind's name.
    Kind(String),
    /// A switch on another field.
    Switch(Box<KindConfig>),
}

/// `[mappings.events."<kind>"]`: one contract kind's payload.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// When the event happened: RFC 3339, a date and time in London (`datetime_formats`), or a
    /// date (00:00 in London). Default: the earliest required date in the payload at 00:00 in
    /// London, or the time the hub received the input.
    #[serde(default)]
    pub occurred_at: Option<FieldRule>,
    /// Only records meeting this condition yield the event; others yield nothing (they are not
    /// rejected).
    #[serde(default)]
    pub only_if: Option<Condition>,
    /// Per payload field of the contract kind: where its value comes from.
    #[serde(default)]
    pub payload: BTreeMap<String, FieldRule>,
}

/// `only_if`: a test of one field. Every test given must hold. A test other than `present` on
/// a field that is absent is a rejection (the record cannot be judged), not a filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    /// Holds when the field is a number less than this (a trailing `%` is allowed).
    #[serde(default)]
    pub below: Option<f64>,
    /// Holds when the field is a number greater than this.
    #[serde(default)]
    pub above: Option<f64>,
    /// Holds when the field equals this text (case-insensitive).
    #[serde(default)]
    pub equals: Option<String>,
    /// Holds when the field is one of these (case-insensitive).
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// `true`: holds when the field has a value; `false`: when it is absent or blank.
    #[serde(default)]
    pub present: Option<bool>,
}

/// Where one canonical value comes from: `"/pointer"` or `"Column"` for a field as it is, or a
/// table for more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldRule {
    /// The source field (a JSON pointer, or a column name).
    pub field: Option<String>,
    /// A constant, instead of a field.
    pub value: Option<Value>,
    /// The system's codes (matched case-insensitively) and the canonical value each stands for.
    /// A value not listed is a rejection.
    pub map: Option<BTreeMap<String, Value>>,
    /// Used when the field has a value; every string `"$"` in it is replaced by that value.
    pub when_present: Option<Value>,
    /// Used when the field is absent, null or blank.
    pub when_absent: Option<Value>,
}

/// [`FieldRule`]'s table form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldRuleTable {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    map: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    when_present: Option<Value>,
    #[serde(default)]
    when_absent: Option<Value>,
}

impl FieldRule {
    /// A rule that reads `field` as it is.
    pub fn field(field: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::default()
        }
    }
}

/// Reads "a string, or a table of `T`" into `Out`: serde's untagged enums would lose the
/// table's own errors (an unknown key) behind "did not match any variant".
struct StringOrTable<T, Out> {
    expecting: &'static str,
    from_str: fn(String) -> Out,
    from_table: fn(T) -> Out,
}

impl<'de, T: Deserialize<'de>, Out> Visitor<'de> for StringOrTable<T, Out> {
    type Value = Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Out, E> {
        Ok((self.from_str)(v.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Out, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(self.from_table)
    }
}

impl<'de> Deserialize<'de> for FieldRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringOrTable::<FieldRuleTable, FieldRule> {
            expecting: "a field name, or a table with field, value, map, when_present or when_absent",
            from_str: FieldRule::field,
            from_table: |t| FieldRule {
                field: t.field,
                value: t.value,
                map: t.map,
                when_present: t.when_present,
                when_absent: t.when_absent,
            },
        })
    }
}

impl<'de> Deserialize<'de> for KindTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringOrTable::<KindConfig, KindTarget> {
            expecting: "an event kind's name, or a table with field, values and ignore",
            from_str: KindTarget::Kind,
            from_table: |t| KindTarget::Switch(Box::new(t)),
        })
    }
}
