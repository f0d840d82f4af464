//! The AMQP source's and sink's configuration, and the one place it is checked.
//!
//! Everything that can be wrong with the configuration itself (a URL that is not AMQP, a name
//! longer than AMQP allows, a prefetch of zero that would mean "unbounded") is caught by the
//! `validate` functions before any connection is made, with an error naming the key. What only
//! the broker can answer (does the exchange exist, does a declared queue match the existing one)
//! is checked at connect and reported with the key too; see [`AmqpError`].
//!
//! The broker URL carries a password, so nothing here ever prints it: the configs' `Debug`
//! shows the URL with the password replaced, and no error repeats the URL.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lapin::tcp::OwnedTLSConfig;
use lapin::uri::{AMQPScheme, AMQPUri};
use serde::Deserialize;

use crate::error::AmqpError;
use crate::sink::AmqpSink;
use crate::source::AmqpSource;
use crate::topology::TopologyConfig;

/// The longest name AMQP 0-9-1 carries (a short string), in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// The prefetch when none is configured: how many unsettled inputs the broker sends at once.
pub const DEFAULT_PREFETCH: u16 = 32;
/// The publisher-confirm timeout when none is configured, in milliseconds.
pub const DEFAULT_CONFIRM_TIMEOUT_MS: u64 = 10_000;
/// The longest publisher-confirm timeout accepted, in milliseconds (five minutes).
pub const MAX_CONFIRM_TIMEOUT_MS: u64 = 300_000;
/// The pause before an input is handed back to the broker when none is configured, in
/// milliseconds.
pub const DEFAULT_REQUEUE_DELAY_MS: u64 = 1_000;
/// The longest pause before requeueing accepted, in milliseconds (one minute).
pub const MAX_REQUEUE_DELAY_MS: u64 = 60_000;

/// How to reach the broker.
///
/// ```toml
/// url = "amqps://throughline:${RABBITMQ_PASSWORD}@rabbitmq.example.org:5671/children"
/// tls_ca_file = "/etc/throughline/rabbitmq-ca.pem"
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpConnectionConfig {
    /// The broker's AMQP URI: `amqp://user:password@host:5672/vhost`, or `amqps://...` (port
    /// 5671 by default) for TLS. The vhost is percent-encoded (`%2f` for `/`). The hub resolves
    /// `${ENV}` secrets before the adapter sees it, so the password is never written in a
    /// config file; it is never logged or printed either.
    pub url: String,
    /// A PEM file with extra CA certificates to trust for `amqps` (a private CA); the platform's
    /// trust store is used as well. Only with an `amqps` URL.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

impl fmt::Debug for AmqpConnectionConfig {
    /// Never prints the URL's password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConnectionConfig")
            .field("url", &redact_url(&self.url))
            .field("tls_ca_file", &self.tls_ca_file)
            .finish()
    }
}

impl AmqpConnectionConfig {
    /// A plain connection configuration for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            tls_ca_file: None,
        }
    }

    /// Checks the URL and the TLS settings; `prefix` is the key this config sits under.
    pub fn validate(&self, prefix: &str) -> Result<(), AmqpConfigError> {
        let uri = parse_url(&format!("{prefix}.url"), &self.url)?;
        if self.tls_ca_file.is_some() && uri.scheme != AMQPScheme::AMQPS {
            return Err(AmqpConfigError::invalid(
                format!("{prefix}.tls_ca_file"),
                "is only used with an amqps:// URL",
            ));
        }
        Ok(())
    }

    /// The parsed URI and TLS settings, reading the CA file. Assumes `validate` passed.
    pub(crate) fn resolve(&self, prefix: &str) -> Result<(AMQPUri, OwnedTLSConfig), AmqpError> {
        let uri = parse_url(&format!("{prefix}.url"), &self.url)?;
        let mut tls = OwnedTLSConfig::default();
        if let Some(path) = &self.tls_ca_file {
            let key = format!("{prefix}.tls_ca_file");
            let pem = std::fs::read_to_string(path).map_err(|e| {
                AmqpConfigError::invalid(&key, format!("could not be read ({})", e.kind()))
            })?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(AmqpConfigError::invalid(key, "holds no PEM certificate").into());
            }
            tls.cert_chain = Some(pem);
        }
        Ok((uri, tls))
    }
}

