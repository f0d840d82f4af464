//! The adapter against the project's real FHIR test server (`tests/fhir-server/`, medplum's
//! FHIR router in Node): paged polling with a cursor that survives a restart, bearer and
//! signed-JWT authorisation with a token cache, and the sink's create-once Communication.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use throughline_adapter_fhir::fixtures::{self, nhs_number};
use throughline_adapter_fhir::test_server::{Options, TestKey, TestServer};
use throughline_adapter_fhir::{
    FhirAuthConfig, FhirClient, FhirError, FhirInputs, FhirMappingConfig, FhirNotificationSink,
    FhirSinkConfig, FhirSourceConfig, Mapping, MemoryCursorStore, PolledResource,
};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{
    DeliveryOutcome, InputOutcome, NormaliseContext, Sink, Source, SourceInput,
};
use throughline_contracts::kind::EventKind;
use throughline_contracts::notification::Notification;

const SOURCE: &str = "trust-fhir";

fn committed() -> InputOutcome {
    InputOutcome::Committed {
        event_ids: vec![],
        duplicate: false,
    }
}

fn source_config(server: &TestServer, resources: Vec<PolledResource>) -> FhirSourceConfig {
    let mut config = FhirSourceConfig::new(server.config());
    config.resources = resources;
    config.page_size = 3;
    config.poll_interval_ms = 200;
    config
}

/// The next input, or `None` if none comes within `wait`.
async fn next(source: &mut FhirInputs, wait: Duration) -> Option<SourceInput> {
    tokio::time::timeout(wait, source.next())
        .await
        .ok()
        .flatten()
}

/// Takes inputs until none comes for two seconds, settling each with `outcome`; returns
/// their message ids and bodies.
async fn drain(source: &mut FhirInputs, outcome: &InputOutcome) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    while let Some(input) = next(source, Duration::from_secs(2)).await {
        let body = serde_json::from_slice(&input.raw.body).unwrap();
        out.push((input.raw.message_id.clone().unwrap(), body));
        input.acknowledger.settle(outcome).await;
    }
    out
}

/// Waits for the server to log `line`: it logs each request just after answering it.
async fn wait_for_log(server: &TestServer, line: &str) {
    for _ in 0..50 {
        if server.log().contains(line) {
            return;
        }
        // Polling an external process's log file, not a timing assumption under test.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never logged `{line}`:\n{}", server.log());
}

fn mapping() -> Mapping {
    let mut config = FhirMappingConfig::default();
    config
        .agencies_by_ods
        .insert("RXX".into(), "camhs-north".into());
    Mapping::build(&config).unwrap()
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        source_id: SOURCE.into(),
        agency: AgencyId::parse("acute-trust").unwrap(),
        system: "rio".into(),
        adapter: "fhir".into(),
    }
}

