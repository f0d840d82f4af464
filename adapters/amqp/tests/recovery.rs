//! The AMQP source and sink across a RabbitMQ restart (`rabbitmqctl stop_app` / `start_app` on
//! the local broker; the tests need to be allowed to run `rabbitmqctl`).
//!
//! Every broker-restart test lives in this binary. Each takes the broker lock *exclusive*, so
//! no other test (in this crate, or any suite that takes the same lock) talks to RabbitMQ while
//! it is down, and a static mutex so the restarts here never overlap. Set
//! `THROUGHLINE_SKIP_BROKER_RESTART=1` to skip them, e.g. against a broker you may not restart.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use lapin::{BasicProperties, ExchangeKind};
use support::{Broker, BrokerLock, amqp_url, eventually, notification, unique};
use throughline_adapter_amqp::{AmqpSink, AmqpSinkConfig, AmqpSource, AmqpSourceConfig};
use throughline_adapter_amqp::{ConnectionState, StatusHandle};
use throughline_contracts::adapter::{DeliveryOutcome, InputOutcome, Sink, Source};
use tokio::sync::Mutex;
use uuid::Uuid;

/// One broker restart at a time within this binary.
static RESTARTS: Mutex<()> = Mutex::const_new(());

/// How long the broker and lapin get to come back; generous, since this bounds a wait and
/// measures nothing.
const RECOVERY: Duration = Duration::from_secs(90);

fn skip() -> bool {
    let skip = std::env::var("THROUGHLINE_SKIP_BROKER_RESTART").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("THROUGHLINE_SKIP_BROKER_RESTART=1: broker-restart test skipped");
    }
    skip
}

fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run rabbitmqctl {args:?}: {e}"));
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The broker's application is stopped while this exists; dropping it (also on a failed
/// assertion) starts it again, so a failing test never leaves the broker down.
struct StoppedBroker {
    started: bool,
}

impl StoppedBroker {
    async fn stop() -> StoppedBroker {
        tokio::task::spawn_blocking(|| rabbitmqctl(&["stop_app"]))
            .await
            .unwrap();
        StoppedBroker { started: false }
    }

    async fn start(mut self) {
        tokio::task::spawn_blocking(|| {
            rabbitmqctl(&["start_app"]);
            rabbitmqctl(&["await_startup"]);
        })
        .await
        .unwrap();
        self.started = true;
    }
}

impl Drop for StoppedBroker {
    fn drop(&mut self) {
        if !self.started {
            let _ = Command::new("rabbitmqctl").arg("start_app").status();
            let _ = Command::new("rabbitmqctl").arg("await_startup").status();
        }
    }
}

async fn until_not_connected(status: &StatusHandle) {
    let noticed = eventually(Duration::from_secs(30), || async {
        status.state() != ConnectionState::Connected
    })
    .await;
    assert!(noticed, "the adapter never noticed the broker stopping");
    assert_eq!(status.state(), ConnectionState::Reconnecting);
}

