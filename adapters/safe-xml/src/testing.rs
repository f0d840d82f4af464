//! Helpers for the record readers' own tests (feature `testing`): reading a whole file, finding
//! its file-level error, and looking into outcomes.
//!
//! Why shared: every record reader is an iterator of `Result<RecordOutcome, E>` opened by a
//! `Result<Reader, E>`, so its tests ask the same questions of it.

use std::fmt::Display;

use throughline_contracts::event::EventSubmission;
use throughline_contracts::kind::EventKind;

use crate::RecordOutcome;

/// Every item of a file that must open and read to the end without a file-level error.
pub fn read_all<T, E: Display>(
    opened: Result<impl IntoIterator<Item = Result<T, E>>, E>,
) -> Vec<T> {
    opened
        .unwrap_or_else(|e| panic!("the file should open: {e}"))
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("the file should read to the end: {e}")))
        .collect()
}

/// The first file-level error met, whether on opening or while reading.
pub fn first_error<T, E>(opened: Result<impl IntoIterator<Item = Result<T, E>>, E>) -> E {
    match opened {
        Err(e) => e,
        Ok(reader) => {
            for item in reader {
                if let Err(e) = item {
                    return e;
                }
            }
            panic!("expected a file-level error, but the file read cleanly")
        }
    }
}

pub fn kinds(submissions: &[EventSubmission]) -> Vec<EventKind> {
    submissions.iter().map(|s| s.body.kind()).collect()
}

/// The submissions of an accepted record.
pub fn accepted(outcome: &RecordOutcome) -> &[EventSubmission] {
    match outcome {
        RecordOutcome::Accepted { submissions, .. } => submissions,
        other => panic!("expected an accepted record, found {other:?}"),
    }
}

/// The problems of a rejected record as (field, reason) pairs.
pub fn rejected(outcome: &RecordOutcome) -> Vec<(String, String)> {
    match outcome {
        RecordOutcome::Rejected { problems, .. } => problems
            .iter()
            .map(|p| (p.field.clone(), p.reason.clone()))
            .collect(),
        other => panic!("expected a rejected record, found {other:?}"),
    }
}
