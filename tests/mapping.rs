//! Configured mappings end to end: the real `throughline` binary, a temporary SQLite store and
//! real local HTTP receivers. A school MIS POSTs its own webhook JSON, and children's social
//! care its own CSV extract, to `POST /v1/ingest/{source}`; each is read by a `[[mappings]]` table
//! and reaches the other agency's webhook. A bad row is quarantined with its source field named
//! in the problem response; a webhook the mapping did not know is replayed once the mapping is
//! corrected; a webhook whose every record is filtered is accepted once, with no events. The
//! hub's whole log is scanned for the child data used.

mod common;

use common::*;
use serde_json::{Value, json};

const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";
const FAMILY: &str = "Lovelace";
const DOB: &str = "10/12/2015";

/// The MIS webhook's mapping (the school's source reads it) and the case system extract's.
const MAPPINGS: &str = r#"
[[mappings]]
id = "arbor-pupil-events"
input = "json"
records = "/events"
date_formats = ["%d/%m/%Y", "%Y-%m-%d"]

[mappings.subject]
upn = "/student/upn"
local_id = "/student/id"
family_name = "/student/legalLastName"
date_of_birth = "/student/dateOfBirth"

[mappings.kind]
field = "/eventType"

[mappings.kind.values]
PUPIL_ENROLLED = "school.joined"
ATTENDANCE_SUMMARY = "attendance.concern"
EXCLUSION_RECORDED = { field = "/exclusion/type", values = { SUSPENSION = "exclusion.suspension", PERMANENT = "exclusion.permanent" } }

[mappings.events."school.joined"]
occurred_at = "/occurredAt"
payload.school_urn = "/school/urn"
payload.joined_on = "/enrolment/startDate"

[mappings.events."exclusion.suspension"]
payload.starts_on = "/exclusion/startDate"
payload.school_days = "/exclusion/schoolDays"

[mappings.events."exclusion.permanent"]
payload.effective_on = "/exclusion/startDate"
payload.reason_code = "/exclusion/reasonCode"

[mappings.events."attendance.concern"]
only_if = { field = "/attendance/percentage", below = 90 }
payload.period_start = "/attendance/from"
payload.period_end = "/attendance/to"
payload.sessions_possible = "/attendance/possibleSessions"
payload.sessions_missed = "/attendance/missedSessions"

[[mappings]]
id = "liquidlogic-extract"
input = "csv"
date_formats = ["%d/%m/%Y"]

[mappings.subject]
local_id = "Person ID"
upn = "UPN"
nhs_number = "NHS Number"

[mappings.kind]
field = "Event"

[mappings.kind.values]
"CP Plan Start" = "social_care.child_protection_plan.started"

[mappings.events."social_care.child_protection_plan.started"]
payload.on = "Event Date"
payload.category = "Code"
"#;

