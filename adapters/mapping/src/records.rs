//! Splitting an input into records, and reading one field of a record.
//!
//! A field is a JSON pointer into a JSON record (`/pupil/upn`) or a column of a CSV row, found by
//! its header name (trimmed, case-insensitive). Each record names its own fields for problems:
//! the full JSON pointer within the body (`/events/2/pupil/upn`) or `row 7, column "UPN"` (rows
//! counted from 1 after the header, blank rows included, as social-care-csv counts them). Names
//! come only from the configuration and positions, never from the input, so they are safe to
//! repeat.

use std::collections::HashMap;

use serde_json::Value;
use throughline_contracts::adapter::Rejection;
use throughline_contracts::event::FieldProblem;
use throughline_contracts::redact::redact_values;

use crate::coerce::describe;
use crate::config::InputFormat;

/// A field a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    /// A JSON pointer (RFC 6901) within a record.
    Pointer(String),
    /// A CSV column: its name as configured, and the key it is matched by.
    Column { name: String, key: String },
}

impl Field {
    /// Reads a configured field name for `input`.
    pub(crate) fn parse(input: InputFormat, text: &str) -> Result<Field, String> {
        match input {
            InputFormat::Json => check_pointer(text).map(|()| Field::Pointer(text.to_owned())),
            InputFormat::Csv if text.trim().is_empty() => {
                Err("must name a column, found an empty name".to_owned())
            }
            InputFormat::Csv => Ok(Field::Column {
                name: text.trim().to_owned(),
                key: column_key(text),
            }),
        }
    }

    /// As configured.
    pub(crate) fn shown(&self) -> String {
        match self {
            Field::Pointer(p) => p.clone(),
            Field::Column { name, .. } => format!("{name:?}"),
        }
    }
}

/// Checks RFC 6901 syntax: empty (the whole record) or `/`-separated tokens, `~` only as `~0`
/// or `~1`.
pub(crate) fn check_pointer(text: &str) -> Result<(), String> {
    if !text.is_empty() && !text.starts_with('/') {
        return Err("must be a JSON pointer starting with `/`, e.g. /pupil/upn".to_owned());
    }
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err("is not a valid JSON pointer: `~` must be followed by 0 or 1".to_owned());
        }
    }
    Ok(())
}

fn column_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A CSV header: where each column is.
pub(crate) struct Header {
    positions: HashMap<String, usize>,
    width: usize,
}

impl std::fmt::Debug for Header {
    /// Never prints the names: without a header line, the first row of child data is read as one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("width", &self.width)
            .finish()
    }
}

/// One record of an input.
pub(crate) enum Record<'a> {
    Json {
        /// The record's pointer within the body (`""` when the body is the record).
        at: String,
        value: &'a Value,
    },
    Csv {
        row: usize,
        cells: &'a [String],
        header: &'a Header,
    },
}

impl Record<'_> {
    /// The field's value, or `None` when it is absent, null or blank. Text is trimmed.
    pub(crate) fn get(&self, field: &Field) -> Option<Value> {
        let value = match (self, field) {
            (Record::Json { value, .. }, Field::Pointer(p)) => (*value).pointer(p)?.clone(),
            (Record::Csv { cells, header, .. }, Field::Column { key, .. }) => {
                Value::String(cells.get(*header.positions.get(key)?)?.clone())
            }
            _ => return None,
        };
        match value {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(Value::String(s.trim().to_owned())),
            other => Some(other),
        }
    }

    /// The field's name in problems.
    pub(crate) fn name(&self, field: &Field) -> String {
        match (self, field) {
            (Record::Json { at, .. }, Field::Pointer(p)) => format!("{at}{p}"),
            (Record::Csv { row, .. }, Field::Column { name, .. }) => {
                format!("row {row}, column {name:?}")
            }
            (_, f) => f.shown(),
        }
    }

    /// The record's own name in problems: `/events/2`, `body` or `row 7`.
    pub(crate) fn whole(&self) -> String {
        match self {
            Record::Json { at, .. } if at.is_empty() => "body".to_owned(),
            Record::Json { at, .. } => at.clone(),
            Record::Csv { row, .. } => format!("row {row}"),
        }
    }
}