#[tokio::test]
async fn poll_reads_every_page_and_resumes_from_the_saved_cursor() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let patient = admin
        .create(&fixtures::patient("ignored", &nhs_number(1), Some("01")))
        .await;
    let patient_ref = format!("Patient/{}", patient["id"].as_str().unwrap());
    // Seven referrals, with a draft (maps to no event) in the middle; an outpatient encounter
    // (no event) and an A&E attendance; an episode of care and a flag.
    let mut expected = BTreeSet::new();
    for i in 0..7 {
        let status = if i == 3 { "draft" } else { "active" };
        let sr = admin
            .create(&fixtures::service_request(
                "x",
                &patient_ref,
                status,
                "RXX",
                Some(&format!("00000007000{i}")),
            ))
            .await;
        if status == "active" {
            expected.insert(format!("ServiceRequest/{}", sr["id"].as_str().unwrap()));
        }
    }
    admin
        .create(&fixtures::encounter(
            "x",
            &patient_ref,
            "AMB",
            "finished",
            "2026-01-10T10:00:00Z",
            None,
        ))
        .await;
    let ae = admin
        .create(&fixtures::encounter(
            "x",
            &patient_ref,
            "EMER",
            "arrived",
            "2026-01-10T22:00:00Z",
            None,
        ))
        .await;
    expected.insert(format!("Encounter/{}", ae["id"].as_str().unwrap()));
    let eoc = admin
        .create(&fixtures::episode_of_care(
            "x",
            &patient_ref,
            "active",
            "310583008",
            "2026-01-03",
            None,
        ))
        .await;
    expected.insert(format!("EpisodeOfCare/{}", eoc["id"].as_str().unwrap()));
    let flag = admin
        .create(&fixtures::flag(
            "x",
            &patient_ref,
            "active",
            "1234",
            "2026-01-02",
        ))
        .await;
    expected.insert(format!("Flag/{}", flag["id"].as_str().unwrap()));

    let cursors = Arc::new(MemoryCursorStore::default());
    let mut config = source_config(&server, PolledResource::ALL.to_vec());
    // One poll only while the inputs are drained: every page read below came from a `next`.
    config.poll_interval_ms = 60_000;
    let mut source = FhirInputs::connect(SOURCE.into(), &config, cursors.clone())
        .await
        .unwrap();
    let first = drain(&mut source, &committed()).await;
    let seen: BTreeSet<String> = first
        .iter()
        .map(|(mid, _)| mid.split("/_history/").next().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected, "every mapped resource once, nothing else");
    assert_eq!(first.len(), expected.len(), "no resource twice: {first:?}");
    // Seven referrals at three a page: one search and two `next` links, in one poll.
    let searches = server
        .log()
        .matches("GET /fhir/R4/ServiceRequest 200")
        .count();
    assert_eq!(searches, 3, "{}", server.log());
    // The Patient was read once for the whole poll, not once per resource.
    assert_eq!(server.log().matches("GET /fhir/R4/Patient/").count(), 1);
    // Each input is the resource and its Patient, and maps to its event.
    for (mid, body) in &first {
        let events = mapping()
            .normalise(body.to_string().as_bytes(), chrono::Utc::now(), &ctx())
            .unwrap_or_else(|r| panic!("{mid}: {r:?}"));
        assert_eq!(
            events[0]
                .subject
                .identifiers
                .nhs_number
                .as_ref()
                .unwrap()
                .as_str(),
            nhs_number(1)
        );
        if mid.starts_with("ServiceRequest/") {
            assert_eq!(events[0].body.kind(), EventKind::ReferralMade);
        }
    }
    let cursor = cursors
        .get(SOURCE, "ServiceRequest")
        .expect("a saved cursor");
    drop(source);

    // Two more referrals; a new source (a restarted hub) reads only those, besides at most a
    // re-read of what sits exactly at the cursor (the hub deduplicates it by message id).
    let mut added = BTreeSet::new();
    for i in 0..2 {
        let sr = admin
            .create(&fixtures::service_request(
                "x",
                &patient_ref,
                "active",
                "RXX",
                Some(&format!("00000008000{i}")),
            ))
            .await;
        added.insert(format!("ServiceRequest/{}", sr["id"].as_str().unwrap()));
    }
    let config = source_config(&server, vec![PolledResource::ServiceRequest]);
    let mut source = FhirInputs::connect(SOURCE.into(), &config, cursors.clone())
        .await
        .unwrap();
    let second = drain(&mut source, &committed()).await;
    let earlier: BTreeSet<&str> = first.iter().map(|(m, _)| m.as_str()).collect();
    let new: BTreeSet<String> = second
        .iter()
        .filter(|(m, _)| !earlier.contains(m.as_str()))
        .map(|(m, _)| m.split("/_history/").next().unwrap().to_owned())
        .collect();
    assert_eq!(new, added);
    // Re-read at most: the first pass's resources that sit exactly at the cursor, the latest
    // `lastUpdated` (two created in one millisecond share it).
    let updated = |bundle: &serde_json::Value| {
        bundle["entry"][0]["resource"]["meta"]["lastUpdated"]
            .as_str()
            .map(str::to_owned)
    };
    let latest = first.iter().filter_map(|(_, b)| updated(b)).max();
    let at_cursor = first.iter().filter(|(_, b)| updated(b) == latest).count();
    assert!(second.len() <= added.len() + at_cursor, "{second:?}");
    assert!(cursors.get(SOURCE, "ServiceRequest").unwrap() > cursor);
}

