//! The `fhir` format: FHIR R4 (UK Core) JSON to canonical event submissions.
//!
//! One normaliser serves push and poll alike. An input is a single resource or a Bundle of any
//! type (transaction, batch, collection, searchset, history). In a Bundle, Patients and
//! Organizations are context that references resolve against; a subscription notification's
//! status entry (R4B `SubscriptionStatus`, R4 backport `Parameters`) is skipped; every
//! ServiceRequest, Encounter, EpisodeOfCare and Flag is mapped by [`resources`] with its
//! subject resolved by [`subject`].
//!
//! An input is all or nothing, like every input to the hub: one resource that cannot be mapped
//! rejects the whole input, with every problem named by its JSON path
//! (`entry[2].resource.subject`) and never by its value.
//!
//! Each source reads with its own tables ([`Mapping`], from `fhir_mapping` in its
//! configuration), so [`FhirNormaliser`] holds one per source and picks by the input's source.

mod resources;
mod subject;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{NormaliseContext, Normaliser, RawInput, Rejection};
use throughline_contracts::event::{EventSource, EventSubmission, FieldProblem};

pub use resources::{Disposition, MAPPED_TYPES, ODS_SYSTEMS, UBRN_SYSTEM, disposition};
pub use subject::{NHS_NUMBER_SYSTEM, VERIFICATION_EXTENSION, VERIFIED};

use crate::config::{FhirConfigError, FhirMappingConfig};

/// The format name sources configure: `format = "fhir"`.
pub const FORMAT: &str = "fhir";

/// One source's mapping tables, checked.
#[derive(Debug, Clone)]
pub struct Mapping {
    agencies_by_ods: BTreeMap<String, AgencyId>,
    services: BTreeMap<String, String>,
    require_verification_status: bool,
}

impl Default for Mapping {
    /// Empty tables, verification status required: what a source without `fhir_mapping` gets.
    fn default() -> Self {
        Self {
            agencies_by_ods: BTreeMap::new(),
            services: BTreeMap::new(),
            require_verification_status: true,
        }
    }
}

impl Mapping {
    /// Checks `config` and builds the tables (ODS codes upper-cased, service keys trimmed).
    pub fn build(config: &FhirMappingConfig) -> Result<Self, FhirConfigError> {
        config.validate()?;
        let mut agencies_by_ods = BTreeMap::new();
        for (ods, agency) in &config.agencies_by_ods {
            let agency = AgencyId::parse(agency).map_err(|e| {
                FhirConfigError::invalid(format!("agencies_by_ods.{ods}"), e.to_string())
            })?;
            agencies_by_ods.insert(ods.trim().to_ascii_uppercase(), agency);
        }
        Ok(Self {
            agencies_by_ods,
            services: config
                .services
                .iter()
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect(),
            require_verification_status: config.require_verification_status,
        })
    }

