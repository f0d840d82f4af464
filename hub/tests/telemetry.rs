//! Traces and metrics of a real run, in process: the hub's HTTP API and delivery worker on
//! loopback ports, a store on each backend (a SQLite file; PostgreSQL at
//! `THROUGHLINE_TEST_PG_URL`), and a real local webhook receiver that refuses the first attempt.
//!
//! Spans go to `opentelemetry_sdk`'s in-memory exporter instead of an OTLP collector: it is the
//! SDK's own test exporter, fed by the same layer the binary installs (`telemetry::layer`), so
//! what is asserted here is what the OTLP exporter would send. The exporter is process-wide
//! (one global subscriber), so each test picks out its own trace by id, and the redaction guard
//! checks every span any test made.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use serde_json::json;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_hub::api::{self, AppState};
use throughline_hub::config::{self, TelemetryConfig, Validated};
use throughline_hub::deliver::{self, Wakers};
use throughline_hub::health::Links;
use throughline_hub::pipeline::{Origin, Pipeline};
use throughline_hub::store::Store;
use throughline_hub::telemetry;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt;
use uuid::Uuid;

#[macro_use]
mod backends;

on_both_backends!(
    one_trace_runs_from_http_ingest_through_every_delivery_attempt,
    inputs_committed_together_each_keep_their_own_trace,
);

// The child. None of it may appear in any span.
const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";
const GIVEN: &str = "Augusta";
const FAMILY: &str = "Lovelace";
const DOB: &str = "2015-12-10";
const POSTCODE: &str = "LS1 4AP";
/// Free text about the child, in the payload.
const REASON: &str = "CANARY-REASON-TEXT";

fn child_data() -> [&'static str; 8] {
    [
        NHS,
        "943 476 5919",
        UPN,
        GIVEN,
        FAMILY,
        DOB,
        POSTCODE,
        REASON,
    ]
}

const LA_KEY: &str = "la-key-0123456789abcdef";
const SCHOOL_KEY: &str = "school-key-0123456789abcdef";

/// The process-wide exporter, installed once as the global subscriber's only layer.
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = telemetry::provider(&TelemetryConfig::default(), exporter.clone(), false);
        let subscriber = tracing_subscriber::registry().with(telemetry::layer(&provider));
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        // The provider must outlive every test: it is what the layer's tracer exports through.
        std::mem::forget(provider);
        exporter
    })
}

fn spans() -> Vec<SpanData> {
    exporter().get_finished_spans().unwrap()
}

