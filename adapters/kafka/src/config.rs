//! The Kafka source's and sink's configuration, and the one place it is checked.
//!
//! Everything that can be wrong with the configuration itself is caught by
//! [`KafkaSourceConfig::validate`] and [`KafkaSinkConfig::validate`] (called by `connect`) with an
//! error naming the key. What only the cluster can tell (is the broker reachable, does the topic
//! exist) is checked once by `connect`, at start-up, rather than surfacing later as a consumer
//! that silently reads nothing or deliveries that time out.
//!
//! `client_options` pass librdkafka settings through unchanged (TLS, SASL, tuning), except the
//! ones the adapter owns because its delivery guarantees depend on them: those are refused rather
//! than silently overridden, so a config file never says something the adapter does not do.

use std::collections::BTreeMap;
use std::fmt;

use rdkafka::ClientConfig;
use serde::Deserialize;

/// The default `message_timeout_ms` of a sink: how long one delivery may take, retries included.
pub const DEFAULT_MESSAGE_TIMEOUT_MS: u64 = 30_000;
/// The longest `message_timeout_ms` accepted (five minutes, Kafka's own default delivery timeout).
pub const MAX_MESSAGE_TIMEOUT_MS: u64 = 300_000;
/// The longest Kafka topic name.
const MAX_TOPIC_NAME_LEN: usize = 249;

/// librdkafka settings a source sets itself: its at-least-once guarantee and its start-up checks
/// depend on them. Aliases librdkafka accepts for the same setting are listed too.
pub const SOURCE_OWNED_OPTIONS: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "allow.auto.create.topics",
    "statistics.interval.ms",
];

/// librdkafka settings a sink sets itself: its ordering and durability guarantees and its
/// start-up checks depend on them. Aliases librdkafka accepts for the same setting are listed too.
pub const SINK_OWNED_OPTIONS: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "transactional.id",
    "allow.auto.create.topics",
    "statistics.interval.ms",
];

/// Where a Kafka source reads agency input from.
///
/// ```toml
/// bootstrap_servers = "kafka-1.example.org:9093,kafka-2.example.org:9093"
/// topics = ["st-marys-primary.attendance"]
/// group_id = "throughline-st-marys"
/// client_options = { "security.protocol" = "sasl_ssl", "sasl.mechanism" = "SCRAM-SHA-512" }
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// The brokers to bootstrap from, as librdkafka's comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// The topics to consume; each must already exist (the adapter never creates topics).
    pub topics: Vec<String>,
    /// The consumer group. Offsets are committed for this group only after the hub has settled
    /// the input, so a restarted hub resumes where it left off. Give every Throughline source its
    /// own group.
    pub group_id: String,
    /// Extra librdkafka settings, passed through unchanged: typically `security.protocol`,
    /// `sasl.*` and `ssl.*`. Settings the adapter owns ([`SOURCE_OWNED_OPTIONS`]) are refused.
    #[serde(default)]
    pub client_options: BTreeMap<String, String>,
}

/// Where a Kafka sink publishes notifications for one agency.
///
/// ```toml
/// bootstrap_servers = "kafka-1.example.org:9093"
/// topic = "camhs-north.notifications"
/// message_timeout_ms = 30000
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// The brokers to bootstrap from, as librdkafka's comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// The topic notifications are published to; it must already exist.
    pub topic: String,
    /// How long one delivery may take, librdkafka's own retries included, in milliseconds
    /// (1 to 300000; default 30000). A delivery that takes longer is retried later by the hub.
    #[serde(default = "default_message_timeout_ms")]
    pub message_timeout_ms: u64,
    /// Extra librdkafka settings, passed through unchanged: typically `security.protocol`,
    /// `sasl.*`, `ssl.*`, `compression.type`. Settings the adapter owns ([`SINK_OWNED_OPTIONS`])
    /// are refused.
    #[serde(default)]
    pub client_options: BTreeMap<String, String>,
}

fn default_message_timeout_ms() -> u64 {
    DEFAULT_MESSAGE_TIMEOUT_MS
}

