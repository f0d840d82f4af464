//! Opening a connection to the broker, the same way for sources and sinks.
//!
//! Every connection has lapin's automatic recovery on: after a broker restart or a network
//! failure lapin reconnects, reopens the channels (in confirm mode again, with the prefetch set
//! again), declares again what was declared on them and restarts the consumers. Its 16 TCP
//! retries are made more frequent than lapin's default (0.5 s doubling to at most 5 s apart,
//! instead of 1 s doubling to 60 s), so recovery after a short outage is quick and lapin gives
//! up after about 70 s of waiting; see [`crate::status::LAPIN_RECOVERY_GRACE`] for what happens
//! then. lapin retries the first connection the same way.
//!
//! Connections are named `throughline <role>` in the broker's management views, so an operator
//! can see which one is the hub's, and the same role is on every log line about the connection:
//! its recovery, and the broker blocking it (a memory or disk alarm, during which publishes
//! wait).

use std::time::Duration;

use futures_util::StreamExt;
use lapin::tcp::OwnedTLSConfig;
use lapin::uri::AMQPUri;
use lapin::{Connect, Connection, ConnectionProperties, Event};

use crate::config::AmqpConnectionConfig;
use crate::error::{AmqpError, describe};

/// What is needed to open (and later reopen) one connection.
#[derive(Clone)]
pub(crate) struct Connector {
    uri: AMQPUri,
    tls: OwnedTLSConfig,
    name: String,
}

impl Connector {
    /// Reads the connection settings (and the CA file). `name` says what the connection is for.
    pub(crate) fn new(config: &AmqpConnectionConfig, name: String) -> Result<Self, AmqpError> {
        let (uri, tls) = config.resolve("connection")?;
        Ok(Self { uri, tls, name })
    }

    /// What the connection is for, e.g. `source lcs-north`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Opens a connection with automatic recovery. lapin retries the first connection too, so
    /// this can take a minute when the broker is down.
    pub(crate) async fn connect(&self) -> Result<Connection, AmqpError> {
        let runtime = lapin::runtime::default_runtime().map_err(|e| AmqpError::Connect {
            reason: describe(&e),
        })?;
        let properties = ConnectionProperties::default()
            .enable_auto_recover()
            .configure_backoff(|backoff| {
                backoff
                    .with_min_delay(Duration::from_millis(500))
                    .with_max_delay(Duration::from_secs(5))
            })
            .with_connection_name(format!("throughline {}", self.name).into());
        let connection = self
            .uri
            .clone()
            .connect_with_config(properties, self.tls.clone(), runtime)
            .await
            .map_err(|e| AmqpError::Connect {
                reason: describe(&e),
            })?;
        log_events(&connection, self.name.clone());
        Ok(connection)
    }
}

/// Logs what lapin reports about the connection from now on, until it is dropped.
fn log_events(connection: &Connection, role: String) {
    let mut events = connection.events_listener();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                Event::Connected => {
                    tracing::info!(role = %role, "AMQP connection established")
                }
                Event::Error(error) => tracing::warn!(
                    role = %role,
                    error = %describe(&error),
                    "AMQP connection or channel failed"
                ),
                Event::ConnectionBlocked(reason) => tracing::warn!(
                    role = %role,
                    reason = %reason,
                    "broker blocked the connection (resource alarm); publishes wait until it lifts"
                ),
                Event::ConnectionUnblocked => {
                    tracing::info!(role = %role, "broker unblocked the connection")
                }
                _ => {}
            }
        }
    });
}

/// How long a retired connection is watched for lapin bringing it back.
const RETIRED_WATCH: Duration = Duration::from_secs(3600);

/// Lets go of a connection the adapter no longer uses: closes it now if it is up; if lapin is
/// still recovering it, watches it and closes it the moment it is back.
///
/// Dropping a recovering connection does not stop lapin's recovery, and a connection lapin
/// brings back restarts its consumers: a forgotten one would take up to `prefetch` inputs that
/// nobody reads, and hold them unacknowledged for as long as it lives.
pub(crate) async fn release(connection: Connection) {
    let status = connection.status();
    if status.connected() {
        close_politely(&connection).await;
    } else if status.reconnecting() || status.connecting() {
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + RETIRED_WATCH;
            while tokio::time::Instant::now() < deadline {
                let status = connection.status();
                if status.connected() {
                    close_politely(&connection).await;
                    return;
                }
                if !(status.reconnecting() || status.connecting()) {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

/// Closes a connection, without waiting long for a broker that may be gone.
async fn close_politely(connection: &Connection) {
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        connection.close(200, "closing".into()),
    )
    .await;
}
