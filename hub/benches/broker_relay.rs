//! Benchmark: broker → hub → broker, against a bare relay on the same machine in the same run.
//!
//! - AMQP: the bare relay consumes a queue (same prefetch), publishes each message to an exchange
//!   with `mandatory`, persistent delivery and a publisher confirm, and acks the input only after
//!   the confirm, one message at a time, as the hub does. The hub does the same with a durable
//!   commit of every input, its delivery and audit entries in between (SQLite, synchronous=FULL).
//! - Kafka: the bare relay consumes with a consumer group and stores each offset only after the
//!   idempotent, acks=all produce of the message has been acknowledged; the hub does the same with
//!   its durable commit in between.
//!
//! `BENCH_MESSAGES` (default 1000) referrals about `BENCH_CHILDREN` (default 50) children are
//! published as fast as the broker confirms them; throughput runs from the first publish to the
//! last arrival on the output, latency from each publish to its arrival.
//!
//! Run: `cargo bench -p throughline-hub --bench broker_relay` (needs RabbitMQ on 127.0.0.1:5672
//! and a Kafka-compatible broker on 127.0.0.1:9092: `scripts/services` starts both).

#[path = "../../tests/common/nhs.rs"]
mod nhs;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const KAFKA: &str = "127.0.0.1:9092";

type Sent = Arc<Mutex<HashMap<String, Instant>>>;
type Arrived = Arc<Mutex<Vec<(String, Instant)>>>;

/// The AMQP prefetch, the same for the bare relay and the hub (`BENCH_PREFETCH`, default 32).
fn prefetch() -> u16 {
    env_or("BENCH_PREFETCH", 32) as u16
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn unique(prefix: &str) -> String {
    format!("bench-{prefix}-{}", uuid::Uuid::now_v7().simple())
}

fn nhs_numbers(count: usize) -> Vec<String> {
    nhs::test_nhs_numbers(700000, count)
}

fn referral(nhs: &str, id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schema_version": 1,
        "occurred_at": chrono::Utc::now(),
        "source": {"agency": "la-send", "system": "bench", "adapter": "bench"},
        "subject": {"identifiers": {"nhs_number": nhs}},
        "kind": "referral.made",
        "payload": {"referral_id": id, "to_agency": "camhs-north"}
    }))
    .unwrap()
}

