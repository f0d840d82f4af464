//! The AMQP sink against the real RabbitMQ (`THROUGHLINE_TEST_AMQP_URL`, by default the local
//! broker as guest). Every test uses its own uniquely named queues and exchanges and deletes
//! them at the end, and holds the broker lock shared.
//!
//! Every notification's subject and payload carry [`CHILD_DATA`], so a sink that leaked the body
//! into a reason would be caught by [`assert_retryable_without_body`].

mod support;

use lapin::ExchangeKind;
use support::{Broker, BrokerLock, CHILD_DATA, amqp_url, notification, unique};
use throughline_adapter_amqp::headers::{
    CHILD_ID_HEADER, EVENT_ID_HEADER, EVENT_KIND_HEADER, IDEMPOTENCY_KEY_HEADER,
    SCHEMA_VERSION_HEADER, TRACEPARENT_HEADER, string_header,
};
use throughline_adapter_amqp::{
    AmqpSink, AmqpSinkConfig, BindingConfig, ConnectionState, ExchangeConfig, ExchangeKindConfig,
    QueueConfig,
};
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::notification::Notification;

/// An agency exchange with one queue bound for routing key `notifications`.
struct Fixture {
    broker: Broker,
    exchange: String,
    queue: String,
    _lock: BrokerLock,
}

impl Fixture {
    async fn new() -> Fixture {
        support::logs();
        let lock = BrokerLock::shared().await;
        let mut broker = Broker::connect().await;
        let exchange = unique("agency");
        let queue = unique("agency-inbox");
        broker.exchange(&exchange, ExchangeKind::Direct).await;
        broker.queue(&queue).await;
        broker.bind(&queue, &exchange, "notifications").await;
        Fixture {
            broker,
            exchange,
            queue,
            _lock: lock,
        }
    }

    fn config(&self) -> AmqpSinkConfig {
        let mut config = AmqpSinkConfig::new(amqp_url(), &self.exchange, "notifications");
        config.confirm_timeout_ms = 5_000;
        config
    }
}

