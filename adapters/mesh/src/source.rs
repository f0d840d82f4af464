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

use throughline_contracts::adapter::{Acknowledger, InputOutcome, RawInput, Source, SourceInput};

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

/// Whether a MESH link's last request worked, for the hub's `/readyz`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LinkStatus(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl LinkStatus {
    pub(crate) fn new(up: bool) -> Self {
        Self(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(up)))
    }

    pub(crate) fn set(&self, up: bool) {
        self.0.store(up, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the last request to MESH succeeded.
    pub fn connected(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A hub source over one MESH mailbox: the poll loop around [`MeshSource`], yielding each
/// downloaded message as a [`RawInput`] and acknowledging it only once the hub says it is
/// committed or kept in quarantine.
///
/// - Every `poll_interval` (at once after a list that came back full) the inbox is listed and
///   each message downloaded. Each becomes an input whose `message_id` is the MESH message id,
///   so a message downloaded twice (not yet acknowledged) is committed once.
/// - `Committed` or `Quarantined`: the message is acknowledged and leaves the inbox. A failed
///   acknowledgement is logged; the message comes again next poll and is deduplicated.
/// - `Unavailable`: nothing is acknowledged; the next poll downloads the message again.
/// - A `REPORT` (MESH's own non-delivery report) is not an input: it is logged with its linked
///   message id and status code and left in the inbox for the hub's MESH sink, which reads the
///   reports of its sending mailbox ([`crate::reports`]).
/// - A failed poll is logged and retried at the next interval; [`LinkStatus`] says whether the
///   last one worked.
///
/// Logs carry the source id, mailbox and message ids, never a body, subject or file name.
pub struct MeshInputs {
    source_id: String,
    source: MeshSource,
    interval: std::time::Duration,
    pending: std::collections::VecDeque<MeshMessage>,
    next_poll: tokio::time::Instant,
    status: LinkStatus,
    shutdown: tokio_util::sync::CancellationToken,
}

impl std::fmt::Debug for MeshInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshInputs")
            .field("source_id", &self.source_id)
            .field("mailbox_id", &self.source.client().mailbox_id())
            .field("interval", &self.interval)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl MeshInputs {
    /// Validates `config`, builds the client and makes the handshake, so a wrong credential or
    /// an unreachable MESH stops start-up with an error naming the mailbox.
    pub async fn connect(
        source_id: String,
        config: &crate::config::MeshSourceConfig,
    ) -> Result<Self, MeshError> {
        config.validate()?;
        let client = config.mailbox.build()?;
        client.handshake().await?;
        tracing::info!(
            source_id = %source_id,
            mailbox_id = %client.mailbox_id(),
            "MESH handshake succeeded"
        );
        Ok(Self {
            source_id,
            source: MeshSource::new(client),
            interval: config.poll_interval(),
            pending: std::collections::VecDeque::new(),
            next_poll: tokio::time::Instant::now(),
            status: LinkStatus::new(true),
            shutdown: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// A cheap handle on whether the last poll worked, for `/readyz`.
    pub fn status_handle(&self) -> LinkStatus {
        self.status.clone()
    }

    /// A token that ends the source when cancelled: a waiting `next` returns `None`.
    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.shutdown.clone()
    }

    /// Lists and downloads once, queueing the data messages. Only changes state once the poll
    /// is complete, so dropping it part-way (the hub only takes inputs that are ready) is safe.
    async fn poll(&mut self) {
        match self.source.poll_once().await {
            Ok(messages) => {
                self.status.set(true);
                let full = messages.len() >= self.source.page_size() as usize;
                self.next_poll = if full {
                    tokio::time::Instant::now()
                } else {
                    tokio::time::Instant::now() + self.interval
                };
                for message in messages {
                    if message.message_type == crate::message::MessageType::Data {
                        self.pending.push_back(message);
                    } else {
                        tracing::warn!(
                            source_id = %self.source_id,
                            message_id = %message.id,
                            message_type = ?message.message_type,
                            linked_message_id = message.status.linked_message_id.as_deref().unwrap_or("-"),
                            status_code = message.status.code.as_deref().unwrap_or("-"),
                            "MESH report in the inbox is not an input; left for the sink's report reader"
                        );
                    }
                }
            }
            Err(error) => {
                self.status.set(false);
                self.next_poll = tokio::time::Instant::now() + self.interval;
                tracing::warn!(
                    source_id = %self.source_id,
                    error = %error,
                    retriable = error.is_retriable(),
                    "MESH poll failed; trying again at the next interval"
                );
            }
        }
    }

    fn input(&self, message: MeshMessage) -> SourceInput {
        tracing::debug!(
            source_id = %self.source_id,
            message_id = %message.id,
            bytes = message.body.len(),
            "MESH input received"
        );
        SourceInput {
            raw: RawInput {
                source_id: self.source_id.clone(),
                content_type: message.content_type.clone(),
                body: message.body,
                received_at: chrono::Utc::now(),
                message_id: Some(message.id.clone()),
            },
            acknowledger: Box::new(MeshAcknowledger {
                source_id: self.source_id.clone(),
                source: self.source.clone(),
                message_id: message.id,
            }),
        }
    }
}

#[async_trait::async_trait]
impl Source for MeshInputs {
    async fn next(&mut self) -> Option<SourceInput> {
        loop {
            if self.shutdown.is_cancelled() {
                return None;
            }
            if let Some(message) = self.pending.pop_front() {
                return Some(self.input(message));
            }
            let shutdown = self.shutdown.clone();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep_until(self.next_poll) => {}
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return None,
                _ = self.poll() => {}
            }
        }
    }
}

/// Acknowledges one MESH message once the hub has kept it.
struct MeshAcknowledger {
    source_id: String,
    source: MeshSource,
    message_id: String,
}

#[async_trait::async_trait]
impl Acknowledger for MeshAcknowledger {
    async fn settle(self: Box<Self>, outcome: &InputOutcome) {
        match outcome {
            InputOutcome::Committed { .. } | InputOutcome::Quarantined { .. } => {
                match self.source.acknowledge(&self.message_id).await {
                    Ok(()) => tracing::debug!(
                        source_id = %self.source_id,
                        message_id = %self.message_id,
                        "MESH message acknowledged"
                    ),
                    Err(error) => tracing::warn!(
                        source_id = %self.source_id,
                        message_id = %self.message_id,
                        error = %error,
                        "MESH acknowledgement failed; the message will be downloaded again and deduplicated"
                    ),
                }
            }
            InputOutcome::Unavailable { reason } => tracing::warn!(
                source_id = %self.source_id,
                message_id = %self.message_id,
                reason = %reason,
                "hub unavailable; MESH message left in the inbox for the next poll"
            ),
        }
    }
}