fn committed() -> InputOutcome {
    InputOutcome::Committed {
        event_ids: vec![Uuid::now_v7()],
        duplicate: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_yields_every_message_across_a_broker_restart_and_the_queue_ends_empty() {
    support::logs();
    if skip() {
        return;
    }
    let _serial = RESTARTS.lock().await;
    let _lock = BrokerLock::exclusive().await;
    let mut broker = Broker::connect().await;
    let queue = unique("restart-inputs");
    let quarantine = unique("restart-quarantine");
    broker.queue(&queue).await;
    broker.exchange(&quarantine, ExchangeKind::Fanout).await;
    let published: BTreeSet<String> = (0..20).map(|i| format!("msg-{i:02}")).collect();
    for id in &published {
        let properties = BasicProperties::default().with_message_id(id.as_str().into());
        broker.publish(&queue, b"{}", properties).await;
    }
    let mut config = AmqpSourceConfig::new(amqp_url(), &queue, &quarantine);
    config.prefetch = 5;
    config.requeue_delay_ms = 100;
    let mut source = AmqpSource::connect("lcs-north".to_owned(), &config)
        .await
        .unwrap();
    let status = source.status_handle();
    let mut seen = BTreeSet::new();

    // Some inputs settled before the restart, two still in hand when it happens.
    for _ in 0..5 {
        let input = source.next().await.unwrap();
        seen.insert(input.raw.message_id.clone().unwrap());
        input.acknowledger.settle(&committed()).await;
    }
    let held = [source.next().await.unwrap(), source.next().await.unwrap()];
    for input in &held {
        seen.insert(input.raw.message_id.clone().unwrap());
    }

    let stopped = StoppedBroker::stop().await;
    until_not_connected(&status).await;
    // Their channel is gone: settling fails quietly, and the broker will redeliver them.
    for input in held {
        input.acknowledger.settle(&committed()).await;
    }
    stopped.start().await;

    while seen.len() < published.len() {
        let input = tokio::time::timeout(RECOVERY, source.next())
            .await
            .expect("inputs keep coming after the restart")
            .expect("the source stays open");
        seen.insert(input.raw.message_id.clone().unwrap());
        input.acknowledger.settle(&committed()).await;
    }
    // Redeliveries of inputs that were in hand at the restart may follow; settle them too.
    while let Ok(Some(input)) = tokio::time::timeout(Duration::from_secs(3), source.next()).await {
        input.acknowledger.settle(&committed()).await;
    }
    assert_eq!(seen, published);
    assert_eq!(status.state(), ConnectionState::Connected);
    source.close().await;

    // The operator connection did not survive the restart; open a new one to look.
    let mut after = Broker::connect().await;
    after.forget_later(&[&queue], &[&quarantine]);
    assert!(
        eventually(Duration::from_secs(5), || async {
            after.ready(&queue).await == 0
        })
        .await,
        "every input was acknowledged in the end"
    );
    after.cleanup().await;
    drop(broker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_is_retryable_while_the_broker_is_down_and_delivers_after_it_restarts() {
    support::logs();
    if skip() {
        return;
    }
    let _serial = RESTARTS.lock().await;
    let _lock = BrokerLock::exclusive().await;
    let mut broker = Broker::connect().await;
    let exchange = unique("restart-agency");
    let queue = unique("restart-inbox");
    broker.exchange(&exchange, ExchangeKind::Direct).await;
    broker.queue(&queue).await;
    broker.bind(&queue, &exchange, "notifications").await;
    let mut config = AmqpSinkConfig::new(amqp_url(), &exchange, "notifications");
    config.confirm_timeout_ms = 3_000;
    let sink = AmqpSink::connect(&config).await.unwrap();
    let status = sink.status_handle();
    assert_eq!(
        sink.deliver(&notification()).await,
        DeliveryOutcome::Delivered
    );

    let stopped = StoppedBroker::stop().await;
    until_not_connected(&status).await;
    match sink.deliver(&notification()).await {
        DeliveryOutcome::Retryable { reason, .. } => {
            assert!(reason.contains("re-established"), "{reason}")
        }
        other => panic!("expected retryable during the outage, got {other:?}"),
    }
    stopped.start().await;

    let after_restart = notification();
    let delivered = eventually(RECOVERY, || async {
        sink.deliver(&after_restart).await == DeliveryOutcome::Delivered
    })
    .await;
    assert!(delivered, "the sink never delivered after the restart");
    assert_eq!(status.state(), ConnectionState::Connected);
    sink.close().await;

    let mut after = Broker::connect().await;
    after.forget_later(&[&queue], &[&exchange]);
    let mut ids = Vec::new();
    while let Some(message) = after.get(&queue).await {
        let id = message.delivery.properties.message_id().clone().unwrap();
        ids.push(id.to_string());
    }
    assert!(ids.contains(&after_restart.idempotency_key), "{ids:?}");
    after.cleanup().await;
    drop(broker);
}

/// lapin gives up recovering after about 70 s of retries and then leaves the connection
/// "reconnecting" for good; the adapters notice after `LAPIN_RECOVERY_GRACE` (120 s) and open
/// new connections themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: keeps the broker down for 150 s; run with --ignored"]
async fn source_and_sink_reconnect_by_themselves_after_lapin_gives_up() {
    support::logs();
    if skip() {
        return;
    }
    let _serial = RESTARTS.lock().await;
    let _lock = BrokerLock::exclusive().await;
    let mut broker = Broker::connect().await;
    let queue = unique("long-outage-inputs");
    let quarantine = unique("long-outage-quarantine");
    broker.queue(&queue).await;
    broker.exchange(&quarantine, ExchangeKind::Fanout).await;
    let mut source = AmqpSource::connect(
        "lcs-north".to_owned(),
        &AmqpSourceConfig::new(amqp_url(), &queue, &quarantine),
    )
    .await
    .unwrap();
    // The sink publishes to the source's queue through the default exchange.
    let mut sink_config = AmqpSinkConfig::new(amqp_url(), "", &queue);
    sink_config.confirm_timeout_ms = 3_000;
    let sink = AmqpSink::connect(&sink_config).await.unwrap();
    let source_status = source.status_handle();
    let sink_status = sink.status_handle();
    let consuming = tokio::spawn(async move {
        let input = source.next().await;
        (input, source)
    });

    let stopped = StoppedBroker::stop().await;
    until_not_connected(&source_status).await;
    until_not_connected(&sink_status).await;
    assert!(matches!(
        sink.deliver(&notification()).await,
        DeliveryOutcome::Retryable { .. }
    ));
    tokio::time::sleep(Duration::from_secs(150)).await;
    stopped.start().await;

    // The sink reconnects while idle, so the first delivery after the outage goes through.
    let reconnected = eventually(Duration::from_secs(180), || async {
        sink_status.connected()
    })
    .await;
    assert!(reconnected, "the sink never reconnected");
    let sent = notification();
    assert_eq!(sink.deliver(&sent).await, DeliveryOutcome::Delivered);
    let (input, mut source) = tokio::time::timeout(Duration::from_secs(180), consuming)
        .await
        .expect("the source reconnected")
        .unwrap();
    let input = input.expect("the source is open");
    assert_eq!(
        input.raw.message_id.as_deref(),
        Some(sent.idempotency_key.as_str())
    );
    input.acknowledger.settle(&committed()).await;
    assert_eq!(source_status.state(), ConnectionState::Connected);
    assert_eq!(sink_status.state(), ConnectionState::Connected);
    source.close().await;
    sink.close().await;

    let mut after = Broker::connect().await;
    after.forget_later(&[&queue], &[&quarantine]);
    after.cleanup().await;
    drop(broker);
}
