//! A MESH message as downloaded, and one to send.
//!
//! MESH carries a message's metadata in `Mex-*` HTTP headers beside an opaque body. The body is
//! child data; the metadata is routing information (mailboxes, workflow, ids) except the subject
//! and file name, which a careless sender could fill with anything, so `Debug` shows neither the
//! body nor those two.

use std::fmt;

use bytes::Bytes;
use reqwest::header::HeaderMap;

/// What kind of message MESH delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageType {
    /// A payload another mailbox sent (`Mex-MessageType: DATA`).
    Data,
    /// A report MESH itself generated about a message this mailbox sent, such as a non-delivery
    /// report (`Mex-StatusCode: 14`) when the recipient did not collect it within five days. It
    /// has no body; see [`MeshMessage::status`].
    Report,
    /// Any other value, kept as sent.
    Other(String),
}

impl MessageType {
    fn parse(raw: &str) -> Self {
        match raw.to_ascii_uppercase().as_str() {
            "DATA" => Self::Data,
            "REPORT" => Self::Report,
            _ => Self::Other(raw.to_owned()),
        }
    }
}

/// The delivery status MESH attaches to a message (`Mex-Status*`). For a data message it says
/// "transferred"; for a report it says what went wrong with the linked message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageStatus {
    /// `Mex-StatusSuccess`: `SUCCESS` or `ERROR`.
    pub success: Option<String>,
    /// `Mex-StatusCode`: `00` for success, `14` undelivered, and so on.
    pub code: Option<String>,
    /// `Mex-StatusDescription`.
    pub description: Option<String>,
    /// `Mex-LinkedMsgID`: for a report, the id of the message it is about.
    pub linked_message_id: Option<String>,
}

/// One message downloaded from the inbox, chunks already reassembled in order.
#[derive(Clone, PartialEq, Eq)]
pub struct MeshMessage {
    /// The MESH message id; pass it to `acknowledge` once the message is committed.
    pub id: String,
    /// `Mex-From`: the sending mailbox.
    pub sender: Option<String>,
    /// `Mex-To`: this mailbox.
    pub recipient: Option<String>,
    /// `Mex-WorkflowID`: what kind of payload this is (for example a CP-IS workflow).
    pub workflow_id: Option<String>,
    /// `Mex-MessageType`.
    pub message_type: MessageType,
    /// `Mex-LocalID`: the sender's own reference.
    pub local_id: Option<String>,
    /// `Mex-Subject`.
    pub subject: Option<String>,
    /// `Mex-FileName`.
    pub file_name: Option<String>,
    /// `Mex-Content-Type` if the sender set it, else the response's `Content-Type`.
    pub content_type: Option<String>,
    /// `Mex-Content-Compressed: Y`: the sender compressed the payload itself, so the body is
    /// still compressed (usually gzip). MESH's own transfer compression is already undone.
    pub compressed: bool,
    /// How many chunks the body arrived in (1 for an unchunked message).
    pub chunks: u32,
    /// The `Mex-Status*` headers.
    pub status: MessageStatus,
    /// The payload, reassembled. Empty for a report.
    pub body: Bytes,
}

impl fmt::Debug for MeshMessage {
    /// Shows routing metadata and the body's length, never the body, subject or file name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshMessage")
            .field("id", &self.id)
            .field("sender", &self.sender)
            .field("recipient", &self.recipient)
            .field("workflow_id", &self.workflow_id)
            .field("message_type", &self.message_type)
            .field("local_id", &self.local_id)
            .field("content_type", &self.content_type)
            .field("compressed", &self.compressed)
            .field("chunks", &self.chunks)
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl MeshMessage {
    /// The message described by the headers of its first chunk, with `body` as its payload.
    pub(crate) fn from_headers(id: &str, headers: &HeaderMap, chunks: u32, body: Bytes) -> Self {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            id: get("mex-messageid").unwrap_or_else(|| id.to_owned()),
            sender: get("mex-from"),
            recipient: get("mex-to"),
            workflow_id: get("mex-workflowid"),
            message_type: get("mex-messagetype")
                .map_or(MessageType::Data, |t| MessageType::parse(&t)),
            local_id: get("mex-localid"),
            subject: get("mex-subject"),
            file_name: get("mex-filename"),
            content_type: get("mex-content-type").or_else(|| get("content-type")),
            compressed: get("mex-content-compressed")
                .is_some_and(|v| matches!(v.to_ascii_uppercase().as_str(), "Y" | "YES" | "TRUE")),
            chunks,
            status: MessageStatus {
                success: get("mex-statussuccess"),
                code: get("mex-statuscode"),
                description: get("mex-statusdescription"),
                linked_message_id: get("mex-linkedmsgid"),
            },
            body,
        }
    }
}

