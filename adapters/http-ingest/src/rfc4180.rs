//! A small RFC 4180 reader: comma-separated fields, optionally in double quotes (which may then
//! hold commas, line breaks and doubled quotes), records ended by CRLF, LF or CR.
//!
//! Why not the `csv` crate: the social-care extracts need only this much, and errors here must
//! name a record and never quote its text, which is simplest when the reader is our own. It is
//! public so the configurable mappings (`throughline-adapter-mapping`) read CSV the same way.
//!
//! Why a streaming [`Reader`]: an extract of thousands of rows is read record by record, each
//! kept with its bytes as written so a bad row can be quarantined alone, in memory bounded by
//! the longest record allowed. A problem within one record (bad quoting, bytes that are not
//! UTF-8) is that record's; only a record over the limit, or the input failing, stops the
//! reading. [`parse`] reads text already in memory through the same reader.
//!
//! Tolerances, because case systems' exports are not all strict: a quote inside an unquoted field
//! is kept as text, spaces or tabs after a closing quote are ignored, a byte order mark at the
//! start is skipped, and the last record may end without a line break. Text after a closing
//! quote, or a quote never closed, is an error.

use std::io::{self, BufRead};
use std::mem::take;

/// Why a record is not CSV. `record` counts records from 0 (the header, in an extract).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("a quoted field is not closed before the end of the body")]
    UnterminatedQuote { record: usize },
    #[error("field {field} has text after its closing quote")]
    TextAfterClosingQuote { record: usize, field: usize },
    #[error("field {field} is not UTF-8 text")]
    NotUtf8 { record: usize, field: usize },
}

impl CsvError {
    pub fn record(&self) -> usize {
        match self {
            CsvError::UnterminatedQuote { record }
            | CsvError::TextAfterClosingQuote { record, .. }
            | CsvError::NotUtf8 { record, .. } => *record,
        }
    }
}

/// Why the reading stopped: nothing after this can be read as records.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the input could not be read: {0}")]
    Io(#[from] io::Error),
    #[error(
        "record {record} is longer than {limit} bytes (is a quote left open?): the rest of the file cannot be read"
    )]
    TooLong { record: usize, limit: usize },
}

/// One record as read: its number (from 0), its bytes exactly as written without the line break
/// that ends it, and its fields, or why they cannot be read.
#[derive(Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub number: usize,
    pub raw: Vec<u8>,
    pub fields: Result<Vec<String>, CsvError>,
}

impl std::fmt::Debug for RawRecord {
    /// Never prints the bytes or fields: they are child data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRecord")
            .field("number", &self.number)
            .field("raw_bytes", &self.raw.len())
            .field("fields", &self.fields.as_ref().map(Vec::len))
            .finish()
    }
}

/// Where the reader is within the current field.
#[derive(Clone, Copy)]
enum State {
    /// At the start of a field: nothing read yet.
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of the field, or the first of two.
    QuoteInQuoted,
    /// Just after a closing quote.
    AfterQuote,
    /// After an error in this record: the rest of the line is passed over.
    Broken,
}

/// Reads records from any [`BufRead`], one at a time. An empty line is a record with one empty
/// field, so record numbers stay those a spreadsheet shows; callers skip blank records as they
/// see fit.
pub struct Reader<R> {
    input: R,
    max_record_bytes: usize,
    /// The next record's number.
    next: usize,
    /// The last record ended with CR: a LF first in the next one completes its line break.
    after_cr: bool,
    /// Bytes of a byte order mark skipped at the very start so far (spreadsheet programs start
    /// a "CSV UTF-8" file with one), or `BOM.len()` once past it.
    bom: usize,
    done: bool,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

impl<R: BufRead> Reader<R> {
    /// A reader that stops at a record longer than `max_record_bytes` as written.
    pub fn new(input: R, max_record_bytes: usize) -> Self {
        Self {
            input,
            max_record_bytes,
            next: 0,
            after_cr: false,
            bom: 0,
            done: false,
        }
    }

