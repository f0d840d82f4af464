//! Deliver: one durable queue and one worker per agency.
//!
//! Isolation is the point: each agency's deliveries are its own queue (rows of `deliveries` with
//! its id) drained by its own task, so an agency whose receiver hangs or fails delays nobody
//! else. Within a queue, each child's notifications stay in order: while one is waiting to be
//! retried, later ones for the same child wait behind it; other children's go ahead.
//!
//! The queue is the database, not memory: a restart (after kill -9 or otherwise) finds every
//! pending delivery where it was and sends it, with its stored idempotency key.

mod backoff;
mod mesh_reports;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;

use throughline_contracts::AgencyId;
use throughline_contracts::adapter::Sink;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{DeliveryConfig, SinkConfig, Validated};
use crate::health::Links;
use crate::metrics::Metrics;
use crate::store::Store;

pub use backoff::Backoff;

/// Wakes an agency's worker when new deliveries are committed for it.
#[derive(Clone, Default)]
pub struct Wakers(Arc<BTreeMap<AgencyId, Arc<Notify>>>);

impl Wakers {
    pub fn for_agencies<'a>(agencies: impl IntoIterator<Item = &'a AgencyId>) -> Self {
        Self(Arc::new(
            agencies
                .into_iter()
                .map(|a| (a.clone(), Arc::new(Notify::new())))
                .collect(),
        ))
    }

    pub fn wake(&self, agency: &AgencyId) {
        if let Some(n) = self.0.get(agency) {
            n.notify_one();
        }
    }

    fn notify(&self, agency: &AgencyId) -> Arc<Notify> {
        self.0.get(agency).cloned().unwrap_or_default()
    }
}

/// Builds (and, for brokers, connects) the sink an agency's configuration describes, and
/// registers a broker sink's connection state in `links`.
pub async fn build_sink(
    agency: &AgencyId,
    config: &SinkConfig,
    links: &Links,
) -> Result<Arc<dyn Sink>, String> {
    match config {
        SinkConfig::Webhook(w) => w
            .build()
            .map(|s| Arc::new(s) as Arc<dyn Sink>)
            .map_err(|e| e.to_string()),
        SinkConfig::Amqp(c) => {
            let sink = throughline_adapter_amqp::AmqpSink::connect(c)
                .await
                .map_err(|e| e.to_string())?;
            let status = sink.status_handle();
            links.register("amqp", "sink", agency.as_str(), move || status.connected());
            Ok(Arc::new(sink))
        }
        SinkConfig::Kafka(c) => {
            let sink = throughline_adapter_kafka::KafkaSink::connect(c)
                .await
                .map_err(|e| e.to_string())?;
            let status = sink.status_handle();
            links.register("kafka", "sink", agency.as_str(), move || status.connected());
            Ok(Arc::new(sink))
        }
        SinkConfig::Mesh(c) => {
            let sink = throughline_adapter_mesh::MeshNotificationSink::connect(c)
                .await
                .map_err(|e| e.to_string())?;
            let status = sink.status_handle();
            links.register("mesh", "sink", agency.as_str(), move || status.connected());
            Ok(Arc::new(sink))
        }
        SinkConfig::Fhir(c) => {
            let sink = throughline_adapter_fhir::FhirNotificationSink::connect(c)
                .await
                .map_err(|e| e.to_string())?;
            let status = sink.status_handle();
            links.register("fhir", "sink", agency.as_str(), move || status.connected());
            Ok(Arc::new(sink))
        }
    }
}

/// This instance's name on the delivery leases: its host and API address. Two instances
/// sharing a store differ in one or the other; the same instance restarted (after a crash, say)
/// has the same name, so it takes its queues back at once instead of waiting for its own old
/// leases to lapse.
fn instance_name(config: &Validated) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}/{}", config.api.listen)
}

/// Starts a worker for every agency that has a sink. Fails, naming the agency, if a sink
/// cannot be built (a broker that does not answer, a topic that does not exist). The workers
/// count their attempts in `metrics` (the pipeline's, so `/metrics` shows both).
pub async fn spawn_workers(
    config: &Validated,
    store: &Store,
    wakers: &Wakers,
    links: &Links,
    metrics: &Arc<Metrics>,
    cancel: &CancellationToken,
) -> Result<Vec<JoinHandle<()>>, String> {
    let mut handles = Vec::new();
    let holder = instance_name(config);
    for agency in config.agencies.values() {
        let Some(sink_config) = &agency.sink else {
            continue;
        };
        let sink = build_sink(&agency.id, sink_config, links)
            .await
            .map_err(|e| {
                format!(
                    "agencies `{}` sink ({}): {e}",
                    agency.id,
                    sink_config.adapter()
                )
            })?;
        let w = worker::Worker {
            agency: agency.id.clone(),
            adapter: sink_config.adapter(),
            sink,
            metrics: metrics.clone(),
            store: store.clone(),
            notify: wakers.notify(&agency.id),
            settings: Settings::from(&config.delivery),
            cancel: cancel.clone(),
            holder: holder.clone(),
        };
        handles.push(tokio::spawn(w.run()));
        // MESH accepts a message long before the agency collects it: its non-delivery reports
        // arrive later, in the sending mailbox, and dead-letter the delivery.
        if let SinkConfig::Mesh(c) = sink_config {
            let reader = mesh_reports::spawn(agency.id.clone(), c, store.clone(), cancel.clone())
                .map_err(|e| format!("agencies `{}` sink (mesh): {e}", agency.id))?;
            handles.push(reader);
        }
    }
    Ok(handles)
}

/// Delivery settings, checked at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_attempts: i64,
    /// Notifications of one agency in flight at once (never two for one child).
    pub concurrency: usize,
    pub backoff: Backoff,
    pub poll_interval: std::time::Duration,
    /// How long a hold on the agency's queue lasts without renewal.
    pub lease: std::time::Duration,
}

impl From<&DeliveryConfig> for Settings {
    fn from(c: &DeliveryConfig) -> Self {
        Self {
            max_attempts: i64::from(c.max_attempts),
            concurrency: c.concurrency as usize,
            backoff: Backoff::new(
                std::time::Duration::from_millis(c.initial_backoff_ms),
                std::time::Duration::from_millis(c.max_backoff_ms),
            ),
            poll_interval: std::time::Duration::from_millis(c.poll_interval_ms),
            lease: std::time::Duration::from_millis(c.lease_ms),
        }
    }
}
