//! Normalise: turns a native format into canonical event submissions, through the normaliser
//! the input's format names.
//!
//! The normalisers live in a small registry held by the validated configuration: the static
//! formats every hub has (registered in [`static_formats`], the one place to add one), and each
//! `[[mappings]]` table under `mapping:<id>`. A quarantined input keeps its format's name, so a
//! replay finds the same normaliser as long as the configuration still has it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use throughline_adapter_http_ingest::{CanonicalJson, ExtractReader, SocialCareCsv};
use throughline_adapter_mapping::Mapping;
use throughline_contracts::adapter::{NormaliseContext, Normaliser, RawInput, Rejection};
use throughline_contracts::event::EventSubmission;

/// A format's normaliser, and its reader of files of many rows where it has one.
type Format = (Arc<dyn Normaliser>, Option<Arc<dyn ExtractReader>>);

/// The formats every hub has, whatever its configuration. Register a new static format here.
fn static_formats() -> Vec<Format> {
    vec![
        (Arc::new(CanonicalJson), None),
        (Arc::new(SocialCareCsv), Some(Arc::new(SocialCareCsv))),
    ]
}

/// The normalisers a configuration's sources may name, by format.
#[derive(Clone)]
pub struct Normalisers {
    by_format: BTreeMap<String, Registered>,
}

#[derive(Clone)]
struct Registered {
    normaliser: Arc<dyn Normaliser>,
    /// Whether an input may yield no events without being rejected: a mapping filters records
    /// (`only_if`, `ignore`) and rejects an input with no records itself. For every other
    /// format, no events means something went wrong.
    may_yield_nothing: bool,
    /// How a file of many rows in this format is read row by row (`docs/adapters/import.md`);
    /// `None`: a file in this format is one input.
    extract: Option<Arc<dyn ExtractReader>>,
}

impl Normalisers {
    /// The static formats only.
    pub fn with_static_formats() -> Self {
        let mut n = Self {
            by_format: BTreeMap::new(),
        };
        for (normaliser, extract) in static_formats() {
            n.register(normaliser, false, extract);
        }
        n
    }

    /// Registers a configured mapping under `mapping:<id>`.
    pub fn register_mapping(&mut self, mapping: Mapping) {
        let mapping = Arc::new(mapping);
        self.register(mapping.clone(), true, Some(mapping));
    }

    /// Registers the `fhir` format, which reads each source with its own `fhir_mapping`.
    pub fn register_fhir(&mut self, normaliser: throughline_adapter_fhir::FhirNormaliser) {
        self.register(Arc::new(normaliser), false, None);
    }

    fn register(
        &mut self,
        normaliser: Arc<dyn Normaliser>,
        may_yield_nothing: bool,
        extract: Option<Arc<dyn ExtractReader>>,
    ) {
        self.by_format.insert(
            normaliser.format().to_owned(),
            Registered {
                normaliser,
                may_yield_nothing,
                extract,
            },
        );
    }

    /// The reader of files of many rows in `format`, if it reads them row by row.
    pub fn extract_reader(&self, format: &str) -> Option<Arc<dyn ExtractReader>> {
        self.by_format.get(format)?.extract.clone()
    }

    pub fn contains(&self, format: &str) -> bool {
        self.by_format.contains_key(format)
    }

    /// Every registered format, sorted.
    pub fn formats(&self) -> impl Iterator<Item = &str> {
        self.by_format.keys().map(String::as_str)
    }
}

impl Default for Normalisers {
    fn default() -> Self {
        Self::with_static_formats()
    }
}

impl fmt::Debug for Normalisers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.formats()).finish()
    }
}

pub fn normalise(
    normalisers: &Normalisers,
    raw: &RawInput,
    format: &str,
    ctx: &NormaliseContext,
) -> Result<Vec<EventSubmission>, Rejection> {
    let registered = normalisers
        .by_format
        .get(format)
        .ok_or_else(|| Rejection::one("format", "no normaliser for this format"))?;
    let submissions = registered.normaliser.normalise(raw, ctx)?;
    if submissions.is_empty() && !registered.may_yield_nothing {
        return Err(Rejection::one("", "the input holds no events"));
    }
    Ok(submissions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_formats_are_registered_under_their_names() {
        let n = Normalisers::with_static_formats();
        for format in n.formats() {
            assert_eq!(n.by_format[format].normaliser.format(), format);
            assert!(!n.by_format[format].may_yield_nothing, "{format}");
        }
        assert!(n.contains("canonical-json") && n.contains("social-care-csv"));
        assert!(!n.contains("mapping:anything"));
        assert!(n.extract_reader("social-care-csv").is_some());
        assert!(n.extract_reader("canonical-json").is_none());
    }
}
