//! Consuming agency inputs from a queue, and settling each one only when the hub says what
//! became of it.
//!
//! The source consumes with manual acknowledgement and a prefetch, so at most `prefetch` inputs
//! are in the hub's hands at once and none is acknowledged before the hub has committed it or
//! kept it in quarantine:
//! - committed: `basic.ack`;
//! - quarantined: a copy is published, with confirms, to the configured dead-letter exchange
//!   with `x-throughline-*` headers saying why, and the input is acknowledged only once the copy
//!   is confirmed. If the copy cannot be placed the input is requeued instead: it is already in
//!   the hub's quarantine, and the redelivery is deduplicated there;
//! - the hub unavailable: `basic.nack` with requeue, after a pause so a store outage does not
//!   become a hot redelivery loop.
//!
//! Broker restarts are expected. lapin recovers the connection and restarts the consumer by
//! itself, and the source keeps yielding inputs as if nothing happened. Inputs handed over
//! before the restart can no longer be settled (their channel is gone; lapin 4.12.3 reports the
//! ack as failed): that is logged and is otherwise harmless, because RabbitMQ redelivers every
//! unacknowledged message and the hub deduplicates by message id and event id. If lapin cannot
//! recover, the source opens a new connection itself, with backoff, for as long as it takes.
//! [`Source::next`] returns `None` only after [`AmqpSource::close`] or the shutdown token.
//!
//! Dead-letter copies are published on a connection of their own, as RabbitMQ recommends for
//! publishers and consumers: flow control on a publishing connection must not hold up the
//! consumer's acknowledgements.
//!
//! Logs carry the source id, message ids and error kinds, never a body.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::Retryable;
use bytes::Bytes;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::BasicQosOptions;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions};
use lapin::types::FieldTable;
use lapin::{Acker, BasicProperties, Channel, Connection, Consumer};
use throughline_contracts::adapter::{Acknowledger, InputOutcome, RawInput, Source, SourceInput};
use tokio_util::sync::CancellationToken;

use crate::config::AmqpSourceConfig;
use crate::connection::{Connector, release};
use crate::error::{AmqpError, describe};
use crate::headers::{input_message_id, quarantine_properties};
use crate::publisher::{Published, Publisher, reconnect_backoff};
use crate::status::{ConnectionState, Health, LAPIN_RECOVERY_GRACE, StatusHandle, health};
use crate::topology::{TopologyConfig, short};

