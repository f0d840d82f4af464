//! What connecting checks, and how it fails.
//!
//! Both `connect`s ask the cluster for each configured topic's metadata before returning. Kafka
//! clients otherwise find out about a missing topic only by never receiving anything (a
//! consumer) or by timing out every delivery (a producer), and a broker without automatic topic
//! creation (tansu, and most production clusters) never makes one appear. The adapter itself
//! never creates topics either: partitions and retention are the operator's decisions.

use std::time::Duration;

use rdkafka::client::{Client, ClientContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaRespErr;

use crate::config::KafkaConfigError;

/// How long the start-up metadata request may take.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a source or sink could not start. Each message names the config key involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KafkaConnectError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] KafkaConfigError),
    /// librdkafka could not create the client.
    #[error("the Kafka client could not be created: {reason}")]
    Client { reason: String },
    /// The cluster did not answer the metadata request.
    #[error(
        "`bootstrap_servers`: the cluster did not answer a metadata request for topic {topic:?}: {reason}"
    )]
    Unreachable { topic: String, reason: String },
    /// The topic does not exist.
    #[error(
        "`{key}`: topic {topic:?} does not exist on the cluster (the adapter never creates topics; create it first)"
    )]
    MissingTopic { key: &'static str, topic: String },
    /// The cluster knows the topic but refused to describe it (for example, not authorised).
    #[error("`{key}`: topic {topic:?} cannot be used: {reason}")]
    TopicUnavailable {
        key: &'static str,
        topic: String,
        reason: String,
    },
    /// The consumer could not subscribe.
    #[error("`topics`: could not subscribe: {reason}")]
    Subscribe { reason: String },
}

impl KafkaConnectError {
    /// The client could not be created: reports librdkafka's reason, never a configured value.
    pub(crate) fn client(error: &KafkaError) -> Self {
        let reason = match error {
            KafkaError::ClientCreation(reason) => reason.clone(),
            // Validation already ran every option through librdkafka, so this is unexpected;
            // the key is enough to find it and the value may be a secret.
            KafkaError::ClientConfig(_, _, key, _) => format!("librdkafka refused `{key}`"),
            other => error_name(other),
        };
        Self::Client { reason }
    }
}

/// Fails unless `topic` exists and has partitions. Blocking: call it off the async runtime.
pub(crate) fn check_topic<C: ClientContext>(
    client: &Client<C>,
    key: &'static str,
    topic: &str,
) -> Result<(), KafkaConnectError> {
    let metadata = client
        .fetch_metadata(Some(topic), METADATA_TIMEOUT)
        .map_err(|error| KafkaConnectError::Unreachable {
            topic: topic.to_owned(),
            reason: error_name(&error),
        })?;
    let missing = || KafkaConnectError::MissingTopic {
        key,
        topic: topic.to_owned(),
    };
    let found = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(missing)?;
    match found.error() {
        None if found.partitions().is_empty() => Err(missing()),
        None => Ok(()),
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        | Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) => Err(missing()),
        Some(code) => Err(KafkaConnectError::TopicUnavailable {
            key,
            topic: topic.to_owned(),
            reason: format!("{:?}", rdkafka::types::RDKafkaErrorCode::from(code)),
        }),
    }
}

/// A short, data-free name for an rdkafka error: the librdkafka error code's name where there
/// is one (`MessageTimedOut`, `AllBrokersDown`...), else the kind of failure.
pub fn error_name(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => format!("{code:?}"),
        None => match error {
            KafkaError::Canceled => "Canceled".to_owned(),
            KafkaError::ClientCreation(_) => "ClientCreation".to_owned(),
            KafkaError::ClientConfig(..) => "ClientConfig".to_owned(),
            KafkaError::NoMessageReceived => "NoMessageReceived".to_owned(),
            KafkaError::Nul(_) => "Nul".to_owned(),
            KafkaError::PauseResume(_) => "PauseResume".to_owned(),
            KafkaError::Seek(_) => "Seek".to_owned(),
            KafkaError::Subscription(_) => "Subscription".to_owned(),
            _ => "Other".to_owned(),
        },
    }
}
