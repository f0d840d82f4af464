//! The Kafka source: a consumer-group member whose offsets follow the hub's commits.
//!
//! # Why offsets are stored by hand
//! librdkafka's usual at-least-once idiom is used: `enable.auto.commit=true` with
//! `enable.auto.offset.store=false`. The periodic auto-commit commits only offsets that were
//! *stored*, and an offset is stored only when the hub settles an input as committed or
//! quarantined (both durable on the hub's side). So Kafka's committed position never gets ahead
//! of work the hub has kept, whatever happens between a read and its settlement: a crash, a
//! rebalance or a shutdown re-reads from the last settled input instead of skipping ahead.
//!
//! # The contract with the hub: one input at a time, in order
//! The hub calls [`Source::next`], processes the input, settles it, and only then calls `next`
//! again. The source relies on that: it keeps no buffer of its own beyond librdkafka's fetch
//! queue, and settling input *n* before asking for *n + 1* is what makes a stored offset mean
//! "everything before this is done" and a rewind mean "start again from here". Inputs from one
//! partition are yielded in offset order; there is no order across partitions.
//!
//! # Unavailable
//! When the hub could not commit, the offset is not stored and the partition is rewound to that
//! message (`seek`), after a short pause ([`REDELIVERY_PAUSE`]) so a struggling store is not
//! hammered. The rewind is applied at the start of the next [`Source::next`]: the next input is
//! the same message again. An acknowledger dropped without being settled rewinds the same way.
//! If the rewind itself fails while the partition is still ours, `next` returns `None` (the
//! source stops) rather than read past a message that was never settled.
//!
//! # Rebalances
//! The consumer's context (`SourceContext`) logs every assignment and revocation (topic and
//! partition numbers only), and before partitions are revoked it commits the stored offsets
//! synchronously, so their next owner starts exactly after the last settled input. Work that
//! was read but not yet settled is simply read again by the new owner (at least once). Each
//! revocation also starts a new *generation*: an input read before it is never stored or
//! rewound after it, since its partition may now belong to another member (or to this one
//! again, already re-reading from the committed offset).
//!
//! Rebalance callbacks, and the synchronous commit, run inside `next` (librdkafka delivers them
//! while the consumer is polled). A hub that takes longer than librdkafka's
//! `max.poll.interval.ms` (default five minutes) between two calls to `next` is taken out of the
//! group; its unsettled input is then read again by another member.
//!
//! # Message ids
//! `message_id` is `"{topic}/{partition}/{offset}"`: unique and stable for a record for as long
//! as the topic exists, present on every record, and where an operator would look the record up.
//! A `throughline-event-id` header is not used: it is optional, set by the producer, and says
//! which event the record claims to carry, which is the normaliser's business. Redelivered inputs
//! keep their message id, and the hub recognises their events by event id.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use throughline_contracts::adapter::{Acknowledger, InputOutcome, RawInput, Source, SourceInput};

use crate::config::KafkaSourceConfig;
use crate::connect::{KafkaConnectError, check_topic, error_name};
use crate::headers::{CONTENT_TYPE_HEADER, header_str};
use crate::status::{KafkaStatus, forward_log};

/// How long the source waits before re-reading an input the hub could not commit.
pub const REDELIVERY_PAUSE: Duration = Duration::from_secs(1);
/// How long one rewind (`seek`) may take.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);
/// How many times a rewind is tried before the source stops.
const SEEK_ATTEMPTS: u32 = 3;

type SourceConsumer = StreamConsumer<SourceContext>;

/// Reads agency input from Kafka topics as a member of a consumer group.
///
/// Created by [`KafkaSource::connect`]; stop it with [`KafkaSource::close`], which commits what
/// has been settled and leaves the group, and returns once that is done. Dropping it does the
/// same in the background (on tokio's blocking pool): stored offsets are still committed as the
/// consumer leaves the group, but nobody waits for it.
pub struct KafkaSource {
    source_id: String,
    /// `None` only once [`KafkaSource::close`] or `drop` has taken it.
    consumer: Option<Arc<SourceConsumer>>,
    status: KafkaStatus,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("source_id", &self.source_id)
            .finish_non_exhaustive()
    }
}

