//! HTTP ingest's native formats: the normalisers behind `POST /v1/events` and
//! `POST /v1/ingest/{source}`. Reference: `docs/adapters/http-ingest.md`.
//!
//! - [`CanonicalJson`] (`canonical-json`): Throughline's own event envelope, version 1, one
//!   object or a JSON array of them. Every problem names its exact JSON path
//!   (`[2].subject.identifiers.upn`, `payload.to_agency`).
//! - [`SocialCareCsv`] (`social-care-csv`): an RFC 4180 CSV extract from a children's social care
//!   case system (Liquidlogic, Mosaic), one event per row; problems are named `row N.column`.
//!
//! - [`extract`]: a file of many rows read row by row ([`ExtractReader`]), so each row is
//!   committed or quarantined alone; `social-care-csv` and the configured mappings read files so.
//!
//! Both read children's data, so no problem reason ever repeats an input value: identifier errors
//! describe what was wrong, and serde's messages are scrubbed of the values they quote. Both only
//! parse: the envelope checks and the source/agency match are the hub's validate step.
#![forbid(unsafe_code)]

mod canonical_json;
pub mod extract;
mod problem;
pub mod rfc4180;
mod social_care_csv;

use std::sync::Arc;

use throughline_contracts::adapter::Normaliser;

pub use canonical_json::CanonicalJson;
pub use extract::{ExtractError, ExtractReader, Row, Rows};
pub use social_care_csv::SocialCareCsv;

/// The format names [`normaliser_for`] knows, as configuration spells them.
pub const FORMATS: &[&str] = &[CanonicalJson::FORMAT, SocialCareCsv::FORMAT];

/// The normaliser for a configured format name, or `None` if the name is not one of [`FORMATS`].
pub fn normaliser_for(format: &str) -> Option<Arc<dyn Normaliser>> {
    match format {
        CanonicalJson::FORMAT => Some(Arc::new(CanonicalJson)),
        SocialCareCsv::FORMAT => Some(Arc::new(SocialCareCsv)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_format_has_a_normaliser_named_so() {
        for format in FORMATS {
            assert_eq!(normaliser_for(format).unwrap().format(), *format);
        }
        assert!(normaliser_for("hl7v2").is_none());
        assert_eq!(FORMATS, &["canonical-json", "social-care-csv"]);
    }
}