#[tokio::test]
async fn an_unavailable_hub_leaves_the_cursor_and_the_resource_comes_again() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let patient = admin
        .create(&fixtures::patient("ignored", &nhs_number(2), Some("01")))
        .await;
    let patient_ref = format!("Patient/{}", patient["id"].as_str().unwrap());
    admin
        .create(&fixtures::flag(
            "x",
            &patient_ref,
            "active",
            "1234",
            "2026-01-02",
        ))
        .await;
    let cursors = Arc::new(MemoryCursorStore::default());
    let config = source_config(&server, vec![PolledResource::Flag]);
    let mut source = FhirInputs::connect(SOURCE.into(), &config, cursors.clone())
        .await
        .unwrap();
    let input = next(&mut source, Duration::from_secs(10)).await.unwrap();
    let mid = input.raw.message_id.clone();
    input
        .acknowledger
        .settle(&InputOutcome::Unavailable {
            reason: "store down".into(),
        })
        .await;
    assert_eq!(
        cursors.get(SOURCE, "Flag"),
        None,
        "no cursor past an unkept input"
    );
    let again = next(&mut source, Duration::from_secs(10)).await.unwrap();
    assert_eq!(again.raw.message_id, mid);
    again.acknowledger.settle(&committed()).await;
    assert!(cursors.get(SOURCE, "Flag").is_some());
    // Kept now: later polls do not offer it again.
    assert!(next(&mut source, Duration::from_secs(1)).await.is_none());
}

#[tokio::test]
async fn a_signed_jwt_token_is_fetched_once_for_many_requests() {
    let server = TestServer::start_with(Options {
        signed_jwt: Some(TestKey::generate()),
        ..Options::default()
    })
    .await;
    let client = FhirClient::build(&server.config()).unwrap();
    client.capabilities().await.unwrap();
    for _ in 0..10 {
        let url = client.url(&["ServiceRequest"]);
        client.search_page(url).await.unwrap();
    }
    let stats = server.stats().await;
    assert_eq!(stats["tokens_issued"], 1, "{stats}");
}

#[tokio::test]
async fn a_401_renews_the_token_once_and_retries() {
    let key = TestKey::generate();
    let server = TestServer::start_with(Options {
        signed_jwt: Some(key),
        ..Options::default()
    })
    .await;
    let client = FhirClient::build(&server.config()).unwrap();
    client.search_page(client.url(&["Flag"])).await.unwrap();
    // A restarted server has forgotten the token the client still holds as valid.
    let server = server.restart().await;
    let page = client.search_page(client.url(&["Flag"])).await.unwrap();
    assert!(page.matches.is_empty());
    wait_for_log(&server, "GET /fhir/R4/Flag 401").await;
    wait_for_log(&server, "GET /fhir/R4/Flag 200").await;
    // One new token: the client renewed on the 401, once.
    assert_eq!(server.stats().await["tokens_issued"], 1);
}

#[tokio::test]
async fn a_wrong_private_key_stops_start_up_naming_the_token_request() {
    let server = TestServer::start_with(Options {
        signed_jwt: Some(TestKey::generate()),
        ..Options::default()
    })
    .await;
    let mut config = server.config();
    let other = TestKey::generate();
    if let FhirAuthConfig::SignedJwt {
        private_key_file, ..
    } = &mut config.auth
    {
        *private_key_file = other.private_pem.clone();
    }
    let err = FhirClient::build(&config)
        .unwrap()
        .capabilities()
        .await
        .unwrap_err();
    assert!(matches!(err, FhirError::TokenRefused { .. }), "{err}");
    assert!(err.to_string().contains("token request"), "{err}");
}

