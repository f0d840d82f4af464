//! One child, three agencies, three formats: the issue's identity scenario end to end.
//!
//! A school's Common Transfer File knows the pupil by UPN; a CAMHS team's FHIR referral knows the
//! patient by NHS number; children's social care's CSV extract knows the child by its own case
//! id, and also records the UPN and the NHS number. Until the extract arrives, the hub holds two
//! children (nothing links a UPN to an NHS number); the extract links them, so the hub must end
//! with ONE child that all three agencies are involved with. Real binary, real HTTP, a real
//! SQLite store; each agency's system is represented by the format it really sends.

mod common;

use common::*;
use serde_json::{Value, json};
use throughline_adapter_ctf::fixture::FixtureSpec;

/// The fixture CTF's schools: Oakfield sends it as the pupil leaves for Riverside.
const SENDING_URN: &str = "999991";
const DESTINATION_URN: &str = "999992";
/// CAMHS refers to children's social care, which the FHIR ServiceRequest names by ODS code.
const CSC_ODS: &str = "LA999";

fn hub_config(
    store_url: &str,
    port: u16,
    school: &Receiver,
    camhs: &Receiver,
    csc: &Receiver,
) -> String {
    let every = r#"["*"]"#;
    format!(
        r#"
[store]
url = "{store_url}"

[api]
listen = "127.0.0.1:{port}"

[log]
format = "json"
level = "info"

[delivery]
initial_backoff_ms = 50
max_backoff_ms = 400
poll_interval_ms = 100

[[agencies]]
id = "oakfield-primary"
role = "school"
school_urns = ["{SENDING_URN}"]

[[agencies]]
id = "riverside-academy"
role = "school"
school_urns = ["{DESTINATION_URN}"]
sink = {{ type = "webhook", url = "{school}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "webhook", url = "{camhs}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "csc-children"
role = "social_care"
sink = {{ type = "webhook", url = "{csc}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[sources]]
id = "oakfield-ctf"
agency = "oakfield-primary"
system = "sims"
api_key = "${{TEST_SCHOOL_KEY}}"

[[sources]]
id = "riverside-mis"
agency = "riverside-academy"
system = "arbor"
api_key = "${{TEST_LA_KEY}}"

[[sources]]
id = "camhs-fhir"
agency = "camhs-north"
system = "rio"
format = "fhir"
api_key = "${{TEST_CAMHS_KEY}}"
fhir_mapping = {{ agencies_by_ods = {{ "{CSC_ODS}" = "csc-children" }} }}

[[sources]]
id = "csc-extract"
agency = "csc-children"
system = "liquidlogic"
format = "social-care-csv"
api_key = "${{TEST_CSC_KEY}}"

[[routes]]
kinds = {every}
roles = ["school", "health", "social_care"]

[[sharing_agreements]]
id = "ISA-school"
agency = "riverside-academy"
kinds = {every}
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = {every}
fields = ["subject.identifiers.nhs_number", "payload.*"]

[[sharing_agreements]]
id = "ISA-csc"
agency = "csc-children"
kinds = {every}
fields = ["subject.*", "payload.*"]
"#,
        school = school.url,
        camhs = camhs.url,
        csc = csc.url,
    )
}

/// A UK Core-shaped referral from CAMHS to social care: the Patient (verified NHS number) and
/// the ServiceRequest naming it, as one Bundle.
fn fhir_referral(nhs_number: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b6a3c1e-5f8e-4c57-9f51-1d0d7c2f0a01",
                "resource": {
                    "resourceType": "Patient",
                    "id": "pat-1",
                    "identifier": [{
                        "system": "https://fhir.nhs.uk/Id/nhs-number",
                        "value": nhs_number,
                        "extension": [{
                            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                            "valueCodeableConcept": {"coding": [{
                                "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                                "code": "01"
                            }]}
                        }]
                    }],
                    "birthDate": "2015-03-02"
                }
            },
            {
                "fullUrl": "urn:uuid:0b6a3c1e-5f8e-4c57-9f51-1d0d7c2f0a02",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "id": "sr-1",
                    "meta": {"lastUpdated": "2026-11-02T09:30:00Z"},
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/UBRN", "value": "000000070001"}],
                    "status": "active",
                    "intent": "order",
                    "priority": "urgent",
                    "subject": {"reference": "urn:uuid:0b6a3c1e-5f8e-4c57-9f51-1d0d7c2f0a01"},
                    "authoredOn": "2026-11-02T09:30:00Z",
                    "performer": [{"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": CSC_ODS}}]
                }
            }
        ]
    })
}