/// The common test hub, with the school's source reading the MIS mapping, and children's social
/// care (with a webhook of its own) sending the extract and hearing of exclusions.
fn hub_config(
    url: &str,
    port: u16,
    school: &Receiver,
    csc: &Receiver,
    others: &Receiver,
) -> String {
    let base = config(
        url,
        port,
        &Agencies {
            school,
            camhs: others,
            youth_justice: others,
            school_timeout_ms: 5000,
            camhs_timeout_ms: 5000,
        },
    )
    .replace(
        "system = \"arbor\"\napi_key",
        "system = \"arbor\"\nformat = \"mapping:arbor-pupil-events\"\napi_key",
    );
    assert!(base.contains("mapping:arbor-pupil-events"));
    format!(
        r#"{base}
[[agencies]]
id = "csc"
role = "social_care"
sink = {{ type = "webhook", url = "{csc}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[sources]]
id = "liquidlogic-extract"
agency = "csc"
system = "liquidlogic"
format = "mapping:liquidlogic-extract"
api_key = "${{TEST_CSC_KEY}}"

[[routes]]
kinds = ["exclusion.suspension", "exclusion.permanent"]
roles = ["social_care"]

[[sharing_agreements]]
id = "ISA-csc"
agency = "csc"
kinds = ["exclusion.suspension", "exclusion.permanent"]
fields = ["subject.identifiers.upn", "payload.*"]
{MAPPINGS}"#,
        csc = csc.url
    )
}

/// POSTs `body` to the source's native ingest and returns the status and the JSON answer.
async fn ingest(
    hub: &Hub,
    key: &str,
    source: &str,
    body: String,
    idempotency_key: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/ingest/{source}", hub.base))
        .bearer_auth(key)
        .body(body);
    if let Some(k) = idempotency_key {
        request = request.header("idempotency-key", k);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    if status == 422 {
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    (status, r.json().await.unwrap_or(Value::Null))
}

fn webhook(events: Value) -> String {
    json!({"webhookId": "wh-1", "events": events}).to_string()
}

fn student() -> Value {
    json!({"id": "STU-1001", "upn": UPN, "legalLastName": FAMILY, "dateOfBirth": DOB})
}

fn exclusion(kind: &str) -> Value {
    json!({"eventType": "EXCLUSION_RECORDED", "student": student(),
           "exclusion": {"type": kind, "startDate": "16/11/2026", "schoolDays": "3", "reasonCode": "PA"}})
}

fn delivered_kind(r: &Receiver, kind: &str) -> Vec<Received> {
    r.delivered()
        .into_iter()
        .filter(|n| n.body["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn a_mapped_webhook_and_a_mapped_extract_each_reach_the_other_agency() {
    let school = Receiver::start(SECRET).await;
    let csc = Receiver::start(SECRET).await;
    let others = Receiver::start(SECRET).await;
    let mut hub = Hub::start(|url, port| hub_config(url, port, &school, &csc, &others)).await;

    // The MIS tells the hub a pupil joined: the school is now involved with the child.
    let enrolled = webhook(json!([{
        "eventType": "PUPIL_ENROLLED", "occurredAt": "2026-11-02T08:55:00Z",
        "school": {"urn": 100001}, "student": student(),
        "enrolment": {"startDate": "02/11/2026"}
    }]));
    let (status, body) = ingest(&hub, SCHOOL_KEY, "oakfield-mis", enrolled, None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["event_ids"].as_array().unwrap().len(), 1);

    // Children's social care's extract, in its own columns (a byte order mark, CRLF, a blank
    // row, a quoted comma), links its child id to the same child by UPN and reaches the school.
    let extract = format!(
        "\u{feff}Person ID,UPN,NHS Number,Event,Event Date,Code,Team\r\n\r\nP-1001,{UPN},{NHS},CP Plan Start,20/11/2026,N,\"Safeguarding, East\"\r\n"
    );
    let (status, body) = ingest(&hub, CSC_KEY, "liquidlogic-extract", extract, None).await;
    assert_eq!(status, 202, "{body}");
    let plan = body["event_ids"][0].as_str().unwrap().to_owned();
    eventually("the school hears of the plan", || {
        !school.delivered_for(&plan).is_empty()
    })
    .await;
    let n = &school.delivered_for(&plan)[0];
    assert!(n.signature_ok);
    assert_eq!(n.body["kind"], "social_care.child_protection_plan.started");
    assert_eq!(n.body["source_agency"], "csc");
    assert_eq!(n.body["subject"], json!({"identifiers": {"upn": UPN}}));
    assert_eq!(
        n.body["payload"],
        json!({"on": "2026-11-20", "category": "N"})
    );

    // The MIS's exclusion, switched to a kind on its own type field, reaches social care.
    let (status, body) = ingest(
        &hub,
        SCHOOL_KEY,
        "oakfield-mis",
        webhook(json!([exclusion("PERMANENT")])),
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    eventually("social care hears of the exclusion", || {
        !delivered_kind(&csc, "exclusion.permanent").is_empty()
    })
    .await;
    let n = &delivered_kind(&csc, "exclusion.permanent")[0];
    assert_eq!(n.body["source_agency"], "oakfield-primary");
    assert_eq!(n.body["subject"], json!({"identifiers": {"upn": UPN}}));
    assert_eq!(
        n.body["payload"],
        json!({"effective_on": "2026-11-16", "reason_code": "PA"})
    );

    // A bad row quarantines the extract; the problem names the row and the extract's column.
    let bad = "Person ID,UPN,NHS Number,Event,Event Date,Code\nP-1002,,9434765910,CP Plan Start,20/11/2026,\n";
    let (status, problem) = ingest(&hub, CSC_KEY, "liquidlogic-extract", bad.into(), None).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["step"], "normalise");
    assert_eq!(
        problem["errors"][0]["field"],
        "row 1, column \"NHS Number\""
    );
    assert!(problem["quarantine_id"].is_string());

    // The MIS starts sending a type code the mapping does not know: quarantined, naming it...
    let (status, problem) = ingest(
        &hub,
        SCHOOL_KEY,
        "oakfield-mis",
        webhook(json!([exclusion("SUSPENDED")])),
        None,
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "/events/0/exclusion/type");
    let qid = problem["quarantine_id"].as_str().unwrap().to_owned();

    // ...the IT team maps it, and the quarantined webhook replays under its `mapping:` format.
    let config = std::fs::read_to_string(&hub.config_path).unwrap().replace(
        "SUSPENSION = \"exclusion.suspension\"",
        "SUSPENSION = \"exclusion.suspension\", SUSPENDED = \"exclusion.suspension\"",
    );
    std::fs::write(&hub.config_path, config).unwrap();
    hub.restart().await;
    let replayed = hub.cli(&["quarantine", "replay", &qid]);
    assert!(replayed.contains("committed 1 event"), "{replayed}");
    eventually("social care hears of the replayed suspension", || {
        !delivered_kind(&csc, "exclusion.suspension").is_empty()
    })
    .await;
    assert_eq!(
        delivered_kind(&csc, "exclusion.suspension")[0].body["payload"],
        json!({"starts_on": "2026-11-16", "school_days": 3})
    );
    let listed = hub.cli(&["quarantine", "list", "--status", "replayed"]);
    assert!(listed.contains(&qid), "{listed}");

    hub.assert_logs_free_of(&[NHS, "9434765910", UPN, FAMILY, DOB, "P-1001", "STU-1001"]);
}

#[tokio::test]
async fn a_webhook_whose_every_record_is_filtered_is_accepted_once_with_no_events() {
    let school = Receiver::start(SECRET).await;
    let csc = Receiver::start(SECRET).await;
    let others = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| hub_config(url, port, &school, &csc, &others)).await;
    let summary = webhook(json!([{
        "eventType": "ATTENDANCE_SUMMARY", "student": student(),
        "attendance": {"from": "01/09/2026", "to": "13/11/2026", "possibleSessions": 100,
                       "missedSessions": 3, "percentage": "97%"}
    }]));

    let (status, first) = ingest(
        &hub,
        SCHOOL_KEY,
        "oakfield-mis",
        summary.clone(),
        Some("att-week-46"),
    )
    .await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first, json!({"event_ids": [], "duplicate": false}));
    // A redelivery of the same input is recognised as one.
    let (status, again) = ingest(
        &hub,
        SCHOOL_KEY,
        "oakfield-mis",
        summary,
        Some("att-week-46"),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again, json!({"event_ids": [], "duplicate": true}));

    // An input with no records at all is still a rejection.
    let (status, problem) =
        ingest(&hub, SCHOOL_KEY, "oakfield-mis", webhook(json!([])), None).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "/events");
    let quarantined = hub.cli(&["quarantine", "list"]);
    assert_eq!(
        quarantined.lines().count(),
        2,
        "a header and the empty webhook only: {quarantined}"
    );
    hub.assert_logs_free_of(&[UPN, FAMILY, DOB, "STU-1001"]);
}