/// The referral id in an input event or in a notification: both carry it at payload.referral_id.
fn referral_id(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    v["payload"]["referral_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

struct Report {
    name: String,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    delivered: usize,
}

fn report(name: &str, sent: &Sent, arrived: &Arrived, started: Instant) -> Report {
    let s = sent.lock().unwrap();
    let a = arrived.lock().unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut lat = Vec::new();
    let mut last = started;
    for (id, at) in a.iter() {
        if let Some(t0) = s.get(id)
            && seen.insert(id.clone())
        {
            lat.push(at.duration_since(*t0));
            last = last.max(*at);
        }
    }
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Report {
        name: name.into(),
        per_sec: lat.len() as f64 / last.duration_since(started).as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        delivered: lat.len(),
    }
}

async fn wait_for(arrived: &Arrived, sent: &Sent, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(900);
    while Instant::now() < deadline {
        let got: std::collections::HashSet<String> = {
            let s = sent.lock().unwrap();
            arrived
                .lock()
                .unwrap()
                .iter()
                .filter(|(id, _)| s.contains_key(id))
                .map(|(id, _)| id.clone())
                .collect()
        };
        if got.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------- AMQP ----------

async fn amqp_topology(conn: &Connection, input: &str, exchange: &str, output: &str, dlx: &str) {
    let ch = conn.create_channel().await.unwrap();
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for q in [input, output, dlx] {
        ch.queue_declare(q.into(), durable, FieldTable::default())
            .await
            .unwrap();
    }
    for x in [exchange, dlx] {
        ch.exchange_declare(
            x.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    }
    ch.queue_bind(
        output.into(),
        exchange.into(),
        "".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        dlx.into(),
        dlx.into(),
        "".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
}

async fn amqp_collect(conn: &Connection, queue: &str) -> Arrived {
    let arrived: Arrived = Arc::default();
    let ch = conn.create_channel().await.unwrap();
    ch.basic_qos(500, BasicQosOptions::default()).await.unwrap();
    let mut consumer = ch
        .basic_consume(
            queue.into(),
            "bench-out".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let out = arrived.clone();
    tokio::spawn(async move {
        let _ch = ch;
        while let Some(Ok(d)) = consumer.next().await {
            out.lock()
                .unwrap()
                .push((referral_id(&d.data), Instant::now()));
        }
    });
    arrived
}

async fn amqp_publish(
    conn: &Connection,
    queue: &str,
    messages: usize,
    children: &[String],
    sent: &Sent,
) {
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut confirms = Vec::new();
    for n in 0..messages {
        let id = format!("R-{n:06}");
        let body = referral(&children[n % children.len()], &id);
        sent.lock().unwrap().insert(id.clone(), Instant::now());
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(id.as_str().into());
        confirms.push(
            ch.basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                &body,
                props,
            )
            .await
            .unwrap(),
        );
        if confirms.len() >= 100 {
            for c in confirms.drain(..) {
                c.await.unwrap();
            }
        }
    }
    for c in confirms {
        c.await.unwrap();
    }
}

/// The bare relay: consume (prefetch 32), publish with mandatory + persistent + confirm, then ack.
async fn amqp_bare_relay(input: String, exchange: String) {
    let conn = Connection::connect(AMQP, ConnectionProperties::default())
        .await
        .unwrap();
    let consume = conn.create_channel().await.unwrap();
    consume
        .basic_qos(prefetch(), BasicQosOptions::default())
        .await
        .unwrap();
    let publish = conn.create_channel().await.unwrap();
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut consumer = consume
        .basic_consume(
            input.as_str().into(),
            "relay".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    while let Some(Ok(d)) = consumer.next().await {
        let confirm = publish
            .basic_publish(
                exchange.as_str().into(),
                "".into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                &d.data,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack());
        d.ack(BasicAckOptions::default()).await.unwrap();
    }
}

fn hub_config(dir: &std::path::Path, port: u16, source: &str, sink: &str) -> std::path::PathBuf {
    let config = format!(
        "[store]\nurl = \"sqlite://{}\"\n[api]\nlisten = \"127.0.0.1:{port}\"\n[log]\nlevel = \"warn\"\n\
         [delivery]\ninitial_backoff_ms = 50\nmax_backoff_ms = 1000\npoll_interval_ms = 100\nconcurrency = {concurrency}\n\
         [[agencies]]\nid = \"la-send\"\nrole = \"send\"\n\
         [[agencies]]\nid = \"camhs-north\"\nrole = \"health\"\nsink = {sink}\n\
         [[sources]]\nid = \"la-broker\"\nagency = \"la-send\"\n{source}\n\
         [[routes]]\nkinds = [\"*\"]\nroles = [\"health\"]\n\
         [[sharing_agreements]]\nid = \"isa\"\nagency = \"camhs-north\"\nkinds = [\"*\"]\nfields = [\"subject.identifiers.nhs_number\", \"payload.*\"]\n",
        dir.join("bench.db").display(),
        concurrency = env_or("BENCH_AGENCY_CONCURRENCY", 1),
    );
    let path = dir.join(format!("hub-{port}.toml"));
    std::fs::write(&path, config).unwrap();
    path
}

async fn start_hub(config: &std::path::Path, port: u16) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["run", "--config"])
        .arg(config)
        .env("AMQP_URL", AMQP)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn amqp_round(hub: bool, messages: usize, children: &[String]) -> Report {
    let conn = Connection::connect(AMQP, ConnectionProperties::default())
        .await
        .unwrap();
    let (input, exchange, output, dlx) = (unique("in"), unique("x"), unique("out"), unique("dlx"));
    amqp_topology(&conn, &input, &exchange, &output, &dlx).await;
    let arrived = amqp_collect(&conn, &output).await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = None;
    let relay = if hub {
        let port = free_port();
        let source = format!(
            "amqp = {{ connection = {{ url = \"${{AMQP_URL}}\" }}, queue = \"{input}\", prefetch = {}, dead_letter_exchange = \"{dlx}\" }}",
            prefetch()
        );
        let sink = format!(
            "{{ type = \"amqp\", connection = {{ url = \"${{AMQP_URL}}\" }}, exchange = \"{exchange}\", routing_key = \"\" }}"
        );
        child = Some(start_hub(&hub_config(dir.path(), port, &source, &sink), port).await);
        None
    } else {
        Some(tokio::spawn(amqp_bare_relay(
            input.clone(),
            exchange.clone(),
        )))
    };
    let sent: Sent = Arc::default();
    let started = Instant::now();
    amqp_publish(&conn, &input, messages, children, &sent).await;
    wait_for(&arrived, &sent, messages).await;
    let r = report(
        if hub {
            "AMQP → hub → AMQP"
        } else {
            "AMQP → bare relay → AMQP"
        },
        &sent,
        &arrived,
        started,
    );
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
    if let Some(t) = relay {
        t.abort();
    }
    let ch = conn.create_channel().await.unwrap();
    for q in [&input, &output, &dlx] {
        let _ = ch
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    for x in [&exchange, &dlx] {
        let _ = ch
            .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
    r
}

// ---------- Kafka ----------

async fn create_topics(names: &[&str]) {
    let admin: AdminClient<_> = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .create()
        .unwrap();
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, 3, TopicReplication::Fixed(1)))
        .collect();
    for r in admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
}

fn kafka_collect(topic: &str) -> Arrived {
    let arrived: Arrived = Arc::default();
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let out = arrived.clone();
    tokio::spawn(async move {
        let mut stream = consumer.stream();
        while let Some(Ok(m)) = stream.next().await {
            out.lock()
                .unwrap()
                .push((referral_id(m.payload().unwrap_or_default()), Instant::now()));
        }
    });
    arrived
}

fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .create()
        .unwrap()
}

async fn kafka_publish(topic: &str, messages: usize, children: &[String], sent: &Sent) {
    let p = producer();
    let mut pending = Vec::new();
    for n in 0..messages {
        let id = format!("R-{n:06}");
        let nhs = &children[n % children.len()];
        let body = referral(nhs, &id);
        sent.lock().unwrap().insert(id, Instant::now());
        let p = p.clone();
        let (topic, nhs) = (topic.to_owned(), nhs.clone());
        pending.push(tokio::spawn(async move {
            p.send(
                FutureRecord::to(&topic).key(&nhs).payload(&body),
                Duration::from_secs(60),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        }));
        if pending.len() >= 100 {
            for t in pending.drain(..) {
                t.await.unwrap();
            }
        }
    }
    for t in pending {
        t.await.unwrap();
    }
}

/// The bare relay: consume in a group, produce (idempotent, acks=all), store the offset after the ack.
async fn kafka_bare_relay(input: String, output: String) {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", unique("relay"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.offset.store", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&input]).unwrap();
    let p = producer();
    let mut stream = consumer.stream();
    while let Some(Ok(m)) = stream.next().await {
        let mut record = FutureRecord::to(&output).payload(m.payload().unwrap_or_default());
        if let Some(k) = m.key() {
            record = record.key(k);
        }
        p.send(record, Duration::from_secs(60))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        consumer.store_offset_from_message(&m).unwrap();
    }
}

async fn kafka_round(hub: bool, messages: usize, children: &[String]) -> Report {
    let (input, output) = (unique("in"), unique("out"));
    create_topics(&[&input, &output]).await;
    let arrived = kafka_collect(&output);
    let dir = tempfile::tempdir().unwrap();
    let mut child = None;
    let relay = if hub {
        let port = free_port();
        let source = format!(
            "kafka = {{ bootstrap_servers = \"{KAFKA}\", topics = [\"{input}\"], group_id = \"{}\" }}",
            unique("hub")
        );
        // The same producer settings as the bare relay's (linger.ms=1; librdkafka's default is 5).
        let sink = format!(
            "{{ type = \"kafka\", bootstrap_servers = \"{KAFKA}\", topic = \"{output}\", client_options = {{ \"linger.ms\" = \"1\" }} }}"
        );
        child = Some(start_hub(&hub_config(dir.path(), port, &source, &sink), port).await);
        None
    } else {
        Some(tokio::spawn(kafka_bare_relay(
            input.clone(),
            output.clone(),
        )))
    };
    let sent: Sent = Arc::default();
    let started = Instant::now();
    kafka_publish(&input, messages, children, &sent).await;
    wait_for(&arrived, &sent, messages).await;
    let r = report(
        if hub {
            "Kafka → hub → Kafka"
        } else {
            "Kafka → bare relay → Kafka"
        },
        &sent,
        &arrived,
        started,
    );
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
    if let Some(t) = relay {
        t.abort();
    }
    r
}

fn print_pair(bare: &Report, hub: &Report) {
    for r in [bare, hub] {
        println!(
            "  {:<28} {:>7.0} msg/s  p50 {:>8.1?}  p99 {:>8.1?}  ({} delivered)",
            r.name, r.per_sec, r.p50, r.p99, r.delivered
        );
    }
    println!(
        "  hub / bare relay throughput: {:.2}",
        hub.per_sec / bare.per_sec
    );
}

#[tokio::main]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let messages = env_or("BENCH_MESSAGES", if measuring { 1000 } else { 30 });
    let children = nhs_numbers(env_or("BENCH_CHILDREN", 50));
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "amqp" {
        let bare = amqp_round(false, messages, &children).await;
        let hub = amqp_round(true, messages, &children).await;
        println!("broker_relay amqp: messages={messages}");
        print_pair(&bare, &hub);
        assert_eq!(hub.delivered, messages, "every message must arrive");
    }
    if only.is_empty() || only == "kafka" {
        let bare = kafka_round(false, messages, &children).await;
        let hub = kafka_round(true, messages, &children).await;
        println!("broker_relay kafka: messages={messages}");
        print_pair(&bare, &hub);
        assert_eq!(hub.delivered, messages, "every message must arrive");
    }
}
