//! Turning what a system sends into what a contract field takes: `01/09/2026` into a date,
//! `"12"` into a number, `Urgent` into `urgent`, a date alone into 00:00 in London.
//!
//! Reasons say what was expected and never repeat the value: they end up in problem responses,
//! logs and quarantine records, and the value may be a child's date of birth.

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, Timelike, Utc};
use serde_json::{Number, Value};
use throughline_calendar::london;

use crate::contract::Shape;

/// The date formats used when a mapping names none.
pub(crate) const DEFAULT_DATE_FORMATS: &[&str] = &["%Y-%m-%d"];

/// The formats of a date and time without an offset used when a mapping names none.
pub(crate) const DEFAULT_DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// A mapping's date and date-time formats, already checked.
#[derive(Debug, Clone)]
pub(crate) struct Formats {
    pub dates: Vec<String>,
    pub datetimes: Vec<String>,
}

impl Default for Formats {
    fn default() -> Self {
        Self {
            dates: DEFAULT_DATE_FORMATS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            datetimes: DEFAULT_DATETIME_FORMATS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
        }
    }
}

impl Formats {
    /// "a date as DD/MM/YYYY or YYYY-MM-DD".
    fn date_reason(&self) -> String {
        format!("must be a date as {}", shown(&self.dates))
    }
}

/// A value as `shape` wants it, or why not.
pub(crate) fn coerce(value: &Value, shape: &Shape, formats: &Formats) -> Result<Value, String> {
    match shape {
        Shape::Other => Ok(value.clone()),
        Shape::Text => text(value).map(Value::String),
        Shape::Date => date(value, formats).map(|d| Value::String(d.to_string())),
        Shape::DateTime => datetime(value, formats)
            .map(|t| Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
        Shape::Integer => integer(value).map(Value::Number),
        Shape::Number => number(value).and_then(|n| {
            Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| "must be a finite number".to_owned())
        }),
        Shape::Boolean => boolean(value).map(Value::Bool),
        Shape::Choice(choices) => choice(value, choices).map(Value::String),
    }
}

/// A single value as text: a string as it is, a number or a boolean as written.
pub(crate) fn text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "must be a single value (text or a number), found {}",
            describe(other)
        )),
    }
}

/// A date in one of the mapping's date formats, or a date and time (its London date).
pub(crate) fn date(value: &Value, formats: &Formats) -> Result<NaiveDate, String> {
    let Value::String(s) = value else {
        return Err(format!(
            "{}, found {}",
            formats.date_reason(),
            describe(value)
        ));
    };
    formats
        .dates
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .or_else(|| instant(s, formats).ok().map(london::civil_date))
        .ok_or_else(|| formats.date_reason())
}

/// A date and time: RFC 3339, a date and time in London in one of the mapping's formats, or a
/// date alone (00:00 in London).
pub(crate) fn datetime(value: &Value, formats: &Formats) -> Result<DateTime<Utc>, String> {
    let reason = || {
        format!(
            "must be a date and time as RFC 3339 (2026-11-20T09:30:00Z), as {} (London time), or a date as {}",
            shown(&formats.datetimes),
            shown(&formats.dates)
        )
    };
    let Value::String(s) = value else {
        return Err(format!("{}, found {}", reason(), describe(value)));
    };
    instant(s, formats)
        .or_else(|()| {
            formats
                .dates
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                .map(london_midnight)
                .ok_or(())
        })
        .map_err(|()| reason())
}

/// RFC 3339, or a date and time in London in one of the formats.
fn instant(s: &str, formats: &Formats) -> Result<DateTime<Utc>, ()> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    formats
        .datetimes
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(london_wall_clock)
        .ok_or(())
}

/// 00:00 on `date` in London, as a UTC instant.
pub(crate) fn london_midnight(date: NaiveDate) -> DateTime<Utc> {
    london_wall_clock(date.and_time(chrono::NaiveTime::MIN))
}

/// A London wall-clock reading as a UTC instant. Read as summer time; kept only if summer time
/// is in force then. In the hour the clocks go back, the first of the two readings is taken.
fn london_wall_clock(wall: NaiveDateTime) -> DateTime<Utc> {
    let as_utc = wall.and_utc();
    let if_summer = as_utc - TimeDelta::hours(1);
    if london::is_summer_time(if_summer) {
        if_summer
    } else {
        as_utc
    }
}

