//! Kafka source and sink: consumes agency input from Kafka topics, and publishes notifications
//! to an agency's Kafka topic. Reference: `docs/adapters/kafka.md`.
//!
//! It speaks the Kafka protocol through librdkafka (rdkafka 0.39, statically built), as a
//! consumer-group member and as an idempotent producer. Many agency platforms (case management
//! suites, integration engines, the larger health trusts) already run Kafka, so a topic is often
//! the cheapest way for them to send or receive events.
//!
//! # Delivery semantics
//! - **Source: at least once.** An input's offset is committed to Kafka only after the hub has
//!   settled it as committed or quarantined; an input the hub could not commit is read again.
//!   After a crash, restart or rebalance, inputs read but not settled are read again, with the
//!   same `message_id` (`{topic}/{partition}/{offset}`). Inputs from one partition are yielded in
//!   offset order, one at a time. See [`source`].
//! - **Sink: at least once, in order per child.** Each notification is one record keyed by the
//!   child's pseudonymous id, produced with `acks=all` by an idempotent producer; a failed or
//!   timed-out produce is retried by the hub, so a receiver can see a notification twice and
//!   deduplicates on its `idempotency-key` header. See [`sink`].
//! - **No transactions, no exactly-once.** Neither side uses Kafka transactions (nor
//!   `transactional.id`, which the sink refuses): the hub's durable store, not Kafka, is the
//!   record of what was done, so a Kafka transaction could not span both anyway, and tansu (the
//!   broker the tests run against) does not implement `EndTxn`. Idempotent production plus
//!   deduplication (by message id and event id in the hub, by idempotency key at receivers) is the guarantee.
//! - **Topics are never created** by the adapter; `connect` fails, naming the topic, if one is
//!   missing. See [`connect`].
//!
//! # Modules
//! - [`config`]: [`KafkaSourceConfig`] and [`KafkaSinkConfig`], checked by `validate`.
//! - [`source`]: [`KafkaSource`], its acknowledger and its rebalance handling.
//! - [`sink`]: [`KafkaSink`], one produce per delivery and the error → outcome mapping.
//! - [`headers`]: the record headers the sink writes and the source reads.
//! - [`connect`]: the start-up topic check and [`KafkaConnectError`].
//! - [`status`]: [`KafkaStatus`], whether a client is connected (for `/readyz`).
#![forbid(unsafe_code)]

pub mod config;
pub mod connect;
pub mod headers;
pub mod sink;
pub mod source;
pub mod status;

pub use config::{KafkaConfigError, KafkaSinkConfig, KafkaSourceConfig};
pub use connect::KafkaConnectError;
pub use sink::KafkaSink;
pub use source::{KafkaCloseError, KafkaSource};
pub use status::KafkaStatus;