fn assert_retryable_without_body(outcome: &DeliveryOutcome) -> String {
    match outcome {
        DeliveryOutcome::Retryable {
            reason,
            retry_after: None,
        } => {
            assert!(!reason.contains(CHILD_DATA), "{reason}");
            reason.clone()
        }
        other => panic!("expected retryable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_notification_arrives_persistent_with_message_id_and_headers() {
    let f = Fixture::new().await;
    let sink = AmqpSink::connect(&f.config()).await.unwrap();
    assert_eq!(sink.state(), ConnectionState::Connected);
    let sent = notification();

    assert_eq!(sink.deliver(&sent).await, DeliveryOutcome::Delivered);

    let message = f
        .broker
        .get(&f.queue)
        .await
        .expect("the notification arrived");
    let received: Notification = serde_json::from_slice(&message.delivery.data).unwrap();
    assert_eq!(received, sent);
    let props = &message.delivery.properties;
    assert_eq!(props.delivery_mode(), &Some(2));
    assert_eq!(
        props.content_type().as_ref().unwrap().as_str(),
        "application/json"
    );
    assert_eq!(
        props.message_id().as_ref().unwrap().as_str(),
        sent.idempotency_key
    );
    let headers = props.headers().clone().unwrap();
    assert_eq!(
        string_header(&headers, EVENT_ID_HEADER),
        Some(sent.event_id.to_string())
    );
    assert_eq!(
        string_header(&headers, EVENT_KIND_HEADER),
        Some("referral.made".to_owned())
    );
    assert_eq!(
        string_header(&headers, IDEMPOTENCY_KEY_HEADER),
        Some(sent.idempotency_key.clone())
    );
    assert_eq!(
        string_header(&headers, CHILD_ID_HEADER),
        Some(sent.child_id.to_string())
    );
    assert_eq!(
        headers.inner().get(SCHEMA_VERSION_HEADER),
        Some(&lapin::types::AMQPValue::LongLongInt(1))
    );

    sink.close().await;
    assert_eq!(sink.state(), ConnectionState::Closed);
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_attempt_carries_its_traceparent_header_and_an_untraced_one_none() {
    let f = Fixture::new().await;
    let sink = AmqpSink::connect(&f.config()).await.unwrap();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    assert_eq!(
        sink.deliver_traced(&notification(), Some(traceparent))
            .await,
        DeliveryOutcome::Delivered
    );
    assert_eq!(
        sink.deliver(&notification()).await,
        DeliveryOutcome::Delivered
    );

    let traced = f
        .broker
        .get(&f.queue)
        .await
        .expect("the traced one arrived");
    let headers = traced.delivery.properties.headers().clone().unwrap();
    assert_eq!(
        string_header(&headers, TRACEPARENT_HEADER),
        Some(traceparent.to_owned())
    );
    let untraced = f
        .broker
        .get(&f.queue)
        .await
        .expect("the untraced one arrived");
    let headers = untraced.delivery.properties.headers().clone().unwrap();
    assert_eq!(
        string_header(&headers, TRACEPARENT_HEADER),
        None,
        "an untraced attempt sends no traceparent"
    );

    sink.close().await;
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unroutable_routing_key_is_retryable_and_says_unroutable() {
    let f = Fixture::new().await;
    let mut config = f.config();
    config.routing_key = "nobody-binds-this".to_owned();
    let sink = AmqpSink::connect(&config).await.unwrap();

    let outcome = sink.deliver(&notification()).await;
    let reason = assert_retryable_without_body(&outcome);
    assert!(reason.contains("unroutable"), "{reason}");
    assert_eq!(f.broker.ready(&f.queue).await, 0);

    // The channel stays usable: a routable delivery afterwards goes through.
    f.broker
        .bind(&f.queue, &f.exchange, "nobody-binds-this")
        .await;
    assert_eq!(
        sink.deliver(&notification()).await,
        DeliveryOutcome::Delivered
    );
    sink.close().await;
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_exchange_is_an_error_at_connect_naming_the_exchange_key() {
    let f = Fixture::new().await;
    let mut config = f.config();
    config.exchange = unique("no-such-agency");

    let err = AmqpSink::connect(&config).await.unwrap_err();
    assert_eq!(err.key(), Some("exchange"), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(err.to_string().contains(&config.exchange), "{err}");
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_deleted_after_connect_is_retryable_and_the_sink_recovers_once_it_is_back() {
    let mut f = Fixture::new().await;
    let sink = AmqpSink::connect(&f.config()).await.unwrap();
    f.broker.delete_exchange(&f.exchange).await;

    // The broker closes the channel (404); the delivery is retryable, never permanent.
    let outcome = sink.deliver(&notification()).await;
    let reason = assert_retryable_without_body(&outcome);
    assert!(reason.contains("NOT_FOUND"), "{reason}");

    // Once the exchange is back, the next attempt opens a new confirm-mode channel.
    let exchange = f.exchange.clone();
    f.broker.exchange(&exchange, ExchangeKind::Direct).await;
    f.broker.bind(&f.queue, &exchange, "notifications").await;
    assert_eq!(
        sink.deliver(&notification()).await,
        DeliveryOutcome::Delivered
    );
    assert_eq!(sink.state(), ConnectionState::Connected);
    assert!(f.broker.get(&f.queue).await.is_some());
    sink.close().await;
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declares_its_topology_at_connect_idempotently_and_delivers_through_it() {
    let lock = BrokerLock::shared().await;
    let mut broker = Broker::connect().await;
    let exchange = unique("declared-agency");
    let queue = unique("declared-inbox");
    broker.forget_later(&[&queue], &[&exchange]);
    let mut config = AmqpSinkConfig::new(amqp_url(), &exchange, "camhs.referrals");
    config.declare.exchanges = vec![ExchangeConfig {
        name: exchange.clone(),
        kind: ExchangeKindConfig::Topic,
        durable: true,
    }];
    config.declare.queues = vec![QueueConfig {
        name: queue.clone(),
        durable: true,
        dead_letter_exchange: None,
        dead_letter_routing_key: None,
    }];
    config.declare.bindings = vec![BindingConfig {
        queue: queue.clone(),
        exchange: exchange.clone(),
        routing_key: "camhs.#".to_owned(),
    }];

    let first = AmqpSink::connect(&config).await.expect("declares");
    first.close().await;
    let sink = AmqpSink::connect(&config)
        .await
        .expect("declaring the same topology again is harmless");
    assert_eq!(
        sink.deliver(&notification()).await,
        DeliveryOutcome::Delivered
    );
    assert!(broker.get(&queue).await.is_some());

    // A declaration that contradicts what exists is refused at connect, naming the entry.
    let mut clash = config.clone();
    clash.declare.exchanges[0].kind = ExchangeKindConfig::Fanout;
    let err = AmqpSink::connect(&clash).await.unwrap_err();
    assert_eq!(err.key(), Some("declare.exchanges[0]"), "{err}");
    assert!(err.to_string().contains("PRECONDITION_FAILED"), "{err}");

    sink.close().await;
    broker.cleanup().await;
    drop(lock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_after_close_are_retryable() {
    let f = Fixture::new().await;
    let sink = AmqpSink::connect(&f.config()).await.unwrap();
    sink.close().await;
    let outcome = sink.deliver(&notification()).await;
    assert_retryable_without_body(&outcome);
    f.broker.cleanup().await;
}
