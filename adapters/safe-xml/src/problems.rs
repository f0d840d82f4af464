//! The problems of one record, collected before deciding, so a rejected record's quarantine
//! record lists all of them and the sender can fix them in one go.
//!
//! Every problem names the element by its path below the file's root
//! (`CTFpupilData.Pupil[17].DOB`) and says what was expected; it never repeats the value, which
//! may be child data.

use chrono::NaiveDate;
use throughline_contracts::event::FieldProblem;

use crate::xs;

/// The problems of one record, with paths below the record's own (`Children.Child[12]`).
#[derive(Debug)]
pub struct RecordProblems {
    base: String,
    list: Vec<FieldProblem>,
}

impl RecordProblems {
    /// No problems yet with the record at `base`, e.g. `CTFpupilData.Pupil[17]`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            list: Vec::new(),
        }
    }

    /// A problem with the element at `path` below the record.
    pub fn push(&mut self, path: &str, reason: impl Into<String>) {
        self.list
            .push(FieldProblem::new(format!("{}.{path}", self.base), reason));
    }

    /// The `xs:date` at `path`, or a problem if it is not one.
    pub fn date(&mut self, path: &str, value: &str) -> Option<NaiveDate> {
        let parsed = xs::date(value);
        if parsed.is_none() {
            self.push(path, "must be a date as YYYY-MM-DD");
        }
        parsed
    }

    /// `Err` with every problem found, if there is any.
    pub fn finish(self) -> Result<(), Vec<FieldProblem>> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(self.list)
        }
    }
}

/// Problems in one line, for a file-level message (a header that cannot be used).
pub fn describe_problems(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.reason))
        .collect::<Vec<_>>()
        .join("; ")
}
