use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use tracing_subscriber::layer::SubscriberExt;

use super::*;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn config() -> TelemetryConfig {
    TelemetryConfig::default()
}

#[test]
fn spans_go_to_the_otlp_traces_path() {
    assert_eq!(
        traces_url("http://otel-collector:4318"),
        "http://otel-collector:4318/v1/traces"
    );
    assert_eq!(
        traces_url("http://127.0.0.1:4318/"),
        "http://127.0.0.1:4318/v1/traces"
    );
}

#[test]
fn without_an_exporter_a_span_has_no_traceparent() {
    let span = tracing::info_span!(target: TARGET, "ingest");
    assert_eq!(traceparent(&span), None);
}

#[test]
fn a_span_joins_the_trace_of_a_stored_traceparent_and_exports_it() {
    let exporter = InMemorySpanExporter::default();
    let provider = provider(&config(), exporter.clone(), false);
    let subscriber = tracing_subscriber::registry().with(layer(&provider));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(target: TARGET, "deliver");
        set_parent(&span, PARENT);
        let own = traceparent(&span).expect("an exported span has a traceparent");
        assert!(
            own.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "same trace: {own}"
        );
        assert!(!own.contains("00f067aa0ba902b7"), "its own span id: {own}");
        assert!(own.ends_with("-01"), "sampled, as its parent: {own}");
        // Log events and spans of other targets are not exported.
        tracing::info!("a log line");
        drop(tracing::info_span!("not-a-trace-span").entered());
        drop(span);
    });
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0].name, "deliver");
    assert_eq!(
        spans[0].parent_span_id.to_string(),
        "00f067aa0ba902b7",
        "the stored context is the parent"
    );
    assert!(spans[0].events.is_empty());
}

#[test]
fn a_malformed_traceparent_starts_a_new_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = provider(&config(), exporter.clone(), false);
    let subscriber = tracing_subscriber::registry().with(layer(&provider));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(target: TARGET, "deliver");
        set_parent(&span, "00-not-a-trace-01");
        let cx = span.context();
        assert!(cx.span().span_context().is_valid());
    });
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        spans[0].parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
}
