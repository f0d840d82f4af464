//! End to end: the real `throughline` binary, a temporary SQLite store, and real local HTTP
//! receivers for three agencies. Every test also scans the hub's whole log output for the child
//! data it used.

mod common;

use common::*;
use serde_json::json;

const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";
const FAMILY: &str = "Lovelace";
const GIVEN: &str = "Augusta";
const DOB: &str = "2015-12-10";
const POSTCODE: &str = "LS1 4AP";

fn child_data() -> Vec<&'static str> {
    vec![NHS, "943 476 5919", UPN, FAMILY, GIVEN, DOB, POSTCODE]
}

struct Setup {
    hub: Hub,
    school: Receiver,
    camhs: Receiver,
    yjs: Receiver,
}

async fn setup(school_timeout_ms: u64, camhs_timeout_ms: u64) -> Setup {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let yjs = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| {
        config(
            url,
            port,
            &Agencies {
                school: &school,
                camhs: &camhs,
                youth_justice: &yjs,
                school_timeout_ms,
                camhs_timeout_ms,
            },
        )
    })
    .await;
    Setup {
        hub,
        school,
        camhs,
        yjs,
    }
}

/// Makes the school and CAMHS involved with the child (each reports something about it), so
/// the LA's next event fans out to both. Returns the ids of those set-up events.
async fn involve_school_and_camhs(s: &Setup) -> Vec<String> {
    let joined = s
        .hub
        .submit(
            SCHOOL_KEY,
            &event(
                "oakfield-primary",
                json!({"nhs_number": "943 476 5919", "upn": UPN}),
                json!({"given_name": GIVEN, "family_name": FAMILY, "date_of_birth": DOB, "postcode": POSTCODE}),
                "school.joined",
                json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
            ),
        )
        .await;
    let opened = s
        .hub
        .submit(
            CAMHS_KEY,
            &event(
                "camhs-north",
                json!({"nhs_number": NHS}),
                json!({}),
                "episode_of_care.opened",
                json!({"episode_id": "E1", "service": "camhs", "on": "2026-10-01"}),
            ),
        )
        .await;
    // CAMHS's report is routed to the school: wait for it, so tests that script the school's
    // receiver script only what follows.
    eventually("the school hears of the CAMHS episode", || {
        !s.school.delivered_for(&opened).is_empty()
    })
    .await;
    vec![joined, opened]
}

fn assessment_request() -> serde_json::Value {
    event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({"family_name": FAMILY, "date_of_birth": DOB}),
        "ehc_needs_assessment.requested",
        json!({"request_id": "EHCNA-77", "requested_by": "parent", "received_on": "2026-11-19"}),
    )
}

#[tokio::test]
async fn each_involved_agency_receives_exactly_its_permitted_fields_once() {
    let s = setup(5000, 5000).await;
    involve_school_and_camhs(&s).await;
    let id = s.hub.submit(LA_KEY, &assessment_request()).await;

    eventually("both agencies receive the request", || {
        !s.school.delivered_for(&id).is_empty() && !s.camhs.delivered_for(&id).is_empty()
    })
    .await;
    // Let any stray duplicate arrive before counting.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let school = s.school.delivered_for(&id);
    assert_eq!(school.len(), 1, "school got the notification once");
    let n = &school[0];
    assert!(n.signature_ok, "signature verifies");
    assert_eq!(n.idempotency_key, format!("{id}/oakfield-primary"));
    assert_eq!(n.body["sharing_agreement"], "ISA-school");
    // The LA sent only the NHS number; the school gets its own identifier, the UPN, and nothing else.
    assert_eq!(n.body["subject"], json!({"identifiers": {"upn": UPN}}));
    assert_eq!(
        n.body["payload"],
        json!({"request_id": "EHCNA-77", "requested_by": "parent", "received_on": "2026-11-19"})
    );

    let camhs = s.camhs.delivered_for(&id);
    assert_eq!(camhs.len(), 1, "CAMHS got the notification once");
    let n = &camhs[0];
    assert_eq!(n.body["sharing_agreement"], "ISA-camhs");
    assert_eq!(
        n.body["subject"],
        json!({"identifiers": {"nhs_number": NHS}, "demographics": {"date_of_birth": DOB}})
    );
    assert_eq!(n.body["payload"], json!({"request_id": "EHCNA-77"}));
    assert_eq!(n.body["kind"], "ehc_needs_assessment.requested");
    assert_eq!(n.body["source_agency"], "la-send");

    // Both notifications name the same pseudonymous child.
    assert_eq!(school[0].body["child_id"], camhs[0].body["child_id"]);
    s.hub.assert_logs_free_of(&child_data());
}