fn in_trace(trace_id: &str) -> Vec<SpanData> {
    spans()
        .into_iter()
        .filter(|s| s.span_context.trace_id().to_string() == trace_id)
        .collect()
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// The redaction guard: every span any test exported, name, attributes, events, links and
/// status alike, is free of the child's identifiers, demographics and free text.
fn assert_no_child_data_in_any_span() {
    for span in spans() {
        let all = format!("{span:?}");
        for secret in child_data() {
            assert!(
                !all.contains(secret),
                "span `{}` carries child data ({secret}): {all}",
                span.name
            );
        }
    }
}

/// One request as the receiver saw it.
#[derive(Clone)]
struct Seen {
    traceparent: Option<String>,
}

/// A webhook receiver answering 503 to its first request and 200 after.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl Receiver {
    async fn start(&self) -> SocketAddr {
        let me = self.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap| {
                let me = me.clone();
                async move {
                    let first = {
                        let mut seen = me.seen.lock().unwrap();
                        seen.push(Seen {
                            traceparent: headers
                                .get("traceparent")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                        });
                        seen.len() == 1
                    };
                    me.notify.notify_waiters();
                    if first {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        addr
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let notified = self.notify.notified();
                if self.seen.lock().unwrap().len() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the receiver did not get {n} requests"));
    }
}

fn config(receiver: SocketAddr, dir: &std::path::Path) -> Arc<Validated> {
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let text = format!(
        r#"
[delivery]
initial_backoff_ms = 20
max_backoff_ms = 50
poll_interval_ms = 50

[[agencies]]
id = "school-a"
role = "school"
sink = {{ type = "webhook", url = "http://{receiver}/hook", secret = "${{file:{hook}}}" }}

[[agencies]]
id = "la"
role = "send"

[[sources]]
id = "la-api"
agency = "la"
system = "one"
api_key = "${{file:{la}}}"
# These tests trace and count whatever the LA sends; the assertion rules have their own tests
# (tests/trust_boundary.rs).
may_send = ["*"]
may_change_involvement_of = ["*"]

[[sources]]
id = "school-api"
agency = "school-a"
system = "arbor"
api_key = "${{file:{school}}}"

[[routes]]
kinds = ["*"]
roles = ["school"]

[[sharing_agreements]]
id = "isa-school"
agency = "school-a"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]
"#,
        hook = file("hook-secret", "a-webhook-secret-0123456789"),
        la = file("la-key", LA_KEY),
        school = file("school-key", SCHOOL_KEY),
    );
    Arc::new(config::load_str(std::path::Path::new("telemetry-test.toml"), &text).unwrap())
}

/// The hub in process: pipeline, the school's delivery worker and the HTTP API.
struct Hub {
    pipeline: Arc<Pipeline>,
    base: String,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Hub {
    async fn start(store: &Store, receiver: SocketAddr) -> Self {
        exporter();
        let dir = tempfile::tempdir().unwrap();
        let config = config(receiver, dir.path());
        let wakers = Wakers::for_agencies(config.agencies.keys());
        let pipeline = Arc::new(Pipeline::new(config.clone(), store.clone(), wakers.clone()));
        let links = Links::default();
        let cancel = CancellationToken::new();
        deliver::spawn_workers(&config, store, &wakers, &links, pipeline.metrics(), &cancel)
            .await
            .unwrap();
        let router = api::router(AppState {
            pipeline: pipeline.clone(),
            links,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = cancel.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .unwrap()
        });
        Self {
            pipeline,
            base,
            cancel,
            _dir: dir,
        }
    }

    /// The school reports the child joining, so it is involved and hears of what follows.
    async fn school_joins(&self) {
        let raw = raw(
            "school-api",
            submission(
                "school-a",
                json!({"upn": UPN}),
                json!({}),
                "school.joined",
                json!({"school_urn": "1", "joined_on": "2026-09-01"}),
            ),
        );
        let outcome = self
            .pipeline
            .process(&raw, "canonical-json", Origin::Fresh)
            .await;
        assert!(
            matches!(outcome, InputOutcome::Committed { .. }),
            "{outcome:?}"
        );
    }

    async fn post(&self, body: &serde_json::Value, traceparent: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(format!("{}/v1/events", self.base))
            .bearer_auth(LA_KEY)
            .json(body);
        if let Some(t) = traceparent {
            request = request.header("traceparent", t);
        }
        request.send().await.unwrap()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn submission(
    agency: &str,
    ids: serde_json::Value,
    demo: serde_json::Value,
    kind: &str,
    payload: serde_json::Value,
) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "occurred_at": "2026-11-20T09:00:00Z",
        "source": {"agency": agency, "system": "test", "adapter": "test"},
        "subject": {"identifiers": ids, "demographics": demo},
        "kind": kind,
        "payload": payload,
    })
}

/// The LA's event about the child, naming every identifier and demographic it has.
fn la_event() -> serde_json::Value {
    submission(
        "la",
        json!({"nhs_number": NHS, "upn": UPN}),
        json!({"given_name": GIVEN, "family_name": FAMILY, "date_of_birth": DOB, "postcode": POSTCODE}),
        "sen_support.ended",
        json!({"on": "2026-11-01", "reason": REASON}),
    )
}

fn raw(source: &str, body: serde_json::Value) -> RawInput {
    RawInput {
        source_id: source.into(),
        content_type: Some("application/json".into()),
        body: serde_json::to_vec(&body).unwrap().into(),
        received_at: chrono::Utc::now(),
        message_id: None,
    }
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` span in {:?}", names(spans));
    found[0]
}

fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_ref()).collect()
}

/// Waits until the trace holds `n` finished `deliver` spans (an attempt's span ends just after
/// the receiver answers).
async fn deliver_spans(trace_id: &str, n: usize) -> Vec<SpanData> {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let spans = in_trace(trace_id);
            if spans.iter().filter(|s| s.name == "deliver").count() >= n {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{n} deliver spans in trace {trace_id}: {:?}",
            names(&in_trace(trace_id))
        )
    })
}

async fn one_trace_runs_from_http_ingest_through_every_delivery_attempt(store: &Store) {
    let receiver = Receiver::default();
    let hub = Hub::start(store, receiver.start().await).await;
    hub.school_joins().await;

    // The caller's own trace: the hub continues it.
    let trace_id = Uuid::new_v4().simple().to_string();
    let caller_span = "00f067aa0ba902b7";
    let response = hub
        .post(
            &la_event(),
            Some(&format!("00-{trace_id}-{caller_span}-01")),
        )
        .await;
    assert_eq!(response.status(), 202);
    let event_id = response.json::<serde_json::Value>().await.unwrap()["event_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();

    // The first attempt gets 503, the retry 200.
    receiver.wait_for(2).await;
    let spans = deliver_spans(&trace_id, 2).await;

    // Ingest and every step under it, in the caller's trace.
    let http = one(&spans, "http.ingest");
    assert_eq!(http.parent_span_id.to_string(), caller_span);
    assert!(http.parent_span_is_remote);
    let ingest = one(&spans, "ingest");
    assert_eq!(ingest.parent_span_id, http.span_context.span_id());
    assert_eq!(attr(ingest, "source_id").as_deref(), Some("la-api"));
    assert_eq!(attr(ingest, "adapter").as_deref(), Some("http-ingest"));
    assert_eq!(attr(ingest, "format").as_deref(), Some("canonical-json"));
    assert_eq!(attr(ingest, "outcome").as_deref(), Some("committed"));
    assert_eq!(
        attr(ingest, "event_ids").as_deref(),
        Some(event_id.as_str())
    );
    let ingest_id = ingest.span_context.span_id();
    for step in ["receive", "normalise", "validate", "commit"] {
        assert_eq!(one(&spans, step).parent_span_id, ingest_id, "{step}");
    }
    let commit_id = one(&spans, "commit").span_context.span_id();
    for step in ["identity", "involvement", "handoff", "route"] {
        let s = one(&spans, step);
        assert_eq!(s.parent_span_id, commit_id, "{step}");
        assert_eq!(attr(s, "event_id").as_deref(), Some(event_id.as_str()));
    }
    let child_id = attr(one(&spans, "identity"), "child_id").expect("the hub's child id");
    assert!(Uuid::parse_str(&child_id).is_ok(), "a uuid: {child_id}");

    // Both attempts, later and in the worker, are children of the input's ingest span.
    let mut attempts: Vec<&SpanData> = spans.iter().filter(|s| s.name == "deliver").collect();
    attempts.sort_by_key(|s| attr(s, "attempt"));
    assert_eq!(attempts.len(), 2, "{:?}", names(&spans));
    for (n, (a, outcome)) in attempts.iter().zip(["retryable", "delivered"]).enumerate() {
        assert_eq!(a.parent_span_id, ingest_id);
        assert_eq!(attr(a, "attempt"), Some((n + 1).to_string()));
        assert_eq!(attr(a, "outcome").as_deref(), Some(outcome));
        assert_eq!(attr(a, "agency").as_deref(), Some("school-a"));
        assert_eq!(attr(a, "adapter").as_deref(), Some("webhook"));
        assert_eq!(attr(a, "event_id").as_deref(), Some(event_id.as_str()));
        assert_eq!(attr(a, "child_id").as_deref(), Some(child_id.as_str()));
    }
    assert_eq!(
        attr(attempts[0], "reason").as_deref(),
        Some("HTTP 503 Service Unavailable")
    );

    // The receiver was sent each attempt's own context, in the same trace.
    let sent: Vec<String> = receiver
        .seen()
        .into_iter()
        .map(|s| s.traceparent.expect("a traceparent header"))
        .collect();
    for (header, attempt) in sent.iter().zip(&attempts) {
        assert_eq!(
            header,
            &format!("00-{trace_id}-{}-01", attempt.span_context.span_id())
        );
    }

    assert_no_child_data_in_any_span();
}

async fn inputs_committed_together_each_keep_their_own_trace(store: &Store) {
    let receiver = Receiver::default();
    let hub = Hub::start(store, receiver.start().await).await;
    hub.school_joins().await;

    // Two inputs from one source, committed in one transaction (as a broker source does). Two
    // facts, not one stated twice: the same fact again would be history and notify nobody.
    let mut second = la_event();
    second["payload"]["on"] = json!("2026-11-02");
    let raws = [raw("la-api", la_event()), raw("la-api", second)];
    let outcomes = hub.pipeline.process_batch(&raws, "canonical-json").await;
    let event_ids: Vec<String> = outcomes
        .iter()
        .map(|o| match o {
            InputOutcome::Committed { event_ids, .. } => event_ids[0].to_string(),
            other => panic!("expected a commit, got {other:?}"),
        })
        .collect();

    // Each input is its own trace: its ingest span, its commit span, and its delivery's
    // traceparent in the store.
    let mut traces = Vec::new();
    for id in &event_ids {
        let ingest = spans()
            .into_iter()
            .find(|s| s.name == "ingest" && attr(s, "event_ids").as_deref() == Some(id))
            .expect("an ingest span per input");
        let trace_id = ingest.span_context.trace_id().to_string();
        let trace = in_trace(&trace_id);
        let commit = one(&trace, "commit");
        assert_eq!(commit.parent_span_id, ingest.span_context.span_id());
        assert_eq!(attr(commit, "group").as_deref(), Some("2"));
        assert_eq!(
            stored_traceparent(store, id).await,
            format!("00-{trace_id}-{}-01", ingest.span_context.span_id())
        );
        traces.push(trace_id);
    }
    assert_ne!(traces[0], traces[1]);

    // The first delivery is refused once: its retry is in its own input's trace too.
    receiver.wait_for(3).await;
    deliver_spans(&traces[0], 1).await;
    deliver_spans(&traces[1], 1).await;

    assert_no_child_data_in_any_span();
}

async fn stored_traceparent(store: &Store, event_id: &str) -> String {
    use sqlx::Row;
    sqlx::query("SELECT traceparent FROM deliveries WHERE event_id = $1")
        .bind(event_id)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<Option<String>, _>(0)
        .unwrap()
        .expect("a traceparent stored with the delivery")
}

/// `/metrics` after traffic: the counters and histograms per source and agency, parsed.
#[tokio::test]
async fn metrics_count_inputs_and_attempts_per_source_and_agency() {
    let backend = backends::sqlite().await;
    let receiver = Receiver::default();
    let hub = Hub::start(&backend.store, receiver.start().await).await;
    hub.school_joins().await;
    assert_eq!(hub.post(&la_event(), None).await.status(), 202);
    let mut invalid = la_event();
    invalid["kind"] = json!("no.such.kind");
    assert_eq!(hub.post(&invalid, None).await.status(), 422);
    receiver.wait_for(2).await;

    // Delivered once the worker has recorded the second attempt.
    let text = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let text = reqwest::get(format!("{}/metrics", hub.base))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.contains(
                r#"throughline_agency_deliveries{agency="school-a",status="delivered"} 1"#,
            ) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the delivery is recorded");

    let samples = parse(&text);
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        let want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
            .value
    };
    let la = [("source", "la-api"), ("adapter", "http-ingest")];
    let with = |base: &[(&'static str, &'static str)], k: &'static str, v: &'static str| {
        let mut l = base.to_vec();
        l.push((k, v));
        l
    };
    assert_eq!(
        value(
            "throughline_inputs_total",
            &with(&la, "outcome", "committed")
        ),
        1.0
    );
    assert_eq!(
        value(
            "throughline_inputs_total",
            &with(&la, "outcome", "quarantined")
        ),
        1.0
    );
    assert_eq!(
        value(
            "throughline_inputs_total",
            &with(&la, "outcome", "duplicate")
        ),
        0.0
    );
    let school_src = [("source", "school-api"), ("adapter", "http-ingest")];
    assert_eq!(
        value(
            "throughline_inputs_total",
            &with(&school_src, "outcome", "committed")
        ),
        1.0
    );
    assert_eq!(
        value("throughline_pipeline_duration_seconds_count", &la),
        2.0
    );
    let school = [("agency", "school-a"), ("adapter", "webhook")];
    assert_eq!(
        value(
            "throughline_delivery_attempts_total",
            &with(&school, "outcome", "retryable")
        ),
        1.0
    );
    assert_eq!(
        value(
            "throughline_delivery_attempts_total",
            &with(&school, "outcome", "delivered")
        ),
        1.0
    );
    assert_eq!(
        value("throughline_delivery_duration_seconds_count", &school),
        2.0
    );

    // Every histogram: ascending bounds, cumulative counts, +Inf equal to _count.
    for family in [
        "throughline_pipeline_duration_seconds",
        "throughline_delivery_duration_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {family} histogram")));
        let bucket = format!("{family}_bucket");
        let mut series: std::collections::BTreeMap<Labels, Vec<(f64, f64)>> = Default::default();
        for s in samples.iter().filter(|s| s.name == bucket) {
            let le = s.labels.iter().find(|(k, _)| k == "le").unwrap().1.clone();
            let rest: Vec<_> = s
                .labels
                .iter()
                .filter(|(k, _)| k != "le")
                .cloned()
                .collect();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            series.entry(rest).or_default().push((le, s.value));
        }
        assert!(!series.is_empty(), "{family} has series");
        for (labels, buckets) in series {
            assert!(
                buckets.windows(2).all(|w| w[0].0 < w[1].0),
                "{family}{labels:?} bounds ascend"
            );
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}{labels:?} cumulative"
            );
            let (last_le, inf) = *buckets.last().unwrap();
            assert!(last_le.is_infinite());
            let count = samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && s.labels == labels)
                .unwrap()
                .value;
            assert_eq!(inf, count, "{family}{labels:?}: +Inf is the count");
        }
    }

    // Label values come from the configuration only.
    let allowed_sources = ["la-api", "school-api", "unknown"];
    let allowed_agencies = ["school-a"];
    for s in &samples {
        for (k, v) in &s.labels {
            match k.as_str() {
                "source" => assert!(allowed_sources.contains(&v.as_str()), "{s:?}"),
                "agency" => assert!(allowed_agencies.contains(&v.as_str()), "{s:?}"),
                _ => {}
            }
        }
    }
    for secret in child_data() {
        assert!(
            !text.contains(secret),
            "/metrics carries child data ({secret})"
        );
    }
    drop(hub);
    backend.tidy().await;
}

/// A sample's labels, in the order written.
type Labels = Vec<(String, String)>;

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

/// A small parser for the Prometheus text format as the hub writes it (no escaped quotes in
/// label values, which come from validated ids).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').unwrap();
                    let labels = body
                        .split(',')
                        .map(|kv| {
                            let (k, v) = kv.split_once('=').unwrap();
                            (k.to_owned(), v.trim_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), Vec::new()),
            };
            Sample {
                name,
                labels,
                value: value
                    .parse()
                    .unwrap_or_else(|_| panic!("a number in {line}")),
            }
        })
        .collect()
}
