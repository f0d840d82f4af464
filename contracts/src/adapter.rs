//! The adapter interface: sources, normalisers and sinks.
//!
//! The contract that keeps "nothing is lost" true across every adapter:
//! - a [`Source`] yields [`RawInput`]s and settles each one only when the hub says what became of
//!   it: committed durably, or rejected and kept in quarantine. A source never acknowledges its
//!   upstream before that.
//! - a [`Normaliser`] turns one native format into canonical submissions, or a [`Rejection`] with
//!   a specific reason per field.
//! - a [`Sink`] delivers one rendered [`Notification`] and says whether it was delivered, may be
//!   retried (optionally not before a time the receiver asked for), or failed for good.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::AgencyId;
use crate::event::{EventSubmission, FieldProblem};
use crate::notification::Notification;

/// One input exactly as a source received it.
#[derive(Clone)]
pub struct RawInput {
    /// The configured source id.
    pub source_id: String,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub received_at: DateTime<Utc>,
    /// The upstream's own message id, where it has one (AMQP message-id, Kafka offset...).
    pub message_id: Option<String>,
}

impl std::fmt::Debug for RawInput {
    /// Never prints the body: it is child data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawInput")
            .field("source_id", &self.source_id)
            .field("content_type", &self.content_type)
            .field("bytes", &self.body.len())
            .field("message_id", &self.message_id)
            .finish()
    }
}

/// What the hub did with one input; the source settles its upstream accordingly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputOutcome {
    /// The events are durably committed (ids in input order). Resubmissions of an already
    /// committed event id are reported here too, with `duplicate` set.
    Committed {
        event_ids: Vec<Uuid>,
        duplicate: bool,
    },
    /// The input was rejected at `step` and is durably kept in quarantine.
    Quarantined {
        quarantine_id: Uuid,
        step: String,
        problems: Vec<FieldProblem>,
    },
    /// The hub could not commit (its store is unavailable): the source must not acknowledge,
    /// so the upstream keeps the input and offers it again.
    Unavailable { reason: String },
}

/// Settles one input with its upstream once the hub's outcome is known.
#[async_trait]
pub trait Acknowledger: Send {
    async fn settle(self: Box<Self>, outcome: &InputOutcome);
}

/// An input together with the means to settle it.
pub struct SourceInput {
    pub raw: RawInput,
    pub acknowledger: Box<dyn Acknowledger>,
}

/// A stream of inputs from one agency system.
#[async_trait]
pub trait Source: Send {
    /// The next input, or `None` once the source has shut down.
    async fn next(&mut self) -> Option<SourceInput>;
}

/// What a normaliser knows about where an input came from.
#[derive(Debug, Clone)]
pub struct NormaliseContext {
    pub source_id: String,
    pub agency: AgencyId,
    pub system: String,
    pub adapter: String,
}

/// Why an input could not be turned into events: one problem per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub problems: Vec<FieldProblem>,
}

impl Rejection {
    pub fn one(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            problems: vec![FieldProblem::new(field, reason)],
        }
    }
}

/// Turns one native format into canonical event submissions.
pub trait Normaliser: Send + Sync {
    /// The format's configured name, e.g. `canonical-json`, or `mapping:arbor-pupil-events` for
    /// a mapping written in the hub's configuration (so not always a `'static` name).
    fn format(&self) -> &str;
    fn normalise(
        &self,
        raw: &RawInput,
        ctx: &NormaliseContext,
    ) -> Result<Vec<EventSubmission>, Rejection>;
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Worth trying again; `retry_after` is the receiver's own request (e.g. `Retry-After`).
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed as it is: goes to dead letter with this reason.
    Permanent {
        reason: String,
    },
}

/// Delivers rendered notifications to one agency.
#[async_trait]
pub trait Sink: Send + Sync {
    async fn deliver(&self, notification: &Notification) -> DeliveryOutcome;

    /// As [`Sink::deliver`], for an attempt that is a span of the hub's trace: `traceparent` is
    /// that span's W3C trace context (`00-<trace id>-<span id>-<flags>`), for a sink whose
    /// protocol can carry it to the receiver (the webhook sends it as the `traceparent` header),
    /// so the receiving agency can join the trace. It names the trace, never the child. Sinks
    /// that cannot carry it keep this default, which drops it.
    async fn deliver_traced(
        &self,
        notification: &Notification,
        traceparent: Option<&str>,
    ) -> DeliveryOutcome {
        let _ = traceparent;
        self.deliver(notification).await
    }
}
