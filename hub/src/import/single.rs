//! A file in the source's own format (canonical JSON, a social care CSV extract, a configured
//! mapping...), imported as one input: exactly what `POST /v1/ingest/{source}` does with a body,
//! for a file that arrives by the command line (`throughline import file`) or a drop folder
//! (`reader = "source-format"`).
//!
//! Why one input: these formats (canonical JSON, FHIR) have no rows to read alone; a file in a
//! format that has (a CSV extract, a mapping's JSON array) is read row by row instead
//! ([`super::extract`]). The file is bounded by `api.body_limit_bytes`, as the same body over
//! HTTP would be.

use std::io::{self, Read};

use serde::Serialize;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_contracts::event::FieldProblem;
use uuid::Uuid;

use super::{FileDigest, ImportError};
use crate::pipeline::{Origin, Pipeline};

/// What became of a file imported as one input. Ids, paths and reasons only: never child data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct InputReport {
    pub source_id: String,
    /// The source's format the file was read in.
    pub format: String,
    /// The file's SHA-256, in hex: the input's message id is `file:<file_sha256>`.
    pub file_sha256: String,
    pub outcome: InputStatus,
    /// The events committed (for a duplicate, those committed the first time).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub event_ids: Vec<Uuid>,
    /// Of the events this import committed, those committed as history: they restated the
    /// child's past, so they opened no handoff and notified nobody (`docs/handoffs.md`, "History
    /// is not news"). Zero for a duplicate.
    pub history: usize,
    /// Where a rejected input is kept; it can be replayed like any HTTP input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_id: Option<Uuid>,
    /// The pipeline step that rejected it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldProblem>,
}

/// The input's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputStatus {
    Committed,
    /// The same file was committed before: nothing new was committed.
    Duplicate,
    /// Rejected, and kept whole in quarantine.
    Quarantined,
}

/// Reads a whole file as one input, refusing one larger than `limit` bytes: the source's
/// `api.body_limit_bytes`, the bound an HTTP body of the same input would have.
pub fn read_input(input: impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the file is larger than api.body_limit_bytes ({limit} bytes), the bound on one input in the source's format"
            ),
        ));
    }
    Ok(bytes)
}

/// Imports `body` (a whole file, [`read_input`]) as one input of the configured source
/// `source_id`, in the source's format. `digest` is the body's SHA-256; it makes the input's
/// message id, so the same file imported again is a duplicate.
pub async fn import_input(
    pipeline: &Pipeline,
    source_id: &str,
    digest: FileDigest,
    body: Vec<u8>,
) -> Result<InputReport, ImportError> {
    let source = pipeline
        .config()
        .sources
        .get(source_id)
        .ok_or_else(|| ImportError::UnknownSource(source_id.to_owned()))?;
    let raw = RawInput {
        source_id: source.id.clone(),
        content_type: None,
        body: body.into(),
        received_at: chrono::Utc::now(),
        message_id: Some(format!("file:{digest}")),
    };
    let mut report = InputReport {
        source_id: source.id.clone(),
        format: source.format.clone(),
        file_sha256: digest.to_string(),
        outcome: InputStatus::Committed,
        event_ids: Vec::new(),
        history: 0,
        quarantine_id: None,
        step: None,
        problems: Vec::new(),
    };
    match pipeline.process(&raw, &source.format, Origin::Fresh).await {
        InputOutcome::Committed {
            event_ids,
            duplicate,
        } => {
            if duplicate {
                report.outcome = InputStatus::Duplicate;
            } else {
                let counted = async {
                    let mut conn = pipeline.store().acquire().await?;
                    crate::store::events::count_history(&mut conn, &event_ids).await
                };
                report.history = counted.await.map_err(|e| ImportError::InputUnavailable {
                    reason: e.to_string(),
                })?;
            }
            report.event_ids = event_ids;
        }
        InputOutcome::Quarantined {
            quarantine_id,
            step,
            problems,
        } => {
            report.outcome = InputStatus::Quarantined;
            report.quarantine_id = Some(quarantine_id);
            report.step = Some(step);
            report.problems = problems;
        }
        InputOutcome::Unavailable { reason } => {
            return Err(ImportError::InputUnavailable { reason });
        }
    }
    tracing::info!(
        source_id,
        format = %report.format,
        file_sha256 = %report.file_sha256,
        outcome = ?report.outcome,
        events = report.event_ids.len(),
        "file imported as one input"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_up_to_the_limit_is_read_and_a_larger_one_refused() {
        assert_eq!(read_input(&b"abcd"[..], 4).unwrap(), b"abcd");
        let err = read_input(&b"abcde"[..], 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().contains("api.body_limit_bytes (4 bytes)"),
            "{err}"
        );
    }
}