/// JSON records: each with its pointer within the body.
pub(crate) fn json_records(
    body: &[u8],
    records: Option<&str>,
) -> Result<Vec<(String, Value)>, Rejection> {
    // RFC 8259 lets a parser ignore a byte order mark; some Windows tools write one.
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        // Syntax errors name a position, never content; redact anyway in case that changes.
        Rejection::one(
            "body",
            format!("is not valid JSON: {}", redact_values(&e.to_string())),
        )
    })?;
    let (at, found) = match records {
        Some(pointer) => {
            let found = value.pointer_mut(pointer).map(Value::take).ok_or_else(|| {
                Rejection::one(
                    "body",
                    format!("has nothing at {pointer}: expected the array of records there"),
                )
            })?;
            match found {
                Value::Array(items) => (pointer.to_owned(), items),
                other => {
                    return Err(Rejection::one(
                        pointer,
                        format!("must be an array of records, found {}", describe(&other)),
                    ));
                }
            }
        }
        None => match value {
            Value::Array(items) => (String::new(), items),
            object @ Value::Object(_) => return Ok(vec![(String::new(), object)]),
            other => {
                return Err(Rejection::one(
                    "body",
                    format!(
                        "must be a record (a JSON object) or an array of them, found {}",
                        describe(&other)
                    ),
                ));
            }
        },
    };
    if found.is_empty() {
        return Err(Rejection::one(
            if at.is_empty() { "body" } else { at.as_str() },
            "holds no records: expected at least one",
        ));
    }
    Ok(found
        .into_iter()
        .enumerate()
        .map(|(i, item)| (format!("{at}/{i}"), item))
        .collect())
}

/// Reads a CSV extract's header line, or names the problems with it: mapped columns missing
/// from it or repeated in it, or none of them there at all (most likely no header line).
pub(crate) fn csv_header(names: &[String], columns: &[Field]) -> Result<Header, Rejection> {
    let mut positions = HashMap::new();
    let mut repeated = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = column_key(name);
        if positions.insert(key.clone(), i).is_some() {
            repeated.push(key);
        }
    }
    let mut problems = Vec::new();
    let mapped: Vec<(&String, &String)> = columns
        .iter()
        .filter_map(|c| match c {
            Field::Column { name, key } => Some((name, key)),
            Field::Pointer(_) => None,
        })
        .collect();
    if !mapped.iter().any(|(_, key)| positions.contains_key(*key)) {
        // Most likely no header line at all: its "names" are a row of child data, which is
        // why none of them is repeated here.
        let names: Vec<String> = mapped.iter().map(|(n, _)| format!("{n:?}")).collect();
        return Err(Rejection::one(
            "header",
            format!(
                "names none of the mapped columns ({}): is the header line missing?",
                names.join(", ")
            ),
        ));
    }
    for (name, key) in mapped {
        let at = format!("column {name:?}");
        if !positions.contains_key(key) {
            problems.push(FieldProblem::new(
                at,
                "is mapped but missing from the header",
            ));
        } else if repeated.contains(key) {
            problems.push(FieldProblem::new(
                at,
                "appears more than once in the header",
            ));
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(Rejection { problems });
    }
    Ok(Header {
        positions,
        width: names.len(),
    })
}