/// Where an AMQP source consumes agency inputs from, and where it dead-letters the ones the hub
/// quarantines.
///
/// ```toml
/// queue = "referrals.inbound"
/// prefetch = 32
/// dead_letter_exchange = "throughline.quarantine"
/// connection = { url = "amqp://throughline:${RABBITMQ_PASSWORD}@127.0.0.1:5672/%2f" }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSourceConfig {
    /// How to reach the broker.
    pub connection: AmqpConnectionConfig,
    /// The queue to consume from (it must exist, or be declared under `declare`).
    pub queue: String,
    /// How many inputs the broker may have handed over and not yet had settled (1 to 65535;
    /// default 32). Bounds the memory and the redelivery after a crash.
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    /// The exchange a copy of each quarantined input is published to, with the quarantine id,
    /// step and reasons as `x-throughline-*` headers, before the input is acknowledged. It must
    /// exist (or be declared under `declare`) and route to a queue, or nothing is acknowledged.
    pub dead_letter_exchange: String,
    /// The routing key for those copies; the source `queue`'s name when absent.
    #[serde(default)]
    pub dead_letter_routing_key: Option<String>,
    /// How long to wait before handing an input back to the broker when the hub could not
    /// commit it, in milliseconds (0 to 60000; default 1000), so a store outage does not become
    /// a hot redelivery loop.
    #[serde(default = "default_requeue_delay_ms")]
    pub requeue_delay_ms: u64,
    /// Exchanges, queues and bindings to declare at start-up (none by default).
    #[serde(default)]
    pub declare: TopologyConfig,
}

fn default_prefetch() -> u16 {
    DEFAULT_PREFETCH
}

fn default_requeue_delay_ms() -> u64 {
    DEFAULT_REQUEUE_DELAY_MS
}

impl AmqpSourceConfig {
    /// A source for `queue` with default prefetch, requeue delay and dead-letter routing key,
    /// and nothing to declare.
    pub fn new(
        url: impl Into<String>,
        queue: impl Into<String>,
        dead_letter_exchange: impl Into<String>,
    ) -> Self {
        Self {
            connection: AmqpConnectionConfig::new(url),
            queue: queue.into(),
            prefetch: DEFAULT_PREFETCH,
            dead_letter_exchange: dead_letter_exchange.into(),
            dead_letter_routing_key: None,
            requeue_delay_ms: DEFAULT_REQUEUE_DELAY_MS,
            declare: TopologyConfig::default(),
        }
    }

    /// The routing key quarantined copies are published with.
    pub fn dead_letter_routing_key(&self) -> &str {
        self.dead_letter_routing_key
            .as_deref()
            .unwrap_or(&self.queue)
    }

    /// The pause before requeueing.
    pub fn requeue_delay(&self) -> Duration {
        Duration::from_millis(self.requeue_delay_ms)
    }

    /// Checks everything that can be checked without the broker.
    pub fn validate(&self) -> Result<(), AmqpConfigError> {
        self.connection.validate("connection")?;
        check_name("queue", &self.queue, false)?;
        if self.prefetch == 0 {
            return Err(AmqpConfigError::invalid(
                "prefetch",
                "must be between 1 and 65535, found 0 (0 would mean unbounded)",
            ));
        }
        check_name("dead_letter_exchange", &self.dead_letter_exchange, true)?;
        if self.dead_letter_exchange.is_empty() {
            return Err(AmqpConfigError::invalid(
                "dead_letter_exchange",
                "must name an exchange; the default exchange would route quarantined inputs by \
                 queue name, back to where they came from",
            ));
        }
        if let Some(routing_key) = &self.dead_letter_routing_key {
            check_name("dead_letter_routing_key", routing_key, true)?;
        }
        if self.requeue_delay_ms > MAX_REQUEUE_DELAY_MS {
            return Err(AmqpConfigError::invalid(
                "requeue_delay_ms",
                format!(
                    "must be between 0 and {MAX_REQUEUE_DELAY_MS}, found {}",
                    self.requeue_delay_ms
                ),
            ));
        }
        self.declare.validate("declare")
    }

