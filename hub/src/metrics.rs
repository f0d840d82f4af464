//! The hub's own counters and histograms, per source and per agency, for `/metrics`.
//!
//! Every label set exists from start-up, built from the configuration: a source's id and
//! adapter, an agency's id and its sink's adapter. Nothing read from an input can become a label
//! (an unknown source id is counted under `source="unknown"`), so no child data and no unbounded
//! cardinality can reach Prometheus. The hot path is a map lookup in that fixed table and a few
//! relaxed atomic additions: no lock, no allocation.
//!
//! The series, as Prometheus sees them (dashboards query these names):
//! `throughline_inputs_total`, `throughline_delivery_attempts_total`, and the histograms'
//! `throughline_pipeline_duration_seconds_bucket`, `throughline_pipeline_duration_seconds_sum`,
//! `throughline_pipeline_duration_seconds_count`, `throughline_delivery_duration_seconds_bucket`,
//! `throughline_delivery_duration_seconds_sum` and `throughline_delivery_duration_seconds_count`.
//!
//! A hand-written registry rather than a metrics crate: the families are few and fixed, the rest
//! of `/metrics` is already rendered by hand from store queries, and this way no second metrics
//! API sits beside the OpenTelemetry traces.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{DeliveryOutcome, InputOutcome};

use crate::config::Validated;

/// Histogram bucket upper bounds, in seconds: from a fast in-memory commit (a millisecond) to a
/// receiver near its timeout (half a minute).
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The label recorded for an input whose source is not configured.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// What became of an input, as the `outcome` label of `throughline_inputs_total`.
const INPUT_OUTCOMES: [&str; 4] = ["committed", "duplicate", "quarantined", "unavailable"];

/// What one delivery attempt's sink said, as the `outcome` label of
/// `throughline_delivery_attempts_total`.
const ATTEMPT_OUTCOMES: [&str; 3] = ["delivered", "retryable", "permanent"];

