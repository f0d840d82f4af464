//! FHIR end to end: the real `throughline` binary against the project's real FHIR test server
//! (`tests/fhir-server/`, medplum's FHIR router in Node).
//!
//! - Poll: an acute trust's FHIR server holds referrals (UK Core ServiceRequests, each with its
//!   Patient); the hub polls them with NHS signed-JWT auth, routes each to CAMHS's webhook, and
//!   after a restart resumes from its stored cursor instead of reading everything again.
//! - Push: the trust's server notifies the hub of a new referral by rest-hook subscription; the
//!   hub routes it to the local authority, whose system is a FHIR server too, as one
//!   `Communication` about the patient, however many times the referral is updated.

mod common;

use std::collections::BTreeSet;

use base64::Engine;
use common::*;
use serde_json::{Value, json};
use throughline_adapter_fhir::fixtures::{self, nhs_number};
use throughline_adapter_fhir::mapping::NHS_NUMBER_SYSTEM;
use throughline_adapter_fhir::test_server::{Options, TestKey, TestServer};

const LA_FHIR_TOKEN: &str = "la-fhir-bearer-token-0123456789";

/// The agencies, routes and agreements both scenarios share, then `sources`.
fn config(store_url: &str, port: u16, camhs: &str, la_sink: &str, sources: &str) -> String {
    format!(
        r#"
[store]
url = "{store_url}"

[api]
listen = "127.0.0.1:{port}"

[log]
format = "json"

[delivery]
max_attempts = 20
initial_backoff_ms = 50
max_backoff_ms = 1000
poll_interval_ms = 100

[[agencies]]
id = "acute-trust"
role = "acute"

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "webhook", url = "{camhs}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "la-csc"
role = "social_care"
{la_sink}

{sources}

[[routes]]
kinds = ["referral.made"]
roles = ["health", "social_care"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["referral.made"]
fields = ["subject.identifiers.nhs_number", "payload.referral_id", "payload.urgency"]

[[sharing_agreements]]
id = "ISA-la"
agency = "la-csc"
kinds = ["referral.made"]
fields = ["subject.identifiers.nhs_number", "payload.*"]
"#
    )
}

const MAPPING: &str = r#"[sources.fhir_mapping]
agencies_by_ods = { RXX = "camhs-north", LA999 = "la-csc" }"#;

/// The FHIR poll cursor the hub has stored for `source`'s `resource_type`.
async fn stored_cursor(hub: &Hub, source: &str, resource_type: &str) -> Option<String> {
    use sqlx::Connection;
    let url = format!(
        "sqlite://{}?mode=ro",
        hub.dir.path().join("store.db").display()
    );
    let mut conn = sqlx::SqliteConnection::connect(&url).await.ok()?;
    sqlx::query_scalar(
        "SELECT cursor_value FROM source_cursors WHERE source_id = $1 AND stream = $2",
    )
    .bind(source)
    .bind(resource_type)
    .fetch_optional(&mut conn)
    .await
    .ok()
    .flatten()
}

/// How many times the FHIR server has answered a Patient read.
fn patient_reads(server: &TestServer) -> usize {
    server.log().matches("GET /fhir/R4/Patient/").count()
}

#[tokio::test]
async fn polled_referrals_reach_the_agency_and_a_restart_resumes_from_the_cursor() {
    let trust = TestServer::start_with(Options {
        signed_jwt: Some(TestKey::generate()),
        ..Options::default()
    })
    .await;
    let admin = trust.admin().await;
    // Five children, each with a referral to CAMHS (ODS RXX).
    let mut ubrns = BTreeSet::new();
    let mut newest = String::new();
    for i in 0..5 {
        let patient = admin
            .create(&fixtures::patient("x", &nhs_number(10 + i), Some("01")))
            .await;
        let ubrn = format!("00000009000{i}");
        let stored = admin
            .create(&fixtures::service_request(
                "x",
                &format!("Patient/{}", patient["id"].as_str().unwrap()),
                "active",
                "RXX",
                Some(&ubrn),
            ))
            .await;
        newest = stored["meta"]["lastUpdated"].as_str().unwrap().to_owned();
        ubrns.insert(ubrn);
    }
    let camhs = Receiver::start(SECRET).await;
    let server = trust.config();
    let throughline_adapter_fhir::FhirAuthConfig::SignedJwt {
        token_url,
        private_key_file,
        ..
    } = &server.auth
    else {
        panic!("signed JWT")
    };
    let sources = format!(
        r#"[[sources]]
id = "trust-fhir"
agency = "acute-trust"
system = "rio"
format = "fhir"
fhir = {{ base_url = "{base}", auth = {{ type = "signed_jwt", token_url = "{token_url}", client_id = "throughline-test", key_id = "test-key-1", private_key_file = "{key}" }}, timeout_ms = 10000, page_size = 2, poll_interval_ms = 200 }}
{MAPPING}
"#,
        base = trust.base_url,
        key = private_key_file.display(),
    );
    let mut hub = Hub::start(|url, port| config(url, port, &camhs.url, "", &sources)).await;

    eventually("five referrals reach CAMHS", || {
        camhs.delivered().len() >= 5
    })
    .await;
    let delivered = camhs.delivered();
    let got: BTreeSet<String> = delivered
        .iter()
        .map(|r| {
            r.body["payload"]["referral_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(got, ubrns);
    for r in &delivered {
        assert!(r.signature_ok);
        assert_eq!(r.body["kind"], "referral.made");
        assert_eq!(r.body["source_agency"], "acute-trust");
        let nhs = r.body["subject"]["identifiers"]["nhs_number"]
            .as_str()
            .unwrap();
        assert!((10..15).any(|i| nhs_number(i) == nhs), "{nhs}");
        assert_eq!(r.body["payload"]["urgency"], "urgent");
    }
    // The cursor is the newest referral's lastUpdated, in the hub's store.
    let mut cursor = None;
    for _ in 0..300 {
        cursor = stored_cursor(&hub, "trust-fhir", "ServiceRequest").await;
        if cursor.as_deref() == Some(newest.as_str()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(cursor.as_deref(), Some(newest.as_str()));
    let reads_before = patient_reads(&trust);

    // Restart the hub, then one more referral.
    hub.restart().await;
    let patient = admin
        .create(&fixtures::patient("x", &nhs_number(15), Some("01")))
        .await;
    admin
        .create(&fixtures::service_request(
            "x",
            &format!("Patient/{}", patient["id"].as_str().unwrap()),
            "active",
            "RXX",
            Some("000000090005"),
        ))
        .await;
    let events = || {
        camhs
            .delivered()
            .iter()
            .map(Received::event_id)
            .collect::<BTreeSet<String>>()
    };
    eventually("the sixth referral reaches CAMHS", || events().len() >= 6).await;
    // No referral became a second event (a delivery cut off by the kill may be sent again,
    // with its idempotency key), and the restarted hub read from its cursor: at most the
    // referral at the cursor again and the new one, not all six children's Patients.
    assert_eq!(events().len(), 6);
    let reads_after = patient_reads(&trust) - reads_before;
    assert!(
        reads_after <= 2,
        "{reads_after} Patient reads after the restart"
    );
    // One token per hub process for every request it made (and one the test seeded with).
    let stats = trust.stats().await;
    assert_eq!(stats["tokens_issued"], 3, "{stats}");
    assert!(stats["requests"].as_u64().unwrap() > 6, "{stats}");

    let mut child_data: Vec<String> = (10..16).map(nhs_number).collect();
    child_data.extend(["Testchild".into(), "LS1 4AP".into()]);
    hub.assert_logs_free_of(&child_data.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_rest_hook_referral_reaches_the_local_authority_as_one_communication() {
    let trust = TestServer::start().await;
    let la = TestServer::start_with(Options {
        bearer_token: Some(LA_FHIR_TOKEN.into()),
        ..Options::default()
    })
    .await;
    let camhs = Receiver::start(SECRET).await;
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("la-token");
    std::fs::write(&token_file, LA_FHIR_TOKEN).unwrap();
    let la_sink = format!(
        r#"sink = {{ type = "fhir", base_url = "{}", auth = {{ type = "bearer", token = "${{file:{}}}" }}, recipient_ods = "LA999", timeout_ms = 10000 }}"#,
        la.base_url,
        token_file.display()
    );
    let sources = format!(
        r#"[[sources]]
id = "trust-fhir-push"
agency = "acute-trust"
system = "rio"
format = "fhir"
api_key = "${{TEST_LA_KEY}}"
{MAPPING}
"#
    );
    let hub = Hub::start(|url, port| config(url, port, &camhs.url, &la_sink, &sources)).await;

    // The trust's server notifies the hub of every active referral.
    let trust_admin = trust.admin().await;
    trust_admin
        .create(&json!({
            "resourceType": "Subscription",
            "status": "active",
            "reason": "referrals to Throughline",
            "criteria": "ServiceRequest?status=active",
            "channel": {
                "type": "rest-hook",
                "endpoint": format!("{}/v1/ingest/trust-fhir-push", hub.base),
                "payload": "application/fhir+json",
                "header": [format!("Authorization: Bearer {LA_KEY}")]
            }
        }))
        .await;
    // An e-RS style referral: the patient named by NHS number on the reference, no Patient.
    let nhs = nhs_number(20);
    let mut referral = fixtures::service_request(
        "x",
        "Patient/elsewhere",
        "active",
        "LA999",
        Some("000000091000"),
    );
    referral["subject"]["identifier"] = json!({ "system": NHS_NUMBER_SYSTEM, "value": nhs });
    let stored = trust_admin.create(&referral).await;

    let la_admin = la.admin().await;
    let communications = |admin_result: &Value| -> Vec<Value> {
        admin_result["entry"]
            .as_array()
            .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
            .unwrap_or_default()
    };
    let mut found = Vec::new();
    for _ in 0..300 {
        found = communications(&la_admin.get("Communication").await);
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 1, "{found:?}\nhub log:\n{}", hub.logs());
    let c = &found[0];
    assert_eq!(c["status"], "completed");
    assert_eq!(c["subject"]["identifier"]["system"], NHS_NUMBER_SYSTEM);
    assert_eq!(c["subject"]["identifier"]["value"], nhs.as_str());
    assert_eq!(c["recipient"][0]["identifier"]["value"], "LA999");
    let summary = c["payload"][0]["contentString"].as_str().unwrap();
    assert!(
        summary.contains("referral.made") && !summary.contains(&nhs),
        "{summary}"
    );
    let attached = base64::engine::general_purpose::STANDARD
        .decode(
            c["payload"][1]["contentAttachment"]["data"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let notification: Value = serde_json::from_slice(&attached).unwrap();
    assert_eq!(notification["kind"], "referral.made");
    assert_eq!(notification["recipient"], "la-csc");
    assert_eq!(notification["payload"]["referral_id"], "000000091000");
    assert_eq!(
        c["identifier"][0]["value"], notification["idempotency_key"],
        "the Communication carries the notification's idempotency key"
    );

    // The referral is edited (a new version, notified again), then a second referral is made.
    // The edit is the same referral: only the second makes a second Communication.
    let mut edited = stored.clone();
    edited["priority"] = json!("routine");
    trust_admin.update(&edited).await;
    let mut second = fixtures::service_request(
        "x",
        "Patient/elsewhere",
        "active",
        "LA999",
        Some("000000091001"),
    );
    second["subject"]["identifier"] = json!({ "system": NHS_NUMBER_SYSTEM, "value": nhs });
    trust_admin.create(&second).await;
    for _ in 0..300 {
        found = communications(&la_admin.get("Communication").await);
        if found.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 2, "{found:?}");

    // A Patient on its own is no event: rejected naming why, and kept in quarantine.
    let (status, problem) = hub
        .post(
            LA_KEY,
            "/v1/ingest/trust-fhir-push",
            &fixtures::patient("p9", &nhs, Some("01")),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "resourceType");
    assert_eq!(
        problem["errors"][0]["reason"],
        "a Patient alone is not an event"
    );
    assert!(!problem.to_string().contains(&nhs));
    assert!(
        camhs.delivered().is_empty(),
        "nothing was referred to CAMHS"
    );

    hub.assert_logs_free_of(&[nhs.as_str(), "Testchild", "LS1 4AP"]);
}

/// `throughline check-config` on `config`, with `env`.
fn check_config(config: &std::path::Path, env: &[(&str, &str)]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["check-config", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_fhir_example_passes_check_config_and_an_unreadable_key_is_named() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/fhir.toml");
    let key = TestKey::generate();
    let key_path = key.private_pem.display().to_string();
    let mut env = vec![
        (
            "THROUGHLINE_CAMHS_WEBHOOK_SECRET",
            "demo-camhs-webhook-secret",
        ),
        ("THROUGHLINE_LA_FHIR_TOKEN", "demo-la-fhir-token"),
        ("THROUGHLINE_FHIR_CLIENT_ID", "demo-client-id"),
        ("THROUGHLINE_FHIR_PRIVATE_KEY_FILE", key_path.as_str()),
        (
            "THROUGHLINE_TRUST_FHIR_API_KEY",
            "demo-trust-fhir-key-0123456789",
        ),
    ];
    let (code, out) = check_config(&example, &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": ok (3 agencies, 2 sources"), "{out}");

    env[3].1 = "/nonexistent/throughline-fhir-key.pem";
    let (code, out) = check_config(&example, &env);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("sources[0].fhir.auth.private_key_file: `/nonexistent/throughline-fhir-key.pem` cannot be read"),
        "{out}"
    );
}

#[test]
fn fhir_keys_are_checked_naming_each_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.toml");
    std::fs::write(
        &path,
        r#"
[[agencies]]
id = "trust"
role = "acute"
sink = { type = "fhir", base_url = "http://fhir.example/R4", recipient_ods = "R X" }

[[sources]]
id = "polled"
agency = "trust"
fhir = { base_url = "https://fhir.example/R4", page_size = 0, auth = { type = "bearer", token = "written-in-the-file" } }

[[sources]]
id = "pushed"
agency = "trust"
format = "fhir"
api_key = "${THROUGHLINE_TEST_FHIR_KEY}"
fhir_mapping = { agencies_by_ods = { RXX = "nobody" } }

[[sources]]
id = "csv"
agency = "trust"
format = "social-care-csv"
api_key = "${THROUGHLINE_TEST_CSV_KEY}"
fhir_mapping = { agencies_by_ods = {} }
"#,
    )
    .unwrap();
    let (code, out) = check_config(
        &path,
        &[
            ("THROUGHLINE_TEST_FHIR_KEY", "test-fhir-push-key-0123456789"),
            ("THROUGHLINE_TEST_CSV_KEY", "test-csv-push-key-0123456789"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    for expected in [
        "agencies[0].sink.base_url: must use https",
        "sources[0].fhir.auth.token: secrets must not be written in the file",
        "sources[0].format: must be `fhir` for a source that polls a FHIR server",
        "sources[1].fhir_mapping.agencies_by_ods.RXX: no agency with this id is configured",
        "sources[2].fhir_mapping: is read only by a source whose format is `fhir`",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert!(!out.contains("written-in-the-file"), "{out}");
}
