//! What the AMQP adapter's tests share: the broker URL, unique names, the broker lock, and a
//! plain "operator" connection to set up and inspect queues and exchanges.
#![allow(dead_code)] // each test binary uses a different part

pub mod broker_lock;

use std::future::Future;
use std::time::Duration;

use lapin::message::BasicGetMessage;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use throughline_contracts::AgencyId;
use throughline_contracts::kind::EventKind;
use throughline_contracts::notification::Notification;
use uuid::Uuid;

pub use broker_lock::BrokerLock;

/// Text that appears only in message bodies (child data): never in a reason.
pub const CHILD_DATA: &str = "CHILD-DATA-CANARY";

/// The test broker: `THROUGHLINE_TEST_AMQP_URL`, or the local RabbitMQ as guest.
pub fn amqp_url() -> String {
    std::env::var("THROUGHLINE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A name no other test uses, so tests can run in parallel on one broker.
pub fn unique(what: &str) -> String {
    format!("throughline-test.{what}.{}", Uuid::now_v7().simple())
}

/// A notification whose subject and payload carry [`CHILD_DATA`].
pub fn notification() -> Notification {
    Notification {
        schema_version: 1,
        notification_id: Uuid::now_v7(),
        idempotency_key: format!("notif-{}-camhs-north", Uuid::now_v7().simple()),
        recipient: AgencyId::parse("camhs-north").unwrap(),
        sharing_agreement: "north-isa-2026".to_owned(),
        event_id: Uuid::now_v7(),
        kind: EventKind::ReferralMade,
        occurred_at: chrono::Utc::now(),
        source_agency: AgencyId::parse("st-marys-primary").unwrap(),
        child_id: Uuid::now_v7(),
        subject: serde_json::json!({ "given_name": format!("{CHILD_DATA} Amelia") }),
        payload: serde_json::json!({ "reason": format!("{CHILD_DATA} worried about attendance") }),
    }
}

/// Sends the adapter's logs (and lapin's) to the test output, shown when a test fails;
/// `RUST_LOG` picks the level (default: warnings).
pub fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Polls `check` every 100 ms until it holds, for at most `within`. For waiting on the broker
/// to catch up (a requeue after a close), not for timing anything.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A plain connection (no recovery) for setting up and inspecting the broker, as an operator
/// or an agency system would; remembers what it declared and deletes it in [`Broker::cleanup`].
pub struct Broker {
    pub connection: Connection,
    pub channel: Channel,
    queues: Vec<String>,
    exchanges: Vec<String>,
}

impl Broker {
    pub async fn connect() -> Broker {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("the test broker is reachable");
        let channel = connection.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        Broker {
            connection,
            channel,
            queues: Vec::new(),
            exchanges: Vec::new(),
        }
    }

    /// Declares a durable queue and remembers it for cleanup.
    pub async fn queue(&mut self, name: &str) {
        self.queue_with(name, FieldTable::default()).await;
    }

    pub async fn queue_with(&mut self, name: &str, arguments: FieldTable) {
        self.channel
            .queue_declare(name.into(), QueueDeclareOptions::durable(), arguments)
            .await
            .unwrap();
        self.queues.push(name.to_owned());
    }

    /// Declares a durable exchange and remembers it for cleanup.
    pub async fn exchange(&mut self, name: &str, kind: ExchangeKind) {
        let options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        self.channel
            .exchange_declare(name.into(), kind, options, FieldTable::default())
            .await
            .unwrap();
        self.exchanges.push(name.to_owned());
    }

    /// Remembers entities declared by someone else (the adapter) for cleanup.
    pub fn forget_later(&mut self, queues: &[&str], exchanges: &[&str]) {
        self.queues.extend(queues.iter().map(|q| q.to_string()));
        self.exchanges
            .extend(exchanges.iter().map(|e| e.to_string()));
    }

    pub async fn bind(&self, queue: &str, exchange: &str, routing_key: &str) {
        self.channel
            .queue_bind(
                queue.into(),
                exchange.into(),
                routing_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
    }

    /// Publishes to `queue` through the default exchange, persistently, and waits for the
    /// broker's confirm.
    pub async fn publish(&self, queue: &str, body: &[u8], properties: BasicProperties) {
        let confirm = self
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body,
                properties.with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert!(confirm.is_ack(), "the test broker confirmed the publish");
    }

    /// How many messages in `queue` are ready for delivery (not counting ones handed to a
    /// consumer and not yet settled).
    pub async fn ready(&self, queue: &str) -> u32 {
        let options = QueueDeclareOptions::durable().passive();
        self.channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
            .unwrap()
            .message_count()
    }

    /// Takes one message from `queue` and acknowledges it.
    pub async fn get(&self, queue: &str) -> Option<BasicGetMessage> {
        let message = self
            .channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .unwrap()?;
        message.ack(BasicAckOptions::default()).await.unwrap();
        Some(message)
    }

    /// Takes one message from `queue` without settling it; waits for it to arrive.
    pub async fn get_unacked(&self, queue: &str) -> BasicGetMessage {
        for _ in 0..100 {
            let message = self
                .channel
                .basic_get(queue.into(), BasicGetOptions::default())
                .await
                .unwrap();
            if let Some(message) = message {
                return message;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no message arrived on the queue");
    }

    pub async fn delete_exchange(&self, name: &str) {
        self.channel
            .exchange_delete(name.into(), ExchangeDeleteOptions::default())
            .await
            .unwrap();
    }

    /// Deletes everything this test declared, on a fresh channel (the old one may have been
    /// closed by an expected error).
    pub async fn cleanup(self) {
        let channel = self.connection.create_channel().await.unwrap();
        for queue in &self.queues {
            let _ = channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for exchange in &self.exchanges {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
        let _ = self.connection.close(200, "test done".into()).await;
    }
}
