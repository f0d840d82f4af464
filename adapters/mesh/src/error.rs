//! What can go wrong talking to MESH, and how a MESH error response is described.
//!
//! Messages name the operation and what MESH answered (status, MESH error code and MESH's own
//! short description). They never carry a message body, a subject, the password or the shared
//! key: MESH bodies are child data, and a validation error's body may echo the request back, so
//! only the `code` and `msg` fields of MESH's structured error are ever read.

use std::fmt;

use crate::config::MeshConfigError;

/// The MESH operation a request was part of, named in every error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /messageexchange/{mailbox}`: validate the mailbox and client.
    Handshake,
    /// `GET /messageexchange/{mailbox}/inbox`.
    ListInbox,
    /// `GET /messageexchange/{mailbox}/inbox/{id}[/{chunk}]`.
    Download,
    /// `HEAD /messageexchange/{mailbox}/inbox/{id}`: a message's `Mex-*` headers, no body.
    Metadata,
    /// `PUT /messageexchange/{mailbox}/inbox/{id}/status/acknowledged`.
    Acknowledge,
    /// `POST /messageexchange/{mailbox}/outbox[/{id}/{chunk}]`.
    Send,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Handshake => "handshake",
            Self::ListInbox => "inbox list",
            Self::Download => "download",
            Self::Metadata => "metadata",
            Self::Acknowledge => "acknowledge",
            Self::Send => "send",
        })
    }
}

/// Why a MESH operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeshError {
    /// The configuration is invalid (raised by [`MeshConfig::build`](crate::MeshConfig::build)).
    #[error(transparent)]
    Config(#[from] MeshConfigError),
    /// MESH answered 401 or 403 to the authorisation token: the mailbox id, `password` or
    /// `shared_key` is wrong for this environment, the clock is more than two hours out, or (on
    /// real MESH) the client certificate does not belong to the mailbox.
    #[error(
        "MESH {operation}: authentication failed for mailbox {mailbox_id} (HTTP {status}{detail}); \
         check `mailbox_id`, `password` and `shared_key` for this environment"
    )]
    Auth {
        operation: Operation,
        mailbox_id: String,
        status: u16,
        /// MESH's description, prefixed with `: `, or empty.
        detail: String,
    },
    /// MESH could not be reached, or the request or response did not complete (timeout,
    /// connection refused, TLS failure). Worth retrying.
    #[error("MESH {operation}: request failed: {reason}")]
    Transport {
        operation: Operation,
        reason: String,
    },
    /// The message id is not known to MESH (404), for example it was never in this inbox.
    #[error("MESH {operation}: message {message_id} does not exist")]
    NotFound {
        operation: Operation,
        message_id: String,
    },
    /// The message is no longer available (410): it expired or was already acknowledged.
    #[error(
        "MESH {operation}: message {message_id} is no longer available (expired or acknowledged)"
    )]
    Gone {
        operation: Operation,
        message_id: String,
    },
    /// MESH refused the request with another status, such as 417 for an unknown recipient.
    #[error("MESH {operation}: refused with HTTP {status}{}", describe_code(code.as_deref(), description.as_deref()))]
    Rejected {
        operation: Operation,
        status: u16,
        /// MESH's error code (`12` unregistered recipient, `17` workflow not registered...).
        code: Option<String>,
        /// MESH's short description of the error.
        description: Option<String>,
    },
    /// MESH answered in a way this client does not understand (unparseable JSON, a missing or
    /// inconsistent `Mex-Chunk-Range`...).
    #[error("MESH {operation}: unexpected response: {reason}")]
    Protocol {
        operation: Operation,
        reason: String,
    },
    /// An argument to [`MeshSink::send`](crate::MeshSink::send) cannot be sent as a MESH header.
    #[error("MESH send: `{field}` {reason}")]
    InvalidArgument { field: &'static str, reason: String },
}

impl MeshError {
    /// Whether trying the same operation again later may succeed: transport failures, 429 and
    /// 5xx. Authentication, not-found, gone and other refusals need someone to change something.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Rejected { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

fn describe_code(code: Option<&str>, description: Option<&str>) -> String {
    match (code, description) {
        (Some(c), Some(d)) => format!(" (MESH error {c}: {d})"),
        (Some(c), None) => format!(" (MESH error {c})"),
        (None, Some(d)) => format!(" ({d})"),
        (None, None) => String::new(),
    }
}

/// The longest MESH error description kept, in characters.
const MAX_DESCRIPTION_CHARS: usize = 200;

/// MESH's error code and description from an error response body, if it has the structured
/// shape (v2 `{"detail": [{"code", "msg"}]}`, v1 `{"errorCode", "errorDescription"}`). Any other
/// body (HTML, a validation error echoing the request) yields nothing, so it is never repeated.
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let text = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(MAX_DESCRIPTION_CHARS).collect::<String>())
    };
    if let Some(first) = value
        .get("detail")
        .and_then(serde_json::Value::as_array)
        .and_then(|d| d.first())
        .filter(|d| d.get("code").is_some())
    {
        return (text(first.get("code")), text(first.get("msg")));
    }
    if value.get("errorCode").is_some() || value.get("errorEvent").is_some() {
        return (
            text(value.get("errorCode")),
            text(value.get("errorDescription")),
        );
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v2_and_v1_structured_errors() {
        let v2 = br#"{"message_id":null,"detail":[{"event":"SEND","code":"12","msg":"Unregistered to address"}]}"#;
        assert_eq!(
            parse_error_body(v2),
            (Some("12".into()), Some("Unregistered to address".into()))
        );
        let v1 = br#"{"errorEvent":"SEND","errorCode":"17","errorDescription":"Workflow ID not registered for mailbox"}"#;
        assert_eq!(parse_error_body(v1).0.as_deref(), Some("17"));
    }

    #[test]
    fn ignores_validation_errors_that_echo_the_request() {
        let body = br#"{"detail":[{"type":"missing","loc":["header","mex-to"],"msg":"Field required","input":"NHS 943 476 5919"}],"body":"child data"}"#;
        assert_eq!(parse_error_body(body), (None, None));
        assert_eq!(parse_error_body(b"<html>oops</html>"), (None, None));
    }

    #[test]
    fn retriable_only_for_transport_throttling_and_server_errors() {
        let rejected = |status| MeshError::Rejected {
            operation: Operation::Send,
            status,
            code: None,
            description: None,
        };
        assert!(rejected(503).is_retriable());
        assert!(rejected(429).is_retriable());
        assert!(!rejected(417).is_retriable());
        assert!(
            MeshError::Transport {
                operation: Operation::ListInbox,
                reason: "timed out".into()
            }
            .is_retriable()
        );
    }
}
