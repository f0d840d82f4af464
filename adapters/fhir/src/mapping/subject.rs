//! Who a resource is about: the child's NHS number (the only identifier the `fhir` format links
//! on) and the Patient's demographics, kept as evidence.
//!
//! A resource names its patient by reference. The reference resolves, in this order, to a
//! Patient contained in the resource (`#id`), a Patient elsewhere in the same Bundle (by
//! `fullUrl`, or by `Patient/{id}` however the reference is written), or, failing both, to the
//! NHS number the reference itself carries as a logical `identifier` (as e-RS sends it).
//!
//! UK Core marks how far an NHS number can be trusted with the
//! `Extension-UKCore-NHSNumberVerificationStatus` extension on the identifier. Only `01`
//! ("number present and verified") links a child: a number that is unverified, under trace or
//! merely supplied could join two children's records, which is worse than not linking. The
//! contracts have nowhere to keep an unverified number as evidence, so such a resource is
//! rejected with the status code named. A logical reference without the extension is accepted
//! (e-RS only holds PDS-traced numbers and sends none); a Patient without it is accepted only
//! when `require_verification_status` is off.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::Value;
use throughline_contracts::demographics::{Demographics, Sex};
use throughline_contracts::event::FieldProblem;
use throughline_contracts::identifiers::NhsNumber;

use super::path;

/// The NHS number identifier system.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// The UK Core NHS number verification status extension.
pub const VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
/// The one verification status that links a child: number present and verified.
pub const VERIFIED: &str = "01";

/// The Patients and Organizations of one input, by every key a reference may use.
#[derive(Default)]
pub(super) struct Index<'a> {
    by_key: HashMap<String, (&'a Value, String)>,
}

impl<'a> Index<'a> {
    /// Records `resource` (at JSON path `at`) under its `fullUrl` and `{type}/{id}`.
    pub(super) fn add(&mut self, resource: &'a Value, full_url: Option<&str>, at: &str) {
        let ty = resource.get("resourceType").and_then(Value::as_str);
        if let Some(url) = full_url {
            self.by_key
                .insert(url.to_owned(), (resource, at.to_owned()));
        }
        if let (Some(ty), Some(id)) = (ty, resource.get("id").and_then(Value::as_str)) {
            self.by_key
                .entry(format!("{ty}/{id}"))
                .or_insert_with(|| (resource, at.to_owned()));
        }
    }

    /// The resource of type `ty` a literal reference points at, with its JSON path.
    pub(super) fn resolve(&self, reference: &str, ty: &str) -> Option<(&'a Value, &str)> {
        let found = self
            .by_key
            .get(reference)
            .or_else(|| relative_key(reference).and_then(|k| self.by_key.get(&k)))?;
        (found.0.get("resourceType").and_then(Value::as_str) == Some(ty))
            .then_some((found.0, found.1.as_str()))
    }
}

/// `Type/id` from `Type/id`, `Type/id/_history/v` or `https://server/base/Type/id[...]`.
fn relative_key(reference: &str) -> Option<String> {
    let mut parts: Vec<&str> = reference.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() >= 4 && parts[parts.len() - 2] == "_history" {
        parts.truncate(parts.len() - 2);
    }
    let n = parts.len();
    (n >= 2).then(|| format!("{}/{}", parts[n - 2], parts[n - 1]))
}

/// The child a resource is about: NHS number, and demographics when a Patient was found.
pub(super) struct Found {
    pub nhs_number: NhsNumber,
    pub demographics: Demographics,
}

