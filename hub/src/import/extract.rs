//! An extract in the source's own format (a social care case system's CSV, a configured
//! mapping's CSV or JSON array), row by row: see `docs/adapters/import.md`.
//!
//! Why row by row: a nightly extract of a few thousand rows always holds a typo somewhere, and
//! read as one input, one bad row would hold back every other child's event in it. Each row is
//! its own input through the same loop as a CTF's pupils ([`import_records`]): its events are
//! committed, or the row is kept in quarantine alone with the header line, in the source's
//! format, so an operator can replay it once the source is fixed.

use std::io::BufRead;

use throughline_contracts::adapter::NormaliseContext;
use throughline_safe_xml::RecordOutcome;

use super::{FileDigest, FileFacts, ImportError, ImportReport, import_records};
use crate::pipeline::Pipeline;

/// Whether the configured source `source_id` speaks a format whose files are read row by row.
/// Other formats (canonical JSON, FHIR) read a file as one input ([`super::single`]).
pub fn reads_rows(pipeline: &Pipeline, source_id: &str) -> bool {
    let config = pipeline.config();
    config
        .sources
        .get(source_id)
        .is_some_and(|s| config.normalisers.extract_reader(&s.format).is_some())
}

/// Imports an extract from `input` for the configured source `source_id`, in the source's
/// format. `digest` is the SHA-256 of exactly the bytes `input` yields ([`FileDigest::read`]).
/// `progress` is called with the number of rows read after each one.
///
/// Each row is one input (see [`import_records`]) with the message id
/// `<format>:<file SHA-256>:<row number>`, so the same file again commits nothing.
pub async fn import_extract(
    pipeline: &Pipeline,
    source_id: &str,
    digest: FileDigest,
    input: impl BufRead + Send,
    progress: impl FnMut(usize),
) -> Result<ImportReport, ImportError> {
    let config = pipeline.config();
    let source = config
        .sources
        .get(source_id)
        .ok_or_else(|| ImportError::UnknownSource(source_id.to_owned()))?;
    let reader = config
        .normalisers
        .extract_reader(&source.format)
        .ok_or_else(|| ImportError::NotAnExtract {
            source_id: source.id.clone(),
            format: source.format.clone(),
        })?;
    let ctx = NormaliseContext {
        source_id: source.id.clone(),
        agency: source.agency.clone(),
        system: source.system.clone(),
        adapter: source.transport.adapter().into(),
    };
    let rows = reader
        .rows(Box::new(input), ctx, chrono::Utc::now())
        .map_err(|e| ImportError::Refused(e.into()))?;
    let facts = FileFacts::Extract {
        format: source.format.clone(),
        media_type: reader.media_type(),
    };
    let records =
        rows.map(|row| row.map(|row| RecordOutcome::new(row.number, row.raw, row.mapped)));
    import_records(
        pipeline,
        source_id,
        ImportReport::new(facts, digest),
        records,
        progress,
    )
    .await
}
