//! The AMQP source against the real RabbitMQ (`THROUGHLINE_TEST_AMQP_URL`, by default the local
//! broker as guest). Every test uses its own uniquely named queues and exchanges and deletes
//! them at the end, and holds the broker lock shared, so a broker-restart test never runs under
//! it.

mod support;

use std::time::Duration;

use lapin::options::BasicRejectOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, ExchangeKind};
use support::{Broker, BrokerLock, amqp_url, eventually, unique};
use throughline_adapter_amqp::headers::{
    EVENT_ID_HEADER, QUARANTINE_ID_HEADER, QUARANTINE_REASON_HEADER, QUARANTINE_STEP_HEADER,
    string_header,
};
use throughline_adapter_amqp::{
    AmqpSource, AmqpSourceConfig, BindingConfig, ConnectionState, ExchangeConfig,
    ExchangeKindConfig, QueueConfig,
};
use throughline_contracts::adapter::{InputOutcome, Source, SourceInput};
use throughline_contracts::event::FieldProblem;
use uuid::Uuid;

/// How long a test waits for an input the broker should deliver promptly.
const PROMPTLY: Duration = Duration::from_secs(10);

/// A source queue, a fanout dead-letter exchange with its queue, and the source on them.
struct Fixture {
    broker: Broker,
    queue: String,
    dead_letter_exchange: String,
    dead_letter_queue: String,
    _lock: BrokerLock,
}

impl Fixture {
    async fn new() -> Fixture {
        support::logs();
        let lock = BrokerLock::shared().await;
        let mut broker = Broker::connect().await;
        let queue = unique("inputs");
        let dead_letter_exchange = unique("quarantine");
        let dead_letter_queue = unique("quarantined");
        broker.queue(&queue).await;
        broker
            .exchange(&dead_letter_exchange, ExchangeKind::Fanout)
            .await;
        broker.queue(&dead_letter_queue).await;
        broker
            .bind(&dead_letter_queue, &dead_letter_exchange, "")
            .await;
        Fixture {
            broker,
            queue,
            dead_letter_exchange,
            dead_letter_queue,
            _lock: lock,
        }
    }

    fn config(&self) -> AmqpSourceConfig {
        let mut config = AmqpSourceConfig::new(amqp_url(), &self.queue, &self.dead_letter_exchange);
        config.requeue_delay_ms = 100;
        config
    }

    async fn source(&self) -> AmqpSource {
        AmqpSource::connect("lcs-north".to_owned(), &self.config())
            .await
            .expect("the source connects")
    }

    async fn publish(&self, message_id: &str, body: &str) {
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_message_id(message_id.into());
        self.broker
            .publish(&self.queue, body.as_bytes(), properties)
            .await;
    }
}

async fn next(source: &mut AmqpSource) -> SourceInput {
    tokio::time::timeout(PROMPTLY, source.next())
        .await
        .expect("an input arrives")
        .expect("the source is open")
}

fn committed() -> InputOutcome {
    InputOutcome::Committed {
        event_ids: vec![Uuid::now_v7()],
        duplicate: false,
    }
}