/// Resolves the patient reference at `resource[field]` (JSON path `at`).
pub(super) fn resolve(
    resource: &Value,
    at: &str,
    field: &str,
    index: &Index<'_>,
    require_status: bool,
) -> Result<Found, FieldProblem> {
    let ref_at = path(at, field);
    let Some(reference) = resource.get(field).filter(|r| r.is_object()) else {
        return Err(FieldProblem::new(
            ref_at,
            "is required: the child must be identified by NHS number",
        ));
    };
    if let Some(literal) = reference.get("reference").and_then(Value::as_str) {
        if let Some(id) = literal.strip_prefix('#') {
            let contained = resource
                .get("contained")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .find(|(_, c)| {
                    c.get("id").and_then(Value::as_str) == Some(id)
                        && c.get("resourceType").and_then(Value::as_str) == Some("Patient")
                });
            if let Some((i, patient)) = contained {
                return from_patient(
                    patient,
                    &path(at, &format!("contained[{i}]")),
                    require_status,
                );
            }
        } else if let Some((patient, patient_at)) = index.resolve(literal, "Patient") {
            return from_patient(patient, patient_at, require_status);
        }
    }
    if let Some(identifier) = reference.get("identifier")
        && identifier.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM)
    {
        let id_at = path(&ref_at, "identifier");
        check_status(identifier, &id_at, false)?;
        let nhs_number = nhs_number(identifier, &id_at)?;
        return Ok(Found {
            nhs_number,
            demographics: Demographics::default(),
        });
    }
    Err(FieldProblem::new(
        ref_at,
        format!(
            "must reference a Patient in the input or carry an identifier with system \
             {NHS_NUMBER_SYSTEM}"
        ),
    ))
}

/// The verified NHS number and demographics of a Patient at JSON path `at`.
fn from_patient(patient: &Value, at: &str, require_status: bool) -> Result<Found, FieldProblem> {
    let nhs: Vec<(usize, &Value)> = patient
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, i)| i.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM))
        .collect();
    let Some(&(i, identifier)) = nhs.first() else {
        return Err(FieldProblem::new(
            path(at, "identifier"),
            format!("the Patient has no NHS number (system {NHS_NUMBER_SYSTEM})"),
        ));
    };
    let id_at = path(at, &format!("identifier[{i}]"));
    let number = nhs_number(identifier, &id_at)?;
    for &(j, other) in &nhs[1..] {
        let other_at = path(at, &format!("identifier[{j}]"));
        if nhs_number(other, &other_at)? != number {
            return Err(FieldProblem::new(
                path(at, "identifier"),
                "the Patient has two different NHS numbers; which one is the child's is unknown",
            ));
        }
    }
    check_status(identifier, &id_at, require_status)?;
    Ok(Found {
        nhs_number: number,
        demographics: demographics(patient),
    })
}

fn nhs_number(identifier: &Value, at: &str) -> Result<NhsNumber, FieldProblem> {
    let value_at = path(at, "value");
    let Some(raw) = identifier.get("value").and_then(Value::as_str) else {
        return Err(FieldProblem::new(
            value_at,
            "the NHS number must be a string",
        ));
    };
    // The contracts' messages describe the fault, never the digits.
    NhsNumber::parse(raw).map_err(|e| FieldProblem::new(value_at, e.to_string()))
}

/// Refuses an NHS number whose stated verification status is not `01`, and, when `required`,
/// one that states none.
fn check_status(identifier: &Value, at: &str, required: bool) -> Result<(), FieldProblem> {
    let extensions = identifier
        .get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .find(|(_, e)| e.get("url").and_then(Value::as_str) == Some(VERIFICATION_EXTENSION));
    let Some((i, extension)) = extensions else {
        return if required {
            Err(FieldProblem::new(
                path(at, "extension"),
                "the NHS number states no verification status \
                 (Extension-UKCore-NHSNumberVerificationStatus); only a verified number (01) \
                 links a child",
            ))
        } else {
            Ok(())
        };
    };
    let ext_at = path(at, &format!("extension[{i}]"));
    let code = extension
        .get("valueCodeableConcept")
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find_map(|c| c.get("code").and_then(Value::as_str)));
    match code {
        Some(VERIFIED) => Ok(()),
        Some(other) if other.len() <= 8 && other.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Err(FieldProblem::new(
                ext_at,
                format!(
                    "the NHS number's verification status is {other}; only 01 (number present \
                     and verified) links a child"
                ),
            ))
        }
        _ => Err(FieldProblem::new(
            ext_at,
            "the verification status must be a valueCodeableConcept with a code; only 01 \
             (number present and verified) links a child",
        )),
    }
}

