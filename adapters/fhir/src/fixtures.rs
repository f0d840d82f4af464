//! Synthetic UK Core-shaped resources for tests (this crate's and the hub's): Patients with NHS
//! numbers from the never-issued 999 test range, and the ServiceRequests, Encounters,
//! EpisodesOfCare and Flags the `fhir` format maps. Nothing here is real data.

use serde_json::{Value, json};
use throughline_contracts::identifiers::NhsNumber;

use crate::mapping::{NHS_NUMBER_SYSTEM, ODS_SYSTEMS, UBRN_SYSTEM, VERIFICATION_EXTENSION};

/// The CodeSystem of the UK Core NHS number verification status.
pub const VERIFICATION_CODE_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

/// The `n`-th valid NHS number (Modulus 11, counted from 0) in the test range
/// 999 000 0000 – 999 999 9999: distinct `n` give distinct numbers.
pub fn nhs_number(n: usize) -> String {
    (0u32..1_000_000)
        .filter_map(|k| {
            let body = format!("999{k:06}");
            let first9: [u8; 9] = std::array::from_fn(|i| body.as_bytes()[i] - b'0');
            NhsNumber::check_digit(&first9).map(|check| format!("{body}{check}"))
        })
        .nth(n)
        .expect("the test range has that many valid numbers")
}

/// A UK Core Patient with `nhs_number` and, when `status` is given, the verification
/// extension with that code (`01` verified).
pub fn patient(id: &str, nhs_number: &str, status: Option<&str>) -> Value {
    let mut identifier = json!({ "system": NHS_NUMBER_SYSTEM, "value": nhs_number });
    if let Some(code) = status {
        identifier["extension"] = json!([{
            "url": VERIFICATION_EXTENSION,
            "valueCodeableConcept": { "coding": [{
                "system": VERIFICATION_CODE_SYSTEM,
                "code": code
            }]}
        }]);
    }
    json!({
        "resourceType": "Patient",
        "id": id,
        "meta": { "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"] },
        "identifier": [identifier],
        "name": [{ "use": "official", "family": "Testchild", "given": ["Alex"] }],
        "gender": "female",
        "birthDate": "2015-06-01",
        "address": [{ "use": "home", "postalCode": "LS1 4AP" }]
    })
}

/// A reference to a Organization by ODS code.
pub fn ods_reference(code: &str) -> Value {
    json!({
        "type": "Organization",
        "identifier": { "system": ODS_SYSTEMS[0], "value": code }
    })
}

/// A UK Core ServiceRequest (a referral) about `patient_ref` (`Patient/{id}`), to the
/// organisation `performer_ods`, with an e-RS UBRN when given.
pub fn service_request(
    id: &str,
    patient_ref: &str,
    status: &str,
    performer_ods: &str,
    ubrn: Option<&str>,
) -> Value {
    let mut sr = json!({
        "resourceType": "ServiceRequest",
        "id": id,
        "meta": { "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-ServiceRequest"] },
        "status": status,
        "intent": "order",
        "priority": "urgent",
        "subject": { "reference": patient_ref },
        "authoredOn": "2026-01-05T09:30:00+00:00",
        "performer": [ods_reference(performer_ods)]
    });
    if let Some(ubrn) = ubrn {
        sr["identifier"] = json!([{ "system": UBRN_SYSTEM, "value": ubrn }]);
    }
    sr
}

/// A UK Core Encounter of `class` (`EMER`, `IMP`...) in `status`, with the period given.
pub fn encounter(
    id: &str,
    patient_ref: &str,
    class: &str,
    status: &str,
    start: &str,
    end: Option<&str>,
) -> Value {
    let mut period = json!({ "start": start });
    if let Some(end) = end {
        period["end"] = json!(end);
    }
    json!({
        "resourceType": "Encounter",
        "id": id,
        "meta": { "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Encounter"] },
        "status": status,
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": class
        },
        "subject": { "reference": patient_ref },
        "period": period,
        "serviceProvider": ods_reference("RR8")
    })
}

/// A UK Core EpisodeOfCare (CAMHS by SNOMED CT 310583008 unless `type_code` says otherwise).
pub fn episode_of_care(
    id: &str,
    patient_ref: &str,
    status: &str,
    type_code: &str,
    start: &str,
    end: Option<&str>,
) -> Value {
    let mut period = json!({ "start": start });
    if let Some(end) = end {
        period["end"] = json!(end);
    }
    json!({
        "resourceType": "EpisodeOfCare",
        "id": id,
        "meta": { "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-EpisodeOfCare"] },
        "status": status,
        "type": [{ "coding": [{ "system": "http://snomed.info/sct", "code": type_code }] }],
        "patient": { "reference": patient_ref },
        "period": period
    })
}

/// A UK Core Flag with `code` in `status`.
pub fn flag(id: &str, patient_ref: &str, status: &str, code: &str, start: &str) -> Value {
    json!({
        "resourceType": "Flag",
        "id": id,
        "meta": { "profile": ["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Flag"] },
        "status": status,
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": code }] },
        "subject": { "reference": patient_ref },
        "period": { "start": start }
    })
}

/// A `collection` Bundle of `resources`, each with a `urn:uuid` fullUrl.
pub fn collection(resources: Vec<Value>) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": resources
            .into_iter()
            .map(|r| json!({ "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()), "resource": r }))
            .collect::<Vec<_>>()
    })
}
