//! Shared helpers for the tests against a real Kafka-protocol broker (tansu in development).
//!
//! The broker's address comes from `THROUGHLINE_TEST_KAFKA` (default `127.0.0.1:9092`). Each test
//! creates its own topics under unique names (the broker does not create topics itself) and
//! deletes them at the end, best effort.
#![allow(dead_code)]

use std::future::Future;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use uuid::Uuid;

/// A generous limit for one whole test: never a measure of speed.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(180);

pub fn broker() -> String {
    std::env::var("THROUGHLINE_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// A unique name, so tests never share a topic or a group.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

/// Runs a test body under [`TEST_TIMEOUT`], failing with a clear message if it hangs. Logs go
/// to the test's output, filtered by `RUST_LOG` (nothing by default).
pub async fn within<T>(body: impl Future<Output = T>) -> T {
    require_broker();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("the test did not finish within its (generous) timeout")
}

/// Fails at once, saying how to start one, when nothing listens at the broker address.
fn require_broker() {
    let address = broker();
    let reachable = address
        .split(',')
        .filter_map(|a| a.to_socket_addrs().ok())
        .flatten()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).is_ok());
    assert!(
        reachable,
        "no Kafka broker at {address} (THROUGHLINE_TEST_KAFKA). Start one with: tansu broker \
         --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 \
         --storage-engine memory://tansu/"
    );
}

fn admin() -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", broker())
        .create()
        .expect("admin client")
}

/// A topic created for one test.
pub struct TestTopic {
    pub name: String,
}

impl TestTopic {
    pub async fn create(partitions: i32) -> Self {
        let name = unique("throughline-test");
        let results = admin()
            .create_topics(
                &[NewTopic::new(&name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
            )
            .await
            .expect("CreateTopics request");
        for result in results {
            result.expect("topic created");
        }
        Self { name }
    }

    /// Deletes the topic; failures are ignored (the broker's storage is throwaway).
    pub async fn delete(self) {
        let _ = admin()
            .delete_topics(&[&self.name], &AdminOptions::new())
            .await;
    }
}

pub fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", broker())
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("test producer")
}

/// Produces one record to a given partition and returns its offset.
pub async fn produce(
    producer: &FutureProducer,
    topic: &str,
    partition: i32,
    payload: &str,
    content_type: Option<&str>,
) -> i64 {
    let mut record = FutureRecord::<str, str>::to(topic)
        .partition(partition)
        .payload(payload);
    if let Some(content_type) = content_type {
        record = record.headers(OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some(content_type),
        }));
    }
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(error, _)| error)
        .expect("test record produced")
        .offset
}

/// Reads `count` records from every partition of `topic` from the beginning (no consumer
/// group), in the order they arrive.
pub async fn read_all(topic: &str, partitions: i32, count: usize) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker())
        .set("group.id", unique("throughline-test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("test consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).expect("assign");
    let mut messages = Vec::with_capacity(count);
    while messages.len() < count {
        let message = consumer.recv().await.expect("test consumer read");
        messages.push(message.detach());
    }
    messages
}

/// The committed offset of `group` on one partition (`None` if nothing is committed).
pub fn committed_offset(group: &str, topic: &str, partition: i32) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker())
        .set("group.id", group)
        .create()
        .expect("test consumer");
    let mut list = TopicPartitionList::new();
    list.add_partition(topic, partition);
    let committed = consumer
        .committed_offsets(list, Duration::from_secs(30))
        .expect("OffsetFetch");
    match committed.elements()[0].offset() {
        Offset::Offset(offset) => Some(offset),
        _ => None,
    }
}

/// The text of a record's payload.
pub fn text(message: &OwnedMessage) -> &str {
    std::str::from_utf8(message.payload().unwrap_or_default()).unwrap()
}
