//! A small RFC 4180 reader: comma-separated fields, optionally in double quotes (which may then
//! hold commas, line breaks and doubled quotes), records ended by CRLF, LF or CR.
//!
//! Why not the `csv` crate: the social-care extracts need only this much, and errors here must
//! name a record and never quote its text, which is simplest when the reader is our own. It is
//! public so the configurable mappings (`throughline-adapter-mapping`) read CSV the same way.
//!
//! Tolerances, because case systems' exports are not all strict: a quote inside an unquoted field
//! is kept as text, spaces or tabs after a closing quote are ignored, and the last record may end
//! without a line break. Text after a closing quote, or a quote never closed, is an error.

use std::iter::Peekable;
use std::mem::take;
use std::str::Chars;

/// Why the text is not CSV. `record` counts records from 0 (the header, in an extract).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("a quoted field is not closed before the end of the body")]
    UnterminatedQuote { record: usize },
    #[error("field {field} has text after its closing quote")]
    TextAfterClosingQuote { record: usize, field: usize },
}

impl CsvError {
    pub fn record(&self) -> usize {
        match self {
            CsvError::UnterminatedQuote { record }
            | CsvError::TextAfterClosingQuote { record, .. } => *record,
        }
    }
}

/// Where the reader is within the current field.
enum State {
    /// At the start of a field: nothing read yet.
    Start,
    Unquoted,
    Quoted,
    /// Just after a closing quote.
    AfterQuote,
}

/// Splits `text` into records of fields. An empty line is a record with one empty field, so
/// record numbers stay those a spreadsheet shows; callers skip blank records as they see fit.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut state = State::Start;
    let mut chars = text.chars().peekable();
    loop {
        let c = chars.next();
        state = match (state, c) {
            // End of input: a final record without a line break, unless the input ended at the
            // start of a line.
            (State::Start, None) if record.is_empty() => break,
            (State::Start | State::Unquoted | State::AfterQuote, None) => {
                record.push(take(&mut field));
                records.push(take(&mut record));
                break;
            }
            (State::Quoted, None) => {
                return Err(CsvError::UnterminatedQuote {
                    record: records.len(),
                });
            }

            (State::Start | State::Unquoted | State::AfterQuote, Some(',')) => {
                record.push(take(&mut field));
                State::Start
            }
            (State::Start | State::Unquoted | State::AfterQuote, Some(c @ ('\r' | '\n'))) => {
                end_line(c, &mut chars);
                record.push(take(&mut field));
                records.push(take(&mut record));
                State::Start
            }

            (State::Start, Some('"')) => State::Quoted,
            (State::Start | State::Unquoted, Some(c)) => {
                field.push(c);
                State::Unquoted
            }

            (State::Quoted, Some('"')) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
                State::Quoted
            }
            (State::Quoted, Some('"')) => State::AfterQuote,
            (State::Quoted, Some(c)) => {
                field.push(c);
                State::Quoted
            }

            (State::AfterQuote, Some(' ' | '\t')) => State::AfterQuote,
            (State::AfterQuote, Some(_)) => {
                return Err(CsvError::TextAfterClosingQuote {
                    record: records.len(),
                    field: record.len() + 1,
                });
            }
        };
    }
    Ok(records)
}

/// Consumes the LF of a CRLF line end.
fn end_line(c: char, chars: &mut Peekable<Chars<'_>>) {
    if c == '\r' && chars.peek() == Some(&'\n') {
        chars.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn reads_plain_records_with_any_line_end() {
        assert_eq!(
            parse("a,b\r\n1,2\n3,4\r5,6").unwrap(),
            vec![
                rec(&["a", "b"]),
                rec(&["1", "2"]),
                rec(&["3", "4"]),
                rec(&["5", "6"])
            ]
        );
        assert_eq!(parse("a,b\n").unwrap(), vec![rec(&["a", "b"])]);
        assert_eq!(parse("").unwrap(), Vec::<Vec<String>>::new());
    }

    #[test]
    fn reads_quoted_fields() {
        assert_eq!(
            parse("\"Smith, Jo\",\"say \"\"hi\"\"\",\"two\r\nlines\"\n").unwrap(),
            vec![rec(&["Smith, Jo", "say \"hi\"", "two\r\nlines"])]
        );
        assert_eq!(parse("\"\",x").unwrap(), vec![rec(&["", "x"])]);
        assert_eq!(parse("\"a\" ,b").unwrap(), vec![rec(&["a", "b"])]);
    }

    #[test]
    fn keeps_empty_fields_and_blank_lines() {
        assert_eq!(
            parse("a,,\n\nb").unwrap(),
            vec![rec(&["a", "", ""]), rec(&[""]), rec(&["b"])]
        );
    }

    #[test]
    fn tolerates_a_quote_inside_an_unquoted_field() {
        assert_eq!(parse("5'10\",x").unwrap(), vec![rec(&["5'10\"", "x"])]);
    }

    #[test]
    fn reports_bad_quoting_by_record() {
        assert_eq!(
            parse("a\n\"open").unwrap_err(),
            CsvError::UnterminatedQuote { record: 1 }
        );
        let err = parse("a,b\n1,\"2\"x").unwrap_err();
        assert_eq!(
            err,
            CsvError::TextAfterClosingQuote {
                record: 1,
                field: 2
            }
        );
        assert_eq!(err.record(), 1);
        assert_eq!(err.to_string(), "field 2 has text after its closing quote");
    }
}