/// The `child_id` every notification about the child carries; all must agree.
fn child_ids(receivers: &[&Receiver]) -> std::collections::BTreeSet<String> {
    receivers
        .iter()
        .flat_map(|r| r.delivered())
        .map(|d| d.body["child_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_known_by_upn_nhs_number_and_case_id_is_one_child_with_three_agencies_involved() {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let csc = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| hub_config(url, port, &school, &camhs, &csc)).await;
    let http = reqwest::Client::new();

    // 1. The school: Oakfield's CTF as the pupil leaves for Riverside, which lists the
    // destination URN, so the pupil is handed to Riverside (a transfer) and Riverside is involved.
    let ctf = FixtureSpec::new(1);
    let pupil = ctf.pupil(0);
    let r = http
        .post(format!("{}/v1/ingest/oakfield-ctf/ctf", hub.base))
        .bearer_auth(SCHOOL_KEY)
        .header("content-type", "application/xml")
        .body(ctf.to_bytes())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let report: Value = r.json().await.unwrap_or(Value::Null);
    assert!(
        (200..300).contains(&status),
        "CTF refused ({status}): {report}"
    );

    // 2. CAMHS: a FHIR referral to children's social care, about the patient by NHS number.
    let nhs = test_nhs_numbers(7_301, 1).remove(0);
    let r = http
        .post(format!("{}/v1/ingest/camhs-fhir", hub.base))
        .bearer_auth(CAMHS_KEY)
        .header("content-type", "application/fhir+json")
        .body(fhir_referral(&nhs).to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 202, "FHIR referral refused: {body}");
    // Social care hears of the referral: until now the school's pupil and CAMHS's patient are
    // two children, since nothing yet says the UPN and the NHS number are the same child's.
    eventually("the referral reaches social care", || {
        csc.delivered()
            .iter()
            .any(|d| d.body["kind"] == "referral.made")
    })
    .await;
    assert_eq!(
        child_ids(&[&csc]).len(),
        1,
        "one child so far at social care"
    );

    // 3. Children's social care: its extract links its case id, the UPN and the NHS number.
    let csv = format!(
        "\u{feff}la_child_id,upn,nhs_number,event,date\r\nCSC-40021,{},{nhs},referral,03/11/2026\r\n",
        pupil.upn
    );
    let r = http
        .post(format!("{}/v1/ingest/csc-extract", hub.base))
        .bearer_auth(CSC_KEY)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 202, "CSV extract refused: {body}");

    // The extract's referral reaches the two other agencies involved, about one and the same
    // child: Riverside knew the child by UPN and CAMHS by NHS number.
    eventually(
        "the social care referral reaches Riverside and CAMHS",
        || {
            [&school, &camhs].iter().all(|r| {
                r.delivered()
                    .iter()
                    .any(|d| d.body["kind"] == "social_care.referral")
            })
        },
    )
    .await;
    let linked: Vec<String> = [&school, &camhs]
        .iter()
        .flat_map(|r| r.delivered())
        .filter(|d| d.body["kind"] == "social_care.referral")
        .map(|d| d.body["child_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(linked.len(), 2, "{linked:?}");
    assert_eq!(linked[0], linked[1], "two children where there is one");
    let child = linked[0].clone();

    // CAMHS closes its referral: the news reaches the school and social care, about that child.
    let mut closed = fhir_referral(&nhs);
    closed["entry"][1]["resource"]["status"] = json!("completed");
    closed["entry"][1]["resource"]["meta"]["lastUpdated"] = json!("2026-11-04T10:00:00Z");
    let r = http
        .post(format!("{}/v1/ingest/camhs-fhir", hub.base))
        .bearer_auth(CAMHS_KEY)
        .header("content-type", "application/fhir+json")
        .body(closed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    eventually("the closure reaches Riverside and social care", || {
        [&school, &csc].iter().all(|r| {
            r.delivered()
                .iter()
                .any(|d| d.body["kind"] == "referral.closed")
        })
    })
    .await;
    for r in [&school, &csc] {
        for d in r
            .delivered()
            .iter()
            .filter(|d| d.body["kind"] == "referral.closed")
        {
            assert_eq!(d.body["child_id"], child.as_str());
        }
    }

    // Each of the three may look the child up (an agency never involved gets 404), and sees
    // every agency's events in its timeline.
    for (key, agency) in [
        (LA_KEY, "riverside-academy"),
        (CAMHS_KEY, "camhs-north"),
        (CSC_KEY, "csc-children"),
    ] {
        let (status, timeline) = hub
            .get(key, &format!("/v1/children/{child}/timeline"))
            .await;
        assert_eq!(status, 200, "{agency} is not involved: {timeline}");
        let senders: std::collections::BTreeSet<&str> = timeline["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["source_agency"].as_str())
            .collect();
        for sender in ["oakfield-primary", "camhs-north", "csc-children"] {
            assert!(
                senders.contains(sender),
                "{agency}'s timeline lacks {sender}'s events: {senders:?}"
            );
        }
    }

    hub.assert_logs_free_of(&[&nhs, &pupil.upn, pupil.surname]);
}
