//! [`MeshSource`]: the receiving direction, a poller over one mailbox's inbox.
//!
//! MESH is store-and-forward: a message stays in the inbox until the recipient acknowledges it.
//! The source therefore splits receiving in two. [`MeshSource::poll_once`] lists the inbox and
//! downloads every listed message but acknowledges nothing; the caller commits each message
//! (records it durably) and only then calls [`MeshSource::acknowledge`]. A crash, an error or a
//! shutdown between download and acknowledgement leaves the message in the inbox, so the next
//! poll downloads it again: delivery is at least once, and the caller deduplicates on
//! [`MeshMessage::id`](crate::MeshMessage::id). Acknowledging first would turn a crash into a lost
//! message, which for child-protection traffic is the worse failure.
//!
//! MESH asks clients to poll no more than every five minutes and at least once a day, and to poll
//! again at once when a list came back full ([`MeshSource::page_size`] messages). Scheduling is
//! the caller's; this type holds no timer.

use crate::client::MeshClient;
use crate::error::MeshError;
use crate::message::MeshMessage;

/// Polls one MESH mailbox. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MeshSource {
    client: MeshClient,
}

impl MeshSource {
    /// A source reading `client`'s mailbox.
    pub fn new(client: MeshClient) -> Self {
        Self { client }
    }

    /// The underlying client, for a handshake or other operations.
    pub fn client(&self) -> &MeshClient {
        &self.client
    }

    /// How many messages one poll lists at most; a poll that returns this many should be
    /// followed at once by another.
    pub fn page_size(&self) -> u32 {
        self.client.page_size()
    }

    /// Lists the inbox and downloads each listed message (chunks reassembled), in the order MESH
    /// lists them. Nothing is acknowledged.
    ///
    /// A message that disappeared between the list and its download (404, 410: it expired, or
    /// another consumer of the same mailbox acknowledged it) is skipped with a warning. Any
    /// other failure ends the poll with that error; the messages downloaded so far are dropped
    /// unacknowledged and will be listed again by the next poll.
    pub async fn poll_once(&self) -> Result<Vec<MeshMessage>, MeshError> {
        let ids = self.client.list_inbox().await?;
        let mut messages = Vec::with_capacity(ids.len());
        for id in ids {
            match self.client.download(&id).await {
                Ok(message) => messages.push(message),
                Err(e @ (MeshError::NotFound { .. } | MeshError::Gone { .. })) => {
                    tracing::warn!(
                        mailbox_id = %self.client.mailbox_id(),
                        message_id = %id,
                        error = %e,
                        "MESH message listed but no longer downloadable; skipped"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        Ok(messages)
    }

    /// Acknowledges a message, removing it from the inbox. Call only after the message is
    /// committed. Safe to repeat.
    pub async fn acknowledge(&self, message_id: &str) -> Result<(), MeshError> {
        self.client.acknowledge(message_id).await
    }
}
