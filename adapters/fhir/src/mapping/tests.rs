//! The `fhir` format against UK Core-shaped inputs: each mapping rule, the subject rules, and
//! the rejections (each naming its field and never a value).

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{NormaliseContext, Rejection};
use throughline_contracts::event::EventSubmission;
use throughline_contracts::kind::{EventBody, EventKind, Urgency};

use super::*;
use crate::fixtures::{self, nhs_number};

fn ctx() -> NormaliseContext {
    NormaliseContext {
        source_id: "trust-fhir".into(),
        agency: AgencyId::parse("acute-trust").unwrap(),
        system: "rio".into(),
        adapter: "fhir".into(),
    }
}

fn mapping() -> Mapping {
    let mut config = FhirMappingConfig::default();
    config
        .agencies_by_ods
        .insert("RXX".into(), "camhs-north".into());
    config
        .services
        .insert("http://snomed.info/sct|310583008".into(), "camhs".into());
    config.services.insert(
        "Community paediatrics".into(),
        "community_paediatrics".into(),
    );
    Mapping::build(&config).unwrap()
}

fn run(input: &Value) -> Result<Vec<EventSubmission>, Rejection> {
    let received = Utc.with_ymd_and_hms(2026, 2, 1, 12, 0, 0).unwrap();
    mapping().normalise(input.to_string().as_bytes(), received, &ctx())
}

fn kinds(events: &[EventSubmission]) -> Vec<EventKind> {
    events.iter().map(|e| e.body.kind()).collect()
}

/// A Bundle holding `resource` and its verified Patient `Patient/p1`.
fn with_patient(resource: Value) -> Value {
    fixtures::collection(vec![
        resource,
        fixtures::patient("p1", &nhs_number(1), Some("01")),
    ])
}

fn rejection(input: &Value) -> Rejection {
    run(input).expect_err("the input should be rejected")
}

/// No problem may quote the NHS number, the postcode or the names of the fixtures.
fn assert_no_child_data(r: &Rejection) {
    for p in &r.problems {
        for secret in [nhs_number(1).as_str(), "LS1 4AP", "Testchild", "2015-06-01"] {
            assert!(!p.reason.contains(secret), "{p:?}");
            assert!(!p.field.contains(secret), "{p:?}");
        }
    }
}

#[test]
fn an_active_service_request_is_a_referral_to_the_performers_agency() {
    let sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", Some("000000070000"));
    let events = run(&with_patient(sr)).unwrap();
    assert_eq!(kinds(&events), [EventKind::ReferralMade]);
    let e = &events[0];
    let EventBody::ReferralMade(p) = &e.body else {
        panic!()
    };
    assert_eq!(p.referral_id, "000000070000");
    assert_eq!(p.to_agency.as_str(), "camhs-north");
    assert_eq!(p.urgency, Urgency::Urgent);
    assert_eq!(
        e.subject.identifiers.nhs_number.as_ref().unwrap().as_str(),
        nhs_number(1)
    );
    assert_eq!(
        e.subject.demographics.family_name.as_deref(),
        Some("Testchild")
    );
    assert_eq!(e.source.agency.as_str(), "acute-trust");
    assert_eq!(e.source.adapter, "fhir");
    assert_eq!(e.occurred_at.to_rfc3339(), "2026-01-05T09:30:00+00:00");
    assert_eq!(e.id.unwrap().get_version_num(), 7);
}

#[test]
fn every_version_of_a_referral_gives_the_same_event_id() {
    let mut v1 = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    v1["meta"]["versionId"] = json!("1");
    v1["meta"]["lastUpdated"] = json!("2026-01-05T09:30:00Z");
    let mut v2 = v1.clone();
    v2["meta"]["versionId"] = json!("2");
    v2["meta"]["lastUpdated"] = json!("2026-01-06T10:00:00Z");
    v2["priority"] = json!("routine");
    let a = run(&with_patient(v1)).unwrap();
    let b = run(&with_patient(v2)).unwrap();
    assert_eq!(a[0].id, b[0].id);
    // Without a UBRN the resource id is the referral id.
    let EventBody::ReferralMade(p) = &a[0].body else {
        panic!()
    };
    assert_eq!(p.referral_id, "sr1");
}

#[test]
fn finished_revoked_and_erroneous_service_requests_close_the_referral() {
    for status in ["completed", "revoked", "entered-in-error"] {
        let mut sr = fixtures::service_request("sr1", "Patient/p1", status, "RXX", None);
        sr["meta"]["lastUpdated"] = json!("2026-01-20T08:00:00Z");
        let events = run(&with_patient(sr)).unwrap();
        assert_eq!(kinds(&events), [EventKind::ReferralClosed], "{status}");
        let EventBody::ReferralClosed(p) = &events[0].body else {
            panic!()
        };
        assert_eq!(p.reason.as_deref(), Some(status));
        assert_eq!(
            events[0].occurred_at.to_rfc3339(),
            "2026-01-20T08:00:00+00:00"
        );
    }
}