/// Why [`KafkaSource::close`] could not commit the settled offsets. They are committed again
/// by the consumer's own close, and anything not committed is read again (at least once).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("committing the settled offsets on close failed: {reason}")]
pub struct KafkaCloseError {
    /// The librdkafka error code's name.
    pub reason: String,
}

impl KafkaSource {
    /// Validates `config`, joins the consumer group and subscribes to its topics.
    ///
    /// Fails, naming the topic, if any configured topic does not exist, and fails if the
    /// cluster does not answer within [`METADATA_TIMEOUT`](crate::connect::METADATA_TIMEOUT).
    /// Must be called within a tokio runtime.
    pub async fn connect(
        source_id: impl Into<String>,
        config: &KafkaSourceConfig,
    ) -> Result<Self, KafkaConnectError> {
        let source_id = source_id.into();
        config.validate()?;
        let status = KafkaStatus::new();
        let context = SourceContext {
            status: status.clone(),
            generation: AtomicU64::new(0),
            rewinds: Mutex::new(BTreeMap::new()),
        };
        let consumer: SourceConsumer = config
            .client_config(&source_id)
            .create_with_context(context)
            .map_err(|e| KafkaConnectError::client(&e))?;
        let consumer = Arc::new(consumer);

        let topics = config.topics.clone();
        let checked = Arc::clone(&consumer);
        tokio::task::spawn_blocking(move || {
            topics
                .iter()
                .try_for_each(|topic| check_topic(checked.client(), "topics", topic))
        })
        .await
        .map_err(|e| KafkaConnectError::Client {
            reason: format!("the metadata check did not finish: {e}"),
        })??;
        status.set_connected(true);

        let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| KafkaConnectError::Subscribe {
                reason: error_name(&e),
            })?;
        tracing::info!(
            source_id,
            topics = ?config.topics,
            group_id = config.group_id,
            "kafka source subscribed"
        );
        Ok(Self {
            source_id,
            consumer: Some(consumer),
            status,
        })
    }

    /// A handle reporting whether the consumer is connected to its cluster (for `/readyz`).
    pub fn status_handle(&self) -> KafkaStatus {
        self.status.clone()
    }

    /// Commits the offsets of every settled input synchronously, then leaves the group and
    /// closes the consumer.
    ///
    /// Inputs read but not settled are not committed: the next member of the group (or this
    /// source's successor) reads them again.
    pub async fn close(mut self) -> Result<(), KafkaCloseError> {
        let consumer = self.consumer.take().expect("present until closed");
        let source_id = std::mem::take(&mut self.source_id);
        tokio::task::spawn_blocking(move || {
            let committed = commit_stored(&*consumer);
            // The last strong reference: dropping it closes the consumer, which leaves the
            // group (revoking, and so committing, once more) and waits until that is done.
            drop(consumer);
            tracing::info!(source_id, "kafka source closed");
            committed
        })
        .await
        .map_err(|e| KafkaCloseError {
            reason: format!("the close did not finish: {e}"),
        })?
    }

    fn consumer(&self) -> &Arc<SourceConsumer> {
        self.consumer.as_ref().expect("present until closed")
    }

    /// Applies pending rewinds (after [`REDELIVERY_PAUSE`]). `false` if one could not be
    /// applied while its partition is still assigned to this consumer.
    ///
    /// Cancel-safe: a rewind is forgotten only once it has been applied, so a `next` dropped
    /// mid-pause (say, by a shutdown `select!`) leaves it for the following call.
    async fn apply_rewinds(&self) -> bool {
        if self.consumer().context().rewinds().is_empty() {
            return true;
        }
        tokio::time::sleep(REDELIVERY_PAUSE).await;
        loop {
            let pending = self
                .consumer()
                .context()
                .rewinds()
                .first_key_value()
                .map(|(key, offset)| (key.clone(), *offset));
            let Some(((topic, partition), offset)) = pending else {
                return true;
            };
            if !self.rewind(topic.clone(), partition, offset).await {
                return false;
            }
            let mut rewinds = self.consumer().context().rewinds();
            let key = (topic, partition);
            // Unless an earlier offset was asked for meanwhile, this one is done.
            if rewinds.get(&key) == Some(&offset) {
                rewinds.remove(&key);
            }
        }
    }

    async fn rewind(&self, topic: String, partition: i32, offset: i64) -> bool {
        for attempt in 1..=SEEK_ATTEMPTS {
            let consumer = Arc::clone(self.consumer());
            let topic = topic.clone();
            let seek = tokio::task::spawn_blocking(move || {
                let result = consumer.seek(&topic, partition, Offset::Offset(offset), SEEK_TIMEOUT);
                let assigned = consumer
                    .assignment()
                    .map(|a| a.find_partition(&topic, partition).is_some())
                    .unwrap_or(true);
                (result, assigned)
            })
            .await;
            match seek {
                Ok((Ok(()), _)) => {
                    tracing::debug!(source_id = self.source_id, partition, "kafka: rewound");
                    return true;
                }
                Ok((Err(_), false)) => {
                    tracing::info!(
                        source_id = self.source_id,
                        partition,
                        "kafka: partition no longer assigned; its owner re-reads the input"
                    );
                    return true;
                }
                Ok((Err(error), true)) => tracing::warn!(
                    source_id = self.source_id,
                    partition,
                    attempt,
                    error = %error,
                    "kafka: could not rewind to redeliver an unsettled input"
                ),
                Err(error) => tracing::warn!(
                    source_id = self.source_id,
                    partition,
                    attempt,
                    %error,
                    "kafka: the rewind did not finish"
                ),
            }
            tokio::time::sleep(REDELIVERY_PAUSE).await;
        }
        tracing::error!(
            source_id = self.source_id,
            partition,
            "kafka: giving up rewinding; stopping the source so no unsettled input is skipped"
        );
        false
    }

    fn input(&self, message: &BorrowedMessage<'_>) -> SourceInput {
        let topic = message.topic().to_owned();
        let partition = message.partition();
        let offset = message.offset();
        let raw = RawInput {
            source_id: self.source_id.clone(),
            content_type: message
                .headers()
                .and_then(|h| header_str(h, CONTENT_TYPE_HEADER))
                .map(str::to_owned),
            body: Bytes::copy_from_slice(message.payload().unwrap_or_default()),
            received_at: chrono::Utc::now(),
            message_id: Some(format!("{topic}/{partition}/{offset}")),
        };
        let acknowledger = KafkaAcknowledger {
            consumer: Arc::downgrade(self.consumer()),
            generation: self.consumer().context().generation(),
            topic,
            partition,
            offset,
            settled: false,
        };
        SourceInput {
            raw,
            acknowledger: Box::new(acknowledger),
        }
    }
}

