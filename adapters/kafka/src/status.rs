//! Whether a Kafka client can currently reach its cluster, for the hub's `/readyz`.
//!
//! The answer comes from librdkafka itself rather than from guesses about traffic (an idle topic
//! yields nothing for hours and is perfectly healthy): every five seconds librdkafka reports the
//! state of each broker connection, and a client counts as connected while at least one of them
//! is `UP`. An "all brokers down" error marks it disconnected at once, without waiting for the
//! next report. A consumer's reports are delivered only while it is polled, that is while the hub
//! waits in `next`: while the hub is busy with one input, the answer is the one from before it.
//!
//! The callbacks that feed it (`record_stats`, `record_error`, and `forward_log` for librdkafka's
//! log lines) are shared by the source's and the sink's client contexts.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use serde::Deserialize;

/// How often librdkafka reports broker connection states, in milliseconds.
pub(crate) const STATS_INTERVAL_MS: &str = "5000";

/// A cheap, cloneable view of whether a source or sink is connected to its cluster.
#[derive(Debug, Clone)]
pub struct KafkaStatus {
    connected: Arc<AtomicBool>,
}

impl KafkaStatus {
    pub(crate) fn new() -> Self {
        Self {
            connected: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether at least one broker connection was up at the last report (or since the start-up
    /// metadata check), and no "all brokers down" error has come since.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        let was = self.connected.swap(connected, Ordering::Relaxed);
        if was != connected {
            if connected {
                tracing::info!("kafka: connected to the cluster");
            } else {
                tracing::warn!("kafka: no broker connection is up");
            }
        }
    }

    /// Reads librdkafka's statistics JSON: connected while any broker connection is `UP`.
    pub(crate) fn record_stats(&self, raw: &[u8]) {
        match serde_json::from_slice::<Stats>(raw) {
            Ok(stats) => self.set_connected(stats.brokers.values().any(|b| b.state == "UP")),
            Err(error) => tracing::debug!(%error, "kafka: unreadable statistics"),
        }
    }

    /// Logs a client-wide error from librdkafka; "all brokers down" marks the client
    /// disconnected. The reason names brokers and the failure, never message contents.
    pub(crate) fn record_error(&self, error: &KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if code == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.set_connected(false);
        }
        tracing::warn!(code = ?code, reason, "kafka client error");
    }
}

/// The part of librdkafka's statistics this module reads.
#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    brokers: HashMap<String, BrokerStats>,
}

#[derive(Deserialize)]
struct BrokerStats {
    state: String,
}

/// Forwards librdkafka's own log lines to `tracing`, under the target `librdkafka`.
pub(crate) fn forward_log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => {
            tracing::error!(target: "librdkafka", facility, "{message}");
        }
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{message}");
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_while_any_broker_is_up() {
        let status = KafkaStatus::new();
        assert!(!status.connected());
        status.record_stats(
            br#"{"name":"c","brokers":{
                "127.0.0.1:9092/bootstrap":{"state":"INIT","nodeid":-1},
                "127.0.0.1:9092/1":{"state":"UP","nodeid":1}}}"#,
        );
        assert!(status.connected());
        status.record_stats(br#"{"brokers":{"127.0.0.1:9092/1":{"state":"CONNECT"}}}"#);
        assert!(!status.connected());
    }

    #[test]
    fn all_brokers_down_disconnects_at_once() {
        let status = KafkaStatus::new();
        status.set_connected(true);
        status.record_error(
            &KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            "1/1 brokers are down",
        );
        assert!(!status.connected());
    }

    #[test]
    fn unreadable_statistics_change_nothing() {
        let status = KafkaStatus::new();
        status.set_connected(true);
        status.record_stats(b"not json");
        assert!(status.connected());
    }
}
