//! One confirmed publish: the sink's deliveries and the source's dead-letter copies.
//!
//! A publish counts only once the broker has confirmed it (publisher confirms), and it is
//! `mandatory`, so a message no queue would receive comes back instead of vanishing. That is
//! what lets the callers say "delivered" or "retry" honestly and never lose a message silently.
//!
//! The publisher owns one connection and one channel in confirm mode. It keeps them usable
//! without blocking its callers:
//! - while lapin recovers the connection (broker restart), a publish fails at once as
//!   [`PublishFailure::Recovering`]; lapin reopens the channel in confirm mode by itself;
//! - a channel the broker closed (e.g. publishing to an exchange that was deleted) is replaced
//!   by a new one on the next publish, with the topology declared again;
//! - a connection that is closed, failed, or that lapin has not recovered within
//!   [`LAPIN_RECOVERY_GRACE`](crate::status::LAPIN_RECOVERY_GRACE) is replaced by one
//!   background task, with exponential backoff, while publishes answer `Recovering`. A small
//!   task checks the connection every second, so this happens even while nothing is published.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ExchangeKind};
use tokio::sync::{Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

use crate::connection::{Connector, release};
use crate::error::{AmqpError, describe};
use crate::status::{Health, StatusHandle, health};
use crate::topology::{TopologyConfig, short};

/// How often an idle publisher checks on its connection.
const TEND_PERIOD: Duration = Duration::from_secs(1);

/// What the broker said about one publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Published {
    /// Routed to at least one queue and confirmed: the broker has taken responsibility.
    Confirmed,
    /// Returned as unroutable (no queue bound for the routing key), though confirmed.
    Returned { reply_code: u16, reply_text: String },
    /// The broker refused responsibility (e.g. a queue's overflow policy rejected it).
    Nacked,
}

/// Why a publish has no answer from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublishFailure {
    /// The connection is being recovered or replaced.
    Recovering,
    /// The channel or connection failed during the publish; the reason is the broker's or the
    /// I/O error, never the body.
    Failed(String),
    /// No confirm within the timeout.
    TimedOut(Duration),
}

impl PublishFailure {
    /// A short reason for a delivery outcome or a log line.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::Recovering => "broker connection is being re-established".to_owned(),
            Self::Failed(reason) => format!("publish failed: {reason}"),
            Self::TimedOut(timeout) => format!(
                "broker did not confirm the publish within {} ms",
                timeout.as_millis()
            ),
        }
    }
}

/// A connection and confirm-mode channel that publish with confirms (cheap to clone).
#[derive(Clone)]
pub(crate) struct Publisher(Arc<Inner>);

struct Inner {
    connector: Connector,
    topology: TopologyConfig,
    confirm_timeout: Duration,
    link: Mutex<Link>,
    status: StatusHandle,
    closed: CancellationToken,
}

#[derive(Default)]
struct Link {
    connection: Option<Connection>,
    channel: Option<Channel>,
    recovering_since: Option<Instant>,
    replacing: bool,
}

impl Publisher {
    /// Connects, declares `topology`, and opens the confirm-mode channel.
    pub(crate) async fn connect(
        connector: Connector,
        topology: TopologyConfig,
        confirm_timeout: Duration,
    ) -> Result<Self, AmqpError> {
        let connection = connector.connect().await?;
        let channel = match open_channel(&connection, &topology).await {
            Ok(channel) => channel,
            Err(e) => {
                release(connection).await;
                return Err(e);
            }
        };
        let status = StatusHandle::default();
        status.watch(&connection, &channel);
        let inner = Arc::new(Inner {
            connector,
            topology,
            confirm_timeout,
            link: Mutex::new(Link {
                connection: Some(connection),
                channel: Some(channel),
                recovering_since: None,
                replacing: false,
            }),
            status,
            closed: CancellationToken::new(),
        });
        tokio::spawn(tend(Arc::downgrade(&inner)));
        Ok(Self(inner))
    }

    pub(crate) fn status(&self) -> StatusHandle {
        self.0.status.clone()
    }

