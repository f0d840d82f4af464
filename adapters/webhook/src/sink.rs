//! One delivery attempt: a signed POST, and what its answer means for the notification.
//!
//! The sink makes exactly one request per [`Sink::deliver`] call and never retries itself: the
//! hub owns retries (with backoff, an off-switch and visibility), so this module only has to say
//! honestly whether trying again could help. The rule is the usual one for webhooks: 2xx is
//! delivered; 408, 429 and 5xx, and any failure to get an answer at all, are worth retrying;
//! every other answer (other 4xx, and 3xx since redirects are not followed) will not change by
//! itself and goes to dead letter.
//!
//! Reasons and log lines carry the status line or the kind of failure only. The request body is
//! child data and the response body may echo it, so neither is ever read into a reason or a log;
//! the URL is not logged either, since its query may carry a token.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode, Url};
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::notification::Notification;

use crate::config::{WebhookConfig, WebhookConfigError};
use crate::retry_after::parse_retry_after;
use crate::signature::{SIGNATURE_HEADER, sign};

/// Receivers deduplicate on this; it is stable across every attempt for one notification.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The event the notification is about.
pub const EVENT_ID_HEADER: &str = "Throughline-Event-Id";
/// The event's kind, e.g. `referral.made`, so receivers can route without parsing the body.
pub const EVENT_KIND_HEADER: &str = "Throughline-Event-Kind";
/// The notification schema version of the body.
pub const SCHEMA_VERSION_HEADER: &str = "Throughline-Schema-Version";
/// The W3C trace context of the attempt, when the hub exports traces: the receiver's own span
/// can join the hub's trace. Not covered by the signature (it names a trace, never the child).
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Delivers notifications to one agency's webhook endpoint as signed JSON POSTs.
///
/// Built from a validated [`WebhookConfig`]; holds one HTTP client (and so one connection pool)
/// for all deliveries to that endpoint.
pub struct WebhookSink {
    client: Client,
    url: Url,
    secret: Vec<u8>,
    timeout: Duration,
    headers: HeaderMap,
}

impl std::fmt::Debug for WebhookSink {
    /// Never prints the secret, nor the URL's path and query.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("host", &self.url.host_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// Validates `config` and builds the sink; the same as [`WebhookConfig::build`].
    pub fn new(config: &WebhookConfig) -> Result<Self, WebhookConfigError> {
        config.build()
    }

    /// Builds the sink from already validated parts (see [`WebhookConfig::build`]).
    pub(crate) fn from_parts(
        url: Url,
        secret: Vec<u8>,
        timeout: Duration,
        headers: HeaderMap,
    ) -> Result<Self, WebhookConfigError> {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(Policy::none())
            .user_agent(concat!("throughline-webhook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookConfigError::Client {
                reason: e.without_url().to_string(),
            })?;
        Ok(Self {
            client,
            url,
            secret,
            timeout,
            headers,
        })
    }

    /// The headers one notification is sent with, besides the configured static ones.
    fn notification_headers(
        &self,
        notification: &Notification,
        body: &[u8],
    ) -> Result<HeaderMap, DeliveryOutcome> {
        let idempotency_key = HeaderValue::try_from(notification.idempotency_key.as_str())
            .map_err(|_| DeliveryOutcome::Permanent {
                reason: "idempotency key is not a valid HTTP header value".to_owned(),
            })?;
        let signature = sign(&self.secret, chrono::Utc::now().timestamp(), body);
        // Static names in conventional capitalisation; `HeaderMap` normalises them.
        let mut headers = self.headers.clone();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(IDEMPOTENCY_KEY_HEADER, idempotency_key);
        headers.insert(
            EVENT_ID_HEADER,
            ascii_value(notification.event_id.to_string()),
        );
        headers.insert(
            EVENT_KIND_HEADER,
            HeaderValue::from_static(notification.kind.as_str()),
        );
        headers.insert(
            SCHEMA_VERSION_HEADER,
            HeaderValue::from(notification.schema_version),
        );
        headers.insert(SIGNATURE_HEADER, ascii_value(signature));
        Ok(headers)
    }

    /// What a failure to get any answer means: always worth retrying, with no hint of when.
    fn transport_failure(&self, error: &reqwest::Error) -> DeliveryOutcome {
        let reason = if error.is_timeout() {
            if error.is_connect() {
                format!("connection timed out after {} ms", self.timeout.as_millis())
            } else {
                format!("timed out after {} ms", self.timeout.as_millis())
            }
        } else if error.is_dns() {
            "could not resolve host".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else {
            "request failed before a response was received".to_owned()
        };
        DeliveryOutcome::Retryable {
            reason,
            retry_after: None,
        }
    }
}

#[async_trait]
impl Sink for WebhookSink {
    async fn deliver(&self, notification: &Notification) -> DeliveryOutcome {
        self.deliver_traced(notification, None).await
    }