/// A Prometheus histogram of durations with fixed buckets. Each observation adds to exactly one
/// bucket; the exposition sums them, so the cumulative buckets, `+Inf` and `_count` always agree
/// even while observations are being added.
#[derive(Default)]
struct Histogram {
    /// Observations in `(BUCKETS[i-1], BUCKETS[i]]`; the last slot is above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Writes `_bucket`, `_sum` and `_count` lines for one label set (`labels` without braces).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// One source's inputs.
struct SourceMetrics {
    /// `source="…",adapter="…"`, escaped once at start-up.
    labels: String,
    inputs: [AtomicU64; INPUT_OUTCOMES.len()],
    duration: Histogram,
}

impl SourceMetrics {
    fn new(id: &str, adapter: &str) -> Self {
        Self {
            labels: format!("source=\"{}\",adapter=\"{}\"", escape(id), escape(adapter)),
            inputs: Default::default(),
            duration: Histogram::default(),
        }
    }
}

/// One agency's delivery attempts.
struct AgencyMetrics {
    /// `agency="…",adapter="…"`, escaped once at start-up.
    labels: String,
    attempts: [AtomicU64; ATTEMPT_OUTCOMES.len()],
    duration: Histogram,
}

/// Every counter and histogram the hub keeps in memory. One per [`crate::pipeline::Pipeline`];
/// shared with the delivery workers.
pub struct Metrics {
    /// Sorted by id, so the exposition is stable.
    sources: Vec<(String, SourceMetrics)>,
    source_index: HashMap<String, usize>,
    unknown_source: SourceMetrics,
    agencies: Vec<(AgencyId, AgencyMetrics)>,
    agency_index: HashMap<AgencyId, usize>,
}

impl Metrics {
    /// A zeroed series for every configured source and every agency with a sink.
    pub fn from_config(config: &Validated) -> Self {
        let mut sources: Vec<(String, SourceMetrics)> = config
            .sources
            .values()
            .map(|s| {
                (
                    s.id.clone(),
                    SourceMetrics::new(&s.id, s.transport.adapter()),
                )
            })
            .collect();
        sources.sort_by(|a, b| a.0.cmp(&b.0));
        let agencies: Vec<(AgencyId, AgencyMetrics)> = config
            .agencies
            .values()
            .filter_map(|a| {
                let sink = a.sink.as_ref()?;
                Some((
                    a.id.clone(),
                    AgencyMetrics {
                        labels: format!(
                            "agency=\"{}\",adapter=\"{}\"",
                            escape(a.id.as_str()),
                            escape(sink.adapter())
                        ),
                        attempts: Default::default(),
                        duration: Histogram::default(),
                    },
                ))
            })
            .collect();
        Self {
            source_index: sources
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (id.clone(), i))
                .collect(),
            sources,
            unknown_source: SourceMetrics::new(UNKNOWN_SOURCE, UNKNOWN_SOURCE),
            agency_index: agencies
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (id.clone(), i))
                .collect(),
            agencies,
        }
    }

    fn source(&self, id: &str) -> &SourceMetrics {
        self.source_index
            .get(id)
            .map_or(&self.unknown_source, |&i| &self.sources[i].1)
    }

    /// Counts one input's outcome and how long the pipeline took over it (receive to commit or
    /// quarantine).
    pub fn input(&self, source_id: &str, outcome: &InputOutcome, took: Duration) {
        let m = self.source(source_id);
        m.inputs[input_outcome_index(outcome)].fetch_add(1, Ordering::Relaxed);
        m.duration.observe(took);
    }

    /// Counts one delivery attempt and how long the sink took over it. Agencies without a sink
    /// make no attempts, so an unknown agency is not counted.
    pub fn attempt(&self, agency: &AgencyId, outcome: &DeliveryOutcome, took: Duration) {
        let Some(&i) = self.agency_index.get(agency) else {
            return;
        };
        let m = &self.agencies[i].1;
        m.attempts[attempt_outcome_index(outcome)].fetch_add(1, Ordering::Relaxed);
        m.duration.observe(took);
    }

    /// Appends the Prometheus text exposition of every family.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP throughline_inputs_total Inputs taken through the pipeline, by source, its adapter and what became of them.\n");
        out.push_str("# TYPE throughline_inputs_total counter\n");
        for m in self
            .sources
            .iter()
            .map(|(_, m)| m)
            .chain([&self.unknown_source])
        {
            for (i, outcome) in INPUT_OUTCOMES.iter().enumerate() {
                let n = m.inputs[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "throughline_inputs_total{{{},outcome=\"{outcome}\"}} {n}",
                    m.labels
                );
            }
        }
        out.push_str("# HELP throughline_pipeline_duration_seconds Time from receiving an input to its commit or quarantine, by source.\n");
        out.push_str("# TYPE throughline_pipeline_duration_seconds histogram\n");
        for m in self
            .sources
            .iter()
            .map(|(_, m)| m)
            .chain([&self.unknown_source])
        {
            m.duration
                .render(out, "throughline_pipeline_duration_seconds", &m.labels);
        }
        out.push_str("# HELP throughline_delivery_attempts_total Delivery attempts, by agency, its sink's adapter and what the sink answered.\n");
        out.push_str("# TYPE throughline_delivery_attempts_total counter\n");
        for (_, m) in &self.agencies {
            for (i, outcome) in ATTEMPT_OUTCOMES.iter().enumerate() {
                let n = m.attempts[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "throughline_delivery_attempts_total{{{},outcome=\"{outcome}\"}} {n}",
                    m.labels
                );
            }
        }
        out.push_str("# HELP throughline_delivery_duration_seconds Time one delivery attempt took, by agency and its sink's adapter.\n");
        out.push_str("# TYPE throughline_delivery_duration_seconds histogram\n");
        for (_, m) in &self.agencies {
            m.duration
                .render(out, "throughline_delivery_duration_seconds", &m.labels);
        }
    }

    /// Whether `agency` is a label value this registry may emit (a configured agency with a
    /// sink): the store's per-agency counts are filtered through it.
    pub fn knows_agency(&self, agency: &str) -> bool {
        self.agencies.iter().any(|(a, _)| a.as_str() == agency)
    }
}

fn input_outcome_index(outcome: &InputOutcome) -> usize {
    match outcome {
        InputOutcome::Committed {
            duplicate: false, ..
        } => 0,
        InputOutcome::Committed {
            duplicate: true, ..
        } => 1,
        InputOutcome::Quarantined { .. } => 2,
        InputOutcome::Unavailable { .. } => 3,
    }
}

fn attempt_outcome_index(outcome: &DeliveryOutcome) -> usize {
    match outcome {
        DeliveryOutcome::Delivered => 0,
        DeliveryOutcome::Retryable { .. } => 1,
        DeliveryOutcome::Permanent { .. } => 2,
    }
}

/// The outcome's name as a span attribute and metric label.
pub fn attempt_outcome(outcome: &DeliveryOutcome) -> &'static str {
    ATTEMPT_OUTCOMES[attempt_outcome_index(outcome)]
}

/// The outcome's name as a span attribute and metric label.
pub fn input_outcome(outcome: &InputOutcome) -> &'static str {
    INPUT_OUTCOMES[input_outcome_index(outcome)]
}

/// A label value as the Prometheus text format needs it. Configured ids are plain already
/// (validated); this keeps a stray quote from breaking the exposition all the same.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests;