    fn read_record(&mut self) -> Result<Option<RawRecord>, ReadError> {
        let number = self.next;
        let mut raw = Vec::new();
        let mut fields = Vec::new();
        let mut field = Vec::new();
        let mut state = State::Start;
        let mut error = None;
        let mut seen = false;
        loop {
            let buf = self.input.fill_buf()?;
            if buf.is_empty() {
                if !seen {
                    return Ok(None);
                }
                if matches!(state, State::Quoted) {
                    error.get_or_insert(CsvError::UnterminatedQuote { record: number });
                }
                fields.push(take(&mut field));
                break;
            }
            let mut used = 0;
            let mut ended = false;
            for &b in buf {
                used += 1;
                if take(&mut self.after_cr) && b == b'\n' && !seen {
                    continue;
                }
                if self.bom < BOM.len() {
                    if number == 0 && raw.is_empty() && b == BOM[self.bom] {
                        self.bom += 1;
                        continue;
                    }
                    self.bom = BOM.len();
                }
                seen = true;
                let line_break = b == b'\r' || b == b'\n';
                state = match (state, b) {
                    (State::Quoted, b'"') => State::QuoteInQuoted,
                    (State::Quoted, _) => {
                        field.push(b);
                        State::Quoted
                    }
                    (State::QuoteInQuoted, b'"') => {
                        field.push(b'"');
                        State::Quoted
                    }
                    (State::Broken, _) if !line_break => State::Broken,
                    (_, b',') if !matches!(state, State::Broken) => {
                        fields.push(take(&mut field));
                        State::Start
                    }
                    (_, b'\r' | b'\n') => {
                        self.after_cr = b == b'\r';
                        fields.push(take(&mut field));
                        ended = true;
                        break;
                    }
                    (State::Start, b'"') => State::Quoted,
                    (State::Start | State::Unquoted, _) => {
                        field.push(b);
                        State::Unquoted
                    }
                    (State::QuoteInQuoted | State::AfterQuote, b' ' | b'\t') => State::AfterQuote,
                    (State::QuoteInQuoted | State::AfterQuote, _) => {
                        error.get_or_insert(CsvError::TextAfterClosingQuote {
                            record: number,
                            field: fields.len() + 1,
                        });
                        State::Broken
                    }
                    (State::Broken, _) => State::Broken,
                };
                raw.push(b);
            }
            self.input.consume(used);
            if raw.len() > self.max_record_bytes {
                return Err(ReadError::TooLong {
                    record: number,
                    limit: self.max_record_bytes,
                });
            }
            if ended {
                break;
            }
        }
        self.next += 1;
        let fields = match error {
            Some(e) => Err(e),
            None => fields
                .into_iter()
                .enumerate()
                .map(|(i, f)| {
                    String::from_utf8(f).map_err(|_| CsvError::NotUtf8 {
                        record: number,
                        field: i + 1,
                    })
                })
                .collect(),
        };
        Ok(Some(RawRecord {
            number,
            raw,
            fields,
        }))
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<RawRecord, ReadError>;

    /// The next record; `None` at the end. After an error, every later call is `None`.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.read_record().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// Splits `text` into records of fields, or names the first record that is not CSV.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    Reader::new(text.as_bytes(), usize::MAX)
        .map(|r| match r {
            Ok(record) => record.fields,
            Err(ReadError::Io(_) | ReadError::TooLong { .. }) => {
                unreachable!("text in memory cannot fail to read, and has no limit")
            }
        })
        .collect()
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

    fn records(input: &[u8], capacity: usize, limit: usize) -> Vec<Result<RawRecord, String>> {
        Reader::new(io::BufReader::with_capacity(capacity, input), limit)
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn streams_records_with_their_bytes_as_written_whatever_the_buffer_size() {
        let input = b"\xef\xbb\xbfa,b\r\n\"x\r\ny\",\"say \"\"hi\"\"\"\r\n\r\nlast,1";
        for capacity in [1, 2, 3, 7, 8192] {
            let got = records(input, capacity, 1024);
            let raws: Vec<&[u8]> = got.iter().map(|r| &r.as_ref().unwrap().raw[..]).collect();
            assert_eq!(
                raws,
                vec![
                    &b"a,b"[..],
                    b"\"x\r\ny\",\"say \"\"hi\"\"\"",
                    b"",
                    b"last,1"
                ],
                "buffer of {capacity}"
            );
            let second = got[1].as_ref().unwrap();
            assert_eq!(second.number, 1);
            assert_eq!(second.fields, Ok(rec(&["x\r\ny", "say \"hi\""])));
            assert_eq!(got[2].as_ref().unwrap().fields, Ok(rec(&[""])));
        }
    }

    #[test]
    fn a_bad_record_is_its_own_and_the_next_is_read() {
        let got = records(b"a,b\n1,\"2\"x,3\n\xff,4\nok,5\n", 8192, 1024);
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[1].as_ref().unwrap().fields,
            Err(CsvError::TextAfterClosingQuote {
                record: 1,
                field: 2
            })
        );
        assert_eq!(got[1].as_ref().unwrap().raw, b"1,\"2\"x,3");
        assert_eq!(
            got[2].as_ref().unwrap().fields,
            Err(CsvError::NotUtf8 {
                record: 2,
                field: 1
            })
        );
        assert_eq!(got[3].as_ref().unwrap().fields, Ok(rec(&["ok", "5"])));
    }

    #[test]
    fn a_record_over_the_limit_stops_the_reading() {
        let got = records(b"a\n0123456789\nb\n", 4, 5);
        assert_eq!(got.len(), 2);
        assert!(
            got[1]
                .as_ref()
                .unwrap_err()
                .contains("record 1 is longer than 5 bytes")
        );
        let debug = format!("{:?}", got[0].as_ref().unwrap());
        assert!(!debug.contains("\"a\""), "{debug}");
    }
}
