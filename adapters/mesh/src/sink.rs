//! [`MeshSink`]: the sending direction, one MESH message per call.
//!
//! MESH accepts a message with `202 Accepted` and a message id once it has stored every chunk;
//! from then on delivery to the recipient mailbox is MESH's job. A send that fails before the
//! message id comes back may or may not have been stored (the connection can drop after MESH
//! stored it), so a retried send can produce a duplicate; the `Mex-LocalID` (an opaque delivery
//! id) lets the recipient deduplicate. MESH reports non-delivery later, as a `REPORT` message in
//! this mailbox's own inbox, linked to the sent message id.

use bytes::Bytes;

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