/// Why a Kafka configuration was rejected. Each message names the config key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KafkaConfigError {
    /// A required text value is empty.
    #[error("`{key}`: must not be empty")]
    Empty { key: &'static str },
    /// `topics` lists no topic.
    #[error("`topics`: must list at least one topic")]
    NoTopics,
    /// A topic name is not one Kafka accepts.
    #[error(
        "`{key}`: {topic:?} is not a valid topic name (1 to 249 of `a-z A-Z 0-9 . _ -`, not `.` or `..`)"
    )]
    TopicName { key: &'static str, topic: String },
    /// `topics` names the same topic twice.
    #[error("`topics`: {topic:?} is listed twice")]
    DuplicateTopic { topic: String },
    /// `message_timeout_ms` is outside 1..=[`MAX_MESSAGE_TIMEOUT_MS`].
    #[error("`message_timeout_ms`: must be between 1 and {MAX_MESSAGE_TIMEOUT_MS}, found {found}")]
    MessageTimeout { found: u64 },
    /// A `client_options` entry sets something the adapter owns.
    #[error("`client_options.\"{option}\"`: set by the adapter itself and cannot be configured")]
    OwnedOption { option: String },
    /// librdkafka refused a `client_options` entry (unknown setting or invalid value).
    #[error("`client_options.\"{option}\"`: {reason}")]
    InvalidOption { option: String, reason: String },
}

impl KafkaConfigError {
    /// The config key the error is about (`bootstrap_servers`, `topics`, `topic`, `group_id`,
    /// `message_timeout_ms`, `client_options`).
    pub fn key(&self) -> &'static str {
        match self {
            Self::Empty { key } | Self::TopicName { key, .. } => key,
            Self::NoTopics | Self::DuplicateTopic { .. } => "topics",
            Self::MessageTimeout { .. } => "message_timeout_ms",
            Self::OwnedOption { .. } | Self::InvalidOption { .. } => "client_options",
        }
    }
}

impl KafkaSourceConfig {
    /// A configuration with no extra client options.
    pub fn new(
        bootstrap_servers: impl Into<String>,
        topics: impl IntoIterator<Item = impl Into<String>>,
        group_id: impl Into<String>,
    ) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            topics: topics.into_iter().map(Into::into).collect(),
            group_id: group_id.into(),
            client_options: BTreeMap::new(),
        }
    }

    /// Checks everything that can be checked without a broker.
    pub fn validate(&self) -> Result<(), KafkaConfigError> {
        non_empty("bootstrap_servers", &self.bootstrap_servers)?;
        if self.topics.is_empty() {
            return Err(KafkaConfigError::NoTopics);
        }
        for (i, topic) in self.topics.iter().enumerate() {
            topic_name("topics", topic)?;
            if self.topics[..i].contains(topic) {
                return Err(KafkaConfigError::DuplicateTopic {
                    topic: topic.clone(),
                });
            }
        }
        non_empty("group_id", &self.group_id)?;
        options(&self.client_options, SOURCE_OWNED_OPTIONS)
    }

    /// The librdkafka configuration of the consumer: the operator's options, then the settings
    /// the adapter owns (which validation guarantees the options do not repeat).
    pub(crate) fn client_config(&self, source_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("client.id", format!("throughline-{source_id}"));
        for (key, value) in &self.client_options {
            config.set(key, value);
        }
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("group.id", &self.group_id)
            // Offsets are stored only when the hub settles an input (see `source`); the
            // periodic auto-commit then commits whatever has been stored, and nothing else.
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            // A new group starts at the beginning: nothing already on the topic is skipped.
            .set("auto.offset.reset", "earliest")
            .set("allow.auto.create.topics", "false")
            .set("statistics.interval.ms", crate::status::STATS_INTERVAL_MS);
        config
    }
}

impl KafkaSinkConfig {
    /// A configuration with the default message timeout and no extra client options.
    pub fn new(bootstrap_servers: impl Into<String>, topic: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            topic: topic.into(),
            message_timeout_ms: DEFAULT_MESSAGE_TIMEOUT_MS,
            client_options: BTreeMap::new(),
        }
    }

    /// Checks everything that can be checked without a broker.
    pub fn validate(&self) -> Result<(), KafkaConfigError> {
        non_empty("bootstrap_servers", &self.bootstrap_servers)?;
        topic_name("topic", &self.topic)?;
        if !(1..=MAX_MESSAGE_TIMEOUT_MS).contains(&self.message_timeout_ms) {
            return Err(KafkaConfigError::MessageTimeout {
                found: self.message_timeout_ms,
            });
        }
        options(&self.client_options, SINK_OWNED_OPTIONS)
    }

    /// The librdkafka configuration of the producer: the operator's options, then the settings
    /// the adapter owns.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("client.id", "throughline-sink");
        for (key, value) in &self.client_options {
            config.set(key, value);
        }
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            // Idempotence: librdkafka's internal retries never duplicate or reorder a message
            // within a partition. It implies `max.in.flight <= 5` and retries.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", self.message_timeout_ms.to_string())
            .set("allow.auto.create.topics", "false")
            .set("statistics.interval.ms", crate::status::STATS_INTERVAL_MS);
        config
    }
}