/// Name, date of birth, sex and postcode, where the Patient states them. Evidence only: the hub
/// never links children on these.
fn demographics(patient: &Value) -> Demographics {
    let pick = |field: &str, preferred: &str| -> Option<&Value> {
        let all = patient.get(field)?.as_array()?;
        all.iter()
            .find(|v| v.get("use").and_then(Value::as_str) == Some(preferred))
            .or_else(|| all.first())
    };
    let name = pick("name", "official");
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let address = patient
        .get("address")
        .and_then(Value::as_array)
        .and_then(|all| {
            let with_postcode = |a: &&Value| a.get("postalCode").is_some();
            all.iter()
                .filter(with_postcode)
                .find(|a| a.get("use").and_then(Value::as_str) == Some("home"))
                .or_else(|| all.iter().find(with_postcode))
        });
    Demographics {
        given_name: text(name.and_then(|n| n.get("given")).and_then(|g| g.get(0))),
        family_name: text(name.and_then(|n| n.get("family"))),
        date_of_birth: patient
            .get("birthDate")
            .and_then(Value::as_str)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        sex: match patient.get("gender").and_then(Value::as_str) {
            Some("female") => Some(Sex::Female),
            Some("male") => Some(Sex::Male),
            Some("other") => Some(Sex::Other),
            Some("unknown") => Some(Sex::NotKnown),
            _ => None,
        },
        postcode: text(address.and_then(|a| a.get("postalCode"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verified(nhs: &str) -> Value {
        json!({
            "system": NHS_NUMBER_SYSTEM,
            "value": nhs,
            "extension": [{
                "url": VERIFICATION_EXTENSION,
                "valueCodeableConcept": { "coding": [{
                    "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                    "code": "01"
                }]}
            }]
        })
    }

    #[test]
    fn relative_keys_ignore_base_and_history() {
        assert_eq!(relative_key("Patient/p1").as_deref(), Some("Patient/p1"));
        assert_eq!(
            relative_key("https://fhir.example/R4/Patient/p1/_history/3").as_deref(),
            Some("Patient/p1")
        );
        assert_eq!(relative_key("p1"), None);
    }

    #[test]
    fn a_patient_gives_its_verified_number_and_demographics() {
        let patient = json!({
            "resourceType": "Patient", "id": "p1",
            "identifier": [{"system": "https://fhir.trust.nhs.uk/Id/pas", "value": "X1"}, verified("9990000018")],
            "name": [{"use": "usual", "given": ["Al"]}, {"use": "official", "family": "Smith", "given": ["Alex", "J"]}],
            "gender": "female", "birthDate": "2015-03-04",
            "address": [{"use": "work", "postalCode": "LS1 1AA"}, {"use": "home", "postalCode": "LS6 2BB"}]
        });
        let found = from_patient(&patient, "entry[1].resource", true).unwrap();
        assert_eq!(found.nhs_number.as_str(), "9990000018");
        let d = found.demographics;
        assert_eq!(d.given_name.as_deref(), Some("Alex"));
        assert_eq!(d.family_name.as_deref(), Some("Smith"));
        assert_eq!(d.date_of_birth, NaiveDate::from_ymd_opt(2015, 3, 4));
        assert_eq!(d.sex, Some(Sex::Female));
        assert_eq!(d.postcode.as_deref(), Some("LS6 2BB"));
    }

    #[test]
    fn an_unverified_number_is_refused_naming_the_status_not_the_number() {
        let mut id = verified("9990000018");
        id["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = json!("02");
        let patient = json!({"resourceType": "Patient", "identifier": [id]});
        let err = from_patient(&patient, "", true).err().unwrap();
        assert_eq!(err.field, "identifier[0].extension[0]");
        assert!(err.reason.contains("status is 02"), "{}", err.reason);
        assert!(!err.reason.contains("9990000018"));
    }

    #[test]
    fn a_missing_status_is_refused_only_when_required() {
        let patient = json!({"resourceType": "Patient", "identifier": [
            {"system": NHS_NUMBER_SYSTEM, "value": "9990000018"}
        ]});
        let err = from_patient(&patient, "entry[0].resource", true)
            .err()
            .unwrap();
        assert_eq!(err.field, "entry[0].resource.identifier[0].extension");
        assert!(from_patient(&patient, "", false).is_ok());
    }

    #[test]
    fn an_invalid_number_is_refused_without_echoing_it() {
        let patient = json!({"resourceType": "Patient", "identifier": [verified("9990000019")]});
        let err = from_patient(&patient, "", true).err().unwrap();
        assert_eq!(err.field, "identifier[0].value");
        assert!(err.reason.contains("Modulus 11"), "{}", err.reason);
        assert!(!err.reason.contains("999000001"));
    }

    #[test]
    fn two_different_numbers_are_refused() {
        let patient = json!({"resourceType": "Patient", "identifier": [
            verified("9990000018"), verified("9990000026")
        ]});
        let err = from_patient(&patient, "", true).err().unwrap();
        assert_eq!(err.field, "identifier");
    }

    #[test]
    fn references_resolve_in_the_bundle_in_the_resource_or_by_identifier() {
        let patient =
            json!({"resourceType": "Patient", "id": "p1", "identifier": [verified("9990000018")]});
        let mut index = Index::default();
        index.add(&patient, Some("urn:uuid:0b3c"), "entry[1].resource");
        for reference in [
            "urn:uuid:0b3c",
            "Patient/p1",
            "http://fhir.example/R4/Patient/p1/_history/2",
        ] {
            let sr = json!({"subject": {"reference": reference}});
            let found = resolve(&sr, "", "subject", &index, true).unwrap();
            assert_eq!(found.nhs_number.as_str(), "9990000018", "{reference}");
        }
        let contained = json!({
            "contained": [{"resourceType": "Patient", "id": "c", "identifier": [verified("9990000026")]}],
            "subject": {"reference": "#c"}
        });
        let found = resolve(&contained, "", "subject", &Index::default(), true).unwrap();
        assert_eq!(found.nhs_number.as_str(), "9990000026");
        // e-RS style: a logical reference, no Patient anywhere, no status extension.
        let ers = json!({"subject": {"reference": "Patient/elsewhere", "identifier": {
            "system": NHS_NUMBER_SYSTEM, "value": "9990000034"
        }}});
        let found = resolve(&ers, "", "subject", &Index::default(), true).unwrap();
        assert_eq!(found.nhs_number.as_str(), "9990000034");
        assert!(found.demographics.is_empty());
    }

    #[test]
    fn an_unresolvable_subject_names_the_field() {
        let sr = json!({"subject": {"reference": "Patient/unknown"}});
        let err = resolve(&sr, "entry[2].resource", "subject", &Index::default(), true)
            .err()
            .unwrap();
        assert_eq!(err.field, "entry[2].resource.subject");
        let none = json!({});
        let err = resolve(&none, "", "patient", &Index::default(), true)
            .err()
            .unwrap();
        assert_eq!(err.field, "patient");
        // A reference to something that is not a Patient does not resolve as one.
        let group = json!({"resourceType": "Group", "id": "g1"});
        let mut index = Index::default();
        index.add(&group, None, "entry[0].resource");
        let flag = json!({"subject": {"reference": "Group/g1"}});
        assert!(resolve(&flag, "", "subject", &index, true).is_err());
    }
}