#[tokio::test]
async fn a_static_bearer_token_is_sent_and_a_wrong_one_refused() {
    let server = TestServer::start_with(Options {
        bearer_token: Some("test-bearer-token-1".into()),
        ..Options::default()
    })
    .await;
    let client = FhirClient::build(&server.config()).unwrap();
    client.search_page(client.url(&["Flag"])).await.unwrap();
    let mut wrong = server.config();
    wrong.auth = FhirAuthConfig::Bearer {
        token: "not-the-token".into(),
    };
    let err = FhirClient::build(&wrong)
        .unwrap()
        .search_page(client.url(&["Flag"]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FhirError::Unauthorised { status: 401, .. }),
        "{err}"
    );
}

fn notification(idempotency_key: &str) -> Notification {
    Notification {
        schema_version: 1,
        notification_id: uuid::Uuid::now_v7(),
        idempotency_key: idempotency_key.into(),
        recipient: AgencyId::parse("camhs-north").unwrap(),
        sharing_agreement: "dsa-camhs".into(),
        event_id: uuid::Uuid::now_v7(),
        kind: EventKind::ReferralMade,
        occurred_at: chrono::Utc::now(),
        source_agency: AgencyId::parse("acute-trust").unwrap(),
        child_id: uuid::Uuid::now_v7(),
        subject: json!({ "identifiers": { "nhs_number": nhs_number(3) } }),
        payload: json!({ "referral_id": "000000070000", "to_agency": "camhs-north" }),
    }
}

#[tokio::test]
async fn a_retried_delivery_creates_exactly_one_communication() {
    let server = TestServer::start_with(Options {
        signed_jwt: Some(TestKey::generate()),
        ..Options::default()
    })
    .await;
    let mut config = FhirSinkConfig::new(server.config());
    config.recipient_ods = Some("RXX".into());
    let sink = FhirNotificationSink::connect(&config).await.unwrap();
    let n = notification("delivery-key-1");
    assert_eq!(sink.deliver(&n).await, DeliveryOutcome::Delivered);
    assert_eq!(sink.deliver(&n).await, DeliveryOutcome::Delivered);
    sink.deliver(&notification("delivery-key-2")).await;
    let admin = server.admin().await;
    let found = admin
        .get("Communication?identifier=urn:throughline:idempotency-key|delivery-key-1")
        .await;
    let entries = found["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{found}");
    let c = &entries[0]["resource"];
    assert_eq!(c["status"], "completed");
    assert_eq!(c["subject"]["identifier"]["value"], nhs_number(3));
    assert_eq!(c["recipient"][0]["identifier"]["value"], "RXX");
    let all = admin.get("Communication").await;
    assert_eq!(all["entry"].as_array().map(Vec::len), Some(2), "{all}");
    assert!(
        !server.log().contains("traceparent="),
        "an untraced attempt sends no traceparent:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn a_traced_delivery_sends_its_traceparent_header() {
    let server = TestServer::start().await;
    let sink = FhirNotificationSink::connect(&FhirSinkConfig::new(server.config()))
        .await
        .unwrap();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(
        sink.deliver_traced(&notification("delivery-key-traced"), Some(traceparent))
            .await,
        DeliveryOutcome::Delivered
    );
    wait_for_log(
        &server,
        &format!("POST /fhir/R4/Communication 201 traceparent={traceparent}"),
    )
    .await;
}

#[tokio::test]
async fn a_refused_delivery_is_permanent_and_an_absent_server_retryable() {
    let server = TestServer::start_with(Options {
        bearer_token: Some("test-bearer-token-2".into()),
        ..Options::default()
    })
    .await;
    let mut config = FhirSinkConfig::new(server.config());
    config.server.auth = FhirAuthConfig::Bearer {
        token: "wrong-token".into(),
    };
    let sink = FhirNotificationSink::build(&config).unwrap();
    let outcome = sink.deliver(&notification("k1")).await;
    let DeliveryOutcome::Permanent { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains("401"), "{reason}");
    assert!(!reason.contains(&nhs_number(3)), "{reason}");
    server.stop().await;
    let outcome = sink.deliver(&notification("k1")).await;
    assert!(
        matches!(outcome, DeliveryOutcome::Retryable { .. }),
        "{outcome:?}"
    );
}
