//! The real `throughline` binary with `[telemetry] otlp_endpoint` pointing at a real local HTTP
//! server standing in for an OpenTelemetry collector: the spans of an input arrive as OTLP
//! protobuf at `/v1/traces`, flushed when the hub shuts down, with no child data in them.
//!
//! The batch processor is told to wait ten minutes between exports
//! (`OTEL_BSP_SCHEDULE_DELAY`), so whatever arrives was sent by the shutdown flush.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::json;

const LA_KEY: &str = "la-key-0123456789abcdef";
const NHS: &str = "9434765919";
const FAMILY: &str = "Lovelace";
const DOB: &str = "2015-12-10";
const POSTCODE: &str = "LS1 4AP";

/// One OTLP export as the collector saw it.
struct Export {
    path: String,
    content_type: String,
    body: Bytes,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn spans_reach_the_otlp_endpoint_on_shutdown_without_child_data() {
    let exports: Arc<Mutex<Vec<Export>>> = Arc::default();
    let seen = exports.clone();
    let collector = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(Export {
                    path: uri.path().to_owned(),
                    content_type: headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned(),
                    body,
                });
                axum::http::StatusCode::OK
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
url = "sqlite://{store}"

[api]
listen = "127.0.0.1:{port}"

[telemetry]
otlp_endpoint = "http://{collector_addr}"
service_name = "throughline-otlp-test"

[[agencies]]
id = "la"
role = "send"

[[sources]]
id = "la-api"
agency = "la"
api_key = "${{TEST_LA_KEY}}"
# The event below is SEN support, outside the `send` role's defaults (docs/security.md).
may_send = ["sen_support.*"]
"#,
            store = dir.path().join("store.db").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("hub.log")).unwrap();
    let mut hub = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .env("TEST_LA_KEY", LA_KEY)
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start throughline");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the hub did not come up");

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let event = json!({
        "schema_version": 1,
        "occurred_at": "2026-11-20T09:00:00Z",
        "source": {"agency": "la", "system": "test", "adapter": "test"},
        "subject": {
            "identifiers": {"nhs_number": NHS},
            "demographics": {"family_name": FAMILY, "date_of_birth": DOB, "postcode": POSTCODE}
        },
        "kind": "sen_support.ended",
        "payload": {"on": "2026-11-01"},
    });
    let r = http
        .post(format!("{base}/v1/events"))
        .bearer_auth(LA_KEY)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(
        exports.lock().unwrap().is_empty(),
        "nothing is exported before the batch delay or shutdown"
    );

    // SIGTERM: the hub stops cleanly and flushes its spans.
    let stopped = Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = tokio::task::spawn_blocking(move || hub.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the hub stopped cleanly: {status}");

    let exports = exports.lock().unwrap();
    assert!(!exports.is_empty(), "the spans were flushed on shutdown");
    let trace_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    let all: Vec<u8> = exports.iter().flat_map(|e| e.body.to_vec()).collect();
    for e in exports.iter() {
        assert_eq!(e.path, "/v1/traces");
        assert_eq!(e.content_type, "application/x-protobuf");
    }
    for expected in [
        &b"throughline-otlp-test"[..],
        b"http.ingest",
        b"ingest",
        b"normalise",
        b"commit",
        &trace_bytes,
    ] {
        assert!(
            contains(&all, expected),
            "the export holds {}",
            String::from_utf8_lossy(expected)
        );
    }
    for secret in [NHS, FAMILY, DOB, POSTCODE] {
        assert!(
            !contains(&all, secret.as_bytes()),
            "child data ({secret}) in the OTLP export"
        );
    }
}