/// How long a dead-letter copy may wait for the broker's confirm.
const DEAD_LETTER_CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one ack or nack may take before the source gives up on it (the broker then
/// redelivers the input).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a waiting [`Source::next`] checks on lapin's recovery.
const WATCHDOG_PERIOD: Duration = Duration::from_secs(1);

/// Consumes agency inputs from one queue. See the [module documentation](self).
pub struct AmqpSource {
    source_id: String,
    queue: String,
    prefetch: u16,
    topology: TopologyConfig,
    connector: Connector,
    session: Option<Session>,
    settlement: Arc<Settlement>,
    status: StatusHandle,
    shutdown: CancellationToken,
}

/// One connection with its consuming channel.
struct Session {
    connection: Connection,
    channel: Channel,
    consumer: Consumer,
    recovering_since: Option<Instant>,
}

/// What every acknowledger needs, shared.
struct Settlement {
    source_id: String,
    dead_letters: Publisher,
    dead_letter_exchange: String,
    dead_letter_routing_key: String,
    requeue_delay: Duration,
}

impl std::fmt::Debug for AmqpSource {
    /// Never prints the connection URL.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpSource")
            .field("source_id", &self.source_id)
            .field("queue", &self.queue)
            .field("prefetch", &self.prefetch)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl AmqpSource {
    /// Validates `config`, connects (with automatic recovery), declares the configured
    /// topology, sets the prefetch and starts consuming the queue without auto-ack; then
    /// connects the dead-letter publisher and checks that the dead-letter exchange exists.
    ///
    /// A missing queue or dead-letter exchange is an error here, naming its config key.
    pub async fn connect(
        source_id: String,
        config: &AmqpSourceConfig,
    ) -> Result<AmqpSource, AmqpError> {
        config.validate()?;
        let connector = Connector::new(&config.connection, format!("source {source_id}"))?;
        let dead_letter_connector = Connector::new(
            &config.connection,
            format!("source {source_id} dead letters"),
        )?;
        let session =
            open_session(&connector, &config.queue, config.prefetch, &config.declare).await?;
        let dead_letters = match Publisher::connect(
            dead_letter_connector,
            TopologyConfig::default(),
            DEAD_LETTER_CONFIRM_TIMEOUT,
        )
        .await
        {
            Ok(publisher) => publisher,
            Err(e) => {
                release(session.connection).await;
                return Err(e);
            }
        };
        if let Err(e) = dead_letters
            .check_exchange("dead_letter_exchange", &config.dead_letter_exchange)
            .await
        {
            dead_letters.close().await;
            release(session.connection).await;
            return Err(e);
        }
        let status = StatusHandle::default();
        status.watch(&session.connection, &session.channel);
        Ok(AmqpSource {
            settlement: Arc::new(Settlement {
                source_id: source_id.clone(),
                dead_letters,
                dead_letter_exchange: config.dead_letter_exchange.clone(),
                dead_letter_routing_key: config.dead_letter_routing_key().to_owned(),
                requeue_delay: config.requeue_delay(),
            }),
            source_id,
            queue: config.queue.clone(),
            prefetch: config.prefetch,
            topology: config.declare.clone(),
            connector,
            session: Some(session),
            status,
            shutdown: CancellationToken::new(),
        })
    }

    /// The current state of the consuming connection.
    pub fn state(&self) -> ConnectionState {
        self.status.state()
    }

    /// A cheap handle on the connection state, for `/readyz` and metrics.
    pub fn status_handle(&self) -> StatusHandle {
        self.status.clone()
    }

    /// A token that shuts the source down when cancelled: a waiting [`Source::next`] then
    /// closes the connections and returns `None`.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops consuming and closes both connections. Settle the inputs in hand first: the broker
    /// redelivers any that are still unsettled, and they can no longer be settled afterwards.
    pub async fn close(&mut self) {
        self.shutdown.cancel();
        self.finish().await;
    }

    async fn finish(&mut self) {
        if self.status.is_closed() {
            return;
        }
        self.status.set_closed();
        if let Some(session) = self.session.take() {
            if session.channel.status().connected() {
                let _ = tokio::time::timeout(
                    Duration::from_secs(5),
                    session
                        .channel
                        .basic_cancel(session.consumer.tag(), BasicCancelOptions::default()),
                )
                .await;
            }
            release(session.connection).await;
        }
        self.settlement.dead_letters.close().await;
        tracing::info!(source_id = %self.source_id, "AMQP source closed");
    }

    /// Gives up on the current session; the next turn of [`Source::next`] opens a new one.
    async fn drop_session(&mut self) {
        self.status.set_replacing();
        if let Some(session) = self.session.take() {
            release(session.connection).await;
        }
    }

    /// Opens a new session with backoff until it works; `None` if shut down meanwhile.
    async fn reconnect(&mut self) -> Option<Session> {
        self.status.set_replacing();
        let source_id = self.source_id.as_str();
        let attempt = || open_session(&self.connector, &self.queue, self.prefetch, &self.topology);
        let retried =
            attempt
                .retry(reconnect_backoff())
                .notify(|error: &AmqpError, retry_in: Duration| {
                    tracing::warn!(
                        source_id = %source_id,
                        error = %error,
                        retry_in_ms = retry_in.as_millis() as u64,
                        "AMQP source could not reconnect"
                    );
                });
        let session = tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => return None,
            session = retried => session.ok()?,
        };
        tracing::info!(source_id = %self.source_id, "AMQP source reconnected");
        self.status.watch(&session.connection, &session.channel);
        Some(session)
    }

    /// Turns a delivery into an input and the acknowledger that settles it.
    fn input(&self, delivery: Delivery) -> SourceInput {
        let Delivery {
            data,
            properties,
            acker,
            redelivered,
            ..
        } = delivery;
        let body = Bytes::from(data);
        let message_id = input_message_id(&properties);
        tracing::debug!(
            source_id = %self.source_id,
            message_id = message_id.as_deref().unwrap_or("-"),
            redelivered,
            bytes = body.len(),
            "AMQP input received"
        );
        let raw = RawInput {
            source_id: self.source_id.clone(),
            content_type: properties.content_type().as_ref().map(|c| c.to_string()),
            body: body.clone(),
            received_at: chrono::Utc::now(),
            message_id: message_id.clone(),
        };
        SourceInput {
            raw,
            acknowledger: Box::new(AmqpAcknowledger {
                acker,
                body,
                properties,
                message_id,
                settlement: self.settlement.clone(),
            }),
        }
    }
}

impl Drop for AmqpSource {
    /// Stops the dead-letter publisher's background reconnect, if one is running: inputs still
    /// in hand cannot be settled once the source is gone, and the broker redelivers them.
    fn drop(&mut self) {
        self.settlement.dead_letters.stop();
    }
}

/// What woke a waiting [`Source::next`]. It lives for one turn of the loop, on the stack, so
/// the size of a delivery does not matter.
#[allow(clippy::large_enum_variant)]
enum Wake {
    Shutdown,
    Delivery(Option<lapin::Result<Delivery>>),
    Watchdog,
}

#[async_trait]
impl Source for AmqpSource {
    async fn next(&mut self) -> Option<SourceInput> {
        loop {
            if self.shutdown.is_cancelled() {
                self.finish().await;
                return None;
            }
            let Some(session) = self.session.as_mut() else {
                self.session = self.reconnect().await;
                continue;
            };
            let wake = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => Wake::Shutdown,
                delivery = session.consumer.next() => Wake::Delivery(delivery),
                _ = tokio::time::sleep(WATCHDOG_PERIOD) => Wake::Watchdog,
            };
            match wake {
                Wake::Shutdown => continue,
                Wake::Delivery(Some(Ok(delivery))) => {
                    session.recovering_since = None;
                    return Some(self.input(delivery));
                }
                Wake::Delivery(Some(Err(error))) => {
                    tracing::warn!(
                        source_id = %self.source_id,
                        error = %describe(&error),
                        "AMQP consumer interrupted; waiting for the connection to recover"
                    );
                    let channel = session.channel.clone();
                    let recovered = tokio::select! {
                        biased;
                        _ = self.shutdown.cancelled() => continue,
                        recovered = tokio::time::timeout(
                            LAPIN_RECOVERY_GRACE,
                            channel.wait_for_recovery(error),
                        ) => recovered,
                    };
                    match recovered {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => {
                            tracing::warn!(
                                source_id = %self.source_id,
                                error = %describe(&error),
                                "AMQP consumer cannot be recovered; reconnecting"
                            );
                            self.drop_session().await;
                        }
                        Err(_) => {
                            tracing::warn!(
                                source_id = %self.source_id,
                                "AMQP connection not recovered in time; reconnecting"
                            );
                            self.drop_session().await;
                        }
                    }
                }
                Wake::Delivery(None) => {
                    tracing::warn!(
                        source_id = %self.source_id,
                        "AMQP consumer was cancelled (queue deleted or channel closed); reconnecting"
                    );
                    self.drop_session().await;
                }
                Wake::Watchdog => {
                    let was_recovering = session.recovering_since.is_some();
                    match health(&session.connection, &mut session.recovering_since) {
                        Health::Healthy => {}
                        Health::Recovering if !was_recovering => {
                            tracing::warn!(
                                source_id = %self.source_id,
                                "AMQP connection lost; lapin is reconnecting"
                            );
                        }
                        Health::Recovering => {}
                        Health::Dead => {
                            tracing::warn!(
                                source_id = %self.source_id,
                                "AMQP connection failed or not recovered in time; reconnecting"
                            );
                            self.drop_session().await;
                        }
                    }
                }
            }
        }
    }
}