impl fmt::Debug for KafkaSourceConfig {
    /// Never prints secret-bearing client options (`sasl.password` and the like).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSourceConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("topics", &self.topics)
            .field("group_id", &self.group_id)
            .field("client_options", &RedactedOptions(&self.client_options))
            .finish()
    }
}

impl fmt::Debug for KafkaSinkConfig {
    /// Never prints secret-bearing client options (`sasl.password` and the like).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSinkConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("topic", &self.topic)
            .field("message_timeout_ms", &self.message_timeout_ms)
            .field("client_options", &RedactedOptions(&self.client_options))
            .finish()
    }
}

/// Prints client options with the values of secret-bearing keys replaced by `<redacted>`.
struct RedactedOptions<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for RedactedOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(key, value)| {
                let shown = if is_secret_option(key) {
                    "<redacted>"
                } else {
                    value.as_str()
                };
                (key, shown)
            }))
            .finish()
    }
}

/// Whether a librdkafka setting may carry a secret: passwords, keys, tokens, JAAS and OAuth
/// configuration. Errs on the side of hiding.
pub(crate) fn is_secret_option(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "key",
        "token",
        "jaas",
        "oauthbearer.config",
        "pem",
    ]
    .iter()
    .any(|word| key.contains(word))
}

fn non_empty(key: &'static str, value: &str) -> Result<(), KafkaConfigError> {
    if value.trim().is_empty() {
        Err(KafkaConfigError::Empty { key })
    } else {
        Ok(())
    }
}

/// Kafka's own rule for topic names.
fn topic_name(key: &'static str, topic: &str) -> Result<(), KafkaConfigError> {
    let valid = !topic.is_empty()
        && topic.len() <= MAX_TOPIC_NAME_LEN
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(KafkaConfigError::TopicName {
            key,
            topic: topic.to_owned(),
        })
    }
}

/// Refuses owned settings, then lets librdkafka itself check every remaining key and value, so
/// a typo is caught here with its key rather than when the client is created.
fn options(options: &BTreeMap<String, String>, owned: &[&str]) -> Result<(), KafkaConfigError> {
    for (key, value) in options {
        let normalised = key.trim().to_ascii_lowercase();
        if owned.contains(&normalised.as_str()) {
            return Err(KafkaConfigError::OwnedOption {
                option: key.clone(),
            });
        }
        let mut probe = ClientConfig::new();
        probe.set(key, value);
        if let Err(error) = probe.create_native_config() {
            return Err(KafkaConfigError::InvalidOption {
                option: key.clone(),
                reason: option_error_reason(key, &error),
            });
        }
    }
    Ok(())
}