    /// Checks that `exchange` exists (a passive declare, on a channel of its own since the
    /// broker closes the channel when it does not). `key` is the config key that names it.
    pub(crate) async fn check_exchange(&self, key: &str, exchange: &str) -> Result<(), AmqpError> {
        if exchange.is_empty() {
            return Ok(()); // the default exchange always exists
        }
        let link = self.0.link.lock().await;
        let Some(connection) = &link.connection else {
            return Err(AmqpError::Connect {
                reason: "connection closed".to_owned(),
            });
        };
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| AmqpError::broker("channel.open", &e))?;
        let options = ExchangeDeclareOptions {
            passive: true,
            ..ExchangeDeclareOptions::default()
        };
        let checked = channel
            .exchange_declare(
                short(exchange),
                ExchangeKind::Direct,
                options,
                FieldTable::default(),
            )
            .await;
        match checked {
            Ok(()) => {
                let _ = channel.close(200, "checked".into()).await;
                Ok(())
            }
            Err(e) => Err(AmqpError::Missing {
                key: key.to_owned(),
                reason: format!(
                    "exchange `{exchange}` does not exist on the broker ({}); declare it under \
                     `declare.exchanges` or create it first",
                    describe(&e)
                ),
            }),
        }
    }

    /// Publishes one persistent, mandatory message and waits for the broker's confirm, all
    /// within the confirm timeout.
    pub(crate) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<Published, PublishFailure> {
        let timeout = self.0.confirm_timeout;
        match tokio::time::timeout(
            timeout,
            self.publish_now(exchange, routing_key, body, properties),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => {
                self.discard_slow_channel().await;
                Err(PublishFailure::TimedOut(timeout))
            }
        }
    }

    async fn publish_now(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<Published, PublishFailure> {
        let channel = self.channel().await?;
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let confirm = channel
            .basic_publish(
                short(exchange),
                short(routing_key),
                options,
                body,
                properties,
            )
            .await
            .map_err(|e| failure(&e))?;
        match confirm.await.map_err(|e| failure(&e))? {
            Confirmation::Ack(None) => Ok(Published::Confirmed),
            Confirmation::Ack(Some(returned)) => Ok(Published::Returned {
                reply_code: returned.reply_code,
                reply_text: returned.reply_text.to_string(),
            }),
            Confirmation::Nack(_) => Ok(Published::Nacked),
            Confirmation::NotRequested => Err(PublishFailure::Failed(
                "channel is not in confirm mode".to_owned(),
            )),
        }
    }

    /// The confirm-mode channel to publish on, reopened if the broker closed it; or
    /// `Recovering` while the connection is being recovered or replaced.
    async fn channel(&self) -> Result<Channel, PublishFailure> {
        if self.0.closed.is_cancelled() {
            return Err(PublishFailure::Failed(
                "the connection was closed".to_owned(),
            ));
        }
        let mut link = self.0.link.lock().await;
        match self.judge(&mut link) {
            Health::Healthy => {}
            Health::Recovering => return Err(PublishFailure::Recovering),
            Health::Dead => {
                self.replace(link).await;
                return Err(PublishFailure::Recovering);
            }
        }
        let Link {
            connection,
            channel,
            ..
        } = &mut *link;
        if let Some(channel) = channel.as_ref() {
            if channel.status().connected() {
                return Ok(channel.clone());
            }
            if channel.status().reconnecting() {
                return Err(PublishFailure::Recovering);
            }
        }
        let connection = connection
            .as_ref()
            .expect("a healthy link has a connection");
        let reopened = open_channel(connection, &self.0.topology)
            .await
            .map_err(|e| PublishFailure::Failed(e.to_string()))?;
        tracing::info!(
            role = %self.0.connector.name(),
            "AMQP publisher reopened its channel"
        );
        self.0.status.watch(connection, &reopened);
        *channel = Some(reopened.clone());
        Ok(reopened)
    }

    /// Judges the connection, noting when lapin starts recovering it.
    fn judge(&self, link: &mut Link) -> Health {
        if link.replacing {
            return Health::Recovering;
        }
        let Some(connection) = link.connection.as_ref() else {
            return Health::Dead;
        };
        let was_recovering = link.recovering_since.is_some();
        let state = health(connection, &mut link.recovering_since);
        if state == Health::Recovering && !was_recovering {
            tracing::warn!(
                role = %self.0.connector.name(),
                "AMQP connection lost; lapin is reconnecting"
            );
        }
        state
    }

    /// Gives up on the connection and starts replacing it in the background.
    async fn replace(&self, mut link: MutexGuard<'_, Link>) {
        tracing::warn!(
            role = %self.0.connector.name(),
            "AMQP connection failed or not recovered in time; reconnecting"
        );
        let old = link.connection.take();
        link.channel = None;
        link.recovering_since = None;
        link.replacing = true;
        self.0.status.set_replacing();
        drop(link);
        if let Some(old) = old {
            release(old).await;
        }
        tokio::spawn(self.clone().replace_connection());
    }

    /// Opens a new connection and channel, retrying with backoff until it succeeds or the
    /// publisher is closed.
    async fn replace_connection(self) {
        let attempt = || async {
            let connection = self.0.connector.connect().await?;
            match open_channel(&connection, &self.0.topology).await {
                Ok(channel) => Ok((connection, channel)),
                Err(e) => {
                    release(connection).await;
                    Err(e)
                }
            }
        };
        let retried =
            attempt
                .retry(reconnect_backoff())
                .notify(|error: &AmqpError, retry_in: Duration| {
                    tracing::warn!(
                        role = %self.0.connector.name(),
                        error = %error,
                        retry_in_ms = retry_in.as_millis() as u64,
                        "AMQP publisher could not reconnect"
                    );
                });
        let replaced = tokio::select! {
            _ = self.0.closed.cancelled() => return,
            replaced = retried => replaced,
        };
        let mut link = self.0.link.lock().await;
        link.replacing = false;
        if let Ok((connection, channel)) = replaced {
            tracing::info!(role = %self.0.connector.name(), "AMQP publisher reconnected");
            self.0.status.watch(&connection, &channel);
            link.connection = Some(connection);
            link.channel = Some(channel);
        }
    }

    /// After a confirm timeout on a live channel, stops using it: its late confirms are not
    /// waited for, and a fresh channel is opened on the next publish.
    async fn discard_slow_channel(&self) {
        let mut link = self.0.link.lock().await;
        if link
            .channel
            .as_ref()
            .is_some_and(|channel| channel.status().connected())
            && let Some(channel) = link.channel.take()
        {
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                channel.close(200, "confirm timed out".into()),
            )
            .await;
        }
    }

    /// Stops any reconnecting at once, without waiting; for `Drop`. The connection itself
    /// closes when the last clone is dropped.
    pub(crate) fn stop(&self) {
        self.0.closed.cancel();
        self.0.status.set_closed();
    }

    /// Closes the channel and connection; publishes fail afterwards.
    pub(crate) async fn close(&self) {
        self.stop();
        let mut link = self.0.link.lock().await;
        link.channel = None;
        link.replacing = true;
        if let Some(connection) = link.connection.take() {
            release(connection).await;
        }
    }
}

