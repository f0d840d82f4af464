//! Traces: one per input, from ingest through every delivery attempt, exported over OTLP.
//!
//! The hub's steps are `tracing` spans with the target [`TARGET`]; with `[telemetry]
//! otlp_endpoint` set, a `tracing-opentelemetry` layer turns exactly those spans (no log events)
//! into OpenTelemetry spans and a batch processor posts them to `<endpoint>/v1/traces`. Without
//! an endpoint no layer wants them, so each span is a disabled callsite: the hot path pays one
//! cached check per step.
//!
//! A delivery is attempted later, by another task and perhaps another instance, so its trace
//! cannot be carried in memory. The input's W3C `traceparent` is stored with each delivery row at
//! commit ([`traceparent`]), and each attempt's span takes it as its parent ([`set_parent`]):
//! the attempts are children of the input's `ingest` span, in the same trace. The webhook sends
//! the attempt's own `traceparent` to the receiver, and HTTP ingest accepts a caller's.
//!
//! OTLP over HTTP with protobuf, not gRPC: it needs prost and the blocking reqwest client the
//! hub's HTTP stack already builds, where gRPC would add tonic, h2 and tower's gRPC stack for no
//! gain on one small batch every few seconds.
//!
//! Span attributes are ids and names from the configuration only: event ids, delivery ids, the
//! hub's own child id (a random uuid, meaningless outside the hub), event kinds, agency and
//! source ids, adapters, outcomes, counts. Never an identifier or demographic from an input, a
//! message id chosen upstream, nor a body. `hub/tests/telemetry.rs` checks every exported
//! attribute of a real run against the child's identifiers.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::config::TelemetryConfig;

/// The `tracing` target of every span that becomes part of a trace. Log events never do: they
/// stay on stdout.
pub const TARGET: &str = "throughline::trace";

/// The name of the W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry.otlp_endpoint: cannot build the OTLP exporter: {0}")]
    Exporter(String),
}

/// The configured tracer provider, if any: kept to flush and stop it on shutdown.
#[derive(Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Builds the OTLP exporter when `otlp_endpoint` is set; otherwise there is nothing to run.
    pub fn start(config: &TelemetryConfig) -> Result<Self, TelemetryError> {
        let Some(endpoint) = &config.otlp_endpoint else {
            return Ok(Self::default());
        };
        use opentelemetry_otlp::{Protocol, WithExportConfig};
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        Ok(Self {
            provider: Some(provider(config, exporter, true)),
        })
    }

    /// The layer that exports the hub's spans, for the log subscriber to carry.
    pub fn layer<S>(&self) -> Option<Box<dyn Layer<S> + Send + Sync>>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        self.provider.as_ref().map(layer)
    }

    /// Exports what is still buffered and stops the exporter. Blocks while it flushes: call it
    /// off the async runtime's worker threads (`spawn_blocking`).
    pub fn shutdown(self) {
        if let Some(p) = self.provider
            && let Err(e) = p.shutdown()
        {
            tracing::warn!(error = %e, "could not flush the last spans to the OTLP endpoint");
        }
    }
}

/// `<endpoint>/v1/traces`, the OTLP/HTTP path for spans.
fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim_end_matches('/'))
}

/// A tracer provider sampling `sampling_ratio` of new traces and following the parent's decision
/// otherwise, so an input's delivery attempts are kept exactly when its ingest is. `batch`
/// exports in the background (the OTLP exporter); tests export each span as it ends.
pub fn provider(
    config: &TelemetryConfig,
    exporter: impl SpanExporter + 'static,
    batch: bool,
) -> SdkTracerProvider {
    let builder = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sampling_ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        );
    let builder = if batch {
        builder.with_batch_exporter(exporter)
    } else {
        builder.with_simple_exporter(exporter)
    };
    builder.build()
}

/// The `tracing` layer exporting the hub's spans to `provider`: only spans with [`TARGET`], no
/// events (a log line's fields are not checked for span use), no source locations or threads.
pub fn layer<S>(provider: &SdkTracerProvider) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("throughline-hub"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_tracked_inactivity(false)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.is_span() && meta.target() == TARGET
        }))
        .boxed()
}

/// The W3C `traceparent` of `span`, or `None` when it is not exported (no endpoint configured,
/// or the span disabled). Starts the span if it has not started yet.
pub fn traceparent(span: &Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `traceparent` (a W3C trace context, from the store or a caller) the parent of `span`,
/// which must not have started yet. A malformed value is ignored: the span starts a new trace.
pub fn set_parent(span: &Span, traceparent: &str) {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        // Fails only when no layer exports spans (nothing to parent) or the span was entered.
        let _ = span.set_parent(cx);
    }
}

#[cfg(test)]
mod tests;
