//! The Kafka sink: one idempotent produce per delivery, keyed by child.
//!
//! # Ordering
//! The record key is the notification's `child_id`, the hub's stable pseudonymous id for the
//! child, so every notification about one child lands in the same partition (Kafka's default
//! partitioner hashes the key) and is read there in the order it was published. The key reveals
//! nothing about the child: it is the same pseudonym the notification's body already carries.
//!
//! # Delivery
//! A delivery is reported [`DeliveryOutcome::Delivered`] only once every in-sync replica has the
//! record (`acks=all`). The idempotent producer (`enable.idempotence=true`) lets librdkafka retry
//! within `message_timeout_ms` without duplicating or reordering records in a partition. If the
//! timeout passes, or anything else fails, the outcome is [`DeliveryOutcome::Retryable`] with the
//! librdkafka error code's name as the reason and the hub tries again later. A hub retry is a new
//! record, so a receiver can see the same notification twice (when the first attempt did land but
//! its acknowledgement was lost); that is what the `idempotency-key` header is for. Only a record
//! Kafka refuses for its size or contents, which cannot change by retrying, is
//! [`DeliveryOutcome::Permanent`].
//!
//! The sink never retries by itself beyond librdkafka's own retries: the hub owns retries, with
//! backoff, a limit and dead letters.
//!
//! # A fatal producer error
//! An idempotent producer can hit a fatal error (the broker reports a sequence gap it cannot
//! explain), after which librdkafka refuses every further message. The sink then replaces the
//! producer with a new one (a new producer id) so later deliveries can succeed; the delivery that
//! saw the error is retryable like any other.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::notification::Notification;

use crate::config::KafkaSinkConfig;
use crate::connect::{KafkaConnectError, check_topic, error_name};
use crate::headers::notification_headers;
use crate::status::{KafkaStatus, forward_log};

type SinkProducer = FutureProducer<SinkContext>;

/// Publishes notifications for one agency to one Kafka topic.
///
/// Created by [`KafkaSink::connect`]. Safe to share: deliveries may run concurrently, and each
/// child's notifications keep their order as long as the hub delivers them one after another.
pub struct KafkaSink {
    topic: String,
    /// How long librdkafka may take to deliver (also the longest wait for room in its queue).
    message_timeout: Duration,
    producer: RwLock<SinkProducer>,
    /// Kept to build a replacement producer after a fatal error.
    client_config: ClientConfig,
    status: KafkaStatus,
    /// Produces that have failed in a row; reset by a success.
    failures_in_a_row: AtomicU32,
}

/// After this many failed produces in a row the producer is replaced, fatal error or not: a
/// broker restarted from its own storage can refuse an idempotent producer's sequence state for
/// good (seen with tansu: every produce fails `Unknown`), and only a new producer id clears it.
const REPLACE_AFTER_FAILURES: u32 = 3;

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("topic", &self.topic)
            .field("message_timeout", &self.message_timeout)
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// Validates `config`, creates the producer and checks that the topic exists.
    ///
    /// Fails, naming the topic, if it does not exist, and fails if the cluster does not answer
    /// within [`METADATA_TIMEOUT`](crate::connect::METADATA_TIMEOUT). Must be called within a
    /// tokio runtime.
    pub async fn connect(config: &KafkaSinkConfig) -> Result<Self, KafkaConnectError> {
        config.validate()?;
        let status = KafkaStatus::new();
        let client_config = config.client_config();
        let producer = create_producer(&client_config, &status)?;
        let checked = producer.clone();
        let topic = config.topic.clone();
        tokio::task::spawn_blocking(move || check_topic(checked.client(), "topic", &topic))
            .await
            .map_err(|e| KafkaConnectError::Client {
                reason: format!("the metadata check did not finish: {e}"),
            })??;
        status.set_connected(true);
        tracing::info!(topic = config.topic, "kafka sink ready");
        Ok(Self {
            topic: config.topic.clone(),
            message_timeout: Duration::from_millis(config.message_timeout_ms),
            producer: RwLock::new(producer),
            client_config,
            status,
            failures_in_a_row: AtomicU32::new(0),
        })
    }

    /// A handle reporting whether the producer is connected to its cluster (for `/readyz`).
    pub fn status_handle(&self) -> KafkaStatus {
        self.status.clone()
    }

    fn producer(&self) -> SinkProducer {
        self.producer
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the producer if it has hit a fatal error (see the module docs), or has failed
    /// [`REPLACE_AFTER_FAILURES`] times in a row.
    fn replace_if_broken(&self) {
        let failures = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        let mut producer = self.producer.write().unwrap_or_else(|e| e.into_inner());
        let code = match producer.client().fatal_error() {
            Some((code, _)) => format!("{code:?}"),
            None if failures >= REPLACE_AFTER_FAILURES => format!("{failures} failures in a row"),
            None => return,
        };
        self.failures_in_a_row.store(0, Ordering::Relaxed);
        match create_producer(&self.client_config, &self.status) {
            Ok(fresh) => {
                tracing::warn!(
                    topic = self.topic,
                    reason = %code,
                    "kafka: the producer kept failing; replaced it"
                );
                let broken = std::mem::replace(&mut *producer, fresh);
                drop(producer);
                // Dropping a producer purges it and joins its thread: not on the runtime.
                tokio::task::spawn_blocking(move || drop(broken));
            }
            Err(error) => tracing::error!(
                topic = self.topic,
                %error,
                "kafka: the producer kept failing and could not be replaced"
            ),
        }
    }
}

