//! A school's Common Transfer File, pupil by pupil: see `docs/adapters/ctf.md`, "Importing".

use std::io::BufRead;

use throughline_adapter_ctf::{CtfLimits, CtfReader};
use throughline_contracts::adapter::NormaliseContext;

use super::{FileDigest, FileFacts, ImportError, ImportReport, import_records};
use crate::pipeline::Pipeline;

/// The format a rejected pupil's raw `<Pupil>` XML is quarantined under. No normaliser reads it
/// yet, so such an item cannot be replayed: the pupil alone lacks the header the mapping needs.
pub const CTF_PUPIL_FORMAT: &str = "ctf-pupil";

/// Imports a CTF from `input` for the configured source `source_id`, whose agency must list the
/// file's source school among its `school_urns`. `digest` is the SHA-256 of exactly the bytes
/// `input` yields ([`FileDigest::read`]). `progress` is called with the number of pupils read
/// after each one.
///
/// Each pupil is one input (see [`import_records`]): its events are committed, or its raw XML is
/// kept in quarantine alone (format [`CTF_PUPIL_FORMAT`], step `normalise`).
///
/// Reading `input` blocks the task. The command line does not mind; the HTTP upload passes bytes
/// already in memory; the drop folder reads a local file, which blocks one of the runtime's
/// workers while the file is read (see [`drop_folder`](super::drop_folder)).
pub async fn import_ctf(
    pipeline: &Pipeline,
    source_id: &str,
    digest: FileDigest,
    input: impl BufRead,
    progress: impl FnMut(usize),
) -> Result<ImportReport, ImportError> {
    let config = pipeline.config();
    let source = config
        .sources
        .get(source_id)
        .ok_or_else(|| ImportError::UnknownSource(source_id.to_owned()))?;
    let ctx = NormaliseContext {
        source_id: source.id.clone(),
        agency: source.agency.clone(),
        system: source.system.clone(),
        adapter: throughline_adapter_ctf::ADAPTER.into(),
    };
    let reader = CtfReader::new(input, CtfLimits::default(), ctx)
        .map_err(|e| ImportError::Refused(e.into()))?;

    let header = reader.header();
    let sends_it = config
        .agencies
        .get(&source.agency)
        .is_some_and(|a| a.school_urns.contains(&header.source.urn));
    if !sends_it {
        return Err(ImportError::NotTheSendingSchool {
            source_id: source.id.clone(),
            agency: source.agency.to_string(),
            urn: header.source.urn.clone(),
        });
    }

    let facts = FileFacts::Ctf {
        ctf_version: header.version.to_string(),
    };
    let mut report = ImportReport::new(facts, digest);
    // A version one newer than the file's school year knows is read, and the operator told.
    report.warnings.clone_from(&reader.report().warnings);
    import_records(pipeline, source_id, report, reader, progress).await
}