    /// Validates the configuration and connects the source; the same as
    /// [`AmqpSource::connect`].
    pub async fn build(&self, source_id: impl Into<String>) -> Result<AmqpSource, AmqpError> {
        AmqpSource::connect(source_id.into(), self).await
    }
}

/// Where an AMQP sink publishes notifications for one agency.
///
/// ```toml
/// exchange = "agency.camhs-north"
/// routing_key = "notifications"
/// confirm_timeout_ms = 10000
/// connection = { url = "amqps://throughline:${CAMHS_AMQP_PASSWORD}@mq.camhs.example.org/%2f" }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSinkConfig {
    /// How to reach the broker.
    pub connection: AmqpConnectionConfig,
    /// The exchange notifications are published to; it must exist (or be declared under
    /// `declare`). Empty for the broker's default exchange, which routes by queue name.
    pub exchange: String,
    /// The routing key every notification is published with (may be empty).
    pub routing_key: String,
    /// How long to wait for the broker to confirm one publish, in milliseconds (1 to 300000;
    /// default 10000). An unconfirmed publish is retried later.
    #[serde(default = "default_confirm_timeout_ms")]
    pub confirm_timeout_ms: u64,
    /// Exchanges, queues and bindings to declare at start-up (none by default).
    #[serde(default)]
    pub declare: TopologyConfig,
}

fn default_confirm_timeout_ms() -> u64 {
    DEFAULT_CONFIRM_TIMEOUT_MS
}

impl AmqpSinkConfig {
    /// A sink publishing to `exchange` with `routing_key`, the default confirm timeout and
    /// nothing to declare.
    pub fn new(
        url: impl Into<String>,
        exchange: impl Into<String>,
        routing_key: impl Into<String>,
    ) -> Self {
        Self {
            connection: AmqpConnectionConfig::new(url),
            exchange: exchange.into(),
            routing_key: routing_key.into(),
            confirm_timeout_ms: DEFAULT_CONFIRM_TIMEOUT_MS,
            declare: TopologyConfig::default(),
        }
    }

    /// The publisher-confirm timeout.
    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_millis(self.confirm_timeout_ms)
    }

    /// Checks everything that can be checked without the broker.
    pub fn validate(&self) -> Result<(), AmqpConfigError> {
        self.connection.validate("connection")?;
        check_name("exchange", &self.exchange, true)?;
        check_name("routing_key", &self.routing_key, true)?;
        if !(1..=MAX_CONFIRM_TIMEOUT_MS).contains(&self.confirm_timeout_ms) {
            return Err(AmqpConfigError::invalid(
                "confirm_timeout_ms",
                format!(
                    "must be between 1 and {MAX_CONFIRM_TIMEOUT_MS}, found {}",
                    self.confirm_timeout_ms
                ),
            ));
        }
        self.declare.validate("declare")
    }

    /// Validates the configuration and connects the sink; the same as [`AmqpSink::connect`].
    pub async fn build(&self) -> Result<AmqpSink, AmqpError> {
        AmqpSink::connect(self).await
    }
}

/// Why an AMQP configuration was rejected: the config key (`connection.url`, `prefetch`,
/// `declare.queues[0].name`...) and what was wrong with it. Never repeats the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {reason}")]
pub struct AmqpConfigError {
    key: String,
    reason: String,
}

