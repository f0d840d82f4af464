//! Notices as signed JSON POSTs, signed exactly as agency webhooks are (`Throughline-Signature`,
//! `adapters/webhook`), so a receiver that checks the hub's notifications checks these too.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use throughline_adapter_webhook::{WebhookConfig, sign, signature::SIGNATURE_HEADER};

use super::config::WebhookChannelConfig;
use super::notice::Notice;

/// The agency webhook configuration the channel is validated as (same URL, secret and timeout
/// rules).
pub(super) fn webhook_config(c: &WebhookChannelConfig) -> WebhookConfig {
    let mut w = WebhookConfig::new(c.url.clone(), c.secret.clone());
    w.timeout_ms = c.timeout_ms;
    w
}

pub struct WebhookChannel {
    id: String,
    url: String,
    secret: Vec<u8>,
    dashboard_url: Option<String>,
    client: reqwest::Client,
}

impl WebhookChannel {
    pub fn new(c: &WebhookChannelConfig) -> Result<Self, String> {
        webhook_config(c).build().map_err(|e| e.to_string())?;
        let timeout = Duration::from_millis(c.timeout_ms);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("throughline-alerts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.without_url().to_string())?;
        Ok(Self {
            id: c.id.clone(),
            url: c.url.clone(),
            secret: c.secret.as_bytes().to_vec(),
            dashboard_url: c.dashboard_url.clone(),
            client,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dashboard_url(&self) -> Option<&str> {
        self.dashboard_url.as_deref()
    }

    pub async fn send(&self, notice: &Notice) -> Result<(), String> {
        let body = serde_json::to_vec(notice).map_err(|e| e.to_string())?;
        let signature = sign(&self.secret, chrono::Utc::now().timestamp(), &body);
        let response = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", &notice.notice_id)
            .header("Throughline-Event-Kind", &notice.kind)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else if e.is_connect() {
                    "connection failed".to_owned()
                } else {
                    "request failed before a response was received".to_owned()
                }
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}