#[test]
fn a_draft_service_request_is_rejected_in_push_naming_status() {
    let sr = fixtures::service_request("sr1", "Patient/p1", "draft", "RXX", None);
    let r = rejection(&with_patient(sr));
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].field, "entry[0].resource.status");
    assert!(r.problems[0].reason.contains("`draft`"), "{r:?}");
}

#[test]
fn an_unknown_performer_is_rejected_naming_the_ods_table() {
    let sr = fixtures::service_request("sr1", "Patient/p1", "active", "RZZ", None);
    let r = rejection(&with_patient(sr));
    assert_eq!(r.problems[0].field, "entry[0].resource.performer[0]");
    assert!(r.problems[0].reason.contains("agencies_by_ods"), "{r:?}");
    let mut no_performer = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    no_performer.as_object_mut().unwrap().remove("performer");
    let r = rejection(&with_patient(no_performer));
    assert_eq!(r.problems[0].field, "entry[0].resource.performer");
    assert_no_child_data(&r);
}

#[test]
fn a_performer_can_be_an_organization_in_the_bundle() {
    let mut sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    sr["performer"] = json!([{ "reference": "Organization/o1" }]);
    let org = json!({
        "resourceType": "Organization", "id": "o1",
        "identifier": [{ "system": ODS_SYSTEMS[0], "value": "rxx" }]
    });
    let input = fixtures::collection(vec![
        sr,
        org,
        fixtures::patient("p1", &nhs_number(1), Some("01")),
    ]);
    let events = run(&input).unwrap();
    let EventBody::ReferralMade(p) = &events[0].body else {
        panic!()
    };
    assert_eq!(p.to_agency.as_str(), "camhs-north");
}

#[test]
fn an_ers_style_subject_identifier_needs_no_patient() {
    let mut sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    sr["subject"] =
        json!({ "identifier": { "system": NHS_NUMBER_SYSTEM, "value": nhs_number(2) } });
    let events = run(&sr).unwrap();
    assert_eq!(
        events[0]
            .subject
            .identifiers
            .nhs_number
            .as_ref()
            .unwrap()
            .as_str(),
        nhs_number(2)
    );
    assert!(events[0].subject.demographics.is_empty());
}

#[test]
fn a_lone_resource_without_an_nhs_number_names_subject() {
    let sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    let r = rejection(&sr);
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].field, "subject");
}

#[test]
fn an_unverified_patient_rejects_the_resource_with_the_status_named() {
    let sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    let input = fixtures::collection(vec![
        sr,
        fixtures::patient("p1", &nhs_number(1), Some("02")),
    ]);
    let r = rejection(&input);
    assert_eq!(
        r.problems[0].field,
        "entry[1].resource.identifier[0].extension[0]"
    );
    assert!(r.problems[0].reason.contains("status is 02"), "{r:?}");
    assert_no_child_data(&r);
    // No status at all: rejected by default, accepted when the source does not require one.
    let sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    let input = fixtures::collection(vec![sr, fixtures::patient("p1", &nhs_number(1), None)]);
    assert_eq!(
        rejection(&input).problems[0].field,
        "entry[1].resource.identifier[0].extension"
    );
    let mut config = FhirMappingConfig {
        require_verification_status: false,
        ..Default::default()
    };
    config
        .agencies_by_ods
        .insert("RXX".into(), "camhs-north".into());
    let lenient = Mapping::build(&config).unwrap();
    assert!(
        lenient
            .normalise(input.to_string().as_bytes(), Utc::now(), &ctx())
            .is_ok()
    );
}

#[test]
fn an_emergency_encounter_is_an_ae_attendance_at_its_site() {
    let enc = fixtures::encounter(
        "e1",
        "Patient/p1",
        "EMER",
        "in-progress",
        "2026-01-10T22:15:00Z",
        None,
    );
    let events = run(&with_patient(enc)).unwrap();
    assert_eq!(kinds(&events), [EventKind::NhsAeAttendance]);
    let EventBody::NhsAeAttendance(p) = &events[0].body else {
        panic!()
    };
    assert_eq!(p.at.to_rfc3339(), "2026-01-10T22:15:00+00:00");
    assert_eq!(p.site_ods_code.as_deref(), Some("RR8"));
}