/// Judges the publisher's connection every second, so a connection lapin failed to recover is
/// replaced even while nothing is published (an idle sink, a source that quarantines nothing).
/// Ends when the publisher is closed or dropped.
async fn tend(publisher: Weak<Inner>) {
    loop {
        tokio::time::sleep(TEND_PERIOD).await;
        let Some(inner) = publisher.upgrade() else {
            return;
        };
        if inner.closed.is_cancelled() {
            return;
        }
        let publisher = Publisher(inner);
        let mut link = publisher.0.link.lock().await;
        if publisher.judge(&mut link) == Health::Dead {
            publisher.replace(link).await;
        }
    }
}

/// A channel in confirm mode, with the topology declared on it (so lapin replays it on
/// recovery).
async fn open_channel(
    connection: &Connection,
    topology: &TopologyConfig,
) -> Result<Channel, AmqpError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| AmqpError::broker("channel.open", &e))?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| AmqpError::broker("confirm.select", &e))?;
    topology.declare(&channel, "declare").await?;
    Ok(channel)
}

fn failure(error: &lapin::Error) -> PublishFailure {
    let recovering = matches!(
        error.kind(),
        lapin::ErrorKind::InvalidChannelState(lapin::ChannelState::Reconnecting, _)
            | lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Reconnecting)
    );
    if recovering {
        PublishFailure::Recovering
    } else {
        PublishFailure::Failed(describe(error))
    }
}

/// Backoff for replacing a connection the adapter gave up on: 1 s doubling to 30 s, with
/// jitter, for as long as it takes.
pub(crate) fn reconnect_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times()
}