#[async_trait]
impl Sink for KafkaSink {
    async fn deliver(&self, notification: &Notification) -> DeliveryOutcome {
        self.deliver_traced(notification, None).await
    }

    async fn deliver_traced(
        &self,
        notification: &Notification,
        traceparent: Option<&str>,
    ) -> DeliveryOutcome {
        let value = match serde_json::to_vec(notification) {
            Ok(value) => value,
            Err(error) => {
                return DeliveryOutcome::Permanent {
                    reason: format!(
                        "the notification could not be serialised: {}",
                        json_error_kind(&error)
                    ),
                };
            }
        };
        let key = notification.child_id.to_string();
        let record = FutureRecord::to(&self.topic)
            .key(&key)
            .payload(&value)
            .headers(notification_headers(notification, traceparent));
        let producer = self.producer();
        match producer.send(record, self.message_timeout).await {
            Ok(delivery) => {
                self.failures_in_a_row.store(0, Ordering::Relaxed);
                tracing::debug!(
                    notification_id = %notification.notification_id,
                    partition = delivery.partition,
                    offset = delivery.offset,
                    "kafka: notification delivered"
                );
                DeliveryOutcome::Delivered
            }
            Err((error, _record)) => {
                drop(producer);
                self.replace_if_broken();
                outcome_of(&error)
            }
        }
    }
}

/// What a failed produce means for the notification. The reason is the error code's name only:
/// never the record, which is child data.
fn outcome_of(error: &KafkaError) -> DeliveryOutcome {
    let name = error_name(error);
    match error.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::MessageBatchTooLarge
            | RDKafkaErrorCode::InvalidRecord,
        ) => DeliveryOutcome::Permanent {
            reason: format!("kafka refused the record: {name}"),
        },
        _ => DeliveryOutcome::Retryable {
            reason: format!("kafka delivery failed: {name}"),
            retry_after: None,
        },
    }
}

fn create_producer(
    config: &ClientConfig,
    status: &KafkaStatus,
) -> Result<SinkProducer, KafkaConnectError> {
    config
        .create_with_context(SinkContext {
            status: status.clone(),
        })
        .map_err(|e| KafkaConnectError::client(&e))
}

/// The producer's callbacks: connection status and logs.
pub(crate) struct SinkContext {
    status: KafkaStatus,
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        self.status.record_stats(statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.status.record_error(&error, reason);
    }
}

/// The kind of serialisation failure, without serde's message (which could quote a value).
fn json_error_kind(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "eof",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_errors_are_retryable_with_the_code_name_only() {
        assert_eq!(
            outcome_of(&KafkaError::MessageProduction(
                RDKafkaErrorCode::MessageTimedOut
            )),
            DeliveryOutcome::Retryable {
                reason: "kafka delivery failed: MessageTimedOut".into(),
                retry_after: None,
            }
        );
        assert!(matches!(
            outcome_of(&KafkaError::MessageProduction(
                RDKafkaErrorCode::UnknownTopicOrPartition
            )),
            DeliveryOutcome::Retryable { .. }
        ));
        assert!(matches!(
            outcome_of(&KafkaError::Canceled),
            DeliveryOutcome::Retryable { reason, .. } if reason.ends_with("Canceled")
        ));
    }

    #[test]
    fn records_kafka_refuses_for_size_or_contents_are_permanent() {
        assert_eq!(
            outcome_of(&KafkaError::MessageProduction(
                RDKafkaErrorCode::MessageSizeTooLarge
            )),
            DeliveryOutcome::Permanent {
                reason: "kafka refused the record: MessageSizeTooLarge".into(),
            }
        );
    }
}