/// librdkafka's reason for refusing a setting. Its message repeats the value, so for a setting
/// that may carry a secret only the part after the setting's name is kept (for example "OpenSSL
/// not available at build time").
fn option_error_reason(key: &str, error: &rdkafka::error::KafkaError) -> String {
    let rdkafka::error::KafkaError::ClientConfig(_, description, _, _) = error else {
        return "librdkafka refused this setting".to_owned();
    };
    if !is_secret_option(key) {
        return description.clone();
    }
    let marker = format!("for configuration property \"{key}\": ");
    match description.find(&marker) {
        Some(at) => format!(
            "librdkafka refused the value: {}",
            &description[at + marker.len()..]
        ),
        None => "librdkafka refused the value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> KafkaSourceConfig {
        KafkaSourceConfig::new("127.0.0.1:9092", ["attendance"], "throughline-test")
    }

    fn sink() -> KafkaSinkConfig {
        KafkaSinkConfig::new("127.0.0.1:9092", "notifications")
    }

    #[test]
    fn a_plain_source_and_sink_are_valid() {
        assert_eq!(source().validate(), Ok(()));
        assert_eq!(sink().validate(), Ok(()));
    }

    #[test]
    fn sink_message_timeout_defaults_to_thirty_seconds() {
        let config: KafkaSinkConfig = serde_json::from_value(serde_json::json!({
            "bootstrap_servers": "127.0.0.1:9092",
            "topic": "notifications",
        }))
        .unwrap();
        assert_eq!(config.message_timeout_ms, 30_000);
        assert!(config.client_options.is_empty());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let result: Result<KafkaSourceConfig, _> = serde_json::from_value(serde_json::json!({
            "bootstrap_servers": "127.0.0.1:9092",
            "topics": ["a"],
            "group_id": "g",
            "topic": "b",
        }));
        assert!(result.is_err());
    }

    #[test]
    fn empty_values_are_refused_naming_the_key() {
        let mut config = source();
        config.bootstrap_servers = " ".into();
        assert_eq!(config.validate().unwrap_err().key(), "bootstrap_servers");

        let mut config = source();
        config.group_id = String::new();
        let error = config.validate().unwrap_err();
        assert_eq!(error.key(), "group_id");
        assert!(error.to_string().contains("`group_id`"));

        let mut config = source();
        config.topics.clear();
        assert_eq!(config.validate(), Err(KafkaConfigError::NoTopics));
    }

    #[test]
    fn invalid_and_duplicate_topics_are_refused() {
        let mut config = source();
        config.topics = vec!["ok".into(), "has space".into()];
        let error = config.validate().unwrap_err();
        assert_eq!(error.key(), "topics");
        assert!(error.to_string().contains("has space"));

        let mut config = source();
        config.topics = vec!["a".into(), "a".into()];
        assert!(matches!(
            config.validate(),
            Err(KafkaConfigError::DuplicateTopic { .. })
        ));

        let mut config = sink();
        config.topic = "..".into();
        assert_eq!(config.validate().unwrap_err().key(), "topic");
        config.topic = "x".repeat(250);
        assert_eq!(config.validate().unwrap_err().key(), "topic");
    }

    #[test]
    fn message_timeout_must_be_in_range() {
        let mut config = sink();
        config.message_timeout_ms = 0;
        assert_eq!(
            config.validate(),
            Err(KafkaConfigError::MessageTimeout { found: 0 })
        );
        config.message_timeout_ms = MAX_MESSAGE_TIMEOUT_MS + 1;
        assert_eq!(config.validate().unwrap_err().key(), "message_timeout_ms");
    }

    #[test]
    fn owned_options_are_refused_naming_the_option() {
        for owned in SOURCE_OWNED_OPTIONS {
            let mut config = source();
            config.client_options.insert((*owned).into(), "x".into());
            let error = config.validate().unwrap_err();
            assert_eq!(
                error,
                KafkaConfigError::OwnedOption {
                    option: (*owned).into()
                }
            );
            assert!(error.to_string().contains(owned));
        }
        for owned in SINK_OWNED_OPTIONS {
            let mut config = sink();
            config
                .client_options
                .insert(owned.to_uppercase(), "x".into());
            assert!(matches!(
                config.validate(),
                Err(KafkaConfigError::OwnedOption { .. })
            ));
        }
    }

    #[test]
    fn pass_through_options_are_checked_by_librdkafka() {
        let mut config = source();
        config
            .client_options
            .insert("security.protocol".into(), "plaintext".into());
        config
            .client_options
            .insert("session.timeout.ms".into(), "45000".into());
        assert_eq!(config.validate(), Ok(()));

        config
            .client_options
            .insert("no.such.setting".into(), "1".into());
        let error = config.validate().unwrap_err();
        assert_eq!(error.key(), "client_options");
        assert!(error.to_string().contains("no.such.setting"), "{error}");
    }

    #[test]
    fn debug_hides_secret_options() {
        let mut config = source();
        config
            .client_options
            .insert("sasl.password".into(), "hunter2-canary".into());
        config
            .client_options
            .insert("sasl.username".into(), "throughline".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2-canary"), "{shown}");
        assert!(shown.contains("sasl.password"));
        assert!(shown.contains("throughline"));

        let mut config = sink();
        config
            .client_options
            .insert("ssl.key.password".into(), "hunter3-canary".into());
        assert!(!format!("{config:?}").contains("hunter3-canary"));
    }

    #[test]
    fn errors_about_secret_options_never_repeat_the_value() {
        let mut config = sink();
        config
            .client_options
            .insert("ssl.key.password".into(), "hunter4-canary".into());
        // This build has no OpenSSL, so librdkafka refuses every `ssl.*` setting.
        let error = config.validate().unwrap_err().to_string();
        assert!(!error.contains("hunter4-canary"), "{error}");
        assert!(error.contains("ssl.key.password"), "{error}");

        let reason = option_error_reason(
            "sasl.password",
            &rdkafka::error::KafkaError::ClientConfig(
                rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
                "Invalid value \"hunter5\": canary\" for configuration property \"sasl.password\""
                    .into(),
                "sasl.password".into(),
                "hunter5\": canary".into(),
            ),
        );
        assert!(!reason.contains("hunter5"), "{reason}");
        assert!(!reason.contains("canary"), "{reason}");
    }

    #[test]
    fn tls_and_zstd_are_not_in_this_build() {
        // The default static librdkafka build has neither OpenSSL nor zstd: say so at start-up
        // rather than fail to connect later.
        let mut config = sink();
        config
            .client_options
            .insert("security.protocol".into(), "sasl_ssl".into());
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("OpenSSL not available"), "{error}");
    }
}