impl AmqpConfigError {
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The config key the error is about.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What was wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A name AMQP can carry: at most 255 bytes, and not empty unless `allow_empty`.
pub(crate) fn check_name(key: &str, name: &str, allow_empty: bool) -> Result<(), AmqpConfigError> {
    if name.is_empty() && !allow_empty {
        return Err(AmqpConfigError::invalid(key, "must not be empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(AmqpConfigError::invalid(
            key,
            format!(
                "must be at most {MAX_NAME_BYTES} bytes, found {}",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// Parses an AMQP URI. The reasons never repeat the URL: it carries a password.
///
/// The host is taken from a standard URL parse: `amq-protocol-uri` 10.6 reads it with
/// `Url::domain()`, which is `None` for an IP address, and so turns `amqp://10.0.0.5` into
/// `localhost`.
fn parse_url(key: &str, raw: &str) -> Result<AMQPUri, AmqpConfigError> {
    let url = url::Url::parse(raw).map_err(|e| {
        AmqpConfigError::invalid(
            key,
            format!("must be an absolute amqp:// or amqps:// URL ({e})"),
        )
    })?;
    if !matches!(url.scheme(), "amqp" | "amqps") {
        return Err(AmqpConfigError::invalid(
            key,
            format!("must use amqp or amqps, found scheme `{}`", url.scheme()),
        ));
    }
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(url::Host::Domain(domain)) if !domain.is_empty() => String::new(),
        _ => return Err(AmqpConfigError::invalid(key, "must name a host")),
    };
    let mut uri = AMQPUri::from_str(raw).map_err(|_| {
        AmqpConfigError::invalid(
            key,
            "is not a valid AMQP URI: check the percent-encoding of the user, password and \
             vhost, and the query parameters (heartbeat, frame_max, channel_max, \
             connection_timeout, auth_mechanism)",
        )
    })?;
    if !host.is_empty() {
        uri.authority.host = host;
    }
    Ok(uri)
}

/// The URL with its password replaced by `***`, for display; `<invalid URL>` when it does not
/// parse (so a malformed URL with a password in it is not shown either).
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<invalid URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "amqp://hub:s3cr3t-pass@127.0.0.1:5672/%2f";

    fn source() -> AmqpSourceConfig {
        AmqpSourceConfig::new(URL, "inputs", "quarantine")
    }

    fn sink() -> AmqpSinkConfig {
        AmqpSinkConfig::new(URL, "agency.x", "notifications")
    }

    #[test]
    fn valid_source_and_sink_configs_pass() {
        assert_eq!(source().validate(), Ok(()));
        assert_eq!(sink().validate(), Ok(()));
        let mut default_exchange = sink();
        default_exchange.exchange = String::new();
        assert_eq!(default_exchange.validate(), Ok(()));
    }

    #[test]
    fn a_non_amqp_url_is_rejected_naming_the_url_key() {
        for bad in ["http://host/", "/relative", "amqp://", "amqp:no-host"] {
            let mut c = source();
            c.connection.url = bad.into();
            let err = c.validate().unwrap_err();
            assert_eq!(err.key(), "connection.url", "{bad}: {err}");
        }
    }

    #[test]
    fn url_errors_never_repeat_the_password() {
        for bad in [
            "amqp://hub:s3cr3t-pass@host/%2f?heartbeat=soon",
            "amqp://hub:s3cr3t-pass@host/%2f?auth_mechanism=bogus",
            "ftp://hub:s3cr3t-pass@host/",
        ] {
            let mut c = source();
            c.connection.url = bad.into();
            let err = c.validate().unwrap_err();
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn an_ip_host_is_kept_rather_than_becoming_localhost() {
        let uri = parse_url("url", "amqp://u:p@10.1.2.3:5673/vh").unwrap();
        assert_eq!(uri.authority.host, "10.1.2.3");
        assert_eq!(uri.authority.port, 5673);
        assert_eq!(uri.vhost, "vh");
        let uri = parse_url("url", "amqps://u:p@[::1]/%2f").unwrap();
        assert_eq!(uri.authority.host, "::1");
        assert_eq!(uri.authority.port, 5671);
        let uri = parse_url("url", "amqp://u:p@rabbit.example.org/%2f").unwrap();
        assert_eq!(uri.authority.host, "rabbit.example.org");
        assert_eq!(uri.vhost, "/");
    }

    #[test]
    fn a_ca_file_needs_an_amqps_url() {
        let mut c = source();
        c.connection.tls_ca_file = Some("/etc/ca.pem".into());
        assert_eq!(c.validate().unwrap_err().key(), "connection.tls_ca_file");
        c.connection.url = "amqps://hub:pw@rabbit.example.org/%2f".into();
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn an_unreadable_ca_file_is_reported_at_resolve_naming_its_key() {
        let mut c = AmqpConnectionConfig::new("amqps://hub:pw@rabbit.example.org/%2f");
        c.tls_ca_file = Some("/nonexistent/throughline-ca.pem".into());
        let err = c.resolve("connection").unwrap_err();
        assert_eq!(err.key(), Some("connection.tls_ca_file"));
    }

    #[test]
    fn a_zero_prefetch_is_rejected() {
        let mut c = source();
        c.prefetch = 0;
        let err = c.validate().unwrap_err();
        assert_eq!(err.key(), "prefetch");
        assert!(err.to_string().contains("found 0"), "{err}");
    }

    #[test]
    fn the_dead_letter_exchange_must_be_named() {
        let mut c = source();
        c.dead_letter_exchange = String::new();
        assert_eq!(c.validate().unwrap_err().key(), "dead_letter_exchange");
    }

    #[test]
    fn the_dead_letter_routing_key_defaults_to_the_queue() {
        let mut c = source();
        assert_eq!(c.dead_letter_routing_key(), "inputs");
        c.dead_letter_routing_key = Some("quarantined.inputs".into());
        assert_eq!(c.dead_letter_routing_key(), "quarantined.inputs");
    }

    #[test]
    fn out_of_range_timings_are_rejected_naming_their_keys() {
        let mut c = source();
        c.requeue_delay_ms = MAX_REQUEUE_DELAY_MS + 1;
        assert_eq!(c.validate().unwrap_err().key(), "requeue_delay_ms");
        for bad in [0, MAX_CONFIRM_TIMEOUT_MS + 1] {
            let mut c = sink();
            c.confirm_timeout_ms = bad;
            let err = c.validate().unwrap_err();
            assert_eq!(err.key(), "confirm_timeout_ms");
            assert!(err.to_string().contains(&format!("found {bad}")), "{err}");
        }
    }

    #[test]
    fn overlong_names_are_rejected() {
        let mut c = sink();
        c.routing_key = "k".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(c.validate().unwrap_err().key(), "routing_key");
        let mut c = source();
        c.queue = "q".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(c.validate().unwrap_err().key(), "queue");
    }

    #[test]
    fn topology_errors_name_the_declare_key() {
        let mut c = sink();
        c.declare.queues.push(crate::topology::QueueConfig {
            name: "amq.mine".into(),
            durable: true,
            dead_letter_exchange: None,
            dead_letter_routing_key: None,
        });
        assert_eq!(c.validate().unwrap_err().key(), "declare.queues[0].name");
    }

    #[test]
    fn deserialises_with_defaults_and_rejects_unknown_keys() {
        let c: AmqpSourceConfig = serde_json::from_value(serde_json::json!({
            "connection": { "url": URL },
            "queue": "inputs",
            "dead_letter_exchange": "quarantine",
        }))
        .unwrap();
        assert_eq!(c.prefetch, DEFAULT_PREFETCH);
        assert_eq!(c.requeue_delay_ms, DEFAULT_REQUEUE_DELAY_MS);
        assert_eq!(c.dead_letter_routing_key(), "inputs");
        assert_eq!(c.declare, TopologyConfig::default());

        let err = serde_json::from_value::<AmqpSourceConfig>(serde_json::json!({
            "connection": { "url": URL },
            "queue": "inputs",
        }))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("missing field `dead_letter_exchange`"),
            "{err}"
        );

        let err = serde_json::from_value::<AmqpSinkConfig>(serde_json::json!({
            "connection": { "url": URL },
            "exchange": "x",
            "routing_key": "k",
            "confirm_timeout": 5,
        }))
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `confirm_timeout`"),
            "{err}"
        );
        let c: AmqpSinkConfig = serde_json::from_value(serde_json::json!({
            "connection": { "url": URL },
            "exchange": "x",
            "routing_key": "k",
        }))
        .unwrap();
        assert_eq!(c.confirm_timeout_ms, DEFAULT_CONFIRM_TIMEOUT_MS);
    }

    #[test]
    fn debug_hides_the_password() {
        for shown in [
            format!("{:?}", source()),
            format!("{:?}", sink()),
            format!("{:?}", source().connection),
        ] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains("hub:***@127.0.0.1"), "{shown}");
        }
        assert_eq!(redact_url("amqp://u:p@h:x:y"), "<invalid URL>");
        assert_eq!(redact_url("amqp://h/%2f"), "amqp://h/%2f");
    }
}
