//! [`MeshClient`]: one method per MESH API operation, each one authenticated request (or, for
//! chunked messages, one request per chunk).
//!
//! Every request carries a fresh `NHSMESH` token, asks for the v2 API
//! (`Accept: application/vnd.mesh.v2+json`) and sends the `Mex-ClientVersion`, `Mex-OSName` and
//! `Mex-OSVersion` headers MESH requires on a handshake. It asks for `Accept-Encoding: identity`,
//! so MESH undoes its own transfer compression and chunks can be concatenated as they arrive.
//! Redirects are not followed, and status codes are mapped to [`MeshError`] in one place,
//! `MeshClient::execute`.

use std::error::Error as _;

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Deserialize;

use crate::auth;
use crate::error::{MeshError, Operation, parse_error_body};
use crate::message::{MeshMessage, OutboundMessage};

/// The media type that selects MESH API v2.
pub const ACCEPT_V2: &str = "application/vnd.mesh.v2+json";
/// Sent as `Mex-ClientVersion`.
pub const CLIENT_VERSION: &str = concat!("throughline-adapter-mesh==", env!("CARGO_PKG_VERSION"));
/// The most chunks a downloaded message may declare: 20 GB (MESH's maximum) in 20 MB chunks.
pub const MAX_CHUNKS: u32 = 1_000;

/// An authenticated client for one MESH mailbox. Cheap to clone (the connection pool is shared).
///
/// Built by [`MeshConfig::build`](crate::MeshConfig::build).
#[derive(Clone)]
pub struct MeshClient {
    http: reqwest::Client,
    base_url: Url,
    mailbox_id: String,
    password: String,
    shared_key: String,
    chunk_size: usize,
    page_size: u32,
}