/// A whole number, from a number or from text such as `12` or `12.0`.
fn integer(value: &Value) -> Result<Number, String> {
    const REASON: &str = "must be a whole number";
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.clone()),
        Value::Number(n) => n.as_f64().and_then(whole).ok_or_else(|| REASON.to_owned()),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                Ok(i.into())
            } else if let Ok(u) = s.parse::<u64>() {
                Ok(u.into())
            } else {
                s.parse::<f64>()
                    .ok()
                    .and_then(whole)
                    .ok_or_else(|| REASON.to_owned())
            }
        }
        other => Err(format!("{REASON}, found {}", describe(other))),
    }
}

fn whole(f: f64) -> Option<Number> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then(|| Number::from(f as i64))
}

/// A number, from a number or from text such as `87.5` or `87.5%`.
pub(crate) fn number(value: &Value) -> Result<f64, String> {
    const REASON: &str = "must be a number";
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| REASON.to_owned()),
        Value::String(s) => s
            .trim()
            .trim_end_matches('%')
            .trim_end()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| REASON.to_owned()),
        other => Err(format!("{REASON}, found {}", describe(other))),
    }
}

fn boolean(value: &Value) -> Result<bool, String> {
    const REASON: &str = "must be true or false (or yes/no, y/n, 1/0)";
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(true),
            "false" | "no" | "n" | "0" => Ok(false),
            _ => Err(REASON.to_owned()),
        },
        _ => Err(REASON.to_owned()),
    }
}

/// One of a code list, matched ignoring case, with spaces and hyphens read as `_`: `Young
/// Person` is `young_person`, `semh` is `SEMH`.
fn choice(value: &Value, choices: &[String]) -> Result<String, String> {
    let reason = || {
        format!(
            "must be one of {} (map other codes with `map`)",
            choices.join(", ")
        )
    };
    let given = text(value).map_err(|_| reason())?;
    let given = given.trim().replace([' ', '-'], "_");
    choices
        .iter()
        .find(|c| c.eq_ignore_ascii_case(&given))
        .cloned()
        .ok_or_else(reason)
}

/// What kind of JSON value was found, never the value.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a date format: valid chrono, and it reads back a date it wrote.
pub(crate) fn check_date_format(format: &str) -> Result<(), String> {
    check_items(format)?;
    let sample = NaiveDate::from_ymd_opt(2026, 11, 23).expect("a valid date");
    match NaiveDate::parse_from_str(&sample.format(format).to_string(), format) {
        Ok(d) if d == sample => Ok(()),
        _ => Err("must name a day, a month and a year (e.g. %d/%m/%Y)".to_owned()),
    }
}

/// Checks a date-and-time format: valid chrono, and it reads back the day, hour and minute it
/// wrote.
pub(crate) fn check_datetime_format(format: &str) -> Result<(), String> {
    check_items(format)?;
    let sample = NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(21, 41, 7))
        .expect("a valid time");
    match NaiveDateTime::parse_from_str(&sample.format(format).to_string(), format) {
        Ok(t) if t.date() == sample.date() && t.hour() == 21 && t.minute() == 41 => Ok(()),
        _ => Err(
            "must name a day, a month, a year, an hour and a minute (e.g. %d/%m/%Y %H:%M)"
                .to_owned(),
        ),
    }
}

fn check_items(format: &str) -> Result<(), String> {
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        Err("is not a valid chrono format (see chrono's strftime specifiers)".to_owned())
    } else {
        Ok(())
    }
}

