//! The XML Schema datatypes the statutory files use, read exactly as their specifications write
//! them: `xs:date` as `YYYY-MM-DD` and `xs:dateTime` as local time.
//!
//! Why strict: a date that is nearly right (`2024-3-31`, `31/03/2024`) is a file the sender
//! must correct, not one to guess at; a wrong guess would put a child's event on the wrong day.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// An `xs:date` as the files write it: exactly `YYYY-MM-DD`, and a real date.
pub fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
}

/// An `xs:dateTime`: the local time as written, with or without fractional seconds, and with or
/// without an offset (the time it states, not converted).
pub fn date_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.naive_local())
        })
}

/// Whether `s` is exactly `len` ASCII digits, as DfE numbers are (LA 3, establishment 4, URN 6).
pub fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert!(date("2024-03-31").is_some());
        for bad in [
            "2024-3-31",
            "2024-02-30",
            "31/03/2024",
            "2024-03-31T00:00:00",
            "",
        ] {
            assert_eq!(date(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_times_with_and_without_offset() {
        assert!(date_time("2023-05-23T11:14:05").is_some());
        assert!(date_time("2023-05-23T11:14:05.5").is_some());
        assert!(date_time("2023-05-23T11:14:05+01:00").is_some());
        assert!(date_time("23/05/2023").is_none());
    }

    #[test]
    fn parses_date_times_with_and_without_offset() {
        assert!(date_time("2025-07-18T10:30:00").is_some());
        assert!(date_time("2025-07-18T10:30:00.123").is_some());
        assert_eq!(
            date_time("2025-07-18T10:30:00+01:00").map(|t| t.to_string()),
            Some("2025-07-18 10:30:00".to_owned())
        );
        assert!(date_time("18/07/2025 10:30").is_none());
    }
}