/// A message to send from this mailbox.
///
/// `subject`, `local_id` and `file_name` travel as headers that MESH stores, shows in tracking
/// and passes to the recipient's systems: never put child data (names, NHS numbers, dates of
/// birth) in them. Use an opaque id (a delivery id) for `local_id`.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    /// `Mex-To`: the recipient mailbox id.
    pub to: String,
    /// `Mex-WorkflowID`: agreed with the recipient and registered with MESH for both mailboxes.
    pub workflow_id: String,
    /// `Mex-LocalID`: this side's reference, returned on the recipient's copy and in tracking.
    pub local_id: Option<String>,
    /// `Mex-Subject`: a fixed, non-identifying description, if any.
    pub subject: Option<String>,
    /// `Mex-FileName`: a non-identifying file name, if the recipient wants one.
    pub file_name: Option<String>,
    /// The payload's media type, sent as `Mex-Content-Type` (and as `Content-Type` when unchunked).
    pub content_type: String,
    /// The payload.
    pub body: Bytes,
}

impl fmt::Debug for OutboundMessage {
    /// Never shows the body, subject or file name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundMessage")
            .field("to", &self.to)
            .field("workflow_id", &self.workflow_id)
            .field("local_id", &self.local_id)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl OutboundMessage {
    /// A message with content type `application/octet-stream` and no subject or file name.
    pub fn new(
        to: impl Into<String>,
        workflow_id: impl Into<String>,
        body: impl Into<Bytes>,
    ) -> Self {
        Self {
            to: to.into(),
            workflow_id: workflow_id.into(),
            local_id: None,
            subject: None,
            file_name: None,
            content_type: "application/octet-stream".to_owned(),
            body: body.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_metadata_from_mex_headers() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("mex-messageid", "ABC123"),
            ("mex-from", "X26ABC1"),
            ("mex-to", "X26ABC2"),
            ("mex-workflowid", "TEST_WORKFLOW"),
            ("mex-messagetype", "REPORT"),
            ("mex-statuscode", "14"),
            ("mex-linkedmsgid", "PREV1"),
            ("mex-content-compressed", "Y"),
            ("content-type", "application/octet-stream"),
            ("mex-content-type", "application/json"),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
        let m = MeshMessage::from_headers("abc123", &h, 1, Bytes::new());
        assert_eq!(m.id, "ABC123");
        assert_eq!(m.message_type, MessageType::Report);
        assert_eq!(m.status.code.as_deref(), Some("14"));
        assert_eq!(m.status.linked_message_id.as_deref(), Some("PREV1"));
        assert_eq!(m.content_type.as_deref(), Some("application/json"));
        assert!(m.compressed);
    }

    #[test]
    fn debug_never_shows_body_or_subject() {
        let mut h = HeaderMap::new();
        h.insert("mex-subject", HeaderValue::from_static("secret-subject"));
        let m = MeshMessage::from_headers("ID", &h, 1, Bytes::from_static(b"child-data"));
        let shown = format!("{m:?}");
        assert!(
            !shown.contains("child-data") && !shown.contains("secret-subject"),
            "{shown}"
        );
        let mut o = OutboundMessage::new("X26ABC2", "WF", "child-data");
        o.subject = Some("secret-subject".into());
        let shown = format!("{o:?}");
        assert!(
            !shown.contains("child-data") && !shown.contains("secret-subject"),
            "{shown}"
        );
    }
}
