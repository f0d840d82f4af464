//! Real RabbitMQ and Kafka (tansu) for the end-to-end tests: publish, consume, create topics,
//! and a lock so that a test restarting a broker never runs beside a test using it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::time::Duration;

use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

pub fn amqp_url() -> String {
    std::env::var("THROUGHLINE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub fn kafka_servers() -> String {
    std::env::var("THROUGHLINE_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// Advisory lock on the shared brokers (the same file the adapters' own tests lock): shared
/// while a test uses them, exclusive while a test restarts one.
pub struct BrokerLock(File);

impl BrokerLock {
    async fn take(path: &'static str, exclusive: bool) -> Self {
        let file = tokio::task::spawn_blocking(move || {
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(path)
                .unwrap();
            if exclusive {
                f.lock().unwrap()
            } else {
                f.lock_shared().unwrap()
            }
            f
        })
        .await
        .unwrap();
        BrokerLock(file)
    }
    pub async fn rabbitmq_shared() -> Self {
        Self::take("/tmp/throughline-rabbitmq.lock", false).await
    }
    pub async fn rabbitmq_exclusive() -> Self {
        Self::take("/tmp/throughline-rabbitmq.lock", true).await
    }
    pub async fn kafka_shared() -> Self {
        Self::take("/tmp/throughline-kafka.lock", false).await
    }
    pub async fn kafka_exclusive() -> Self {
        Self::take("/tmp/throughline-kafka.lock", true).await
    }
}

/// A message seen on a queue or topic.
#[derive(Debug, Clone)]
pub struct Seen {
    pub key: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

pub async fn amqp() -> Connection {
    Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap()
}

pub async fn declare_queue(conn: &Connection, name: &str) {
    let ch = conn.create_channel().await.unwrap();
    ch.queue_declare(
        name.into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
}

/// Publishes persistently to a queue (default exchange), with a message id, waiting for the
/// broker's confirm.
pub async fn publish(conn: &Connection, queue: &str, message_id: &str, body: &[u8]) {
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    ch.basic_publish(
        "".into(),
        queue.into(),
        BasicPublishOptions::default(),
        body,
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(message_id.into()),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    let _ = ch.close(200, "done".into()).await;
}

fn header_text(v: &AMQPValue) -> String {
    match v {
        AMQPValue::LongString(s) => s.to_string(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Consumes a queue in the background, acking each message, collecting what arrives.
pub async fn collect_queue(
    conn: &Connection,
    queue: &str,
) -> std::sync::Arc<std::sync::Mutex<Vec<Seen>>> {
    use futures_util::StreamExt;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ch = conn.create_channel().await.unwrap();
    let mut consumer = ch
        .basic_consume(
            queue.into(),
            unique("test").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let out = seen.clone();
    tokio::spawn(async move {
        let _ch = ch;
        while let Some(Ok(d)) = consumer.next().await {
            let mut headers = BTreeMap::new();
            if let Some(h) = d.properties.headers() {
                for (k, v) in h.inner() {
                    headers.insert(k.to_string(), header_text(v));
                }
            }
            if let Some(mid) = d.properties.message_id() {
                headers.insert("message-id".into(), mid.to_string());
            }
            out.lock().unwrap().push(Seen {
                key: None,
                headers,
                body: serde_json::from_slice(&d.data).unwrap_or(serde_json::Value::Null),
            });
            let _ = d.ack(BasicAckOptions::default()).await;
        }
    });
    seen
}

pub async fn create_topic(name: &str, partitions: i32) {
    create_topic_on(&kafka_servers(), name, partitions).await
}

pub async fn create_topic_on(servers: &str, name: &str, partitions: i32) {
    let admin: AdminClient<_> = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .unwrap();
    let r = admin
        .create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    for x in r {
        x.unwrap();
    }
}

pub fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", kafka_servers())
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()
        .unwrap()
}

pub async fn produce(p: &FutureProducer, topic: &str, key: &str, body: &[u8]) {
    p.send(
        FutureRecord::to(topic)
            .key(key)
            .payload(body)
            .headers(OwnedHeaders::new().insert(Header {
                key: "content-type",
                value: Some("application/json"),
            })),
        Duration::from_secs(30),
    )
    .await
    .map_err(|(e, _)| e)
    .unwrap();
}

/// Consumes a topic from the beginning in the background, collecting what arrives.
pub fn collect_topic(topic: &str) -> std::sync::Arc<std::sync::Mutex<Vec<Seen>>> {
    collect_topic_on(&kafka_servers(), topic)
}

pub fn collect_topic_on(servers: &str, topic: &str) -> std::sync::Arc<std::sync::Mutex<Vec<Seen>>> {
    use futures_util::StreamExt;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", unique("e2e-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let out = seen.clone();
    tokio::spawn(async move {
        let mut stream = consumer.stream();
        while let Some(m) = stream.next().await {
            let Ok(m) = m else { continue };
            let mut headers = BTreeMap::new();
            if let Some(h) = m.headers() {
                for i in 0..h.count() {
                    let h = h.get(i);
                    headers.insert(
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    );
                }
            }
            out.lock().unwrap().push(Seen {
                key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                headers,
                body: m
                    .payload()
                    .and_then(|p| serde_json::from_slice(p).ok())
                    .unwrap_or(serde_json::Value::Null),
            });
        }
    });
    seen
}

/// Runs `rabbitmqctl` with arguments, asserting success.
pub fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How many messages a queue holds, as `rabbitmqctl list_queues` reports it.
pub fn queue_depth(queue: &str) -> u32 {
    std::process::Command::new("rabbitmqctl")
        .args(["list_queues", "-q", "name", "messages"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| {
                    let mut parts = l.split_whitespace();
                    (parts.next() == Some(queue))
                        .then(|| parts.next().and_then(|n| n.parse().ok()).unwrap_or(0))
                })
                .next()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}
