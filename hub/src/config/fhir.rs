//! The FHIR adapter's keys in the hub configuration: a source's `fhir` (poll) and
//! `fhir_mapping` tables, an agency's `sink.type = "fhir"`, and the `fhir` format's registration
//! with every source's mapping tables. Errors name the key under the source or agency, as
//! `sources[2].fhir.auth.token_url: reason`.

use std::collections::BTreeMap;
use std::path::Path;

use throughline_adapter_fhir::{
    FhirConfigError, FhirNormaliser, FhirSinkConfig, FhirSourceConfig, Mapping,
};
use throughline_contracts::AgencyId;

use super::ConfigError;
use super::model::SourceConfig;
use super::validate::Agency;
use crate::pipeline::normalise::Normalisers;

fn push(file: &Path, prefix: &str, e: &FhirConfigError, errors: &mut Vec<ConfigError>) {
    let key = match e.key() {
        Some(k) => format!("{prefix}.{k}"),
        None => prefix.to_owned(),
    };
    errors.push(ConfigError::new(file, &key, e.reason()));
}

/// `agencies[i].sink` of type `fhir`: its keys, and its private key file.
pub(super) fn check_sink(
    file: &Path,
    sink_key: &str,
    c: &FhirSinkConfig,
    errors: &mut Vec<ConfigError>,
) {
    if let Err(e) = c.validate().and_then(|()| c.server.check()) {
        push(file, sink_key, &e, errors);
    }
}

/// `sources[i].fhir`: its keys, its private key file, and the source's format, which must be
/// `fhir` (what the poll hands the hub is FHIR JSON).
pub(super) fn check_source(
    file: &Path,
    i: usize,
    s: &SourceConfig,
    c: &FhirSourceConfig,
    errors: &mut Vec<ConfigError>,
) {
    if let Err(e) = c.validate().and_then(|()| c.server.check()) {
        push(file, &format!("sources[{i}].fhir"), &e, errors);
    }
    if s.format != throughline_adapter_fhir::mapping::FORMAT {
        errors.push(ConfigError::new(
            file,
            &format!("sources[{i}].format"),
            "must be `fhir` for a source that polls a FHIR server",
        ));
    }
}

/// Registers the `fhir` format with each source's `fhir_mapping` (checked: only on `fhir`
/// sources, every agency in `agencies_by_ods` configured).
pub(super) fn with_fhir_format(
    mut normalisers: Normalisers,
    file: &Path,
    sources: &[SourceConfig],
    agencies: &BTreeMap<AgencyId, Agency>,
    errors: &mut Vec<ConfigError>,
) -> Normalisers {
    let mut mappings = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let Some(config) = &s.fhir_mapping else {
            continue;
        };
        let key = format!("sources[{i}].fhir_mapping");
        if s.format != throughline_adapter_fhir::mapping::FORMAT {
            errors.push(ConfigError::new(
                file,
                &key,
                "is read only by a source whose format is `fhir`",
            ));
            continue;
        }
        match Mapping::build(config) {
            Ok(mapping) => {
                for (ods, agency) in mapping.agencies() {
                    if !agencies.contains_key(agency) {
                        errors.push(ConfigError::new(
                            file,
                            &format!("{key}.agencies_by_ods.{ods}"),
                            "no agency with this id is configured",
                        ));
                    }
                }
                mappings.push((s.id.clone(), mapping));
            }
            Err(e) => push(file, &key, &e, errors),
        }
    }
    normalisers.register_fhir(FhirNormaliser::new(mappings));
    normalisers
}
