//! The webhook sink against a real local HTTP server (axum on 127.0.0.1:0).
//!
//! Every test server echoes the request body back in its response, so a sink that leaked the
//! response (or request) body into a reason would be caught by [`assert_reason_is_clean`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use throughline_adapter_webhook::{WebhookConfig, WebhookSink, verify};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::kind::EventKind;
use throughline_contracts::notification::Notification;
use uuid::Uuid;

const SECRET: &str = "whsec_test_0123456789abcdef";
/// Text that appears only in the notification's subject and payload (child data).
const CHILD_DATA: &str = "CHILD-DATA-CANARY";
/// Text that appears only in the endpoint's query string (which may carry a token).
const QUERY_TOKEN: &str = "QUERY-TOKEN-CANARY";

fn notification() -> Notification {
    Notification {
        schema_version: 1,
        notification_id: Uuid::now_v7(),
        idempotency_key: "notif-0190a6f2-camhs-north".to_owned(),
        recipient: AgencyId::parse("camhs-north").unwrap(),
        sharing_agreement: "north-isa-2026".to_owned(),
        event_id: Uuid::now_v7(),
        kind: EventKind::ReferralMade,
        occurred_at: chrono::Utc::now(),
        source_agency: AgencyId::parse("st-marys-primary").unwrap(),
        child_id: Uuid::now_v7(),
        subject: json!({ "given_name": format!("{CHILD_DATA} Amelia") }),
        payload: json!({ "reason": format!("{CHILD_DATA} worried about attendance") }),
    }
}

/// One request as the test server saw it.
struct SeenRequest {
    headers: HeaderMap,
    body: Bytes,
}

/// What the test server answers, and what it saw.
#[derive(Clone)]
struct Server {
    status: StatusCode,
    headers: Vec<(&'static str, &'static str)>,
    hang: Option<Duration>,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
}

impl Server {
    fn answering(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Vec::new(),
            hang: None,
            seen: Arc::default(),
        }
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Never answers within any timeout a test configures.
    fn hanging() -> Self {
        Self {
            hang: Some(Duration::from_secs(60)),
            ..Self::answering(200)
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<SeenRequest>> {
        self.seen.lock().unwrap()
    }

    /// Serves on an ephemeral loopback port until the test's runtime shuts down.
    async fn start(&self) -> SocketAddr {
        let router = Router::new()
            .route("/hook", post(answer))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        addr
    }
}

async fn answer(State(server): State<Server>, headers: HeaderMap, body: Bytes) -> Response {
    server.seen().push(SeenRequest {
        headers,
        body: body.clone(),
    });
    if let Some(hang) = server.hang {
        tokio::time::sleep(hang).await;
    }
    // Echo the body: a receiver's error page may well quote what it was sent.
    let mut response = (server.status, body).into_response();
    for (name, value) in &server.headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

fn sink_for(addr: SocketAddr, timeout_ms: u64) -> WebhookSink {
    let mut config = WebhookConfig::new(format!("http://{addr}/hook?token={QUERY_TOKEN}"), SECRET);
    config.timeout_ms = timeout_ms;
    config
        .headers
        .insert("X-Agency-Route".into(), "referrals".into());
    config.build().unwrap()
}

async fn deliver_to(server: &Server) -> DeliveryOutcome {
    let addr = server.start().await;
    sink_for(addr, 5_000).deliver(&notification()).await
}

fn assert_reason_is_clean(outcome: &DeliveryOutcome) {
    let reason = match outcome {
        DeliveryOutcome::Delivered => return,
        DeliveryOutcome::Retryable { reason, .. } | DeliveryOutcome::Permanent { reason } => reason,
    };
    assert!(
        !reason.contains(CHILD_DATA),
        "reason leaks child data: {reason}"
    );
    assert!(
        !reason.contains(QUERY_TOKEN),
        "reason leaks the query: {reason}"
    );
    assert!(
        !reason.contains('{'),
        "reason looks like it holds a body: {reason}"
    );
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn delivers_on_200_with_body_idempotency_key_and_a_verifiable_signature() {
    let server = Server::answering(200);
    let addr = server.start().await;
    let notification = notification();

    let outcome = sink_for(addr, 5_000).deliver(&notification).await;

    assert_eq!(outcome, DeliveryOutcome::Delivered);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    let received: Notification = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(received, notification);
    assert_eq!(header(&request.headers, "content-type"), "application/json");
    assert_eq!(
        header(&request.headers, "idempotency-key"),
        notification.idempotency_key
    );
    assert_eq!(
        header(&request.headers, "throughline-event-id"),
        notification.event_id.to_string()
    );
    assert_eq!(
        header(&request.headers, "throughline-event-kind"),
        "referral.made"
    );
    assert_eq!(header(&request.headers, "throughline-schema-version"), "1");
    assert_eq!(header(&request.headers, "x-agency-route"), "referrals");
    let signature = header(&request.headers, "throughline-signature");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        verify(SECRET.as_bytes(), signature, &request.body, now, 300),
        Ok(())
    );
    assert!(
        verify(
            b"some-other-secret-value",
            signature,
            &request.body,
            now,
            300
        )
        .is_err()
    );
}

#[tokio::test]
async fn delivers_on_any_2xx() {
    for status in [201, 202, 204] {
        assert_eq!(
            deliver_to(&Server::answering(status)).await,
            DeliveryOutcome::Delivered,
            "{status}"
        );
    }
}

#[tokio::test]
async fn retries_on_500_without_retry_after() {
    let outcome = deliver_to(&Server::answering(500)).await;
    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Retryable {
            reason: "HTTP 500 Internal Server Error".to_owned(),
            retry_after: None,
        }
    );
}

#[tokio::test]
async fn retries_on_503_and_honours_retry_after() {
    let server = Server::answering(503).with_header("retry-after", "7");
    let outcome = deliver_to(&server).await;
    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Retryable {
            reason: "HTTP 503 Service Unavailable".to_owned(),
            retry_after: Some(Duration::from_secs(7)),
        }
    );
}

#[tokio::test]
async fn retries_on_429_and_honours_a_past_http_date_as_now() {
    let server = Server::answering(429).with_header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");
    let outcome = deliver_to(&server).await;
    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Retryable {
            reason: "HTTP 429 Too Many Requests".to_owned(),
            retry_after: Some(Duration::ZERO),
        }
    );
}