/// Connects, declares the topology on the consuming channel (so lapin replays it on
/// recovery), sets the prefetch and starts consuming.
async fn open_session(
    connector: &Connector,
    queue: &str,
    prefetch: u16,
    topology: &TopologyConfig,
) -> Result<Session, AmqpError> {
    let connection = connector.connect().await?;
    match consume(&connection, queue, prefetch, topology).await {
        Ok((channel, consumer)) => Ok(Session {
            connection,
            channel,
            consumer,
            recovering_since: None,
        }),
        Err(e) => {
            release(connection).await;
            Err(e)
        }
    }
}

async fn consume(
    connection: &Connection,
    queue: &str,
    prefetch: u16,
    topology: &TopologyConfig,
) -> Result<(Channel, Consumer), AmqpError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| AmqpError::broker("channel.open", &e))?;
    topology.declare(&channel, "declare").await?;
    channel
        .basic_qos(prefetch, BasicQosOptions { global: false })
        .await
        .map_err(|e| AmqpError::broker("basic.qos", &e))?;
    // A tag of our own: lapin reuses it when it restarts the consumer after a recovery.
    let tag = format!("throughline-{}", uuid::Uuid::now_v7().simple());
    let consumer = channel
        .basic_consume(
            short(queue),
            short(&tag),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| AmqpError::Missing {
            key: "queue".to_owned(),
            reason: format!(
                "cannot consume from queue `{queue}` ({}); declare it under `declare.queues` or \
                 create it first",
                describe(&e)
            ),
        })?;
    Ok((channel, consumer))
}