    async fn deliver_traced(
        &self,
        notification: &Notification,
        traceparent: Option<&str>,
    ) -> DeliveryOutcome {
        let body = match serde_json::to_vec(notification) {
            Ok(body) => body,
            Err(_) => {
                return DeliveryOutcome::Permanent {
                    reason: "notification could not be serialised as JSON".to_owned(),
                };
            }
        };
        let mut headers = match self.notification_headers(notification, &body) {
            Ok(headers) => headers,
            Err(outcome) => return outcome,
        };
        // A malformed value (it comes from the hub's own store) is left out, not sent broken.
        if let Some(value) = traceparent.and_then(|t| HeaderValue::try_from(t).ok()) {
            headers.insert(TRACEPARENT_HEADER, value);
        }
        let sent = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                tracing::debug!(
                    notification_id = %notification.notification_id,
                    recipient = %notification.recipient,
                    status = status.as_u16(),
                    "webhook answered"
                );
                // The response body is never read: it may echo child data.
                outcome_for_status(status, response.headers(), SystemTime::now())
            }
            Err(error) => {
                let outcome = self.transport_failure(&error);
                if let DeliveryOutcome::Retryable { reason, .. } = &outcome {
                    tracing::debug!(
                        notification_id = %notification.notification_id,
                        recipient = %notification.recipient,
                        reason = %reason,
                        "webhook gave no answer"
                    );
                }
                outcome
            }
        }
    }
}

/// Maps a response status (and its `Retry-After`, for retryable ones) to an outcome.
pub(crate) fn outcome_for_status(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> DeliveryOutcome {
    if status.is_success() {
        return DeliveryOutcome::Delivered;
    }
    let reason = status_reason(status);
    let retryable = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if retryable {
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, now));
        DeliveryOutcome::Retryable {
            reason,
            retry_after,
        }
    } else {
        DeliveryOutcome::Permanent { reason }
    }
}

/// `HTTP 503 Service Unavailable`, or `HTTP 599` for a code without a standard reason phrase.
/// The receiver's own reason phrase is not used: it is free text from outside.
fn status_reason(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(phrase) => format!("HTTP {} {phrase}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// A header value from text the sink generated itself (uuids, kind names, hex), always ASCII.
fn ascii_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("generated header values are visible ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(code: u16, retry_after: Option<&str>) -> DeliveryOutcome {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        }
        outcome_for_status(
            StatusCode::from_u16(code).unwrap(),
            &headers,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480),
        )
    }

    #[test]
    fn success_statuses_are_delivered() {
        for code in [200, 201, 202, 204] {
            assert_eq!(outcome(code, None), DeliveryOutcome::Delivered);
        }
    }

    #[test]
    fn request_timeout_too_many_requests_and_server_errors_are_retryable() {
        for code in [408, 429, 500, 502, 503, 504, 599] {
            assert!(
                matches!(
                    outcome(code, None),
                    DeliveryOutcome::Retryable {
                        retry_after: None,
                        ..
                    }
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_is_read_only_for_retryable_statuses() {
        assert_eq!(
            outcome(429, Some("Wed, 21 Oct 2015 07:28:30 GMT")),
            DeliveryOutcome::Retryable {
                reason: "HTTP 429 Too Many Requests".to_owned(),
                retry_after: Some(Duration::from_secs(30)),
            }
        );
        assert_eq!(
            outcome(503, Some("soon")),
            DeliveryOutcome::Retryable {
                reason: "HTTP 503 Service Unavailable".to_owned(),
                retry_after: None,
            }
        );
        assert_eq!(
            outcome(400, Some("7")),
            DeliveryOutcome::Permanent {
                reason: "HTTP 400 Bad Request".to_owned()
            }
        );
    }

    #[test]
    fn other_client_errors_and_redirects_are_permanent() {
        for code in [
            300, 301, 302, 304, 307, 400, 401, 403, 404, 409, 410, 413, 422,
        ] {
            assert!(
                matches!(outcome(code, None), DeliveryOutcome::Permanent { .. }),
                "{code}"
            );
        }
    }

    #[test]
    fn reasons_are_the_status_line_without_the_receivers_phrase() {
        assert_eq!(
            outcome(500, None),
            DeliveryOutcome::Retryable {
                reason: "HTTP 500 Internal Server Error".to_owned(),
                retry_after: None,
            }
        );
        assert_eq!(
            outcome(599, None),
            DeliveryOutcome::Retryable {
                reason: "HTTP 599".to_owned(),
                retry_after: None,
            }
        );
    }
}
