//! A local authority's Children in Need census, child by child: see
//! `docs/adapters/cin-census.md`, "Importing".

use std::io::BufRead;

use throughline_adapter_cin_census::{CinLimits, CinReader};
use throughline_contracts::adapter::NormaliseContext;

use super::{FileDigest, FileFacts, ImportError, ImportReport, import_records};
use crate::pipeline::Pipeline;

/// The format a rejected child's raw `<Child>` XML is quarantined under. No normaliser reads it,
/// so such an item cannot be replayed: the local authority corrects its record and sends a new
/// file.
pub const CIN_CHILD_FORMAT: &str = "cin-child";

/// Imports a CIN census from `input` for the configured source `source_id`: the local
/// authority's children's social care. Each child's `LAchildID` becomes a local id of the
/// source's agency and system, so the source must be the case management system the census was
/// exported from. `digest` is the SHA-256 of exactly the bytes `input` yields
/// ([`FileDigest::read`]). `progress` is called with the number of children read after each one.
///
/// Each child is one input (see [`import_records`]): its events are committed, or its raw XML is
/// kept in quarantine alone (format [`CIN_CHILD_FORMAT`], step `normalise`).
pub async fn import_cin(
    pipeline: &Pipeline,
    source_id: &str,
    digest: FileDigest,
    input: impl BufRead,
    progress: impl FnMut(usize),
) -> Result<ImportReport, ImportError> {
    let source = pipeline
        .config()
        .sources
        .get(source_id)
        .ok_or_else(|| ImportError::UnknownSource(source_id.to_owned()))?;
    let ctx = NormaliseContext {
        source_id: source.id.clone(),
        agency: source.agency.clone(),
        system: source.system.clone(),
        adapter: throughline_adapter_cin_census::ADAPTER.into(),
    };
    let reader = CinReader::new(input, CinLimits::default(), ctx)
        .map_err(|e| ImportError::Refused(e.into()))?;
    let header = reader.header();
    let facts = FileFacts::CinCensus {
        collection_year: header.year,
        reference_date: header.reference_date,
        lea: header.source.lea.clone(),
    };
    import_records(
        pipeline,
        source_id,
        ImportReport::new(facts, digest),
        reader,
        progress,
    )
    .await
}