/// Settles one input with the broker according to the hub's outcome.
struct AmqpAcknowledger {
    acker: Acker,
    body: Bytes,
    properties: BasicProperties,
    message_id: Option<String>,
    settlement: Arc<Settlement>,
}

#[async_trait]
impl Acknowledger for AmqpAcknowledger {
    async fn settle(self: Box<Self>, outcome: &InputOutcome) {
        match outcome {
            InputOutcome::Committed { .. } => self.ack().await,
            InputOutcome::Quarantined {
                quarantine_id,
                step,
                problems,
            } => {
                let properties =
                    quarantine_properties(&self.properties, *quarantine_id, step, problems);
                let settlement = &self.settlement;
                let published = settlement
                    .dead_letters
                    .publish(
                        &settlement.dead_letter_exchange,
                        &settlement.dead_letter_routing_key,
                        &self.body,
                        properties,
                    )
                    .await;
                let problem = match published {
                    Ok(Published::Confirmed) => return self.ack().await,
                    Ok(Published::Returned {
                        reply_code,
                        reply_text,
                    }) => format!(
                        "dead-letter exchange returned it ({reply_code} {reply_text}): no queue \
                         bound for the routing key"
                    ),
                    Ok(Published::Nacked) => "broker nacked the dead-letter copy".to_owned(),
                    Err(failure) => failure.reason(),
                };
                tracing::warn!(
                    source_id = %settlement.source_id,
                    message_id = self.message_id.as_deref().unwrap_or("-"),
                    %quarantine_id,
                    reason = %problem,
                    "could not dead-letter a quarantined input; requeueing it"
                );
                self.requeue().await;
            }
            InputOutcome::Unavailable { .. } => self.requeue().await,
        }
    }
}

impl AmqpAcknowledger {
    async fn ack(&self) {
        self.finish("ack", self.acker.ack(BasicAckOptions::default()))
            .await;
    }

    /// Hands the input back to the broker after the configured pause.
    async fn requeue(&self) {
        tokio::time::sleep(self.settlement.requeue_delay).await;
        let options = BasicNackOptions {
            multiple: false,
            requeue: true,
        };
        self.finish("nack", self.acker.nack(options)).await;
    }

    /// Awaits one ack or nack. A failure is expected after a reconnect (the delivery belongs to
    /// a channel that no longer exists) and is harmless: the broker redelivers the input.
    async fn finish(
        &self,
        operation: &'static str,
        settled: impl Future<Output = lapin::Result<bool>>,
    ) {
        let source_id = &self.settlement.source_id;
        let message_id = self.message_id.as_deref().unwrap_or("-");
        let error = match tokio::time::timeout(SETTLE_TIMEOUT, settled).await {
            Ok(Ok(true)) => return,
            Ok(Ok(false)) => "its channel was closed or recovered since".to_owned(),
            Ok(Err(e)) => describe(&e),
            Err(_) => "timed out".to_owned(),
        };
        tracing::warn!(
            source_id = %source_id,
            message_id,
            operation,
            error = %error,
            "could not settle an AMQP input; the broker will redeliver it"
        );
    }
}
