//! The years an event's dates may fall in: 1900 to 2200.
//!
//! Why bound them: chrono reads dates far outside any child's life (`+262142-06-01` is a valid
//! `NaiveDate`), and a deadline counted from one overflows the calendar: one such input used to
//! drop the connection that sent it and kill the broker source that read it. No record about a
//! child or the services working with one is dated before 1900 or after 2200, so a date outside
//! those years is a typing or encoding error, refused at the edge with the field named and never
//! its value. Every date is checked wherever it sits (payload, demographics), so a new kind's
//! date fields are covered without anyone remembering to add them here.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use serde_json::Value;

use super::FieldProblem;

/// The years an event's dates may fall in.
pub const EVENT_YEARS: RangeInclusive<i32> = 1900..=2200;

/// The reason given for a date outside [`EVENT_YEARS`].
pub(super) fn reason() -> String {
    format!(
        "must be a date in the years {} to {}",
        EVENT_YEARS.start(),
        EVENT_YEARS.end()
    )
}

/// The year a JSON string names, if it reads as a date (`2026-11-20`) or a date and time
/// (`2026-11-20T09:00:00Z`), the two forms the contracts' dates are written in.
fn year_of(s: &str) -> Option<i32> {
    // Cheap test first: every date starts with a digit or a year's sign.
    let first = s.as_bytes().first()?;
    if !(first.is_ascii_digit() || *first == b'+' || *first == b'-') {
        return None;
    }
    if let Ok(d) = s.parse::<NaiveDate>() {
        return Some(d.year());
    }
    s.parse::<DateTime<FixedOffset>>().ok().map(|t| t.year())
}

/// Adds a problem for every date in `value` (found at JSON path `path`) outside
/// [`EVENT_YEARS`].
pub(super) fn check(value: &Value, path: &mut String, problems: &mut Vec<FieldProblem>) {
    match value {
        Value::String(s) => {
            if year_of(s).is_some_and(|y| !EVENT_YEARS.contains(&y)) {
                problems.push(FieldProblem::new(path.clone(), reason()));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check(item, path, problems);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                check(item, path, problems);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(value: Value) -> Vec<FieldProblem> {
        let mut path = "payload".to_owned();
        let mut problems = Vec::new();
        check(&value, &mut path, &mut problems);
        problems
    }

    #[test]
    fn a_date_at_the_edge_of_chronos_range_is_named_without_its_value() {
        let found = problems(json!({"plan_id": "P1", "issued_on": "+262142-06-01"}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "payload.issued_on");
        assert!(!found[0].reason.contains("262142"));
    }

    #[test]
    fn the_first_and_last_years_are_in_and_the_years_beyond_are_out() {
        assert!(problems(json!({"on": "1900-01-01", "at": "2200-12-31T23:59:59Z"})).is_empty());
        let found =
            problems(json!({"on": "1899-12-31", "nested": [{"at": "2201-01-01T00:00:00Z"}]}));
        let mut fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["payload.nested[0].at", "payload.on"]);
    }

    #[test]
    fn text_that_is_not_a_date_is_left_alone() {
        assert!(
            problems(json!({"referral_id": "2026-REF", "reason": "-", "urn": "100001"})).is_empty()
        );
    }
}