#[tokio::test]
async fn uncovered_recipient_raises_an_alert_instead_of_a_delivery() {
    let s = setup(5000, 5000).await;
    involve_school_and_camhs(&s).await;
    // The LA registers youth justice's involvement: it is routed everything, but no sharing
    // agreement covers it.
    s.hub
        .submit(
            LA_KEY,
            &event(
                "la-send",
                json!({"nhs_number": NHS}),
                json!({}),
                "involvement.started",
                json!({"agency": "youth-justice", "on": "2026-11-01"}),
            ),
        )
        .await;
    let id = s.hub.submit(LA_KEY, &assessment_request()).await;
    eventually("the school receives the request", || {
        !s.school.delivered_for(&id).is_empty()
    })
    .await;
    eventually("CAMHS receives the request", || {
        !s.camhs.delivered_for(&id).is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    assert!(
        s.yjs.received().is_empty(),
        "nothing may reach an agency no agreement covers"
    );
    let alerts = s.hub.cli(&["alerts"]);
    assert!(
        alerts.contains("no_sharing_agreement") && alerts.contains("youth-justice"),
        "an operator alert names the uncovered agency: {alerts}"
    );
    let denied = s.hub.cli(&["deliveries", "list"]);
    assert!(
        !denied.contains("youth-justice"),
        "no delivery row for the uncovered agency: {denied}"
    );
    s.hub.assert_logs_free_of(&child_data());
}

#[tokio::test]
async fn a_500_then_200_is_retried_and_delivered_once() {
    let s = setup(5000, 5000).await;
    involve_school_and_camhs(&s).await;
    s.school.script(&[Behaviour::Status(500)]);
    let id = s.hub.submit(LA_KEY, &assessment_request()).await;

    eventually("the school receives the request", || {
        !s.school.delivered_for(&id).is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let attempts = s.school.attempts_for(&id);
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![500, 200]
    );
    assert_eq!(
        attempts[0].idempotency_key, attempts[1].idempotency_key,
        "a retry keeps its key"
    );
    assert_eq!(s.school.delivered_for(&id).len(), 1);
    s.hub.assert_logs_free_of(&child_data());
}

#[tokio::test]
async fn a_400_goes_to_dead_letter_with_the_reason() {
    let s = setup(5000, 5000).await;
    involve_school_and_camhs(&s).await;
    s.camhs.script(&[Behaviour::Status(400)]);
    let id = s.hub.submit(LA_KEY, &assessment_request()).await;

    let mut dead = String::new();
    eventually("the CAMHS delivery is dead-lettered", || {
        dead = s.hub.cli(&["deliveries", "list", "--status", "dead"]);
        dead.contains(&id)
    })
    .await;
    assert!(
        dead.contains("camhs-north") && dead.contains("HTTP 400 Bad Request"),
        "{dead}"
    );
    assert_eq!(
        s.camhs.attempts_for(&id).len(),
        1,
        "a permanent failure is not retried"
    );
    // The school's copy is unaffected.
    eventually("the school still receives it", || {
        !s.school.delivered_for(&id).is_empty()
    })
    .await;
    let alerts = s.hub.cli(&["alerts"]);
    assert!(alerts.contains("dead_letter"), "{alerts}");

    // An operator requeues it once the receiver is fixed; it goes with the same key.
    s.hub.cli(&["deliveries", "retry-dead"]);
    eventually("the requeued delivery arrives", || {
        !s.camhs.delivered_for(&id).is_empty()
    })
    .await;
    let attempts = s.camhs.attempts_for(&id);
    assert_eq!(attempts[0].idempotency_key, attempts[1].idempotency_key);
    s.hub.assert_logs_free_of(&child_data());
}

#[tokio::test]
async fn a_hanging_agency_does_not_delay_another_agencys_deliveries() {
    // CAMHS's receiver hangs for longer than the whole test; its timeout is long too.
    let s = setup(5000, 60_000).await;
    involve_school_and_camhs(&s).await;
    s.camhs.set_default(Behaviour::Hang);

    let mut ids = Vec::new();
    for i in 0..10 {
        let mut e = assessment_request();
        e["payload"]["request_id"] = json!(format!("EHCNA-{i}"));
        ids.push(s.hub.submit(LA_KEY, &e).await);
    }
    eventually("the school receives all ten", || {
        ids.iter().all(|id| !s.school.delivered_for(id).is_empty())
    })
    .await;
    // While the school got all ten, CAMHS's worker is still stuck on its first request.
    assert_eq!(
        s.camhs.in_flight(),
        1,
        "CAMHS's first delivery is still hanging"
    );
    assert_eq!(
        s.camhs.received().len(),
        1,
        "CAMHS's queue waits behind its own hanging request only"
    );
    // In order, too.
    let order: Vec<String> = s
        .school
        .delivered()
        .iter()
        .map(|r| r.event_id())
        .filter(|e| ids.contains(e))
        .collect();
    assert_eq!(order, ids, "each child's notifications arrive in order");
    s.hub.assert_logs_free_of(&child_data());
}

#[tokio::test]
async fn an_invalid_nhs_number_gets_422_naming_the_field_and_is_quarantined() {
    let s = setup(5000, 5000).await;
    let mut bad = assessment_request();
    bad["subject"]["identifiers"]["nhs_number"] = json!("9434765910");
    let (status, problem) = s.hub.post(LA_KEY, "/v1/events", &bad).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["status"], 422);
    assert_eq!(
        problem["errors"][0]["field"],
        "subject.identifiers.nhs_number"
    );
    assert!(
        !problem.to_string().contains("9434765910"),
        "the problem must not echo the value"
    );
    let qid = problem["quarantine_id"].as_str().unwrap().to_owned();

    let listed = s.hub.cli(&["quarantine", "list"]);
    assert!(
        listed.contains(&qid) && listed.contains("subject.identifiers.nhs_number"),
        "{listed}"
    );
    let shown = s.hub.cli(&["quarantine", "show", &qid]);
    assert!(
        shown.contains("9434765910"),
        "the raw input is kept whole for the operator"
    );

    // Discarding keeps the item (marked) and is audited.
    s.hub.cli(&[
        "quarantine",
        "discard",
        &qid,
        "--reason",
        "sender corrected it",
    ]);
    let discarded = s.hub.cli(&["quarantine", "list", "--status", "discarded"]);
    assert!(discarded.contains(&qid));
    s.hub.assert_logs_free_of(&["9434765910", FAMILY, DOB]);
}

#[tokio::test]
async fn a_quarantined_input_replays_once_configuration_allows_it() {
    let s = setup(5000, 5000).await;
    // A referral to an agency that is not configured is rejected at validation...
    let referral = event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({}),
        "referral.made",
        json!({"referral_id": "REF-9", "to_agency": "camhs-south"}),
    );
    let (status, problem) = s.hub.post(LA_KEY, "/v1/events", &referral).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "payload.to_agency");
    assert_eq!(problem["step"], "validate");
    let qid = problem["quarantine_id"].as_str().unwrap().to_owned();

    // ...replaying it unchanged fails the same way and keeps one item...
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["quarantine", "replay", &qid, "--config"])
        .arg(&s.hub.config_path)
        .envs([
            ("TEST_SCHOOL_KEY", SCHOOL_KEY),
            ("TEST_CAMHS_KEY", CAMHS_KEY),
            ("TEST_LA_KEY", LA_KEY),
            ("TEST_WEBHOOK_SECRET", SECRET),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("payload.to_agency"));

    // ...and once the agency is configured, the replay commits and delivers.
    let config = std::fs::read_to_string(&s.hub.config_path)
        .unwrap()
        .replace("id = \"camhs-north\"", "id = \"camhs-south\"")
        .replace("agency = \"camhs-north\"", "agency = \"camhs-south\"");
    std::fs::write(&s.hub.config_path, config).unwrap();
    let mut hub = s.hub;
    hub.restart().await;
    let replayed = hub.cli(&["quarantine", "replay", &qid]);
    assert!(replayed.contains("committed 1 event"), "{replayed}");
    eventually("the replayed referral is delivered", || {
        !s.camhs.delivered().is_empty()
    })
    .await;
    assert_eq!(
        s.camhs.delivered()[0].body["payload"],
        json!({"referral_id": "REF-9"})
    );
    let listed = hub.cli(&["quarantine", "list", "--status", "replayed"]);
    assert!(listed.contains(&qid));
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let s = setup(5000, 5000).await;
    let (status, problem) = s
        .hub
        .post("not-a-key", "/v1/events", &assessment_request())
        .await;
    assert_eq!(status, 401);
    assert_eq!(problem["title"], "Missing or unknown API key");
    // A source may only submit for its own agency.
    let (status, problem) = s
        .hub
        .post(SCHOOL_KEY, "/v1/events", &assessment_request())
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "source.agency");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_as_a_problem() {
    let s = setup(5000, 5000).await;
    let big = "x".repeat(2 * 1024 * 1024);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/events", s.hub.base))
        .bearer_auth(LA_KEY)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_commits_once() {
    let s = setup(5000, 5000).await;
    involve_school_and_camhs(&s).await;
    // A retry resends the same body (a different body under the same key is a conflict).
    let body = assessment_request();
    let send = || {
        reqwest::Client::new()
            .post(format!("{}/v1/events", s.hub.base))
            .bearer_auth(LA_KEY)
            .header("idempotency-key", "la-request-7")
            .json(&body)
            .send()
    };
    let first: serde_json::Value = send().await.unwrap().json().await.unwrap();
    let second: serde_json::Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first["event_ids"], second["event_ids"]);
    assert_eq!(second["duplicate"], true);
    let id = first["event_ids"][0].as_str().unwrap().to_owned();
    eventually("the school receives it", || {
        !s.school.delivered_for(&id).is_empty()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        s.school
            .delivered()
            .iter()
            .filter(|r| r.body["kind"] == "ehc_needs_assessment.requested")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_social_care_csv_extract_is_ingested_in_its_native_format() {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let yjs = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| {
        let base = config(
            url,
            port,
            &Agencies {
                school: &school,
                camhs: &camhs,
                youth_justice: &yjs,
                school_timeout_ms: 5000,
                camhs_timeout_ms: 5000,
            },
        );
        base + r#"
[[agencies]]
id = "csc"
role = "social_care"

[[sources]]
id = "liquidlogic-extract"
agency = "csc"
system = "liquidlogic"
format = "social-care-csv"
api_key = "${TEST_CSC_KEY}"
"#
    })
    .await;
    // The school knows the child by UPN; the extract links the case-system id to the same child.
    hub.submit(
        SCHOOL_KEY,
        &event(
            "oakfield-primary",
            json!({"upn": UPN}),
            json!({}),
            "school.joined",
            json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
        ),
    )
    .await;
    let csv = format!(
        "la_child_id,upn,event,date,code\nP-1001,{UPN},cin_plan,01/11/2026,N2\nP-1001,{UPN},case_closed,2026-11-20,RC8\n"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/v1/ingest/liquidlogic-extract", hub.base))
        .bearer_auth(CSC_KEY)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["event_ids"].as_array().unwrap().len(), 2);
    eventually("the school hears of both", || {
        school
            .delivered()
            .iter()
            .filter(|r| r.body["source_agency"] == "csc")
            .count()
            >= 2
    })
    .await;
    let kinds: Vec<String> = school
        .delivered()
        .iter()
        .filter(|r| r.body["source_agency"] == "csc")
        .map(|r| r.body["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec!["social_care.child_in_need_plan", "social_care.case_closed"]
    );

    // A bad row quarantines the whole extract, naming row and column.
    let bad = "la_child_id,nhs_number,event,date\nP-1002,9434765910,referral,2026-11-20\n";
    let r = reqwest::Client::new()
        .post(format!("{}/v1/ingest/liquidlogic-extract", hub.base))
        .bearer_auth(CSC_KEY)
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "row 1.nhs_number");
    // A key may only post to its own source.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/ingest/liquidlogic-extract", hub.base))
        .bearer_auth(LA_KEY)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    hub.assert_logs_free_of(&[UPN, "9434765910", "P-1001"]);
}

#[tokio::test]
async fn with_concurrency_an_agency_takes_several_children_at_once_and_keeps_each_in_order() {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let yjs = Receiver::start(SECRET).await;
    camhs.set_default(Behaviour::Slow(300, 200));
    let hub = Hub::start(|url, port| {
        config(
            url,
            port,
            &Agencies {
                school: &school,
                camhs: &camhs,
                youth_justice: &yjs,
                school_timeout_ms: 5000,
                camhs_timeout_ms: 5000,
            },
        )
        .replace(
            "poll_interval_ms = 100",
            "poll_interval_ms = 100\nconcurrency = 4",
        )
    })
    .await;
    let children = test_nhs_numbers(6000, 4);
    let mut ids = Vec::new();
    for round in 0..2 {
        for (c, nhs) in children.iter().enumerate() {
            let referral = event(
                "la-send",
                json!({"nhs_number": nhs}),
                json!({}),
                "referral.made",
                json!({"referral_id": format!("C{c}-{round}"), "to_agency": "camhs-north"}),
            );
            ids.push(hub.submit(LA_KEY, &referral).await);
        }
    }
    eventually("all eight arrive", || {
        ids.iter().all(|id| !camhs.delivered_for(id).is_empty())
    })
    .await;
    assert!(
        camhs.max_in_flight() > 1,
        "several children's notifications were in flight together"
    );
    assert!(
        camhs.max_in_flight() <= 4,
        "never more than the configured concurrency"
    );
    for c in 0..children.len() {
        let order: Vec<String> = camhs
            .delivered()
            .iter()
            .filter_map(|r| r.body["payload"]["referral_id"].as_str().map(str::to_owned))
            .filter(|r| r.starts_with(&format!("C{c}-")))
            .collect();
        assert_eq!(
            order,
            vec![format!("C{c}-0"), format!("C{c}-1")],
            "child {c} in order"
        );
    }
}

/// A date chrono reads but no deadline can be counted from (`+262142-06-01`) once dropped the
/// connection: the deadline arithmetic panicked. It is refused at the edge with a 422 naming the
/// field, never the value, and the hub goes on taking events.
#[tokio::test]
async fn a_date_at_the_edge_of_the_calendar_gets_422_naming_the_field() {
    let s = setup(5000, 5000).await;
    let plan = event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({}),
        "ehc_plan.final",
        json!({"plan_id": "EHCP-EDGE", "issued_on": "+262142-06-01"}),
    );
    let (status, problem) = s.hub.post(LA_KEY, "/v1/events", &plan).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "payload.issued_on");
    assert!(!problem.to_string().contains("262142"), "{problem}");
    s.hub.submit(LA_KEY, &assessment_request()).await;
}