impl Drop for KafkaSource {
    /// Closing a consumer blocks until it has left the group: done on tokio's blocking pool
    /// when there is a runtime, so dropping a source never stalls an async task.
    fn drop(&mut self) {
        let Some(consumer) = self.consumer.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || drop(consumer));
            }
            Err(_) => drop(consumer),
        }
    }
}

#[async_trait]
impl Source for KafkaSource {
    /// The next record, in offset order within its partition. Returns `None` only if an
    /// unsettled input could not be rewound (see the module docs); consumer errors (a broker
    /// going away, a rebalance failing) are logged and waited out, since librdkafka recovers
    /// from them itself.
    async fn next(&mut self) -> Option<SourceInput> {
        if !self.apply_rewinds().await {
            return None;
        }
        loop {
            match self.consumer().recv().await {
                Ok(message) => {
                    self.status.set_connected(true);
                    return Some(self.input(&message));
                }
                Err(error) => tracing::warn!(
                    source_id = self.source_id,
                    error = error_name(&error),
                    "kafka consumer error"
                ),
            }
        }
    }
}

/// Settles one record: stores its offset once the hub has kept the input, or rewinds to it.
struct KafkaAcknowledger {
    /// Weak, so an input that outlives its source does not keep the consumer (and its group
    /// membership) alive; settling it then does nothing and the record is read again.
    consumer: Weak<SourceConsumer>,
    /// The consumer's generation when the record was read.
    generation: u64,
    topic: String,
    partition: i32,
    offset: i64,
    settled: bool,
}

