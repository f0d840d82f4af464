//! One delivery attempt: a confirmed publish, and what the broker's answer means for the
//! notification.
//!
//! The sink publishes exactly once per [`Sink::deliver`] call and never retries itself: the hub
//! owns retries. Every broker condition is retryable, never permanent: an unroutable message
//! (no queue bound yet), a nack, a missing confirm or a lost connection can all change without
//! anyone touching the notification, and a notification sent to dead letter would not reach
//! the agency. Only a notification that cannot be expressed as an AMQP message at all is
//! permanent.
//!
//! Reasons and log lines carry the broker's reply or the kind of failure only, never the body.

use async_trait::async_trait;
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::notification::Notification;

use crate::config::AmqpSinkConfig;
use crate::connection::Connector;
use crate::error::AmqpError;
use crate::headers::notification_properties;
use crate::publisher::{PublishFailure, Published, Publisher};
use crate::status::{ConnectionState, StatusHandle};

/// Publishes notifications for one agency to an exchange, with publisher confirms.
///
/// Built by [`AmqpSink::connect`]; holds one auto-recovering connection and one confirm-mode
/// channel for all deliveries, and may be shared between tasks.
pub struct AmqpSink {
    publisher: Publisher,
    exchange: String,
    routing_key: String,
}

impl std::fmt::Debug for AmqpSink {
    /// Never prints the connection URL.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpSink")
            .field("exchange", &self.exchange)
            .field("routing_key", &self.routing_key)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl AmqpSink {
    /// Validates `config`, connects (with automatic recovery), declares the configured
    /// topology, opens a channel in confirm mode, and checks that the exchange exists.
    ///
    /// A missing exchange is an error here, naming the `exchange` key, rather than a stream of
    /// failed deliveries later.
    pub async fn connect(config: &AmqpSinkConfig) -> Result<AmqpSink, AmqpError> {
        config.validate()?;
        let connector = Connector::new(&config.connection, format!("sink {}", config.exchange))?;
        let publisher =
            Publisher::connect(connector, config.declare.clone(), config.confirm_timeout()).await?;
        if let Err(e) = publisher.check_exchange("exchange", &config.exchange).await {
            publisher.close().await;
            return Err(e);
        }
        Ok(AmqpSink {
            publisher,
            exchange: config.exchange.clone(),
            routing_key: config.routing_key.clone(),
        })
    }

    /// The current state of the sink's connection.
    pub fn state(&self) -> ConnectionState {
        self.publisher.status().state()
    }

    /// A cheap handle on the connection state, for `/readyz` and metrics.
    pub fn status_handle(&self) -> StatusHandle {
        self.publisher.status()
    }

    /// Closes the channel and connection. Deliveries afterwards are retryable failures.
    pub async fn close(&self) {
        self.publisher.close().await;
    }
}

impl Drop for AmqpSink {
    /// Stops a background reconnect, if one is running.
    fn drop(&mut self) {
        self.publisher.stop();
    }
}

#[async_trait]
impl Sink for AmqpSink {
    async fn deliver(&self, notification: &Notification) -> DeliveryOutcome {
        self.deliver_traced(notification, None).await
    }

    async fn deliver_traced(
        &self,
        notification: &Notification,
        traceparent: Option<&str>,
    ) -> DeliveryOutcome {
        let properties = match notification_properties(notification, traceparent) {
            Ok(properties) => properties,
            Err(e) => {
                return DeliveryOutcome::Permanent {
                    reason: e.0.to_owned(),
                };
            }
        };
        let body = match serde_json::to_vec(notification) {
            Ok(body) => body,
            Err(_) => {
                return DeliveryOutcome::Permanent {
                    reason: "notification could not be serialised as JSON".to_owned(),
                };
            }
        };
        let published = self
            .publisher
            .publish(&self.exchange, &self.routing_key, &body, properties)
            .await;
        let outcome = outcome_for(published);
        match &outcome {
            DeliveryOutcome::Delivered => tracing::debug!(
                notification_id = %notification.notification_id,
                recipient = %notification.recipient,
                "AMQP broker confirmed the notification"
            ),
            DeliveryOutcome::Retryable { reason, .. } | DeliveryOutcome::Permanent { reason } => {
                tracing::debug!(
                    notification_id = %notification.notification_id,
                    recipient = %notification.recipient,
                    reason = %reason,
                    "AMQP broker did not take the notification"
                )
            }
        }
        outcome
    }
}

/// Maps the broker's answer (or its absence) to a delivery outcome: only a plain confirm is
/// delivered, everything else is worth retrying.
pub(crate) fn outcome_for(published: Result<Published, PublishFailure>) -> DeliveryOutcome {
    let reason = match published {
        Ok(Published::Confirmed) => return DeliveryOutcome::Delivered,
        Ok(Published::Returned {
            reply_code: 312, ..
        }) => "unroutable: no queue bound for routing key".to_owned(),
        Ok(Published::Returned {
            reply_code,
            reply_text,
        }) => format!("returned by the broker: {reply_code} {reply_text}"),
        Ok(Published::Nacked) => "broker nacked the message".to_owned(),
        Err(failure) => failure.reason(),
    };
    DeliveryOutcome::Retryable {
        reason,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn reason(outcome: DeliveryOutcome) -> String {
        match outcome {
            DeliveryOutcome::Retryable {
                reason,
                retry_after: None,
            } => reason,
            other => panic!("expected retryable, got {other:?}"),
        }
    }

    #[test]
    fn only_a_plain_confirm_is_delivered() {
        assert_eq!(
            outcome_for(Ok(Published::Confirmed)),
            DeliveryOutcome::Delivered
        );
    }

    #[test]
    fn an_unroutable_return_is_retryable_and_says_so() {
        let outcome = outcome_for(Ok(Published::Returned {
            reply_code: 312,
            reply_text: "NO_ROUTE".into(),
        }));
        assert_eq!(
            reason(outcome),
            "unroutable: no queue bound for routing key"
        );
    }

    #[test]
    fn nacks_timeouts_and_lost_connections_are_retryable_never_permanent() {
        assert_eq!(
            reason(outcome_for(Ok(Published::Nacked))),
            "broker nacked the message"
        );
        assert!(
            reason(outcome_for(Err(PublishFailure::TimedOut(
                Duration::from_millis(250)
            ))))
            .contains("250 ms")
        );
        assert!(reason(outcome_for(Err(PublishFailure::Recovering))).contains("re-established"));
        assert!(
            reason(outcome_for(Err(PublishFailure::Failed(
                "404 NOT_FOUND - no exchange 'x' in vhost '/'".into()
            ))))
            .contains("NOT_FOUND")
        );
    }
}