#[tokio::test]
async fn retries_on_408() {
    let outcome = deliver_to(&Server::answering(408)).await;
    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Retryable {
            reason: "HTTP 408 Request Timeout".to_owned(),
            retry_after: None,
        }
    );
}

#[tokio::test]
async fn fails_permanently_on_400() {
    let outcome = deliver_to(&Server::answering(400)).await;
    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Permanent {
            reason: "HTTP 400 Bad Request".to_owned()
        }
    );
}

#[tokio::test]
async fn fails_permanently_on_404() {
    let outcome = deliver_to(&Server::answering(404)).await;
    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Permanent {
            reason: "HTTP 404 Not Found".to_owned()
        }
    );
}

#[tokio::test]
async fn does_not_follow_redirects_and_fails_permanently() {
    let server = Server::answering(307).with_header("location", "/elsewhere");
    let outcome = deliver_to(&server).await;
    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Permanent {
            reason: "HTTP 307 Temporary Redirect".to_owned()
        }
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn retries_when_the_receiver_never_answers_within_the_timeout() {
    let server = Server::hanging();
    let addr = server.start().await;

    let outcome = sink_for(addr, 300).deliver(&notification()).await;

    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Retryable {
            reason: "timed out after 300 ms".to_owned(),
            retry_after: None,
        }
    );
    assert_eq!(server.seen().len(), 1, "the request did reach the receiver");
}

#[tokio::test]
async fn retries_when_the_connection_is_refused() {
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }; // dropped: nothing listens on this port any more

    let outcome = sink_for(addr, 5_000).deliver(&notification()).await;

    assert_reason_is_clean(&outcome);
    assert_eq!(
        outcome,
        DeliveryOutcome::Retryable {
            reason: "connection failed".to_owned(),
            retry_after: None,
        }
    );
}

#[tokio::test]
async fn every_attempt_carries_the_same_idempotency_key_and_a_valid_signature() {
    let server = Server::answering(503);
    let addr = server.start().await;
    let sink = sink_for(addr, 5_000);
    let notification = notification();

    sink.deliver(&notification).await;
    sink.deliver(&notification).await;

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for request in seen.iter() {
        assert_eq!(
            header(&request.headers, "idempotency-key"),
            notification.idempotency_key
        );
        let signature = header(&request.headers, "throughline-signature");
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            verify(SECRET.as_bytes(), signature, &request.body, now, 300),
            Ok(())
        );
    }
}

#[test]
fn config_embedded_in_an_internally_tagged_sink_enum_still_denies_unknown_fields() {
    // The hub embeds the config as `sink = { type = "webhook", url = ..., secret = ... }`.
    #[derive(Debug, serde::Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum SinkConfig {
        Webhook(WebhookConfig),
    }
    let ok: SinkConfig = serde_json::from_value(json!({
        "type": "webhook",
        "url": "https://agency.example/hook",
        "secret": SECRET,
    }))
    .unwrap();
    let SinkConfig::Webhook(config) = ok;
    assert!(config.build().is_ok());

    let err = serde_json::from_value::<SinkConfig>(json!({
        "type": "webhook",
        "url": "https://agency.example/hook",
        "secret": SECRET,
        "timout_ms": 5,
    }))
    .unwrap_err();
    assert!(err.to_string().contains("timout_ms"), "{err}");
}

#[test]
fn config_errors_name_the_key() {
    let cases = [
        (WebhookConfig::new("not a url", SECRET), "`url`"),
        (WebhookConfig::new("file:///etc/passwd", SECRET), "`url`"),
        (
            WebhookConfig::new("https://agency.example/hook", "too-short"),
            "`secret`",
        ),
        (
            WebhookConfig {
                timeout_ms: 0,
                ..WebhookConfig::new("https://agency.example/hook", SECRET)
            },
            "`timeout_ms`",
        ),
        (
            WebhookConfig {
                timeout_ms: 300_001,
                ..WebhookConfig::new("https://agency.example/hook", SECRET)
            },
            "`timeout_ms`",
        ),
    ];
    for (config, key) in cases {
        let err = config.build().unwrap_err();
        assert!(err.to_string().starts_with(key), "{err} should name {key}");
    }
}

#[tokio::test]
async fn sends_the_attempts_traceparent_only_when_there_is_one() {
    let server = Server::answering(200);
    let addr = server.start().await;
    let sink = sink_for(addr, 5_000);
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    assert_eq!(
        sink.deliver_traced(&notification(), Some(traceparent))
            .await,
        DeliveryOutcome::Delivered
    );
    assert_eq!(
        sink.deliver(&notification()).await,
        DeliveryOutcome::Delivered
    );

    let seen = server.seen();
    assert_eq!(header(&seen[0].headers, "traceparent"), traceparent);
    assert!(
        seen[1].headers.get("traceparent").is_none(),
        "an untraced attempt sends no traceparent"
    );
}
