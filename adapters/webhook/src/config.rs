//! The webhook sink's configuration, and the one place it is checked.
//!
//! Everything that can be wrong with a webhook's configuration is caught by [`WebhookConfig::build`]
//! at start-up, with an error naming the key, so a bad URL or a short secret never surfaces later
//! as a stream of failed deliveries.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::sink::WebhookSink;

/// The shortest HMAC key accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;
/// The longest per-request timeout accepted, in milliseconds (five minutes).
pub const MAX_TIMEOUT_MS: u64 = 300_000;
/// The per-request timeout when none is configured, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// Headers the sink sets itself; an extra static header may not replace them.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "idempotency-key",
    "throughline-event-id",
    "throughline-event-kind",
    "throughline-schema-version",
    "throughline-signature",
    "traceparent",
];

/// Where and how to deliver notifications to one agency's webhook endpoint.
///
/// ```toml
/// url = "https://camhs-north.example.org/throughline/notifications"
/// secret = "at-least-sixteen-bytes-of-key"
/// timeout_ms = 5000
/// headers = { "X-Agency-Route" = "referrals" }
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The absolute `http` or `https` URL notifications are POSTed to. Redirects are not
    /// followed, so this must be the endpoint itself.
    pub url: String,
    /// The HMAC-SHA256 key used to sign every request (`Throughline-Signature`), shared with the
    /// receiving agency; at least 16 bytes. The hub resolves it from the environment or a secret
    /// file before the sink is built, so it is never written in a config file.
    pub secret: String,
    /// How long one delivery attempt may take, connecting included, in milliseconds
    /// (1 to 300000; default 10000). An attempt that takes longer is retried later.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra static headers sent with every request, such as a routing key the receiver asked
    /// for. They may not replace the headers the sink sets itself (`Content-Type`,
    /// `Idempotency-Key`, `Throughline-*`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

impl fmt::Debug for WebhookConfig {
    /// Never prints the secret, nor the URL's query string (which may carry a token).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        f.debug_struct("WebhookConfig")
            .field("url", &url)
            .field("secret", &"<redacted>")
            .field("timeout_ms", &self.timeout_ms)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a webhook configuration was rejected. Each message names the config key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    /// `url` is not an absolute http or https URL.
    #[error("`url`: {reason}")]
    Url { reason: String },
    /// `secret` is shorter than [`MIN_SECRET_BYTES`].
    #[error("`secret`: must be at least {MIN_SECRET_BYTES} bytes, found {found}")]
    SecretTooShort { found: usize },
    /// `timeout_ms` is outside 1..=[`MAX_TIMEOUT_MS`].
    #[error("`timeout_ms`: must be between 1 and {MAX_TIMEOUT_MS}, found {found}")]
    TimeoutOutOfRange { found: u64 },
    /// An entry of `headers` is not a valid or permitted header.
    #[error("`headers.{name}`: {reason}")]
    Header { name: String, reason: String },
    /// The HTTP client could not be built (for example, no TLS provider is available).
    #[error("the HTTP client could not be built: {reason}")]
    Client { reason: String },
}

impl WebhookConfigError {
    /// The config key the error is about (`url`, `secret`, `timeout_ms`, `headers`), or `None`
    /// when it is not about one key.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            Self::Url { .. } => Some("url"),
            Self::SecretTooShort { .. } => Some("secret"),
            Self::TimeoutOutOfRange { .. } => Some("timeout_ms"),
            Self::Header { .. } => Some("headers"),
            Self::Client { .. } => None,
        }
    }
}

impl WebhookConfig {
    /// A configuration with the default timeout and no extra headers.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            headers: BTreeMap::new(),
        }
    }

    /// Validates the configuration and builds the sink (and its HTTP client, once).
    pub fn build(&self) -> Result<WebhookSink, WebhookConfigError> {
        let url = parse_url(&self.url)?;
        if self.secret.len() < MIN_SECRET_BYTES {
            return Err(WebhookConfigError::SecretTooShort {
                found: self.secret.len(),
            });
        }
        if !(1..=MAX_TIMEOUT_MS).contains(&self.timeout_ms) {
            return Err(WebhookConfigError::TimeoutOutOfRange {
                found: self.timeout_ms,
            });
        }
        let headers = parse_headers(&self.headers)?;
        WebhookSink::from_parts(
            url,
            self.secret.as_bytes().to_vec(),
            Duration::from_millis(self.timeout_ms),
            headers,
        )
    }
}