#[test]
fn an_inpatient_stay_is_an_admission_then_with_its_end_a_discharge() {
    let admitted = fixtures::encounter(
        "e2",
        "Patient/p1",
        "IMP",
        "in-progress",
        "2026-01-11T08:00:00Z",
        None,
    );
    let first = run(&with_patient(admitted)).unwrap();
    assert_eq!(kinds(&first), [EventKind::NhsAdmission]);
    let finished = fixtures::encounter(
        "e2",
        "Patient/p1",
        "IMP",
        "finished",
        "2026-01-11T08:00:00Z",
        Some("2026-01-14T16:00:00Z"),
    );
    let later = run(&with_patient(finished)).unwrap();
    assert_eq!(
        kinds(&later),
        [EventKind::NhsAdmission, EventKind::NhsDischarge]
    );
    // The admission carried again by the finished version is the same event.
    assert_eq!(later[0].id, first[0].id);
    assert_eq!(
        later[1].occurred_at.to_rfc3339(),
        "2026-01-14T16:00:00+00:00"
    );
    let no_end = fixtures::encounter(
        "e2",
        "Patient/p1",
        "ACUTE",
        "finished",
        "2026-01-11T08:00:00Z",
        None,
    );
    let r = rejection(&with_patient(no_end));
    assert_eq!(r.problems[0].field, "entry[0].resource.period.end");
}

#[test]
fn an_outpatient_encounter_is_rejected_in_push_naming_class() {
    let enc = fixtures::encounter(
        "e3",
        "Patient/p1",
        "AMB",
        "finished",
        "2026-01-11T08:00:00Z",
        None,
    );
    let r = rejection(&with_patient(enc));
    assert_eq!(r.problems[0].field, "entry[0].resource.class");
    assert!(r.problems[0].reason.contains("`AMB`"), "{r:?}");
}

#[test]
fn episodes_of_care_open_and_close_with_the_mapped_service() {
    let open = fixtures::episode_of_care(
        "eoc1",
        "Patient/p1",
        "active",
        "310583008",
        "2026-01-03",
        None,
    );
    let events = run(&with_patient(open)).unwrap();
    let EventBody::EpisodeOfCareOpened(p) = &events[0].body else {
        panic!("{events:?}")
    };
    assert_eq!(p.episode_id, "eoc1");
    assert_eq!(p.service, "camhs");
    assert_eq!(p.on.to_string(), "2026-01-03");
    let mut closed = fixtures::episode_of_care(
        "eoc2",
        "Patient/p1",
        "cancelled",
        "999999",
        "2026-01-03",
        Some("2026-01-09"),
    );
    // An unmapped coding falls through to the text, then to the source's system.
    let events = run(&with_patient(closed.clone())).unwrap();
    let EventBody::EpisodeOfCareClosed(p) = &events[0].body else {
        panic!()
    };
    assert_eq!(p.service, "rio");
    assert_eq!(p.on.to_string(), "2026-01-09");
    assert_eq!(p.reason.as_deref(), Some("cancelled"));
    closed["type"][0]["text"] = json!("Community paediatrics");
    let events = run(&with_patient(closed)).unwrap();
    let EventBody::EpisodeOfCareClosed(p) = &events[0].body else {
        panic!()
    };
    assert_eq!(p.service, "community_paediatrics");
}

#[test]
fn an_episode_names_its_child_in_patient_not_subject() {
    let mut open = fixtures::episode_of_care(
        "eoc1",
        "Patient/p1",
        "active",
        "310583008",
        "2026-01-03",
        None,
    );
    open.as_object_mut().unwrap().remove("patient");
    let r = rejection(&with_patient(open));
    assert_eq!(r.problems[0].field, "entry[0].resource.patient");
}

#[test]
fn flags_are_raised_and_removed() {
    let raised = fixtures::flag("f1", "Patient/p1", "active", "1234", "2026-01-02");
    let events = run(&with_patient(raised)).unwrap();
    let EventBody::NhsFlagRaised(p) = &events[0].body else {
        panic!()
    };
    assert_eq!(
        (p.flag_id.as_str(), p.code.as_deref()),
        ("f1", Some("1234"))
    );
    assert_eq!(p.on.to_string(), "2026-01-02");
    let mut removed = fixtures::flag("f1", "Patient/p1", "inactive", "1234", "2026-01-02");
    removed["period"]["end"] = json!("2026-01-30");
    let events = run(&with_patient(removed)).unwrap();
    assert_eq!(kinds(&events), [EventKind::NhsFlagRemoved]);
    let EventBody::NhsFlagRemoved(p) = &events[0].body else {
        panic!()
    };
    assert_eq!(p.on.to_string(), "2026-01-30");
}