/// Formats as people read them: `%d/%m/%Y` is `DD/MM/YYYY`.
fn shown(formats: &[String]) -> String {
    let shown: Vec<String> = formats
        .iter()
        .map(|f| {
            f.replace("%Y", "YYYY")
                .replace("%m", "MM")
                .replace("%d", "DD")
                .replace("%y", "YY")
                .replace("%b", "Mon")
                .replace("%e", "D")
                .replace("%H", "hh")
                .replace("%M", "mm")
                .replace("%S", "ss")
                .replace("%.f", "")
        })
        .collect();
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn uk() -> Formats {
        Formats {
            dates: vec!["%d/%m/%Y".into(), "%Y-%m-%d".into()],
            ..Formats::default()
        }
    }

    #[test]
    fn dates_in_each_format_and_from_a_date_and_time() {
        let d = |s: &str| date(&json!(s), &uk());
        assert_eq!(d("01/09/2026").unwrap().to_string(), "2026-09-01");
        assert_eq!(d("1/9/2026").unwrap().to_string(), "2026-09-01");
        assert_eq!(d("2026-09-01").unwrap().to_string(), "2026-09-01");
        // 23:30 UTC in summer is the next day in London.
        assert_eq!(d("2026-07-01T23:30:00Z").unwrap().to_string(), "2026-07-02");
        let err = d("31/02/2026").unwrap_err();
        assert_eq!(err, "must be a date as DD/MM/YYYY or YYYY-MM-DD");
        assert!(!err.contains("2026"));
        assert_eq!(
            date(&json!(20260901), &uk()).unwrap_err(),
            "must be a date as DD/MM/YYYY or YYYY-MM-DD, found a number"
        );
    }

    #[test]
    fn a_date_alone_is_midnight_in_london() {
        let f = Formats::default();
        let t = |s: &str| datetime(&json!(s), &f).unwrap().to_rfc3339();
        assert_eq!(t("2026-07-01"), "2026-06-30T23:00:00+00:00");
        assert_eq!(t("2026-12-01"), "2026-12-01T00:00:00+00:00");
        assert_eq!(t("2026-07-01T09:30:00"), "2026-07-01T08:30:00+00:00");
        assert_eq!(t("2026-07-01 09:30"), "2026-07-01T08:30:00+00:00");
        assert_eq!(
            t("2026-07-01T09:30:00.250"),
            "2026-07-01T08:30:00.250+00:00"
        );
        assert_eq!(t("2026-07-01T09:30:00+02:00"), "2026-07-01T07:30:00+00:00");
        // The clocks go forward at 01:00 UTC on the last Sunday of March (29 March 2026).
        assert_eq!(t("2026-03-29"), "2026-03-29T00:00:00+00:00");
        assert_eq!(t("2026-03-30"), "2026-03-29T23:00:00+00:00");
        assert!(datetime(&json!("yesterday"), &f).is_err());
    }

    #[test]
    fn numbers_from_text() {
        let f = Formats::default();
        assert_eq!(
            coerce(&json!("12"), &Shape::Integer, &f).unwrap(),
            json!(12)
        );
        assert_eq!(
            coerce(&json!(" 12.0 "), &Shape::Integer, &f).unwrap(),
            json!(12)
        );
        assert_eq!(
            coerce(&json!(12.0), &Shape::Integer, &f).unwrap(),
            json!(12)
        );
        assert_eq!(
            coerce(&json!("12.5"), &Shape::Integer, &f).unwrap_err(),
            "must be a whole number"
        );
        assert_eq!(
            coerce(&json!("87.5"), &Shape::Number, &f).unwrap(),
            json!(87.5)
        );
        assert_eq!(number(&json!("87.5 %")).unwrap(), 87.5);
        assert_eq!(number(&json!("NaN")).unwrap_err(), "must be a number");
        assert_eq!(
            number(&json!([1])).unwrap_err(),
            "must be a number, found an array"
        );
    }

    #[test]
    fn text_booleans_and_code_lists() {
        let f = Formats::default();
        assert_eq!(
            coerce(&json!(100001), &Shape::Text, &f).unwrap(),
            json!("100001")
        );
        assert!(coerce(&json!({"a": 1}), &Shape::Text, &f).is_err());
        for (given, want) in [("Y", true), ("no", false), ("TRUE", true), ("0", false)] {
            assert_eq!(
                coerce(&json!(given), &Shape::Boolean, &f).unwrap(),
                json!(want)
            );
        }
        assert_eq!(coerce(&json!(1), &Shape::Boolean, &f).unwrap(), json!(true));
        let urgency = Shape::Choice(vec!["routine".into(), "urgent".into()]);
        assert_eq!(
            coerce(&json!("Urgent"), &urgency, &f).unwrap(),
            json!("urgent")
        );
        let requester = Shape::Choice(vec!["young_person".into(), "parent".into()]);
        assert_eq!(
            coerce(&json!("Young Person"), &requester, &f).unwrap(),
            json!("young_person")
        );
        assert_eq!(
            coerce(&json!("Ada"), &urgency, &f).unwrap_err(),
            "must be one of routine, urgent (map other codes with `map`)"
        );
    }

    #[test]
    fn formats_are_checked() {
        assert!(check_date_format("%d/%m/%Y").is_ok());
        assert!(check_date_format("%Y%m%d").is_ok());
        assert!(check_date_format("%d/%m").is_err());
        assert!(check_date_format("%Q").is_err());
        assert!(check_datetime_format("%d/%m/%Y %H:%M").is_ok());
        assert!(check_datetime_format("%Y-%m-%dT%H:%M:%S%.f").is_ok());
        assert!(check_datetime_format("%d/%m/%Y").is_err());
    }
}
