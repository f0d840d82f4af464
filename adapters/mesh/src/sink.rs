//! [`MeshSink`]: the sending direction, one MESH message per call.
//!
//! MESH accepts a message with `202 Accepted` and a message id once it has stored every chunk;
//! from then on delivery to the recipient mailbox is MESH's job. A send that fails before the
//! message id comes back may or may not have been stored (the connection can drop after MESH
//! stored it), so a retried send can produce a duplicate; the `Mex-LocalID` (an opaque delivery
//! id) lets the recipient deduplicate. MESH reports non-delivery later, as a `REPORT` message in
//! this mailbox's own inbox, linked to the sent message id.

use bytes::Bytes;
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::notification::Notification;

use crate::client::MeshClient;
use crate::error::MeshError;
use crate::message::OutboundMessage;

/// Sends from one MESH mailbox. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MeshSink {
    client: MeshClient,
}

impl MeshSink {
    /// A sink sending from `client`'s mailbox.
    pub fn new(client: MeshClient) -> Self {
        Self { client }
    }

    /// The underlying client.
    pub fn client(&self) -> &MeshClient {
        &self.client
    }

    /// Sends `body` to `to_mailbox` under `workflow_id`, with `local_id` as `Mex-LocalID`, as
    /// `application/octet-stream` with no subject. Returns the MESH message id. Large bodies are
    /// chunked. `local_id` must not carry child data: use a delivery id.
    pub async fn send(
        &self,
        to_mailbox: &str,
        workflow_id: &str,
        body: impl Into<Bytes>,
        local_id: &str,
    ) -> Result<String, MeshError> {
        let mut message = OutboundMessage::new(to_mailbox, workflow_id, body);
        message.local_id = Some(local_id.to_owned());
        self.client.send(&message).await
    }

    /// Sends a fully described message (content type, subject, file name). Returns the MESH
    /// message id.
    pub async fn send_message(&self, message: &OutboundMessage) -> Result<String, MeshError> {
        self.client.send(message).await
    }
}

/// A hub sink delivering each notification to one agency's MESH mailbox: the notification as
/// JSON (`application/json`), with its idempotency key as `Mex-LocalID` and no subject or file
/// name, so nothing about the child travels in MESH's headers.
///
/// MESH answering with a message id is `Delivered` (delivery to the mailbox is MESH's job from
/// then on); a failure [`MeshError::is_retriable`] calls retriable (transport, 429, 5xx) is
/// `Retryable`; any other (authentication, an unregistered recipient or workflow) is
/// `Permanent`. A retried send that MESH had in fact stored arrives twice with the same
/// `Mex-LocalID`, for the recipient to deduplicate.
#[derive(Debug, Clone)]
pub struct MeshNotificationSink {
    sink: MeshSink,
    to_mailbox: String,
    workflow_id: String,
    status: crate::source::LinkStatus,
}

impl MeshNotificationSink {
    /// Validates `config`, builds the client and makes the handshake, so a wrong credential
    /// stops start-up with an error naming the mailbox.
    pub async fn connect(config: &crate::config::MeshSinkConfig) -> Result<Self, MeshError> {
        config.validate()?;
        let client = config.mailbox.build()?;
        client.handshake().await?;
        Ok(Self {
            sink: MeshSink::new(client),
            to_mailbox: config.to_mailbox.trim().to_ascii_uppercase(),
            workflow_id: config.workflow_id.trim().to_owned(),
            status: crate::source::LinkStatus::new(true),
        })
    }

    /// A reader of the sending mailbox's non-delivery reports, on the sink's own client.
    pub fn reports(&self) -> crate::reports::MeshReports {
        crate::reports::MeshReports::new(self.sink.client().clone())
    }

    /// A cheap handle on whether the last send reached MESH, for `/readyz`.
    pub fn status_handle(&self) -> crate::source::LinkStatus {
        self.status.clone()
    }
}

#[async_trait::async_trait]
impl Sink for MeshNotificationSink {
    async fn deliver(&self, notification: &Notification) -> DeliveryOutcome {
        let Ok(body) = serde_json::to_vec(notification) else {
            return DeliveryOutcome::Permanent {
                reason: "notification could not be serialised as JSON".to_owned(),
            };
        };
        let mut message = OutboundMessage::new(&self.to_mailbox, &self.workflow_id, body);
        message.content_type = "application/json".to_owned();
        message.local_id = Some(notification.idempotency_key.clone());
        match self.sink.send_message(&message).await {
            Ok(mesh_id) => {
                self.status.set(true);
                tracing::debug!(
                    notification_id = %notification.notification_id,
                    recipient = %notification.recipient,
                    mesh_message_id = %mesh_id,
                    "MESH accepted the notification"
                );
                DeliveryOutcome::Delivered
            }
            Err(error) => {
                let retriable = error.is_retriable();
                // Transport failures say MESH could not be reached; a refusal means it answered.
                self.status
                    .set(!matches!(error, MeshError::Transport { .. }));
                tracing::debug!(
                    notification_id = %notification.notification_id,
                    recipient = %notification.recipient,
                    error = %error,
                    retriable,
                    "MESH did not take the notification"
                );
                if retriable {
                    DeliveryOutcome::Retryable {
                        reason: error.to_string(),
                        retry_after: None,
                    }
                } else {
                    DeliveryOutcome::Permanent {
                        reason: error.to_string(),
                    }
                }
            }
        }
    }
}