    /// The agencies the table names, for the hub to check each is configured.
    pub fn agencies(&self) -> impl Iterator<Item = (&str, &AgencyId)> {
        self.agencies_by_ods.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Maps one input body.
    pub fn normalise(
        &self,
        body: &[u8],
        received_at: DateTime<Utc>,
        ctx: &NormaliseContext,
    ) -> Result<Vec<EventSubmission>, Rejection> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            Rejection::one(
                "",
                format!(
                    "must be a FHIR JSON resource or Bundle; the body is not JSON (line {}, \
                     column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let Some(resource_type) = value.get("resourceType").and_then(Value::as_str) else {
            return Err(Rejection::one(
                "resourceType",
                "is required: the body must be a FHIR JSON resource or Bundle",
            ));
        };
        let items = if resource_type == "Bundle" {
            bundle_items(&value)?
        } else {
            vec![Item {
                resource: &value,
                at: String::new(),
                full_url: None,
            }]
        };
        let mut index = subject::Index::default();
        for item in &items {
            if matches!(
                item.resource.get("resourceType").and_then(Value::as_str),
                Some("Patient" | "Organization")
            ) {
                index.add(item.resource, item.full_url, &item.at);
            }
        }
        let source = EventSource {
            agency: ctx.agency.clone(),
            system: ctx.system.clone(),
            adapter: ctx.adapter.clone(),
        };
        let cx = resources::Cx {
            mapping: self,
            index: &index,
            source: &source,
            received_at,
        };
        let mut events = Vec::new();
        let mut problems = Vec::new();
        let mut patients_only = true;
        for item in &items {
            let ty = item
                .resource
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or("");
            let in_bundle = !item.at.is_empty();
            if in_bundle && !MAPPED_TYPES.contains(&ty) {
                // Context (Patients, Organizations, a notification's status): not events.
                patients_only &= ty == "Patient";
                continue;
            }
            patients_only = false;
            match disposition(item.resource) {
                Disposition::Events => match resources::map(item.resource, &item.at, &cx) {
                    Ok(mut e) => events.append(&mut e),
                    Err(mut p) => problems.append(&mut p),
                },
                Disposition::Ignored { field, reason } => {
                    problems.push(FieldProblem::new(path(&item.at, field), reason));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Rejection { problems });
        }
        if events.is_empty() {
            return Err(Rejection::one(
                "entry",
                if patients_only {
                    "a Patient alone is not an event".to_owned()
                } else {
                    format!("the Bundle holds no {}", MAPPED_TYPES.join(", "))
                },
            ));
        }
        Ok(events)
    }
}

/// One resource of an input and where it sits.
struct Item<'a> {
    resource: &'a Value,
    /// JSON path of the resource: empty for a lone resource, `entry[2].resource` in a Bundle.
    at: String,
    full_url: Option<&'a str>,
}

/// The resources of a Bundle, skipping a subscription notification's status entry.
fn bundle_items(bundle: &Value) -> Result<Vec<Item<'_>>, Rejection> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Rejection::one("entry", "the Bundle has no entries"))?;
    let mut items = Vec::with_capacity(entries.len());
    let mut problems = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource").filter(|r| r.is_object()) else {
            problems.push(FieldProblem::new(
                format!("entry[{i}].resource"),
                "is required: a notification must carry full resources (payload content \
                 `full-resource`), not ids only",
            ));
            continue;
        };
        let ty = resource.get("resourceType").and_then(Value::as_str);
        let notification_status = ty == Some("SubscriptionStatus")
            || (ty == Some("Parameters")
                && i == 0
                && bundle.get("type").and_then(Value::as_str) == Some("history"));
        if notification_status {
            continue;
        }
        items.push(Item {
            resource,
            at: format!("entry[{i}].resource"),
            full_url: entry.get("fullUrl").and_then(Value::as_str),
        });
    }
    if !problems.is_empty() {
        return Err(Rejection { problems });
    }
    Ok(items)
}

/// `at.field`, or `field` at the top.
pub(crate) fn path(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_owned()
    } else {
        format!("{at}.{field}")
    }
}

/// The `fhir` format's normaliser: each source's [`Mapping`], chosen by the input's source id
/// (a source with none configured reads with [`Mapping::default`]).
#[derive(Debug, Clone, Default)]
pub struct FhirNormaliser {
    by_source: HashMap<String, Arc<Mapping>>,
    fallback: Arc<Mapping>,
}

impl FhirNormaliser {
    /// A normaliser reading each listed source's inputs with its mapping.
    pub fn new(by_source: impl IntoIterator<Item = (String, Mapping)>) -> Self {
        Self {
            by_source: by_source
                .into_iter()
                .map(|(id, m)| (id, Arc::new(m)))
                .collect(),
            fallback: Arc::new(Mapping::default()),
        }
    }
}

impl Normaliser for FhirNormaliser {
    fn format(&self) -> &str {
        FORMAT
    }

    fn normalise(
        &self,
        raw: &RawInput,
        ctx: &NormaliseContext,
    ) -> Result<Vec<EventSubmission>, Rejection> {
        let mapping = self.by_source.get(&ctx.source_id).unwrap_or(&self.fallback);
        mapping.normalise(&raw.body, raw.received_at, ctx)
    }
}

#[cfg(test)]
mod tests;