fn unavailable() -> InputOutcome {
    InputOutcome::Unavailable {
        reason: "store unavailable".to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yields_a_published_message_with_body_content_type_and_message_id() {
    let f = Fixture::new().await;
    let mut source = f.source().await;
    assert_eq!(source.state(), ConnectionState::Connected);
    assert!(source.status_handle().connected());
    f.publish("msg-1", r#"{"referral":"canary"}"#).await;

    let input = next(&mut source).await;
    assert_eq!(input.raw.source_id, "lcs-north");
    assert_eq!(input.raw.body.as_ref(), br#"{"referral":"canary"}"#);
    assert_eq!(input.raw.content_type.as_deref(), Some("application/json"));
    assert_eq!(input.raw.message_id.as_deref(), Some("msg-1"));
    input.acknowledger.settle(&committed()).await;

    source.close().await;
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_id_falls_back_to_the_event_id_header_and_then_to_none() {
    let f = Fixture::new().await;
    let mut source = f.source().await;
    let mut headers = FieldTable::default();
    headers.insert(
        EVENT_ID_HEADER.into(),
        AMQPValue::LongString("0190a6f2-event".into()),
    );
    f.broker
        .publish(
            &f.queue,
            b"{}",
            BasicProperties::default().with_headers(headers),
        )
        .await;
    f.broker
        .publish(&f.queue, b"{}", BasicProperties::default())
        .await;

    let with_header = next(&mut source).await;
    assert_eq!(
        with_header.raw.message_id.as_deref(),
        Some("0190a6f2-event")
    );
    assert_eq!(with_header.raw.content_type, None);
    let bare = next(&mut source).await;
    assert_eq!(bare.raw.message_id, None);
    with_header.acknowledger.settle(&committed()).await;
    bare.acknowledger.settle(&committed()).await;

    source.close().await;
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_input_is_acked_and_leaves_the_queue() {
    let f = Fixture::new().await;
    let mut source = f.source().await;
    f.publish("msg-ack", "{}").await;

    let input = next(&mut source).await;
    input.acknowledger.settle(&committed()).await;
    // Closing hands every unsettled input back to the queue: only an acked one stays gone.
    source.close().await;
    assert_eq!(source.state(), ConnectionState::Closed);

    assert!(
        !eventually(Duration::from_secs(2), || async {
            f.broker.ready(&f.queue).await > 0
        })
        .await
    );
    assert_eq!(f.broker.ready(&f.queue).await, 0);
    assert_eq!(f.broker.ready(&f.dead_letter_queue).await, 0);
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsettled_input_goes_back_to_the_queue_when_the_source_closes() {
    let f = Fixture::new().await;
    let mut source = f.source().await;
    f.publish("msg-unsettled", "{}").await;
    let input = next(&mut source).await;

    source.close().await;
    assert!(eventually(PROMPTLY, || async { f.broker.ready(&f.queue).await == 1 }).await);
    // Settling after close fails quietly: the broker already has it back.
    input.acknowledger.settle(&committed()).await;
    assert_eq!(f.broker.ready(&f.queue).await, 1);
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_input_is_dead_lettered_with_the_reasons_then_acked() {
    let f = Fixture::new().await;
    let mut source = f.source().await;
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_message_id("msg-bad".into())
        .with_app_id("lcs".into());
    f.broker
        .publish(&f.queue, br#"{"bad":"canary"}"#, properties)
        .await;

    let input = next(&mut source).await;
    let quarantine_id = Uuid::now_v7();
    input
        .acknowledger
        .settle(&InputOutcome::Quarantined {
            quarantine_id,
            step: "validate".to_owned(),
            problems: vec![
                FieldProblem::new("occurred_at", "must not be in the future"),
                FieldProblem::new("subject.identifiers", "at least one is required"),
            ],
        })
        .await;

    let copy = f
        .broker
        .get(&f.dead_letter_queue)
        .await
        .expect("the copy is on the dead-letter queue");
    assert_eq!(copy.delivery.data, br#"{"bad":"canary"}"#);
    let props = &copy.delivery.properties;
    assert_eq!(props.message_id().as_ref().unwrap().as_str(), "msg-bad");
    assert_eq!(props.app_id().as_ref().unwrap().as_str(), "lcs");
    assert_eq!(
        props.content_type().as_ref().unwrap().as_str(),
        "application/json"
    );
    assert_eq!(props.delivery_mode(), &Some(2));
    let headers = props.headers().clone().unwrap();
    assert_eq!(
        string_header(&headers, QUARANTINE_ID_HEADER),
        Some(quarantine_id.to_string())
    );
    assert_eq!(
        string_header(&headers, QUARANTINE_STEP_HEADER),
        Some("validate".to_owned())
    );
    assert_eq!(
        string_header(&headers, QUARANTINE_REASON_HEADER),
        Some(
            "occurred_at: must not be in the future; subject.identifiers: at least one is required"
                .to_owned()
        )
    );

    source.close().await;
    assert!(
        !eventually(Duration::from_secs(2), || async {
            f.broker.ready(&f.queue).await > 0
        })
        .await
    );
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_input_is_requeued_when_the_dead_letter_exchange_routes_nowhere() {
    let mut f = Fixture::new().await;
    let unbound = unique("quarantine-unbound");
    f.broker.exchange(&unbound, ExchangeKind::Fanout).await;
    let mut config = f.config();
    config.dead_letter_exchange = unbound;
    let mut source = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .unwrap();
    f.publish("msg-nowhere", "{}").await;

    let input = next(&mut source).await;
    input
        .acknowledger
        .settle(&InputOutcome::Quarantined {
            quarantine_id: Uuid::now_v7(),
            step: "normalise".to_owned(),
            problems: vec![FieldProblem::new("body", "is not JSON")],
        })
        .await;

    // Not acknowledged, so not lost: offered again.
    let again = next(&mut source).await;
    assert_eq!(again.raw.message_id.as_deref(), Some("msg-nowhere"));
    again.acknowledger.settle(&committed()).await;
    source.close().await;
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_input_is_requeued_and_redelivered() {
    let f = Fixture::new().await;
    let mut source = f.source().await;
    f.publish("msg-retry", r#"{"n":1}"#).await;

    let first = next(&mut source).await;
    first.acknowledger.settle(&unavailable()).await;
    let again = next(&mut source).await;
    assert_eq!(again.raw.message_id.as_deref(), Some("msg-retry"));
    assert_eq!(again.raw.body.as_ref(), br#"{"n":1}"#);

    // Hand it back once more and look at it from outside: the broker marks it redelivered.
    again.acknowledger.settle(&unavailable()).await;
    source.close().await;
    let seen = f.broker.get(&f.queue).await.expect("still on the queue");
    assert!(seen.delivery.redelivered);
    assert_eq!(
        seen.delivery
            .properties
            .message_id()
            .as_ref()
            .unwrap()
            .as_str(),
        "msg-retry"
    );
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_bounds_the_inputs_in_hand() {
    let f = Fixture::new().await;
    let mut config = f.config();
    config.prefetch = 2;
    let mut source = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .unwrap();
    for i in 0..5 {
        f.publish(&format!("msg-{i}"), "{}").await;
    }

    let first = next(&mut source).await;
    let second = next(&mut source).await;
    // Two unsettled inputs in hand: the broker sends no third until one is settled. (A count,
    // not a speed: the timeout only bounds how long the test looks.)
    let third = tokio::time::timeout(Duration::from_millis(500), source.next()).await;
    assert!(third.is_err(), "a third input arrived past a prefetch of 2");
    assert_eq!(f.broker.ready(&f.queue).await, 3);

    first.acknowledger.settle(&committed()).await;
    let third = next(&mut source).await;
    assert_eq!(third.raw.message_id.as_deref(), Some("msg-2"));
    for input in [second, third] {
        input.acknowledger.settle(&committed()).await;
    }
    source.close().await;
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_returns_none_once_the_shutdown_token_is_cancelled() {
    let f = Fixture::new().await;
    let mut source = f.source().await;
    let token = source.shutdown_token();
    let status = source.status_handle();
    let waiting = tokio::spawn(async move {
        let next = source.next().await;
        (next.is_none(), source)
    });
    token.cancel();
    let (ended, _source) = tokio::time::timeout(PROMPTLY, waiting)
        .await
        .expect("next returns")
        .unwrap();
    assert!(ended);
    assert_eq!(status.state(), ConnectionState::Closed);
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_naming_the_queue_when_it_does_not_exist() {
    let f = Fixture::new().await;
    let mut config = f.config();
    config.queue = unique("missing");
    let err = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .unwrap_err();
    assert_eq!(err.key(), Some("queue"), "{err}");
    assert!(err.to_string().contains("NOT_FOUND"), "{err}");
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_naming_the_dead_letter_exchange_when_it_does_not_exist() {
    let f = Fixture::new().await;
    let mut config = f.config();
    config.dead_letter_exchange = unique("missing");
    let err = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .unwrap_err();
    assert_eq!(err.key(), Some("dead_letter_exchange"), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    f.broker.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_naming_the_url_when_the_credentials_are_wrong() {
    let _lock = BrokerLock::shared().await;
    let url = amqp_url().replace("guest:guest@", "guest:wrong-password@");
    let config = AmqpSourceConfig::new(url, unique("q"), unique("x"));
    let err = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .unwrap_err();
    assert_eq!(err.key(), Some("connection.url"), "{err}");
    assert!(!err.to_string().contains("wrong-password"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declares_its_topology_with_dead_letter_arguments_idempotently() {
    let lock = BrokerLock::shared().await;
    let mut broker = Broker::connect().await;
    let queue = unique("declared-inputs");
    let rejected_exchange = unique("rejected");
    let rejected_queue = unique("rejected-inputs");
    let quarantine_exchange = unique("quarantine");
    let quarantine_queue = unique("quarantined");
    broker.forget_later(
        &[&queue, &rejected_queue, &quarantine_queue],
        &[&rejected_exchange, &quarantine_exchange],
    );
    let mut config = AmqpSourceConfig::new(amqp_url(), &queue, &quarantine_exchange);
    config.declare.exchanges = vec![
        ExchangeConfig {
            name: rejected_exchange.clone(),
            kind: ExchangeKindConfig::Direct,
            durable: true,
        },
        ExchangeConfig {
            name: quarantine_exchange.clone(),
            kind: ExchangeKindConfig::Fanout,
            durable: true,
        },
    ];
    config.declare.queues = vec![
        QueueConfig {
            name: queue.clone(),
            durable: true,
            dead_letter_exchange: Some(rejected_exchange.clone()),
            dead_letter_routing_key: Some("rejected".to_owned()),
        },
        QueueConfig {
            name: rejected_queue.clone(),
            durable: true,
            dead_letter_exchange: None,
            dead_letter_routing_key: None,
        },
        QueueConfig {
            name: quarantine_queue.clone(),
            durable: true,
            dead_letter_exchange: None,
            dead_letter_routing_key: None,
        },
    ];
    config.declare.bindings = vec![
        BindingConfig {
            queue: rejected_queue.clone(),
            exchange: rejected_exchange.clone(),
            routing_key: "rejected".to_owned(),
        },
        BindingConfig {
            queue: quarantine_queue.clone(),
            exchange: quarantine_exchange.clone(),
            routing_key: String::new(),
        },
    ];

    let mut first = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .expect("declares and connects");
    first.close().await;
    let mut source = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .expect("declaring the same topology again is harmless");
    source.close().await;

    // The queue's x-dead-letter-* arguments are in force: a message the broker rejects
    // outright goes to the declared exchange with the declared routing key.
    broker
        .publish(&queue, b"{}", BasicProperties::default())
        .await;
    let message = broker.get_unacked(&queue).await;
    message
        .reject(BasicRejectOptions { requeue: false })
        .await
        .unwrap();
    assert!(
        eventually(PROMPTLY, || async {
            broker.ready(&rejected_queue).await == 1
        })
        .await
    );

    broker.cleanup().await;
    drop(lock);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_cancelled_by_the_broker_is_restarted_once_its_queue_is_back() {
    let mut f = Fixture::new().await;
    let mut source = f.source().await;
    let status = source.status_handle();
    f.publish("msg-before", "{}").await;
    let before = next(&mut source).await;
    before.acknowledger.settle(&committed()).await;

    // Deleting the queue cancels the consumer; the source keeps trying to consume again.
    f.broker
        .channel
        .queue_delete(
            f.queue.as_str().into(),
            lapin::options::QueueDeleteOptions::default(),
        )
        .await
        .unwrap();
    let waiting = tokio::spawn(async move {
        let input = source.next().await;
        (input, source)
    });
    assert!(
        eventually(PROMPTLY, || async {
            status.state() == ConnectionState::Reconnecting
        })
        .await
    );
    let queue = f.queue.clone();
    f.broker.queue(&queue).await;
    f.publish("msg-after", "{}").await;

    let (input, mut source) = tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("the source consumes again")
        .unwrap();
    let input = input.expect("the source is open");
    assert_eq!(input.raw.message_id.as_deref(), Some("msg-after"));
    assert_eq!(status.state(), ConnectionState::Connected);
    input.acknowledger.settle(&committed()).await;
    source.close().await;
    f.broker.cleanup().await;
}