impl std::fmt::Debug for MeshClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshClient")
            .field("base_url", &self.base_url.as_str())
            .field("mailbox_id", &self.mailbox_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct InboxList {
    messages: Vec<String>,
}

#[derive(Deserialize)]
struct SendResponse {
    // v2 answers `message_id`, v1 `messageID`.
    #[serde(alias = "messageID")]
    message_id: String,
}

impl MeshClient {
    pub(crate) fn from_parts(
        http: reqwest::Client,
        base_url: Url,
        mailbox_id: String,
        password: String,
        shared_key: String,
        chunk_size: usize,
        page_size: u32,
    ) -> Self {
        Self {
            http,
            base_url,
            mailbox_id,
            password,
            shared_key,
            chunk_size,
            page_size,
        }
    }

    /// The mailbox this client acts as (upper case).
    pub fn mailbox_id(&self) -> &str {
        &self.mailbox_id
    }

    /// How many message ids one inbox list asks for.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Validates the mailbox and credentials (`POST /messageexchange/{mailbox}`). MESH expects a
    /// handshake at least once every 24 hours; a source does one at start-up so a bad password
    /// fails fast.
    pub async fn handshake(&self) -> Result<(), MeshError> {
        let op = Operation::Handshake;
        self.execute(op, self.request(Method::POST, &[]), None)
            .await?;
        tracing::debug!(mailbox_id = %self.mailbox_id, "MESH handshake succeeded");
        Ok(())
    }

    /// The ids of messages waiting in the inbox, oldest first, at most
    /// [`page_size`](Self::page_size) of them. Acknowledged messages are not listed.
    pub async fn list_inbox(&self) -> Result<Vec<String>, MeshError> {
        let op = Operation::ListInbox;
        let mut url = self.url(&["inbox"]);
        url.query_pairs_mut()
            .append_pair("max_results", &self.page_size.to_string());
        let response = self
            .execute(op, self.request_to(Method::GET, url), None)
            .await?;
        let body = read_body(op, response).await?;
        let list: InboxList = serde_json::from_slice(&body).map_err(|e| MeshError::Protocol {
            operation: op,
            reason: format!("inbox list is not `{{\"messages\": [...]}}` ({e})"),
        })?;
        Ok(list.messages)
    }

    /// Downloads one message. A chunked message (`206 Partial Content`, `Mex-Chunk-Range: 1:N`)
    /// is fetched chunk by chunk (`GET .../inbox/{id}/{n}` for n = 2..=N) and reassembled in
    /// order; every chunk's range is checked. Downloading does not remove the message: see
    /// [`acknowledge`](Self::acknowledge).
    pub async fn download(&self, message_id: &str) -> Result<MeshMessage, MeshError> {
        let op = Operation::Download;
        let first = self
            .execute(
                op,
                self.request(Method::GET, &["inbox", message_id]),
                Some(message_id),
            )
            .await?;
        let first_status = first.status();
        let headers = first.headers().clone();
        let total = match chunk_range(&headers) {
            Some(Ok((1, total))) => total.max(1),
            Some(Ok((n, _))) => {
                return Err(protocol(op, format!("first chunk is numbered {n}, not 1")));
            }
            Some(Err(reason)) => return Err(protocol(op, reason)),
            None if first_status == StatusCode::PARTIAL_CONTENT => {
                return Err(protocol(
                    op,
                    "206 Partial Content without a Mex-Chunk-Range header".to_owned(),
                ));
            }
            None => 1,
        };
        if total > MAX_CHUNKS {
            return Err(protocol(
                op,
                format!("message declares {total} chunks, more than the {MAX_CHUNKS} accepted"),
            ));
        }
        reject_transfer_encoding(op, &headers)?;
        let first_body = read_body(op, first).await?;
        let body = if total == 1 {
            first_body
        } else {
            let mut body = BytesMut::from(first_body.as_ref());
            for n in 2..=total {
                let chunk_no = n.to_string();
                let response = self
                    .execute(
                        op,
                        self.request(Method::GET, &["inbox", message_id, &chunk_no]),
                        Some(message_id),
                    )
                    .await?;
                match chunk_range(response.headers()) {
                    Some(Ok((got, of))) if got == n && of == total => {}
                    Some(Ok((got, of))) => {
                        return Err(protocol(
                            op,
                            format!("asked for chunk {n}:{total}, received {got}:{of}"),
                        ));
                    }
                    Some(Err(reason)) => return Err(protocol(op, reason)),
                    None => {
                        return Err(protocol(
                            op,
                            format!("chunk {n} has no Mex-Chunk-Range header"),
                        ));
                    }
                }
                reject_transfer_encoding(op, response.headers())?;
                body.extend_from_slice(&read_body(op, response).await?);
            }
            body.freeze()
        };
        tracing::debug!(
            mailbox_id = %self.mailbox_id,
            message_id,
            chunks = total,
            bytes = body.len(),
            "MESH message downloaded"
        );
        Ok(MeshMessage::from_headers(message_id, &headers, total, body))
    }

    /// A message's metadata without its body (`HEAD .../inbox/{id}`): enough to tell a report
    /// from a data message without downloading a payload that another reader of this mailbox
    /// will take. The returned message has an empty body.
    pub async fn metadata(&self, message_id: &str) -> Result<MeshMessage, MeshError> {
        let op = Operation::Metadata;
        let response = self
            .execute(
                op,
                self.request(Method::HEAD, &["inbox", message_id]),
                Some(message_id),
            )
            .await?;
        Ok(MeshMessage::from_headers(
            message_id,
            response.headers(),
            1,
            Bytes::new(),
        ))
    }

    /// Acknowledges a downloaded message (`PUT .../inbox/{id}/status/acknowledged`), which
    /// removes it from the inbox for good. Call it only after the message is committed:
    /// acknowledging an already acknowledged message succeeds, so retrying is safe.
    pub async fn acknowledge(&self, message_id: &str) -> Result<(), MeshError> {
        let op = Operation::Acknowledge;
        self.execute(
            op,
            self.request(
                Method::PUT,
                &["inbox", message_id, "status", "acknowledged"],
            ),
            Some(message_id),
        )
        .await?;
        tracing::debug!(mailbox_id = %self.mailbox_id, message_id, "MESH message acknowledged");
        Ok(())
    }

    /// Sends a message and returns the id MESH gave it. A body larger than the configured
    /// `chunk_size_bytes` is sent in chunks: the first with `Mex-Chunk-Range: 1:N` to
    /// `POST .../outbox`, the rest to `POST .../outbox/{id}/{n}`. The recipient sees the
    /// message only once every chunk has arrived.
    pub async fn send(&self, message: &OutboundMessage) -> Result<String, MeshError> {
        let op = Operation::Send;
        let headers = send_headers(message)?;
        let chunks: Vec<Bytes> = split(&message.body, self.chunk_size);
        let total = chunks.len();
        let mut first = self
            .request(Method::POST, &["outbox"])
            .headers(headers)
            .body(chunks[0].clone());
        if total > 1 {
            first = first
                .header("mex-chunk-range", format!("1:{total}"))
                .header(CONTENT_TYPE, "application/octet-stream");
        } else {
            first = first.header(CONTENT_TYPE, message.content_type.as_str());
        }
        let response = self.execute(op, first, None).await?;
        let body = read_body(op, response).await?;
        let sent: SendResponse = serde_json::from_slice(&body)
            .map_err(|e| protocol(op, format!("send response has no message id ({e})")))?;
        let message_id = sent.message_id;
        for (index, chunk) in chunks.iter().enumerate().skip(1) {
            let n = (index + 1).to_string();
            let request = self
                .request(Method::POST, &["outbox", &message_id, &n])
                .header("mex-chunk-range", format!("{n}:{total}"))
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(chunk.clone());
            self.execute(op, request, Some(&message_id)).await?;
        }
        tracing::debug!(
            mailbox_id = %self.mailbox_id,
            message_id = %message_id,
            to = %message.to,
            chunks = total,
            bytes = message.body.len(),
            "MESH message sent"
        );
        Ok(message_id)
    }

    /// `{base}/messageexchange/{mailbox}/{segments...}`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("base_url was checked to be an http(s) URL, which has a path")
            .pop_if_empty()
            .push("messageexchange")
            .push(&self.mailbox_id)
            .extend(segments);
        url
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.request_to(method, self.url(segments))
    }

    fn request_to(&self, method: Method, url: Url) -> RequestBuilder {
        let token = auth::authorization_now(
            &self.mailbox_id,
            &self.password,
            &self.shared_key,
            chrono::Utc::now(),
        );
        self.http
            .request(method, url)
            .header(AUTHORIZATION, token)
            .header(ACCEPT, ACCEPT_V2)
            .header(ACCEPT_ENCODING, "identity")
            .header("mex-clientversion", CLIENT_VERSION)
            .header("mex-osname", std::env::consts::OS)
            .header("mex-osversion", "unknown")
            .header("mex-osarchitecture", std::env::consts::ARCH)
    }

    /// Sends a request and maps every non-success status to a [`MeshError`].
    async fn execute(
        &self,
        operation: Operation,
        request: RequestBuilder,
        message_id: Option<&str>,
    ) -> Result<Response, MeshError> {
        let response = request.send().await.map_err(|e| MeshError::Transport {
            operation,
            reason: describe_reqwest(&e),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // Error bodies are small; only MESH's code and description are kept from them.
        let body = response.bytes().await.unwrap_or_default();
        let (code, description) = parse_error_body(&body);
        Err(match (status, message_id) {
            (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, None)
            | (StatusCode::UNAUTHORIZED, Some(_)) => MeshError::Auth {
                operation,
                mailbox_id: self.mailbox_id.clone(),
                status: status.as_u16(),
                detail: description.map(|d| format!(": {d}")).unwrap_or_default(),
            },
            // A 403 on a message means it belongs to another mailbox, unless the token itself
            // was refused, which MESH says in the description.
            (StatusCode::FORBIDDEN, Some(_)) if description.is_some() => MeshError::Auth {
                operation,
                mailbox_id: self.mailbox_id.clone(),
                status: status.as_u16(),
                detail: description.map(|d| format!(": {d}")).unwrap_or_default(),
            },
            (StatusCode::NOT_FOUND, Some(id)) => MeshError::NotFound {
                operation,
                message_id: id.to_owned(),
            },
            (StatusCode::GONE, Some(id)) => MeshError::Gone {
                operation,
                message_id: id.to_owned(),
            },
            _ => MeshError::Rejected {
                operation,
                status: status.as_u16(),
                code,
                description,
            },
        })
    }
}

fn protocol(operation: Operation, reason: String) -> MeshError {
    MeshError::Protocol { operation, reason }
}

async fn read_body(operation: Operation, response: Response) -> Result<Bytes, MeshError> {
    response.bytes().await.map_err(|e| MeshError::Transport {
        operation,
        reason: describe_reqwest(&e),
    })
}

/// A reqwest error and its causes ("connection refused", "timed out"). reqwest names the URL,
/// which holds only the host, mailbox id and message id: no secret.
fn describe_reqwest(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Mex-Chunk-Range: n:N`, if present.
fn chunk_range(headers: &HeaderMap) -> Option<Result<(u32, u32), String>> {
    let raw = headers.get("mex-chunk-range")?;
    let parsed = raw.to_str().ok().and_then(|s| {
        let (n, total) = s.trim().split_once(':')?;
        Some((n.trim().parse().ok()?, total.trim().parse().ok()?))
    });
    Some(parsed.ok_or_else(|| "Mex-Chunk-Range is not `n:N`".to_owned()))
}

/// The client asked for `identity`; a compressed transfer would corrupt the reassembly.
fn reject_transfer_encoding(operation: Operation, headers: &HeaderMap) -> Result<(), MeshError> {
    match headers.get(reqwest::header::CONTENT_ENCODING) {
        Some(v) if !v.as_bytes().eq_ignore_ascii_case(b"identity") => Err(protocol(
            operation,
            "compressed transfer (Content-Encoding) although identity was asked for".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Splits `body` into chunks of at most `size` bytes, without copying. Never empty.
fn split(body: &Bytes, size: usize) -> Vec<Bytes> {
    if body.is_empty() {
        return vec![Bytes::new()];
    }
    (0..body.len())
        .step_by(size)
        .map(|start| body.slice(start..(start + size).min(body.len())))
        .collect()
}

/// The `Mex-*` headers for a send, each checked against MESH's limits. Errors name the field but
/// never repeat its value (a subject could carry child data by mistake).
fn send_headers(message: &OutboundMessage) -> Result<HeaderMap, MeshError> {
    if message.body.is_empty() {
        return Err(MeshError::InvalidArgument {
            field: "body",
            reason: "must not be empty (MESH refuses an empty message)".to_owned(),
        });
    }
    let mut headers = HeaderMap::new();
    let to = message.to.trim().to_ascii_uppercase();
    let fields: [(&'static str, &'static str, Option<&str>, usize, bool); 6] = [
        ("to", "mex-to", Some(&to), 100, true),
        (
            "workflow_id",
            "mex-workflowid",
            Some(message.workflow_id.trim()),
            300,
            true,
        ),
        (
            "local_id",
            "mex-localid",
            message.local_id.as_deref(),
            300,
            false,
        ),
        (
            "subject",
            "mex-subject",
            message.subject.as_deref(),
            500,
            false,
        ),
        (
            "file_name",
            "mex-filename",
            message.file_name.as_deref(),
            300,
            false,
        ),
        (
            "content_type",
            "mex-content-type",
            Some(message.content_type.as_str()),
            100,
            true,
        ),
    ];
    for (field, header, value, max, required) in fields {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            if required {
                return Err(MeshError::InvalidArgument {
                    field,
                    reason: "must not be empty".to_owned(),
                });
            }
            continue;
        };
        let printable = value.chars().all(|c| c.is_ascii_graphic() || c == ' ');
        if value.len() > max || !printable {
            return Err(MeshError::InvalidArgument {
                field,
                reason: format!("must be up to {max} printable ASCII characters"),
            });
        }
        let lowered = value.to_ascii_lowercase();
        if lowered.starts_with("http://") || lowered.starts_with("https://") {
            return Err(MeshError::InvalidArgument {
                field,
                reason: "must not be a URL (MESH rejects it as a malformed control file)"
                    .to_owned(),
            });
        }
        let value = HeaderValue::from_str(value).map_err(|_| MeshError::InvalidArgument {
            field,
            reason: "is not a valid header value".to_owned(),
        })?;
        headers.insert(header, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> MeshClient {
        crate::MeshConfig::new(base, "X26ABC1", "password", "TestKey")
            .build()
            .unwrap()
    }

    #[test]
    fn builds_urls_under_messageexchange_with_encoded_segments() {
        let c = client("http://127.0.0.1:8700");
        assert_eq!(
            c.url(&["inbox", "ABC/1", "2"]).as_str(),
            "http://127.0.0.1:8700/messageexchange/X26ABC1/inbox/ABC%2F1/2"
        );
        let c = client("https://mesh.example/prefix/");
        assert_eq!(
            c.url(&[]).as_str(),
            "https://mesh.example/prefix/messageexchange/X26ABC1"
        );
    }

    #[test]
    fn splits_bodies_into_ordered_chunks() {
        let body = Bytes::from_static(b"abcdefghij");
        let parts = split(&body, 4);
        assert_eq!(parts, vec!["abcd", "efgh", "ij"]);
        assert_eq!(split(&body, 10).len(), 1);
        assert_eq!(split(&body, 100).len(), 1);
    }

    #[test]
    fn parses_chunk_ranges() {
        let mut h = HeaderMap::new();
        assert_eq!(chunk_range(&h), None);
        h.insert("mex-chunk-range", HeaderValue::from_static("2:5"));
        assert_eq!(chunk_range(&h), Some(Ok((2, 5))));
        h.insert("mex-chunk-range", HeaderValue::from_static("two"));
        assert!(matches!(chunk_range(&h), Some(Err(_))));
    }

    #[test]
    fn send_headers_refuse_bad_values_without_repeating_them() {
        let mut m = OutboundMessage::new("x26abc2", "TEST_WORKFLOW", "body");
        let headers = send_headers(&m).unwrap();
        assert_eq!(headers["mex-to"], "X26ABC2");

        m.subject = Some("Jane Doe\n943 476 5919".into());
        let err = send_headers(&m).unwrap_err();
        assert!(matches!(
            err,
            MeshError::InvalidArgument {
                field: "subject",
                ..
            }
        ));
        assert!(!err.to_string().contains("Jane"), "{err}");

        let m = OutboundMessage::new("X26ABC2", "", "body");
        assert!(matches!(
            send_headers(&m).unwrap_err(),
            MeshError::InvalidArgument {
                field: "workflow_id",
                ..
            }
        ));
        let m = OutboundMessage::new("X26ABC2", "WF", Bytes::new());
        assert!(matches!(
            send_headers(&m).unwrap_err(),
            MeshError::InvalidArgument { field: "body", .. }
        ));
    }
}