/// Parses the endpoint URL. The reason never repeats the URL: its query may carry a token.
fn parse_url(raw: &str) -> Result<Url, WebhookConfigError> {
    let url = Url::parse(raw).map_err(|e| WebhookConfigError::Url {
        reason: format!("must be an absolute http or https URL ({e})"),
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(WebhookConfigError::Url {
                reason: format!("must use http or https, found scheme `{other}`"),
            });
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(WebhookConfigError::Url {
            reason: "must name a host".to_owned(),
        });
    }
    Ok(url)
}

fn parse_headers(raw: &BTreeMap<String, String>) -> Result<HeaderMap, WebhookConfigError> {
    let mut headers = HeaderMap::new();
    for (name, value) in raw {
        let header_error = |reason: &str| WebhookConfigError::Header {
            name: name.clone(),
            reason: reason.to_owned(),
        };
        let header_name = HeaderName::try_from(name.as_str())
            .map_err(|_| header_error("is not a valid header name"))?;
        if RESERVED_HEADERS.contains(&header_name.as_str()) {
            return Err(header_error(
                "is set by the sink itself and may not be replaced",
            ));
        }
        let header_value = HeaderValue::try_from(value.as_str())
            .map_err(|_| header_error("value must be visible ASCII characters, spaces or tabs"))?;
        headers.insert(header_name, header_value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef";

    fn config(url: &str) -> WebhookConfig {
        WebhookConfig::new(url, SECRET)
    }

    #[test]
    fn builds_a_valid_config() {
        assert!(config("https://agency.example/hooks").build().is_ok());
        assert!(
            config("http://127.0.0.1:8080/hooks?route=a")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn rejects_a_relative_url_naming_the_url_key() {
        let err = config("/hooks").build().unwrap_err();
        assert_eq!(err.key(), Some("url"));
        assert!(err.to_string().starts_with("`url`: "), "{err}");
    }

    #[test]
    fn rejects_a_non_http_scheme_naming_the_url_key() {
        let err = config("ftp://agency.example/hooks").build().unwrap_err();
        assert_eq!(err.key(), Some("url"));
        assert!(err.to_string().contains("found scheme `ftp`"), "{err}");
    }

    #[test]
    fn url_error_does_not_repeat_the_query_string() {
        let err = config("mailto:x?token=hunter2hunter2").build().unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn rejects_a_short_secret_naming_the_secret_key() {
        let mut c = config("https://agency.example/hooks");
        c.secret = "short".to_owned();
        let err = c.build().unwrap_err();
        assert_eq!(err, WebhookConfigError::SecretTooShort { found: 5 });
        assert_eq!(err.key(), Some("secret"));
        assert!(err.to_string().contains("`secret`"), "{err}");
        assert!(!err.to_string().contains("short"), "{err}");
    }

    #[test]
    fn rejects_timeouts_outside_range_naming_the_timeout_key() {
        for bad in [0, MAX_TIMEOUT_MS + 1] {
            let mut c = config("https://agency.example/hooks");
            c.timeout_ms = bad;
            let err = c.build().unwrap_err();
            assert_eq!(err, WebhookConfigError::TimeoutOutOfRange { found: bad });
            assert!(err.to_string().contains("`timeout_ms`"), "{err}");
        }
        for good in [1, MAX_TIMEOUT_MS] {
            let mut c = config("https://agency.example/hooks");
            c.timeout_ms = good;
            assert!(c.build().is_ok());
        }
    }

    #[test]
    fn rejects_invalid_or_reserved_extra_headers() {
        let mut c = config("https://agency.example/hooks");
        c.headers.insert("Bad Header".into(), "x".into());
        let err = c.build().unwrap_err();
        assert_eq!(err.key(), Some("headers"));
        assert!(err.to_string().contains("`headers.Bad Header`"), "{err}");

        let mut c = config("https://agency.example/hooks");
        c.headers.insert("Idempotency-Key".into(), "x".into());
        assert_eq!(c.build().unwrap_err().key(), Some("headers"));

        let mut c = config("https://agency.example/hooks");
        c.headers.insert("X-Route".into(), "line\nbreak".into());
        assert_eq!(c.build().unwrap_err().key(), Some("headers"));
    }

    #[test]
    fn deserialises_with_defaults_and_rejects_unknown_keys() {
        let c: WebhookConfig = serde_json::from_value(serde_json::json!({
            "url": "https://agency.example/hooks",
            "secret": SECRET,
        }))
        .unwrap();
        assert_eq!(c.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(c.headers.is_empty());

        let err = serde_json::from_value::<WebhookConfig>(serde_json::json!({
            "url": "https://agency.example/hooks",
            "secret": SECRET,
            "timeout": 5,
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `timeout`"), "{err}");
    }

    #[test]
    fn debug_redacts_the_secret_and_query() {
        let c = config("https://agency.example/hooks?token=abc");
        let shown = format!("{c:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("token=abc"), "{shown}");
    }
}