impl KafkaAcknowledger {
    /// Stores the offset after this record, to be committed by the next (auto-)commit.
    fn store(&self, consumer: &SourceConsumer) {
        if consumer.context().generation() != self.generation {
            tracing::debug!(
                partition = self.partition,
                "kafka: partitions were revoked since this input was read; not storing its offset"
            );
            return;
        }
        // The legacy `rd_kafka_offset_store` behind `store_offset` stores `offset + 1`: the
        // next record to read, which is what a committed offset means.
        if let Err(error) = consumer.store_offset(&self.topic, self.partition, self.offset) {
            tracing::warn!(
                partition = self.partition,
                error = error_name(&error),
                "kafka: could not store a settled offset; the input will be read again"
            );
        }
    }

    /// Asks the source to re-read from this record before anything else.
    fn request_rewind(&self, consumer: &SourceConsumer) {
        let context = consumer.context();
        if context.generation() != self.generation {
            return;
        }
        context
            .rewinds()
            .entry((self.topic.clone(), self.partition))
            .and_modify(|o| *o = (*o).min(self.offset))
            .or_insert(self.offset);
    }
}

#[async_trait]
impl Acknowledger for KafkaAcknowledger {
    async fn settle(mut self: Box<Self>, outcome: &InputOutcome) {
        self.settled = true;
        let Some(consumer) = self.consumer.upgrade() else {
            tracing::debug!("kafka: source closed before the input was settled");
            return;
        };
        match outcome {
            InputOutcome::Committed { .. } | InputOutcome::Quarantined { .. } => {
                self.store(&consumer);
            }
            InputOutcome::Unavailable { .. } => self.request_rewind(&consumer),
        }
    }
}

impl Drop for KafkaAcknowledger {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        tracing::warn!(
            partition = self.partition,
            "kafka: an input was dropped without being settled; it will be read again"
        );
        if let Some(consumer) = self.consumer.upgrade() {
            self.request_rewind(&consumer);
        }
    }
}

/// The consumer's callbacks: rebalance logging and commits, connection status, logs.
pub(crate) struct SourceContext {
    status: KafkaStatus,
    /// Incremented on every revocation (and failed rebalance).
    generation: AtomicU64,
    /// Partitions to rewind before the next read, to the lowest unsettled offset.
    rewinds: Mutex<BTreeMap<(String, i32), i64>>,
}

impl SourceContext {
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn rewinds(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, i32), i64>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters: every entry is a complete rewind.
        self.rewinds.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ClientContext for SourceContext {
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

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let partitions = partition_numbers(partitions);
                tracing::info!(partitions, "kafka: partitions assigned");
            }
            Rebalance::Revoke(partitions) => {
                let partitions = partition_numbers(partitions);
                tracing::info!(partitions, "kafka: partitions revoked");
                self.generation.fetch_add(1, Ordering::SeqCst);
                self.rewinds().clear();
                if let Err(error) = commit_stored(consumer) {
                    tracing::warn!(
                        %error,
                        "kafka: commit before revocation failed; \
                         the next owner re-reads from the last commit"
                    );
                }
            }
            Rebalance::Error(error) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                self.rewinds().clear();
                tracing::warn!(error = error_name(error), "kafka: rebalance failed");
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::trace!("kafka: offsets committed"),
            Err(error) if is_nothing_to_commit(&error) => {}
            Err(error) => tracing::warn!(error = error_name(&error), "kafka: offset commit failed"),
        }
    }
}

/// Commits the stored offsets synchronously; having nothing stored is not an error.
fn commit_stored<C: Consumer<SourceContext>>(consumer: &C) -> Result<(), KafkaCloseError> {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => Ok(()),
        Err(error) if is_nothing_to_commit(&error) => Ok(()),
        Err(error) => Err(KafkaCloseError {
            reason: error_name(&error),
        }),
    }
}

fn is_nothing_to_commit(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset)
}

/// `topic:0,1,2 other:0`: topics and partition numbers, nothing else.
fn partition_numbers(partitions: &TopicPartitionList) -> String {
    let elements = partitions.elements();
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for element in &elements {
        by_topic
            .entry(element.topic())
            .or_default()
            .push(element.partition());
    }
    by_topic
        .iter()
        .map(|(topic, numbers)| {
            let numbers: Vec<String> = numbers.iter().map(i32::to_string).collect();
            format!("{topic}:{}", numbers.join(","))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
