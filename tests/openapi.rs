//! The OpenAPI document against the real hub: schemathesis (PyPI, installed by
//! `scripts/services`) reads `/v1/openapi.json` from the running `throughline` binary,
//! generates requests from it for every operation (valid and invalid bodies, parameters and
//! keys), and checks each answer: no 5xx, a status the document lists for that operation, the
//! content type it lists, headers and a body matching its schema.
//!
//! The hub has real traffic first (a handoff from the school to CAMHS, deliveries, a
//! quarantined input), so the document's links lead schemathesis's stateful phase to real
//! handoffs, timelines and quarantine items, not only to 404s.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";

/// What every answer is checked for: no 5xx; a status, content type, headers and body the
/// document lists for the operation; invalid input, a missing key and an undocumented method
/// refused. Left out: `positive_data_acceptance`, because the hub's own checks (check digits,
/// a source submitting only for its own agency, sharing agreements) are stricter than any JSON
/// Schema can say, so a schema-valid event may rightly get 422.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance,negative_data_rejection,\
    ignored_auth,missing_required_header,unsupported_method,use_after_free,\
    ensure_resource_availability";

/// Test cases per operation and phase: enough to reach every documented status, bounded so the
/// run stays well under two minutes on two cores.
const MAX_EXAMPLES: &str = "25";
/// Fixed, so a failure reproduces; override with `THROUGHLINE_SCHEMATHESIS_SEED` to explore
/// (and pass more options in `THROUGHLINE_SCHEMATHESIS_ARGS`).
const DEFAULT_SEED: &str = "20260601";

async fn hub(school: &Receiver, camhs: &Receiver) -> Hub {
    let (s, c) = (school.url.clone(), camhs.url.clone());
    Hub::start(move |store_url, port| {
        format!(
            r#"
[store]
url = "{store_url}"
[api]
listen = "127.0.0.1:{port}"
operator_api_key = "${{TEST_OPERATOR_KEY}}"
[log]
format = "json"
level = "warn"
[delivery]
initial_backoff_ms = 50
max_backoff_ms = 400
poll_interval_ms = 100

[[agencies]]
id = "oakfield-primary"
role = "school"
sink = {{ type = "webhook", url = "{s}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "camhs-north"
role = "health"
sink = {{ type = "webhook", url = "{c}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "la-send"
role = "send"

[[sources]]
id = "oakfield-mis"
agency = "oakfield-primary"
system = "arbor"
api_key = "${{TEST_SCHOOL_KEY}}"

[[sources]]
id = "camhs-epr"
agency = "camhs-north"
system = "rio"
api_key = "${{TEST_CAMHS_KEY}}"

[[sources]]
id = "la-send-system"
agency = "la-send"
system = "capita-one"
api_key = "${{TEST_LA_KEY}}"

[[routes]]
kinds = ["*"]
roles = ["school", "health"]

[[sharing_agreements]]
id = "ISA-school"
agency = "oakfield-primary"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "ISA-camhs"
agency = "camhs-north"
kinds = ["*"]
fields = ["subject.identifiers.nhs_number", "payload.*"]

[handoffs]
local_authority = "la-send"
"#
        )
    })
    .await
}

/// A referral from the school to CAMHS (a handoff CAMHS may answer), and a quarantined input.
async fn traffic(hub: &Hub, camhs: &Receiver) {
    hub.submit(
        SCHOOL_KEY,
        &json!({
            "schema_version": 1,
            "occurred_at": chrono::Utc::now(),
            "source": {"agency": "oakfield-primary", "system": "arbor", "adapter": "http"},
            "subject": {"identifiers": {"nhs_number": NHS, "upn": UPN}},
            "kind": "referral.made",
            "payload": {"referral_id": "R-1", "to_agency": "camhs-north"},
        }),
    )
    .await;
    eventually("CAMHS receives the referral", || {
        !camhs.delivered().is_empty()
    })
    .await;
    let (status, list) = hub.get(CAMHS_KEY, "/v1/handoffs").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["handoffs"].as_array().map(Vec::len), Some(1), "{list}");
    let (status, _) = hub
        .post(
            CAMHS_KEY,
            "/v1/events",
            &json!({"schema_version": 1, "kind": "referral.made"}),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_hub_answers_as_its_openapi_document_says() {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let hub = hub(&school, &camhs).await;
    traffic(&hub, &camhs).await;

    let doc: serde_json::Value = reqwest::get(format!("{}/v1/openapi.json", hub.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/v1/events", "/v1/deliveries", "/healthz", "/readyz"] {
        assert!(doc["paths"].get(path).is_some(), "{path} undocumented");
    }

    // CAMHS's key for the source endpoints (it received the handoff, so it may answer it),
    // the operator key for the operator endpoints; `{source}` is CAMHS's own source.
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[auth.openapi.sourceKey]
bearer = "{CAMHS_KEY}"
[auth.openapi.operatorKey]
bearer = "{OPERATOR_KEY}"
[parameters]
"path.source" = "camhs-epr"
"#
        ),
    )
    .unwrap();
    let seed = std::env::var("THROUGHLINE_SCHEMATHESIS_SEED").unwrap_or(DEFAULT_SEED.into());
    let started = Instant::now();
    let run = tokio::process::Command::new("python3")
        .args(["-m", "schemathesis.cli", "--no-color", "--config-file"])
        .arg(&config)
        .arg("run")
        .arg(format!("{}/v1/openapi.json", hub.base))
        .args([
            "--checks",
            CHECKS,
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            &seed,
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
        ])
        // More options when exploring, e.g. `--report har --report-dir /tmp/st`.
        .args(
            std::env::var("THROUGHLINE_SCHEMATHESIS_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        // Its reports and caches go in the temporary directory, not the checkout.
        .current_dir(work.path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis did not finish within 10 minutes")
        .expect("run `python3 -m schemathesis.cli`: install it with scripts/services");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found answers that break the document ({:?}):\n{output}\n\nhub log (tail):\n{}",
        out.status,
        hub.logs()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Its summary (phases, warnings, cases generated), for `--nocapture`.
    let summary = output.find("WARNINGS").or_else(|| output.find("SUMMARY"));
    eprintln!(
        "schemathesis passed in {:.0?}\n{}",
        started.elapsed(),
        &output[summary.unwrap_or(0)..]
    );
}
