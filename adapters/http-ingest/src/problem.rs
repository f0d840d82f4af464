//! Turning parser errors into [`FieldProblem`]s that name the field and never quote the input.
//!
//! Why a module of its own: both formats carry children's data, and every reason written here
//! ends up in an HTTP response, a log line or a quarantine record. serde quotes the values it
//! rejects: strings in double quotes (`string "943..."`), numbers, booleans, characters and enum
//! variants in backticks (`integer `9434765919``, `unknown variant `Ada``). [`scrub`] removes
//! both kinds of quoted value, keeping only what the schema itself names (field names and the
//! list of expected variants), so a reason still says what was expected.

use serde_json::Value;
use serde_path_to_error::Segment;
use throughline_contracts::event::FieldProblem;
use throughline_contracts::redact::redact_values;

/// serde's message with every value it quotes removed (see `contracts::redact`).
pub(crate) fn scrub(message: &str) -> String {
    redact_values(message)
}

/// The problem for a serde error at `err.path()`, below the field `prefix`.
///
/// `missing field` and `unknown field` errors are reported on the field itself (serde reports
/// them on the object that lacks or has it), as `is required` and `is not a recognised field`.
pub(crate) fn from_path_error(
    prefix: &str,
    err: &serde_path_to_error::Error<serde_json::Error>,
) -> FieldProblem {
    let segments: Vec<&Segment> = err.path().iter().collect();
    let message = err.inner().to_string();
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let object = join(prefix, &render(&segments));
        return FieldProblem::new(join(&object, name), "is required");
    }
    if let Some((name, _)) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    {
        // The path already ends at the unknown key (serde_path_to_error records the key before
        // the field identifier rejects it).
        let object = match segments.split_last() {
            Some((Segment::Map { key }, parent)) if key == name => parent,
            _ => &segments[..],
        };
        let object = join(prefix, &render(object));
        return if is_name_shaped(name) {
            FieldProblem::new(join(&object, name), "is not a recognised field")
        } else {
            FieldProblem::new(
                object,
                "has a field that is not recognised (its name does not look like a field name, so \
                 it is not shown)",
            )
        };
    }
    FieldProblem::new(join(prefix, &render(&segments)), scrub(&message))
}

/// `a.b[2].c`, or `""` for the root. A key that does not look like a field name is shown as `?`:
/// keys come from the input, and only names from the schema are safe to repeat.
fn render(path: &[&Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => push_name(&mut out, key),
            Segment::Enum { variant } => push_name(&mut out, variant),
            Segment::Unknown => push_name(&mut out, "?"),
        }
    }
    out
}

fn push_name(out: &mut String, name: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(if is_name_shaped(name) || name == "?" {
        name
    } else {
        "?"
    });
}

/// `prefix.field`, `prefix[2]` or whichever of the two is not empty.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (_, true) => prefix.to_owned(),
        _ if field.starts_with('[') => format!("{prefix}{field}"),
        _ => format!("{prefix}.{field}"),
    }
}

/// Whether `name` looks like a field name (a letter, then up to 63 letters, digits, `_`, `-` or
/// `.`) and so can be repeated in a problem. Names that do not (a number, a date, a person's
/// name with a space) may be child data that landed where a name was expected: an object keyed
/// by NHS number, or a CSV extract sent without its header line.
pub(crate) fn is_name_shaped(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// What kind of JSON value was found, in the words the identifier errors use.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_handles_roots_and_indices() {
        assert_eq!(join("", "subject"), "subject");
        assert_eq!(join("[2]", ""), "[2]");
        assert_eq!(join("[2]", "subject.upn"), "[2].subject.upn");
        assert_eq!(join("payload", "[0]"), "payload[0]");
    }

    #[test]
    fn names_that_may_be_data_are_not_name_shaped() {
        assert!(is_name_shaped("nhs_number"));
        assert!(is_name_shaped("placement.type-2"));
        assert!(!is_name_shaped("Ada Lovelace"));
        assert!(!is_name_shaped("9434765919"));
        assert!(!is_name_shaped("01/02/2015"));
        assert!(!is_name_shaped(""));
        assert!(!is_name_shaped(&"a".repeat(65)));
    }
}