impl Header {
    /// Why a row cannot be read cell by cell: it has a different number of fields than the
    /// header (trailing blank cells are tolerated: some exports pad rows).
    pub(crate) fn check_width(&self, cells: &[String]) -> Result<(), String> {
        let padded =
            cells.len() > self.width && cells[self.width..].iter().all(|c| c.trim().is_empty());
        if cells.len() == self.width || padded {
            Ok(())
        } else {
            Err(format!(
                "has {} fields, the header has {}",
                cells.len(),
                self.width
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn col(name: &str) -> Field {
        Field::parse(InputFormat::Csv, name).unwrap()
    }

    #[derive(Debug)]
    struct Extract {
        header: Header,
        rows: Vec<(usize, Vec<String>)>,
    }

    /// The header and every readable non-blank row, as the mapping reads them.
    fn csv_records(body: &[u8], columns: &[Field]) -> Result<Extract, Rejection> {
        use throughline_adapter_http_ingest::ExtractError;
        use throughline_adapter_http_ingest::extract::CsvExtract;
        let problems = |e: ExtractError| match e {
            ExtractError::Refused(problems) => Rejection { problems },
            other => Rejection::one("body", other.to_string()),
        };
        let mut extract = CsvExtract::open(body).map_err(problems)?;
        let header = csv_header(&extract.names, columns)?;
        let mut rows = Vec::new();
        while let Some(row) = extract.next_row() {
            let row = row.map_err(problems)?;
            rows.push((
                row.number,
                row.cells.map_err(|p| Rejection { problems: vec![p] })?,
            ));
        }
        Ok(Extract { header, rows })
    }

    #[test]
    fn pointers_are_checked() {
        assert!(check_pointer("/pupil/upn").is_ok());
        assert!(check_pointer("").is_ok());
        assert!(check_pointer("/a~1b/~0").is_ok());
        assert!(check_pointer("pupil.upn").is_err());
        assert!(check_pointer("/a~2").is_err());
        assert!(check_pointer("/a~").is_err());
    }

    #[test]
    fn json_records_and_their_names() {
        let r = json_records(br#"{"events": [{"a": 1}, {"a": 2}]}"#, Some("/events")).unwrap();
        assert_eq!(r[1].0, "/events/1");
        let one = json_records(b"\xef\xbb\xbf{\"a\": \" x \"}", None).unwrap();
        assert_eq!(one[0].0, "");
        let record = Record::Json {
            at: one[0].0.clone(),
            value: &one[0].1,
        };
        let a = Field::Pointer("/a".into());
        assert_eq!(record.get(&a), Some(json!("x")));
        assert_eq!(record.name(&a), "/a");
        assert_eq!(record.whole(), "body");
        assert_eq!(json_records(b"[{}, 3]", None).unwrap()[1].0, "/1");

        let err = |body: &[u8], at: Option<&str>| json_records(body, at).unwrap_err().problems;
        assert_eq!(err(b"[]", None)[0].field, "body");
        assert_eq!(
            err(br#"{"events": []}"#, Some("/events"))[0].field,
            "/events"
        );
        assert_eq!(
            err(br#"{"events": {}}"#, Some("/events"))[0].reason,
            "must be an array of records, found an object"
        );
        assert!(
            err(br#"{}"#, Some("/events"))[0]
                .reason
                .contains("has nothing at /events")
        );
        let bad = err(b"{\"upn\": \"B8012", None);
        assert!(!bad[0].reason.contains("B8012"), "{bad:?}");
        assert!(
            err(b"\"9434765919\"", None)[0]
                .reason
                .ends_with("found text")
        );
    }

    #[test]
    fn null_and_blank_are_absent() {
        let v = json!({"a": null, "b": "  ", "c": 0, "d": false});
        let r = Record::Json {
            at: "/0".into(),
            value: &v,
        };
        for (p, want) in [
            ("/a", None),
            ("/b", None),
            ("/c", Some(json!(0))),
            ("/d", Some(json!(false))),
            ("/z", None),
        ] {
            assert_eq!(r.get(&Field::Pointer(p.into())), want, "{p}");
        }
        assert_eq!(r.name(&Field::Pointer("/c".into())), "/0/c");
    }

    #[test]
    fn csv_columns_match_by_trimmed_name_ignoring_case() {
        let body = "\u{feff} Child ID ,UPN,Extra\r\n\r\nC1, B801200005001 ,x\r\n";
        let Extract { header, rows } =
            csv_records(body.as_bytes(), &[col("child id"), col("upn")]).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2, "the blank line counts");
        let record = Record::Csv {
            row: rows[0].0,
            cells: &rows[0].1,
            header: &header,
        };
        assert_eq!(record.get(&col("Child Id")), Some(json!("C1")));
        assert_eq!(record.get(&col("upn")), Some(json!("B801200005001")));
        assert_eq!(record.name(&col("upn")), "row 2, column \"upn\"");
        assert_eq!(record.whole(), "row 2");
    }

    #[test]
    fn csv_header_problems() {
        let problems = |body: &str, cols: &[&str]| {
            let cols: Vec<Field> = cols.iter().map(|c| col(c)).collect();
            csv_records(body.as_bytes(), &cols).unwrap_err().problems
        };
        let p = problems("UPN,upn,Date\n1,2,3\n", &["UPN", "Event", "date"]);
        assert_eq!(
            p,
            vec![
                FieldProblem::new("column \"UPN\"", "appears more than once in the header"),
                FieldProblem::new("column \"Event\"", "is mapped but missing from the header"),
            ]
        );
        // No header line: the first row is child data and is not repeated.
        let p = problems("B801200005001,Ada\nB801200005001,Ada\n", &["UPN"]);
        assert_eq!(p[0].field, "header");
        assert!(!p[0].reason.contains("Ada"));
        assert_eq!(problems("", &["UPN"])[0].field, "body");
        assert!(
            csv_records(b"UPN\n\n \n", &[col("UPN")])
                .unwrap()
                .rows
                .is_empty()
        );
        assert_eq!(problems("\nUPN\n1\n", &["UPN"])[0].field, "header");
        assert_eq!(problems("UPN\n\"open\n", &["UPN"])[0].field, "row 1");
        assert!(csv_records(b"UPN\n\xff\n", &[col("UPN")]).is_err());
    }

    #[test]
    fn rows_must_be_as_wide_as_the_header_apart_from_blank_padding() {
        let header = csv_records(b"a,b\n1,2\n", &[col("a")]).unwrap().header;
        let cells = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(header.check_width(&cells(&["1", "2"])).is_ok());
        assert!(header.check_width(&cells(&["1", "2", " "])).is_ok());
        assert_eq!(
            header.check_width(&cells(&["1"])).unwrap_err(),
            "has 1 fields, the header has 2"
        );
        assert!(header.check_width(&cells(&["1", "2", "3"])).is_err());
    }
}