#[test]
fn a_backport_notification_skips_its_status_entry() {
    let sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    let notification = json!({
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            { "fullUrl": "urn:uuid:1", "resource": {
                "resourceType": "SubscriptionStatus", "status": "active", "type": "event-notification"
            }},
            { "fullUrl": "http://fhir.example/R4/ServiceRequest/sr1", "resource": sr },
            { "fullUrl": "http://fhir.example/R4/Patient/p1",
              "resource": fixtures::patient("p1", &nhs_number(1), Some("01")) }
        ]
    });
    assert_eq!(
        kinds(&run(&notification).unwrap()),
        [EventKind::ReferralMade]
    );
    let mut r4 = notification.clone();
    r4["entry"][0]["resource"] = json!({ "resourceType": "Parameters", "parameter": [] });
    assert_eq!(kinds(&run(&r4).unwrap()), [EventKind::ReferralMade]);
    // An id-only notification carries nothing to map.
    let mut id_only = notification;
    id_only["entry"][1]
        .as_object_mut()
        .unwrap()
        .remove("resource");
    let r = rejection(&id_only);
    assert_eq!(r.problems[0].field, "entry[1].resource");
}

#[test]
fn a_transaction_bundle_with_several_resources_maps_them_all() {
    let input = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            { "fullUrl": "urn:uuid:p", "resource": fixtures::patient("p1", &nhs_number(1), Some("01")),
              "request": { "method": "POST", "url": "Patient" } },
            { "fullUrl": "urn:uuid:e", "resource": fixtures::encounter("e1", "urn:uuid:p", "EMER", "arrived", "2026-01-10T22:15:00Z", None),
              "request": { "method": "POST", "url": "Encounter" } },
            { "fullUrl": "urn:uuid:f", "resource": fixtures::flag("f1", "urn:uuid:p", "active", "1234", "2026-01-10"),
              "request": { "method": "POST", "url": "Flag" } }
        ]
    });
    assert_eq!(
        kinds(&run(&input).unwrap()),
        [EventKind::NhsAeAttendance, EventKind::NhsFlagRaised]
    );
}

#[test]
fn every_problem_in_every_resource_is_reported() {
    let bad_sr = fixtures::service_request("sr1", "Patient/nobody", "active", "RZZ", None);
    let mut bad_enc = fixtures::encounter("e1", "Patient/p1", "EMER", "arrived", "yesterday", None);
    bad_enc["period"]["start"] = json!("yesterday");
    let input = fixtures::collection(vec![
        bad_sr,
        bad_enc,
        fixtures::patient("p1", &nhs_number(1), Some("01")),
    ]);
    let r = rejection(&input);
    let fields: Vec<&str> = r.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "entry[0].resource.subject",
            "entry[0].resource.performer[0]",
            "entry[1].resource.period.start"
        ]
    );
    assert_no_child_data(&r);
}

#[test]
fn a_patient_alone_is_not_an_event() {
    let patient = fixtures::patient("p1", &nhs_number(1), Some("01"));
    let r = rejection(&patient);
    assert_eq!(r.problems[0].field, "resourceType");
    assert_eq!(r.problems[0].reason, "a Patient alone is not an event");
    let r = rejection(&fixtures::collection(vec![patient]));
    assert_eq!(r.problems[0].reason, "a Patient alone is not an event");
    let r = rejection(&json!({"resourceType": "Observation", "status": "final"}));
    assert!(r.problems[0].reason.contains("`Observation`"), "{r:?}");
}

#[test]
fn bodies_that_are_not_fhir_json_are_rejected() {
    let received = Utc::now();
    let r = mapping()
        .normalise(b"{\"resourceType\": ", received, &ctx())
        .unwrap_err();
    assert!(r.problems[0].reason.contains("not JSON"), "{r:?}");
    let r = mapping()
        .normalise(br#"{"nhs": "9990000018"}"#, received, &ctx())
        .unwrap_err();
    assert_eq!(r.problems[0].field, "resourceType");
    assert!(!r.problems[0].reason.contains("999"));
    let r = rejection(&json!({"resourceType": "Bundle", "type": "collection", "entry": []}));
    assert_eq!(r.problems[0].field, "entry");
}

#[test]
fn the_normaliser_reads_each_source_with_its_own_tables() {
    use throughline_contracts::adapter::{Normaliser, RawInput};
    let normaliser = FhirNormaliser::new([("trust-fhir".to_owned(), mapping())]);
    assert_eq!(normaliser.format(), "fhir");
    let sr = fixtures::service_request("sr1", "Patient/p1", "active", "RXX", None);
    let raw = RawInput {
        source_id: "trust-fhir".into(),
        content_type: Some("application/fhir+json".into()),
        body: with_patient(sr).to_string().into(),
        received_at: Utc::now(),
        message_id: None,
    };
    assert!(normaliser.normalise(&raw, &ctx()).is_ok());
    // Another source has no `agencies_by_ods`: the same input names an unknown performer.
    let mut other = ctx();
    other.source_id = "other".into();
    let r = normaliser.normalise(&raw, &other).unwrap_err();
    assert_eq!(r.problems[0].field, "entry[0].resource.performer[0]");
}
